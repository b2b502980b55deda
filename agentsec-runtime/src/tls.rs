//! The TLS set-up every HTTP client of the runtime shares (model providers,
//! the webhook sink, the OTLP exporter).

use std::sync::Arc;

/// rustls on `ring` with the operating system's certificate verifier, passed
/// to each client explicitly so no process-wide crypto provider has to be
/// installed.
pub(crate) fn client_config() -> Result<rustls::ClientConfig, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
