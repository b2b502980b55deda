//! Tools: what the `#[tool]` macro generates, and the guarded path every
//! tool call takes.
//!
//! A call runs only through [`Tool::invoke`] (the [`Dispatcher`] calls it),
//! which in order: verifies the call's scoped grant covers the tool's
//! [`ToolSpec`]; refuses an irreversible tool without an approval of this
//! exact call; decodes the model's arguments strictly; runs the body inside a
//! `tool.call` span; and serializes the result.

mod approval;
mod args;
mod ctx;
mod dispatcher;
mod error;
pub mod identity_args;
mod schema;
mod spec;
mod state;

use std::future::Future;
use std::pin::Pin;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;

pub use approval::{ApprovalProof, args_digest, canonical_json};
#[cfg(feature = "fuzzing")]
pub(crate) use args::decode_args_slowly;
pub use args::{ArgLimits, decode_args};
pub use ctx::ToolCtx;
pub use dispatcher::{BuildError, CallContext, Dispatcher, DispatcherBuilder};
pub use error::ToolError;
pub use schema::{ToolSchema, make_strict};
pub use spec::{
    Effect, EffectKind, Irreversibility, Scope, SourceLocation, StateRequirement, ToolSpec,
    const_str_eq,
};
pub use state::StateMap;

/// A boxed, `Send` future, as returned by [`DynTool::invoke`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A tool the model can call. The `#[tool]` macro implements it; it can also
/// be implemented by hand, and then goes through the same guarded path and
/// the same agent-level compile-time checks (they read [`Tool::SPEC`]).
///
/// ```
/// use agentsec_runtime::tool::{Tool, ToolCtx, ToolError, ToolSpec};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct AddArgs { a: i64, b: i64 }
///
/// struct Add;
/// impl Tool for Add {
///     const SPEC: ToolSpec = ToolSpec::new("add", "Add two integers.");
///     type Args = AddArgs;
///     type Output = i64;
///     async fn execute(_ctx: &ToolCtx, args: AddArgs) -> Result<i64, ToolError> {
///         Ok(args.a + args.b)
///     }
/// }
/// ```
pub trait Tool: Sized + Send + Sync + 'static {
    /// The tool's static description.
    const SPEC: ToolSpec;
    /// The decoded arguments the model supplies.
    type Args: DeserializeOwned + JsonSchema + Send + 'static;
    /// What the tool returns on success.
    type Output: Serialize + Send + 'static;

    /// The schema the model sees, built once per tool type. The macro
    /// overrides this with a `static` of the tool's own; the default looks
    /// the schema up in a process-wide cache keyed by type.
    fn schema() -> &'static ToolSchema {
        cached_schema::<Self>()
    }

    /// Runs the body with decoded arguments. Called only by [`Tool::invoke`],
    /// after the grant and arguments are checked.
    fn execute(
        ctx: &ToolCtx,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send;

    /// The guarded path: grant, approval, arguments, span, body, result.
    fn invoke(
        ctx: &ToolCtx,
        raw_args: &str,
        limits: ArgLimits,
    ) -> impl Future<Output = Result<Value, ToolError>> + Send {
        invoke::<Self>(ctx, Self::schema(), raw_args, limits)
    }
}

/// The schema of `T` from the process-wide cache (built on first use).
pub fn cached_schema<T: Tool>() -> &'static ToolSchema {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{OnceLock, RwLock};
    static CACHE: OnceLock<RwLock<HashMap<TypeId, &'static ToolSchema>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = TypeId::of::<T>();
    if let Some(schema) = cache.read().unwrap_or_else(|p| p.into_inner()).get(&id) {
        return schema;
    }
    let mut cache = cache.write().unwrap_or_else(|p| p.into_inner());
    // Leaked once per tool type: schemas live as long as the program.
    cache
        .entry(id)
        .or_insert_with(|| Box::leak(Box::new(ToolSchema::of::<T>())))
}

async fn invoke<T: Tool>(
    ctx: &ToolCtx,
    schema: &'static ToolSchema,
    raw_args: &str,
    limits: ArgLimits,
) -> Result<Value, ToolError> {
    let spec = &T::SPEC;
    ctx.verify_grant(spec).map_err(|source| ToolError::Grant {
        tool: spec.name.to_owned(),
        source,
    })?;
    if spec.is_irreversible() {
        let proof = ctx.approval().ok_or_else(|| ToolError::ApprovalRequired {
            tool: spec.name.to_owned(),
            reason: "no approval is attached".into(),
        })?;
        proof
            .check(spec.name, ctx.call_id(), raw_args)
            .map_err(|reason| ToolError::ApprovalRequired {
                tool: spec.name.to_owned(),
                reason,
            })?;
    }
    let args: T::Args = decode_args(schema, raw_args, limits)?;
    let span = tracing::info_span!(
        "tool.call",
        otel.name = %format_args!("execute_tool {}", spec.name),
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = spec.name,
        gen_ai.tool.call.id = %ctx.call_id(),
        run_id = %ctx.run_id(),
        agent = ctx.agent(),
        user = %ctx.user().id,
        tool = spec.name,
        call_id = %ctx.call_id(),
        step = ctx.step(),
        irreversible = spec.is_irreversible(),
    );
    let output = T::execute(ctx, args).instrument(span).await?;
    serde_json::to_value(output).map_err(|e| ToolError::Output {
        tool: spec.name.to_owned(),
        message: e.to_string(),
    })
}

/// A type-erased [`Tool`], so tools of different types can sit in one registry.
pub trait DynTool: Send + Sync + 'static {
    /// The tool's spec.
    fn spec(&self) -> &'static ToolSpec;
    /// The tool's schema.
    fn schema(&self) -> &'static ToolSchema;
    /// Checks that `raw_args` decode into the tool's arguments, without
    /// running anything (so a call is validated before a person is asked to
    /// approve it).
    fn validate(&self, raw_args: &str, limits: ArgLimits) -> Result<(), ToolError>;
    /// Runs the guarded path.
    fn invoke<'a>(
        &'a self,
        ctx: &'a ToolCtx,
        raw_args: &'a str,
        limits: ArgLimits,
    ) -> BoxFuture<'a, Result<Value, ToolError>>;
}

/// The [`DynTool`] of tool type `T`.
pub struct ErasedTool<T>(std::marker::PhantomData<fn() -> T>);

impl<T> ErasedTool<T> {
    /// Erases `T`.
    pub fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T> Default for ErasedTool<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Tool> DynTool for ErasedTool<T> {
    fn spec(&self) -> &'static ToolSpec {
        &T::SPEC
    }

    fn schema(&self) -> &'static ToolSchema {
        T::schema()
    }

    fn validate(&self, raw_args: &str, limits: ArgLimits) -> Result<(), ToolError> {
        decode_args::<T::Args>(T::schema(), raw_args, limits).map(drop)
    }

    fn invoke<'a>(
        &'a self,
        ctx: &'a ToolCtx,
        raw_args: &'a str,
        limits: ArgLimits,
    ) -> BoxFuture<'a, Result<Value, ToolError>> {
        Box::pin(T::invoke(ctx, raw_args, limits))
    }
}
