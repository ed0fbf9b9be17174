//! Putting a stream back together, checking its shape.

use super::Answer;
use llmgw_types::ChatCompletionChunk;
use std::collections::BTreeMap;

/// Assembles chunks as an OpenAI client library does, checking the stream's shape on the way.
pub fn assemble(chunks: &[ChatCompletionChunk]) -> Answer {
    let mut a = Answer {
        chunks: chunks.len(),
        ..Default::default()
    };
    let mut calls: BTreeMap<u32, (String, String, String)> = BTreeMap::new();
    let first_id = chunks.first().map(|c| c.id.clone()).unwrap_or_default();
    let mut saw_role = false;
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk.object, "chat.completion.chunk");
        assert_eq!(chunk.id, first_id, "one id per stream");
        if let Some(u) = &chunk.usage {
            assert!(
                chunk.choices.is_empty(),
                "usage comes on a chunk without choices"
            );
            assert_eq!(i, chunks.len() - 1, "the usage chunk is the last one");
            a.usage = Some(u.clone());
        }
        for c in &chunk.choices {
            assert_eq!(c.index, 0);
            assert!(a.finish_reason.is_none(), "no delta after finish_reason");
            if c.delta.role.is_some() {
                assert!(!saw_role, "role is sent once");
                saw_role = true;
            }
            if let Some(t) = &c.delta.content {
                a.content.push_str(t);
            }
            for tc in c.delta.tool_calls.iter().flatten() {
                let f = tc.function.clone().unwrap_or_default();
                match calls.get_mut(&tc.index) {
                    None => {
                        let id = tc.id.clone().expect("a call's first delta carries its id");
                        let name = f
                            .name
                            .clone()
                            .expect("a call's first delta carries its name");
                        calls.insert(
                            tc.index,
                            (id, name, f.arguments.clone().unwrap_or_default()),
                        );
                    }
                    Some(slot) => {
                        assert!(tc.id.is_none() && f.name.is_none(), "id and name only once");
                        slot.2.push_str(f.arguments.as_deref().unwrap_or_default());
                    }
                }
            }
            if c.finish_reason.is_some() {
                a.finish_reason = c.finish_reason;
            }
        }
    }
    assert!(
        saw_role || chunks.is_empty(),
        "the stream announces the assistant role"
    );
    let indexes: Vec<u32> = calls.keys().copied().collect();
    assert_eq!(
        indexes,
        (0..calls.len() as u32).collect::<Vec<_>>(),
        "tool-call indexes are 0..n"
    );
    a.tool_calls = calls.into_values().collect();
    a
}
