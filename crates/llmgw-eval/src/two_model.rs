//! RouteLLM's two-model routing metrics, computed as `routellm/evals/evaluate.py` and
//! `routellm/evals/benchmarks.py` compute them (lm-sys/RouteLLM):
//!
//! 1. thresholds: `pd.qcut(scores, 10, retbins=True)`, i.e. the 11 linear-interpolation
//!    quantiles of the scores at 0, 0.1, …, 1.0, duplicates kept
//!    ([`crate::numeric::quantile_sorted`]);
//! 2. at threshold `i`, a prompt goes to the strong model iff `score >= threshold`, except
//!    at the last threshold (the maximum score) where it is `score > threshold`;
//! 3. quality at a point: the mean over prompts of the strong model's quality where routed
//!    strong and the weak model's otherwise; strong-call percentage: `100 * strong / n`;
//! 4. points sorted by strong-call percentage (a stable sort, as numpy's sort is on 11
//!    items); area: `np.trapz(quality, strong_pct / 100)`;
//! 5. APGR: `(area - weak_area) / (strong_area - weak_area)`, both reference areas being
//!    the trapezoid of a constant over the same percentages (`weak * span`);
//! 6. CPT(x): `np.interp(weak + x * (strong - weak), quality, strong_pct)` over the sorted
//!    points ([`crate::numeric::np_interp`], with numpy's behaviour on non-monotonic
//!    quality values).
//!
//! Differences from RouteLLM: quality is reported as a fraction in `[0, 1]` rather than a
//! percentage (APGR and CPT do not depend on that scale); where `pd.qcut` would refuse
//! duplicate bin edges (many tied scores), the duplicates are kept, as RouteLLM's comment
//! ("including duplicates") intends; APGR and CPT are `None` when the two models have the
//! same mean quality on the set (RouteLLM would divide by zero).

use serde::{Deserialize, Serialize};

use crate::numeric::{decile_probabilities, np_interp, quantile_sorted, sorted_copy, trapz};
use crate::EvalError;

/// One operating point of a router between a strong and a weak model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// The routing-score threshold of this point.
    pub threshold: f64,
    /// Percentage (0..=100) of prompts sent to the strong model.
    pub strong_pct: f64,
    /// Mean quality (0..=1) of the answers at this point.
    pub quality: f64,
}

/// Two-model metrics of one router on one set of prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoModelMetrics {
    /// Number of prompts evaluated.
    pub n: usize,
    /// Mean quality of always calling the strong model.
    pub strong_quality: f64,
    /// Mean quality of always calling the weak model.
    pub weak_quality: f64,
    /// The 11 operating points, sorted by strong-call percentage.
    pub curve: Vec<CurvePoint>,
    /// Area under the quality curve over the strong-call fraction (trapezoid rule).
    pub auc: f64,
    /// Average performance gap recovered.
    pub apgr: Option<f64>,
    /// Strong-call percentage needed to recover 20% of the quality gap.
    pub cpt20: Option<f64>,
    /// Strong-call percentage needed to recover 50% of the quality gap.
    pub cpt50: Option<f64>,
    /// Strong-call percentage needed to recover 80% of the quality gap.
    pub cpt80: Option<f64>,
}

fn check_inputs(scores: &[f64], strong: &[f64], weak: &[f64]) -> Result<(), EvalError> {
    if scores.is_empty() {
        return Err(EvalError::InvalidInput("no prompts to evaluate".into()));
    }
    if scores.len() != strong.len() || scores.len() != weak.len() {
        return Err(EvalError::InvalidInput(format!(
            "lengths differ: {} scores, {} strong qualities, {} weak qualities",
            scores.len(),
            strong.len(),
            weak.len()
        )));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(EvalError::InvalidInput(format!(
            "score {i} is not a finite number"
        )));
    }
    if let Some(i) = strong.iter().chain(weak).position(|q| !q.is_finite()) {
        return Err(EvalError::InvalidInput(format!(
            "quality value {i} is not a finite number"
        )));
    }
    Ok(())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// The 11 RouteLLM thresholds: deciles of `scores` (linear interpolation, duplicates kept).
pub fn decile_thresholds(scores: &[f64]) -> Vec<f64> {
    let sorted = sorted_copy(scores);
    decile_probabilities()
        .iter()
        .filter_map(|&q| quantile_sorted(&sorted, q))
        .collect()
}

/// The operating point of threshold number `index` of `count`: strong iff
/// `score >= threshold`, or `score > threshold` for the last one.
fn point(threshold: f64, last: bool, scores: &[f64], strong: &[f64], weak: &[f64]) -> CurvePoint {
    let mut n_strong = 0usize;
    let mut total = 0.0;
    for ((&s, &qs), &qw) in scores.iter().zip(strong).zip(weak) {
        let to_strong = if last { s > threshold } else { s >= threshold };
        if to_strong {
            n_strong += 1;
            total += qs;
        } else {
            total += qw;
        }
    }
    let n = scores.len() as f64;
    CurvePoint {
        threshold,
        strong_pct: n_strong as f64 / n * 100.0,
        quality: total / n,
    }
}

/// The router's curve: one point per decile threshold, sorted by strong-call percentage.
pub fn routing_curve(
    scores: &[f64],
    strong: &[f64],
    weak: &[f64],
) -> Result<Vec<CurvePoint>, EvalError> {
    check_inputs(scores, strong, weak)?;
    let thresholds = decile_thresholds(scores);
    let last = thresholds.len() - 1;
    let mut curve: Vec<CurvePoint> = thresholds
        .iter()
        .enumerate()
        .map(|(i, &t)| point(t, i == last, scores, strong, weak))
        .collect();
    // `sort_by` is stable, like numpy's sort of 11 elements (insertion sort).
    curve.sort_by(|a, b| a.strong_pct.total_cmp(&b.strong_pct));
    Ok(curve)
}

/// CPT(x): the strong-call percentage at which the curve's quality reaches
/// `weak + x * (strong - weak)`, interpolated as `np.interp` does. `None` when the two
/// models have the same quality.
pub fn cpt(curve: &[CurvePoint], strong_quality: f64, weak_quality: f64, x: f64) -> Option<f64> {
    if strong_quality == weak_quality {
        return None;
    }
    let xp: Vec<f64> = curve.iter().map(|p| p.quality).collect();
    let fp: Vec<f64> = curve.iter().map(|p| p.strong_pct).collect();
    np_interp(x * (strong_quality - weak_quality) + weak_quality, &xp, &fp)
}

/// Area under the curve and APGR of a sorted curve.
pub fn auc_apgr(
    curve: &[CurvePoint],
    strong_quality: f64,
    weak_quality: f64,
) -> (f64, Option<f64>) {
    let x: Vec<f64> = curve.iter().map(|p| p.strong_pct / 100.0).collect();
    let y: Vec<f64> = curve.iter().map(|p| p.quality).collect();
    let auc = trapz(&y, &x);
    let weak_auc = trapz(&vec![weak_quality; x.len()], &x);
    let strong_auc = trapz(&vec![strong_quality; x.len()], &x);
    let denom = strong_auc - weak_auc;
    let apgr = if denom == 0.0 {
        None
    } else {
        Some((auc - weak_auc) / denom)
    };
    (auc, apgr)
}

/// All two-model metrics of a router whose routing score for prompt `i` is `scores[i]`
/// (higher = more reason to call the strong model), given each prompt's quality under the
/// strong and the weak model.
pub fn evaluate_two_model(
    scores: &[f64],
    strong: &[f64],
    weak: &[f64],
) -> Result<TwoModelMetrics, EvalError> {
    let curve = routing_curve(scores, strong, weak)?;
    let strong_quality = mean(strong);
    let weak_quality = mean(weak);
    let (auc, apgr) = auc_apgr(&curve, strong_quality, weak_quality);
    Ok(TwoModelMetrics {
        n: scores.len(),
        strong_quality,
        weak_quality,
        auc,
        apgr,
        cpt20: cpt(&curve, strong_quality, weak_quality, 0.2),
        cpt50: cpt(&curve, strong_quality, weak_quality, 0.5),
        cpt80: cpt(&curve, strong_quality, weak_quality, 0.8),
        curve,
    })
}
