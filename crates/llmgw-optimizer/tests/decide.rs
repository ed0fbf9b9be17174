#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Decisions on crafted catalogs.

use llmgw_optimizer::{decide, Candidate, Constraints, OptimizerError, Policy, Prices};

/// 1,000 prompt tokens and 500 output tokens, so cost = (in + out / 2) / 1000 USD.
fn cand(model: &str, provider: &str, q: f64, input: f64, output: f64) -> Candidate {
    Candidate {
        model: model.into(),
        provider: provider.into(),
        predicted_quality: q,
        prices: Prices::new(input, output),
        prompt_tokens: 1000,
        cached_prompt_tokens: 0,
        expected_output_tokens: 500,
        available: true,
        unavailable_reason: None,
    }
}

fn catalog() -> Vec<Candidate> {
    vec![
        cand("gpt-4-1106-preview", "openai", 0.92, 10.0, 30.0), // $0.025
        cand("claude-mid", "anthropic", 0.85, 3.0, 15.0),       // $0.0105
        cand("mixtral-8x7b", "together", 0.74, 0.24, 0.24),     // $0.00036
    ]
}

fn winner(d: &llmgw_optimizer::Decision) -> &str {
    d.winner().map(|w| w.model.as_str()).unwrap_or("<none>")
}

fn min_q(target: f64) -> Policy {
    Policy::MinQuality { target }
}

#[test]
fn estimated_costs_are_reported_for_every_candidate() {
    let d = decide(&catalog(), &min_q(0.7), &Constraints::default()).unwrap();
    let costs: Vec<f64> = d.candidates.iter().map(|c| c.estimated_cost_usd).collect();
    for (got, want) in costs.iter().zip([0.025, 0.0105, 0.00036]) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    assert_eq!(d.candidates.len(), 3);
    assert!(d.candidates.iter().all(|c| c.eligible && c.rank.is_some()));
}

#[test]
fn higher_target_moves_to_a_stronger_model() {
    let c = catalog();
    let none = Constraints::default();
    assert_eq!(
        winner(&decide(&c, &min_q(0.70), &none).unwrap()),
        "mixtral-8x7b"
    );
    assert_eq!(
        winner(&decide(&c, &min_q(0.80), &none).unwrap()),
        "claude-mid"
    );
    assert_eq!(
        winner(&decide(&c, &min_q(0.90), &none).unwrap()),
        "gpt-4-1106-preview"
    );
    // the target is inclusive
    assert_eq!(
        winner(&decide(&c, &min_q(0.85), &none).unwrap()),
        "claude-mid"
    );
}

#[test]
fn unreachable_target_picks_highest_predicted_quality() {
    let d = decide(&catalog(), &min_q(0.99), &Constraints::default()).unwrap();
    assert_eq!(winner(&d), "gpt-4-1106-preview");
    assert!(d
        .winner()
        .unwrap()
        .reason
        .contains("no eligible model reaches"));
    // fallbacks by predicted quality
    assert_eq!(
        d.ranked_models(),
        ["gpt-4-1106-preview", "claude-mid", "mixtral-8x7b"]
    );
}

#[test]
fn min_quality_fallback_order_is_cheapest_qualified_then_best_unqualified() {
    let d = decide(&catalog(), &min_q(0.8), &Constraints::default()).unwrap();
    assert_eq!(
        d.ranked_models(),
        ["claude-mid", "gpt-4-1106-preview", "mixtral-8x7b"]
    );
    let mixtral = &d.candidates[2];
    assert_eq!(mixtral.rank, Some(2));
    assert!(
        mixtral.reason.contains("below min_quality"),
        "{}",
        mixtral.reason
    );
}

#[test]
fn price_change_flips_min_quality_decision() {
    let mut c = catalog();
    let none = Constraints::default();
    assert_eq!(
        winner(&decide(&c, &min_q(0.8), &none).unwrap()),
        "claude-mid"
    );
    // claude-mid becomes dearer than gpt-4: the cheapest qualified model is now gpt-4
    c[1].prices = Prices::new(20.0, 60.0);
    assert_eq!(
        winner(&decide(&c, &min_q(0.8), &none).unwrap()),
        "gpt-4-1106-preview"
    );
}

#[test]
fn price_change_flips_willingness_to_pay_decision() {
    let mut c = catalog();
    let none = Constraints::default();
    // lambda = 1 USD per unit quality: utilities 0.895, 0.8395, 0.73964
    let wtp = Policy::WillingnessToPay { lambda: 1.0 };
    let d = decide(&c, &wtp, &none).unwrap();
    assert_eq!(winner(&d), "gpt-4-1106-preview");
    let u = d.winner().unwrap().utility.unwrap();
    assert!((u - (0.92 - 0.025)).abs() < 1e-12);
    // gpt-4 ten times dearer: cost 0.25, utility 0.67 < claude's 0.8395
    c[0].prices = Prices::new(100.0, 300.0);
    assert_eq!(winner(&decide(&c, &wtp, &none).unwrap()), "claude-mid");
}

#[test]
fn lower_willingness_to_pay_moves_to_cheaper_models() {
    let c = catalog();
    let none = Constraints::default();
    let w = |lambda| {
        winner(&decide(&c, &Policy::WillingnessToPay { lambda }, &none).unwrap()).to_string()
    };
    assert_eq!(w(10.0), "gpt-4-1106-preview");
    // lambda = 0.1: 0.92-0.25=0.67, 0.85-0.105=0.745, 0.74-0.0036=0.7364
    assert_eq!(w(0.1), "claude-mid");
    // lambda = 0.01: gpt-4 -1.58, claude -0.2, mixtral 0.704
    assert_eq!(w(0.01), "mixtral-8x7b");
}

#[test]
fn tighter_cost_cap_excludes_a_model() {
    let c = catalog();
    let cap = |usd| Constraints {
        max_cost_usd: Some(usd),
        ..Default::default()
    };
    assert_eq!(
        winner(&decide(&c, &min_q(0.9), &cap(0.03)).unwrap()),
        "gpt-4-1106-preview"
    );
    let d = decide(&c, &min_q(0.9), &cap(0.02)).unwrap();
    assert_eq!(winner(&d), "claude-mid");
    let gpt4 = &d.candidates[0];
    assert!(!gpt4.eligible);
    assert_eq!(gpt4.rank, None);
    assert!(
        gpt4.reason.contains("exceeds max_cost_usd"),
        "{}",
        gpt4.reason
    );
    // a cap below every cost leaves nothing
    let d = decide(&c, &min_q(0.9), &cap(0.0001)).unwrap();
    assert!(d.winner().is_none());
}

#[test]
fn allowed_models_and_excluded_providers() {
    let c = catalog();
    let only = Constraints {
        allowed_models: Some(vec!["gpt-4-1106-preview".into(), "mixtral-8x7b".into()]),
        ..Default::default()
    };
    let d = decide(&c, &min_q(0.8), &only).unwrap();
    assert_eq!(winner(&d), "gpt-4-1106-preview");
    assert_eq!(d.candidates[1].reason, "not in the allowed models");

    let no_openai = Constraints {
        excluded_providers: vec!["openai".into()],
        ..Default::default()
    };
    let d = decide(&c, &min_q(0.9), &no_openai).unwrap();
    assert_eq!(winner(&d), "claude-mid");
    assert!(d.candidates[0]
        .reason
        .contains("provider `openai` is excluded"));
}

#[test]
fn ties_break_by_model_id_whatever_the_input_order() {
    let a = cand("model-a", "p1", 0.8, 1.0, 1.0);
    let b = cand("model-b", "p2", 0.8, 1.0, 1.0);
    let none = Constraints::default();
    for policy in [
        min_q(0.5),
        min_q(0.9),
        Policy::WillingnessToPay { lambda: 0.3 },
    ] {
        let d1 = decide(&[a.clone(), b.clone()], &policy, &none).unwrap();
        let d2 = decide(&[b.clone(), a.clone()], &policy, &none).unwrap();
        assert_eq!(d1.ranked_models(), ["model-a", "model-b"], "{policy}");
        assert_eq!(d2.ranked_models(), ["model-a", "model-b"], "{policy}");
    }
}

#[test]
fn equal_cost_qualified_tie_prefers_higher_quality() {
    let lo = cand("aaa-lower", "p", 0.81, 1.0, 1.0);
    let hi = cand("zzz-higher", "p", 0.95, 1.0, 1.0);
    let d = decide(&[lo, hi], &min_q(0.8), &Constraints::default()).unwrap();
    assert_eq!(winner(&d), "zzz-higher");
}

#[test]
fn equal_utility_prefers_cheaper() {
    // lambda 1: utilities 0.75 - 0.25 and 0.5 - 0.0 tie exactly in binary floating point.
    let mut dear = cand("dear", "p", 0.75, 0.0, 0.0);
    dear.prompt_tokens = 250_000; // 250k tokens * $1/M = $0.25
    dear.expected_output_tokens = 0;
    dear.prices = Prices::new(1.0, 0.0);
    let mut cheap = cand("cheap", "p", 0.5, 0.0, 0.0);
    cheap.expected_output_tokens = 0;
    let d = decide(
        &[dear, cheap],
        &Policy::WillingnessToPay { lambda: 1.0 },
        &Constraints::default(),
    )
    .unwrap();
    let u: Vec<f64> = d.candidates.iter().map(|c| c.utility.unwrap()).collect();
    assert_eq!(u[0], u[1]);
    assert_eq!(winner(&d), "cheap");
}

#[test]
fn all_unavailable_gives_no_winner_and_every_reason() {
    let mut c = catalog();
    for (i, x) in c.iter_mut().enumerate() {
        x.available = false;
        if i == 0 {
            x.unavailable_reason = Some("OPENAI_API_KEY is not set".into());
        }
    }
    let d = decide(&c, &min_q(0.5), &Constraints::default()).unwrap();
    assert!(d.winner().is_none());
    assert!(d.ranked.is_empty());
    assert!(d.candidates.iter().all(|o| !o.eligible));
    match d.require_winner() {
        Err(OptimizerError::NoEligibleCandidate { reasons }) => {
            assert_eq!(reasons.len(), 3);
            assert!(reasons[0].contains("OPENAI_API_KEY is not set"));
            assert!(reasons[1].contains("unavailable"));
        }
        other => panic!("expected NoEligibleCandidate, got {other:?}"),
    }
}

#[test]
fn unavailable_model_is_skipped_and_next_takes_over() {
    let mut c = catalog();
    c[1].available = false;
    c[1].unavailable_reason = Some("circuit open after 5 failures".into());
    let d = decide(&c, &min_q(0.8), &Constraints::default()).unwrap();
    assert_eq!(winner(&d), "gpt-4-1106-preview");
    assert_eq!(d.ranked_models(), ["gpt-4-1106-preview", "mixtral-8x7b"]);
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let none = Constraints::default();
    assert_eq!(
        decide(&[], &min_q(0.5), &none),
        Err(OptimizerError::NoCandidates)
    );
    let mut c = catalog();
    c[0].predicted_quality = f64::NAN;
    assert!(matches!(
        decide(&c, &min_q(0.5), &none),
        Err(OptimizerError::InvalidCandidate { .. })
    ));
    let mut c = catalog();
    c[2].prices.input_per_mtok = -1.0;
    assert!(matches!(
        decide(&c, &min_q(0.5), &none),
        Err(OptimizerError::InvalidCandidate { .. })
    ));
    assert!(matches!(
        decide(&catalog(), &min_q(2.0), &none),
        Err(OptimizerError::InvalidPolicy(_))
    ));
    let bad_cap = Constraints {
        max_cost_usd: Some(f64::NAN),
        ..Default::default()
    };
    assert!(matches!(
        decide(&catalog(), &min_q(0.5), &bad_cap),
        Err(OptimizerError::InvalidConstraint(_))
    ));
}

#[test]
fn cached_prompt_tokens_lower_the_estimate() {
    let mut c = cand("m", "p", 0.8, 10.0, 0.0);
    c.prices.cached_input_per_mtok = Some(1.0);
    c.expected_output_tokens = 0;
    let full = c.estimated_cost_usd();
    c.cached_prompt_tokens = 1000;
    let cached = c.estimated_cost_usd();
    assert!((full - 0.01).abs() < 1e-12);
    assert!((cached - 0.001).abs() < 1e-12);
}
