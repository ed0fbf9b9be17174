//! `llmgw train`: train the routing classifier from labelled prompts (and exported outcome
//! logs) and write a router folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use llmgw_classifier::head::HeadConfig;
use llmgw_classifier::manifest::Manifest;
use llmgw_classifier::train::{train, TrainOptions, TrainProgress};

/// Default encoder folder.
pub const DEFAULT_ENCODER: &str = "models/encoder/all-MiniLM-L6-v2";
/// Hugging Face id of the default encoder.
pub const DEFAULT_ENCODER_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Labelled-prompt files: JSON lines or Parquet with `id`, `prompt`, `quality` ({model: 0..1}).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Outcome-log folder written by `llmgw serve --log-dir`; its outcomes and feedback are
    /// exported to labelled prompts (as `llmgw export` does) and trained on too.
    #[arg(long, value_name = "DIR")]
    pub logs: Option<PathBuf>,
    /// Output router folder (weights.safetensors + manifest.json).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seed of the validation split, initialisation and minibatch order.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Encoder: a folder with config.json, tokenizer.json, model.safetensors, or a Hugging
    /// Face repo id (downloaded to the hf-hub cache when online).
    #[arg(long, default_value = DEFAULT_ENCODER)]
    pub encoder: String,
    /// Embedding cache folder [default: $XDG_CACHE_HOME/llmgw/embeddings or ~/.cache/llmgw/embeddings].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Do not read or write the embedding cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Share of prompts held out for early stopping, calibration and the metrics.
    #[arg(long, default_value_t = 0.1)]
    pub validation_fraction: f32,
    /// Ensemble members (seeds) averaged.
    #[arg(long, default_value_t = HeadConfig::default().ensemble)]
    pub ensemble: usize,
    /// Width of the shared hidden layer.
    #[arg(long, default_value_t = HeadConfig::default().hidden)]
    pub hidden: usize,
    /// Most training epochs per member (early stopping usually ends sooner).
    #[arg(long, default_value_t = HeadConfig::default().max_epochs)]
    pub max_epochs: usize,
    /// Encoder layers mean-pooled into the features (0 = token embeddings) [default: the middle layer].
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<usize>>,
    /// How the pooled layer is computed: `encoder` runs the encoder over every prompt;
    /// `static` distils a per-token table of that layer from the training prompts and
    /// averages its rows, so routing runs no transformer (needs exactly one layer).
    #[arg(long, value_enum, default_value_t = Pooling::Encoder)]
    pub pooling: Pooling,
    /// Buckets of hashed word n-gram features (0 = none).
    #[arg(long, default_value_t = 0)]
    pub ngram_dim: usize,
}

/// How `llmgw train` computes the pooled layer.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// Run the encoder up to the layer and mean-pool its hidden states.
    Encoder,
    /// Mean of a static per-token table distilled from that layer.
    Static,
}

/// The default embedding cache folder.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("llmgw").join("embeddings")
}

struct Bars {
    embed: Option<ProgressBar>,
    train: Option<ProgressBar>,
}

impl TrainProgress for Bars {
    fn loaded(&mut self, prompts: usize, models: &[String]) {
        eprintln!(
            "read {prompts} labelled prompts for {} models: {}",
            models.len(),
            models.join(", ")
        );
    }

    fn embedding(&mut self, done: usize, total: usize) {
        let bar = self.embed.get_or_insert_with(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "embedding {bar:40} {pos}/{len} prompts [{elapsed} < {eta}]",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        bar.set_position(done as u64);
        if done >= total {
            bar.finish();
        }
    }

    fn epoch(&mut self, member: usize, epoch: usize, val_loss: f32) {
        let bar = self.train.get_or_insert_with(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("training {spinner} [{elapsed}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b
        });
        bar.set_message(format!(
            "member {} epoch {} validation loss {val_loss:.4}",
            member + 1,
            epoch + 1
        ));
        bar.tick();
    }
}

fn resolve_encoder(spec: &str) -> anyhow::Result<(PathBuf, String)> {
    let path = Path::new(spec);
    if path.exists() || !llmgw_classifier::hub::is_repo_id(spec) {
        let id = if path == Path::new(DEFAULT_ENCODER) {
            DEFAULT_ENCODER_ID.to_string()
        } else {
            path.file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| spec.to_string())
        };
        return Ok((path.to_path_buf(), id));
    }
    // a local copy in models/encoder/<name> is used before the hub
    let local = llmgw_classifier::hub::local_folder_for(spec);
    if llmgw_classifier::encoder::check_encoder_dir(&local).is_ok() {
        return Ok((local, spec.to_string()));
    }
    let dir =
        llmgw_classifier::hub::resolve(spec, None, llmgw_classifier::hub::offline_from_env())?;
    Ok((dir, spec.to_string()))
}

/// Number of transformer layers of the encoder in `dir` (from its config.json).
fn encoder_layers(dir: &Path) -> anyhow::Result<usize> {
    let path = dir.join("config.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    v.get("num_hidden_layers")
        .and_then(serde_json::Value::as_u64)
        .map(|n| n as usize)
        .with_context(|| format!("{}: no num_hidden_layers", path.display()))
}

fn print_metrics(m: &Manifest) {
    println!(
        "validation metrics ({} prompts held out):",
        m.training.validation_rows
    );
    println!(
        "{:<36} {:>6} {:>7} {:>7} {:>7} {:>7}",
        "model", "n", "mean_q", "AUC", "Brier", "ECE"
    );
    for (name, x) in &m.metrics.models {
        let auc = x.auc.map_or("-".to_string(), |a| format!("{a:.3}"));
        println!(
            "{name:<36} {:>6} {:>7.3} {auc:>7} {:>7.4} {:>7.4}",
            x.n, x.mean_quality, x.brier, x.ece
        );
    }
    if !m.metrics.pairs.is_empty() {
        println!("routing (RouteLLM metrics; score = predicted quality strong − weak):");
        println!(
            "{:<34} {:<34} {:>5} {:>6} {:>7} {:>7} {:>10}",
            "strong", "weak", "n", "APGR", "CPT50%", "CPT80%", "len APGR"
        );
        let f = |v: Option<f64>, pct: bool| {
            v.map_or("-".to_string(), |x| {
                if pct {
                    format!("{x:.1}")
                } else {
                    format!("{x:.3}")
                }
            })
        };
        for p in &m.metrics.pairs {
            println!(
                "{:<34} {:<34} {:>5} {:>6} {:>7} {:>7} {:>10}",
                p.strong,
                p.weak,
                p.n,
                f(p.apgr, false),
                f(p.cpt50, true),
                f(p.cpt80, true),
                f(p.length_apgr, false)
            );
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut files = args.data.clone();
    let mut exported = None;
    if let Some(logs) = &args.logs {
        let out =
            std::env::temp_dir().join(format!("llmgw-train-logs-{}.parquet", std::process::id()));
        let summary = llmgw_outcomes::export::export(logs, &out, None)
            .with_context(|| format!("exporting the outcome logs in {}", logs.display()))?;
        eprintln!("outcome logs {}: {summary}", logs.display());
        files.push(out.clone());
        exported = Some(out);
    }
    anyhow::ensure!(
        !files.is_empty(),
        "give labelled-prompt files with --data (or a log folder with --logs)"
    );
    let (encoder_dir, encoder_id) = resolve_encoder(&args.encoder)?;
    let mut features = llmgw_classifier::pipeline::default_spec(encoder_layers(&encoder_dir)?);
    if let Some(layers) = &args.layers {
        anyhow::ensure!(!layers.is_empty(), "--layers needs at least one layer");
        features.layers = layers.clone();
    }
    features.ngram_dim = args.ngram_dim;
    features.static_embeddings = args.pooling == Pooling::Static;
    anyhow::ensure!(
        !features.static_embeddings || features.layers.len() == 1,
        "--pooling static needs exactly one layer (--layers N)"
    );
    let head = HeadConfig {
        ensemble: args.ensemble.max(1),
        hidden: args.hidden.max(1),
        max_epochs: args.max_epochs.max(1),
        ..HeadConfig::default()
    };
    let opts = TrainOptions {
        files,
        out: args.out.clone(),
        encoder_dir,
        encoder_id,
        seed: args.seed,
        validation_fraction: args.validation_fraction.clamp(0.01, 0.5),
        head,
        features: Some(features),
        cache_dir: if args.no_cache {
            None
        } else {
            Some(args.cache.clone().unwrap_or_else(default_cache_dir))
        },
    };
    let mut bars = Bars {
        embed: None,
        train: None,
    };
    let result = train(&opts, &mut bars);
    if let Some(bar) = &bars.train {
        bar.finish_and_clear();
    }
    if let Some(out) = exported {
        let _ = std::fs::remove_file(out);
    }
    let manifest = result.context("training the router")?;
    print_metrics(&manifest);
    println!(
        "wrote {} ({} models, seed {}) in {:.0} s",
        args.out.display(),
        manifest.models.len(),
        args.seed,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
