//! Exports pooled encoder embeddings of labelled-prompt JSONL files for offline analysis.
//!
//! `cargo run -p llmgw-classifier --example export_features -- ENCODER_DIR CACHE_DIR OUT.safetensors FILE.jsonl...`
//! writes `emb` (prompts × (layers·hidden), every layer mean-pooled), `ntok` (prompt
//! tokens before truncation) and `OUT.ids.json` (the prompt ids, in order).

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use candle_core::{Device, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [enc_dir, cache_dir, out, files @ ..] = args.as_slice() else {
        return Err(
            "usage: export_features ENCODER_DIR CACHE_DIR OUT.safetensors FILE.jsonl...".into(),
        );
    };
    let mut ids = Vec::new();
    let mut prompts = Vec::new();
    for f in files {
        for line in std::io::BufReader::new(std::fs::File::open(f)?).lines() {
            let v: serde_json::Value = serde_json::from_str(&line?)?;
            ids.push(v["id"].as_str().unwrap_or_default().to_string());
            prompts.push(v["prompt"].as_str().unwrap_or_default().to_string());
        }
    }
    let encoder = llmgw_classifier::Encoder::load_dir(Path::new(enc_dir))?;
    let layers: Vec<usize> = (0..=encoder.num_layers()).collect();
    let texts: Vec<&str> = prompts.iter().map(String::as_str).collect();
    let start = std::time::Instant::now();
    let emb = llmgw_classifier::embed::embed_with_cache(
        &encoder,
        &texts,
        &layers,
        Some(Path::new(cache_dir)),
        |n| eprintln!("{n}/{} {:.0}s", texts.len(), start.elapsed().as_secs_f64()),
    )?;
    let ntok: Vec<f32> = texts
        .iter()
        .map(|t| encoder.tokenize(t).map(|t| t.full_len as f32))
        .collect::<Result<_, _>>()?;
    let width = emb.first().map_or(0, Vec::len);
    let flat: Vec<f32> = emb.into_iter().flatten().collect();
    let mut map = HashMap::new();
    map.insert(
        "emb".to_string(),
        Tensor::from_vec(flat, (texts.len(), width), &Device::Cpu)?,
    );
    map.insert(
        "ntok".to_string(),
        Tensor::from_vec(ntok, texts.len(), &Device::Cpu)?,
    );
    candle_core::safetensors::save(&map, out)?;
    std::fs::write(format!("{out}.ids.json"), serde_json::to_string(&ids)?)?;
    eprintln!("wrote {out}: {} prompts × {width}", texts.len());
    Ok(())
}
