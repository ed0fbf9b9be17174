//! A BERT encoder that returns the hidden states of every layer.
//!
//! `candle_transformers::models::bert::BertModel` only exposes the last layer; the router
//! pools several layers, so this module runs the same architecture (weights named as in
//! Hugging Face `BertModel` checkpoints) and keeps each layer's output.

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::{embedding, layer_norm, linear, Embedding, LayerNorm, Linear, VarBuilder};
use candle_transformers::models::bert::Config;

struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
}

impl Embeddings {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        Ok(Self {
            word: embedding(cfg.vocab_size, cfg.hidden_size, vb.pp("word_embeddings"))?,
            position: embedding(
                cfg.max_position_embeddings,
                cfg.hidden_size,
                vb.pp("position_embeddings"),
            )?,
            token_type: embedding(
                cfg.type_vocab_size,
                cfg.hidden_size,
                vb.pp("token_type_embeddings"),
            )?,
            norm: layer_norm(cfg.hidden_size, cfg.layer_norm_eps, vb.pp("LayerNorm"))?,
        })
    }

    fn forward(&self, input_ids: &Tensor) -> Result<Tensor> {
        let (_, seq_len) = input_ids.dims2()?;
        let words = self.word.forward(input_ids)?;
        let types = self.token_type.forward(&input_ids.zeros_like()?)?;
        let positions = Tensor::arange(0u32, seq_len as u32, input_ids.device())?;
        let positions = self.position.forward(&positions)?;
        let xs = (words + types)?.broadcast_add(&positions)?;
        self.norm.forward(&xs)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
    heads: usize,
    head_dim: usize,
}

impl Layer {
    fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let h = cfg.hidden_size;
        let att = vb.pp("attention");
        Ok(Self {
            query: linear(h, h, att.pp("self").pp("query"))?,
            key: linear(h, h, att.pp("self").pp("key"))?,
            value: linear(h, h, att.pp("self").pp("value"))?,
            attn_out: linear(h, h, att.pp("output").pp("dense"))?,
            attn_norm: layer_norm(h, cfg.layer_norm_eps, att.pp("output").pp("LayerNorm"))?,
            intermediate: linear(h, cfg.intermediate_size, vb.pp("intermediate").pp("dense"))?,
            output: linear(cfg.intermediate_size, h, vb.pp("output").pp("dense"))?,
            out_norm: layer_norm(h, cfg.layer_norm_eps, vb.pp("output").pp("LayerNorm"))?,
            heads: cfg.num_attention_heads,
            head_dim: h / cfg.num_attention_heads,
        })
    }

    fn split_heads(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, t, _) = xs.dims3()?;
        xs.reshape((b, t, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// `bias` is the additive attention bias, shape (batch, 1, 1, seq).
    fn forward(&self, xs: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (b, t, h) = xs.dims3()?;
        let q = self.split_heads(&self.query.forward(xs)?)?;
        let k = self.split_heads(&self.key.forward(xs)?)?;
        let v = self.split_heads(&self.value.forward(xs)?)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let ctx = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, t, h))?;
        let attn = self
            .attn_norm
            .forward(&(self.attn_out.forward(&ctx)? + xs)?)?;
        let inter = self.intermediate.forward(&attn)?.gelu_erf()?;
        self.out_norm
            .forward(&(self.output.forward(&inter)? + attn)?)
    }
}

/// BERT encoder (embeddings + transformer layers), inference only.
pub(crate) struct Bert {
    embeddings: Embeddings,
    layers: Vec<Layer>,
}

impl Bert {
    /// Loads weights named like Hugging Face's `BertModel` (optionally under `bert.`).
    pub(crate) fn load(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let embeddings = Embeddings::load(vb.pp("embeddings"), cfg)?;
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| Layer::load(vb.pp("encoder").pp("layer").pp(i), cfg))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { embeddings, layers })
    }

    /// Number of transformer layers.
    pub(crate) fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Hidden states of every token at `layer` (0 = embedding output), shape
    /// (batch, seq, hidden). `input_ids` and `mask` are (batch, seq) u32 tensors.
    pub(crate) fn states(&self, input_ids: &Tensor, mask: &Tensor, layer: usize) -> Result<Tensor> {
        if layer > self.layers.len() {
            candle_core::bail!("layer {layer} out of range");
        }
        let bias = attention_bias(mask)?;
        let mut xs = self.embeddings.forward(input_ids)?;
        for l in self.layers.iter().take(layer) {
            xs = l.forward(&xs, &bias)?;
        }
        Ok(xs)
    }

    /// Mean-pooled hidden states over the unmasked tokens, for each requested layer
    /// (0 = embedding output, `n` = output of transformer layer `n`), concatenated along
    /// the feature axis. `input_ids` and `mask` are (batch, seq) u32 tensors.
    pub(crate) fn pooled(
        &self,
        input_ids: &Tensor,
        mask: &Tensor,
        layers: &[usize],
    ) -> Result<Tensor> {
        let maskf = mask.to_dtype(DType::F32)?;
        let bias = attention_bias(mask)?;
        let weights = maskf.unsqueeze(2)?; // (b, t, 1)
        let counts = maskf.sum_keepdim(1)?.clamp(1.0f64, f64::MAX)?; // (b, 1)
        let pool = |xs: &Tensor| -> Result<Tensor> {
            xs.broadcast_mul(&weights)?.sum(1)?.broadcast_div(&counts)
        };
        let last = layers.iter().copied().max().unwrap_or(0);
        let mut pooled = Vec::with_capacity(layers.len());
        let mut xs = self.embeddings.forward(input_ids)?;
        let mut per_layer = vec![None; last + 1];
        if layers.contains(&0) {
            per_layer[0] = Some(pool(&xs)?);
        }
        for (i, layer) in self.layers.iter().enumerate().take(last) {
            xs = layer.forward(&xs, &bias)?;
            if layers.contains(&(i + 1)) {
                per_layer[i + 1] = Some(pool(&xs)?);
            }
        }
        for &l in layers {
            match per_layer.get(l).and_then(|p| p.clone()) {
                Some(p) => pooled.push(p),
                None => candle_core::bail!("layer {l} out of range"),
            }
        }
        Tensor::cat(&pooled, D::Minus1)
    }
}

/// Additive attention bias of a (batch, seq) u32 mask: 0 for tokens, −1e9 for padding,
/// shape (batch, 1, 1, seq).
fn attention_bias(mask: &Tensor) -> Result<Tensor> {
    let maskf = mask.to_dtype(DType::F32)?;
    ((maskf.ones_like()? - &maskf)? * -1e9f64)?
        .unsqueeze(1)?
        .unsqueeze(1)
}
