//! The keys the gateway accepts: from the config at start, plus those issued or revoked at run
//! time through the admin API (kept in a [`KeysFile`] when one is given, so they survive a
//! restart). Only hashes are kept.

use crate::keyfile::{KeysFile, KeysFileContents, KeysFileError, RevokedKey, KEYS_FILE_VERSION};
use crate::{ApiKey, KeyHash, KeyPolicy, KeySpec, NewKey, SpecError};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[derive(Default)]
struct Keys {
    by_hash: HashMap<KeyHash, Arc<KeyPolicy>>,
    by_id: BTreeMap<String, KeyHash>,
    /// Ids of the keys issued through the admin API (the rest come from the config).
    issued: BTreeSet<String>,
    /// Config keys revoked through the admin API.
    revoked: Vec<RevokedKey>,
}

impl Keys {
    fn add(&mut self, spec: KeySpec) -> Result<Arc<KeyPolicy>, SpecError> {
        let policy = Arc::new(KeyPolicy::new(spec)?);
        let id = policy.id().to_string();
        if self.by_id.contains_key(&id) {
            return Err(SpecError::DuplicateId(id));
        }
        let hash = policy.spec().hash;
        if let Some(other) = self.by_hash.get(&hash) {
            return Err(SpecError::DuplicateHash(other.id().to_string(), id));
        }
        self.by_id.insert(id, hash);
        self.by_hash.insert(hash, policy.clone());
        Ok(policy)
    }

    fn remove(&mut self, id: &str) -> Option<Arc<KeyPolicy>> {
        let hash = self.by_id.remove(id)?;
        self.by_hash.remove(&hash)
    }

    /// What the keys file holds for this state.
    fn file_contents(&self) -> KeysFileContents {
        KeysFileContents {
            version: KEYS_FILE_VERSION,
            issued: self
                .issued
                .iter()
                .filter_map(|id| self.by_id.get(id))
                .filter_map(|h| self.by_hash.get(h))
                .map(|p| p.spec().clone())
                .collect(),
            revoked: self.revoked.clone(),
        }
    }
}

/// A key could not be issued, revoked or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// The key's entry is invalid or clashes with another key.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The keys file could not be read or written (a failed change is undone).
    #[error(transparent)]
    File(#[from] KeysFileError),
}

/// The gateway's keys, by hash and by id. Cheap to share behind an `Arc`; lookups take a read
/// lock only.
#[derive(Default)]
pub struct KeyStore {
    keys: RwLock<Keys>,
    file: Option<KeysFile>,
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.read();
        f.debug_struct("KeyStore")
            .field("ids", &keys.by_id.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyStore {
    /// A store without keys (an open gateway).
    pub fn new() -> Self {
        Self::default()
    }

    /// A store with the config's `[[keys]]` entries; the first invalid or duplicate entry fails.
    pub fn from_specs(specs: impl IntoIterator<Item = KeySpec>) -> Result<Self, SpecError> {
        let store = KeyStore::new();
        for spec in specs {
            store.add(spec)?;
        }
        Ok(store)
    }

    /// A store with the config's `[[keys]]` entries and the keys file's: keys issued through
    /// the admin API are added, config keys revoked through it (same id and hash) are left
    /// out. Every later issue or revocation rewrites the file. An issued key whose id is also
    /// in the config is refused, unless it is the same key (same hash), which the config
    /// then owns.
    pub fn with_file(
        specs: impl IntoIterator<Item = KeySpec>,
        file: KeysFile,
    ) -> Result<Self, KeyStoreError> {
        let contents = file.load()?;
        let mut keys = Keys {
            revoked: contents.revoked,
            ..Keys::default()
        };
        for spec in specs {
            let revoked = keys
                .revoked
                .iter()
                .any(|r| r.id == spec.id && r.hash == spec.hash);
            if revoked {
                tracing::info!(key_id = %spec.id, "config key revoked through the admin API: not loaded");
                continue;
            }
            keys.add(spec)?;
        }
        for spec in contents.issued {
            if keys.by_id.get(&spec.id) == Some(&spec.hash) {
                continue;
            }
            let id = spec.id.clone();
            keys.add(spec).map_err(|e| KeysFileError::Invalid {
                path: file.path().to_path_buf(),
                message: format!("issued key `{id}`: {e}"),
            })?;
            keys.issued.insert(id);
        }
        Ok(KeyStore {
            keys: RwLock::new(keys),
            file: Some(file),
        })
    }

    /// The keys file, if issued and revoked keys are kept in one.
    pub fn file(&self) -> Option<&KeysFile> {
        self.file.as_ref()
    }

    fn read(&self) -> RwLockReadGuard<'_, Keys> {
        // Every update below is complete before it becomes visible, so a poisoned lock is fine.
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Keys> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a key (not written to the keys file: for keys from the config); its id and hash
    /// must be new.
    pub fn add(&self, spec: KeySpec) -> Result<Arc<KeyPolicy>, SpecError> {
        self.write().add(spec)
    }

    /// Generates a new key with the limits of `req` and writes it (its hash) to the keys file;
    /// returns its policy and the key, which is shown to its owner once and never kept.
    pub fn issue(&self, mut req: NewKey) -> Result<(Arc<KeyPolicy>, ApiKey), KeyStoreError> {
        let id = match req.id.take() {
            Some(id) => id,
            None => format!("key-{}", hex::encode(rand::rng().random::<[u8; 4]>())),
        };
        let key = ApiKey::generate();
        let mut keys = self.write();
        let policy = keys.add(req.into_spec(id.clone(), key.hash()))?;
        keys.issued.insert(id.clone());
        if let Err(e) = self.persist(&keys) {
            keys.remove(&id);
            keys.issued.remove(&id);
            return Err(e.into());
        }
        Ok((policy, key))
    }

    /// Removes the key `id` and records that in the keys file; `false` when there was none.
    pub fn revoke(&self, id: &str) -> Result<bool, KeyStoreError> {
        let mut keys = self.write();
        let Some(policy) = keys.remove(id) else {
            return Ok(false);
        };
        let was_issued = keys.issued.remove(id);
        if !was_issued {
            keys.revoked.push(RevokedKey {
                id: id.to_string(),
                hash: policy.spec().hash,
            });
        }
        if let Err(e) = self.persist(&keys) {
            if was_issued {
                keys.issued.insert(id.to_string());
            } else {
                keys.revoked.pop();
            }
            // Undo: the key was there a moment ago, so it fits again.
            let _ = keys.add(policy.spec().clone());
            return Err(e.into());
        }
        Ok(true)
    }

    fn persist(&self, keys: &Keys) -> Result<(), KeysFileError> {
        match &self.file {
            Some(file) => file.save(&keys.file_contents()),
            None => Ok(()),
        }
    }

    /// The key a caller presented, if the gateway knows it.
    pub fn find(&self, presented: &str) -> Option<Arc<KeyPolicy>> {
        let hash = KeyHash::of(presented);
        self.read().by_hash.get(&hash).cloned()
    }

    /// The key with id `id`.
    pub fn get(&self, id: &str) -> Option<Arc<KeyPolicy>> {
        let keys = self.read();
        keys.by_id
            .get(id)
            .and_then(|h| keys.by_hash.get(h))
            .cloned()
    }

    /// Every key, by id.
    pub fn list(&self) -> Vec<Arc<KeyPolicy>> {
        let keys = self.read();
        keys.by_id
            .values()
            .filter_map(|h| keys.by_hash.get(h).cloned())
            .collect()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    /// True without keys: the gateway is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_find_issue_revoke() {
        let store = KeyStore::new();
        assert!(store.is_empty());
        store
            .add(NewKey::default().into_spec("cfg".into(), KeyHash::of("sk-config")))
            .unwrap();
        assert_eq!(store.find("sk-config").unwrap().id(), "cfg");
        assert!(store.find("sk-other").is_none());

        let (policy, key) = store
            .issue(NewKey {
                requests_per_minute: Some(5),
                ..Default::default()
            })
            .unwrap();
        assert!(policy.id().starts_with("key-"));
        assert_eq!(store.find(key.expose()).unwrap().id(), policy.id());
        assert_eq!(store.len(), 2);
        let dbg = format!("{store:?}");
        assert!(dbg.contains("cfg") && !dbg.contains(key.expose()), "{dbg}");

        assert!(store.revoke(policy.id()).unwrap());
        assert!(!store.revoke(policy.id()).unwrap());
        assert!(store.find(key.expose()).is_none());
        assert_eq!(
            store.list().iter().map(|p| p.id()).collect::<Vec<_>>(),
            ["cfg"]
        );
    }

    #[test]
    fn the_keys_file_keeps_issued_keys_and_revocations() {
        let dir = tempfile::tempdir().unwrap();
        let file = KeysFile::new(dir.path().join("keys.json"));
        let cfg = |id: &str, key: &str| NewKey::default().into_spec(id.into(), KeyHash::of(key));
        let config = vec![cfg("cfg-a", "sk-a"), cfg("cfg-b", "sk-b")];

        let store = KeyStore::with_file(config.clone(), file.clone()).unwrap();
        let (issued, key) = store
            .issue(NewKey {
                id: Some("issued".into()),
                tokens_per_minute: Some(500),
                ..Default::default()
            })
            .unwrap();
        assert!(store.revoke("cfg-b").unwrap());
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(!text.contains(key.expose()), "{text}");

        let again = KeyStore::with_file(config.clone(), file.clone()).unwrap();
        assert_eq!(again.find(key.expose()).unwrap().spec(), issued.spec());
        assert!(again.find("sk-a").is_some());
        assert!(
            again.find("sk-b").is_none(),
            "revoked config key stays revoked"
        );
        // A new key under the revoked id is a new key.
        let renewed = vec![cfg("cfg-a", "sk-a"), cfg("cfg-b", "sk-b-new")];
        assert!(KeyStore::with_file(renewed, file.clone())
            .unwrap()
            .find("sk-b-new")
            .is_some());

        // Revoking an issued key removes it from the file.
        assert!(again.revoke("issued").unwrap());
        let third = KeyStore::with_file(config.clone(), file.clone()).unwrap();
        assert!(third.get("issued").is_none());
        assert_eq!(third.len(), 1);

        // The config taking over an issued key (same id and hash) is fine; another key under
        // an issued id is not.
        let (_, key) = third
            .issue(NewKey {
                id: Some("moved".into()),
                ..Default::default()
            })
            .unwrap();
        let mut with_moved = config.clone();
        with_moved.push(cfg("moved", key.expose()));
        let moved = KeyStore::with_file(with_moved, file.clone()).unwrap();
        assert!(moved.find(key.expose()).is_some());
        assert_eq!(moved.len(), 2, "cfg-a and moved (cfg-b is still revoked)");
        let mut clash = config;
        clash.push(cfg("moved", "sk-other"));
        let err = KeyStore::with_file(clash, file).unwrap_err().to_string();
        assert!(
            err.contains("keys.json") && err.contains("`moved`"),
            "{err}"
        );
    }

    #[test]
    fn duplicates_are_refused() {
        let spec = |id: &str, key: &str| NewKey::default().into_spec(id.into(), KeyHash::of(key));
        let store = KeyStore::new();
        store.add(spec("a", "k1")).unwrap();
        assert_eq!(
            store.add(spec("a", "k2")).unwrap_err(),
            SpecError::DuplicateId("a".into())
        );
        assert_eq!(
            store.add(spec("b", "k1")).unwrap_err(),
            SpecError::DuplicateHash("a".into(), "b".into())
        );
        assert!(KeyStore::from_specs([spec("x", "1"), spec("x", "2")]).is_err());
    }
}
