//! The rows of the log: one [`OutcomeRecord`] per request, one [`FeedbackRecord`] per feedback.

use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// Whether (and how) the gateway's response cache answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheHit {
    /// The answer came from a provider (cache missed, bypassed or disabled).
    #[default]
    None,
    /// Replayed from the exact cache.
    Exact,
    /// Replayed from the semantic cache (see [`OutcomeRecord::cache_similarity`]).
    Semantic,
}

impl CacheHit {
    /// The value stored in the `cache_hit` column: `none`, `exact` or `semantic`.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheHit::None => "none",
            CacheHit::Exact => "exact",
            CacheHit::Semantic => "semantic",
        }
    }
}

/// One candidate model the router considered, as the optimizer scored it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Candidate {
    /// Catalog model id.
    pub model: String,
    /// Provider name from the config.
    pub provider: String,
    /// Classifier's predicted answer quality in [0, 1], if predicted.
    pub predicted_quality: Option<f32>,
    /// The optimizer's expected cost of the request on this model, in USD.
    pub estimated_cost_usd: Option<f64>,
    /// Whether the candidate passed the policy's constraints.
    pub eligible: bool,
    /// Why the candidate was (not) eligible, in the optimizer's words.
    pub reason: Option<String>,
}

/// Everything the gateway knows about one request once it has ended.
///
/// Build it with [`OutcomeRecord::new`] when the request arrives, fill the fields as the
/// request passes the stages, and hand it to [`crate::OutcomeLog::record`] when it ends
/// (successfully or not). Optional fields that a stage never reached stay `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeRecord {
    /// The gateway's request id (the `x-llmgw-request-id` header). Feedback joins on it.
    pub request_id: String,
    /// When the request arrived.
    pub received_at: SystemTime,
    /// When the first token (or the whole answer, if not streamed) was sent to the client.
    pub first_token_at: Option<SystemTime>,
    /// When the response ended (last byte sent, or error returned).
    pub completed_at: SystemTime,
    /// Id of the gateway API key that made the request (never the key itself).
    pub api_key_id: Option<String>,
    /// Tenant or team label, if the deployment has one.
    pub tenant: Option<String>,
    /// Free-form traffic label (application, route, dataset); `llmgw export` writes it as `source`.
    pub source: Option<String>,
    /// The `model` the client sent (`auto`, `auto:<policy>` or a catalog id).
    pub requested_model: String,
    /// The model that produced the answer (after routing and fallbacks).
    pub model: Option<String>,
    /// The provider of [`Self::model`].
    pub provider: Option<String>,
    /// Routing policy applied, e.g. `min_quality:0.8` or `wtp:100`; `None` for a named model.
    pub policy: Option<String>,
    /// Classifier's difficulty score for the prompt.
    pub difficulty: Option<f32>,
    /// Predicted quality of the chosen model.
    pub predicted_quality: Option<f32>,
    /// Expected cost of the chosen model before the call, in USD.
    pub estimated_cost_usd: Option<f64>,
    /// Every candidate the optimizer scored, in its ranked order.
    pub candidates: Vec<Candidate>,
    /// Prompt tokens reported by the upstream (cached tokens included).
    pub prompt_tokens: Option<u64>,
    /// Completion tokens reported by the upstream (reasoning tokens included).
    pub completion_tokens: Option<u64>,
    /// Prompt tokens the upstream served from its prompt cache.
    pub cached_tokens: Option<u64>,
    /// Actual cost in USD (see [`crate::Prices::cost_usd`]); `0.0` for a gateway cache hit.
    pub cost_usd: Option<f64>,
    /// Total latency as the client saw it, in milliseconds.
    pub latency_ms: f64,
    /// Time to first token, in milliseconds (streams).
    pub ttft_ms: Option<f64>,
    /// Time spent in the gateway itself (everything but waiting for the upstream), in milliseconds.
    pub overhead_ms: Option<f64>,
    /// Time spent choosing the model (classifier + optimizer), in milliseconds.
    pub routing_ms: Option<f64>,
    /// HTTP status returned to the client.
    pub status: u16,
    /// Machine-readable error class when the request failed (e.g. `upstream_timeout`).
    pub error_kind: Option<String>,
    /// Finish reason of the answer (`stop`, `length`, `tool_calls`, ...).
    pub finish_reason: Option<String>,
    /// Whether the response cache answered.
    pub cache_hit: CacheHit,
    /// Cosine similarity of a semantic cache hit.
    pub cache_similarity: Option<f32>,
    /// Retries of upstream calls (all models together).
    pub retries: u32,
    /// Models tried before [`Self::model`], in order (empty when the first choice answered).
    pub fallbacks: Vec<String>,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// The text the request was routed on. Dropped before storage when the log's
    /// `store_prompts` is false; its hash and embedding are kept instead.
    pub prompt: Option<String>,
    /// Hex SHA-256 of [`Self::prompt`]; filled in by the log when left `None`.
    pub prompt_sha256: Option<String>,
    /// The classifier's embedding of the prompt, if the caller supplies it.
    pub prompt_embedding: Option<Vec<f32>>,
    /// The encoder that produced [`Self::prompt_embedding`].
    pub embedding_model: Option<String>,
}

impl OutcomeRecord {
    /// A record for a request that has just arrived: everything else empty, status 200,
    /// `completed_at = received_at`.
    pub fn new(
        request_id: impl Into<String>,
        requested_model: impl Into<String>,
        received_at: SystemTime,
    ) -> Self {
        OutcomeRecord {
            request_id: request_id.into(),
            received_at,
            first_token_at: None,
            completed_at: received_at,
            api_key_id: None,
            tenant: None,
            source: None,
            requested_model: requested_model.into(),
            model: None,
            provider: None,
            policy: None,
            difficulty: None,
            predicted_quality: None,
            estimated_cost_usd: None,
            candidates: Vec::new(),
            prompt_tokens: None,
            completion_tokens: None,
            cached_tokens: None,
            cost_usd: None,
            latency_ms: 0.0,
            ttft_ms: None,
            overhead_ms: None,
            routing_ms: None,
            status: 200,
            error_kind: None,
            finish_reason: None,
            cache_hit: CacheHit::None,
            cache_similarity: None,
            retries: 0,
            fallbacks: Vec::new(),
            stream: false,
            prompt: None,
            prompt_sha256: None,
            prompt_embedding: None,
            embedding_model: None,
        }
    }

    /// Applies the prompt storage rule: the hash is always filled from the text, and the
    /// text itself is removed unless `store_prompts`.
    pub fn apply_prompt_policy(&mut self, store_prompts: bool) {
        if let Some(text) = &self.prompt {
            if self.prompt_sha256.is_none() {
                self.prompt_sha256 = Some(prompt_sha256(text));
            }
        }
        if !store_prompts {
            self.prompt = None;
        }
    }

    /// A rough size of the record in memory, in bytes, used to rotate files by size.
    pub fn estimated_bytes(&self) -> usize {
        fn s(v: &Option<String>) -> usize {
            v.as_ref().map_or(0, String::len)
        }
        let candidates: usize = self
            .candidates
            .iter()
            .map(|c| 48 + c.model.len() + c.provider.len() + s(&c.reason))
            .sum();
        let fallbacks: usize = self.fallbacks.iter().map(|f| 8 + f.len()).sum();
        256 + self.request_id.len()
            + self.requested_model.len()
            + s(&self.api_key_id)
            + s(&self.tenant)
            + s(&self.source)
            + s(&self.model)
            + s(&self.provider)
            + s(&self.policy)
            + s(&self.error_kind)
            + s(&self.finish_reason)
            + s(&self.prompt)
            + s(&self.prompt_sha256)
            + s(&self.embedding_model)
            + self.prompt_embedding.as_ref().map_or(0, |e| 4 * e.len())
            + candidates
            + fallbacks
    }
}

/// Hex-encoded SHA-256 of a prompt's UTF-8 bytes: the value of the `prompt_sha256` column.
pub fn prompt_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A quality judgement on an earlier request's answer (`POST /v1/feedback`).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackRecord {
    /// The request the feedback is about (may be unknown to this process).
    pub request_id: String,
    /// When the feedback arrived.
    pub received_at: SystemTime,
    /// Quality of the answer in [0, 1] (1 = best).
    pub quality: f64,
    /// Optional free-text comment.
    pub comment: Option<String>,
    /// Whether the receiver knew the request id (`None` when it cannot tell).
    pub known_request: Option<bool>,
    /// Id of the API key that sent the feedback.
    pub api_key_id: Option<String>,
}

impl FeedbackRecord {
    /// Feedback received now, after checking that `request_id` is not empty and `quality`
    /// is a number in [0, 1].
    pub fn new(request_id: impl Into<String>, quality: f64) -> Result<Self, crate::LogError> {
        let fb = FeedbackRecord {
            request_id: request_id.into(),
            received_at: SystemTime::now(),
            quality,
            comment: None,
            known_request: None,
            api_key_id: None,
        };
        fb.validate()?;
        Ok(fb)
    }

    /// Checks the fields a client controls: a non-empty request id and a quality in [0, 1].
    pub fn validate(&self) -> Result<(), crate::LogError> {
        if self.request_id.trim().is_empty() {
            return Err(crate::LogError::InvalidFeedback(
                "`request_id` must be a non-empty string".into(),
            ));
        }
        if !self.quality.is_finite() || !(0.0..=1.0).contains(&self.quality) {
            return Err(crate::LogError::InvalidFeedback(format!(
                "`quality` must be a number between 0 and 1, got {}",
                self.quality
            )));
        }
        Ok(())
    }

    /// A rough size of the record in memory, in bytes.
    pub fn estimated_bytes(&self) -> usize {
        96 + self.request_id.len()
            + self.comment.as_ref().map_or(0, String::len)
            + self.api_key_id.as_ref().map_or(0, String::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privacy_mode_keeps_hash_and_embedding_only() {
        let mut rec = OutcomeRecord::new("r1", "auto", SystemTime::now());
        rec.prompt = Some("What is 2+2?".into());
        rec.prompt_embedding = Some(vec![0.5, -0.25]);
        rec.apply_prompt_policy(false);
        assert_eq!(rec.prompt, None);
        assert_eq!(
            rec.prompt_sha256.as_deref(),
            Some(prompt_sha256("What is 2+2?").as_str())
        );
        assert_eq!(rec.prompt_embedding, Some(vec![0.5, -0.25]));
    }

    #[test]
    fn default_mode_keeps_text_and_adds_hash() {
        let mut rec = OutcomeRecord::new("r1", "auto", SystemTime::now());
        rec.prompt = Some("hello".into());
        rec.apply_prompt_policy(true);
        assert_eq!(rec.prompt.as_deref(), Some("hello"));
        // Known SHA-256 of "hello".
        assert_eq!(
            rec.prompt_sha256.as_deref(),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
    }

    #[test]
    fn feedback_validation_rejects_bad_quality_and_empty_id() {
        assert!(FeedbackRecord::new("r1", 0.0).is_ok());
        assert!(FeedbackRecord::new("r1", 1.0).is_ok());
        assert!(FeedbackRecord::new("r1", 1.01).is_err());
        assert!(FeedbackRecord::new("r1", -0.1).is_err());
        assert!(FeedbackRecord::new("r1", f64::NAN).is_err());
        assert!(FeedbackRecord::new("  ", 0.5).is_err());
    }
}
