//! `llmgw score`: predicted quality per model and difficulty for every prompt of a file.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use llmgw_classifier::Router;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Prompts: a labelled-prompt file or a JSONL/Parquet file of `{"id", "prompt"}`.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Output JSON lines: `{"id", "difficulty", "quality": {model: p}}` per prompt.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Router folder written by `llmgw train`.
    #[arg(long, value_name = "DIR", default_value = "models/router")]
    pub router: PathBuf,
    /// Prompts per batch.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let router = Router::load(&args.router)
        .with_context(|| format!("loading the router in {}", args.router.display()))?;
    let prompts = llmgw_classifier::data::read_labelled(&args.data)?;
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut out = BufWriter::new(file);
    let bar = ProgressBar::new(prompts.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("scoring {bar:40} {pos}/{len} [{elapsed} < {eta}] {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let start = Instant::now();
    for chunk in prompts.chunks(args.batch_size.max(1)) {
        let texts: Vec<&str> = chunk.iter().map(|p| p.prompt.as_str()).collect();
        let preds = router.predict_batch(&texts)?;
        for (p, pred) in chunk.iter().zip(preds) {
            let line = serde_json::json!({"id": p.id, "difficulty": pred.difficulty, "quality": pred.quality});
            writeln!(out, "{line}").with_context(|| format!("writing {}", args.out.display()))?;
        }
        bar.inc(chunk.len() as u64);
    }
    out.flush()
        .with_context(|| format!("writing {}", args.out.display()))?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "scored {} prompts with {} models in {secs:.1} s ({:.1} prompts/s) → {}",
        prompts.len(),
        router.models().len(),
        prompts.len() as f64 / secs.max(1e-9),
        args.out.display()
    );
    Ok(())
}
