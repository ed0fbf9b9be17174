//! `POST /v1/chat/completions`: hands the request to the pipeline.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;

use crate::meta::RequestId;
use crate::state::AppState;

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(state): State<Arc<AppState>>,
    Extension(request_id): Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    crate::pipeline::chat_completions(state, request_id, headers, body).await
}
