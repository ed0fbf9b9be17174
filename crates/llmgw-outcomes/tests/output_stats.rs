#![cfg(feature = "export")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Observed answer lengths per model, read back from the Parquet logs.

mod common;

use common::*;
use llmgw_outcomes::output_stats::observed_output_tokens;
use llmgw_outcomes::{CacheHit, LogConfig, OutcomeLog, OutcomeRecord};

fn answer(id: &str, model: &str, tokens: Option<u64>) -> OutcomeRecord {
    let mut r = OutcomeRecord::new(id, "auto", at(T0));
    r.model = Some(model.into());
    r.completion_tokens = tokens;
    r
}

#[test]
fn mean_completion_tokens_over_successful_uncached_answers() {
    let dir = tempfile::tempdir().unwrap();
    assert!(observed_output_tokens(dir.path()).unwrap().is_empty());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (log, writer) = OutcomeLog::start(LogConfig::new(dir.path())).unwrap();
        log.record(answer("a", "big", Some(100))).await.unwrap();
        log.record(answer("b", "big", Some(300))).await.unwrap();
        log.record(answer("c", "small", Some(10))).await.unwrap();
        // Not counted: a failure, a cache hit (no upstream answer), and no usage.
        let mut failed = answer("d", "big", Some(5));
        failed.status = 502;
        log.record(failed).await.unwrap();
        let mut hit = answer("e", "small", Some(1000));
        hit.cache_hit = CacheHit::Exact;
        log.record(hit).await.unwrap();
        log.record(answer("f", "small", None)).await.unwrap();
        writer.shutdown().await.unwrap();
    });
    let stats = observed_output_tokens(dir.path()).unwrap();
    assert_eq!(stats.len(), 2);
    assert_eq!(stats["big"].count, 2);
    assert!((stats["big"].mean_tokens - 200.0).abs() < 1e-9);
    assert_eq!(stats["small"].count, 1);
    assert!((stats["small"].mean_tokens - 10.0).abs() < 1e-9);
}
