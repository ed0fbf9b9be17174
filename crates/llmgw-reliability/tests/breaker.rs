#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Circuit breaker state machine in virtual time.

use llmgw_reliability::{start_stream, BreakerConfig, BreakerState, Breakers};
use std::time::Duration;

fn cfg() -> BreakerConfig {
    BreakerConfig {
        consecutive_failures: 3,
        failure_rate: 0.5,
        window: 10,
        min_calls: 6,
        cool_down: Duration::from_secs(20),
    }
}

#[tokio::test(start_paused = true)]
async fn consecutive_failures_open_and_success_resets_the_count() {
    let b = Breakers::new(cfg());
    for _ in 0..2 {
        b.acquire("p", "m").unwrap().failure();
    }
    b.acquire("p", "m").unwrap().success();
    for _ in 0..2 {
        b.acquire("p", "m").unwrap().failure();
    }
    assert_eq!(b.state("p", "m"), BreakerState::Closed);
    b.acquire("p", "m").unwrap().failure();
    assert_eq!(b.state("p", "m"), BreakerState::Open);
    let wait = b.acquire("p", "m").unwrap_err();
    assert_eq!(wait, Duration::from_secs(20));
    // Other models of the same provider are unaffected.
    assert_eq!(b.state("p", "other"), BreakerState::Closed);
    assert!(b.acquire("p", "other").is_ok());
}

#[tokio::test(start_paused = true)]
async fn failure_rate_opens_without_a_streak() {
    let b = Breakers::new(cfg());
    // ok, fail, ok, fail, ok, fail: 3 of 6 calls failed, never 2 in a row.
    for i in 0..6 {
        let p = b.acquire("p", "m").unwrap();
        if i % 2 == 0 {
            p.success()
        } else {
            p.failure()
        }
    }
    assert_eq!(b.state("p", "m"), BreakerState::Open);
}

#[tokio::test(start_paused = true)]
async fn half_open_lets_one_probe_and_reopens_on_failure() {
    let b = Breakers::new(cfg());
    for _ in 0..3 {
        b.acquire("p", "m").unwrap().failure();
    }
    tokio::time::advance(Duration::from_secs(20)).await;
    assert_eq!(b.state("p", "m"), BreakerState::HalfOpen);
    let probe = b.acquire("p", "m").unwrap();
    assert!(probe.is_probe());
    assert_eq!(
        b.acquire("p", "m").unwrap_err(),
        Duration::ZERO,
        "one probe at a time"
    );
    probe.failure();
    assert_eq!(b.state("p", "m"), BreakerState::Open);
    assert_eq!(b.acquire("p", "m").unwrap_err(), Duration::from_secs(20));

    // A cancelled probe frees the slot without changing the state.
    tokio::time::advance(Duration::from_secs(20)).await;
    drop(b.acquire("p", "m").unwrap());
    let probe = b.acquire("p", "m").unwrap();
    probe.success();
    assert_eq!(b.state("p", "m"), BreakerState::Closed);

    let snap = b.snapshot();
    assert_eq!(snap.len(), 1);
    assert_eq!(snap[0].times_opened, 2);
    let json = serde_json::to_value(&snap).unwrap();
    assert_eq!(json[0]["state"], "closed");
    assert_eq!(json[0]["provider"], "p");
}

#[tokio::test(start_paused = true)]
async fn late_outcomes_do_not_extend_an_open_breaker() {
    let b = Breakers::new(cfg());
    let in_flight: Vec<_> = (0..5).map(|_| b.acquire("p", "m").unwrap()).collect();
    let mut it = in_flight.into_iter();
    for p in it.by_ref().take(3) {
        p.failure();
    }
    assert_eq!(b.state("p", "m"), BreakerState::Open);
    tokio::time::advance(Duration::from_secs(19)).await;
    for p in it {
        p.failure();
    }
    // Still opens for probes 20 s after it opened, not after the late failures.
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(b.state("p", "m"), BreakerState::HalfOpen);
    assert_eq!(b.snapshot()[0].times_opened, 1);
}

#[tokio::test]
async fn streams_are_retryable_until_their_first_output() {
    use futures::StreamExt;
    use llmgw_reliability::MAX_HELD_ITEMS;
    // Item 0 is a preamble (like a role-only chunk); positive items are output.
    let is_output = |i: &i32| *i > 0;
    let failing = futures::stream::iter(vec![Ok(0), Err("refused"), Ok(1)]);
    assert_eq!(
        start_stream(failing, is_output).await.err(),
        Some("refused")
    );

    let ok = futures::stream::iter(vec![Ok::<i32, &str>(0), Ok(1), Err("cut"), Ok(2)]);
    let all: Vec<_> = start_stream(ok, is_output).await.unwrap().collect().await;
    assert_eq!(
        all,
        [Ok(0), Ok(1), Err("cut"), Ok(2)],
        "after output, errors pass through"
    );

    let empty = futures::stream::iter(Vec::<Result<i32, &str>>::new());
    assert_eq!(
        start_stream(empty, is_output).await.unwrap().count().await,
        0
    );

    // Holding back is bounded.
    let endless = futures::stream::repeat(Ok::<i32, &str>(0));
    let started = start_stream(endless, is_output).await.unwrap();
    assert_eq!(
        started.take(MAX_HELD_ITEMS + 3).count().await,
        MAX_HELD_ITEMS + 3
    );
}
