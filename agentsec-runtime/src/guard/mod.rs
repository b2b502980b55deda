//! Guards on the data path: what untrusted text may reach the model, what a
//! run may do once it has read it, and whose data retrieval may return.
//!
//! - [`screen`]: input screening before the model sees untrusted text
//!   ([`InputGuard`], the built-in rule set [`RuleGuard`]).
//! - [`Spotlighter`]: untrusted tool output is delimited as data with a
//!   random per-run boundary.
//! - [`TaintTracker`]: per-run taint and the rule of two (untrusted input +
//!   private data ⇒ state changes and egress need approval).
//! - [`HostAllowlist`]: the one egress allowlist — the hosts URL-fetching
//!   tools may reach ([`FetchAllowlist`]) and links with data in answers may
//!   point to.
//! - [`retrieval`]: RAG and memory queries that require the user's scope.

mod allowlist;
pub mod retrieval;
pub mod screen;
mod spotlight;
mod taint;

pub use allowlist::{AllowlistError, FetchAllowlist, HostAllowlist, UrlRefused};
pub use retrieval::{
    Document, Embedder, MemoryRetriever, NewDocument, PgRetriever, RetrievalError, RetrievalQuery,
    RetrievalScope, ScopedRetriever, ScoredDocument, Visibility,
};
pub use screen::{
    InputGuard, RULES, RuleCategory, RuleGuard, RuleHit, RuleInfo, Screening, UnknownRule, Verdict,
    normalize,
};
pub use spotlight::{Spotlighter, spotlight};
pub use taint::{TaintTracker, UNTRUSTED_USER_INPUT};
pub use url::Url;
