//! Compares head and feature settings on a held-out file, using the embedding cache.
//!
//! `cargo run -p llmgw-classifier --example tune -- ENCODER_DIR CACHE_DIR EVAL.jsonl TRAIN.jsonl...`
//! Settings come from the environment: `TUNE_SEEDS` (comma list), `TUNE_LAYERS`,
//! `TUNE_HIDDEN`, `TUNE_ENSEMBLE`, `TUNE_DROPOUT`, `TUNE_WD`, `TUNE_NGRAM_WD`, `TUNE_LR`,
//! `TUNE_NGRAM_DIM`, `TUNE_STATIC` (1: static token table), `TUNE_STRONG`, `TUNE_WEAK`. Prints, per seed, RouteLLM APGR of the
//! strong/weak pair on the eval file and the mean AUC over the models labelled there.

use std::path::{Path, PathBuf};

use llmgw_classifier::calibration::{auc, brier};
use llmgw_classifier::head::HeadConfig;
use llmgw_classifier::manifest::Manifest;
use llmgw_classifier::pipeline::{default_spec, featurize_cached};
use llmgw_classifier::train::{train, Quiet, TrainOptions};
use llmgw_classifier::{Encoder, Router};

fn env<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [enc_dir, cache_dir, eval, train_files @ ..] = args.as_slice() else {
        return Err("usage: tune ENCODER_DIR CACHE_DIR EVAL.jsonl TRAIN.jsonl...".into());
    };
    let encoder = Encoder::load_dir(Path::new(enc_dir))?;
    let mut spec = default_spec(encoder.num_layers());
    if let Ok(l) = std::env::var("TUNE_LAYERS") {
        spec.layers = l.split(',').filter_map(|x| x.parse().ok()).collect();
    }
    spec.ngram_dim = env("TUNE_NGRAM_DIM", spec.ngram_dim);
    spec.static_embeddings = env("TUNE_STATIC", 0u8) == 1;
    let d = HeadConfig::default();
    let head = HeadConfig {
        hidden: env("TUNE_HIDDEN", d.hidden),
        dropout: env("TUNE_DROPOUT", d.dropout),
        lr: env("TUNE_LR", d.lr),
        weight_decay: env("TUNE_WD", d.weight_decay),
        ngram_weight_decay: env("TUNE_NGRAM_WD", d.ngram_weight_decay),
        ensemble: env("TUNE_ENSEMBLE", d.ensemble),
        ..d
    };
    let strong = env("TUNE_STRONG", "gpt-4-1106-preview".to_string());
    let weak = env("TUNE_WEAK", "mixtral-8x7b-instruct-v0.1".to_string());
    let eval_rows = llmgw_classifier::data::read_labelled(Path::new(eval))?;
    let texts: Vec<&str> = eval_rows.iter().map(|p| p.prompt.as_str()).collect();
    // static tables are distilled per training run, so their eval features come later
    let feats = if spec.static_embeddings {
        None
    } else {
        Some(featurize_cached(
            &encoder,
            &spec,
            &texts,
            Some(Path::new(cache_dir)),
            |_| {},
        )?)
    };
    let seeds: Vec<u64> = env("TUNE_SEEDS", "1,2,3".to_string())
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    let mut apgrs = Vec::new();
    for seed in seeds {
        let out = std::env::temp_dir().join(format!("llmgw-tune-{}-{seed}", std::process::id()));
        let opts = TrainOptions {
            files: train_files.iter().map(PathBuf::from).collect(),
            out: out.clone(),
            encoder_dir: PathBuf::from(enc_dir),
            encoder_id: "tune".into(),
            seed,
            validation_fraction: 0.1,
            head: head.clone(),
            features: Some(spec.clone()),
            cache_dir: Some(PathBuf::from(cache_dir)),
        };
        let t0 = std::time::Instant::now();
        train(&opts, &mut Quiet)?;
        let router = Router::from_parts(
            &out,
            Manifest::read(&out)?,
            Encoder::load_dir(Path::new(enc_dir))?,
        )?;
        let preds = match &feats {
            Some(f) => router.predict_features(f)?,
            None => router.predict_batch(&texts)?,
        };
        let mut line = format!("seed {seed} ({:.0}s):", t0.elapsed().as_secs_f64());
        let (mut s, mut w, mut sc) = (Vec::new(), Vec::new(), Vec::new());
        for (p, r) in preds.iter().zip(&eval_rows) {
            if let (Some(&qs), Some(&qw), Some(&ps), Some(&pw)) = (
                r.quality.get(&strong),
                r.quality.get(&weak),
                p.quality.get(&strong),
                p.quality.get(&weak),
            ) {
                s.push(f64::from(qs));
                w.push(f64::from(qw));
                sc.push(f64::from(ps - pw));
            }
        }
        if !sc.is_empty() {
            let m = llmgw_eval::evaluate_two_model(&sc, &s, &w)?;
            line += &format!(
                " APGR {:.3} CPT50 {:.1} CPT80 {:.1}",
                m.apgr.unwrap_or(f64::NAN),
                m.cpt50.unwrap_or(f64::NAN),
                m.cpt80.unwrap_or(f64::NAN)
            );
            apgrs.push(m.apgr.unwrap_or(f64::NAN));
        }
        let (mut aucs, mut briers) = (Vec::new(), Vec::new());
        for model in router.models() {
            let (mut y, mut p) = (Vec::new(), Vec::new());
            for (pr, r) in preds.iter().zip(&eval_rows) {
                if let (Some(&q), Some(&x)) = (r.quality.get(&model), pr.quality.get(&model)) {
                    y.push(q);
                    p.push(x);
                }
            }
            if let Some(a) = auc(&p, &y) {
                aucs.push(a);
                briers.push(brier(&p, &y));
            }
        }
        if !aucs.is_empty() {
            line += &format!(
                " meanAUC {:.3} meanBrier {:.4} ({} models)",
                aucs.iter().sum::<f32>() / aucs.len() as f32,
                briers.iter().sum::<f32>() / briers.len() as f32,
                aucs.len()
            );
        }
        println!("{line}");
        let _ = std::fs::remove_dir_all(out);
    }
    if !apgrs.is_empty() {
        println!(
            "mean APGR {:.3}",
            apgrs.iter().sum::<f64>() / apgrs.len() as f64
        );
    }
    Ok(())
}
