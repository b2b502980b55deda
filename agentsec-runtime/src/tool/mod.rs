//! Tools: what the `#[tool]` macro generates, the registry of an agent's
//! tools ([`Dispatcher`]) and the context a tool runs with.
//!
//! A tool implements one thing, [`Tool::execute`]. Everything that guards a
//! call — strict decoding, the policy, approval, the scoped grant, catching
//! a panic, protecting the output — is done by the call pipeline
//! ([`crate::call`]) before and after `execute`, never by the tool, so no
//! tool (generated or written by hand) can skip it.

mod args;
mod build_error;
mod ctx;
mod dispatcher;
mod error;
pub mod identity_args;
mod schema;
mod spec;
mod state;

use std::any::Any;
use std::future::Future;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::BoxFuture;

pub use crate::call::{ApprovalProof, CallContext};
pub use agentsec_core::{args_digest, canonical_json};
pub(crate) use args::parse_args;
pub use args::{ArgLimits, decode_args};
pub use build_error::BuildError;
pub use ctx::ToolCtx;
pub use dispatcher::{Dispatcher, DispatcherBuilder};
pub use error::ToolError;
pub use schema::{ToolSchema, make_strict};
pub use spec::{
    Effect, EffectKind, Irreversibility, Scope, SinkPolicy, Sinks, SourceLocation,
    StateRequirement, ToolSpec, const_str_eq,
};
pub use state::StateMap;

/// A tool the model can call. The `#[tool]` macro implements it; it can also
/// be implemented by hand, and then goes through the same call pipeline and
/// the same agent-level compile-time checks (they read [`Tool::SPEC`]).
///
/// The trait has no way to run a call other than [`execute`](Tool::execute),
/// which the pipeline calls only after the arguments decoded strictly, the
/// policy allowed the call, a person approved it where needed and the call's
/// grant verified.
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
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `#[tool]`",
    label = "listed as a tool here",
    note = "mark the function `#[tool(...)]` (its tool type is the function's name in UpperCamelCase), or `impl Tool` for the type by hand"
)]
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

    /// Runs the body with decoded arguments. Called only by the call
    /// pipeline, after every check of the call passed.
    fn execute(
        ctx: &ToolCtx,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send;
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

/// A tool's arguments, decoded into its own argument type and held without
/// naming it, between [`DynTool::decode`] and [`DynTool::execute`].
// The mutex makes the holder `Sync` (a decoded call is shared across the
// pipeline's awaits) without asking every argument type to be `Sync`; it is
// only ever locked once, to take the arguments out.
pub struct TypedArgs(std::sync::Mutex<Box<dyn Any + Send>>);

impl TypedArgs {
    /// Wraps decoded arguments.
    pub fn new<A: Send + 'static>(args: A) -> Self {
        Self(std::sync::Mutex::new(Box::new(args)))
    }

    /// The arguments as `A`, or `None` when they are of another type.
    pub fn into_inner<A: 'static>(self) -> Option<A> {
        let boxed = self.0.into_inner().unwrap_or_else(|p| p.into_inner());
        boxed.downcast::<A>().ok().map(|a| *a)
    }
}

impl std::fmt::Debug for TypedArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TypedArgs(..)")
    }
}

/// A type-erased [`Tool`], so tools of different types can sit in one
/// registry. The call pipeline decodes with it and, once every check of the
/// call passed, executes with it; like [`Tool`], it cannot skip a check,
/// because the checks are not its to make.
pub trait DynTool: Send + Sync + 'static {
    /// The tool's spec.
    fn spec(&self) -> &'static ToolSpec;
    /// The tool's schema.
    fn schema(&self) -> &'static ToolSchema;
    /// Decodes arguments the pipeline already parsed strictly (an object
    /// whose fields the schema knows) into the tool's argument type.
    fn decode(&self, arguments: &Value) -> Result<TypedArgs, ToolError>;
    /// Runs the body with arguments from [`decode`](DynTool::decode) and
    /// serializes its result.
    fn execute<'a>(
        &'a self,
        ctx: &'a ToolCtx,
        args: TypedArgs,
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

    fn decode(&self, arguments: &Value) -> Result<TypedArgs, ToolError> {
        args::typed_args::<T::Args>(T::schema(), arguments).map(TypedArgs::new)
    }

    fn execute<'a>(
        &'a self,
        ctx: &'a ToolCtx,
        args: TypedArgs,
    ) -> BoxFuture<'a, Result<Value, ToolError>> {
        Box::pin(async move {
            let spec = &T::SPEC;
            let args = args
                .into_inner::<T::Args>()
                .ok_or_else(|| ToolError::Output {
                    tool: spec.name.to_owned(),
                    message: "the arguments were decoded for another tool".into(),
                })?;
            let output = T::execute(ctx, args).await?;
            serde_json::to_value(output).map_err(|e| ToolError::Output {
                tool: spec.name.to_owned(),
                message: e.to_string(),
            })
        })
    }
}
