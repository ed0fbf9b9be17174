//! Errors of the classifier crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading, training or running a router.
#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    /// A folder that should hold encoder or router files does not exist.
    #[error("{what} folder {path} does not exist")]
    MissingDir {
        /// What the folder should hold ("encoder", "router").
        what: &'static str,
        /// The folder looked for.
        path: PathBuf,
    },
    /// A file the encoder or router needs is missing.
    #[error("{what}: missing file {path}")]
    MissingFile {
        /// What the file belongs to.
        what: &'static str,
        /// The file looked for.
        path: PathBuf,
    },
    /// An encoder given by Hugging Face repo id is not cached and cannot be downloaded.
    #[error(
        "encoder `{repo}` is not in the Hugging Face cache ({cache}) and could not be downloaded ({reason}); \
         put config.json, tokenizer.json and model.safetensors of `{repo}` in the folder {fill} \
         (or pass a local encoder folder)"
    )]
    EncoderUnavailable {
        /// Hugging Face repo id.
        repo: String,
        /// The hf-hub cache folder searched.
        cache: PathBuf,
        /// Why the download did not happen.
        reason: String,
        /// The local folder to fill instead.
        fill: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content is not what was expected.
    #[error("{context}: {message}")]
    Invalid {
        /// Which file or value.
        context: String,
        /// What is wrong.
        message: String,
    },
    /// A tensor computation failed.
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// The tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// Training could not proceed (no data, no labels, ...).
    #[error("training: {0}")]
    Training(String),
    /// The batching router's worker has stopped or its queue was closed.
    #[error("router batching worker unavailable: {0}")]
    Batching(String),
}

impl ClassifierError {
    /// An I/O error with context.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// An invalid-content error with context.
    pub(crate) fn invalid(context: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            context: context.into(),
            message: message.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = ClassifierError> = std::result::Result<T, E>;
