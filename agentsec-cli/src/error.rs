use agentsec::store::StoreError;

/// Everything that can go wrong, as one line for the user and an exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The store could not be opened or reached.
    #[error("cannot open the store: {0}")]
    Store(String),
    /// What was asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request was refused (not pending, conflicting).
    #[error("{0}")]
    Refused(String),
    /// The command ran and found a problem.
    #[error("{0}")]
    Failed(String),
    /// The command line asks for something that cannot be (exit 2, like
    /// clap's own usage errors).
    #[error("{0}")]
    Usage(String),
    /// A stored row does not decode (damaged or edited by hand).
    #[error("{0}")]
    Corrupt(String),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Failed(_) | CliError::Io(_) => 1,
            CliError::Store(_) => 3,
            CliError::NotFound(_) => 4,
            CliError::Refused(_) => 5,
            CliError::Usage(_) => 2,
            CliError::Corrupt(_) => 6,
        }
    }

    /// Whether the reader went away (`agentsec trace … | head`): not an
    /// error, the command ends quietly.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<StoreError> for CliError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => CliError::NotFound(error.to_string()),
            StoreError::Backend(_) => CliError::Store(error.to_string()),
            StoreError::Corrupt { .. } => CliError::Corrupt(error.to_string()),
            other => CliError::Refused(other.to_string()),
        }
    }
}
