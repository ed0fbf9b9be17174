//! HTTP handlers, one file per endpoint.

pub mod chat;
pub mod feedback;
pub mod health;
pub mod models;
pub mod route;
