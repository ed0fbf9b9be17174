//! Reports over hand-built records; every expected number is computed here from the
//! records themselves (or by hand in the comments), not by the code under test.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use llmgw_outcomes::{CacheHit, LogConfig, LogView, OutcomeLog, OutcomeRecord, PendingSnapshot};

use crate::*;

const T0: u64 = 1_769_868_000; // 2026-01-31T14:00:00Z

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

fn reference() -> Reference {
    Reference {
        model: "big".into(),
        input_per_mtok: 10.0,
        output_per_mtok: 30.0,
        cached_input_per_mtok: 5.0,
        source: ReferenceSource::Config,
    }
}

/// Prices of the models in the records: (input, output, cached input) per 1M tokens.
fn prices(model: &str) -> (f64, f64, f64) {
    match model {
        "big" => (10.0, 30.0, 5.0),
        "small" => (0.5, 1.5, 0.25),
        _ => (1.0, 2.0, 1.0),
    }
}

#[allow(clippy::too_many_arguments)]
fn rec(
    id: &str,
    secs: u64,
    key: Option<&str>,
    model: Option<&str>,
    usage: Option<(u64, u64, u64)>,
    latency: f64,
    status: u16,
    hit: CacheHit,
) -> OutcomeRecord {
    let mut r = OutcomeRecord::new(id, "auto", at(secs));
    r.api_key_id = key.map(str::to_string);
    r.model = model.map(str::to_string);
    r.provider = model.map(|m| if m == "big" { "pa" } else { "pb" }.to_string());
    r.latency_ms = latency;
    r.status = status;
    r.cache_hit = hit;
    if let (Some((p, c, cached)), Some(m)) = (usage, model) {
        r.prompt_tokens = Some(p);
        r.completion_tokens = Some(c);
        r.cached_tokens = Some(cached);
        let (i, o, ci) = prices(m);
        r.cost_usd = Some(if hit == CacheHit::None {
            ((p - cached) as f64 * i + cached as f64 * ci + c as f64 * o) / 1e6
        } else {
            0.0
        });
    }
    if status >= 400 {
        r.error_kind = Some("upstream_status".into());
    }
    r
}

/// A small day of traffic: two keys, two models, a cache hit, a failure, a streamed answer.
fn records() -> Vec<OutcomeRecord> {
    let mut v = vec![
        rec(
            "a",
            10,
            Some("k1"),
            Some("small"),
            Some((1000, 200, 0)),
            100.0,
            200,
            CacheHit::None,
        ),
        rec(
            "b",
            20,
            Some("k1"),
            Some("small"),
            Some((500, 100, 100)),
            120.0,
            200,
            CacheHit::None,
        ),
        rec(
            "c",
            30,
            Some("k2"),
            Some("big"),
            Some((800, 300, 0)),
            900.0,
            200,
            CacheHit::None,
        ),
        rec(
            "d",
            40,
            Some("k2"),
            Some("small"),
            Some((1000, 200, 0)),
            5.0,
            200,
            CacheHit::Exact,
        ),
        rec("e", 3700, Some("k1"), None, None, 30.0, 502, CacheHit::None),
        rec(
            "f",
            3800,
            None,
            Some("small"),
            Some((300, 50, 0)),
            200.0,
            200,
            CacheHit::Semantic,
        ),
    ];
    v[1].ttft_ms = Some(40.0);
    v[2].ttft_ms = Some(300.0);
    v[0].difficulty = Some(0.15);
    v[1].difficulty = Some(0.12);
    v[2].difficulty = Some(0.85);
    v[4].difficulty = Some(1.0);
    v
}

fn pending_view(rows: &[OutcomeRecord]) -> LogView {
    LogView {
        outcome_files: Vec::new(),
        feedback_files: Vec::new(),
        pending: PendingSnapshot {
            outcomes: rows.iter().cloned().map(Arc::new).collect(),
            ..Default::default()
        },
    }
}

/// The expected spend numbers of `rows`, summed in plain Rust.
fn expected(rows: &[&OutcomeRecord]) -> (u64, u64, u64, u64, f64, f64, u64, u64) {
    let r = reference();
    let (mut errors, mut unpriced, mut p, mut c, mut cost, mut refc, mut exact, mut sem) =
        (0, 0, 0, 0, 0.0, 0.0, 0, 0);
    for x in rows {
        if x.status >= 400 || x.error_kind.is_some() {
            errors += 1;
        }
        match x.cost_usd {
            None => unpriced += 1,
            Some(k) => {
                let (pt, ct, cached) = (
                    x.prompt_tokens.unwrap_or(0),
                    x.completion_tokens.unwrap_or(0),
                    x.cached_tokens.unwrap_or(0),
                );
                p += pt;
                c += ct;
                cost += k;
                refc += ((pt - cached) as f64 * r.input_per_mtok
                    + cached as f64 * r.cached_input_per_mtok
                    + ct as f64 * r.output_per_mtok)
                    / 1e6;
            }
        }
        match x.cache_hit {
            CacheHit::Exact => exact += 1,
            CacheHit::Semantic => sem += 1,
            CacheHit::None => {}
        }
    }
    (errors, unpriced, p, c, cost, refc, exact, sem)
}

fn assert_stats(s: &Stats, rows: &[&OutcomeRecord]) {
    let (errors, unpriced, p, c, cost, refc, exact, sem) = expected(rows);
    assert_eq!(s.requests, rows.len() as u64);
    assert_eq!(s.errors, errors);
    assert_eq!(s.unpriced_requests, unpriced);
    assert_eq!((s.prompt_tokens, s.completion_tokens), (p, c));
    assert!(
        (s.cost_usd - cost).abs() < 1e-12,
        "{} vs {cost}",
        s.cost_usd
    );
    assert!((s.reference_cost_usd - refc).abs() < 1e-12);
    assert!((s.savings_usd - (refc - cost)).abs() < 1e-12);
    assert_eq!((s.cache_hits.exact, s.cache_hits.semantic), (exact, sem));
}

#[test]
fn totals_match_hand_computed_numbers() {
    let rows = records();
    let report = spend(
        &pending_view(&rows),
        &Filter::default(),
        GroupBy::Model,
        &reference(),
    )
    .unwrap();
    let t = &report.totals;
    // Costs by hand (USD per 1M tokens × tokens):
    //   a small 1000 in, 200 out:               1000*0.5 + 200*1.5           =  800
    //   b small 400 in + 100 cached, 100 out:   400*0.5 + 100*0.25 + 100*1.5 =  375
    //   c big 800 in, 300 out:                  800*10 + 300*30              = 17000
    //   d, f cache hits: 0;  e failed: no cost.                       total = 18175
    assert!((t.cost_usd - 0.018_175).abs() < 1e-12, "{}", t.cost_usd);
    // Reference (10 in, 5 cached, 30 out):
    //   a 10000+6000 = 16000; b 4000+500+3000 = 7500; c 17000;
    //   d 10000+6000 = 16000; f 3000+1500 = 4500.                      total = 61000
    assert!((t.reference_cost_usd - 0.061).abs() < 1e-12);
    assert!((t.savings_usd - (0.061 - 0.018_175)).abs() < 1e-12);
    assert_eq!(t.requests, 6);
    assert_eq!(t.errors, 1);
    assert_eq!(t.unpriced_requests, 1);
    assert_eq!(t.prompt_tokens, 1000 + 500 + 800 + 1000 + 300);
    assert_eq!(t.completion_tokens, 200 + 100 + 300 + 200 + 50);
    assert_eq!(t.cached_tokens, 100);
    assert_eq!((t.cache_hits.exact, t.cache_hits.semantic), (1, 1));
    assert!((t.cache_hit_rate - 2.0 / 6.0).abs() < 1e-12);
    let all: Vec<&OutcomeRecord> = rows.iter().collect();
    assert_stats(t, &all);
}

#[test]
fn a_cache_hit_saves_its_full_reference_cost_and_the_reference_model_saves_nothing() {
    let rows = records();
    let report = spend(
        &pending_view(&rows),
        &Filter::default(),
        GroupBy::Model,
        &reference(),
    )
    .unwrap();
    let big = report
        .data
        .iter()
        .find(|g| g.group.as_deref() == Some("big"))
        .unwrap();
    assert!(big.stats.savings_usd.abs() < 1e-15);
    let hit = [rows[3].clone()];
    let r = spend(
        &pending_view(&hit),
        &Filter::default(),
        GroupBy::Model,
        &reference(),
    )
    .unwrap();
    assert_eq!(r.totals.cost_usd, 0.0);
    assert!((r.totals.savings_usd - 0.016).abs() < 1e-12);
}

#[test]
fn every_grouping_partitions_the_rows() {
    let rows = records();
    let view = pending_view(&rows);
    type KeyFn = fn(&OutcomeRecord) -> Option<String>;
    let cases: [(GroupBy, KeyFn); 5] = [
        (GroupBy::Model, |r| r.model.clone()),
        (GroupBy::Provider, |r| r.provider.clone()),
        (GroupBy::Key, |r| r.api_key_id.clone()),
        (GroupBy::Time(Bucket::Hour), |r| {
            let us = llmgw_outcomes::micros(r.received_at);
            Some(Bucket::Hour.label(us - us.rem_euclid(HOUR_US)))
        }),
        (GroupBy::Time(Bucket::Day), |_| {
            Some("2026-01-31".to_string())
        }),
    ];
    for (group_by, key) in cases {
        let report = spend(&view, &Filter::default(), group_by, &reference()).unwrap();
        let mut keys: Vec<Option<String>> = rows.iter().map(key).collect();
        keys.sort();
        keys.dedup();
        let got: Vec<Option<String>> = report.data.iter().map(|g| g.group.clone()).collect();
        assert_eq!(got, keys, "{group_by:?}");
        for g in &report.data {
            let members: Vec<&OutcomeRecord> = rows.iter().filter(|r| key(r) == g.group).collect();
            assert_stats(&g.stats, &members);
        }
    }
    let hours = spend(
        &view,
        &Filter::default(),
        GroupBy::Time(Bucket::Hour),
        &reference(),
    )
    .unwrap();
    let labels: Vec<_> = hours
        .data
        .iter()
        .map(|g| g.group.clone().unwrap())
        .collect();
    assert_eq!(labels, ["2026-01-31T14:00:00Z", "2026-01-31T15:00:00Z"]);
}

#[test]
fn time_range_and_key_scope_filter_rows() {
    let rows = records();
    let view = pending_view(&rows);
    // [14:00:20, 15:01:41): b, c, d and e (at 15:01:40); f (15:03:20) is out.
    let f = Filter::from_params(
        Some("2026-01-31T14:00:20Z"),
        Some("2026-01-31T15:01:41Z"),
        KeyScope::All,
    )
    .unwrap();
    let r = spend(&view, &f, GroupBy::Model, &reference()).unwrap();
    let inside: Vec<&OutcomeRecord> = rows[1..5].iter().collect();
    assert_stats(&r.totals, &inside);

    let f = Filter {
        scope: KeyScope::Key("k1".into()),
        ..Filter::default()
    };
    let r = spend(&view, &f, GroupBy::Key, &reference()).unwrap();
    let mine: Vec<&OutcomeRecord> = rows
        .iter()
        .filter(|r| r.api_key_id.as_deref() == Some("k1"))
        .collect();
    assert_eq!(mine.len(), 3);
    assert_stats(&r.totals, &mine);
    assert_eq!(r.data.len(), 1);
    assert_eq!(r.data[0].group.as_deref(), Some("k1"));

    let f = Filter::from_params(Some("2026-02-01"), None, KeyScope::All).unwrap();
    let r = spend(&view, &f, GroupBy::Model, &reference()).unwrap();
    assert_eq!(r.totals.requests, 0);
    assert!(r.data.is_empty());
    assert_eq!(r.totals.latency_ms.p50, None);
}

#[test]
fn percentiles_interpolate_linearly_overall_and_per_bucket() {
    // Latencies 1..=100 ms in the first minute, 1000 ms twice in the next.
    let mut rows: Vec<OutcomeRecord> = (1..=100)
        .map(|i| {
            rec(
                &format!("r{i}"),
                0,
                None,
                Some("small"),
                Some((1, 1, 0)),
                i as f64,
                200,
                CacheHit::None,
            )
        })
        .collect();
    rows.push(rec(
        "x",
        70,
        None,
        Some("small"),
        None,
        1000.0,
        200,
        CacheHit::None,
    ));
    rows.push(rec(
        "y",
        80,
        None,
        Some("small"),
        None,
        1000.0,
        200,
        CacheHit::None,
    ));
    let o = overview(
        &pending_view(&rows),
        &Filter::default(),
        Bucket::Minute,
        &reference(),
    )
    .unwrap();
    assert_eq!(o.timeline.len(), 2);
    let first = &o.timeline[0].stats.latency_ms;
    // Rank q·(n−1) between sorted values: 0.5·99 = 49.5 → 50.5; 0.95·99 = 94.05 → 95.05;
    // 0.99·99 = 98.01 → 99.01.
    assert!((first.p50.unwrap() - 50.5).abs() < 1e-9);
    assert!((first.p95.unwrap() - 95.05).abs() < 1e-9);
    assert!((first.p99.unwrap() - 99.01).abs() < 1e-9);
    assert_eq!(o.timeline[1].stats.latency_ms.p50, Some(1000.0));
    assert_eq!(o.timeline[0].stats.ttft_ms.p50, None);
    // Overall: 102 values; p50 at rank 50.5 → between 51 and 52 → 51.5.
    assert!((o.totals.latency_ms.p50.unwrap() - 51.5).abs() < 1e-9);
    // p99 at rank 0.99·101 = 99.99 → between the 100th value (100) and the 101st (1000).
    assert!((o.totals.latency_ms.p99.unwrap() - (100.0 + 0.99 * 900.0)).abs() < 1e-9);
}

#[test]
fn overview_has_models_routing_bins_and_cache_rate() {
    let rows = records();
    let o = overview(
        &pending_view(&rows),
        &Filter::default(),
        Bucket::Hour,
        &reference(),
    )
    .unwrap();
    let models: Vec<Option<&str>> = o.models.iter().map(|g| g.group.as_deref()).collect();
    assert_eq!(models, [None, Some("big"), Some("small")]);
    assert_eq!(o.models[2].stats.requests, 4);
    // Difficulty 0.15 and 0.12 → bin 1 on small; 0.85 → bin 8 on big; 1.0 → bin 9, no model.
    let cells: Vec<(u32, Option<&str>, u64)> = o
        .routing
        .iter()
        .map(|c| (c.bin, c.model.as_deref(), c.requests))
        .collect();
    assert_eq!(
        cells,
        [(1, Some("small"), 2), (8, Some("big"), 1), (9, None, 1)]
    );
    assert!((o.routing[0].lo - 0.1).abs() < 1e-12 && (o.routing[0].hi - 0.2).abs() < 1e-12);
    // Hour 14: a b c d (d a hit) → 1/4; hour 15: e f (f a hit) → 1/2.
    let rates: Vec<f64> = o.timeline.iter().map(|g| g.stats.cache_hit_rate).collect();
    assert_eq!(rates, [0.25, 0.5]);
    assert_eq!(
        o.sources,
        Sources {
            files: 0,
            pending_rows: 6
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_pending_rows_count_once_before_and_after_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LogConfig::new(dir.path());
    cfg.flush_interval = Duration::from_secs(3600);
    let (log, writer) = OutcomeLog::start(cfg).unwrap();
    let rows = records();
    // Half of the rows go to a file, the rest stay pending.
    for r in &rows[..3] {
        log.record(r.clone()).await.unwrap();
    }
    log.flush().await.unwrap();
    for r in &rows[3..] {
        log.record(r.clone()).await.unwrap();
    }
    let report = |log: OutcomeLog| {
        tokio::task::spawn_blocking(move || {
            // The queue drains into pending rows quickly; wait until all are visible.
            for _ in 0..200 {
                let view = log.view(None).unwrap();
                let n = view.pending.outcomes.len();
                let r = spend(&view, &Filter::default(), GroupBy::Model, &reference()).unwrap();
                if r.totals.requests == 6 {
                    return (r, view.outcome_files.len(), n);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("rows never became visible");
        })
    };
    let (mixed, files, pending) = report(log.clone()).await.unwrap();
    assert_eq!((files, pending), (1, 3));
    log.flush().await.unwrap();
    let (flushed, files, pending) = report(log.clone()).await.unwrap();
    assert_eq!((files, pending), (2, 0));
    let only_pending = spend(
        &pending_view(&rows),
        &Filter::default(),
        GroupBy::Model,
        &reference(),
    )
    .unwrap();
    assert_eq!(mixed.data, flushed.data);
    assert_eq!(mixed.totals, flushed.totals);
    assert_eq!(flushed.data, only_pending.data);
    let all: Vec<&OutcomeRecord> = rows.iter().collect();
    assert_stats(&flushed.totals, &all);
    // A time filter also prunes partitions by date.
    let f = Filter::from_params(Some("2026-01-31T15:00:00Z"), None, KeyScope::All).unwrap();
    let view = log.view(f.since_partition().as_deref()).unwrap();
    let late = spend(&view, &f, GroupBy::Model, &reference()).unwrap();
    assert_eq!(late.totals.requests, 2);
    writer.shutdown().await.unwrap();
}
