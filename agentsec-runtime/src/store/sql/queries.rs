//! SQL shared by SQLite and PostgreSQL. Both accept `$N` placeholders; the
//! statements are static strings, every value is a bound parameter.

macro_rules! run_cols {
    () => {
        "id, agent, user_id, tenant, status, state, version, created_at, updated_at, lease_owner, lease_until"
    };
}
macro_rules! step_cols {
    () => {
        "run_id, seq, kind, data, at"
    };
}
macro_rules! approval_cols {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "run_id, ",
            $p,
            "call_id, ",
            $p,
            "tool, ",
            $p,
            "args_sha256, ",
            $p,
            "status, ",
            $p,
            "requested_by, ",
            $p,
            "requested_at, ",
            $p,
            "decided_by, ",
            $p,
            "reason, ",
            $p,
            "edited_args, ",
            $p,
            "expires_at, ",
            $p,
            "decided_at, ",
            $p,
            "signature, ",
            $p,
            "decided_roles, ",
            $p,
            "decided_tenant"
        )
    };
}
macro_rules! intent_cols {
    () => {
        "run_id, call_id, idempotency_key, approval_id, started_at, result, finished_at"
    };
}
macro_rules! key_cols {
    () => {
        "key_id, agent, environment, hash, created_at, expires_at, revoked_at, rotated_at, overlap_until, cidrs, version, replaced_by"
    };
}
macro_rules! audit_cols {
    () => {
        "seq, at, kind, actor, run_id, data, prev_hash, hash"
    };
}
pub(crate) use run_cols;

// No conflict target: a used id and a used request key both insert nothing.
pub(crate) const INSERT_RUN: &str = "INSERT INTO runs (id, agent, user_id, tenant, status, state, version, created_at, updated_at, request_key, lease_owner, lease_until) \
     VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $8, $9, $10) ON CONFLICT DO NOTHING";
pub(crate) const QUARANTINE_RUN: &str = "UPDATE runs SET status = 'corrupt', lease_owner = NULL, lease_until = NULL, updated_at = $2 WHERE id = $1";
pub(crate) const RUN_BY_REQUEST: &str =
    concat!("SELECT ", run_cols!(), " FROM runs WHERE request_key = $1");
pub(crate) const GET_RUN: &str = concat!("SELECT ", run_cols!(), " FROM runs WHERE id = $1");
pub(crate) const RUN_VERSION: &str = "SELECT version FROM runs WHERE id = $1";
pub(crate) const UPDATE_RUN: &str = concat!(
    "UPDATE runs SET status = $2, state = $3, version = version + 1, updated_at = $4 \
     WHERE id = $1 AND version = $5 RETURNING ",
    run_cols!()
);
pub(crate) const LIST_RUNS: &str = concat!(
    "SELECT ",
    run_cols!(),
    " FROM runs WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR agent = $2) \
     AND ($3 IS NULL OR user_id = $3) ORDER BY created_at DESC, id DESC LIMIT $4"
);

pub(crate) const BUMP_STEP: &str =
    "UPDATE runs SET step_count = step_count + 1 WHERE id = $1 RETURNING step_count";
pub(crate) const INSERT_STEP: &str =
    "INSERT INTO steps (run_id, seq, kind, data, at) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const LIST_STEPS: &str = concat!(
    "SELECT ",
    step_cols!(),
    " FROM steps WHERE run_id = $1 ORDER BY seq"
);

pub(crate) const INSERT_APPROVAL: &str = "INSERT INTO approvals \
     (id, run_id, call_id, tool, args_sha256, status, requested_by, requested_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8) ON CONFLICT (id) DO NOTHING";
pub(crate) const GET_APPROVAL: &str = concat!(
    "SELECT ",
    approval_cols!(""),
    " FROM approvals WHERE id = $1"
);
pub(crate) const LIST_PENDING: &str = concat!(
    "SELECT ",
    approval_cols!("a."),
    " FROM approvals a JOIN runs r ON r.id = a.run_id \
     WHERE a.status = 'pending' AND a.expires_at > $1 \
     AND ($2 IS NULL OR r.agent = $2) AND ($3 IS NULL OR r.user_id = $3) \
     ORDER BY a.requested_at, a.id"
);
// The decision is one conditional UPDATE: of two racing approvers, the second
// finds the row no longer pending and updates nothing.
pub(crate) const DECIDE_APPROVAL: &str = concat!(
    "UPDATE approvals SET status = $2, decided_by = $3, reason = $4, edited_args = $5, signature = $6, \
     decided_at = $7, decided_roles = $8, decided_tenant = $9 \
     WHERE id = $1 AND status = 'pending' AND expires_at > $7 RETURNING ",
    approval_cols!("")
);
pub(crate) const EXPIRE_APPROVAL: &str = "UPDATE approvals SET status = 'expired' WHERE id = $1 AND status = 'pending' AND expires_at <= $2";
pub(crate) const APPROVAL_STATUS: &str = "SELECT status FROM approvals WHERE id = $1";

pub(crate) const RUN_EXISTS: &str = "SELECT 1 FROM runs WHERE id = $1";
pub(crate) const INSERT_INTENT: &str = "INSERT INTO intents (run_id, call_id, idempotency_key, approval_id, started_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
pub(crate) const FINISH_INTENT: &str = concat!(
    "UPDATE intents SET result = $3, finished_at = $4 WHERE run_id = $1 AND call_id = $2 AND result IS NULL RETURNING ",
    intent_cols!()
);
pub(crate) const GET_INTENT: &str = concat!(
    "SELECT ",
    intent_cols!(),
    " FROM intents WHERE run_id = $1 AND call_id = $2"
);
pub(crate) const UNFINISHED_INTENTS: &str = concat!(
    "SELECT ",
    intent_cols!(),
    " FROM intents WHERE run_id = $1 AND result IS NULL ORDER BY started_at, call_id"
);

pub(crate) const ADD_RUN_USAGE: &str = "INSERT INTO run_usage (run_id, tokens_in, tokens_out, tool_calls, cost_micro_usd) \
     SELECT id, $2, $3, $4, $5 FROM runs WHERE id = $1 \
     ON CONFLICT (run_id) DO UPDATE SET tokens_in = run_usage.tokens_in + excluded.tokens_in, \
     tokens_out = run_usage.tokens_out + excluded.tokens_out, tool_calls = run_usage.tool_calls + excluded.tool_calls, \
     cost_micro_usd = run_usage.cost_micro_usd + excluded.cost_micro_usd";
pub(crate) const ADD_AGENT_USAGE: &str = "INSERT INTO agent_usage (agent, tokens_in, tokens_out, tool_calls, cost_micro_usd) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (agent) DO UPDATE SET tokens_in = agent_usage.tokens_in + excluded.tokens_in, \
     tokens_out = agent_usage.tokens_out + excluded.tokens_out, tool_calls = agent_usage.tool_calls + excluded.tool_calls, \
     cost_micro_usd = agent_usage.cost_micro_usd + excluded.cost_micro_usd";
pub(crate) const RUN_USAGE: &str =
    "SELECT tokens_in, tokens_out, tool_calls, cost_micro_usd FROM run_usage WHERE run_id = $1";
pub(crate) const AGENT_USAGE: &str =
    "SELECT tokens_in, tokens_out, tool_calls, cost_micro_usd FROM agent_usage WHERE agent = $1";

pub(crate) const INSERT_KEY: &str = concat!(
    "INSERT INTO agent_keys (",
    key_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (key_id) DO NOTHING"
);
pub(crate) const GET_KEY: &str =
    concat!("SELECT ", key_cols!(), " FROM agent_keys WHERE key_id = $1");
pub(crate) const LIST_KEYS: &str = concat!(
    "SELECT ",
    key_cols!(),
    " FROM agent_keys WHERE ($1 IS NULL OR agent = $1) ORDER BY key_id"
);
/// Compare-and-swap on `version`, in the database: of two processes that
/// read version n, one writes n + 1 and the other matches no row.
/// `rotated_at` is set the first time a successor is named.
pub(crate) const UPDATE_KEY: &str = "UPDATE agent_keys SET hash = $3, expires_at = $4, revoked_at = $5, \
     rotated_at = COALESCE(rotated_at, CASE WHEN $8 IS NULL THEN NULL ELSE $9 END), \
     overlap_until = $6, cidrs = $7, replaced_by = $8, version = version + 1 \
     WHERE key_id = $1 AND version = $2";
pub(crate) const KEY_EXISTS: &str = "SELECT count(*) FROM agent_keys WHERE key_id = $1";

// Taking the head row first serializes appenders (a write lock in SQLite, a
// row lock in PostgreSQL) before the previous hash is read.
pub(crate) const BUMP_AUDIT_HEAD: &str =
    "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash";
pub(crate) const SET_AUDIT_HEAD_HASH: &str = "UPDATE audit_head SET hash = $1 WHERE id = 1";
pub(crate) const AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";
pub(crate) const INSERT_AUDIT: &str = concat!(
    "INSERT INTO audit_log (",
    audit_cols!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
);
pub(crate) const LIST_AUDIT: &str = concat!(
    "SELECT ",
    audit_cols!(),
    " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
);
pub(crate) const AUDIT_HASHES: &str = "SELECT hash FROM audit_log";

pub(crate) const PURGE_STEPS: &str = "DELETE FROM steps WHERE run_id IN (SELECT id FROM runs \
     WHERE status IN ('completed', 'failed', 'halted') AND updated_at < $1)";
pub(crate) const PURGE_RUNS: &str =
    "DELETE FROM runs WHERE status IN ('completed', 'failed', 'halted') AND updated_at < $1";

pub(crate) const RENEW_LEASE: &str = concat!(
    "UPDATE runs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 RETURNING ",
    run_cols!()
);
pub(crate) const RELEASE_LEASE: &str =
    "UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2";
pub(crate) const ACQUIRE_RUN: &str = concat!(
    "UPDATE runs SET lease_owner = $2, lease_until = $3, lease_epoch = lease_epoch + 1 WHERE id = $1 \
     AND (lease_until IS NULL OR lease_until <= $4) RETURNING ",
    run_cols!()
);

// Fencing. The check is an UPDATE that changes nothing: in PostgreSQL it
// takes the run's row lock, in SQLite the write lock, so a takeover (which
// raises the epoch) cannot commit between the check and the write after it.
pub(crate) const LEASE_FENCE: &str =
    "SELECT lease_epoch FROM runs WHERE id = $1 AND lease_owner = $2 AND lease_until > $3";
pub(crate) const CHECK_FENCE: &str = "SELECT 1 FROM runs WHERE id = $1 AND lease_owner = $2 AND lease_epoch = $3 AND lease_until > $4";
pub(crate) const HOLD_FENCE: &str = "UPDATE runs SET lease_epoch = lease_epoch WHERE id = $1 \
     AND lease_owner = $2 AND lease_epoch = $3 AND lease_until > $4";
