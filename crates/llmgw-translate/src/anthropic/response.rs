//! Anthropic Messages response -> OpenAI chat completion.

use super::wire::{self, ContentBlock, MessagesResponse};
use llmgw_types::{
    ChatCompletionResponse, Choice, FinishReason, PromptTokensDetails, ResponseMessage, ToolCall,
    Usage,
};

/// Maps an Anthropic `stop_reason` to an OpenAI `finish_reason`.
pub fn map_stop_reason(reason: Option<&str>, has_tool_calls: bool) -> FinishReason {
    match reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        // end_turn, stop_sequence, pause_turn, or none reported.
        _ if has_tool_calls => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// Maps Anthropic usage to OpenAI usage. Anthropic's `input_tokens` excludes cache reads and
/// writes; OpenAI's `prompt_tokens` includes them, with reads in `cached_tokens` and writes in
/// `cache_creation_tokens`.
pub fn map_usage(u: &wire::Usage) -> Usage {
    let read = u.cache_read_input_tokens.unwrap_or(0);
    let write = u.cache_creation_input_tokens.unwrap_or(0);
    let prompt = u.input_tokens.unwrap_or(0) + read + write;
    let mut usage = Usage::new(prompt, u.output_tokens.unwrap_or(0));
    if u.cache_read_input_tokens.is_some() || u.cache_creation_input_tokens.is_some() {
        usage.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: Some(read),
            cache_creation_tokens: (write > 0).then_some(write),
            audio_tokens: None,
        });
    }
    usage
}

/// Translates an Anthropic response into an OpenAI `chat.completion` created at `created`.
/// `json_tool` is [`super::json_tool_name`] of the request: that tool's call becomes the JSON text.
pub fn from_anthropic_response(
    resp: &MessagesResponse,
    created: u64,
    json_tool: Option<&str>,
) -> ChatCompletionResponse {
    let mut text = String::new();
    let mut json_text: Option<String> = None;
    let mut calls = Vec::new();
    for block in &resp.content {
        match block {
            ContentBlock::Text { text: t } => text.push_str(t),
            ContentBlock::ToolUse { name, input, .. } if Some(name.as_str()) == json_tool => {
                json_text = Some(input.to_string());
            }
            ContentBlock::ToolUse { id, name, input } => calls.push(ToolCall::function(
                id.clone(),
                name.clone(),
                input.to_string(),
            )),
            _ => {}
        }
    }
    if let Some(j) = json_text {
        // The JSON answer replaces any preamble the model wrote before the call.
        text = j;
    }
    let mut finish = map_stop_reason(resp.stop_reason.as_deref(), !calls.is_empty());
    if json_tool.is_some() && finish == FinishReason::ToolCalls && calls.is_empty() {
        finish = FinishReason::Stop;
    }
    let content = (!text.is_empty() || calls.is_empty()).then_some(text);
    ChatCompletionResponse {
        id: resp.id.clone(),
        object: "chat.completion".into(),
        created,
        model: resp.model.clone(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage::assistant(content, calls),
            finish_reason: Some(finish),
            logprobs: None,
        }],
        usage: Some(map_usage(&resp.usage)),
        system_fingerprint: None,
    }
}
