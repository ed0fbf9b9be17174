#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property tests: the request parser never panics on any input, and whatever it accepts
//! survives a serialise/parse round trip unchanged.

use llmgw_types::{ChatCompletionRequest, ErrorBody};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Real request bodies shaped like OpenAI's API reference.
fn real_payloads() -> Vec<Vec<u8>> {
    [
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello!"}]}),
        json!({
            "model": "auto",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21°C"}
            ],
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
            "tool_choice": "auto", "parallel_tool_calls": true,
            "temperature": 0.7, "max_tokens": 256, "stop": "\n\n", "seed": 42,
            "stream": true, "stream_options": {"include_usage": true},
            "route": {"policy": "cheap"}, "logit_bias": {"50256": -100}
        }),
        json!({
            "model": "claude-3-5-haiku",
            "messages": [{"role": "developer", "content": [{"type": "text", "text": "JSON only"}]},
                         {"role": "user", "content": "List three colours", "name": "bob"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "colours", "strict": true,
                "schema": {"type": "object", "properties": {"colours": {"type": "array", "items": {"type": "string"}}}}}},
            "max_completion_tokens": 100, "n": 1, "presence_penalty": 0.5, "frequency_penalty": -0.5,
            "tool_choice": {"type": "function", "function": {"name": "x"}}
        }),
    ]
    .iter()
    .map(|v| serde_json::to_vec(v).unwrap())
    .collect()
}

/// Any JSON value, a few levels deep. Numbers are integers or exact binary fractions, so a
/// round trip through text cannot change them.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<i32>().prop_map(|i| Value::from(f64::from(i) / 8.0)),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,10}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid value for a request field.
fn valid_field(name: &'static str) -> BoxedStrategy<Value> {
    match name {
        "model" => "[a-z0-9.-]{1,20}".prop_map(Value::from).boxed(),
        "messages" => prop::collection::vec(valid_message(), 1..4)
            .prop_map(Value::Array)
            .boxed(),
        "stream" | "parallel_tool_calls" => any::<bool>().prop_map(Value::from).boxed(),
        "temperature" | "top_p" => (0i32..16).prop_map(|i| json!(f64::from(i) / 8.0)).boxed(),
        "max_tokens" | "max_completion_tokens" | "n" => any::<u32>().prop_map(Value::from).boxed(),
        "seed" => any::<i64>().prop_map(Value::from).boxed(),
        "stop" => prop_oneof![
            "\\PC{0,5}".prop_map(Value::from),
            prop::collection::vec("\\PC{0,5}", 0..3).prop_map(|v| json!(v))
        ]
        .boxed(),
        "tool_choice" => prop_oneof![
            prop::sample::select(vec!["auto", "none", "required"]).prop_map(Value::from),
            "[a-z]{1,6}".prop_map(|n| json!({"type": "function", "function": {"name": n}})),
        ]
        .boxed(),
        "response_format" => prop_oneof![
            prop::sample::select(vec!["text", "json_object"]).prop_map(|t| json!({"type": t})),
            ("[a-z]{1,6}", arb_json()).prop_map(|(n, schema)| {
                json!({"type": "json_schema", "json_schema": {"name": n, "schema": schema}})
            }),
        ]
        .boxed(),
        "tools" => prop::collection::vec(
            ("[a-z_]{1,8}", arb_json()).prop_map(
                |(n, p)| json!({"type": "function", "function": {"name": n, "parameters": p}}),
            ),
            0..3,
        )
        .prop_map(Value::Array)
        .boxed(),
        "stream_options" => any::<bool>()
            .prop_map(|b| json!({"include_usage": b}))
            .boxed(),
        "user" => "\\PC{0,8}".prop_map(Value::from).boxed(),
        // Fields the gateway does not model: anything goes (kept in `extra`).
        _ => arb_json().boxed(),
    }
}

fn valid_message() -> impl Strategy<Value = Value> {
    let role = prop::sample::select(vec!["system", "developer", "user", "assistant", "tool"]);
    let content = prop_oneof![
        "\\PC{0,16}".prop_map(Value::from),
        prop::collection::vec(
            prop_oneof![
                "\\PC{0,8}".prop_map(|t| json!({"type": "text", "text": t})),
                "\\PC{0,8}".prop_map(|u| json!({"type": "image_url", "image_url": {"url": u}})),
            ],
            0..3
        )
        .prop_map(Value::Array),
    ];
    (role, content).prop_map(|(role, content)| json!({"role": role, "content": content}))
}

const FIELDS: [&str; 18] = [
    "model",
    "messages",
    "stream",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "seed",
    "stop",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "stream_options",
    "user",
    "route",
    "logit_bias",
];

/// Request-shaped objects: a valid request (required fields always, others at random), then
/// often one to three fields replaced or removed, or a message corrupted.
fn arb_request_object() -> impl Strategy<Value = Value> {
    let picks: Vec<BoxedStrategy<Option<(String, Value)>>> = FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let kv = valid_field(f).prop_map(move |v| (f.to_string(), v));
            if i < 2 {
                kv.prop_map(Some).boxed()
            } else {
                prop::option::weighted(0.5, kv).boxed()
            }
        })
        .collect();
    let corruption = prop::collection::vec(
        (
            prop::sample::select(FIELDS.to_vec()),
            prop::option::of(arb_json()),
        ),
        0..3,
    );
    let bad_message = prop::option::weighted(0.2, (any::<prop::sample::Index>(), arb_json()));
    (any::<bool>(), picks, corruption, bad_message).prop_map(
        |(corrupt, kvs, corruptions, bad_message)| {
            let mut obj: Map<String, Value> = kvs.into_iter().flatten().collect();
            if !corrupt {
                return Value::Object(obj);
            }
            for (field, value) in corruptions {
                match value {
                    Some(v) => obj.insert(field.to_string(), v),
                    None => obj.remove(field),
                };
            }
            if let (Some((at, v)), Some(Value::Array(msgs))) =
                (bad_message, obj.get_mut("messages"))
            {
                if !msgs.is_empty() {
                    let i = at.index(msgs.len());
                    msgs[i] = v;
                }
            }
            Value::Object(obj)
        },
    )
}

/// A byte-level edit of a payload.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 0usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (
            any::<usize>(),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..8),
                prop::sample::select(vec![
                    b"{".to_vec(),
                    b"}".to_vec(),
                    b"\"".to_vec(),
                    b",".to_vec(),
                    b"null".to_vec(),
                    b"\\u00".to_vec(),
                    b"1e999".to_vec(),
                    b"-".to_vec(),
                    b"[".to_vec(),
                    b"\xff\xfe".to_vec(),
                ])
            ]
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0usize..32).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Flip(i, b) => {
                if !bytes.is_empty() {
                    let i = i % len;
                    bytes[i] ^= b | 1;
                }
            }
            Mutation::Delete(i, n) => {
                let start = i % len;
                let end = (start + n).min(bytes.len());
                if start < end {
                    bytes.drain(start..end);
                }
            }
            Mutation::Insert(i, b) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, b.iter().copied());
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
            Mutation::Duplicate(i, n) => {
                let start = i % len;
                let end = (start + n).min(bytes.len());
                if start < end {
                    let piece: Vec<u8> = bytes[start..end].to_vec();
                    bytes.splice(end..end, piece);
                }
            }
        }
    }
    bytes
}

/// Whatever parses must serialise and parse back to the same request.
fn check_round_trip(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(req) = serde_json::from_slice::<ChatCompletionRequest>(bytes) {
        let text = serde_json::to_vec(&req).expect("a parsed request serialises");
        let back: ChatCompletionRequest =
            serde_json::from_slice(&text).expect("a serialised request parses");
        prop_assert_eq!(back, req);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = serde_json::from_slice::<ChatCompletionRequest>(&bytes);
    }

    #[test]
    fn random_json_never_panics(v in arb_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        check_round_trip(&bytes)?;
        let _ = serde_json::from_value::<ChatCompletionRequest>(v);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn request_shaped_json_parses_or_fails_cleanly(v in arb_request_object()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        match serde_json::from_slice::<ChatCompletionRequest>(&bytes) {
            Ok(req) => {
                // Accepted requests carry what was sent.
                prop_assert_eq!(Some(&Value::from(req.model.clone())), v.get("model"));
                prop_assert!(v.get("messages").is_some_and(Value::is_array));
                check_round_trip(&bytes)?;
            }
            Err(e) => {
                // The message is usable as an OpenAI error for the client.
                let body = ErrorBody::invalid_request(e.to_string());
                prop_assert!(!body.error.message.is_empty());
                prop_assert_eq!(body.default_status(), 400);
            }
        }
    }

    #[test]
    fn mutated_real_payloads_never_panic(
        which in 0usize..3,
        mutations in prop::collection::vec(arb_mutation(), 1..6),
    ) {
        let bytes = mutate(real_payloads()[which].clone(), &mutations);
        check_round_trip(&bytes)?;
    }
}

#[test]
fn real_payloads_parse() {
    for p in real_payloads() {
        serde_json::from_slice::<ChatCompletionRequest>(&p).unwrap();
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for open in ["[", "{\"a\":"] {
        let mut body = String::from("{\"model\":\"m\",\"messages\":[],\"x\":");
        body.push_str(&open.repeat(100_000));
        let err = serde_json::from_str::<ChatCompletionRequest>(&body).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
    }
}

#[test]
fn request_generator_produces_both_valid_and_invalid_requests() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = arb_request_object();
    let mut ok = 0;
    for _ in 0..400 {
        let v = strategy.new_tree(&mut runner).unwrap().current();
        ok += usize::from(serde_json::from_value::<ChatCompletionRequest>(v).is_ok());
    }
    // The property above is only meaningful if both branches are well exercised.
    assert!((40..=360).contains(&ok), "{ok} of 400 parsed");
}
