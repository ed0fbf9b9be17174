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

impl ClassifierPredictor {
    /// `router` behind a dynamic batcher with the default settings.
    pub fn new(router: Router) -> Self {
        let encoder = router.manifest().encoder.id.clone();
        ClassifierPredictor {
            router: BatchingRouter::new(router, BatchConfig::default()),
            encoder,
        }
    }
}

impl QualityPredictor for ClassifierPredictor {
    fn predict(
        &self,
        text: String,
        embedding: bool,
    ) -> BoxFuture<'static, Result<Prediction, String>> {
        let router = self.router.clone();
        let encoder = self.encoder.clone();
        Box::pin(async move {
            let (p, embedding) = if embedding {
                let (p, e) = router
                    .predict_with_embedding(text)
                    .await
                    .map_err(|e| e.to_string())?;
                (p, Some(e))
            } else {
                let p = router.predict(text).await.map_err(|e| e.to_string())?;
                (p, None)
            };
            Ok(Prediction {
                difficulty: f64::from(p.difficulty),
                quality: p
                    .quality
                    .into_iter()
                    .map(|(k, v)| (k, f64::from(v)))
                    .collect(),
                embedding_model: embedding.as_ref().map(|_| encoder),
                embedding,
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
        Ok(router) => AutoRouting::enabled(Arc::new(ClassifierPredictor::new(router))),
        Err(e) => AutoRouting::disabled(format!(
            "the router in {} could not be loaded: {e}",
            dir.display()
        )),
    }
}
