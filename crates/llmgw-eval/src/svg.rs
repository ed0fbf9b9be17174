//! `curve.svg`: quality against strong-model calls (two-model) and against cost
//! (many-model), drawn as plain SVG.

use std::fmt::Write;

use crate::frontier::{non_decreasing_convex_hull, FrontierPoint};
use crate::report::Report;

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 480.0;

struct Panel {
    x0: f64,
    y0: f64,
    w: f64,
    h: f64,
    xmin: f64,
    xmax: f64,
    ymin: f64,
    ymax: f64,
}

impl Panel {
    fn px(&self, x: f64) -> f64 {
        let span = if self.xmax > self.xmin {
            self.xmax - self.xmin
        } else {
            1.0
        };
        self.x0 + (x - self.xmin) / span * self.w
    }
    fn py(&self, y: f64) -> f64 {
        let span = if self.ymax > self.ymin {
            self.ymax - self.ymin
        } else {
            1.0
        };
        self.y0 + self.h - (y - self.ymin) / span * self.h
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.06).max(1e-3);
    (lo - pad, hi + pad)
}

fn axes(
    out: &mut String,
    p: &Panel,
    title: &str,
    xlabel: &str,
    ylabel: &str,
    xfmt: &dyn Fn(f64) -> String,
) {
    let _ = writeln!(
        out,
        r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#444"/>"##,
        p.x0, p.y0, p.w, p.h
    );
    for i in 0..=5 {
        let t = i as f64 / 5.0;
        let xv = p.xmin + t * (p.xmax - p.xmin);
        let yv = p.ymin + t * (p.ymax - p.ymin);
        let (x, y) = (p.px(xv), p.py(yv));
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"##,
            p.y0,
            p.y0 + p.h,
            p.y0 + p.h + 15.0,
            esc(&xfmt(xv))
        );
        let _ = writeln!(
            out,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{yv:.3}</text>"##,
            p.x0,
            p.x0 + p.w,
            p.x0 - 5.0,
            y + 4.0
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="14" text-anchor="middle" font-weight="bold">{}</text>"##,
        p.x0 + p.w / 2.0,
        p.y0 - 10.0,
        esc(title)
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"##,
        p.x0 + p.w / 2.0,
        p.y0 + p.h + 34.0,
        esc(xlabel)
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 {:.1} {:.1})">{}</text>"##,
        p.x0 - 45.0,
        p.y0 + p.h / 2.0,
        p.x0 - 45.0,
        p.y0 + p.h / 2.0,
        esc(ylabel)
    );
}

fn line(out: &mut String, p: &Panel, pts: &[(f64, f64)], color: &str, dash: bool) {
    if pts.is_empty() {
        return;
    }
    let d: Vec<String> = pts
        .iter()
        .map(|&(x, y)| format!("{:.1},{:.1}", p.px(x), p.py(y)))
        .collect();
    let dash = if dash {
        r#" stroke-dasharray="5,4""#
    } else {
        ""
    };
    let _ = writeln!(
        out,
        r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
        d.join(" ")
    );
}

fn dots(out: &mut String, p: &Panel, pts: &[(f64, f64)], color: &str, r: f64) {
    for &(x, y) in pts {
        let _ = writeln!(
            out,
            r#"<circle cx="{:.1}" cy="{:.1}" r="{r}" fill="{color}"/>"#,
            p.px(x),
            p.py(y)
        );
    }
}

/// Legend under a panel: three rows per column, each column as wide as its longest label.
fn legend(out: &mut String, x: f64, y: f64, items: &[(&str, &str, bool)]) {
    let mut col_x = x;
    for (c, column) in items.chunks(3).enumerate() {
        if c > 0 {
            let prev = &items[(c - 1) * 3..c * 3];
            let widest = prev.iter().map(|i| i.0.chars().count()).max().unwrap_or(0);
            col_x += 40.0 + widest as f64 * 6.2;
        }
        for (row, (label, color, dash)) in column.iter().enumerate() {
            let yy = y + row as f64 * 16.0;
            let dash = if *dash {
                r#" stroke-dasharray="5,4""#
            } else {
                ""
            };
            let _ = writeln!(
                out,
                r#"<line x1="{col_x:.1}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="{color}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
                col_x + 22.0,
                col_x + 27.0,
                yy + 4.0,
                esc(label)
            );
        }
    }
}

fn two_model_panel(out: &mut String, r: &Report) {
    let b = &r.baselines;
    let curve = |c: &[crate::two_model::CurvePoint]| -> Vec<(f64, f64)> {
        c.iter().map(|p| (p.strong_pct, p.quality)).collect()
    };
    let router = r
        .router
        .as_ref()
        .map(|x| curve(&x.curve))
        .unwrap_or_default();
    let random = curve(&b.random.curve);
    let length = curve(&b.prompt_length.curve);
    let oracle = curve(&b.oracle.curve);
    let (ymin, ymax) = bounds(
        router
            .iter()
            .chain(&random)
            .chain(&length)
            .chain(&oracle)
            .map(|p| p.1)
            .chain([r.strong_quality, r.weak_quality]),
    );
    let p = Panel {
        x0: 70.0,
        y0: 40.0,
        w: 380.0,
        h: 330.0,
        xmin: 0.0,
        xmax: 100.0,
        ymin,
        ymax,
    };
    axes(
        out,
        &p,
        "Quality vs strong-model calls",
        "calls to the strong model (%)",
        "mean quality",
        &|x| format!("{x:.0}%"),
    );
    line(
        out,
        &p,
        &[(0.0, r.strong_quality), (100.0, r.strong_quality)],
        "#c0392b",
        true,
    );
    line(
        out,
        &p,
        &[(0.0, r.weak_quality), (100.0, r.weak_quality)],
        "#7f8c8d",
        true,
    );
    line(out, &p, &random, "#95a5a6", false);
    line(out, &p, &length, "#e67e22", false);
    line(out, &p, &oracle, "#27ae60", true);
    line(out, &p, &router, "#2c6fbb", false);
    dots(out, &p, &router, "#2c6fbb", 3.0);
    let strong = format!("always {}", r.strong);
    let weak = format!("always {}", r.weak);
    let mut items = vec![
        (strong.as_str(), "#c0392b", true),
        (weak.as_str(), "#7f8c8d", true),
        ("random", "#95a5a6", false),
        ("prompt length", "#e67e22", false),
        ("oracle", "#27ae60", true),
    ];
    if r.router.is_some() {
        items.push(("router", "#2c6fbb", false));
    }
    legend(out, p.x0, p.y0 + p.h + 52.0, &items);
}

fn many_model_panel(out: &mut String, r: &Report) {
    let x0 = 580.0;
    let Some(m) = &r.many_model else {
        let _ = writeln!(
            out,
            r#"<text x="{x0}" y="200" font-size="13">no many-model data</text>"#
        );
        return;
    };
    let k = 1000.0; // USD per 1,000 prompts
    let span_end = m.cost_span.1 * k;
    // the hull, continued flat to the end of the cost span as AIQ integrates it
    let frontier = |f: &[FrontierPoint]| -> Vec<(f64, f64)> {
        let mut v: Vec<(f64, f64)> = f.iter().map(|p| (p.cost * k, p.quality)).collect();
        if let Some(&(x, y)) = v.last() {
            if x < span_end {
                v.push((span_end, y));
            }
        }
        v
    };
    let oracle = frontier(&m.oracle.frontier);
    let router = m
        .router
        .as_ref()
        .map(|s| frontier(&s.frontier))
        .unwrap_or_default();
    let single_points: Vec<FrontierPoint> = m
        .single
        .iter()
        .map(|s| FrontierPoint {
            cost: s.cost,
            quality: s.quality,
        })
        .collect();
    let mixed = frontier(&non_decreasing_convex_hull(&single_points));
    let router_pts: Vec<(f64, f64)> = m
        .router
        .as_ref()
        .map(|s| s.points.iter().map(|p| (p.cost * k, p.quality)).collect())
        .unwrap_or_default();
    let single: Vec<(f64, f64)> = m.single.iter().map(|s| (s.cost * k, s.quality)).collect();
    let (xmin, xmax) = bounds(oracle.iter().chain(&router_pts).chain(&single).map(|p| p.0));
    let (ymin, ymax) = bounds(oracle.iter().chain(&router_pts).chain(&single).map(|p| p.1));
    let p = Panel {
        x0,
        y0: 40.0,
        w: 380.0,
        h: 330.0,
        xmin: xmin.max(0.0),
        xmax,
        ymin,
        ymax,
    };
    axes(
        out,
        &p,
        "Quality vs cost (willingness-to-pay sweep)",
        "USD per 1,000 prompts",
        "mean quality",
        &|x| format!("${x:.3}"),
    );
    line(out, &p, &mixed, "#c0392b", true);
    line(out, &p, &oracle, "#27ae60", true);
    dots(out, &p, &router_pts, "#9bbbe0", 2.0);
    line(out, &p, &router, "#2c6fbb", false);
    dots(out, &p, &single, "#c0392b", 4.0);
    for s in &m.single {
        let x = p.px(s.cost * k);
        // labels of points in the right half go to their left, so they stay in the picture
        let (dx, anchor) = if x > p.x0 + p.w / 2.0 {
            (-5.0, "end")
        } else {
            (5.0, "start")
        };
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#c0392b" text-anchor="{anchor}">{}</text>"##,
            x + dx,
            p.py(s.quality) - 5.0,
            esc(&s.model)
        );
    }
    let mut items = vec![
        ("single models mixed", "#c0392b", true),
        ("oracle frontier", "#27ae60", true),
    ];
    if m.router.is_some() {
        items.push(("router frontier", "#2c6fbb", false));
    }
    legend(out, p.x0, p.y0 + p.h + 52.0, &items);
}

/// Renders the report's curves as an SVG document.
pub fn render_svg(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    two_model_panel(&mut out, r);
    many_model_panel(&mut out, r);
    out.push_str("</svg>\n");
    out
}
