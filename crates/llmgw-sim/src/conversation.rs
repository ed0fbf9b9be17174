//! The provider-neutral view of a request that every simulated provider parses into.
//!
//! Answers are derived from this view, so the answer logic is written once for all three wire formats.

use serde::Serialize;
use serde_json::Value;

use crate::seed;
use crate::tokens;

/// Who said a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Role {
    User,
    Assistant,
}

/// One piece of a turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) enum Part {
    /// Plain text.
    Text(String),
    /// An image or other binary attachment, identified by a digest of its source.
    Media(String),
    /// A tool call made by the assistant.
    ToolCall {
        id: String,
        name: String,
        arguments: Value,
    },
    /// A tool's result sent back by the user side.
    ToolResult {
        id: String,
        name: String,
        content: String,
    },
}

/// Consecutive parts from the same side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Turn {
    pub role: Role,
    pub parts: Vec<Part>,
}

/// A tool the caller offers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ToolDef {
    pub name: String,
    pub description: String,
    /// JSON schema of the arguments (may be `null` when the tool takes none).
    pub parameters: Value,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) enum ToolChoice {
    Auto,
    None,
    Required,
    Named(String),
}

/// The shape the answer text must take.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) enum Format {
    Text,
    JsonObject,
    JsonSchema(Value),
}

/// A parsed, validated request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Conversation {
    pub system: Vec<String>,
    pub turns: Vec<Turn>,
    pub tools: Vec<ToolDef>,
    pub tool_choice: ToolChoice,
    pub parallel_tool_calls: bool,
    pub format: Format,
    /// Completion token limit.
    #[serde(skip)]
    pub max_tokens: Option<u32>,
    /// Stop sequences.
    #[serde(skip)]
    pub stop: Vec<String>,
    /// Number of wire messages (for the per-message token overhead).
    #[serde(skip)]
    pub messages: u32,
}

impl Default for Conversation {
    fn default() -> Conversation {
        Conversation {
            system: Vec::new(),
            turns: Vec::new(),
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
            parallel_tool_calls: true,
            format: Format::Text,
            max_tokens: None,
            stop: Vec::new(),
            messages: 0,
        }
    }
}

impl Conversation {
    /// Appends a part, merging it into the last turn when that turn has the same role.
    pub(crate) fn push(&mut self, role: Role, part: Part) {
        match self.turns.last_mut() {
            Some(turn) if turn.role == role => turn.parts.push(part),
            _ => self.turns.push(Turn {
                role,
                parts: vec![part],
            }),
        }
    }

    /// Text of the last user turn that has any text (tool results excluded): where directives live.
    pub(crate) fn last_user_text(&self) -> String {
        self.turns
            .iter()
            .rev()
            .filter(|t| t.role == Role::User)
            .map(|t| {
                t.parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::Text(s) => Some(s.as_str()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .find(|s| !s.is_empty())
            .unwrap_or_default()
    }

    /// Tool results of the last turn, when it is a user turn carrying any.
    pub(crate) fn trailing_tool_results(&self) -> Vec<(&str, &str)> {
        match self.turns.last() {
            Some(turn) if turn.role == Role::User => turn
                .parts
                .iter()
                .filter_map(|p| match p {
                    Part::ToolResult { name, content, .. } => {
                        Some((name.as_str(), content.as_str()))
                    }
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the conversation ends with an assistant turn (a prefill to continue).
    pub(crate) fn ends_with_assistant(&self) -> bool {
        matches!(self.turns.last(), Some(t) if t.role == Role::Assistant)
    }

    /// Name of the tool call with this id in any assistant turn.
    pub(crate) fn tool_name_for(&self, id: &str) -> Option<String> {
        self.turns
            .iter()
            .flat_map(|t| t.parts.iter())
            .find_map(|p| match p {
                Part::ToolCall { id: i, name, .. } if i == id => Some(name.clone()),
                _ => None,
            })
    }

    /// Whether any instruction (system) text asks for JSON.
    pub(crate) fn system_asks_for_json(&self) -> bool {
        self.system
            .iter()
            .any(|s| s.to_ascii_lowercase().contains("json"))
    }

    /// Prompt tokens by the documented estimate: every text of the request (system, messages, tool
    /// calls and results, tool definitions as compact JSON) at `ceil(chars / 4)`, 85 per media part,
    /// 4 per wire message.
    pub(crate) fn prompt_tokens(&self) -> u32 {
        let mut total: u32 = self.system.iter().map(|s| tokens::count(s)).sum();
        for part in self.turns.iter().flat_map(|t| t.parts.iter()) {
            total = total.saturating_add(match part {
                Part::Text(s) => tokens::count(s),
                Part::Media(_) => tokens::IMAGE_TOKENS,
                Part::ToolCall {
                    name, arguments, ..
                } => tokens::count(name) + tokens::count(&arguments.to_string()),
                Part::ToolResult { content, .. } => tokens::count(content),
            });
        }
        for tool in &self.tools {
            let def = serde_json::json!({
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
            });
            total = total.saturating_add(tokens::count(&def.to_string()));
        }
        total.saturating_add(self.messages.saturating_mul(tokens::MESSAGE_OVERHEAD))
    }

    /// Digest that determines the answer: the whole conversation, the model and the choice index.
    pub(crate) fn digest(&self, model: &str, choice: u32) -> [u8; 32] {
        let body = serde_json::to_vec(self).unwrap_or_default();
        seed::digest(&[model.as_bytes(), &choice.to_le_bytes(), &body])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Part {
        Part::Text(s.to_string())
    }

    #[test]
    fn push_merges_same_role_and_finds_last_user_text() {
        let mut c = Conversation::default();
        c.push(Role::User, text("first [[sim:status=500]]"));
        c.push(Role::User, text("second"));
        c.push(
            Role::Assistant,
            Part::ToolCall {
                id: "c1".into(),
                name: "f".into(),
                arguments: serde_json::json!({}),
            },
        );
        c.push(
            Role::User,
            Part::ToolResult {
                id: "c1".into(),
                name: "f".into(),
                content: "42".into(),
            },
        );
        assert_eq!(c.turns.len(), 3);
        assert_eq!(c.last_user_text(), "first [[sim:status=500]]\nsecond");
        assert_eq!(c.trailing_tool_results(), vec![("f", "42")]);
        assert_eq!(c.tool_name_for("c1").as_deref(), Some("f"));
        assert!(!c.ends_with_assistant());
    }

    #[test]
    fn prompt_tokens_follow_the_rule() {
        let mut c = Conversation {
            system: vec!["abcdefgh".into()], // 2
            messages: 2,                     // 8
            ..Conversation::default()
        };
        c.push(Role::User, text("abcde")); // 2
        c.push(Role::User, Part::Media("x".into())); // 85
        assert_eq!(c.prompt_tokens(), 2 + 8 + 2 + 85);
    }

    #[test]
    fn digest_depends_on_model_choice_and_content() {
        let mut c = Conversation::default();
        c.push(Role::User, text("hello"));
        let d = c.digest("m", 0);
        assert_eq!(d, c.clone().digest("m", 0));
        assert_ne!(d, c.digest("n", 0));
        assert_ne!(d, c.digest("m", 1));
        c.push(Role::User, text("more"));
        assert_ne!(d, c.digest("m", 0));
    }
}
