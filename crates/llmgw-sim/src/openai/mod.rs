//! The simulated OpenAI API: `POST /openai/v1/chat/completions`, `GET /openai/v1/models`.

pub(crate) mod error;
mod messages;
mod request;
mod response;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::answer::{self, Usage};
use crate::flow::{self, Provider};
use crate::server::Shared;
use crate::stream;
use crate::wire;

/// Whether the request carries `Authorization: Bearer <non-empty key>`.
fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|key| !key.trim().is_empty())
}

/// `POST /openai/v1/chat/completions`.
pub(crate) async fn chat(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = request::model_of(&json);
    shared.seen.record(
        "openai",
        uri.path(),
        model.as_deref(),
        &headers,
        json.clone(),
    );
    let request_id = format!("req_{}", shared.next_id(24));
    let mut resp = answer_chat(&shared, &headers, &json, &request_id).await;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

async fn answer_chat(
    shared: &Shared,
    headers: &HeaderMap,
    json: &Value,
    request_id: &str,
) -> Response {
    if !authorized(headers) {
        return error::missing_key();
    }
    let req = match request::parse(json) {
        Ok(r) => r,
        Err(invalid) => return invalid.into_response(),
    };
    let plan =
        match flow::prepare(shared, Provider::OpenAi, &req.model, &req.conv, request_id).await {
            Ok(p) => p,
            Err(resp) => return resp,
        };
    let replies = answer::replies(&req.conv, &req.model, req.n, &plan.directives);
    let usage = Usage::of(&req.conv, &replies, &plan.directives);
    let meta = response::Meta {
        id: format!("chatcmpl-{}", shared.next_id(29)),
        created: wire::unix_now(),
        model: req.model.clone(),
    };
    if req.stream {
        let frames = response::chunks(&meta, &replies, &usage, req.include_usage);
        stream::stream_response(
            "text/event-stream",
            frames,
            plan.pace,
            plan.directives.cut_after,
        )
    } else {
        tokio::time::sleep(plan.pace.whole_answer(f64::from(usage.completion))).await;
        let body = response::completion(&meta, &replies, &usage);
        stream::json_response(&body, plan.directives.cut_after.is_some())
    }
}

/// `GET /openai/v1/models`: the configured models in OpenAI's list format.
pub(crate) async fn models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return error::missing_key();
    }
    let data: Vec<Value> = shared
        .cfg
        .models
        .iter()
        .map(|m| json!({"id": m.name, "object": "model", "created": 1_700_000_000, "owned_by": "llmgw-sim"}))
        .collect();
    Json(json!({"object": "list", "data": data})).into_response()
}
