//! Errors of the analytics computations.

use polars::prelude::PolarsError;

/// What can go wrong while computing analytics.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// A query parameter has a value the analytics cannot use; `param` names it.
    #[error("invalid `{param}`: {message}")]
    InvalidParam {
        /// The parameter (`from`, `to`, `group_by`, `bucket`, `reference_model`).
        param: &'static str,
        /// What is wrong and what is expected.
        message: String,
    },
    /// Reading the outcome files or building the frame failed.
    #[error("reading the outcome log: {0}")]
    Read(String),
    /// Polars failed while computing.
    #[error("computing analytics with polars: {0}")]
    Polars(#[from] PolarsError),
}

impl AnalyticsError {
    /// An [`AnalyticsError::InvalidParam`].
    pub fn invalid(param: &'static str, message: impl Into<String>) -> Self {
        AnalyticsError::InvalidParam {
            param,
            message: message.into(),
        }
    }

    /// The parameter at fault, for an invalid-parameter error.
    pub fn param(&self) -> Option<&'static str> {
        match self {
            AnalyticsError::InvalidParam { param, .. } => Some(param),
            _ => None,
        }
    }
}

impl From<llmgw_outcomes::export::ExportError> for AnalyticsError {
    fn from(e: llmgw_outcomes::export::ExportError) -> Self {
        match e {
            llmgw_outcomes::export::ExportError::Polars(p) => AnalyticsError::Polars(p),
            other => AnalyticsError::Read(other.to_string()),
        }
    }
}

impl From<llmgw_outcomes::LogError> for AnalyticsError {
    fn from(e: llmgw_outcomes::LogError) -> Self {
        AnalyticsError::Read(e.to_string())
    }
}
