//! OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// A request validation failure, reported as a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub message: String,
    pub param: Option<String>,
    pub code: Option<&'static str>,
}

impl Invalid {
    pub(crate) fn new(message: impl Into<String>) -> Invalid {
        Invalid {
            message: message.into(),
            param: None,
            code: None,
        }
    }

    pub(crate) fn param(mut self, param: impl Into<String>) -> Invalid {
        self.param = Some(param.into());
        self
    }

    pub(crate) fn code(mut self, code: &'static str) -> Invalid {
        self.code = Some(code);
        self
    }

    pub(crate) fn into_response(self) -> Response {
        body(
            StatusCode::BAD_REQUEST,
            &self.message,
            "invalid_request_error",
            self.param.as_deref(),
            self.code,
        )
    }
}

/// An error response in OpenAI's shape.
pub(crate) fn body(
    status: StatusCode,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    let body = json!({
        "error": {"message": message, "type": kind, "param": param, "code": code}
    });
    (status, Json(body)).into_response()
}

/// The error OpenAI sends for `status`, with its usual message, type and code.
pub(crate) fn for_status(status: StatusCode, model: &str) -> Response {
    let (message, kind, code): (String, &str, Option<&str>) = match status.as_u16() {
        400 => (
            "Invalid request (simulated bad request).".into(),
            "invalid_request_error",
            None,
        ),
        401 => (
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.".into(),
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        403 => (
            "You are not allowed to sample from this model.".into(),
            "invalid_request_error",
            Some("model_not_allowed"),
        ),
        404 => (
            format!("The model `{model}` does not exist or you do not have access to it."),
            "invalid_request_error",
            Some("model_not_found"),
        ),
        429 => (
            format!("Rate limit reached for {model} on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s."),
            "requests",
            Some("rate_limit_exceeded"),
        ),
        500 => (
            "The server had an error while processing your request. Sorry about that!".into(),
            "server_error",
            None,
        ),
        503 => (
            "The server is overloaded or not ready yet.".into(),
            "server_error",
            None,
        ),
        s if s >= 500 => (format!("Upstream error {s}."), "server_error", None),
        s => (format!("Request failed with status {s}."), "invalid_request_error", None),
    };
    body(status, &message, kind, None, code)
}

/// The error for a prompt longer than the context window.
pub(crate) fn context_length(prompt_tokens: u32) -> Response {
    let limit = prompt_tokens.saturating_sub(1).max(1);
    body(
        StatusCode::BAD_REQUEST,
        &format!(
            "This model's maximum context length is {limit} tokens. However, your messages resulted in {prompt_tokens} tokens. Please reduce the length of the messages."
        ),
        "invalid_request_error",
        Some("messages"),
        Some("context_length_exceeded"),
    )
}

/// The 401 for a missing or malformed `Authorization` header.
pub(crate) fn missing_key() -> Response {
    body(
        StatusCode::UNAUTHORIZED,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        None,
        None,
    )
}
