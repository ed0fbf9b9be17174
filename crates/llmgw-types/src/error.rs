//! The OpenAI error body `{"error": {"message", "type", "param", "code"}}`.

use serde::{Deserialize, Serialize};

/// `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The fields of an OpenAI error. `param` and `code` are always present (possibly `null`), as OpenAI sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Human-readable message.
    pub message: String,
    /// Error class, e.g. `invalid_request_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The request parameter at fault.
    #[serde(default)]
    pub param: Option<String>,
    /// Machine-readable code.
    #[serde(default)]
    pub code: Option<String>,
}

impl ErrorBody {
    /// An error of type `kind` with `message`.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                message: message.into(),
                kind: kind.into(),
                param: None,
                code: None,
            },
        }
    }

    /// Sets `param`.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.error.param = Some(param.into());
        self
    }

    /// Sets `code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.error.code = Some(code.into());
        self
    }

    /// `invalid_request_error` (HTTP 400).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new("invalid_request_error", message)
    }

    /// `authentication_error` (HTTP 401).
    pub fn authentication(message: impl Into<String>) -> Self {
        Self::new("authentication_error", message).with_code("invalid_api_key")
    }

    /// `permission_error` (HTTP 403).
    pub fn permission(message: impl Into<String>) -> Self {
        Self::new("permission_error", message)
    }

    /// `invalid_request_error` with code `model_not_found` (HTTP 404).
    pub fn model_not_found(model: &str) -> Self {
        Self::new(
            "invalid_request_error",
            format!("The model `{model}` does not exist or you do not have access to it."),
        )
        .with_param("model")
        .with_code("model_not_found")
    }

    /// `not_found_error` (HTTP 404).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("not_found_error", message)
    }

    /// `rate_limit_error` (HTTP 429).
    pub fn rate_limit(message: impl Into<String>) -> Self {
        Self::new("rate_limit_error", message).with_code("rate_limit_exceeded")
    }

    /// `server_error` (HTTP 500).
    pub fn server_error(message: impl Into<String>) -> Self {
        Self::new("server_error", message)
    }

    /// `upstream_error`: a provider failed (HTTP 502/503).
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new("upstream_error", message)
    }

    /// `timeout_error` (HTTP 504).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new("timeout_error", message).with_code("timeout")
    }

    /// The HTTP status that usually goes with this error's `type`.
    pub fn default_status(&self) -> u16 {
        match self.error.kind.as_str() {
            "invalid_request_error" if self.error.code.as_deref() == Some("model_not_found") => 404,
            "invalid_request_error" => 400,
            "authentication_error" => 401,
            "permission_error" => 403,
            "not_found_error" => 404,
            "rate_limit_error" | "insufficient_quota" => 429,
            "upstream_error" => 502,
            "timeout_error" => 504,
            _ => 500,
        }
    }
}

/// An error body with its HTTP status, ready to be sent to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HTTP {status}: {}", .body.error.message)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with an explicit status.
    pub fn new(status: u16, body: ErrorBody) -> Self {
        ApiError { status, body }
    }

    /// 400 `invalid_request_error`, optionally naming the parameter at fault.
    pub fn bad_request(message: impl Into<String>, param: Option<&str>) -> Self {
        let mut body = ErrorBody::invalid_request(message);
        body.error.param = param.map(str::to_string);
        Self::new(400, body)
    }

    /// 401 `authentication_error`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, ErrorBody::authentication(message))
    }

    /// 404 `model_not_found`.
    pub fn model_not_found(model: &str) -> Self {
        Self::new(404, ErrorBody::model_not_found(model))
    }

    /// 429 `rate_limit_error`.
    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(429, ErrorBody::rate_limit(message))
    }

    /// 500 `server_error`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, ErrorBody::server_error(message))
    }
}

impl From<ErrorBody> for ApiError {
    fn from(body: ErrorBody) -> Self {
        ApiError {
            status: body.default_status(),
            body,
        }
    }
}
