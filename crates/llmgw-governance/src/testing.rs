//! A conformance battery for [`CounterStore`] implementations (feature `testing`).
//!
//! Every store must behave like [`MemoryStore`], the reference: the reservation rule, windows
//! that roll over by period, all-or-nothing reservations across windows, the token-bucket
//! arithmetic of [`crate::bucket`] and `forget`. [`check_counter_store`] runs every check
//! against a store; [`check_against_reference`] drives the store and a fresh `MemoryStore`
//! with the same random operations and compares every answer.
//!
//! Checks use key ids that start with `tag`, so a store shared with other tests (one Redis
//! server) is not disturbed and does not disturb them. Numbers stay below 2^53: a store may
//! keep counters as doubles (Redis scripts do).
//!
//! ```no_run
//! # async fn demo() {
//! let store = llmgw_governance::MemoryStore::new();
//! llmgw_governance::testing::check_counter_store(&store, "conformance").await;
//! # }
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::bucket::{Bucket, RatePerMinute};
use crate::store::{CounterStore, RateKind, Reserve, WindowLimit, WindowSpend};
use crate::window::{Period, Window};
use crate::MemoryStore;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// 2026-12-31T23:59:59.500Z: half a second before a day, a month and a year roll over.
pub const NEW_YEARS_EVE_MS: i64 = 1_798_761_599_500;

fn day(ms: i64) -> Window {
    Window::containing(Period::Day, ms)
}

fn month(ms: i64) -> Window {
    Window::containing(Period::Month, ms)
}

fn limit(window: Window, limit: Option<u64>) -> WindowLimit {
    WindowLimit { window, limit }
}

async fn spend(store: &dyn CounterStore, key: &str, w: Window) -> WindowSpend {
    store.spend(key, w).await.expect("spend")
}

async fn reserve(store: &dyn CounterStore, key: &str, ws: &[WindowLimit], amount: u64) -> Reserve {
    store.reserve(key, ws, amount).await.expect("reserve")
}

async fn settle(store: &dyn CounterStore, key: &str, ws: &[Window], reserved: u64, actual: u64) {
    store
        .settle(key, ws, reserved, actual)
        .await
        .expect("settle");
}

async fn take(
    store: &dyn CounterStore,
    key: &str,
    kind: RateKind,
    rate: u64,
    n: u64,
    now: i64,
) -> Result<(), Duration> {
    store
        .take(key, kind, RatePerMinute(rate), n, now)
        .await
        .expect("take")
}

async fn adjust(store: &dyn CounterStore, key: &str, kind: RateKind, rate: u64, d: i64, now: i64) {
    store
        .adjust(key, kind, RatePerMinute(rate), d, now)
        .await
        .expect("adjust");
}

/// Runs every check of the battery against `store`.
pub async fn check_counter_store(store: &dyn CounterStore, tag: &str) {
    reservation_rule(store, tag).await;
    all_or_nothing_across_windows(store, tag).await;
    windows_roll_over_by_period(store, tag).await;
    settle_saturates_and_untracked_windows_count(store, tag).await;
    buckets_burst_wait_and_refill(store, tag).await;
    buckets_debt_refunds_and_kinds(store, tag).await;
    forget_drops_every_counter(store, tag).await;
    check_against_reference(store, tag, 0x5eed, 400).await;
}

/// The reservation rule: `s + r + amount <= L`, or a lone request while `s < L`; keys are
/// independent.
pub async fn reservation_rule(store: &dyn CounterStore, tag: &str) {
    let (k, j) = (format!("{tag}-rule-k"), format!("{tag}-rule-j"));
    let d = day(NEW_YEARS_EVE_MS);
    let w = [limit(d, Some(100))];
    assert_eq!(spend(store, &k, d).await, WindowSpend::default());
    // A lone request may reserve more than the whole budget…
    assert_eq!(reserve(store, &k, &w, 150).await, Reserve::Reserved);
    // …but nothing joins it while it runs.
    let Reserve::Denied(denied) = reserve(store, &k, &w, 1).await else {
        panic!("a second request joined a lone over-budget one")
    };
    assert_eq!(denied.window, d);
    assert_eq!(denied.limit, 100);
    assert_eq!(
        denied.spend,
        WindowSpend {
            spent: 0,
            reserved: 150
        }
    );
    settle(store, &k, &[d], 150, 40).await;
    assert_eq!(
        spend(store, &k, d).await,
        WindowSpend {
            spent: 40,
            reserved: 0
        }
    );
    assert_eq!(reserve(store, &k, &w, 30).await, Reserve::Reserved);
    assert_eq!(reserve(store, &k, &w, 30).await, Reserve::Reserved);
    let Reserve::Denied(denied) = reserve(store, &k, &w, 1).await else {
        panic!("101 of 100 held")
    };
    assert_eq!(
        (denied.limit, denied.spend.spent, denied.spend.reserved),
        (100, 40, 60)
    );
    // Other keys are unaffected.
    assert_eq!(reserve(store, &j, &w, 100).await, Reserve::Reserved);
    // A spent budget refuses even a lone request.
    settle(store, &k, &[d], 60, 60).await;
    assert_eq!(spend(store, &k, d).await.spent, 100);
    assert!(matches!(
        reserve(store, &k, &w, 1).await,
        Reserve::Denied(x) if x.spend.spent == 100 && x.spend.reserved == 0
    ));
}

/// A reservation is held in every window or in none, and the denial names the window at fault.
pub async fn all_or_nothing_across_windows(store: &dyn CounterStore, tag: &str) {
    let k = format!("{tag}-all-or-nothing");
    let (d, m) = (day(NEW_YEARS_EVE_MS), month(NEW_YEARS_EVE_MS));
    let ws = [limit(d, Some(1_000)), limit(m, Some(10))];
    settle(store, &k, &[m], 0, 10).await;
    let Reserve::Denied(denied) = reserve(store, &k, &ws, 5).await else {
        panic!("the month is spent")
    };
    assert_eq!(denied.window, m);
    assert_eq!(spend(store, &k, d).await, WindowSpend::default());
    let Reserve::Denied(denied) = reserve(store, &k, &[ws[1], ws[0]], 5).await else {
        panic!("the month is spent")
    };
    assert_eq!(denied.window, m, "the first window that refuses is named");
    assert_eq!(spend(store, &k, d).await, WindowSpend::default());
}

/// Day and month windows are keyed by their period: a new day starts at zero while the month
/// keeps counting; the day that ended is dropped once nothing is held in it.
pub async fn windows_roll_over_by_period(store: &dyn CounterStore, tag: &str) {
    let k = format!("{tag}-rollover");
    let before = NEW_YEARS_EVE_MS;
    let mid_dec = NEW_YEARS_EVE_MS - 10 * 86_400_000;
    let (d1, d2) = (day(mid_dec), day(before));
    let dec = month(before);
    assert_eq!(month(mid_dec), dec);
    settle(store, &k, &[d1, dec], 0, 70).await;
    let ws = [limit(d2, Some(50)), limit(dec, Some(100))];
    assert_eq!(reserve(store, &k, &ws, 20).await, Reserve::Reserved);
    assert_eq!(spend(store, &k, d2).await.reserved, 20);
    assert_eq!(
        spend(store, &k, dec).await,
        WindowSpend {
            spent: 70,
            reserved: 20
        }
    );
    // The finished day held nothing: reserving in later windows dropped it.
    assert_eq!(spend(store, &k, d1).await, WindowSpend::default());
    // Half a second later it is a new day, month and year; the request admitted on the 31st
    // settles in the windows it was admitted in.
    let after = before + 500;
    let (d3, jan) = (day(after), month(after));
    assert_ne!(d3, d2);
    assert_ne!(jan, dec);
    let next = [limit(d3, Some(50)), limit(jan, Some(100))];
    assert_eq!(reserve(store, &k, &next, 50).await, Reserve::Reserved);
    // December still holds the request in flight, so it is kept.
    assert_eq!(spend(store, &k, dec).await.reserved, 20);
    settle(store, &k, &[d2, dec], 20, 15).await;
    assert_eq!(
        spend(store, &k, dec).await,
        WindowSpend {
            spent: 85,
            reserved: 0
        }
    );
    settle(store, &k, &[d3, jan], 50, 5).await;
    assert_eq!(
        spend(store, &k, jan).await,
        WindowSpend {
            spent: 5,
            reserved: 0
        }
    );
    assert_eq!(spend(store, &k, d3).await.spent, 5);
    // The next reservation in January drops December and the 31st (nothing held there).
    assert_eq!(reserve(store, &k, &next, 1).await, Reserve::Reserved);
    assert_eq!(spend(store, &k, dec).await, WindowSpend::default());
    assert_eq!(spend(store, &k, d2).await, WindowSpend::default());
}

/// Releasing more than is held stops at zero; windows without a limit still count spend.
pub async fn settle_saturates_and_untracked_windows_count(store: &dyn CounterStore, tag: &str) {
    let k = format!("{tag}-saturate");
    let d = day(NEW_YEARS_EVE_MS);
    let open = [limit(d, None)];
    for _ in 0..3 {
        assert_eq!(
            reserve(store, &k, &open, 1_000_000_000_000).await,
            Reserve::Reserved
        );
    }
    assert_eq!(spend(store, &k, d).await.reserved, 3_000_000_000_000);
    settle(store, &k, &[d], 5_000_000_000_000, 7).await;
    assert_eq!(
        spend(store, &k, d).await,
        WindowSpend {
            spent: 7,
            reserved: 0
        }
    );
    // Large, exact amounts (about $4.5M in nano-dollars).
    let big = 4_503_599_627_370_495;
    settle(store, &k, &[d], 0, big).await;
    assert_eq!(spend(store, &k, d).await.spent, big + 7);
}

/// Buckets: a minute's burst, exact waits, refill at the steady rate, never above capacity,
/// and a clock that goes back does not move a bucket back.
pub async fn buckets_burst_wait_and_refill(store: &dyn CounterStore, tag: &str) {
    let k = format!("{tag}-bucket-burst");
    let rpm = RateKind::Requests;
    let t0 = NEW_YEARS_EVE_MS;
    for _ in 0..60 {
        assert_eq!(take(store, &k, rpm, 60, 1, t0).await, Ok(()));
    }
    assert_eq!(
        take(store, &k, rpm, 60, 1, t0).await,
        Err(Duration::from_millis(1000))
    );
    assert_eq!(
        take(store, &k, rpm, 60, 1, t0 + 400).await,
        Err(Duration::from_millis(600))
    );
    // The clock went back: the bucket keeps its time.
    assert_eq!(
        take(store, &k, rpm, 60, 1, t0 + 100).await,
        Err(Duration::from_millis(600))
    );
    assert_eq!(take(store, &k, rpm, 60, 1, t0 + 1000).await, Ok(()));
    assert!(take(store, &k, rpm, 60, 1, t0 + 1000).await.is_err());
    // After a long idle time: exactly one minute's worth.
    let later = t0 + 10_000_000;
    for _ in 0..60 {
        assert_eq!(take(store, &k, rpm, 60, 1, later).await, Ok(()));
    }
    assert!(take(store, &k, rpm, 60, 1, later).await.is_err());
    // Fractional refill: 1,000 per minute is one every 60 ms.
    let f = format!("{tag}-bucket-fraction");
    assert_eq!(take(store, &f, rpm, 1_000, 1_000, t0).await, Ok(()));
    assert_eq!(
        take(store, &f, rpm, 1_000, 1, t0).await,
        Err(Duration::from_millis(60))
    );
    assert_eq!(
        take(store, &f, rpm, 1_000, 1, t0 + 59).await,
        Err(Duration::from_millis(1))
    );
    assert_eq!(take(store, &f, rpm, 1_000, 1, t0 + 60).await, Ok(()));
}

/// Oversized takes pass on a full bucket and leave debt; `adjust` charges and refunds up to
/// capacity; requests and tokens are separate buckets.
pub async fn buckets_debt_refunds_and_kinds(store: &dyn CounterStore, tag: &str) {
    let k = format!("{tag}-bucket-debt");
    let (tpm, rpm) = (RateKind::Tokens, RateKind::Requests);
    let t0 = NEW_YEARS_EVE_MS;
    assert_eq!(take(store, &k, tpm, 1_000, 5_000, t0).await, Ok(()));
    // Debt of 4,000 plus 1 needed at 1,000/min: 4 min + 60 ms.
    assert_eq!(
        take(store, &k, tpm, 1_000, 1, t0).await,
        Err(Duration::from_millis(240_060))
    );
    // The requests bucket of the same key is untouched.
    assert_eq!(take(store, &k, rpm, 1, 1, t0).await, Ok(()));
    assert!(take(store, &k, rpm, 1, 1, t0).await.is_err());
    // Refund the whole overshoot and more: capped at capacity.
    adjust(store, &k, tpm, 1_000, -1_000_000, t0).await;
    assert_eq!(take(store, &k, tpm, 1_000, 1_000, t0).await, Ok(()));
    assert!(take(store, &k, tpm, 1_000, 1, t0).await.is_err());
    let a = format!("{tag}-bucket-adjust");
    assert_eq!(take(store, &a, tpm, 100, 80, t0).await, Ok(()));
    adjust(store, &a, tpm, 100, -50, t0).await; // the answer used 30, not 80
    assert_eq!(take(store, &a, tpm, 100, 70, t0).await, Ok(()));
    assert_eq!(
        take(store, &a, tpm, 100, 1, t0).await,
        Err(Duration::from_millis(600))
    );
    adjust(store, &a, tpm, 100, 200, t0).await;
    assert_eq!(
        take(store, &a, tpm, 100, 1, t0).await,
        Err(Duration::from_millis(120_600))
    );
    // An adjust on a bucket never used starts from a full one.
    let n = format!("{tag}-bucket-new");
    adjust(store, &n, tpm, 100, 30, t0).await;
    assert_eq!(take(store, &n, tpm, 100, 70, t0).await, Ok(()));
    assert!(take(store, &n, tpm, 100, 1, t0).await.is_err());
}

/// `forget` drops the key's spend in every window and both buckets, and only that key's.
pub async fn forget_drops_every_counter(store: &dyn CounterStore, tag: &str) {
    let (k, other) = (format!("{tag}-forget"), format!("{tag}-forget-other"));
    let t0 = NEW_YEARS_EVE_MS;
    let (d, m) = (day(t0), month(t0));
    for key in [&k, &other] {
        settle(store, key, &[d, m], 0, 9).await;
        assert_eq!(
            reserve(store, key, &[limit(d, Some(10))], 5).await,
            Reserve::Reserved
        );
        assert_eq!(take(store, key, RateKind::Requests, 1, 1, t0).await, Ok(()));
        assert_eq!(take(store, key, RateKind::Tokens, 10, 10, t0).await, Ok(()));
    }
    store.forget(&k).await.expect("forget");
    assert_eq!(spend(store, &k, d).await, WindowSpend::default());
    assert_eq!(spend(store, &k, m).await, WindowSpend::default());
    assert_eq!(take(store, &k, RateKind::Requests, 1, 1, t0).await, Ok(()));
    assert_eq!(take(store, &k, RateKind::Tokens, 10, 10, t0).await, Ok(()));
    assert_eq!(
        spend(store, &other, d).await,
        WindowSpend {
            spent: 9,
            reserved: 5
        }
    );
    assert!(take(store, &other, RateKind::Requests, 1, 1, t0)
        .await
        .is_err());
    // Forgetting a key that has nothing is fine.
    store.forget(&format!("{tag}-never-seen")).await.unwrap();
}

/// Drives `store` and a fresh [`MemoryStore`] with the same `ops` random operations (seeded by
/// `seed`: reservations, settlements, takes and adjustments on two keys over a few days and
/// rates) and asserts they answer alike at every step. A bucket's level is also checked
/// against [`Bucket`] directly.
pub async fn check_against_reference(store: &dyn CounterStore, tag: &str, seed: u64, ops: usize) {
    let reference = MemoryStore::new();
    let mut rng = StdRng::seed_from_u64(seed);
    let keys = [format!("{tag}-diff-a"), format!("{tag}-diff-b")];
    let mut now = NEW_YEARS_EVE_MS - 3 * 86_400_000;
    // (key, windows, amount) of reservations not settled yet.
    let mut held: Vec<(usize, [Window; 2], u64)> = Vec::new();
    let mut model: [Option<Bucket>; 2] = [None, None];
    let rate = RatePerMinute(600);
    for step in 0..ops {
        now += rng.random_range(0..4_000_000);
        let ki = rng.random_range(0..keys.len());
        let key = keys[ki].as_str();
        let (d, m) = (day(now), month(now));
        match rng.random_range(0..6) {
            0 | 1 => {
                let ws = [
                    limit(d, Some(rng.random_range(0..2_000))),
                    limit(
                        m,
                        if rng.random_bool(0.3) {
                            None
                        } else {
                            Some(rng.random_range(0..20_000))
                        },
                    ),
                ];
                let amount = rng.random_range(0..600);
                let got = reserve(store, key, &ws, amount).await;
                let want = reference.reserve(key, &ws, amount).await.unwrap();
                assert_eq!(got, want, "step {step}: reserve {amount} for {key}");
                if got == Reserve::Reserved {
                    held.push((ki, [d, m], amount));
                }
            }
            2 if !held.is_empty() => {
                let (hk, ws, amount) = held.swap_remove(rng.random_range(0..held.len()));
                let actual = rng.random_range(0..=amount + 50);
                settle(store, &keys[hk], &ws, amount, actual).await;
                reference
                    .settle(&keys[hk], &ws, amount, actual)
                    .await
                    .unwrap();
            }
            2 | 3 => {
                let n = rng.random_range(0..700);
                let got = take(store, key, RateKind::Tokens, rate.0, n, now).await;
                let want = reference
                    .take(key, RateKind::Tokens, rate, n, now)
                    .await
                    .unwrap();
                assert_eq!(got, want, "step {step}: take {n} for {key} at {now}");
                let b = model[ki].get_or_insert_with(|| Bucket::full(rate, now));
                assert_eq!(b.take(rate, n, now), want);
            }
            4 => {
                let delta = rng.random_range(-700..700);
                adjust(store, key, RateKind::Tokens, rate.0, delta, now).await;
                reference
                    .adjust(key, RateKind::Tokens, rate, delta, now)
                    .await
                    .unwrap();
                model[ki]
                    .get_or_insert_with(|| Bucket::full(rate, now))
                    .adjust(rate, delta, now);
            }
            _ => {}
        }
        for w in [d, m] {
            assert_eq!(
                spend(store, key, w).await,
                reference.spend(key, w).await.unwrap(),
                "step {step}: spend of {key} in {w}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_store_passes_the_battery() {
        let store = MemoryStore::new();
        check_counter_store(&store, "mem").await;
        // A different seed, many more steps.
        check_against_reference(&store, "mem-long", 7, 3_000).await;
    }
}
