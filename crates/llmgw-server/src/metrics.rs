//! Prometheus metrics, served as text at `GET /metrics`.
//!
//! Request figures are taken from each request's outcome record when it is closed (so a
//! stream counts when it ends); cache lookups are counted by the cache stage; the outcome
//! log's queue and counters, and the cache's size and evictions, are read when the endpoint
//! is scraped. Label values are catalog
//! model ids, provider names, HTTP statuses and error kinds: sets bounded by the config.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use llmgw_outcomes::{CacheHit, LogStats, OutcomeRecord};
use prometheus::core::Collector;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, TextEncoder,
};

use crate::output_lengths::OutputLengths;
use crate::stages::cache::CacheStats;
use crate::state::AppState;

/// Label value for a request that never reached a model or provider.
const NONE: &str = "none";

const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
const ROUTING_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// The gateway's metrics (one set per gateway).
pub struct Metrics {
    requests: IntCounterVec,
    errors: IntCounterVec,
    tokens: IntCounterVec,
    cost: prometheus::CounterVec,
    latency: HistogramVec,
    routing: prometheus::Histogram,
    ttft: HistogramVec,
    cache: IntCounterVec,
    cache_hits: IntCounterVec,
    cache_entries: IntGaugeVec,
    cache_bytes: IntGaugeVec,
    cache_evictions: IntCounterVec,
    log_queue_depth: IntGauge,
    log_counts: IntGaugeVec,
    breaker_state: IntGaugeVec,
    breaker_opened: IntGaugeVec,
    answer_lengths: OutputLengths,
    /// Metrics of other parts (e.g. the shared state in Redis), collected at scrape time.
    extra: std::sync::Mutex<Vec<Box<dyn Collector>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Fresh metrics, all zero.
    ///
    /// The names and labels are fixed and valid, so building them cannot fail; should the
    /// library refuse one anyway, the error says which.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let model_provider = &["model", "provider"];
        Ok(Metrics {
            requests: IntCounterVec::new(
                Opts::new(
                    "llmgw_requests_total",
                    "Chat completion requests, by model, provider and HTTP status.",
                ),
                &["model", "provider", "status"],
            )?,
            errors: IntCounterVec::new(
                Opts::new(
                    "llmgw_request_errors_total",
                    "Requests that failed (status >= 400, or a stream that ended in an error), by kind.",
                ),
                &["model", "provider", "kind"],
            )?,
            tokens: IntCounterVec::new(
                Opts::new(
                    "llmgw_tokens_total",
                    "Tokens billed by providers (cache hits excluded), by class: prompt, completion, cached (prompt tokens served from the provider's prompt cache).",
                ),
                &["model", "provider", "kind"],
            )?,
            cost: prometheus::CounterVec::new(
                Opts::new(
                    "llmgw_cost_usd_total",
                    "Cost of the answers in USD at catalog prices (cache hits cost 0).",
                ),
                model_provider,
            )?,
            latency: HistogramVec::new(
                HistogramOpts::new(
                    "llmgw_request_duration_seconds",
                    "Time from receiving a request to the end of its response.",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                model_provider,
            )?,
            routing: prometheus::Histogram::with_opts(
                HistogramOpts::new(
                    "llmgw_routing_duration_seconds",
                    "Time spent choosing a model for `auto` requests.",
                )
                .buckets(ROUTING_BUCKETS.to_vec()),
            )?,
            ttft: HistogramVec::new(
                HistogramOpts::new(
                    "llmgw_time_to_first_token_seconds",
                    "Time from receiving a streamed request to its first token.",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                model_provider,
            )?,
            cache: IntCounterVec::new(
                Opts::new(
                    "llmgw_cache_lookups_total",
                    "Response cache lookups, by result: hit, miss, bypass.",
                ),
                &["result"],
            )?,
            cache_hits: IntCounterVec::new(
                Opts::new(
                    "llmgw_cache_hits_total",
                    "Response cache hits, by match: exact (same request) or semantic (similar prompt).",
                ),
                &["match"],
            )?,
            cache_entries: IntGaugeVec::new(
                Opts::new(
                    "llmgw_cache_entries",
                    "Answers held by the response cache: all, or those indexed for semantic matching.",
                ),
                &["index"],
            )?,
            cache_bytes: IntGaugeVec::new(
                Opts::new(
                    "llmgw_cache_bytes",
                    "Bytes held by the response cache (answer JSON, embeddings, per-entry overhead).",
                ),
                &[],
            )?,
            cache_evictions: IntCounterVec::new(
                Opts::new(
                    "llmgw_cache_evictions_total",
                    "Answers removed from the response cache, by reason: lru (over the entry or byte bound), ttl (expired).",
                ),
                &["reason"],
            )?,
            log_queue_depth: IntGauge::new(
                "llmgw_outcome_log_queue_depth",
                "Outcome records waiting in the log writer's queue.",
            )?,
            log_counts: IntGaugeVec::new(
                Opts::new(
                    "llmgw_outcome_log_records",
                    "Outcome log counts since start: written, dropped (accepted, never written), rejected (log closed), write_errors, pending (accepted, not yet in a file).",
                ),
                &["state"],
            )?,
            breaker_state: IntGaugeVec::new(
                Opts::new(
                    "llmgw_circuit_breaker_state",
                    "Circuit breaker per provider and model: 0 closed, 1 half-open, 2 open.",
                ),
                model_provider,
            )?,
            breaker_opened: IntGaugeVec::new(
                Opts::new(
                    "llmgw_circuit_breaker_opened",
                    "Times each circuit breaker has opened since start.",
                ),
                model_provider,
            )?,
            answer_lengths: OutputLengths::default(),
            extra: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Also feed every successful, non-cached answer's completion tokens to `lengths`
    /// (the expected answer lengths `model: "auto"` prices candidates with).
    pub fn with_answer_lengths(mut self, lengths: OutputLengths) -> Self {
        self.answer_lengths = lengths;
        self
    }

    /// Record the circuit breakers' states (read when the endpoint is scraped).
    pub fn set_breakers(&self, breakers: &[llmgw_reliability::BreakerStatus]) {
        for b in breakers {
            let labels = [b.model.as_str(), b.provider.as_str()];
            self.breaker_state
                .with_label_values(&labels)
                .set(i64::from(b.state.gauge()));
            self.breaker_opened
                .with_label_values(&labels)
                .set(saturating_i64(b.times_opened));
        }
    }

    /// Count one cache-stage decision (`None`: no cache installed, nothing counted), and a
    /// hit by its match kind (`exact` or `semantic`).
    pub fn cache_lookup(&self, result: Option<&str>, matched: Option<&str>) {
        if let Some(result) = result {
            self.cache.with_label_values(&[result]).inc();
        }
        if let Some(kind) = matched {
            self.cache_hits.with_label_values(&[kind]).inc();
        }
    }

    /// Take in the response cache's size and eviction counters (read at scrape time).
    pub fn set_cache_stats(&self, stats: &CacheStats) {
        for kind in ["exact", "semantic"] {
            // Both series exist (at 0) once a cache is installed.
            self.cache_hits.with_label_values(&[kind]);
        }
        for result in ["hit", "miss", "bypass"] {
            self.cache.with_label_values(&[result]);
        }
        self.cache_entries
            .with_label_values(&["all"])
            .set(saturating_i64(stats.entries));
        self.cache_entries
            .with_label_values(&["semantic"])
            .set(saturating_i64(stats.indexed));
        self.cache_bytes
            .with_label_values(&[] as &[&str])
            .set(saturating_i64(stats.bytes));
        for (reason, total) in [("lru", stats.evictions), ("ttl", stats.expirations)] {
            let counter = self.cache_evictions.with_label_values(&[reason]);
            let seen = counter.get();
            if total > seen {
                counter.inc_by(total - seen);
            }
        }
    }

    /// Count a finished request from its closed outcome record.
    pub fn observe(&self, rec: &OutcomeRecord) {
        let model = rec.model.as_deref().unwrap_or(NONE);
        let provider = rec.provider.as_deref().unwrap_or(NONE);
        let status = rec.status.to_string();
        self.requests
            .with_label_values(&[model, provider, status.as_str()])
            .inc();
        if rec.status >= 400 || rec.error_kind.is_some() {
            let kind = rec.error_kind.as_deref().unwrap_or("error");
            self.errors
                .with_label_values(&[model, provider, kind])
                .inc();
        }
        if rec.cache_hit == CacheHit::None && rec.status == 200 && rec.error_kind.is_none() {
            if let (Some(m), Some(n)) = (rec.model.as_deref(), rec.completion_tokens) {
                self.answer_lengths.observe(m, n);
            }
        }
        if rec.cache_hit == CacheHit::None {
            let cached = rec.cached_tokens.unwrap_or(0);
            for (kind, n) in [
                ("prompt", rec.prompt_tokens.unwrap_or(0)),
                ("completion", rec.completion_tokens.unwrap_or(0)),
                ("cached", cached),
            ] {
                if n > 0 {
                    self.tokens
                        .with_label_values(&[model, provider, kind])
                        .inc_by(n);
                }
            }
        }
        if let Some(cost) = rec.cost_usd.filter(|c| c.is_finite() && *c > 0.0) {
            self.cost.with_label_values(&[model, provider]).inc_by(cost);
        }
        self.latency
            .with_label_values(&[model, provider])
            .observe(rec.latency_ms / 1000.0);
        if let Some(ms) = rec.routing_ms {
            self.routing.observe(ms / 1000.0);
        }
        if let Some(ms) = rec.ttft_ms {
            self.ttft
                .with_label_values(&[model, provider])
                .observe(ms / 1000.0);
        }
    }

    /// Take in the outcome log's figures (read at scrape time).
    pub fn set_log_stats(&self, stats: &LogStats) {
        self.log_queue_depth.set(saturating_i64(stats.queue_depth));
        for (state, n) in [
            ("written", stats.outcomes_written),
            ("dropped", stats.dropped),
            ("rejected", stats.rejected),
            ("write_errors", stats.write_errors),
            ("pending", stats.pending_rows),
        ] {
            self.log_counts
                .with_label_values(&[state])
                .set(saturating_i64(n));
        }
    }

    /// Also serve `collector`'s metrics (collected when the endpoint is scraped).
    pub fn add_collector(&self, collector: Box<dyn Collector>) {
        self.extra
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(collector);
    }

    /// Everything in Prometheus' text format.
    pub fn render(&self, with_log: bool) -> Result<String, prometheus::Error> {
        let mut families = Vec::new();
        families.extend(self.requests.collect());
        families.extend(self.errors.collect());
        families.extend(self.tokens.collect());
        families.extend(self.cost.collect());
        families.extend(self.latency.collect());
        families.extend(self.routing.collect());
        families.extend(self.ttft.collect());
        families.extend(self.cache.collect());
        families.extend(self.cache_hits.collect());
        families.extend(self.cache_entries.collect());
        families.extend(self.cache_bytes.collect());
        families.extend(self.cache_evictions.collect());
        families.extend(self.breaker_state.collect());
        families.extend(self.breaker_opened.collect());
        if with_log {
            families.extend(self.log_queue_depth.collect());
            families.extend(self.log_counts.collect());
        }
        for c in self
            .extra
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            families.extend(c.collect());
        }
        // Like a registry's gather: a vector with no series yet is left out.
        families.retain(|f| !f.get_metric().is_empty());
        let mut out = Vec::new();
        TextEncoder::new().encode(&families, &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `GET /metrics`.
pub async fn handler(State(state): State<Arc<AppState>>) -> Response {
    if let Some(log) = &state.outcomes {
        state.metrics.set_log_stats(&log.stats());
    }
    state
        .metrics
        .set_breakers(&state.executor.breakers.snapshot());
    if let Some(stats) = state.cache.as_ref().and_then(|c| c.stats()) {
        state.metrics.set_cache_stats(&stats);
    }
    match state.metrics.render(state.outcomes.is_some()) {
        Ok(text) => {
            let mut resp = (StatusCode::OK, text).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            resp
        }
        Err(e) => crate::error::error_response(&llmgw_types::ApiError::internal(format!(
            "could not render the metrics: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn record(model: &str, status: u16) -> OutcomeRecord {
        let mut rec = OutcomeRecord::new("req_1", model, SystemTime::now());
        rec.model = Some(model.to_string());
        rec.provider = Some("openai".to_string());
        rec.status = status;
        rec.latency_ms = 120.0;
        rec
    }

    #[test]
    fn records_become_labelled_counters_and_histograms() {
        let m = Metrics::new().unwrap();
        let mut ok = record("gpt-4o-mini", 200);
        ok.prompt_tokens = Some(10);
        ok.completion_tokens = Some(5);
        ok.cached_tokens = Some(4);
        ok.cost_usd = Some(0.25);
        ok.ttft_ms = Some(30.0);
        ok.routing_ms = Some(2.0);
        m.observe(&ok);
        m.observe(&ok);
        let mut hit = record("gpt-4o-mini", 200);
        hit.cache_hit = CacheHit::Exact;
        hit.prompt_tokens = Some(1000);
        hit.cost_usd = Some(0.0);
        m.observe(&hit);
        let mut failed = record("gpt-4o-mini", 502);
        failed.error_kind = Some("stream_cut".into());
        m.observe(&failed);
        m.cache_lookup(Some("hit"), Some("exact"));
        m.cache_lookup(Some("hit"), Some("semantic"));
        m.cache_lookup(Some("miss"), None);
        m.cache_lookup(None, None);
        assert!(
            Metrics::new().unwrap().render(true).is_ok(),
            "renders when empty"
        );

        let text = m.render(false).unwrap();
        assert!(
            text.contains(
                r#"llmgw_requests_total{model="gpt-4o-mini",provider="openai",status="200"} 3"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"llmgw_request_errors_total{kind="stream_cut",model="gpt-4o-mini",provider="openai"} 1"#
        ), "{text}");
        // The cache hit's tokens were not billed.
        assert!(
            text.contains(
                r#"llmgw_tokens_total{kind="prompt",model="gpt-4o-mini",provider="openai"} 20"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"llmgw_tokens_total{kind="cached",model="gpt-4o-mini",provider="openai"} 8"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"llmgw_cost_usd_total{model="gpt-4o-mini",provider="openai"} 0.5"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"llmgw_request_duration_seconds_count{model="gpt-4o-mini",provider="openai"} 4"#
            ),
            "{text}"
        );
        assert!(
            text.contains("llmgw_routing_duration_seconds_count 2"),
            "{text}"
        );
        assert!(
            text.contains(r#"llmgw_cache_lookups_total{result="hit"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"llmgw_cache_hits_total{match="semantic"} 1"#),
            "{text}"
        );
        assert!(!text.contains("llmgw_cache_entries"), "no cache stats yet");
        assert!(!text.contains("llmgw_outcome_log_queue_depth"));
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn cache_sizes_and_evictions_follow_the_caches_counters() {
        let m = Metrics::new().unwrap();
        let mut stats = CacheStats {
            entries: 7,
            bytes: 4096,
            indexed: 3,
            evictions: 2,
            expirations: 1,
            refused: 0,
        };
        m.set_cache_stats(&stats);
        stats.entries = 5;
        stats.evictions = 6;
        m.set_cache_stats(&stats);
        // A scrape that sees the same totals again adds nothing.
        m.set_cache_stats(&stats);
        let text = m.render(false).unwrap();
        for line in [
            r#"llmgw_cache_entries{index="all"} 5"#,
            r#"llmgw_cache_entries{index="semantic"} 3"#,
            "llmgw_cache_bytes 4096",
            r#"llmgw_cache_evictions_total{reason="lru"} 6"#,
            r#"llmgw_cache_evictions_total{reason="ttl"} 1"#,
            r#"llmgw_cache_hits_total{match="exact"} 0"#,
            r#"llmgw_cache_lookups_total{result="bypass"} 0"#,
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
    }
}
