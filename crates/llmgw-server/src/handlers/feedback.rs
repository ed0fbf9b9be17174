//! `POST /v1/feedback`: a quality judgement about an earlier answer, for retraining.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use llmgw_outcomes::{FeedbackRecord, LogError};
use llmgw_types::{ApiError, ErrorBody};
use serde::Deserialize;

use crate::error::HttpError;
use crate::stages::validate;
use crate::state::AppState;

/// The feedback body.
#[derive(Debug, Deserialize)]
pub struct FeedbackBody {
    /// `x-llmgw-request-id` of the answer.
    pub request_id: String,
    /// Quality in [0, 1].
    pub quality: f64,
    /// Free text.
    #[serde(default)]
    pub comment: Option<String>,
}

/// `POST /v1/feedback`.
pub async fn feedback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match record(&state, &headers, body).await {
        Ok(id) => Json(serde_json::json!({"status": "recorded", "request_id": id})).into_response(),
        Err(e) => HttpError(e).into_response(),
    }
}

async fn record(state: &AppState, headers: &HeaderMap, body: Body) -> Result<String, ApiError> {
    let caller = state.auth.authenticate(headers)?;
    let log = state.outcomes.as_ref().ok_or_else(|| {
        ApiError::new(
            503,
            ErrorBody::server_error(
                "Feedback is not recorded: the gateway runs without an outcome log \
                 (start it with --log-dir DIR or set server.log_dir).",
            )
            .with_code("outcome_log_disabled"),
        )
    })?;
    let bytes = validate::read_body(headers, body, state.config.server.max_body_bytes).await?;
    let fb: FeedbackBody = validate::parse_json(&bytes)?;
    let mut rec = FeedbackRecord::new(fb.request_id.clone(), fb.quality).map_err(feedback_error)?;
    rec.comment = fb.comment;
    rec.api_key_id = caller.key_id;
    log.feedback(rec).await.map_err(feedback_error)?;
    Ok(fb.request_id)
}

fn feedback_error(e: LogError) -> ApiError {
    match e {
        LogError::InvalidFeedback(msg) => ApiError::bad_request(
            format!("Invalid feedback: {msg}."),
            Some(if msg.contains("quality") {
                "quality"
            } else {
                "request_id"
            }),
        ),
        LogError::Closed => ApiError::new(
            503,
            ErrorBody::server_error("The outcome log is shutting down; retry shortly.")
                .with_code("outcome_log_closed"),
        ),
        other => ApiError::internal(format!("Could not record the feedback: {other}")),
    }
}
