//! Errors of the evaluation crate.

use std::path::PathBuf;

/// Why an evaluation or a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The inputs to a metric are unusable (empty, different lengths, non-finite values).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A file could not be read or written (the cause follows as the error's source).
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line of a JSONL file is not what was expected.
    #[error("{path}:{line}: {message}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A file has a format this crate does not read.
    #[error("{path}: {message}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is not supported and what to do instead.
        message: String,
    },
    /// The model catalog could not be parsed.
    #[error("{path}: {message}")]
    Catalog {
        /// The catalog file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Serialising the report failed.
    #[error("serialising the report: {0}")]
    Serialize(#[from] serde_json::Error),
}
