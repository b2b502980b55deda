//! Redacting log output: a `tracing-subscriber` writer that scrubs every
//! formatted line before it reaches its destination.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

use super::Redactor;

/// A [`MakeWriter`] whose writers redact everything written through them.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use agentsec_runtime::secrets::Redactor;
/// use agentsec_runtime::secrets::redact::RedactingMakeWriter;
///
/// #[derive(Clone, Default)]
/// struct Buffer(Arc<Mutex<Vec<u8>>>);
/// impl std::io::Write for Buffer {
///     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
///         self.0.lock().unwrap().extend_from_slice(buf);
///         Ok(buf.len())
///     }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
///
/// let redactor = Redactor::new();
/// let _ = redactor.register("db_password", "correct-horse-battery");
/// let buffer = Buffer::default();
/// let sink = buffer.clone();
/// let subscriber = tracing_subscriber::fmt()
///     .with_writer(RedactingMakeWriter::new(move || sink.clone(), redactor))
///     .without_time()
///     .finish();
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!(password = "correct-horse-battery", "connecting");
/// });
/// let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
/// assert!(logs.contains("[REDACTED:db_password]"), "{logs}");
/// assert!(!logs.contains("correct-horse-battery"));
/// ```
#[derive(Clone, Debug)]
pub struct RedactingMakeWriter<M> {
    inner: M,
    redactor: Redactor,
}

impl<M> RedactingMakeWriter<M> {
    /// Wraps `inner` (for example `std::io::stdout`).
    pub fn new(inner: M, redactor: Redactor) -> Self {
        Self { inner, redactor }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer(), self.redactor.clone())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer_for(meta), self.redactor.clone())
    }
}

/// A writer that collects what is written and writes it, redacted, to the
/// inner writer on [`flush`](Write::flush) or when dropped.
///
/// Collecting first matters: a formatter may write one line in several
/// pieces, and a secret split across two `write` calls would slip past a
/// writer that redacted each piece on its own. `tracing-subscriber` makes one
/// writer per event, so every event is redacted as a whole. Errors from the
/// inner writer are returned by `flush`; on drop they cannot be reported and
/// are ignored, like every logging failure.
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
    redactor: Redactor,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W, redactor: Redactor) -> Self {
        Self {
            inner,
            redactor,
            pending: Vec::new(),
        }
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let text = String::from_utf8_lossy(&pending);
        let redacted = self.redactor.redact_str(&text);
        self.inner.write_all(redacted.as_bytes())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_pending()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.write_pending();
        let _ = self.inner.flush();
    }
}
