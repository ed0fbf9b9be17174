//! `llmgw calibrate`: choose the routing threshold that sends a given share of traffic to
//! the strong model, as RouteLLM calibrates (`routellm/calibrate_threshold.py`: the
//! `1 - share` quantile of the routing scores, a prompt going strong iff
//! `score >= threshold`), and the `min_quality` target that does the same under the
//! gateway's `min_quality` policy, with the quality and cost that follow on the data.

use llmgw_optimizer::{decide, Candidate, Constraints, Policy, Prices};
use serde::Serialize;

use crate::numeric::{quantile_sorted, sorted_copy};
use crate::EvalError;

/// Per-prompt inputs, one entry per prompt in each vector.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CalibrationInput {
    /// Predicted quality of the strong model.
    pub strong_pred: Vec<f64>,
    /// Predicted quality of the weak model.
    pub weak_pred: Vec<f64>,
    /// Measured quality of the strong model.
    pub strong_true: Vec<f64>,
    /// Measured quality of the weak model.
    pub weak_true: Vec<f64>,
    /// Cost in USD of the strong model's answer.
    pub strong_cost: Vec<f64>,
    /// Cost in USD of the weak model's answer.
    pub weak_cost: Vec<f64>,
}

/// What a routing rule yields on the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RuleOutcome {
    /// Fraction of prompts sent to the strong model.
    pub strong_share: f64,
    /// Mean measured quality of the answers.
    pub quality: f64,
    /// Mean cost per prompt in USD.
    pub cost_per_prompt: f64,
    /// Total cost in USD over the data.
    pub total_cost: f64,
}

/// The calibration result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// Prompts used.
    pub n: usize,
    /// The share asked for.
    pub target_share: f64,
    /// Threshold on the routing score (predicted strong minus weak quality).
    pub score_threshold: f64,
    /// Routing strong iff `score >= score_threshold`.
    pub by_score: RuleOutcome,
    /// `min_quality` target giving the share under the `min_quality` policy with these
    /// two candidates.
    pub min_quality: f64,
    /// Routing with the optimizer's `min_quality` policy at that target.
    pub by_min_quality: RuleOutcome,
    /// The largest share `min_quality` can send to the strong model on this data: it
    /// only does so where the strong model's predicted quality is above the weak one's.
    pub max_min_quality_share: f64,
    /// Always the strong model.
    pub always_strong: RuleOutcome,
    /// Always the weak model.
    pub always_weak: RuleOutcome,
}

fn outcome(input: &CalibrationInput, to_strong: &[bool]) -> RuleOutcome {
    let n = to_strong.len() as f64;
    let mut quality = 0.0;
    let mut cost = 0.0;
    let mut strong = 0usize;
    for (i, &s) in to_strong.iter().enumerate() {
        if s {
            strong += 1;
            quality += input.strong_true[i];
            cost += input.strong_cost[i];
        } else {
            quality += input.weak_true[i];
            cost += input.weak_cost[i];
        }
    }
    RuleOutcome {
        strong_share: strong as f64 / n,
        quality: quality / n,
        cost_per_prompt: cost / n,
        total_cost: cost,
    }
}

fn candidate(model: &str, quality: f64, cost: f64) -> Candidate {
    // One million prompt tokens at `cost` USD per million: the estimate is `cost`.
    Candidate {
        model: model.to_string(),
        provider: "calibration".into(),
        predicted_quality: quality,
        prices: Prices::new(cost, 0.0),
        prompt_tokens: 1_000_000,
        cached_prompt_tokens: 0,
        expected_output_tokens: 0,
        available: true,
        unavailable_reason: None,
    }
}

/// Which prompts the optimizer's `min_quality` policy sends to the strong model.
pub fn min_quality_routes(input: &CalibrationInput, target: f64) -> Result<Vec<bool>, EvalError> {
    let policy = Policy::MinQuality { target };
    let none = Constraints::default();
    (0..input.strong_pred.len())
        .map(|i| {
            let c = [
                candidate(
                    "strong",
                    input.strong_pred[i].clamp(0.0, 1.0),
                    input.strong_cost[i],
                ),
                candidate(
                    "weak",
                    input.weak_pred[i].clamp(0.0, 1.0),
                    input.weak_cost[i],
                ),
            ];
            let d =
                decide(&c, &policy, &none).map_err(|e| EvalError::InvalidInput(e.to_string()))?;
            Ok(d.winner().is_some_and(|w| w.model == "strong"))
        })
        .collect()
}

fn check(input: &CalibrationInput, share: f64) -> Result<usize, EvalError> {
    let n = input.strong_pred.len();
    if n == 0 {
        return Err(EvalError::InvalidInput("no prompts to calibrate on".into()));
    }
    let lens = [
        input.weak_pred.len(),
        input.strong_true.len(),
        input.weak_true.len(),
        input.strong_cost.len(),
        input.weak_cost.len(),
    ];
    if lens.iter().any(|&l| l != n) {
        return Err(EvalError::InvalidInput(
            "calibration inputs differ in length".into(),
        ));
    }
    if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
        return Err(EvalError::InvalidInput(format!(
            "the strong share must be between 0 and 1, got {share}"
        )));
    }
    let all = [
        &input.strong_pred,
        &input.weak_pred,
        &input.strong_true,
        &input.weak_true,
        &input.strong_cost,
        &input.weak_cost,
    ];
    if all.iter().any(|v| v.iter().any(|x| !x.is_finite())) {
        return Err(EvalError::InvalidInput(
            "a calibration value is not finite".into(),
        ));
    }
    Ok(n)
}

/// The `min_quality` target sending about `share` of prompts to the strong model.
///
/// With two candidates and the strong model the dearer one, `min_quality` picks the
/// strong model iff the weak model's predicted quality is below the target and the strong
/// model's is above the weak one's. So the target sits between the `k`-th and `k+1`-th
/// smallest weak predictions among the prompts where the strong prediction is higher,
/// `k = round(share * n)` (midway, rounded to 6 decimals).
fn min_quality_target(input: &CalibrationInput, share: f64) -> f64 {
    let n = input.strong_pred.len();
    let mut eligible: Vec<f64> = (0..n)
        .filter(|&i| input.strong_pred[i] > input.weak_pred[i])
        .map(|i| input.weak_pred[i].clamp(0.0, 1.0))
        .collect();
    eligible.sort_by(f64::total_cmp);
    let k = (share * n as f64).round() as usize;
    if k == 0 || eligible.is_empty() {
        return 0.0;
    }
    if k >= eligible.len() {
        return 1.0;
    }
    let t = (eligible[k - 1] + eligible[k]) / 2.0;
    (t * 1e6).round() / 1e6
}

/// Calibrates on the data: see the module documentation.
pub fn calibrate(input: &CalibrationInput, share: f64) -> Result<Calibration, EvalError> {
    let n = check(input, share)?;
    let scores: Vec<f64> = input
        .strong_pred
        .iter()
        .zip(&input.weak_pred)
        .map(|(s, w)| s - w)
        .collect();
    let sorted = sorted_copy(&scores);
    let score_threshold = quantile_sorted(&sorted, 1.0 - share)
        .ok_or_else(|| EvalError::InvalidInput("no scores".into()))?;
    // RouteLLM's controller routes strong iff the score reaches the threshold; a share of
    // 0 must send nothing, so the top quantile is made strict there.
    let by_score_routes: Vec<bool> = scores
        .iter()
        .map(|&s| {
            if share == 0.0 {
                s > score_threshold
            } else {
                s >= score_threshold
            }
        })
        .collect();
    let min_quality = min_quality_target(input, share);
    let mq_routes = min_quality_routes(input, min_quality)?;
    let max_share = (0..n)
        .filter(|&i| input.strong_pred[i] > input.weak_pred[i])
        .count() as f64
        / n as f64;
    Ok(Calibration {
        n,
        target_share: share,
        score_threshold,
        by_score: outcome(input, &by_score_routes),
        min_quality,
        by_min_quality: outcome(input, &mq_routes),
        max_min_quality_share: max_share,
        always_strong: outcome(input, &vec![true; n]),
        always_weak: outcome(input, &vec![false; n]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CalibrationInput {
        // 10 prompts; weak predictions 0.05, 0.15, ..., 0.95; strong always 0.9 except
        // the last (0.5, below the weak 0.95).
        let weak_pred: Vec<f64> = (0..10).map(|i| 0.05 + 0.1 * i as f64).collect();
        let mut strong_pred = vec![0.9; 10];
        strong_pred[9] = 0.5;
        CalibrationInput {
            strong_pred,
            weak_pred,
            strong_true: vec![1.0; 10],
            weak_true: (0..10).map(|i| if i < 5 { 0.0 } else { 1.0 }).collect(),
            strong_cost: vec![0.01; 10],
            weak_cost: vec![0.001; 10],
        }
    }

    #[test]
    fn min_quality_target_sends_the_asked_share() {
        let c = calibrate(&input(), 0.3).unwrap();
        // the three lowest weak predictions (0.05, 0.15, 0.25) go strong
        assert!((c.min_quality - 0.3).abs() < 1e-9, "{}", c.min_quality);
        assert!((c.by_min_quality.strong_share - 0.3).abs() < 1e-12);
        // those three are weak-wrong: quality 0.5 + 0.3 = 0.8
        assert!((c.by_min_quality.quality - 0.8).abs() < 1e-12);
        let cost = 0.3 * 0.01 + 0.7 * 0.001;
        assert!((c.by_min_quality.cost_per_prompt - cost).abs() < 1e-12);
        assert!((c.max_min_quality_share - 0.9).abs() < 1e-12);
    }

    #[test]
    fn score_threshold_is_the_quantile() {
        let c = calibrate(&input(), 0.3).unwrap();
        // scores 0.85, 0.75, ..., 0.05, -0.45: the 0.7 quantile
        assert!((c.by_score.strong_share - 0.3).abs() < 1e-12, "{c:?}");
        assert!(
            c.score_threshold > 0.55 && c.score_threshold < 0.66,
            "{}",
            c.score_threshold
        );
        let none = calibrate(&input(), 0.0).unwrap();
        assert_eq!(none.by_score.strong_share, 0.0);
        assert_eq!(none.by_min_quality.strong_share, 0.0);
        let all = calibrate(&input(), 1.0).unwrap();
        assert_eq!(all.by_score.strong_share, 1.0);
        // min_quality cannot send the prompt whose strong prediction is lower
        assert!((all.by_min_quality.strong_share - 0.9).abs() < 1e-12);
    }

    #[test]
    fn bad_share_is_an_error() {
        assert!(calibrate(&input(), 1.5).is_err());
        assert!(calibrate(&CalibrationInput::default(), 0.5).is_err());
    }
}
