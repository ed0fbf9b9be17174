//! Cost-quality frontiers and RouterBench's AIQ (Hu et al., 2024, arXiv 2403.12031).
//!
//! The non-decreasing convex hull of a set of (cost, quality) points is the upper convex
//! hull (any two operating points can be mixed across traffic, which reaches every point
//! on the segment between them), cut at its highest-quality point and continued flat
//! (more budget never has to lower quality: one can keep running the best point).
//! AIQ is the area under that hull over a cost range divided by the range's width.
//!
//! RouterBench's `evaluation/AIQ.py` integrates from the router's cheapest point to the
//! largest cost and divides by that largest cost, which equals the paper's
//! `1 / (c_max - c_min) ∫ R(c) dc` only when `c_min = 0`; we follow the paper's formula
//! over a cost range shared by every router compared (see
//! [`crate::many_model::ManyModelMetrics::cost_span`]), so AIQs compare.

use serde::{Deserialize, Serialize};

/// A point of a cost-quality frontier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FrontierPoint {
    /// Mean cost per prompt in USD.
    pub cost: f64,
    /// Mean quality in `[0, 1]`.
    pub quality: f64,
}

fn cross(o: FrontierPoint, a: FrontierPoint, b: FrontierPoint) -> f64 {
    (a.cost - o.cost) * (b.quality - o.quality) - (a.quality - o.quality) * (b.cost - o.cost)
}

/// The non-decreasing convex hull of `points`, sorted by cost. Non-finite points are
/// ignored; an empty input gives an empty hull.
pub fn non_decreasing_convex_hull(points: &[FrontierPoint]) -> Vec<FrontierPoint> {
    let mut pts: Vec<FrontierPoint> = points
        .iter()
        .copied()
        .filter(|p| p.cost.is_finite() && p.quality.is_finite())
        .collect();
    pts.sort_by(|a, b| {
        a.cost
            .total_cmp(&b.cost)
            .then_with(|| b.quality.total_cmp(&a.quality))
    });
    // keep the best quality at each cost
    pts.dedup_by(|later, earlier| later.cost == earlier.cost);
    let mut hull: Vec<FrontierPoint> = Vec::with_capacity(pts.len());
    for p in pts {
        while hull.len() >= 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) >= 0.0 {
            hull.pop();
        }
        hull.push(p);
    }
    // the upper hull rises to its best point and falls after it: cut the falling part
    if let Some(best) = hull
        .iter()
        .enumerate()
        .max_by(|(ia, a), (ib, b)| a.quality.total_cmp(&b.quality).then(ib.cmp(ia)))
        .map(|(i, _)| i)
    {
        hull.truncate(best + 1);
    }
    hull
}

/// Value of the hull at `cost`: linear between hull points, flat before the first and
/// after the last.
pub fn hull_value(hull: &[FrontierPoint], cost: f64) -> Option<f64> {
    let first = hull.first()?;
    let last = hull.last()?;
    if cost <= first.cost {
        return Some(first.quality);
    }
    if cost >= last.cost {
        return Some(last.quality);
    }
    hull.windows(2).find_map(|w| {
        (cost >= w[0].cost && cost <= w[1].cost).then(|| {
            let t = (cost - w[0].cost) / (w[1].cost - w[0].cost);
            w[0].quality + t * (w[1].quality - w[0].quality)
        })
    })
}

/// Area under the hull between `lo` and `hi` (flat extension outside the hull's range).
pub fn area_under_hull(hull: &[FrontierPoint], lo: f64, hi: f64) -> Option<f64> {
    if hull.is_empty() || hi < lo {
        return None;
    }
    let mut xs: Vec<f64> = vec![lo, hi];
    xs.extend(hull.iter().map(|p| p.cost).filter(|&c| c > lo && c < hi));
    xs.sort_by(f64::total_cmp);
    let mut area = 0.0;
    for w in xs.windows(2) {
        let a = hull_value(hull, w[0])?;
        let b = hull_value(hull, w[1])?;
        area += (w[1] - w[0]) * (a + b) / 2.0;
    }
    Some(area)
}

/// AIQ: area under the non-decreasing convex hull of `points` over `[lo, hi]`, divided by
/// `hi - lo`. `None` when the range is empty or there are no points.
pub fn aiq(points: &[FrontierPoint], lo: f64, hi: f64) -> Option<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let hull = non_decreasing_convex_hull(points);
    area_under_hull(&hull, lo, hi).map(|a| a / (hi - lo))
}
