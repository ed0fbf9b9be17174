//! The handles: [`OutcomeLog`] (cheap to clone, used on the request path) and
//! [`WriterHandle`] (owns the writer task, used once at shutdown).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::LogConfig;
use crate::error::TryRecordError;
use crate::files::{list_files, remove_stale_staging, LogKind, STAGING_DIR, STALE_STAGING_AGE};
use crate::pending::{LogView, PendingSnapshot, Shared};
use crate::record::{FeedbackRecord, OutcomeRecord};
use crate::writer::{run, Msg};
use crate::LogError;

/// Counters of a log since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogStats {
    /// Outcome rows in published files.
    pub outcomes_written: u64,
    /// Feedback rows in published files.
    pub feedback_written: u64,
    /// Files published.
    pub files_written: u64,
    /// Bytes of the published files.
    pub bytes_written: u64,
    /// Failed file writes (each retried; nothing is lost by a failed write alone).
    pub write_errors: u64,
    /// Rows accepted but never written: only when the disk still fails at shutdown. Stays 0.
    pub dropped: u64,
    /// Records refused because the log was already closed.
    pub rejected: u64,
    /// Records waiting in the queue.
    pub queue_depth: u64,
    /// Rows accepted and not yet in a published file.
    pub pending_rows: u64,
}

/// Handle to the outcome log. Cheap to clone (an `Arc` and a channel sender); every
/// method is safe to call from async request handlers.
#[derive(Debug, Clone)]
pub struct OutcomeLog {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
}

/// Owns the background writer. Keep it until shutdown, then call [`WriterHandle::shutdown`].
#[derive(Debug)]
pub struct WriterHandle {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    task: JoinHandle<Result<(), LogError>>,
}

impl OutcomeLog {
    /// Checks `cfg`, creates the folders, removes staging files left by a crashed writer,
    /// and spawns the writer on the current Tokio runtime.
    pub fn start(cfg: LogConfig) -> Result<(OutcomeLog, WriterHandle), LogError> {
        cfg.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| LogError::NoRuntime)?;
        for sub in [
            LogKind::Outcomes.dir_name(),
            LogKind::Feedback.dir_name(),
            STAGING_DIR,
        ] {
            let dir = cfg.dir.join(sub);
            std::fs::create_dir_all(&dir).map_err(|e| LogError::io(&dir, e))?;
        }
        let removed = remove_stale_staging(&cfg.dir, STALE_STAGING_AGE);
        if removed > 0 {
            tracing::warn!(removed, dir = %cfg.dir.display(), "removed unfinished outcome log files left by an earlier crash");
        }
        let (tx, rx) = mpsc::channel(cfg.queue_capacity);
        let shared = Arc::new(Shared::new(cfg));
        let task = runtime.spawn(run(shared.clone(), rx));
        let log = OutcomeLog {
            tx: tx.clone(),
            shared: shared.clone(),
        };
        Ok((log, WriterHandle { tx, shared, task }))
    }

    /// Queues one outcome. Waits while the queue is full (back-pressure) and never drops a
    /// record; fails only when the log is closed.
    pub async fn record(&self, rec: OutcomeRecord) -> Result<(), LogError> {
        self.send(Msg::Outcome(Box::new(rec))).await
    }

    /// Queues one outcome without waiting. On a full queue the record is handed back:
    /// `record().await` it from a task (e.g. when recording from a `Drop`).
    pub fn try_record(&self, rec: OutcomeRecord) -> Result<(), TryRecordError> {
        match self.tx.try_send(Msg::Outcome(Box::new(rec))) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(Msg::Outcome(r))) => Err(TryRecordError::Full(r)),
            Err(mpsc::error::TrySendError::Closed(Msg::Outcome(r))) => {
                Shared::count(&self.shared.counters.rejected, 1);
                Err(TryRecordError::Closed(r))
            }
            // Only outcomes are sent above.
            Err(_) => Ok(()),
        }
    }

    /// Queues one outcome without tying it to the caller's future, for callers that may be
    /// cancelled while they wait (an axum handler whose client disconnects, a `Drop`): with
    /// room in the queue the record is queued at once and `None` is returned; on a full queue
    /// a task waits for room and its handle is returned (dropping it detaches the task). A
    /// closed log refuses the record (counted in `rejected`).
    pub fn record_detached(&self, rec: OutcomeRecord) -> Option<JoinHandle<Result<(), LogError>>> {
        match self.try_record(rec) {
            Ok(()) | Err(TryRecordError::Closed(_)) => None,
            Err(TryRecordError::Full(rec)) => match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    let log = self.clone();
                    Some(rt.spawn(async move { log.record(*rec).await }))
                }
                Err(_) => {
                    Shared::count(&self.shared.counters.rejected, 1);
                    tracing::error!(
                        "outcome record refused: queue full and no Tokio runtime to wait on"
                    );
                    None
                }
            },
        }
    }

    /// Queues one feedback after checking it ([`FeedbackRecord::validate`]). Feedback for a
    /// request id the gateway never saw is recorded like any other.
    pub async fn feedback(&self, fb: FeedbackRecord) -> Result<(), LogError> {
        fb.validate()?;
        self.send(Msg::Feedback(Box::new(fb))).await
    }

    async fn send(&self, msg: Msg) -> Result<(), LogError> {
        self.tx.send(msg).await.map_err(|_| {
            Shared::count(&self.shared.counters.rejected, 1);
            LogError::Closed
        })
    }

    /// Writes every record queued before this call to published files and returns when
    /// they are on disk.
    pub async fn flush(&self) -> Result<(), LogError> {
        let (reply, done) = oneshot::channel();
        self.send(Msg::Flush(reply)).await?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(last_error)) => Err(LogError::Unwritten {
                rows: self.shared.lock().sealed_rows() as u64,
                last_error,
            }),
            Err(_) => Err(LogError::Closed),
        }
    }

    /// Records waiting in the queue for the writer.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The queue's capacity.
    pub fn queue_capacity(&self) -> usize {
        self.tx.max_capacity()
    }

    /// Counters since start.
    pub fn stats(&self) -> LogStats {
        stats(&self.shared, self.queue_depth())
    }

    /// The log's root folder.
    pub fn dir(&self) -> &Path {
        &self.shared.cfg.dir
    }

    /// Whether prompt texts are stored (else only hash and embedding).
    pub fn store_prompts(&self) -> bool {
        self.shared.cfg.store_prompts
    }

    /// Rows accepted but not yet in a published file (a cheap copy of `Arc`s).
    pub fn snapshot(&self) -> PendingSnapshot {
        self.shared.snapshot()
    }

    /// Published files plus pending rows, consistent with each other: no row in both, none
    /// missing. Lists folders, so call it from a blocking context (`spawn_blocking`).
    /// `since` (`YYYY-MM-DD`) limits the files to those partitions.
    pub fn view(&self, since: Option<&str>) -> Result<LogView, LogError> {
        let root = &self.shared.cfg.dir;
        for _ in 0..VIEW_ATTEMPTS {
            let pending = self.shared.snapshot();
            let outcome_files = list_files(root, LogKind::Outcomes, since)?;
            let feedback_files = list_files(root, LogKind::Feedback, since)?;
            // A file published between the snapshot and the listing would hold rows that
            // are also in the snapshot: list again.
            if self.shared.generation() == pending.generation {
                return Ok(LogView {
                    outcome_files,
                    feedback_files,
                    pending,
                });
            }
        }
        // Files keep appearing: list while holding off publication (it waits on the lock).
        let guard = self.shared.lock();
        let outcome_files = list_files(root, LogKind::Outcomes, since)?;
        let feedback_files = list_files(root, LogKind::Feedback, since)?;
        let pending = guard.snapshot();
        Ok(LogView {
            outcome_files,
            feedback_files,
            pending,
        })
    }
}

/// Optimistic attempts of [`OutcomeLog::view`] before it lists under the lock.
const VIEW_ATTEMPTS: usize = 8;

fn stats(shared: &Shared, queue_depth: usize) -> LogStats {
    let c = &shared.counters;
    let pending_rows = {
        let p = shared.lock();
        (p.open_rows() + p.sealed_rows()) as u64
    };
    LogStats {
        outcomes_written: c.outcomes_written.load(Ordering::Relaxed),
        feedback_written: c.feedback_written.load(Ordering::Relaxed),
        files_written: c.files_written.load(Ordering::Relaxed),
        bytes_written: c.bytes_written.load(Ordering::Relaxed),
        write_errors: c.write_errors.load(Ordering::Relaxed),
        dropped: c.dropped.load(Ordering::Relaxed),
        rejected: c.rejected.load(Ordering::Relaxed),
        queue_depth: queue_depth as u64,
        pending_rows,
    }
}

impl WriterHandle {
    /// Stops the log: records queued before this call (and any still arriving until the
    /// writer closes the queue) are written, later ones are refused with
    /// [`LogError::Closed`]. Returns the final counters, or an error if rows could not be
    /// written (they are counted in `dropped`).
    pub async fn shutdown(self) -> Result<LogStats, LogError> {
        // A stored permit: seen even if the writer is busy right now.
        self.shared.shutdown.notify_one();
        drop(self.tx);
        match self.task.await {
            Ok(Ok(())) => Ok(stats(&self.shared, 0)),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(LogError::WriterFailed(e.to_string())),
        }
    }

    /// Counters since start.
    pub fn stats(&self) -> LogStats {
        stats(&self.shared, self.tx.max_capacity() - self.tx.capacity())
    }
}
