//! The gateway over fake upstreams: request path, headers, errors, streams, auto routing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod auto;
mod cache;
mod chat;
mod errors;
mod metrics;
mod passthrough;
mod record;
mod stream;
