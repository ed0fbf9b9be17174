//! Settings of the outcome log.

use std::path::PathBuf;
use std::time::Duration;

use crate::LogError;

/// Largest `max_bytes_per_file` accepted: keeps every string column of a batch far below
/// Arrow's 2 GiB offset limit.
pub const MAX_BYTES_PER_FILE_LIMIT: usize = 1 << 30;

/// Where and how the log is written. Start from [`LogConfig::new`] and change fields.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// Root folder: files go to `dir/outcomes/date=YYYY-MM-DD/` and `dir/feedback/date=…/`.
    pub dir: PathBuf,
    /// Store the prompt text (default). When false, only its SHA-256 and embedding are kept.
    pub store_prompts: bool,
    /// Buffered rows are written at the latest this long after the oldest of them arrived
    /// (default 5 s): the most a crash can lose.
    pub flush_interval: Duration,
    /// A file is written as soon as this many rows are buffered (default 100,000).
    pub max_rows_per_file: usize,
    /// ... or as soon as the buffered rows take about this many bytes in memory (default 64 MiB).
    pub max_bytes_per_file: usize,
    /// Records the queue holds before `record()` waits (default 8,192).
    pub queue_capacity: usize,
    /// Rows held in memory (buffered plus being written) before the writer stops taking from
    /// the queue, so that a slow or failing disk turns into back-pressure, not memory growth
    /// (default 4 × `max_rows_per_file`).
    pub max_buffered_rows: usize,
    /// zstd level of the Parquet files, 1..=22 (default 3).
    pub zstd_level: i32,
}

impl LogConfig {
    /// Defaults for a log under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LogConfig {
            dir: dir.into(),
            store_prompts: true,
            flush_interval: Duration::from_secs(5),
            max_rows_per_file: 100_000,
            max_bytes_per_file: 64 << 20,
            queue_capacity: 8192,
            max_buffered_rows: 400_000,
            zstd_level: 3,
        }
    }

    /// Checks the values; the error names the setting and what was expected.
    pub fn validate(&self) -> Result<(), LogError> {
        let bad = |msg: String| Err(LogError::Config(msg));
        if self.dir.as_os_str().is_empty() {
            return bad("`dir` must name a folder".into());
        }
        if self.flush_interval.is_zero() {
            return bad("`flush_interval` must be greater than zero".into());
        }
        if self.max_rows_per_file == 0 {
            return bad("`max_rows_per_file` must be at least 1".into());
        }
        if self.max_bytes_per_file == 0 || self.max_bytes_per_file > MAX_BYTES_PER_FILE_LIMIT {
            return bad(format!(
                "`max_bytes_per_file` must be between 1 and {MAX_BYTES_PER_FILE_LIMIT}, got {}",
                self.max_bytes_per_file
            ));
        }
        if self.queue_capacity == 0 {
            return bad("`queue_capacity` must be at least 1".into());
        }
        if self.max_buffered_rows < self.max_rows_per_file {
            return bad(format!(
                "`max_buffered_rows` ({}) must be at least `max_rows_per_file` ({})",
                self.max_buffered_rows, self.max_rows_per_file
            ));
        }
        if !(1..=22).contains(&self.zstd_level) {
            return bad(format!(
                "`zstd_level` must be between 1 and 22, got {}",
                self.zstd_level
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(LogConfig::new("/tmp/x").validate().is_ok());
        let mut c = LogConfig::new("/tmp/x");
        c.zstd_level = 0;
        let msg = c.validate().unwrap_err().to_string();
        assert!(msg.contains("zstd_level"), "{msg}");
        let mut c = LogConfig::new("/tmp/x");
        c.max_buffered_rows = 10;
        let msg = c.validate().unwrap_err().to_string();
        assert!(msg.contains("max_buffered_rows"), "{msg}");
        let mut c = LogConfig::new("/tmp/x");
        c.flush_interval = Duration::ZERO;
        assert!(c.validate().is_err());
    }
}
