//! Embedding prompts through the on-disk cache.

use std::path::Path;

use crate::cache::EmbeddingCache;
use crate::encoder::Encoder;
use crate::error::Result;

/// Prompts embedded between two cache writes (so an interrupted run keeps its work).
const CHUNK: usize = 128;

/// Embeds `texts` for the given pooled `layers`, reading and filling one cache file per
/// layer under `cache_dir` (or computing everything when `cache_dir` is `None`).
/// `progress` is called with the number of prompts done so far (cached ones included).
pub fn embed_with_cache(
    encoder: &Encoder,
    texts: &[&str],
    layers: &[usize],
    cache_dir: Option<&Path>,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Vec<f32>>> {
    let hidden = encoder.hidden_size();
    let Some(dir) = cache_dir else {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(CHUNK) {
            out.extend(encoder.embed(chunk, layers)?);
            progress(out.len());
        }
        return Ok(out);
    };
    let mut caches = layers
        .iter()
        .map(|l| {
            EmbeddingCache::open(
                dir,
                encoder.digest(),
                &format!("mean-pool-layer-{l}"),
                hidden,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let keys: Vec<Vec<_>> = caches
        .iter()
        .map(|c| texts.iter().map(|t| c.key(t)).collect())
        .collect();
    let mut missing: Vec<usize> = (0..texts.len())
        .filter(|&i| {
            caches
                .iter()
                .zip(&keys)
                .any(|(c, k)| c.get(&k[i]).is_none())
        })
        .collect();
    // identical texts are embedded once
    missing.sort_by(|&a, &b| texts[a].cmp(texts[b]));
    missing.dedup_by(|a, b| texts[*a] == texts[*b]);
    let mut done = texts.len() - missing.len();
    progress(done);
    for chunk in missing.chunks(CHUNK) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        let vecs = encoder.embed(&batch, layers)?;
        for (li, cache) in caches.iter_mut().enumerate() {
            let items = chunk
                .iter()
                .zip(&vecs)
                .map(|(&i, v)| (keys[li][i], v[li * hidden..(li + 1) * hidden].to_vec()))
                .collect();
            cache.insert_many(items)?;
        }
        done += chunk.len();
        progress(done);
    }
    let mut out = Vec::with_capacity(texts.len());
    for i in 0..texts.len() {
        let mut row = Vec::with_capacity(hidden * layers.len());
        for (c, k) in caches.iter().zip(&keys) {
            match c.get(&k[i]) {
                Some(v) => row.extend_from_slice(v),
                None => {
                    return Err(crate::error::ClassifierError::invalid(
                        "embedding cache",
                        "a vector just stored is missing",
                    ))
                }
            }
        }
        out.push(row);
    }
    Ok(out)
}
