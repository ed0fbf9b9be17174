#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Frontier, AIQ, willingness-to-pay sweep and savings on hand-computed cases.

use llmgw_eval::frontier::{aiq, hull_value, non_decreasing_convex_hull, FrontierPoint};
use llmgw_eval::many_model::{evaluate_many_model, lambda_grid, ManyModelInput};

fn fp(cost: f64, quality: f64) -> FrontierPoint {
    FrontierPoint { cost, quality }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn hull_drops_points_under_it_and_flattens_after_the_best() {
    let pts = [
        fp(0.0, 0.5),
        fp(1.0, 0.6),
        fp(2.0, 0.9),
        fp(3.0, 0.85),
        fp(1.5, 0.55),
    ];
    let hull = non_decreasing_convex_hull(&pts);
    // (1, 0.6) lies under the segment (0, 0.5)-(2, 0.9), whose value at 1 is 0.7;
    // (3, 0.85) comes after the best point and is cut.
    assert_eq!(hull, vec![fp(0.0, 0.5), fp(2.0, 0.9)]);
    assert!(close(hull_value(&hull, 1.0).unwrap(), 0.7));
    assert!(close(hull_value(&hull, 3.0).unwrap(), 0.9));
    // area over [0, 3]: 2 * (0.5 + 0.9) / 2 + 1 * 0.9 = 2.3
    assert!(close(aiq(&pts, 0.0, 3.0).unwrap(), 2.3 / 3.0));
}

#[test]
fn hull_keeps_concave_points_and_best_quality_per_cost() {
    let pts = [
        fp(0.0, 0.2),
        fp(1.0, 0.7),
        fp(1.0, 0.6),
        fp(2.0, 0.9),
        fp(4.0, 1.0),
    ];
    let hull = non_decreasing_convex_hull(&pts);
    assert_eq!(
        hull,
        vec![fp(0.0, 0.2), fp(1.0, 0.7), fp(2.0, 0.9), fp(4.0, 1.0)]
    );
    // trapezoids: 0.45 + 0.8 + 1.9 = 3.15 over a span of 4
    assert!(close(aiq(&pts, 0.0, 4.0).unwrap(), 3.15 / 4.0));
    // a sub-span: [1, 2] -> (0.7 + 0.9) / 2
    assert!(close(aiq(&pts, 1.0, 2.0).unwrap(), 0.8));
    assert_eq!(aiq(&pts, 1.0, 1.0), None);
    assert!(non_decreasing_convex_hull(&[]).is_empty());
}

/// Two models, four prompts: `cheap` is right on prompts 1-2, `dear` on 1-3.
fn toy(predicted: Option<Vec<Vec<f64>>>) -> ManyModelInput {
    ManyModelInput {
        models: vec!["cheap".into(), "dear".into()],
        truth: vec![
            vec![1.0, 1.0],
            vec![1.0, 1.0],
            vec![0.0, 1.0],
            vec![0.0, 0.0],
        ],
        cost: vec![vec![0.001, 0.01]; 4],
        predicted,
    }
}

#[test]
fn oracle_and_single_models_hand_computed() {
    let m = evaluate_many_model(&toy(None)).unwrap();
    assert_eq!(m.best_single.model, "dear");
    assert!(close(m.best_single.quality, 0.75));
    assert_eq!(m.cost_span, (0.001, 0.01));
    // mixing the two single models: a straight line from 0.5 to 0.75
    assert!(close(m.single_models_aiq.unwrap(), 0.625));
    // the oracle calls `dear` only on prompt 3: cost (3 * 0.001 + 0.01) / 4, quality 0.75
    let o = &m.oracle;
    let s100 = o.savings_at_100.unwrap();
    assert!(close(s100.cost, 0.00325));
    assert!(close(s100.fraction, 1.0 - 0.00325 / 0.01));
    assert!(close(o.savings_at_95.unwrap().fraction, s100.fraction));
    assert_eq!(o.frontier.len(), 2);
    assert!(close(o.frontier[0].cost, 0.001) && close(o.frontier[0].quality, 0.5));
    assert!(close(o.frontier[1].cost, 0.00325) && close(o.frontier[1].quality, 0.75));
    // area: 0.00225 * 0.625 + 0.00675 * 0.75, over 0.009
    assert!(close(
        o.aiq.unwrap(),
        (0.00225 * 0.625 + 0.00675 * 0.75) / 0.009
    ));
    assert!(m.router.is_none());
}

#[test]
fn router_that_always_prefers_dear_saves_nothing_at_full_quality() {
    let m = evaluate_many_model(&toy(Some(vec![vec![0.5, 0.9]; 4]))).unwrap();
    let r = m.router.unwrap();
    assert!(close(r.savings_at_100.unwrap().fraction, 0.0));
    assert!(close(r.aiq.unwrap(), 0.625));
    // it switches from cheap to dear when 0.4 > 0.009 / lambda
    for p in &r.points {
        if let Some(l) = p.lambda {
            let want = if l > 0.0225 { 100.0 } else { 0.0 };
            assert_eq!(p.calls_pct["dear"], want, "lambda {l}");
        }
    }
    assert!(r.points.windows(2).all(|w| w[0].cost <= w[1].cost));
}

#[test]
fn good_router_matches_oracle_savings() {
    // predicts exactly which prompt needs `dear`
    let pred = vec![
        vec![0.9, 0.9],
        vec![0.9, 0.9],
        vec![0.1, 0.9],
        vec![0.1, 0.1],
    ];
    let m = evaluate_many_model(&toy(Some(pred))).unwrap();
    let r = m.router.unwrap();
    assert!(close(r.savings_at_100.unwrap().fraction, 0.675));
    assert!(close(r.aiq.unwrap(), m.oracle.aiq.unwrap()));
}

#[test]
fn lambda_grid_spans_every_decision() {
    let cost = vec![vec![0.001, 0.01, 0.002], vec![0.004, 0.02, 0.004]];
    let g = lambda_grid(&cost, 50);
    assert_eq!(g.len(), 50);
    assert!(g[0] < 0.001, "{}", g[0]);
    assert!(g[49] > 0.018 / 1e-4, "{}", g[49]);
    assert!(g.windows(2).all(|w| w[0] < w[1]));
    // all models cost the same: one lambda is enough
    assert_eq!(lambda_grid(&[vec![1.0, 1.0]], 50), vec![1.0]);
}

#[test]
fn bad_many_model_inputs_are_errors() {
    let mut t = toy(None);
    t.cost[0].pop();
    assert!(evaluate_many_model(&t).is_err());
    let mut t = toy(None);
    t.truth[1][0] = f64::NAN;
    assert!(evaluate_many_model(&t).is_err());
    let mut t = toy(Some(vec![vec![0.5, 0.5]; 3]));
    t.models = vec!["cheap".into(), "dear".into()];
    assert!(evaluate_many_model(&t).is_err());
}
