//! Small vector kernels over contiguous `f32` rows, written so the compiler vectorises
//! them (eight independent accumulators, no bounds checks inside the loops).

const LANES: usize = 8;

/// `a · b` over the common length.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0_f32; LANES];
    let mut a_chunks = a.chunks_exact(LANES);
    let mut b_chunks = b.chunks_exact(LANES);
    for (x, y) in (&mut a_chunks).zip(&mut b_chunks) {
        for k in 0..LANES {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in a_chunks.remainder().iter().zip(b_chunks.remainder()) {
        tail += x * y;
    }
    let pairs = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]) + tail
}

/// `y += alpha · x` over the common length.
#[inline]
pub(crate) fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let n = x.len().min(y.len());
    for (yi, xi) in y[..n].iter_mut().zip(&x[..n]) {
        *yi += alpha * xi;
    }
}

/// σ and softplus by table lookup with linear interpolation on `[-LIMIT, LIMIT]`, exact
/// (through `exp` and `ln_1p`) outside it. Interpolation error: at most `h²/8 · max|f''|`
/// with `h = 1/256`, about 2e-7 for σ and 5e-7 for softplus (tested below against `f64`).
pub(crate) struct LogisticTable {
    sigmoid: Vec<f32>,
    softplus: Vec<f32>,
}

const LIMIT: f32 = 8.0;
const STEPS_PER_UNIT: f32 = 256.0;

impl LogisticTable {
    /// The shared table, built on first use.
    pub(crate) fn get() -> &'static LogisticTable {
        static TABLE: std::sync::OnceLock<LogisticTable> = std::sync::OnceLock::new();
        TABLE.get_or_init(|| {
            let n = (2.0 * LIMIT * STEPS_PER_UNIT) as usize;
            let node = |i: usize| -f64::from(LIMIT) + i as f64 / f64::from(STEPS_PER_UNIT);
            LogisticTable {
                sigmoid: (0..=n + 1)
                    .map(|i| (1.0 / (1.0 + (-node(i)).exp())) as f32)
                    .collect(),
                softplus: (0..=n + 1)
                    .map(|i| {
                        let x = node(i);
                        (x.max(0.0) + (-x.abs()).exp().ln_1p()) as f32
                    })
                    .collect(),
            }
        })
    }

    /// `(σ(s) − δ, loss term)`: for the positive (`δ = 1`) the term is `softplus(−s)`, for a
    /// negative `softplus(s)`.
    #[inline]
    pub(crate) fn gain_and_loss(&self, score: f32, positive: bool) -> (f32, f32) {
        if score.abs() < LIMIT {
            let x = (score + LIMIT) * STEPS_PER_UNIT;
            let i = x as usize;
            let f = x - i as f32;
            if let (Some(s), Some(p)) = (self.sigmoid.get(i..i + 2), self.softplus.get(i..i + 2)) {
                let sigma = s[0] + f * (s[1] - s[0]);
                let softplus = p[0] + f * (p[1] - p[0]);
                return if positive {
                    // softplus(−s) = softplus(s) − s
                    (sigma - 1.0, softplus - score)
                } else {
                    (sigma, softplus)
                };
            }
        }
        exact_gain_and_loss(score, positive)
    }
}

/// `(σ(s) − δ, loss term)` through one exponential and one `ln_1p`; NaN stays NaN.
#[inline]
pub(crate) fn exact_gain_and_loss(score: f32, positive: bool) -> (f32, f32) {
    // t = e^{-|s|}; σ(s) = 1/(1+t) for s ≥ 0, t/(1+t) otherwise;
    // softplus(x) = max(x, 0) + ln(1 + e^{-|x|}).
    let t = (-score.abs()).exp();
    let log_term = t.ln_1p();
    if positive {
        // g = σ(s) − 1 = −σ(−s); J = softplus(−s)
        let gain = if score >= 0.0 {
            -t / (1.0 + t)
        } else {
            -1.0 / (1.0 + t)
        };
        (gain, (-score).max(0.0) + log_term)
    } else {
        let gain = if score >= 0.0 {
            1.0 / (1.0 + t)
        } else {
            t / (1.0 + t)
        };
        (gain, score.max(0.0) + log_term)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_equal_plain_formulas() {
        for n in [0usize, 1, 7, 8, 9, 50, 100, 301] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.1).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.2).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y)).sum();
            assert!((f64::from(dot(&a, &b)) - plain).abs() < 1e-4, "n = {n}");
            let mut y = b.clone();
            axpy(0.5, &a, &mut y);
            for i in 0..n {
                assert_eq!(y[i], b[i] + 0.5 * a[i]);
            }
        }
    }

    #[test]
    fn logistic_table_error_is_bounded() {
        let table = LogisticTable::get();
        let exact = |s: f64, positive: bool| {
            let sigma = 1.0 / (1.0 + (-s).exp());
            let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
            if positive {
                (sigma - 1.0, softplus(-s))
            } else {
                (sigma, softplus(s))
            }
        };
        let (mut worst_gain, mut worst_loss) = (0.0_f64, 0.0_f64);
        for k in 0..=400_000 {
            let s = -12.0 + 24.0 * k as f32 / 400_000.0;
            for positive in [true, false] {
                let (g, l) = table.gain_and_loss(s, positive);
                let (eg, el) = exact(f64::from(s), positive);
                worst_gain = worst_gain.max((f64::from(g) - eg).abs());
                worst_loss = worst_loss.max((f64::from(l) - el).abs() / el.max(1.0));
                let (xg, xl) = exact_gain_and_loss(s, positive);
                assert!((f64::from(xg) - eg).abs() < 1e-7, "exact gain at {s}");
                assert!(
                    (f64::from(xl) - el).abs() / el.max(1.0) < 1e-6,
                    "exact loss at {s}"
                );
            }
        }
        assert!(worst_gain < 5e-7, "σ error {worst_gain}");
        assert!(worst_loss < 2e-6, "loss error {worst_loss}");
        assert!(table.gain_and_loss(f32::NAN, true).0.is_nan());
        assert_eq!(table.gain_and_loss(1e4, false), (1.0, 1e4));
    }
}
