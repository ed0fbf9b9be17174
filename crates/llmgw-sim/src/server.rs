//! The running server: routes, shared state, start and shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::error::SimError;
use crate::faults::{Fault, FaultBook};
use crate::seed::{self, Rng};
use crate::seen::{SeenLog, SeenRequest};
use crate::{anthropic, gemini, openai};

/// Largest request body accepted (images travel inline as base64).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How long [`SimServer::shutdown`] waits for open connections before abandoning them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// State shared by every handler.
#[derive(Debug)]
pub(crate) struct Shared {
    pub cfg: SimConfig,
    pub faults: FaultBook,
    pub seen: SeenLog,
    ids: AtomicU64,
    salt: u64,
}

impl Shared {
    fn new(cfg: SimConfig) -> Shared {
        let salt = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Shared {
            cfg,
            faults: FaultBook::default(),
            seen: SeenLog::default(),
            ids: AtomicU64::new(0),
            salt,
        }
    }

    /// A fresh alphanumeric id of `len` characters, unique within this server.
    pub(crate) fn next_id(&self, len: usize) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let d = seed::digest(&[&self.salt.to_le_bytes(), &n.to_le_bytes()]);
        Rng::from_digest(&d).alnum(len)
    }
}

/// A running set of simulated providers on one loopback port.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// Starts the simulated providers on `127.0.0.1` with a free port.
    pub async fn start(cfg: SimConfig) -> Result<SimServer, SimError> {
        SimServer::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), cfg).await
    }

    /// Starts the simulated providers on `addr`.
    pub async fn start_on(addr: SocketAddr, cfg: SimConfig) -> Result<SimServer, SimError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let addr = listener.local_addr().map_err(SimError::LocalAddr)?;
        let shared = Arc::new(Shared::new(cfg));
        let app = router(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Like real providers' front ends: small writes (stream chunks) go out at once.
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "simulated providers stopped with an error");
            }
        });
        tracing::debug!(%addr, "simulated providers listening");
        Ok(SimServer {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the simulated OpenAI API: `http://ADDR/openai/v1` (append `/chat/completions`).
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/openai/v1", self.addr)
    }

    /// Base URL of the simulated Anthropic API: `http://ADDR/anthropic` (append `/v1/messages`).
    pub fn anthropic_base_url(&self) -> String {
        format!("http://{}/anthropic", self.addr)
    }

    /// Base URL of the simulated Gemini API: `http://ADDR/gemini`
    /// (append `/v1beta/models/{model}:generateContent`).
    pub fn gemini_base_url(&self) -> String {
        format!("http://{}/gemini", self.addr)
    }

    /// Generation requests received so far (chat completions, messages, generateContent), whatever
    /// their outcome.
    pub fn requests_seen(&self) -> u64 {
        self.shared.seen.total()
    }

    /// Generation requests received so far that named `model`.
    pub fn requests_seen_for(&self, model: &str) -> u64 {
        self.shared.seen.for_model(model)
    }

    /// The most recent generation requests (at most 64), oldest first, credentials redacted.
    pub fn recent_requests(&self) -> Vec<SeenRequest> {
        self.shared.seen.recent()
    }

    /// Makes the next `times` requests for `model` fail with `fault` ([`crate::ANY_MODEL`] matches
    /// every model). Injected faults combine with directives; the injected one wins on conflict.
    pub fn inject(&self, model: impl Into<String>, fault: Fault, times: u32) {
        self.shared.faults.inject(model.into(), fault, times);
    }

    /// Stops accepting connections and waits (briefly) for open ones to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/openai/v1/chat/completions", post(openai::chat))
        .route("/openai/v1/models", get(openai::models))
        .route("/anthropic/v1/messages", post(anthropic::messages))
        .route("/anthropic/v1/models", get(anthropic::models))
        .route("/gemini/v1beta/models", get(gemini::models))
        .route("/gemini/v1beta/models/{call}", post(gemini::generate))
        .route("/gemini/v1/models/{call}", post(gemini::generate))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared)
}

async fn not_found() -> Response {
    let body = serde_json::json!({
        "error": {"message": "Unknown route on the simulated providers.", "type": "invalid_request_error", "param": null, "code": "not_found"}
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}
