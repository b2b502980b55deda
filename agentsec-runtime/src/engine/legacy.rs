//! Reading states saved by earlier versions, so runs paused before an
//! upgrade resume after it.

use serde::{Deserialize, Deserializer};

use crate::call::{ApprovalReason, CallDecision};

/// A call's decision: the typed form, or the sentence versions before 0.2
/// stored, mapped onto the typed form it stood for.
pub(super) fn decision<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<CallDecision>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Typed(CallDecision),
        Sentence(String),
    }
    Ok(match Option::<Stored>::deserialize(deserializer)? {
        None => None,
        Some(Stored::Typed(decision)) => Some(decision),
        Some(Stored::Sentence(text)) => Some(from_sentence(&text)),
    })
}

fn from_sentence(text: &str) -> CallDecision {
    if let Some(reason) = text.strip_prefix("denied by policy: ") {
        return CallDecision::DeniedByPolicy {
            policy: "unknown".into(),
            reason: reason.into(),
        };
    }
    if let Some(reason) = text.strip_prefix("allowed by policy; approval required: ") {
        return CallDecision::NeedsApproval {
            reasons: vec![ApprovalReason::Policy {
                reason: reason.into(),
            }],
            provenance: None,
        };
    }
    if let Some(reason) = text.strip_prefix("refused by the outgoing check: ") {
        return CallDecision::RefusedOutgoing {
            reason: reason.into(),
        };
    }
    if text == "allowed by policy" {
        return CallDecision::Allowed;
    }
    let error = text
        .strip_prefix("refused before the policy: ")
        .unwrap_or(text);
    CallDecision::Invalid {
        error: error.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_of_earlier_versions_read_as_typed_decisions() {
        assert_eq!(from_sentence("allowed by policy"), CallDecision::Allowed);
        assert!(matches!(
            from_sentence("denied by policy: no"),
            CallDecision::DeniedByPolicy { reason, .. } if reason == "no"
        ));
        assert!(
            from_sentence("allowed by policy; approval required: moves money").needs_approval()
        );
    }
}
