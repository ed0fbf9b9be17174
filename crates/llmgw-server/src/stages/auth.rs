//! Auth stage: who is calling. The gateway is open unless an [`Authenticator`] that checks
//! keys is installed; the caller's identity travels with the request to the later stages
//! (cache partitioning, budgets, the outcome log).

use axum::http::HeaderMap;
use llmgw_types::ApiError;

/// The authenticated caller of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Id of the gateway key used (never the key itself); `None` on an open gateway.
    pub key_id: Option<String>,
    /// Tenant the key belongs to, for cache and spend partitioning.
    pub tenant: Option<String>,
}

/// Decides whether a request may proceed and who made it.
pub trait Authenticator: Send + Sync + 'static {
    /// Check the request's headers; an error is sent to the client as is (401, 403, 429…).
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError>;

    /// `true` when every request is let in (reported at start and in `/health`).
    fn is_open(&self) -> bool;
}

/// No gateway keys configured: everyone is let in, anonymously.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAccess;

impl Authenticator for OpenAccess {
    fn authenticate(&self, _headers: &HeaderMap) -> Result<Caller, ApiError> {
        Ok(Caller::default())
    }

    fn is_open(&self) -> bool {
        true
    }
}
