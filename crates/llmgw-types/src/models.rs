//! `GET /v1/models` list format.

use serde::{Deserialize, Serialize};

fn list_object() -> String {
    "list".to_string()
}

fn model_object() -> String {
    "model".to_string()
}

/// `{"object": "list", "data": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    /// Always `list`.
    #[serde(default = "list_object")]
    pub object: String,
    /// The models.
    pub data: Vec<ModelObject>,
}

impl ModelList {
    /// A list of the given models.
    pub fn new(data: Vec<ModelObject>) -> Self {
        ModelList {
            object: list_object(),
            data,
        }
    }
}

/// One model entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelObject {
    /// Model id clients send as `model`.
    pub id: String,
    /// Always `model`.
    #[serde(default = "model_object")]
    pub object: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: u64,
    /// Owner (the provider name).
    #[serde(default)]
    pub owned_by: String,
}

impl ModelObject {
    /// A model entry.
    pub fn new(id: impl Into<String>, created: u64, owned_by: impl Into<String>) -> Self {
        ModelObject {
            id: id.into(),
            object: model_object(),
            created,
            owned_by: owned_by.into(),
        }
    }
}
