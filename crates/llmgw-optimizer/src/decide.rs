//! The decision: filter candidates by availability and constraints, rank the rest by the
//! policy, and explain every candidate.
//!
//! Tie-breaks are total and deterministic, so equal inputs always give the same decision:
//! - `min_quality`: candidates reaching the target come first, ordered by estimated cost
//!   (cheapest first), then higher predicted quality, then model id, then provider
//!   (byte-wise ascending); candidates below the target follow, ordered by higher predicted
//!   quality, then lower cost, then model id, then provider.
//! - `willingness_to_pay`: higher utility first, then lower cost, then higher predicted
//!   quality, then model id, then provider.
//!
//! Numbers compare exactly (IEEE total order); two candidates tie only when their values
//! are bit-for-bit equal.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::{Candidate, Constraints, OptimizerError, Policy};

/// What the optimizer concluded about one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateOutcome {
    /// Catalog model id.
    pub model: String,
    /// Provider name.
    pub provider: String,
    /// Predicted quality used for the decision.
    pub predicted_quality: f64,
    /// Expected cost in USD of this request on this model.
    pub estimated_cost_usd: f64,
    /// Whether it passed availability and every constraint.
    pub eligible: bool,
    /// Position in the fallback order (0 = the winner); `None` when not eligible.
    pub rank: Option<usize>,
    /// `predicted_quality - estimated_cost_usd / lambda` under willingness to pay.
    pub utility: Option<f64>,
    /// Why it won, why it ranks where it does, or why it was excluded.
    pub reason: String,
}

/// The optimizer's decision for one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The policy applied.
    pub policy: Policy,
    /// One outcome per input candidate, in input order.
    pub candidates: Vec<CandidateOutcome>,
    /// Indexes into `candidates` of the eligible ones, best first: the winner, then the
    /// fallback order.
    pub ranked: Vec<usize>,
}

impl Decision {
    /// The winning candidate, if any candidate was eligible.
    pub fn winner(&self) -> Option<&CandidateOutcome> {
        self.ranked.first().and_then(|&i| self.candidates.get(i))
    }

    /// The winner, or [`OptimizerError::NoEligibleCandidate`] listing why each candidate
    /// was excluded.
    pub fn require_winner(&self) -> Result<&CandidateOutcome, OptimizerError> {
        self.winner()
            .ok_or_else(|| OptimizerError::NoEligibleCandidate {
                reasons: self
                    .candidates
                    .iter()
                    .map(|c| format!("{}: {}", c.model, c.reason))
                    .collect(),
            })
    }

    /// Eligible candidates best first (the winner, then fallbacks).
    pub fn fallback_order(&self) -> impl Iterator<Item = &CandidateOutcome> {
        self.ranked.iter().filter_map(|&i| self.candidates.get(i))
    }

    /// Model ids of [`Decision::fallback_order`].
    pub fn ranked_models(&self) -> Vec<&str> {
        self.fallback_order().map(|c| c.model.as_str()).collect()
    }
}

/// Chooses a model for one request.
///
/// Every candidate appears in the result with its estimated cost, eligibility and a reason.
/// A candidate is ineligible when it is unavailable, its provider is excluded, it is not in
/// the allowed list, or its estimated cost exceeds `max_cost_usd` (checked in that order;
/// the first that applies is the reason given). When no candidate is eligible the decision
/// has no winner (see [`Decision::require_winner`]).
///
/// Errors: an invalid policy or constraint, an empty candidate list, or a candidate with a
/// predicted quality outside `[0, 1]` or a negative or non-finite price.
pub fn decide(
    candidates: &[Candidate],
    policy: &Policy,
    constraints: &Constraints,
) -> Result<Decision, OptimizerError> {
    policy.validate()?;
    constraints.validate()?;
    if candidates.is_empty() {
        return Err(OptimizerError::NoCandidates);
    }
    for c in candidates {
        if !(c.predicted_quality.is_finite() && (0.0..=1.0).contains(&c.predicted_quality)) {
            return Err(OptimizerError::InvalidCandidate {
                model: c.model.clone(),
                message: format!("predicted quality {} is not in [0, 1]", c.predicted_quality),
            });
        }
        if !c.prices.all_finite_non_negative() {
            return Err(OptimizerError::InvalidCandidate {
                model: c.model.clone(),
                message: "prices must be non-negative numbers".to_string(),
            });
        }
    }

    let mut outcomes: Vec<CandidateOutcome> = candidates
        .iter()
        .map(|c| {
            let cost = c.estimated_cost_usd();
            let exclusion = exclusion_reason(c, cost, constraints);
            let utility = match *policy {
                Policy::WillingnessToPay { lambda } => Some(c.predicted_quality - cost / lambda),
                Policy::MinQuality { .. } => None,
            };
            CandidateOutcome {
                model: c.model.clone(),
                provider: c.provider.clone(),
                predicted_quality: c.predicted_quality,
                estimated_cost_usd: cost,
                eligible: exclusion.is_none(),
                rank: None,
                utility,
                reason: exclusion.unwrap_or_default(),
            }
        })
        .collect();

    let mut ranked: Vec<usize> = (0..outcomes.len())
        .filter(|&i| outcomes[i].eligible)
        .collect();
    ranked.sort_by(|&a, &b| compare(policy, &outcomes[a], &outcomes[b]));

    let winner = ranked.first().map(|&i| outcomes[i].clone());
    for (rank, &i) in ranked.iter().enumerate() {
        let reason = explain(policy, &outcomes[i], rank, winner.as_ref());
        let o = &mut outcomes[i];
        o.rank = Some(rank);
        o.reason = reason;
    }
    Ok(Decision {
        policy: *policy,
        candidates: outcomes,
        ranked,
    })
}

fn exclusion_reason(c: &Candidate, cost: f64, constraints: &Constraints) -> Option<String> {
    if !c.available {
        let why = c
            .unavailable_reason
            .as_deref()
            .unwrap_or("provider not available");
        return Some(format!("unavailable: {why}"));
    }
    if constraints.excludes_provider(&c.provider) {
        return Some(format!("provider `{}` is excluded", c.provider));
    }
    if !constraints.allows_model(&c.model) {
        return Some("not in the allowed models".to_string());
    }
    if let Some(cap) = constraints.max_cost_usd {
        if cost > cap {
            return Some(format!(
                "estimated cost ${cost:.6} exceeds max_cost_usd ${cap:.6}"
            ));
        }
    }
    None
}

fn by_name(a: &CandidateOutcome, b: &CandidateOutcome) -> Ordering {
    a.model
        .cmp(&b.model)
        .then_with(|| a.provider.cmp(&b.provider))
}

fn compare(policy: &Policy, a: &CandidateOutcome, b: &CandidateOutcome) -> Ordering {
    match *policy {
        Policy::MinQuality { target } => {
            let qa = a.predicted_quality >= target;
            let qb = b.predicted_quality >= target;
            match (qa, qb) {
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (true, true) => a
                    .estimated_cost_usd
                    .total_cmp(&b.estimated_cost_usd)
                    .then_with(|| b.predicted_quality.total_cmp(&a.predicted_quality))
                    .then_with(|| by_name(a, b)),
                (false, false) => b
                    .predicted_quality
                    .total_cmp(&a.predicted_quality)
                    .then_with(|| a.estimated_cost_usd.total_cmp(&b.estimated_cost_usd))
                    .then_with(|| by_name(a, b)),
            }
        }
        Policy::WillingnessToPay { .. } => {
            let ua = a.utility.unwrap_or(f64::NEG_INFINITY);
            let ub = b.utility.unwrap_or(f64::NEG_INFINITY);
            ub.total_cmp(&ua)
                .then_with(|| a.estimated_cost_usd.total_cmp(&b.estimated_cost_usd))
                .then_with(|| b.predicted_quality.total_cmp(&a.predicted_quality))
                .then_with(|| by_name(a, b))
        }
    }
}

fn explain(
    policy: &Policy,
    o: &CandidateOutcome,
    rank: usize,
    winner: Option<&CandidateOutcome>,
) -> String {
    let q = o.predicted_quality;
    let cost = o.estimated_cost_usd;
    match *policy {
        Policy::MinQuality { target } => {
            let reaches = q >= target;
            let none_reach = winner.is_some_and(|w| w.predicted_quality < target);
            match (rank, reaches) {
                (0, true) => format!(
                    "cheapest eligible model with predicted quality {q:.3} >= min_quality {target:.3} (${cost:.6})"
                ),
                (0, false) => format!(
                    "no eligible model reaches min_quality {target:.3}; highest predicted quality {q:.3}"
                ),
                (_, true) => format!(
                    "reaches min_quality {target:.3} (predicted {q:.3}) but costs ${cost:.6}; fallback #{rank}"
                ),
                (_, false) if none_reach => format!(
                    "predicted quality {q:.3} below min_quality {target:.3} and below the winner's; fallback #{rank}"
                ),
                (_, false) => format!(
                    "predicted quality {q:.3} below min_quality {target:.3}; fallback #{rank}"
                ),
            }
        }
        Policy::WillingnessToPay { lambda } => {
            let u = o.utility.unwrap_or(f64::NAN);
            let formula =
                format!("utility {u:.6} = quality {q:.3} - cost ${cost:.6} / lambda {lambda}");
            if rank == 0 {
                format!("highest {formula}")
            } else {
                format!("{formula}; fallback #{rank}")
            }
        }
    }
}
