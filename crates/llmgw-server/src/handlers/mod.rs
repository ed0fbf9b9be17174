//! HTTP handlers, one file per endpoint.

pub mod admin;
pub mod analytics;
pub mod chat;
pub mod dashboard;
pub mod feedback;
pub mod health;
pub mod models;
pub mod route;
