//! From prompt texts to the heads' inputs: pooled embeddings + structure features (dense)
//! and hashed n-grams.

use std::path::Path;

use crate::embed::embed_with_cache;
use crate::encoder::Encoder;
use crate::error::Result;
use crate::features::{hashed_ngrams, structure, STRUCT_NAMES};
use crate::manifest::FeatureSpec;
use crate::static_table::StaticTable;
use crate::text::{HEAD_TOKENS, MAX_TOKENS, TAIL_TOKENS};

/// The feature pipeline used by `llmgw train` unless told otherwise.
pub fn default_spec(num_layers: usize) -> FeatureSpec {
    FeatureSpec {
        layers: vec![num_layers / 2],
        static_embeddings: false,
        ngram_dim: 0,
        structure: STRUCT_NAMES.iter().map(|s| s.to_string()).collect(),
        max_tokens: MAX_TOKENS,
        head_tokens: HEAD_TOKENS,
        tail_tokens: TAIL_TOKENS,
    }
}

/// Width of the dense input of a spec.
pub fn dense_dim(spec: &FeatureSpec, hidden: usize) -> usize {
    spec.layers.len() * hidden + spec.structure.len()
}

/// Heads' inputs for a set of prompts, row-major.
pub struct Features {
    /// Rows × dense width, not yet standardized.
    pub dense: Vec<f32>,
    /// Rows × `ngram_dim`.
    pub ngrams: Vec<f32>,
    /// Number of rows.
    pub rows: usize,
}

fn append_text_features(
    spec: &FeatureSpec,
    text: &str,
    tokens: usize,
    dense: &mut Vec<f32>,
    ngrams: &mut [f32],
) {
    dense.extend(structure(text, tokens));
    if spec.ngram_dim == 0 {
        return;
    }
    for (i, v) in hashed_ngrams(text, spec.ngram_dim) {
        ngrams[i as usize] = v;
    }
}

/// Features of prompts for training, with embeddings read from / written to the cache.
pub fn featurize_cached(
    encoder: &Encoder,
    spec: &FeatureSpec,
    texts: &[&str],
    cache: Option<&Path>,
    progress: impl FnMut(usize),
) -> Result<Features> {
    let emb = embed_with_cache(encoder, texts, &spec.layers, cache, progress)?;
    assemble(spec, encoder.hidden_size(), texts, |i, dense| {
        dense.extend_from_slice(&emb[i]);
        Ok(encoder.tokenize(texts[i])?.full_len)
    })
}

/// The feature rows of `texts`: for prompt `i`, `pooled(i, dense)` appends its pooled
/// embedding to `dense` and returns its token count (before truncation); the text features
/// follow it.
fn assemble(
    spec: &FeatureSpec,
    hidden: usize,
    texts: &[&str],
    mut pooled: impl FnMut(usize, &mut Vec<f32>) -> Result<usize>,
) -> Result<Features> {
    let mut dense = Vec::with_capacity(texts.len() * dense_dim(spec, hidden));
    let mut ngrams = vec![0f32; texts.len() * spec.ngram_dim];
    for (i, text) in texts.iter().enumerate() {
        let tokens = pooled(i, &mut dense)?;
        append_text_features(
            spec,
            text,
            tokens,
            &mut dense,
            &mut ngrams[i * spec.ngram_dim..(i + 1) * spec.ngram_dim],
        );
    }
    Ok(Features {
        dense,
        ngrams,
        rows: texts.len(),
    })
}

/// Features of prompts at inference (no cache) and, when `sentence` is true, each prompt's
/// sentence embedding: the last layer mean-pooled and L2-normalised (as sentence-transformers
/// computes it; empty vectors otherwise). Without sentence embeddings the encoder stops at
/// the deepest layer the features use, which is faster.
pub fn featurize_with_embeddings(
    encoder: &Encoder,
    spec: &FeatureSpec,
    texts: &[&str],
    sentence: bool,
) -> Result<(Features, Vec<Vec<f32>>)> {
    let last = encoder.num_layers();
    let mut layers = spec.layers.clone();
    if sentence && !layers.contains(&last) {
        layers.push(last);
    }
    let toks = texts
        .iter()
        .map(|t| encoder.tokenize(t))
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<_> = toks.iter().collect();
    let pooled = encoder.embed_tokenized(&refs, &layers)?;
    let hidden = encoder.hidden_size();
    let last_pos = layers.iter().position(|&l| l == last);
    let features = assemble(spec, hidden, texts, |i, dense| {
        dense.extend_from_slice(&pooled[i][..spec.layers.len() * hidden]);
        Ok(toks[i].full_len)
    })?;
    let sentences = pooled
        .iter()
        .map(|p| match (sentence, last_pos) {
            (true, Some(pos)) => normalized(p[pos * hidden..(pos + 1) * hidden].to_vec()),
            _ => Vec::new(),
        })
        .collect();
    Ok((features, sentences))
}

/// `v` scaled to unit L2 norm (unchanged when it is all zeros).
fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Features of prompts from a static token table ([`StaticTable`]): the table's mean over
/// each prompt's tokens (truncated as for the encoder) takes the place of the pooled layer.
pub fn featurize_static(
    encoder: &Encoder,
    table: &StaticTable,
    spec: &FeatureSpec,
    texts: &[&str],
) -> Result<Features> {
    assemble(spec, table.hidden_size(), texts, |i, dense| {
        let tok = encoder.tokenize(texts[i])?;
        dense.extend(table.pool(&tok.ids));
        Ok(tok.full_len)
    })
}

/// [`featurize_static`] plus, when `sentence` is true, each prompt's sentence embedding
/// (the encoder's last layer, mean-pooled and L2-normalised; empty vectors otherwise). Only
/// the sentence embedding runs the encoder.
pub fn featurize_static_with_embeddings(
    encoder: &Encoder,
    table: &StaticTable,
    spec: &FeatureSpec,
    texts: &[&str],
    sentence: bool,
) -> Result<(Features, Vec<Vec<f32>>)> {
    let feats = featurize_static(encoder, table, spec, texts)?;
    let sentences = if sentence {
        encoder
            .embed(texts, &[encoder.num_layers()])?
            .into_iter()
            .map(normalized)
            .collect()
    } else {
        vec![Vec::new(); texts.len()]
    };
    Ok((feats, sentences))
}
