//! The sentence encoder: tokenizer + BERT, mean-pooled over tokens.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use crate::bert::Bert;
use crate::error::{ClassifierError, Result};
use crate::text::truncate_head_tail;

/// The files an encoder folder must hold.
pub const ENCODER_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// Most tokens (summed over a batch, after padding) embedded in one forward pass.
const TOKENS_PER_PASS: usize = 4096;
/// Most prompts embedded in one forward pass.
const PROMPTS_PER_PASS: usize = 32;

/// A tokenized prompt ready for the encoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokenized {
    /// Token ids fed to the encoder: `[CLS]`, the truncated prompt, `[SEP]`.
    pub ids: Vec<u32>,
    /// Number of tokens of the whole prompt before truncation (without special tokens).
    pub full_len: usize,
}

/// A BERT-family sentence encoder loaded from a folder.
pub struct Encoder {
    tokenizer: Tokenizer,
    bert: Bert,
    device: Device,
    hidden: usize,
    cls: u32,
    sep: u32,
    pad: u32,
    digest: String,
    dir: PathBuf,
}

/// The device the encoder runs on: CUDA or Metal when built with that feature and a device
/// is present, else the CPU.
pub fn default_device() -> Device {
    #[cfg(feature = "cuda")]
    if let Ok(d) = Device::cuda_if_available(0) {
        return d;
    }
    #[cfg(feature = "metal")]
    if let Ok(d) = Device::metal_if_available(0) {
        return d;
    }
    Device::Cpu
}

/// SHA-256 over the encoder files (in [`ENCODER_FILES`] order), hex: identifies the exact
/// weights and tokenizer a router was trained with.
pub fn encoder_digest(dir: &Path) -> Result<String> {
    let mut h = Sha256::new();
    for name in ENCODER_FILES {
        let path = dir.join(name);
        let bytes = std::fs::read(&path)
            .map_err(|e| ClassifierError::io(format!("reading {}", path.display()), e))?;
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(hex::encode(h.finalize()))
}

/// Checks that `dir` exists and holds every file of [`ENCODER_FILES`].
pub fn check_encoder_dir(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(ClassifierError::MissingDir {
            what: "encoder",
            path: dir.to_path_buf(),
        });
    }
    for name in ENCODER_FILES {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(ClassifierError::MissingFile {
                what: "encoder",
                path,
            });
        }
    }
    Ok(())
}

impl Encoder {
    /// Loads an encoder from a folder holding `config.json`, `tokenizer.json` and
    /// `model.safetensors` (weights in any float type; converted to f32).
    pub fn load_dir(dir: &Path) -> Result<Self> {
        check_encoder_dir(dir)?;
        let read = |name: &str| -> Result<Vec<u8>> {
            let path = dir.join(name);
            std::fs::read(&path)
                .map_err(|e| ClassifierError::io(format!("reading {}", path.display()), e))
        };
        let config_bytes = read("config.json")?;
        let config: Config = serde_json::from_slice(&config_bytes).map_err(|e| {
            ClassifierError::invalid(
                format!("{}", dir.join("config.json").display()),
                e.to_string(),
            )
        })?;
        let tokenizer_bytes = read("tokenizer.json")?;
        let mut tokenizer = Tokenizer::from_bytes(&tokenizer_bytes).map_err(|e| {
            ClassifierError::invalid(
                format!("{}", dir.join("tokenizer.json").display()),
                e.to_string(),
            )
        })?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| ClassifierError::Tokenizer(e.to_string()))?;
        let token = |t: &str| {
            tokenizer
                .token_to_id(t)
                .ok_or_else(|| ClassifierError::invalid("tokenizer.json", format!("no {t} token")))
        };
        let (cls, sep) = (token("[CLS]")?, token("[SEP]")?);
        let pad = config.pad_token_id as u32;
        let weights = read("model.safetensors")?;
        let mut h = Sha256::new();
        for bytes in [&config_bytes, &tokenizer_bytes, &weights] {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        let digest = hex::encode(h.finalize());
        let device = default_device();
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)?;
        let bert = Bert::load(vb, &config)?;
        Ok(Self {
            tokenizer,
            bert,
            device,
            hidden: config.hidden_size,
            cls,
            sep,
            pad,
            digest,
            dir: dir.to_path_buf(),
        })
    }

    /// SHA-256 of the encoder files (see [`encoder_digest`]).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The folder the encoder was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Width of one layer's pooled embedding.
    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// Number of transformer layers.
    pub fn num_layers(&self) -> usize {
        self.bert.num_layers()
    }

    /// Number of token ids of the tokenizer (added tokens included).
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// The `[CLS]` and `[SEP]` ids that frame every tokenized prompt.
    pub fn special_ids(&self) -> (u32, u32) {
        (self.cls, self.sep)
    }

    /// Runs tokenized prompts to `layer` (0 = token embeddings) and calls `visit` with
    /// each prompt's ids and its hidden states (ids × hidden, row-major), in an unspecified
    /// order. Used to distil per-token static embeddings.
    pub fn visit_states(
        &self,
        items: &[&Tokenized],
        layer: usize,
        mut visit: impl FnMut(&[u32], &[f32]),
    ) -> Result<()> {
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| items[i].ids.len());
        for (start, end) in pass_bounds(items, &order) {
            let batch: Vec<&Tokenized> = order[start..end].iter().map(|&i| items[i]).collect();
            let (ids, mask) = self.batch_tensors(&batch)?;
            let states = self
                .bert
                .states(&ids, &mask, layer)?
                .to_device(&Device::Cpu)?
                .to_vec3::<f32>()?;
            for (t, rows) in batch.iter().zip(states) {
                let flat: Vec<f32> = rows.into_iter().take(t.ids.len()).flatten().collect();
                visit(&t.ids, &flat);
            }
        }
        Ok(())
    }

    /// Tokenizes a prompt and applies the truncation rule of [`crate::text`].
    pub fn tokenize(&self, text: &str) -> Result<Tokenized> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ClassifierError::Tokenizer(e.to_string()))?;
        let full = enc.get_ids();
        let mut ids = Vec::with_capacity(full.len().min(crate::text::MAX_TOKENS));
        ids.push(self.cls);
        ids.extend(truncate_head_tail(full));
        ids.push(self.sep);
        Ok(Tokenized {
            ids,
            full_len: full.len(),
        })
    }

    /// Mean-pooled embeddings of tokenized prompts for the given layers (0 = token
    /// embeddings, `n` = transformer layer `n`), concatenated per prompt. Prompts are
    /// grouped by length and padded per pass only.
    pub fn embed_tokenized(&self, items: &[&Tokenized], layers: &[usize]) -> Result<Vec<Vec<f32>>> {
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| items[i].ids.len());
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); items.len()];
        for (start, end) in pass_bounds(items, &order) {
            let batch: Vec<&Tokenized> = order[start..end].iter().map(|&i| items[i]).collect();
            let pooled = self.forward(&batch, layers)?;
            for (row, &i) in pooled.into_iter().zip(&order[start..end]) {
                out[i] = row;
            }
        }
        Ok(out)
    }

    /// Tokenizes and embeds prompts (see [`Encoder::embed_tokenized`]).
    pub fn embed(&self, texts: &[&str], layers: &[usize]) -> Result<Vec<Vec<f32>>> {
        let toks = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Tokenized> = toks.iter().collect();
        self.embed_tokenized(&refs, layers)
    }

    fn forward(&self, batch: &[&Tokenized], layers: &[usize]) -> Result<Vec<Vec<f32>>> {
        let (ids, mask) = self.batch_tensors(batch)?;
        let pooled = self.bert.pooled(&ids, &mask, layers)?;
        Ok(pooled.to_device(&Device::Cpu)?.to_vec2::<f32>()?)
    }

    /// Padded (batch, width) id and mask tensors of a batch.
    fn batch_tensors(&self, batch: &[&Tokenized]) -> Result<(Tensor, Tensor)> {
        let width = batch.iter().map(|t| t.ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(batch.len() * width);
        let mut mask = Vec::with_capacity(batch.len() * width);
        for t in batch {
            ids.extend_from_slice(&t.ids);
            mask.extend(std::iter::repeat_n(1u32, t.ids.len()));
            ids.extend(std::iter::repeat_n(self.pad, width - t.ids.len()));
            mask.extend(std::iter::repeat_n(0u32, width - t.ids.len()));
        }
        let ids = Tensor::from_vec(ids, (batch.len(), width), &self.device)?;
        let mask = Tensor::from_vec(mask, (batch.len(), width), &self.device)?;
        Ok((ids, mask))
    }
}

/// Splits prompts sorted by length (`order`) into forward passes of at most
/// [`PROMPTS_PER_PASS`] prompts and [`TOKENS_PER_PASS`] padded tokens: `(start, end)` ranges
/// of `order`.
fn pass_bounds(items: &[&Tokenized], order: &[usize]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len()
            && end - start < PROMPTS_PER_PASS
            && (end - start + 1) * items[order[end]].ids.len() <= TOKENS_PER_PASS
        {
            end += 1;
        }
        out.push((start, end));
        start = end;
    }
    out
}
