//! [`RedisCache`]: the exact response cache in Redis, shared by every gateway instance that
//! points at the same server and prefix.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::FutureExt;
use llmgw_cache::{fingerprint, Fingerprint};
use llmgw_server::stages::cache::{CacheQuery, CacheStats, CachedAnswer};
use llmgw_server::ResponseCache;
use llmgw_types::ChatCompletionResponse;

use crate::connection::RedisConnection;

/// After a failed operation, how long the cache skips Redis (lookups miss at once, answers
/// are not stored) before it tries again, so that a Redis outage costs requests nothing.
pub const CACHE_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Limits of a [`RedisCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisCacheLimits {
    /// How long an answer stays valid (Redis expires it: `SET … PX`).
    pub ttl: Duration,
    /// Largest answer stored (its JSON bytes); larger ones are not cached. The total is
    /// bounded by the server's `maxmemory` with `maxmemory-policy allkeys-lru`.
    pub max_entry_bytes: u64,
}

/// Counters of a [`RedisCache`], since start.
#[derive(Debug, Default)]
pub struct RedisCacheStats {
    hits: AtomicU64,
    misses: AtomicU64,
    errors: AtomicU64,
    skipped: AtomicU64,
    stored: AtomicU64,
    refused: AtomicU64,
}

/// A snapshot of [`RedisCacheStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisCacheCounts {
    /// Exact hits served from Redis.
    pub hits: u64,
    /// Lookups Redis answered with nothing.
    pub misses: u64,
    /// Operations that failed or timed out (each counted as a miss or a store not made).
    pub errors: u64,
    /// Operations not tried because Redis failed just before ([`CACHE_RETRY_AFTER`]).
    pub skipped: u64,
    /// Answers written.
    pub stored: u64,
    /// Answers not stored: incomplete, or over `max_entry_bytes`.
    pub refused: u64,
}

impl RedisCacheStats {
    /// The counts now.
    pub fn counts(&self) -> RedisCacheCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RedisCacheCounts {
            hits: get(&self.hits),
            misses: get(&self.misses),
            errors: get(&self.errors),
            skipped: get(&self.skipped),
            stored: get(&self.stored),
            refused: get(&self.refused),
        }
    }
}

/// Exact response cache in Redis: `<prefix>:cache:<hex of the fingerprint>` → the complete
/// answer as JSON, expiring after the TTL. The fingerprint is [`llmgw_cache::fingerprint()`]
/// (tenant, resolved model and every answer-changing field), so tenants never share entries.
///
/// A lookup that Redis does not answer within the connection's time limit is a miss; after a
/// failure Redis is skipped for [`CACHE_RETRY_AFTER`]. Answers are written in the
/// background, so a store never delays the answer. Semantic matching is per instance: give
/// the cache a local in-memory cache ([`RedisCache::with_local_semantic`]) to look in after
/// an exact miss when a request asks for similar prompts.
#[derive(Clone)]
pub struct RedisCache {
    redis: RedisConnection,
    prefix: String,
    limits: RedisCacheLimits,
    local: Option<Arc<dyn ResponseCache>>,
    stats: Arc<RedisCacheStats>,
    started: Instant,
    /// Milliseconds after `started` until which Redis is skipped.
    skip_until_ms: Arc<AtomicU64>,
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCache")
            .field("redis", &self.redis)
            .field("prefix", &self.prefix)
            .field("limits", &self.limits)
            .field("local_semantic", &self.local.is_some())
            .finish()
    }
}

/// Whether `response` is a complete answer: at least one choice, each with a finish reason.
pub fn is_complete(response: &ChatCompletionResponse) -> bool {
    !response.choices.is_empty() && response.choices.iter().all(|c| c.finish_reason.is_some())
}

fn hex(bytes: &Fingerprint) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl RedisCache {
    /// Entries under `<prefix>:cache:` on `redis`.
    pub fn new(redis: RedisConnection, prefix: &str, limits: RedisCacheLimits) -> Self {
        RedisCache {
            redis,
            prefix: prefix.to_string(),
            limits,
            local: None,
            stats: Arc::new(RedisCacheStats::default()),
            started: Instant::now(),
            skip_until_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Also keep answers that carry a prompt embedding in `local` (this instance's memory),
    /// and look there after an exact miss when the request asks for similar prompts.
    pub fn with_local_semantic(mut self, local: Arc<dyn ResponseCache>) -> Self {
        self.local = Some(local);
        self
    }

    /// Counters.
    pub fn stats(&self) -> &Arc<RedisCacheStats> {
        &self.stats
    }

    /// The Redis key of `fp`.
    pub fn redis_key(&self, fp: &Fingerprint) -> String {
        format!("{}:cache:{}", self.prefix, hex(fp))
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// False while Redis is skipped after a failure (counted).
    fn available(&self) -> bool {
        if self.now_ms() < self.skip_until_ms.load(Ordering::Relaxed) {
            self.stats.skipped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn failed(&self, what: &str, error: &dyn fmt::Display) {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        let until = self
            .now_ms()
            .saturating_add(CACHE_RETRY_AFTER.as_millis() as u64);
        self.skip_until_ms.store(until, Ordering::Relaxed);
        tracing::warn!(error = %error, "response cache: {what} failed; Redis is skipped for {} s", CACHE_RETRY_AFTER.as_secs());
    }

    /// The answer stored under `fp`, if any (`None` as well when Redis fails).
    pub async fn get(&self, fp: &Fingerprint) -> Option<ChatCompletionResponse> {
        if !self.available() {
            return None;
        }
        let key = self.redis_key(fp);
        let got: Result<Option<Vec<u8>>, _> = self
            .redis
            .query("cache lookup", redis::cmd("GET").arg(&key))
            .await;
        match got {
            Ok(Some(bytes)) => match serde_json::from_slice::<ChatCompletionResponse>(&bytes) {
                Ok(response) if is_complete(&response) => {
                    self.stats.hits.fetch_add(1, Ordering::Relaxed);
                    Some(response)
                }
                Ok(_) | Err(_) => {
                    // Written by another version, or corrupted: a miss, and gone.
                    self.stats.misses.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(key, "response cache: unreadable entry in Redis dropped");
                    let _ = self
                        .redis
                        .query::<i64>("cache cleanup", redis::cmd("DEL").arg(&key))
                        .await;
                    None
                }
            },
            Ok(None) => {
                self.stats.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(e) => {
                self.failed("lookup", &e);
                None
            }
        }
    }

    /// Serializes `response` for storage, or says why it is not stored.
    fn encode(&self, response: &ChatCompletionResponse) -> Option<Vec<u8>> {
        if !is_complete(response) {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        match serde_json::to_vec(response) {
            Ok(bytes) if bytes.len() as u64 <= self.limits.max_entry_bytes => Some(bytes),
            Ok(_) | Err(_) => {
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Writes `response` under `fp` now (the cache's `store` does this in the background).
    /// Returns whether it was written.
    pub async fn put(&self, fp: &Fingerprint, response: &ChatCompletionResponse) -> bool {
        let Some(bytes) = self.encode(response) else {
            return false;
        };
        self.put_encoded(self.redis_key(fp), bytes).await
    }

    async fn put_encoded(&self, key: String, bytes: Vec<u8>) -> bool {
        if !self.available() {
            return false;
        }
        let ttl_ms = u64::try_from(self.limits.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(&key).arg(bytes).arg("PX").arg(ttl_ms);
        match self.redis.query::<()>("cache store", &cmd).await {
            Ok(()) => {
                self.stats.stored.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(e) => {
                self.failed("store", &e);
                false
            }
        }
    }
}

impl ResponseCache for RedisCache {
    fn lookup<'a>(&'a self, query: &'a CacheQuery<'a>) -> BoxFuture<'a, Option<CachedAnswer>> {
        async move {
            if let Some(response) = self.get(&fingerprint(query)).await {
                return Some(CachedAnswer {
                    response,
                    similarity: None,
                });
            }
            match (&self.local, query.min_similarity) {
                (Some(local), Some(_)) => local.lookup(query).await,
                _ => None,
            }
        }
        .boxed()
    }

    fn store<'a>(
        &'a self,
        query: &'a CacheQuery<'a>,
        response: &'a ChatCompletionResponse,
    ) -> BoxFuture<'a, ()> {
        async move {
            if let (Some(local), Some(_)) = (&self.local, query.embedding) {
                local.store(query, response).await;
            }
            let Some(bytes) = self.encode(response) else {
                return;
            };
            let key = self.redis_key(&fingerprint(query));
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    let this = self.clone();
                    handle.spawn(async move {
                        this.put_encoded(key, bytes).await;
                    });
                }
                Err(_) => {
                    self.put_encoded(key, bytes).await;
                }
            }
        }
        .boxed()
    }

    fn stats(&self) -> Option<CacheStats> {
        // Redis holds the entries (its INFO and maxmemory say how many); what this instance
        // knows is its semantic index and what it refused.
        let refused = self.stats.refused.load(Ordering::Relaxed);
        self.local
            .as_ref()
            .and_then(|l| l.stats())
            .map(|s| CacheStats {
                refused: s.refused + refused,
                ..s
            })
    }
}
