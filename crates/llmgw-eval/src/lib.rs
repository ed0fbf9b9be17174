//! Routing-quality evaluation for LLM Gateway.
//!
//! - Two-model metrics exactly as RouteLLM computes them ([`two_model`]): APGR and CPT(x%)
//!   from a routing score, the strong and the weak model's quality per prompt.
//! - Baselines ([`baselines`]): random, always-strong, always-weak, oracle, prompt length.
//! - Many-model metrics ([`many_model`], [`frontier`]): a willingness-to-pay sweep, the
//!   cost-quality frontier, RouterBench's AIQ, the best single model and cost savings.
//! - `llmgw calibrate`'s threshold search ([`calibrate`]).
//! - The `llmgw bench` report ([`bench`], [`report`]) and its files ([`output`]):
//!   `report.json`, `report.md`, `curve.svg`.
//!
//! Everything except [`data`] (reading JSONL), [`catalog`] (reading the catalog) and
//! [`output`] (writing the report) is pure computation.

pub mod baselines;
pub mod bench;
pub mod calibrate;
pub mod catalog;
pub mod data;
mod error;
pub mod frontier;
pub mod many_model;
mod markdown;
pub mod numeric;
pub mod output;
pub mod published;
pub mod report;
mod svg;
pub mod two_model;

pub use bench::{default_pair, prompt_cost, run_bench, BenchOptions, Predictions};
pub use catalog::{PriceBook, DEFAULT_OUTPUT_TOKENS};
pub use data::{load_labelled, load_labelled_file, load_scores, LabelledPrompt, ScoreRecord};
pub use error::EvalError;
pub use markdown::render_markdown;
pub use output::{write_report, WrittenReport};
pub use report::Report;
pub use svg::render_svg;
pub use two_model::{evaluate_two_model, CurvePoint, TwoModelMetrics};
