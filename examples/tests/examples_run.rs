//! Every example runs, and does what it says.

use agentsec::engine::RunOutcome;
use agentsec::trace::SecurityEvent;

#[tokio::test]
async fn the_support_desk_refunds_once_after_approval() {
    let mut out = Vec::new();
    let report = examples::support_desk::run(&mut out).await.unwrap();
    assert!(matches!(report.done.outcome, RunOutcome::Completed { .. }));
    assert_eq!(report.shop.refunds(), vec![("ord_1002".to_owned(), 12_500)]);
    let kinds: Vec<_> = report.events.iter().map(SecurityEvent::kind).collect();
    assert_eq!(
        kinds,
        [
            "tool_called",
            "approval_requested",
            "approval_granted",
            "tool_called",
            "irreversible_executed"
        ]
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("needs approval") && text.contains("lead@support approves"));
    assert!(
        !text.contains("sk_test_example_only"),
        "the payment key is never printed"
    );
}

#[tokio::test]
async fn tool_calls_refuses_all_but_the_good_call_and_the_approved_refund() {
    let mut out = Vec::new();
    let outcomes = examples::tool_calls::run(&mut out).await.unwrap();
    assert_eq!(outcomes, [true, false, false, false, false, true]);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("field `user_id`: unknown field"), "{text}");
    assert!(text.contains("did you mean `list_orders`?"));
}

#[tokio::test]
async fn the_research_assistant_withholds_the_injection_and_never_sends_the_email() {
    use examples::research_assistant::{ATTACKER, run};
    let mut out = Vec::new();
    let report = run(&mut out).await.unwrap();
    assert!(matches!(report.done.outcome, RunOutcome::Completed { .. }));
    assert!(
        report.mailbox.sent().is_empty(),
        "the rejected email was sent"
    );
    let kinds: Vec<_> = report.events.iter().map(SecurityEvent::kind).collect();
    assert!(kinds.contains(&"input_blocked"), "{kinds:?}");
    assert!(kinds.contains(&"approval_requested"), "{kinds:?}");
    assert!(kinds.contains(&"approval_rejected"), "{kinds:?}");
    assert!(!kinds.contains(&"irreversible_executed"), "{kinds:?}");
    // The planted instruction never reached the model; the refused host did not either.
    let requests = report.model.requests();
    let sent =
        serde_json::to_string(&requests.iter().map(|r| &r.messages).collect::<Vec<_>>()).unwrap();
    assert!(!sent.contains("IGNORE ALL PREVIOUS INSTRUCTIONS"), "{sent}");
    assert!(
        sent.contains("untrusted-data"),
        "page text is spotlighted: {sent}"
    );
    assert!(
        sent.contains("futures are lazy"),
        "the clean page is delivered"
    );
    assert!(
        sent.contains("host `evil.example` is not on the allowlist"),
        "{sent}"
    );
    assert!(!sent.contains("never served"));
    let reason = report.rule_of_two.expect("the rule of two holds the email");
    assert!(
        reason.contains("fetch_page") && reason.contains("read_notes"),
        "{reason}"
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(&format!("\"to\":\"{ATTACKER}\"")) && text.contains("needs approval"));
    assert!(text.contains("emails sent: []"));
}

#[tokio::test]
async fn the_database_agent_sees_only_the_users_rows_through_row_level_security() {
    let mut out = Vec::new();
    let report = examples::database_agent::run(&mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let Some(report) = report else {
        assert!(std::env::var("DATABASE_URL").is_err());
        assert_eq!(text.trim(), examples::database_agent::SKIPPED);
        println!("{text}");
        return;
    };
    assert_eq!(report.total_rows, 4, "the table holds everybody's orders");
    // The tools ran as the example's own login, not as DATABASE_URL's user.
    assert!(report.login.starts_with("agentsec_example_login_"));
    assert!(
        text.contains(&format!("the tools connect as {}", report.login)),
        "{text}"
    );
    let users: Vec<&str> = report.seen.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(users, ["alice", "bob"]);
    for (user, rows) in &report.seen {
        assert_eq!(
            rows.len(),
            2,
            "{user} sees exactly their two orders: {rows:?}"
        );
        assert!(
            rows.iter().all(|r| &r.owner_id == user),
            "{user} saw {rows:?}"
        );
    }
    let alice: Vec<&str> = report.seen[0].1.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(alice, ["ord_a1", "ord_a2"]);
    assert_eq!(report.answers.len(), 2);
    // The schema and the role are gone.
    let url = std::env::var("DATABASE_URL").unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = $1) \
              + (SELECT count(*) FROM pg_roles WHERE rolname = $2 OR rolname = $3)",
    )
    .bind(&report.schema)
    .bind(&report.role)
    .bind(&report.login)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0, "the example cleaned up after itself");
    pool.close().await;
    assert!(text.contains("dropped schema"));
}

#[tokio::test]
async fn the_web_agent_pauses_on_a_refund_and_resumes_after_a_lead_approves() {
    let mut out = Vec::new();
    let report = examples::web_agent::run(&mut out).await.unwrap();
    let statuses: Vec<u16> = report.replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200]);
    assert_eq!(report.replies[0].json()["status"], "awaiting_approval");
    assert_eq!(report.replies[1].json()[0]["tool"], "refund_order");
    assert_eq!(report.replies[2].json()["status"], "completed");
    assert_eq!(report.refunds, vec![("ord_1002".to_owned(), 12_500)]);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("backend listening on http://127.0.0.1:"));
}

#[tokio::test]
async fn the_web_backend_refuses_bad_sessions_and_non_leads_and_never_leaks_the_agent_key() {
    use agentsec::ExposeSecret;
    use examples::web_agent::*;
    use reqwest::Method;
    use serde_json::json;

    let server = WebServer::start(support_model()).await.unwrap();
    let client = browser();
    let chat_url = format!("{}/api/chat", server.url);
    let message = json!({"message": "My order ord_1002 arrived damaged, can I get a refund?"});
    let alice = session_token("alice", &[], SESSION_AUDIENCE);
    let mut replies = Vec::new();

    // No token, and a token for another audience: 401, the agent never runs.
    let anonymous = request(&client, Method::POST, &chat_url, None, Some(&message))
        .await
        .unwrap();
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    let elsewhere = session_token("alice", &[], "billing-web");
    let wrong_audience = request(
        &client,
        Method::POST,
        &chat_url,
        Some(&elsewhere),
        Some(&message),
    )
    .await
    .unwrap();
    assert_eq!(wrong_audience.status, 401, "{}", wrong_audience.body);
    let forged = {
        // Signed with another secret: the backend's authenticator refuses it.
        let now = jsonwebtoken::get_current_timestamp();
        let claims = json!({"iss": SESSION_ISSUER, "aud": SESSION_AUDIENCE, "sub": "alice",
            "org": "acme", "nbf": now, "exp": now + 600});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"a-different-secret-of-enough-length!!"),
        )
        .unwrap()
    };
    let forged = request(
        &client,
        Method::POST,
        &chat_url,
        Some(&forged),
        Some(&message),
    )
    .await
    .unwrap();
    assert_eq!(forged.status, 401, "{}", forged.body);
    let listed_anonymously = request(
        &client,
        Method::GET,
        &format!("{}/api/approvals", server.url),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(listed_anonymously.status, 401);
    replies.extend([anonymous, wrong_audience, forged, listed_anonymously]);

    // Alice's chat pauses on the refund.
    let chat = request(
        &client,
        Method::POST,
        &chat_url,
        Some(&alice),
        Some(&message),
    )
    .await
    .unwrap();
    assert_eq!(chat.status, 200, "{}", chat.body);
    let id = chat.json()["pending"][0]["id"].as_str().unwrap().to_owned();
    replies.push(chat);
    let approve_url = format!("{}/api/approvals/{id}/approve", server.url);

    // Neither alice herself nor a colleague without the lead role may approve;
    // a token without a session may not either.
    let carol = session_token("carol", &["support"], SESSION_AUDIENCE);
    for token in [&alice, &carol] {
        let refused = request(&client, Method::POST, &approve_url, Some(token), None)
            .await
            .unwrap();
        assert_eq!(refused.status, 403, "{}", refused.body);
        replies.push(refused);
    }
    let anonymous_approval = request(&client, Method::POST, &approve_url, None, None)
        .await
        .unwrap();
    assert_eq!(anonymous_approval.status, 401);
    replies.push(anonymous_approval);
    assert!(server.shop().refunds().is_empty(), "no money moved yet");

    // A non-lead sees only their own pending calls; a lead of the tenant sees it.
    let carol_list = request(
        &client,
        Method::GET,
        &format!("{}/api/approvals", server.url),
        Some(&carol),
        None,
    )
    .await
    .unwrap();
    assert_eq!(carol_list.json(), json!([]));
    replies.push(carol_list);

    let lead = session_token("lead@support", &[LEAD_ROLE], SESSION_AUDIENCE);
    let approved = request(&client, Method::POST, &approve_url, Some(&lead), None)
        .await
        .unwrap();
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.json()["status"], "completed");
    replies.push(approved);
    // Approving again: already decided.
    let again = request(&client, Method::POST, &approve_url, Some(&lead), None)
        .await
        .unwrap();
    assert_eq!(again.status, 409, "{}", again.body);
    replies.push(again);
    assert_eq!(
        server.shop().refunds(),
        vec![("ord_1002".to_owned(), 12_500)]
    );

    let key = server.agent_key().expose_secret().to_owned();
    assert!(key.starts_with("ask_prod_"), "the backend holds a real key");
    // The key id and secret parts, too: none of it reaches a browser.
    let secret_part = key.rsplit('_').next().unwrap().to_owned();
    for reply in &replies {
        assert!(
            !reply.body.contains(&key),
            "the agent key leaked: {}",
            reply.body
        );
        assert!(
            !reply.body.contains(&secret_part),
            "the key's secret leaked: {}",
            reply.body
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_mcp_server_refuses_no_token_and_refunds_once_after_approval() {
    let mut out = Vec::new();
    let report = examples::mcp_server::run(&mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(report.unauthenticated, 401, "{text}");
    assert_eq!(
        report.shop.refunds(),
        vec![("ord_1002".to_owned(), 12_500)],
        "{text}"
    );
    assert!(text.contains("approval required"), "{text}");
    assert!(text.contains("refunded 12500 cents on ord_1002"), "{text}");
    assert!(text.contains("ran once"), "{text}");
    assert!(
        !text.contains("sk_test_example_only"),
        "the payment key is never printed"
    );
}
