#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The Redis response cache against a real `redis-server`: shared entries, tenants apart,
//! complete answers only, the TTL and per-entry bound, unreadable entries, and an outage that
//! costs lookups nothing.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use llmgw_redis::{RedisCache, RedisCacheLimits, RedisConnection, RedisSettings};
use llmgw_server::stages::cache::{CacheQuery, PromptEmbedding};
use llmgw_server::{Caller, ResponseCache};
use llmgw_types::{ChatCompletionRequest, ChatCompletionResponse};
use serde_json::json;
use support::RedisServer;

fn connection(server: &RedisServer, timeout_ms: u64) -> RedisConnection {
    RedisConnection::open(&RedisSettings {
        url: server.url(),
        timeout: Duration::from_millis(timeout_ms),
    })
    .unwrap()
}

fn cache(server: &RedisServer, max_entry_bytes: u64) -> RedisCache {
    RedisCache::new(
        connection(server, 300),
        "ctest",
        RedisCacheLimits {
            ttl: Duration::from_secs(30),
            max_entry_bytes,
        },
    )
}

fn request(text: &str) -> ChatCompletionRequest {
    serde_json::from_value(json!({
        "model": "m",
        "messages": [{"role": "user", "content": text}],
        "temperature": 0.0,
    }))
    .unwrap()
}

fn answer(text: &str, finish: Option<&str>) -> ChatCompletionResponse {
    serde_json::from_value(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": finish,
        }],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }))
    .unwrap()
}

fn caller(key: &str) -> Caller {
    Caller {
        key_id: Some(key.into()),
        tenant: Some(key.into()),
    }
}

fn query<'a>(caller: &'a Caller, req: &'a ChatCompletionRequest) -> CacheQuery<'a> {
    CacheQuery {
        caller,
        model: "m",
        request: req,
        embedding: None,
        min_similarity: None,
    }
}

/// Stores are written in the background: wait until `c` has the answer.
async fn eventually(c: &RedisCache, q: &CacheQuery<'_>) -> Option<ChatCompletionResponse> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Some(hit) = c.lookup(q).await {
            return Some(hit.response);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn entries_are_shared_between_instances_and_tenants_stay_apart() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, b) = (cache(&server, 1 << 20), cache(&server, 1 << 20));
    let (team, other) = (caller("team"), caller("other"));
    let req = request("hello");
    let q = query(&team, &req);
    assert!(a.lookup(&q).await.is_none());
    a.store(&q, &answer("hi there", Some("stop"))).await;
    let got = eventually(&b, &q)
        .await
        .expect("stored through a, found through b");
    assert_eq!(got.choices[0].message.content.as_deref(), Some("hi there"));
    assert!(
        b.lookup(&query(&other, &req)).await.is_none(),
        "other tenant"
    );
    let changed = request("hello!");
    assert!(b.lookup(&query(&team, &changed)).await.is_none());
    // Entries expire: `SET … PX ttl`.
    let key = a.redis_key(&llmgw_cache::fingerprint(&q));
    let pttl: i64 = connection(&server, 300)
        .query("PTTL", redis::cmd("PTTL").arg(&key))
        .await
        .unwrap();
    assert!((25_000..=30_000).contains(&pttl), "{pttl}");
    assert_eq!(b.stats().counts().hits, 1);
}

#[tokio::test]
async fn incomplete_and_oversized_answers_are_not_stored() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let c = cache(&server, 400);
    let team = caller("team");
    let (r1, r2, r3) = (request("one"), request("two"), request("three"));
    c.store(&query(&team, &r1), &answer("cut short", None))
        .await;
    c.store(
        &query(&team, &r2),
        &answer(&"long ".repeat(200), Some("stop")),
    )
    .await;
    assert!(c.put(&[7; 32], &answer("ok", Some("length"))).await);
    assert_eq!(c.stats().counts().refused, 2);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(c.lookup(&query(&team, &r1)).await.is_none());
    assert!(c.lookup(&query(&team, &r2)).await.is_none());
    assert!(c.get(&[7; 32]).await.is_some());
    // A stored answer that is not a complete response (another version, damage) is a miss
    // and is removed.
    let q3 = query(&team, &r3);
    let key = c.redis_key(&llmgw_cache::fingerprint(&q3));
    let con = connection(&server, 300);
    let _: () = con
        .query("SET", redis::cmd("SET").arg(&key).arg("{not json"))
        .await
        .unwrap();
    assert!(c.lookup(&q3).await.is_none());
    let exists: i64 = con
        .query("EXISTS", redis::cmd("EXISTS").arg(&key))
        .await
        .unwrap();
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn semantic_lookups_fall_back_to_this_instances_memory() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let limits = llmgw_cache::CacheLimits {
        ttl: Duration::from_secs(30),
        max_entries: 100,
        max_bytes: 1 << 20,
    };
    let c = cache(&server, 1 << 20)
        .with_local_semantic(Arc::new(llmgw_cache::MemoryCache::new(limits)));
    let team = caller("team");
    let (asked, near) = (request("what is rust"), request("what is rust?"));
    let v1 = [0.6f32, 0.8, 0.0];
    let v2 = [0.6f32, 0.79, 0.1];
    let embedded = |req, v| CacheQuery {
        embedding: Some(PromptEmbedding {
            vector: v,
            encoder: "test-encoder",
        }),
        ..query(&team, req)
    };
    c.store(&embedded(&asked, &v1), &answer("a language", Some("stop")))
        .await;
    // Exact lookups never match a near-duplicate…
    assert!(c.lookup(&embedded(&near, &v2)).await.is_none());
    // …a semantic one does, from this instance's memory.
    let q = CacheQuery {
        min_similarity: Some(0.95),
        ..embedded(&near, &v2)
    };
    let hit = c.lookup(&q).await.expect("similar prompt");
    assert!(hit.similarity.unwrap() > 0.95, "{:?}", hit.similarity);
    assert_eq!(
        hit.response.choices[0].message.content.as_deref(),
        Some("a language")
    );
}

#[tokio::test]
async fn an_outage_makes_lookups_miss_fast() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let c = cache(&server, 1 << 20);
    let team = caller("team");
    let req = request("during an outage");
    let q = query(&team, &req);
    server.stop();
    let started = Instant::now();
    assert!(c.lookup(&q).await.is_none());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // Right after a failure Redis is skipped: no wait at all.
    let started = Instant::now();
    for _ in 0..100 {
        assert!(c.lookup(&q).await.is_none());
    }
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    c.store(&q, &answer("lost", Some("stop"))).await;
    let counts = c.stats().counts();
    assert!(counts.errors >= 1 && counts.skipped >= 100, "{counts:?}");
}
