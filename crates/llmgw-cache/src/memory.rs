//! The in-memory response cache: fingerprint → complete answer, with a TTL, bounded by
//! entries and by bytes (least recently used first), and a semantic index over the answers
//! that carry a prompt embedding.
//!
//! The semantic index groups embedded answers by [`params_fingerprint()`] (tenant, model,
//! every parameter and every message but the final user turn's text). A semantic lookup
//! scans the one bucket of its query: at most [`MAX_BUCKET_ENTRIES`] normalised vectors,
//! one dot product each (384 multiply-adds with the shipped encoder).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use llmgw_config::CacheConfig;
use llmgw_server::stages::cache::{CacheQuery, CacheStats, CachedAnswer};
use llmgw_server::ResponseCache;
use llmgw_types::ChatCompletionResponse;
use lru::LruCache;

use crate::fingerprint::{fingerprint, params_fingerprint, Fingerprint};

/// Bytes counted per entry on top of the answer's JSON size (key, clock, bookkeeping).
pub const ENTRY_OVERHEAD_BYTES: u64 = 128;

/// Most embedded answers per semantic bucket (tenant × model × parameters × earlier turns).
/// When a bucket is full its oldest member leaves the index (the answer stays for exact
/// hits), so one semantic lookup compares at most this many vectors.
pub const MAX_BUCKET_ENTRIES: usize = 1024;

/// Limits of a [`MemoryCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// How long an answer stays valid.
    pub ttl: Duration,
    /// Most answers held.
    pub max_entries: u64,
    /// Most bytes held (answer JSON + embedding + [`ENTRY_OVERHEAD_BYTES`] per entry).
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

/// A stored answer's place in the semantic index.
struct Indexed {
    bucket: Fingerprint,
    /// L2-normalised.
    vector: Vec<f32>,
}

struct Entry {
    response: ChatCompletionResponse,
    size: u64,
    stored_at: Instant,
    indexed: Option<Indexed>,
}

struct Inner {
    entries: LruCache<Fingerprint, Entry>,
    /// Semantic bucket → the exact keys of its embedded answers, oldest first.
    buckets: HashMap<Fingerprint, VecDeque<Fingerprint>>,
    bytes: u64,
    stats: CacheStats,
}

impl Inner {
    /// Take `key` out of the cache and the index; its bytes are released.
    fn remove(&mut self, key: &Fingerprint) -> Option<Entry> {
        let entry = self.entries.pop(key)?;
        self.bytes = self.bytes.saturating_sub(entry.size);
        if let Some(ix) = &entry.indexed {
            self.unindex(&ix.bucket, key);
        }
        Some(entry)
    }

    fn unindex(&mut self, bucket: &Fingerprint, key: &Fingerprint) {
        if let Some(members) = self.buckets.get_mut(bucket) {
            members.retain(|k| k != key);
            if members.is_empty() {
                self.buckets.remove(bucket);
            }
        }
    }

    fn expire(&mut self, key: &Fingerprint) {
        if self.remove(key).is_some() {
            self.stats.expirations += 1;
        }
    }
}

/// Response cache in memory: exact matches by SHA-256 [`fingerprint()`] (tenant, resolved
/// model, every answer-changing request field), then, when a lookup asks for it, the most
/// similar embedded prompt of the same [`params_fingerprint()`] bucket.
pub struct MemoryCache {
    limits: CacheLimits,
    inner: Mutex<Inner>,
}

/// The in-memory cache under its earlier name.
pub type ExactCache = MemoryCache;

impl std::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCache")
            .field("limits", &self.limits)
            .field("stats", &self.stats())
            .finish()
    }
}

/// `v` scaled to unit length; `None` for an empty, zero or non-finite vector.
fn normalised(v: &[f32]) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm.is_finite() && norm > 0.0).then(|| v.iter().map(|x| x / norm).collect())
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl MemoryCache {
    /// An empty cache with `limits`.
    pub fn new(limits: CacheLimits) -> Self {
        MemoryCache {
            limits,
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                buckets: HashMap::new(),
                bytes: 0,
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
            bytes: inner.bytes,
            indexed: inner.buckets.values().map(|b| b.len() as u64).sum(),
            ..inner.stats
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The maps stay consistent under a panic elsewhere: every update is one call.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expired(&self, entry: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(entry.stored_at) >= self.limits.ttl
    }

    /// The answer stored under `key` if it is still valid at `now`.
    pub fn get_at(&self, key: &Fingerprint, now: Instant) -> Option<ChatCompletionResponse> {
        let mut inner = self.lock();
        let expired = self.expired(inner.entries.get(key)?, now);
        if expired {
            inner.expire(key);
            return None;
        }
        inner.entries.get(key).map(|e| e.response.clone())
    }

    /// The answer in semantic bucket `bucket` whose prompt embedding is most similar to
    /// `vector` (cosine), if that similarity is at least `min_similarity`; with the
    /// similarity. Expired answers met on the way are dropped.
    pub fn find_similar_at(
        &self,
        bucket: &Fingerprint,
        vector: &[f32],
        min_similarity: f64,
        now: Instant,
    ) -> Option<(ChatCompletionResponse, f64)> {
        let query = normalised(vector)?;
        let mut inner = self.lock();
        let mut best: Option<(Fingerprint, f32)> = None;
        let mut expired = Vec::new();
        for key in inner.buckets.get(bucket)? {
            let Some(entry) = inner.entries.peek(key) else {
                continue;
            };
            if self.expired(entry, now) {
                expired.push(*key);
                continue;
            }
            let Some(ix) = entry
                .indexed
                .as_ref()
                .filter(|ix| ix.vector.len() == query.len())
            else {
                continue;
            };
            let sim = dot(&query, &ix.vector);
            if best.is_none_or(|(_, b)| sim > b) {
                best = Some((*key, sim));
            }
        }
        for key in &expired {
            inner.expire(key);
        }
        let (key, sim) = best?;
        let sim = f64::from(sim).clamp(-1.0, 1.0);
        if sim < min_similarity {
            return None;
        }
        inner.entries.get(&key).map(|e| (e.response.clone(), sim))
    }

    /// Store `response` under `key` at `now`, if it is a complete answer that fits, and
    /// index it in semantic bucket `semantic.0` with embedding `semantic.1` when given;
    /// drop expired answers from the least recently used end, then evict the least
    /// recently used answers until both limits hold. Returns whether it was stored.
    pub fn put_at(
        &self,
        key: Fingerprint,
        response: &ChatCompletionResponse,
        semantic: Option<(Fingerprint, &[f32])>,
        now: Instant,
    ) -> bool {
        let complete = !response.choices.is_empty()
            && response.choices.iter().all(|c| c.finish_reason.is_some());
        let indexed =
            semantic.and_then(|(bucket, v)| normalised(v).map(|vector| Indexed { bucket, vector }));
        let vector_bytes = indexed.as_ref().map_or(0, |ix| {
            (ix.vector.len() * std::mem::size_of::<f32>()) as u64
        });
        let size = serde_json::to_vec(response)
            .map(|v| v.len() as u64 + ENTRY_OVERHEAD_BYTES + vector_bytes)
            .ok();
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(size) = size.filter(|s| complete && *s <= self.limits.max_bytes) else {
            inner.stats.refused += 1;
            return false;
        };
        inner.remove(&key);
        // Expired answers at the cold end go first, counted as expirations.
        while let Some((old_key, old)) = inner.entries.peek_lru() {
            if !self.expired(old, now) {
                break;
            }
            let old_key = *old_key;
            inner.expire(&old_key);
        }
        if let Some(ix) = &indexed {
            let members = inner.buckets.entry(ix.bucket).or_default();
            members.push_back(key);
            if members.len() > MAX_BUCKET_ENTRIES {
                if let Some(oldest) = members.pop_front() {
                    if let Some(e) = inner.entries.peek_mut(&oldest) {
                        if let Some(old_ix) = e.indexed.take() {
                            let freed = (old_ix.vector.len() * std::mem::size_of::<f32>()) as u64;
                            e.size = e.size.saturating_sub(freed);
                            inner.bytes = inner.bytes.saturating_sub(freed);
                        }
                    }
                }
            }
        }
        inner.entries.put(
            key,
            Entry {
                response: response.clone(),
                size,
                stored_at: now,
                indexed,
            },
        );
        inner.bytes += size;
        while inner.entries.len() as u64 > self.limits.max_entries
            || inner.bytes > self.limits.max_bytes
        {
            let Some(old_key) = inner.entries.peek_lru().map(|(k, _)| *k) else {
                break;
            };
            inner.remove(&old_key);
            inner.stats.evictions += 1;
        }
        true
    }

    /// [`ResponseCache::lookup`] at `now`: exact first, then semantic when asked for.
    pub fn lookup_at(&self, query: &CacheQuery<'_>, now: Instant) -> Option<CachedAnswer> {
        if let Some(response) = self.get_at(&fingerprint(query), now) {
            return Some(CachedAnswer {
                response,
                similarity: None,
            });
        }
        let min_similarity = query.min_similarity?;
        let embedding = query.embedding?;
        let bucket = params_fingerprint(query)?;
        self.find_similar_at(&bucket, embedding.vector, min_similarity, now)
            .map(|(response, similarity)| CachedAnswer {
                response,
                similarity: Some(similarity),
            })
    }

    /// [`ResponseCache::store`] at `now`; the answer is indexed for semantic lookups when
    /// the query carries an embedding and is eligible (see [`params_fingerprint()`]).
    pub fn store_at(
        &self,
        query: &CacheQuery<'_>,
        response: &ChatCompletionResponse,
        now: Instant,
    ) -> bool {
        let semantic = params_fingerprint(query)
            .zip(query.embedding)
            .map(|(bucket, e)| (bucket, e.vector));
        self.put_at(fingerprint(query), response, semantic, now)
    }
}

impl ResponseCache for MemoryCache {
    fn lookup<'a>(&'a self, query: &'a CacheQuery<'a>) -> BoxFuture<'a, Option<CachedAnswer>> {
        Box::pin(std::future::ready(self.lookup_at(query, Instant::now())))
    }

    fn store<'a>(
        &'a self,
        query: &'a CacheQuery<'a>,
        response: &'a ChatCompletionResponse,
    ) -> BoxFuture<'a, ()> {
        self.store_at(query, response, Instant::now());
        Box::pin(std::future::ready(()))
    }

    fn stats(&self) -> Option<CacheStats> {
        Some(MemoryCache::stats(self))
    }
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
