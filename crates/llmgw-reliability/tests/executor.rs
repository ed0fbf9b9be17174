#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The executor in virtual time (`tokio::time::pause`): retries, backoff, retry-after,
//! fallbacks, breakers and the total deadline.

use llmgw_providers::{ProviderError, ProviderErrorKind};
use llmgw_reliability::{
    BreakerConfig, BreakerState, Breakers, Candidate, Executor, Outcome, RetryPolicy,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

fn err(kind: ProviderErrorKind, provider: &str) -> ProviderError {
    ProviderError::new(kind, provider, format!("{provider} failed"))
}

fn unavailable(p: &str) -> ProviderError {
    err(ProviderErrorKind::UpstreamStatus { status: 503 }, p)
}

fn candidates() -> Vec<Candidate> {
    vec![
        Candidate::new("alpha", "model-a"),
        Candidate::new("beta", "model-b"),
    ]
}

/// A scripted upstream: per provider, the failures to return before succeeding.
#[derive(Clone, Default)]
struct Script {
    plan: Arc<Mutex<HashMap<String, Vec<ProviderError>>>>,
    calls: Arc<Mutex<Vec<(String, u32)>>>,
}

impl Script {
    fn fail(self, provider: &str, errors: Vec<ProviderError>) -> Self {
        self.plan.lock().unwrap().insert(provider.into(), errors);
        self
    }

    async fn call(&self, c: &Candidate, attempt: u32) -> Result<String, ProviderError> {
        self.calls
            .lock()
            .unwrap()
            .push((c.provider.clone(), attempt));
        let next = {
            let mut plan = self.plan.lock().unwrap();
            let list = plan.entry(c.provider.clone()).or_default();
            (!list.is_empty()).then(|| list.remove(0))
        };
        match next {
            Some(e) => Err(e),
            None => Ok(format!("answer from {}", c.model)),
        }
    }

    fn calls(&self) -> Vec<(String, u32)> {
        self.calls.lock().unwrap().clone()
    }
}

fn executor() -> Executor {
    Executor::new(
        RetryPolicy::default(),
        Breakers::new(BreakerConfig::default()),
    )
}

#[tokio::test(start_paused = true)]
async fn retries_with_backoff_then_succeeds() {
    let s = Script::default().fail("alpha", vec![unavailable("alpha"), unavailable("alpha")]);
    let t0 = Instant::now();
    let (answer, attempts) = executor()
        .call_with_fallbacks(&candidates(), |c, n| {
            let s = s.clone();
            let c = c.clone();
            async move { s.call(&c, n).await }
        })
        .await
        .unwrap();
    assert_eq!(answer, "answer from model-a");
    assert_eq!(attempts.calls(), 3);
    assert_eq!(attempts.fallback_from(), None);
    assert_eq!(attempts.winner().unwrap().attempt, 3);
    assert_eq!(
        s.calls(),
        [
            ("alpha".into(), 1),
            ("alpha".into(), 2),
            ("alpha".into(), 3)
        ]
    );
    // Full jitter: at most 250 ms + 500 ms of backoff.
    assert!(
        t0.elapsed() <= Duration::from_millis(750),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let limited = err(
        ProviderErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
        },
        "alpha",
    );
    let s = Script::default().fail("alpha", vec![limited]);
    let t0 = Instant::now();
    let (_, attempts) = executor()
        .call_with_fallbacks(&candidates(), |c, n| {
            let (s, c) = (s.clone(), c.clone());
            async move { s.call(&c, n).await }
        })
        .await
        .unwrap();
    assert_eq!(attempts.calls(), 2);
    assert!(t0.elapsed() >= Duration::from_secs(3), "{:?}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_millis(3_300));
}

#[tokio::test(start_paused = true)]
async fn long_retry_after_falls_back_at_once() {
    let limited = err(
        ProviderErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
        },
        "alpha",
    );
    let s = Script::default().fail("alpha", vec![limited]);
    let t0 = Instant::now();
    let (answer, attempts) = executor()
        .call_with_fallbacks(&candidates(), |c, n| {
            let (s, c) = (s.clone(), c.clone());
            async move { s.call(&c, n).await }
        })
        .await
        .unwrap();
    assert_eq!(answer, "answer from model-b");
    assert_eq!(attempts.calls(), 2);
    assert_eq!(attempts.fallback_from(), Some("model-a"));
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn non_retryable_falls_back_and_bad_request_stops() {
    // Auth failure: not retried on the same provider, but another may answer.
    let s = Script::default().fail("alpha", vec![err(ProviderErrorKind::Auth, "alpha")]);
    let (answer, attempts) = executor()
        .call_with_fallbacks(&candidates(), |c, n| {
            let (s, c) = (s.clone(), c.clone());
            async move { s.call(&c, n).await }
        })
        .await
        .unwrap();
    assert_eq!(answer, "answer from model-b");
    assert_eq!(s.calls(), [("alpha".into(), 1), ("beta".into(), 1)]);
    assert_eq!(attempts.fallback_from(), Some("model-a"));

    // The client's own mistake: returned as is, no retry, no fallback.
    let s = Script::default().fail("alpha", vec![err(ProviderErrorKind::BadRequest, "alpha")]);
    let (e, attempts) = executor()
        .call_with_fallbacks(&candidates(), |c, n| {
            let (s, c) = (s.clone(), c.clone());
            async move { s.call(&c, n).await }
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ProviderErrorKind::BadRequest);
    assert_eq!(attempts.calls(), 1);
    assert_eq!(attempts.fallback_from(), None);
}

#[tokio::test(start_paused = true)]
async fn all_candidates_fail_returns_the_last_error_and_every_step() {
    let s = Script::default()
        .fail("alpha", vec![unavailable("alpha"); 5])
        .fail("beta", vec![err(ProviderErrorKind::Timeout, "beta"); 5]);
    let (e, attempts) = executor()
        .call_with_fallbacks(&candidates(), |c, n| {
            let (s, c) = (s.clone(), c.clone());
            async move { s.call(&c, n).await }
        })
        .await
        .unwrap_err();
    assert_eq!(e.provider, "beta");
    assert_eq!(e.kind, ProviderErrorKind::Timeout);
    assert_eq!(attempts.calls(), 6);
    assert_eq!(attempts.fallback_from(), Some("model-a"));
    assert!(attempts.winner().is_none());
    let json = serde_json::to_value(&attempts).unwrap();
    assert_eq!(json["steps"][0]["outcome"], "failed");
    assert_eq!(json["steps"][0]["kind"], "upstream_503");
    assert_eq!(json["steps"][5]["kind"], "timeout");
}

#[tokio::test(start_paused = true)]
async fn open_breaker_is_skipped_then_probed_after_cool_down() {
    let cfg = BreakerConfig {
        consecutive_failures: 3,
        cool_down: Duration::from_secs(30),
        ..Default::default()
    };
    let ex = Executor::new(RetryPolicy::default(), Breakers::new(cfg));
    let s = Script::default().fail("alpha", vec![unavailable("alpha"); 3]);
    let run = || {
        let s = s.clone();
        let ex = ex.clone();
        async move {
            ex.call_with_fallbacks(&candidates(), move |c, n| {
                let (s, c) = (s.clone(), c.clone());
                async move { s.call(&c, n).await }
            })
            .await
        }
    };
    // Three failures in a row open alpha's breaker; beta answers.
    let (answer, attempts) = run().await.unwrap();
    assert_eq!(answer, "answer from model-b");
    assert_eq!(attempts.calls(), 4);
    assert_eq!(ex.breakers.state("alpha", "model-a"), BreakerState::Open);

    // While open, alpha is not called at all.
    let before = s.calls().len();
    let (_, attempts) = run().await.unwrap();
    assert_eq!(attempts.calls(), 1);
    assert_eq!(s.calls()[before..], [("beta".into(), 1)]);
    assert_eq!(attempts.fallback_from(), Some("model-a"));
    assert!(
        matches!(attempts.steps[0].outcome, Outcome::CircuitOpen { retry_in_ms } if retry_in_ms > 29_000)
    );

    // After the cool-down one probe goes to alpha; it succeeds and closes the breaker.
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(
        ex.breakers.state("alpha", "model-a"),
        BreakerState::HalfOpen
    );
    let (answer, attempts) = run().await.unwrap();
    assert_eq!(answer, "answer from model-a");
    assert_eq!(attempts.fallback_from(), None);
    assert_eq!(ex.breakers.state("alpha", "model-a"), BreakerState::Closed);
    let snap = ex.breakers.snapshot();
    assert_eq!(snap[0].times_opened, 1);
}

#[tokio::test(start_paused = true)]
async fn every_breaker_open_gives_unavailable_with_a_wait() {
    let cfg = BreakerConfig {
        consecutive_failures: 1,
        cool_down: Duration::from_secs(10),
        ..Default::default()
    };
    let ex = Executor::new(RetryPolicy::no_retries(), Breakers::new(cfg));
    for c in candidates() {
        ex.breakers
            .acquire(&c.provider, &c.model)
            .unwrap()
            .failure();
    }
    let (e, attempts) = ex
        .call_with_fallbacks(&candidates(), |_c, _n| async { Ok::<_, ProviderError>(()) })
        .await
        .unwrap_err();
    assert_eq!(e.to_openai_error().0, 503);
    assert!(
        e.message.contains("alpha/model-a, beta/model-b"),
        "{}",
        e.message
    );
    assert_eq!(attempts.calls(), 0);
    assert_eq!(
        attempts.shortest_breaker_wait(),
        Some(Duration::from_secs(10))
    );
}

#[tokio::test(start_paused = true)]
async fn total_deadline_cuts_a_hanging_call() {
    let ex = executor().with_deadline(Duration::from_secs(5));
    let t0 = Instant::now();
    let (e, attempts) = ex
        .call_with_fallbacks(&candidates(), |_c, _n| async {
            std::future::pending::<Result<(), ProviderError>>().await
        })
        .await
        .unwrap_err();
    assert_eq!(t0.elapsed(), Duration::from_secs(5));
    assert_eq!(e.kind, ProviderErrorKind::Timeout);
    assert_eq!(e.to_openai_error().0, 504);
    assert!(e.message.contains("5.0 s"), "{}", e.message);
    assert_eq!(attempts.steps[0].outcome, Outcome::DeadlineExceeded);
    // A timed-out call counts against the provider's breaker.
    assert_eq!(ex.breakers.snapshot()[0].consecutive_failures, 1);
}

#[tokio::test(start_paused = true)]
async fn deadline_skips_backoff_that_would_overrun_it() {
    let policy = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(1),
        max_retry_after: Duration::from_secs(10),
    };
    let ex = Executor::new(policy, Breakers::default()).with_deadline(Duration::from_secs(2));
    let limited = err(
        ProviderErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(5)),
        },
        "alpha",
    );
    let s = Script::default().fail("alpha", vec![limited]);
    let t0 = Instant::now();
    let (answer, _) = ex
        .call_with_fallbacks(&candidates(), |c, n| {
            let (s, c) = (s.clone(), c.clone());
            async move { s.call(&c, n).await }
        })
        .await
        .unwrap();
    // A 5 s wait does not fit in 2 s: beta is tried at once.
    assert_eq!(answer, "answer from model-b");
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn no_candidates_is_unavailable() {
    let (e, attempts) = executor()
        .call_with_fallbacks(&Vec::<Candidate>::new(), |_c, _n| async {
            Ok::<_, ProviderError>(())
        })
        .await
        .unwrap_err();
    assert_eq!(e.to_openai_error().0, 503);
    assert_eq!(attempts.calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn executor_future_is_send() {
    let s = Script::default().fail("alpha", vec![unavailable("alpha")]);
    let ex = executor();
    let handle = tokio::spawn(async move {
        ex.call_with_fallbacks(&candidates(), move |c, n| {
            let (s, c) = (s.clone(), c.clone());
            async move { s.call(&c, n).await }
        })
        .await
        .map(|(a, att)| (a, att.calls()))
        .map_err(|(e, _)| e)
    });
    assert_eq!(
        handle.await.unwrap().unwrap(),
        ("answer from model-a".to_string(), 2)
    );
}
