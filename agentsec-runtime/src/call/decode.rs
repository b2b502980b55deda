//! Decode once: the model's argument text becomes a [`ValidatedCall`], the
//! only form the rest of the pipeline accepts.

use agentsec_core::canonical_digest;
use std::sync::OnceLock;

use serde_json::Value;

use crate::tool::{Dispatcher, ToolError, ToolSpec, TypedArgs, canonical_json, parse_args};

/// A call whose arguments decoded strictly into the tool's argument type.
///
/// It holds the arguments three ways, all from one parse: typed (what the
/// tool runs with), as a JSON value (what the policy and the guards read)
/// and as canonical JSON text (sorted keys, no whitespace) with its SHA-256
/// digest (what an approver sees and what an approval binds). The typed
/// arguments are decoded from the same value the canonical text is written
/// from, so what a person approved and what runs cannot differ.
///
/// ```
/// use agentsec_runtime::tool::{Dispatcher, Tool, ToolCtx, ToolError, ToolSpec};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Args { order_id: String, amount_cents: u64 }
/// struct Refund;
/// impl Tool for Refund {
///     const SPEC: ToolSpec = ToolSpec::new("refund", "Refund.");
///     type Args = Args;
///     type Output = ();
///     async fn execute(_: &ToolCtx, _: Args) -> Result<(), ToolError> { Ok(()) }
/// }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dispatcher = Dispatcher::builder().tool::<Refund>().build().await.unwrap();
/// let call = dispatcher.decode("refund", r#"{ "order_id": "o1", "amount_cents": 1 }"#).unwrap();
/// assert_eq!(call.canonical(), r#"{"amount_cents":1,"order_id":"o1"}"#);
/// // The same field twice is refused, never resolved to one of the values.
/// let twice = r#"{"order_id":"o1","amount_cents":1,"amount_cents":89900}"#;
/// assert!(dispatcher.decode("refund", twice).is_err());
/// # });
/// ```
#[derive(Debug)]
pub struct ValidatedCall {
    spec: &'static ToolSpec,
    arguments: Value,
    // Written from `arguments` when first asked for: a call that needs no
    // approval, record or event never pays for them.
    canonical: OnceLock<String>,
    digest: OnceLock<String>,
    pub(super) typed: TypedArgs,
}

impl ValidatedCall {
    /// The tool's spec.
    pub fn spec(&self) -> &'static ToolSpec {
        self.spec
    }

    /// The arguments as a JSON value.
    pub fn arguments(&self) -> &Value {
        &self.arguments
    }

    /// The arguments as canonical JSON text: what is stored, shown to an
    /// approver and run.
    pub fn canonical(&self) -> &str {
        self.canonical
            .get_or_init(|| canonical_json(&self.arguments))
    }

    /// SHA-256 (hex) of [`canonical`](Self::canonical): what an approval binds.
    pub fn digest(&self) -> &str {
        self.digest
            .get_or_init(|| canonical_digest(self.canonical()))
    }
}

impl Dispatcher {
    /// Decodes the model's call of `tool` with argument text `raw_args`:
    /// the first step of the pipeline, and the only parse of the arguments.
    ///
    /// Refused, with a [`ToolError::InvalidArguments`] naming the field: an
    /// unknown tool; text over the size limit or nested deeper than the depth
    /// limit ([`ArgLimits`](crate::tool::ArgLimits)); text that is not a JSON
    /// object; a key given twice at any depth; a field the schema does not
    /// have at any depth; a value of the wrong type. Blank text is `{}`.
    pub fn decode(&self, tool: &str, raw_args: &str) -> Result<ValidatedCall, ToolError> {
        let registered = self.lookup(tool)?;
        let arguments = parse_args(registered.schema, raw_args, self.limits)?;
        let typed = registered.tool.decode(&arguments)?;
        Ok(ValidatedCall {
            spec: registered.tool.spec(),
            arguments,
            canonical: OnceLock::new(),
            digest: OnceLock::new(),
            typed,
        })
    }
}
