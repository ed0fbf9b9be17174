//! The keys file: keys issued and revoked through the admin API, kept on disk so that they
//! survive a restart.
//!
//! ```json
//! {
//!   "version": 1,
//!   "issued": [{"id": "ci-bot", "hash": "sha256:…", "models": ["gpt-4o-mini"], "requests_per_minute": 10}],
//!   "revoked": [{"id": "team-old", "hash": "sha256:…"}]
//! }
//! ```
//!
//! * Only hashes are written, never a key.
//! * `issued`: every key issued through the admin API and not revoked since, with its limits.
//! * `revoked`: config-file keys revoked through the admin API. A config entry with the same
//!   id and hash stays revoked after a restart; a new hash under that id (a new key) is not.
//! * Every change rewrites the whole file atomically: a temporary file in the same folder,
//!   written, synced and renamed over the old one, so a crash leaves the old or the new file,
//!   never half of one. On Unix the file is created with mode `0600`.

use crate::{KeyHash, KeySpec};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Version of the file format this build writes and reads.
pub const KEYS_FILE_VERSION: u32 = 1;

/// A config-file key revoked through the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedKey {
    /// Key id.
    pub id: String,
    /// The hash it had when it was revoked.
    pub hash: KeyHash,
}

/// What the keys file holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysFileContents {
    /// Format version ([`KEYS_FILE_VERSION`]).
    pub version: u32,
    /// Keys issued through the admin API, by id.
    #[serde(default)]
    pub issued: Vec<KeySpec>,
    /// Config-file keys revoked through the admin API.
    #[serde(default)]
    pub revoked: Vec<RevokedKey>,
}

/// The keys file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeysFileError {
    /// Reading failed.
    #[error("cannot read the keys file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a keys file this build understands.
    #[error("the keys file {} is not valid: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Writing failed; the previous file is unchanged.
    #[error("cannot write the keys file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Where admin-issued keys are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysFile {
    path: PathBuf,
}

impl KeysFile {
    /// The keys file at `path` (created on the first change).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        KeysFile { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file; a missing file is an empty one.
    pub fn load(&self) -> Result<KeysFileContents, KeysFileError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(KeysFileContents {
                    version: KEYS_FILE_VERSION,
                    ..Default::default()
                })
            }
            Err(source) => {
                return Err(KeysFileError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let contents: KeysFileContents =
            serde_json::from_str(&text).map_err(|e| self.invalid(e.to_string()))?;
        if contents.version != KEYS_FILE_VERSION {
            return Err(self.invalid(format!(
                "version {} (this build reads version {KEYS_FILE_VERSION})",
                contents.version
            )));
        }
        Ok(contents)
    }

    fn invalid(&self, message: String) -> KeysFileError {
        KeysFileError::Invalid {
            path: self.path.clone(),
            message,
        }
    }

    /// Replaces the file with `contents`, atomically (temporary file, sync, rename).
    pub fn save(&self, contents: &KeysFileContents) -> Result<(), KeysFileError> {
        let write_err = |source| KeysFileError::Write {
            path: self.path.clone(),
            source,
        };
        let json =
            serde_json::to_vec_pretty(contents).map_err(|e| write_err(std::io::Error::other(e)))?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(write_err)?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "keys".to_string());
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let written = (|| {
            let mut file = create_private(&tmp)?;
            file.write_all(&json)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(write_err(e));
        }
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// A new file readable and writable by its owner only (mode 0600 on Unix).
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewKey;

    #[test]
    fn missing_file_is_empty_and_contents_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let file = KeysFile::new(dir.path().join("sub/keys.json"));
        assert_eq!(file.load().unwrap().issued.len(), 0);
        let mut spec = NewKey::default().into_spec("a".into(), KeyHash::of("sk-llmgw-a"));
        spec.daily_budget_usd = Some(1.5);
        let contents = KeysFileContents {
            version: KEYS_FILE_VERSION,
            issued: vec![spec],
            revoked: vec![RevokedKey {
                id: "old".into(),
                hash: KeyHash::of("sk-llmgw-old"),
            }],
        };
        file.save(&contents).unwrap();
        assert_eq!(file.load().unwrap(), contents);
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(text.contains(&KeyHash::of("sk-llmgw-a").to_hex()));
        assert!(!text.contains("sk-llmgw-a\""), "{text}");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["keys.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_bad_file_names_itself_and_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(&path, r#"{"version": 7}"#).unwrap();
        let err = KeysFile::new(&path).load().unwrap_err().to_string();
        assert!(
            err.contains("keys.json") && err.contains("version 7"),
            "{err}"
        );
        std::fs::write(
            &path,
            r#"{"version": 1, "issued": [{"id": "a", "hash": "sk-llmgw-x"}]}"#,
        )
        .unwrap();
        let err = KeysFile::new(&path).load().unwrap_err().to_string();
        assert!(err.contains("looks like a key"), "{err}");
        assert!(!err.contains("sk-llmgw-x"), "{err}");
    }
}
