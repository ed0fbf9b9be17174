//! The simulated Gemini API: `POST /gemini/v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent` (`?alt=sse` or a streamed JSON array) and `GET /gemini/v1beta/models`.

mod contents;
pub(crate) mod error;
mod request;
mod response;

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::answer::{self, Usage};
use crate::flow::{self, Provider};
use crate::server::Shared;
use crate::stream;

/// The value of `name` in a raw query string.
fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the request carries an API key (`x-goog-api-key` header or `?key=`).
fn authorized(headers: &HeaderMap, query: Option<&str>) -> bool {
    let header = headers
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|k| !k.trim().is_empty());
    header || query_param(query, "key").is_some_and(|k| !k.is_empty())
}

/// `POST /gemini/v1beta/models/{model}:{action}`.
pub(crate) async fn generate(
    State(shared): State<Arc<Shared>>,
    Path(call): Path<String>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (model, action) = match call.rsplit_once(':') {
        Some((m, a)) => (m.to_string(), a.to_string()),
        None => (call.clone(), String::new()),
    };
    shared
        .seen
        .record("gemini", uri.path(), Some(&model), &headers, json.clone());
    if !authorized(&headers, query.as_deref()) {
        return error::missing_key();
    }
    let stream = match action.as_str() {
        "generateContent" => false,
        "streamGenerateContent" => true,
        _ => {
            return error::body(
                StatusCode::NOT_FOUND,
                &format!("Method not found: models/{call}"),
            )
        }
    };
    if json.is_null() {
        return error::invalid("Invalid JSON payload received. Unexpected end of string.");
    }
    let req = match request::parse(&json) {
        Ok(r) => r,
        Err(message) => return error::invalid(&message),
    };
    let plan = match flow::prepare(&shared, Provider::Gemini, &model, &req.conv, "").await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let replies = answer::replies(&req.conv, &model, req.candidates, &plan.directives);
    let usage = Usage::of(&req.conv, &replies, &plan.directives);
    let meta = response::Meta {
        id: shared.next_id(22),
        model: model.clone(),
    };
    if stream {
        let sse = query_param(query.as_deref(), "alt") == Some("sse");
        let frames = response::chunks(&meta, &replies, &usage, sse);
        let content_type = if sse {
            "text/event-stream"
        } else {
            "application/json; charset=UTF-8"
        };
        stream::stream_response(content_type, frames, plan.pace, plan.directives.cut_after)
    } else {
        tokio::time::sleep(plan.pace.whole_answer(f64::from(usage.completion))).await;
        let body = response::response(&meta, &replies, &usage);
        stream::json_response(&body, plan.directives.cut_after.is_some())
    }
}

/// `GET /gemini/v1beta/models`: the configured models in Gemini's list format.
pub(crate) async fn models(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if !authorized(&headers, query.as_deref()) {
        return error::missing_key();
    }
    let models: Vec<Value> = shared
        .cfg
        .models
        .iter()
        .map(|m| {
            json!({
                "name": format!("models/{}", m.name),
                "displayName": m.name,
                "supportedGenerationMethods": ["generateContent", "streamGenerateContent"]
            })
        })
        .collect();
    Json(json!({"models": models})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_found() {
        assert_eq!(query_param(Some("alt=sse&key=k"), "key"), Some("k"));
        assert_eq!(query_param(Some("alt=sse"), "alt"), Some("sse"));
        assert_eq!(query_param(Some("alt"), "key"), None);
        assert_eq!(query_param(None, "alt"), None);
    }
}
