//! Dynamic batching: concurrent requests are embedded together.
//!
//! Callers `await` [`BatchingRouter::predict`]; a worker thread takes the first waiting
//! prompt together with every prompt already queued behind it (up to `max_batch`), waits
//! up to `max_wait` for more when that is set (by default it does not wait: prompts that
//! arrive during a forward pass form the next batch, so a lone prompt is never delayed and
//! batches grow with the load), runs one batched forward pass, and answers each caller. The queue is bounded: when
//! `queue_capacity` prompts are waiting, further callers wait for room (back-pressure)
//! rather than growing memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, Semaphore};

use crate::error::{ClassifierError, Result};
use crate::router::{Prediction, Router};

/// Settings of the batching worker.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Most prompts per forward pass.
    pub max_batch: usize,
    /// Longest time the first prompt of a batch waits for others that are not queued yet
    /// (default zero: the batch is what is queued when the worker is free).
    pub max_wait: Duration,
    /// Most prompts queued (waiting or being embedded) at once.
    pub queue_capacity: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_batch: 16,
            max_wait: Duration::ZERO,
            queue_capacity: 1024,
        }
    }
}

/// What a caller gets back: the prediction and the prompt's sentence embedding.
pub type Answer = Result<(Prediction, Vec<f32>)>;

struct Job {
    text: String,
    embedding: bool,
    reply: oneshot::Sender<Answer>,
}

struct Inner {
    tx: Mutex<Option<Sender<Job>>>,
    permits: Arc<Semaphore>,
    capacity: usize,
    worker: Mutex<Option<JoinHandle<()>>>,
    models: Vec<String>,
    batches: Arc<AtomicUsize>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // closing the channel ends the worker loop
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        if let Ok(mut w) = self.worker.lock() {
            if let Some(handle) = w.take() {
                let _ = handle.join();
            }
        }
    }
}

/// A [`Router`] behind a dynamic-batching worker; cheap to clone and share between tasks.
#[derive(Clone)]
pub struct BatchingRouter {
    inner: Arc<Inner>,
}

fn worker_loop(
    router: Router,
    rx: std::sync::mpsc::Receiver<Job>,
    cfg: BatchConfig,
    batches: Arc<AtomicUsize>,
) {
    let max_batch = cfg.max_batch.max(1);
    while let Ok(first) = rx.recv() {
        let deadline = Instant::now() + cfg.max_wait;
        let mut jobs = vec![first];
        // Everything already queued joins this batch at once...
        while jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        // ...and, when `max_wait` is set, what arrives before it runs out.
        while jobs.len() < max_batch {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match rx.recv_timeout(deadline - now) {
                Ok(j) => jobs.push(j),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        batches.fetch_add(1, Ordering::Relaxed);
        let texts: Vec<&str> = jobs.iter().map(|j| j.text.as_str()).collect();
        let want = jobs.iter().any(|j| j.embedding);
        let result = if want {
            router.predict_batch_with_embeddings(&texts)
        } else {
            router.predict_batch(&texts).map(|p| {
                let n = p.len();
                (p, vec![Vec::new(); n])
            })
        };
        match result {
            Ok((preds, embs)) => {
                for ((job, p), e) in jobs.into_iter().zip(preds).zip(embs) {
                    let _ = job.reply.send(Ok((p, e)));
                }
            }
            Err(err) => {
                let msg = err.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(ClassifierError::Batching(msg.clone())));
                }
            }
        }
    }
}

impl BatchingRouter {
    /// Starts the worker thread that owns `router`.
    pub fn new(router: Router, cfg: BatchConfig) -> Self {
        let (tx, rx) = channel::<Job>();
        let models = router.models();
        let batches = Arc::new(AtomicUsize::new(0));
        let worker_batches = batches.clone();
        let capacity = cfg.queue_capacity.max(1);
        let worker = std::thread::Builder::new()
            .name("llmgw-router".into())
            .spawn(move || worker_loop(router, rx, cfg, worker_batches))
            .ok();
        Self {
            inner: Arc::new(Inner {
                tx: Mutex::new(worker.as_ref().map(|_| tx)),
                permits: Arc::new(Semaphore::new(capacity)),
                capacity,
                worker: Mutex::new(worker),
                models,
                batches,
            }),
        }
    }

    /// The model profiles the router predicts.
    pub fn models(&self) -> Vec<String> {
        self.inner.models.clone()
    }

    /// Prompts queued or being embedded now.
    pub fn queue_depth(&self) -> usize {
        self.inner.capacity - self.inner.permits.available_permits()
    }

    /// Forward passes run so far.
    pub fn batches_run(&self) -> usize {
        self.inner.batches.load(Ordering::Relaxed)
    }

    /// Predicts one prompt, batched with concurrent calls.
    pub async fn predict(&self, text: String) -> Result<Prediction> {
        Ok(self.submit(text, false).await?.0)
    }

    /// Predicts one prompt and returns its sentence embedding too (last encoder layer,
    /// mean-pooled, L2-normalised).
    pub async fn predict_with_embedding(&self, text: String) -> Answer {
        self.submit(text, true).await
    }

    async fn submit(&self, text: String, embedding: bool) -> Answer {
        let _permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ClassifierError::Batching(e.to_string()))?;
        let (reply, rx) = oneshot::channel();
        {
            let guard = self
                .inner
                .tx
                .lock()
                .map_err(|_| ClassifierError::Batching("queue lock poisoned".into()))?;
            let tx = guard.as_ref().ok_or_else(|| {
                ClassifierError::Batching("the worker thread could not be started".into())
            })?;
            tx.send(Job {
                text,
                embedding,
                reply,
            })
            .map_err(|_| ClassifierError::Batching("the worker thread has stopped".into()))?;
        }
        rx.await.map_err(|_| {
            ClassifierError::Batching("the worker thread dropped the request".into())
        })?
    }
}
