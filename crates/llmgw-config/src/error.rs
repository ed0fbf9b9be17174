//! Errors raised while loading a configuration or a catalog.
//!
//! Every error names the file, the key (as a dotted path such as `providers.openai.kind`
//! or `model[3].input_per_mtok`) and what was expected. Messages never quote the value of a
//! key that may hold a secret.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a file an error was found (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number (in characters).
    pub column: usize,
}

impl Location {
    /// The line and column of byte offset `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before
            .get(line_start..)
            .map_or(1, |tail| tail.chars().count() + 1);
        Location { line, column }
    }
}

/// A configuration or catalog error.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or a key has the wrong type, an unknown name or a bad value.
    #[error("{}: {}", FileAt(path, *location), KeyMessage(key, message))]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where in the file, when known.
        location: Option<Location>,
        /// The dotted key path, when known (empty for syntax errors).
        key: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// The file parsed but a value is not acceptable (range, reference, duplicate).
    #[error("{}: {}", path.display(), KeyMessage(key, message))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The dotted key path.
        key: String,
        /// What was wrong and what was expected.
        message: String,
    },
}

impl ConfigError {
    /// A validation error for `key` in `path`.
    pub fn invalid(path: &Path, key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// The dotted key path the error is about (empty when unknown).
    pub fn key(&self) -> &str {
        match self {
            ConfigError::Read { .. } => "",
            ConfigError::Parse { key, .. } | ConfigError::Invalid { key, .. } => key,
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ConfigError::Read { path, .. }
            | ConfigError::Parse { path, .. }
            | ConfigError::Invalid { path, .. } => path,
        }
    }
}

struct FileAt<'a>(&'a Path, Option<Location>);

impl fmt::Display for FileAt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(loc) => write!(f, "{}:{}:{}", self.0.display(), loc.line, loc.column),
            None => write!(f, "{}", self.0.display()),
        }
    }
}

struct KeyMessage<'a>(&'a str, &'a str);

impl fmt::Display for KeyMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            write!(f, "{}", self.1)
        } else {
            write!(f, "key `{}`: {}", self.0, self.1)
        }
    }
}

/// Deserialize `text` (TOML) into `T`, turning failures into [`ConfigError::Parse`] with the
/// file, line, column and dotted key path.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, ConfigError> {
    let located =
        |span: Option<std::ops::Range<usize>>| span.map(|s| Location::of_offset(text, s.start));
    let de = toml::de::Deserializer::parse(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        location: located(e.span()),
        key: String::new(),
        message: format!("not valid TOML: {}", e.message().trim_end()),
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = render_path(e.path());
        let inner = e.into_inner();
        ConfigError::Parse {
            path: path.to_path_buf(),
            location: located(inner.span()),
            key,
            message: inner.message().trim_end().to_string(),
        }
    })
}

/// `providers.openai.kind`, `model[3].id`; empty for the document root.
fn render_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { variant } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(variant);
            }
            Segment::Unknown => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_columns() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(
            Location::of_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 6),
            Location { line: 2, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 11),
            Location { line: 2, column: 6 }
        );
        assert_eq!(Location::of_offset(text, 999).line, 3);
    }
}
