//! Writes a small sample outcome log, for readers to check the files against.
//!
//! `cargo run -p llmgw-outcomes --example sample_logs -- DIR` writes
//! `DIR/outcomes/`, `DIR/feedback/` (prompts stored), `DIR/private/{outcomes,feedback}/`
//! (`store_prompts = false`) and `DIR/expected.json` with the counts a reader should find.
//! `tests/python/test_parquet_logs.py` reads it with pyarrow.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use llmgw_outcomes::{
    CacheHit, Candidate, FeedbackRecord, LogConfig, OutcomeLog, OutcomeRecord, Prices,
};

const OUTCOMES: usize = 300;
const DAYS: u64 = 3;
const FEEDBACK_KNOWN: usize = 30;
const FEEDBACK_UNKNOWN: usize = 10;
/// 2024-03-01T00:00:00Z.
const T0: u64 = 1_709_251_200;

fn outcome(i: usize) -> OutcomeRecord {
    let received = UNIX_EPOCH + Duration::from_secs(T0 + (i as u64 % DAYS) * 86_400 + i as u64);
    let mut r = OutcomeRecord::new(format!("req-{i:04}"), "auto", received);
    let (model, provider, prices) = if i.is_multiple_of(3) {
        (
            "gpt-4-1106-preview",
            "openai",
            Prices {
                input_per_mtok: 10.0,
                output_per_mtok: 30.0,
                cached_input_per_mtok: Some(5.0),
            },
        )
    } else {
        (
            "mixtral-8x7b-instruct-v0.1",
            "together",
            Prices {
                input_per_mtok: 0.24,
                output_per_mtok: 0.24,
                cached_input_per_mtok: None,
            },
        )
    };
    r.api_key_id = Some(format!("key-{}", i % 4));
    r.source = Some(
        if i.is_multiple_of(2) {
            "app/chat"
        } else {
            "app/search"
        }
        .into(),
    );
    r.model = Some(model.into());
    r.provider = Some(provider.into());
    r.policy = Some("min_quality:0.8".into());
    r.difficulty = Some((i % 10) as f32 / 10.0);
    r.predicted_quality = Some(0.5 + (i % 5) as f32 / 10.0);
    r.candidates = vec![
        Candidate {
            model: "mixtral-8x7b-instruct-v0.1".into(),
            provider: "together".into(),
            predicted_quality: Some(0.6),
            estimated_cost_usd: Some(0.0001),
            eligible: !i.is_multiple_of(3),
            reason: i.is_multiple_of(3).then(|| "below min_quality".into()),
        },
        Candidate {
            model: "gpt-4-1106-preview".into(),
            provider: "openai".into(),
            predicted_quality: Some(0.9),
            estimated_cost_usd: Some(0.004),
            eligible: true,
            reason: None,
        },
    ];
    r.prompt = Some(format!(
        "Sample question {i}: explain topic {} briefly.",
        i % 17
    ));
    r.prompt_tokens = Some(40 + i as u64 % 50);
    r.completion_tokens = Some(100);
    r.cached_tokens = Some(if i.is_multiple_of(4) { 16 } else { 0 });
    r.cost_usd = Some(prices.cost_usd(
        40 + i as u64 % 50,
        100,
        if i.is_multiple_of(4) { 16 } else { 0 },
    ));
    r.stream = i % 2 == 1;
    r.first_token_at = r.stream.then(|| received + Duration::from_millis(120));
    r.ttft_ms = r.stream.then_some(120.0);
    r.latency_ms = 400.0 + i as f64;
    r.completed_at = received + Duration::from_millis(400 + i as u64);
    r.overhead_ms = Some(0.4);
    r.routing_ms = Some(3.5);
    r.finish_reason = Some("stop".into());
    if i.is_multiple_of(25) {
        r.status = 502;
        r.error_kind = Some("upstream_error".into());
        r.finish_reason = None;
        r.retries = 2;
        r.fallbacks = vec!["claude-3-5-haiku".into(), "gemini-1.5-flash".into()];
    }
    if i % 10 == 5 {
        r.cache_hit = if i % 20 == 5 {
            CacheHit::Exact
        } else {
            CacheHit::Semantic
        };
        r.cache_similarity = (r.cache_hit == CacheHit::Semantic).then_some(0.97);
        r.cost_usd = Some(0.0);
    }
    if i.is_multiple_of(7) {
        r.prompt_embedding = Some((0..8).map(|k| (k as f32 + i as f32) / 100.0).collect());
        r.embedding_model = Some("all-MiniLM-L6-v2".into());
    }
    r
}

fn feedback() -> Vec<FeedbackRecord> {
    let mut out = Vec::new();
    let at = |i: usize| UNIX_EPOCH + Duration::from_secs(T0 + 3 * 86_400 + i as u64);
    for i in 0..FEEDBACK_KNOWN {
        out.push(FeedbackRecord {
            request_id: format!("req-{:04}", i * 3),
            received_at: at(i),
            quality: (i % 5) as f64 / 4.0,
            comment: (i.is_multiple_of(2)).then(|| format!("comment {i}")),
            known_request: Some(true),
            api_key_id: Some("key-0".into()),
        });
    }
    for i in 0..FEEDBACK_UNKNOWN {
        out.push(FeedbackRecord {
            request_id: format!("unknown-{i}"),
            received_at: at(100 + i),
            quality: 1.0,
            comment: None,
            known_request: Some(false),
            api_key_id: None,
        });
    }
    out
}

async fn write(dir: PathBuf, store_prompts: bool) -> Result<(), Box<dyn std::error::Error>> {
    let mut cfg = LogConfig::new(dir);
    cfg.store_prompts = store_prompts;
    cfg.max_rows_per_file = 64;
    let (log, writer) = OutcomeLog::start(cfg)?;
    for i in 0..OUTCOMES {
        log.record(outcome(i)).await?;
    }
    for fb in feedback() {
        log.feedback(fb).await?;
    }
    let stats = writer.shutdown().await?;
    eprintln!(
        "store_prompts={store_prompts}: {} outcomes and {} feedback in {} files",
        stats.outcomes_written, stats.feedback_written, stats.files_written
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: sample_logs DIR")?);
    write(dir.clone(), true).await?;
    write(dir.join("private"), false).await?;
    let embeddings = (0..OUTCOMES).filter(|i| i.is_multiple_of(7)).count();
    let expected = format!(
        "{{\"outcomes\": {OUTCOMES}, \"feedback\": {}, \"feedback_unknown\": {FEEDBACK_UNKNOWN}, \
         \"days\": {DAYS}, \"with_embedding\": {embeddings}, \"written_at\": {}}}\n",
        FEEDBACK_KNOWN + FEEDBACK_UNKNOWN,
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs()
    );
    std::fs::write(dir.join("expected.json"), expected)?;
    Ok(())
}
