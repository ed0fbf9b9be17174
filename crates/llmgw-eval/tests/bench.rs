#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The bench report end to end on synthetic labelled prompts.

use std::collections::BTreeMap;

use llmgw_eval::{
    default_pair, run_bench, write_report, BenchOptions, LabelledPrompt, Predictions, ScoreRecord,
};

const GPT4: &str = "gpt-4-1106-preview";
const MIXTRAL: &str = "mixtral-8x7b-instruct-v0.1";

fn prompt(i: usize, source: &str, strong: f64, weak: f64) -> LabelledPrompt {
    LabelledPrompt {
        id: format!("p{i}"),
        source: source.into(),
        prompt: "x".repeat(20 + (i * 37) % 400),
        quality: BTreeMap::from([(GPT4.to_string(), strong), (MIXTRAL.to_string(), weak)]),
        cost_usd: BTreeMap::new(),
    }
}

/// 200 prompts in two sources; the strong model is right on 80%, the weak one on 55%.
fn data() -> Vec<LabelledPrompt> {
    (0..200)
        .map(|i| {
            let strong = if i % 5 == 0 { 0.0 } else { 1.0 };
            let weak = if (i * 7) % 20 < 11 { 1.0 } else { 0.0 };
            let source = if i % 2 == 0 {
                "mmlu/anatomy"
            } else {
                "mmlu/law"
            };
            prompt(i, source, strong, weak)
        })
        .collect()
}

/// A router that knows the true outcome, blurred a little.
fn good_predictions(data: &[LabelledPrompt]) -> Predictions {
    data.iter()
        .enumerate()
        .map(|(i, p)| {
            let jitter = (i % 7) as f64 * 0.01;
            let q = p
                .quality
                .iter()
                .map(|(m, v)| (m.clone(), (0.1 + 0.8 * v + jitter).min(1.0)))
                .collect();
            (
                p.id.clone(),
                ScoreRecord {
                    difficulty: Some(0.5),
                    quality: q,
                },
            )
        })
        .collect()
}

#[test]
fn default_pair_is_the_most_co_labelled_with_the_largest_gap() {
    let d = data();
    let refs: Vec<&LabelledPrompt> = d.iter().collect();
    assert_eq!(
        default_pair(&refs),
        Some((GPT4.to_string(), MIXTRAL.to_string()))
    );
    // a third model labelled on fewer prompts does not change the pair
    let mut d2 = data();
    d2[0].quality.insert("tiny".into(), 0.0);
    let refs: Vec<&LabelledPrompt> = d2.iter().collect();
    assert_eq!(
        default_pair(&refs),
        Some((GPT4.to_string(), MIXTRAL.to_string()))
    );
}

#[test]
fn report_with_a_good_router() {
    let d = data();
    let preds = good_predictions(&d);
    let opts = BenchOptions {
        router_name: "test-router".into(),
        data_files: vec!["synthetic".into()],
        ..Default::default()
    };
    let r = run_bench(&d, Some(&preds), &opts).unwrap();
    assert_eq!(r.n, 200);
    assert_eq!(r.strong, GPT4);
    assert_eq!(r.weak, MIXTRAL);
    let router = r.router.as_ref().unwrap();
    let random = r.baselines.random.apgr.unwrap();
    assert!(
        router.apgr.unwrap() > random + 0.2,
        "{:?} vs {random}",
        router.apgr
    );
    assert!(router.cpt50.unwrap() < r.baselines.random.cpt50.unwrap());
    assert!(router.aiq.unwrap() > r.many_model.as_ref().unwrap().single_models_aiq.unwrap());
    assert!(router.savings_at_95.unwrap() > 0.3);
    assert_eq!(r.per_source.len(), 2);
    assert_eq!(
        r.per_source["mmlu/anatomy"].n + r.per_source["mmlu/law"].n,
        200
    );
    assert_eq!(r.per_dataset["mmlu"].n, 200);
    assert_eq!(r.inputs.price_origin[GPT4], "built-in");

    let v = serde_json::to_value(&r).unwrap();
    for key in ["apgr", "cpt50", "cpt80", "aiq", "savings_at_95"] {
        assert!(v["router"][key].is_number(), "router.{key}");
    }
    for b in [
        "random",
        "oracle",
        "prompt_length",
        "always_strong",
        "always_weak",
    ] {
        assert!(v["baselines"][b].is_object(), "baselines.{b}");
    }
    assert!(v["n"].is_u64() && v["strong"].is_string() && v["weak"].is_string());
    assert!(v["per_source"]["mmlu/law"]["router"]["apgr"].is_number());
    assert_eq!(v["published"][0]["apgr"], 0.603);
}

#[test]
fn writes_json_markdown_and_svg() {
    let d = data();
    let preds = good_predictions(&d);
    let r = run_bench(&d, Some(&preds), &BenchOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let w = write_report(&r, &out).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&w.json).unwrap()).unwrap();
    assert_eq!(json["n"], 200);
    let md = std::fs::read_to_string(&w.markdown).unwrap();
    assert!(md.contains("| **router** |"));
    assert!(md.contains("0.603"));
    assert!(md.contains("35.40%"));
    let svg = std::fs::read_to_string(&w.svg).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    // router, random, prompt length, oracle, two reference lines; two frontiers
    assert!(svg.matches("<polyline").count() >= 8);
    assert!(!out.join("report.tmp").exists());
}

#[test]
fn baselines_only_without_router() {
    let d = data();
    let r = run_bench(&d, None, &BenchOptions::default()).unwrap();
    assert!(r.router.is_none());
    let pl = r.baselines.prompt_length.apgr.unwrap();
    assert!(pl.is_finite());
    let mm = r.many_model.unwrap();
    assert!(mm.router.is_none());
    assert!(mm.oracle.aiq.unwrap() >= mm.single_models_aiq.unwrap());
}

#[test]
fn cost_usd_in_the_data_wins_over_prices() {
    let mut d = data();
    for p in &mut d {
        p.cost_usd.insert(GPT4.into(), 0.5);
        p.cost_usd.insert(MIXTRAL.into(), 0.1);
    }
    let r = run_bench(&d, None, &BenchOptions::default()).unwrap();
    let mm = r.many_model.unwrap();
    let gpt4 = mm.single.iter().find(|s| s.model == GPT4).unwrap();
    assert_eq!(gpt4.cost, 0.5);
    assert_eq!(r.inputs.price_origin[GPT4], "data");
}

#[test]
fn unpriced_models_are_left_out_of_many_model_metrics_with_a_note() {
    let d: Vec<LabelledPrompt> = data()
        .into_iter()
        .map(|mut p| {
            let q = p.quality.remove(MIXTRAL).unwrap();
            p.quality.insert("unpriced-model".into(), q);
            p
        })
        .collect();
    let r = run_bench(&d, None, &BenchOptions::default()).unwrap();
    assert!(r.many_model.is_none());
    assert!(r
        .notes
        .iter()
        .any(|n| n.contains("`unpriced-model` has no price")));
}

#[test]
fn clear_errors() {
    let d = data();
    let opts = BenchOptions {
        strong: Some(GPT4.into()),
        weak: Some("not-a-model".into()),
        ..Default::default()
    };
    let e = run_bench(&d, None, &opts).unwrap_err().to_string();
    assert!(e.contains("no prompt is labelled for both"), "{e}");

    let mut preds = good_predictions(&d);
    for s in preds.values_mut() {
        s.quality.remove(GPT4);
    }
    let e = run_bench(&d, Some(&preds), &BenchOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("predicts no quality for `gpt-4-1106-preview`"),
        "{e}"
    );
    assert!(e.contains("mixtral"), "{e}");

    let e = run_bench(&d, Some(&Predictions::new()), &BenchOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("ids match"), "{e}");

    let opts = BenchOptions {
        strong: Some(GPT4.into()),
        ..Default::default()
    };
    assert!(run_bench(&d, None, &opts).is_err());
    assert!(run_bench(&[], None, &BenchOptions::default()).is_err());
}

#[test]
fn prompts_without_predictions_are_left_out_and_noted() {
    let d = data();
    let mut preds = good_predictions(&d);
    preds.remove("p0");
    preds.remove("p1");
    let r = run_bench(&d, Some(&preds), &BenchOptions::default()).unwrap();
    assert_eq!(r.n, 198);
    assert!(r.notes.iter().any(|n| n.starts_with("2 of 200 prompts")));
}
