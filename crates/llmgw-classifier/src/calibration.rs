//! Probability calibration (Platt scaling) and the calibration metrics the trainer reports.

use serde::{Deserialize, Serialize};

/// Platt scaling of a model's raw logit: `p = sigmoid(a * logit + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    /// Slope applied to the raw logit.
    pub a: f32,
    /// Offset.
    pub b: f32,
}

impl Default for Platt {
    fn default() -> Self {
        Self { a: 1.0, b: 0.0 }
    }
}

/// The logistic function.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Platt {
    /// Calibrated probability of a raw logit.
    pub fn apply(&self, logit: f32) -> f32 {
        sigmoid(self.a * logit + self.b)
    }

    /// Fits `a`, `b` by Newton's method on the log loss of `labels` (in [0, 1], soft
    /// labels allowed) given raw `logits`, with Platt's target smoothing to avoid
    /// overconfident fits on small sets. Falls back to the identity on degenerate input.
    pub fn fit(logits: &[f32], labels: &[f32]) -> Self {
        let n = logits.len();
        if n == 0 || n != labels.len() {
            return Self::default();
        }
        let pos: f64 = labels.iter().map(|&y| f64::from(y)).sum();
        let neg = n as f64 - pos;
        let (hi, lo) = ((pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0));
        let targets: Vec<f64> = labels
            .iter()
            .map(|&y| f64::from(y) * hi + (1.0 - f64::from(y)) * lo)
            .collect();
        let (mut a, mut b) = (1.0f64, 0.0f64);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
            for (&x, &t) in logits.iter().zip(&targets) {
                let x = f64::from(x);
                let p = 1.0 / (1.0 + (-(a * x + b)).exp());
                let d = p - t;
                let w = (p * (1.0 - p)).max(1e-12);
                ga += d * x;
                gb += d;
                haa += w * x * x;
                hab += w * x;
                hbb += w;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-18 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            a -= da;
            b -= db;
            if !a.is_finite() || !b.is_finite() {
                return Self::default();
            }
            if da.abs() < 1e-9 && db.abs() < 1e-9 {
                break;
            }
        }
        Self {
            a: a as f32,
            b: b as f32,
        }
    }
}

/// Mean squared error between predicted probabilities and labels.
pub fn brier(probs: &[f32], labels: &[f32]) -> f32 {
    if probs.is_empty() {
        return f32::NAN;
    }
    probs
        .iter()
        .zip(labels)
        .map(|(p, y)| (p - y) * (p - y))
        .sum::<f32>()
        / probs.len() as f32
}

/// Area under the ROC curve, labels ≥ 0.5 counted positive; ties count half. `None` when
/// one class is absent.
pub fn auc(scores: &[f32], labels: &[f32]) -> Option<f32> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut pos) = (0.0f64, 0usize);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] >= 0.5 {
                rank_sum += avg_rank;
                pos += 1;
            }
        }
        i = j + 1;
    }
    let neg = scores.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let u = rank_sum - (pos * (pos + 1)) as f64 / 2.0;
    Some((u / (pos as f64 * neg as f64)) as f32)
}

/// One bin of a reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin's predicted-probability range.
    pub lo: f32,
    /// Upper edge.
    pub hi: f32,
    /// Number of predictions in the bin.
    pub count: usize,
    /// Mean predicted probability in the bin.
    pub mean_predicted: f32,
    /// Mean observed quality in the bin.
    pub observed: f32,
}

/// A 10-bin reliability table (equal-width bins over [0, 1]; empty bins kept with count 0).
pub fn reliability(probs: &[f32], labels: &[f32]) -> Vec<ReliabilityBin> {
    let mut sums = [(0usize, 0.0f64, 0.0f64); 10];
    for (&p, &y) in probs.iter().zip(labels) {
        let b = ((p * 10.0) as usize).min(9);
        sums[b].0 += 1;
        sums[b].1 += f64::from(p);
        sums[b].2 += f64::from(y);
    }
    sums.iter()
        .enumerate()
        .map(|(i, &(c, sp, sy))| ReliabilityBin {
            lo: i as f32 / 10.0,
            hi: (i + 1) as f32 / 10.0,
            count: c,
            mean_predicted: if c > 0 { (sp / c as f64) as f32 } else { 0.0 },
            observed: if c > 0 { (sy / c as f64) as f32 } else { 0.0 },
        })
        .collect()
}

/// Expected calibration error over a reliability table (count-weighted |predicted − observed|).
pub fn ece(table: &[ReliabilityBin]) -> f32 {
    let n: usize = table.iter().map(|b| b.count).sum();
    if n == 0 {
        return 0.0;
    }
    table
        .iter()
        .map(|b| b.count as f32 * (b.mean_predicted - b.observed).abs())
        .sum::<f32>()
        / n as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platt_recovers_a_known_scaling() {
        // labels drawn deterministically with P(y=1) = sigmoid(2x - 1)
        let mut logits = Vec::new();
        let mut labels = Vec::new();
        for i in 0..4000 {
            let x = (i % 200) as f32 / 50.0 - 2.0;
            let p = sigmoid(2.0 * x - 1.0);
            let u = ((i * 7919) % 1000) as f32 / 1000.0;
            logits.push(x);
            labels.push(if u < p { 1.0 } else { 0.0 });
        }
        let c = Platt::fit(&logits, &labels);
        assert!((c.a - 2.0).abs() < 0.3, "{c:?}");
        assert!((c.b + 1.0).abs() < 0.3, "{c:?}");
        // calibration lowers the log loss compared with the raw logits
        let ll = |f: &dyn Fn(f32) -> f32| -> f32 {
            logits
                .iter()
                .zip(&labels)
                .map(|(&x, &y)| -(y * f(x).ln() + (1.0 - y) * (1.0 - f(x)).ln()))
                .sum()
        };
        assert!(ll(&|x| c.apply(x)) < ll(&sigmoid));
    }

    #[test]
    fn platt_degenerate_input_is_identity() {
        assert_eq!(Platt::fit(&[], &[]), Platt::default());
    }

    #[test]
    fn brier_auc_and_reliability_by_hand() {
        assert!(
            (brier(&[1.0, 0.0, 0.5], &[1.0, 1.0, 0.0]) - (0.0 + 1.0 + 0.25) / 3.0).abs() < 1e-6
        );
        assert_eq!(auc(&[0.1, 0.2, 0.3, 0.4], &[0.0, 0.0, 1.0, 1.0]), Some(1.0));
        assert_eq!(auc(&[0.4, 0.3, 0.2, 0.1], &[0.0, 0.0, 1.0, 1.0]), Some(0.0));
        assert_eq!(auc(&[0.5, 0.5], &[0.0, 1.0]), Some(0.5));
        assert_eq!(auc(&[0.5, 0.5], &[1.0, 1.0]), None);
        let t = reliability(&[0.05, 0.15, 0.95, 0.99, 1.0], &[0.0, 1.0, 1.0, 1.0, 0.0]);
        assert_eq!(t.len(), 10);
        assert_eq!(t[0].count, 1);
        assert_eq!(t[1].observed, 1.0);
        assert_eq!(t[9].count, 3);
        assert!((t[9].observed - 2.0 / 3.0).abs() < 1e-6);
        let perfect = reliability(&[0.0, 1.0], &[0.0, 1.0]);
        assert!(ece(&perfect) < 1e-6);
    }
}
