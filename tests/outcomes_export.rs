#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Outcome logs → `llmgw export` → the labelled-prompt reader of `llmgw train`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use llmgw_outcomes::{FeedbackRecord, LogConfig, OutcomeLog, OutcomeRecord};

fn write_logs(dir: &Path) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut cfg = LogConfig::new(dir);
        cfg.flush_interval = Duration::from_secs(60);
        let (log, writer) = OutcomeLog::start(cfg).unwrap();
        let answers = [
            (
                "r1",
                "gpt-4-1106-preview",
                "What is the capital of France?",
                1.0,
            ),
            (
                "r2",
                "mixtral-8x7b-instruct-v0.1",
                "What is the capital of France?",
                0.0,
            ),
            (
                "r3",
                "mixtral-8x7b-instruct-v0.1",
                "Sort [3, 1, 2] in Python.",
                0.75,
            ),
            ("r4", "gpt-4-1106-preview", "Nobody rates this one.", -1.0),
        ];
        for (id, model, prompt, quality) in answers {
            let mut r = OutcomeRecord::new(id, "auto", SystemTime::now());
            r.model = Some(model.into());
            r.prompt = Some(prompt.into());
            r.cost_usd = Some(0.001);
            log.record(r).await.unwrap();
            if quality >= 0.0 {
                log.feedback(FeedbackRecord::new(id, quality).unwrap())
                    .await
                    .unwrap();
            }
        }
        writer.shutdown().await.unwrap();
    });
}

#[test]
fn export_output_reads_back_as_labelled_prompts_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    write_logs(dir.path());
    for name in ["labelled.jsonl", "labelled.parquet"] {
        let out = dir.path().join(name);
        let status = Command::new(env!("CARGO_BIN_EXE_llmgw"))
            .args(["export", "--logs"])
            .arg(dir.path())
            .arg("--out")
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "llmgw export failed for {name}");
        let mut rows = llmgw_classifier::data::read_labelled(&out).unwrap();
        rows.sort_by(|a, b| a.prompt.cmp(&b.prompt));
        assert_eq!(rows.len(), 2, "{name}: {rows:?}");
        assert_eq!(rows[0].prompt, "Sort [3, 1, 2] in Python.");
        assert_eq!(
            rows[0].quality.len(),
            1,
            "{name}: unmeasured models must be absent"
        );
        assert_eq!(rows[0].quality["mixtral-8x7b-instruct-v0.1"], 0.75);
        assert_eq!(rows[1].quality["gpt-4-1106-preview"], 1.0);
        assert_eq!(rows[1].quality["mixtral-8x7b-instruct-v0.1"], 0.0);
        assert!(rows.iter().all(|r| r.id.starts_with("llmgw-")));
    }
}

#[test]
fn export_of_a_folder_without_logs_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.jsonl");
    let output = Command::new(env!("CARGO_BIN_EXE_llmgw"))
        .args(["export", "--logs"])
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no outcome files"), "{stderr}");
    assert!(!out.exists());
}
