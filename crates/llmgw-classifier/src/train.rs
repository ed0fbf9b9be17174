//! Training a router: read labelled prompts, embed (through the cache), split, train the
//! heads, calibrate, measure, write the router folder.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use candle_core::{Device, Tensor};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use sha2::{Digest, Sha256};

use crate::calibration::{auc, brier, ece, reliability, sigmoid, Platt};
use crate::data::{read_labelled, LabelledPrompt};
use crate::encoder::Encoder;
use crate::error::{ClassifierError, Result};
use crate::head::{train_heads, HeadConfig, HeadData};
use crate::manifest::{
    DataFile, EncoderRef, FeatureSpec, Manifest, Metrics, ModelMetrics, PairMetrics, TrainingInfo,
    FORMAT_VERSION, WEIGHTS_FILE,
};
use crate::pipeline::{default_spec, featurize_cached, featurize_static};
use crate::static_table::{StaticTable, STATIC_FILE};

/// The difficulty rule written in manifests.
pub const DIFFICULTY_RULE: &str =
    "1 - mean calibrated predicted quality over the router's profiles";

/// Options of a training run.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Labelled-prompt files (JSONL or Parquet).
    pub files: Vec<PathBuf>,
    /// Output router folder.
    pub out: PathBuf,
    /// Encoder folder.
    pub encoder_dir: PathBuf,
    /// Hugging Face id of the encoder (recorded in the manifest).
    pub encoder_id: String,
    /// Seed of the split, initialisation and minibatch order.
    pub seed: u64,
    /// Share of prompts held out for early stopping, calibration and metrics.
    pub validation_fraction: f32,
    /// Head hyper-parameters.
    pub head: HeadConfig,
    /// Feature pipeline (default: [`default_spec`]).
    pub features: Option<FeatureSpec>,
    /// Embedding cache folder (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
}

/// Progress callbacks of a training run.
pub trait TrainProgress {
    /// Prompts read and the models found.
    fn loaded(&mut self, _prompts: usize, _models: &[String]) {}
    /// Embedding progress (prompts done, of total; cached prompts count as done).
    fn embedding(&mut self, _done: usize, _total: usize) {}
    /// One epoch of ensemble member `member` finished with this validation loss.
    fn epoch(&mut self, _member: usize, _epoch: usize, _val_loss: f32) {}
}

/// No progress reporting.
pub struct Quiet;
impl TrainProgress for Quiet {}

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| ClassifierError::io(format!("reading {}", path.display()), e))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// `target` relative to `base` when both resolve, else `target` as given.
fn relative_path(base: &Path, target: &Path) -> String {
    let (Ok(b), Ok(t)) = (base.canonicalize(), target.canonicalize()) else {
        return target.display().to_string();
    };
    let bc: Vec<Component> = b.components().collect();
    let tc: Vec<Component> = t.components().collect();
    let common = bc.iter().zip(&tc).take_while(|(x, y)| x == y).count();
    let mut rel = PathBuf::new();
    for _ in common..bc.len() {
        rel.push("..");
    }
    for c in &tc[common..] {
        rel.push(c.as_os_str());
    }
    rel.display().to_string()
}

/// Labels and mask matrices (rows × models) of prompts.
fn label_matrices(rows: &[&LabelledPrompt], models: &[String]) -> (Vec<f32>, Vec<f32>) {
    let mut y = vec![0f32; rows.len() * models.len()];
    let mut m = vec![0f32; rows.len() * models.len()];
    for (r, p) in rows.iter().enumerate() {
        for (k, name) in models.iter().enumerate() {
            if let Some(&q) = p.quality.get(name) {
                y[r * models.len() + k] = q;
                m[r * models.len() + k] = 1.0;
            }
        }
    }
    (y, m)
}

fn gather(src: &[f32], width: usize, idx: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(idx.len() * width);
    for &i in idx {
        out.extend_from_slice(&src[i * width..(i + 1) * width]);
    }
    out
}

/// Trains a router and writes it to `opts.out`; returns its manifest.
pub fn train(opts: &TrainOptions, progress: &mut dyn TrainProgress) -> Result<Manifest> {
    // 1. data
    let mut files = Vec::new();
    let mut prompts: Vec<LabelledPrompt> = Vec::new();
    for f in &opts.files {
        let rows = read_labelled(f)?;
        files.push(DataFile {
            path: f.display().to_string(),
            sha256: sha256_file(f)?,
            rows: rows.len(),
        });
        prompts.extend(rows);
    }
    prompts.retain(|p| !p.quality.is_empty());
    let models: Vec<String> = prompts
        .iter()
        .flat_map(|p| p.quality.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if prompts.len() < 10 || models.is_empty() {
        return Err(ClassifierError::Training(format!(
            "need at least 10 labelled prompts, found {} with {} models",
            prompts.len(),
            models.len()
        )));
    }
    progress.loaded(prompts.len(), &models);
    let mut digest = Sha256::new();
    for f in &files {
        digest.update(f.sha256.as_bytes());
    }
    let data_digest = hex::encode(digest.finalize());

    // 2. features
    let encoder = Encoder::load_dir(&opts.encoder_dir)?;
    let spec = opts
        .features
        .clone()
        .unwrap_or_else(|| default_spec(encoder.num_layers()));
    if spec.layers.is_empty() || spec.layers.iter().any(|&l| l > encoder.num_layers()) {
        return Err(ClassifierError::Training(format!(
            "feature layers {:?}: the encoder has layers 0..={}",
            spec.layers,
            encoder.num_layers()
        )));
    }
    let texts: Vec<&str> = prompts.iter().map(|p| p.prompt.as_str()).collect();
    let total = texts.len();
    let (feats, table) = if spec.static_embeddings {
        let [layer] = spec.layers[..] else {
            return Err(ClassifierError::Training(format!(
                "static embeddings need exactly one pooled layer, not {:?}",
                spec.layers
            )));
        };
        let table =
            StaticTable::distil(&encoder, layer, &texts, |d, _| progress.embedding(d, total))?;
        (
            featurize_static(&encoder, &table, &spec, &texts)?,
            Some(table),
        )
    } else {
        let feats = featurize_cached(&encoder, &spec, &texts, opts.cache_dir.as_deref(), |d| {
            progress.embedding(d, total)
        })?;
        (feats, None)
    };
    let dd = feats.dense.len() / feats.rows;

    // 3. split
    let mut order: Vec<usize> = (0..prompts.len()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(opts.seed));
    let n_val = ((prompts.len() as f32 * opts.validation_fraction).ceil() as usize)
        .clamp(2, prompts.len() - 2);
    let (val_idx, train_idx) = order.split_at(n_val);
    let mut train_idx = train_idx.to_vec();
    let mut val_idx = val_idx.to_vec();
    train_idx.sort_unstable();
    val_idx.sort_unstable();

    // 4. standardize dense features on the training split
    let mut mean = vec![0f64; dd];
    let mut sq = vec![0f64; dd];
    for &i in &train_idx {
        for (j, &x) in feats.dense[i * dd..(i + 1) * dd].iter().enumerate() {
            mean[j] += f64::from(x);
            sq[j] += f64::from(x) * f64::from(x);
        }
    }
    let nt = train_idx.len() as f64;
    let mean: Vec<f32> = mean.iter().map(|s| (s / nt) as f32).collect();
    let std: Vec<f32> = sq
        .iter()
        .zip(&mean)
        .map(|(s, &m)| ((s / nt - f64::from(m) * f64::from(m)).max(0.0).sqrt() as f32).max(1e-3))
        .collect();
    let standardized: Vec<f32> = feats
        .dense
        .iter()
        .enumerate()
        .map(|(i, x)| (x - mean[i % dd]) / std[i % dd])
        .collect();

    // 5. heads
    let all_rows: Vec<&LabelledPrompt> = prompts.iter().collect();
    let (labels, mask) = label_matrices(&all_rows, &models);
    let nm = models.len();
    let nd = spec.ngram_dim;
    let part = |idx: &[usize]| {
        (
            gather(&standardized, dd, idx),
            gather(&feats.ngrams, nd, idx),
            gather(&labels, nm, idx),
            gather(&mask, nm, idx),
        )
    };
    let (td, tn, ty, tm) = part(&train_idx);
    let (vd, vn, vy, vm) = part(&val_idx);
    let train_data = HeadData {
        dense: &td,
        ngrams: &tn,
        labels: &ty,
        mask: &tm,
        rows: train_idx.len(),
        dense_dim: dd,
        ngram_dim: nd,
        models: nm,
    };
    let val_data = HeadData {
        dense: &vd,
        ngrams: &vn,
        labels: &vy,
        mask: &vm,
        rows: val_idx.len(),
        dense_dim: dd,
        ngram_dim: nd,
        models: nm,
    };
    let heads = train_heads(
        &opts.head,
        &train_data,
        &val_data,
        opts.seed,
        &mut |m, e, l| progress.epoch(m, e, l),
    )?;

    // 6. calibration and metrics on the validation split
    let vn_t = if nd > 0 {
        Some(Tensor::from_slice(&vn, (val_idx.len(), nd), &Device::Cpu)?)
    } else {
        None
    };
    let vlogits: Vec<f32> = heads
        .logits(
            &Tensor::from_slice(&vd, (val_idx.len(), dd), &Device::Cpu)?,
            vn_t.as_ref(),
        )?
        .flatten_all()?
        .to_vec1()?;
    let (calibration, metrics_models, cal_probs) =
        calibrate(&models, &vlogits, &vy, &vm, val_idx.len());
    let val_prompts: Vec<&LabelledPrompt> = val_idx.iter().map(|&i| &prompts[i]).collect();
    let pairs = pair_metrics(&models, &val_prompts, &cal_probs);

    // 7. write
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| ClassifierError::io(format!("creating {}", opts.out.display()), e))?;
    let mut tensors: HashMap<String, Tensor> = heads.tensors().into_iter().collect();
    tensors.insert(
        "dense_mean".into(),
        Tensor::from_slice(&mean, dd, &Device::Cpu)?,
    );
    tensors.insert(
        "dense_std".into(),
        Tensor::from_slice(&std, dd, &Device::Cpu)?,
    );
    let wpath = opts.out.join(WEIGHTS_FILE);
    candle_core::safetensors::save(&tensors, &wpath)?;
    let tpath = opts.out.join(STATIC_FILE);
    match &table {
        Some(t) => t.save(&tpath)?,
        None if tpath.exists() => std::fs::remove_file(&tpath)
            .map_err(|e| ClassifierError::io(format!("removing {}", tpath.display()), e))?,
        None => {}
    }
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        encoder: EncoderRef {
            id: opts.encoder_id.clone(),
            path: relative_path(&opts.out, &opts.encoder_dir),
            digest: encoder.digest().to_string(),
        },
        features: spec,
        models: models.clone(),
        ensemble: opts.head.ensemble.max(1),
        calibration,
        difficulty: DIFFICULTY_RULE.to_string(),
        training: TrainingInfo {
            files,
            digest: data_digest,
            seed: opts.seed,
            train_rows: train_idx.len(),
            validation_rows: val_idx.len(),
            head: opts.head.clone(),
        },
        metrics: Metrics {
            models: metrics_models,
            pairs,
        },
    };
    manifest.write(&opts.out)?;
    Ok(manifest)
}

/// Per-model Platt calibration fitted on all validation prompts; the reported metrics are
/// cross-fitted (calibrate on one half, measure on the other, and the other way round) so
/// they are not measured on the data the calibration saw. Returns calibration, metrics and
/// the cross-fitted calibrated probabilities (rows × models; NaN where unlabelled).
fn calibrate(
    models: &[String],
    logits: &[f32],
    labels: &[f32],
    mask: &[f32],
    rows: usize,
) -> (
    BTreeMap<String, Platt>,
    BTreeMap<String, ModelMetrics>,
    Vec<f32>,
) {
    let nm = models.len();
    let mut cal = BTreeMap::new();
    let mut metrics = BTreeMap::new();
    let mut probs = vec![f32::NAN; rows * nm];
    for (k, name) in models.iter().enumerate() {
        let idx: Vec<usize> = (0..rows).filter(|&r| mask[r * nm + k] > 0.0).collect();
        if idx.is_empty() {
            cal.insert(name.clone(), Platt::default());
            continue;
        }
        let z: Vec<f32> = idx.iter().map(|&r| logits[r * nm + k]).collect();
        let y: Vec<f32> = idx.iter().map(|&r| labels[r * nm + k]).collect();
        cal.insert(name.clone(), Platt::fit(&z, &y));
        // cross-fitting over alternating halves
        let mut p = vec![0f32; idx.len()];
        for half in 0..2 {
            let fit_on: Vec<usize> = (0..idx.len()).filter(|i| i % 2 != half).collect();
            let c = Platt::fit(
                &fit_on.iter().map(|&i| z[i]).collect::<Vec<_>>(),
                &fit_on.iter().map(|&i| y[i]).collect::<Vec<_>>(),
            );
            for i in (0..idx.len()).filter(|i| i % 2 == half) {
                p[i] = c.apply(z[i]);
            }
        }
        for (i, &r) in idx.iter().enumerate() {
            probs[r * nm + k] = p[i];
        }
        let raw: Vec<f32> = z.iter().map(|&x| sigmoid(x)).collect();
        let table = reliability(&p, &y);
        metrics.insert(
            name.clone(),
            ModelMetrics {
                n: idx.len(),
                mean_quality: y.iter().sum::<f32>() / y.len() as f32,
                auc: auc(&p, &y),
                brier: brier(&p, &y),
                brier_uncalibrated: brier(&raw, &y),
                ece: ece(&table),
                reliability: table,
            },
        );
    }
    (cal, metrics, probs)
}

/// RouteLLM metrics on the validation prompts for strong/weak pairs: within each group of
/// prompts labelled for the same set of models, the model with the highest mean quality
/// against each other model of the group.
fn pair_metrics(models: &[String], val: &[&LabelledPrompt], probs: &[f32]) -> Vec<PairMetrics> {
    let nm = models.len();
    let mut groups: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
    for (r, p) in val.iter().enumerate() {
        let set: Vec<usize> = (0..nm)
            .filter(|&k| p.quality.contains_key(&models[k]))
            .collect();
        if set.len() >= 2 {
            groups.entry(set).or_default().push(r);
        }
    }
    let mut out = Vec::new();
    for (set, rows) in groups {
        if rows.len() < 20 {
            continue;
        }
        let mean_q = |k: usize| {
            rows.iter()
                .map(|&r| val[r].quality[&models[k]])
                .sum::<f32>()
        };
        let Some(&strong) = set
            .iter()
            .max_by(|&&a, &&b| mean_q(a).total_cmp(&mean_q(b)).then(b.cmp(&a)))
        else {
            continue;
        };
        for &weak in set.iter().filter(|&&k| k != strong) {
            let s: Vec<f64> = rows
                .iter()
                .map(|&r| f64::from(val[r].quality[&models[strong]]))
                .collect();
            let w: Vec<f64> = rows
                .iter()
                .map(|&r| f64::from(val[r].quality[&models[weak]]))
                .collect();
            let score: Vec<f64> = rows
                .iter()
                .map(|&r| f64::from(probs[r * nm + strong] - probs[r * nm + weak]))
                .collect();
            let len: Vec<f64> = rows
                .iter()
                .map(|&r| val[r].prompt.chars().count() as f64)
                .collect();
            let Ok(m) = llmgw_eval::evaluate_two_model(&score, &s, &w) else {
                continue;
            };
            let length_apgr = llmgw_eval::evaluate_two_model(&len, &s, &w)
                .ok()
                .and_then(|m| m.apgr);
            out.push(PairMetrics {
                strong: models[strong].clone(),
                weak: models[weak].clone(),
                n: rows.len(),
                apgr: m.apgr,
                cpt50: m.cpt50,
                cpt80: m.cpt80,
                length_apgr,
            });
        }
    }
    out
}
