//! The token-count estimate and the splitting of answers into stream chunks.
//!
//! Rule (also in the crate docs): a text of `c` Unicode scalar values counts `ceil(c / 4)` tokens.

/// Tokens an image part counts (OpenAI's low-detail image cost).
pub(crate) const IMAGE_TOKENS: u32 = 85;
/// Tokens added for every message of a conversation (role and framing).
pub(crate) const MESSAGE_OVERHEAD: u32 = 4;
/// Characters per token in the estimate.
pub(crate) const CHARS_PER_TOKEN: usize = 4;

/// Estimated tokens of `text`: `ceil(chars / 4)`.
pub(crate) fn count(text: &str) -> u32 {
    let chars = text.chars().count();
    u32::try_from(chars.div_ceil(CHARS_PER_TOKEN)).unwrap_or(u32::MAX)
}

/// Token weight of a stream piece, fractional, for pacing.
pub(crate) fn weight(piece: &str) -> f64 {
    piece.chars().count() as f64 / CHARS_PER_TOKEN as f64
}

/// The longest prefix of `text` that counts at most `tokens` tokens.
pub(crate) fn truncate(text: &str, tokens: u32) -> &str {
    let max_chars = (tokens as usize).saturating_mul(CHARS_PER_TOKEN);
    match text.char_indices().nth(max_chars) {
        Some((byte, _)) => &text[..byte],
        None => text,
    }
}

/// Splits `text` into stream pieces: each word with the whitespace before it, and any piece longer than
/// `max_chars` cut further. Concatenating the pieces gives back `text`.
pub(crate) fn pieces(text: &str, max_chars: usize) -> Vec<String> {
    let max_chars = max_chars.max(1);
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut seen_word_char = false;
    for ch in text.chars() {
        if ch.is_whitespace() && seen_word_char {
            words.push(std::mem::take(&mut current));
            seen_word_char = false;
        }
        if !ch.is_whitespace() {
            seen_word_char = true;
        }
        current.push(ch);
    }
    if !current.is_empty() {
        words.push(current);
    }
    let mut out = Vec::new();
    for word in words {
        let chars: Vec<char> = word.chars().collect();
        for chunk in chars.chunks(max_chars) {
            out.push(chunk.iter().collect());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_is_ceil_of_chars_over_four() {
        assert_eq!(count(""), 0);
        assert_eq!(count("a"), 1);
        assert_eq!(count("abcd"), 1);
        assert_eq!(count("abcde"), 2);
        // Unicode scalar values, not bytes.
        assert_eq!(count("ééééé"), 2);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("abcdefghij", 2), "abcdefgh");
        assert_eq!(truncate("ééééééééé", 1), "éééé");
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(count(truncate("some longer text here", 3)), 3);
    }

    #[test]
    fn pieces_rebuild_the_text_and_respect_the_limit() {
        let text = "Hello  wonderful\nworld, {\"a\":\"bcdefghijkl\"}";
        let parts = pieces(text, 5);
        assert_eq!(parts.concat(), text);
        assert!(parts.iter().all(|p| p.chars().count() <= 5));
        assert_eq!(pieces("one two", 16), vec!["one", " two"]);
        assert!(pieces("", 4).is_empty());
    }
}
