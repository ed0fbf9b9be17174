//! The reports: spend grouped one way, and the dashboard's overview.

use llmgw_outcomes::LogView;
use polars::prelude::*;
use serde::Serialize;

use crate::frame::load;
use crate::query::{Bucket, Filter, GroupBy};
use crate::reference::Reference;
use crate::stats::{aggregations, extract, with_derived, Stats};
use crate::AnalyticsError;

/// The numbers of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The group's value: a model, provider or key id (`null`: none recorded), or the
    /// start of a time bucket (`YYYY-MM-DD` for days, RFC 3339 UTC otherwise).
    pub group: Option<String>,
    /// Its numbers.
    #[serde(flatten)]
    pub stats: Stats,
}

/// Where the rows came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Sources {
    /// Published Parquet files read.
    pub files: usize,
    /// Rows not yet flushed to a file, read from memory.
    pub pending_rows: usize,
}

impl Sources {
    fn of(view: &LogView) -> Sources {
        Sources {
            files: view.outcome_files.len(),
            pending_rows: view.pending.outcomes.len(),
        }
    }
}

/// Spend grouped by one dimension (`GET /v1/analytics/spend`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendReport {
    /// The grouping (`model`, `provider`, `key`, `day`, `hour`, `minute`).
    pub group_by: &'static str,
    /// The model savings are measured against.
    pub reference: Reference,
    /// One entry per group, sorted by group (time groups chronologically; `null` first).
    pub data: Vec<Group>,
    /// All rows in range together.
    pub totals: Stats,
    /// Where the rows came from.
    pub sources: Sources,
}

/// Requests routed by `auto` in one difficulty bin that ended on one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutingCell {
    /// Bin index, 0‥[`DIFFICULTY_BINS`]` - 1`.
    pub bin: u32,
    /// Lower bound of the bin's difficulty (inclusive).
    pub lo: f64,
    /// Upper bound (exclusive; the last bin includes 1).
    pub hi: f64,
    /// The model that answered (`null`: none was reached).
    pub model: Option<String>,
    /// Requests.
    pub requests: u64,
}

/// Difficulty bins of the routing breakdown: `[0, 0.1)`, `[0.1, 0.2)`, … `[0.9, 1]`.
pub const DIFFICULTY_BINS: u32 = 10;

/// Everything the dashboard shows (`GET /v1/analytics/overview`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// Length of the timeline's buckets.
    pub bucket: &'static str,
    /// The model savings are measured against.
    pub reference: Reference,
    /// All rows in range together.
    pub totals: Stats,
    /// One entry per time bucket that has requests, chronologically: spend, savings, cache
    /// hit rate and latency percentiles over time.
    pub timeline: Vec<Group>,
    /// One entry per model: the model mix.
    pub models: Vec<Group>,
    /// Routing decisions of `auto` by difficulty bin and chosen model (rows with a
    /// difficulty score), sorted by bin then model.
    pub routing: Vec<RoutingCell>,
    /// Where the rows came from.
    pub sources: Sources,
}

fn key_expr(group_by: GroupBy) -> Expr {
    match group_by {
        GroupBy::Model => col("model"),
        GroupBy::Provider => col("provider"),
        GroupBy::Key => col("api_key_id"),
        GroupBy::Time(b) => {
            // The start of the bucket. Polars' floor division needs its `round_series`
            // feature; times before 1970 do not occur, so subtracting the remainder is the same.
            col("ts_us") - (col("ts_us") % lit(b.micros()))
        }
    }
}

fn grouped(
    base: &DataFrame,
    group_by: GroupBy,
    reference: &Reference,
) -> Result<Vec<Group>, AnalyticsError> {
    let df = with_derived(base.clone().lazy(), reference)
        .group_by([key_expr(group_by).alias("group")])
        .agg(aggregations())
        .collect()?;
    let stats = extract(&df)?;
    let mut groups: Vec<(Option<i64>, Option<String>, Stats)> = match group_by {
        GroupBy::Time(bucket) => {
            let keys = df.column("group")?.cast(&DataType::Int64)?;
            keys.i64()?
                .iter()
                .zip(stats)
                .map(|(k, s)| (k, k.map(|us| bucket.label(us)), s))
                .collect()
        }
        _ => {
            let keys = df.column("group")?.cast(&DataType::String)?;
            keys.str()?
                .iter()
                .zip(stats)
                .map(|(k, s)| (None, k.map(str::to_string), s))
                .collect()
        }
    };
    groups.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(groups
        .into_iter()
        .map(|(_, group, stats)| Group { group, stats })
        .collect())
}

fn totals(base: &DataFrame, reference: &Reference) -> Result<Stats, AnalyticsError> {
    let df = with_derived(base.clone().lazy(), reference)
        .select(aggregations())
        .collect()?;
    Ok(extract(&df)?.into_iter().next().unwrap_or_default())
}

fn routing(base: &DataFrame) -> Result<Vec<RoutingCell>, AnalyticsError> {
    let d = col("difficulty");
    let last = i64::from(DIFFICULTY_BINS) - 1;
    let scaled = (d.clone() * lit(f64::from(DIFFICULTY_BINS))).cast(DataType::Int64);
    let bin = when(d.clone().lt(lit(0.0))).then(lit(0i64)).otherwise(
        when(scaled.clone().gt(lit(last)))
            .then(lit(last))
            .otherwise(scaled),
    );
    let df = base
        .clone()
        .lazy()
        .filter(d.is_not_null())
        .group_by([bin.alias("bin"), col("model")])
        .agg([len().cast(DataType::Int64).alias("requests")])
        .collect()?;
    let bins = df.column("bin")?.cast(&DataType::Int64)?;
    let models = df.column("model")?.cast(&DataType::String)?;
    let counts = df.column("requests")?.cast(&DataType::Int64)?;
    let width = 1.0 / f64::from(DIFFICULTY_BINS);
    let mut cells: Vec<RoutingCell> = bins
        .i64()?
        .iter()
        .zip(models.str()?.iter())
        .zip(counts.i64()?.iter())
        .map(|((b, m), n)| {
            let bin = u32::try_from(b.unwrap_or(0)).unwrap_or(0);
            RoutingCell {
                bin,
                lo: f64::from(bin) * width,
                hi: f64::from(bin + 1) * width,
                model: m.map(str::to_string),
                requests: n.map_or(0, |x| u64::try_from(x).unwrap_or(0)),
            }
        })
        .collect();
    cells.sort_by(|a, b| (a.bin, &a.model).cmp(&(b.bin, &b.model)));
    Ok(cells)
}

/// Spend of the rows of `view` that pass `filter`, grouped by `group_by`, with savings
/// against `reference`. Blocks (reads files): call it from a blocking thread.
pub fn spend(
    view: &LogView,
    filter: &Filter,
    group_by: GroupBy,
    reference: &Reference,
) -> Result<SpendReport, AnalyticsError> {
    let base = load(view, filter)?;
    Ok(SpendReport {
        group_by: group_by.as_str(),
        reference: reference.clone(),
        data: grouped(&base, group_by, reference)?,
        totals: totals(&base, reference)?,
        sources: Sources::of(view),
    })
}

/// The dashboard's numbers for the rows of `view` that pass `filter`, with a timeline in
/// `bucket`s. Blocks (reads files): call it from a blocking thread.
pub fn overview(
    view: &LogView,
    filter: &Filter,
    bucket: Bucket,
    reference: &Reference,
) -> Result<Overview, AnalyticsError> {
    let base = load(view, filter)?;
    Ok(Overview {
        bucket: bucket.as_str(),
        reference: reference.clone(),
        totals: totals(&base, reference)?,
        timeline: grouped(&base, GroupBy::Time(bucket), reference)?,
        models: grouped(&base, GroupBy::Model, reference)?,
        routing: routing(&base)?,
        sources: Sources::of(view),
    })
}
