//! Routing benchmark: the router's latency at batch 1 for prompts of 16, 128 and 512 tokens,
//! and its throughput under concurrent load through the dynamic batcher.
//!
//! `cargo run --release --example routing_bench -- [ROUTER_DIR]`
//! (default `models/router`). Settings from the environment: `BENCH_RUNS` (batch-1 runs per
//! size, default 300), `BENCH_SECS` (seconds per concurrency level, default 5),
//! `BENCH_CONCURRENCY` (comma list, default `1,2,4,8,16,32`), `BENCH_MAX_WAIT_MS` (the
//! batcher's wait for company; default the gateway's), `BENCH_EMBEDDING=1` (batched requests
//! also ask for the sentence embedding). Prints Markdown tables.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use llmgw_classifier::{BatchConfig, BatchingRouter, Router};

// The allocator `llmgw` itself runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Realistic prompt text: repeated to reach any length.
const TEXT: &str = "A train leaves the station at 9:40 and travels 180 km at an average speed of \
72 km/h. A second train leaves the same station 25 minutes later on a parallel track. \
What average speed must the second train keep to arrive at the same time as the first? \
Explain each step of the calculation, state any assumptions you make about acceleration \
and stops, and give the answer rounded to one decimal place. Then write a short Python \
function that solves the general case for any distance, speed and delay.";

fn env<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// A prompt of exactly `n` tokens (without `[CLS]`/`[SEP]`) by the router's own tokenizer.
fn prompt_of(router: &Router, n: usize) -> Result<String, Box<dyn std::error::Error>> {
    let words: Vec<&str> = std::iter::repeat_n(TEXT, 1 + n / 40)
        .flat_map(|t| t.split_whitespace())
        .collect();
    let count = |s: &str| router.encoder().tokenize(s).map(|t| t.full_len);
    // The longest prefix of whole words that stays within n tokens...
    let mut text = String::new();
    for w in &words {
        let candidate = if text.is_empty() {
            (*w).to_string()
        } else {
            format!("{text} {w}")
        };
        if count(&candidate)? > n {
            break;
        }
        text = candidate;
    }
    // ...then one-token words up to exactly n.
    while count(&text)? < n {
        text.push_str(" and");
    }
    let got = count(&text)?;
    if got != n {
        return Err(format!("could not build a prompt of {n} tokens (got {got})").into());
    }
    Ok(text)
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    if sorted_ms.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted_ms.len() - 1) as f64).round() as usize;
    sorted_ms[idx.min(sorted_ms.len() - 1)]
}

fn summarize(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len().max(1) as f64;
    (percentile(&ms, 50.0), percentile(&ms, 99.0), mean)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("models/router"), PathBuf::from);
    let runs: usize = env("BENCH_RUNS", 300);
    let secs: f64 = env("BENCH_SECS", 5.0);
    let levels: Vec<usize> = env("BENCH_CONCURRENCY", "1,2,4,8,16,32".to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();

    let t0 = Instant::now();
    let router = Router::load(&dir)?;
    let load_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let layers = &router.manifest().features.layers;
    let pooling = if router.static_table().is_some() {
        "static token table: no transformer on the routing path"
    } else {
        "encoder run up to that layer"
    };
    println!(
        "router {} (pooled layers {:?} of {}, {pooling}), loaded in {load_ms:.0} ms; CPU threads \
         for the encoder: {} (RAYON_NUM_THREADS, default one per CPU)\n",
        dir.display(),
        layers,
        router.encoder().num_layers(),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .to_string())
    );

    println!("### Batch 1 latency ({runs} runs per size, after 20 warm-up runs)\n");
    println!("| prompt tokens (verified) | encoder tokens | p50 ms | p99 ms | mean ms | with sentence embedding p50 / p99 ms |");
    println!("|---|---|---|---|---|---|");
    let mut prompt_128 = String::new();
    for n in [16usize, 128, 512] {
        let p = prompt_of(&router, n)?;
        let tok = router.encoder().tokenize(&p)?;
        for _ in 0..20 {
            router.predict_batch_with_embeddings(&[&p])?;
        }
        let mut plain = Vec::with_capacity(runs);
        let mut with_emb = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            router.predict_batch(&[&p])?;
            plain.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            router.predict_batch_with_embeddings(&[&p])?;
            with_emb.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (p50, p99, mean) = summarize(plain);
        let (e50, e99, _) = summarize(with_emb);
        println!(
            "| {} | {} | {p50:.2} | {p99:.2} | {mean:.2} | {e50:.2} / {e99:.2} |",
            tok.full_len,
            tok.ids.len()
        );
        if n == 128 {
            prompt_128 = p;
        }
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    // BENCH_MAX_WAIT_MS: how long a batch waits for company (default: the gateway's setting).
    let mut batch_cfg = BatchConfig::default();
    if let Ok(ms) = std::env::var("BENCH_MAX_WAIT_MS") {
        batch_cfg.max_wait = Duration::from_millis(ms.parse()?);
    }
    // BENCH_EMBEDDING=1: also the sentence embedding, as the gateway asks when the semantic
    // cache may be used (default: prediction only, as for plain `auto` requests).
    let with_embedding = std::env::var("BENCH_EMBEDDING").is_ok_and(|v| v == "1");
    println!(
        "\n### Dynamic batching under concurrent load (128-token prompts, {secs} s per level, \
         {}; batcher max_batch {}, max_wait {:?})\n",
        if with_embedding {
            "prediction + sentence embedding, as with the semantic cache on"
        } else {
            "prediction only, as for `auto` without the semantic cache"
        },
        batch_cfg.max_batch,
        batch_cfg.max_wait
    );
    let batcher = BatchingRouter::new(Router::load(&dir)?, batch_cfg);
    println!("| concurrency | predictions/s | p50 ms | p99 ms | mean batch |");
    println!("|---|---|---|---|---|");
    for &c in &levels {
        let (done, lat, batches) = runtime.block_on(async {
            let before = batcher.batches_run();
            let deadline = Instant::now() + Duration::from_secs_f64(secs);
            let tasks: Vec<_> = (0..c)
                .map(|i| {
                    let b = batcher.clone();
                    // Distinct texts, so no two requests are the same prompt.
                    let text = format!("{prompt_128} {i}");
                    tokio::spawn(async move {
                        let mut lat = Vec::new();
                        while Instant::now() < deadline {
                            let t = Instant::now();
                            let done = if with_embedding {
                                b.predict_with_embedding(text.clone()).await.map(|_| ())
                            } else {
                                b.predict(text.clone()).await.map(|_| ())
                            };
                            if done.is_err() {
                                break;
                            }
                            lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                        lat
                    })
                })
                .collect();
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.unwrap_or_default());
            }
            (all.len(), all, batcher.batches_run() - before)
        });
        let (p50, p99, _) = summarize(lat);
        println!(
            "| {c} | {:.0} | {p50:.2} | {p99:.2} | {:.1} |",
            done as f64 / secs,
            done as f64 / batches.max(1) as f64
        );
    }
    Ok(())
}
