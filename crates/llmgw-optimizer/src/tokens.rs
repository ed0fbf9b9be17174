//! Prompt-token estimate for when no tokenizer of the model's family is at hand.
//!
//! The rule: every ASCII character counts a quarter token (English text averages about
//! four characters per token with the GPT and Llama tokenizers), rounded up per message;
//! every non-ASCII character counts one token (CJK ideographs and most emoji take one or
//! more tokens each, so this errs on the high side for accented Latin text, which keeps
//! cost estimates conservative). Each message adds [`TOKENS_PER_MESSAGE`] for its role and
//! separators, and the request adds [`TOKENS_PER_REQUEST`] for the assistant's reply
//! header, following OpenAI's published counting recipe for chat models.

/// Tokens added per message for the role and message separators.
pub const TOKENS_PER_MESSAGE: u64 = 4;
/// Tokens added once per request for the reply's header.
pub const TOKENS_PER_REQUEST: u64 = 3;

/// Estimated tokens of one piece of text: `ceil(ascii_chars / 4) + non_ascii_chars`.
pub fn estimate_text_tokens(text: &str) -> u64 {
    let mut ascii = 0u64;
    let mut other = 0u64;
    for ch in text.chars() {
        if ch.is_ascii() {
            ascii += 1;
        } else {
            other += 1;
        }
    }
    ascii.div_ceil(4) + other
}

/// Estimated prompt tokens of a conversation given as `(role, text)` pairs: the text
/// estimate of each message plus [`TOKENS_PER_MESSAGE`] each, plus
/// [`TOKENS_PER_REQUEST`]. The role name itself is covered by the per-message overhead.
pub fn estimate_prompt_tokens(messages: &[(&str, &str)]) -> u64 {
    messages
        .iter()
        .map(|(_, text)| estimate_text_tokens(text) + TOKENS_PER_MESSAGE)
        .sum::<u64>()
        + TOKENS_PER_REQUEST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_rounds_up_per_four_chars() {
        assert_eq!(estimate_text_tokens(""), 0);
        assert_eq!(estimate_text_tokens("abc"), 1);
        assert_eq!(estimate_text_tokens("abcd"), 1);
        assert_eq!(estimate_text_tokens("abcde"), 2);
    }

    #[test]
    fn non_ascii_counts_one_each() {
        assert_eq!(estimate_text_tokens("日本語"), 3);
        assert_eq!(estimate_text_tokens("café"), 1 + 1);
    }

    #[test]
    fn conversation_adds_overheads() {
        let msgs = [("system", "Be brief."), ("user", "What is 2+2?")];
        // "Be brief." = 9 chars -> 3; "What is 2+2?" = 12 chars -> 3
        assert_eq!(estimate_prompt_tokens(&msgs), 3 + 4 + 3 + 4 + 3);
        assert_eq!(estimate_prompt_tokens(&[]), TOKENS_PER_REQUEST);
    }
}
