//! Word vectors read out in the geometry of the scores: the balanced and the score-only
//! read-outs (see the [module documentation](super) for what they are).
//!
//! The `M×M` work (SVDs, eigendecompositions, the transforms) runs in `f64`; the `n×M`
//! products `F = U T_F` and `C = V T_C` run in the input's precision, and the Gram matrices
//! `UᵀU`, `VᵀV` are accumulated in `f64` (blocks of rows converted on the fly): the
//! score-only read-out divides by their eigenvalues, so an `f32` Gram matrix would turn
//! its rounding into errors of size `ε_f32·κ(U)²` in the orthonormal factor.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, s};

use crate::error::{Error, Result};
use crate::eval::search::normalize_rows;
use crate::linalg;
use crate::loss::Real;

/// Rows of `U` (or `V`) are converted to `f64` in blocks of this many for the Gram matrix.
const GRAM_BLOCK: usize = 4096;

/// Directions of `U` (or `V`) whose singular value is at most this fraction of the largest
/// one (eigenvalues of `UᵀU` at most its square, `1e-12`, of the largest) count as zero in
/// the score-only read-out. Word vectors are `f32`, about 7 significant digits, so such
/// directions are at the level of the rounding of the stored numbers; keeping them would
/// divide by rounding noise.
pub const SCORE_RANK_TOLERANCE: f64 = 1e-6;

/// The spectral weight `p` of [`VectorKind::ScoreSmoothed`](crate::VectorKind::ScoreSmoothed),
/// the default word vectors: [`score_read_out_weighted`] with `Λ^{0.35}`. Chosen from
/// measurements on English Wikipedia (BENCHMARKS.md). Without subwords (rows at 0.05, four
/// seeds) `p = 0.4` gained against `p = 1/2` 0.010 on MEN, 0.012 on MTurk-771, 0.0035 on
/// SimVerb, 1.3 points on MSR and 0.5 on BATS with RW unchanged, and `p = 0.35` lost 0.008
/// on RW against 0.4 on one seed. With subwords (the default model, read-out weight 0.25,
/// eight seeds read both ways) `p = 0.35` gained against 0.4 0.003 on MEN, 0.004 on MTurk,
/// 0.0024 on SimVerb, 0.8 points on MSR and 0.4 on BATS, with RW unchanged (0.4581 and
/// 0.4582); `p = 0.3` gained 0.0012 more on SimVerb and lost 0.0023 on RW against 0.35,
/// and at read-out weight 0.5 (four seeds) `p = 0.2` lost 0.014 on RW against 0.4 and
/// `p = 1/2` lost on every set.
pub const SMOOTHED_SPECTRAL_WEIGHT: f64 = 0.35;

/// Focus vectors `F` and context vectors `C` of every word (`n_words×M` each), read out so
/// that `⟨C_c, F_w⟩` is the model's score of the pair `(w, c)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOut<T> {
    /// `F`, one row per word.
    pub focus: Array2<T>,
    /// `C`, one row per word.
    pub context: Array2<T>,
}

impl<T: Real> ReadOut<T> {
    /// `F + C`.
    pub fn sum(&self) -> Array2<T> {
        &self.focus + &self.context
    }

    /// `[C, F]` (`n_words×2M`) with each half's rows scaled to unit length (zero rows stay
    /// zero), so that both halves weigh equally in a cosine.
    pub fn concatenated(&self) -> Array2<T> {
        concatenate_unit_rows(self.context.view(), self.focus.view())
    }
}

/// `[A, B]` with every row of `A` and of `B` scaled to unit length as
/// [`Embeddings`](crate::Embeddings) scales rows (lengths in `f64`; zero rows stay zero; a
/// half row holding a NaN or an infinity has no direction and becomes all NaN). Both have
/// the same number of rows.
pub(crate) fn concatenate_unit_rows<T: Real>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
) -> Array2<T> {
    let (rows, left) = a.dim();
    let mut out = Array2::zeros((rows, left + b.ncols()));
    for (half, range) in [(a, s![.., ..left]), (b, s![.., left..])] {
        let mut target = out.slice_mut(range);
        target.assign(&half);
        normalize_rows(target);
    }
    out
}

fn to_f64<T: Real>(a: ArrayView2<'_, T>) -> Array2<f64> {
    a.mapv(|x| x.to_f64().unwrap_or(f64::NAN))
}

fn from_f64<T: Real>(a: &Array2<f64>) -> Array2<T> {
    a.mapv(|x| T::from(x).unwrap_or_else(T::nan))
}

/// `AᵀA` in `f64`.
fn gram<T: Real>(a: ArrayView2<'_, T>) -> Array2<f64> {
    let dim = a.ncols();
    let mut g = Array2::zeros((dim, dim));
    for block in a.axis_chunks_iter(Axis(0), GRAM_BLOCK) {
        let block = to_f64(block);
        general_mat_mul(1.0, &block.t(), &block, 1.0, &mut g);
    }
    g
}

/// `(T_F, T_C) = (Q Σ^{1/2}, P Σ^{1/2})` from the SVD `W = P Σ Qᵀ`.
pub(crate) fn balanced_transforms(interaction: ArrayView2<'_, f64>) -> (Array2<f64>, Array2<f64>) {
    let svd = linalg::svd(interaction);
    let root = svd.singular_values.mapv(f64::sqrt);
    (svd.right * &root, svd.left * &root)
}

/// `E_r D_r^{-1/2}` and `R = D_r^{1/2} E_rᵀ` from the eigendecomposition `G = E D Eᵀ` of a
/// Gram matrix `G = AᵀA`, keeping the `r` eigenvalues above `SCORE_RANK_TOLERANCE²` times
/// the largest: `A = Q R` with `Q = A E_r D_r^{-1/2}` (orthonormal columns), up to the
/// dropped directions.
fn gram_factor(g: &Array2<f64>) -> (Array2<f64>, Array2<f64>) {
    let dim = g.nrows();
    let eigen = match linalg::symmetric_eigen(g.view()) {
        Ok(eigen) => eigen,
        // A Gram matrix is square; keep the shapes and poison the result all the same.
        Err(_) => {
            return (
                Array2::from_elem((dim, 0), f64::NAN),
                Array2::from_elem((0, dim), f64::NAN),
            );
        }
    };
    let largest = eigen.values.first().copied().unwrap_or(0.0);
    let floor = largest * SCORE_RANK_TOLERANCE * SCORE_RANK_TOLERANCE;
    let rank = eigen
        .values
        .iter()
        .take_while(|&&d| d > floor && d > 0.0)
        .count();
    let kept = eigen.vectors.slice(s![.., ..rank]);
    let root: Array1<f64> = eigen.values.slice(s![..rank]).mapv(f64::sqrt);
    let whiten = &kept / &root;
    let factor = (&kept * &root).reversed_axes();
    (whiten, factor)
}

/// `(T_F, T_C)`, `M×M`, with `F = U T_F`, `C = V T_C` the score-only read-out with
/// spectral weight `p`, from `UᵀU`, `VᵀV` and `W`: `R_v W R_uᵀ = X Λ Yᵀ`,
/// `T_F = E_u D_u^{-1/2} Y Λ^p`, `T_C = E_v D_v^{-1/2} X Λ^p`; columns beyond the rank of
/// `U`, `V` or of the core (singular values `λ ≤ M·ε·λ_max`) are zero. The caller has
/// checked that `p` is finite and not negative.
pub(crate) fn score_transforms(
    gram_focus: &Array2<f64>,
    gram_context: &Array2<f64>,
    interaction: ArrayView2<'_, f64>,
    weight: f64,
) -> (Array2<f64>, Array2<f64>) {
    let dim = interaction.nrows();
    let finite = |a: &Array2<f64>| a.iter().all(|x| x.is_finite());
    if !(finite(gram_focus) && finite(gram_context) && interaction.iter().all(|x| x.is_finite())) {
        let nan = Array2::from_elem((dim, dim), f64::NAN);
        return (nan.clone(), nan);
    }
    let (whiten_u, r_u) = gram_factor(gram_focus);
    let (whiten_v, r_v) = gram_factor(gram_context);
    let core = r_v.dot(&interaction).dot(&r_u.t());
    let svd = linalg::svd(core.view());
    // Singular values of S at the rounding level of the largest are zero: their powers
    // would turn rounding noise of 1e-16 into coordinates of 1e-8 (at p = 1/2) or more.
    let largest = svd.singular_values.first().copied().unwrap_or(0.0);
    let floor = largest * dim as f64 * f64::EPSILON;
    let power = |lambda: f64| {
        if lambda <= floor {
            0.0
        } else if weight == 0.5 {
            lambda.sqrt()
        } else {
            lambda.powf(weight)
        }
    };
    let root = svd.singular_values.mapv(power);
    let rank = root.len();
    let mut t_focus = Array2::zeros((dim, dim));
    let mut t_context = Array2::zeros((dim, dim));
    t_focus
        .slice_mut(s![.., ..rank])
        .assign(&whiten_u.dot(&(svd.right * &root)));
    t_context
        .slice_mut(s![.., ..rank])
        .assign(&whiten_v.dot(&(svd.left * &root)));
    (t_focus, t_context)
}

/// `F = U T_F`, `C = V T_C` in the input's precision.
fn apply<T: Real>(
    focus: ArrayView2<'_, T>,
    context: ArrayView2<'_, T>,
    (t_focus, t_context): (Array2<f64>, Array2<f64>),
) -> ReadOut<T> {
    ReadOut {
        focus: focus.dot(&from_f64::<T>(&t_focus)),
        context: context.dot(&from_f64::<T>(&t_context)),
    }
}

/// The balanced read-out for an `f64` interaction (the model's effective one).
pub(crate) fn balanced<T: Real>(
    focus: ArrayView2<'_, T>,
    context: ArrayView2<'_, T>,
    interaction: ArrayView2<'_, f64>,
) -> ReadOut<T> {
    apply(focus, context, balanced_transforms(interaction))
}

/// The score-only read-out with spectral weight `weight` (checked by the caller) for an
/// `f64` interaction (the model's effective one).
pub(crate) fn score<T: Real>(
    focus: ArrayView2<'_, T>,
    context: ArrayView2<'_, T>,
    interaction: ArrayView2<'_, f64>,
    weight: f64,
) -> ReadOut<T> {
    let transforms = score_transforms(&gram(focus), &gram(context), interaction, weight);
    apply(focus, context, transforms)
}

/// The largest spectral weight the score-only read-out accepts: `Λ^1`, the full spectrum
/// (`p = 1/2` reproduces the scores, `p = 0` whitens them). Beyond it the powers of the
/// singular values soon leave `f32`'s range and every vector becomes infinite or NaN.
pub const MAX_SPECTRAL_WEIGHT: f64 = 1.0;

/// `Ok` for a spectral weight the score-only read-out accepts: `0 ≤ p ≤`
/// [`MAX_SPECTRAL_WEIGHT`] (what [`score_read_out_weighted`] checks, for a program that
/// checks an option before the work that uses it).
///
/// # Errors
///
/// [`Error::InvalidArgument`] for any other value, NaN included.
pub fn check_spectral_weight(weight: f64) -> Result<()> {
    if (0.0..=MAX_SPECTRAL_WEIGHT).contains(&weight) {
        Ok(())
    } else {
        // A huge weight in scientific notation, not 309 digits.
        let shown = if weight.abs() >= 1e6 {
            format!("{weight:e}")
        } else {
            weight.to_string()
        };
        Err(Error::InvalidArgument {
            what: "spectral weight",
            message: format!(
                "{shown} does not lie in [0, {MAX_SPECTRAL_WEIGHT}] (the singular values of \
                 the scores are raised to this power; 0.5 reproduces the scores, 0 whitens \
                 them, 1 is the full spectrum)"
            ),
        })
    }
}

fn check_shapes<T>(
    focus: &ArrayView2<'_, T>,
    context: &ArrayView2<'_, T>,
    interaction: &ArrayView2<'_, T>,
) -> Result<()> {
    let (n_words, dim) = focus.dim();
    for (what, expected, found) in [
        ("context embeddings", [n_words, dim], context.shape()),
        ("interaction", [dim, dim], interaction.shape()),
    ] {
        if expected != found {
            return Err(Error::ShapeMismatch {
                what,
                expected: expected.to_vec(),
                found: found.to_vec(),
            });
        }
    }
    Ok(())
}

/// The balanced read-out of `U` (`focus`), `V` (`context`) and `W` (`interaction`):
/// `W = P Σ Qᵀ`, `F = U Q Σ^{1/2}`, `C = V P Σ^{1/2}`, so `C Fᵀ = V W Uᵀ`; with `W = I`
/// exactly `F = U`, `C = V`. [`Model::word_vectors`](crate::Model::word_vectors) reads the
/// same out of a model; this takes any matrices, in `f32` or `f64`.
///
/// # Example
///
/// ```
/// use bilinear_skipgram::model::balanced_read_out;
/// use ndarray::array;
///
/// // W = diag(4, 1): the first coordinate is split as 2 · 2 between the two sides.
/// let u = array![[1.0_f64, 1.0]];
/// let v = array![[1.0, 3.0]];
/// let w = array![[4.0, 0.0], [0.0, 1.0]];
/// let r = balanced_read_out(u.view(), v.view(), w.view())?;
/// assert_eq!(r.focus, array![[2.0, 1.0]]);
/// assert_eq!(r.context, array![[2.0, 3.0]]);
/// assert_eq!(r.context.row(0).dot(&r.focus.row(0)), v.row(0).dot(&w.dot(&u.row(0))));
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::ShapeMismatch`] unless `focus` and `context` are both `n×M` and `interaction`
/// is `M×M`.
pub fn balanced_read_out<T: Real>(
    focus: ArrayView2<'_, T>,
    context: ArrayView2<'_, T>,
    interaction: ArrayView2<'_, T>,
) -> Result<ReadOut<T>> {
    check_shapes(&focus, &context, &interaction)?;
    Ok(balanced(focus, context, to_f64(interaction).view()))
}

/// The score-only read-out of `U` (`focus`), `V` (`context`) and `W` (`interaction`): with
/// `UᵀU = E_u D_u E_uᵀ`, `R_u = D_u^{1/2} E_uᵀ`, `Q_u = U E_u D_u^{-1/2}` (so `U = Q_u R_u`,
/// `Q_u` orthonormal columns), the same for `V`, and the SVD `R_v W R_uᵀ = X Λ Yᵀ`:
/// `F = Q_u Y Λ^{1/2}`, `C = Q_v X Λ^{1/2}`. Then `C Fᵀ = V W Uᵀ = S`, and `F`, `C` depend
/// on the score matrix `S` alone: `F Fᵀ = (SᵀS)^{1/2}`, `C Cᵀ = (S Sᵀ)^{1/2}`. Directions
/// of `U` or `V` below [`SCORE_RANK_TOLERANCE`] of their largest singular value are
/// dropped; columns beyond the rank of `S` (singular values up to `M·ε` of the largest
/// count as zero) are zero.
/// [`Model::word_vectors`](crate::Model::word_vectors) reads the same out of a model; this
/// takes any matrices, in `f32` or `f64`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] unless `focus` and `context` are both `n×M` and `interaction`
/// is `M×M`.
pub fn score_read_out<T: Real>(
    focus: ArrayView2<'_, T>,
    context: ArrayView2<'_, T>,
    interaction: ArrayView2<'_, T>,
) -> Result<ReadOut<T>> {
    check_shapes(&focus, &context, &interaction)?;
    Ok(score(focus, context, to_f64(interaction).view(), 0.5))
}

/// The score-only read-out with the singular values of the scores raised to `weight`
/// instead of `1/2`: `F = Q_u Y Λ^p`, `C = Q_v X Λ^p` (notation of [`score_read_out`],
/// `p = weight`). Then `F Fᵀ = (SᵀS)^p` and `C Cᵀ = (S Sᵀ)^p`, so these vectors, too,
/// depend on the scores alone, whatever `p`; column `j` is column `j` of the `p = 1/2`
/// read-out scaled by `λ_j^{p − 1/2}`. `p = 1/2` is [`score_read_out`], the only weight
/// with `C Fᵀ = S`; a smaller `p` flattens the spectrum, so that the few directions with
/// the largest singular values (the direction every word shares above all) weigh less in
/// a cosine; `p = 0` weighs every direction of the scores alike. This is the eigenvalue
/// weighting of SVD word vectors (Caron 2001; Levy, Goldberg and Dagan 2015), applied to the
/// trained model's score matrix. [`SMOOTHED_SPECTRAL_WEIGHT`] is the weight of
/// [`VectorKind::ScoreSmoothed`](crate::VectorKind::ScoreSmoothed).
///
/// ```
/// use bilinear_skipgram::model::{score_read_out, score_read_out_weighted};
/// use ndarray::array;
///
/// // S = V W Uᵀ = [[4, 0], [0, 1]]: singular values 4 and 1.
/// let u = array![[1.0_f64, 0.0], [0.0, 1.0]];
/// let w = array![[4.0, 0.0], [0.0, 1.0]];
/// let half = score_read_out(u.view(), u.view(), w.view())?;
/// let flat = score_read_out_weighted(u.view(), u.view(), w.view(), 0.0)?;
/// // p = 1/2: |F_0| = √4 = 2, |F_1| = 1; p = 0: both words' vectors have length 1.
/// assert!((half.focus.row(0).dot(&half.focus.row(0)) - 4.0).abs() < 1e-12);
/// assert!((flat.focus.row(0).dot(&flat.focus.row(0)) - 1.0).abs() < 1e-12);
/// assert!((flat.focus.row(1).dot(&flat.focus.row(1)) - 1.0).abs() < 1e-12);
/// assert!(score_read_out_weighted(u.view(), u.view(), w.view(), -1.0).is_err());
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::ShapeMismatch`] as [`score_read_out`]; [`Error::InvalidArgument`] unless
/// `0 ≤ weight ≤` [`MAX_SPECTRAL_WEIGHT`].
pub fn score_read_out_weighted<T: Real>(
    focus: ArrayView2<'_, T>,
    context: ArrayView2<'_, T>,
    interaction: ArrayView2<'_, T>,
    weight: f64,
) -> Result<ReadOut<T>> {
    check_shapes(&focus, &context, &interaction)?;
    check_spectral_weight(weight)?;
    Ok(score(focus, context, to_f64(interaction).view(), weight))
}

/// Rows scaled to unit length in place; zero rows stay zero. (For tests of the halves.)
#[cfg(test)]
fn unit_rows(a: &mut Array2<f64>) {
    for mut row in a.axis_iter_mut(Axis(0)) {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn concatenation_scales_each_half() {
        let c = array![[3.0_f64, 4.0], [0.0, 0.0]];
        let f = array![[0.0_f64, 2.0, 0.0], [1.0, 0.0, 0.0]];
        let got = concatenate_unit_rows(c.view(), f.view());
        assert_eq!(
            got,
            array![[0.6, 0.8, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]]
        );
        let mut left = got.slice(s![.., ..2]).to_owned();
        unit_rows(&mut left);
        assert_eq!(left, got.slice(s![.., ..2]));
    }

    #[test]
    fn concatenation_neither_overflows_nor_hides_a_broken_row() {
        // 2¹⁰⁰ squared is beyond f32; the quotients are exact.
        let big = 2.0_f32.powi(100);
        let c = array![[3.0 * big, 4.0 * big], [f32::INFINITY, 1.0], [0.0, 0.0]];
        let f = array![[1.0e-30_f32, 0.0], [1.0, 0.0], [f32::NAN, 1.0]];
        let got = concatenate_unit_rows(c.view(), f.view());
        assert_eq!(got.row(0), array![0.6_f32, 0.8, 1.0, 0.0]);
        assert!(got.slice(s![1, ..2]).iter().all(|x| x.is_nan()));
        assert_eq!(got.slice(s![1, 2..]), array![1.0_f32, 0.0]);
        assert_eq!(got.slice(s![2, ..2]), array![0.0_f32, 0.0]);
        assert!(got.slice(s![2, 2..]).iter().all(|x| x.is_nan()));
    }

    #[test]
    fn gram_blocks_add_up() {
        let a = Array2::from_shape_fn((GRAM_BLOCK + 17, 3), |(i, j)| {
            ((i * 3 + j) % 7) as f32 - 3.0
        });
        let direct = a.mapv(f64::from).t().dot(&a.mapv(f64::from));
        assert_eq!(gram(a.view()), direct);
    }

    #[test]
    fn gram_factor_of_a_rank_deficient_matrix() {
        // Columns 0 and 1 equal, column 2 zero: rank 1.
        let a = array![[1.0_f64, 1.0, 0.0], [2.0, 2.0, 0.0], [-1.0, -1.0, 0.0]];
        let (whiten, factor) = gram_factor(&a.t().dot(&a));
        assert_eq!((whiten.dim(), factor.dim()), ((3, 1), (1, 3)));
        let q = a.dot(&whiten);
        assert!((q.t().dot(&q)[[0, 0]] - 1.0).abs() < 1e-15);
        let back = q.dot(&factor);
        assert!(
            back.iter().zip(&a).all(|(x, y)| (x - y).abs() < 1e-14),
            "{back}"
        );
    }

    #[test]
    fn non_finite_input_gives_nan_vectors() {
        let u = array![[1.0_f32, f32::NAN], [0.0, 1.0]];
        let v = array![[1.0_f32, 0.0], [0.0, 1.0]];
        let w = Array2::<f32>::eye(2);
        let r = score_read_out(u.view(), v.view(), w.view()).expect("shapes");
        assert!(r.focus.iter().all(|x| x.is_nan()));
        assert!(r.context.iter().all(|x| x.is_nan()));
    }
}
