//! Provider failures, classified for retries and fallbacks, convertible to OpenAI errors.

use llmgw_translate::{TranslateError, UpstreamFailure};
use llmgw_types::ErrorBody;
use std::time::Duration;

/// What kind of failure happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderErrorKind {
    /// The connection could not be made (DNS, refused, TLS) or broke before a response.
    Connect,
    /// A time limit ran out.
    Timeout,
    /// HTTP 429.
    RateLimited {
        /// How long the provider asked to wait.
        retry_after: Option<Duration>,
    },
    /// Another non-success HTTP status (5xx, 404, 409…).
    UpstreamStatus {
        /// The provider's HTTP status.
        status: u16,
    },
    /// The request is wrong for this provider (the provider's 400, or a request the translation refuses).
    BadRequest,
    /// The provider rejected the gateway's credentials.
    Auth,
    /// The answer stopped mid-way (connection dropped, terminal event missing, partial body).
    StreamCut,
    /// The provider answered with something that is not a valid response.
    InvalidResponse,
    /// The provider settings are unusable (bad header, bad URL).
    Config,
}

impl ProviderErrorKind {
    /// Short name of the kind (`rate_limited`, `stream_cut`, …), for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProviderErrorKind::Connect => "connect",
            ProviderErrorKind::Timeout => "timeout",
            ProviderErrorKind::RateLimited { .. } => "rate_limited",
            ProviderErrorKind::UpstreamStatus { .. } => "upstream_status",
            ProviderErrorKind::BadRequest => "bad_request",
            ProviderErrorKind::Auth => "auth",
            ProviderErrorKind::StreamCut => "stream_cut",
            ProviderErrorKind::InvalidResponse => "invalid_response",
            ProviderErrorKind::Config => "config",
        }
    }
}

/// A failed provider call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// The kind of failure.
    pub kind: ProviderErrorKind,
    /// The configured provider's name.
    pub provider: String,
    /// What happened, naming the provider; never contains a key.
    pub message: String,
    /// The request parameter at fault (bad requests).
    pub param: Option<String>,
    /// The provider's own status for HTTP failures (kept for logs).
    pub upstream_status: Option<u16>,
    /// Set for failures that map to a specific client status (e.g. 413, 503).
    client_status: Option<u16>,
}

impl ProviderError {
    /// A failure of `kind` at `provider`; `message` should already name the provider.
    pub fn new(kind: ProviderErrorKind, provider: &str, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            provider: provider.to_string(),
            message: message.into(),
            param: None,
            upstream_status: None,
            client_status: None,
        }
    }

    /// From a parsed upstream HTTP failure; `retry_after_header` is the `retry-after` header's wait.
    pub fn from_failure(
        provider: &str,
        failure: &UpstreamFailure,
        retry_after_header: Option<Duration>,
    ) -> Self {
        let (client_status, body) = failure.to_openai_error(provider);
        let kind = if failure.auth {
            ProviderErrorKind::Auth
        } else if failure.status == 429 {
            ProviderErrorKind::RateLimited {
                retry_after: retry_after_header.or_else(|| {
                    failure
                        .retry_after_secs
                        .and_then(|s| Duration::try_from_secs_f64(s).ok())
                }),
            }
        } else if failure.is_bad_request() {
            ProviderErrorKind::BadRequest
        } else if matches!(failure.status, 408 | 504) {
            ProviderErrorKind::Timeout
        } else {
            ProviderErrorKind::UpstreamStatus {
                status: failure.status,
            }
        };
        ProviderError {
            kind,
            provider: provider.to_string(),
            message: body.error.message,
            param: None,
            upstream_status: Some(failure.status),
            client_status: Some(client_status),
        }
    }

    /// From a translation failure.
    pub fn from_translate(provider: &str, err: &TranslateError) -> Self {
        let (status, body) = err.to_openai_error();
        let kind = match err {
            TranslateError::InvalidRequest { .. } => ProviderErrorKind::BadRequest,
            TranslateError::InvalidResponse { .. } => ProviderErrorKind::InvalidResponse,
            TranslateError::StreamIncomplete { .. } => ProviderErrorKind::StreamCut,
            TranslateError::StreamError { status: 429, .. } => {
                ProviderErrorKind::RateLimited { retry_after: None }
            }
            TranslateError::StreamError { status: 400, .. } => ProviderErrorKind::BadRequest,
            TranslateError::StreamError { status, .. } => {
                ProviderErrorKind::UpstreamStatus { status: *status }
            }
        };
        let message = match err {
            // The client's own mistake: its message stands alone.
            TranslateError::InvalidRequest { .. } => format!("{provider}: {}", body.error.message),
            _ => format!("{provider}: {err}"),
        };
        ProviderError {
            kind,
            provider: provider.to_string(),
            message,
            param: body.error.param,
            upstream_status: None,
            client_status: Some(status),
        }
    }

    /// Sets the parameter at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// True when the same call to the same provider may succeed later (connect failures,
    /// timeouts, 429, 5xx, cut streams).
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ProviderErrorKind::Connect
            | ProviderErrorKind::Timeout
            | ProviderErrorKind::RateLimited { .. }
            | ProviderErrorKind::StreamCut => true,
            ProviderErrorKind::UpstreamStatus { status } => *status >= 500 || *status == 409,
            ProviderErrorKind::BadRequest
            | ProviderErrorKind::Auth
            | ProviderErrorKind::InvalidResponse
            | ProviderErrorKind::Config => false,
        }
    }

    /// True when another provider may succeed where this one failed: everything except a bad request.
    pub fn should_fall_back(&self) -> bool {
        !matches!(self.kind, ProviderErrorKind::BadRequest)
    }

    /// How long the provider asked to wait before retrying (429 only).
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            ProviderErrorKind::RateLimited { retry_after } => retry_after,
            _ => None,
        }
    }

    /// The HTTP status and OpenAI error body for the client.
    pub fn to_openai_error(&self) -> (u16, ErrorBody) {
        let msg = self.message.clone();
        let (status, mut body) = match &self.kind {
            ProviderErrorKind::BadRequest => (400, ErrorBody::invalid_request(msg)),
            ProviderErrorKind::RateLimited { .. } => (429, ErrorBody::rate_limit(msg)),
            ProviderErrorKind::Timeout => (504, ErrorBody::timeout(msg)),
            ProviderErrorKind::Auth => (
                502,
                ErrorBody::upstream(msg).with_code("upstream_auth_failed"),
            ),
            ProviderErrorKind::Connect => (
                502,
                ErrorBody::upstream(msg).with_code("upstream_unreachable"),
            ),
            ProviderErrorKind::StreamCut => (
                502,
                ErrorBody::upstream(msg).with_code("upstream_stream_cut"),
            ),
            ProviderErrorKind::InvalidResponse => (
                502,
                ErrorBody::upstream(msg).with_code("upstream_invalid_response"),
            ),
            ProviderErrorKind::UpstreamStatus { status } => {
                let client = if matches!(status, 503 | 529) {
                    503
                } else {
                    502
                };
                (
                    client,
                    ErrorBody::upstream(msg).with_code(format!("upstream_{status}")),
                )
            }
            ProviderErrorKind::Config => (
                500,
                ErrorBody::server_error(msg).with_code("provider_misconfigured"),
            ),
        };
        body.error.param = self.param.clone();
        let status = match (&self.kind, self.client_status) {
            // 413 stays 413; other statuses follow the kind.
            (ProviderErrorKind::BadRequest, Some(413)) => 413,
            _ => status,
        };
        (status, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmgw_translate::Dialect;

    #[test]
    fn classification_and_statuses() {
        let f = UpstreamFailure::parse(
            Dialect::Anthropic,
            429,
            None,
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#,
        );
        let e = ProviderError::from_failure("claude", &f, Some(Duration::from_secs(3)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert!(e.is_retryable());
        assert_eq!(e.to_openai_error().0, 429);
        assert!(e.message.starts_with("claude returned HTTP 429"));

        let f = UpstreamFailure::parse(
            Dialect::OpenAi,
            400,
            None,
            r#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}"#,
        );
        let e = ProviderError::from_failure("oai", &f, None);
        assert_eq!(e.kind, ProviderErrorKind::BadRequest);
        assert!(!e.is_retryable() && !e.should_fall_back());

        let f = UpstreamFailure::parse(Dialect::Gemini, 503, None, "");
        let e = ProviderError::from_failure("g", &f, None);
        assert_eq!(e.kind, ProviderErrorKind::UpstreamStatus { status: 503 });
        assert_eq!(e.to_openai_error().0, 503);

        let f = UpstreamFailure::parse(
            Dialect::Anthropic,
            413,
            None,
            r#"{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}"#,
        );
        assert_eq!(
            ProviderError::from_failure("a", &f, None)
                .to_openai_error()
                .0,
            413
        );

        let f = UpstreamFailure::parse(Dialect::OpenAi, 401, None, "{}");
        let e = ProviderError::from_failure("o", &f, None);
        assert_eq!(e.kind, ProviderErrorKind::Auth);
        assert!(!e.is_retryable() && e.should_fall_back());
    }

    #[test]
    fn translate_errors() {
        let e = ProviderError::from_translate(
            "claude",
            &TranslateError::invalid_request("n greater than 1 is not supported", "n"),
        );
        let (status, body) = e.to_openai_error();
        assert_eq!((status, body.error.param.as_deref()), (400, Some("n")));
        let e = ProviderError::from_translate(
            "claude",
            &TranslateError::StreamIncomplete {
                provider: "anthropic",
            },
        );
        assert_eq!(e.kind, ProviderErrorKind::StreamCut);
        assert!(e.message.starts_with("claude:"));
    }
}
