//! Reading labelled-prompt files (JSONL or Parquet) with polars.
//!
//! Columns: `id` (string), `prompt` (string), optional `source` (string), optional
//! `quality` (a struct with one float field per model, null = not measured; or a list of
//! `{key, value}` entries as Parquet maps are read). Files of `{"id", "prompt"}` only are
//! accepted too (for scoring).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use crate::error::{ClassifierError, Result};

/// One prompt with the quality each measured model reached on it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledPrompt {
    /// Unique id.
    pub id: String,
    /// Where the prompt comes from (e.g. `mmlu/anatomy`); empty when absent.
    pub source: String,
    /// The prompt text routed on.
    pub prompt: String,
    /// Quality in [0, 1] per measured model; models absent were not measured.
    pub quality: BTreeMap<String, f32>,
}

fn read_frame(path: &Path) -> Result<DataFrame> {
    let ctx = || format!("reading {}", path.display());
    let file = File::open(path).map_err(|e| ClassifierError::io(ctx(), e))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let df = if ext.eq_ignore_ascii_case("parquet") {
        ParquetReader::new(file).finish()
    } else {
        JsonReader::new(file)
            .with_json_format(JsonFormat::JsonLines)
            .infer_schema_len(None)
            .finish()
    };
    df.map_err(|e| ClassifierError::invalid(ctx(), e.to_string()))
}

fn string_column(df: &DataFrame, name: &str, path: &Path) -> Result<Option<Vec<Option<String>>>> {
    let Ok(col) = df.column(name) else {
        return Ok(None);
    };
    let s = col.cast(&DataType::String).map_err(|e| {
        ClassifierError::invalid(path.display().to_string(), format!("column `{name}`: {e}"))
    })?;
    let ca = s.str().map_err(|e| {
        ClassifierError::invalid(path.display().to_string(), format!("column `{name}`: {e}"))
    })?;
    Ok(Some(ca.iter().map(|v| v.map(str::to_string)).collect()))
}

fn float_values(s: &Series, path: &Path) -> Result<Vec<Option<f64>>> {
    let s = s.cast(&DataType::Float64).map_err(|e| {
        ClassifierError::invalid(
            path.display().to_string(),
            format!("quality `{}`: {e}", s.name()),
        )
    })?;
    let ca = s
        .f64()
        .map_err(|e| ClassifierError::invalid(path.display().to_string(), e.to_string()))?;
    Ok(ca.iter().collect())
}

fn quality_column(df: &DataFrame, path: &Path) -> Result<Vec<BTreeMap<String, f32>>> {
    let mut out = vec![BTreeMap::new(); df.height()];
    let Ok(col) = df.column("quality") else {
        return Ok(out);
    };
    let bad =
        |m: String| ClassifierError::invalid(format!("{}: column `quality`", path.display()), m);
    let series = col.as_materialized_series();
    match series.dtype() {
        DataType::Struct(_) => {
            let st = series.struct_().map_err(|e| bad(e.to_string()))?;
            let validity: Vec<bool> = series
                .is_not_null()
                .iter()
                .map(|v| v.unwrap_or(false))
                .collect();
            for field in st.fields_as_series() {
                let name = field.name().to_string();
                for (i, v) in float_values(&field, path)?.into_iter().enumerate() {
                    if let (Some(v), true) = (v, validity[i]) {
                        out[i].insert(name.clone(), v as f32);
                    }
                }
            }
        }
        DataType::List(inner) if matches!(**inner, DataType::Struct(_)) => {
            let lists = series.list().map_err(|e| bad(e.to_string()))?;
            for (i, entry) in lists.series_iter().enumerate() {
                let Some(entry) = entry else { continue };
                let st = entry.struct_().map_err(|e| bad(e.to_string()))?;
                let fields = st.fields_as_series();
                let (Some(k), Some(v)) = (fields.first(), fields.get(1)) else {
                    return Err(bad("map entries need a key and a value".into()));
                };
                let keys = k.cast(&DataType::String).map_err(|e| bad(e.to_string()))?;
                let keys = keys.str().map_err(|e| bad(e.to_string()))?;
                for (key, val) in keys.iter().zip(float_values(v, path)?) {
                    if let (Some(key), Some(val)) = (key, val) {
                        out[i].insert(key.to_string(), val as f32);
                    }
                }
            }
        }
        DataType::Null => {}
        other => {
            return Err(bad(format!(
                "expected a struct of model → quality, found {other}"
            )))
        }
    }
    for (i, q) in out.iter().enumerate() {
        if let Some((m, v)) = q.iter().find(|(_, v)| !(0.0..=1.0).contains(*v)) {
            return Err(bad(format!(
                "row {}: quality of `{m}` is {v}, outside [0, 1]",
                i + 1
            )));
        }
    }
    Ok(out)
}

/// Reads one labelled-prompt file: `.parquet` as Parquet, anything else as JSON lines.
pub fn read_labelled(path: &Path) -> Result<Vec<LabelledPrompt>> {
    let df = read_frame(path)?;
    let need = |name: &str| -> Result<Vec<Option<String>>> {
        string_column(&df, name, path)?.ok_or_else(|| {
            ClassifierError::invalid(path.display().to_string(), format!("no `{name}` column"))
        })
    };
    let ids = need("id")?;
    let prompts = need("prompt")?;
    let sources = string_column(&df, "source", path)?;
    let quality = quality_column(&df, path)?;
    let mut out = Vec::with_capacity(df.height());
    for (i, (id, prompt)) in ids.into_iter().zip(prompts).enumerate() {
        let (Some(id), Some(prompt)) = (id, prompt) else {
            return Err(ClassifierError::invalid(
                path.display().to_string(),
                format!("row {}: `id` and `prompt` must be strings", i + 1),
            ));
        };
        out.push(LabelledPrompt {
            id,
            source: sources
                .as_ref()
                .and_then(|s| s[i].clone())
                .unwrap_or_default(),
            prompt,
            quality: quality[i].clone(),
        });
    }
    Ok(out)
}

/// Reads several files, in order.
pub fn read_many(paths: &[impl AsRef<Path>]) -> Result<Vec<LabelledPrompt>> {
    let mut all = Vec::new();
    for p in paths {
        all.extend(read_labelled(p.as_ref())?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_with_varying_quality_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        std::fs::write(
            &p,
            "{\"id\":\"1\",\"source\":\"s\",\"prompt\":\"hi\",\"quality\":{\"a\":1.0}}\n\
             {\"id\":\"2\",\"prompt\":\"yo\",\"quality\":{\"b\":0.5,\"a\":0}}\n\
             {\"id\":\"3\",\"prompt\":\"no labels\"}\n",
        )
        .unwrap();
        let rows = read_labelled(&p).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].quality, BTreeMap::from([("a".to_string(), 1.0)]));
        assert_eq!(rows[1].quality.len(), 2);
        assert_eq!(rows[1].source, "");
        assert!(rows[2].quality.is_empty());
    }

    #[test]
    fn parquet_roundtrip_and_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("a.jsonl");
        std::fs::write(
            &j,
            "{\"id\":\"1\",\"prompt\":\"hi\",\"quality\":{\"a\":1.0,\"b\":null}}\n",
        )
        .unwrap();
        let mut df = read_frame(&j).unwrap();
        let pq = dir.path().join("a.parquet");
        ParquetWriter::new(File::create(&pq).unwrap())
            .finish(&mut df)
            .unwrap();
        let rows = read_labelled(&pq).unwrap();
        assert_eq!(rows[0].quality, BTreeMap::from([("a".to_string(), 1.0)]));

        std::fs::write(
            &j,
            "{\"id\":\"1\",\"prompt\":\"hi\",\"quality\":{\"a\":3.0}}\n",
        )
        .unwrap();
        let err = read_labelled(&j).unwrap_err().to_string();
        assert!(err.contains("outside [0, 1]"), "{err}");
        std::fs::write(&j, "{\"id\":\"1\",\"text\":\"hi\"}\n").unwrap();
        let err = read_labelled(&j).unwrap_err().to_string();
        assert!(err.contains("no `prompt` column"), "{err}");
    }
}
