//! Tool-call ids for Gemini, which sends none (or ids without the thought signature the
//! next request must return). The signature rides along inside the OpenAI tool-call id.

/// Separates the call id from a Gemini thought signature inside an OpenAI tool-call id.
pub const THOUGHT_SIGNATURE_SEPARATOR: &str = "~ts~";

/// The OpenAI tool-call id for a call id and an optional thought signature.
pub fn join_signature(id: &str, signature: Option<&str>) -> String {
    match signature {
        Some(sig) if !sig.is_empty() => format!("{id}{THOUGHT_SIGNATURE_SEPARATOR}{sig}"),
        _ => id.to_string(),
    }
}

/// Splits an OpenAI tool-call id into the call id and the thought signature, if any.
pub fn split_signature(id: &str) -> (&str, Option<&str>) {
    match id.split_once(THOUGHT_SIGNATURE_SEPARATOR) {
        Some((id, sig)) if !sig.is_empty() => (id, Some(sig)),
        _ => (id, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let id = join_signature("call_1", Some("CiQB/sig=="));
        assert_eq!(split_signature(&id), ("call_1", Some("CiQB/sig==")));
        assert_eq!(join_signature("call_2", None), "call_2");
        assert_eq!(split_signature("call_2"), ("call_2", None));
    }
}
