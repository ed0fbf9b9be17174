//! Published reference numbers the report shows next to the measured ones.

use serde::Serialize;

/// One published result row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PublishedRow {
    /// Benchmark it was measured on.
    pub benchmark: &'static str,
    /// Which router.
    pub router: &'static str,
    /// APGR.
    pub apgr: f64,
    /// CPT(50%), in percent.
    pub cpt50: f64,
    /// CPT(80%), in percent.
    pub cpt80: f64,
    /// Where the numbers come from.
    pub citation: &'static str,
}

/// RouteLLM's published results (Ong et al., "RouteLLM: Learning to Route LLMs with
/// Preference Data", arXiv 2406.18665): the best router on MMLU, routing between
/// gpt-4-1106-preview and mixtral-8x7b-instruct-v0.1.
pub const ROUTELLM_PUBLISHED: [PublishedRow; 1] = [PublishedRow {
    benchmark: "MMLU",
    router: "RouteLLM best router",
    apgr: 0.603,
    cpt50: 35.40,
    cpt80: 71.55,
    citation: "arXiv 2406.18665, MMLU results table",
}];
