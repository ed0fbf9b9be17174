use super::*;
use llmgw_server::stages::cache::PromptEmbedding;
use llmgw_server::Caller;
use llmgw_types::{ChatCompletionRequest, Choice, FinishReason, ResponseMessage, Usage};
use serde_json::json;

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

fn ok(text: &str) -> ChatCompletionResponse {
    answer(text, Some(FinishReason::Stop))
}

#[test]
fn stores_and_returns_complete_answers_only() {
    let c = MemoryCache::new(limits(10, 1 << 20));
    let now = Instant::now();
    assert!(c.put_at(key(1), &ok("a"), None, now));
    assert_eq!(c.get_at(&key(1), now).unwrap().text(), Some("a"));
    assert!(!c.put_at(key(2), &answer("cut", None), None, now));
    assert!(c.get_at(&key(2), now).is_none());
    let mut empty = ok("x");
    empty.choices.clear();
    assert!(!c.put_at(key(3), &empty, None, now));
    assert_eq!(c.stats().refused, 2);
}

#[test]
fn answers_expire_after_the_ttl() {
    let c = MemoryCache::new(limits(10, 1 << 20));
    let now = Instant::now();
    c.put_at(key(1), &ok("a"), None, now);
    assert!(c.get_at(&key(1), now + Duration::from_secs(59)).is_some());
    assert!(c.get_at(&key(1), now + Duration::from_secs(60)).is_none());
    let s = c.stats();
    assert_eq!((s.entries, s.bytes, s.expirations), (0, 0, 1));
}

#[test]
fn expired_answers_at_the_cold_end_go_when_storing() {
    let c = MemoryCache::new(limits(10, 1 << 20));
    let now = Instant::now();
    c.put_at(key(1), &ok("a"), None, now);
    c.put_at(key(2), &ok("b"), None, now + Duration::from_secs(30));
    c.put_at(key(3), &ok("c"), None, now + Duration::from_secs(61));
    let s = c.stats();
    assert_eq!((s.entries, s.expirations, s.evictions), (2, 1, 0));
}

#[test]
fn the_byte_bound_evicts_the_least_recently_used() {
    let one = ok(&"x".repeat(1000));
    let size = serde_json::to_vec(&one).unwrap().len() as u64 + ENTRY_OVERHEAD_BYTES;
    // Room for three answers by bytes, many by count.
    let c = MemoryCache::new(limits(100, size * 3 + size / 2));
    let now = Instant::now();
    for n in 1..=3 {
        assert!(c.put_at(key(n), &one, None, now));
    }
    // Use 1, so 2 is the least recently used.
    assert!(c.get_at(&key(1), now).is_some());
    assert!(c.put_at(key(4), &one, None, now));
    assert!(c.get_at(&key(2), now).is_none(), "2 was evicted");
    for n in [1, 3, 4] {
        assert!(c.get_at(&key(n), now).is_some(), "{n} kept");
    }
    let s = c.stats();
    assert_eq!((s.entries, s.evictions), (3, 1));
    assert!(s.bytes <= c.limits().max_bytes);
    // An answer larger than the whole budget is refused and evicts nothing.
    let huge = ok(&"y".repeat(10_000));
    assert!(!c.put_at(key(9), &huge, None, now));
    assert_eq!(c.stats().entries, 3);
}

#[test]
fn the_entry_bound_evicts_the_least_recently_used() {
    let c = MemoryCache::new(limits(2, 1 << 20));
    let now = Instant::now();
    let a = ok("a");
    c.put_at(key(1), &a, None, now);
    c.put_at(key(2), &a, None, now);
    c.put_at(key(3), &a, None, now);
    assert!(c.get_at(&key(1), now).is_none());
    assert_eq!(c.stats().entries, 2);
}

// --- semantic index, with hand-made vectors (the real encoder is in tests/semantic_*) ---

const ENCODER: &str = "enc";

fn request(body: serde_json::Value) -> ChatCompletionRequest {
    serde_json::from_value(body).unwrap()
}

fn ask(text: &str) -> ChatCompletionRequest {
    request(json!({"model": "m", "messages": [{"role": "user", "content": text}]}))
}

fn query<'a>(
    caller: &'a Caller,
    model: &'a str,
    req: &'a ChatCompletionRequest,
    v: &'a [f32],
    min: Option<f64>,
) -> CacheQuery<'a> {
    CacheQuery {
        caller,
        model,
        request: req,
        embedding: Some(PromptEmbedding {
            vector: v,
            encoder: ENCODER,
        }),
        min_similarity: min,
    }
}

/// A unit vector at `deg` degrees in the first plane: cos(a - b) between two of them.
fn at(deg: f32) -> Vec<f32> {
    let r = deg.to_radians();
    vec![r.cos(), r.sin(), 0.0]
}

#[test]
fn a_similar_prompt_hits_with_its_similarity_and_a_distant_one_misses() {
    let c = MemoryCache::new(limits(100, 1 << 20));
    let open = Caller::default();
    let now = Instant::now();
    let first = ask("What is the capital of France?");
    assert!(c.store_at(
        &query(&open, "m", &first, &at(0.0), None),
        &ok("Paris"),
        now
    ));
    assert_eq!(c.stats().indexed, 1);

    let near = ask("What's the capital city of France?");
    // cos(10°) = 0.985 ≥ 0.95.
    let hit = c
        .lookup_at(&query(&open, "m", &near, &at(10.0), Some(0.95)), now)
        .expect("similar prompt hits");
    assert_eq!(hit.response.text(), Some("Paris"));
    let sim = hit.similarity.unwrap();
    assert!((sim - 10f64.to_radians().cos()).abs() < 1e-5, "{sim}");
    // cos(30°) = 0.866 < 0.95.
    assert!(c
        .lookup_at(&query(&open, "m", &near, &at(30.0), Some(0.95)), now)
        .is_none());
    // Without a threshold there is no semantic lookup at all.
    assert!(c
        .lookup_at(&query(&open, "m", &near, &at(0.0), None), now)
        .is_none());
    // A stricter threshold from the request is honoured.
    assert!(c
        .lookup_at(&query(&open, "m", &near, &at(10.0), Some(0.99)), now)
        .is_none());
    // The same request is an exact hit (no similarity reported).
    let exact = c
        .lookup_at(&query(&open, "m", &first, &at(40.0), Some(0.95)), now)
        .unwrap();
    assert_eq!(exact.similarity, None);
}

#[test]
fn the_best_match_wins() {
    let c = MemoryCache::new(limits(100, 1 << 20));
    let open = Caller::default();
    let now = Instant::now();
    c.store_at(&query(&open, "m", &ask("a"), &at(0.0), None), &ok("A"), now);
    c.store_at(
        &query(&open, "m", &ask("b"), &at(20.0), None),
        &ok("B"),
        now,
    );
    let hit = c
        .lookup_at(&query(&open, "m", &ask("c"), &at(16.0), Some(0.9)), now)
        .unwrap();
    assert_eq!(hit.response.text(), Some("B"));
}

#[test]
fn semantic_matches_stay_within_tenant_model_parameters_and_history() {
    let c = MemoryCache::new(limits(100, 1 << 20));
    let open = Caller::default();
    let now = Instant::now();
    let base = json!({"model": "m", "temperature": 0.0,
        "messages": [{"role": "system", "content": "Answer in French."},
                     {"role": "user", "content": "What is the capital of France?"}]});
    let stored = request(base.clone());
    c.store_at(
        &query(&open, "m", &stored, &at(0.0), None),
        &ok("Paris"),
        now,
    );
    let same_vec = at(0.0);

    // The same parameters and history with another final wording: hit.
    let mut near = base.clone();
    near["messages"][1]["content"] = json!("Capital of France?");
    let near = request(near);
    assert!(c
        .lookup_at(&query(&open, "m", &near, &same_vec, Some(0.95)), now)
        .is_some());

    let tenant_b = Caller {
        key_id: Some("key_b".into()),
        tenant: Some("b".into()),
    };
    assert!(
        c.lookup_at(&query(&tenant_b, "m", &near, &same_vec, Some(0.95)), now)
            .is_none(),
        "another tenant"
    );
    assert!(
        c.lookup_at(&query(&open, "other", &near, &same_vec, Some(0.95)), now)
            .is_none(),
        "another model"
    );
    let variants = [
        ("temperature", json!({"temperature": 0.7})),
        ("max_tokens", json!({"max_tokens": 5})),
        (
            "tools",
            json!({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}),
        ),
        (
            "system prompt",
            json!({"messages": [{"role": "system", "content": "Answer in German."},
            {"role": "user", "content": "Capital of France?"}]}),
        ),
        (
            "earlier turns",
            json!({"messages": [{"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Capital of France?"}]}),
        ),
    ];
    for (what, v) in variants {
        let mut body = base.clone();
        body["messages"][1]["content"] = json!("Capital of France?");
        for (k, val) in v.as_object().unwrap() {
            body[k] = val.clone();
        }
        let req = request(body);
        assert!(
            c.lookup_at(&query(&open, "m", &req, &same_vec, Some(0.95)), now)
                .is_none(),
            "{what} differs: must miss"
        );
    }
    // Vectors of another encoder are never compared.
    let other_encoder = CacheQuery {
        embedding: Some(PromptEmbedding {
            vector: &same_vec,
            encoder: "another-encoder",
        }),
        ..query(&open, "m", &near, &same_vec, Some(0.95))
    };
    assert!(c.lookup_at(&other_encoder, now).is_none());
}

#[test]
fn only_plain_text_user_turns_are_indexed() {
    let c = MemoryCache::new(limits(100, 1 << 20));
    let open = Caller::default();
    let now = Instant::now();
    let image = request(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}),
    );
    c.store_at(
        &query(&open, "m", &image, &at(0.0), None),
        &ok("A cat"),
        now,
    );
    let tool = request(json!({"model": "m", "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]}));
    c.store_at(&query(&open, "m", &tool, &at(0.0), None), &ok("Sunny"), now);
    let s = c.stats();
    assert_eq!((s.entries, s.indexed), (2, 0));
    let other_image = request(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/b.png"}}]}]}),
    );
    assert!(c
        .lookup_at(&query(&open, "m", &other_image, &at(0.0), Some(0.5)), now)
        .is_none());
}

#[test]
fn semantic_entries_expire_and_leave_the_index_when_evicted() {
    let c = MemoryCache::new(limits(2, 1 << 20));
    let open = Caller::default();
    let now = Instant::now();
    c.store_at(&query(&open, "m", &ask("a"), &at(0.0), None), &ok("A"), now);
    let (near, v) = (ask("a'"), at(1.0));
    let q = query(&open, "m", &near, &v, Some(0.95));
    assert!(c.lookup_at(&q, now + Duration::from_secs(59)).is_some());
    assert!(
        c.lookup_at(&q, now + Duration::from_secs(60)).is_none(),
        "expired"
    );
    let s = c.stats();
    assert_eq!((s.entries, s.indexed, s.expirations), (0, 0, 1));

    // Three indexed answers under a bound of two: the least recently used leaves the
    // cache and the index.
    for (i, text) in ["x", "y", "z"].iter().enumerate() {
        let (req, v) = (ask(text), at(40.0 * i as f32));
        c.store_at(&query(&open, "m", &req, &v, None), &ok(text), now);
    }
    let s = c.stats();
    assert_eq!((s.entries, s.indexed, s.evictions), (2, 2, 1));
    assert!(c
        .lookup_at(&query(&open, "m", &ask("x'"), &at(0.0), Some(0.95)), now)
        .is_none());
    assert!(c
        .lookup_at(&query(&open, "m", &ask("z'"), &at(80.0), Some(0.95)), now)
        .is_some());
}

#[test]
fn a_full_bucket_drops_its_oldest_vector_but_keeps_the_answer() {
    let c = MemoryCache::new(limits(10_000, 1 << 30));
    let open = Caller::default();
    let now = Instant::now();
    let texts: Vec<String> = (0..=MAX_BUCKET_ENTRIES).map(|i| format!("q{i}")).collect();
    for (i, t) in texts.iter().enumerate() {
        // Orthogonal directions: only q0's own vector is similar to q0's.
        let mut v = vec![0.0; MAX_BUCKET_ENTRIES + 1];
        v[i] = 1.0;
        c.store_at(&query(&open, "m", &ask(t), &v, None), &ok(t), now);
    }
    let s = c.stats();
    assert_eq!(s.entries, (MAX_BUCKET_ENTRIES + 1) as u64);
    assert_eq!(
        s.indexed, MAX_BUCKET_ENTRIES as u64,
        "the bucket is bounded"
    );
    // The oldest is still an exact hit, but no longer a semantic one.
    let mut first_vec = vec![0.0; MAX_BUCKET_ENTRIES + 1];
    first_vec[0] = 1.0;
    assert!(c
        .lookup_at(&query(&open, "m", &ask("q0"), &first_vec, None), now)
        .is_some());
    assert!(c
        .lookup_at(
            &query(&open, "m", &ask("q0 again"), &first_vec, Some(0.999)),
            now
        )
        .is_none());
}
