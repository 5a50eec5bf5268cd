//! How much a set of word vectors shares one direction, how far it moved, and how the
//! model's scores spread: the diagnostics of a collapse.

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

use crate::error::{Error, Result};
use crate::linalg;

/// The geometry of a set of word vectors (the rows of an `n×M` matrix `X`), in the
/// measures used to tell vectors that carry meaning from vectors collapsed into one
/// direction. Computed in `f64`.
///
/// With `x̂_i = x_i / ‖x_i‖` (zero rows left out of the cosines), the mean row
/// `μ = (1/n) Σ x_i`, and the singular values `σ_1 ≥ … ≥ σ_M` of `X` (`σ_k²` are the
/// eigenvalues of `XᵀX`):
///
/// * [`mean_cosine`](Self::mean_cosine): the mean of `cos(x_i, x_j)` over all ordered
///   pairs `i ≠ j` of non-zero rows, exactly: `(‖Σ x̂_i‖² − n) / (n(n − 1))`. Near 0 for
///   vectors spread in every direction, 1 when all point the same way (and near 0 again
///   when they point along one axis with both signs; the shares below catch that).
/// * [`top_share`](Self::top_share): `σ_1² / Σ σ_k²`, the share of `‖X‖_F²` along the
///   best single direction. `1/M` for isotropic vectors, 1 for rank one.
/// * [`top_share_centred`](Self::top_share_centred): the same for `X − 1μᵀ`: whether the
///   vectors also *vary* along one direction, not just share an offset.
/// * [`mean_norm_ratio`](Self::mean_norm_ratio): `‖μ‖ / ((1/n) Σ ‖x_i‖)`: 1 when every
///   row is the same vector, about `1/√n` for random rows.
/// * [`singular_values`](Self::singular_values) and
///   [`top_direction`](Self::top_direction) (the unit right singular vector of `σ_1`,
///   sign arbitrary), to compare the direction with other matrices' (for example with
///   the singular vectors of the model's `W`).
///
/// Every measure is unchanged when the columns are rotated (`X → X Q`, `Q` orthogonal)
/// or all rows are scaled by one positive factor.
///
/// ```
/// use bilinear_skipgram::eval::Anisotropy;
/// use ndarray::array;
///
/// // Three vectors along one direction: collapsed.
/// let collapsed = Anisotropy::of(array![[1.0, 2.0], [2.0, 4.0], [0.5, 1.0]].view());
/// assert!((collapsed.mean_cosine - 1.0).abs() < 1e-12);
/// assert!((collapsed.top_share - 1.0).abs() < 1e-12);
/// // The two axes and their negatives: spread, no common direction.
/// let spread = Anisotropy::of(array![[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]].view());
/// assert!((spread.mean_cosine - (-1.0 / 3.0)).abs() < 1e-12);
/// assert!((spread.top_share - 0.5).abs() < 1e-12);
/// assert_eq!(spread.mean_norm_ratio, 0.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Anisotropy {
    /// Rows of `X`.
    pub n_rows: usize,
    /// Non-zero rows, those the cosines are taken over.
    pub n_nonzero: usize,
    /// Mean cosine over all pairs of distinct non-zero rows; NaN with fewer than two.
    pub mean_cosine: f64,
    /// `σ_1² / Σ σ_k²` of `X`; NaN for a zero matrix.
    pub top_share: f64,
    /// `σ_1² / Σ σ_k²` of the centred `X − 1μᵀ`; NaN when every row is the same (the
    /// centred rows hold less than `10⁻¹²` of `‖X‖_F²`).
    pub top_share_centred: f64,
    /// `‖μ‖` over the mean row norm; NaN for a zero matrix.
    pub mean_norm_ratio: f64,
    /// `σ_1 ≥ … ≥ σ_M` of `X` (uncentred).
    pub singular_values: Array1<f64>,
    /// The unit right singular vector of `σ_1` (length `M`).
    pub top_direction: Array1<f64>,
}

impl Anisotropy {
    /// The measures of the rows of `vectors` (see the [type documentation](Self)). Costs
    /// one `M×M` Gram matrix, `O(n·M²)`, and two `M×M` eigendecompositions. A non-finite
    /// entry makes the measures NaN.
    pub fn of(vectors: ArrayView2<'_, f32>) -> Anisotropy {
        let x = vectors.mapv(f64::from);
        let (n, dim) = x.dim();
        let mut unit_sum = Array1::<f64>::zeros(dim);
        let (mut norm_sum, mut n_nonzero) = (0.0_f64, 0_usize);
        for row in x.axis_iter(Axis(0)) {
            let norm = row.dot(&row).sqrt();
            if norm > 0.0 {
                unit_sum.scaled_add(1.0 / norm, &row);
                n_nonzero += 1;
            }
            norm_sum += norm;
        }
        let n_pairs = n_nonzero as f64 * (n_nonzero as f64 - 1.0);
        let mean_cosine = if n_nonzero >= 2 {
            (unit_sum.dot(&unit_sum) - n_nonzero as f64) / n_pairs
        } else {
            f64::NAN
        };
        let mean = if n > 0 {
            x.sum_axis(Axis(0)) / n as f64
        } else {
            Array1::zeros(dim)
        };
        let mean_norm_ratio = mean.dot(&mean).sqrt() / (norm_sum / n as f64);

        let gram = x.t().dot(&x);
        let (values, top_direction) = top_of_gram(&gram);
        let mut centred_gram = gram;
        let outer = outer(&mean, &mean);
        centred_gram.scaled_add(-(n as f64), &outer);
        let (centred_values, _) = top_of_gram(&centred_gram);
        // Rows that are all the same leave only rounding after centring: no direction.
        let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
        let centred_total: f64 = centred_values.iter().map(|v| v.max(0.0)).sum();
        let top_share_centred = if centred_total > CENTRED_ROUNDING * total {
            top_share(&centred_values)
        } else {
            f64::NAN
        };
        Anisotropy {
            n_rows: n,
            n_nonzero,
            mean_cosine,
            top_share: top_share(&values),
            top_share_centred,
            mean_norm_ratio,
            singular_values: values.mapv(|v| v.max(0.0).sqrt()),
            top_direction,
        }
    }
}

/// The centred rows' `‖X − 1μᵀ‖_F²` below this share of `‖X‖_F²` counts as zero: the
/// rows are the same vector up to rounding.
const CENTRED_ROUNDING: f64 = 1e-12;

/// `a bᵀ`.
fn outer(a: &Array1<f64>, b: &Array1<f64>) -> Array2<f64> {
    let column = a.view().insert_axis(Axis(1));
    let row = b.view().insert_axis(Axis(0));
    column.dot(&row)
}

/// The eigenvalues of a Gram matrix, descending, and the eigenvector of the largest (NaN
/// when it has a non-finite entry).
fn top_of_gram(gram: &Array2<f64>) -> (Array1<f64>, Array1<f64>) {
    let dim = gram.nrows();
    match linalg::symmetric_eigen(gram.view()) {
        Ok(eigen) if dim > 0 => (eigen.values, eigen.vectors.column(0).to_owned()),
        _ => (
            Array1::from_elem(dim, f64::NAN),
            Array1::from_elem(dim, f64::NAN),
        ),
    }
}

/// `λ_1 / Σ λ_k`, with eigenvalues below zero (rounding of a positive semi-definite
/// matrix) counted as zero; NaN when they sum to zero.
fn top_share(values: &Array1<f64>) -> f64 {
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
    let top = values.first().map_or(f64::NAN, |v| v.max(0.0));
    if total > 0.0 { top / total } else { f64::NAN }
}

/// How far the rows of `current` have moved from `initial`, the same matrix earlier in
/// training: `‖X − X₀‖_F / ‖X₀‖_F` and the median over rows of `‖x_i − x₀_i‖ / ‖x₀_i‖`
/// (rows that started at zero left out of the median), in `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Displacement {
    /// `‖X − X₀‖_F / ‖X₀‖_F`; NaN when `X₀ = 0`.
    pub relative: f64,
    /// The median over rows of `‖x_i − x₀_i‖ / ‖x₀_i‖`; NaN when every row of `X₀` is zero.
    pub median_row: f64,
}

impl Displacement {
    /// The displacement of `current` from `initial`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the two matrices differ in shape.
    ///
    /// ```
    /// use bilinear_skipgram::eval::Displacement;
    /// use ndarray::array;
    ///
    /// let start = array![[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]];
    /// let now = array![[1.0, 1.0], [0.0, 2.0], [3.0, 4.0]];
    /// let moved = Displacement::between(now.view(), start.view())?;
    /// assert!((moved.relative - 1.0 / 30.0_f64.sqrt()).abs() < 1e-12);
    /// assert_eq!(moved.median_row, 0.0);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn between(
        current: ArrayView2<'_, f32>,
        initial: ArrayView2<'_, f32>,
    ) -> Result<Displacement> {
        if current.dim() != initial.dim() {
            return Err(Error::ShapeMismatch {
                what: "matrix to compare with its initial value",
                expected: initial.shape().to_vec(),
                found: current.shape().to_vec(),
            });
        }
        let (mut moved, mut start) = (0.0_f64, 0.0_f64);
        let mut ratios = Vec::with_capacity(current.nrows());
        Zip::from(current.rows())
            .and(initial.rows())
            .for_each(|now, then| {
                let (mut d2, mut s2) = (0.0_f64, 0.0_f64);
                Zip::from(now).and(then).for_each(|&a, &b| {
                    let d = f64::from(a) - f64::from(b);
                    d2 += d * d;
                    s2 += f64::from(b) * f64::from(b);
                });
                moved += d2;
                start += s2;
                if s2 > 0.0 {
                    ratios.push((d2 / s2).sqrt());
                }
            });
        ratios.sort_by(f64::total_cmp);
        let median_row = match ratios.len() {
            0 => f64::NAN,
            k if k % 2 == 1 => ratios[k / 2],
            k => 0.5 * (ratios[k / 2 - 1] + ratios[k / 2]),
        };
        let relative = if start > 0.0 {
            (moved / start).sqrt()
        } else {
            f64::NAN
        };
        Ok(Displacement {
            relative,
            median_row,
        })
    }
}

/// The mean and standard deviation of the score `s = v_cᵀ W u_w` over every pair of a row
/// `u_w` of `U` and a row `v_c` of `V` (each pair once, unweighted), computed exactly in
/// `f64` without forming the pairs: with the mean rows `ū`, `v̄` and the Gram matrices
/// `G_u = UᵀU`, `G_v = VᵀV`,
///
/// ```text
/// mean = v̄ᵀ W ū        mean of s² = tr(Wᵀ G_v W G_u) / (n_u n_v)
/// ```
///
/// A model that scores every pair alike has a standard deviation near zero; with `n`
/// negatives per positive, the best constant score is `−ln n` (`σ(s) = 1/(n + 1)`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ScoreMoments {
    /// The mean score; NaN without rows.
    pub mean: f64,
    /// The standard deviation of the scores; NaN without rows.
    pub std: f64,
}

impl ScoreMoments {
    /// The moments of the scores of all pairs of rows of `focus` (`n_u×M`) and `context`
    /// (`n_v×M`) under `interaction` (`M×M`).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] unless `context` has `M` columns and `interaction` is `M×M`,
    /// `M` the columns of `focus`.
    ///
    /// ```
    /// use bilinear_skipgram::eval::ScoreMoments;
    /// use ndarray::array;
    ///
    /// // Scores of the four pairs: 1·2 = 2, 1·(−2) = −2, 3·2 = 6, 3·(−2) = −6 (W = I, M = 1).
    /// let m = ScoreMoments::of(array![[1.0], [3.0]].view(), array![[2.0], [-2.0]].view(), array![[1.0]].view())?;
    /// assert_eq!(m.mean, 0.0);
    /// assert!((m.std - 20.0_f64.sqrt()).abs() < 1e-12);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn of(
        focus: ArrayView2<'_, f32>,
        context: ArrayView2<'_, f32>,
        interaction: ArrayView2<'_, f32>,
    ) -> Result<ScoreMoments> {
        let dim = focus.ncols();
        if context.ncols() != dim {
            return Err(Error::ShapeMismatch {
                what: "context rows (as long as the focus rows)",
                expected: vec![context.nrows(), dim],
                found: context.shape().to_vec(),
            });
        }
        if interaction.dim() != (dim, dim) {
            return Err(Error::ShapeMismatch {
                what: "interaction (dimension × dimension)",
                expected: vec![dim, dim],
                found: interaction.shape().to_vec(),
            });
        }
        let (n_u, n_v) = (focus.nrows(), context.nrows());
        if n_u == 0 || n_v == 0 {
            return Ok(ScoreMoments {
                mean: f64::NAN,
                std: f64::NAN,
            });
        }
        let (u, v, w) = (
            focus.mapv(f64::from),
            context.mapv(f64::from),
            interaction.mapv(f64::from),
        );
        let (u_mean, v_mean) = (
            u.sum_axis(Axis(0)) / n_u as f64,
            v.sum_axis(Axis(0)) / n_v as f64,
        );
        let mean = v_mean.dot(&w.dot(&u_mean));
        let (gram_u, gram_v) = (u.t().dot(&u), v.t().dot(&v));
        // tr(Wᵀ G_v W G_u) = tr((G_v W)ᵀ (W G_u)) = Σ_ij (G_v W)_ij (W G_u)_ij (G_v is symmetric).
        let left = gram_v.dot(&w);
        let right = w.dot(&gram_u);
        let sum_of_squares: f64 = Zip::from(&left)
            .and(&right)
            .fold(0.0, |acc, &a, &b| acc + a * b);
        let second = sum_of_squares / (n_u as f64 * n_v as f64);
        Ok(ScoreMoments {
            mean,
            std: (second - mean * mean).max(0.0).sqrt(),
        })
    }
}
