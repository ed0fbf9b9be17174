//! How fast the outcome log takes and writes records.
//!
//! `cargo run --release -p llmgw-outcomes --example writer_throughput -- [ROWS] [EMBEDDING_DIM] [TASKS] [RATE]`
//! (defaults 200000, 0, 8, 0) records ROWS synthetic outcomes from TASKS concurrent tasks into
//! a temporary folder, as fast as possible or at RATE rows per second in total, shuts the log
//! down, and prints rows per second (until every row is on disk), the latency of `record()`
//! calls, and bytes per row on disk.

use std::time::{Duration, Instant, SystemTime};

use llmgw_outcomes::{Candidate, LogConfig, OutcomeLog, OutcomeRecord};

fn arg(i: usize, default: usize) -> Result<usize, Box<dyn std::error::Error>> {
    Ok(match std::env::args().nth(i) {
        Some(v) => v.parse()?,
        None => default,
    })
}

/// A deterministic pseudo-random number in [0, 1).
fn next(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

const WORDS: &[&str] = &[
    "explain",
    "the",
    "difference",
    "between",
    "a",
    "process",
    "and",
    "thread",
    "write",
    "python",
    "function",
    "that",
    "sorts",
    "list",
    "of",
    "numbers",
    "what",
    "is",
    "capital",
    "France",
    "summarise",
    "this",
    "paragraph",
    "about",
    "climate",
    "policy",
    "in",
    "three",
    "bullet",
    "points",
    "translate",
    "into",
    "German",
    "how",
    "do",
    "I",
    "fix",
    "error",
    "when",
    "compiling",
    "rust",
    "code",
    "with",
    "borrow",
    "checker",
    "give",
    "me",
    "recipe",
    "for",
    "dinner",
    "tonight",
    "prove",
    "square",
    "root",
    "two",
    "irrational",
    "draft",
    "an",
    "email",
    "to",
    "my",
    "manager",
    "asking",
    "day",
    "off",
    "next",
    "week",
    "why",
    "sky",
    "blue",
    "compare",
    "SQL",
    "NoSQL",
    "databases",
    "performance",
    "cost",
    "latency",
    "consistency",
    "availability",
    "partition",
];

/// A prompt of 20 to 80 words drawn from a small vocabulary: text that compresses like prose.
fn prompt(i: usize) -> String {
    let mut x = (i as u64).wrapping_mul(2_654_435_761) + 7;
    let n = 20 + (next(&mut x) * 60.0) as usize;
    let words: Vec<&str> = (0..n)
        .map(|_| WORDS[(next(&mut x) * WORDS.len() as f64) as usize % WORDS.len()])
        .collect();
    format!("{i}: {}", words.join(" "))
}

fn record(i: usize, dim: usize) -> OutcomeRecord {
    let mut r = OutcomeRecord::new(format!("req-{i:012}"), "auto", SystemTime::now());
    r.model = Some("gpt-4o-mini".into());
    r.provider = Some("openai".into());
    r.policy = Some("min_quality:0.8".into());
    r.api_key_id = Some(format!("key-{}", i % 50));
    r.difficulty = Some(0.4);
    r.predicted_quality = Some(0.85);
    r.candidates = ["gpt-4o-mini", "gpt-4o", "claude-3-5-haiku"]
        .iter()
        .map(|m| Candidate {
            model: (*m).into(),
            provider: "openai".into(),
            predicted_quality: Some(0.8),
            estimated_cost_usd: Some(0.0004),
            eligible: true,
            reason: None,
        })
        .collect();
    r.prompt = Some(prompt(i));
    r.prompt_tokens = Some(60);
    r.completion_tokens = Some(120);
    r.cost_usd = Some(0.0001);
    r.latency_ms = 420.0;
    r.overhead_ms = Some(0.3);
    r.finish_reason = Some("stop".into());
    if dim > 0 {
        let mut x = i as u64 + 1;
        r.prompt_embedding = Some(
            (0..dim)
                .map(|_| (next(&mut x) as f32 - 0.5) * 0.2)
                .collect(),
        );
        r.embedding_model = Some("all-MiniLM-L6-v2".into());
    }
    r
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows = arg(1, 200_000)?;
    let dim = arg(2, 0)?;
    let tasks = arg(3, 8)?.max(1);
    let rate = arg(4, 0)?;
    let dir = tempfile::tempdir()?;
    let (log, writer) = OutcomeLog::start(LogConfig::new(dir.path()))?;
    // Built up front so that the timing covers the log, not the synthetic data.
    let mut batches: Vec<Vec<OutcomeRecord>> = (0..tasks).map(|_| Vec::new()).collect();
    for i in 0..rows {
        batches[i % tasks].push(record(i, dim));
    }
    let start = Instant::now();
    let mut handles = Vec::new();
    for batch in batches {
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(batch.len());
            let mut pace = (rate > 0).then(|| {
                let mut t =
                    tokio::time::interval(Duration::from_secs_f64(tasks as f64 / rate as f64));
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                t
            });
            for r in batch {
                if let Some(p) = pace.as_mut() {
                    p.tick().await;
                }
                let t = Instant::now();
                log.record(r).await?;
                lat.push(t.elapsed());
            }
            Ok::<_, llmgw_outcomes::LogError>(lat)
        }));
    }
    let mut lat = Vec::with_capacity(rows);
    for h in handles {
        lat.extend(h.await??);
    }
    let accepted = start.elapsed();
    let stats = writer.shutdown().await?;
    let total = start.elapsed();
    lat.sort();
    println!(
        "rows {rows}, embedding dim {dim}, tasks {tasks}, rate {rate}/s (0 = max): all accepted in {:.2} s, all on disk in {:.2} s \
         => {:.0} rows/s written",
        accepted.as_secs_f64(),
        total.as_secs_f64(),
        rows as f64 / total.as_secs_f64()
    );
    println!(
        "record() latency: p50 {:.1} us, p99 {:.1} us, max {:.1} ms",
        pct(&lat, 0.5).as_secs_f64() * 1e6,
        pct(&lat, 0.99).as_secs_f64() * 1e6,
        pct(&lat, 1.0).as_secs_f64() * 1e3
    );
    println!(
        "{} files, {:.1} bytes/row on disk (zstd), dropped {}",
        stats.files_written,
        stats.bytes_written as f64 / rows.max(1) as f64,
        stats.dropped
    );
    Ok(())
}
