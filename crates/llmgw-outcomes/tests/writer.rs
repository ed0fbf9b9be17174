#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The writer end to end: rotation, atomic files, back-pressure, shutdown, privacy, views.

mod common;

use std::fs;
use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Float32Type;
use common::*;
use llmgw_outcomes::{
    prompt_sha256, FeedbackRecord, LogConfig, LogError, LogKind, OutcomeLog, STAGING_DIR,
};

fn config(dir: &std::path::Path) -> LogConfig {
    let mut cfg = LogConfig::new(dir);
    // Long enough that only size or an explicit flush/shutdown writes, unless a test says so.
    cfg.flush_interval = Duration::from_secs(3600);
    cfg
}

#[tokio::test]
async fn shutdown_writes_every_queued_record() {
    let dir = tempfile::tempdir().unwrap();
    let (log, writer) = OutcomeLog::start(config(dir.path())).unwrap();
    for i in 0..1000 {
        log.record(outcome(i)).await.unwrap();
    }
    for i in 0..10 {
        log.feedback(FeedbackRecord::new(format!("req-{i:06}"), 0.5).unwrap())
            .await
            .unwrap();
    }
    // Nothing is due yet: the rows are pending, not on disk.
    assert!(files(dir.path(), LogKind::Outcomes).is_empty());
    let stats = writer.shutdown().await.unwrap();
    assert_eq!(stats.outcomes_written, 1000);
    assert_eq!(stats.feedback_written, 10);
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.pending_rows, 0);

    let ids = ids_in_files(dir.path(), LogKind::Outcomes);
    let expected: Vec<String> = (0..1000).map(|i| format!("req-{i:06}")).collect();
    assert_eq!(ids, expected, "every record once, in arrival order");
    assert_eq!(ids_in_files(dir.path(), LogKind::Feedback).len(), 10);
    // Nothing left in staging, and the log now refuses records.
    assert_eq!(
        fs::read_dir(dir.path().join(STAGING_DIR)).unwrap().count(),
        0
    );
    assert!(matches!(
        log.record(outcome(1)).await,
        Err(LogError::Closed)
    ));
    assert_eq!(log.stats().rejected, 1);
}

#[tokio::test]
async fn rotates_by_row_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_rows_per_file = 100;
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    for i in 0..350 {
        log.record(outcome(i)).await.unwrap();
    }
    assert!(wait_until(10, || log.stats().files_written >= 3).await);
    let sizes: Vec<usize> = files(dir.path(), LogKind::Outcomes)
        .iter()
        .map(|f| read_file(f).num_rows())
        .collect();
    assert_eq!(sizes, vec![100, 100, 100]);
    // The rest waits in memory and is visible in the snapshot.
    let snap = log.snapshot();
    assert_eq!(snap.outcomes.len(), 50);
    assert_eq!(snap.outcomes[0].request_id, "req-000300");
    writer.shutdown().await.unwrap();
    assert_eq!(files(dir.path(), LogKind::Outcomes).len(), 4);
}

#[tokio::test]
async fn rotates_by_buffered_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_bytes_per_file = 50_000;
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    for i in 0..40 {
        let mut r = outcome(i);
        r.prompt = Some(format!("{i} {}", "x".repeat(10_000)));
        log.record(r).await.unwrap();
    }
    let stats = writer.shutdown().await.unwrap();
    // ~10 KB per row and 50 KB per file: at least 8 files, none above 5 rows.
    assert!(stats.files_written >= 8, "{stats:?}");
    for f in files(dir.path(), LogKind::Outcomes) {
        assert!(read_file(&f).num_rows() <= 5);
    }
    assert_eq!(ids_in_files(dir.path(), LogKind::Outcomes).len(), 40);
}

#[tokio::test]
async fn rotates_by_age_without_any_flush_call() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.flush_interval = Duration::from_millis(200);
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    for i in 0..5 {
        log.record(outcome(i)).await.unwrap();
    }
    assert!(
        wait_until(10, || log.stats().outcomes_written == 5).await,
        "rows older than the flush interval must be written on their own"
    );
    assert_eq!(ids_in_files(dir.path(), LogKind::Outcomes).len(), 5);
    assert_eq!(log.snapshot().outcomes.len(), 0);
    writer.shutdown().await.unwrap();
}

#[tokio::test]
async fn partitions_by_utc_date_of_arrival() {
    let dir = tempfile::tempdir().unwrap();
    let (log, writer) = OutcomeLog::start(config(dir.path())).unwrap();
    let mut late = outcome(1);
    late.received_at = at(T0 + 86_400);
    log.record(outcome(0)).await.unwrap();
    log.record(late).await.unwrap();
    writer.shutdown().await.unwrap();
    let dates: Vec<String> = files(dir.path(), LogKind::Outcomes)
        .iter()
        .map(|f| {
            f.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(dates, vec!["date=2024-03-01", "date=2024-03-02"]);
}

#[tokio::test]
async fn flush_publishes_everything_queued_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (log, writer) = OutcomeLog::start(config(dir.path())).unwrap();
    for i in 0..7 {
        log.record(outcome(i)).await.unwrap();
    }
    log.feedback(FeedbackRecord::new("req-000001", 1.0).unwrap())
        .await
        .unwrap();
    log.flush().await.unwrap();
    assert_eq!(ids_in_files(dir.path(), LogKind::Outcomes).len(), 7);
    assert_eq!(
        ids_in_files(dir.path(), LogKind::Feedback),
        vec!["req-000001"]
    );
    assert_eq!(log.queue_depth(), 0);
    writer.shutdown().await.unwrap();
}

#[tokio::test]
async fn prompt_privacy_stores_hash_and_embedding_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.store_prompts = false;
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    let secret = "my password is hunter2, summarise my medical file";
    let mut r = outcome(0);
    r.prompt = Some(secret.into());
    r.prompt_embedding = Some(vec![0.1, 0.2, 0.3]);
    r.embedding_model = Some("all-MiniLM-L6-v2".into());
    log.record(r).await.unwrap();
    log.flush().await.unwrap();
    // Not in memory either: the snapshot already went through the rule.
    assert!(log.snapshot().outcomes.is_empty());
    writer.shutdown().await.unwrap();

    let f = &files(dir.path(), LogKind::Outcomes)[0];
    let b = read_file(f);
    assert!(b.column_by_name("prompt").unwrap().is_null(0));
    assert_eq!(
        b.column_by_name("prompt_sha256")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        prompt_sha256(secret)
    );
    let emb = b
        .column_by_name("prompt_embedding")
        .unwrap()
        .as_list::<i32>()
        .value(0);
    assert_eq!(
        emb.as_primitive::<Float32Type>().values().to_vec(),
        vec![0.1, 0.2, 0.3]
    );
    let raw = fs::read(f).unwrap();
    assert!(
        !raw.windows(8).any(|w| w == b"hunter2,"),
        "prompt text found in the file"
    );
}

#[tokio::test]
async fn default_mode_stores_prompt_text() {
    let dir = tempfile::tempdir().unwrap();
    let (log, writer) = OutcomeLog::start(config(dir.path())).unwrap();
    log.record(outcome(3)).await.unwrap();
    writer.shutdown().await.unwrap();
    let b = read_file(&files(dir.path(), LogKind::Outcomes)[0]);
    let text = "Question number 3: what is 3 + 3?";
    assert_eq!(
        b.column_by_name("prompt")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        text
    );
    assert_eq!(
        b.column_by_name("prompt_sha256")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        prompt_sha256(text)
    );
}

/// Makes writes fail by putting a file where the staging folder must be.
fn break_disk(root: &std::path::Path) {
    let staging = root.join(STAGING_DIR);
    fs::remove_dir_all(&staging).unwrap();
    fs::write(&staging, b"not a folder").unwrap();
}

fn repair_disk(root: &std::path::Path) {
    fs::remove_file(root.join(STAGING_DIR)).unwrap();
}

#[tokio::test]
async fn a_full_queue_makes_record_wait_and_nothing_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.queue_capacity = 4;
    cfg.max_rows_per_file = 2;
    cfg.max_buffered_rows = 2;
    cfg.flush_interval = Duration::from_millis(100);
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    break_disk(dir.path());

    // Two rows fill the writer's buffer (their write fails), four fill the queue.
    for i in 0..6 {
        tokio::time::timeout(Duration::from_secs(5), log.record(outcome(i)))
            .await
            .expect("the queue had room")
            .unwrap();
    }
    assert!(wait_until(5, || log.stats().write_errors >= 1).await);
    assert_eq!(log.queue_depth(), 4);

    // The seventh must wait for room instead of being dropped.
    let log7 = log.clone();
    let blocked = tokio::spawn(async move { log7.record(outcome(6)).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !blocked.is_finished(),
        "record() returned although the queue was full"
    );
    assert_eq!(log.queue_depth(), 4);
    assert_eq!(log.stats().dropped, 0);

    repair_disk(dir.path());
    tokio::time::timeout(Duration::from_secs(10), blocked)
        .await
        .expect("record() resumed once the writer caught up")
        .unwrap()
        .unwrap();
    let stats = writer.shutdown().await.unwrap();
    assert_eq!(stats.dropped, 0);
    assert!(stats.write_errors >= 1);
    let mut ids = ids_in_files(dir.path(), LogKind::Outcomes);
    ids.sort();
    let expected: Vec<String> = (0..7).map(|i| format!("req-{i:06}")).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn record_detached_waits_in_a_task_when_the_queue_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.queue_capacity = 1;
    cfg.max_rows_per_file = 1;
    cfg.max_buffered_rows = 1;
    cfg.flush_interval = Duration::from_millis(100);
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    break_disk(dir.path());
    log.record(outcome(0)).await.unwrap(); // stuck in the writer
    log.record(outcome(1)).await.unwrap(); // fills the queue
    assert!(wait_until(5, || log.queue_depth() == 1).await);
    assert!(log
        .record_detached(outcome(2))
        .is_some_and(|h| !h.is_finished()));
    let waiting = log
        .record_detached(outcome(3))
        .expect("queue is full: a task waits");
    repair_disk(dir.path());
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // With room again, the record is queued at once.
    assert!(wait_until(5, || log.queue_depth() == 0).await);
    assert!(log.record_detached(outcome(4)).is_none());
    writer.shutdown().await.unwrap();
    let mut ids = ids_in_files(dir.path(), LogKind::Outcomes);
    ids.sort();
    assert_eq!(ids.len(), 5, "{ids:?}");
}

#[tokio::test]
async fn shutdown_with_a_dead_disk_and_a_full_queue_ends_and_reports_the_lost_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.queue_capacity = 2;
    cfg.max_rows_per_file = 1;
    cfg.max_buffered_rows = 1;
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    break_disk(dir.path());
    // One row stuck in the writer, two in the queue: the writer takes no more.
    for i in 0..3 {
        log.record(outcome(i)).await.unwrap();
    }
    assert!(wait_until(5, || log.queue_depth() == 2).await);
    let result = tokio::time::timeout(Duration::from_secs(10), writer.shutdown())
        .await
        .expect("shutdown must end even when nothing can be written");
    match result {
        Err(LogError::Unwritten { rows, .. }) => assert_eq!(rows, 3),
        other => panic!("expected Unwritten, got {other:?}"),
    }
    assert_eq!(log.stats().dropped, 3);
}

#[tokio::test]
async fn readers_only_ever_see_complete_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_rows_per_file = 50;
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    let root = dir.path().to_path_buf();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    // A reader that keeps opening every visible file while the writer publishes new ones.
    let reader = std::thread::spawn(move || {
        let mut opened = 0usize;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            for f in files(&root, LogKind::Outcomes) {
                assert_eq!(
                    read_file(&f).num_rows(),
                    50,
                    "{} is not a whole file",
                    f.display()
                );
                opened += 1;
            }
        }
        opened
    });
    for i in 0..2000 {
        log.record(outcome(i)).await.unwrap();
    }
    writer.shutdown().await.unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let opened = reader.join().unwrap();
    assert!(opened > 0);
    assert_eq!(files(dir.path(), LogKind::Outcomes).len(), 40);
}

/// Rows in a Parquet file, from its footer.
fn footer_rows(path: &std::path::Path) -> usize {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(fs::File::open(path).unwrap()).unwrap();
    reader.metadata().file_metadata().num_rows() as usize
}

#[tokio::test]
async fn view_has_every_row_exactly_once_while_files_are_published() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    // Tiny files: a new one every few rows, so publications race with the views.
    cfg.max_rows_per_file = 3;
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    let total = 600;
    let producer = {
        let log = log.clone();
        tokio::spawn(async move {
            for i in 0..total {
                log.record(outcome(i)).await.unwrap();
            }
        })
    };
    let mut checks = 0;
    let mut last_seen = 0;
    // Look until every row is published: the writer keeps renaming files meanwhile.
    while log.stats().outcomes_written < total as u64 || checks < 3 {
        let log2 = log.clone();
        let view = tokio::task::spawn_blocking(move || log2.view(None))
            .await
            .unwrap()
            .unwrap();
        // Rows are accepted and published in order, so the files hold rows 0..n and the
        // pending rows must continue exactly at n: no row twice, none missing.
        let in_files: usize = view.outcome_files.iter().map(|f| footer_rows(f)).sum();
        for (k, r) in view.pending.outcomes.iter().enumerate() {
            assert_eq!(
                r.request_id,
                format!("req-{:06}", in_files + k),
                "files hold {in_files} rows; pending row {k} does not follow them"
            );
        }
        let seen = in_files + view.pending.outcomes.len();
        assert!(seen >= last_seen);
        last_seen = seen;
        checks += 1;
    }
    producer.await.unwrap();
    writer.shutdown().await.unwrap();
    assert!(checks >= 3);
    assert_eq!(ids_in_files(dir.path(), LogKind::Outcomes).len(), total);
}

#[tokio::test]
async fn feedback_for_unknown_requests_is_recorded_and_bad_feedback_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (log, writer) = OutcomeLog::start(config(dir.path())).unwrap();
    let mut fb = FeedbackRecord::new("never-seen", 0.25).unwrap();
    fb.known_request = Some(false);
    fb.comment = Some("meh".into());
    log.feedback(fb).await.unwrap();
    let mut bad = FeedbackRecord::new("x", 0.5).unwrap();
    bad.quality = 2.0;
    assert!(matches!(
        log.feedback(bad).await,
        Err(LogError::InvalidFeedback(_))
    ));
    let stats = writer.shutdown().await.unwrap();
    assert_eq!(stats.feedback_written, 1);
    let b = read_file(&files(dir.path(), LogKind::Feedback)[0]);
    assert_eq!(
        b.column_by_name("request_id")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "never-seen"
    );
    assert!(!b
        .column_by_name("known_request")
        .unwrap()
        .as_boolean()
        .value(0));
    assert_eq!(
        b.column_by_name("comment")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "meh"
    );
}

#[tokio::test]
async fn pending_rows_read_back_as_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let (log, writer) = OutcomeLog::start(config(dir.path())).unwrap();
    for i in 0..3 {
        log.record(outcome(i)).await.unwrap();
    }
    assert!(wait_until(5, || log.snapshot().outcomes.len() == 3).await);
    let bytes = log.snapshot().to_parquet(LogKind::Outcomes).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::from(bytes),
    )
    .unwrap()
    .build()
    .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 3);
    writer.shutdown().await.unwrap();
}

#[test]
fn start_outside_a_runtime_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        OutcomeLog::start(LogConfig::new(dir.path())),
        Err(LogError::NoRuntime)
    ));
}
