//! Why a dispatcher could not be built.

/// Why a dispatcher could not be built. Each names the tool at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Two tools have the same name.
    #[error("two tools are named `{0}`")]
    DuplicateTool(String),
    /// A tool needs state the builder was not given.
    #[error(
        "tool `{tool}` (declared at {location}) needs state of type `{type_name}`; add it with `.state(...)`"
    )]
    MissingState {
        /// The tool.
        tool: String,
        /// Where it is declared.
        location: String,
        /// The missing type.
        type_name: &'static str,
    },
    /// A tool needs a secret the store does not have.
    #[error(
        "tool `{tool}` needs secret `{secret}`, which the `{store}` secret store does not have"
    )]
    MissingSecret {
        /// The tool.
        tool: String,
        /// The secret.
        secret: String,
        /// The store's kind.
        store: &'static str,
    },
    /// The secret store failed while checking.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// A tool's arguments are not a JSON object.
    #[error(
        "tool `{0}` takes arguments that are not a JSON object; use a struct with named fields"
    )]
    ArgumentsNotObject(String),
    /// A tool's spec breaks one of the tool rules (a hand-written spec can:
    /// the `#[tool]` macro refuses them at compile time).
    #[error("tool `{tool}` {rule}")]
    InvalidSpec {
        /// The tool.
        tool: String,
        /// The rule it breaks, with its message and help.
        rule: agentsec_core::ToolRule,
    },
    /// A tool takes an argument named like a credential from the model.
    #[error(
        "tool `{tool}` takes `{argument}` from the model, named like a credential: it would pass through the model provider and the run's records\n= help: take it from the secret store (`#[secret(\"{argument}\")] {argument}: SecretString`, or `ctx.secret(\"...\")` in a hand-written tool)"
    )]
    CredentialArgument {
        /// The tool.
        tool: String,
        /// The argument.
        argument: String,
    },
    /// A tool declares as a sink an argument its schema does not have.
    #[error(
        "tool `{tool}` declares `{argument}` a sink, but has no such argument\n= help: name a top-level argument in `sinks.declared` (a `#[tool]` puts `#[sink]` on the argument itself)"
    )]
    UnknownSink {
        /// The tool.
        tool: String,
        /// The declared name.
        argument: String,
    },
    /// A tool lets the model supply an identity.
    #[error(
        "tool `{tool}` takes `{argument}` from the model; identity must come from `ctx.user()`, never from the model"
    )]
    IdentityArgument {
        /// The tool.
        tool: String,
        /// The argument.
        argument: String,
    },
}
