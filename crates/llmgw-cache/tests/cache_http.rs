//! The exact cache over HTTP: the simulated OpenAI provider and the gateway run in-process
//! on loopback; the simulator's request counter proves that a hit never went upstream.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use llmgw_cache::CacheLimits;
use llmgw_outcomes::CacheHit;
use serde_json::{json, Value};
use support::{body, limits, streamed, Gw, MODEL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_is_a_hit_that_never_reaches_upstream_and_costs_nothing() {
    let gw = Gw::default().await;
    let first = gw.chat(body("What is the capital of France?")).await;
    assert_eq!((first.status, first.cache.as_str()), (200, "miss"));
    let second = gw.chat(body("What is the capital of France?")).await;
    assert_eq!((second.status, second.cache.as_str()), (200, "hit"));
    assert_eq!(gw.sim.requests_seen(), 1, "the hit did not go upstream");
    assert_eq!(first.json()["choices"], second.json()["choices"]);
    assert_eq!(second.json()["model"], MODEL);
    assert!(
        second.json()["usage"]["completion_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );

    let recs = gw.records(2).await;
    let (hits, misses): (Vec<_>, Vec<_>) =
        recs.iter().partition(|r| r.cache_hit == CacheHit::Exact);
    assert_eq!((hits.len(), misses.len()), (1, 1));
    assert_eq!(hits[0].cost_usd, Some(0.0), "a hit costs nothing");
    assert!(misses[0].cost_usd.unwrap() > 0.0);
    assert_eq!(misses[0].cache_hit, CacheHit::None);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_parameters_messages_or_models_miss() {
    let gw = Gw::default().await;
    let base = body("Name a colour, as JSON.");
    assert_eq!(gw.chat(base.clone()).await.cache, "miss");
    let mut variants = Vec::new();
    for (k, v) in [
        ("temperature", json!(0.3)),
        ("max_tokens", json!(50)),
        ("seed", json!(42)),
        ("response_format", json!({"type": "json_object"})),
        ("model", json!("gpt-4o")),
    ] {
        let mut b = base.clone();
        b[k] = v;
        variants.push(b);
    }
    let mut with_system = base.clone();
    with_system["messages"] = json!([
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Name a colour, as JSON."}
    ]);
    variants.push(with_system);
    for b in &variants {
        let seen = gw.chat(b.clone()).await;
        assert_eq!((seen.status, seen.cache.as_str()), (200, "miss"), "{b}");
    }
    assert_eq!(gw.sim.requests_seen(), 1 + variants.len() as u64);
    // Each variant is now cached on its own.
    assert_eq!(gw.chat(variants[0].clone()).await.cache, "hit");
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_never_see_each_others_answers() {
    let gw = Gw::start(limits(Duration::from_secs(60)), true).await;
    let q = body("What did I ask you yesterday?");
    let a = [("authorization", "Bearer key_a")];
    let b = [("authorization", "Bearer key_b")];
    assert_eq!(gw.send(q.clone(), &a).await.cache, "miss");
    assert_eq!(gw.send(q.clone(), &b).await.cache, "miss");
    assert_eq!(
        gw.send(q.clone(), &[]).await.cache,
        "miss",
        "open callers too"
    );
    assert_eq!(gw.send(q.clone(), &a).await.cache, "hit");
    assert_eq!(gw.send(q, &b).await.cache, "hit");
    assert_eq!(gw.sim.requests_seen(), 3);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_and_plain_requests_replay_each_others_answers() {
    let gw = Gw::default().await;
    // Plain first, then a stream replays it, usage on the last chunk.
    let plain = gw.chat(body("Tell me a fact about owls.")).await;
    assert_eq!(plain.cache, "miss");
    let replay = gw.chat(streamed("Tell me a fact about owls.")).await;
    assert_eq!((replay.status, replay.cache.as_str()), (200, "hit"));
    assert_eq!(
        replay.streamed_text(),
        plain.json()["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
    );
    let chunks = replay.chunks();
    let last = chunks.last().unwrap();
    assert_eq!(
        last["usage"],
        plain.json()["usage"],
        "usage on the last chunk"
    );
    assert!(chunks.iter().all(|c| c["model"] == MODEL));

    // A stream first: stored once it completed, then a plain request replays it.
    let live = gw.chat(streamed("Tell me a fact about bats.")).await;
    assert_eq!((live.status, live.cache.as_str()), (200, "miss"));
    let plain = gw.chat(body("Tell me a fact about bats.")).await;
    assert_eq!(plain.cache, "hit");
    assert_eq!(
        plain.json()["choices"][0]["message"]["content"]
            .as_str()
            .unwrap(),
        live.streamed_text()
    );
    assert_eq!(plain.json()["choices"][0]["finish_reason"], "stop");
    // Without include_usage the replayed stream carries no usage.
    let mut no_usage = streamed("Tell me a fact about bats.");
    no_usage.as_object_mut().unwrap().remove("stream_options");
    let replay = gw.chat(no_usage).await;
    assert_eq!(replay.cache, "hit");
    assert!(replay
        .chunks()
        .iter()
        .all(|c| c.get("usage").is_none_or(Value::is_null)));
    assert_eq!(gw.sim.requests_seen(), 2);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_cut_answers_are_never_cached() {
    let gw = Gw::default().await;
    let cut = streamed("Count to ten. [[sim:cut_after=2]]");
    let first = gw.chat(cut.clone()).await;
    assert!(first.body.contains("\"error\""), "{}", first.body);
    assert!(!first.body.contains("[DONE]"));
    assert_eq!(
        gw.chat(cut).await.cache,
        "miss",
        "a cut stream was not stored"
    );

    let failing = body("Hello [[sim:status=400]]");
    let first = gw.chat(failing.clone()).await;
    assert_eq!((first.status, first.cache.as_str()), (400, "miss"));
    assert_eq!(
        gw.chat(failing).await.cache,
        "miss",
        "an error was not stored"
    );
    assert_eq!(gw.cache.stats().entries, 0);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_flag_or_cache_control_bypasses_the_cache() {
    let gw = Gw::default().await;
    let q = body("Bypass me.");
    let mut off = q.clone();
    off["cache"] = json!(false);
    let seen = gw.chat(off.clone()).await;
    assert_eq!((seen.status, seen.cache.as_str()), (200, "bypass"));
    assert_eq!(
        gw.cache.stats().entries,
        0,
        "a bypassed answer is not stored"
    );
    assert_eq!(gw.chat(q.clone()).await.cache, "miss");
    // Now cached, but still bypassed on request.
    assert_eq!(gw.chat(off).await.cache, "bypass");
    let seen = gw.send(q.clone(), &[("cache-control", "no-cache")]).await;
    assert_eq!((seen.status, seen.cache.as_str()), (200, "bypass"));
    assert_eq!(gw.sim.requests_seen(), 4, "every bypass went upstream");
    assert_eq!(gw.chat(q.clone()).await.cache, "hit");

    let mut bad = q;
    bad["cache"] = json!("sometimes");
    let seen = gw.chat(bad).await;
    assert_eq!(seen.status, 400);
    assert_eq!(seen.json()["error"]["param"], "cache");
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_expire_after_the_ttl() {
    let gw = Gw::start(limits(Duration::from_millis(300)), false).await;
    assert_eq!(gw.chat(body("Short-lived.")).await.cache, "miss");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(gw.chat(body("Short-lived.")).await.cache, "miss");
    assert_eq!(gw.sim.requests_seen(), 2);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_bound_evicts_over_http() {
    // Measure what the two answers weigh in the cache.
    let probe = Gw::default().await;
    probe.chat(body("Size probe one.")).await;
    let one = probe.cache.stats().bytes;
    probe.chat(body("Size probe two.")).await;
    let two = probe.cache.stats().bytes - one;
    probe.close().await;
    // Room for the larger of the two, not for both.
    let max_bytes = one.max(two) + one.min(two) / 2;
    let gw = Gw::start(
        CacheLimits {
            ttl: Duration::from_secs(60),
            max_entries: 100,
            max_bytes,
        },
        false,
    )
    .await;
    assert_eq!(gw.chat(body("Size probe one.")).await.cache, "miss");
    assert_eq!(gw.chat(body("Size probe two.")).await.cache, "miss");
    let stats = gw.cache.stats();
    assert_eq!((stats.entries, stats.evictions), (1, 1));
    assert!(stats.bytes <= max_bytes);
    assert_eq!(gw.chat(body("Size probe two.")).await.cache, "hit");
    assert_eq!(
        gw.chat(body("Size probe one.")).await.cache,
        "miss",
        "evicted"
    );
    gw.close().await;
}
