#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The Redis counter store against a real `redis-server`: the conformance battery of the
//! governance crate, two stores (two gateway instances) racing for one budget and one rate
//! limit, expiry of old windows, and a server that goes away.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmgw_governance::testing::{check_against_reference, check_counter_store};
use llmgw_governance::{
    Actual, Admission, Clock, CounterStore, GovernError, Governor, KeyHash, KeyStore, NewKey,
    Period, Reserve, SystemClock, Window, WindowLimit,
};
use llmgw_redis::{OnCounterError, RedisConnection, RedisCounterStore, RedisSettings};
use rand::Rng;
use support::RedisServer;

const KEY: &str = "sk-llmgw-shared-budget";

fn store(server: &RedisServer, prefix: &str, on_error: OnCounterError) -> RedisCounterStore {
    let settings = RedisSettings {
        url: server.url(),
        timeout: Duration::from_millis(500),
    };
    RedisCounterStore::new(RedisConnection::open(&settings).unwrap(), prefix, on_error)
}

fn governor(store: RedisCounterStore, spec: NewKey) -> Governor {
    let spec = spec.into_spec("shared".into(), KeyHash::of(KEY));
    Governor::with_parts(
        Arc::new(KeyStore::from_specs([spec]).unwrap()),
        Arc::new(store),
        Arc::new(SystemClock),
    )
}

#[tokio::test]
async fn redis_store_passes_the_conformance_battery() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let s = store(&server, "conf", OnCounterError::Refuse);
    check_counter_store(&s, "battery").await;
    check_against_reference(&s, "long", 11, 2_000).await;
    // Counters live under the prefix, one hash per key.
    let con = RedisConnection::open(&RedisSettings::new(server.url())).unwrap();
    let keys: Vec<String> = con
        .query("KEYS", redis::cmd("KEYS").arg("*"))
        .await
        .unwrap();
    assert!(!keys.is_empty());
    assert!(
        keys.iter().all(|k| k.starts_with("conf:counters:")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn two_connections_share_one_state() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, b) = (
        store(&server, "llmgw", OnCounterError::Refuse),
        store(&server, "llmgw", OnCounterError::Refuse),
    );
    let day = Window::containing(Period::Day, 1_798_761_599_500);
    let w = [WindowLimit {
        window: day,
        limit: Some(100),
    }];
    assert_eq!(a.reserve("k", &w, 60).await.unwrap(), Reserve::Reserved);
    assert_eq!(b.spend("k", day).await.unwrap().reserved, 60);
    assert!(matches!(
        b.reserve("k", &w, 50).await.unwrap(),
        Reserve::Denied(d) if d.spend.reserved == 60
    ));
    b.settle("k", &[day], 60, 60).await.unwrap();
    assert_eq!(a.spend("k", day).await.unwrap().spent, 60);
    // Another prefix is another gateway deployment.
    let other = store(&server, "staging", OnCounterError::Refuse);
    assert_eq!(other.spend("k", day).await.unwrap().spent, 0);
}

#[tokio::test]
async fn counters_expire_after_their_last_window() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let s = store(&server, "ttl", OnCounterError::Refuse);
    let now = SystemClock.now_ms();
    let (day, month) = (
        Window::containing(Period::Day, now),
        Window::containing(Period::Month, now),
    );
    let ws = [
        WindowLimit {
            window: day,
            limit: Some(10),
        },
        WindowLimit {
            window: month,
            limit: None,
        },
    ];
    assert_eq!(s.reserve("k", &ws, 1).await.unwrap(), Reserve::Reserved);
    let con = RedisConnection::open(&RedisSettings::new(server.url())).unwrap();
    let pttl: i64 = con
        .query("PTTL", redis::cmd("PTTL").arg(s.redis_key("k")))
        .await
        .unwrap();
    let until_month_end = month.end_ms() - now;
    let grace = llmgw_redis::WINDOW_GRACE.as_millis() as i64;
    assert!(
        pttl > until_month_end + grace - 60_000 && pttl <= until_month_end + grace,
        "pttl {pttl} ms, month ends in {until_month_end} ms"
    );
    // A rate-limit-only key lives until its bucket is full again (plus a minute).
    s.take(
        "r",
        llmgw_governance::RateKind::Requests,
        llmgw_governance::bucket::RatePerMinute(60),
        30,
        now,
    )
    .await
    .unwrap()
    .unwrap();
    let pttl: i64 = con
        .query("PTTL", redis::cmd("PTTL").arg(s.redis_key("r")))
        .await
        .unwrap();
    assert!((89_000..=90_000).contains(&pttl), "{pttl}");
}

/// Many tasks on two governors, each with its own connection (as two gateway instances),
/// retry until the shared budget is reported spent.
async fn race(gs: [Governor; 2], tasks: usize, max_reserve: f64) -> (f64, u64) {
    let admitted = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for t in 0..tasks {
        let g = gs[t % 2].clone();
        let admitted = admitted.clone();
        handles.push(tokio::spawn(async move {
            let who = g.authenticate(Some(&format!("Bearer {KEY}"))).unwrap();
            loop {
                let (reserve, fraction) = {
                    let mut rng = rand::rng();
                    (
                        rng.random_range(0.001..max_reserve),
                        rng.random_range(0.0..=1.0),
                    )
                };
                let admission = Admission {
                    estimated_tokens: 10,
                    max_cost_usd: reserve,
                };
                match g.admit(&who, admission).await {
                    Ok(permit) => {
                        admitted.fetch_add(1, Ordering::Relaxed);
                        tokio::task::yield_now().await;
                        permit
                            .settle(Actual {
                                tokens: 10,
                                cost_usd: reserve * fraction,
                            })
                            .await;
                    }
                    Err(GovernError::BudgetHeld { .. }) => {
                        tokio::time::sleep(Duration::from_millis(1)).await
                    }
                    Err(GovernError::BudgetExceeded { .. }) => return,
                    Err(e) => panic!("unexpected refusal: {e}"),
                }
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let usage = gs[0].usage("shared").await.unwrap();
    assert_eq!(usage.reserved_today_usd, 0.0, "every hold released");
    (usage.spent_today_usd, admitted.load(Ordering::Relaxed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_racing_overshoot_a_budget_by_at_most_one_request() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    for round in 0..3 {
        let prefix = format!("race{round}");
        let spec = || NewKey {
            daily_budget_usd: Some(1.0),
            ..Default::default()
        };
        let gs = [
            governor(store(&server, &prefix, OnCounterError::Refuse), spec()),
            governor(store(&server, &prefix, OnCounterError::Refuse), spec()),
        ];
        let max_reserve = 0.2;
        let (spent, admitted) = race(gs, 120, max_reserve).await;
        assert!(admitted > 5, "round {round}: {admitted} admitted");
        assert!(spent >= 1.0 - 1e-9, "round {round}: spent {spent}");
        assert!(
            spent <= 1.0 + max_reserve,
            "round {round}: spent {spent} > 1 + {max_reserve}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limit_is_shared_by_two_instances() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let spec = || NewKey {
        requests_per_minute: Some(20),
        ..Default::default()
    };
    let gs = [
        governor(store(&server, "rpm", OnCounterError::Refuse), spec()),
        governor(store(&server, "rpm", OnCounterError::Refuse), spec()),
    ];
    let mut handles = Vec::new();
    for i in 0..60 {
        let g = gs[i % 2].clone();
        handles.push(tokio::spawn(async move {
            let who = g.authenticate(Some(&format!("Bearer {KEY}"))).unwrap();
            match g.admit(&who, Admission::default()).await {
                Ok(p) => {
                    p.release().await;
                    true
                }
                Err(GovernError::RateLimited { retry_after, .. }) => {
                    assert!(retry_after <= Duration::from_secs(3), "{retry_after:?}");
                    false
                }
                Err(e) => panic!("{e}"),
            }
        }));
    }
    let mut admitted = 0;
    for h in handles {
        admitted += u32::from(h.await.unwrap());
    }
    // 20 per minute burst; the test takes well under the 3 s that would refill one more.
    assert!((20..=21).contains(&admitted), "{admitted} admitted");
}

#[tokio::test]
async fn a_server_that_goes_away_fails_fast_with_the_configured_policy() {
    let Some(mut server) = RedisServer::start_with_password("s3cret-pw") else {
        return;
    };
    let spec = || NewKey {
        daily_budget_usd: Some(5.0),
        requests_per_minute: Some(100),
        ..Default::default()
    };
    let strict = governor(store(&server, "down", OnCounterError::Refuse), spec());
    let lenient_store = store(&server, "down", OnCounterError::Allow);
    let stats = lenient_store.stats().clone();
    let lenient = governor(lenient_store, spec());
    let who = strict.authenticate(Some(&format!("Bearer {KEY}"))).unwrap();
    let cost = Admission {
        estimated_tokens: 10,
        max_cost_usd: 0.01,
    };
    strict.admit(&who, cost).await.unwrap().release().await;
    lenient.admit(&who, cost).await.unwrap().release().await;

    server.stop();
    let started = Instant::now();
    let err = strict.admit(&who, cost).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, GovernError::Store(_)), "{err}");
    assert_eq!(err.status(), 503);
    let text = err.to_string();
    assert!(text.contains("Redis: "), "{text}");
    // The message may reach API clients: no password, no server address.
    assert!(
        !text.contains("s3cret-pw") && !text.contains("127.0.0.1"),
        "{text}"
    );
    // Right after a failure, admission does not wait for Redis again.
    let started = Instant::now();
    for _ in 0..20 {
        assert!(matches!(
            strict.admit(&who, cost).await,
            Err(GovernError::Store(_))
        ));
    }
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let permit = lenient.admit(&who, cost).await.unwrap();
    permit
        .settle(Actual {
            tokens: 10,
            cost_usd: 0.005,
        })
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stats.allowed_uncounted() >= 2,
        "rate and budget let through"
    );
    assert!(stats.errors() >= 2);
    assert!(
        stats.skipped() >= 1,
        "the budget check right after a failure skips Redis"
    );
    assert!(
        lenient.usage("shared").await.is_err(),
        "usage cannot be read"
    );

    // The server is back: after the short skip window, admission counts again.
    server.restart();
    tokio::time::sleep(llmgw_redis::ADMISSION_RETRY_AFTER + Duration::from_millis(100)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let permit = loop {
        match strict.admit(&who, cost).await {
            Ok(p) => break p,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("still refused after Redis came back: {e}"),
        }
    };
    permit
        .settle(Actual {
            tokens: 10,
            cost_usd: 0.25,
        })
        .await;
    assert_eq!(strict.usage("shared").await.unwrap().spent_today_usd, 0.25);
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error_without_the_password() {
    let Some(server) = RedisServer::start_with_password("right-pw") else {
        return;
    };
    let url = format!("redis://:wrong-pw@127.0.0.1:{}/0", server.port());
    let con = RedisConnection::open(&RedisSettings {
        url,
        timeout: Duration::from_secs(2),
    })
    .unwrap();
    let s = RedisCounterStore::new(con, "pw", OnCounterError::Refuse);
    let day = Window::containing(Period::Day, 0);
    let err = s.spend("k", day).await.unwrap_err().to_string();
    assert!(!err.contains("wrong-pw"), "{err}");
    assert!(err.contains("reading spend of key `k`"), "{err}");
    // The right password works.
    let ok = store(&server, "pw", OnCounterError::Refuse);
    assert_eq!(ok.spend("k", day).await.unwrap().spent, 0);
}
