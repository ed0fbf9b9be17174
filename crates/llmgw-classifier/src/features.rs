//! Text features that join the encoder embedding: hashed word n-grams and length/structure
//! features.
//!
//! * **Hashed n-grams.** The prompt (first [`MAX_CHARS`] characters) is lower-cased and split
//!   into words (runs of ASCII letters and digits) and single punctuation/symbol characters.
//!   Each word and each pair of adjacent words is hashed with 64-bit FNV-1a into one of
//!   `dim` buckets, with a sign taken from another bit of the hash (signed feature hashing,
//!   so collisions cancel out on average). A bucket's value is `sign(c)·ln(1+|c|)` of its
//!   signed count `c`; the vector is then scaled to unit L2 norm.
//! * **Structure.** [`STRUCT_NAMES`] lists them: log lengths (characters, words, lines,
//!   encoder tokens), shares of digits, math symbols and capitals, code markers, number of
//!   lettered options, question marks, imperative maths verbs, question words.

/// Characters of a prompt read for hashed n-grams (longer prompts are cut).
pub const MAX_CHARS: usize = 20_000;

/// Names of the structure features, in order.
pub const STRUCT_NAMES: [&str; 12] = [
    "ln_chars",
    "ln_words",
    "ln_lines",
    "digit_share",
    "math_symbol_share",
    "upper_share",
    "code_marker",
    "lettered_options",
    "question_marks",
    "math_verb",
    "question_word",
    "ln_tokens",
];

/// 64-bit FNV-1a.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Lower-cased word and symbol tokens of a text (see the module docs).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars().take(MAX_CHARS) {
        let c = ch.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            cur.push(c);
            continue;
        }
        if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Signed hashed unigram + bigram features of a text as sparse (index, value) pairs,
/// sorted by index, unit L2 norm.
pub fn hashed_ngrams(text: &str, dim: usize) -> Vec<(u32, f32)> {
    let w = words(text);
    let mut counts: std::collections::BTreeMap<u32, f32> = std::collections::BTreeMap::new();
    let mut add = |key: &str| {
        let h = fnv1a(key.as_bytes());
        let idx = (h % dim as u64) as u32;
        let sign = if (h >> 40) & 1 == 1 { 1.0 } else { -1.0 };
        *counts.entry(idx).or_insert(0.0) += sign;
    };
    for (i, a) in w.iter().enumerate() {
        add(a);
        if let Some(b) = w.get(i + 1) {
            add(&format!("{a} {b}"));
        }
    }
    let mut out: Vec<(u32, f32)> = counts
        .into_iter()
        .filter(|(_, c)| *c != 0.0)
        .map(|(i, c)| (i, c.signum() * c.abs().ln_1p()))
        .collect();
    let norm = out.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, v) in &mut out {
            *v /= norm;
        }
    }
    out
}

fn has_word(lower: &str, list: &[&str]) -> bool {
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| list.contains(&w))
}

/// Length and structure features of a text ([`STRUCT_NAMES`]); `tokens` is the encoder's
/// token count of the whole prompt.
pub fn structure(text: &str, tokens: usize) -> Vec<f32> {
    let chars = text.chars().count().max(1) as f32;
    let count = |f: &dyn Fn(char) -> bool| text.chars().filter(|&c| f(c)).count() as f32;
    let lower = text.to_lowercase();
    let code = [
        "```",
        "def ",
        "#include",
        "return ",
        "function ",
        "=>",
        "};",
    ]
    .iter()
    .any(|m| text.contains(m));
    let options = text
        .lines()
        .filter(|l| {
            let t = l.trim_start().trim_start_matches('(');
            let mut it = t.chars();
            matches!(
                (it.next(), it.next(), it.next()),
                (Some(a), Some('.' | ')'), Some(' ' | '\t')) if a.is_ascii_alphabetic() && a.to_ascii_uppercase() <= 'J'
            )
        })
        .count() as f32;
    vec![
        (text.chars().count() as f32).ln_1p(),
        (text.split_whitespace().count() as f32).ln_1p(),
        ((text.matches('\n').count() + 1) as f32).ln_1p(),
        count(&|c| c.is_ascii_digit()) / chars,
        count(&|c| "=+-*/^\\$<>()[]{}".contains(c)) / chars,
        count(&|c| c.is_uppercase()) / chars,
        f32::from(u8::from(code)),
        options,
        count(&|c| c == '?'),
        f32::from(u8::from(has_word(
            &lower,
            &["calculate", "compute", "solve", "find"],
        ))),
        f32::from(u8::from(has_word(
            &lower,
            &["which", "what", "who", "when", "where", "why", "how"],
        ))),
        (tokens as f32).ln_1p(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn words_split_symbols_and_lowercase() {
        assert_eq!(
            words("What's 2+2?"),
            vec!["what", "'", "s", "2", "+", "2", "?"]
        );
    }

    #[test]
    fn hashed_is_unit_norm_and_deterministic() {
        let a = hashed_ngrams("the cat sat on the mat", 1024);
        let b = hashed_ngrams("the cat sat on the mat", 1024);
        assert_eq!(a, b);
        let n: f32 = a.iter().map(|(_, v)| v * v).sum();
        assert!((n - 1.0).abs() < 1e-5);
        assert!(a.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(hashed_ngrams("", 1024).is_empty());
    }

    #[test]
    fn structure_counts_options_and_code() {
        let s = structure("Which is prime?\nA. 4\nB. 5\n(C) 6\nD) 8", 20);
        assert_eq!(s.len(), STRUCT_NAMES.len());
        assert_eq!(s[7], 4.0);
        assert_eq!(s[8], 1.0);
        assert_eq!(s[10], 1.0);
        assert_eq!(s[6], 0.0);
        assert_eq!(structure("```python\ndef f(): return 1\n```", 5)[6], 1.0);
    }
}
