//! A trained router: encoder + quality heads + calibration, loaded from a `llmgw train`
//! output folder.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use crate::encoder::{check_encoder_dir, Encoder};
use crate::error::{ClassifierError, Result};
use crate::head::QualityHeads;
use crate::hub;
use crate::manifest::{EncoderRef, Manifest, WEIGHTS_FILE};
use crate::pipeline::{featurize_static_with_embeddings, featurize_with_embeddings};
use crate::static_table::{StaticTable, STATIC_FILE};

/// Predicted quality of each model profile for one prompt, and its difficulty.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// `1 −` the mean predicted quality over the router's profiles, in [0, 1].
    pub difficulty: f32,
    /// Calibrated probability, per profile, that the model answers well.
    pub quality: BTreeMap<String, f32>,
}

/// A loaded router.
pub struct Router {
    encoder: Encoder,
    table: Option<StaticTable>,
    heads: QualityHeads,
    manifest: Manifest,
    mean: Vec<f32>,
    std: Vec<f32>,
    dir: PathBuf,
}

/// Where the encoder of a router is looked for, in order: the manifest's path (relative to
/// the router folder), `models/encoder/<name>` under the current folder, and the folder
/// next to the router folder (`<router>/../encoder/<name>`).
pub fn encoder_candidates(router_dir: &Path, enc: &EncoderRef) -> Vec<PathBuf> {
    let name = enc.id.rsplit('/').next().unwrap_or(&enc.id);
    let manifest_path = Path::new(&enc.path);
    let mut out = vec![if manifest_path.is_absolute() {
        manifest_path.to_path_buf()
    } else {
        router_dir.join(manifest_path)
    }];
    out.push(hub::local_folder_for(&enc.id));
    out.push(router_dir.join("..").join("encoder").join(name));
    out
}

/// Finds the encoder folder of a router (see [`encoder_candidates`]); when none holds the
/// files, fetches the encoder by its Hugging Face id (cache first; no network when
/// `HF_HUB_OFFLINE=1`).
pub fn find_encoder(router_dir: &Path, enc: &EncoderRef) -> Result<PathBuf> {
    let candidates = encoder_candidates(router_dir, enc);
    if let Some(found) = candidates.iter().find(|c| check_encoder_dir(c).is_ok()) {
        return Ok(found.clone());
    }
    if hub::is_repo_id(&enc.id) {
        return hub::resolve(&enc.id, None, hub::offline_from_env());
    }
    // report the first candidate's precise problem
    check_encoder_dir(&candidates[0])?;
    Ok(candidates[0].clone())
}

impl Router {
    /// Loads a router folder written by `llmgw train` (`manifest.json`,
    /// `weights.safetensors`) and its encoder.
    pub fn load(dir: &Path) -> Result<Router> {
        if !dir.is_dir() {
            return Err(ClassifierError::MissingDir {
                what: "router",
                path: dir.to_path_buf(),
            });
        }
        let manifest = Manifest::read(dir)?;
        let weights_path = dir.join(WEIGHTS_FILE);
        if !weights_path.is_file() {
            return Err(ClassifierError::MissingFile {
                what: "router",
                path: weights_path,
            });
        }
        let enc_dir = find_encoder(dir, &manifest.encoder)?;
        let encoder = Encoder::load_dir(&enc_dir)?;
        Self::from_parts(dir, manifest, encoder)
    }

    /// Builds a router from a manifest and an already loaded encoder (the encoder must be
    /// the one the router was trained with).
    pub fn from_parts(dir: &Path, manifest: Manifest, encoder: Encoder) -> Result<Router> {
        if encoder.digest() != manifest.encoder.digest {
            return Err(ClassifierError::invalid(
                format!("encoder {}", encoder.dir().display()),
                format!(
                    "its files (digest {}) are not the ones the router in {} was trained with (digest {})",
                    &encoder.digest()[..12.min(encoder.digest().len())],
                    dir.display(),
                    &manifest.encoder.digest[..12.min(manifest.encoder.digest.len())]
                ),
            ));
        }
        let weights_path = dir.join(WEIGHTS_FILE);
        let tensors: HashMap<String, Tensor> =
            candle_core::safetensors::load(&weights_path, &Device::Cpu).map_err(|e| {
                ClassifierError::invalid(weights_path.display().to_string(), e.to_string())
            })?;
        let get = |name: &str| -> Result<Tensor> {
            tensors.get(name).cloned().ok_or_else(|| {
                ClassifierError::invalid(
                    weights_path.display().to_string(),
                    format!("no tensor `{name}`"),
                )
            })
        };
        let heads =
            QualityHeads::from_tensors(get, manifest.ensemble, manifest.features.ngram_dim)?;
        let mean: Vec<f32> = get("dense_mean")?.to_vec1()?;
        let std: Vec<f32> = get("dense_std")?.to_vec1()?;
        let dd = crate::pipeline::dense_dim(&manifest.features, encoder.hidden_size());
        if heads.models() != manifest.models.len()
            || heads.dense_dim() != dd
            || heads.ngram_dim() != manifest.features.ngram_dim
            || mean.len() != dd
            || std.len() != dd
        {
            return Err(ClassifierError::invalid(
                weights_path.display().to_string(),
                "tensor shapes do not match manifest.json",
            ));
        }
        let table = if manifest.features.static_embeddings {
            if manifest.features.layers.len() != 1 {
                return Err(ClassifierError::invalid(
                    dir.join(crate::manifest::MANIFEST_FILE)
                        .display()
                        .to_string(),
                    "static embeddings need exactly one pooled layer",
                ));
            }
            Some(StaticTable::load(
                &dir.join(STATIC_FILE),
                encoder.hidden_size(),
            )?)
        } else {
            None
        };
        Ok(Router {
            encoder,
            table,
            heads,
            manifest,
            mean,
            std,
            dir: dir.to_path_buf(),
        })
    }

    /// The model profiles this router predicts, in manifest order.
    pub fn models(&self) -> Vec<String> {
        self.manifest.models.clone()
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The router folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The encoder.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// The static token table, when the router pools one instead of running the encoder.
    pub fn static_table(&self) -> Option<&StaticTable> {
        self.table.as_ref()
    }

    /// Predictions for a batch of prompts.
    pub fn predict_batch(&self, prompts: &[&str]) -> Result<Vec<Prediction>> {
        Ok(self.run(prompts, false)?.0)
    }

    /// Predictions plus each prompt's sentence embedding (last encoder layer, mean-pooled,
    /// L2-normalised), computed in the same pass so callers such as a semantic cache need
    /// not embed twice.
    pub fn predict_batch_with_embeddings(
        &self,
        prompts: &[&str],
    ) -> Result<(Vec<Prediction>, Vec<Vec<f32>>)> {
        self.run(prompts, true)
    }

    fn run(&self, prompts: &[&str], sentence: bool) -> Result<(Vec<Prediction>, Vec<Vec<f32>>)> {
        if prompts.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let spec = &self.manifest.features;
        let (feats, sentence) = match &self.table {
            Some(table) => {
                featurize_static_with_embeddings(&self.encoder, table, spec, prompts, sentence)?
            }
            None => featurize_with_embeddings(&self.encoder, spec, prompts, sentence)?,
        };
        let logits = self.logits(&feats.dense, &feats.ngrams, feats.rows)?;
        let models = &self.manifest.models;
        let preds = logits
            .chunks(models.len())
            .map(|row| self.prediction(row))
            .collect();
        Ok((preds, sentence))
    }

    /// Predictions from precomputed features (see [`crate::pipeline`]), e.g. features
    /// built from the embedding cache.
    pub fn predict_features(&self, feats: &crate::pipeline::Features) -> Result<Vec<Prediction>> {
        let logits = self.logits(&feats.dense, &feats.ngrams, feats.rows)?;
        Ok(logits
            .chunks(self.manifest.models.len())
            .map(|row| self.prediction(row))
            .collect())
    }

    /// Raw (uncalibrated) ensemble logits, rows × models, of unstandardized features.
    pub(crate) fn logits(&self, dense: &[f32], ngrams: &[f32], rows: usize) -> Result<Vec<f32>> {
        let dd = self.mean.len();
        let std_dense: Vec<f32> = dense
            .iter()
            .enumerate()
            .map(|(i, x)| (x - self.mean[i % dd]) / self.std[i % dd])
            .collect();
        let d = Tensor::from_vec(std_dense, (rows, dd), &Device::Cpu)?;
        let nd = self.manifest.features.ngram_dim;
        let n = if nd > 0 {
            Some(Tensor::from_slice(ngrams, (rows, nd), &Device::Cpu)?)
        } else {
            None
        };
        Ok(self
            .heads
            .logits(&d, n.as_ref())?
            .flatten_all()?
            .to_vec1()?)
    }

    /// Calibrated prediction from one row of raw logits.
    pub(crate) fn prediction(&self, row: &[f32]) -> Prediction {
        let quality: BTreeMap<String, f32> = self
            .manifest
            .models
            .iter()
            .zip(row)
            .map(|(m, &z)| {
                let cal = self
                    .manifest
                    .calibration
                    .get(m)
                    .copied()
                    .unwrap_or_default();
                (m.clone(), cal.apply(z))
            })
            .collect();
        Prediction {
            difficulty: difficulty(&quality),
            quality,
        }
    }
}

/// Difficulty of a prompt: `1 −` the mean predicted quality over the trained profiles
/// (0 when there are none).
pub fn difficulty(quality: &BTreeMap<String, f32>) -> f32 {
    if quality.is_empty() {
        return 0.0;
    }
    (1.0 - quality.values().sum::<f32>() / quality.len() as f32).clamp(0.0, 1.0)
}
