//! The stages of the request path, each with one job and a narrow interface:
//! auth → validate → route → cache → call → respond → record (wired in `pipeline.rs`).

pub mod auth;
pub mod cache;
mod cache_fill;
pub mod call;
pub mod record;
pub mod respond;
pub mod route;
pub mod validate;
