//! Reference routers for the two-model metrics: random, always-strong, always-weak, the
//! oracle and prompt length.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::two_model::{evaluate_two_model, CurvePoint, TwoModelMetrics};
use crate::EvalError;

/// Seeds of the random router: RouteLLM reports the random router as a mean over runs; we
/// average these ten.
pub const RANDOM_SEEDS: [u64; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

/// The random router: uniform scores in `[0, 1)`, one set per seed, metrics averaged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomBaseline {
    /// Seeds used (`rand::rngs::StdRng::seed_from_u64`).
    pub seeds: Vec<u64>,
    /// Mean APGR over the seeds.
    pub apgr: Option<f64>,
    /// Mean CPT(20%) over the seeds, in percent.
    pub cpt20: Option<f64>,
    /// Mean CPT(50%) over the seeds, in percent.
    pub cpt50: Option<f64>,
    /// Mean CPT(80%) over the seeds, in percent.
    pub cpt80: Option<f64>,
    /// Smallest and largest APGR over the seeds.
    pub apgr_range: Option<(f64, f64)>,
    /// Point-wise mean of the seeds' curves.
    pub curve: Vec<CurvePoint>,
}

/// A router that always calls the same model: one operating point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FixedChoice {
    /// 100 for always-strong, 0 for always-weak.
    pub strong_pct: f64,
    /// Mean quality of that model on the set.
    pub quality: f64,
    /// Performance gap recovered at this point: `(quality - weak) / (strong - weak)`
    /// (1 for always-strong, 0 for always-weak); `None` when the models tie.
    pub pgr: Option<f64>,
}

fn mean_opt(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Option<Vec<f64>> = values.collect();
    let v = v?;
    if v.is_empty() {
        return None;
    }
    Some(v.iter().sum::<f64>() / v.len() as f64)
}

/// Uniform random scores for `n` prompts from `seed`.
pub fn random_scores(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random::<f64>()).collect()
}

/// The random router's metrics, averaged over `seeds`.
pub fn random_baseline(
    strong: &[f64],
    weak: &[f64],
    seeds: &[u64],
) -> Result<RandomBaseline, EvalError> {
    let runs: Vec<TwoModelMetrics> = seeds
        .iter()
        .map(|&s| evaluate_two_model(&random_scores(strong.len(), s), strong, weak))
        .collect::<Result<_, _>>()?;
    let apgrs: Option<Vec<f64>> = runs.iter().map(|r| r.apgr).collect();
    let apgr_range = apgrs.as_ref().and_then(|v| {
        let lo = v.iter().copied().reduce(f64::min)?;
        let hi = v.iter().copied().reduce(f64::max)?;
        Some((lo, hi))
    });
    let points = runs.first().map_or(0, |r| r.curve.len());
    let curve = (0..points)
        .map(|i| {
            let k = runs.len() as f64;
            CurvePoint {
                threshold: runs.iter().map(|r| r.curve[i].threshold).sum::<f64>() / k,
                strong_pct: runs.iter().map(|r| r.curve[i].strong_pct).sum::<f64>() / k,
                quality: runs.iter().map(|r| r.curve[i].quality).sum::<f64>() / k,
            }
        })
        .collect();
    Ok(RandomBaseline {
        seeds: seeds.to_vec(),
        apgr: mean_opt(runs.iter().map(|r| r.apgr)),
        cpt20: mean_opt(runs.iter().map(|r| r.cpt20)),
        cpt50: mean_opt(runs.iter().map(|r| r.cpt50)),
        cpt80: mean_opt(runs.iter().map(|r| r.cpt80)),
        apgr_range,
        curve,
    })
}

/// Always calling one model. `strong_model` chooses which.
pub fn fixed_choice(strong: &[f64], weak: &[f64], strong_model: bool) -> FixedChoice {
    let n = strong.len().max(1) as f64;
    let s = strong.iter().sum::<f64>() / n;
    let w = weak.iter().sum::<f64>() / n;
    let quality = if strong_model { s } else { w };
    FixedChoice {
        strong_pct: if strong_model { 100.0 } else { 0.0 },
        quality,
        pgr: if s == w {
            None
        } else {
            Some((quality - w) / (s - w))
        },
    }
}

/// The oracle router: its score is the true quality gain `strong - weak`, evaluated with
/// the same thresholds and metrics as any router (an upper reference; with 0/1 labels most
/// scores tie, so its curve has few distinct points).
pub fn oracle(strong: &[f64], weak: &[f64]) -> Result<TwoModelMetrics, EvalError> {
    let gain: Vec<f64> = strong.iter().zip(weak).map(|(s, w)| s - w).collect();
    evaluate_two_model(&gain, strong, weak)
}

/// The prompt-length router: its score is the prompt's length in characters (longer
/// prompts go to the strong model first).
pub fn prompt_length(
    prompts: &[&str],
    strong: &[f64],
    weak: &[f64],
) -> Result<TwoModelMetrics, EvalError> {
    let scores: Vec<f64> = prompts.iter().map(|p| p.chars().count() as f64).collect();
    evaluate_two_model(&scores, strong, weak)
}
