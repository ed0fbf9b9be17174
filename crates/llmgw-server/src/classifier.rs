//! The trained router (crate `llmgw-classifier`) behind the [`QualityPredictor`] seam.

use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use llmgw_classifier::{BatchConfig, BatchingRouter, Router};

use crate::auto::{AutoRouting, Prediction, QualityPredictor};

/// The classifier with dynamic batching: concurrent requests are scored together.
pub struct ClassifierPredictor {
    router: BatchingRouter,
    encoder: String,
}

impl QualityPredictor for ClassifierPredictor {
    fn predict(&self, text: String) -> BoxFuture<'static, Result<Prediction, String>> {
        let router = self.router.clone();
        let encoder = self.encoder.clone();
        Box::pin(async move {
            let (p, embedding) = router
                .predict_with_embedding(text)
                .await
                .map_err(|e| e.to_string())?;
            Ok(Prediction {
                difficulty: f64::from(p.difficulty),
                quality: p
                    .quality
                    .into_iter()
                    .map(|(k, v)| (k, f64::from(v)))
                    .collect(),
                embedding: Some(embedding),
                embedding_model: Some(encoder),
            })
        })
    }

    fn profiles(&self) -> Vec<String> {
        self.router.models()
    }
}

/// Load the router in `dir` for `model: "auto"`. Loading reads the encoder weights: call it
/// at start-up, off the async threads. A missing or broken router gives a disabled
/// [`AutoRouting`] whose reason names the folder.
pub fn load_router(dir: &Path) -> AutoRouting {
    if !dir.is_dir() {
        return AutoRouting::disabled(format!(
            "no trained router in {} (train one with `llmgw train`, or point `routing.router_dir` / \
             `--router` at one)",
            dir.display()
        ));
    }
    match Router::load(dir) {
        Ok(router) => {
            let encoder = router.manifest().encoder.id.clone();
            let predictor = ClassifierPredictor {
                router: BatchingRouter::new(router, BatchConfig::default()),
                encoder,
            };
            AutoRouting::enabled(Arc::new(predictor))
        }
        Err(e) => AutoRouting::disabled(format!(
            "the router in {} could not be loaded: {e}",
            dir.display()
        )),
    }
}
