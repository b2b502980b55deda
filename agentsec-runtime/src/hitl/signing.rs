//! Signed decisions: an HMAC-SHA256 over the exact approval a person decided.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use serde_json::json;
use sha2::Sha256;

use super::HitlError;
use crate::secrets::SecretStore;
use crate::store::{ApprovalDecision, ApprovalRecord, ApprovalStatus};
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

    /// The MAC over the decision. Version 2 also covers the decider's roles
    /// and tenant, which the approval policy is checked against again when
    /// the decision is applied; version 1 (decisions signed before) did not,
    /// and is accepted only for a decision that claims neither.
    fn mac(
        &self,
        version: u8,
        record: &ApprovalRecord,
        decision: &ApprovalDecision,
    ) -> Hmac<Sha256> {
        let mut payload = json!({
            "v": version,
            "approval_id": record.id,
            "run_id": record.run_id,
            "call_id": record.call_id,
            "tool": record.tool,
            "args_sha256": record.args_sha256,
            "approved": decision.approved,
            "decided_by": decision.decided_by,
            "reason": decision.reason,
            "edited_args_sha256": decision.edited_args.as_deref().map(args_digest),
        });
        if version >= 2 {
            payload["decided_roles"] = json!(decision.decided_roles);
            payload["decided_tenant"] = json!(decision.decided_tenant);
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
        let tag = self.mac(2, record, decision).finalize().into_bytes();
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
        let decision = ApprovalDecision {
            approved,
            decided_by: record.decided_by.clone().unwrap_or_default(),
            decided_roles: record.decided_roles.clone(),
            decided_tenant: record.decided_tenant.clone(),
            reason: record.reason.clone(),
            edited_args: record.edited_args.clone(),
            signature: None,
        };
        self.mac(version, record, &decision)
            .verify_slice(&tag)
            .map_err(|_| "the signature does not match the decision".to_owned())
    }
}
