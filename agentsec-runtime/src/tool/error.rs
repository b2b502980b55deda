use std::fmt;

use crate::escape::Echo;
use crate::permission::GrantError;
use crate::secrets::SecretError;

/// Why a tool call did not produce a result.
///
/// Every variant is safe to send back to the model as a tool error (see
/// [`ToolError::model_message`]): none carries a secret or a grant token.
/// Tool bodies return their own failures with [`ToolError::failed`] (or any
/// error type that converts into `ToolError`).
///
/// ```
/// use agentsec_runtime::tool::ToolError;
/// let err = ToolError::failed("order 42 does not exist");
/// assert_eq!(err.model_message(), "order 42 does not exist");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The model's arguments did not decode into the tool's argument type.
    #[error("invalid arguments for tool `{tool}`: {}", FieldMessage(field.as_deref(), message))]
    InvalidArguments {
        /// The tool called.
        tool: String,
        /// The path of the offending field (`limit`, `items[2].sku`), when known.
        field: Option<String>,
        /// What was wrong.
        message: String,
    },
    /// The model called a tool the agent does not have.
    #[error("unknown tool `{}`{}", Echo(name), DidYouMean(suggestion.as_deref()))]
    UnknownTool {
        /// The name the model used.
        name: String,
        /// The closest tool name the agent has, if any is close.
        suggestion: Option<String>,
    },
    /// The call's scoped grant is missing, forged, expired or does not cover
    /// this tool.
    #[error("tool `{tool}` refused: {source}")]
    Grant {
        /// The tool called.
        tool: String,
        /// What was wrong with the grant.
        #[source]
        source: GrantError,
    },
    /// The policy denied the call.
    #[error("tool `{tool}` denied: {reason}")]
    Denied {
        /// The tool called.
        tool: String,
        /// A reason the model may see.
        reason: String,
    },
    /// An irreversible tool was called without a human approval of this exact call.
    #[error(
        "tool `{tool}` is irreversible and needs a human approval of this exact call: {reason}"
    )]
    ApprovalRequired {
        /// The tool called.
        tool: String,
        /// Why the attached approval (if any) does not apply.
        reason: String,
    },
    /// The tool needs application state the runtime was not given.
    #[error(
        "tool `{tool}` needs state of type `{type_name}`, which was not provided to the runtime"
    )]
    MissingState {
        /// The tool called.
        tool: String,
        /// The missing type.
        type_name: &'static str,
    },
    /// The tool needs a secret the secret store does not have.
    #[error("tool `{tool}` needs secret `{name}`, which the secret store does not have")]
    MissingSecret {
        /// The tool called.
        tool: String,
        /// The secret's name.
        name: String,
    },
    /// The secret store failed.
    #[error("secret store failed: {0}")]
    Secret(#[from] SecretError),
    /// The tool's result could not be serialized.
    #[error("tool `{tool}` returned a value that could not be serialized: {message}")]
    Output {
        /// The tool called.
        tool: String,
        /// The serializer's message.
        message: String,
    },
    /// The tool body panicked. The pipeline caught the panic: the call
    /// failed, the run and the process go on.
    #[error("tool `{tool}` failed unexpectedly (it panicked: {message})")]
    Panicked {
        /// The tool called.
        tool: String,
        /// The panic's message, redacted.
        message: String,
    },
    /// The tool body failed.
    #[error("{message}")]
    Failed {
        /// What went wrong, in words the model may see.
        message: String,
        /// Whether trying again later may succeed.
        retryable: bool,
    },
}

impl ToolError {
    /// A failure of the tool body, with a message the model may see.
    pub fn failed(message: impl fmt::Display) -> Self {
        ToolError::Failed {
            message: message.to_string(),
            retryable: false,
        }
    }

    /// A transient failure: the runtime may retry the call.
    pub fn retryable(message: impl fmt::Display) -> Self {
        ToolError::Failed {
            message: message.to_string(),
            retryable: true,
        }
    }

    /// The text sent back to the model as the tool's error result.
    pub fn model_message(&self) -> String {
        self.to_string()
    }

    /// Whether the error came from the model's own input (bad arguments or
    /// an unknown tool), so the model can correct itself.
    pub fn is_model_error(&self) -> bool {
        matches!(
            self,
            ToolError::InvalidArguments { .. } | ToolError::UnknownTool { .. }
        )
    }
}

struct FieldMessage<'a>(Option<&'a str>, &'a String);

impl fmt::Display for FieldMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            // Both come from the model's arguments (serde quotes the value):
            // escaped and cut, so a 10 MB value gives a short error.
            Some(field) => write!(f, "field `{}`: {}", Echo(field), Echo(self.1)),
            None => write!(f, "{}", Echo(self.1)),
        }
    }
}

struct DidYouMean<'a>(Option<&'a str>);

impl fmt::Display for DidYouMean<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, "; did you mean `{s}`?"),
            None => Ok(()),
        }
    }
}
