//! Gemini response -> OpenAI chat completion.

use super::ids::join_signature;
use super::wire::{Candidate, GenerateContentResponse, Part, UsageMetadata};
use crate::stable_tool_call_id;
use llmgw_types::{
    ChatCompletionResponse, Choice, CompletionTokensDetails, FinishReason, PromptTokensDetails,
    ResponseMessage, ToolCall, Usage,
};

/// Maps a Gemini `finishReason` to an OpenAI `finish_reason`.
pub fn map_finish_reason(reason: Option<&str>, has_tool_calls: bool) -> FinishReason {
    match reason {
        Some("MAX_TOKENS") => FinishReason::Length,
        Some(
            "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
            | "IMAGE_RECITATION",
        ) => FinishReason::ContentFilter,
        _ if has_tool_calls => FinishReason::ToolCalls,
        // STOP, OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, unspecified.
        _ => FinishReason::Stop,
    }
}

/// Maps `usageMetadata` to OpenAI usage: completion tokens include thinking tokens (reported
/// as `reasoning_tokens`), prompt tokens include cached ones (`cached_tokens`).
pub fn map_usage(u: &UsageMetadata) -> Usage {
    let prompt = u.prompt_token_count.unwrap_or(0) + u.tool_use_prompt_token_count.unwrap_or(0);
    let thoughts = u.thoughts_token_count.unwrap_or(0);
    let completion = u.candidates_token_count.unwrap_or(0) + thoughts;
    let mut usage = Usage::new(prompt, completion);
    if let Some(total) = u.total_token_count.filter(|t| *t >= prompt + completion) {
        usage.total_tokens = total;
    }
    if let Some(cached) = u.cached_content_token_count {
        usage.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: Some(cached),
            ..Default::default()
        });
    }
    if u.thoughts_token_count.is_some() {
        usage.completion_tokens_details = Some(CompletionTokensDetails {
            reasoning_tokens: Some(thoughts),
            ..Default::default()
        });
    }
    usage
}

/// A tool call from a `functionCall` part: Gemini's id if it sent one, else a stable id from
/// the response id, the call's position and its content; a thought signature rides in the id.
pub(crate) fn tool_call(part: &Part, response_id: &str, position: usize) -> Option<ToolCall> {
    let call = part.function_call.as_ref()?;
    let args = call
        .args
        .as_ref()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "{}".to_string());
    let base = match call.id.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => id.to_string(),
        None => stable_tool_call_id(response_id, position, &call.name, &args),
    };
    let id = join_signature(&base, part.thought_signature.as_deref());
    Some(ToolCall::function(id, call.name.clone(), args))
}

/// Whether a part is visible answer text (not thinking).
pub(crate) fn answer_text(part: &Part) -> Option<&str> {
    if part.thought == Some(true) {
        return None;
    }
    part.text.as_deref()
}

fn choice(c: &Candidate, position: u32, response_id: &str) -> Choice {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in c.content.iter().flat_map(|c| c.parts.iter()) {
        if let Some(t) = answer_text(part) {
            text.push_str(t);
        }
        if let Some(call) = tool_call(part, response_id, calls.len()) {
            calls.push(call);
        }
    }
    let finish = map_finish_reason(c.finish_reason.as_deref(), !calls.is_empty());
    let content = (!text.is_empty() || calls.is_empty()).then_some(text);
    Choice {
        index: c.index.unwrap_or(position),
        message: ResponseMessage::assistant(content, calls),
        finish_reason: Some(finish),
        logprobs: None,
    }
}

/// Translates a Gemini response into an OpenAI `chat.completion`. `model` is the name the
/// request used (Gemini's `modelVersion` wins when present); `created` is the timestamp.
pub fn from_gemini_response(
    resp: &GenerateContentResponse,
    model: &str,
    created: u64,
) -> ChatCompletionResponse {
    let response_id = resp.response_id.clone().unwrap_or_default();
    let mut choices: Vec<Choice> = resp
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| choice(c, i as u32, &response_id))
        .collect();
    if choices.is_empty() {
        // The prompt itself was blocked (promptFeedback.blockReason) or nothing came back.
        let blocked = resp
            .prompt_feedback
            .as_ref()
            .and_then(|f| f.block_reason.as_ref())
            .is_some();
        choices.push(Choice {
            index: 0,
            message: ResponseMessage::assistant(Some(String::new()), Vec::new()),
            finish_reason: Some(if blocked {
                FinishReason::ContentFilter
            } else {
                FinishReason::Stop
            }),
            logprobs: None,
        });
    }
    let id = if response_id.is_empty() {
        stable_tool_call_id(model, created as usize, "chatcmpl", "").replacen(
            "call_",
            "chatcmpl-",
            1,
        )
    } else {
        format!("chatcmpl-{response_id}")
    };
    ChatCompletionResponse {
        id,
        object: "chat.completion".into(),
        created,
        model: resp
            .model_version
            .clone()
            .unwrap_or_else(|| model.to_string()),
        choices,
        usage: resp.usage_metadata.as_ref().map(map_usage),
        system_fingerprint: None,
    }
}
