//! `llmgw calibrate`: the routing threshold and the `min_quality` target that send a given
//! share of traffic to the strong model on labelled data, and the quality and cost that
//! follow.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Result};
use llmgw_eval::calibrate::{calibrate, CalibrationInput, RuleOutcome};
use llmgw_eval::{default_pair, load_labelled, prompt_cost, LabelledPrompt, DEFAULT_OUTPUT_TOKENS};

use super::bench::{emit, load_prices, predictions, Source};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Labelled-prompt files (JSONL) to calibrate on; use traffic like the one to be served.
    #[arg(long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Strong model [default: of the two models labelled together most often, the better one].
    #[arg(long, requires = "weak")]
    strong: Option<String>,
    /// Weak model.
    #[arg(long, requires = "strong")]
    weak: Option<String>,
    /// Share of prompts (0 to 1) to send to the strong model.
    #[arg(long)]
    strong_share: f64,
    /// Router: a `llmgw train` output folder [default: models/router].
    #[arg(long, conflicts_with = "scores")]
    router: Option<PathBuf>,
    /// Predictions already written by `llmgw score` (JSONL) instead of running a router.
    #[arg(long)]
    scores: Option<PathBuf>,
    /// Model catalog with prices [default: models/catalog.toml if present, else built-in prices].
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Output tokens assumed per answer for models whose catalog entry gives none.
    #[arg(long, default_value_t = DEFAULT_OUTPUT_TOKENS)]
    output_tokens: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn line(out: &mut String, name: &str, o: &RuleOutcome) -> std::fmt::Result {
    writeln!(
        out,
        "  {name:<34} strong {:>6.1}%  quality {:.4}  cost ${:.6}/prompt (${:.4} total)",
        o.strong_share * 100.0,
        o.quality,
        o.cost_per_prompt,
        o.total_cost
    )
}

pub fn run(args: Args) -> Result<()> {
    if !(args.strong_share.is_finite() && (0.0..=1.0).contains(&args.strong_share)) {
        bail!(
            "--strong-share must be between 0 and 1, got {}",
            args.strong_share
        );
    }
    let prompts = load_labelled(&args.data)?;
    let prices = load_prices(args.catalog.as_deref())?;
    let source = Source::pick(args.router, args.scores, false)?;
    let Some(preds) = predictions(&source, &prompts)? else {
        bail!("calibration needs a router: pass --router DIR or --scores FILE");
    };
    let scored: Vec<&LabelledPrompt> = prompts
        .iter()
        .filter(|p| preds.contains_key(&p.id))
        .collect();
    let (strong, weak) = match (args.strong, args.weak) {
        (Some(s), Some(w)) => (s, w),
        _ => match default_pair(&scored) {
            Some(p) => p,
            None => {
                bail!("no two models are labelled on the same prompts; pass --strong and --weak")
            }
        },
    };
    let mut input = CalibrationInput::default();
    let mut unpriced = false;
    for p in &scored {
        let (Some(pred), Some(&st), Some(&wt)) = (
            preds.get(&p.id),
            p.quality.get(&strong),
            p.quality.get(&weak),
        ) else {
            continue;
        };
        let (Some(&sp), Some(&wp)) = (pred.quality.get(&strong), pred.quality.get(&weak)) else {
            continue;
        };
        let sc = prompt_cost(p, &strong, &prices, args.output_tokens);
        let wc = prompt_cost(p, &weak, &prices, args.output_tokens);
        unpriced |= sc.is_none() || wc.is_none();
        input.strong_pred.push(sp);
        input.weak_pred.push(wp);
        input.strong_true.push(st);
        input.weak_true.push(wt);
        input.strong_cost.push(sc.unwrap_or(0.0));
        input.weak_cost.push(wc.unwrap_or(0.0));
    }
    if input.strong_pred.is_empty() {
        bail!(
            "no prompt is both labelled and predicted for `{strong}` and `{weak}` ({} prompts read, {} with predictions)",
            prompts.len(),
            scored.len()
        );
    }
    let c = calibrate(&input, args.strong_share)?;
    let mut out = String::new();
    if args.json {
        let v = serde_json::json!({"strong": strong, "weak": weak, "router": source.name(), "calibration": c});
        return emit(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    writeln!(
        out,
        "{} prompts; strong {strong}, weak {weak}; target: {:.1}% of prompts to the strong model",
        c.n,
        c.target_share * 100.0
    )?;
    writeln!(
        out,
        "routing-score threshold (predicted quality of {strong} minus {weak}): {:.6}",
        c.score_threshold
    )?;
    writeln!(
        out,
        "  route strong when the score is >= this (RouteLLM's calibration: the {:.2} quantile of the scores)",
        1.0 - c.target_share
    )?;
    writeln!(
        out,
        "equivalent min_quality (policy min_quality, candidates {strong} and {weak}): {:.6}",
        c.min_quality
    )?;
    if c.max_min_quality_share + 1e-12 < c.target_share {
        writeln!(
            out,
            "  note: min_quality sends at most {:.1}% here (only prompts where {strong} is predicted better than {weak})",
            c.max_min_quality_share * 100.0
        )?;
    }
    writeln!(out, "on this data:")?;
    line(&mut out, "by routing-score threshold", &c.by_score)?;
    let by_mq = format!("by min_quality {:.4}", c.min_quality);
    line(&mut out, &by_mq, &c.by_min_quality)?;
    line(&mut out, &format!("always {strong}"), &c.always_strong)?;
    line(&mut out, &format!("always {weak}"), &c.always_weak)?;
    if unpriced {
        writeln!(
            out,
            "note: a model has no price (catalog, built-in or cost_usd); its cost counts as 0"
        )?;
    }
    emit(&out)
}
