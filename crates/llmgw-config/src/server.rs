//! `[server]`: where and how the gateway listens.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default largest accepted request body, in bytes (8 MiB: room for inline images).
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The `[server]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (`host:port`). Default `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes; larger bodies get 413. Default 8 MiB.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Seconds allowed to open a connection to a provider. Default 10.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: f64,
    /// Seconds allowed until a provider sends the first byte of its answer (headers for a
    /// non-streaming call, the first event for a stream). Default 60.
    #[serde(default = "default_first_token_timeout")]
    pub first_token_timeout_secs: f64,
    /// Seconds allowed for a whole request, streams included. Default 600.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: f64,
    /// Seconds that in-flight requests get to finish after SIGTERM/SIGINT. Default 30.
    #[serde(default = "default_shutdown_grace")]
    pub shutdown_grace_secs: f64,
    /// Folder of the outcome log (relative paths: against the config file's folder).
    /// No outcome log when unset.
    #[serde(default)]
    pub log_dir: Option<PathBuf>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_max_body_bytes() -> usize {
    DEFAULT_MAX_BODY_BYTES
}
fn default_connect_timeout() -> f64 {
    10.0
}
fn default_first_token_timeout() -> f64 {
    60.0
}
fn default_request_timeout() -> f64 {
    600.0
}
fn default_shutdown_grace() -> f64 {
    30.0
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            max_body_bytes: default_max_body_bytes(),
            connect_timeout_secs: default_connect_timeout(),
            first_token_timeout_secs: default_first_token_timeout(),
            request_timeout_secs: default_request_timeout(),
            shutdown_grace_secs: default_shutdown_grace(),
            log_dir: None,
        }
    }
}

impl ServerConfig {
    /// Connect timeout as a [`Duration`].
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.connect_timeout_secs)
    }
    /// First-token timeout as a [`Duration`].
    pub fn first_token_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.first_token_timeout_secs)
    }
    /// Whole-request timeout as a [`Duration`].
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.request_timeout_secs)
    }
    /// Shutdown grace period as a [`Duration`].
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs_f64(self.shutdown_grace_secs)
    }

    pub(crate) fn validate(&mut self, file: &Path, base_dir: &Path) -> Result<(), ConfigError> {
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::invalid(
                file,
                "server.max_body_bytes",
                format!("expected at least 1024 bytes, got {}", self.max_body_bytes),
            ));
        }
        for (key, value) in [
            ("server.connect_timeout_secs", self.connect_timeout_secs),
            (
                "server.first_token_timeout_secs",
                self.first_token_timeout_secs,
            ),
            ("server.request_timeout_secs", self.request_timeout_secs),
        ] {
            positive_seconds(file, key, value)?;
        }
        if !(self.shutdown_grace_secs.is_finite()
            && (0.0..=86_400.0).contains(&self.shutdown_grace_secs))
        {
            return Err(ConfigError::invalid(
                file,
                "server.shutdown_grace_secs",
                format!(
                    "expected a number of seconds between 0 and 86400, got {}",
                    self.shutdown_grace_secs
                ),
            ));
        }
        if let Some(dir) = &self.log_dir {
            if dir.as_os_str().is_empty() {
                return Err(ConfigError::invalid(
                    file,
                    "server.log_dir",
                    "expected a folder path, got an empty string",
                ));
            }
            self.log_dir = Some(base_dir.join(dir));
        }
        Ok(())
    }
}

fn positive_seconds(file: &Path, key: &str, value: f64) -> Result<(), ConfigError> {
    if value.is_finite() && value > 0.0 && value <= 86_400.0 {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            file,
            key,
            format!("expected a number of seconds greater than 0 and at most 86400, got {value}"),
        ))
    }
}
