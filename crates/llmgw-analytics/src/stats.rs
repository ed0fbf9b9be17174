//! The per-group numbers: polars expressions and their extraction into [`Stats`].

use polars::prelude::*;
use serde::Serialize;

use crate::reference::Reference;
use crate::AnalyticsError;

/// p50, p95 and p99 (linear interpolation between the closest ranks, as numpy's default);
/// `null` when the group has no value.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// Requests answered by the gateway's response cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CacheHits {
    /// Exact-cache hits.
    pub exact: u64,
    /// Semantic-cache hits.
    pub semantic: u64,
}

/// The numbers of one group of requests (or of all of them).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Stats {
    /// Requests (rows of the outcome log).
    pub requests: u64,
    /// Requests that failed: HTTP status ≥ 400, or an error recorded after the answer began.
    pub errors: u64,
    /// Requests without a cost (no usage was reported, e.g. failed before an answer):
    /// they add nothing to the tokens, costs and savings.
    pub unpriced_requests: u64,
    /// Prompt tokens (cached ones included).
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Prompt tokens read from the providers' prompt caches.
    pub cached_tokens: u64,
    /// What the requests cost, USD (gateway cache hits cost 0).
    pub cost_usd: f64,
    /// What the same tokens would have cost on the reference model, USD.
    pub reference_cost_usd: f64,
    /// `reference_cost_usd - cost_usd`.
    pub savings_usd: f64,
    /// Requests answered by the gateway's cache.
    pub cache_hits: CacheHits,
    /// `(exact + semantic) / requests` (0 without requests).
    pub cache_hit_rate: f64,
    /// Total latency as the client saw it, ms.
    pub latency_ms: Percentiles,
    /// Time to first token, ms (requests that have one).
    pub ttft_ms: Percentiles,
}

const QUANTILES: [(&str, f64); 3] = [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)];

/// Adds the derived columns `p`, `c`, `cached` (tokens, nulls as 0, cached capped at `p`),
/// `cost`, `ref_cost`, `savings` (USD; 0 for unpriced rows) and `is_error`.
pub fn with_derived(lf: LazyFrame, reference: &Reference) -> LazyFrame {
    let p = col("prompt_tokens").fill_null(lit(0i64));
    let c = col("completion_tokens").fill_null(lit(0i64));
    let cached_raw = col("cached_tokens").fill_null(lit(0i64));
    let cached = when(cached_raw.clone().gt(p.clone()))
        .then(p.clone())
        .otherwise(cached_raw);
    let lf = lf.with_columns([p.alias("p"), c.alias("c"), cached.alias("cached")]);
    let f = |name: &str| col(name).cast(DataType::Float64);
    let reference_cost = ((f("p") - f("cached")) * lit(reference.input_per_mtok)
        + f("cached") * lit(reference.cached_input_per_mtok)
        + f("c") * lit(reference.output_per_mtok))
        / lit(1_000_000.0);
    let priced = col("cost_usd").is_not_null();
    lf.with_columns([
        col("cost_usd").fill_null(lit(0.0)).alias("cost"),
        when(priced)
            .then(reference_cost)
            .otherwise(lit(0.0))
            .alias("ref_cost"),
        (col("status")
            .gt_eq(lit(400i64))
            .or(col("error_kind").is_not_null()))
        .alias("is_error"),
    ])
    .with_columns([(col("ref_cost") - col("cost")).alias("savings")])
}

fn count(e: Expr) -> Expr {
    e.cast(DataType::Int64).sum()
}

/// The aggregations behind [`Stats`], as columns named like its fields.
pub fn aggregations() -> Vec<Expr> {
    let mut aggs = vec![
        len().cast(DataType::Int64).alias("requests"),
        count(col("is_error")).alias("errors"),
        count(col("cost_usd").is_null()).alias("unpriced_requests"),
        col("p").sum().alias("prompt_tokens"),
        col("c").sum().alias("completion_tokens"),
        col("cached").sum().alias("cached_tokens"),
        col("cost").sum().alias("cost_usd"),
        col("ref_cost").sum().alias("reference_cost_usd"),
        col("savings").sum().alias("savings_usd"),
        count(col("cache_hit").eq(lit("exact"))).alias("hits_exact"),
        count(col("cache_hit").eq(lit("semantic"))).alias("hits_semantic"),
    ];
    for metric in ["latency_ms", "ttft_ms"] {
        for (name, q) in QUANTILES {
            aggs.push(
                col(metric)
                    .quantile(lit(q), QuantileMethod::Linear)
                    .alias(format!("{metric}_{name}")),
            );
        }
    }
    aggs
}

fn ints(df: &DataFrame, name: &str) -> Result<Vec<u64>, AnalyticsError> {
    let c = df.column(name)?.cast(&DataType::Int64)?;
    Ok(c.i64()?
        .iter()
        .map(|v| v.map_or(0, |x| u64::try_from(x).unwrap_or(0)))
        .collect())
}

fn floats(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>, AnalyticsError> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().collect())
}

/// One [`Stats`] per row of an aggregated frame (columns from [`aggregations`]).
pub fn extract(df: &DataFrame) -> Result<Vec<Stats>, AnalyticsError> {
    let n = df.height();
    let requests = ints(df, "requests")?;
    let errors = ints(df, "errors")?;
    let unpriced = ints(df, "unpriced_requests")?;
    let prompt = ints(df, "prompt_tokens")?;
    let completion = ints(df, "completion_tokens")?;
    let cached = ints(df, "cached_tokens")?;
    let cost = floats(df, "cost_usd")?;
    let reference = floats(df, "reference_cost_usd")?;
    let savings = floats(df, "savings_usd")?;
    let exact = ints(df, "hits_exact")?;
    let semantic = ints(df, "hits_semantic")?;
    let pct = |metric: &str| -> Result<Vec<Percentiles>, AnalyticsError> {
        let [a, b, c] = QUANTILES.map(|(name, _)| floats(df, &format!("{metric}_{name}")));
        let (a, b, c) = (a?, b?, c?);
        Ok((0..n)
            .map(|i| Percentiles {
                p50: a[i],
                p95: b[i],
                p99: c[i],
            })
            .collect())
    };
    let latency = pct("latency_ms")?;
    let ttft = pct("ttft_ms")?;
    Ok((0..n)
        .map(|i| {
            let hits = exact[i] + semantic[i];
            Stats {
                requests: requests[i],
                errors: errors[i],
                unpriced_requests: unpriced[i],
                prompt_tokens: prompt[i],
                completion_tokens: completion[i],
                cached_tokens: cached[i],
                cost_usd: cost[i].unwrap_or(0.0),
                reference_cost_usd: reference[i].unwrap_or(0.0),
                savings_usd: savings[i].unwrap_or(0.0),
                cache_hits: CacheHits {
                    exact: exact[i],
                    semantic: semantic[i],
                },
                cache_hit_rate: if requests[i] == 0 {
                    0.0
                } else {
                    hits as f64 / requests[i] as f64
                },
                latency_ms: latency[i],
                ttft_ms: ttft[i],
            }
        })
        .collect())
}
