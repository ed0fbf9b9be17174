//! `llmgw bench`: evaluate how well a router trades cost for quality on labelled prompts,
//! and write `report.json`, `report.md` and `curve.svg`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use llmgw_eval::{
    load_labelled, load_scores, run_bench, write_report, BenchOptions, LabelledPrompt, Predictions,
    PriceBook, ScoreRecord, DEFAULT_OUTPUT_TOKENS,
};

/// Router used when neither `--router` nor `--scores` is given.
pub(crate) const DEFAULT_ROUTER_DIR: &str = "models/router";
/// Catalog used when `--catalog` is not given and this file exists.
pub(crate) const DEFAULT_CATALOG: &str = "models/catalog.toml";
/// Prompts scored per batch when running a router.
const BATCH: usize = 32;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Labelled-prompt files (JSONL: id, source, prompt, quality, optional cost_usd).
    #[arg(long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Router to evaluate: a `llmgw train` output folder [default: models/router].
    #[arg(long, conflicts_with_all = ["scores", "no_router"])]
    router: Option<PathBuf>,
    /// Evaluate predictions already written by `llmgw score` (JSONL) instead of running a router.
    #[arg(long, conflicts_with = "no_router")]
    scores: Option<PathBuf>,
    /// Evaluate the baselines only (random, prompt length, oracle, always-strong/weak).
    #[arg(long)]
    no_router: bool,
    /// Strong model [default: of the two models labelled together most often, the better one].
    #[arg(long, requires = "weak")]
    strong: Option<String>,
    /// Weak model [default: of the two models labelled together most often, the worse one].
    #[arg(long, requires = "strong")]
    weak: Option<String>,
    /// Model catalog with prices [default: models/catalog.toml if present, else built-in prices].
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Output tokens assumed per answer for models whose catalog entry gives no typical_output_tokens.
    #[arg(long, default_value_t = DEFAULT_OUTPUT_TOKENS)]
    output_tokens: u64,
    /// Folder to write report.json, report.md and curve.svg into.
    #[arg(long)]
    out: PathBuf,
}

/// Prices from `--catalog`, else `models/catalog.toml` when present, with built-in prices
/// for models the catalog does not list.
pub(crate) fn load_prices(catalog: Option<&Path>) -> Result<PriceBook> {
    let path = match catalog {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_CATALOG)).filter(|p| p.exists()),
    };
    Ok(match path {
        Some(p) => PriceBook::from_catalog_file(&p)?.with_builtin_fallback(),
        None => PriceBook::builtin(),
    })
}

/// Where router predictions come from.
pub(crate) enum Source {
    Router(PathBuf),
    Scores(PathBuf),
    None,
}

impl Source {
    pub(crate) fn pick(
        router: Option<PathBuf>,
        scores: Option<PathBuf>,
        none: bool,
    ) -> Result<Source> {
        Ok(match (router, scores, none) {
            (_, _, true) => Source::None,
            (_, Some(s), _) => Source::Scores(s),
            (Some(r), None, _) => Source::Router(r),
            (None, None, false) => {
                let dir = PathBuf::from(DEFAULT_ROUTER_DIR);
                if !dir.exists() {
                    bail!(
                        "no router at {DEFAULT_ROUTER_DIR}: train one with `llmgw train`, or pass \
                         --router DIR, --scores FILE (from `llmgw score`) or --no-router"
                    );
                }
                Source::Router(dir)
            }
        })
    }

    pub(crate) fn name(&self) -> String {
        match self {
            Source::Router(d) => d.display().to_string(),
            Source::Scores(f) => format!("scores: {}", f.display()),
            Source::None => "none".into(),
        }
    }
}

/// Runs the router over the prompts (or reads its score file).
pub(crate) fn predictions(
    source: &Source,
    prompts: &[LabelledPrompt],
) -> Result<Option<Predictions>> {
    match source {
        Source::None => Ok(None),
        Source::Scores(path) => Ok(Some(load_scores(path)?)),
        Source::Router(dir) => {
            let router = llmgw_classifier::Router::load(dir)
                .with_context(|| format!("loading the router from {}", dir.display()))?;
            let texts: Vec<String> = prompts
                .iter()
                .map(|p| llmgw_classifier::routing_text(&[("user", p.prompt.as_str())]))
                .collect();
            let mut out = Predictions::with_capacity(prompts.len());
            let started = std::time::Instant::now();
            for (b, chunk) in texts.chunks(BATCH).enumerate() {
                let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                let preds = router
                    .predict_batch(&refs)
                    .with_context(|| format!("scoring prompts with {}", dir.display()))?;
                for (k, pred) in preds.into_iter().enumerate() {
                    let p = &prompts[b * BATCH + k];
                    out.insert(
                        p.id.clone(),
                        ScoreRecord {
                            difficulty: Some(f64::from(pred.difficulty)),
                            quality: pred
                                .quality
                                .into_iter()
                                .map(|(m, q)| (m, f64::from(q)))
                                .collect(),
                        },
                    );
                }
                let done = ((b + 1) * BATCH).min(texts.len());
                eprint!("\rscoring prompts: {done}/{}", texts.len());
            }
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "\rscored {} prompts in {secs:.1} s ({:.0} prompts/s)",
                texts.len(),
                texts.len() as f64 / secs.max(1e-9)
            );
            Ok(Some(out))
        }
    }
}

/// Writes `text` to standard output; a closed pipe (`llmgw ... | head`) is not an error.
pub(crate) fn emit(text: &str) -> Result<()> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn fmt(v: Option<f64>, pct: bool) -> String {
    match v {
        Some(x) if pct => format!("{x:.2}%"),
        Some(x) => format!("{x:.3}"),
        None => "-".into(),
    }
}

pub fn run(args: Args) -> Result<()> {
    let prompts = load_labelled(&args.data)?;
    let prices = load_prices(args.catalog.as_deref())?;
    let source = Source::pick(args.router, args.scores, args.no_router)?;
    let preds = predictions(&source, &prompts)?;
    let opts = BenchOptions {
        strong: args.strong,
        weak: args.weak,
        prices,
        default_output_tokens: args.output_tokens,
        router_name: source.name(),
        data_files: args.data.iter().map(|p| p.display().to_string()).collect(),
        ..Default::default()
    };
    let report = run_bench(&prompts, preds.as_ref(), &opts)?;
    let written = write_report(&report, &args.out)?;
    let mut out = String::new();

    writeln!(
        out,
        "{} prompts; strong {} ({:.4}), weak {} ({:.4})",
        report.n, report.strong, report.strong_quality, report.weak, report.weak_quality
    )?;
    writeln!(
        out,
        "{:<28} {:>7} {:>9} {:>9} {:>8} {:>10}",
        "", "APGR", "CPT(50%)", "CPT(80%)", "AIQ", "saved@95%"
    )?;
    let mut rows = Vec::new();
    if let Some(r) = &report.router {
        rows.push(("router", r.apgr, r.cpt50, r.cpt80, r.aiq, r.savings_at_95));
    }
    let b = &report.baselines;
    rows.push((
        "random (10 seeds)",
        b.random.apgr,
        b.random.cpt50,
        b.random.cpt80,
        None,
        None,
    ));
    let pl = &b.prompt_length;
    rows.push((
        "prompt length",
        pl.apgr,
        pl.cpt50,
        pl.cpt80,
        pl.aiq,
        pl.savings_at_95,
    ));
    let o = &b.oracle;
    rows.push(("oracle", o.apgr, o.cpt50, o.cpt80, o.aiq, o.savings_at_95));
    for (name, apgr, c50, c80, aiq, s95) in rows {
        writeln!(
            out,
            "{name:<28} {:>7} {:>9} {:>9} {:>8} {:>10}",
            fmt(apgr, false),
            fmt(c50, true),
            fmt(c80, true),
            aiq.map_or("-".into(), |x| format!("{x:.4}")),
            s95.map_or("-".into(), |x| format!("{:.1}%", x * 100.0)),
        )?;
    }
    for n in &report.notes {
        writeln!(out, "note: {n}")?;
    }
    writeln!(
        out,
        "wrote {}, {}, {}",
        written.json.display(),
        written.markdown.display(),
        written.svg.display()
    )?;
    emit(&out)
}
