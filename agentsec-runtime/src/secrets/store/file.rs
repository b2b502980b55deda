use std::path::{Path, PathBuf};

use secrecy::SecretString;
use secrecy::zeroize::Zeroize;

use super::{SecretError, SecretStore};
use crate::BoxFuture;

/// The largest secret file [`FileSecretStore`] reads (1 MiB): a secret is a
/// key or a password, not a data set, and a huge file is a misconfiguration.
pub const MAX_SECRET_FILE_BYTES: usize = 1024 * 1024;

/// Secrets read from a directory holding one file per secret, as Kubernetes
/// mounts a `Secret` volume (`/var/run/secrets/app/stripe_api_key`).
///
/// - The file name is the secret name, unchanged.
/// - One trailing newline (`\n` or `\r\n`) is removed, because editors and
///   `echo` add one; anything else is kept as is.
/// - A missing file is `Ok(None)`; any other I/O failure is
///   [`SecretError::Io`], a non-UTF-8 file is [`SecretError::NotUtf8`], a
///   file over [`MAX_SECRET_FILE_BYTES`] is [`SecretError::TooLarge`].
/// - Names that could leave the directory or reach Kubernetes' own entries
///   are refused with [`SecretError::InvalidName`]: empty names, names with
///   `/`, `\` or NUL, names containing `..`, and names starting with `.`
///   (Kubernetes keeps `..data` and timestamped directories there).
///
/// Symbolic links are followed: Kubernetes mounts every secret as a link into
/// its `..data` directory.
///
/// ```
/// use agentsec_runtime::secrets::{ExposeSecret, FileSecretStore, SecretError, SecretStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("agentsec-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("db_password"), "hunter2-but-longer\n").unwrap();
///
/// let store = FileSecretStore::new(&dir);
/// let value = store.get("db_password").await.unwrap().unwrap();
/// assert_eq!(value.expose_secret(), "hunter2-but-longer");
/// assert!(store.get("missing").await.unwrap().is_none());
/// assert!(matches!(
///     store.get("../etc/passwd").await,
///     Err(SecretError::InvalidName { .. })
/// ));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct FileSecretStore {
    dir: PathBuf,
}

impl FileSecretStore {
    /// A store reading files from `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory secrets are read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds the secret `name`, or why the name is refused.
    pub fn path_for(&self, name: &str) -> Result<PathBuf, SecretError> {
        check_name(name)?;
        Ok(self.dir.join(name))
    }
}

fn check_name(name: &str) -> Result<(), SecretError> {
    let reason = if name.is_empty() {
        Some("the name is empty")
    } else if name.contains(['/', '\\']) {
        Some("the name contains a path separator")
    } else if name.contains('\0') {
        Some("the name contains a NUL byte")
    } else if name.contains("..") {
        Some("the name contains `..`")
    } else if name.starts_with('.') {
        Some("the name starts with `.`")
    } else if name.contains(':') && cfg!(windows) {
        // `C:secret` and alternate data streams on Windows.
        Some("the name contains `:`")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(SecretError::InvalidName {
            store: "file",
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Removes one trailing `\n` or `\r\n`.
fn trim_one_newline(mut value: String) -> String {
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    value
}

impl SecretStore for FileSecretStore {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn get<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretString>, SecretError>> {
        Box::pin(async move {
            let path = self.path_for(name)?;
            let bytes = match tokio::fs::read(&path).await {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(source) => {
                    return Err(SecretError::Io {
                        store: "file",
                        name: name.to_owned(),
                        source,
                    });
                }
            };
            if bytes.len() > MAX_SECRET_FILE_BYTES {
                return Err(SecretError::TooLarge {
                    store: "file",
                    name: name.to_owned(),
                    limit: MAX_SECRET_FILE_BYTES,
                });
            }
            let value = String::from_utf8(bytes).map_err(|e| {
                // The bytes are still the secret: wipe them before they go.
                e.into_bytes().zeroize();
                SecretError::NotUtf8 {
                    store: "file",
                    name: name.to_owned(),
                }
            })?;
            Ok(Some(SecretString::from(trim_one_newline(value))))
        })
    }
}
