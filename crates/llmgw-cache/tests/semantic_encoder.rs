//! The semantic cache's default threshold against the shipped encoder: paraphrases reach it,
//! different questions that share most of their words do not. The embeddings are the ones
//! the router computes for routing (`predict_batch_with_embeddings` on the routing text).
//!
//! `cargo test -p llmgw-cache --test semantic_encoder -- --nocapture` prints the table of
//! measured similarities that the README quotes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use llmgw_classifier::{routing_text, Router};
use llmgw_config::DEFAULT_SIMILARITY_THRESHOLD;

/// Same question, other words: should be answered from the cache.
const PARAPHRASES: &[(&str, &str)] = &[
    (
        "What is the capital of France?",
        "What's the capital city of France?",
    ),
    (
        "How do I reverse a list in Python?",
        "How can I reverse a Python list?",
    ),
    (
        "Explain how photosynthesis works.",
        "Can you explain how photosynthesis works?",
    ),
    (
        "Who wrote Pride and Prejudice?",
        "Who is the author of Pride and Prejudice?",
    ),
    (
        "What is the boiling point of water?",
        "At what temperature does water boil?",
    ),
    (
        "Translate 'good morning' into Spanish.",
        "How do you say 'good morning' in Spanish?",
    ),
    (
        "What are the health benefits of green tea?",
        "What health benefits does green tea have?",
    ),
    (
        "How many legs does a spider have?",
        "How many legs do spiders have?",
    ),
    (
        "Give me a recipe for chocolate chip cookies.",
        "Can you give me a chocolate chip cookie recipe?",
    ),
];

/// Different questions that share most words: must never be answered from each other.
const DIFFERENT: &[(&str, &str)] = &[
    (
        "What is the capital of France?",
        "What is the population of France?",
    ),
    (
        "What is the capital of France?",
        "What is the capital of Germany?",
    ),
    (
        "How do I reverse a list in Python?",
        "How do I sort a list in Python?",
    ),
    (
        "What is the boiling point of water?",
        "What is the freezing point of water?",
    ),
    (
        "Translate 'good morning' into Spanish.",
        "Translate 'good morning' into French.",
    ),
    ("Who wrote Pride and Prejudice?", "Who wrote War and Peace?"),
    ("What is 12 times 13?", "What is 12 times 14?"),
    ("Is 17 a prime number?", "Is 21 a prime number?"),
    (
        "Convert 5 miles to kilometers.",
        "Convert 50 miles to kilometers.",
    ),
    (
        "Write a haiku about the sea.",
        "Write a haiku about the moon.",
    ),
    (
        "What are the health benefits of green tea?",
        "What are the side effects of green tea?",
    ),
    (
        "How many legs does a spider have?",
        "How many eyes does a spider have?",
    ),
];

/// Paraphrases the default threshold must catch (the others are measured and reported: a
/// missed paraphrase costs one upstream call, a false match returns a wrong answer).
const MUST_HIT: &[usize] = &[0, 1, 2, 3, 6, 7];

fn router() -> Router {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/router");
    Router::load(&dir).unwrap_or_else(|e| panic!("the shipped router in {}: {e}", dir.display()))
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    f64::from(dot / (na * nb))
}

fn similarities(router: &Router, pairs: &[(&str, &str)]) -> Vec<f64> {
    let texts: Vec<String> = pairs
        .iter()
        .flat_map(|(a, b)| [*a, *b])
        .map(|t| routing_text(&[("user", t)]))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (_, embeddings) = router.predict_batch_with_embeddings(&refs).unwrap();
    embeddings
        .chunks(2)
        .map(|pair| cosine(&pair[0], &pair[1]))
        .collect()
}

#[test]
fn the_default_threshold_separates_paraphrases_from_different_questions() {
    let router = router();
    let t = DEFAULT_SIMILARITY_THRESHOLD;
    let para = similarities(&router, PARAPHRASES);
    let diff = similarities(&router, DIFFERENT);
    println!("| pair | kind | cosine | hit at {t} |\n|---|---|---|---|");
    for ((a, b), s) in PARAPHRASES.iter().zip(&para) {
        println!("| {a} / {b} | paraphrase | {s:.4} | {} |", *s >= t);
    }
    for ((a, b), s) in DIFFERENT.iter().zip(&diff) {
        println!("| {a} / {b} | different | {s:.4} | {} |", *s >= t);
    }
    for ((a, b), s) in DIFFERENT.iter().zip(&diff) {
        assert!(*s < t, "`{a}` and `{b}` must not match: {s:.4} >= {t}");
    }
    for &i in MUST_HIT {
        let (a, b) = PARAPHRASES[i];
        assert!(
            para[i] >= t,
            "`{a}` and `{b}` should match: {:.4} < {t}",
            para[i]
        );
    }
    // The embedding is the router's: unit length, so cosine is a dot product.
    let (_, e) = router
        .predict_batch_with_embeddings(&["What is the capital of France?"])
        .unwrap();
    let norm: f32 = e[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "{norm}");
}
