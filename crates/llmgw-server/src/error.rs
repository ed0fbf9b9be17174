//! OpenAI-shaped error responses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use llmgw_types::{ApiError, ErrorBody};

/// An [`ApiError`] that axum can send: its status and `{"error": {...}}` body.
#[derive(Debug, Clone)]
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(err: ApiError) -> Self {
        HttpError(err)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        error_response(&self.0)
    }
}

/// The response for `err`: its status (500 when out of range) and JSON body.
pub fn error_response(err: &ApiError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&err.body).unwrap_or_else(|_| {
        br#"{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}"#
            .to_vec()
    });
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if err.status == 429 {
        // Tell well-behaved clients when to come back.
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

/// 404 for a path the gateway does not serve.
pub fn unknown_route(method: &str, path: &str) -> ApiError {
    ApiError::new(
        404,
        ErrorBody::not_found(format!(
            "Unknown request URL: {method} {path}. The gateway serves POST /v1/chat/completions, \
             POST /v1/route, POST /v1/feedback, GET /v1/models, GET /v1/analytics/spend, \
             GET /v1/analytics/overview, GET /dashboard, GET /health and GET /metrics."
        ))
        .with_code("unknown_url"),
    )
}

/// 405 for a known path with the wrong method.
pub fn method_not_allowed(method: &str, path: &str) -> ApiError {
    ApiError::new(
        405,
        ErrorBody::invalid_request(format!("Method {method} is not allowed on {path}."))
            .with_code("method_not_allowed"),
    )
}
