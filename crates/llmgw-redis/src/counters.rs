//! [`RedisCounterStore`]: budget and rate-limit counters in Redis, shared by every gateway
//! instance that points at the same server and prefix.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use futures::FutureExt;
use llmgw_governance::bucket::RatePerMinute;
use llmgw_governance::{
    BudgetDenial, CounterStore, RateKind, Reserve, StoreError, Window, WindowLimit, WindowSpend,
};
use redis::Script;

use crate::connection::{RedisConnection, RedisError};

/// Largest amount kept exactly (2^53 − 1 nano-dollars, about $9M): Redis scripts count in
/// doubles. Larger amounts and limits count as this much.
pub const MAX_EXACT: u64 = (1 << 53) - 1;

/// Largest rate or unit count kept exactly in a token bucket (its level is units × 60,000).
pub const MAX_BUCKET_UNITS: u64 = 150_000_000_000;

/// How long a budget window's counters are kept after the window ends (requests admitted at
/// its end may still settle in it).
pub const WINDOW_GRACE: Duration = Duration::from_secs(24 * 3600);

/// After a failed admission check, how long admission checks skip Redis (and fail at once,
/// as configured) before trying again, so that an outage does not make every request wait
/// for the time limit. Settlements are always tried.
pub const ADMISSION_RETRY_AFTER: Duration = Duration::from_secs(1);

/// What the gateway does when the counter store cannot be reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnCounterError {
    /// Refuse requests of keys with limits (503 `counters_unavailable`): no spend goes
    /// uncounted. The default.
    #[default]
    Refuse,
    /// Let requests through uncounted and log it: availability over limits.
    Allow,
}

/// Counts of failures, for logs and metrics.
#[derive(Debug, Default)]
pub struct CounterStoreStats {
    errors: AtomicU64,
    skipped: AtomicU64,
    allowed_uncounted: AtomicU64,
}

impl CounterStoreStats {
    /// Operations that failed (timeout or error), since start.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Admission checks not tried because Redis failed just before
    /// ([`ADMISSION_RETRY_AFTER`]), since start.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Requests let through uncounted under [`OnCounterError::Allow`], since start.
    pub fn allowed_uncounted(&self) -> u64 {
        self.allowed_uncounted.load(Ordering::Relaxed)
    }
}

struct Scripts {
    reserve: Script,
    settle: Script,
    spend: Script,
    take: Script,
    adjust: Script,
    forget: Script,
}

const PRELUDE: &str = include_str!("lua/prelude.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}\n{body}"))
}

impl Scripts {
    fn new() -> Self {
        Scripts {
            reserve: script(include_str!("lua/reserve.lua")),
            settle: script(include_str!("lua/settle.lua")),
            spend: script(include_str!("lua/spend.lua")),
            take: script(include_str!("lua/take.lua")),
            adjust: script(include_str!("lua/adjust.lua")),
            forget: script(include_str!("lua/forget.lua")),
        }
    }
}

/// Spend and rate counters in Redis, with the semantics of
/// [`llmgw_governance::MemoryStore`]: each method is one Lua script, so it is atomic across
/// every gateway instance using the server. A key's counters are one hash,
/// `<prefix>:counters:<key id>`, that expires a day after its last budget window ends (and
/// not before its token buckets would be full again).
#[derive(Clone)]
pub struct RedisCounterStore {
    redis: RedisConnection,
    prefix: String,
    on_error: OnCounterError,
    scripts: Arc<Scripts>,
    stats: Arc<CounterStoreStats>,
    started: Instant,
    /// Milliseconds after `started` until which admission checks skip Redis.
    skip_until_ms: Arc<AtomicU64>,
    /// Milliseconds after `started` of the last failure logged (one a second at most).
    logged_ms: Arc<AtomicU64>,
}

impl fmt::Debug for RedisCounterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCounterStore")
            .field("redis", &self.redis)
            .field("prefix", &self.prefix)
            .field("on_error", &self.on_error)
            .finish()
    }
}

fn kind_name(kind: RateKind) -> &'static str {
    match kind {
        RateKind::Requests => "requests",
        RateKind::Tokens => "tokens",
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Milliseconds to keep counters of `windows`: until the last one ends, plus
/// [`WINDOW_GRACE`].
fn window_ttl_ms<'a>(windows: impl Iterator<Item = &'a Window>) -> u64 {
    let now = now_ms();
    let left = windows
        .map(|w| w.end_ms().saturating_sub(now).max(0))
        .max()
        .unwrap_or(0);
    u64::try_from(left)
        .unwrap_or(0)
        .saturating_add(WINDOW_GRACE.as_millis() as u64)
        .min(MAX_EXACT)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl RedisCounterStore {
    /// Counters under `<prefix>:counters:` on `redis`.
    pub fn new(redis: RedisConnection, prefix: &str, on_error: OnCounterError) -> Self {
        RedisCounterStore {
            redis,
            prefix: prefix.to_string(),
            on_error,
            scripts: Arc::new(Scripts::new()),
            stats: Arc::new(CounterStoreStats::default()),
            started: Instant::now(),
            skip_until_ms: Arc::new(AtomicU64::new(0)),
            logged_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Failure counts.
    pub fn stats(&self) -> &Arc<CounterStoreStats> {
        &self.stats
    }

    /// What happens when Redis cannot be reached.
    pub fn on_error(&self) -> OnCounterError {
        self.on_error
    }

    /// The Redis key of `key_id`'s counters.
    pub fn redis_key(&self, key_id: &str) -> String {
        format!("{}:counters:{key_id}", self.prefix)
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Counts and logs (at most once a second, with the redacted URL) a failure; the
    /// returned error names no server, as it may reach API clients.
    fn failed(&self, e: RedisError) -> StoreError {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        let now = self.elapsed_ms();
        let last = self.logged_ms.load(Ordering::Relaxed);
        if last == 0 || now.saturating_sub(last) >= 1000 {
            self.logged_ms.store(now.max(1), Ordering::Relaxed);
            tracing::warn!(error = %e, on_error = ?self.on_error, "budget and rate-limit counters: Redis failed");
        }
        StoreError(e.brief())
    }

    /// A failed admission check: Redis is skipped for [`ADMISSION_RETRY_AFTER`].
    fn admission_failed(&self, e: RedisError) -> StoreError {
        let until = self
            .elapsed_ms()
            .saturating_add(ADMISSION_RETRY_AFTER.as_millis() as u64);
        self.skip_until_ms.store(until, Ordering::Relaxed);
        self.failed(e)
    }

    /// `Err` while admission checks skip Redis after a failure.
    fn admission_available(&self, op: &str) -> Result<(), StoreError> {
        if self.elapsed_ms() < self.skip_until_ms.load(Ordering::Relaxed) {
            self.stats.skipped.fetch_add(1, Ordering::Relaxed);
            return Err(StoreError(format!(
                "Redis: {op} not tried: Redis failed less than {} s ago",
                ADMISSION_RETRY_AFTER.as_secs()
            )));
        }
        Ok(())
    }

    /// Under [`OnCounterError::Allow`], turns a failed admission check into `allowed`.
    fn admit_on_error<T>(
        &self,
        key_id: &str,
        what: &str,
        r: Result<T, StoreError>,
        allowed: T,
    ) -> Result<T, StoreError> {
        match r {
            Err(e) if self.on_error == OnCounterError::Allow => {
                self.stats.allowed_uncounted.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(key_id, error = %e, "{what} not checked: counters unavailable, request let through (on_counter_error = \"allow\")");
                Ok(allowed)
            }
            other => other,
        }
    }

    async fn reserve_now(
        &self,
        key_id: &str,
        windows: &[WindowLimit],
        amount: u64,
    ) -> Result<Reserve, StoreError> {
        let ids: Vec<String> = windows.iter().map(|w| w.window.id()).collect();
        let mut inv = self.scripts.reserve.prepare_invoke();
        inv.key(self.redis_key(key_id))
            .arg(amount.min(MAX_EXACT))
            .arg(window_ttl_ms(windows.iter().map(|w| &w.window)));
        for (w, id) in windows.iter().zip(&ids) {
            let limit = w.limit.map_or(-1, |l| l.min(MAX_EXACT) as i64);
            inv.arg(id).arg(limit);
        }
        let op = format!("reserving budget for key `{key_id}`");
        self.admission_available(&op)?;
        let reply: Vec<i64> = self
            .redis
            .invoke(&op, &inv)
            .await
            .map_err(|e| self.admission_failed(e))?;
        match reply.as_slice() {
            [1] => Ok(Reserve::Reserved),
            [0, index, spent, reserved] => {
                let i = usize::try_from(*index).unwrap_or(0).saturating_sub(1);
                let wl = windows.get(i).ok_or_else(|| {
                    StoreError(format!(
                        "{op}: the script named window {index} of {}",
                        windows.len()
                    ))
                })?;
                Ok(Reserve::Denied(BudgetDenial {
                    window: wl.window,
                    limit: wl.limit.unwrap_or(u64::MAX),
                    spend: WindowSpend {
                        spent: to_u64(*spent),
                        reserved: to_u64(*reserved),
                    },
                }))
            }
            other => Err(StoreError(format!("{op}: unexpected reply {other:?}"))),
        }
    }

    async fn take_now(
        &self,
        key_id: &str,
        kind: RateKind,
        rate: RatePerMinute,
        n: u64,
        now_ms: i64,
    ) -> Result<Result<(), Duration>, StoreError> {
        let mut inv = self.scripts.take.prepare_invoke();
        inv.key(self.redis_key(key_id))
            .arg(kind_name(kind))
            .arg(rate.0.min(MAX_BUCKET_UNITS))
            .arg(n.min(MAX_BUCKET_UNITS))
            .arg(now_ms);
        let op = format!(
            "taking from the {} bucket of key `{key_id}`",
            kind_name(kind)
        );
        self.admission_available(&op)?;
        let wait: i64 = self
            .redis
            .invoke(&op, &inv)
            .await
            .map_err(|e| self.admission_failed(e))?;
        Ok(match wait {
            0 => Ok(()),
            ms => Err(Duration::from_millis(to_u64(ms).max(1))),
        })
    }
}

impl CounterStore for RedisCounterStore {
    fn reserve<'a>(
        &'a self,
        key_id: &'a str,
        windows: &'a [WindowLimit],
        amount: u64,
    ) -> BoxFuture<'a, Result<Reserve, StoreError>> {
        async move {
            let r = self.reserve_now(key_id, windows, amount).await;
            self.admit_on_error(key_id, "budget", r, Reserve::Reserved)
        }
        .boxed()
    }

    fn settle<'a>(
        &'a self,
        key_id: &'a str,
        windows: &'a [Window],
        reserved: u64,
        actual: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let mut inv = self.scripts.settle.prepare_invoke();
            inv.key(self.redis_key(key_id))
                .arg(reserved.min(MAX_EXACT))
                .arg(actual.min(MAX_EXACT))
                .arg(window_ttl_ms(windows.iter()));
            for w in windows {
                inv.arg(w.id());
            }
            let op = format!("recording spend of key `{key_id}`");
            self.redis
                .invoke::<i64>(&op, &inv)
                .await
                .map(|_| ())
                .map_err(|e| self.failed(e))
        }
        .boxed()
    }

    fn spend<'a>(
        &'a self,
        key_id: &'a str,
        window: Window,
    ) -> BoxFuture<'a, Result<WindowSpend, StoreError>> {
        async move {
            let mut inv = self.scripts.spend.prepare_invoke();
            inv.key(self.redis_key(key_id)).arg(window.id());
            let op = format!("reading spend of key `{key_id}`");
            let reply: Vec<i64> = self
                .redis
                .invoke(&op, &inv)
                .await
                .map_err(|e| self.failed(e))?;
            match reply.as_slice() {
                [spent, reserved] => Ok(WindowSpend {
                    spent: to_u64(*spent),
                    reserved: to_u64(*reserved),
                }),
                other => Err(StoreError(format!("{op}: unexpected reply {other:?}"))),
            }
        }
        .boxed()
    }

    fn take<'a>(
        &'a self,
        key_id: &'a str,
        kind: RateKind,
        rate: RatePerMinute,
        n: u64,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Result<(), Duration>, StoreError>> {
        async move {
            let r = self.take_now(key_id, kind, rate, n, now_ms).await;
            self.admit_on_error(key_id, "rate limit", r, Ok(()))
        }
        .boxed()
    }

    fn adjust<'a>(
        &'a self,
        key_id: &'a str,
        kind: RateKind,
        rate: RatePerMinute,
        delta: i64,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let bound = MAX_BUCKET_UNITS as i64;
            let mut inv = self.scripts.adjust.prepare_invoke();
            inv.key(self.redis_key(key_id))
                .arg(kind_name(kind))
                .arg(rate.0.min(MAX_BUCKET_UNITS))
                .arg(delta.clamp(-bound, bound))
                .arg(now_ms);
            let op = format!(
                "correcting the {} bucket of key `{key_id}`",
                kind_name(kind)
            );
            self.redis
                .invoke::<i64>(&op, &inv)
                .await
                .map(|_| ())
                .map_err(|e| self.failed(e))
        }
        .boxed()
    }

    fn forget<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let mut inv = self.scripts.forget.prepare_invoke();
            inv.key(self.redis_key(key_id));
            let op = format!("dropping the counters of key `{key_id}`");
            self.redis
                .invoke::<i64>(&op, &inv)
                .await
                .map(|_| ())
                .map_err(|e| self.failed(e))
        }
        .boxed()
    }
}
