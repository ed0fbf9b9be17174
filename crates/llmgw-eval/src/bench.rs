//! `llmgw bench`'s computation: from labelled prompts and (optionally) a router's
//! predictions to a [`Report`]. Pure; the caller reads the files and writes the outputs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use llmgw_optimizer::estimate_prompt_tokens;

use crate::baselines::{fixed_choice, oracle, prompt_length, random_baseline, RANDOM_SEEDS};
use crate::catalog::{PriceBook, DEFAULT_OUTPUT_TOKENS};
use crate::data::{LabelledPrompt, ScoreRecord};
use crate::many_model::{evaluate_many_model, ManyModelInput, ManyModelMetrics};
use crate::published::ROUTELLM_PUBLISHED;
use crate::report::{Baselines, Inputs, Report, RouterMetrics, SliceReport};
use crate::two_model::evaluate_two_model;
use crate::EvalError;

/// Router predictions by prompt id.
pub type Predictions = HashMap<String, ScoreRecord>;

/// Settings of a bench run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Strong model; with `weak`, or neither for the default pair ([`default_pair`]).
    pub strong: Option<String>,
    /// Weak model.
    pub weak: Option<String>,
    /// Prices for models whose cost the data does not give.
    pub prices: PriceBook,
    /// Output tokens per answer when the catalog gives none.
    pub default_output_tokens: u64,
    /// Name of the router in the report (its directory or score file).
    pub router_name: String,
    /// The labelled-prompt files, for the report.
    pub data_files: Vec<String>,
    /// Seeds of the random baseline.
    pub random_seeds: Vec<u64>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            strong: None,
            weak: None,
            prices: PriceBook::builtin(),
            default_output_tokens: DEFAULT_OUTPUT_TOKENS,
            router_name: "router".into(),
            data_files: Vec::new(),
            random_seeds: RANDOM_SEEDS.to_vec(),
        }
    }
}

/// The default strong/weak pair: among the pairs of models labelled together on the most
/// prompts, the one whose mean qualities on those prompts differ most; the strong model is
/// the one with the higher mean. Ties go to the alphabetically first pair.
pub fn default_pair(prompts: &[&LabelledPrompt]) -> Option<(String, String)> {
    // (a, b) with a < b -> (count, sum_a, sum_b)
    let mut pairs: BTreeMap<(&str, &str), (usize, f64, f64)> = BTreeMap::new();
    for p in prompts {
        let labelled: Vec<(&String, &f64)> = p.quality.iter().collect();
        for (i, (a, qa)) in labelled.iter().enumerate() {
            for (b, qb) in &labelled[i + 1..] {
                let e = pairs
                    .entry((a.as_str(), b.as_str()))
                    .or_insert((0, 0.0, 0.0));
                e.0 += 1;
                e.1 += **qa;
                e.2 += **qb;
            }
        }
    }
    let top = pairs.values().map(|v| v.0).max()?;
    let mut best: Option<((&str, &str), f64, bool)> = None;
    for (&(a, b), &(count, sa, sb)) in &pairs {
        if count != top {
            continue;
        }
        let gap = (sa - sb).abs() / count as f64;
        if best.as_ref().is_none_or(|(_, g, _)| gap > *g) {
            best = Some(((a, b), gap, sa >= sb));
        }
    }
    best.map(|((a, b), _, a_strong)| {
        if a_strong {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        }
    })
}

/// Cost in USD of `model` answering `p`: the data's `cost_usd` when it has one, else the
/// model's prices applied to the estimated prompt tokens
/// ([`llmgw_optimizer::estimate_prompt_tokens`] of a single user turn) and the catalog's
/// `typical_output_tokens` (else `default_output_tokens`). `None` without a price.
pub fn prompt_cost(
    p: &LabelledPrompt,
    model: &str,
    prices: &PriceBook,
    default_output_tokens: u64,
) -> Option<f64> {
    if let Some(c) = p.cost_usd.get(model) {
        return Some(*c);
    }
    let price = prices.get(model)?;
    let prompt_tokens = estimate_prompt_tokens(&[("user", p.prompt.as_str())]);
    let out = price.typical_output_tokens.unwrap_or(default_output_tokens);
    Some(price.prices.cost_usd(prompt_tokens, 0, out))
}

/// One prompt's row of the many-model evaluation, in the group's model order.
struct Row {
    truth: Vec<f64>,
    cost: Vec<f64>,
    pred: Option<Vec<f64>>,
}

/// Rows of the many-model evaluation: the largest group of prompts sharing the same
/// labelled, priced (and predicted) models.
struct Group {
    models: Vec<String>,
    /// scored-prompt index -> row
    rows: BTreeMap<usize, Row>,
}

fn choose_group(
    scored: &[&LabelledPrompt],
    preds: Option<&Predictions>,
    opts: &BenchOptions,
) -> Option<Group> {
    let usable = |p: &LabelledPrompt| -> BTreeSet<String> {
        p.quality
            .keys()
            .filter(|m| prompt_cost(p, m, &opts.prices, opts.default_output_tokens).is_some())
            .filter(|m| {
                preds.is_none_or(|pr| pr.get(&p.id).is_some_and(|s| s.quality.contains_key(*m)))
            })
            .cloned()
            .collect()
    };
    let sets: Vec<BTreeSet<String>> = scored.iter().map(|p| usable(p)).collect();
    let distinct: BTreeSet<&BTreeSet<String>> = sets.iter().filter(|s| s.len() >= 2).collect();
    let best = distinct
        .into_iter()
        .map(|s| (sets.iter().filter(|t| s.is_subset(t)).count(), s))
        .max_by(|(ca, a), (cb, b)| ca.cmp(cb).then(a.len().cmp(&b.len())).then(b.cmp(a)))?
        .1
        .clone();
    let models: Vec<String> = best.iter().cloned().collect();
    let mut rows = BTreeMap::new();
    for (i, p) in scored.iter().enumerate() {
        if !best.is_subset(&sets[i]) {
            continue;
        }
        let truth = models
            .iter()
            .map(|m| p.quality.get(m).copied())
            .collect::<Option<Vec<f64>>>();
        let cost = models
            .iter()
            .map(|m| prompt_cost(p, m, &opts.prices, opts.default_output_tokens))
            .collect::<Option<Vec<f64>>>();
        let pred = preds.and_then(|pr| pr.get(&p.id)).map(|s| {
            models
                .iter()
                .map(|m| s.quality.get(m).copied())
                .collect::<Option<Vec<f64>>>()
        });
        if let (Some(t), Some(c)) = (truth, cost) {
            match pred {
                Some(Some(pv)) => {
                    rows.insert(
                        i,
                        Row {
                            truth: t,
                            cost: c,
                            pred: Some(pv),
                        },
                    );
                }
                Some(None) => {}
                None => {
                    rows.insert(
                        i,
                        Row {
                            truth: t,
                            cost: c,
                            pred: None,
                        },
                    );
                }
            }
        }
    }
    Some(Group { models, rows })
}

fn many_model_for(group: &Group, idx: &[usize], with_router: bool) -> Option<ManyModelMetrics> {
    let rows: Vec<&Row> = idx.iter().filter_map(|i| group.rows.get(i)).collect();
    if rows.is_empty() {
        return None;
    }
    let predicted = if with_router {
        rows.iter()
            .map(|r| r.pred.clone())
            .collect::<Option<Vec<_>>>()
    } else {
        None
    };
    let input = ManyModelInput {
        models: group.models.clone(),
        truth: rows.iter().map(|r| r.truth.clone()).collect(),
        cost: rows.iter().map(|r| r.cost.clone()).collect(),
        predicted,
    };
    evaluate_many_model(&input).ok()
}

struct Ctx<'a> {
    scored: &'a [&'a LabelledPrompt],
    preds: Option<&'a Predictions>,
    strong: &'a str,
    weak: &'a str,
    opts: &'a BenchOptions,
    group: Option<&'a Group>,
}

fn slice(ctx: &Ctx, idx: &[usize]) -> Result<(SliceReport, Option<ManyModelMetrics>), EvalError> {
    let items: Vec<&LabelledPrompt> = idx.iter().map(|&i| ctx.scored[i]).collect();
    let q = |m: &str| -> Vec<f64> {
        items
            .iter()
            .map(|p| p.quality.get(m).copied().unwrap_or(0.0))
            .collect()
    };
    let (s, w) = (q(ctx.strong), q(ctx.weak));
    let mm = ctx
        .group
        .and_then(|g| many_model_for(g, idx, ctx.preds.is_some()));
    let router = match ctx.preds {
        Some(pr) => {
            let scores: Vec<f64> = items
                .iter()
                .map(|p| {
                    pr.get(&p.id).map_or(0.0, |r| {
                        r.quality.get(ctx.strong).copied().unwrap_or(0.0)
                            - r.quality.get(ctx.weak).copied().unwrap_or(0.0)
                    })
                })
                .collect();
            let two = evaluate_two_model(&scores, &s, &w)?;
            Some(RouterMetrics::new(
                &ctx.opts.router_name,
                &two,
                mm.as_ref().and_then(|m| m.router.as_ref()),
            ))
        }
        None => None,
    };
    let texts: Vec<&str> = items.iter().map(|p| p.prompt.as_str()).collect();
    let oracle_two = oracle(&s, &w)?;
    let length_two = prompt_length(&texts, &s, &w)?;
    let baselines = Baselines {
        random: random_baseline(&s, &w, &ctx.opts.random_seeds)?,
        always_strong: fixed_choice(&s, &w, true),
        always_weak: fixed_choice(&s, &w, false),
        oracle: RouterMetrics::new("oracle", &oracle_two, mm.as_ref().map(|m| &m.oracle)),
        prompt_length: RouterMetrics::new("prompt length", &length_two, None),
    };
    Ok((
        SliceReport {
            n: items.len(),
            strong_quality: oracle_two.strong_quality,
            weak_quality: oracle_two.weak_quality,
            router,
            baselines,
        },
        mm,
    ))
}

fn slices_by(
    ctx: &Ctx,
    pair: &[usize],
    key: impl Fn(&LabelledPrompt) -> String,
) -> Result<BTreeMap<String, SliceReport>, EvalError> {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in pair {
        groups.entry(key(ctx.scored[i])).or_default().push(i);
    }
    groups
        .into_iter()
        .map(|(k, idx)| slice(ctx, &idx).map(|(r, _)| (k, r)))
        .collect()
}

/// Runs the bench over `prompts`, with the router's `predictions` when given (keyed by
/// prompt id; prompts without one are left out and counted in the notes).
pub fn run_bench(
    prompts: &[LabelledPrompt],
    predictions: Option<&Predictions>,
    opts: &BenchOptions,
) -> Result<Report, EvalError> {
    let mut notes = Vec::new();
    if prompts.is_empty() {
        return Err(EvalError::InvalidInput(
            "the data files hold no prompts".into(),
        ));
    }
    let scored: Vec<&LabelledPrompt> = match predictions {
        Some(pr) => prompts.iter().filter(|p| pr.contains_key(&p.id)).collect(),
        None => prompts.iter().collect(),
    };
    if scored.is_empty() {
        return Err(EvalError::InvalidInput(
            "no prompt has a router prediction; do the score file's ids match the data's?".into(),
        ));
    }
    if scored.len() < prompts.len() {
        notes.push(format!(
            "{} of {} prompts have no router prediction and were left out",
            prompts.len() - scored.len(),
            prompts.len()
        ));
    }
    let (strong, weak) = match (&opts.strong, &opts.weak) {
        (Some(s), Some(w)) => (s.clone(), w.clone()),
        (None, None) => default_pair(&scored).ok_or_else(|| {
            EvalError::InvalidInput("no two models are labelled on the same prompts".into())
        })?,
        _ => {
            return Err(EvalError::InvalidInput(
                "give both the strong and the weak model, or neither".into(),
            ))
        }
    };
    if strong == weak {
        return Err(EvalError::InvalidInput(format!(
            "the strong and the weak model are both `{strong}`"
        )));
    }
    if let Some(pr) = predictions {
        let knows = |m: &str| {
            scored
                .iter()
                .any(|p| pr.get(&p.id).is_some_and(|s| s.quality.contains_key(m)))
        };
        for m in [&strong, &weak] {
            if !knows(m) {
                let mut known: BTreeSet<&String> = BTreeSet::new();
                for s in pr.values() {
                    known.extend(s.quality.keys());
                }
                let known: Vec<&str> = known.into_iter().map(String::as_str).collect();
                return Err(EvalError::InvalidInput(format!(
                    "the router predicts no quality for `{m}`; it knows: {}",
                    known.join(", ")
                )));
            }
        }
    }
    let has_pair = |p: &LabelledPrompt| {
        p.quality.contains_key(&strong)
            && p.quality.contains_key(&weak)
            && predictions.is_none_or(|pr| {
                pr.get(&p.id).is_some_and(|s| {
                    s.quality.contains_key(&strong) && s.quality.contains_key(&weak)
                })
            })
    };
    let pair: Vec<usize> = (0..scored.len()).filter(|&i| has_pair(scored[i])).collect();
    if pair.is_empty() {
        return Err(EvalError::InvalidInput(format!(
            "no prompt is labelled for both `{strong}` and `{weak}`"
        )));
    }
    if pair.len() < scored.len() {
        notes.push(format!(
            "{} prompts are not labelled for both `{strong}` and `{weak}` and are left out of the two-model metrics",
            scored.len() - pair.len()
        ));
    }

    let group = choose_group(&scored, predictions, opts);
    let mut labelled_models: BTreeSet<&String> = BTreeSet::new();
    for p in &scored {
        labelled_models.extend(p.quality.keys());
    }
    let mut price_origin = BTreeMap::new();
    for m in labelled_models {
        let all_in_data = scored
            .iter()
            .filter(|p| p.quality.contains_key(m))
            .all(|p| p.cost_usd.contains_key(m));
        if all_in_data {
            price_origin.insert(m.clone(), "data".to_string());
        } else if let Some(o) = opts.prices.origin.get(m) {
            price_origin.insert(m.clone(), o.clone());
        } else {
            notes.push(format!(
                "`{m}` has no price (catalog or built-in) and no cost_usd in the data; it is left out of the many-model metrics"
            ));
        }
    }
    match &group {
        Some(g) => {
            if g.rows.len() < scored.len() {
                notes.push(format!(
                    "many-model metrics cover the {} prompts labelled for all of: {}",
                    g.rows.len(),
                    g.models.join(", ")
                ));
            }
        }
        None => {
            notes.push("no prompt has two priced models; many-model metrics are skipped".into())
        }
    }

    let ctx = Ctx {
        scored: &scored,
        preds: predictions,
        strong: &strong,
        weak: &weak,
        opts,
        group: group.as_ref(),
    };
    let (overall, _) = slice(&ctx, &pair)?;
    let all_idx: Vec<usize> = (0..scored.len()).collect();
    let many_model = group
        .as_ref()
        .and_then(|g| many_model_for(g, &all_idx, predictions.is_some()));
    // The router's AIQ and savings come from the many-model sweep over the whole group,
    // which may include prompts outside the two-model pair.
    let router = overall.router.map(|mut r| {
        let sweep = many_model.as_ref().and_then(|m| m.router.as_ref());
        r.aiq = sweep.and_then(|s| s.aiq);
        r.savings_at_95 = sweep.and_then(|s| s.savings_at_95.map(|x| x.fraction));
        r.savings_at_100 = sweep.and_then(|s| s.savings_at_100.map(|x| x.fraction));
        r
    });
    let mut baselines = overall.baselines;
    if let Some(m) = &many_model {
        baselines.oracle.aiq = m.oracle.aiq;
        baselines.oracle.savings_at_95 = m.oracle.savings_at_95.map(|x| x.fraction);
        baselines.oracle.savings_at_100 = m.oracle.savings_at_100.map(|x| x.fraction);
    }
    let per_source = slices_by(&ctx, &pair, |p| p.source.clone())?;
    let per_dataset = slices_by(&ctx, &pair, |p| {
        p.source.split('/').next().unwrap_or("unknown").to_string()
    })?;

    Ok(Report {
        n: overall.n,
        strong,
        weak,
        strong_quality: overall.strong_quality,
        weak_quality: overall.weak_quality,
        router,
        baselines,
        many_model,
        per_source,
        per_dataset,
        published: ROUTELLM_PUBLISHED.to_vec(),
        inputs: Inputs {
            data: opts.data_files.clone(),
            prompts_read: prompts.len(),
            prompts_scored: scored.len(),
            price_origin,
            default_output_tokens: opts.default_output_tokens,
        },
        notes,
    })
}
