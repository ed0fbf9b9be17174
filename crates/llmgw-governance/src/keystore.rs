//! The keys the gateway accepts: from the config at start, plus those issued or revoked at run
//! time through the admin API. Only hashes are kept.

use crate::{ApiKey, KeyHash, KeyPolicy, KeySpec, NewKey, SpecError};
use rand::Rng;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[derive(Default)]
struct Keys {
    by_hash: HashMap<KeyHash, Arc<KeyPolicy>>,
    by_id: BTreeMap<String, KeyHash>,
}

/// The gateway's keys, by hash and by id. Cheap to share behind an `Arc`; lookups take a read
/// lock only.
#[derive(Default)]
pub struct KeyStore {
    keys: RwLock<Keys>,
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

    fn read(&self) -> RwLockReadGuard<'_, Keys> {
        // Every update below is complete before it becomes visible, so a poisoned lock is fine.
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Keys> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a key; its id and hash must be new.
    pub fn add(&self, spec: KeySpec) -> Result<Arc<KeyPolicy>, SpecError> {
        let policy = Arc::new(KeyPolicy::new(spec)?);
        let mut keys = self.write();
        let id = policy.id().to_string();
        if keys.by_id.contains_key(&id) {
            return Err(SpecError::DuplicateId(id));
        }
        let hash = policy.spec().hash;
        if let Some(other) = keys.by_hash.get(&hash) {
            return Err(SpecError::DuplicateHash(other.id().to_string(), id));
        }
        keys.by_id.insert(id, hash);
        keys.by_hash.insert(hash, policy.clone());
        Ok(policy)
    }

    /// Generates a new key with the limits of `req`; returns its policy and the key, which
    /// is shown to its owner once and never kept.
    pub fn issue(&self, mut req: NewKey) -> Result<(Arc<KeyPolicy>, ApiKey), SpecError> {
        let id = match req.id.take() {
            Some(id) => id,
            None => format!("key-{}", hex::encode(rand::rng().random::<[u8; 4]>())),
        };
        let key = ApiKey::generate();
        let policy = self.add(req.into_spec(id, key.hash()))?;
        Ok((policy, key))
    }

    /// Removes the key `id`; `false` when there was none.
    pub fn revoke(&self, id: &str) -> bool {
        let mut keys = self.write();
        match keys.by_id.remove(id) {
            Some(hash) => {
                keys.by_hash.remove(&hash);
                true
            }
            None => false,
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

        assert!(store.revoke(policy.id()));
        assert!(!store.revoke(policy.id()));
        assert!(store.find(key.expose()).is_none());
        assert_eq!(
            store.list().iter().map(|p| p.id()).collect::<Vec<_>>(),
            ["cfg"]
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
