//! The simulated Anthropic Messages API: `POST /anthropic/v1/messages`, `GET /anthropic/v1/models`.

pub(crate) mod error;
mod messages;
mod request;
mod response;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::answer::{self, Usage};
use crate::flow::{self, Provider};
use crate::server::Shared;
use crate::stream;

/// API versions the simulated endpoint accepts in `anthropic-version`.
const VERSIONS: &[&str] = &["2023-06-01", "2023-01-01"];

/// Checks `x-api-key` and `anthropic-version`; returns Anthropic's own error when one is wrong.
fn header_error(headers: &HeaderMap, request_id: &str) -> Option<Response> {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
    if key.is_none_or(|k| k.trim().is_empty()) {
        return Some(error::body(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "x-api-key header is required",
            request_id,
        ));
    }
    match headers
        .get("anthropic-version")
        .and_then(|v| v.to_str().ok())
    {
        None => Some(error::invalid(
            "anthropic-version: header is required",
            request_id,
        )),
        Some(v) if !VERSIONS.contains(&v) => Some(error::invalid(
            &format!("anthropic-version: \"{v}\" is not a valid version"),
            request_id,
        )),
        Some(_) => None,
    }
}

/// `POST /anthropic/v1/messages`.
pub(crate) async fn messages(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = request::model_of(&json);
    shared.seen.record(
        "anthropic",
        uri.path(),
        model.as_deref(),
        &headers,
        json.clone(),
    );
    let request_id = format!("req_011{}", shared.next_id(21));
    let mut resp = answer_messages(&shared, &headers, &json, &request_id).await;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("request-id", v);
    }
    resp
}

async fn answer_messages(
    shared: &Shared,
    headers: &HeaderMap,
    json: &Value,
    request_id: &str,
) -> Response {
    if let Some(resp) = header_error(headers, request_id) {
        return resp;
    }
    let req = match request::parse(json) {
        Ok(r) => r,
        Err(message) => return error::invalid(&message, request_id),
    };
    let plan = match flow::prepare(
        shared,
        Provider::Anthropic,
        &req.model,
        &req.conv,
        request_id,
    )
    .await
    {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let replies = answer::replies(&req.conv, &req.model, 1, &plan.directives);
    let usage = Usage::of(&req.conv, &replies, &plan.directives);
    let Some(reply) = replies.first() else {
        return error::for_status(StatusCode::INTERNAL_SERVER_ERROR, &req.model, request_id);
    };
    let meta = response::Meta {
        id: format!("msg_01{}", shared.next_id(22)),
        model: req.model.clone(),
    };
    if req.stream {
        let frames = response::events(&meta, reply, &usage);
        stream::stream_response(
            "text/event-stream",
            frames,
            plan.pace,
            plan.directives.cut_after,
        )
    } else {
        let output = response::output_tokens(reply, &usage);
        tokio::time::sleep(plan.pace.whole_answer(f64::from(output))).await;
        let body = response::message(&meta, reply, &usage);
        stream::json_response(&body, plan.directives.cut_after.is_some())
    }
}

/// `GET /anthropic/v1/models`: the configured models in Anthropic's list format.
pub(crate) async fn models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let request_id = format!("req_011{}", shared.next_id(21));
    if let Some(resp) = header_error(&headers, &request_id) {
        return resp;
    }
    let data: Vec<Value> = shared
        .cfg
        .models
        .iter()
        .map(|m| json!({"type": "model", "id": m.name, "display_name": m.name, "created_at": "2024-01-01T00:00:00Z"}))
        .collect();
    let first = data.first().map(|m| m["id"].clone()).unwrap_or(Value::Null);
    let last = data.last().map(|m| m["id"].clone()).unwrap_or(Value::Null);
    Json(json!({"data": data, "has_more": false, "first_id": first, "last_id": last}))
        .into_response()
}
