//! The semantic cache over HTTP, with the shipped router's encoder: near-duplicates are
//! answered from the cache with their similarity in the headers and the outcome record,
//! different questions go upstream, and the prompt is embedded once per request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use llmgw_cache::CacheLimits;
use llmgw_config::DEFAULT_SIMILARITY_THRESHOLD;
use llmgw_outcomes::CacheHit;
use llmgw_server::AutoRouting;
use serde_json::{json, Value};
use support::{body, limits, streamed, CountingPredictor, Gw, Setup, MODEL};

const FRANCE: &str = "What is the capital of France?";
const FRANCE_AGAIN: &str = "What's the capital city of France?";
const POPULATION: &str = "What is the population of France?";

async fn semantic_gateway(config_on: bool, predictor: &Arc<CountingPredictor>) -> Gw {
    let mut setup = Setup::new(limits(Duration::from_secs(60)));
    setup.semantic = Some((config_on, DEFAULT_SIMILARITY_THRESHOLD));
    setup.auto = Some(AutoRouting::enabled(predictor.clone()));
    Gw::start_with(setup).await
}

fn similarity(seen: &support::Seen) -> f64 {
    seen.header("x-llmgw-cache-similarity")
        .parse()
        .unwrap_or_else(|_| panic!("no similarity header: {:?}", seen.headers))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paraphrase_hits_and_a_different_question_misses_with_the_shipped_encoder() {
    let p = CountingPredictor::load();
    let gw = semantic_gateway(true, &p).await;
    let first = gw.chat(body(FRANCE)).await;
    assert_eq!((first.status, first.cache.as_str()), (200, "miss"));
    assert_eq!(p.calls(), 1, "a named model is embedded once for the cache");

    let near = gw.chat(body(FRANCE_AGAIN)).await;
    assert_eq!((near.status, near.cache.as_str()), (200, "hit"));
    assert_eq!(near.header("x-llmgw-cache-match"), "semantic");
    let sim = similarity(&near);
    assert!(
        (DEFAULT_SIMILARITY_THRESHOLD..1.0).contains(&sim),
        "similarity {sim}"
    );
    assert_eq!(near.json()["choices"], first.json()["choices"]);

    let other = gw.chat(body(POPULATION)).await;
    assert_eq!((other.status, other.cache.as_str()), (200, "miss"));
    assert_eq!(other.header("x-llmgw-cache-match"), "");

    let exact = gw.chat(body(FRANCE)).await;
    assert_eq!(exact.cache, "hit");
    assert_eq!(exact.header("x-llmgw-cache-match"), "exact");
    assert_eq!(exact.header("x-llmgw-cache-similarity"), "");
    assert_eq!(gw.sim.requests_seen(), 2, "both hits stayed in the gateway");
    assert_eq!(p.calls(), 4, "one encoder pass per request");

    let recs = gw.records(4).await;
    let semantic: Vec<_> = recs
        .iter()
        .filter(|r| r.cache_hit == CacheHit::Semantic)
        .collect();
    assert_eq!(semantic.len(), 1);
    let rec = semantic[0];
    assert!((f64::from(rec.cache_similarity.unwrap()) - sim).abs() < 1e-3);
    assert_eq!(rec.cost_usd, Some(0.0));
    assert_eq!(rec.prompt.as_deref(), Some(FRANCE_AGAIN));
    assert_eq!(rec.prompt_embedding.as_ref().map(Vec::len), Some(384));
    assert_eq!(
        rec.embedding_model.as_deref(),
        Some("sentence-transformers/all-MiniLM-L6-v2")
    );
    assert_eq!(
        recs.iter()
            .filter(|r| r.cache_hit == CacheHit::Exact)
            .count(),
        1
    );
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_opt_in_and_set_their_own_threshold() {
    let p = CountingPredictor::load();
    let gw = semantic_gateway(false, &p).await;
    assert_eq!(gw.chat(body(FRANCE)).await.cache, "miss");
    assert_eq!(
        p.calls(),
        0,
        "no semantic lookup asked for: nothing embedded"
    );
    assert_eq!(
        gw.cache.stats().indexed,
        0,
        "a named model without an embedding is cached exactly only"
    );
    let mut opt_in = body(FRANCE);
    opt_in["cache"] = json!({"semantic": true});
    assert_eq!(gw.chat(opt_in).await.cache, "hit", "exact hit first");
    // Store an embedded answer, then match it.
    let mut store = body("How do I reverse a list in Python?");
    store["cache"] = json!({"semantic": true});
    assert_eq!(gw.chat(store).await.cache, "miss");
    assert_eq!(gw.cache.stats().indexed, 1);
    let calls = p.calls();
    let plain = body("How can I reverse a Python list?");
    assert_eq!(gw.chat(plain).await.cache, "miss", "not opted in");
    assert_eq!(p.calls(), calls, "and not embedded");
    let mut strict = body("How can I reverse a list in Python?");
    strict["cache"] = json!({"min_similarity": 0.999});
    assert_eq!(
        gw.chat(strict).await.cache,
        "miss",
        "stricter than the match"
    );
    let mut loose = body("How would I reverse a Python list?");
    loose["temperature"] = json!(0.0);
    loose["cache"] = json!({"semantic": true});
    assert_eq!(
        gw.chat(loose.clone()).await.cache,
        "miss",
        "another temperature is another bucket"
    );
    loose.as_object_mut().unwrap().remove("temperature");
    let hit = gw.chat(loose).await;
    assert_eq!(
        (
            hit.cache.as_str(),
            hit.header("x-llmgw-cache-match").as_str()
        ),
        ("hit", "semantic")
    );
    assert_eq!(gw.sim.requests_seen(), 5);

    let mut bad = body(FRANCE);
    bad["cache"] = json!({"min_similarity": 1.5});
    let seen = gw.chat(bad).await;
    assert_eq!(seen.status, 400);
    assert_eq!(seen.json()["error"]["param"], "cache.min_similarity");
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_routing_reuses_its_own_embedding() {
    let p = CountingPredictor::load();
    let gw = semantic_gateway(true, &p).await;
    // Pin the candidate so that both requests resolve to the same model.
    let auto = |text: &str| {
        json!({"model": "auto", "route": {"models": [MODEL]},
               "messages": [{"role": "user", "content": text}]})
    };
    let first = gw.chat(auto(FRANCE)).await;
    assert_eq!(
        (first.status, first.cache.as_str()),
        (200, "miss"),
        "{}",
        first.body
    );
    let near = gw.chat(auto(FRANCE_AGAIN)).await;
    assert_eq!(
        (
            near.cache.as_str(),
            near.header("x-llmgw-cache-match").as_str()
        ),
        ("hit", "semantic")
    );
    assert_eq!(p.calls(), 2, "routing's pass served the cache too");
    assert_eq!(
        p.embedding_calls(),
        2,
        "routing computed the sentence embedding"
    );
    assert_eq!(gw.sim.requests_seen(), 1);
    // A stream replays the semantic hit.
    let mut stream = streamed(FRANCE_AGAIN);
    stream["model"] = json!("auto");
    stream["route"] = json!({"models": [MODEL]});
    let replay = gw.chat(stream).await;
    assert_eq!(
        (
            replay.status,
            replay.cache.as_str(),
            replay.header("x-llmgw-cache-match").as_str()
        ),
        (200, "hit", "semantic")
    );
    assert!(similarity(&replay) >= DEFAULT_SIMILARITY_THRESHOLD);
    assert_eq!(
        replay.streamed_text(),
        first.json()["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
    );
    let chunks = replay.chunks();
    assert_eq!(chunks.last().unwrap()["usage"], first.json()["usage"]);
    assert_eq!(gw.sim.requests_seen(), 1);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_semantic_lookup_routing_skips_the_sentence_embedding() {
    let p = CountingPredictor::load();
    let gw = semantic_gateway(false, &p).await;
    let auto = json!({"model": "auto", "route": {"models": [MODEL]},
                      "messages": [{"role": "user", "content": FRANCE}]});
    let routed = gw.chat(auto.clone()).await;
    assert_eq!((routed.status, routed.cache.as_str()), (200, "miss"));
    assert_eq!(p.calls(), 1);
    assert_eq!(
        p.embedding_calls(),
        0,
        "no semantic lookup: the encoder stops at the router's layers"
    );
    // The same request opting in to the semantic cache asks for the embedding.
    let mut opted = auto;
    opted["messages"][0]["content"] = json!(FRANCE_AGAIN);
    opted["cache"] = json!({"semantic": true});
    let hit = gw.chat(opted).await;
    assert_eq!(
        (
            hit.cache.as_str(),
            hit.header("x-llmgw-cache-match").as_str()
        ),
        ("miss", "")
    );
    assert_eq!((p.calls(), p.embedding_calls()), (2, 1));
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantic_hits_never_cross_tenants_or_conversations() {
    let p = CountingPredictor::load();
    let mut setup = Setup::new(limits(Duration::from_secs(60)));
    setup.semantic = Some((true, DEFAULT_SIMILARITY_THRESHOLD));
    setup.auto = Some(AutoRouting::enabled(p.clone()));
    setup.keyed = true;
    let gw = Gw::start_with(setup).await;
    let a = [("authorization", "Bearer key_a")];
    let b = [("authorization", "Bearer key_b")];
    assert_eq!(gw.send(body(FRANCE), &a).await.cache, "miss");
    assert_eq!(
        gw.send(body(FRANCE_AGAIN), &b).await.cache,
        "miss",
        "tenant b"
    );
    assert_eq!(
        gw.send(body(FRANCE_AGAIN), &a).await.cache,
        "hit",
        "tenant a"
    );

    // Same final question, another system prompt or history: another conversation.
    let conversation = |system: &str| -> Value {
        json!({"model": MODEL, "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": FRANCE_AGAIN}]})
    };
    let french = conversation("Answer in French.");
    assert_eq!(gw.send(french.clone(), &a).await.cache, "miss");
    assert_eq!(
        gw.send(conversation("Answer in one word."), &a).await.cache,
        "miss"
    );
    let mut reworded = french;
    reworded["messages"][1]["content"] = json!(FRANCE);
    assert_eq!(gw.send(reworded, &a).await.cache, "hit");
    assert_eq!(gw.sim.requests_seen(), 4);
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantic_answers_expire() {
    let p = CountingPredictor::load();
    let mut setup = Setup::new(limits(Duration::from_millis(400)));
    setup.semantic = Some((true, DEFAULT_SIMILARITY_THRESHOLD));
    setup.auto = Some(AutoRouting::enabled(p.clone()));
    let gw = Gw::start_with(setup).await;
    assert_eq!(gw.chat(body(FRANCE)).await.cache, "miss");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(gw.chat(body(FRANCE_AGAIN)).await.cache, "miss", "expired");
    let stats = gw.cache.stats();
    assert!(stats.expirations >= 1, "{stats:?}");
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_router_serves_the_semantic_cache() {
    let mut setup = Setup::new(limits(Duration::from_secs(60)));
    setup.semantic = Some((true, DEFAULT_SIMILARITY_THRESHOLD));
    setup.auto = Some(llmgw_server::load_router(std::path::Path::new(
        support::ROUTER_DIR,
    )));
    let gw = Gw::start_with(setup).await;
    assert_eq!(gw.chat(body(FRANCE)).await.cache, "miss");
    let near = gw.chat(body(FRANCE_AGAIN)).await;
    assert_eq!(near.header("x-llmgw-cache-match"), "semantic");
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_router_a_semantic_request_is_refused_clearly() {
    let mut setup = Setup::new(limits(Duration::from_secs(60)));
    setup.semantic = Some((false, DEFAULT_SIMILARITY_THRESHOLD));
    let gw = Gw::start_with(setup).await;
    let mut q = body(FRANCE);
    q["cache"] = json!({"semantic": true});
    let seen = gw.chat(q).await;
    assert_eq!(seen.status, 400, "{}", seen.body);
    assert_eq!(seen.json()["error"]["code"], "semantic_cache_unavailable");
    assert_eq!(gw.sim.requests_seen(), 0);
    // Exact caching works as before.
    assert_eq!(gw.chat(body(FRANCE)).await.cache, "miss");
    assert_eq!(gw.chat(body(FRANCE)).await.cache, "hit");
    gw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_hits_by_kind_sizes_and_evictions() {
    let p = CountingPredictor::load();
    let mut setup = Setup::new(CacheLimits {
        ttl: Duration::from_secs(60),
        max_entries: 2,
        max_bytes: 1 << 20,
    });
    setup.semantic = Some((true, DEFAULT_SIMILARITY_THRESHOLD));
    setup.auto = Some(AutoRouting::enabled(p.clone()));
    let gw = Gw::start_with(setup).await;
    gw.chat(body(FRANCE)).await; // miss
    gw.chat(body(FRANCE)).await; // exact hit
    gw.chat(body(FRANCE_AGAIN)).await; // semantic hit
    let mut off = body(POPULATION);
    off["cache"] = json!(false);
    gw.chat(off).await; // bypass
    gw.chat(body("How do I reverse a list in Python?")).await; // miss
    gw.chat(body("Who wrote War and Peace?")).await; // miss: evicts one (max 2)
    let stats = gw.cache.stats();
    let text = gw.metrics().await;
    for line in [
        r#"llmgw_cache_hits_total{match="exact"} 1"#.to_string(),
        r#"llmgw_cache_hits_total{match="semantic"} 1"#.to_string(),
        r#"llmgw_cache_lookups_total{result="hit"} 2"#.to_string(),
        r#"llmgw_cache_lookups_total{result="miss"} 3"#.to_string(),
        r#"llmgw_cache_lookups_total{result="bypass"} 1"#.to_string(),
        r#"llmgw_cache_entries{index="all"} 2"#.to_string(),
        r#"llmgw_cache_entries{index="semantic"} 2"#.to_string(),
        format!("llmgw_cache_bytes {}", stats.bytes),
        r#"llmgw_cache_evictions_total{reason="lru"} 1"#.to_string(),
        r#"llmgw_cache_evictions_total{reason="ttl"} 0"#.to_string(),
    ] {
        assert!(text.contains(&line), "{line} in:\n{text}");
    }
    assert!(
        stats.bytes > 2 * 384 * 4,
        "embeddings are counted: {stats:?}"
    );
    gw.close().await;
}
