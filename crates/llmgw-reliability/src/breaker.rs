//! Circuit breakers per (provider, model).
//!
//! * **Closed**: calls go through. It opens after `consecutive_failures` failures in a row, or
//!   when at least `min_calls` of the last `window` calls were made and the share of failures
//!   among them reaches `failure_rate`.
//! * **Open**: calls are refused for `cool_down`.
//! * **Half-open**: after the cool-down one probe call is let through (others are refused while
//!   it runs). Success closes the breaker; failure opens it for another cool-down.
//!
//! Only failures of the provider count ([`crate::Failure::trips_breaker`]): a bad request says
//! nothing about the provider's health. Outcomes of calls that were let through before the
//! breaker opened are ignored once it is open.
//!
//! The registry holds one breaker per (provider, model) pair it has seen; pairs come from the
//! configured catalog, so it stays as small as the catalog.

use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// When a breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Failures in a row that open the breaker.
    pub consecutive_failures: u32,
    /// Share of failures (0..=1) among the last `window` calls that opens it.
    pub failure_rate: f64,
    /// Calls remembered for the failure rate.
    pub window: u32,
    /// Calls needed in the window before the rate counts.
    pub min_calls: u32,
    /// How long an open breaker refuses calls before a probe.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    /// 5 failures in a row, or half of the last 20 calls (at least 10), open it for 30 s.
    fn default() -> Self {
        BreakerConfig {
            consecutive_failures: 5,
            failure_rate: 0.5,
            window: 20,
            min_calls: 10,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// The state of a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are refused until the cool-down ends.
    Open,
    /// A probe may go (or is running).
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open` or `half_open`.
    pub fn as_str(&self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    /// 0 closed, 1 half-open, 2 open (for a metrics gauge).
    pub fn gauge(&self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        }
    }
}

/// A breaker's state for `/health` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerStatus {
    /// Provider name.
    pub provider: String,
    /// Model.
    pub model: String,
    /// State (an open breaker whose cool-down has ended shows as half-open).
    pub state: BreakerState,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// Failures among the remembered calls.
    pub window_failures: u32,
    /// Remembered calls.
    pub window_calls: u32,
    /// How often it opened.
    pub times_opened: u64,
    /// Milliseconds until an open breaker lets a probe through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
struct Breaker {
    phase: Phase,
    consecutive: u32,
    window: VecDeque<bool>,
    times_opened: u64,
}

impl Breaker {
    fn new() -> Self {
        Breaker {
            phase: Phase::Closed,
            consecutive: 0,
            window: VecDeque::new(),
            times_opened: 0,
        }
    }

    fn open(&mut self, cfg: &BreakerConfig, now: Instant) {
        self.phase = Phase::Open {
            until: now + cfg.cool_down,
        };
        self.times_opened += 1;
        self.consecutive = 0;
        self.window.clear();
    }

    fn record(&mut self, cfg: &BreakerConfig, ok: bool, probe: bool, now: Instant) {
        match self.phase {
            Phase::HalfOpen { probing: true } if probe => {
                if ok {
                    self.phase = Phase::Closed;
                    self.consecutive = 0;
                    self.window.clear();
                } else {
                    self.open(cfg, now);
                }
            }
            Phase::Closed if !probe => {
                if self.window.len() >= cfg.window.max(1) as usize {
                    self.window.pop_front();
                }
                self.window.push_back(ok);
                self.consecutive = if ok { 0 } else { self.consecutive + 1 };
                let calls = self.window.len() as u32;
                let failures = self.window.iter().filter(|ok| !**ok).count() as u32;
                let by_count = self.consecutive >= cfg.consecutive_failures.max(1);
                let by_rate = calls >= cfg.min_calls.max(1)
                    && f64::from(failures) >= cfg.failure_rate * f64::from(calls);
                if !ok && (by_count || by_rate) {
                    self.open(cfg, now);
                }
            }
            // A late outcome of a call let through before the state changed.
            _ => {}
        }
    }
}

type Key = (String, String);

#[derive(Debug)]
struct Inner {
    cfg: BreakerConfig,
    breakers: Mutex<BTreeMap<Key, Breaker>>,
}

/// The breakers of every (provider, model). Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Breakers {
    inner: Arc<Inner>,
}

/// A call let through by a breaker; report how it went with [`BreakerPermit::success`] or
/// [`BreakerPermit::failure`]. Dropped unreported (cancelled), it changes nothing and frees the
/// probe slot of a half-open breaker.
#[derive(Debug)]
#[must_use = "report the call's outcome"]
pub struct BreakerPermit {
    breakers: Breakers,
    key: Key,
    probe: bool,
    reported: bool,
}

impl BreakerPermit {
    /// The call succeeded.
    pub fn success(mut self) {
        self.report(true);
    }

    /// The provider failed.
    pub fn failure(mut self) {
        self.report(false);
    }

    /// True when this call is the probe of a half-open breaker.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    fn report(&mut self, ok: bool) {
        self.reported = true;
        let cfg = self.breakers.inner.cfg;
        let mut map = self.breakers.lock();
        if let Some(b) = map.get_mut(&self.key) {
            b.record(&cfg, ok, self.probe, Instant::now());
        }
    }
}

impl Drop for BreakerPermit {
    fn drop(&mut self) {
        if self.reported || !self.probe {
            return;
        }
        let mut map = self.breakers.lock();
        if let Some(b) = map.get_mut(&self.key) {
            if b.phase == (Phase::HalfOpen { probing: true }) {
                b.phase = Phase::HalfOpen { probing: false };
            }
        }
    }
}

impl Default for Breakers {
    fn default() -> Self {
        Breakers::new(BreakerConfig::default())
    }
}

impl Breakers {
    /// A registry whose breakers follow `cfg`.
    pub fn new(cfg: BreakerConfig) -> Self {
        Breakers {
            inner: Arc::new(Inner {
                cfg,
                breakers: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BreakerConfig {
        &self.inner.cfg
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Key, Breaker>> {
        // Each update is a complete assignment under the lock; a poisoned lock is still sound.
        self.inner
            .breakers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Lets a call to (provider, model) through, or says how long until it may be tried
    /// (zero while a half-open breaker's probe is running).
    pub fn acquire(&self, provider: &str, model: &str) -> Result<BreakerPermit, Duration> {
        let now = Instant::now();
        let key = (provider.to_string(), model.to_string());
        let mut map = self.lock();
        let b = map.entry(key.clone()).or_insert_with(Breaker::new);
        let probe = match b.phase {
            Phase::Closed => false,
            Phase::Open { until } if now < until => return Err(until - now),
            Phase::Open { .. } | Phase::HalfOpen { probing: false } => {
                b.phase = Phase::HalfOpen { probing: true };
                true
            }
            Phase::HalfOpen { probing: true } => return Err(Duration::ZERO),
        };
        drop(map);
        Ok(BreakerPermit {
            breakers: self.clone(),
            key,
            probe,
            reported: false,
        })
    }

    /// The state of (provider, model) now (closed if never seen).
    pub fn state(&self, provider: &str, model: &str) -> BreakerState {
        let map = self.lock();
        map.get(&(provider.to_string(), model.to_string()))
            .map_or(BreakerState::Closed, |b| {
                public_state(b.phase, Instant::now())
            })
    }

    /// Every breaker, ordered by provider and model.
    pub fn snapshot(&self) -> Vec<BreakerStatus> {
        let now = Instant::now();
        self.lock()
            .iter()
            .map(|((provider, model), b)| BreakerStatus {
                provider: provider.clone(),
                model: model.clone(),
                state: public_state(b.phase, now),
                consecutive_failures: b.consecutive,
                window_failures: b.window.iter().filter(|ok| !**ok).count() as u32,
                window_calls: b.window.len() as u32,
                times_opened: b.times_opened,
                retry_in_ms: match b.phase {
                    Phase::Open { until } if now < until => {
                        Some(u64::try_from((until - now).as_millis()).unwrap_or(u64::MAX))
                    }
                    _ => None,
                },
            })
            .collect()
    }
}

fn public_state(phase: Phase, now: Instant) -> BreakerState {
    match phase {
        Phase::Closed => BreakerState::Closed,
        Phase::Open { until } if now < until => BreakerState::Open,
        Phase::Open { .. } | Phase::HalfOpen { .. } => BreakerState::HalfOpen,
    }
}
