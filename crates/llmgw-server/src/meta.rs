//! The `x-llmgw-*` response headers and the request id.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// `x-llmgw-request-id`: unique id of the request, on every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-llmgw-request-id");
/// `x-llmgw-model`: the catalog model that answered (or would have).
pub const MODEL: HeaderName = HeaderName::from_static("x-llmgw-model");
/// `x-llmgw-provider`: the provider that served the model.
pub const PROVIDER: HeaderName = HeaderName::from_static("x-llmgw-provider");
/// `x-llmgw-simulated`: `true` when the answer came from the built-in simulator.
pub const SIMULATED: HeaderName = HeaderName::from_static("x-llmgw-simulated");
/// `x-llmgw-policy`: the routing policy applied to `auto` requests.
pub const POLICY: HeaderName = HeaderName::from_static("x-llmgw-policy");
/// `x-llmgw-predicted-quality`: the router's predicted quality of the chosen model.
pub const PREDICTED_QUALITY: HeaderName = HeaderName::from_static("x-llmgw-predicted-quality");
/// `x-llmgw-difficulty`: the router's difficulty score of the prompt.
pub const DIFFICULTY: HeaderName = HeaderName::from_static("x-llmgw-difficulty");
/// `x-llmgw-estimated-cost-usd`: the expected cost of the chosen model for this request.
pub const ESTIMATED_COST: HeaderName = HeaderName::from_static("x-llmgw-estimated-cost-usd");
/// `x-llmgw-routing-ms`: time spent choosing the model.
pub const ROUTING_MS: HeaderName = HeaderName::from_static("x-llmgw-routing-ms");
/// `x-llmgw-cache`: `hit`, `miss` or `bypass` (absent when no response cache is installed).
pub const CACHE: HeaderName = HeaderName::from_static("x-llmgw-cache");
/// `x-llmgw-cache-match`: on a cache hit, `exact` or `semantic`.
pub const CACHE_MATCH: HeaderName = HeaderName::from_static("x-llmgw-cache-match");
/// `x-llmgw-cache-similarity`: on a semantic cache hit, the cosine similarity of the prompt
/// whose answer was reused (four decimals).
pub const CACHE_SIMILARITY: HeaderName = HeaderName::from_static("x-llmgw-cache-similarity");
/// `x-llmgw-attempts`: upstream calls made for this request (retries and fallbacks included).
pub const ATTEMPTS: HeaderName = HeaderName::from_static("x-llmgw-attempts");
/// `x-llmgw-fallback-from`: the first-choice model, when another model answered (or was tried).
pub const FALLBACK_FROM: HeaderName = HeaderName::from_static("x-llmgw-fallback-from");
/// `x-llmgw-overhead-ms`: time the gateway itself spent on the request, in milliseconds: the
/// whole handling time until the response (for streams: its headers and first chunk) was
/// ready, minus the time spent waiting for the upstream (for streams: until its first token).
pub const OVERHEAD_MS: HeaderName = HeaderName::from_static("x-llmgw-overhead-ms");
/// Request header: per-request quality target for `auto`.
pub const MIN_QUALITY_IN: HeaderName = HeaderName::from_static("x-llmgw-min-quality");
/// Request header: per-request cost cap for `auto`.
pub const MAX_COST_IN: HeaderName = HeaderName::from_static("x-llmgw-max-cost-usd");

/// The unique id of one request (`req_` + 32 hex digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// A fresh random id.
    pub fn new() -> Self {
        RequestId(format!("req_{}", uuid::Uuid::new_v4().simple()))
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Middleware: give every request a [`RequestId`] (as an extension) and put it in
/// `x-llmgw-request-id` on every response, errors and unknown routes included. Responses
/// that did not wait on an upstream (everything but chat completions, which set it
/// themselves) get their whole handling time as `x-llmgw-overhead-ms`.
pub async fn request_id_layer(mut req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let id = RequestId::new();
    req.extensions_mut().insert(id.clone());
    let mut resp = next.run(req).await;
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        resp.headers_mut().insert(REQUEST_ID, value);
    }
    if !resp.headers().contains_key(OVERHEAD_MS) {
        set_overhead_ms(resp.headers_mut(), started.elapsed().as_secs_f64() * 1000.0);
    }
    resp
}

/// Write `x-llmgw-overhead-ms` (milliseconds, three decimals; negative values are clamped to 0).
pub fn set_overhead_ms(headers: &mut HeaderMap, ms: f64) {
    let ms = if ms.is_finite() { ms.max(0.0) } else { 0.0 };
    if let Ok(v) = HeaderValue::from_str(&format!("{ms:.3}")) {
        headers.insert(OVERHEAD_MS, v);
    }
}

/// What the gateway learned about a request that its response headers report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseMeta {
    /// Catalog model id.
    pub model: Option<String>,
    /// Provider name.
    pub provider: Option<String>,
    /// The provider is the built-in simulator.
    pub simulated: bool,
    /// Routing figures, for `auto` requests.
    pub routing: Option<RoutingHeaders>,
    /// Seconds the provider asked to wait (sent as `retry-after`).
    pub retry_after_secs: Option<u64>,
    /// What the cache stage did: `hit`, `miss` or `bypass`.
    pub cache: Option<&'static str>,
    /// On a cache hit: `exact` or `semantic`.
    pub cache_match: Option<&'static str>,
    /// On a semantic cache hit: the similarity of the matched prompt.
    pub cache_similarity: Option<f64>,
    /// Upstream calls made.
    pub attempts: Option<u32>,
    /// The first-choice model, when the request fell back from it.
    pub fallback_from: Option<String>,
    /// Gateway overhead in milliseconds, when known before the response is built (streams).
    pub overhead_ms: Option<f64>,
}

/// Routing figures reported in headers.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingHeaders {
    /// Policy as applied, e.g. `min_quality(0.8)`.
    pub policy: String,
    /// Predicted quality of the chosen model.
    pub predicted_quality: f64,
    /// Difficulty of the prompt.
    pub difficulty: f64,
    /// Expected cost of the chosen model, USD.
    pub estimated_cost_usd: f64,
    /// Milliseconds spent routing.
    pub routing_ms: f64,
}

impl ResponseMeta {
    /// Write the known headers into `headers`. Values that are not valid header text are skipped.
    pub fn apply(&self, headers: &mut HeaderMap) {
        let mut put = |name: HeaderName, value: &str| {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        };
        if let Some(m) = &self.model {
            put(MODEL, m);
        }
        if let Some(p) = &self.provider {
            put(PROVIDER, p);
            put(SIMULATED, if self.simulated { "true" } else { "false" });
        }
        if let Some(cache) = self.cache {
            put(CACHE, cache);
        }
        if let Some(m) = self.cache_match {
            put(CACHE_MATCH, m);
        }
        if let Some(sim) = self.cache_similarity {
            put(CACHE_SIMILARITY, &format!("{sim:.4}"));
        }
        if let Some(n) = self.attempts {
            put(ATTEMPTS, &n.to_string());
        }
        if let Some(m) = &self.fallback_from {
            put(FALLBACK_FROM, m);
        }
        if let Some(secs) = self.retry_after_secs {
            put(axum::http::header::RETRY_AFTER, &secs.max(1).to_string());
        }
        if let Some(r) = &self.routing {
            put(POLICY, &r.policy);
            put(PREDICTED_QUALITY, &format!("{:.4}", r.predicted_quality));
            put(DIFFICULTY, &format!("{:.4}", r.difficulty));
            put(ESTIMATED_COST, &format!("{:.8}", r.estimated_cost_usd));
            put(ROUTING_MS, &format!("{:.3}", r.routing_ms));
        }
        if let Some(ms) = self.overhead_ms {
            set_overhead_ms(headers, ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_unique_and_header_safe() {
        let a = RequestId::new();
        let b = RequestId::new();
        assert_ne!(a, b);
        assert!(a.0.starts_with("req_") && a.0.len() == 36);
        assert!(HeaderValue::from_str(&a.0).is_ok());
    }

    #[test]
    fn meta_writes_known_headers_and_skips_bad_values() {
        let meta = ResponseMeta {
            model: Some("bad\nname".into()),
            provider: Some("openai".into()),
            simulated: true,
            routing: Some(RoutingHeaders {
                policy: "min_quality(0.8)".into(),
                predicted_quality: 0.8123456,
                difficulty: 0.25,
                estimated_cost_usd: 0.0012,
                routing_ms: 3.5,
            }),
            retry_after_secs: Some(7),
            cache: Some("hit"),
            cache_match: Some("semantic"),
            cache_similarity: Some(0.973_06),
            attempts: Some(3),
            fallback_from: Some("strong".into()),
            overhead_ms: Some(0.25),
        };
        let mut h = HeaderMap::new();
        meta.apply(&mut h);
        assert!(
            h.get(MODEL).is_none(),
            "a value with a newline is not a header"
        );
        assert_eq!(h[PROVIDER], "openai");
        assert_eq!(h[SIMULATED], "true");
        assert_eq!(h[PREDICTED_QUALITY], "0.8123");
        assert_eq!(h[ESTIMATED_COST], "0.00120000");
        assert_eq!(h[ROUTING_MS], "3.500");
        assert_eq!(h[axum::http::header::RETRY_AFTER], "7");
        assert_eq!(h[CACHE], "hit");
        assert_eq!(h[CACHE_MATCH], "semantic");
        assert_eq!(h[CACHE_SIMILARITY], "0.9731");
        assert_eq!(h[ATTEMPTS], "3");
        assert_eq!(h[FALLBACK_FROM], "strong");
        assert_eq!(h[OVERHEAD_MS], "0.250");
    }

    #[test]
    fn overhead_is_never_negative_or_nan() {
        let mut h = HeaderMap::new();
        set_overhead_ms(&mut h, -0.5);
        assert_eq!(h[OVERHEAD_MS], "0.000");
        set_overhead_ms(&mut h, f64::NAN);
        assert_eq!(h[OVERHEAD_MS], "0.000");
        set_overhead_ms(&mut h, 1.23456);
        assert_eq!(h[OVERHEAD_MS], "1.235");
    }
}
