//! The governor: who is calling, what they may use, and whether this request fits their
//! rate limits and budgets right now.

use crate::bucket::RatePerMinute;
use crate::clock::{Clock, SystemClock};
use crate::money::{nanos_to_usd, usd_to_nanos};
use crate::store::{CounterStore, RateKind, Reserve, WindowLimit};
use crate::window::{Period, Window};
use crate::{GovernError, KeyHash, KeyPolicy, KeyStore, MemoryStore};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio_util::task::TaskTracker;

/// How long a caller is asked to wait when the rest of a budget is held by requests in flight.
pub const HELD_BUDGET_RETRY: Duration = Duration::from_secs(1);

/// Who made a request: a gateway key, or nobody on an open gateway.
#[derive(Debug, Clone, Default)]
pub struct Principal {
    policy: Option<Arc<KeyPolicy>>,
}

impl Principal {
    /// The caller of an open gateway.
    pub fn anonymous() -> Self {
        Principal::default()
    }

    /// The caller holding `policy`'s key.
    pub fn for_key(policy: Arc<KeyPolicy>) -> Self {
        Principal {
            policy: Some(policy),
        }
    }

    /// The key id (never the key), if any.
    pub fn key_id(&self) -> Option<&str> {
        self.policy.as_deref().map(KeyPolicy::id)
    }

    /// The tenant, if any.
    pub fn tenant(&self) -> Option<&str> {
        self.policy.as_deref().map(KeyPolicy::tenant)
    }

    /// The key's policy, if any.
    pub fn policy(&self) -> Option<&Arc<KeyPolicy>> {
        self.policy.as_ref()
    }

    /// Models the caller may use (`None`: all), e.g. to restrict automatic routing.
    pub fn allowed_models(&self) -> Option<&[String]> {
        self.policy.as_deref().and_then(KeyPolicy::allowed_models)
    }
}

/// What a request is expected to cost, known before it is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Admission {
    /// Tokens to take from the tokens-per-minute bucket now (prompt tokens plus expected
    /// output); corrected to the actual count at settlement.
    pub estimated_tokens: u64,
    /// USD to hold against the budgets while the request runs. Use an upper bound (prompt
    /// tokens at the input price plus the output-token cap at the output price): the
    /// overshoot guarantee holds only when no request costs more than it reserved.
    pub max_cost_usd: f64,
}

/// What a request actually used.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Actual {
    /// Prompt plus completion tokens.
    pub tokens: u64,
    /// Cost in USD.
    pub cost_usd: f64,
}

/// Spend of a key in its current windows.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct KeyUsage {
    /// Charged today (UTC).
    pub spent_today_usd: f64,
    /// Held for requests in flight, today.
    pub reserved_today_usd: f64,
    /// Charged this month (UTC).
    pub spent_this_month_usd: f64,
    /// Held for requests in flight, this month.
    pub reserved_this_month_usd: f64,
}

/// Authenticates callers and enforces their keys' limits. Cheap to clone.
#[derive(Clone)]
pub struct Governor {
    keys: Arc<KeyStore>,
    store: Arc<dyn CounterStore>,
    clock: Arc<dyn Clock>,
    admin: Option<KeyHash>,
    settlements: TaskTracker,
}

impl fmt::Debug for Governor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Governor")
            .field("keys", &self.keys)
            .field("store", &self.store)
            .field("admin_api", &self.admin.is_some())
            .finish()
    }
}

impl Governor {
    /// A governor over `keys` with in-memory counters and the system clock.
    pub fn new(keys: KeyStore) -> Self {
        Self::with_parts(
            Arc::new(keys),
            Arc::new(MemoryStore::new()),
            Arc::new(SystemClock),
        )
    }

    /// A governor over shared keys, a counter store and a clock of the caller's choice.
    pub fn with_parts(
        keys: Arc<KeyStore>,
        store: Arc<dyn CounterStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Governor {
            keys,
            store,
            clock,
            admin: None,
            settlements: TaskTracker::new(),
        }
    }

    /// Counts spend and rates in `store` instead (e.g. a store shared by several gateway
    /// instances); keys, clock and admin key stay. Use it before the first request.
    pub fn with_counter_store(mut self, store: Arc<dyn CounterStore>) -> Self {
        self.store = store;
        self
    }

    /// The counter store.
    pub fn counter_store(&self) -> &Arc<dyn CounterStore> {
        &self.store
    }

    /// Enables the admin API for the key whose hash is `hash`.
    pub fn with_admin_key_hash(mut self, hash: KeyHash) -> Self {
        self.admin = Some(hash);
        self
    }

    /// The keys.
    pub fn keys(&self) -> &Arc<KeyStore> {
        &self.keys
    }

    /// True while no keys exist: every request is let in, anonymously and without limits.
    /// The first key issued through the admin API closes the gateway.
    pub fn is_open(&self) -> bool {
        self.keys.is_empty()
    }

    /// True when an admin key is configured.
    pub fn admin_enabled(&self) -> bool {
        self.admin.is_some()
    }

    /// Checks an `Authorization` header value (`Bearer <key>`).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, GovernError> {
        if self.is_open() {
            return Ok(Principal::anonymous());
        }
        let token = bearer(authorization)?;
        self.keys
            .find(token)
            .map(Principal::for_key)
            .ok_or(GovernError::InvalidKey)
    }

    /// Checks an `Authorization` header against the admin key.
    pub fn authenticate_admin(&self, authorization: Option<&str>) -> Result<(), GovernError> {
        let Some(expected) = self.admin else {
            return Err(GovernError::AdminDisabled);
        };
        let token = bearer(authorization).map_err(|_| GovernError::InvalidAdminKey)?;
        if KeyHash::of(token) == expected {
            Ok(())
        } else {
            Err(GovernError::InvalidAdminKey)
        }
    }

    /// The principal of key `key_id` as identified by an earlier authentication (`None`:
    /// anonymous); 401 if the key was revoked in between.
    pub fn principal(&self, key_id: Option<&str>) -> Result<Principal, GovernError> {
        match key_id {
            None => Ok(Principal::anonymous()),
            Some(id) => self
                .keys
                .get(id)
                .map(Principal::for_key)
                .ok_or(GovernError::InvalidKey),
        }
    }

    /// 403 unless the caller may use `model` (the model that will answer, after routing).
    pub fn check_model(&self, who: &Principal, model: &str) -> Result<(), GovernError> {
        match who.policy.as_deref() {
            Some(p) if !p.allows_model(model) => Err(GovernError::ModelNotAllowed {
                key_id: p.id().to_string(),
                model: model.to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// Admits a request under the caller's rate limits and budgets, holding its estimated
    /// tokens and maximum cost until the returned [`Permit`] is settled. A refused request
    /// takes nothing.
    pub async fn admit(&self, who: &Principal, req: Admission) -> Result<Permit, GovernError> {
        let Some(policy) = who.policy.clone() else {
            return Ok(Permit::unlimited());
        };
        let spec = policy.spec();
        let key_id = policy.id();
        let now = self.clock.now_ms();
        let rpm = spec.requests_per_minute.map(|r| RatePerMinute(r.into()));
        let tpm = spec.tokens_per_minute.map(RatePerMinute);

        if let Some(rate) = rpm {
            if let Err(wait) = self
                .store
                .take(key_id, RateKind::Requests, rate, 1, now)
                .await?
            {
                return Err(rate_limited(key_id, RateKind::Requests, rate, wait));
            }
        }
        if let Some(rate) = tpm {
            let taken = self
                .store
                .take(key_id, RateKind::Tokens, rate, req.estimated_tokens, now)
                .await;
            if !matches!(taken, Ok(Ok(()))) {
                self.undo_rate(key_id, rpm, RateKind::Requests, 1, now)
                    .await;
            }
            if let Err(wait) = taken? {
                return Err(rate_limited(key_id, RateKind::Tokens, rate, wait));
            }
        }

        let windows = [
            WindowLimit {
                window: Window::containing(Period::Day, now),
                limit: policy.daily_nanos(),
            },
            WindowLimit {
                window: Window::containing(Period::Month, now),
                limit: policy.monthly_nanos(),
            },
        ];
        let amount = usd_to_nanos(req.max_cost_usd);
        let reserved = self.store.reserve(key_id, &windows, amount).await;
        if !matches!(reserved, Ok(Reserve::Reserved)) {
            self.undo_rate(key_id, rpm, RateKind::Requests, 1, now)
                .await;
            let tokens = i64::try_from(req.estimated_tokens).unwrap_or(i64::MAX);
            self.undo_rate(key_id, tpm, RateKind::Tokens, tokens, now)
                .await;
        }
        if let Reserve::Denied(d) = reserved? {
            let limit_usd = nanos_to_usd(d.limit);
            let key_id = key_id.to_string();
            let period = d.window.period;
            return Err(if d.spend.spent >= d.limit {
                let resets_at_ms = d.window.end_ms();
                GovernError::BudgetExceeded {
                    key_id,
                    period,
                    limit_usd,
                    resets_at_ms,
                    retry_after: Duration::from_millis(
                        u64::try_from(resets_at_ms.saturating_sub(now)).unwrap_or(0),
                    ),
                }
            } else {
                GovernError::BudgetHeld {
                    key_id,
                    period,
                    limit_usd,
                    retry_after: HELD_BUDGET_RETRY,
                }
            });
        }
        Ok(Permit {
            on_drop: Actual::default(),
            state: Some(PermitState {
                store: self.store.clone(),
                clock: self.clock.clone(),
                settlements: self.settlements.clone(),
                key_id: key_id.to_string(),
                windows: [windows[0].window, windows[1].window],
                reserved: amount,
                estimated_tokens: req.estimated_tokens,
                tpm,
            }),
        })
    }

    async fn undo_rate(
        &self,
        key_id: &str,
        rate: Option<RatePerMinute>,
        kind: RateKind,
        n: i64,
        now: i64,
    ) {
        if let Some(rate) = rate {
            if let Err(e) = self.store.adjust(key_id, kind, rate, -n, now).await {
                tracing::warn!(key_id, error = %e, "could not give back a refused request's rate units");
            }
        }
    }

    /// Spend of key `id` in the current day and month.
    pub async fn usage(&self, id: &str) -> Result<KeyUsage, GovernError> {
        let now = self.clock.now_ms();
        let day = self
            .store
            .spend(id, Window::containing(Period::Day, now))
            .await?;
        let month = self
            .store
            .spend(id, Window::containing(Period::Month, now))
            .await?;
        Ok(KeyUsage {
            spent_today_usd: nanos_to_usd(day.spent),
            reserved_today_usd: nanos_to_usd(day.reserved),
            spent_this_month_usd: nanos_to_usd(month.spent),
            reserved_this_month_usd: nanos_to_usd(month.reserved),
        })
    }

    /// Revokes key `id` and drops its counters; `false` when there was none.
    pub async fn revoke(&self, id: &str) -> Result<bool, GovernError> {
        match self.keys.revoke(id) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(e) => return Err(GovernError::KeysNotSaved(e.to_string())),
        }
        self.store.forget(id).await?;
        Ok(true)
    }

    /// Waits until settlements of permits dropped without [`Permit::settle`] have reached the
    /// store (for shutdown; with the in-memory store they complete at once).
    pub async fn flush(&self) {
        self.settlements.close();
        self.settlements.wait().await;
        self.settlements.reopen();
    }
}

fn bearer(authorization: Option<&str>) -> Result<&str, GovernError> {
    let value = authorization.ok_or(GovernError::MissingKey)?.trim();
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(GovernError::MalformedAuthorization)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(GovernError::MalformedAuthorization);
    }
    Ok(token)
}

fn rate_limited(key_id: &str, kind: RateKind, rate: RatePerMinute, wait: Duration) -> GovernError {
    GovernError::RateLimited {
        key_id: key_id.to_string(),
        kind,
        limit: rate.0,
        retry_after: wait,
    }
}

struct PermitState {
    store: Arc<dyn CounterStore>,
    clock: Arc<dyn Clock>,
    settlements: TaskTracker,
    key_id: String,
    windows: [Window; 2],
    reserved: u64,
    estimated_tokens: u64,
    tpm: Option<RatePerMinute>,
}

impl PermitState {
    fn settle(self, actual: Actual) -> BoxFuture<'static, ()> {
        async move {
            let cost = usd_to_nanos(actual.cost_usd);
            if let Err(e) = self
                .store
                .settle(&self.key_id, &self.windows, self.reserved, cost)
                .await
            {
                tracing::error!(key_id = %self.key_id, error = %e, cost_usd = actual.cost_usd, "could not record spend");
            }
            if let Some(rate) = self.tpm {
                let delta = i128::from(actual.tokens) - i128::from(self.estimated_tokens);
                let delta = i64::try_from(delta).unwrap_or(if delta < 0 { i64::MIN } else { i64::MAX });
                let now = self.clock.now_ms();
                if let Err(e) = self
                    .store
                    .adjust(&self.key_id, RateKind::Tokens, rate, delta, now)
                    .await
                {
                    tracing::warn!(key_id = %self.key_id, error = %e, "could not correct the tokens-per-minute count");
                }
            }
        }
        .boxed()
    }
}

/// An admitted request's hold on its key's budgets and token rate. Settle it with the actual
/// usage when the answer completes ([`Permit::settle`]), or release it when the call failed
/// ([`Permit::release`]). A permit dropped unsettled (the client went away mid-call) releases
/// its hold and charges what [`Permit::charge_if_dropped`] set (nothing by default).
#[must_use = "settle the permit with the actual usage when the answer completes"]
pub struct Permit {
    state: Option<PermitState>,
    on_drop: Actual,
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            None => f.write_str("Permit(open)"),
            Some(s) => f
                .debug_struct("Permit")
                .field("key_id", &s.key_id)
                .field("reserved_usd", &nanos_to_usd(s.reserved))
                .finish(),
        }
    }
}

impl Permit {
    /// A permit that holds nothing (open gateway).
    pub fn unlimited() -> Self {
        Permit {
            state: None,
            on_drop: Actual::default(),
        }
    }

    /// The key id, if the request was made with a key.
    pub fn key_id(&self) -> Option<&str> {
        self.state.as_ref().map(|s| s.key_id.as_str())
    }

    /// USD held for this request.
    pub fn reserved_usd(&self) -> f64 {
        self.state
            .as_ref()
            .map_or(0.0, |s| nanos_to_usd(s.reserved))
    }

    /// Releases the hold and charges `actual`.
    pub async fn settle(mut self, actual: Actual) {
        if let Some(state) = self.state.take() {
            state.settle(actual).await;
        }
    }

    /// What to charge if the permit is dropped unsettled: e.g. the prompt's cost once it was
    /// sent upstream, since providers bill a call the client abandons.
    pub fn charge_if_dropped(&mut self, actual: Actual) {
        self.on_drop = actual;
    }

    /// Releases the hold and charges nothing (the request failed before any usage).
    pub async fn release(self) {
        self.settle(Actual::default()).await;
    }

    /// Like [`Permit::settle`], from code that cannot wait (a stream's end, a drop).
    pub fn settle_in_background(mut self, actual: Actual) {
        if let Some(state) = self.state.take() {
            settle_detached(state, actual);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            settle_detached(state, self.on_drop);
        }
    }
}

/// Settles from a context that cannot wait (a stream being dropped): the in-memory store
/// finishes in one poll; a network store continues in a task tracked by the governor
/// ([`Governor::flush`] waits for it).
fn settle_detached(state: PermitState, actual: Actual) {
    let settlements = state.settlements.clone();
    let key_id = state.key_id.clone();
    let mut fut = state.settle(actual);
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    if let Poll::Ready(()) = fut.poll_unpin(&mut cx) {
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            settlements.spawn_on(fut, &handle);
        }
        Err(_) => {
            tracing::error!(key_id, "a permit could not be settled: no async runtime");
        }
    }
}
