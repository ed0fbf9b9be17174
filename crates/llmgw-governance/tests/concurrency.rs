#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Budgets under many concurrent requests: a window's spend may exceed its limit by at most one
//! request's cost, however the requests interleave.

use llmgw_governance::{Actual, Admission, GovernError, Governor, KeyHash, KeyStore, NewKey};
use rand::Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "sk-llmgw-concurrency";

fn governor(daily: f64, monthly: Option<f64>) -> Governor {
    let spec = NewKey {
        daily_budget_usd: Some(daily),
        monthly_budget_usd: monthly,
        ..Default::default()
    }
    .into_spec("load".into(), KeyHash::of(KEY));
    Governor::new(KeyStore::from_specs([spec]).unwrap())
}

struct Run {
    spent: f64,
    admitted: u64,
    refused_exceeded: u64,
    max_cost: f64,
}

/// `tasks` concurrent callers, each retrying until the budget is reported spent. Each request
/// reserves up to `max_reserve` and costs between `min_fraction` and all of what it reserved.
async fn race(g: Governor, tasks: usize, max_reserve: f64, min_fraction: f64) -> Run {
    let admitted = Arc::new(AtomicU64::new(0));
    let exceeded = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (g, admitted, exceeded) = (g.clone(), admitted.clone(), exceeded.clone());
        handles.push(tokio::spawn(async move {
            let who = g.authenticate(Some(&format!("Bearer {KEY}"))).unwrap();
            loop {
                let (reserve, fraction, pause) = {
                    let mut rng = rand::rng();
                    (
                        rng.random_range(0.001..max_reserve),
                        rng.random_range(min_fraction..=1.0),
                        rng.random_range(0..3u64),
                    )
                };
                let admission = Admission {
                    estimated_tokens: 100,
                    max_cost_usd: reserve,
                };
                match g.admit(&who, admission).await {
                    Ok(permit) => {
                        admitted.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                        let actual = Actual {
                            tokens: 100,
                            cost_usd: reserve * fraction,
                        };
                        permit.settle(actual).await;
                    }
                    Err(GovernError::BudgetHeld { .. }) => tokio::task::yield_now().await,
                    Err(GovernError::BudgetExceeded { .. }) => {
                        exceeded.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Err(e) => panic!("unexpected refusal: {e}"),
                }
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let usage = g.usage("load").await.unwrap();
    assert_eq!(usage.reserved_today_usd, 0.0, "every hold released");
    Run {
        spent: usage.spent_today_usd,
        admitted: admitted.load(Ordering::Relaxed),
        refused_exceeded: exceeded.load(Ordering::Relaxed),
        max_cost: max_reserve,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_tasks_overshoot_by_at_most_one_request() {
    for round in 0..5 {
        let run = race(governor(1.0, None), 300, 0.2, 0.0).await;
        assert_eq!(
            run.refused_exceeded, 300,
            "every task ended on a spent budget"
        );
        assert!(run.admitted > 5, "round {round}: {} admitted", run.admitted);
        // Every task stopped on BudgetExceeded, which needs spend >= limit.
        assert!(
            run.spent >= 1.0 - 1e-9,
            "round {round}: spent {}",
            run.spent
        );
        assert!(
            run.spent <= 1.0 + run.max_cost,
            "round {round}: spent {} > 1 + {}",
            run.spent,
            run.max_cost
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worst_case_costs_still_bounded() {
    // Every request costs exactly what it reserved, and reservations are large next to the
    // budget: the lone-request rule is exercised constantly.
    for _ in 0..5 {
        let run = race(governor(0.5, None), 200, 0.45, 1.0).await;
        assert!(
            run.spent >= 0.5 - 1e-9 && run.spent <= 0.5 + run.max_cost,
            "{}",
            run.spent
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn monthly_budget_bounds_too() {
    let run = race(governor(100.0, Some(0.75)), 200, 0.1, 0.5).await;
    assert!(
        run.spent >= 0.75 - 1e-9 && run.spent <= 0.75 + run.max_cost,
        "{}",
        run.spent
    );
}
