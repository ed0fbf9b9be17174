//! The in-memory exact cache: fingerprint → complete answer, with a TTL, and bounded by
//! entries and by bytes, evicting the least recently used.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use llmgw_config::CacheConfig;
use llmgw_server::stages::cache::{CacheQuery, CachedAnswer};
use llmgw_server::ResponseCache;
use llmgw_types::ChatCompletionResponse;
use lru::LruCache;

use crate::fingerprint::{fingerprint, Fingerprint};

/// Bytes counted per entry on top of the answer's JSON size (key, clock, bookkeeping).
pub const ENTRY_OVERHEAD_BYTES: u64 = 128;

/// Limits of an [`ExactCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// How long an answer stays valid.
    pub ttl: Duration,
    /// Most answers held.
    pub max_entries: u64,
    /// Most bytes held (answer JSON + [`ENTRY_OVERHEAD_BYTES`] per entry).
    pub max_bytes: u64,
}

impl From<&CacheConfig> for CacheLimits {
    fn from(c: &CacheConfig) -> Self {
        CacheLimits {
            ttl: c.ttl(),
            max_entries: c.max_entries,
            max_bytes: c.max_bytes,
        }
    }
}

/// Counters of an [`ExactCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answers held now.
    pub entries: u64,
    /// Bytes held now.
    pub bytes: u64,
    /// Answers evicted to respect the limits.
    pub evictions: u64,
    /// Answers dropped because their TTL had passed.
    pub expirations: u64,
    /// Answers refused: incomplete, or larger than the whole byte budget.
    pub refused: u64,
}

struct Entry {
    response: ChatCompletionResponse,
    size: u64,
    stored_at: Instant,
}

struct Inner {
    entries: LruCache<Fingerprint, Entry>,
    stats: CacheStats,
}

/// Exact response cache in memory. Keys are SHA-256 fingerprints of the tenant, the
/// resolved model and every answer-changing request field (see [`crate::fingerprint()`]).
pub struct ExactCache {
    limits: CacheLimits,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for ExactCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactCache")
            .field("limits", &self.limits)
            .field("stats", &self.stats())
            .finish()
    }
}

impl ExactCache {
    /// An empty cache with `limits`.
    pub fn new(limits: CacheLimits) -> Self {
        ExactCache {
            limits,
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                stats: CacheStats::default(),
            }),
        }
    }

    /// The limits.
    pub fn limits(&self) -> CacheLimits {
        self.limits
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            entries: inner.entries.len() as u64,
            ..inner.stats
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map stays consistent under a panic elsewhere: every update is one call.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer stored under `key` if it is still valid at `now`.
    pub fn get_at(&self, key: &Fingerprint, now: Instant) -> Option<ChatCompletionResponse> {
        let mut inner = self.lock();
        let expired = {
            let entry = inner.entries.get(key)?;
            now.saturating_duration_since(entry.stored_at) >= self.limits.ttl
        };
        if expired {
            if let Some(old) = inner.entries.pop(key) {
                inner.stats.bytes = inner.stats.bytes.saturating_sub(old.size);
                inner.stats.expirations += 1;
            }
            return None;
        }
        inner.entries.get(key).map(|e| e.response.clone())
    }

    /// Store `response` under `key` at `now`, if it is a complete answer that fits; evict
    /// the least recently used answers until both limits hold. Returns whether it was stored.
    pub fn put_at(
        &self,
        key: Fingerprint,
        response: &ChatCompletionResponse,
        now: Instant,
    ) -> bool {
        let complete = !response.choices.is_empty()
            && response.choices.iter().all(|c| c.finish_reason.is_some());
        let size = serde_json::to_vec(response)
            .map(|v| v.len() as u64 + ENTRY_OVERHEAD_BYTES)
            .ok();
        let mut inner = self.lock();
        let Some(size) = size.filter(|s| complete && *s <= self.limits.max_bytes) else {
            inner.stats.refused += 1;
            return false;
        };
        if let Some(old) = inner.entries.put(
            key,
            Entry {
                response: response.clone(),
                size,
                stored_at: now,
            },
        ) {
            inner.stats.bytes = inner.stats.bytes.saturating_sub(old.size);
        }
        inner.stats.bytes += size;
        while inner.entries.len() as u64 > self.limits.max_entries
            || inner.stats.bytes > self.limits.max_bytes
        {
            let Some((_, old)) = inner.entries.pop_lru() else {
                break;
            };
            inner.stats.bytes = inner.stats.bytes.saturating_sub(old.size);
            inner.stats.evictions += 1;
        }
        true
    }
}

impl ResponseCache for ExactCache {
    fn lookup(&self, query: &CacheQuery<'_>) -> Option<CachedAnswer> {
        self.get_at(&fingerprint(query), Instant::now())
            .map(|response| CachedAnswer {
                response,
                similarity: None,
            })
    }

    fn store(&self, query: &CacheQuery<'_>, response: &ChatCompletionResponse) {
        self.put_at(fingerprint(query), response, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmgw_types::{Choice, FinishReason, ResponseMessage, Usage};

    fn answer(text: &str, finish: Option<FinishReason>) -> ChatCompletionResponse {
        ChatCompletionResponse {
            id: "c".into(),
            object: "chat.completion".into(),
            created: 1,
            model: "m".into(),
            choices: vec![Choice {
                index: 0,
                message: ResponseMessage::assistant(Some(text.into()), vec![]),
                finish_reason: finish,
                logprobs: None,
            }],
            usage: Some(Usage::new(1, 1)),
            system_fingerprint: None,
        }
    }

    fn key(n: u8) -> Fingerprint {
        [n; 32]
    }

    fn limits(max_entries: u64, max_bytes: u64) -> CacheLimits {
        CacheLimits {
            ttl: Duration::from_secs(60),
            max_entries,
            max_bytes,
        }
    }

    #[test]
    fn stores_and_returns_complete_answers_only() {
        let c = ExactCache::new(limits(10, 1 << 20));
        let now = Instant::now();
        assert!(c.put_at(key(1), &answer("a", Some(FinishReason::Stop)), now));
        assert_eq!(c.get_at(&key(1), now).unwrap().text(), Some("a"));
        assert!(!c.put_at(key(2), &answer("cut", None), now));
        assert!(c.get_at(&key(2), now).is_none());
        let mut empty = answer("x", Some(FinishReason::Stop));
        empty.choices.clear();
        assert!(!c.put_at(key(3), &empty, now));
        assert_eq!(c.stats().refused, 2);
    }

    #[test]
    fn answers_expire_after_the_ttl() {
        let c = ExactCache::new(limits(10, 1 << 20));
        let now = Instant::now();
        c.put_at(key(1), &answer("a", Some(FinishReason::Stop)), now);
        assert!(c.get_at(&key(1), now + Duration::from_secs(59)).is_some());
        assert!(c.get_at(&key(1), now + Duration::from_secs(60)).is_none());
        let s = c.stats();
        assert_eq!((s.entries, s.bytes, s.expirations), (0, 0, 1));
    }

    #[test]
    fn the_byte_bound_evicts_the_least_recently_used() {
        let one = answer(&"x".repeat(1000), Some(FinishReason::Stop));
        let size = serde_json::to_vec(&one).unwrap().len() as u64 + ENTRY_OVERHEAD_BYTES;
        // Room for three answers by bytes, many by count.
        let c = ExactCache::new(limits(100, size * 3 + size / 2));
        let now = Instant::now();
        for n in 1..=3 {
            assert!(c.put_at(key(n), &one, now));
        }
        // Use 1, so 2 is the least recently used.
        assert!(c.get_at(&key(1), now).is_some());
        assert!(c.put_at(key(4), &one, now));
        assert!(c.get_at(&key(2), now).is_none(), "2 was evicted");
        for n in [1, 3, 4] {
            assert!(c.get_at(&key(n), now).is_some(), "{n} kept");
        }
        let s = c.stats();
        assert_eq!((s.entries, s.evictions), (3, 1));
        assert!(s.bytes <= c.limits().max_bytes);
        // An answer larger than the whole budget is refused and evicts nothing.
        let huge = answer(&"y".repeat(10_000), Some(FinishReason::Stop));
        assert!(!c.put_at(key(9), &huge, now));
        assert_eq!(c.stats().entries, 3);
    }

    #[test]
    fn the_entry_bound_evicts_the_least_recently_used() {
        let c = ExactCache::new(limits(2, 1 << 20));
        let now = Instant::now();
        let a = answer("a", Some(FinishReason::Stop));
        c.put_at(key(1), &a, now);
        c.put_at(key(2), &a, now);
        c.put_at(key(3), &a, now);
        assert!(c.get_at(&key(1), now).is_none());
        assert_eq!(c.stats().entries, 2);
    }
}
