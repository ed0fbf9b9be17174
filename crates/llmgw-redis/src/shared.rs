//! The shared state a configuration asks for (`[shared_state]`, `[cache] backend`), put into
//! a gateway.

use std::sync::Arc;

use llmgw_config::{Config, CounterFailure, StateBackend};
use llmgw_governance::Governor;
use llmgw_server::GatewayBuilder;

use crate::cache::{RedisCache, RedisCacheLimits};
use crate::connection::{RedisConnection, RedisError, RedisSettings};
use crate::counters::{OnCounterError, RedisCounterStore};

/// Why the shared state could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SharedStateError {
    /// No Redis URL (the message says which variable to set).
    #[error("{0}")]
    NoUrl(String),
    /// The URL is not usable.
    #[error(transparent)]
    Redis(#[from] RedisError),
    /// The gateway keys of the config (or of the admin keys file) are not usable.
    #[error("gateway keys: {0}")]
    Keys(#[from] llmgw_governance::KeyStoreError),
}

/// The Redis-backed parts of a gateway: counters, exact cache, or both.
#[derive(Debug, Clone)]
pub struct SharedState {
    /// The connection both use.
    pub connection: RedisConnection,
    /// Budget and rate-limit counters, when `counters = "redis"`.
    pub counters: Option<RedisCounterStore>,
    /// The exact cache, when `[cache] enabled = true` and `backend = "redis"`.
    pub cache: Option<RedisCache>,
}

impl SharedState {
    /// What `config` asks for; `None` when nothing lives in Redis. Connects lazily: a Redis
    /// that is not up yet fails requests as configured until it is (see
    /// [`SharedState::check`]). Must be called inside a Tokio runtime.
    pub fn from_config(config: &Config) -> Result<Option<SharedState>, SharedStateError> {
        let shared = &config.shared_state;
        let counters_in_redis = shared.counters == StateBackend::Redis;
        let cache_in_redis = config.cache.enabled && config.cache.backend == StateBackend::Redis;
        if !counters_in_redis && !cache_in_redis {
            return Ok(None);
        }
        let url = shared.resolve_url().map_err(SharedStateError::NoUrl)?;
        let connection = RedisConnection::open(&RedisSettings {
            url,
            timeout: shared.timeout(),
        })?;
        let on_error = match shared.on_counter_error {
            CounterFailure::Refuse => OnCounterError::Refuse,
            CounterFailure::Allow => OnCounterError::Allow,
        };
        let counters = counters_in_redis
            .then(|| RedisCounterStore::new(connection.clone(), &shared.prefix, on_error));
        let cache = cache_in_redis.then(|| {
            let limits = RedisCacheLimits {
                ttl: config.cache.ttl(),
                max_entry_bytes: config.cache.max_entry_bytes,
            };
            let local = llmgw_cache::MemoryCache::new((&config.cache).into());
            RedisCache::new(connection.clone(), &shared.prefix, limits)
                .with_local_semantic(Arc::new(local))
        });
        Ok(Some(SharedState {
            connection,
            counters,
            cache,
        }))
    }

    /// `governor` counting in Redis when the counters live there.
    pub fn governor(&self, governor: Governor) -> Governor {
        match &self.counters {
            Some(store) => governor.with_counter_store(Arc::new(store.clone())),
            None => governor,
        }
    }

    /// The governor of `config` (its keys and admin key) counting in Redis; `None` when the
    /// counters stay in memory.
    pub fn governor_for(&self, config: &Config) -> Result<Option<Governor>, SharedStateError> {
        if self.counters.is_none() {
            return Ok(None);
        }
        let governor = llmgw_server::governance::governor_from_config(config)?;
        Ok(Some(self.governor(governor)))
    }

    /// Puts the Redis counters (with the keys of `config`) and the Redis cache into
    /// `builder`.
    pub fn install(
        &self,
        mut builder: GatewayBuilder,
        config: &Config,
    ) -> Result<GatewayBuilder, SharedStateError> {
        if let Some(governor) = self.governor_for(config)? {
            builder = builder.governor(governor);
        }
        if let Some(cache) = &self.cache {
            builder = builder.cache(Arc::new(cache.clone()));
        }
        Ok(builder)
    }

    /// Prometheus metrics of these stores' failures, for the gateway's `/metrics`
    /// (`Metrics::add_collector`).
    pub fn metrics(&self) -> Result<crate::SharedStateMetrics, prometheus::Error> {
        crate::SharedStateMetrics::new(
            self.counters.as_ref().map(|c| c.stats().clone()),
            self.cache.as_ref().map(|c| c.stats().clone()),
        )
    }

    /// Pings Redis once and logs what is shared and whether the server answers; a server
    /// that does not answer yet is a warning, not an error.
    pub async fn check(&self) -> Result<(), RedisError> {
        let shared: Vec<&str> = [
            self.counters
                .as_ref()
                .map(|_| "budget and rate-limit counters"),
            self.cache.as_ref().map(|_| "exact response cache"),
        ]
        .into_iter()
        .flatten()
        .collect();
        match self.connection.ping().await {
            Ok(()) => {
                tracing::info!(redis = %self.connection.url(), shared = %shared.join(", "), "shared state in Redis");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, shared = %shared.join(", "), "shared state in Redis: the server does not answer yet; retrying on every request");
                Err(e)
            }
        }
    }
}
