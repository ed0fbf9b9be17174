//! Rows accepted by the writer but not yet in a visible file, shared with readers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use arrow::array::RecordBatch;
use arrow::error::ArrowError;
use parquet::file::properties::WriterProperties;

use crate::batch::{feedback_batch, outcomes_batch};
use crate::config::LogConfig;
use crate::files::{partition_date, write_parquet, LogKind};
use crate::record::{FeedbackRecord, OutcomeRecord};
use crate::LogError;

/// Rows of one file to be.
#[derive(Debug, Clone)]
pub(crate) enum PartRows {
    Outcomes(Arc<[Arc<OutcomeRecord>]>),
    Feedback(Arc<[Arc<FeedbackRecord>]>),
}

impl PartRows {
    pub(crate) fn len(&self) -> usize {
        match self {
            PartRows::Outcomes(r) => r.len(),
            PartRows::Feedback(r) => r.len(),
        }
    }

    pub(crate) fn kind(&self) -> LogKind {
        match self {
            PartRows::Outcomes(_) => LogKind::Outcomes,
            PartRows::Feedback(_) => LogKind::Feedback,
        }
    }

    pub(crate) fn batch(&self) -> Result<RecordBatch, ArrowError> {
        match self {
            PartRows::Outcomes(r) => outcomes_batch(r),
            PartRows::Feedback(r) => feedback_batch(r),
        }
    }
}

/// A sealed group of rows: one date of one log, written as one file.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) id: u64,
    pub(crate) date: String,
    pub(crate) rows: PartRows,
}

/// Buffered rows (`open`) and rows being written (`sealed`).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub(crate) outcomes: Vec<Arc<OutcomeRecord>>,
    pub(crate) feedback: Vec<Arc<FeedbackRecord>>,
    pub(crate) bytes: usize,
    pub(crate) oldest: Option<Instant>,
    pub(crate) sealed: Vec<Part>,
    pub(crate) next_part: u64,
    /// Incremented whenever rows move from here into a visible file.
    pub(crate) generation: u64,
}

impl Pending {
    pub(crate) fn open_rows(&self) -> usize {
        self.outcomes.len() + self.feedback.len()
    }

    pub(crate) fn sealed_rows(&self) -> usize {
        self.sealed.iter().map(|p| p.rows.len()).sum()
    }

    /// Whether the open rows should be written now.
    pub(crate) fn due(&self, cfg: &LogConfig, now: Instant) -> bool {
        self.open_rows() >= cfg.max_rows_per_file
            || self.bytes >= cfg.max_bytes_per_file
            || self
                .oldest
                .is_some_and(|t| now.saturating_duration_since(t) >= cfg.flush_interval)
    }

    /// Moves the open rows into sealed parts, one per log and date.
    pub(crate) fn seal(&mut self) {
        let mut outcomes: BTreeMap<String, Vec<Arc<OutcomeRecord>>> = BTreeMap::new();
        for r in self.outcomes.drain(..) {
            outcomes
                .entry(partition_date(r.received_at))
                .or_default()
                .push(r);
        }
        let mut feedback: BTreeMap<String, Vec<Arc<FeedbackRecord>>> = BTreeMap::new();
        for r in self.feedback.drain(..) {
            feedback
                .entry(partition_date(r.received_at))
                .or_default()
                .push(r);
        }
        for (date, rows) in outcomes {
            self.push_part(date, PartRows::Outcomes(rows.into()));
        }
        for (date, rows) in feedback {
            self.push_part(date, PartRows::Feedback(rows.into()));
        }
        self.bytes = 0;
        self.oldest = None;
    }

    fn push_part(&mut self, date: String, rows: PartRows) {
        self.next_part += 1;
        self.sealed.push(Part {
            id: self.next_part,
            date,
            rows,
        });
    }

    pub(crate) fn snapshot(&self) -> PendingSnapshot {
        let mut outcomes = Vec::new();
        let mut feedback = Vec::new();
        for part in &self.sealed {
            match &part.rows {
                PartRows::Outcomes(r) => outcomes.extend(r.iter().cloned()),
                PartRows::Feedback(r) => feedback.extend(r.iter().cloned()),
            }
        }
        outcomes.extend(self.outcomes.iter().cloned());
        feedback.extend(self.feedback.iter().cloned());
        PendingSnapshot {
            outcomes,
            feedback,
            generation: self.generation,
        }
    }
}

/// Counters of the writer, all monotonic.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) outcomes_written: AtomicU64,
    pub(crate) feedback_written: AtomicU64,
    pub(crate) files_written: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) rejected: AtomicU64,
}

/// State shared by the handles and the writer.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: LogConfig,
    pub(crate) writer_id: String,
    pub(crate) file_seq: AtomicU64,
    pub(crate) pending: Mutex<Pending>,
    pub(crate) counters: Counters,
    /// Tells the writer to stop (see [`crate::WriterHandle::shutdown`]).
    pub(crate) shutdown: tokio::sync::Notify,
}

impl Shared {
    pub(crate) fn new(cfg: LogConfig) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Shared {
            cfg,
            writer_id: id.chars().take(8).collect(),
            file_seq: AtomicU64::new(0),
            pending: Mutex::new(Pending::default()),
            counters: Counters::default(),
            shutdown: tokio::sync::Notify::new(),
        }
    }

    /// Locks the pending rows. A panic while the lock was held cannot leave them
    /// half-updated (every update is a single move), so a poisoned lock is used as is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn snapshot(&self) -> PendingSnapshot {
        self.lock().snapshot()
    }

    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    pub(crate) fn count(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Rows accepted by the log but not yet in a visible Parquet file (buffered, or being
/// written), oldest first. Records still in the queue ([`crate::OutcomeLog::queue_depth`])
/// are not included.
#[derive(Debug, Clone, Default)]
pub struct PendingSnapshot {
    /// Outcome rows, after the prompt storage rule was applied.
    pub outcomes: Vec<Arc<OutcomeRecord>>,
    /// Feedback rows.
    pub feedback: Vec<Arc<FeedbackRecord>>,
    /// The log's file generation when the snapshot was taken (see [`crate::OutcomeLog::view`]).
    pub generation: u64,
}

impl PendingSnapshot {
    /// The outcome rows as one record batch.
    pub fn outcomes_batch(&self) -> Result<RecordBatch, ArrowError> {
        outcomes_batch(&self.outcomes)
    }

    /// The feedback rows as one record batch.
    pub fn feedback_batch(&self) -> Result<RecordBatch, ArrowError> {
        feedback_batch(&self.feedback)
    }

    /// The rows of one log as an in-memory, uncompressed Parquet file, so that a Parquet
    /// reader (polars, DuckDB) can combine them with the files using the same code.
    pub fn to_parquet(&self, kind: LogKind) -> Result<Vec<u8>, LogError> {
        let batch = match kind {
            LogKind::Outcomes => self.outcomes_batch()?,
            LogKind::Feedback => self.feedback_batch()?,
        };
        write_parquet(
            Vec::new(),
            &batch,
            WriterProperties::builder().build(),
            &PathBuf::from("<memory>"),
        )
    }
}

/// A consistent view of a log: the visible files and the rows not yet in them. Every
/// accepted row (apart from the queue) is in exactly one of the two.
#[derive(Debug, Clone, Default)]
pub struct LogView {
    /// Published outcome files, sorted.
    pub outcome_files: Vec<PathBuf>,
    /// Published feedback files, sorted.
    pub feedback_files: Vec<PathBuf>,
    /// Rows accepted but not yet in those files.
    pub pending: PendingSnapshot,
}
