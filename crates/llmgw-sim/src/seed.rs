//! Deterministic randomness: SHA-256 digests and a small generator seeded from them.

use sha2::{Digest, Sha256};

/// SHA-256 of the given byte strings, each prefixed by its length so that boundaries matter.
pub(crate) fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// A splitmix64 generator: tiny, fast and fully determined by its seed.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator seeded from the first eight bytes of a digest.
    pub(crate) fn from_digest(d: &[u8; 32]) -> Rng {
        let mut first = [0u8; 8];
        first.copy_from_slice(&d[..8]);
        Rng(u64::from_le_bytes(first))
    }

    /// Next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// An index into a slice of length `len`.
    pub(crate) fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).unwrap_or(0)
    }

    /// An alphanumeric string of `len` characters (the style of provider ids).
    pub(crate) fn alnum(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| char::from(ALPHABET[self.index(ALPHABET.len())]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_boundaries_matter() {
        let a = digest(&[b"ab", b"c"]);
        let b = digest(&[b"a", b"bc"]);
        assert_ne!(a, b);
        let mut r1 = Rng::from_digest(&a);
        let mut r2 = Rng::from_digest(&a);
        let s1: Vec<u64> = (0..5).map(|_| r1.next_u64()).collect();
        let s2: Vec<u64> = (0..5).map(|_| r2.next_u64()).collect();
        assert_eq!(s1, s2);
        assert_ne!(s1[0], s1[1]);
    }

    #[test]
    fn helpers_stay_in_range() {
        let mut r = Rng::from_digest(&digest(&[b"x"]));
        assert!((0..100).all(|_| r.below(7) < 7));
        assert_eq!(r.below(0), 0);
        let id = r.alnum(24);
        assert_eq!(id.len(), 24);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
