//! `report.md`: the report as tables, next to RouteLLM's published rows.

use std::fmt::Write;

use crate::report::{Report, RouterMetrics, SliceReport};

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.digits$}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.2}%"))
}

fn share(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{:.1}%", x * 100.0))
}

fn router_row(out: &mut String, label: &str, r: &RouterMetrics) {
    let _ = writeln!(
        out,
        "| {label} | {} | {} | {} | {} | {} | {} |",
        num(r.apgr, 3),
        pct(r.cpt50),
        pct(r.cpt80),
        pct(r.cpt20),
        num(r.aiq, 4),
        share(r.savings_at_95),
    );
}

fn usd_per_1k(cost: f64) -> String {
    format!("${:.4}", cost * 1000.0)
}

fn two_model_table(out: &mut String, r: &Report) {
    let b = &r.baselines;
    out.push_str("| router | APGR | CPT(50%) | CPT(80%) | CPT(20%) | AIQ | saved at 95% |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    if let Some(router) = &r.router {
        router_row(out, &format!("**{}**", router.name), router);
    }
    let _ = writeln!(
        out,
        "| random (mean of {} seeds) | {} | {} | {} | {} | – | – |",
        b.random.seeds.len(),
        num(b.random.apgr, 3),
        pct(b.random.cpt50),
        pct(b.random.cpt80),
        pct(b.random.cpt20),
    );
    router_row(out, "prompt length", &b.prompt_length);
    router_row(out, "oracle", &b.oracle);
    let _ = writeln!(
        out,
        "| always strong ({}) | PGR {} at 100% calls | – | – | – | – | 0.0% |",
        r.strong,
        num(b.always_strong.pgr, 3)
    );
    let _ = writeln!(
        out,
        "| always weak ({}) | PGR {} at 0% calls | – | – | – | – | – |",
        r.weak,
        num(b.always_weak.pgr, 3)
    );
    for p in &r.published {
        let _ = writeln!(
            out,
            "| *published: {} on {}* ({}) | {:.3} | {:.2}% | {:.2}% | – | – | – |",
            p.router, p.benchmark, p.citation, p.apgr, p.cpt50, p.cpt80
        );
    }
}

fn curve_table(out: &mut String, r: &RouterMetrics) {
    out.push_str("| threshold | strong calls | quality |\n|---:|---:|---:|\n");
    for p in &r.curve {
        let _ = writeln!(
            out,
            "| {:.4} | {:.1}% | {:.4} |",
            p.threshold, p.strong_pct, p.quality
        );
    }
}

fn slice_table(
    out: &mut String,
    slices: &std::collections::BTreeMap<String, SliceReport>,
    limit: usize,
) {
    out.push_str(
        "| slice | n | strong | weak | router APGR | router CPT(50%) | router CPT(80%) | prompt-length APGR | random APGR | oracle APGR |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut rows: Vec<(&String, &SliceReport)> = slices.iter().collect();
    rows.sort_by(|a, b| b.1.n.cmp(&a.1.n).then(a.0.cmp(b.0)));
    for (name, s) in rows.iter().take(limit) {
        let router = s.router.as_ref();
        let _ = writeln!(
            out,
            "| {name} | {} | {:.3} | {:.3} | {} | {} | {} | {} | {} | {} |",
            s.n,
            s.strong_quality,
            s.weak_quality,
            num(router.and_then(|r| r.apgr), 3),
            pct(router.and_then(|r| r.cpt50)),
            pct(router.and_then(|r| r.cpt80)),
            num(s.baselines.prompt_length.apgr, 3),
            num(s.baselines.random.apgr, 3),
            num(s.baselines.oracle.apgr, 3),
        );
    }
    if rows.len() > limit {
        let _ = writeln!(
            out,
            "\n{} more slices in `report.json` (`per_source`).",
            rows.len() - limit
        );
    }
}

fn many_model_section(out: &mut String, r: &Report) {
    let Some(m) = &r.many_model else {
        out.push_str("No prompts with two priced models: many-model metrics skipped.\n");
        return;
    };
    let _ = writeln!(
        out,
        "{} prompts labelled for all of: {}. Costs are per 1,000 prompts.\n",
        m.n,
        m.models.join(", ")
    );
    out.push_str("| model | cost / 1k prompts | quality |\n|---|---:|---:|\n");
    for s in &m.single {
        let mark = if s.model == m.best_single.model {
            " (best single)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| {}{mark} | {} | {:.4} |",
            s.model,
            usd_per_1k(s.cost),
            s.quality
        );
    }
    out.push_str(
        "\n| router | AIQ | saved at 95% of best | saved at 100% of best |\n|---|---:|---:|---:|\n",
    );
    if let Some(sw) = &m.router {
        let _ = writeln!(
            out,
            "| **{}** | {} | {} | {} |",
            r.router.as_ref().map_or("router", |x| x.name.as_str()),
            num(sw.aiq, 4),
            share(sw.savings_at_95.map(|s| s.fraction)),
            share(sw.savings_at_100.map(|s| s.fraction)),
        );
    }
    let _ = writeln!(
        out,
        "| oracle | {} | {} | {} |",
        num(m.oracle.aiq, 4),
        share(m.oracle.savings_at_95.map(|s| s.fraction)),
        share(m.oracle.savings_at_100.map(|s| s.fraction)),
    );
    let _ = writeln!(
        out,
        "| single models mixed (no routing) | {} | – | – |",
        num(m.single_models_aiq, 4)
    );
    let _ = writeln!(
        out,
        "\nAIQ is computed over the cost span {} to {} per 1k prompts.",
        usd_per_1k(m.cost_span.0),
        usd_per_1k(m.cost_span.1)
    );
}

/// Renders the report as Markdown.
pub fn render_markdown(r: &Report) -> String {
    let mut out = String::new();
    out.push_str("# Routing report\n\n");
    let _ = writeln!(
        out,
        "{} prompts from {}; strong model `{}` (quality {:.4}), weak model `{}` (quality {:.4}).\n",
        r.n,
        r.inputs.data.join(", "),
        r.strong,
        r.strong_quality,
        r.weak,
        r.weak_quality
    );
    if r.router.is_none() {
        out.push_str("No router was evaluated: baselines only.\n\n");
    }
    out.push_str("## Two-model routing (RouteLLM metrics)\n\n");
    out.push_str(
        "APGR: area under the quality curve between always-weak (0) and always-strong (1). \
         CPT(x%): share of calls to the strong model needed to recover x% of the quality gap \
         (lower is better). Computed as RouteLLM's `evals/evaluate.py` does. The published row \
         is RouteLLM's own, on its full MMLU set; compare with it on MMLU data only.\n\n",
    );
    two_model_table(&mut out, r);
    if let Some(router) = &r.router {
        out.push_str("\n### Router operating points\n\n");
        curve_table(&mut out, router);
    }
    out.push_str("\n## Many models (RouterBench metrics)\n\n");
    out.push_str(
        "A willingness-to-pay sweep: at each λ the router picks, per prompt, the model \
         maximising predicted quality − cost/λ. AIQ: area under the non-decreasing convex \
         hull of the (cost, quality) points divided by the cost span. Saved: the cost cut \
         against always calling the best single model while keeping 95% (100%) of its quality.\n\n",
    );
    many_model_section(&mut out, r);
    if r.per_dataset.len() > 1 {
        out.push_str("\n## Per dataset\n\n");
        slice_table(&mut out, &r.per_dataset, 50);
    }
    if r.per_source.len() > 1 {
        out.push_str("\n## Per source\n\n");
        slice_table(&mut out, &r.per_source, 30);
    }
    if !r.notes.is_empty() {
        out.push_str("\n## Notes\n\n");
        for n in &r.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    let _ = writeln!(
        out,
        "\nPrices: {}. Output tokens per answer where the catalog gives none: {}.",
        r.inputs
            .price_origin
            .iter()
            .map(|(m, o)| format!("`{m}` {o}"))
            .collect::<Vec<_>>()
            .join(", "),
        r.inputs.default_output_tokens
    );
    out
}
