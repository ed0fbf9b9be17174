//! Outcome log of LLM Gateway: one Arrow row per request, one per feedback, written by a
//! background writer as zstd Parquet files, Hive-partitioned by date:
//!
//! ```text
//! DIR/outcomes/date=YYYY-MM-DD/part-….parquet   one row per request (OutcomeRecord)
//! DIR/feedback/date=YYYY-MM-DD/part-….parquet   one row per feedback (FeedbackRecord)
//! ```
//!
//! * The request path never waits on disk: [`OutcomeLog::record`] puts the record in a
//!   bounded queue and waits only when the queue is full (back-pressure, never a drop).
//! * Files are written in `DIR/.staging/` and renamed into place when complete, so a
//!   reader never sees half a file. Rows wait at most `flush_interval` (plus the write) in
//!   memory: what a crash can lose.
//! * [`WriterHandle::shutdown`] writes everything queued before it returns.
//! * Rows not yet in a file are readable with [`OutcomeLog::snapshot`] /
//!   [`OutcomeLog::view`], so analytics can combine them with the files.
//!
//! ```no_run
//! # async fn demo() -> Result<(), llmgw_outcomes::LogError> {
//! use llmgw_outcomes::{FeedbackRecord, LogConfig, OutcomeLog, OutcomeRecord};
//! let (log, writer) = OutcomeLog::start(LogConfig::new("/var/lib/llmgw/logs"))?;
//! let mut rec = OutcomeRecord::new("req-1", "auto", std::time::SystemTime::now());
//! rec.model = Some("gpt-4o-mini".into());
//! rec.prompt = Some("What is the capital of France?".into());
//! log.record(rec).await?;
//! log.feedback(FeedbackRecord::new("req-1", 1.0)?).await?;
//! let stats = writer.shutdown().await?;
//! assert_eq!(stats.dropped, 0);
//! # Ok(()) }
//! ```

mod batch;
mod config;
mod cost;
mod error;
#[cfg(feature = "export")]
pub mod export;
mod files;
mod log;
#[cfg(feature = "export")]
pub mod output_stats;
mod pending;
mod record;
mod schema;
mod writer;

pub use batch::{feedback_batch, micros, outcomes_batch};
pub use config::{LogConfig, MAX_BYTES_PER_FILE_LIMIT};
pub use cost::Prices;
pub use error::{LogError, TryRecordError};
pub use files::{
    file_name, is_data_file, list_files, partition_date, partition_dir, LogKind, STAGING_DIR,
};
pub use log::{LogStats, OutcomeLog, WriterHandle};
pub use pending::{LogView, PendingSnapshot};
pub use record::{prompt_sha256, CacheHit, Candidate, FeedbackRecord, OutcomeRecord};
pub use schema::{
    candidate_fields, feedback_schema, fields_markdown, outcomes_schema, schema_markdown,
    type_name, DESCRIPTION_KEY, SCHEMA_VERSION,
};
