//! Static token embeddings distilled from one encoder layer.
//!
//! The router's embedding feature is the mean over a prompt's tokens of the encoder's hidden
//! states at one layer. A static table replaces each token's contextual state by the average
//! state that token id had at that layer over a corpus (the training prompts), shrunk towards
//! the state of the token read alone (`[CLS] token [SEP]`), which also covers ids the corpus
//! never used. The pooled feature is then a table lookup and a mean: no transformer runs on
//! the request path. The table is kept as float16, on disk and in memory (half the memory of
//! f32), and its rows are widened to f32 as they are summed, in training and serving alike.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use half::f16;
use half::slice::HalfFloatSliceExt;

use crate::encoder::{Encoder, Tokenized};
use crate::error::{ClassifierError, Result};

/// File name of the table in a router folder.
pub const STATIC_FILE: &str = "static-embeddings.safetensors";
/// Tensor name of the table in [`STATIC_FILE`].
const TENSOR: &str = "token_states";
/// Weight, in corpus occurrences, of the token-alone state in a token's average.
const PRIOR: f32 = 1.0;
/// Corpus prompts run per progress report.
const CHUNK: usize = 256;

/// Token id → static embedding (vocabulary × hidden).
#[derive(Debug, Clone, PartialEq)]
pub struct StaticTable {
    hidden: usize,
    rows: Vec<f16>,
}

impl StaticTable {
    /// Distils the table of encoder layer `layer` from `corpus` (see the module docs);
    /// `progress(done, total)` counts corpus prompts.
    pub fn distil(
        encoder: &Encoder,
        layer: usize,
        corpus: &[&str],
        mut progress: impl FnMut(usize, usize),
    ) -> Result<StaticTable> {
        let hidden = encoder.hidden_size();
        let vocab = encoder.vocab_size();
        if layer > encoder.num_layers() {
            return Err(ClassifierError::Training(format!(
                "static embeddings of layer {layer}: the encoder has layers 0..={}",
                encoder.num_layers()
            )));
        }
        let (cls, sep) = encoder.special_ids();
        // every id read alone, between [CLS] and [SEP]: the state at position 1
        let alone: Vec<Tokenized> = (0..vocab as u32)
            .map(|t| Tokenized {
                ids: vec![cls, t, sep],
                full_len: 1,
            })
            .collect();
        let refs: Vec<&Tokenized> = alone.iter().collect();
        let mut sums = vec![0f32; vocab * hidden];
        encoder.visit_states(&refs, layer, |ids, states| {
            let t = ids[1] as usize;
            for (s, x) in sums[t * hidden..(t + 1) * hidden]
                .iter_mut()
                .zip(&states[hidden..2 * hidden])
            {
                *s = PRIOR * x;
            }
        })?;
        let mut counts = vec![PRIOR; vocab];
        // the corpus, in context
        let toks = corpus
            .iter()
            .map(|t| encoder.tokenize(t))
            .collect::<Result<Vec<_>>>()?;
        let mut done = 0;
        progress(done, corpus.len());
        for chunk in toks.chunks(CHUNK) {
            let refs: Vec<&Tokenized> = chunk.iter().collect();
            encoder.visit_states(&refs, layer, |ids, states| {
                for (&id, state) in ids.iter().zip(states.chunks(hidden)) {
                    let t = id as usize;
                    if t >= vocab {
                        continue;
                    }
                    counts[t] += 1.0;
                    for (s, x) in sums[t * hidden..(t + 1) * hidden].iter_mut().zip(state) {
                        *s += x;
                    }
                }
            })?;
            done += chunk.len();
            progress(done, corpus.len());
        }
        for (row, &c) in sums.chunks_mut(hidden).zip(&counts) {
            row.iter_mut().for_each(|x| *x /= c);
        }
        let rows = sums.into_iter().map(f16::from_f32).collect();
        Ok(StaticTable { hidden, rows })
    }

    /// Width of one embedding.
    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// Number of token ids.
    pub fn vocab_size(&self) -> usize {
        self.rows.len() / self.hidden.max(1)
    }

    /// Mean of the embeddings of `ids` (ids outside the table are skipped; zeros when none
    /// is left).
    pub fn pool(&self, ids: &[u32]) -> Vec<f32> {
        let mut out = vec![0f32; self.hidden];
        // one row widened at a time (vectorised where the CPU converts float16)
        let mut wide = vec![0f32; self.hidden];
        let mut n = 0usize;
        for &id in ids {
            let start = id as usize * self.hidden;
            let Some(row) = self.rows.get(start..start + self.hidden) else {
                continue;
            };
            row.convert_to_f32_slice(&mut wide);
            out.iter_mut().zip(&wide).for_each(|(o, x)| *o += x);
            n += 1;
        }
        if n > 0 {
            out.iter_mut().for_each(|o| *o /= n as f32);
        }
        out
    }

    /// Writes the table (float16) to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let t = Tensor::from_slice(&self.rows, (self.vocab_size(), self.hidden), &Device::Cpu)?;
        let tensors: HashMap<String, Tensor> = [(TENSOR.to_string(), t)].into();
        candle_core::safetensors::save(&tensors, path)
            .map_err(|e| ClassifierError::invalid(path.display().to_string(), e.to_string()))
    }

    /// Reads a table written by [`StaticTable::save`] and checks its width.
    pub fn load(path: &Path, hidden: usize) -> Result<StaticTable> {
        if !path.is_file() {
            return Err(ClassifierError::MissingFile {
                what: "router",
                path: path.to_path_buf(),
            });
        }
        let invalid = |why: String| ClassifierError::invalid(path.display().to_string(), why);
        // read the float16 bytes straight into the table: no f32 copy, even for a moment
        let bytes = std::fs::read(path)
            .map_err(|e| ClassifierError::io(format!("reading {}", path.display()), e))?;
        let file =
            safetensors::SafeTensors::deserialize(&bytes).map_err(|e| invalid(e.to_string()))?;
        let t = file
            .tensor(TENSOR)
            .map_err(|_| invalid(format!("no tensor `{TENSOR}`")))?;
        if t.dtype() != safetensors::Dtype::F16 {
            return Err(invalid(format!("`{TENSOR}` is {:?}, not F16", t.dtype())));
        }
        let [_, width] = t.shape() else {
            return Err(invalid(format!(
                "`{TENSOR}` is not a matrix: {:?}",
                t.shape()
            )));
        };
        if *width != hidden {
            return Err(invalid(format!(
                "embeddings are {width} wide, the encoder's are {hidden}"
            )));
        }
        let rows = t
            .data()
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]))
            .collect();
        Ok(StaticTable { hidden, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> StaticTable {
        StaticTable {
            hidden: 2,
            rows: [1.0, 2.0, 3.0, 4.0, -1.0, 0.5]
                .into_iter()
                .map(f16::from_f32)
                .collect(),
        }
    }

    #[test]
    fn pool_is_the_mean_of_the_rows_of_the_ids() {
        let t = table();
        assert_eq!(t.pool(&[0, 1]), vec![2.0, 3.0]);
        assert_eq!(t.pool(&[2, 2, 0]), vec![-1.0 / 3.0, 1.0]);
    }

    #[test]
    fn pool_skips_unknown_ids_and_gives_zeros_for_nothing() {
        let t = table();
        assert_eq!(t.pool(&[1, 99]), vec![3.0, 4.0]);
        assert_eq!(t.pool(&[]), vec![0.0, 0.0]);
    }

    #[test]
    fn save_and_load_round_trip_and_check_the_width() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATIC_FILE);
        table().save(&path).unwrap();
        assert_eq!(StaticTable::load(&path, 2).unwrap(), table());
        let err = StaticTable::load(&path, 3).unwrap_err().to_string();
        assert!(err.contains("2 wide"), "{err}");
        let missing = StaticTable::load(&dir.path().join("none"), 2).unwrap_err();
        assert!(matches!(missing, ClassifierError::MissingFile { .. }));
    }
}
