#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! RouteLLM two-model metrics on hand-computed cases and against RouteLLM's own code path.

use llmgw_eval::baselines::{fixed_choice, oracle, prompt_length, random_baseline, RANDOM_SEEDS};
use llmgw_eval::evaluate_two_model;
use llmgw_eval::two_model::decile_thresholds;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[track_caller]
fn assert_close(got: Option<f64>, want: f64) {
    let got = got.expect("metric is defined");
    assert!(close(got, want, 1e-9), "got {got}, want {want}");
}

// Two prompts. A: strong right, weak wrong. B: both right. Strong 1.0, weak 0.5.
// Deciles of the scores {0, 1} are 0, 0.1, ..., 1: the first threshold sends both to the
// strong model, the nine middle ones only the higher score, the last (strict) none.
const STRONG: [f64; 2] = [1.0, 1.0];
const WEAK: [f64; 2] = [0.0, 1.0];

#[test]
fn perfect_router_hand_computed() {
    let m = evaluate_two_model(&[1.0, 0.0], &STRONG, &WEAK).unwrap();
    let pts: Vec<(f64, f64)> = m.curve.iter().map(|p| (p.strong_pct, p.quality)).collect();
    assert_eq!(pts[0], (0.0, 0.5));
    assert!(pts[1..10].iter().all(|&p| p == (50.0, 1.0)));
    assert_eq!(pts[10], (100.0, 1.0));
    // area: 0.5 * (0.5 + 1) / 2 + 0.5 * 1 = 0.875; APGR = (0.875 - 0.5) / (1 - 0.5)
    assert!(close(m.auc, 0.875, 1e-12));
    assert_close(m.apgr, 0.75);
    // quality 0.75 is reached a quarter of the way from 0% to 50%
    assert_close(m.cpt50, 25.0);
    assert_close(m.cpt80, 40.0);
}

#[test]
fn reversed_router_hand_computed() {
    let m = evaluate_two_model(&[0.0, 1.0], &STRONG, &WEAK).unwrap();
    let pts: Vec<(f64, f64)> = m.curve.iter().map(|p| (p.strong_pct, p.quality)).collect();
    assert!(pts[1..10].iter().all(|&p| p == (50.0, 0.5)));
    // area: 0.5 * 0.5 + 0.5 * (0.5 + 1) / 2 = 0.625
    assert!(close(m.auc, 0.625, 1e-12));
    assert_close(m.apgr, 0.25);
    // np.interp over the flat run lands on its last point, then rises to 100%
    assert_close(m.cpt50, 75.0);
    assert_close(m.cpt80, 90.0);
}

#[test]
fn all_scores_tied_is_half_way() {
    // Every threshold equals the score: 10 points at 100% strong, the strict last at 0%.
    let strong = [1.0, 0.0, 1.0, 1.0];
    let weak = [0.0, 0.0, 1.0, 0.0];
    let m = evaluate_two_model(&[0.3; 4], &strong, &weak).unwrap();
    assert_eq!(m.curve[0].strong_pct, 0.0);
    assert!(m.curve[1..].iter().all(|p| p.strong_pct == 100.0));
    assert_close(m.apgr, 0.5);
    assert_close(m.cpt50, 50.0);
    assert_close(m.cpt80, 80.0);
}

#[test]
fn partly_tied_scores_hand_computed() {
    // Scores {0, 0, 1, 1}: thresholds 0 (x4), 0.2, 0.5, 0.8, 1 (x3), 1 (strict).
    // A(0): both right; B(0): both wrong; C(1): strong right; D(1): both right.
    let scores = [0.0, 0.0, 1.0, 1.0];
    let strong = [1.0, 0.0, 1.0, 1.0];
    let weak = [1.0, 0.0, 0.0, 1.0];
    let t = decile_thresholds(&scores);
    assert_eq!(t.len(), 11);
    assert_eq!(&t[..4], &[0.0; 4]);
    assert!(close(t[5], 0.5, 1e-12));
    assert_eq!(&t[7..], &[1.0; 4]);
    let m = evaluate_two_model(&scores, &strong, &weak).unwrap();
    let at_50: Vec<_> = m.curve.iter().filter(|p| p.strong_pct == 50.0).collect();
    assert_eq!(at_50.len(), 6);
    assert!(at_50.iter().all(|p| p.quality == 0.75));
    // area 0.3125 + 0.375; weak 0.5, strong 0.75
    assert_close(m.apgr, 0.75);
    assert_close(m.cpt50, 25.0);
    assert_close(m.cpt80, 40.0);
}

#[test]
fn equal_models_have_no_apgr() {
    let m = evaluate_two_model(&[0.1, 0.9], &[1.0, 0.0], &[0.0, 1.0]).unwrap();
    assert_eq!(m.apgr, None);
    assert_eq!(m.cpt50, None);
}

#[test]
fn bad_inputs_are_errors() {
    assert!(evaluate_two_model(&[], &[], &[]).is_err());
    assert!(evaluate_two_model(&[0.1], &[1.0, 0.0], &[0.0]).is_err());
    assert!(evaluate_two_model(&[f64::NAN], &[1.0], &[0.0]).is_err());
}

fn dataset_one() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = 97;
    let scores = (0..n).map(|i| ((i * 37) % 23) as f64 / 7.0).collect();
    let strong = (0..n)
        .map(|i| if (i * 13) % 5 == 0 { 0.0 } else { 1.0 })
        .collect();
    let weak = (0..n)
        .map(|i| if (i * 7) % 3 == 0 { 1.0 } else { 0.0 })
        .collect();
    (scores, strong, weak)
}

fn dataset_two() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = 97;
    let scores = (0..n)
        .map(|i| ((i * 7919) % 1009) as f64 / 1009.0 - 0.3)
        .collect();
    let strong = (0..n).map(|i| ((i * 31) % 11) as f64 / 10.0).collect();
    let weak = (0..n).map(|i| ((i * 17) % 7) as f64 / 6.0).collect();
    (scores, strong, weak)
}

/// Expected values come from RouteLLM's code path run with pandas 3.1 / numpy 2.4:
/// `pd.qcut(scores, 10, retbins=True)`, the `>=` / last `>` selection, `sort_values`,
/// `np.trapz` and `np.interp` exactly as in `routellm/evals/evaluate.py`.
#[test]
fn matches_routellm_on_tied_scores() {
    let (scores, strong, weak) = dataset_one();
    let m = evaluate_two_model(&scores, &strong, &weak).unwrap();
    let want_t = [
        0.0,
        0.2857142857142857,
        0.5714285714285714,
        0.8571428571428571,
        1.2857142857142858,
        1.5714285714285714,
        1.8571428571428572,
        2.1714285714285717,
        2.5714285714285716,
        2.857142857142857,
        3.142857142857143,
    ];
    assert_eq!(decile_thresholds(&scores), want_t);
    let want_pct = [
        0.0,
        12.371134020618557,
        21.649484536082475,
        29.896907216494846,
        43.29896907216495,
        51.546391752577314,
        60.824742268041234,
        73.19587628865979,
        82.4742268041237,
        90.72164948453609,
        100.0,
    ];
    let got_pct: Vec<f64> = m.curve.iter().map(|p| p.strong_pct).collect();
    for (g, w) in got_pct.iter().zip(want_pct) {
        assert!(close(*g, w, 1e-12), "{g} vs {w}");
    }
    assert_close(m.apgr, 0.5183926897844423);
    assert_close(m.cpt20, 14.84536082474228);
    assert_close(m.cpt50, 48.79725085910653);
    assert_close(m.cpt80, 79.13402061855672);
}

/// Graded qualities whose curve is not monotonic: CPT follows numpy's `interp` search on
/// unsorted `xp`, as RouteLLM's does.
#[test]
fn matches_routellm_on_non_monotonic_curve() {
    let (scores, strong, weak) = dataset_two();
    let m = evaluate_two_model(&scores, &strong, &weak).unwrap();
    assert!(close(m.curve[5].threshold, 0.20842418235877108, 1e-15));
    assert_close(m.apgr, 0.3353547604608696);
    assert_close(m.cpt20, 23.814432989690793);
    assert_close(m.cpt50, 25.128865979381548);
    assert_close(m.cpt80, 26.443298969072305);
}

#[test]
fn random_router_recovers_half_the_gap() {
    // 4,000 prompts; the strong model is right on 80%, the weak one on 50%.
    let n = 4000;
    let strong: Vec<f64> = (0..n).map(|i| if i % 5 == 0 { 0.0 } else { 1.0 }).collect();
    let weak: Vec<f64> = (0..n)
        .map(|i| if (i * 7) % 2 == 0 { 1.0 } else { 0.0 })
        .collect();
    let r = random_baseline(&strong, &weak, &RANDOM_SEEDS).unwrap();
    let apgr = r.apgr.unwrap();
    assert!(close(apgr, 0.5, 0.03), "random APGR {apgr}");
    let cpt50 = r.cpt50.unwrap();
    assert!(close(cpt50, 50.0, 4.0), "random CPT(50%) {cpt50}");
    let cpt80 = r.cpt80.unwrap();
    assert!(close(cpt80, 80.0, 4.0), "random CPT(80%) {cpt80}");
    assert_eq!(r.seeds.len(), 10);
    assert_eq!(r.curve.len(), 11);
    // seeds differ, so the runs differ
    let (lo, hi) = r.apgr_range.unwrap();
    assert!(hi > lo);
}

#[test]
fn oracle_beats_random_and_fixed_choices_are_end_points() {
    let (_, strong, weak) = dataset_one();
    let o = oracle(&strong, &weak).unwrap();
    let r = random_baseline(&strong, &weak, &RANDOM_SEEDS).unwrap();
    assert!(o.apgr.unwrap() > r.apgr.unwrap() + 0.2);
    let s = fixed_choice(&strong, &weak, true);
    let w = fixed_choice(&strong, &weak, false);
    assert_eq!((s.strong_pct, s.pgr), (100.0, Some(1.0)));
    assert_eq!((w.strong_pct, w.pgr), (0.0, Some(0.0)));
}

#[test]
fn prompt_length_scores_longer_prompts_higher() {
    // The long prompt is the one only the strong model gets right: a perfect router.
    let m = prompt_length(&["a much longer question", "short"], &STRONG, &WEAK).unwrap();
    assert_close(m.apgr, 0.75);
}
