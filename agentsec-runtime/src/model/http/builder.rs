//! The builder methods both HTTP clients share.

/// The builder methods both HTTP clients share; expanded inside each
/// builder's `impl`, which has an `http: HttpSettings` field.
macro_rules! http_builder_methods {
    () => {
        /// The provider's name, used in errors and traces.
        pub fn name(mut self, name: impl Into<String>) -> Self {
            self.http.name = Some(name.into());
            self
        }

        /// The API's base URL (for a local server, a gateway or a proxy).
        pub fn base_url(mut self, url: impl Into<String>) -> Self {
            self.http.base_url = Some(url.into());
            self
        }

        /// The model used when a request names none.
        pub fn model(mut self, model: impl Into<String>) -> Self {
            self.http.model = Some(model.into());
            self
        }

        /// Reads the API key from secret `secret` of `store`, for every
        /// request (bring your own key). Without it no key is sent, which
        /// suits local servers.
        pub fn api_key_secret(
            mut self,
            secret: impl Into<String>,
            store: std::sync::Arc<dyn $crate::secrets::SecretStore>,
        ) -> Self {
            self.http.key = Some($crate::model::http::KeySource {
                secret: secret.into(),
                store,
            });
            self
        }

        /// How the key is sent (Azure-style gateways use `api-key`).
        pub fn auth_header(mut self, auth: $crate::model::AuthHeader) -> Self {
            self.http.auth = Some(auth);
            self
        }

        /// The timeout of one request attempt, body included.
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.http.timeout = timeout;
            self
        }

        /// The retry policy for rate limits, server errors and timeouts.
        pub fn retry(mut self, retry: $crate::model::RetryPolicy) -> Self {
            self.http.retry = retry;
            self
        }

        /// A header sent with every request (organisation, project, gateway routing).
        pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.http.headers.push((name.into(), value.into()));
            self
        }

        /// A query parameter sent with every request (Azure's `api-version`).
        pub fn query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.http.query.push((name.into(), value.into()));
            self
        }

        /// The largest response body accepted (8 MiB by default).
        pub fn max_response_bytes(mut self, max: usize) -> Self {
            self.http.max_response_bytes = max;
            self
        }

        /// Uses this reqwest client (custom roots, proxies) instead of the
        /// default one. The timeout is still applied per request.
        pub fn http_client(mut self, client: reqwest::Client) -> Self {
            self.http.client = Some(client);
            self
        }
    };
}

pub(crate) use http_builder_methods;
