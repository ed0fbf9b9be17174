//! Errors of the outcome log.

use std::path::PathBuf;

use crate::record::OutcomeRecord;

/// What can go wrong in the outcome log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A [`crate::LogConfig`] value is out of range.
    #[error("invalid outcome log setting: {0}")]
    Config(String),
    /// Feedback with an empty request id or a quality outside [0, 1].
    #[error("invalid feedback: {0}")]
    InvalidFeedback(String),
    /// The log was shut down (or its writer stopped): the record was not accepted.
    #[error("the outcome log is closed")]
    Closed,
    /// `OutcomeLog::start` was called outside a Tokio runtime.
    #[error("the outcome log must be started inside a Tokio runtime")]
    NoRuntime,
    /// A file-system operation failed.
    #[error("outcome log I/O on {path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Building a record batch failed.
    #[error("building an Arrow batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Encoding Parquet failed.
    #[error("writing Parquet {path}: {source}")]
    Parquet {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Rows could not be written when the log shut down.
    #[error("{rows} outcome log rows could not be written: {last_error}")]
    Unwritten {
        /// How many rows were lost.
        rows: u64,
        /// The last write error.
        last_error: String,
    },
    /// The writer task ended abnormally.
    #[error("the outcome log writer stopped unexpectedly: {0}")]
    WriterFailed(String),
}

impl LogError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LogError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Why [`crate::OutcomeLog::try_record`] did not take a record; the record is handed back.
#[derive(Debug, thiserror::Error)]
pub enum TryRecordError {
    /// The queue is full: retry, or `record().await` it (e.g. from a spawned task).
    #[error("the outcome log queue is full")]
    Full(Box<OutcomeRecord>),
    /// The log is closed.
    #[error("the outcome log is closed")]
    Closed(Box<OutcomeRecord>),
}
