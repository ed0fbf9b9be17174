//! Helpers shared by the translation tests.
#![allow(dead_code)]

use llmgw_types::{ChatCompletionChunk, FinishReason, Role, Usage};
use std::collections::BTreeMap;

/// One choice put back together from its chunks, as an OpenAI client library would.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Assembled {
    pub role: Option<Role>,
    pub content: String,
    /// index -> (id, name, arguments)
    pub tool_calls: BTreeMap<u32, (String, String, String)>,
    pub finish_reason: Option<FinishReason>,
}

/// Assembles every choice of a chunk sequence; also returns the usage chunk's usage.
pub fn assemble(chunks: &[ChatCompletionChunk]) -> (BTreeMap<u32, Assembled>, Option<Usage>) {
    let mut choices: BTreeMap<u32, Assembled> = BTreeMap::new();
    let mut usage = None;
    let ids: std::collections::BTreeSet<&str> = chunks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 1, "one id across the whole stream");
    for chunk in chunks {
        assert_eq!(chunk.object, "chat.completion.chunk");
        if let Some(u) = &chunk.usage {
            assert!(
                chunk.choices.is_empty(),
                "usage rides on a chunk without choices"
            );
            usage = Some(u.clone());
        }
        for c in &chunk.choices {
            let a = choices.entry(c.index).or_default();
            assert!(a.finish_reason.is_none(), "nothing after finish_reason");
            if let Some(r) = c.delta.role {
                assert!(a.role.is_none(), "role sent once");
                a.role = Some(r);
            }
            if let Some(t) = &c.delta.content {
                a.content.push_str(t);
            }
            for tc in c.delta.tool_calls.iter().flatten() {
                let entry = a.tool_calls.entry(tc.index);
                let slot = match entry {
                    std::collections::btree_map::Entry::Vacant(v) => {
                        let id = tc.id.clone().expect("first delta of a call carries its id");
                        let name = tc
                            .function
                            .as_ref()
                            .and_then(|f| f.name.clone())
                            .expect("first delta of a call carries its name");
                        v.insert((id, name, String::new()))
                    }
                    std::collections::btree_map::Entry::Occupied(o) => {
                        assert!(tc.id.is_none(), "id only on the first delta");
                        o.into_mut()
                    }
                };
                if let Some(args) = tc.function.as_ref().and_then(|f| f.arguments.as_ref()) {
                    slot.2.push_str(args);
                }
            }
            if c.finish_reason.is_some() {
                a.finish_reason = c.finish_reason;
            }
        }
    }
    (choices, usage)
}
