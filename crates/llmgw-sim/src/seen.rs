//! A bounded record of the requests the simulated providers received, for tests to inspect.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::http::HeaderMap;
use serde_json::Value;

/// How many recent requests are kept.
pub(crate) const RECENT_CAPACITY: usize = 64;
/// Headers whose values are credentials and are never recorded.
const SECRET_HEADERS: &[&str] = &["authorization", "x-api-key", "x-goog-api-key"];

/// A request as a simulated provider received it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenRequest {
    /// `"openai"`, `"anthropic"` or `"gemini"`.
    pub provider: &'static str,
    /// Request path (query string excluded, so `?key=` never shows).
    pub path: String,
    /// Model the request named (body field, or the Gemini path segment), when it could be read.
    pub model: Option<String>,
    /// Request headers; credential values replaced by `"[redacted]"`.
    pub headers: Vec<(String, String)>,
    /// The JSON body; `Value::Null` when the body was not valid JSON.
    pub body: Value,
}

/// Counters and the ring of recent requests.
#[derive(Debug, Default)]
pub(crate) struct SeenLog {
    total: AtomicU64,
    per_model: Mutex<HashMap<String, u64>>,
    recent: Mutex<VecDeque<SeenRequest>>,
}

impl SeenLog {
    /// Records one request.
    pub(crate) fn record(
        &self,
        provider: &'static str,
        path: &str,
        model: Option<&str>,
        headers: &HeaderMap,
        body: Value,
    ) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = model {
            let mut counts = self.per_model.lock().unwrap_or_else(|e| e.into_inner());
            // Bounded: models are few in practice, but a client could send arbitrary names.
            if counts.len() < 10_000 || counts.contains_key(m) {
                *counts.entry(m.to_string()).or_insert(0) += 1;
            }
        }
        let headers = headers
            .iter()
            .map(|(name, value)| {
                let name = name.as_str().to_string();
                let value = if SECRET_HEADERS.contains(&name.as_str()) {
                    "[redacted]".to_string()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name, value)
            })
            .collect();
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() >= RECENT_CAPACITY {
            recent.pop_front();
        }
        recent.push_back(SeenRequest {
            provider,
            path: path.to_string(),
            model: model.map(str::to_string),
            headers,
            body,
        });
    }

    pub(crate) fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub(crate) fn for_model(&self, model: &str) -> u64 {
        let counts = self.per_model.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(model).copied().unwrap_or(0)
    }

    pub(crate) fn recent(&self) -> Vec<SeenRequest> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn records_counts_and_redacts_credentials() {
        let log = SeenLog::default();
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("sk-secret"));
        headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        log.record(
            "anthropic",
            "/v1/messages",
            Some("m"),
            &headers,
            Value::Null,
        );
        log.record("anthropic", "/v1/messages", None, &headers, Value::Null);
        assert_eq!(log.total(), 2);
        assert_eq!(log.for_model("m"), 1);
        let seen = log.recent();
        assert_eq!(seen.len(), 2);
        assert!(seen[0]
            .headers
            .contains(&("x-api-key".to_string(), "[redacted]".to_string())));
        assert!(!format!("{seen:?}").contains("sk-secret"));
    }

    #[test]
    fn keeps_only_the_most_recent() {
        let log = SeenLog::default();
        for i in 0..RECENT_CAPACITY + 5 {
            log.record(
                "openai",
                &format!("/{i}"),
                None,
                &HeaderMap::new(),
                Value::Null,
            );
        }
        let seen = log.recent();
        assert_eq!(seen.len(), RECENT_CAPACITY);
        assert_eq!(seen[0].path, "/5");
    }
}
