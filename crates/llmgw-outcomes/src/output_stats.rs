//! Observed answer lengths per model, read from the outcome logs: what `model: "auto"`
//! uses as each candidate's expected output length once traffic has been logged.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use crate::export::{scan_parquet_files, ExportError};
use crate::files::{list_files, LogKind};

/// Completion tokens observed for one model in the logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputStat {
    /// Mean completion tokens over the successful, non-cached answers.
    pub mean_tokens: f64,
    /// How many answers the mean is over.
    pub count: u64,
}

/// Mean completion tokens per answering model over the successful (HTTP 200), non-cached
/// requests in the outcome logs under `root`. A folder with no logs gives an empty map.
pub fn observed_output_tokens(root: &Path) -> Result<BTreeMap<String, OutputStat>, ExportError> {
    let files = list_files(root, LogKind::Outcomes, None)?;
    let mut out = BTreeMap::new();
    if files.is_empty() {
        return Ok(out);
    }
    let df = scan_parquet_files(&files)?
        .filter(
            col("status")
                .eq(lit(200))
                .and(col("model").is_not_null())
                .and(col("completion_tokens").is_not_null())
                .and(col("cache_hit").eq(lit("none"))),
        )
        .group_by([col("model")])
        .agg([
            col("completion_tokens")
                .cast(DataType::Float64)
                .mean()
                .alias("mean_tokens"),
            col("completion_tokens").count().alias("count"),
        ])
        .collect()?;
    let models = df.column("model")?.str()?.clone();
    let means = df.column("mean_tokens")?.f64()?.clone();
    let counts = df.column("count")?.cast(&DataType::UInt64)?;
    let counts = counts.u64()?;
    for i in 0..df.height() {
        if let (Some(m), Some(mean), Some(count)) = (models.get(i), means.get(i), counts.get(i)) {
            out.insert(
                m.to_string(),
                OutputStat {
                    mean_tokens: mean,
                    count,
                },
            );
        }
    }
    Ok(out)
}
