//! On-disk cache of prompt embeddings, keyed by hash of (encoder digest, pooling, text).
//!
//! One append-only file per (encoder, pooling): a header (`LLMGWEMB`, format version,
//! vector width) then records of a 32-byte SHA-256 key and `width` little-endian f32.
//! A record cut short by a crash is ignored on load, so the file stays usable.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{ClassifierError, Result};

const MAGIC: &[u8; 8] = b"LLMGWEMB";
const VERSION: u32 = 1;
const HEADER: usize = 16;

/// A cache key: SHA-256 of encoder digest, pooling spec and text.
pub type Key = [u8; 32];

/// Embedding cache for one encoder and pooling configuration.
pub struct EmbeddingCache {
    path: PathBuf,
    width: usize,
    salt: String,
    entries: HashMap<Key, Vec<f32>>,
}

impl EmbeddingCache {
    /// Opens (or creates) the cache file for `encoder_digest` + `spec` under `dir`.
    /// `width` is the length of each stored vector.
    pub fn open(dir: &Path, encoder_digest: &str, spec: &str, width: usize) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ClassifierError::io(format!("creating {}", dir.display()), e))?;
        let salt = format!("{encoder_digest}\0{spec}\0");
        let file_id = hex::encode(Sha256::digest(salt.as_bytes()));
        let path = dir.join(format!("emb-{}.bin", &file_id[..24]));
        let mut cache = Self {
            path,
            width,
            salt,
            entries: HashMap::new(),
        };
        cache.load()?;
        Ok(cache)
    }

    /// The cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of cached vectors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The key of a text.
    pub fn key(&self, text: &str) -> Key {
        let mut h = Sha256::new();
        h.update(self.salt.as_bytes());
        h.update(text.as_bytes());
        h.finalize().into()
    }

    /// The cached vector of a key.
    pub fn get(&self, key: &Key) -> Option<&[f32]> {
        self.entries.get(key).map(Vec::as_slice)
    }

    fn load(&mut self) -> Result<()> {
        let ctx = || format!("embedding cache {}", self.path.display());
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(ClassifierError::io(ctx(), e)),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| ClassifierError::io(ctx(), e))?;
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(ClassifierError::invalid(
                ctx(),
                "not an embedding cache file (delete it to rebuild)",
            ));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let width = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
        if version != VERSION || width != self.width {
            return Err(ClassifierError::invalid(
                ctx(),
                format!("version {version} width {width}, expected {VERSION} and {} (delete it to rebuild)", self.width),
            ));
        }
        let record = 32 + 4 * width;
        for chunk in bytes[HEADER..].chunks_exact(record) {
            let mut key = [0u8; 32];
            key.copy_from_slice(&chunk[..32]);
            let v = chunk[32..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            self.entries.insert(key, v);
        }
        Ok(())
    }

    /// Stores vectors (appended to the file and kept in memory). Keys already present are
    /// skipped.
    pub fn insert_many(&mut self, items: Vec<(Key, Vec<f32>)>) -> Result<()> {
        let ctx = || format!("writing embedding cache {}", self.path.display());
        let exists = self.path.is_file();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| ClassifierError::io(ctx(), e))?;
        let mut w = BufWriter::new(file);
        if !exists {
            w.write_all(MAGIC)
                .map_err(|e| ClassifierError::io(ctx(), e))?;
            w.write_all(&VERSION.to_le_bytes())
                .map_err(|e| ClassifierError::io(ctx(), e))?;
            w.write_all(&(self.width as u32).to_le_bytes())
                .map_err(|e| ClassifierError::io(ctx(), e))?;
        }
        for (key, v) in items {
            if v.len() != self.width {
                return Err(ClassifierError::invalid(
                    ctx(),
                    format!("vector of width {}, expected {}", v.len(), self.width),
                ));
            }
            if self.entries.contains_key(&key) {
                continue;
            }
            let mut rec = Vec::with_capacity(32 + 4 * v.len());
            rec.extend_from_slice(&key);
            for x in &v {
                rec.extend_from_slice(&x.to_le_bytes());
            }
            w.write_all(&rec)
                .map_err(|e| ClassifierError::io(ctx(), e))?;
            self.entries.insert(key, v);
        }
        w.flush().map_err(|e| ClassifierError::io(ctx(), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_torn_record_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = EmbeddingCache::open(dir.path(), "abc", "L6", 3).unwrap();
        let k1 = c.key("hello");
        let k2 = c.key("world");
        assert_ne!(k1, k2);
        c.insert_many(vec![(k1, vec![1.0, 2.0, 3.0]), (k2, vec![4.0, 5.0, 6.0])])
            .unwrap();
        let path = c.path().to_path_buf();
        // simulate a crash mid-record
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[7u8; 20]).unwrap();
        let c2 = EmbeddingCache::open(dir.path(), "abc", "L6", 3).unwrap();
        assert_eq!(c2.len(), 2);
        assert_eq!(c2.get(&k1).unwrap(), &[1.0, 2.0, 3.0]);
        // another encoder digest gives other keys and another file
        let c3 = EmbeddingCache::open(dir.path(), "other", "L6", 3).unwrap();
        assert!(c3.is_empty());
        assert_ne!(c3.key("hello"), k1);
    }

    #[test]
    fn wrong_width_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = EmbeddingCache::open(dir.path(), "abc", "L6", 3).unwrap();
        let k = c.key("x");
        c.insert_many(vec![(k, vec![1.0, 2.0, 3.0])]).unwrap();
        let err = EmbeddingCache::open(dir.path(), "abc", "L6", 4)
            .err()
            .unwrap();
        assert!(err.to_string().contains("delete it to rebuild"), "{err}");
    }
}
