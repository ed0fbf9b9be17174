//! Where spend and rate-limit counters live: a small trait, so that several gateway instances
//! can share them in an external store, and the in-memory default ([`crate::MemoryStore`]).

use crate::bucket::RatePerMinute;
use crate::Window;
use futures::future::BoxFuture;
use std::fmt;
use std::time::Duration;

/// One budget window to reserve in, with its limit (nano-dollars); `None` only tracks spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimit {
    /// The window.
    pub window: Window,
    /// The limit in nano-dollars.
    pub limit: Option<u64>,
}

/// Spend in one window, in nano-dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowSpend {
    /// Charged from answers that completed.
    pub spent: u64,
    /// Held for requests still in flight.
    pub reserved: u64,
}

/// Why a reservation was refused: the first window whose limit it would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetDenial {
    /// The window.
    pub window: Window,
    /// Its limit (nano-dollars).
    pub limit: u64,
    /// Its spend at the time.
    pub spend: WindowSpend,
}

/// What [`CounterStore::reserve`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserve {
    /// The amount is now held in every window.
    Reserved,
    /// Nothing was held.
    Denied(BudgetDenial),
}

/// Which rate a bucket limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RateKind {
    /// Requests per minute.
    Requests,
    /// Tokens per minute.
    Tokens,
}

/// A failure of the store itself (a network store that cannot be reached).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("counter store: {0}")]
pub struct StoreError(pub String);

/// Spend and rate counters per key.
///
/// Every method is one atomic step for the key it names: an implementation on a shared store
/// runs each as one transaction or script, so that concurrent gateway instances can never both
/// take the last of a budget.
///
/// **Reservation rule** ([`CounterStore::reserve`]): `amount` is admitted into a window with
/// limit `L`, spend `s` and reservations `r` when `s + r + amount <= L`, or when `r == 0` and
/// `s < L` (a lone request may use up the rest of a budget even when its worst-case cost is
/// larger than what is left). Together with settling at the actual cost, this bounds a window's
/// final spend by `L` plus the cost of one request, however many requests race for it, as long
/// as each reservation is at least the request's actual cost (see the crate docs).
pub trait CounterStore: Send + Sync + fmt::Debug + 'static {
    /// Atomically checks every window of `windows` and, if all admit `amount` (nano-dollars),
    /// holds it in all of them; otherwise holds nothing.
    fn reserve<'a>(
        &'a self,
        key_id: &'a str,
        windows: &'a [WindowLimit],
        amount: u64,
    ) -> BoxFuture<'a, Result<Reserve, StoreError>>;

    /// Releases `reserved` and charges `actual` in each of `windows` (the windows the
    /// reservation was made in).
    fn settle<'a>(
        &'a self,
        key_id: &'a str,
        windows: &'a [Window],
        reserved: u64,
        actual: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Spend in `window`.
    fn spend<'a>(
        &'a self,
        key_id: &'a str,
        window: Window,
    ) -> BoxFuture<'a, Result<WindowSpend, StoreError>>;

    /// Takes `n` units from the key's bucket of `kind` (see [`crate::bucket`]), or returns how
    /// long until they are there (`Ok(Err(wait))`).
    fn take<'a>(
        &'a self,
        key_id: &'a str,
        kind: RateKind,
        rate: RatePerMinute,
        n: u64,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Result<(), Duration>, StoreError>>;

    /// Takes `delta` more units (positive) or gives `-delta` back, without a check.
    fn adjust<'a>(
        &'a self,
        key_id: &'a str,
        kind: RateKind,
        rate: RatePerMinute,
        delta: i64,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Drops every counter of a key (after it is revoked).
    fn forget<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}
