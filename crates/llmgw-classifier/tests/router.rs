#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End to end on tiny data with the real encoder: train → write → load → predict, batching,
//! determinism and loading errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use llmgw_classifier::head::HeadConfig;
use llmgw_classifier::manifest::{Manifest, MANIFEST_FILE, WEIGHTS_FILE};
use llmgw_classifier::train::{train, Quiet, TrainOptions};
use llmgw_classifier::{BatchConfig, BatchingRouter, ClassifierError, Router};

fn encoder_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/encoder/all-MiniLM-L6-v2")
}

/// 48 prompts: maths ones are hard for "small" and easy for "big"; trivia easy for both.
/// "other" is labelled on a few prompts only.
fn write_data(dir: &Path) -> PathBuf {
    let path = dir.join("tiny.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..24 {
        let maths = format!(
            "Compute the integral of x^{i} times sin(x) from 0 to {} and simplify.",
            i + 2
        );
        let trivia = format!("Who painted the picture number {i} in the gallery?");
        let other = if i % 4 == 0 { ", \"other\": 1.0" } else { "" };
        writeln!(f, "{}", serde_json::json!({"id": format!("m{i}"), "prompt": maths, "quality": {"big": 1.0, "small": 0.0}})).unwrap();
        writeln!(
            f,
            "{{\"id\": \"t{i}\", \"prompt\": {}, \"quality\": {{\"big\": 1.0, \"small\": 1.0{other}}}}}",
            serde_json::to_string(&trivia).unwrap()
        )
        .unwrap();
    }
    path
}

fn options(data: &Path, out: &Path, cache: &Path, seed: u64) -> TrainOptions {
    TrainOptions {
        files: vec![data.to_path_buf()],
        out: out.to_path_buf(),
        encoder_dir: encoder_dir(),
        encoder_id: "sentence-transformers/all-MiniLM-L6-v2".into(),
        seed,
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
        features: None,
        cache_dir: Some(cache.to_path_buf()),
    }
}

struct Trained {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    cache: PathBuf,
    out: PathBuf,
}

/// One trained tiny router shared by the tests of this file.
fn trained() -> &'static Trained {
    static T: OnceLock<Trained> = OnceLock::new();
    T.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let data = write_data(tmp.path());
        let cache = tmp.path().join("cache");
        let out = tmp.path().join("router");
        train(&options(&data, &out, &cache, 11), &mut Quiet).unwrap();
        Trained {
            data,
            cache,
            out,
            _tmp: tmp,
        }
    })
}

#[test]
fn trained_router_lists_profiles_and_learns_the_pattern() {
    let t = trained();
    let router = Router::load(&t.out).unwrap();
    assert_eq!(router.models(), vec!["big", "other", "small"]);
    let preds = router
        .predict_batch(&[
            "Compute the integral of x^3 times cos(x) from 0 to 9 and simplify.",
            "Who painted the picture number 99 in the gallery?",
        ])
        .unwrap();
    for p in &preds {
        assert_eq!(p.quality.len(), 3);
        assert!(p.quality.values().all(|q| (0.0..=1.0).contains(q)));
        let mean = p.quality.values().sum::<f32>() / 3.0;
        assert!((p.difficulty - (1.0 - mean)).abs() < 1e-6);
    }
    // the small model is predicted worse on maths than on trivia, the big one is not hurt
    assert!(
        preds[0].quality["small"] + 0.2 < preds[1].quality["small"],
        "{preds:?}"
    );
    let m = Manifest::read(&t.out).unwrap();
    // the encoder path is stored relative to the router folder
    assert!(!Path::new(&m.encoder.path).is_absolute());
    assert_eq!(
        t.out.join(&m.encoder.path).canonicalize().unwrap(),
        encoder_dir().canonicalize().unwrap()
    );
    assert!(m.training.files[0].sha256.len() == 64 && m.training.digest.len() == 64);
    assert_eq!(m.metrics.models["small"].reliability.len(), 10);
}

#[test]
fn same_seed_same_router_other_seed_differs_and_cache_is_reused() {
    let t = trained();
    let tmp = tempfile::tempdir().unwrap();
    let again = tmp.path().join("again");
    let other = tmp.path().join("other");
    train(&options(&t.data, &again, &t.cache, 11), &mut Quiet).unwrap();
    train(&options(&t.data, &other, &t.cache, 12), &mut Quiet).unwrap();
    let read = |d: &Path| std::fs::read(d.join(WEIGHTS_FILE)).unwrap();
    assert_eq!(
        read(&t.out),
        read(&again),
        "same seed must give the same weights"
    );
    assert_ne!(read(&t.out), read(&other));
    let strip = |d: &Path| {
        let mut m = Manifest::read(d).unwrap();
        m.encoder.path.clear();
        serde_json::to_string(&m).unwrap()
    };
    assert_eq!(strip(&t.out), strip(&again));
    // one cache file per pooled layer, filled once
    let files: Vec<_> = std::fs::read_dir(&t.cache).unwrap().collect();
    assert_eq!(files.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batching_matches_unbatched_predictions() {
    let t = trained();
    let prompts: Vec<String> = (0..10)
        .map(|i| format!("Question {i}: what is {i} squared plus {}?", i * 3))
        .collect();
    let direct = Router::load(&t.out).unwrap();
    let refs: Vec<&str> = prompts.iter().map(String::as_str).collect();
    let (expected, embeddings) = direct.predict_batch_with_embeddings(&refs).unwrap();
    assert_eq!(embeddings.len(), 10);
    assert!(embeddings
        .iter()
        .all(|e| e.len() == 384 && (e.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4));
    let batching = BatchingRouter::new(
        Router::load(&t.out).unwrap(),
        BatchConfig {
            max_batch: 4,
            max_wait: std::time::Duration::from_millis(50),
            queue_capacity: 8,
        },
    );
    let handles: Vec<_> = prompts
        .iter()
        .map(|p| {
            let b = batching.clone();
            let p = p.clone();
            tokio::spawn(async move { b.predict(p).await })
        })
        .collect();
    for (h, want) in handles.into_iter().zip(&expected) {
        let got = h.await.unwrap().unwrap();
        for (m, q) in &want.quality {
            assert!(
                (got.quality[m] - q).abs() < 1e-4,
                "{m}: {} vs {q}",
                got.quality[m]
            );
        }
    }
    assert!(
        batching.batches_run() < 10,
        "requests were not batched: {} passes",
        batching.batches_run()
    );
    assert_eq!(batching.queue_depth(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_batching_does_not_hold_a_lone_prompt_but_batches_a_crowd() {
    let t = trained();
    // A max_wait far longer than a forward pass shows what waiting costs a lone prompt.
    let waiting = BatchingRouter::new(
        Router::load(&t.out).unwrap(),
        BatchConfig {
            max_wait: std::time::Duration::from_millis(400),
            ..BatchConfig::default()
        },
    );
    let eager = BatchingRouter::new(Router::load(&t.out).unwrap(), BatchConfig::default());
    for b in [&waiting, &eager] {
        b.predict("warm up".into()).await.unwrap();
    }
    let time = |b: BatchingRouter| async move {
        let t0 = std::time::Instant::now();
        b.predict("What is 7 times 8?".into()).await.unwrap();
        t0.elapsed()
    };
    let waited = time(waiting.clone()).await;
    let eager_took = time(eager.clone()).await;
    assert!(
        waited >= std::time::Duration::from_millis(400),
        "{waited:?}"
    );
    assert!(
        eager_took < std::time::Duration::from_millis(400),
        "the default must not wait for company: {eager_took:?}"
    );
    // 32 prompts at once: those queued while a pass runs share the next pass.
    let before = eager.batches_run();
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let b = eager.clone();
            tokio::spawn(async move { b.predict(format!("Crowd question {i}?")).await })
        })
        .collect();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let passes = eager.batches_run() - before;
    assert!(passes < 32, "32 concurrent prompts took {passes} passes");
}

#[test]
fn loading_errors_name_what_is_missing() {
    let t = trained();
    let err = Router::load(Path::new("/nonexistent/router"))
        .err()
        .unwrap();
    assert!(
        matches!(err, ClassifierError::MissingDir { what: "router", .. }),
        "{err}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let err = Router::load(tmp.path()).err().unwrap();
    assert!(err.to_string().contains(MANIFEST_FILE), "{err}");

    std::fs::copy(t.out.join(MANIFEST_FILE), tmp.path().join(MANIFEST_FILE)).unwrap();
    let err = Router::load(tmp.path()).err().unwrap();
    assert!(err.to_string().contains(WEIGHTS_FILE), "{err}");

    // encoder nowhere on disk, given by an id that is not cached, offline
    std::fs::copy(t.out.join(WEIGHTS_FILE), tmp.path().join(WEIGHTS_FILE)).unwrap();
    let mut m = Manifest::read(tmp.path()).unwrap();
    m.encoder.id = "example-org/not-cached-encoder".into();
    m.encoder.path = "no/such/folder".into();
    m.write(tmp.path()).unwrap();
    let candidates = llmgw_classifier::router::encoder_candidates(tmp.path(), &m.encoder);
    assert_eq!(candidates[0], tmp.path().join("no/such/folder"));
    let err = llmgw_classifier::hub::resolve(&m.encoder.id, Some(&tmp.path().join("hf")), true)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("models/encoder/not-cached-encoder"),
        "{err}"
    );

    // a router whose encoder files differ from the ones it was trained with
    let mut m = Manifest::read(&t.out).unwrap();
    m.encoder.digest = "0".repeat(64);
    let enc = llmgw_classifier::Encoder::load_dir(&encoder_dir()).unwrap();
    let err = Router::from_parts(&t.out, m, enc).err().unwrap();
    assert!(err.to_string().contains("not the ones the router"), "{err}");
}

#[test]
fn training_refuses_unlabelled_data() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.jsonl");
    std::fs::write(&p, "{\"id\":\"1\",\"prompt\":\"hello\"}\n").unwrap();
    let err = train(
        &options(&p, &tmp.path().join("o"), &tmp.path().join("c"), 1),
        &mut Quiet,
    )
    .unwrap_err();
    assert!(err.to_string().contains("labelled prompts"), "{err}");
}

#[test]
fn router_with_hashed_ngrams_roundtrips() {
    let t = trained();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ngrams");
    let mut opts = options(&t.data, &out, &t.cache, 3);
    let mut spec = llmgw_classifier::pipeline::default_spec(6);
    spec.ngram_dim = 64;
    opts.features = Some(spec);
    train(&opts, &mut Quiet).unwrap();
    let router = Router::load(&out).unwrap();
    assert_eq!(router.manifest().features.ngram_dim, 64);
    let p = router
        .predict_batch(&["Who painted the picture number 3 in the gallery?"])
        .unwrap();
    assert_eq!(p[0].quality.len(), 3);
}
