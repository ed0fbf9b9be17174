//! The in-memory [`CounterStore`]: one process, one mutex, nothing to set up.

use crate::bucket::{Bucket, RatePerMinute};
use crate::store::{
    BudgetDenial, CounterStore, RateKind, Reserve, StoreError, WindowLimit, WindowSpend,
};
use crate::Window;
use futures::future::{self, BoxFuture, FutureExt};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

#[derive(Debug, Default)]
struct KeyCounters {
    /// Only the current windows and older ones with requests still in flight are kept.
    windows: HashMap<Window, WindowSpend>,
    buckets: HashMap<RateKind, Bucket>,
}

/// Counters in this process's memory. Memory grows with the number of keys only: each key
/// keeps its current day and month (plus an older window while a request admitted in it is
/// still running) and two buckets.
#[derive(Debug, Default)]
pub struct MemoryStore {
    keys: Mutex<HashMap<String, KeyCounters>>,
}

/// How much a [`MemoryStore`] holds: what its memory grows with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Keys with counters.
    pub keys: usize,
    /// Budget windows, all keys together.
    pub windows: usize,
    /// Rate buckets, all keys together.
    pub buckets: usize,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// What the store holds now.
    pub fn footprint(&self) -> Footprint {
        let keys = self.lock();
        Footprint {
            keys: keys.len(),
            windows: keys.values().map(|c| c.windows.len()).sum(),
            buckets: keys.values().map(|c| c.buckets.len()).sum(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, KeyCounters>> {
        // A panic while holding the lock cannot leave the counters half-updated (every update is
        // a single assignment), so a poisoned lock is still usable.
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reserve_now(&self, key_id: &str, windows: &[WindowLimit], amount: u64) -> Reserve {
        let mut keys = self.lock();
        let counters = keys.entry(key_id.to_string()).or_default();
        counters
            .windows
            .retain(|w, s| s.reserved > 0 || windows.iter().any(|l| l.window == *w));
        for wl in windows {
            let Some(limit) = wl.limit else { continue };
            let spend = counters
                .windows
                .get(&wl.window)
                .copied()
                .unwrap_or_default();
            let fits = spend
                .spent
                .saturating_add(spend.reserved)
                .saturating_add(amount)
                <= limit;
            let lone = spend.reserved == 0 && spend.spent < limit;
            if !(fits || lone) {
                return Reserve::Denied(BudgetDenial {
                    window: wl.window,
                    limit,
                    spend,
                });
            }
        }
        for wl in windows {
            let s = counters.windows.entry(wl.window).or_default();
            s.reserved = s.reserved.saturating_add(amount);
        }
        Reserve::Reserved
    }

    fn settle_now(&self, key_id: &str, windows: &[Window], reserved: u64, actual: u64) {
        let mut keys = self.lock();
        let counters = keys.entry(key_id.to_string()).or_default();
        for w in windows {
            let s = counters.windows.entry(*w).or_default();
            s.reserved = s.reserved.saturating_sub(reserved);
            s.spent = s.spent.saturating_add(actual);
        }
    }

    fn bucket<R>(
        &self,
        key_id: &str,
        kind: RateKind,
        rate: RatePerMinute,
        now_ms: i64,
        f: impl FnOnce(&mut Bucket) -> R,
    ) -> R {
        let mut keys = self.lock();
        let counters = keys.entry(key_id.to_string()).or_default();
        let bucket = counters
            .buckets
            .entry(kind)
            .or_insert_with(|| Bucket::full(rate, now_ms));
        f(bucket)
    }
}

impl CounterStore for MemoryStore {
    fn reserve<'a>(
        &'a self,
        key_id: &'a str,
        windows: &'a [WindowLimit],
        amount: u64,
    ) -> BoxFuture<'a, Result<Reserve, StoreError>> {
        future::ready(Ok(self.reserve_now(key_id, windows, amount))).boxed()
    }

    fn settle<'a>(
        &'a self,
        key_id: &'a str,
        windows: &'a [Window],
        reserved: u64,
        actual: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.settle_now(key_id, windows, reserved, actual);
        future::ready(Ok(())).boxed()
    }

    fn spend<'a>(
        &'a self,
        key_id: &'a str,
        window: Window,
    ) -> BoxFuture<'a, Result<WindowSpend, StoreError>> {
        let spend = self
            .lock()
            .get(key_id)
            .and_then(|c| c.windows.get(&window).copied())
            .unwrap_or_default();
        future::ready(Ok(spend)).boxed()
    }

    fn take<'a>(
        &'a self,
        key_id: &'a str,
        kind: RateKind,
        rate: RatePerMinute,
        n: u64,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Result<(), Duration>, StoreError>> {
        let r = self.bucket(key_id, kind, rate, now_ms, |b| b.take(rate, n, now_ms));
        future::ready(Ok(r)).boxed()
    }

    fn adjust<'a>(
        &'a self,
        key_id: &'a str,
        kind: RateKind,
        rate: RatePerMinute,
        delta: i64,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.bucket(key_id, kind, rate, now_ms, |b| {
            b.adjust(rate, delta, now_ms)
        });
        future::ready(Ok(())).boxed()
    }

    fn forget<'a>(&'a self, key_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.lock().remove(key_id);
        future::ready(Ok(())).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::Period;
    use futures::executor::block_on;

    fn day(ms: i64) -> Window {
        Window::containing(Period::Day, ms)
    }

    #[test]
    fn reservation_rule() {
        let s = MemoryStore::new();
        let w = [WindowLimit {
            window: day(0),
            limit: Some(100),
        }];
        // A lone request may reserve more than the whole budget…
        assert_eq!(
            block_on(s.reserve("k", &w, 150)).unwrap(),
            Reserve::Reserved
        );
        // …but nothing joins it while it runs.
        assert!(matches!(
            block_on(s.reserve("k", &w, 1)).unwrap(),
            Reserve::Denied(_)
        ));
        block_on(s.settle("k", &[day(0)], 150, 40)).unwrap();
        assert_eq!(
            block_on(s.spend("k", day(0))).unwrap(),
            WindowSpend {
                spent: 40,
                reserved: 0
            }
        );
        assert_eq!(block_on(s.reserve("k", &w, 30)).unwrap(), Reserve::Reserved);
        assert_eq!(block_on(s.reserve("k", &w, 30)).unwrap(), Reserve::Reserved);
        let Reserve::Denied(d) = block_on(s.reserve("k", &w, 1)).unwrap() else {
            panic!("100 of 100 held")
        };
        assert_eq!((d.limit, d.spend.spent, d.spend.reserved), (100, 40, 60));
        // Other keys are unaffected.
        assert_eq!(
            block_on(s.reserve("j", &w, 100)).unwrap(),
            Reserve::Reserved
        );
    }

    #[test]
    fn all_or_nothing_across_windows_and_old_windows_pruned() {
        let s = MemoryStore::new();
        let month = Window::containing(Period::Month, 0);
        let ws = [
            WindowLimit {
                window: day(0),
                limit: Some(1_000),
            },
            WindowLimit {
                window: month,
                limit: Some(10),
            },
        ];
        block_on(s.settle("k", &[month], 0, 10)).unwrap();
        assert!(matches!(
            block_on(s.reserve("k", &ws, 5)).unwrap(),
            Reserve::Denied(d) if d.window == month
        ));
        assert_eq!(block_on(s.spend("k", day(0))).unwrap().reserved, 0);
        // The next day's reservation forgets the finished day.
        block_on(s.settle("k", &[day(0)], 0, 7)).unwrap();
        let next = [WindowLimit {
            window: day(86_400_000),
            limit: None,
        }];
        assert_eq!(
            block_on(s.reserve("k", &next, 5)).unwrap(),
            Reserve::Reserved
        );
        assert_eq!(block_on(s.spend("k", day(0))).unwrap().spent, 0);
        assert_eq!(s.lock()["k"].windows.len(), 1);
        assert_eq!(
            s.footprint(),
            Footprint {
                keys: 1,
                windows: 1,
                buckets: 0
            }
        );
    }
}
