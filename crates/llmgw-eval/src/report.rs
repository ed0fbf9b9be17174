//! The bench report: what `report.json` holds.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::baselines::{FixedChoice, RandomBaseline};
use crate::many_model::{ManyModelMetrics, SweepResult};
use crate::published::PublishedRow;
use crate::two_model::{CurvePoint, TwoModelMetrics};

/// Metrics of one router (or score-based baseline) in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouterMetrics {
    /// What the router is (a router directory, a score file, or a baseline's name).
    pub name: String,
    /// Average performance gap recovered (two-model).
    pub apgr: Option<f64>,
    /// CPT(20%) in percent of strong calls.
    pub cpt20: Option<f64>,
    /// CPT(50%) in percent of strong calls.
    pub cpt50: Option<f64>,
    /// CPT(80%) in percent of strong calls.
    pub cpt80: Option<f64>,
    /// Area under the two-model quality curve.
    pub auc: f64,
    /// RouterBench AIQ of the many-model willingness-to-pay sweep, where it applies.
    pub aiq: Option<f64>,
    /// Fraction of the strongest model's cost saved at 95% of its quality.
    pub savings_at_95: Option<f64>,
    /// Fraction of the strongest model's cost saved at 100% of its quality.
    pub savings_at_100: Option<f64>,
    /// The two-model operating points, by strong-call percentage.
    pub curve: Vec<CurvePoint>,
}

impl RouterMetrics {
    /// Combines two-model metrics with the many-model sweep of the same router.
    pub fn new(name: &str, two: &TwoModelMetrics, sweep: Option<&SweepResult>) -> Self {
        Self {
            name: name.to_string(),
            apgr: two.apgr,
            cpt20: two.cpt20,
            cpt50: two.cpt50,
            cpt80: two.cpt80,
            auc: two.auc,
            aiq: sweep.and_then(|s| s.aiq),
            savings_at_95: sweep.and_then(|s| s.savings_at_95.map(|x| x.fraction)),
            savings_at_100: sweep.and_then(|s| s.savings_at_100.map(|x| x.fraction)),
            curve: two.curve.clone(),
        }
    }
}

/// The baselines every router is compared with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baselines {
    /// Uniform random scores, mean of ten seeds.
    pub random: RandomBaseline,
    /// Always the strong model.
    pub always_strong: FixedChoice,
    /// Always the weak model.
    pub always_weak: FixedChoice,
    /// The true quality gain as the score (and true quality in the many-model sweep).
    pub oracle: RouterMetrics,
    /// Prompt length in characters as the score.
    pub prompt_length: RouterMetrics,
}

/// The metrics of one slice of the data (a source or a dataset).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceReport {
    /// Prompts in the slice (labelled for both the strong and the weak model).
    pub n: usize,
    /// Mean quality of the strong model on the slice.
    pub strong_quality: f64,
    /// Mean quality of the weak model on the slice.
    pub weak_quality: f64,
    /// The router's metrics, when a router was evaluated.
    pub router: Option<RouterMetrics>,
    /// Baselines on the slice.
    pub baselines: Baselines,
}

/// What went into the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inputs {
    /// Labelled-prompt files.
    pub data: Vec<String>,
    /// Prompts read from them.
    pub prompts_read: usize,
    /// Prompts evaluated against the router (those with a prediction).
    pub prompts_scored: usize,
    /// Where each priced model's price came from (`catalog`, `built-in`, or `data` when
    /// every prompt carried `cost_usd`).
    pub price_origin: BTreeMap<String, String>,
    /// Output tokens assumed per answer when the catalog gives none.
    pub default_output_tokens: u64,
}

/// The whole report (`report.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Prompts in the two-model evaluation.
    pub n: usize,
    /// Strong model.
    pub strong: String,
    /// Weak model.
    pub weak: String,
    /// Mean quality of the strong model.
    pub strong_quality: f64,
    /// Mean quality of the weak model.
    pub weak_quality: f64,
    /// The router's metrics (`null` when only baselines were evaluated).
    pub router: Option<RouterMetrics>,
    /// The baselines.
    pub baselines: Baselines,
    /// Many-model metrics over the largest group of prompts labelled for the same models.
    pub many_model: Option<ManyModelMetrics>,
    /// Per `source` value of the prompts.
    pub per_source: BTreeMap<String, SliceReport>,
    /// Per dataset (the `source` up to its first `/`).
    pub per_dataset: BTreeMap<String, SliceReport>,
    /// Published results to compare with.
    pub published: Vec<PublishedRow>,
    /// Inputs and assumptions.
    pub inputs: Inputs,
    /// Things a reader should know (prompts left out, models without prices, ...).
    pub notes: Vec<String>,
}
