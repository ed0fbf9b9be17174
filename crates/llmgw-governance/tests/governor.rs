#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The governor end to end on the in-memory store, with a manual clock.

use llmgw_governance::{
    Actual, Admission, ApiKey, GovernError, Governor, KeyHash, KeySpec, KeyStore, ManualClock,
    MemoryStore, NewKey, Period, RateKind,
};
use std::sync::Arc;
use std::time::Duration;

/// 2026-12-03T12:00:00Z
const NOON: i64 = 1_796_299_200_000;
const KEY: &str = "sk-llmgw-test-key-0001";

fn spec(id: &str, key: &str) -> KeySpec {
    NewKey::default().into_spec(id.into(), KeyHash::of(key))
}

fn governor(spec: KeySpec) -> (Governor, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(NOON));
    let keys = KeyStore::from_specs([spec]).unwrap();
    let g = Governor::with_parts(Arc::new(keys), Arc::new(MemoryStore::new()), clock.clone());
    (g, clock)
}

fn bearer() -> Option<&'static str> {
    Some("Bearer sk-llmgw-test-key-0001")
}

fn cost(usd: f64) -> Admission {
    Admission {
        estimated_tokens: 10,
        max_cost_usd: usd,
    }
}

#[tokio::test]
async fn open_gateway_lets_everyone_in_without_limits() {
    let g = Governor::new(KeyStore::new());
    assert!(g.is_open());
    let who = g.authenticate(None).unwrap();
    assert_eq!(who.key_id(), None);
    g.check_model(&who, "anything").unwrap();
    for _ in 0..1000 {
        g.admit(&who, cost(1e6)).await.unwrap().release().await;
    }
    // The first issued key closes it.
    let (_, key) = g.keys().issue(NewKey::default()).unwrap();
    assert!(!g.is_open());
    assert_eq!(g.authenticate(None).unwrap_err(), GovernError::MissingKey);
    let header = format!("Bearer {}", key.expose());
    assert!(g.authenticate(Some(&header)).is_ok());
}

#[test]
fn authentication_errors_never_echo_the_key() {
    let (g, _) = governor(spec("team-a", KEY));
    let who = g.authenticate(bearer()).unwrap();
    assert_eq!(who.key_id(), Some("team-a"));
    assert_eq!(who.tenant(), Some("team-a"));
    assert!(g
        .authenticate(Some("bearer   sk-llmgw-test-key-0001 "))
        .is_ok());

    let cases = [
        (None, GovernError::MissingKey),
        (
            Some("sk-llmgw-test-key-0001"),
            GovernError::MalformedAuthorization,
        ),
        (
            Some("Basic sk-llmgw-test-key-0001"),
            GovernError::MalformedAuthorization,
        ),
        (Some("Bearer "), GovernError::MalformedAuthorization),
        (
            Some("Bearer sk-llmgw-test-key-0002"),
            GovernError::InvalidKey,
        ),
    ];
    for (header, want) in cases {
        let err = g.authenticate(header).unwrap_err();
        assert_eq!(err, want, "{header:?}");
        let api = err.to_api_error();
        assert_eq!(api.status, 401);
        assert_eq!(api.body.error.kind, "authentication_error");
        let text = format!(
            "{err:?} {err} {}",
            serde_json::to_string(&api.body).unwrap()
        );
        assert!(!text.contains("test-key-000"), "{text}");
    }
}

#[test]
fn model_allow_list_gives_403() {
    let mut s = spec("a", KEY);
    s.models = Some(vec!["cheap-*".into(), "gpt-4o-mini".into()]);
    let (g, _) = governor(s);
    let who = g.authenticate(bearer()).unwrap();
    assert_eq!(who.allowed_models().unwrap().len(), 2);
    g.check_model(&who, "cheap-llama").unwrap();
    let err = g.check_model(&who, "gpt-4o").unwrap_err();
    assert_eq!(err.status(), 403);
    assert_eq!(
        err.to_error_body().error.code.as_deref(),
        Some("model_not_allowed")
    );
}

#[tokio::test]
async fn requests_per_minute_with_retry_after() {
    let mut s = spec("a", KEY);
    s.requests_per_minute = Some(3);
    let (g, clock) = governor(s);
    let who = g.authenticate(bearer()).unwrap();
    for _ in 0..3 {
        g.admit(&who, cost(0.0)).await.unwrap().release().await;
    }
    let err = g.admit(&who, cost(0.0)).await.unwrap_err();
    assert!(matches!(
        err,
        GovernError::RateLimited {
            kind: RateKind::Requests,
            limit: 3,
            ..
        }
    ));
    // One request refills every 20 s.
    assert_eq!(err.retry_after(), Some(Duration::from_secs(20)));
    assert_eq!(err.retry_after_secs(), Some(20));
    assert_eq!(err.to_api_error().status, 429);
    clock.advance(19_999);
    assert!(g.admit(&who, cost(0.0)).await.is_err());
    clock.advance(1);
    g.admit(&who, cost(0.0)).await.unwrap().release().await;
}

#[tokio::test]
async fn tokens_per_minute_settle_from_actual_usage() {
    let mut s = spec("a", KEY);
    s.tokens_per_minute = Some(1_000);
    let (g, clock) = governor(s);
    let who = g.authenticate(bearer()).unwrap();
    let est = |n| Admission {
        estimated_tokens: n,
        max_cost_usd: 0.0,
    };
    // Estimated 600, used 100: 500 come back.
    let p = g.admit(&who, est(600)).await.unwrap();
    p.settle(Actual {
        tokens: 100,
        cost_usd: 0.0,
    })
    .await;
    let p = g.admit(&who, est(900)).await.unwrap();
    // Estimated 900, used 2,900: the bucket owes 2,000 + the 100 used before.
    p.settle(Actual {
        tokens: 2_900,
        cost_usd: 0.0,
    })
    .await;
    let err = g.admit(&who, est(1)).await.unwrap_err();
    assert!(matches!(
        err,
        GovernError::RateLimited {
            kind: RateKind::Tokens,
            ..
        }
    ));
    // Level is -2,000; 1 token needs 2,001 at 1,000/min = 120.06 s.
    assert_eq!(err.retry_after(), Some(Duration::from_millis(120_060)));
    clock.advance(120_060);
    g.admit(&who, est(1)).await.unwrap().release().await;
}

#[tokio::test]
async fn refused_requests_take_nothing() {
    let mut s = spec("a", KEY);
    s.requests_per_minute = Some(2);
    s.tokens_per_minute = Some(100);
    s.daily_budget_usd = Some(1.0);
    let (g, _) = governor(s);
    let who = g.authenticate(bearer()).unwrap();
    let held = g.admit(&who, cost(1.0)).await.unwrap();
    // Over budget (held): neither the request nor its tokens are counted.
    for _ in 0..5 {
        let err = g.admit(&who, cost(0.5)).await.unwrap_err();
        assert!(matches!(err, GovernError::BudgetHeld { .. }), "{err}");
        assert_eq!(err.retry_after_secs(), Some(1));
    }
    held.release().await;
    g.admit(&who, cost(0.5)).await.unwrap().release().await;
    assert!(matches!(
        g.admit(&who, cost(0.5)).await.unwrap_err(),
        GovernError::RateLimited {
            kind: RateKind::Requests,
            ..
        }
    ));
}

#[tokio::test]
async fn daily_and_monthly_budgets_reset_in_utc() {
    let mut s = spec("a", KEY);
    s.daily_budget_usd = Some(1.0);
    s.monthly_budget_usd = Some(1.5);
    let (g, clock) = governor(s);
    let who = g.authenticate(bearer()).unwrap();
    let a = g.admit(&who, cost(0.4)).await.unwrap();
    let b = g.admit(&who, cost(0.4)).await.unwrap();
    assert!(matches!(
        g.admit(&who, cost(0.4)).await.unwrap_err(),
        GovernError::BudgetHeld {
            period: Period::Day,
            ..
        }
    ));
    a.settle(Actual {
        tokens: 0,
        cost_usd: 0.5,
    })
    .await;
    b.settle(Actual {
        tokens: 0,
        cost_usd: 0.5,
    })
    .await;
    let usage = g.usage("a").await.unwrap();
    assert!((usage.spent_today_usd - 1.0).abs() < 1e-9, "{usage:?}");
    assert_eq!(usage.reserved_today_usd, 0.0);

    let err = g.admit(&who, cost(0.01)).await.unwrap_err();
    let GovernError::BudgetExceeded {
        period,
        retry_after,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*period, Period::Day);
    assert_eq!(
        *retry_after,
        Duration::from_secs(12 * 3600),
        "until UTC midnight"
    );
    assert!(
        err.to_string().contains("resets at 2026-12-04T00:00:00Z"),
        "{err}"
    );
    let body = err.to_error_body();
    assert_eq!(
        (body.error.kind.as_str(), body.error.code.as_deref()),
        ("insufficient_quota", Some("budget_exceeded"))
    );

    // Next day: the daily budget is fresh, the monthly one has 0.5 left.
    clock.advance(12 * 3600 * 1000);
    let c = g.admit(&who, cost(0.3)).await.unwrap();
    c.settle(Actual {
        tokens: 0,
        cost_usd: 0.6,
    })
    .await;
    let err = g.admit(&who, cost(0.01)).await.unwrap_err();
    assert!(
        matches!(
            err,
            GovernError::BudgetExceeded {
                period: Period::Month,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("2027-01-01T00:00:00Z"), "{err}");
}

#[tokio::test]
async fn dropped_permit_releases_its_hold() {
    let mut s = spec("a", KEY);
    s.daily_budget_usd = Some(1.0);
    let (g, _) = governor(s);
    let who = g.authenticate(bearer()).unwrap();
    let p = g.admit(&who, cost(0.9)).await.unwrap();
    assert!((p.reserved_usd() - 0.9).abs() < 1e-9);
    assert!(g.admit(&who, cost(0.9)).await.is_err());
    drop(p);
    g.flush().await;
    assert_eq!(g.usage("a").await.unwrap().reserved_today_usd, 0.0);
    g.admit(&who, cost(0.9)).await.unwrap().release().await;

    // Abandoned after the prompt went upstream: the hold goes, the prompt is charged.
    let mut p = g.admit(&who, cost(0.9)).await.unwrap();
    p.charge_if_dropped(Actual {
        tokens: 50,
        cost_usd: 0.25,
    });
    drop(p);
    let usage = g.usage("a").await.unwrap();
    assert_eq!(usage.reserved_today_usd, 0.0);
    assert!((usage.spent_today_usd - 0.25).abs() < 1e-9, "{usage:?}");
}

#[tokio::test]
async fn admin_key_and_revocation() {
    let (g, _) = governor(spec("a", KEY));
    assert_eq!(
        g.authenticate_admin(Some("Bearer x")).unwrap_err(),
        GovernError::AdminDisabled
    );
    let admin = ApiKey::generate();
    let g = g.with_admin_key_hash(admin.hash());
    let header = format!("Bearer {}", admin.expose());
    g.authenticate_admin(Some(&header)).unwrap();
    assert_eq!(
        g.authenticate_admin(bearer()).unwrap_err(),
        GovernError::InvalidAdminKey
    );
    // The admin key is not a gateway key.
    assert_eq!(
        g.authenticate(Some(&header)).unwrap_err(),
        GovernError::InvalidKey
    );

    assert!(g.revoke("a").await.unwrap());
    assert!(!g.revoke("a").await.unwrap());
    assert!(g.is_open(), "no keys left");
}

#[test]
fn debug_output_holds_no_secrets() {
    let (g, _) = governor(spec("a", KEY));
    let who = g.authenticate(bearer()).unwrap();
    let text = format!("{g:?} {who:?}");
    assert!(!text.contains("test-key"), "{text}");
}
