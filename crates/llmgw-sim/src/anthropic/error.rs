//! Anthropic's error body: `{"type": "error", "error": {"type", "message"}, "request_id"}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error response in Anthropic's shape; `request_id` also goes in the `request-id` header.
pub(crate) fn body(status: StatusCode, kind: &str, message: &str, request_id: &str) -> Response {
    let body = json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": request_id,
    });
    let mut resp = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("request-id", v);
    }
    resp
}

/// A request validation failure (400 `invalid_request_error`).
pub(crate) fn invalid(message: &str, request_id: &str) -> Response {
    body(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        message,
        request_id,
    )
}

/// The error type Anthropic uses for `status`.
pub(crate) fn kind_for(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}

/// The error Anthropic sends for `status`, with its usual message.
pub(crate) fn for_status(status: StatusCode, model: &str, request_id: &str) -> Response {
    let code = status.as_u16();
    let message = match code {
        400 => "Invalid request (simulated bad request).".to_string(),
        401 => "invalid x-api-key".to_string(),
        403 => "Your API key does not have permission to use the specified resource.".to_string(),
        404 => format!("model: {model}"),
        413 => "Request exceeds the maximum allowed number of bytes.".to_string(),
        429 => "Number of request tokens has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.".to_string(),
        500 => "Internal server error".to_string(),
        503 | 529 => "Overloaded".to_string(),
        s => format!("Request failed with status {s}."),
    };
    body(status, kind_for(code), &message, request_id)
}

/// The error for a prompt longer than the context window.
pub(crate) fn context_length(prompt_tokens: u32, request_id: &str) -> Response {
    let limit = prompt_tokens.saturating_sub(1).max(1);
    invalid(
        &format!("prompt is too long: {prompt_tokens} tokens > {limit} maximum"),
        request_id,
    )
}
