#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The encoder against candle-transformers' reference BERT, and its loading errors.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use llmgw_classifier::{ClassifierError, Encoder};

fn encoder_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/encoder/all-MiniLM-L6-v2")
}

#[test]
fn last_layer_matches_candle_bert_and_padding_does_not_change_embeddings() {
    let dir = encoder_dir();
    let enc = Encoder::load_dir(&dir).unwrap();
    let texts = [
        "What is the capital of France?",
        "A much longer prompt, about integrals of rational functions over the reals.",
    ];
    let layers = [enc.num_layers()];
    // batched (padded) and one by one
    let batched = enc.embed(&texts, &layers).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let single = enc.embed(&[t], &layers).unwrap();
        for (a, b) in single[0].iter().zip(&batched[i]) {
            assert!(
                (a - b).abs() < 1e-4,
                "padding changed the embedding: {a} vs {b}"
            );
        }
    }
    // reference: candle-transformers BertModel, unpadded
    let cfg: Config =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    let weights = std::fs::read(dir.join("model.safetensors")).unwrap();
    let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu).unwrap();
    let reference = BertModel::load(vb, &cfg).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let tok = enc.tokenize(t).unwrap();
        let ids = Tensor::new(tok.ids.as_slice(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let out = reference
            .forward(&ids, &ids.zeros_like().unwrap(), None)
            .unwrap();
        let mean: Vec<f32> = out.mean(1).unwrap().squeeze(0).unwrap().to_vec1().unwrap();
        for (a, b) in mean.iter().zip(&batched[i]) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
}

#[test]
fn tokenizer_is_not_capped_at_128_and_long_prompts_keep_head_and_tail() {
    let enc = Encoder::load_dir(&encoder_dir()).unwrap();
    let long = format!("START {} FINISH", "word ".repeat(600));
    let tok = enc.tokenize(&long).unwrap();
    assert!(tok.full_len > 600, "{}", tok.full_len);
    assert_eq!(tok.ids.len(), llmgw_classifier::text::MAX_TOKENS);
    let short = enc.tokenize("hello world").unwrap();
    assert_eq!(short.ids.len(), 4);
    // head and tail survive: the first and last content tokens
    let start = enc.tokenize("start").unwrap().ids[1];
    let finish = enc.tokenize("finish").unwrap().ids[1];
    assert_eq!(tok.ids[1], start);
    assert_eq!(tok.ids[tok.ids.len() - 2], finish);
}

#[test]
fn missing_folder_and_missing_file_are_named() {
    let err = Encoder::load_dir(Path::new("/nonexistent/encoder"))
        .err()
        .unwrap();
    assert!(matches!(err, ClassifierError::MissingDir { .. }));
    assert!(err.to_string().contains("/nonexistent/encoder"), "{err}");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("config.json"), "{}").unwrap();
    let err = Encoder::load_dir(tmp.path()).err().unwrap();
    assert!(err.to_string().contains("tokenizer.json"), "{err}");
}
