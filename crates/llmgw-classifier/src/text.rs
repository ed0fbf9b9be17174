//! What the router reads: the routing text of a conversation and the token truncation rule.

/// Most characters of the previous user turn kept as context by [`routing_text`].
pub const CONTEXT_CHARS: usize = 500;

/// Most tokens fed to the encoder, `[CLS]` and `[SEP]` included.
pub const MAX_TOKENS: usize = 256;
/// Tokens kept from the start of a long prompt.
pub const HEAD_TOKENS: usize = 128;
/// Tokens kept from the end of a long prompt.
pub const TAIL_TOKENS: usize = MAX_TOKENS - 2 - HEAD_TOKENS;

/// The text a conversation is routed on.
///
/// Rule: the **last user turn** in full, preceded (after a blank line) by the **last
/// [`CONTEXT_CHARS`] characters of the user turn before it**, when there is one. System,
/// developer, assistant and tool turns are not routed on: the quality labels the router
/// learns from are for single user prompts, and a long system prompt or a previous answer
/// would drown the question being asked now. Roles are compared case-insensitively. A
/// conversation without any user turn routes on its last non-empty turn, whatever its role.
pub fn routing_text(turns: &[(&str, &str)]) -> String {
    let users: Vec<&str> = turns
        .iter()
        .filter(|(role, text)| role.eq_ignore_ascii_case("user") && !text.trim().is_empty())
        .map(|(_, text)| *text)
        .collect();
    match users.as_slice() {
        [] => turns
            .iter()
            .rev()
            .find(|(_, text)| !text.trim().is_empty())
            .map(|(_, text)| text.to_string())
            .unwrap_or_default(),
        [last] => last.to_string(),
        [.., prev, last] => {
            let context = tail_chars(prev, CONTEXT_CHARS);
            format!("{context}\n\n{last}")
        }
    }
}

/// The last `n` characters of `s` (on a char boundary).
fn tail_chars(s: &str, n: usize) -> &str {
    let count = s.chars().count();
    if count <= n {
        return s;
    }
    match s.char_indices().nth(count - n) {
        Some((i, _)) => &s[i..],
        None => s,
    }
}

/// Applies the truncation rule to a prompt's token ids (without special tokens): a prompt of
/// at most `MAX_TOKENS - 2` tokens is kept whole; a longer one keeps its first
/// [`HEAD_TOKENS`] and last [`TAIL_TOKENS`] tokens (the instructions usually open a prompt and
/// the question usually closes it). The caller adds `[CLS]` and `[SEP]`.
pub fn truncate_head_tail(ids: &[u32]) -> Vec<u32> {
    if ids.len() <= MAX_TOKENS - 2 {
        return ids.to_vec();
    }
    let mut out = Vec::with_capacity(MAX_TOKENS - 2);
    out.extend_from_slice(&ids[..HEAD_TOKENS]);
    out.extend_from_slice(&ids[ids.len() - TAIL_TOKENS..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_user_turn_is_routed_as_is() {
        assert_eq!(
            routing_text(&[("system", "be brief"), ("user", "What is 2+2?")]),
            "What is 2+2?"
        );
    }

    #[test]
    fn previous_user_turn_is_context_and_assistant_is_ignored() {
        let long = format!("{}END", "x".repeat(1000));
        let text = routing_text(&[
            ("system", "You are helpful"),
            ("user", &long),
            ("assistant", "an answer"),
            ("USER", "and now?"),
        ]);
        assert!(text.ends_with("\n\nand now?"));
        assert!(text.starts_with('x'));
        assert!(text.contains("END"));
        assert!(!text.contains("answer"));
        assert_eq!(text.chars().count(), CONTEXT_CHARS + 2 + "and now?".len());
    }

    #[test]
    fn no_user_turn_falls_back_to_last_non_empty_turn() {
        assert_eq!(
            routing_text(&[("system", "sys"), ("assistant", "hi"), ("tool", " ")]),
            "hi"
        );
        assert_eq!(routing_text(&[]), "");
    }

    #[test]
    fn multibyte_context_is_cut_on_char_boundary() {
        let prev = "é".repeat(CONTEXT_CHARS + 10);
        let text = routing_text(&[("user", &prev), ("user", "q")]);
        assert_eq!(text.chars().count(), CONTEXT_CHARS + 3);
    }

    #[test]
    fn truncation_keeps_head_and_tail() {
        let short: Vec<u32> = (0..254).collect();
        assert_eq!(truncate_head_tail(&short), short);
        let long: Vec<u32> = (0..1000).collect();
        let t = truncate_head_tail(&long);
        assert_eq!(t.len(), MAX_TOKENS - 2);
        assert_eq!(t[..HEAD_TOKENS], long[..HEAD_TOKENS]);
        assert_eq!(t[HEAD_TOKENS..], long[1000 - TAIL_TOKENS..]);
    }
}
