//! The outcome log as one polars frame: the published Parquet files plus the rows not yet
//! flushed, reduced to the columns analytics use.

use std::sync::Arc;

use llmgw_outcomes::{micros, LogView, OutcomeRecord};
use polars::prelude::*;

use crate::query::{Filter, KeyScope};
use crate::AnalyticsError;

/// Columns of the analytics frame, with their types:
/// `ts_us` (i64, `received_at` in Unix µs), `api_key_id`, `model`, `provider` (str),
/// `difficulty` (f64), `prompt_tokens`, `completion_tokens`, `cached_tokens` (i64),
/// `cost_usd`, `latency_ms`, `ttft_ms` (f64), `status` (i64), `error_kind`, `cache_hit` (str).
pub const COLUMNS: [(&str, DataType); 14] = [
    ("ts_us", DataType::Int64),
    ("api_key_id", DataType::String),
    ("model", DataType::String),
    ("provider", DataType::String),
    ("difficulty", DataType::Float64),
    ("prompt_tokens", DataType::Int64),
    ("completion_tokens", DataType::Int64),
    ("cached_tokens", DataType::Int64),
    ("cost_usd", DataType::Float64),
    ("latency_ms", DataType::Float64),
    ("ttft_ms", DataType::Float64),
    ("status", DataType::Int64),
    ("error_kind", DataType::String),
    ("cache_hit", DataType::String),
];

/// The published files of `view`, lazily scanned and reduced to [`COLUMNS`].
fn files_frame(view: &LogView) -> Result<Option<LazyFrame>, AnalyticsError> {
    if view.outcome_files.is_empty() {
        return Ok(None);
    }
    let scan = llmgw_outcomes::export::scan_parquet_files(&view.outcome_files)?;
    let exprs: Vec<Expr> = COLUMNS
        .iter()
        .map(|(name, ty)| {
            let source = if *name == "ts_us" {
                "received_at"
            } else {
                name
            };
            col(source).cast(ty.clone()).alias(*name)
        })
        .collect();
    Ok(Some(scan.select(exprs)))
}

fn to_i64(v: Option<u64>) -> Option<i64> {
    v.map(|x| i64::try_from(x).unwrap_or(i64::MAX))
}

/// The rows not yet in a file, as a frame with [`COLUMNS`].
pub fn pending_frame(rows: &[Arc<OutcomeRecord>]) -> Result<DataFrame, AnalyticsError> {
    let s = |f: fn(&OutcomeRecord) -> Option<&str>| -> Vec<Option<&str>> {
        rows.iter().map(|r| f(r)).collect()
    };
    let columns = vec![
        Column::new(
            "ts_us".into(),
            rows.iter()
                .map(|r| micros(r.received_at))
                .collect::<Vec<i64>>(),
        ),
        Column::new("api_key_id".into(), s(|r| r.api_key_id.as_deref())),
        Column::new("model".into(), s(|r| r.model.as_deref())),
        Column::new("provider".into(), s(|r| r.provider.as_deref())),
        Column::new(
            "difficulty".into(),
            rows.iter()
                .map(|r| r.difficulty.map(f64::from))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "prompt_tokens".into(),
            rows.iter()
                .map(|r| to_i64(r.prompt_tokens))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "completion_tokens".into(),
            rows.iter()
                .map(|r| to_i64(r.completion_tokens))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "cached_tokens".into(),
            rows.iter()
                .map(|r| to_i64(r.cached_tokens))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "cost_usd".into(),
            rows.iter().map(|r| r.cost_usd).collect::<Vec<_>>(),
        ),
        Column::new(
            "latency_ms".into(),
            rows.iter().map(|r| Some(r.latency_ms)).collect::<Vec<_>>(),
        ),
        Column::new(
            "ttft_ms".into(),
            rows.iter().map(|r| r.ttft_ms).collect::<Vec<_>>(),
        ),
        Column::new(
            "status".into(),
            rows.iter()
                .map(|r| Some(i64::from(r.status)))
                .collect::<Vec<_>>(),
        ),
        Column::new("error_kind".into(), s(|r| r.error_kind.as_deref())),
        Column::new(
            "cache_hit".into(),
            rows.iter()
                .map(|r| Some(r.cache_hit.as_str()))
                .collect::<Vec<_>>(),
        ),
    ];
    Ok(DataFrame::new(rows.len(), columns)?)
}

/// Every outcome row of `view` (files and pending rows, each exactly once) that passes
/// `filter`, materialised with [`COLUMNS`]. Blocks: call it from a blocking thread.
pub fn load(view: &LogView, filter: &Filter) -> Result<DataFrame, AnalyticsError> {
    let pending = pending_frame(&view.pending.outcomes)?.lazy();
    let all = match files_frame(view)? {
        Some(files) => concat([files, pending], UnionArgs::default())?,
        None => pending,
    };
    let mut predicate: Option<Expr> = None;
    let mut and = |e: Expr| {
        predicate = Some(match predicate.take() {
            Some(p) => p.and(e),
            None => e,
        });
    };
    if let Some(from) = filter.from_us {
        and(col("ts_us").gt_eq(lit(from)));
    }
    if let Some(to) = filter.to_us {
        and(col("ts_us").lt(lit(to)));
    }
    if let KeyScope::Key(id) = &filter.scope {
        and(col("api_key_id").eq(lit(id.clone())));
    }
    let filtered = match predicate {
        Some(p) => all.filter(p),
        None => all,
    };
    Ok(filtered.collect()?)
}
