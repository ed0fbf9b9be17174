//! `manifest.json` of a trained router.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::calibration::{Platt, ReliabilityBin};
use crate::error::{ClassifierError, Result};
use crate::head::HeadConfig;

/// Current manifest format.
pub const FORMAT_VERSION: u32 = 1;
/// Name of the manifest file in a router folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Name of the weights file in a router folder.
pub const WEIGHTS_FILE: &str = "weights.safetensors";

/// Which encoder a router was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderRef {
    /// Hugging Face repo id (used to fetch it when no local folder is found).
    pub id: String,
    /// Local folder, relative to the router folder (or absolute).
    pub path: String,
    /// SHA-256 over config.json, tokenizer.json and model.safetensors.
    pub digest: String,
}

/// How a prompt becomes the heads' input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// Encoder layers mean-pooled (0 = token embeddings).
    pub layers: Vec<usize>,
    /// The pooled layer comes from a static token table distilled from that layer
    /// ([`crate::static_table`], file `static-embeddings.safetensors` in the router folder)
    /// instead of running the encoder; needs exactly one layer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub static_embeddings: bool,
    /// Buckets of the hashed n-gram features (0: the router uses none).
    pub ngram_dim: usize,
    /// Names of the structure features, in order.
    pub structure: Vec<String>,
    /// Most encoder tokens (`[CLS]`/`[SEP]` included).
    pub max_tokens: usize,
    /// Tokens kept from the start of a long prompt.
    pub head_tokens: usize,
    /// Tokens kept from its end.
    pub tail_tokens: usize,
}

/// One training file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFile {
    /// File name as given.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Prompts read.
    pub rows: usize,
}

/// What the router was trained on, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// The files read.
    pub files: Vec<DataFile>,
    /// SHA-256 over the file digests, in order.
    pub digest: String,
    /// Seed of the split, initialisation and minibatch order.
    pub seed: u64,
    /// Prompts used for training.
    pub train_rows: usize,
    /// Prompts held out for early stopping, calibration and the metrics below.
    pub validation_rows: usize,
    /// Head hyper-parameters.
    pub head: HeadConfig,
}

/// Validation metrics of one model profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetrics {
    /// Validation prompts labelled for this model.
    pub n: usize,
    /// Mean observed quality.
    pub mean_quality: f32,
    /// ROC AUC of the predicted quality (labels ≥ 0.5 positive).
    pub auc: Option<f32>,
    /// Brier score after calibration.
    pub brier: f32,
    /// Brier score before calibration.
    pub brier_uncalibrated: f32,
    /// Expected calibration error (10 bins) after calibration.
    pub ece: f32,
    /// 10-bin reliability table after calibration.
    pub reliability: Vec<ReliabilityBin>,
}

/// RouteLLM metrics for a strong/weak pair labelled on the same validation prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairMetrics {
    /// Strong model.
    pub strong: String,
    /// Weak model.
    pub weak: String,
    /// Prompts.
    pub n: usize,
    /// APGR of the router (score = predicted quality gain strong − weak).
    pub apgr: Option<f64>,
    /// CPT(50%) in percent.
    pub cpt50: Option<f64>,
    /// CPT(80%) in percent.
    pub cpt80: Option<f64>,
    /// APGR of prompt length as the score (baseline).
    pub length_apgr: Option<f64>,
}

/// Validation metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Per model profile.
    pub models: BTreeMap<String, ModelMetrics>,
    /// Per strong/weak pair.
    pub pairs: Vec<PairMetrics>,
}

/// The manifest of a router folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The encoder.
    pub encoder: EncoderRef,
    /// Feature pipeline.
    pub features: FeatureSpec,
    /// Model profiles, in the order of the heads' outputs.
    pub models: Vec<String>,
    /// Ensemble members in the weights file.
    pub ensemble: usize,
    /// Per-model Platt calibration of the ensemble logit.
    pub calibration: BTreeMap<String, Platt>,
    /// How difficulty is computed from the predictions.
    pub difficulty: String,
    /// Training data and settings.
    pub training: TrainingInfo,
    /// Validation metrics.
    pub metrics: Metrics,
}

impl Manifest {
    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        if !path.is_file() {
            return Err(ClassifierError::MissingFile {
                what: "router",
                path,
            });
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ClassifierError::io(format!("reading {}", path.display()), e))?;
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| ClassifierError::invalid(path.display().to_string(), e.to_string()))?;
        if m.format_version != FORMAT_VERSION {
            return Err(ClassifierError::invalid(
                path.display().to_string(),
                format!(
                    "format_version {} (this build reads {FORMAT_VERSION})",
                    m.format_version
                ),
            ));
        }
        Ok(m)
    }

    /// Writes `dir/manifest.json` (pretty-printed).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| ClassifierError::invalid("manifest", e.to_string()))?;
        std::fs::write(&path, text + "\n")
            .map_err(|e| ClassifierError::io(format!("writing {}", path.display()), e))
    }
}
