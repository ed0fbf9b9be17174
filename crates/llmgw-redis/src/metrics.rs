//! Prometheus metrics of the shared state, served with the gateway's `/metrics`.

use std::sync::{Arc, Mutex, PoisonError};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, IntCounterVec, Opts};

use crate::cache::RedisCacheStats;
use crate::counters::CounterStoreStats;

/// `llmgw_shared_state_errors_total{part}`, `llmgw_shared_state_skipped_total{part}` (`part`:
/// `cache` or `counters`) and `llmgw_shared_state_uncounted_total`, read from the stores'
/// counters when scraped.
pub struct SharedStateMetrics {
    counters: Option<Arc<CounterStoreStats>>,
    cache: Option<Arc<RedisCacheStats>>,
    errors: IntCounterVec,
    skipped: IntCounterVec,
    uncounted: IntCounter,
    descs: Vec<Desc>,
    /// Serialises scrapes (each brings the Prometheus counters up to the stores' counts).
    sync: Mutex<()>,
}

impl std::fmt::Debug for SharedStateMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedStateMetrics")
    }
}

impl SharedStateMetrics {
    /// Metrics over the given stores' counters.
    pub fn new(
        counters: Option<Arc<CounterStoreStats>>,
        cache: Option<Arc<RedisCacheStats>>,
    ) -> Result<Self, prometheus::Error> {
        let errors = IntCounterVec::new(
            Opts::new(
                "llmgw_shared_state_errors_total",
                "Redis operations of the shared state that failed or timed out, by part (cache: counted as a miss or a store not made; counters: refused or let through as configured).",
            ),
            &["part"],
        )?;
        let skipped = IntCounterVec::new(
            Opts::new(
                "llmgw_shared_state_skipped_total",
                "Redis operations not tried because Redis failed less than a second before, by part.",
            ),
            &["part"],
        )?;
        let uncounted = IntCounter::new(
            "llmgw_shared_state_uncounted_total",
            "Rate-limit or budget checks let through uncounted while Redis was unavailable (on_counter_error = \"allow\").",
        )?;
        let descs = errors
            .desc()
            .into_iter()
            .chain(skipped.desc())
            .chain(uncounted.desc())
            .cloned()
            .collect();
        Ok(SharedStateMetrics {
            counters,
            cache,
            errors,
            skipped,
            uncounted,
            descs,
            sync: Mutex::new(()),
        })
    }
}

/// Raises `counter` to `value` (counts only grow).
fn raise(counter: &IntCounter, value: u64) {
    let now = counter.get();
    if value > now {
        counter.inc_by(value - now);
    }
}

impl Collector for SharedStateMetrics {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _one_at_a_time = self.sync.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = &self.counters {
            raise(&self.errors.with_label_values(&["counters"]), c.errors());
            raise(&self.skipped.with_label_values(&["counters"]), c.skipped());
            raise(&self.uncounted, c.allowed_uncounted());
        }
        if let Some(c) = &self.cache {
            let counts = c.counts();
            raise(&self.errors.with_label_values(&["cache"]), counts.errors);
            raise(&self.skipped.with_label_values(&["cache"]), counts.skipped);
        }
        let mut families = self.errors.collect();
        families.extend(self.skipped.collect());
        if self.counters.is_some() {
            families.extend(self.uncounted.collect());
        }
        families
    }
}
