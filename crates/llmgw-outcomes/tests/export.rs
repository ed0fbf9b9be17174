#![cfg(feature = "export")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Outcomes + feedback → labelled prompts.

mod common;

use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Float64Type;
use common::*;
use llmgw_outcomes::export::{export, labelled_prompts, ExportError};
use llmgw_outcomes::{FeedbackRecord, LogConfig, OutcomeLog, OutcomeRecord};

fn rec(id: &str, model: &str, prompt: &str, day: u64, cost: f64) -> OutcomeRecord {
    let mut r = OutcomeRecord::new(id, "auto", at(T0 + day * 86_400));
    r.model = Some(model.into());
    r.prompt = Some(prompt.into());
    r.cost_usd = Some(cost);
    r.source = Some("app/chat".into());
    r
}

fn fb(id: &str, q: f64, secs: u64) -> FeedbackRecord {
    let mut f = FeedbackRecord::new(id, q).unwrap();
    f.received_at = at(T0 + 3 * 86_400 + secs);
    f
}

/// Writes the sample logs on a runtime of their own, then returns to plain threads: export
/// runs outside any runtime, as `llmgw export` does.
fn write_sample_logs(root: &std::path::Path) {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(sample_logs(root));
}

/// Writes a log with: a prompt answered by two models, repeated feedback, a request
/// without feedback, unknown feedback, and (from a second writer sharing the folder)
/// an outcome stored without its prompt text.
async fn sample_logs(root: &std::path::Path) {
    let mut cfg = LogConfig::new(root);
    cfg.flush_interval = Duration::from_secs(3600);
    let (log, writer) = OutcomeLog::start(cfg.clone()).unwrap();
    log.record(rec("a", "gpt-4", "What is 2+2?", 0, 0.01))
        .await
        .unwrap();
    log.record(rec("b", "mixtral", "What is 2+2?", 0, 0.001))
        .await
        .unwrap();
    log.record(rec(
        "c",
        "mixtral",
        "Prove Fermat's last theorem.",
        1,
        0.002,
    ))
    .await
    .unwrap();
    log.record(rec("d", "mixtral", "No one rated this.", 1, 0.002))
        .await
        .unwrap();
    let mut failed = rec("e", "x", "Failed before routing.", 1, 0.0);
    failed.model = None;
    failed.status = 503;
    log.record(failed).await.unwrap();
    // The later judgement on `c` is written first: the latest by time wins, not by file.
    log.feedback(fb("c", 0.0, 50)).await.unwrap();
    log.flush().await.unwrap();
    log.feedback(fb("a", 1.0, 1)).await.unwrap();
    log.feedback(fb("b", 0.5, 2)).await.unwrap();
    log.feedback(fb("c", 1.0, 10)).await.unwrap();
    log.feedback(fb("e", 0.0, 11)).await.unwrap();
    log.feedback(fb("ghost", 1.0, 12)).await.unwrap();
    writer.shutdown().await.unwrap();

    let mut private = cfg;
    private.store_prompts = false;
    let (log, writer) = OutcomeLog::start(private).unwrap();
    log.record(rec("p", "gpt-4", "Secret prompt.", 1, 0.01))
        .await
        .unwrap();
    log.feedback(fb("p", 1.0, 20)).await.unwrap();
    writer.shutdown().await.unwrap();
}

#[test]
fn joins_latest_feedback_merges_models_and_counts_what_it_skips() {
    let dir = tempfile::tempdir().unwrap();
    write_sample_logs(dir.path());
    let (rows, summary) = labelled_prompts(dir.path(), None).unwrap();

    assert_eq!(rows.len(), 2, "{rows:?}");
    let two_plus_two = rows.iter().find(|r| r.prompt == "What is 2+2?").unwrap();
    assert_eq!(two_plus_two.quality.get("gpt-4"), Some(&1.0));
    assert_eq!(two_plus_two.quality.get("mixtral"), Some(&0.5));
    assert_eq!(two_plus_two.cost_usd.get("gpt-4"), Some(&0.01));
    assert_eq!(two_plus_two.source, "app/chat");
    assert!(two_plus_two.id.starts_with("llmgw-") && two_plus_two.id.len() == 22);
    let fermat = rows.iter().find(|r| r.prompt.starts_with("Prove")).unwrap();
    assert_eq!(
        fermat.quality.get("mixtral"),
        Some(&0.0),
        "latest feedback wins"
    );
    assert_eq!(fermat.quality.len(), 1);

    assert_eq!(summary.outcomes, 6);
    assert_eq!(summary.feedback_requests, 6); // a b c e ghost p
    assert_eq!(summary.skipped_no_feedback, 1); // d
    assert_eq!(summary.feedback_unmatched, 1); // ghost
    assert_eq!(summary.skipped_no_model, 1); // e
    assert_eq!(summary.skipped_no_prompt, 1); // p
    assert_eq!(summary.exported_outcomes, 3);
    assert_eq!(summary.labelled_prompts, 2);
}

#[test]
fn since_limits_the_partitions_read() {
    let dir = tempfile::tempdir().unwrap();
    write_sample_logs(dir.path());
    // Day 1 (2024-03-02) holds c, d, e and p; a and b are a day older.
    let (rows, summary) = labelled_prompts(dir.path(), Some("2024-03-02")).unwrap();
    assert_eq!(summary.outcomes, 4);
    assert_eq!(rows.len(), 1);
    assert!(rows[0].prompt.starts_with("Prove"));
    assert!(matches!(
        labelled_prompts(dir.path(), Some("March 2")),
        Err(ExportError::BadSince(_))
    ));
}

#[test]
fn writes_jsonl_in_the_labelled_prompt_format() {
    let dir = tempfile::tempdir().unwrap();
    write_sample_logs(dir.path());
    let out = dir.path().join("labelled.jsonl");
    let summary = export(dir.path(), &out, None).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), summary.labelled_prompts);
    for line in &lines {
        for key in ["id", "source", "prompt"] {
            assert!(line[key].is_string(), "{key} in {line}");
        }
        let q = line["quality"].as_object().unwrap();
        assert!(!q.is_empty());
        assert!(q
            .values()
            .all(|v| (0.0..=1.0).contains(&v.as_f64().unwrap())));
        assert!(line["cost_usd"].is_object());
    }
}

#[test]
fn writes_parquet_with_a_float_field_per_model() {
    let dir = tempfile::tempdir().unwrap();
    write_sample_logs(dir.path());
    let out = dir.path().join("labelled.parquet");
    export(dir.path(), &out, None).unwrap();
    let b = read_file(&out);
    assert_eq!(b.num_rows(), 2);
    let schema = b.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, vec!["id", "source", "prompt", "quality", "cost_usd"]);
    let quality = b.column_by_name("quality").unwrap().as_struct();
    assert_eq!(quality.column_names(), vec!["gpt-4", "mixtral"]);
    let prompts = b.column_by_name("prompt").unwrap().as_string::<i32>();
    let fermat = (0..2)
        .find(|&i| prompts.value(i).starts_with("Prove"))
        .unwrap();
    // Fermat was answered by mixtral only: gpt-4 is null (not measured), not 0.
    assert!(quality.column(0).is_null(fermat));
    assert_eq!(
        quality
            .column(1)
            .as_primitive::<Float64Type>()
            .value(fermat),
        0.0
    );
}

#[test]
fn nothing_to_export_is_an_error_that_says_why() {
    let dir = tempfile::tempdir().unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (log, writer) = OutcomeLog::start(LogConfig::new(dir.path())).unwrap();
        log.record(rec("a", "gpt-4", "hi", 0, 0.0)).await.unwrap();
        writer.shutdown().await.unwrap();
    });
    let err = export(dir.path(), &dir.path().join("x.jsonl"), None).unwrap_err();
    assert!(err.to_string().contains("1 without feedback"), "{err}");
    assert!(!dir.path().join("x.jsonl").exists());
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        export(empty.path(), &empty.path().join("x.jsonl"), None),
        Err(ExportError::NoOutcomes(_))
    ));
}

#[test]
fn polars_reads_pending_rows_and_files_of_a_view_alike() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cfg = LogConfig::new(dir.path());
    cfg.flush_interval = Duration::from_secs(3600);
    cfg.max_rows_per_file = 4;
    let (log, writer) = rt.block_on(async { OutcomeLog::start(cfg) }).unwrap();
    rt.block_on(async {
        for i in 0..6 {
            log.record(rec(&format!("r{i}"), "gpt-4", "hi", 0, 0.5))
                .await
                .unwrap();
        }
        log.flush().await.unwrap();
        log.record(rec("r6", "mixtral", "hi", 0, 0.25))
            .await
            .unwrap();
        log.record(rec("r7", "mixtral", "hi", 0, 0.25))
            .await
            .unwrap();
    });
    // Wait until the writer has taken both from the queue.
    while log.snapshot().outcomes.len() < 2 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let view = log.view(None).unwrap();
    assert_eq!(view.outcome_files.len(), 2); // 4 + 2 rows
    let pending = ParquetReader::new(std::io::Cursor::new(
        view.pending
            .to_parquet(llmgw_outcomes::LogKind::Outcomes)
            .unwrap(),
    ))
    .finish()
    .unwrap();
    let files = llmgw_outcomes::export::scan_parquet_files(&view.outcome_files)
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(files.height(), 6);
    assert_eq!(pending.height(), 2);
    let all = files.vstack(&pending).unwrap();
    let cost: f64 = all
        .column("cost_usd")
        .unwrap()
        .f64()
        .unwrap()
        .sum()
        .unwrap();
    assert!((cost - (6.0 * 0.5 + 2.0 * 0.25)).abs() < 1e-9);
    rt.block_on(writer.shutdown()).unwrap();
}
