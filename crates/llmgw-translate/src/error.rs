//! Errors raised while translating.

use llmgw_types::ErrorBody;

/// What went wrong while translating a request, a response or a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// The client's request cannot be expressed for this provider (HTTP 400).
    #[error("{message}")]
    InvalidRequest {
        /// What is wrong, for the client.
        message: String,
        /// The request parameter at fault.
        param: Option<String>,
    },
    /// The provider sent something that is not a valid answer.
    #[error("{provider} sent an invalid response: {message}")]
    InvalidResponse {
        /// Provider kind (`anthropic`, `gemini`, `openai`).
        provider: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The provider's stream ended before its terminal event.
    #[error("{provider} stream ended before the answer was complete")]
    StreamIncomplete {
        /// Provider kind.
        provider: &'static str,
    },
    /// The provider reported an error inside the stream.
    #[error("{provider} reported an error mid-stream ({kind}): {message}")]
    StreamError {
        /// Provider kind.
        provider: &'static str,
        /// The provider's error type (e.g. `overloaded_error`).
        kind: String,
        /// The provider's message, secrets redacted.
        message: String,
        /// The HTTP status that best fits the error.
        status: u16,
    },
}

impl TranslateError {
    /// A 400 for the client, naming the parameter at fault.
    pub fn invalid_request(message: impl Into<String>, param: impl Into<String>) -> Self {
        TranslateError::InvalidRequest {
            message: message.into(),
            param: Some(param.into()),
        }
    }

    /// An invalid provider answer.
    pub fn invalid_response(provider: &'static str, message: impl Into<String>) -> Self {
        TranslateError::InvalidResponse {
            provider,
            message: message.into(),
        }
    }

    /// The HTTP status and OpenAI error body for the client.
    pub fn to_openai_error(&self) -> (u16, ErrorBody) {
        match self {
            TranslateError::InvalidRequest { message, param } => {
                let mut body = ErrorBody::invalid_request(message.clone());
                body.error.param = param.clone();
                (400, body)
            }
            TranslateError::InvalidResponse { .. } | TranslateError::StreamIncomplete { .. } => {
                (502, ErrorBody::upstream(self.to_string()))
            }
            TranslateError::StreamError { status, kind, .. } => {
                let body = if *status == 429 {
                    ErrorBody::rate_limit(self.to_string())
                } else if *status == 400 {
                    ErrorBody::invalid_request(self.to_string())
                } else {
                    ErrorBody::upstream(self.to_string()).with_code(kind.clone())
                };
                (*status, body)
            }
        }
    }
}
