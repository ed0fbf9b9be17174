//! Record stage: one outcome record per request, written when the response has ended
//! (for streams: when the stream finishes or the client goes away), plus one log line.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use llmgw_config::CatalogModel;
use llmgw_governance::Permit;
use llmgw_outcomes::{OutcomeLog, OutcomeRecord, TryRecordError};
use llmgw_types::Usage;
use tokio_util::task::TaskTracker;

use crate::metrics::Metrics;
use crate::state::AppState;

/// Fill the usage fields and the cost of `rec` from the upstream's usage.
pub fn apply_usage(rec: &mut OutcomeRecord, usage: &Usage, model: &CatalogModel) {
    rec.prompt_tokens = Some(usage.prompt_tokens);
    rec.completion_tokens = Some(usage.completion_tokens);
    rec.cached_tokens = Some(usage.cached_tokens());
    rec.cost_usd = Some(model.cost_usd(
        usage.prompt_tokens,
        usage.cached_tokens(),
        usage.completion_tokens,
    ));
}

/// Close the record (`completed_at`, latency), count it in the metrics and log the request.
fn close(rec: &mut OutcomeRecord, started: Instant, metrics: &Metrics) {
    rec.completed_at = SystemTime::now();
    rec.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    metrics.observe(rec);
    tracing::info!(
        request_id = %rec.request_id,
        requested_model = %rec.requested_model,
        model = rec.model.as_deref().unwrap_or("-"),
        provider = rec.provider.as_deref().unwrap_or("-"),
        status = rec.status,
        error = rec.error_kind.as_deref().unwrap_or("-"),
        stream = rec.stream,
        prompt_tokens = rec.prompt_tokens.unwrap_or(0),
        completion_tokens = rec.completion_tokens.unwrap_or(0),
        cost_usd = rec.cost_usd.unwrap_or(0.0),
        latency_ms = format!("{:.1}", rec.latency_ms),
        "request"
    );
}

/// Status recorded for a request whose client went away before any response was sent
/// (nginx's "client closed request").
pub const CLIENT_CLOSED_STATUS: u16 = 499;

/// Record a finished request, waiting for room in the log's queue if it is full. The record
/// is handed over before any wait: a caller cancelled while it waits (the client went away)
/// does not lose it.
pub async fn finish(state: &AppState, mut rec: OutcomeRecord, started: Instant) {
    close(&mut rec, started, &state.metrics);
    let Some(log) = &state.outcomes else { return };
    match log.try_record(rec) {
        Ok(()) => {}
        Err(TryRecordError::Full(rec)) => {
            let log = log.clone();
            let waiting = state.tasks.spawn(async move {
                if let Err(e) = log.record(*rec).await {
                    tracing::error!(error = %e, "outcome log refused a record");
                }
            });
            // Back-pressure: the request waits for room too.
            let _ = waiting.await;
        }
        Err(TryRecordError::Closed(_)) => {
            tracing::error!("outcome log closed before a request ended; its record is lost");
        }
    }
}

/// Record from a context that cannot wait (a stream being dropped): hand the record over
/// without blocking, or to a task that waits for room.
/// The task is tracked by `tasks`, which shutdown waits for before closing the log.
pub fn finish_now(
    log: Option<&OutcomeLog>,
    tasks: &TaskTracker,
    metrics: &Metrics,
    mut rec: OutcomeRecord,
    started: Instant,
) {
    close(&mut rec, started, metrics);
    let Some(log) = log else { return };
    match log.try_record(rec) {
        Ok(()) => {}
        Err(TryRecordError::Full(rec)) => {
            let log = log.clone();
            tasks.spawn(async move {
                if let Err(e) = log.record(*rec).await {
                    tracing::error!(error = %e, "outcome log refused a record");
                }
            });
        }
        Err(TryRecordError::Closed(_)) => {
            tracing::error!("outcome log closed before a stream ended; its record is lost");
        }
    }
}

/// A record that is written exactly once: by [`RecordGuard::finish`] or, if the guard is
/// dropped first (client gone), on drop with `error_kind = client_closed`.
pub struct RecordGuard {
    rec: Option<OutcomeRecord>,
    started: Instant,
    log: Option<OutcomeLog>,
    tasks: TaskTracker,
    metrics: Arc<Metrics>,
    settlement: Option<Settlement>,
    output_chars: u64,
}

/// A budget hold to settle from the record's usage when the record is written.
struct Settlement {
    permit: Permit,
    model: CatalogModel,
    prompt_estimate: u64,
}

impl RecordGuard {
    /// Settle `permit` with this request's usage when its record is written (priced on
    /// `model`; estimated from `prompt_estimate` and the output sent when the provider
    /// reported no usage).
    pub fn with_permit(
        mut self,
        permit: Permit,
        model: CatalogModel,
        prompt_estimate: u64,
    ) -> Self {
        self.settlement = Some(Settlement {
            permit,
            model,
            prompt_estimate,
        });
        self
    }

    /// Count `chars` characters of output sent to the client.
    pub fn add_output_chars(&mut self, chars: usize) {
        self.output_chars = self.output_chars.saturating_add(chars as u64);
    }

    fn settle(&mut self, rec: &OutcomeRecord) {
        if let Some(s) = self.settlement.take() {
            let actual = crate::governance::actual_usage(
                rec,
                &s.model,
                s.prompt_estimate,
                self.output_chars,
            );
            s.permit.settle_in_background(actual);
        }
    }
}

impl RecordGuard {
    /// Guard `rec` of a request that started at `started`.
    pub fn new(state: &Arc<AppState>, rec: OutcomeRecord, started: Instant) -> Self {
        RecordGuard {
            rec: Some(rec),
            started,
            log: state.outcomes.clone(),
            tasks: state.tasks.clone(),
            metrics: state.metrics.clone(),
            settlement: None,
            output_chars: 0,
        }
    }

    /// The record, to fill in.
    pub fn rec(&mut self) -> Option<&mut OutcomeRecord> {
        self.rec.as_mut()
    }

    /// Write the record now.
    pub fn finish(mut self) {
        if let Some(rec) = self.rec.take() {
            self.settle(&rec);
            finish_now(
                self.log.as_ref(),
                &self.tasks,
                &self.metrics,
                rec,
                self.started,
            );
        }
    }
}

impl Drop for RecordGuard {
    fn drop(&mut self) {
        if let Some(mut rec) = self.rec.take() {
            if rec.error_kind.is_none() {
                rec.error_kind = Some("client_closed".to_string());
            }
            self.settle(&rec);
            finish_now(
                self.log.as_ref(),
                &self.tasks,
                &self.metrics,
                rec,
                self.started,
            );
        }
    }
}
