//! Folder layout and crash-safe Parquet files.
//!
//! ```text
//! DIR/outcomes/date=YYYY-MM-DD/part-<UTC time>-<writer>-<seq>.parquet
//! DIR/feedback/date=YYYY-MM-DD/part-<UTC time>-<writer>-<seq>.parquet
//! DIR/.staging/.part-….parquet.tmp      (files being written; never inside a dataset folder)
//! ```
//!
//! A file is written in `DIR/.staging/`, synced, then renamed into its partition: a reader
//! of `DIR/outcomes/` sees whole files or nothing.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::batch::micros;
use crate::LogError;

/// Which of the two logs a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogKind {
    /// `DIR/outcomes/`.
    Outcomes,
    /// `DIR/feedback/`.
    Feedback,
}

impl LogKind {
    /// The folder name under the log root.
    pub fn dir_name(self) -> &'static str {
        match self {
            LogKind::Outcomes => "outcomes",
            LogKind::Feedback => "feedback",
        }
    }
}

/// Folder under the log root where files are written before they are renamed into place.
pub const STAGING_DIR: &str = ".staging";

/// Staging files older than this are left-overs of a crashed writer and are removed at start.
pub const STALE_STAGING_AGE: Duration = Duration::from_secs(3600);

/// The Hive partition value of a timestamp: its UTC date, `YYYY-MM-DD`.
pub fn partition_date(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_micros(micros(t))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".to_string())
}

/// `DIR/<kind>/date=<date>`.
pub fn partition_dir(root: &Path, kind: LogKind, date: &str) -> PathBuf {
    root.join(kind.dir_name()).join(format!("date={date}"))
}

/// Name of a data file: `part-<UTC time>-<writer id>-<seq>.parquet`.
pub fn file_name(now: SystemTime, writer_id: &str, seq: u64) -> String {
    let time = chrono::DateTime::<chrono::Utc>::from_timestamp_micros(micros(now))
        .map(|d| d.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|| "19700101T000000Z".to_string());
    format!("part-{time}-{writer_id}-{seq:06}.parquet")
}

/// Parquet settings of the log files: zstd at `level`, dictionary encoding and statistics
/// on (the crate's defaults).
pub fn writer_properties(level: i32) -> Result<WriterProperties, LogError> {
    let level =
        ZstdLevel::try_new(level).map_err(|e| LogError::Config(format!("`zstd_level`: {e}")))?;
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .build())
}

/// Encodes `batch` as Parquet into `w`.
pub fn write_parquet<W: std::io::Write + Send>(
    w: W,
    batch: &RecordBatch,
    props: WriterProperties,
    path_for_errors: &Path,
) -> Result<W, LogError> {
    let perr = |source| LogError::Parquet {
        path: path_for_errors.to_path_buf(),
        source,
    };
    let mut writer = ArrowWriter::try_new(w, batch.schema(), Some(props)).map_err(perr)?;
    writer.write(batch).map_err(perr)?;
    writer.into_inner().map_err(perr)
}

/// A file written to the staging folder, complete and synced, not yet visible.
#[derive(Debug)]
pub struct StagedFile {
    /// Where it is now.
    pub staged: PathBuf,
    /// Where [`StagedFile::publish`] moves it.
    pub target: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Writes `batch` as a complete, synced Parquet file under `root/.staging/`, to be published
/// at `target`. On error nothing is left behind.
pub fn stage(
    root: &Path,
    target: PathBuf,
    batch: &RecordBatch,
    props: WriterProperties,
) -> Result<StagedFile, LogError> {
    let staging = root.join(STAGING_DIR);
    fs::create_dir_all(&staging).map_err(|e| LogError::io(&staging, e))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "part.parquet".to_string());
    let staged = staging.join(format!(".{name}.tmp"));
    let result = (|| {
        let file = File::create(&staged).map_err(|e| LogError::io(&staged, e))?;
        let file = write_parquet(file, batch, props, &staged)?;
        file.sync_all().map_err(|e| LogError::io(&staged, e))?;
        let bytes = file.metadata().map_err(|e| LogError::io(&staged, e))?.len();
        Ok(bytes)
    })();
    match result {
        Ok(bytes) => Ok(StagedFile {
            staged,
            target,
            bytes,
        }),
        Err(e) => {
            let _ = fs::remove_file(&staged);
            Err(e)
        }
    }
}

impl StagedFile {
    /// Creates the target's partition folder. Done before [`StagedFile::publish`] so that the
    /// rename itself is the only step taken while readers are held off.
    pub fn prepare(&self) -> Result<(), LogError> {
        if let Some(dir) = self.target.parent() {
            fs::create_dir_all(dir).map_err(|e| LogError::io(dir, e))?;
        }
        Ok(())
    }

    /// Renames the file into place (atomic on one file system).
    pub fn publish(&self) -> Result<(), LogError> {
        fs::rename(&self.staged, &self.target).map_err(|e| LogError::io(&self.target, e))
    }

    /// Syncs the partition folder so that the rename survives a power loss.
    pub fn sync_dir(&self) {
        if let Some(dir) = self.target.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
    }

    /// Removes the staged file (after a failed publish).
    pub fn discard(&self) {
        let _ = fs::remove_file(&self.staged);
    }
}

/// Removes staging files older than `max_age` (left by a writer that crashed) and returns
/// how many it removed. Younger files may belong to a live writer sharing the folder.
pub fn remove_stale_staging(root: &Path, max_age: Duration) -> usize {
    let Ok(entries) = fs::read_dir(root.join(STAGING_DIR)) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= max_age);
        let name = entry.file_name();
        if old && name.to_string_lossy().ends_with(".tmp") && fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Whether a file name is a published data file (not hidden, ends in `.parquet`).
pub fn is_data_file(name: &str) -> bool {
    !name.starts_with('.') && !name.starts_with('_') && name.ends_with(".parquet")
}

/// The published files of one log, sorted, from partitions dated `since` or later
/// (`YYYY-MM-DD`; all when `None`). A missing folder is an empty log.
pub fn list_files(
    root: &Path,
    kind: LogKind,
    since: Option<&str>,
) -> Result<Vec<PathBuf>, LogError> {
    let base = root.join(kind.dir_name());
    let entries = match fs::read_dir(&base) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LogError::io(&base, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| LogError::io(&base, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(date) = name.strip_prefix("date=") else {
            continue;
        };
        if since.is_some_and(|s| date < s) || !entry.path().is_dir() {
            continue;
        }
        let dir = entry.path();
        for file in fs::read_dir(&dir).map_err(|e| LogError::io(&dir, e))? {
            let file = file.map_err(|e| LogError::io(&dir, e))?;
            if is_data_file(&file.file_name().to_string_lossy()) {
                out.push(file.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn dates_and_names_are_utc_and_sortable() {
        // 2023-11-14T22:13:20Z
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(partition_date(t), "2023-11-14");
        assert_eq!(
            file_name(t, "ab12cd34", 7),
            "part-20231114T221320Z-ab12cd34-000007.parquet"
        );
        assert_eq!(
            partition_dir(Path::new("/logs"), LogKind::Feedback, "2023-11-14"),
            PathBuf::from("/logs/feedback/date=2023-11-14")
        );
    }

    #[test]
    fn listing_skips_hidden_and_foreign_files_and_applies_since() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (date, name) in [
            ("2024-01-01", "part-a.parquet"),
            ("2024-01-02", "part-b.parquet"),
            ("2024-01-02", ".part-c.parquet.tmp"),
            ("2024-01-02", "_SUCCESS"),
            ("2024-01-03", "part-d.parquet"),
        ] {
            let d = partition_dir(root, LogKind::Outcomes, date);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join(name), b"x").unwrap();
        }
        let all = list_files(root, LogKind::Outcomes, None).unwrap();
        let names: Vec<_> = all
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            vec!["part-a.parquet", "part-b.parquet", "part-d.parquet"]
        );
        assert_eq!(
            list_files(root, LogKind::Outcomes, Some("2024-01-02"))
                .unwrap()
                .len(),
            2
        );
        assert!(list_files(root, LogKind::Feedback, None)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn stale_staging_files_are_removed_young_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let staging = dir.path().join(STAGING_DIR);
        fs::create_dir_all(&staging).unwrap();
        fs::write(staging.join(".part-x.parquet.tmp"), b"partial").unwrap();
        assert_eq!(
            remove_stale_staging(dir.path(), Duration::from_secs(3600)),
            0
        );
        assert_eq!(remove_stale_staging(dir.path(), Duration::ZERO), 1);
        assert!(fs::read_dir(&staging).unwrap().next().is_none());
    }
}
