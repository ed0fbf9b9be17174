//! Many-model routing metrics: a willingness-to-pay sweep, the cost-quality frontier, AIQ,
//! the best single model, the oracle and the cost saved against always calling the
//! strongest model.
//!
//! At willingness to pay `lambda` (USD per unit of quality) a router picks, for each
//! prompt, the model maximising `predicted_quality - cost / lambda` (RouterBench's
//! formulation, the same rule as the gateway's `willingness_to_pay` policy). Ties go to
//! the cheaper model, then the higher predicted quality, then the model listed first. The
//! sweep covers a log-spaced grid of `lambda` wide enough to reach both extremes, plus the
//! two limits `lambda -> 0` (cheapest model per prompt) and `lambda -> inf` (highest
//! predicted quality per prompt).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::frontier::{aiq, non_decreasing_convex_hull, FrontierPoint};
use crate::EvalError;

/// Number of log-spaced `lambda` values in a sweep (the two limits come on top).
pub const LAMBDA_GRID_POINTS: usize = 200;

/// Per-prompt, per-model inputs; rows are prompts, columns follow `models`.
#[derive(Debug, Clone, PartialEq)]
pub struct ManyModelInput {
    /// Candidate models (column order).
    pub models: Vec<String>,
    /// True quality of each model's answer, in `[0, 1]`.
    pub truth: Vec<Vec<f64>>,
    /// Cost in USD of each model's answer.
    pub cost: Vec<Vec<f64>>,
    /// The router's predicted quality, when a router is evaluated.
    pub predicted: Option<Vec<Vec<f64>>>,
}

/// One operating point of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// Willingness to pay in USD per unit of quality; `None` for the two limits.
    pub lambda: Option<f64>,
    /// Mean cost per prompt in USD.
    pub cost: f64,
    /// Mean true quality.
    pub quality: f64,
    /// Percentage of prompts sent to each model.
    pub calls_pct: BTreeMap<String, f64>,
}

/// Cost saved by the cheapest operating point that keeps a share of the strongest model's
/// quality.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Savings {
    /// `1 - cost / strongest_cost`.
    pub fraction: f64,
    /// Mean cost per prompt of that point.
    pub cost: f64,
    /// Its mean quality.
    pub quality: f64,
    /// Its willingness to pay (`None` for a limit).
    pub lambda: Option<f64>,
}

/// A willingness-to-pay sweep and what follows from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// Operating points, sorted by cost.
    pub points: Vec<OperatingPoint>,
    /// Their non-decreasing convex hull.
    pub frontier: Vec<FrontierPoint>,
    /// Area under the frontier over the shared cost span, divided by its width.
    pub aiq: Option<f64>,
    /// Cheapest point reaching 95% of the strongest model's quality.
    pub savings_at_95: Option<Savings>,
    /// Cheapest point reaching 100% of the strongest model's quality.
    pub savings_at_100: Option<Savings>,
}

/// One model called on every prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingleModel {
    /// Model id.
    pub model: String,
    /// Mean cost per prompt in USD.
    pub cost: f64,
    /// Mean quality.
    pub quality: f64,
}

/// Many-model metrics of one set of prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManyModelMetrics {
    /// Candidate models.
    pub models: Vec<String>,
    /// Number of prompts.
    pub n: usize,
    /// The cost range every AIQ is computed over: from the cheapest to the dearest single
    /// model's mean cost per prompt.
    pub cost_span: (f64, f64),
    /// Each model alone.
    pub single: Vec<SingleModel>,
    /// The single model with the highest mean quality (the cheaper on a tie): the
    /// "strongest" model savings are measured against.
    pub best_single: SingleModel,
    /// AIQ of mixing single models only (the non-decreasing hull of their points).
    pub single_models_aiq: Option<f64>,
    /// The oracle: the sweep with true quality as the prediction.
    pub oracle: SweepResult,
    /// The router's sweep, when predictions were given.
    pub router: Option<SweepResult>,
}

fn check(input: &ManyModelInput) -> Result<(), EvalError> {
    let m = input.models.len();
    if m == 0 {
        return Err(EvalError::InvalidInput("no candidate models".into()));
    }
    if input.truth.is_empty() {
        return Err(EvalError::InvalidInput("no prompts".into()));
    }
    if input.cost.len() != input.truth.len() {
        return Err(EvalError::InvalidInput(
            "cost and quality rows differ in number".into(),
        ));
    }
    let mut rows: Vec<&Vec<f64>> = input.truth.iter().chain(&input.cost).collect();
    if let Some(p) = &input.predicted {
        if p.len() != input.truth.len() {
            return Err(EvalError::InvalidInput(
                "prediction and quality rows differ in number".into(),
            ));
        }
        rows.extend(p);
    }
    for row in rows {
        if row.len() != m {
            return Err(EvalError::InvalidInput(format!(
                "a row has {} values for {m} models",
                row.len()
            )));
        }
        if row.iter().any(|v| !v.is_finite()) {
            return Err(EvalError::InvalidInput(
                "a quality or cost is not finite".into(),
            ));
        }
    }
    Ok(())
}

/// The `lambda` grid: log-spaced from half the smallest per-prompt cost gap between two
/// models (below it cost outweighs any quality gain up to 1) to twice the largest gap over
/// a quality gain of 1e-4 (above it only quality differences under 1e-4 are traded off).
pub fn lambda_grid(cost: &[Vec<f64>], points: usize) -> Vec<f64> {
    let mut min_gap = f64::INFINITY;
    let mut max_gap: f64 = 0.0;
    for row in cost {
        for (i, a) in row.iter().enumerate() {
            for b in &row[i + 1..] {
                let gap = (a - b).abs();
                if gap > 0.0 {
                    min_gap = min_gap.min(gap);
                    max_gap = max_gap.max(gap);
                }
            }
        }
    }
    if !min_gap.is_finite() || points < 2 {
        return vec![1.0];
    }
    let lo = (min_gap * 0.5).ln();
    let hi = (max_gap / 1e-4 * 2.0).ln();
    (0..points)
        .map(|i| (lo + (hi - lo) * i as f64 / (points - 1) as f64).exp())
        .collect()
}

#[derive(Clone, Copy)]
enum Rule {
    Lambda(f64),
    Cheapest,
    Best,
}

fn pick(pred: &[f64], cost: &[f64], rule: Rule) -> usize {
    let mut best = 0usize;
    for j in 1..pred.len() {
        let better = match rule {
            Rule::Lambda(l) => {
                let (uj, ub) = (pred[j] - cost[j] / l, pred[best] - cost[best] / l);
                uj > ub
                    || (uj == ub
                        && (cost[j] < cost[best]
                            || (cost[j] == cost[best] && pred[j] > pred[best])))
            }
            Rule::Cheapest => {
                cost[j] < cost[best] || (cost[j] == cost[best] && pred[j] > pred[best])
            }
            Rule::Best => pred[j] > pred[best] || (pred[j] == pred[best] && cost[j] < cost[best]),
        };
        if better {
            best = j;
        }
    }
    best
}

fn operating_point(input: &ManyModelInput, pred: &[Vec<f64>], rule: Rule) -> OperatingPoint {
    let n = input.truth.len() as f64;
    let mut counts = vec![0usize; input.models.len()];
    let (mut cost, mut quality) = (0.0, 0.0);
    for ((p, c), t) in pred.iter().zip(&input.cost).zip(&input.truth) {
        let j = pick(p, c, rule);
        counts[j] += 1;
        cost += c[j];
        quality += t[j];
    }
    OperatingPoint {
        lambda: match rule {
            Rule::Lambda(l) => Some(l),
            _ => None,
        },
        cost: cost / n,
        quality: quality / n,
        calls_pct: input
            .models
            .iter()
            .zip(counts)
            .map(|(m, k)| (m.clone(), k as f64 / n * 100.0))
            .collect(),
    }
}

fn savings(points: &[OperatingPoint], best: &SingleModel, share: f64) -> Option<Savings> {
    if best.cost <= 0.0 {
        return None;
    }
    let target = share * best.quality - 1e-12;
    points
        .iter()
        .filter(|p| p.quality >= target)
        .min_by(|a, b| a.cost.total_cmp(&b.cost))
        .map(|p| Savings {
            fraction: 1.0 - p.cost / best.cost,
            cost: p.cost,
            quality: p.quality,
            lambda: p.lambda,
        })
}

fn sweep(
    input: &ManyModelInput,
    pred: &[Vec<f64>],
    lambdas: &[f64],
    span: (f64, f64),
    best: &SingleModel,
) -> SweepResult {
    let mut points: Vec<OperatingPoint> = [Rule::Cheapest, Rule::Best]
        .into_iter()
        .chain(lambdas.iter().map(|&l| Rule::Lambda(l)))
        .map(|r| operating_point(input, pred, r))
        .collect();
    points.sort_by(|a, b| {
        a.cost
            .total_cmp(&b.cost)
            .then(a.quality.total_cmp(&b.quality))
    });
    let fp: Vec<FrontierPoint> = points
        .iter()
        .map(|p| FrontierPoint {
            cost: p.cost,
            quality: p.quality,
        })
        .collect();
    SweepResult {
        frontier: non_decreasing_convex_hull(&fp),
        aiq: aiq(&fp, span.0, span.1),
        savings_at_95: savings(&points, best, 0.95),
        savings_at_100: savings(&points, best, 1.0),
        points,
    }
}

/// Evaluates the oracle, the single models and (when `input.predicted` is set) the router.
pub fn evaluate_many_model(input: &ManyModelInput) -> Result<ManyModelMetrics, EvalError> {
    check(input)?;
    let n = input.truth.len() as f64;
    let single: Vec<SingleModel> = input
        .models
        .iter()
        .enumerate()
        .map(|(j, m)| SingleModel {
            model: m.clone(),
            cost: input.cost.iter().map(|r| r[j]).sum::<f64>() / n,
            quality: input.truth.iter().map(|r| r[j]).sum::<f64>() / n,
        })
        .collect();
    let best_single = single
        .iter()
        .max_by(|a, b| {
            a.quality
                .total_cmp(&b.quality)
                .then_with(|| b.cost.total_cmp(&a.cost))
        })
        .cloned()
        .ok_or_else(|| EvalError::InvalidInput("no candidate models".into()))?;
    let lo = single.iter().map(|s| s.cost).fold(f64::INFINITY, f64::min);
    let hi = single
        .iter()
        .map(|s| s.cost)
        .fold(f64::NEG_INFINITY, f64::max);
    let span = (lo, hi);
    let single_points: Vec<FrontierPoint> = single
        .iter()
        .map(|s| FrontierPoint {
            cost: s.cost,
            quality: s.quality,
        })
        .collect();
    let lambdas = lambda_grid(&input.cost, LAMBDA_GRID_POINTS);
    let oracle = sweep(input, &input.truth, &lambdas, span, &best_single);
    let router = input
        .predicted
        .as_ref()
        .map(|p| sweep(input, p, &lambdas, span, &best_single));
    Ok(ManyModelMetrics {
        models: input.models.clone(),
        n: input.truth.len(),
        cost_span: span,
        single_models_aiq: aiq(&single_points, lo, hi),
        single,
        best_single,
        oracle,
        router,
    })
}
