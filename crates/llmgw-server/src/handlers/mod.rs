//! HTTP handlers, one file per endpoint.

pub mod admin;
pub mod chat;
pub mod feedback;
pub mod health;
pub mod models;
pub mod route;
