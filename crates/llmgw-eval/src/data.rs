//! Reading labelled prompts and router scores from JSONL files.
//!
//! Labelled prompts: one JSON object a line,
//! `{"id": str, "source": str, "prompt": str, "quality": {model: 0..1}, "cost_usd"?: {model: usd}}`.
//! A model missing from `quality` (or given as `null`) was not measured on that prompt.
//! Router scores, as `llmgw score` writes them: `{"id": str, "difficulty": f, "quality": {model: p}}`.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::EvalError;

/// One labelled prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledPrompt {
    /// Prompt id.
    pub id: String,
    /// Where it comes from, e.g. `mmlu/anatomy` (`unknown` when absent).
    pub source: String,
    /// The prompt text.
    pub prompt: String,
    /// Measured quality per model, in `[0, 1]`.
    pub quality: BTreeMap<String, f64>,
    /// Measured cost in USD per model, where the file has it.
    pub cost_usd: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct RawPrompt {
    id: serde_json::Value,
    #[serde(default)]
    source: Option<String>,
    prompt: String,
    quality: BTreeMap<String, Option<f64>>,
    #[serde(default)]
    cost_usd: Option<BTreeMap<String, Option<f64>>>,
}

/// A router's prediction for one prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRecord {
    /// Predicted difficulty, when given.
    pub difficulty: Option<f64>,
    /// Predicted quality per model.
    pub quality: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct RawScore {
    id: serde_json::Value,
    #[serde(default)]
    difficulty: Option<f64>,
    quality: BTreeMap<String, Option<f64>>,
}

fn id_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn for_each_line(
    path: &Path,
    mut f: impl FnMut(usize, &str) -> Result<(), String>,
) -> Result<(), EvalError> {
    let io = |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        f(i + 1, trimmed).map_err(|message| EvalError::BadLine {
            path: path.to_path_buf(),
            line: i + 1,
            message,
        })?;
    }
    Ok(())
}

fn reject_parquet(path: &Path) -> Result<(), EvalError> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
    {
        return Err(EvalError::Unsupported {
            path: path.to_path_buf(),
            message: "Parquet input is not read here yet; write it as JSONL with the same \
                      columns (e.g. `polars.read_parquet(p).write_ndjson(out)`)"
                .into(),
        });
    }
    Ok(())
}

fn clean_map(
    map: BTreeMap<String, Option<f64>>,
    what: &str,
    range: (f64, f64),
) -> Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    for (model, v) in map {
        let Some(v) = v else { continue };
        if !(v.is_finite() && v >= range.0 && v <= range.1) {
            return Err(format!(
                "{what} of `{model}` is {v}; expected a number in [{}, {}]",
                range.0, range.1
            ));
        }
        out.insert(model, v);
    }
    Ok(out)
}

/// Reads one labelled-prompt JSONL file.
pub fn load_labelled_file(path: &Path) -> Result<Vec<LabelledPrompt>, EvalError> {
    reject_parquet(path)?;
    let mut out = Vec::new();
    for_each_line(path, |_, line| {
        let raw: RawPrompt = serde_json::from_str(line).map_err(|e| {
            format!("not a labelled prompt ({e}); expected {{\"id\", \"source\", \"prompt\", \"quality\": {{model: 0..1}}}}")
        })?;
        let id = id_string(&raw.id).ok_or("`id` must be a string or a number")?;
        let quality = clean_map(raw.quality, "quality", (0.0, 1.0))?;
        let cost_usd = match raw.cost_usd {
            Some(m) => clean_map(m, "cost_usd", (0.0, f64::MAX))?,
            None => BTreeMap::new(),
        };
        out.push(LabelledPrompt {
            id,
            source: raw
                .source
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "unknown".into()),
            prompt: raw.prompt,
            quality,
            cost_usd,
        });
        Ok(())
    })?;
    Ok(out)
}

/// Reads several labelled-prompt files, in order.
pub fn load_labelled(paths: &[PathBuf]) -> Result<Vec<LabelledPrompt>, EvalError> {
    let mut all = Vec::new();
    for p in paths {
        all.extend(load_labelled_file(p)?);
    }
    Ok(all)
}

/// Reads a router-score JSONL file into a map from prompt id to prediction. A later line
/// for the same id replaces an earlier one.
pub fn load_scores(path: &Path) -> Result<HashMap<String, ScoreRecord>, EvalError> {
    reject_parquet(path)?;
    let mut out = HashMap::new();
    for_each_line(path, |_, line| {
        let raw: RawScore = serde_json::from_str(line).map_err(|e| {
            format!("not a score line ({e}); expected {{\"id\", \"difficulty\", \"quality\": {{model: p}}}}")
        })?;
        let id = id_string(&raw.id).ok_or("`id` must be a string or a number")?;
        let quality = clean_map(raw.quality, "predicted quality", (f64::MIN, f64::MAX))?;
        out.insert(
            id,
            ScoreRecord {
                difficulty: raw.difficulty.filter(|d| d.is_finite()),
                quality,
            },
        );
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(lines: &str, ext: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
        f.write_all(lines.as_bytes()).unwrap();
        f
    }

    #[test]
    fn reads_labelled_prompts_and_skips_nulls() {
        let f = write(
            "{\"id\": \"a\", \"source\": \"mmlu/x\", \"prompt\": \"p\", \"quality\": {\"m1\": 1.0, \"m2\": null}}\n\n\
             {\"id\": 7, \"prompt\": \"q\", \"quality\": {\"m1\": 0.5}, \"cost_usd\": {\"m1\": 0.01}}\n",
            ".jsonl",
        );
        let v = load_labelled_file(f.path()).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].quality.len(), 1);
        assert_eq!(v[1].id, "7");
        assert_eq!(v[1].source, "unknown");
        assert_eq!(v[1].cost_usd["m1"], 0.01);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let f = write(
            "{\"id\": \"a\", \"prompt\": \"p\", \"quality\": {\"m\": 1.0}}\n{\"id\": \"b\", \"prompt\": \"p\", \"quality\": {\"m\": 3}}\n",
            ".jsonl",
        );
        let e = load_labelled_file(f.path()).unwrap_err().to_string();
        assert!(e.contains(":2:"), "{e}");
        assert!(e.contains("expected a number in [0, 1]"), "{e}");
        let f = write("not json\n", ".jsonl");
        let e = load_labelled_file(f.path()).unwrap_err().to_string();
        assert!(e.contains(":1:"), "{e}");
    }

    #[test]
    fn parquet_is_refused_clearly() {
        let f = write("", ".parquet");
        let e = load_labelled_file(f.path()).unwrap_err().to_string();
        assert!(e.contains("JSONL"), "{e}");
    }

    #[test]
    fn reads_scores() {
        let f = write(
            "{\"id\": \"a\", \"difficulty\": 0.3, \"quality\": {\"m1\": 0.9, \"m2\": 0.2}}\n",
            ".jsonl",
        );
        let s = load_scores(f.path()).unwrap();
        assert_eq!(s["a"].quality["m2"], 0.2);
        assert_eq!(s["a"].difficulty, Some(0.3));
    }
}
