//! Human in the loop: people approve, edit, reject and reconcile what
//! agents want to do, and paused runs continue — in any process sharing
//! the store.
//!
//! - [`Approvals::pending`] lists the calls waiting for a person (per agent,
//!   per user), with the exact arguments they would run with.
//! - [`Approvals::approve`], [`Approvals::approve_edited`] (re-validated
//!   against the tool's schema; the approval binds the new arguments) and
//!   [`Approvals::reject`] record a signed decision ([`DecisionSigner`],
//!   HMAC-SHA256) bound to the tool, the call and the arguments' digest; of
//!   two racing approvers one wins. An [`ApprovalPolicy`] can require four
//!   eyes or a role.
//! - [`Approvals::resume`] verifies every decision and continues the run,
//!   single flight; an undecided request past its deadline expires, which
//!   the model is told (distinct from a rejection).
//! - [`Approvals::reconcile`] settles a call the engine cannot know the
//!   fate of (the process died while it ran).
//!
//! The engine makes approved calls run exactly once (see
//! [`crate::engine::StoreCheckpoints`]).

mod decision;
mod error;
mod policy;
mod resume;
mod service;
mod signing;
mod view;

pub use decision::{ApprovalDecision, ApprovalVerdict, SYSTEM_APPROVER};
pub use error::HitlError;
pub use policy::{ApprovalPolicy, PolicyViolation};
pub use service::Approvals;
pub use signing::{DecisionSigner, MIN_KEY_BYTES};
pub use view::PendingApproval;
