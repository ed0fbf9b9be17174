//! Parsing and validation of a Gemini `generateContent` request body.
//!
//! Field names are accepted in both spellings the REST API takes (`systemInstruction` and
//! `system_instruction`); unknown names are refused as the real API does.

use serde_json::{Map, Value};

use super::contents;
use crate::conversation::{Conversation, Format, ToolChoice, ToolDef};

/// Top-level fields of `GenerateContentRequest` (camelCase; snake_case is also accepted).
const KNOWN: &[&str] = &[
    "contents",
    "systemInstruction",
    "generationConfig",
    "tools",
    "toolConfig",
    "safetySettings",
    "cachedContent",
    "labels",
    "model",
];
/// Fields of `GenerationConfig`.
const GENERATION_KNOWN: &[&str] = &[
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "enableEnhancedCivicAnswers",
    "speechConfig",
    "thinkingConfig",
    "mediaResolution",
];

/// A validated generateContent request.
#[derive(Debug, Clone)]
pub(crate) struct GenerateRequest {
    pub conv: Conversation,
    pub candidates: u32,
}

/// `fooBar` for `foo_bar` (field names arrive in either spelling).
pub(crate) fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for ch in name.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// `foo_bar` for `fooBar` (the spelling error messages use).
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for ch in name.chars() {
        if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// The field `camel_name` of `obj` in either spelling.
pub(crate) fn field<'a>(obj: &'a Map<String, Value>, camel_name: &str) -> Option<&'a Value> {
    obj.get(camel_name).or_else(|| obj.get(&snake(camel_name)))
}

/// Refuses a field that is not in `known` (compared in camelCase).
pub(crate) fn unknown_fields(
    obj: &Map<String, Value>,
    known: &[&str],
    at: Option<&str>,
) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&camel(k).as_str())) {
        None => Ok(()),
        Some(k) => Err(match at {
            None => {
                format!("Invalid JSON payload received. Unknown name \"{k}\": Cannot find field.")
            }
            Some(at) => format!(
                "Invalid JSON payload received. Unknown name \"{k}\" at '{at}': Cannot find field."
            ),
        }),
    }
}

/// Parses and validates a request body; the error is the `INVALID_ARGUMENT` message.
pub(crate) fn parse(body: &Value) -> Result<GenerateRequest, String> {
    let obj = match body {
        Value::Object(o) => o,
        _ => return Err("Invalid JSON payload received. Expected an object.".into()),
    };
    unknown_fields(obj, KNOWN, None)?;
    let mut conv = Conversation::default();
    let items =
        match field(obj, "contents") {
            Some(Value::Array(a)) if !a.is_empty() => a,
            None | Some(Value::Array(_)) => {
                return Err("* GenerateContentRequest.contents: contents is not specified\n".into())
            }
            Some(_) => return Err(
                "Invalid JSON payload received. Proto field is not repeating, cannot start list."
                    .into(),
            ),
        };
    conv.system = system(field(obj, "systemInstruction"))?;
    contents::parse(items, &mut conv)?;
    conv.tools = tools(field(obj, "tools"))?;
    conv.tool_choice = tool_config(field(obj, "toolConfig"), &conv.tools)?;
    let candidates = generation_config(field(obj, "generationConfig"), &mut conv)?;
    Ok(GenerateRequest { conv, candidates })
}

fn system(value: Option<&Value>) -> Result<Vec<String>, String> {
    let si = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(o)) => o,
        Some(v) => {
            return Err(format!(
                "Invalid value at 'system_instruction' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content), {v}"
            ))
        }
    };
    unknown_fields(si, &["parts", "role"], Some("system_instruction"))?;
    let parts = match field(si, "parts") {
        Some(Value::Array(p)) => p,
        _ => return Err("* GenerateContentRequest.system_instruction.parts: contents.parts must not be empty.\n".into()),
    };
    Ok(parts
        .iter()
        .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_string))
        .collect())
}

/// Whether `name` is a valid Gemini function name.
fn valid_function_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

fn tools(value: Option<&Value>) -> Result<Vec<ToolDef>, String> {
    let list = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("Invalid JSON payload received. Unknown name \"tools\": Proto field is not repeating, cannot start list.".into()),
    };
    let mut out = Vec::new();
    for (i, tool) in list.iter().enumerate() {
        let Some(decls) = tool
            .as_object()
            .and_then(|t| field(t, "functionDeclarations"))
        else {
            continue; // googleSearch, codeExecution, urlContext, ... run on the provider's side.
        };
        let decls = decls.as_array().ok_or_else(|| {
            format!(
                "Invalid JSON payload received. 'tools[{i}].function_declarations' must be a list."
            )
        })?;
        for (j, decl) in decls.iter().enumerate() {
            let at = format!("tools[{i}].function_declarations[{j}]");
            let d = decl.as_object().ok_or_else(|| {
                format!("Invalid JSON payload received. '{at}' must be an object.")
            })?;
            unknown_fields(
                d,
                &[
                    "name",
                    "description",
                    "parameters",
                    "parametersJsonSchema",
                    "response",
                    "responseJsonSchema",
                    "behavior",
                ],
                Some(&at),
            )?;
            let name = d.get("name").and_then(Value::as_str).unwrap_or_default();
            if !valid_function_name(name) {
                return Err(format!(
                    "* GenerateContentRequest.{at}.name: Invalid function name. Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots and dashes, with a maximum length of 64.\n"
                ));
            }
            let parameters = field(d, "parameters")
                .or_else(|| field(d, "parametersJsonSchema"))
                .cloned()
                .unwrap_or(Value::Null);
            out.push(ToolDef {
                name: name.to_string(),
                description: d
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                parameters,
            });
        }
    }
    Ok(out)
}

fn tool_config(value: Option<&Value>, tools: &[ToolDef]) -> Result<ToolChoice, String> {
    let Some(fcc) = value
        .and_then(Value::as_object)
        .and_then(|tc| field(tc, "functionCallingConfig"))
        .and_then(Value::as_object)
    else {
        return Ok(ToolChoice::Auto);
    };
    unknown_fields(
        fcc,
        &["mode", "allowedFunctionNames"],
        Some("tool_config.function_calling_config"),
    )?;
    let allowed: Vec<&str> = field(fcc, "allowedFunctionNames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match fcc.get("mode").and_then(Value::as_str).unwrap_or("AUTO") {
        "AUTO" | "MODE_UNSPECIFIED" => Ok(ToolChoice::Auto),
        "NONE" => Ok(ToolChoice::None),
        "ANY" | "VALIDATED" => match allowed.first() {
            Some(name) if tools.iter().any(|t| t.name == *name) => Ok(ToolChoice::Named((*name).to_string())),
            Some(name) => Err(format!(
                "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: function {name} is not declared in tools.\n"
            )),
            None => Ok(ToolChoice::Required),
        },
        other => Err(format!(
            "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"{other}\""
        )),
    }
}

fn generation_config(value: Option<&Value>, conv: &mut Conversation) -> Result<u32, String> {
    let gc = match value {
        None | Some(Value::Null) => return Ok(1),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(
                "Invalid JSON payload received. 'generation_config' must be an object.".into(),
            )
        }
    };
    unknown_fields(gc, GENERATION_KNOWN, Some("generation_config"))?;
    let number = |name: &str| field(gc, name).and_then(Value::as_f64);
    if let Some(t) = number("temperature") {
        if !(0.0..=2.0).contains(&t) {
            return Err(format!("* GenerateContentRequest.generation_config.temperature: temperature must be in the range [0.0, 2.0], got {t}\n"));
        }
    }
    if let Some(p) = number("topP") {
        if !(0.0..=1.0).contains(&p) {
            return Err(format!("* GenerateContentRequest.generation_config.top_p: top_p must be in the range [0.0, 1.0], got {p}\n"));
        }
    }
    if let Some(v) = field(gc, "maxOutputTokens") {
        match v.as_u64() {
            Some(n) if n >= 1 => conv.max_tokens = Some(u32::try_from(n).unwrap_or(u32::MAX)),
            _ => return Err("* GenerateContentRequest.generation_config.max_output_tokens: max_output_tokens must be positive.\n".into()),
        }
    }
    if let Some(stops) = field(gc, "stopSequences").and_then(Value::as_array) {
        conv.stop = stops
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    let candidates = match field(gc, "candidateCount") {
        None | Some(Value::Null) => 1,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=8) => n as u32,
            _ => return Err("* GenerateContentRequest.generation_config.candidate_count: candidate_count must be between 1 and 8.\n".into()),
        },
    };
    let mime = field(gc, "responseMimeType")
        .and_then(Value::as_str)
        .unwrap_or("text/plain");
    let schema = field(gc, "responseSchema").or_else(|| field(gc, "responseJsonSchema"));
    conv.format = match (mime, schema) {
        ("text/plain", None) => Format::Text,
        ("text/plain", Some(_)) => {
            return Err("* GenerateContentRequest.generation_config.response_mime_type: When using response_schema, response_mime_type must be application/json or text/x.enum.\n".into())
        }
        ("application/json", None) => Format::JsonObject,
        ("application/json", Some(s)) => Format::JsonSchema(s.clone()),
        ("text/x.enum", _) => Format::Text,
        (other, _) => {
            return Err(format!(
                "* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are `text/plain`, `application/json`, `application/xml`, `application/yaml` and `text/x.enum`, got {other}.\n"
            ))
        }
    };
    Ok(candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_convert_both_ways() {
        assert_eq!(camel("system_instruction"), "systemInstruction");
        assert_eq!(camel("contents"), "contents");
        assert_eq!(snake("maxOutputTokens"), "max_output_tokens");
        assert!(valid_function_name("get_weather.v2"));
        assert!(!valid_function_name("2fast"));
    }
}
