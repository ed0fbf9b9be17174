//! Helpers shared by the integration tests: records and a Parquet reader.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow::array::{Array, AsArray, RecordBatch};
use llmgw_outcomes::{list_files, Candidate, LogKind, OutcomeRecord};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// 2024-03-01T12:00:00Z.
pub const T0: u64 = 1_709_294_400;

pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub fn outcome(i: usize) -> OutcomeRecord {
    let mut r = OutcomeRecord::new(format!("req-{i:06}"), "auto", at(T0 + i as u64));
    r.completed_at = at(T0 + i as u64) + Duration::from_millis(300);
    r.model = Some(
        if i.is_multiple_of(2) {
            "gpt-4-1106-preview"
        } else {
            "mixtral-8x7b-instruct-v0.1"
        }
        .into(),
    );
    r.provider = Some("openai".into());
    r.prompt = Some(format!("Question number {i}: what is {i} + {i}?"));
    r.prompt_tokens = Some(20);
    r.completion_tokens = Some(5);
    r.cost_usd = Some(0.001);
    r.latency_ms = 300.0;
    r.candidates = vec![Candidate {
        model: "gpt-4-1106-preview".into(),
        provider: "openai".into(),
        predicted_quality: Some(0.9),
        estimated_cost_usd: Some(0.002),
        eligible: true,
        reason: None,
    }];
    r
}

/// Reads one Parquet file whole.
pub fn read_file(path: &Path) -> RecordBatch {
    let file = File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let schema = batches[0].schema();
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

pub fn files(root: &Path, kind: LogKind) -> Vec<PathBuf> {
    list_files(root, kind, None).unwrap()
}

/// Every `request_id` in the published files of `kind`, in file order.
pub fn ids_in_files(root: &Path, kind: LogKind) -> Vec<String> {
    let mut out = Vec::new();
    for f in files(root, kind) {
        let b = read_file(&f);
        let ids = b.column_by_name("request_id").unwrap().as_string::<i32>();
        out.extend((0..ids.len()).map(|i| ids.value(i).to_string()));
    }
    out
}

/// Polls `cond` every 10 ms for up to `secs` seconds.
pub async fn wait_until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}
