#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Routers that pool a static token table distilled from an encoder layer: distillation
//! against the real encoder, train → write → load → predict, and loading errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use llmgw_classifier::head::HeadConfig;
use llmgw_classifier::manifest::Manifest;
use llmgw_classifier::pipeline::default_spec;
use llmgw_classifier::static_table::STATIC_FILE;
use llmgw_classifier::train::{train, Quiet, TrainOptions};
use llmgw_classifier::{ClassifierError, Encoder, Router, StaticTable};

fn encoder_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/encoder/all-MiniLM-L6-v2")
}

fn maths(i: usize) -> String {
    format!(
        "Compute the integral of x^{i} times sin(x) from 0 to {} and simplify.",
        i + 2
    )
}

fn trivia(i: usize) -> String {
    format!("Who painted the picture number {i} in the gallery?")
}

/// 48 prompts: maths is hard for "small", trivia easy for both.
fn write_data(dir: &Path) -> PathBuf {
    let path = dir.join("tiny.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..24 {
        for (prompt, small) in [(maths(i), 0.0), (trivia(i), 1.0)] {
            let row = serde_json::json!({"id": format!("{i}-{small}"), "prompt": prompt,
                "quality": {"big": 1.0, "small": small}});
            writeln!(f, "{row}").unwrap();
        }
    }
    path
}

fn options(data: &Path, out: &Path, static_embeddings: bool) -> TrainOptions {
    let mut spec = default_spec(6);
    spec.static_embeddings = static_embeddings;
    TrainOptions {
        files: vec![data.to_path_buf()],
        out: out.to_path_buf(),
        encoder_dir: encoder_dir(),
        encoder_id: "sentence-transformers/all-MiniLM-L6-v2".into(),
        seed: 5,
        validation_fraction: 0.25,
        head: HeadConfig {
            hidden: 16,
            max_epochs: 30,
            patience: 30,
            batch_size: 16,
            ensemble: 2,
            lr: 3e-3,
            ..HeadConfig::default()
        },
        features: Some(spec),
        cache_dir: None,
    }
}

struct Trained {
    tmp: tempfile::TempDir,
    data: PathBuf,
    out: PathBuf,
}

fn trained() -> &'static Trained {
    static T: OnceLock<Trained> = OnceLock::new();
    T.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let data = write_data(tmp.path());
        let out = tmp.path().join("router");
        train(&options(&data, &out, true), &mut Quiet).unwrap();
        Trained { tmp, data, out }
    })
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

#[test]
fn static_router_writes_its_table_learns_the_pattern_and_needs_no_encoder_pass() {
    let t = trained();
    let m = Manifest::read(&t.out).unwrap();
    assert!(m.features.static_embeddings);
    assert_eq!(m.features.layers, vec![3]);
    assert!(t.out.join(STATIC_FILE).is_file());
    let router = Router::load(&t.out).unwrap();
    let table = router.static_table().expect("static router has a table");
    assert_eq!(table.vocab_size(), router.encoder().vocab_size());
    let preds = router
        .predict_batch(&[
            "Compute the integral of x^3 times cos(x) from 0 to 9 and simplify.",
            "Who painted the picture number 99 in the gallery?",
        ])
        .unwrap();
    assert!(
        preds[0].quality["small"] + 0.2 < preds[1].quality["small"],
        "{preds:?}"
    );
    // asking for sentence embeddings runs the encoder for them only; predictions are the same
    let prompts = [maths(30).as_str(), "hello"].map(str::to_string);
    let refs: Vec<&str> = prompts.iter().map(String::as_str).collect();
    let (with, sentences) = router.predict_batch_with_embeddings(&refs).unwrap();
    assert_eq!(with, router.predict_batch(&refs).unwrap());
    let direct = router.encoder().embed(&refs, &[6]).unwrap();
    for (s, d) in sentences.iter().zip(&direct) {
        assert_eq!(s.len(), 384);
        assert!((cosine(s, d) - 1.0).abs() < 1e-5);
        assert!((s.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4);
    }
}

#[test]
fn distilled_table_approximates_the_layer_it_replaces() {
    let encoder = Encoder::load_dir(&encoder_dir()).unwrap();
    let corpus: Vec<String> = (0..8).flat_map(|i| [maths(i), trivia(i)]).collect();
    let refs: Vec<&str> = corpus.iter().map(String::as_str).collect();
    let table = StaticTable::distil(&encoder, 3, &refs, |_, _| {}).unwrap();
    let alone = StaticTable::distil(&encoder, 3, &[], |_, _| {}).unwrap();
    let real = encoder.embed(&refs, &[3]).unwrap();
    for (text, r) in refs.iter().zip(&real) {
        let ids = encoder.tokenize(text).unwrap().ids;
        let fitted = cosine(&table.pool(&ids), r);
        let unfitted = cosine(&alone.pool(&ids), r);
        // corpus averages come closer to the contextual states than tokens read alone
        assert!(fitted > 0.95, "{text}: {fitted}");
        assert!(fitted > unfitted, "{text}: {fitted} vs {unfitted}");
    }
    // maths prompts pool closer to each other than to trivia
    let pool = |s: &str| table.pool(&encoder.tokenize(s).unwrap().ids);
    let (m1, m2, t1) = (pool(&maths(50)), pool(&maths(51)), pool(&trivia(50)));
    assert!(cosine(&m1, &m2) > cosine(&m1, &t1));
    assert!(StaticTable::distil(&encoder, 7, &refs, |_, _| {}).is_err());
}

#[test]
fn missing_table_is_named_and_retraining_without_it_removes_it() {
    let t = trained();
    let copy = t.tmp.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&t.out).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    // the copied manifest's encoder path is relative: point it at the encoder again
    let mut m = Manifest::read(&copy).unwrap();
    m.encoder.path = encoder_dir().display().to_string();
    m.write(&copy).unwrap();
    assert!(Router::load(&copy).is_ok());
    std::fs::remove_file(copy.join(STATIC_FILE)).unwrap();
    match Router::load(&copy) {
        Err(ClassifierError::MissingFile { path, .. }) => assert!(path.ends_with(STATIC_FILE)),
        other => panic!("expected a missing table, got {:?}", other.map(|_| ())),
    }
    // an encoder-pooled router trained into a folder holding a table removes it
    std::fs::copy(t.out.join(STATIC_FILE), copy.join(STATIC_FILE)).unwrap();
    train(&options(&t.data, &copy, false), &mut Quiet).unwrap();
    assert!(!copy.join(STATIC_FILE).exists());
    let router = Router::load(&copy).unwrap();
    assert!(router.static_table().is_none());
}

fn pearson(a: &[f32], b: &[f32]) -> f32 {
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (ma, mb) = (mean(a), mean(b));
    let cov: f32 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let sd = |v: &[f32], m: f32| v.iter().map(|x| (x - m) * (x - m)).sum::<f32>().sqrt();
    cov / (sd(a, ma) * sd(b, mb))
}

/// The two shipped routers (`models/router`, encoder-pooled; `models/router-static`, the
/// static table) load and rank the same prompts alike: what the static one saves in time it
/// must not pay for with different routing.
#[test]
fn shipped_static_router_ranks_prompts_like_the_shipped_encoder_router() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let encoder_router = Router::load(&models.join("router")).unwrap();
    let static_router = Router::load(&models.join("router-static")).unwrap();
    assert!(encoder_router.static_table().is_none());
    assert!(static_router.static_table().is_some());
    assert_eq!(encoder_router.models(), static_router.models());

    let rows = llmgw_classifier::data::read_labelled(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../training-data/llmrouter-train.jsonl"),
    )
    .unwrap();
    // every 40th prompt: ~135 prompts of every kind in the file
    let prompts: Vec<&str> = rows.iter().step_by(40).map(|r| r.prompt.as_str()).collect();
    let a = encoder_router.predict_batch(&prompts).unwrap();
    let b = static_router.predict_batch(&prompts).unwrap();
    let difficulty = |p: &[llmgw_classifier::Prediction]| -> Vec<f32> {
        p.iter().map(|x| x.difficulty).collect()
    };
    let r = pearson(&difficulty(&a), &difficulty(&b));
    eprintln!("difficulty correlation {r:.3}");
    assert!(r > 0.9, "difficulty correlation {r}");
    for model in encoder_router.models() {
        let q = |p: &[llmgw_classifier::Prediction]| -> Vec<f32> {
            p.iter().map(|x| x.quality[model.as_str()]).collect()
        };
        let r = pearson(&q(&a), &q(&b));
        eprintln!("{model}: quality correlation {r:.3}");
        assert!(r > 0.8, "{model}: quality correlation {r}");
    }
}
