//! Outcome logs to labelled prompts: the join behind `llmgw export`.
//!
//! Outcomes are joined with feedback on `request_id`; the latest feedback of a request
//! (by `received_at`) is its quality label. Outcomes without feedback are not exported
//! (there is no label), nor are those stored without prompt text (`store_prompts = false`)
//! or without a model (the request failed before a model was chosen). Outcomes with the same
//! prompt (same `prompt_sha256`) become one labelled prompt with a quality per model: the
//! mean of that model's labels, and its mean `cost_usd`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, Fields, Schema};
use polars::prelude::*;
use serde::Serialize;

use crate::files::{list_files, LogKind};
use crate::record::prompt_sha256;
use crate::LogError;

/// Label written as `source` when an outcome has none.
pub const DEFAULT_SOURCE: &str = "llmgw-logs";

/// Errors of an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Listing or writing files failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Reading or joining the Parquet logs failed.
    #[error("reading the logs with polars: {0}")]
    Polars(#[from] PolarsError),
    /// Writing the output failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Encoding the Parquet output failed.
    #[error("writing {path}: {message}")]
    Encode {
        /// The output file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The `--since` value is not a date.
    #[error("`since` must be a date YYYY-MM-DD, got `{0}`")]
    BadSince(String),
    /// The logs hold no outcome that can be exported.
    #[error("nothing to export: {0}")]
    Nothing(String),
    /// There are no outcome files to read.
    #[error("no outcome files under {0}")]
    NoOutcomes(PathBuf),
}

/// What an export read and wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    /// Outcome rows read.
    pub outcomes: usize,
    /// Requests with at least one feedback.
    pub feedback_requests: usize,
    /// Requests with feedback but no outcome in the logs read (other folder, or older than `since`).
    pub feedback_unmatched: usize,
    /// Outcomes skipped because nobody gave feedback on them.
    pub skipped_no_feedback: usize,
    /// Outcomes with feedback skipped because their prompt text was not stored.
    pub skipped_no_prompt: usize,
    /// Outcomes with feedback skipped because no model answered.
    pub skipped_no_model: usize,
    /// Labelled outcomes exported (several can merge into one prompt).
    pub exported_outcomes: usize,
    /// Lines (rows) written.
    pub labelled_prompts: usize,
}

impl std::fmt::Display for ExportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} outcomes read, {} with feedback; {} labelled prompts written from {} outcomes; \
             skipped: {} without feedback, {} without stored prompt text, {} without a model; \
             {} feedback request ids matched no outcome",
            self.outcomes,
            self.outcomes.saturating_sub(self.skipped_no_feedback),
            self.labelled_prompts,
            self.exported_outcomes,
            self.skipped_no_feedback,
            self.skipped_no_prompt,
            self.skipped_no_model,
            self.feedback_unmatched
        )
    }
}

/// One line of the labelled-prompt format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelledPrompt {
    /// `llmgw-<first 16 hex digits of the prompt's SHA-256>`.
    pub id: String,
    /// The outcome's `source` label, or [`DEFAULT_SOURCE`].
    pub source: String,
    /// The prompt text.
    pub prompt: String,
    /// Mean feedback quality per model that answered this prompt.
    pub quality: BTreeMap<String, f64>,
    /// Mean cost per model, where known.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cost_usd: BTreeMap<String, f64>,
}

fn check_since(since: Option<&str>) -> Result<(), ExportError> {
    if let Some(s) = since {
        if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err() || s.len() != 10 {
            return Err(ExportError::BadSince(s.to_string()));
        }
    }
    Ok(())
}

/// A lazy polars scan of log files (e.g. [`list_files`] or [`crate::LogView`] output).
///
/// Hive partition parsing is off: the `date=` folder is not turned into a column (use
/// `received_at`). Parsing it would need polars' date features, and without them polars
/// panics on `date=YYYY-MM-DD` folders; scan these files with this function, not with the
/// default `ScanArgsParquet`. Polars' `collect()` blocks: call it from a blocking thread.
pub fn scan_parquet_files(files: &[PathBuf]) -> Result<LazyFrame, ExportError> {
    let paths = files
        .iter()
        .map(|p| PlRefPath::try_from_path(p))
        .collect::<PolarsResult<Vec<_>>>()?;
    let args = ScanArgsParquet {
        hive_options: polars::io::HiveOptions::new_disabled(),
        glob: false,
        ..Default::default()
    };
    Ok(LazyFrame::scan_parquet_files(
        paths.into_iter().collect(),
        args,
    )?)
}

fn strings(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>, ExportError> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

fn floats(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>, ExportError> {
    let col = df.column(name)?.cast(&polars::prelude::DataType::Float64)?;
    Ok(col.f64()?.iter().collect())
}

/// Joins the logs under `root` (partitions dated `since` or later) into labelled prompts,
/// sorted by id.
pub fn labelled_prompts(
    root: &Path,
    since: Option<&str>,
) -> Result<(Vec<LabelledPrompt>, ExportSummary), ExportError> {
    check_since(since)?;
    let outcome_files = list_files(root, LogKind::Outcomes, since)?;
    if outcome_files.is_empty() {
        return Err(ExportError::NoOutcomes(
            root.join(LogKind::Outcomes.dir_name()),
        ));
    }
    let feedback_files = list_files(root, LogKind::Feedback, since)?;

    let outcomes = scan_parquet_files(&outcome_files)?.select([
        col("request_id"),
        col("model"),
        col("prompt"),
        col("prompt_sha256"),
        col("source"),
        col("cost_usd"),
    ]);
    let mut summary = ExportSummary {
        outcomes: count_rows(outcomes.clone())?,
        ..Default::default()
    };
    if feedback_files.is_empty() {
        summary.skipped_no_feedback = summary.outcomes;
        return Ok((Vec::new(), summary));
    }
    let latest = scan_parquet_files(&feedback_files)?
        .group_by([col("request_id")])
        .agg([col("quality")
            .sort_by([col("received_at")], SortMultipleOptions::default())
            .last()
            .alias("label")]);
    summary.feedback_requests = count_rows(latest.clone())?;

    let joined = outcomes
        .join(
            latest,
            [col("request_id")],
            [col("request_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()?;
    let with_feedback = joined.height();
    summary.skipped_no_feedback = summary.outcomes.saturating_sub(with_feedback);
    summary.feedback_unmatched = summary.feedback_requests.saturating_sub(with_feedback);

    let models = strings(&joined, "model")?;
    let prompts = strings(&joined, "prompt")?;
    let hashes = strings(&joined, "prompt_sha256")?;
    let sources = strings(&joined, "source")?;
    let costs = floats(&joined, "cost_usd")?;
    let labels = floats(&joined, "label")?;

    #[derive(Default)]
    struct Acc {
        prompt: String,
        source: Option<String>,
        quality: BTreeMap<String, (f64, usize)>,
        cost: BTreeMap<String, (f64, usize)>,
    }
    let mut by_prompt: BTreeMap<String, Acc> = BTreeMap::new();
    for i in 0..with_feedback {
        let Some(model) = models[i].clone() else {
            summary.skipped_no_model += 1;
            continue;
        };
        let Some(prompt) = prompts[i].clone() else {
            summary.skipped_no_prompt += 1;
            continue;
        };
        let Some(label) = labels[i] else { continue };
        let hash = hashes[i].clone().unwrap_or_else(|| prompt_sha256(&prompt));
        let acc = by_prompt.entry(hash).or_default();
        if acc.prompt.is_empty() {
            acc.prompt = prompt;
        }
        if acc.source.is_none() {
            acc.source = sources[i].clone();
        }
        let q = acc.quality.entry(model.clone()).or_insert((0.0, 0));
        q.0 += label;
        q.1 += 1;
        if let Some(c) = costs[i] {
            let e = acc.cost.entry(model).or_insert((0.0, 0));
            e.0 += c;
            e.1 += 1;
        }
        summary.exported_outcomes += 1;
    }
    let mean = |m: BTreeMap<String, (f64, usize)>| -> BTreeMap<String, f64> {
        m.into_iter()
            .map(|(k, (sum, n))| (k, sum / n as f64))
            .collect()
    };
    let out: Vec<LabelledPrompt> = by_prompt
        .into_iter()
        .map(|(hash, acc)| LabelledPrompt {
            id: format!("llmgw-{}", hash.get(..16).unwrap_or(&hash)),
            source: acc.source.unwrap_or_else(|| DEFAULT_SOURCE.to_string()),
            prompt: acc.prompt,
            quality: mean(acc.quality),
            cost_usd: mean(acc.cost),
        })
        .collect();
    summary.labelled_prompts = out.len();
    Ok((out, summary))
}

/// Number of rows of a lazy frame.
fn count_rows(lf: LazyFrame) -> Result<usize, ExportError> {
    let df = lf.select([len().alias("n")]).collect()?;
    let n = df
        .column("n")?
        .cast(&polars::prelude::DataType::UInt64)?
        .u64()?
        .get(0)
        .unwrap_or(0);
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Writes labelled prompts as JSON lines.
pub fn write_jsonl(path: &Path, rows: &[LabelledPrompt]) -> Result<(), ExportError> {
    let werr = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut w = BufWriter::new(File::create(path).map_err(werr)?);
    for row in rows {
        serde_json::to_writer(&mut w, row).map_err(|e| werr(e.into()))?;
        w.write_all(b"\n").map_err(werr)?;
    }
    w.flush().map_err(werr)
}

/// A struct column with one nullable float field per model (null = not measured), the
/// shape polars infers for the JSON objects of the same rows.
fn per_model(models: &[String], maps: Vec<&BTreeMap<String, f64>>) -> (Field, ArrayRef) {
    let fields: Fields = models
        .iter()
        .map(|m| Field::new(m, DataType::Float64, true))
        .collect();
    let arrays: Vec<ArrayRef> = models
        .iter()
        .map(|m| {
            Arc::new(Float64Array::from_iter(
                maps.iter().map(|q| q.get(m).copied()),
            )) as ArrayRef
        })
        .collect();
    let array = StructArray::new(fields.clone(), arrays, None);
    (
        Field::new("x", DataType::Struct(fields), false),
        Arc::new(array),
    )
}

/// Writes labelled prompts as a zstd Parquet file with the columns `id`, `source`, `prompt`,
/// `quality` and `cost_usd`; the last two are structs with one float field per model.
pub fn write_parquet(path: &Path, rows: &[LabelledPrompt]) -> Result<(), ExportError> {
    let encode = |message: String| ExportError::Encode {
        path: path.to_path_buf(),
        message,
    };
    let mut models: Vec<String> = rows
        .iter()
        .flat_map(|r| r.quality.keys().cloned())
        .collect();
    models.sort();
    models.dedup();
    if models.is_empty() {
        return Err(encode(
            "no labelled prompts to write (a Parquet struct needs at least one model)".into(),
        ));
    }
    let (qf, quality) = per_model(&models, rows.iter().map(|r| &r.quality).collect());
    let (cf, cost) = per_model(&models, rows.iter().map(|r| &r.cost_usd).collect());
    let text = |f: fn(&LabelledPrompt) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let schema = Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("prompt", DataType::Utf8, false),
        qf.with_name("quality"),
        cf.with_name("cost_usd"),
    ]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![
            text(|r| &r.id),
            text(|r| &r.source),
            text(|r| &r.prompt),
            quality,
            cost,
        ],
    )
    .map_err(|e| encode(e.to_string()))?;
    let file = File::create(path).map_err(|source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    let props = crate::files::writer_properties(3)?;
    let file = crate::files::write_parquet(file, &batch, props, path)?;
    file.sync_all().map_err(|source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the logs under `root` and writes the labelled prompts to `out`: Parquet when its
/// name ends in `.parquet`, JSON lines otherwise.
pub fn export(root: &Path, out: &Path, since: Option<&str>) -> Result<ExportSummary, ExportError> {
    let (rows, summary) = labelled_prompts(root, since)?;
    if rows.is_empty() {
        return Err(ExportError::Nothing(summary.to_string()));
    }
    let is_parquet = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if is_parquet {
        write_parquet(out, &rows)?;
    } else {
        write_jsonl(out, &rows)?;
    }
    Ok(summary)
}
