//! Gateway API keys: the secret a caller sends, and the SHA-256 hash the gateway stores.

use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Prefix of the keys the gateway issues (recognisable by secret scanners).
pub const KEY_PREFIX: &str = "sk-llmgw-";

/// A gateway API key as the caller holds it. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key value.
    pub fn new(value: impl Into<String>) -> Self {
        ApiKey(value.into())
    }

    /// A new random key: [`KEY_PREFIX`] followed by 192 random bits in hex.
    pub fn generate() -> Self {
        let bytes: [u8; 24] = rand::rng().random();
        ApiKey(format!("{KEY_PREFIX}{}", hex::encode(bytes)))
    }

    /// The key itself, for the one place that hands it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its SHA-256 hash, the only form the gateway keeps.
    pub fn hash(&self) -> KeyHash {
        KeyHash::of(&self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// SHA-256 of a key, written as 64 lowercase hex digits (optionally prefixed `sha256:`).
///
/// Hashes are not secret in the way keys are, but `Debug` shows only the first 8 digits to keep
/// logs short.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    /// The hash of `key`.
    pub fn of(key: &str) -> Self {
        KeyHash(Sha256::digest(key.as_bytes()).into())
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// A string that is not a SHA-256 hash in hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a SHA-256 hash as 64 hex digits (optionally prefixed `sha256:`), got {len} characters{hint}")]
pub struct InvalidKeyHash {
    len: usize,
    hint: &'static str,
}

impl FromStr for KeyHash {
    type Err = InvalidKeyHash;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.trim().strip_prefix("sha256:").unwrap_or(s.trim());
        let invalid = |hint| InvalidKeyHash {
            len: digits.len(),
            hint,
        };
        if digits.starts_with(KEY_PREFIX) {
            // Never echo what looks like a key.
            return Err(invalid(
                "; this looks like a key, not its hash (run `llmgw keys hash`)",
            ));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits, &mut out).map_err(|_| invalid(""))?;
        Ok(KeyHash(out))
    }
}

impl fmt::Display for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash(sha256:{}…)", &self.to_hex()[..8])
    }
}

impl Serialize for KeyHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex_and_round_trips() {
        // SHA-256("abc") from FIPS 180-2.
        let h = KeyHash::of("abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h.to_string().parse::<KeyHash>(), Ok(h));
        assert_eq!(h.to_hex().parse::<KeyHash>(), Ok(h));
        assert!("abc".parse::<KeyHash>().is_err());
    }

    #[test]
    fn keys_never_print_and_are_not_accepted_as_hashes() {
        let k = ApiKey::generate();
        assert!(k.expose().starts_with(KEY_PREFIX));
        assert_eq!(k.expose().len(), KEY_PREFIX.len() + 48);
        assert!(!format!("{k:?}{k}").contains(k.expose()));
        let err = k.expose().parse::<KeyHash>().unwrap_err().to_string();
        assert!(err.contains("looks like a key"), "{err}");
        assert!(!err.contains(k.expose()));
        assert_ne!(ApiKey::generate(), k);
    }
}
