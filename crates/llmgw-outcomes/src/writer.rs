//! The background writer: takes records from the queue, buffers them, and writes Parquet
//! files on a blocking thread when the buffer is large or old enough.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::files::{file_name, partition_dir, stage, writer_properties, LogKind};
use crate::pending::{Part, Shared};
use crate::record::{FeedbackRecord, OutcomeRecord};
use crate::LogError;

/// A message from a handle to the writer.
#[derive(Debug)]
pub(crate) enum Msg {
    Outcome(Box<OutcomeRecord>),
    Feedback(Box<FeedbackRecord>),
    Flush(oneshot::Sender<Result<(), String>>),
}

/// Outcome of one write job: the parts that failed, with the last error.
struct JobResult {
    failed_rows: u64,
    last_error: Option<String>,
}

/// Writes `parts` one file each; a written part leaves `Pending::sealed` in the same
/// critical section as its rename, so readers never see a row twice or miss one.
fn write_parts(shared: &Shared, parts: Vec<Part>) -> JobResult {
    let mut result = JobResult {
        failed_rows: 0,
        last_error: None,
    };
    for part in parts {
        if let Err(e) = write_part(shared, &part) {
            Shared::count(&shared.counters.write_errors, 1);
            tracing::error!(error = %e, rows = part.rows.len(), "outcome log write failed; will retry");
            result.failed_rows += part.rows.len() as u64;
            result.last_error = Some(e.to_string());
        }
    }
    result
}

fn write_part(shared: &Shared, part: &Part) -> Result<(), LogError> {
    let cfg = &shared.cfg;
    let kind = part.rows.kind();
    let batch = part.rows.batch()?;
    let seq = shared.file_seq.fetch_add(1, Ordering::Relaxed) + 1;
    let target = partition_dir(&cfg.dir, kind, &part.date).join(file_name(
        SystemTime::now(),
        &shared.writer_id,
        seq,
    ));
    let staged = stage(&cfg.dir, target, &batch, writer_properties(cfg.zstd_level)?)?;
    if let Err(e) = staged.prepare() {
        staged.discard();
        return Err(e);
    }
    {
        let mut pending = shared.lock();
        if let Err(e) = staged.publish() {
            drop(pending);
            staged.discard();
            return Err(e);
        }
        pending.sealed.retain(|p| p.id != part.id);
        pending.generation += 1;
    }
    staged.sync_dir();
    let c = &shared.counters;
    let rows = part.rows.len() as u64;
    match kind {
        LogKind::Outcomes => Shared::count(&c.outcomes_written, rows),
        LogKind::Feedback => Shared::count(&c.feedback_written, rows),
    }
    Shared::count(&c.files_written, 1);
    Shared::count(&c.bytes_written, staged.bytes);
    tracing::debug!(path = %staged.target.display(), rows, "outcome log file written");
    Ok(())
}

/// How often the writer checks the age of its buffer.
fn tick_period(flush_interval: Duration) -> Duration {
    (flush_interval / 10).clamp(Duration::from_millis(5), Duration::from_millis(500))
}

/// Waits for the running job, or forever when there is none.
async fn join(
    job: &mut Option<JoinHandle<JobResult>>,
) -> Result<JobResult, tokio::task::JoinError> {
    match job {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

struct Writer {
    shared: Arc<Shared>,
    job: Option<JoinHandle<JobResult>>,
    retry_at: Option<Instant>,
    last_error: Option<String>,
}

impl Writer {
    fn accept_outcome(&self, mut rec: Box<OutcomeRecord>) {
        rec.apply_prompt_policy(self.shared.cfg.store_prompts);
        let bytes = rec.estimated_bytes();
        let mut pending = self.shared.lock();
        pending.bytes += bytes;
        pending.outcomes.push(Arc::from(rec));
        pending.oldest.get_or_insert_with(Instant::now);
    }

    fn accept_feedback(&self, fb: Box<FeedbackRecord>) {
        let bytes = fb.estimated_bytes();
        let mut pending = self.shared.lock();
        pending.bytes += bytes;
        pending.feedback.push(Arc::from(fb));
        pending.oldest.get_or_insert_with(Instant::now);
    }

    /// Whether the writer may take more records from the queue.
    fn has_room(&self) -> bool {
        let pending = self.shared.lock();
        pending.open_rows() + pending.sealed_rows() < self.shared.cfg.max_buffered_rows
    }

    fn seal_if_due(&self) {
        let mut pending = self.shared.lock();
        if pending.due(&self.shared.cfg, Instant::now()) {
            pending.seal();
        }
    }

    /// Seals due rows and starts a write job when none is running and no retry is waiting.
    fn maybe_start(&mut self, force: bool) {
        let now = Instant::now();
        let parts = {
            let mut pending = self.shared.lock();
            if force || pending.due(&self.shared.cfg, now) {
                pending.seal();
            }
            if self.job.is_some()
                || pending.sealed.is_empty()
                || (!force && self.retry_at.is_some_and(|t| now < t))
            {
                return;
            }
            pending.sealed.clone()
        };
        let shared = self.shared.clone();
        self.job = Some(tokio::task::spawn_blocking(move || {
            write_parts(&shared, parts)
        }));
    }

    fn finish_job(&mut self, result: Result<JobResult, tokio::task::JoinError>) {
        self.job = None;
        match result {
            Ok(r) if r.failed_rows == 0 => {
                self.retry_at = None;
            }
            Ok(r) => {
                self.last_error = r.last_error;
                self.retry_at = Some(Instant::now() + self.shared.cfg.flush_interval);
            }
            Err(e) => {
                Shared::count(&self.shared.counters.write_errors, 1);
                self.last_error = Some(format!("write job failed: {e}"));
                self.retry_at = Some(Instant::now() + self.shared.cfg.flush_interval);
            }
        }
    }

    /// Waits for the running job, then writes everything buffered; `Err` if rows remain.
    async fn flush_all(&mut self) -> Result<(), String> {
        if self.job.is_some() {
            let r = join(&mut self.job).await;
            self.finish_job(r);
        }
        self.maybe_start(true);
        if self.job.is_some() {
            let r = join(&mut self.job).await;
            self.finish_job(r);
        }
        let left = self.shared.lock().sealed_rows();
        if left == 0 {
            Ok(())
        } else {
            Err(self
                .last_error
                .clone()
                .unwrap_or_else(|| format!("{left} rows not written")))
        }
    }

    fn take(&mut self, msg: Msg, waiting: &mut Vec<oneshot::Sender<Result<(), String>>>) {
        match msg {
            Msg::Outcome(r) => self.accept_outcome(r),
            Msg::Feedback(f) => self.accept_feedback(f),
            Msg::Flush(reply) => waiting.push(reply),
        }
    }
}

/// Number of attempts to write the remaining rows at shutdown.
const SHUTDOWN_ATTEMPTS: u32 = 3;

/// The writer task. Returns when `shared.shutdown` is notified or every sender is gone,
/// after writing every record that reached the queue. The shutdown signal does not travel
/// through the queue, so it is seen even when a failing disk has stopped the queue.
pub(crate) async fn run(shared: Arc<Shared>, mut rx: mpsc::Receiver<Msg>) -> Result<(), LogError> {
    let mut w = Writer {
        shared,
        job: None,
        retry_at: None,
        last_error: None,
    };
    let mut tick = tokio::time::interval(tick_period(w.shared.cfg.flush_interval));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut waiting = Vec::new();
    loop {
        let room = w.has_room();
        tokio::select! {
            biased;
            r = join(&mut w.job) => {
                w.finish_job(r);
                w.maybe_start(false);
            }
            _ = w.shared.shutdown.notified() => break,
            msg = rx.recv(), if room => {
                let Some(msg) = msg else { break };
                w.take(msg, &mut waiting);
                if !waiting.is_empty() {
                    let result = w.flush_all().await;
                    for reply in waiting.drain(..) {
                        let _ = reply.send(result.clone());
                    }
                } else {
                    w.maybe_start(false);
                }
            }
            _ = tick.tick() => w.maybe_start(false),
        }
    }

    // Shutdown: refuse new records, take what is queued, write everything.
    rx.close();
    while let Some(msg) = rx.recv().await {
        w.take(msg, &mut waiting);
        // Keep files within their size limits; the writes happen below.
        w.seal_if_due();
    }
    let mut result = Err(String::new());
    for attempt in 0..SHUTDOWN_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        result = w.flush_all().await;
        if result.is_ok() {
            break;
        }
    }
    for reply in waiting.drain(..) {
        let _ = reply.send(result.clone());
    }
    match result {
        Ok(()) => Ok(()),
        Err(last_error) => {
            let rows = {
                let p = w.shared.lock();
                (p.sealed_rows() + p.open_rows()) as u64
            };
            Shared::count(&w.shared.counters.dropped, rows);
            tracing::error!(rows, error = %last_error, "outcome log rows lost at shutdown");
            Err(LogError::Unwritten { rows, last_error })
        }
    }
}
