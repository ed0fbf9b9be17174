//! The cache key: a SHA-256 fingerprint of everything that changes the answer.

use std::collections::BTreeMap;

use llmgw_server::stages::cache::{CacheQuery, CACHE_FIELD};
use llmgw_types::{
    ChatMessage, ContentPart, MessageContent, ResponseFormat, Role, StopSequences, Tool,
    ToolChoice, GATEWAY_FIELDS,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A hashed cache key (the request text itself is never kept as a key).
pub type Fingerprint = [u8; 32];

/// Partition of callers without a gateway key.
pub const OPEN_TENANT: &str = "open";

/// Fields that change how the answer is delivered or who asked, not what it says.
const DELIVERY_FIELDS: &[&str] = &[
    "stream",
    "stream_options",
    "user",
    "model",
    "store",
    "metadata",
];

/// What is hashed. Every request field that can change the answer is here; the fields
/// the request type does not model (`extra`: `logit_bias`, `logprobs`, `reasoning_effort`,
/// …) are all included except the gateway's own and the delivery-only ones.
#[derive(Serialize)]
struct KeyView<'a> {
    version: u8,
    tenant: &'a str,
    model: &'a str,
    messages: &'a [ChatMessage],
    /// Semantic buckets only: the final user turn without its text, and the encoder.
    #[serde(skip_serializing_if = "Option::is_none")]
    semantic: Option<SemanticPart<'a>>,
    tools: &'a Option<Vec<Tool>>,
    tool_choice: &'a Option<ToolChoice>,
    parallel_tool_calls: Option<bool>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_tokens: Option<u32>,
    max_completion_tokens: Option<u32>,
    stop: &'a Option<StopSequences>,
    seed: Option<i64>,
    n: Option<u32>,
    presence_penalty: Option<f64>,
    frequency_penalty: Option<f64>,
    response_format: &'a Option<ResponseFormat>,
    extra: BTreeMap<&'a str, &'a serde_json::Value>,
}

/// The tenant a query belongs to: its gateway key id, or [`OPEN_TENANT`].
pub fn tenant<'a>(query: &CacheQuery<'a>) -> &'a str {
    query.caller.key_id.as_deref().unwrap_or(OPEN_TENANT)
}

/// What a semantic bucket keeps of the final user turn (everything but its text), and the
/// encoder whose vectors the bucket compares.
#[derive(Serialize)]
struct SemanticPart<'a> {
    final_name: Option<&'a str>,
    encoder: &'a str,
}

/// The fingerprint of `query`: tenant, resolved model and every answer-changing field.
pub fn fingerprint(query: &CacheQuery<'_>) -> Fingerprint {
    hash(query, &query.request.messages, None)
}

/// The semantic bucket of `query`: like [`fingerprint()`] but without the text of the final
/// user message, plus the embedding's encoder id. Every earlier message (system prompt,
/// history, tool results) stays in it, so a semantic match can only differ from the stored
/// request in the wording of its last user turn. `None` when the query has no embedding or
/// its last message is not a plain-text user message (images or other parts are not in the
/// embedding, so such requests are only cached exactly).
pub fn params_fingerprint(query: &CacheQuery<'_>) -> Option<Fingerprint> {
    let embedding = query.embedding?;
    let (last, earlier) = query.request.messages.split_last()?;
    let text_only = match &last.content {
        Some(MessageContent::Text(_)) => true,
        Some(MessageContent::Parts(parts)) => {
            parts.iter().all(|p| matches!(p, ContentPart::Text { .. }))
        }
        None => false,
    };
    if last.role != Role::User || !text_only || last.tool_calls.is_some() {
        return None;
    }
    let part = SemanticPart {
        final_name: last.name.as_deref(),
        encoder: embedding.encoder,
    };
    Some(hash(query, earlier, Some(part)))
}

fn hash(
    query: &CacheQuery<'_>,
    messages: &[ChatMessage],
    semantic: Option<SemanticPart<'_>>,
) -> Fingerprint {
    let req = query.request;
    let extra = req
        .extra
        .iter()
        .filter(|(k, _)| {
            let k = k.as_str();
            k != CACHE_FIELD && !GATEWAY_FIELDS.contains(&k) && !DELIVERY_FIELDS.contains(&k)
        })
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let view = KeyView {
        version: 1,
        tenant: tenant(query),
        model: query.model,
        messages,
        semantic,
        tools: &req.tools,
        tool_choice: &req.tool_choice,
        parallel_tool_calls: req.parallel_tool_calls,
        temperature: req.temperature,
        top_p: req.top_p,
        max_tokens: req.max_tokens,
        max_completion_tokens: req.max_completion_tokens,
        stop: &req.stop,
        seed: req.seed,
        n: req.n,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        response_format: &req.response_format,
        extra,
    };
    let mut hasher = Sha256::new();
    // Writing into a hasher cannot fail; a value serde cannot encode (a non-finite float
    // never comes from JSON) would only weaken the key, so it is still separated.
    if serde_json::to_writer(&mut hasher, &view).is_err() {
        hasher.update(b"\0unencodable");
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmgw_server::Caller;
    use llmgw_types::ChatCompletionRequest;
    use serde_json::json;

    fn request(body: serde_json::Value) -> ChatCompletionRequest {
        serde_json::from_value(body).unwrap()
    }

    fn fp(caller: &Caller, model: &str, req: &ChatCompletionRequest) -> Fingerprint {
        fingerprint(&CacheQuery {
            caller,
            model,
            request: req,
            embedding: None,
            min_similarity: None,
        })
    }

    #[test]
    fn every_answer_changing_field_changes_the_key() {
        let open = Caller::default();
        let base = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        let base_fp = fp(&open, "m", &request(base.clone()));
        let variants = [
            json!({"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}),
            json!({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}, {"role": "user", "content": "hi"}]}),
            json!({"temperature": 0.5}),
            json!({"top_p": 0.9}),
            json!({"seed": 7}),
            json!({"stop": ["x"]}),
            json!({"max_tokens": 10}),
            json!({"max_completion_tokens": 10}),
            json!({"n": 2}),
            json!({"presence_penalty": 0.1}),
            json!({"frequency_penalty": 0.1}),
            json!({"response_format": {"type": "json_object"}}),
            json!({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}),
            json!({"tool_choice": "none"}),
            json!({"parallel_tool_calls": false}),
            json!({"logit_bias": {"50256": -100}}),
            json!({"reasoning_effort": "high"}),
        ];
        for v in variants {
            let mut body = base.clone();
            for (k, val) in v.as_object().unwrap() {
                body[k] = val.clone();
            }
            assert_ne!(fp(&open, "m", &request(body)), base_fp, "{v}");
        }
        assert_ne!(fp(&open, "other", &request(base.clone())), base_fp, "model");
        let keyed = Caller {
            key_id: Some("key_a".into()),
            tenant: None,
        };
        assert_ne!(fp(&keyed, "m", &request(base.clone())), base_fp, "tenant");
    }

    #[test]
    fn delivery_and_gateway_fields_do_not_change_the_key() {
        let open = Caller::default();
        let base = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        let base_fp = fp(&open, "m", &request(base.clone()));
        let mut body = base;
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        body["user"] = json!("u-1");
        body["cache"] = json!(true);
        body["model"] = json!("auto");
        assert_eq!(fp(&open, "m", &request(body)), base_fp);
    }
}
