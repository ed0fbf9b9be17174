#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property tests for the three stream translators:
//! * any input — random text, random JSON, mutated real streams — gives chunks or an error,
//!   never a panic;
//! * any valid Anthropic or Gemini stream, split at random points, gives well-formed OpenAI
//!   chunks whose text and tool-call arguments, put back together, equal the originals.

mod common;

use common::assemble;
use llmgw_translate::anthropic::AnthropicStream;
use llmgw_translate::gemini::GeminiStream;
use llmgw_translate::openai::OpenAiStream;
use llmgw_types::{ChatCompletionChunk, FinishReason, Role};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};

// ---------- generators ----------

/// Any JSON value, a few levels deep (numbers are integers or exact binary fractions).
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<i32>().prop_map(|i| Value::from(f64::from(i) / 8.0)),
        "\\PC{0,10}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object (tool arguments).
fn arb_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[a-z_]{1,8}", arb_json(), 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// `s` cut at the char boundaries picked by `cuts` (pieces may be empty).
fn split(s: &str, cuts: &[Index]) -> Vec<String> {
    let bounds: Vec<usize> = s
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(s.len()))
        .collect();
    let mut at: Vec<usize> = cuts.iter().map(|c| bounds[c.index(bounds.len())]).collect();
    at.sort_unstable();
    let mut pieces = Vec::new();
    let mut prev = 0;
    for a in at {
        pieces.push(s[prev..a].to_string());
        prev = a;
    }
    pieces.push(s[prev..].to_string());
    pieces
}

/// A tool call: name, arguments as JSON text, and where to cut the text.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    args: Value,
    cuts: Vec<Index>,
}

fn arb_call() -> impl Strategy<Value = Call> {
    (
        "[a-z][a-z_]{0,11}",
        arb_object(),
        prop::collection::vec(any::<Index>(), 0..12),
    )
        .prop_map(|(name, args, cuts)| Call { name, args, cuts })
}

/// Text of the answer and where to cut it.
fn arb_text() -> impl Strategy<Value = (String, Vec<Index>)> {
    (
        prop_oneof![Just(String::new()), "\\PC{1,60}"],
        prop::collection::vec(any::<Index>(), 0..10),
    )
}

// ---------- Anthropic ----------

#[derive(Debug, Clone)]
struct AnthropicCase {
    text: String,
    text_cuts: Vec<Index>,
    calls: Vec<Call>,
    /// Start every tool block first and interleave their deltas.
    interleave: bool,
    order: Vec<Index>,
    pings: Vec<Index>,
}

fn arb_anthropic() -> impl Strategy<Value = AnthropicCase> {
    (
        arb_text(),
        prop::collection::vec(arb_call(), 0..4),
        any::<bool>(),
        prop::collection::vec(any::<Index>(), 64),
        prop::collection::vec(any::<Index>(), 0..4),
    )
        .prop_map(
            |((text, text_cuts), calls, interleave, order, pings)| AnthropicCase {
                text,
                text_cuts,
                calls,
                interleave,
                order,
                pings,
            },
        )
}

fn tool_delta(index: usize, piece: &str) -> Value {
    json!({"type": "content_block_delta", "index": index,
           "delta": {"type": "input_json_delta", "partial_json": piece}})
}

/// The `data:` payloads of the stream Anthropic would send for `case`.
fn anthropic_events(case: &AnthropicCase) -> Vec<String> {
    let mut ev = vec![json!({"type": "message_start", "message": {
        "id": "msg_01prop", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 25, "output_tokens": 1}}})];
    let mut block = 0;
    if !case.text.is_empty() {
        ev.push(json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}));
        for piece in split(&case.text, &case.text_cuts) {
            ev.push(json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}));
        }
        ev.push(json!({"type": "content_block_stop", "index": 0}));
        block = 1;
    }
    let pieces: Vec<Vec<String>> = case
        .calls
        .iter()
        .map(|c| split(&c.args.to_string(), &c.cuts))
        .collect();
    let start = |i: usize, c: &Call| {
        json!({"type": "content_block_start", "index": block + i,
               "content_block": {"type": "tool_use", "id": format!("toolu_{i}"), "name": c.name, "input": {}}})
    };
    if case.interleave {
        for (i, c) in case.calls.iter().enumerate() {
            ev.push(start(i, c));
        }
        // Merge the calls' pieces in a random order, each call's own order kept.
        let mut next = vec![0usize; pieces.len()];
        let mut k = 0;
        loop {
            let open: Vec<usize> = (0..pieces.len())
                .filter(|&i| next[i] < pieces[i].len())
                .collect();
            if open.is_empty() {
                break;
            }
            let i = open[case.order[k % case.order.len()].index(open.len())];
            k += 1;
            ev.push(tool_delta(block + i, &pieces[i][next[i]]));
            next[i] += 1;
        }
        for i in 0..case.calls.len() {
            ev.push(json!({"type": "content_block_stop", "index": block + i}));
        }
    } else {
        for (i, c) in case.calls.iter().enumerate() {
            ev.push(start(i, c));
            for piece in &pieces[i] {
                ev.push(tool_delta(block + i, piece));
            }
            ev.push(json!({"type": "content_block_stop", "index": block + i}));
        }
    }
    let stop = if case.calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    };
    ev.push(
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                   "usage": {"output_tokens": 77}}),
    );
    ev.push(json!({"type": "message_stop"}));
    for p in &case.pings {
        let at = 1 + p.index(ev.len() - 1);
        ev.insert(at, json!({"type": "ping"}));
    }
    ev.into_iter().map(|e| e.to_string()).collect()
}

fn run_anthropic(events: &[String]) -> Vec<ChatCompletionChunk> {
    let mut st = AnthropicStream::new("claude-test", 1, true);
    let mut chunks = Vec::new();
    for e in events {
        chunks.extend(st.feed(e).unwrap());
    }
    chunks.extend(st.finish().unwrap());
    chunks
}

// ---------- Gemini ----------

#[derive(Debug, Clone)]
enum GPart {
    Text(String),
    Call(String, Value),
}

fn arb_gemini_parts() -> impl Strategy<Value = Vec<GPart>> {
    prop::collection::vec(
        prop_oneof![
            "\\PC{1,20}".prop_map(GPart::Text),
            ("[a-z][a-z_]{0,11}", arb_object()).prop_map(|(n, a)| GPart::Call(n, a)),
        ],
        1..8,
    )
}

fn part_json(p: &GPart) -> Value {
    match p {
        GPart::Text(t) => json!({"text": t}),
        GPart::Call(name, args) => json!({"functionCall": {"name": name, "args": args}}),
    }
}

/// The `data:` payloads of a Gemini stream carrying `parts`, cut into events at `cuts`.
fn gemini_events(parts: &[GPart], cuts: &[Index]) -> Vec<String> {
    let mut at: Vec<usize> = cuts.iter().map(|c| 1 + c.index(parts.len())).collect();
    at.push(parts.len());
    at.sort_unstable();
    at.dedup();
    let mut events = Vec::new();
    let mut prev = 0;
    for (n, &end) in at.iter().enumerate() {
        let last = n + 1 == at.len();
        let body: Vec<Value> = parts[prev..end].iter().map(part_json).collect();
        let mut cand = json!({"content": {"parts": body, "role": "model"}, "index": 0});
        let mut ev = json!({"modelVersion": "gemini-test", "responseId": "resp-prop"});
        if last {
            cand["finishReason"] = json!("STOP");
            ev["usageMetadata"] =
                json!({"promptTokenCount": 9, "candidatesTokenCount": 30, "totalTokenCount": 39});
        }
        ev["candidates"] = json!([cand]);
        events.push(ev.to_string());
        prev = end;
    }
    events
}

// ---------- any input, never a panic ----------

fn feed_all(events: &[String]) {
    let mut a = AnthropicStream::new("m", 0, true);
    let mut g = GeminiStream::new("m", 0, true);
    let mut o = OpenAiStream::new(true);
    for e in events {
        let _ = a.feed(e);
        let _ = g.feed(e);
        let _ = o.feed(e);
    }
    let _ = a.finish();
    let _ = g.finish();
    let _ = o.finish();
}

/// JSON shaped like events of the three providers, with random values in the fields.
fn arb_event_like() -> impl Strategy<Value = Value> {
    let kind = prop::sample::select(vec![
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
        "thinking",
    ]);
    let anthropic = (
        kind,
        prop_oneof![any::<u32>().prop_map(Value::from), arb_json()],
        prop::option::of(prop_oneof![
            "\\PC{0,8}".prop_map(|t| json!({"type": "text_delta", "text": t})),
            "\\PC{0,8}".prop_map(|t| json!({"type": "input_json_delta", "partial_json": t})),
            "\\PC{0,8}"
                .prop_map(|n| json!({"type": "tool_use", "id": "t", "name": n, "input": {}})),
            arb_json(),
        ]),
        prop::option::of(arb_json()),
    )
        .prop_map(|(kind, index, delta, message)| {
            let mut e = json!({"type": kind, "index": index});
            if let Some(d) = delta {
                e["delta"] = d.clone();
                e["content_block"] = d;
            }
            if let Some(m) = message {
                e["message"] = m.clone();
                e["usage"] = m.clone();
                e["error"] = m;
            }
            e
        });
    let gemini = (
        prop::collection::vec(
            (
                prop::option::of(any::<u32>()),
                prop::collection::vec(
                    prop_oneof![
                        "\\PC{0,8}".prop_map(|t| json!({"text": t})),
                        ("\\PC{0,8}", arb_json())
                            .prop_map(|(n, a)| json!({"functionCall": {"name": n, "args": a}})),
                        arb_json(),
                    ],
                    0..3,
                ),
                prop::option::of(prop::sample::select(vec![
                    "STOP",
                    "MAX_TOKENS",
                    "SAFETY",
                    "OTHER",
                    "",
                ])),
            ),
            0..3,
        ),
        prop::option::of(arb_json()),
    )
        .prop_map(|(cands, extra)| {
            let cands: Vec<Value> = cands
                .into_iter()
                .map(|(index, parts, finish)| {
                    json!({"index": index, "content": {"parts": parts}, "finishReason": finish})
                })
                .collect();
            let mut e = json!({"candidates": cands});
            if let Some(x) = extra {
                e["usageMetadata"] = x.clone();
                e["promptFeedback"] = x.clone();
                e["error"] = x;
            }
            e
        });
    let openai = (
        prop::collection::vec(
            (
                any::<u32>(),
                prop::option::of("\\PC{0,8}"),
                prop::option::of(arb_json()),
                prop::option::of(prop::sample::select(vec!["stop", "length", "tool_calls", "weird"])),
            ),
            0..3,
        ),
        prop::option::of(arb_json()),
    )
        .prop_map(|(choices, usage)| {
            let choices: Vec<Value> = choices
                .into_iter()
                .map(|(index, content, calls, finish)| {
                    json!({"index": index, "delta": {"content": content, "tool_calls": calls}, "finish_reason": finish})
                })
                .collect();
            json!({"id": "c", "object": "chat.completion.chunk", "model": "m", "created": 1, "choices": choices, "usage": usage})
        });
    prop_oneof![anthropic, gemini, openai, arb_json()]
}

#[derive(Debug, Clone)]
enum Edit {
    Drop(Index),
    Duplicate(Index),
    Swap(Index, Index),
    Bytes(Index, Index, Vec<u8>),
    Truncate(Index, Index),
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<Index>().prop_map(Edit::Drop),
        any::<Index>().prop_map(Edit::Duplicate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        (
            any::<Index>(),
            any::<Index>(),
            prop::collection::vec(any::<u8>(), 0..6)
        )
            .prop_map(|(e, at, b)| Edit::Bytes(e, at, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(e, at)| Edit::Truncate(e, at)),
    ]
}

fn edit(mut events: Vec<String>, edits: &[Edit]) -> Vec<String> {
    for e in edits {
        if events.is_empty() {
            break;
        }
        let n = events.len();
        match e {
            Edit::Drop(i) => {
                events.remove(i.index(n));
            }
            Edit::Duplicate(i) => {
                let i = i.index(n);
                events.insert(i, events[i].clone());
            }
            Edit::Swap(a, b) => events.swap(a.index(n), b.index(n)),
            Edit::Bytes(i, at, bytes) => {
                let i = i.index(n);
                let mut raw = events[i].clone().into_bytes();
                let at = at.index(raw.len() + 1);
                raw.splice(at..at, bytes.iter().copied());
                events[i] = String::from_utf8_lossy(&raw).into_owned();
            }
            Edit::Truncate(i, at) => {
                let i = i.index(n);
                let cut = at.index(events[i].len() + 1);
                let cut = (0..=cut)
                    .rev()
                    .find(|c| events[i].is_char_boundary(*c))
                    .unwrap_or(0);
                events[i].truncate(cut);
            }
        }
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_text_never_panics(events in prop::collection::vec(
        prop_oneof!["\\PC{0,40}", prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()), Just("[DONE]".to_string())],
        0..8,
    )) {
        feed_all(&events);
    }

    #[test]
    fn random_event_shaped_json_never_panics(events in prop::collection::vec(arb_event_like(), 0..8)) {
        let events: Vec<String> = events.iter().map(Value::to_string).collect();
        feed_all(&events);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn mutated_real_streams_never_panic(
        case in arb_anthropic(),
        parts in arb_gemini_parts(),
        cuts in prop::collection::vec(any::<Index>(), 0..6),
        edits in prop::collection::vec(arb_edit(), 1..6),
    ) {
        feed_all(&edit(anthropic_events(&case), &edits));
        let gemini = gemini_events(&parts, &cuts);
        feed_all(&edit(gemini.clone(), &edits));
        // OpenAI chunks: what the Gemini translation produced, as an OpenAI server would send them.
        let mut g = GeminiStream::new("m", 0, true);
        let mut openai: Vec<String> = Vec::new();
        for e in &gemini {
            openai.extend(g.feed(e).unwrap().iter().map(|c| serde_json::to_string(c).unwrap()));
        }
        openai.push("[DONE]".into());
        feed_all(&edit(openai, &edits));
    }

    #[test]
    fn anthropic_split_stream_reassembles(case in arb_anthropic()) {
        let chunks = run_anthropic(&anthropic_events(&case));
        let (choices, usage) = assemble(&chunks);
        prop_assert_eq!(choices.len(), 1);
        let c = &choices[&0];
        prop_assert_eq!(c.role, Some(Role::Assistant));
        prop_assert_eq!(&c.content, &case.text);
        prop_assert_eq!(c.tool_calls.len(), case.calls.len());
        for (i, call) in case.calls.iter().enumerate() {
            let (id, name, args) = &c.tool_calls[&(i as u32)];
            prop_assert_eq!(id, &format!("toolu_{i}"));
            prop_assert_eq!(name, &call.name);
            prop_assert_eq!(args, &call.args.to_string());
        }
        let want = if case.calls.is_empty() { FinishReason::Stop } else { FinishReason::ToolCalls };
        prop_assert_eq!(c.finish_reason, Some(want));
        let usage = usage.expect("usage chunk when asked for");
        prop_assert_eq!((usage.prompt_tokens, usage.completion_tokens), (25, 77));
        prop_assert!(chunks.iter().all(|ch| ch.id == "msg_01prop" && ch.model == "claude-test"));
    }

    #[test]
    fn gemini_split_stream_reassembles(
        parts in arb_gemini_parts(),
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let mut st = GeminiStream::new("gemini-test", 1, true);
        let mut chunks = Vec::new();
        for e in gemini_events(&parts, &cuts) {
            chunks.extend(st.feed(&e).unwrap());
        }
        chunks.extend(st.finish().unwrap());
        let (choices, usage) = assemble(&chunks);
        let c = &choices[&0];
        prop_assert_eq!(c.role, Some(Role::Assistant));
        let text: String = parts.iter().filter_map(|p| match p {
            GPart::Text(t) => Some(t.as_str()),
            GPart::Call(..) => None,
        }).collect();
        prop_assert_eq!(&c.content, &text);
        let calls: Vec<(&String, &Value)> = parts.iter().filter_map(|p| match p {
            GPart::Call(n, a) => Some((n, a)),
            GPart::Text(_) => None,
        }).collect();
        prop_assert_eq!(c.tool_calls.len(), calls.len());
        let mut ids = std::collections::BTreeSet::new();
        for (i, (name, args)) in calls.iter().enumerate() {
            let (id, got_name, got_args) = &c.tool_calls[&(i as u32)];
            prop_assert!(ids.insert(id.clone()), "tool-call ids are distinct");
            prop_assert_eq!(got_name, *name);
            prop_assert_eq!(got_args, &args.to_string());
        }
        let want = if calls.is_empty() { FinishReason::Stop } else { FinishReason::ToolCalls };
        prop_assert_eq!(c.finish_reason, Some(want));
        prop_assert_eq!(usage.map(|u| u.total_tokens), Some(39));
    }

    #[test]
    fn openai_passthrough_keeps_every_chunk(parts in arb_gemini_parts(), cuts in prop::collection::vec(any::<Index>(), 0..8)) {
        let mut g = GeminiStream::new("m", 0, true);
        let mut sent = Vec::new();
        for e in gemini_events(&parts, &cuts) {
            sent.extend(g.feed(&e).unwrap());
        }
        sent.extend(g.finish().unwrap());
        let mut o = OpenAiStream::new(true);
        let mut got = Vec::new();
        for c in &sent {
            got.extend(o.feed(&serde_json::to_string(c).unwrap()).unwrap());
        }
        prop_assert!(o.feed("[DONE]").unwrap().is_empty());
        prop_assert!(o.finish().is_ok());
        prop_assert_eq!(got, sent);
    }
}

#[test]
fn split_covers_the_whole_string() {
    use proptest::strategy::ValueTree;
    let s = "añb€c";
    let cuts: Vec<Index> = Vec::new();
    assert_eq!(split(s, &cuts), vec![s.to_string()]);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..200 {
        let cuts = prop::collection::vec(any::<Index>(), 0..6)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        assert_eq!(split(s, &cuts).concat(), s);
    }
}
