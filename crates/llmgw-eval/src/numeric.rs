//! Numeric primitives ported from numpy so that the RouteLLM metrics match its Python
//! evaluation bit for bit: linear quantiles (`numpy.percentile(method="linear")`, which
//! `pandas.Series.quantile` and `pandas.qcut` call), `numpy.interp` and `numpy.trapz`.

/// The quantile probabilities RouteLLM's `pd.qcut(scores, 10, retbins=True)` uses:
/// `numpy.linspace(0, 1, 11)`, i.e. `i * 0.1` for `i < 10` and exactly `1.0` last.
pub fn decile_probabilities() -> [f64; 11] {
    let mut q = [0.0; 11];
    for (i, slot) in q.iter_mut().enumerate().take(10) {
        *slot = i as f64 * 0.1;
    }
    q[10] = 1.0;
    q
}

/// Linear-interpolation quantile of **sorted** `values` at probability `q` (0..=1).
///
/// Follows numpy's `method="linear"` (`_quantile`, `_get_indexes`, `_lerp`: virtual index
/// `(n - 1) * q`) as `pandas.Series.quantile` and `pandas.qcut` reach it in pandas 3
/// (`numpy.quantile`), so thresholds equal pandas' to the last bit. (pandas 2 went through
/// `numpy.percentile(q * 100)`, whose round trip through 100 can move a threshold by one
/// unit in the last place.) Returns `None` for an empty slice or a `q` outside `[0, 1]`.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let n = sorted.len();
    let virtual_index = (n - 1) as f64 * q;
    if virtual_index >= (n - 1) as f64 {
        return sorted.last().copied();
    }
    let previous = virtual_index.floor();
    let gamma = virtual_index - previous;
    // `previous` is in 0..n-1 here, so both indexes are in bounds.
    let lo = previous as usize;
    let a = sorted[lo];
    let b = sorted[lo + 1];
    Some(lerp(a, b, gamma))
}

/// numpy's `_lerp`: `a + (b - a) * t`, computed from the upper end when `t >= 0.5`.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Sorts a copy of `values` ascending (total order; NaN last).
pub fn sorted_copy(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// `numpy.trapz(y, x)`: the trapezoid rule over consecutive points, in the given order.
pub fn trapz(y: &[f64], x: &[f64]) -> f64 {
    y.windows(2)
        .zip(x.windows(2))
        .map(|(yw, xw)| (xw[1] - xw[0]) * (yw[0] + yw[1]) / 2.0)
        .sum()
}

/// numpy's `binary_search_with_guess` (`compiled_base.c`), including its behaviour on
/// arrays that are not sorted, which `numpy.interp` does not check.
fn binary_search_with_guess(key: f64, arr: &[f64], guess: usize) -> isize {
    const LIKELY_IN_CACHE_SIZE: usize = 8;
    let len = arr.len();
    if key > arr[len - 1] {
        return len as isize;
    } else if key < arr[0] {
        return -1;
    }
    if len <= 4 {
        let mut i = 1;
        while i < len && key >= arr[i] {
            i += 1;
        }
        return i as isize - 1;
    }
    let mut guess = guess.min(len - 3);
    if guess < 1 {
        guess = 1;
    }
    let mut imin = 0usize;
    let mut imax = len;
    if key < arr[guess] {
        if key < arr[guess - 1] {
            imax = guess - 1;
            if guess > LIKELY_IN_CACHE_SIZE && key >= arr[guess - LIKELY_IN_CACHE_SIZE] {
                imin = guess - LIKELY_IN_CACHE_SIZE;
            }
        } else {
            return guess as isize - 1;
        }
    } else if key < arr[guess + 1] {
        return guess as isize;
    } else if key < arr[guess + 2] {
        return guess as isize + 1;
    } else {
        imin = guess + 2;
        if guess < len - LIKELY_IN_CACHE_SIZE - 1 && key < arr[guess + LIKELY_IN_CACHE_SIZE] {
            imax = guess + LIKELY_IN_CACHE_SIZE;
        }
    }
    while imin < imax {
        let imid = imin + ((imax - imin) >> 1);
        if key >= arr[imid] {
            imin = imid + 1;
        } else {
            imax = imid;
        }
    }
    imin as isize - 1
}

/// `numpy.interp(x, xp, fp)` for one `x` with the default `left`/`right` (the end values).
///
/// Like numpy, it does not require `xp` to be increasing: on an unsorted `xp` it returns
/// exactly what numpy returns (RouteLLM calls it on quality values that are not always
/// monotonic). Returns `None` when `xp` is empty or the lengths differ.
pub fn np_interp(x: f64, xp: &[f64], fp: &[f64]) -> Option<f64> {
    if xp.is_empty() || xp.len() != fp.len() {
        return None;
    }
    let n = xp.len();
    let lval = fp[0];
    let rval = fp[n - 1];
    if n == 1 {
        return Some(if x < xp[0] {
            lval
        } else if x > xp[0] {
            rval
        } else {
            fp[0]
        });
    }
    if x.is_nan() {
        return Some(x);
    }
    let j = binary_search_with_guess(x, xp, 0);
    if j == -1 {
        return Some(lval);
    }
    if j == n as isize {
        return Some(rval);
    }
    let j = j as usize;
    if j == n - 1 || xp[j] == x {
        return Some(fp[j]);
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let mut r = slope * (x - xp[j]) + fp[j];
    if r.is_nan() {
        r = slope * (x - xp[j + 1]) + fp[j + 1];
        if r.is_nan() && fp[j] == fp[j + 1] {
            r = fp[j];
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_linearly() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&v, 1.0), Some(5.0));
        assert_eq!(quantile_sorted(&v, 0.5), Some(3.0));
        // pandas 3.1: Series([1, 2, 3, 4, 5.0]).quantile(np.linspace(0, 1, 11))
        let want = [
            1.0,
            1.4,
            1.8,
            2.2,
            2.6,
            3.0,
            3.4000000000000004,
            3.8000000000000003,
            4.2,
            4.6,
            5.0,
        ];
        for (q, w) in decile_probabilities().iter().zip(want) {
            assert_eq!(quantile_sorted(&v, *q), Some(w));
        }
        assert_eq!(quantile_sorted(&[], 0.5), None);
        assert_eq!(quantile_sorted(&v, 1.5), None);
    }

    #[test]
    fn deciles_match_linspace() {
        let q = decile_probabilities();
        assert_eq!(q[0], 0.0);
        assert_eq!(q[3], 3.0 * 0.1);
        assert_eq!(q[10], 1.0);
    }

    #[test]
    fn trapz_of_a_line() {
        assert!((trapz(&[0.0, 1.0], &[0.0, 1.0]) - 0.5).abs() < 1e-15);
        assert!((trapz(&[2.0, 2.0, 2.0], &[0.0, 0.5, 1.0]) - 2.0).abs() < 1e-15);
        assert_eq!(trapz(&[1.0], &[0.0]), 0.0);
    }

    #[test]
    fn interp_on_increasing_xp() {
        let xp = [0.0, 1.0, 2.0];
        let fp = [0.0, 10.0, 40.0];
        assert_eq!(np_interp(0.5, &xp, &fp), Some(5.0));
        assert_eq!(np_interp(1.5, &xp, &fp), Some(25.0));
        assert_eq!(np_interp(-1.0, &xp, &fp), Some(0.0));
        assert_eq!(np_interp(3.0, &xp, &fp), Some(40.0));
        assert_eq!(np_interp(2.0, &xp, &fp), Some(40.0));
        assert_eq!(np_interp(1.0, &[], &[]), None);
    }

    #[test]
    fn interp_on_unsorted_xp_matches_numpy() {
        // Expected values computed with numpy 2.x `np.interp` on the same arrays.
        let xp = [
            0.40, 0.55, 0.50, 0.62, 0.60, 0.70, 0.68, 0.75, 0.80, 0.78, 0.81,
        ];
        let fp = [
            0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0,
        ];
        let cases = [
            (0.52, NUMPY_052),
            (0.61, NUMPY_061),
            (0.69, NUMPY_069),
            (0.79, NUMPY_079),
        ];
        for (x, want) in cases {
            let got = np_interp(x, &xp, &fp).unwrap();
            assert!((got - want).abs() < 1e-9, "x={x}: got {got}, numpy {want}");
        }
    }

    const NUMPY_052: f64 = 7.999999999999998;
    const NUMPY_061: f64 = 29.166666666666664;
    const NUMPY_069: f64 = 61.428571428571416;
    const NUMPY_079: f64 = 93.33333333333333;
}
