//! Message content: a plain string or a list of typed parts.

use serde::{Deserialize, Serialize};

/// The `content` of a chat message: either a string or an array of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// `"content": "hello"`.
    Text(String),
    /// `"content": [{"type": "text", ...}, {"type": "image_url", ...}]`.
    Parts(Vec<ContentPart>),
}

impl MessageContent {
    /// All text of this content: the string itself, or the text parts joined by newlines.
    pub fn text(&self) -> String {
        match self {
            MessageContent::Text(s) => s.clone(),
            MessageContent::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The parts of this content; a string becomes one text part.
    pub fn parts(&self) -> Vec<ContentPart> {
        match self {
            MessageContent::Text(s) => vec![ContentPart::Text { text: s.clone() }],
            MessageContent::Parts(parts) => parts.clone(),
        }
    }

    /// True when there is no text and no other part.
    pub fn is_empty(&self) -> bool {
        match self {
            MessageContent::Text(s) => s.is_empty(),
            MessageContent::Parts(parts) => parts.is_empty(),
        }
    }
}

impl From<&str> for MessageContent {
    fn from(s: &str) -> Self {
        MessageContent::Text(s.to_string())
    }
}

impl From<String> for MessageContent {
    fn from(s: String) -> Self {
        MessageContent::Text(s)
    }
}

/// One part of a multi-part message content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// `{"type": "text", "text": "..."}`.
    Text {
        /// The text.
        text: String,
    },
    /// `{"type": "image_url", "image_url": {"url": "...", "detail": "auto"}}`.
    ImageUrl {
        /// The image reference.
        image_url: ImageUrl,
    },
    /// `{"type": "input_audio", "input_audio": {"data": "<base64>", "format": "wav"}}`.
    InputAudio {
        /// The audio data.
        input_audio: InputAudio,
    },
    /// `{"type": "file", "file": {"file_data": "data:...", "filename": "..."}}`.
    File {
        /// The file reference.
        file: FileData,
    },
    /// `{"type": "refusal", "refusal": "..."}` (assistant messages only).
    Refusal {
        /// The refusal text.
        refusal: String,
    },
}

/// An image given by URL: `https://…` or a base64 `data:` URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// `https://…` or `data:image/png;base64,…`.
    pub url: String,
    /// `auto`, `low` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Base64 audio input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputAudio {
    /// Base64-encoded audio.
    pub data: String,
    /// `wav` or `mp3`.
    pub format: String,
}

/// A file given inline (`file_data` as a data URL) or by uploaded id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileData {
    /// Base64 `data:` URL of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<String>,
    /// Id of a file uploaded to OpenAI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// File name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}
