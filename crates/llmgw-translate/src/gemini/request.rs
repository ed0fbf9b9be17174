//! OpenAI chat request -> Gemini `generateContent` request.

use super::ids::split_signature;
use super::schema::clean_schema;
use super::wire::{
    Blob, Content, FileData, FunctionCall, FunctionCallingConfig, FunctionDeclaration,
    FunctionResponse, GenerateContentRequest, GenerationConfig, Part, Tool, ToolConfig,
};
use crate::args::parse_arguments;
use crate::data_url::media_type_from_url;
use crate::{DataUrl, Result, TranslateError};
use llmgw_types::{
    ChatCompletionRequest, ChatMessage, ContentPart, ResponseFormat, Role, ToolChoice,
    ToolChoiceMode,
};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Translates an OpenAI request into a Gemini request. The model name and streaming go in
/// the URL, not the body.
pub fn to_gemini_request(req: &ChatCompletionRequest) -> Result<GenerateContentRequest> {
    // Tool-call id -> function name, for functionResponse parts.
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for msg in &req.messages {
        for call in msg.tool_calls.iter().flatten() {
            call_names.insert(call.id.as_str(), call.function.name.as_str());
        }
    }
    let mut system: Vec<Part> = Vec::new();
    let mut contents: Vec<Content> = Vec::new();
    for (i, msg) in req.messages.iter().enumerate() {
        match msg.role {
            Role::System | Role::Developer => {
                let text = msg.text();
                if !text.trim().is_empty() {
                    system.push(Part::text(text));
                }
            }
            Role::User => push(&mut contents, "user", user_parts(msg, i)?),
            Role::Assistant => push(&mut contents, "model", model_parts(msg, i)?),
            Role::Tool => push(
                &mut contents,
                "user",
                vec![function_response(msg, i, &call_names)?],
            ),
        }
    }
    if contents.is_empty() {
        return Err(TranslateError::invalid_request(
            "`messages` must contain at least one user message",
            "messages",
        ));
    }
    let tools = req.tools.as_ref().filter(|t| !t.is_empty()).map(|tools| {
        vec![Tool {
            function_declarations: tools
                .iter()
                .map(|t| FunctionDeclaration {
                    name: t.function.name.clone(),
                    description: t.function.description.clone(),
                    parameters: t.function.parameters.as_ref().and_then(parameters),
                })
                .collect(),
        }]
    });
    let tool_config = tools.as_ref().and(req.tool_choice.as_ref()).map(|choice| {
        let (mode, names) = match choice {
            ToolChoice::Mode(ToolChoiceMode::None) => ("NONE", None),
            ToolChoice::Mode(ToolChoiceMode::Auto) => ("AUTO", None),
            ToolChoice::Mode(ToolChoiceMode::Required) => ("ANY", None),
            ToolChoice::Named(n) => ("ANY", Some(vec![n.function.name.clone()])),
        };
        ToolConfig {
            function_calling_config: FunctionCallingConfig {
                mode: mode.into(),
                allowed_function_names: names,
            },
        }
    });
    let stop = req.stop_sequences();
    let (mime, schema) = match &req.response_format {
        Some(ResponseFormat::JsonObject) => (Some("application/json".to_string()), None),
        Some(ResponseFormat::JsonSchema { json_schema }) => (
            Some("application/json".to_string()),
            json_schema.schema.as_ref().map(clean_schema),
        ),
        _ => (None, None),
    };
    let config = GenerationConfig {
        temperature: req.temperature,
        top_p: req.top_p,
        max_output_tokens: req.output_token_limit(),
        stop_sequences: (!stop.is_empty()).then_some(stop),
        seed: req.seed,
        candidate_count: req.n.filter(|n| *n > 1),
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        response_mime_type: mime,
        response_schema: schema,
    };
    Ok(GenerateContentRequest {
        contents,
        system_instruction: (!system.is_empty()).then_some(Content {
            role: None,
            parts: system,
        }),
        tools,
        tool_config,
        generation_config: (config != GenerationConfig::default()).then_some(config),
    })
}

/// A tool's parameters for Gemini; `None` when there are none (Gemini rejects empty objects).
fn parameters(schema: &Value) -> Option<Value> {
    let cleaned = clean_schema(schema);
    let has_props = cleaned
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    let is_object = cleaned.get("type").and_then(Value::as_str) == Some("object");
    (!is_object || has_props).then_some(cleaned)
}

fn push(contents: &mut Vec<Content>, role: &str, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match contents.last_mut() {
        Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
        _ => contents.push(Content {
            role: Some(role.to_string()),
            parts,
        }),
    }
}

fn user_parts(msg: &ChatMessage, i: usize) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    for (j, part) in msg.parts().iter().enumerate() {
        let param = format!("messages[{i}].content[{j}]");
        let p = match part {
            ContentPart::Text { text } | ContentPart::Refusal { refusal: text } => {
                if text.is_empty() {
                    continue;
                }
                Part::text(text.clone())
            }
            ContentPart::ImageUrl { image_url } => url_part(&image_url.url, &param)?,
            ContentPart::InputAudio { input_audio } => Part {
                inline_data: Some(Blob {
                    mime_type: format!("audio/{}", input_audio.format),
                    data: input_audio.data.clone(),
                }),
                ..Default::default()
            },
            ContentPart::File { file } => match file.file_data.as_deref() {
                Some(data) => url_part(data, &param)?,
                None => {
                    return Err(TranslateError::invalid_request(
                        "gemini accepts file parts only as data URLs in `file_data`",
                        param,
                    ))
                }
            },
        };
        parts.push(p);
    }
    Ok(parts)
}

/// A data URL as `inlineData`, any other URL as `fileData`.
fn url_part(url: &str, param: &str) -> Result<Part> {
    if let Some(d) = DataUrl::parse(url) {
        return Ok(Part {
            inline_data: Some(Blob {
                mime_type: d.media_type,
                data: d.data,
            }),
            ..Default::default()
        });
    }
    if url.starts_with("data:") || url.trim().is_empty() {
        return Err(TranslateError::invalid_request(
            "inline data must be a base64 data URL",
            param,
        ));
    }
    Ok(Part {
        file_data: Some(FileData {
            mime_type: Some(media_type_from_url(url).to_string()),
            file_uri: url.to_string(),
        }),
        ..Default::default()
    })
}

fn model_parts(msg: &ChatMessage, i: usize) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    let text = msg.text();
    if !text.is_empty() {
        parts.push(Part::text(text));
    }
    for (j, call) in msg.tool_calls.iter().flatten().enumerate() {
        let param = format!("messages[{i}].tool_calls[{j}].function.arguments");
        let (_, signature) = split_signature(&call.id);
        parts.push(Part {
            function_call: Some(FunctionCall {
                id: None,
                name: call.function.name.clone(),
                args: Some(parse_arguments(&call.function.arguments, &param)?),
            }),
            thought_signature: signature.map(str::to_string),
            ..Default::default()
        });
    }
    Ok(parts)
}

fn function_response(msg: &ChatMessage, i: usize, names: &HashMap<&str, &str>) -> Result<Part> {
    let Some(id) = msg.tool_call_id.as_deref() else {
        return Err(TranslateError::invalid_request(
            "tool messages need `tool_call_id`",
            format!("messages[{i}].tool_call_id"),
        ));
    };
    let Some(name) = names.get(id) else {
        return Err(TranslateError::invalid_request(
            format!("tool_call_id `{id}` does not match any earlier assistant tool call"),
            format!("messages[{i}].tool_call_id"),
        ));
    };
    let text = msg.text();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({ "result": text }),
    };
    Ok(Part {
        function_response: Some(FunctionResponse {
            name: (*name).to_string(),
            response,
        }),
        ..Default::default()
    })
}
