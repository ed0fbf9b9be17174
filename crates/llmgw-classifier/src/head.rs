//! The quality heads: a small wide-and-deep multi-task network, trained with a masked loss.
//!
//! For a prompt with dense features `x` (standardized pooled embeddings + structure
//! features) and hashed n-gram features `h`, each ensemble member computes one logit per
//! model profile:
//!
//! `logit = W2 · gelu(W1 · x + b1) + U · h + b`
//!
//! The hidden layer is shared by all profiles (what makes a prompt hard transfers between
//! models); `U` lets each profile learn words directly. Training minimises binary
//! cross-entropy against the quality labels (soft labels allowed) **only where a label
//! exists** (masked loss: a prompt may be labelled for one model only), each profile's
//! labels weighted so every profile counts equally, with AdamW and early stopping on a
//! validation split. Members differ by seed; their logits are averaged.

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{ClassifierError, Result};

/// Hyper-parameters of the heads and their training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadConfig {
    /// Width of the shared hidden layer.
    pub hidden: usize,
    /// Dropout on the dense input and the hidden layer during training.
    pub dropout: f32,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW decoupled weight decay on the dense layers.
    pub weight_decay: f64,
    /// AdamW decoupled weight decay on the n-gram weights `U`.
    pub ngram_weight_decay: f64,
    /// Most epochs.
    pub max_epochs: usize,
    /// Epochs without validation improvement before stopping.
    pub patience: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Number of ensemble members (different seeds).
    pub ensemble: usize,
}

impl Default for HeadConfig {
    fn default() -> Self {
        Self {
            hidden: 128,
            dropout: 0.2,
            lr: 1e-3,
            weight_decay: 0.05,
            ngram_weight_decay: 0.05,
            max_epochs: 60,
            patience: 6,
            batch_size: 128,
            ensemble: 3,
        }
    }
}

/// Training data for the heads, as dense row-major matrices.
pub struct HeadData<'a> {
    /// Rows × `dense_dim` (already standardized).
    pub dense: &'a [f32],
    /// Rows × `ngram_dim`.
    pub ngrams: &'a [f32],
    /// Rows × models, the labels (0 where absent).
    pub labels: &'a [f32],
    /// Rows × models, 1 where a label exists, else 0.
    pub mask: &'a [f32],
    /// Number of rows.
    pub rows: usize,
    /// Width of the dense input.
    pub dense_dim: usize,
    /// Width of the n-gram input.
    pub ngram_dim: usize,
    /// Number of model profiles.
    pub models: usize,
}

/// One ensemble member's parameters.
#[derive(Clone)]
pub struct Member {
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    /// N-gram weights; `None` when the router uses no n-gram features.
    u: Option<Tensor>,
    b: Tensor,
}

/// Trained quality heads: an ensemble of [`Member`]s.
pub struct QualityHeads {
    members: Vec<Member>,
    dense_dim: usize,
    ngram_dim: usize,
    models: usize,
}

fn randn(rng: &mut StdRng, n: usize, std: f32) -> Vec<f32> {
    // Box-Muller: deterministic for a seeded generator
    (0..n)
        .map(|_| {
            let u1: f32 = rng.random::<f32>().max(1e-7);
            let u2: f32 = rng.random::<f32>();
            std * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect()
}

fn masked_bce(logits: &Tensor, labels: &Tensor, weights: &Tensor) -> candle_core::Result<Tensor> {
    // softplus(z) - y z, computed stably
    let per =
        ((logits.relu()? - (labels * logits)?)? + ((logits.abs()?.neg()?.exp()? + 1.0)?.log())?)?;
    let total = weights.sum_all()?;
    (per * weights)?.sum_all()?.broadcast_div(&total)
}

impl Member {
    fn forward(
        &self,
        dense: &Tensor,
        ngrams: Option<&Tensor>,
        drop: Option<(&Tensor, &Tensor)>,
    ) -> candle_core::Result<Tensor> {
        let x = match drop {
            Some((mx, _)) => (dense * mx)?,
            None => dense.clone(),
        };
        let h = x
            .matmul(&self.w1.t()?)?
            .broadcast_add(&self.b1)?
            .gelu_erf()?;
        let h = match drop {
            Some((_, mh)) => (h * mh)?,
            None => h,
        };
        let out = h.matmul(&self.w2.t()?)?;
        let out = match (&self.u, ngrams) {
            (Some(u), Some(n)) => (out + n.matmul(&u.t()?)?)?,
            _ => out,
        };
        out.broadcast_add(&self.b)
    }
}

fn dropout_mask(
    rng: &mut StdRng,
    rows: usize,
    cols: usize,
    p: f32,
    dev: &Device,
) -> candle_core::Result<Tensor> {
    let keep = 1.0 - p;
    let v: Vec<f32> = (0..rows * cols)
        .map(|_| {
            if rng.random::<f32>() < keep {
                1.0 / keep
            } else {
                0.0
            }
        })
        .collect();
    Tensor::from_vec(v, (rows, cols), dev)
}

impl QualityHeads {
    /// Logits (rows × models) averaged over the ensemble. `ngrams` is `None` when the
    /// heads use no n-gram features.
    pub fn logits(&self, dense: &Tensor, ngrams: Option<&Tensor>) -> Result<Tensor> {
        let mut acc: Option<Tensor> = None;
        for m in &self.members {
            let l = m.forward(dense, ngrams, None)?;
            acc = Some(match acc {
                Some(a) => (a + l)?,
                None => l,
            });
        }
        let acc =
            acc.ok_or_else(|| ClassifierError::invalid("quality heads", "no ensemble member"))?;
        Ok((acc / self.members.len() as f64)?)
    }

    /// Number of model profiles predicted.
    pub fn models(&self) -> usize {
        self.models
    }

    /// Width of the dense input.
    pub fn dense_dim(&self) -> usize {
        self.dense_dim
    }

    /// Width of the n-gram input.
    pub fn ngram_dim(&self) -> usize {
        self.ngram_dim
    }

    /// The weights as named tensors (for safetensors).
    pub fn tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, m) in self.members.iter().enumerate() {
            for (name, t) in [("w1", &m.w1), ("b1", &m.b1), ("w2", &m.w2), ("b", &m.b)] {
                out.push((format!("member{i}.{name}"), t.clone()));
            }
            if let Some(u) = &m.u {
                out.push((format!("member{i}.u"), u.clone()));
            }
        }
        out
    }

    /// Rebuilds heads from named tensors written by [`QualityHeads::tensors`]; n-gram
    /// weights are read when `ngram_dim > 0`.
    pub fn from_tensors(
        get: impl Fn(&str) -> Result<Tensor>,
        members: usize,
        ngram_dim: usize,
    ) -> Result<Self> {
        let mut ms = Vec::with_capacity(members);
        for i in 0..members {
            let t = |n: &str| get(&format!("member{i}.{n}"));
            ms.push(Member {
                w1: t("w1")?,
                b1: t("b1")?,
                w2: t("w2")?,
                u: if ngram_dim > 0 { Some(t("u")?) } else { None },
                b: t("b")?,
            });
        }
        let first = ms
            .first()
            .ok_or_else(|| ClassifierError::invalid("router weights", "no ensemble member"))?;
        let (hidden, dense_dim) = first.w1.dims2()?;
        let models = first.b.dims1()?;
        for m in &ms {
            let ok = m.w1.dims2()? == (hidden, dense_dim)
                && m.b1.dims1()? == hidden
                && m.w2.dims2()? == (models, hidden)
                && match &m.u {
                    Some(u) => u.dims2()? == (models, ngram_dim),
                    None => ngram_dim == 0,
                }
                && m.b.dims1()? == models;
            if !ok {
                return Err(ClassifierError::invalid(
                    "router weights",
                    "tensor shapes disagree",
                ));
            }
        }
        Ok(Self {
            members: ms,
            dense_dim,
            ngram_dim,
            models,
        })
    }
}

/// Progress of training: (member, epoch, validation loss).
pub type ProgressFn<'a> = dyn FnMut(usize, usize, f32) + 'a;

/// Trains the ensemble on `train`, early-stopping each member on `val`'s masked loss.
pub fn train_heads(
    cfg: &HeadConfig,
    train: &HeadData,
    val: &HeadData,
    seed: u64,
    progress: &mut ProgressFn,
) -> Result<QualityHeads> {
    let dev = Device::Cpu;
    let (dense_dim, ngram_dim, models) = (train.dense_dim, train.ngram_dim, train.models);
    if (val.dense_dim, val.ngram_dim, val.models) != (dense_dim, ngram_dim, models) {
        return Err(ClassifierError::Training(
            "training and validation widths differ".into(),
        ));
    }
    if train.rows == 0 || val.rows == 0 {
        return Err(ClassifierError::Training(
            "empty training or validation split".into(),
        ));
    }
    let to_t = |v: &[f32], rows: usize, cols: usize| Tensor::from_slice(v, (rows, cols), &dev);
    let xd = to_t(train.dense, train.rows, dense_dim)?;
    let use_ngrams = ngram_dim > 0;
    let xn = if use_ngrams {
        Some(to_t(train.ngrams, train.rows, ngram_dim)?)
    } else {
        None
    };
    let y = to_t(train.labels, train.rows, models)?;
    // each profile's labels weigh the same in total
    let mut per_model = vec![0f32; models];
    for r in 0..train.rows {
        for (m, c) in per_model.iter_mut().enumerate() {
            *c += train.mask[r * models + m];
        }
    }
    let labelled: f32 = per_model.iter().sum();
    let scale: Vec<f32> = per_model
        .iter()
        .map(|&c| {
            if c > 0.0 {
                labelled / (models as f32 * c)
            } else {
                0.0
            }
        })
        .collect();
    let w: Vec<f32> = (0..train.rows * models)
        .map(|i| train.mask[i] * scale[i % models])
        .collect();
    let w = to_t(&w, train.rows, models)?;
    let vd = to_t(val.dense, val.rows, dense_dim)?;
    let vn = if use_ngrams {
        Some(to_t(val.ngrams, val.rows, ngram_dim)?)
    } else {
        None
    };
    let vy = to_t(val.labels, val.rows, models)?;
    let vw: Vec<f32> = (0..val.rows * models)
        .map(|i| val.mask[i] * scale[i % models])
        .collect();
    let vw = to_t(&vw, val.rows, models)?;

    let mut members = Vec::with_capacity(cfg.ensemble);
    for k in 0..cfg.ensemble.max(1) {
        let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(k as u64));
        let var = |v: Vec<f32>, shape: &[usize]| -> Result<Var> {
            Ok(Var::from_tensor(&Tensor::from_vec(v, shape, &dev)?)?)
        };
        let h = cfg.hidden;
        let w1 = var(
            randn(&mut rng, h * dense_dim, (2.0 / dense_dim as f32).sqrt()),
            &[h, dense_dim],
        )?;
        let b1 = var(vec![0.0; h], &[h])?;
        let w2 = var(
            randn(&mut rng, models * h, (1.0 / h as f32).sqrt() * 0.1),
            &[models, h],
        )?;
        let u = if use_ngrams {
            Some(var(vec![0.0; models * ngram_dim], &[models, ngram_dim])?)
        } else {
            None
        };
        let b = var(vec![0.0; models], &[models])?;
        let adam = |vars: Vec<Var>, wd: f64| {
            AdamW::new(
                vars,
                ParamsAdamW {
                    lr: cfg.lr,
                    weight_decay: wd,
                    ..Default::default()
                },
            )
        };
        let mut opt_dense = adam(
            vec![w1.clone(), b1.clone(), w2.clone(), b.clone()],
            cfg.weight_decay,
        )?;
        let mut opt_ngram = adam(u.iter().cloned().collect(), cfg.ngram_weight_decay)?;
        let snapshot = || -> Result<Member> {
            Ok(Member {
                w1: w1.as_tensor().copy()?,
                b1: b1.as_tensor().copy()?,
                w2: w2.as_tensor().copy()?,
                u: match &u {
                    Some(u) => Some(u.as_tensor().copy()?),
                    None => None,
                },
                b: b.as_tensor().copy()?,
            })
        };
        let mut best = (f32::INFINITY, snapshot()?);
        let mut since_best = 0;
        let mut order: Vec<u32> = (0..train.rows as u32).collect();
        for epoch in 0..cfg.max_epochs {
            order.shuffle(&mut rng);
            for chunk in order.chunks(cfg.batch_size.max(1)) {
                let idx = Tensor::from_slice(chunk, chunk.len(), &dev)?;
                let (bd, bn, by, bw) = (
                    xd.index_select(&idx, 0)?,
                    match &xn {
                        Some(x) => Some(x.index_select(&idx, 0)?),
                        None => None,
                    },
                    y.index_select(&idx, 0)?,
                    w.index_select(&idx, 0)?,
                );
                let mx = dropout_mask(&mut rng, chunk.len(), dense_dim, cfg.dropout, &dev)?;
                let mh = dropout_mask(&mut rng, chunk.len(), h, cfg.dropout, &dev)?;
                let member = Member {
                    w1: w1.as_tensor().clone(),
                    b1: b1.as_tensor().clone(),
                    w2: w2.as_tensor().clone(),
                    u: u.as_ref().map(|u| u.as_tensor().clone()),
                    b: b.as_tensor().clone(),
                };
                let logits = member.forward(&bd, bn.as_ref(), Some((&mx, &mh)))?;
                let loss = masked_bce(&logits, &by, &bw)?;
                let grads = loss.backward()?;
                opt_dense.step(&grads)?;
                opt_ngram.step(&grads)?;
            }
            let current = snapshot()?;
            let vl = masked_bce(&current.forward(&vd, vn.as_ref(), None)?, &vy, &vw)?
                .to_scalar::<f32>()?;
            progress(k, epoch, vl);
            if vl < best.0 - 1e-5 {
                best = (vl, current);
                since_best = 0;
            } else {
                since_best += 1;
                if since_best >= cfg.patience {
                    break;
                }
            }
        }
        members.push(best.1);
    }
    Ok(QualityHeads {
        members,
        dense_dim,
        ngram_dim,
        models,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2 dense features, 4 n-gram buckets, 2 models; model 0 is right when x0 > 0, model 1
    /// when bucket 1 is set. Model 1 is labelled on even rows only; `garbage` is written
    /// into its unlabelled cells.
    fn data(rows: usize, garbage: f32) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut rng = StdRng::seed_from_u64(5);
        let (mut d, mut n, mut y, mut m) = (vec![], vec![], vec![], vec![]);
        for r in 0..rows {
            let x0: f32 = rng.random::<f32>() * 2.0 - 1.0;
            let b = rng.random::<bool>();
            d.extend([x0, rng.random::<f32>()]);
            n.extend([0.0, if b { 1.0 } else { 0.0 }, 0.0, 0.5]);
            y.push(if x0 > 0.0 { 1.0 } else { 0.0 });
            m.push(1.0);
            if r % 2 == 0 {
                y.push(if b { 1.0 } else { 0.0 });
                m.push(1.0);
            } else {
                y.push(garbage);
                m.push(0.0);
            }
        }
        (d, n, y, m)
    }

    fn fit(garbage: f32, seed: u64) -> (QualityHeads, Vec<f32>) {
        let (d, n, y, m) = data(200, garbage);
        let hd = |rows: std::ops::Range<usize>| HeadData {
            dense: &d[rows.start * 2..rows.end * 2],
            ngrams: &n[rows.start * 4..rows.end * 4],
            labels: &y[rows.start * 2..rows.end * 2],
            mask: &m[rows.start * 2..rows.end * 2],
            rows: rows.len(),
            dense_dim: 2,
            ngram_dim: 4,
            models: 2,
        };
        let cfg = HeadConfig {
            hidden: 8,
            max_epochs: 40,
            patience: 40,
            batch_size: 32,
            ensemble: 2,
            lr: 1e-2,
            dropout: 0.0,
            ..HeadConfig::default()
        };
        let heads = train_heads(&cfg, &hd(0..160), &hd(160..200), seed, &mut |_, _, _| {}).unwrap();
        let t = |v: &[f32], c| Tensor::from_slice(v, (40, c), &Device::Cpu).unwrap();
        let logits = heads
            .logits(&t(&d[320..], 2), Some(&t(&n[640..], 4)))
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        (heads, logits)
    }

    #[test]
    fn masked_loss_ignores_unlabelled_cells_and_learns_both_models() {
        let (_, a) = fit(0.0, 3);
        let (_, b) = fit(1.0, 3);
        assert_eq!(a, b, "values under the mask changed the training");
        let (_, _, y, m) = data(200, 0.0);
        for k in 0..2 {
            let (mut s, mut l) = (vec![], vec![]);
            for r in 0..40 {
                if m[(160 + r) * 2 + k] > 0.0 {
                    s.push(a[r * 2 + k]);
                    l.push(y[(160 + r) * 2 + k]);
                }
            }
            let auc = crate::calibration::auc(&s, &l).unwrap();
            assert!(auc > 0.9, "model {k}: AUC {auc}");
        }
    }

    #[test]
    fn masked_bce_by_hand() {
        let z = Tensor::new(&[[0.0f32, 2.0]], &Device::Cpu).unwrap();
        let y = Tensor::new(&[[1.0f32, 0.0]], &Device::Cpu).unwrap();
        let only_first = Tensor::new(&[[1.0f32, 0.0]], &Device::Cpu).unwrap();
        let l = masked_bce(&z, &y, &only_first)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!((l - 2f32.ln()).abs() < 1e-5, "{l}");
        let both = Tensor::new(&[[1.0f32, 1.0]], &Device::Cpu).unwrap();
        let l = masked_bce(&z, &y, &both)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let want = (2f32.ln() + (1.0 + 2f32.exp()).ln()) / 2.0;
        assert!((l - want).abs() < 1e-5, "{l} vs {want}");
    }

    #[test]
    fn same_seed_same_heads() {
        let (_, a) = fit(0.0, 9);
        let (_, b) = fit(0.0, 9);
        let (_, c) = fit(0.0, 10);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn tensors_roundtrip() {
        let (h, _) = fit(0.0, 1);
        let named: std::collections::HashMap<String, Tensor> = h.tensors().into_iter().collect();
        let back = QualityHeads::from_tensors(
            |n| {
                named
                    .get(n)
                    .cloned()
                    .ok_or_else(|| ClassifierError::invalid("t", n.to_string()))
            },
            2,
            4,
        )
        .unwrap();
        assert_eq!(
            (back.models(), back.dense_dim(), back.ngram_dim()),
            (2, 2, 4)
        );
        assert!(QualityHeads::from_tensors(
            |n| Err(ClassifierError::invalid("t", n.to_string())),
            2,
            4
        )
        .is_err());
    }
}
