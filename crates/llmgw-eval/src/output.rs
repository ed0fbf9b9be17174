//! Writing `report.json`, `report.md` and `curve.svg` into a folder.

use std::path::{Path, PathBuf};

use crate::markdown::render_markdown;
use crate::report::Report;
use crate::svg::render_svg;
use crate::EvalError;

/// Paths of the files [`write_report`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenReport {
    /// `report.json`.
    pub json: PathBuf,
    /// `report.md`.
    pub markdown: PathBuf,
    /// `curve.svg`.
    pub svg: PathBuf,
}

fn write_atomically(path: &Path, contents: &str) -> Result<(), EvalError> {
    let io = |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Writes the report's three files into `dir` (created if missing). Each file is written
/// under a temporary name and renamed, so a reader never sees half a file.
pub fn write_report(report: &Report, dir: &Path) -> Result<WrittenReport, EvalError> {
    std::fs::create_dir_all(dir).map_err(|source| EvalError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let written = WrittenReport {
        json: dir.join("report.json"),
        markdown: dir.join("report.md"),
        svg: dir.join("curve.svg"),
    };
    let mut json = serde_json::to_string_pretty(report)?;
    json.push('\n');
    write_atomically(&written.json, &json)?;
    write_atomically(&written.markdown, &render_markdown(report))?;
    write_atomically(&written.svg, &render_svg(report))?;
    Ok(written)
}
