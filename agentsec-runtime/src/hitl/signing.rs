//! Signed decisions: an HMAC-SHA256 over the exact approval a person decided.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use serde_json::json;
use sha2::Sha256;

use super::{ApprovalDecision, HitlError};
use crate::secrets::SecretStore;
use crate::store::{ApprovalRecord, ApprovalStatus};
use crate::tool::{args_digest, canonical_json};

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

const SCHEME: &str = "hmac-sha256:v2:";
const SCHEME_V1: &str = "hmac-sha256:v1:";

/// Signs decisions and verifies them when a run resumes.
///
/// The signature covers the approval id, the run, the call, the tool, the
/// digest of the arguments the model wrote, the verdict, the approver, the
/// reason and the digest of edited arguments: a signature cannot be moved
/// to another call, and a change to any of them is found.
///
/// ```
/// use agentsec_runtime::hitl::DecisionSigner;
/// let signer = DecisionSigner::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
/// assert!(DecisionSigner::new(b"short".to_vec()).is_err());
/// # let _ = signer;
/// ```
pub struct DecisionSigner {
    key: SecretBox<Vec<u8>>,
}

impl DecisionSigner {
    /// A signer with `key` (at least [`MIN_KEY_BYTES`] bytes).
    pub fn new(key: Vec<u8>) -> Result<Self, HitlError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(HitlError::Key(format!(
                "the key has {} bytes; at least {MIN_KEY_BYTES} are required",
                key.len()
            )));
        }
        Ok(Self {
            key: SecretBox::new(Box::new(key)),
        })
    }

    /// A signer whose key is the secret `name` of `secrets`.
    pub async fn from_secret_store(
        secrets: &dyn SecretStore,
        name: &str,
    ) -> Result<Self, HitlError> {
        let secret = secrets
            .get(name)
            .await
            .map_err(|e| HitlError::Key(e.to_string()))?
            .ok_or_else(|| HitlError::Key(format!("the secret store has no `{name}`")))?;
        Self::new(secret.expose_secret().as_bytes().to_vec())
    }

    /// The MAC over the record's binding and the decided fields as the
    /// store keeps them (so a decision and the row it became verify alike).
    /// Version 2 also covers the decider's roles and tenant, which the
    /// approval policy is checked against again when the decision is
    /// applied; version 1 (decisions signed before) did not, and is accepted
    /// only for a decision that claims neither.
    fn mac(&self, version: u8, record: &ApprovalRecord, decided: Decided<'_>) -> Hmac<Sha256> {
        let mut payload = json!({
            "v": version,
            "approval_id": record.id,
            "run_id": record.run_id,
            "call_id": record.call_id,
            "tool": record.tool,
            "args_sha256": record.args_sha256,
            "approved": decided.approved,
            "decided_by": decided.decided_by,
            "reason": decided.reason,
            "edited_args_sha256": decided.edited_args.map(args_digest),
        });
        if version >= 2 {
            payload["decided_roles"] = json!(decided.decided_roles);
            payload["decided_tenant"] = json!(decided.decided_tenant);
        }
        // A key of any length is valid for HMAC; the length was checked above.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(canonical_json(&payload).as_bytes());
        mac
    }

    /// The signature of `decision` on the pending approval `record`: made
    /// only by [`Approvals`](super::Approvals), after the policy allowed it.
    pub(crate) fn sign(&self, record: &ApprovalRecord, decision: &ApprovalDecision) -> String {
        let decided = Decided {
            approved: decision.approves(),
            decided_by: &decision.approver.id,
            decided_roles: &decision.approver.roles,
            decided_tenant: decision.approver.tenant.as_deref(),
            reason: decision.reason(),
            edited_args: decision.edited_arguments(),
        };
        let tag = self.mac(2, record, decided).finalize().into_bytes();
        format!("{SCHEME}{}", hex::encode(tag))
    }

    /// Checks the signature of a decided approval against its fields.
    pub fn verify(&self, record: &ApprovalRecord) -> Result<(), String> {
        let approved = match record.status {
            ApprovalStatus::Approved => true,
            ApprovalStatus::Rejected => false,
            other => return Err(format!("the approval is {other}, not decided")),
        };
        let signature = record
            .signature
            .as_deref()
            .ok_or("the decision is not signed")?;
        let (version, hex_tag) = if let Some(tag) = signature.strip_prefix(SCHEME) {
            (2, tag)
        } else if let Some(tag) = signature.strip_prefix(SCHEME_V1) {
            if !record.decided_roles.is_empty() || record.decided_tenant.is_some() {
                return Err("a v1 signature does not cover the decider's roles and tenant".into());
            }
            (1, tag)
        } else {
            return Err("unknown signature scheme".into());
        };
        let tag = hex::decode(hex_tag).map_err(|_| "the signature is not hex")?;
        let decided = Decided {
            approved,
            decided_by: record.decided_by.as_deref().unwrap_or_default(),
            decided_roles: &record.decided_roles,
            decided_tenant: record.decided_tenant.as_deref(),
            reason: record.reason.as_deref(),
            edited_args: record.edited_args.as_deref(),
        };
        self.mac(version, record, decided)
            .verify_slice(&tag)
            .map_err(|_| "the signature does not match the decision".to_owned())
    }
}

/// The decided fields a signature covers.
#[derive(Clone, Copy)]
struct Decided<'a> {
    approved: bool,
    decided_by: &'a str,
    decided_roles: &'a [String],
    decided_tenant: Option<&'a str>,
    reason: Option<&'a str>,
    edited_args: Option<&'a str>,
}
