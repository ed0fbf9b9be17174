//! Gemini's error body (Google API style): `{"error": {"code", "message", "status"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// The canonical status name Google APIs pair with an HTTP status.
pub(crate) fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    }
}

/// An error response in Gemini's shape.
pub(crate) fn body(status: StatusCode, message: &str) -> Response {
    let code = status.as_u16();
    let body = json!({
        "error": {"code": code, "message": message, "status": status_name(code)}
    });
    (status, Json(body)).into_response()
}

/// A request validation failure (400 `INVALID_ARGUMENT`).
pub(crate) fn invalid(message: &str) -> Response {
    body(StatusCode::BAD_REQUEST, message)
}

/// The error Gemini sends for `status`, with its usual message.
pub(crate) fn for_status(status: StatusCode, model: &str) -> Response {
    let message = match status.as_u16() {
        400 => "Request contains an invalid argument.".to_string(),
        401 => "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.".to_string(),
        403 => "The caller does not have permission".to_string(),
        404 => format!("models/{model} is not found for API version v1beta, or is not supported for generateContent."),
        429 => "Resource has been exhausted (e.g. check quota).".to_string(),
        500 => "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting".to_string(),
        503 => "The model is overloaded. Please try again later.".to_string(),
        504 => "Deadline expired before operation could complete.".to_string(),
        s => format!("Request failed with status {s}."),
    };
    body(status, &message)
}

/// The error for a prompt longer than the context window.
pub(crate) fn context_length(prompt_tokens: u32) -> Response {
    let limit = prompt_tokens.saturating_sub(1).max(1);
    invalid(&format!(
        "The input token count ({prompt_tokens}) exceeds the maximum number of tokens allowed ({limit})."
    ))
}

/// The 401 for a request without an API key.
pub(crate) fn missing_key() -> Response {
    body(
        StatusCode::UNAUTHORIZED,
        "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
    )
}
