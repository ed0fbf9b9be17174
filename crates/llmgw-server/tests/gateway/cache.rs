//! The cache seam: a minimal exact cache behind `ResponseCache` is consulted before the
//! call, stores complete answers, and hits replay as JSON or as a stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use llmgw_server::stages::cache::{CacheQuery, CachedAnswer};
use llmgw_server::ResponseCache;
use llmgw_types::ChatCompletionResponse;
use serde_json::json;

use crate::support::{chat, sse_events, TestGateway};

#[derive(Default)]
struct MemCache {
    entries: Mutex<HashMap<String, ChatCompletionResponse>>,
}

fn key(q: &CacheQuery<'_>) -> String {
    format!(
        "{}|{}",
        q.model,
        serde_json::to_string(&q.request.messages).unwrap()
    )
}

impl ResponseCache for MemCache {
    fn lookup<'a>(&'a self, q: &'a CacheQuery<'a>) -> BoxFuture<'a, Option<CachedAnswer>> {
        let hit = self
            .entries
            .lock()
            .unwrap()
            .get(&key(q))
            .map(|r| CachedAnswer {
                response: r.clone(),
                similarity: None,
            });
        Box::pin(std::future::ready(hit))
    }
    fn store<'a>(
        &'a self,
        q: &'a CacheQuery<'a>,
        response: &'a ChatCompletionResponse,
    ) -> BoxFuture<'a, ()> {
        self.entries
            .lock()
            .unwrap()
            .insert(key(q), response.clone());
        Box::pin(std::future::ready(()))
    }
}

#[tokio::test]
async fn hits_skip_the_upstream_and_replay_as_json_or_stream() {
    let cache = Arc::new(MemCache::default());
    let gw = TestGateway::start_with(false, Some(cache.clone())).await;
    let first: serde_json::Value = gw
        .post("/v1/chat/completions", chat("weak", "cache me"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        cache.entries.lock().unwrap().len(),
        1,
        "a complete answer is offered"
    );
    let second: serde_json::Value = gw
        .post("/v1/chat/completions", chat("weak", "cache me"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["choices"], second["choices"]);
    assert_eq!(
        gw.upstreams["alpha"].seen.lock().unwrap().len(),
        1,
        "the hit did not go upstream"
    );

    let mut body = chat("weak", "cache me");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let text = gw
        .post("/v1/chat/completions", body)
        .await
        .text()
        .await
        .unwrap();
    let events = sse_events(&text);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let content: String = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str::<serde_json::Value>(e).unwrap())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(
        content,
        first["choices"][0]["message"]["content"].as_str().unwrap()
    );
    assert!(text.contains("\"usage\""));
    assert_eq!(gw.upstreams["alpha"].seen.lock().unwrap().len(), 1);
}
