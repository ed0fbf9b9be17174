//! Stable identifiers for providers that do not send tool-call ids.

/// FNV-1a, 64 bit: small, fast and stable across releases and platforms.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separator so that ("ab","c") and ("a","bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A tool-call id derived from the call itself: the same call at the same position
/// always gets the same id, streamed or not (`call_` + 24 hex digits).
pub fn stable_tool_call_id(
    response_id: &str,
    position: usize,
    name: &str,
    arguments: &str,
) -> String {
    let pos = position.to_string();
    let a = fnv1a(&[
        response_id.as_bytes(),
        pos.as_bytes(),
        name.as_bytes(),
        arguments.as_bytes(),
    ]);
    let b = fnv1a(&[
        arguments.as_bytes(),
        name.as_bytes(),
        pos.as_bytes(),
        response_id.as_bytes(),
    ]);
    format!("call_{:016x}{:08x}", a, b as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = stable_tool_call_id("r1", 0, "f", "{}");
        assert_eq!(a, stable_tool_call_id("r1", 0, "f", "{}"));
        assert_ne!(a, stable_tool_call_id("r1", 1, "f", "{}"));
        assert_ne!(a, stable_tool_call_id("r1", 0, "g", "{}"));
        assert!(a.starts_with("call_") && a.len() == 5 + 24);
    }
}
