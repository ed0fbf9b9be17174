//! One multiplexed, self-reconnecting connection to Redis, shared by the counter store and the
//! cache, with a time limit on every operation.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{Client, FromRedisValue, ScriptInvocation};

use crate::url::{redact, scrub};

/// Default time limit of one Redis operation.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// Why a Redis operation failed. Messages name the server by its redacted URL, never the
/// password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedisError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL `{url}`: {message}")]
    Url {
        /// The URL, password redacted.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// No answer within the time limit (server down, unreachable or overloaded).
    #[error("Redis at {url}: {op} got no answer within {} ms", timeout.as_millis())]
    Timeout {
        /// The server, password redacted.
        url: String,
        /// What was being done.
        op: String,
        /// The limit.
        timeout: Duration,
    },
    /// The server or the connection reported an error.
    #[error("Redis at {url}: {op} failed: {message}")]
    Failed {
        /// The server, password redacted.
        url: String,
        /// What was being done.
        op: String,
        /// The error, password scrubbed.
        message: String,
    },
}

impl RedisError {
    /// The error without the server's address, for messages that reach API clients.
    pub fn brief(&self) -> String {
        match self {
            RedisError::Url { .. } => "Redis: invalid URL".to_string(),
            RedisError::Timeout { op, timeout, .. } => {
                format!(
                    "Redis: {op} got no answer within {} ms",
                    timeout.as_millis()
                )
            }
            RedisError::Failed { op, message, .. } => format!("Redis: {op} failed: {message}"),
        }
    }
}

/// Settings of a [`RedisConnection`].
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// `redis://[user:password@]host[:port][/db]` (or `rediss://`, `redis+unix://`).
    pub url: String,
    /// Time limit of each operation, connecting included.
    pub timeout: Duration,
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redact(&self.url))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisSettings {
    /// `url` with the default time limit.
    pub fn new(url: impl Into<String>) -> Self {
        RedisSettings {
            url: url.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A connection to one Redis server, cheap to clone (clones share it). It connects lazily and
/// reconnects by itself after the server went away; every operation either answers within
/// the time limit or fails with [`RedisError::Timeout`].
#[derive(Clone)]
pub struct RedisConnection {
    manager: ConnectionManager,
    url: String,
    password: Option<String>,
    timeout: Duration,
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisConnection {
    /// A connection to `settings.url`, made on first use (so a gateway starts while Redis is
    /// still coming up; see [`RedisConnection::ping`]). Must be called inside a Tokio runtime.
    pub fn open(settings: &RedisSettings) -> Result<Self, RedisError> {
        let url = redact(&settings.url);
        let client = Client::open(settings.url.as_str()).map_err(|e| RedisError::Url {
            url: url.clone(),
            message: scrub(&e.to_string(), None),
        })?;
        let password = client
            .get_connection_info()
            .redis_settings()
            .password()
            .map(str::to_string);
        let timeout = settings.timeout.max(Duration::from_millis(1));
        // Reconnect attempts are few and quick: an operation never waits for more than
        // `timeout` anyway, and the next operation starts a new attempt.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(timeout);
        let manager = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| {
            RedisError::Failed {
                url: url.clone(),
                op: "setting up the connection".into(),
                message: scrub(&e.to_string(), password.as_deref()),
            }
        })?;
        Ok(RedisConnection {
            manager,
            url,
            password,
            timeout,
        })
    }

    /// The server's URL, password redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The time limit of each operation.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `PING`: whether the server answers now.
    pub async fn ping(&self) -> Result<(), RedisError> {
        let mut con = self.manager.clone();
        self.bounded("PING", async move {
            redis::cmd("PING").query_async::<String>(&mut con).await
        })
        .await
        .map(|_| ())
    }

    /// Runs a script invocation (`EVALSHA`, loading the script when the server lacks it).
    pub async fn invoke<T: FromRedisValue>(
        &self,
        op: &str,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, RedisError> {
        let mut con = self.manager.clone();
        self.bounded(
            op,
            async move { invocation.invoke_async::<T>(&mut con).await },
        )
        .await
    }

    /// Runs one command.
    pub async fn query<T: FromRedisValue>(
        &self,
        op: &str,
        cmd: &redis::Cmd,
    ) -> Result<T, RedisError> {
        let mut con = self.manager.clone();
        self.bounded(op, async move { cmd.query_async::<T>(&mut con).await })
            .await
    }

    async fn bounded<T>(
        &self,
        op: &str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, RedisError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(RedisError::Failed {
                url: self.url.clone(),
                op: op.to_string(),
                message: scrub(&e.to_string(), self.password.as_deref()),
            }),
            Err(_) => Err(RedisError::Timeout {
                url: self.url.clone(),
                op: op.to_string(),
                timeout: self.timeout,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bad_url_is_named_without_its_password() {
        let err = RedisConnection::open(&RedisSettings::new("http://user:s3cret@host"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("user:***@host"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        let debug = format!("{:?}", RedisSettings::new("redis://:s3cret@h"));
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[tokio::test]
    async fn an_unreachable_server_fails_within_the_time_limit() {
        // A port nothing listens on (bound, then released).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let settings = RedisSettings {
            url: format!("redis://:s3cret@127.0.0.1:{port}/0"),
            timeout: Duration::from_millis(100),
        };
        let con = RedisConnection::open(&settings).unwrap();
        let started = std::time::Instant::now();
        let err = con.ping().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        let text = err.to_string();
        assert!(text.contains(":***@127.0.0.1"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
