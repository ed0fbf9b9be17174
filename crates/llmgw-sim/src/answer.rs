//! Deterministic answers: text, JSON or tool calls derived from a digest of the conversation and model.

use serde_json::{json, Value};

use crate::conversation::{Conversation, Format, ToolChoice, ToolDef};
use crate::directives::Directives;
use crate::schema;
use crate::seed::Rng;
use crate::tokens;

/// Words of ordinary answers.
const WORDS: &[&str] = &[
    "the", "model", "answer", "gateway", "request", "provides", "useful", "detail", "clear",
    "result", "data", "value", "context", "system", "token", "stream", "careful", "example",
    "simple", "every", "signal", "pattern", "question", "because", "which", "often", "helps",
    "reader", "summary", "review", "option", "choice", "budget", "quality", "latency", "precise",
    "general", "steady", "common", "method", "and", "with", "for", "this", "that", "more", "less",
];
/// Three-letter words: each one with its separating space is exactly one token, so `[[sim:tokens=N]]`
/// answers are exactly N tokens long.
const SHORT_WORDS: &[&str] = &[
    "sim", "the", "and", "for", "new", "fit", "key", "map", "run", "log", "sum", "top", "low",
    "big", "own", "per", "via", "raw", "bit", "row", "day", "few", "net", "old", "one", "two",
    "six", "ten", "yes", "now", "air", "sea", "sky", "sun", "art",
];
/// Longest tool result quoted back in an answer, in characters.
const QUOTE_CHARS: usize = 200;

/// Why generation ended, in provider-neutral terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finish {
    Stop,
    Length,
    ToolCalls,
    StopSequence(String),
}

/// A tool call the simulated model makes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolCall {
    /// Deterministic alphanumeric material for the provider's call id.
    pub id_seed: String,
    pub name: String,
    pub arguments: Value,
}

impl ToolCall {
    /// Arguments as compact JSON text.
    pub(crate) fn arguments_json(&self) -> String {
        self.arguments.to_string()
    }
}

/// One choice of an answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish: Finish,
}

impl Reply {
    /// Completion tokens by the documented estimate (text, tool names and argument JSON).
    pub(crate) fn completion_tokens(&self) -> u32 {
        let calls: u32 = self
            .tool_calls
            .iter()
            .map(|c| tokens::count(&c.name) + tokens::count(&c.arguments_json()))
            .sum();
        tokens::count(&self.text).saturating_add(calls)
    }
}

/// Token usage of one response, in provider-neutral terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// All prompt tokens, cached ones included.
    pub prompt: u32,
    /// Completion tokens of every choice together.
    pub completion: u32,
    /// Prompt tokens served from the (simulated) prompt cache.
    pub cached: u32,
}

impl Usage {
    /// Usage of `replies` answering `conv`; `[[sim:cached_tokens=N]]` marks N prompt tokens as cached.
    pub(crate) fn of(conv: &Conversation, replies: &[Reply], d: &Directives) -> Usage {
        let prompt = conv.prompt_tokens();
        Usage {
            prompt,
            completion: replies.iter().map(Reply::completion_tokens).sum(),
            cached: d.cached_tokens.unwrap_or(0).min(prompt),
        }
    }
}

/// The answers for choices `0..n`.
pub(crate) fn replies(conv: &Conversation, model: &str, n: u32, d: &Directives) -> Vec<Reply> {
    (0..n.max(1)).map(|i| reply(conv, model, i, d)).collect()
}

/// The simulated model's answer for choice `choice` of `conv`.
pub(crate) fn reply(conv: &Conversation, model: &str, choice: u32, d: &Directives) -> Reply {
    let mut rng = Rng::from_digest(&conv.digest(model, choice));
    let calls = tool_calls(conv, d, &mut rng);
    if !calls.is_empty() {
        return Reply {
            text: String::new(),
            tool_calls: calls,
            finish: Finish::ToolCalls,
        };
    }
    let json_mode = !matches!(conv.format, Format::Text) || conv.system_asks_for_json();
    let text = match d.tokens {
        Some(n) if json_mode => exact_json(n),
        Some(n) => exact_words(n, &mut rng),
        None => free_text(conv, &mut rng),
    };
    let (text, finish) = apply_limits(text, conv);
    Reply {
        text,
        tool_calls: Vec::new(),
        finish,
    }
}

fn tool_calls(conv: &Conversation, d: &Directives, rng: &mut Rng) -> Vec<ToolCall> {
    let wants_tools = !conv.tools.is_empty()
        && conv.tool_choice != ToolChoice::None
        && conv.trailing_tool_results().is_empty()
        && !conv.ends_with_assistant();
    if !wants_tools {
        return Vec::new();
    }
    let chosen: Vec<&ToolDef> = match &conv.tool_choice {
        ToolChoice::Named(name) => conv
            .tools
            .iter()
            .filter(|t| &t.name == name)
            .take(1)
            .collect(),
        _ => {
            let two = d.parallel_tools && conv.parallel_tool_calls && conv.tools.len() >= 2;
            conv.tools.iter().take(if two { 2 } else { 1 }).collect()
        }
    };
    chosen
        .into_iter()
        .map(|tool| ToolCall {
            id_seed: rng.alnum(24),
            name: tool.name.clone(),
            arguments: match &tool.parameters {
                Value::Object(_) => match schema::value_for(&tool.parameters, rng) {
                    v @ Value::Object(_) => v,
                    _ => json!({}),
                },
                _ => json!({}),
            },
        })
        .collect()
}

fn free_text(conv: &Conversation, rng: &mut Rng) -> String {
    let results = conv.trailing_tool_results();
    let mut prose = String::new();
    for (name, content) in &results {
        let quoted: String = content.chars().take(QUOTE_CHARS).collect();
        prose.push_str(&format!("The {name} tool returned: {quoted}. "));
    }
    prose.push_str(&sentences(rng));
    match &conv.format {
        Format::Text if conv.system_asks_for_json() => json!({ "answer": prose }).to_string(),
        Format::Text => prose,
        Format::JsonObject => json!({ "answer": prose }).to_string(),
        Format::JsonSchema(s) => match schema::value_for(s, rng) {
            v @ Value::Object(_) => v.to_string(),
            other => json!({ "answer": other }).to_string(),
        },
    }
}

/// One to three sentences, 12 to 40 words in all.
fn sentences(rng: &mut Rng) -> String {
    let total = 12 + rng.index(29);
    let mut out = String::new();
    let mut left = total;
    while left > 0 {
        let len = (6 + rng.index(9)).min(left);
        left -= len;
        let words: Vec<&str> = (0..len).map(|_| WORDS[rng.index(WORDS.len())]).collect();
        let mut sentence = words.join(" ");
        if let Some(first) = sentence.get(..1) {
            sentence = first.to_ascii_uppercase() + &sentence[1..];
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&sentence);
        out.push('.');
    }
    out
}

/// Exactly `n` tokens of words: `n` three-letter words joined by spaces (`4n - 1` characters).
fn exact_words(n: u32, rng: &mut Rng) -> String {
    (0..n)
        .map(|_| SHORT_WORDS[rng.index(SHORT_WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A JSON object of exactly `n` tokens (empty text for 0).
fn exact_json(n: u32) -> String {
    match n {
        0 => String::new(),
        1 => "{}".to_string(),
        _ => format!("{{\"a\":\"{}\"}}", "x".repeat(4 * n as usize - 8)),
    }
}

/// Applies stop sequences, then the completion-token limit.
fn apply_limits(mut text: String, conv: &Conversation) -> (String, Finish) {
    let mut finish = Finish::Stop;
    let first_stop = conv
        .stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
        .min_by_key(|(at, _)| *at);
    if let Some((at, seq)) = first_stop {
        finish = Finish::StopSequence(seq.clone());
        text.truncate(at);
    }
    if let Some(max) = conv.max_tokens {
        if tokens::count(&text) > max {
            text = tokens::truncate(&text, max).to_string();
            finish = Finish::Length;
        }
    }
    (text, finish)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Part, Role};

    fn conv(prompt: &str) -> Conversation {
        let mut c = Conversation {
            messages: 1,
            ..Conversation::default()
        };
        c.push(Role::User, Part::Text(prompt.into()));
        c
    }

    fn tool(name: &str) -> ToolDef {
        ToolDef {
            name: name.into(),
            description: String::new(),
            parameters: json!({"type": "object", "properties": {"q": {"type": "string"}}}),
        }
    }

    #[test]
    fn same_input_same_text_other_model_other_text() {
        let c = conv("hello");
        let d = Directives::default();
        let a = reply(&c, "m1", 0, &d);
        assert_eq!(a, reply(&c, "m1", 0, &d));
        assert_ne!(a.text, reply(&c, "m2", 0, &d).text);
        assert_eq!(a.finish, Finish::Stop);
        assert!(a.text.ends_with('.'));
    }

    #[test]
    fn tokens_directive_is_exact_in_text_and_json() {
        for n in [0, 1, 2, 3, 7, 50] {
            let d = Directives {
                tokens: Some(n),
                ..Directives::default()
            };
            let r = reply(&conv("x"), "m", 0, &d);
            assert_eq!(r.completion_tokens(), n, "text n={n}");
            let mut c = conv("x");
            c.format = Format::JsonObject;
            let r = reply(&c, "m", 0, &d);
            assert_eq!(r.completion_tokens(), n, "json n={n}");
            if n > 0 {
                assert!(serde_json::from_str::<Value>(&r.text).unwrap().is_object());
            }
            let mut c = conv("x");
            c.system = vec!["Answer in JSON.".into()];
            let r = reply(&c, "m", 0, &d);
            assert_eq!(r.completion_tokens(), n, "json by system prompt n={n}");
            if n > 0 {
                assert!(serde_json::from_str::<Value>(&r.text).unwrap().is_object());
            }
        }
    }

    #[test]
    fn max_tokens_and_stop_sequences_cut_the_text() {
        let mut c = conv("x");
        c.max_tokens = Some(3);
        let r = reply(&c, "m", 0, &Directives::default());
        assert_eq!(r.finish, Finish::Length);
        assert_eq!(r.completion_tokens(), 3);

        let full = reply(&conv("x"), "m", 0, &Directives::default()).text;
        let stop: String = full.split(' ').nth(2).unwrap().to_string();
        let mut c = conv("x");
        c.stop = vec![stop.clone()];
        let r = reply(&c, "m", 0, &Directives::default());
        assert_eq!(r.finish, Finish::StopSequence(stop.clone()));
        assert!(!r.text.contains(&stop));
        assert!(full.starts_with(&r.text));
    }

    #[test]
    fn tools_yield_calls_parallel_only_when_asked_and_allowed() {
        let mut c = conv("weather?");
        c.tools = vec![tool("a"), tool("b")];
        let r = reply(&c, "m", 0, &Directives::default());
        assert_eq!(r.finish, Finish::ToolCalls);
        assert_eq!(r.tool_calls.len(), 1);
        assert_eq!(r.tool_calls[0].name, "a");
        assert!(r.tool_calls[0].arguments["q"].is_string());

        let par = Directives {
            parallel_tools: true,
            ..Directives::default()
        };
        let r = reply(&c, "m", 0, &par);
        assert_eq!(
            r.tool_calls
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        assert_ne!(r.tool_calls[0].id_seed, r.tool_calls[1].id_seed);
        c.parallel_tool_calls = false;
        assert_eq!(reply(&c, "m", 0, &par).tool_calls.len(), 1);

        c.tool_choice = ToolChoice::Named("b".into());
        assert_eq!(reply(&c, "m", 0, &par).tool_calls[0].name, "b");
        c.tool_choice = ToolChoice::None;
        assert!(reply(&c, "m", 0, &par).tool_calls.is_empty());
    }

    #[test]
    fn after_a_tool_result_the_answer_mentions_it() {
        let mut c = conv("weather?");
        c.tools = vec![tool("get_weather")];
        c.push(
            Role::Assistant,
            Part::ToolCall {
                id: "1".into(),
                name: "get_weather".into(),
                arguments: json!({}),
            },
        );
        c.push(
            Role::User,
            Part::ToolResult {
                id: "1".into(),
                name: "get_weather".into(),
                content: "sunny, 21C".into(),
            },
        );
        let r = reply(&c, "m", 0, &Directives::default());
        assert!(r.tool_calls.is_empty());
        assert!(r.text.contains("get_weather"));
        assert!(r.text.contains("sunny, 21C"));
    }

    #[test]
    fn json_modes_give_json_objects() {
        let mut c = conv("give json");
        c.format = Format::JsonSchema(json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name", "age"]
        }));
        let v: Value =
            serde_json::from_str(&reply(&c, "m", 0, &Directives::default()).text).unwrap();
        assert!(v["name"].is_string() && v["age"].is_i64());

        let mut c = conv("x");
        c.system = vec!["Reply only with a JSON object.".into()];
        let v: Value =
            serde_json::from_str(&reply(&c, "m", 0, &Directives::default()).text).unwrap();
        assert!(v["answer"].is_string());
    }
}
