//! Row decoding shared by the SQL stores, as a macro instantiated in each
//! backend module (the column types differ: text ids and JSON in SQLite,
//! `uuid` and `jsonb` in PostgreSQL, behind each backend's `codec`).
//!
//! Rows are untrusted: every column goes through `try_get` and a parse, and a
//! failure becomes [`StoreError::Corrupt`](crate::store::StoreError::Corrupt).

macro_rules! sql_decoders {
    () => {
        fn col<'r, T>(row: &'r Row, name: &str) -> Result<T, String>
        where
            T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
        {
            sqlx::Row::try_get::<T, _>(row, name).map_err(|e| e.to_string())
        }

        fn parse<T: std::str::FromStr>(text: String) -> Result<T, String>
        where
            T::Err: std::fmt::Display,
        {
            text.parse::<T>().map_err(|e| e.to_string())
        }

        fn opt_millis(value: Option<i64>) -> Option<$crate::store::UnixMillis> {
            value.map($crate::store::UnixMillis)
        }

        fn decode_run(row: &Row) -> Result<$crate::store::RunRecord, $crate::store::StoreError> {
            use $crate::store::{RunRecord, StoreError, UnixMillis};
            let id = codec::get_uuid(row, "id").map_err(|m| StoreError::corrupt("runs", "?", m))?;
            let bad = |m: String| StoreError::corrupt("runs", id, m);
            Ok(RunRecord {
                id: id.into(),
                agent: col(row, "agent").map_err(bad)?,
                user_id: col(row, "user_id").map_err(bad)?,
                tenant: col(row, "tenant").map_err(bad)?,
                status: col::<String>(row, "status").and_then(parse).map_err(bad)?,
                state: codec::get_json(row, "state").map_err(bad)?,
                version: col(row, "version").map_err(bad)?,
                created_at: UnixMillis(col(row, "created_at").map_err(bad)?),
                updated_at: UnixMillis(col(row, "updated_at").map_err(bad)?),
                lease_owner: col(row, "lease_owner").map_err(bad)?,
                lease_until: opt_millis(col(row, "lease_until").map_err(bad)?),
            })
        }

        fn decode_step(row: &Row) -> Result<$crate::store::StepRecord, $crate::store::StoreError> {
            use $crate::store::{StepRecord, StoreError, UnixMillis};
            let run_id =
                codec::get_uuid(row, "run_id").map_err(|m| StoreError::corrupt("steps", "?", m))?;
            let seq: i64 = col(row, "seq").map_err(|m| StoreError::corrupt("steps", run_id, m))?;
            let bad = |m: String| StoreError::corrupt("steps", format!("{run_id}/{seq}"), m);
            Ok(StepRecord {
                run_id: run_id.into(),
                seq,
                kind: col(row, "kind").map_err(bad)?,
                data: codec::get_json(row, "data").map_err(bad)?,
                at: UnixMillis(col(row, "at").map_err(bad)?),
            })
        }

        fn decode_approval(
            row: &Row,
        ) -> Result<$crate::store::ApprovalRecord, $crate::store::StoreError> {
            use $crate::store::{ApprovalRecord, StoreError, UnixMillis};
            let id =
                codec::get_uuid(row, "id").map_err(|m| StoreError::corrupt("approvals", "?", m))?;
            let bad = |m: String| StoreError::corrupt("approvals", id, m);
            Ok(ApprovalRecord {
                id,
                run_id: codec::get_uuid(row, "run_id").map_err(bad)?.into(),
                call_id: codec::get_uuid(row, "call_id").map_err(bad)?.into(),
                tool: col(row, "tool").map_err(bad)?,
                args_sha256: col(row, "args_sha256").map_err(bad)?,
                status: col::<String>(row, "status").and_then(parse).map_err(bad)?,
                requested_by: col(row, "requested_by").map_err(bad)?,
                requested_at: UnixMillis(col(row, "requested_at").map_err(bad)?),
                decided_by: col(row, "decided_by").map_err(bad)?,
                reason: col(row, "reason").map_err(bad)?,
                edited_args: col(row, "edited_args").map_err(bad)?,
                expires_at: UnixMillis(col(row, "expires_at").map_err(bad)?),
                decided_at: opt_millis(col(row, "decided_at").map_err(bad)?),
                signature: col(row, "signature").map_err(bad)?,
                decided_roles: match col::<Option<String>>(row, "decided_roles").map_err(bad)? {
                    Some(text) => serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?,
                    None => Vec::new(),
                },
                decided_tenant: col(row, "decided_tenant").map_err(bad)?,
            })
        }

        fn decode_intent(
            row: &Row,
        ) -> Result<$crate::store::IntentRecord, $crate::store::StoreError> {
            use $crate::store::{IntentRecord, StoreError, UnixMillis};
            let call_id = codec::get_uuid(row, "call_id")
                .map_err(|m| StoreError::corrupt("intents", "?", m))?;
            let bad = |m: String| StoreError::corrupt("intents", call_id, m);
            Ok(IntentRecord {
                run_id: codec::get_uuid(row, "run_id").map_err(bad)?.into(),
                call_id: call_id.into(),
                idempotency_key: col(row, "idempotency_key").map_err(bad)?,
                approval_id: codec::get_opt_uuid(row, "approval_id").map_err(bad)?,
                started_at: UnixMillis(col(row, "started_at").map_err(bad)?),
                result: codec::get_opt_json(row, "result").map_err(bad)?,
                finished_at: opt_millis(col(row, "finished_at").map_err(bad)?),
            })
        }

        fn decode_usage(
            row: &Row,
            key: &str,
        ) -> Result<$crate::model::Usage, $crate::store::StoreError> {
            use $crate::model::Usage;
            use $crate::store::StoreError;
            let bad = |m: String| StoreError::corrupt("usage", key, m);
            let counter = |name: &str| -> Result<u64, StoreError> {
                let value: i64 = col(row, name).map_err(bad)?;
                u64::try_from(value).map_err(|_| bad(format!("negative {name}: {value}")))
            };
            Ok(Usage {
                input_tokens: counter("tokens_in")?,
                output_tokens: counter("tokens_out")?,
                tool_calls: counter("tool_calls")?,
                cost_micro_usd: counter("cost_micro_usd")?,
            })
        }

        fn decode_key(
            row: &Row,
        ) -> Result<$crate::store::AgentKeyRecord, $crate::store::StoreError> {
            use $crate::store::{StoreError, UnixMillis};
            let key_id: String =
                col(row, "key_id").map_err(|m| StoreError::corrupt("agent_keys", "?", m))?;
            let bad = |m: String| StoreError::corrupt("agent_keys", &key_id, m);
            $crate::store::records::KeyRow {
                agent: col(row, "agent").map_err(bad)?,
                environment: col(row, "environment").map_err(bad)?,
                hash: col(row, "hash").map_err(bad)?,
                created_at: UnixMillis(col(row, "created_at").map_err(bad)?),
                expires_at: opt_millis(col(row, "expires_at").map_err(bad)?),
                revoked_at: opt_millis(col(row, "revoked_at").map_err(bad)?),
                overlap_until: opt_millis(col(row, "overlap_until").map_err(bad)?),
                cidrs: codec::get_json(row, "cidrs").map_err(bad)?,
                version: col(row, "version").map_err(bad)?,
                replaced_by: col(row, "replaced_by").map_err(bad)?,
                key_id: key_id.clone(),
            }
            .into_record()
            .map_err(bad)
        }

        fn decode_audit(row: &Row) -> Result<$crate::store::AuditEntry, $crate::store::StoreError> {
            use $crate::store::{AuditEntry, StoreError, UnixMillis};
            let seq: i64 = col(row, "seq").map_err(|m| StoreError::corrupt("audit_log", "?", m))?;
            let bad = |m: String| StoreError::corrupt("audit_log", seq, m);
            // The audit data is the exact JSON text that was hashed, in both backends.
            let data: String = col(row, "data").map_err(bad)?;
            Ok(AuditEntry {
                seq,
                at: UnixMillis(col(row, "at").map_err(bad)?),
                kind: col(row, "kind").map_err(bad)?,
                actor: col(row, "actor").map_err(bad)?,
                run_id: codec::get_opt_uuid(row, "run_id")
                    .map_err(bad)?
                    .map(Into::into),
                data: serde_json::from_str(&data).map_err(|e| bad(e.to_string()))?,
                prev_hash: col(row, "prev_hash").map_err(bad)?,
                hash: col(row, "hash").map_err(bad)?,
            })
        }
    };
}

pub(crate) use sql_decoders;
