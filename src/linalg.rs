//! Small dense linear algebra in `f64`: the symmetric eigendecomposition and the singular
//! value decomposition of matrices up to about `1 000×1 000` (the `M×M` matrices of a model),
//! by Jacobi rotations.
//!
//! Both routines scale the matrix by a power of two (exact) so that its largest entry is
//! in `[1, 2)`, rotate until a whole sweep over all pairs finds nothing to rotate, undo the
//! scaling and sort the results in descending order (a stable sort: equal values keep their
//! order, so the identity comes back as the identity).
//!
//! * [`symmetric_eigen`]: cyclic Jacobi (Golub & Van Loan, *Matrix Computations*, §8.5).
//!   The pair `(p, q)` is rotated unless `|a_pq| ≤ ε·√|a_pp·a_qq|`. Cost per sweep about
//!   `3 M³` flops; 6 to 10 sweeps.
//! * [`svd`]: one-sided (Hestenes) Jacobi on the columns: `A Q = B` is rotated until the
//!   columns of `B` are orthogonal (`|b_iᵀ b_j| ≤ ε·‖b_i‖·‖b_j‖` for every pair); then
//!   `σ_j = ‖b_j‖` and `p_j = b_j / σ_j`. It works on `A` itself, not on `AᵀA`, so the
//!   singular values carry errors of about `ε·σ_max` (not `ε·σ_max²/σ_min`) and condition
//!   numbers of `10⁴` and beyond cost no accuracy in the large ones. Cost per sweep about
//!   `4 m n² + 2 n³` flops for `m×n` (`m ≥ n`); 6 to 12 sweeps.
//!
//! Left singular vectors whose singular value is at most `max(m, n)·ε·σ_max` (numerically
//! zero, including the zero matrix) are not `b_j / σ_j` but completed to an orthonormal set
//! by Gram–Schmidt on the unit vectors, so `P` always has orthonormal columns. A matrix with
//! a NaN or infinite entry gives NaN results of the right shapes.
//!
//! Sweeps are capped at [`MAX_SWEEPS`]; finite input converges well before that.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, Zip, s};

use crate::error::{Error, Result};

/// Sweeps after which the rotations stop even if not converged (they never get there on
/// finite input; the cap only bounds the work on pathological input).
pub(crate) const MAX_SWEEPS: usize = 100;

const EPS: f64 = f64::EPSILON;

/// A thin singular value decomposition `A = P Σ Qᵀ` of an `m×n` matrix, `k = min(m, n)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Svd {
    /// `P`, `m×k`, orthonormal columns: the left singular vectors.
    pub left: Array2<f64>,
    /// `σ_1 ≥ σ_2 ≥ … ≥ σ_k ≥ 0`, length `k`.
    pub singular_values: Array1<f64>,
    /// `Q`, `n×k`, orthonormal columns: the right singular vectors.
    pub right: Array2<f64>,
}

impl Svd {
    /// `σ_max / σ_min`: `inf` when `σ_min = 0`, NaN when there are no singular values or a
    /// NaN among them.
    pub fn condition_number(&self) -> f64 {
        condition_number(self.singular_values.view())
    }
}

/// `σ_max / σ_min` of the given singular values: `inf` when the smallest is zero (also for
/// the zero matrix), NaN when there are none or one is NaN.
pub(crate) fn condition_number(singular_values: ArrayView1<'_, f64>) -> f64 {
    if singular_values.is_empty() || singular_values.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let max = singular_values.iter().fold(0.0_f64, |m, &x| m.max(x.abs()));
    let min = singular_values
        .iter()
        .fold(f64::INFINITY, |m, &x| m.min(x.abs()));
    if min == 0.0 { f64::INFINITY } else { max / min }
}

/// The eigendecomposition `A = E diag(λ) Eᵀ` of a symmetric matrix.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SymmetricEigen {
    /// `λ_1 ≥ λ_2 ≥ … ≥ λ_M`.
    pub values: Array1<f64>,
    /// `E`, `M×M`, orthonormal; column `i` belongs to `λ_i`.
    pub vectors: Array2<f64>,
}

/// The power of two `2^-e` with `max |a_ij| · 2^-e ∈ [1, 2)`, or 1 for a zero matrix.
/// Multiplying by it is exact (short of underflow), so scaling changes no digit.
fn power_of_two_scale(a: ArrayView2<'_, f64>) -> f64 {
    let max = a.iter().fold(0.0_f64, |m, &x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        return 1.0;
    }
    let exponent = max.log2().floor();
    // Clamp so that the scale itself neither overflows nor underflows.
    2.0_f64.powf(-exponent.clamp(-1000.0, 1000.0))
}

/// Indices `0..values.len()` ordered by descending value; equal values keep their order.
fn descending_order(values: &Array1<f64>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[j].total_cmp(&values[i]));
    order
}

/// Rows `i < j` of the row-major matrix `data` (rows of length `len`) become
/// `(c·r_i − s·r_j, s·r_i + c·r_j)`.
fn rotate_rows(data: &mut [f64], len: usize, i: usize, j: usize, c: f64, s: f64) {
    let (head, tail) = data.split_at_mut(j * len);
    let row_i = &mut head[i * len..(i + 1) * len];
    let row_j = &mut tail[..len];
    for (x, y) in row_i.iter_mut().zip(row_j.iter_mut()) {
        let (a, b) = (*x, *y);
        *x = c * a - s * b;
        *y = s * a + c * b;
    }
}

/// `r_iᵀ r_j` for rows of a row-major matrix with rows of length `len`.
fn row_dot(data: &[f64], len: usize, i: usize, j: usize) -> f64 {
    let row = |k: usize| ArrayView1::from(&data[k * len..(k + 1) * len]);
    row(i).dot(&row(j))
}

/// The tangent `t` of the Jacobi rotation that zeroes the off-diagonal entry of
/// `[[α, γ], [γ, β]]`: the smaller root of `t² + 2ζt − 1 = 0`, `ζ = (β − α) / 2γ`
/// (`|t| ≤ 1`, so the rotation angle is at most 45°).
fn jacobi_tangent(alpha: f64, beta: f64, gamma: f64) -> f64 {
    let zeta = (beta - alpha) / (2.0 * gamma);
    // signum(0) = 1: a 45° rotation, either sign would do.
    zeta.signum() / (zeta.abs() + zeta.hypot(1.0))
}

/// The eigendecomposition of the symmetric part `(A + Aᵀ)/2` of a square matrix, by cyclic
/// Jacobi; eigenvalues in descending order.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when `a` is not square.
pub(crate) fn symmetric_eigen(a: ArrayView2<'_, f64>) -> Result<SymmetricEigen> {
    let n = a.nrows();
    if a.ncols() != n {
        return Err(Error::ShapeMismatch {
            what: "symmetric matrix",
            expected: vec![n, n],
            found: a.shape().to_vec(),
        });
    }
    if a.iter().any(|x| !x.is_finite()) {
        return Ok(SymmetricEigen {
            values: Array1::from_elem(n, f64::NAN),
            vectors: Array2::from_elem((n, n), f64::NAN),
        });
    }
    let scale = power_of_two_scale(a);
    // Row-major n×n: the symmetric part of A, scaled.
    let mut m: Vec<f64> = (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            0.5 * (a[[i, j]] + a[[j, i]]) * scale
        })
        .collect();
    // Row i of `vectors_t` is eigenvector i.
    let mut vectors_t: Vec<f64> = (0..n * n)
        .map(|k| if k / n == k % n { 1.0 } else { 0.0 })
        .collect();
    let (mut row_p, mut row_q) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..MAX_SWEEPS {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let (app, aqq, apq) = (m[p * n + p], m[q * n + q], m[p * n + q]);
                if apq == 0.0 || apq.abs() <= EPS * app.abs().sqrt() * aqq.abs().sqrt() {
                    continue;
                }
                let t = jacobi_tangent(app, aqq, apq);
                let c = 1.0 / t.mul_add(t, 1.0).sqrt();
                let s = t * c;
                // M ← Jᵀ M J with J the rotation in the (p, q) plane. Outside the 2×2 block,
                // rows p and q of Jᵀ M J are those of Jᵀ M (J only mixes columns p and q)
                // and its columns p and q are their transposes (it is symmetric); the block
                // itself becomes diag(a_pp − t·a_pq, a_qq + t·a_pq).
                rotate_rows(&mut m, n, p, q, c, s);
                row_p.copy_from_slice(&m[p * n..(p + 1) * n]);
                row_q.copy_from_slice(&m[q * n..(q + 1) * n]);
                for ((row, &x), &y) in m.chunks_exact_mut(n).zip(&row_p).zip(&row_q) {
                    row[p] = x;
                    row[q] = y;
                }
                m[p * n + p] = app - t * apq;
                m[q * n + q] = aqq + t * apq;
                m[p * n + q] = 0.0;
                m[q * n + p] = 0.0;
                rotate_rows(&mut vectors_t, n, p, q, c, s);
                rotated = true;
            }
        }
        if !rotated {
            break;
        }
    }
    let diagonal: Array1<f64> = (0..n).map(|i| m[i * n + i] / scale).collect();
    let order = descending_order(&diagonal);
    let values = order.iter().map(|&i| diagonal[i]).collect();
    let vectors = Array2::from_shape_fn((n, n), |(k, i)| vectors_t[order[i] * n + k]);
    Ok(SymmetricEigen { values, vectors })
}

/// The thin singular value decomposition of any `m×n` matrix (including empty ones), by
/// one-sided Jacobi; singular values in descending order.
pub(crate) fn svd(a: ArrayView2<'_, f64>) -> Svd {
    if a.nrows() >= a.ncols() {
        tall_svd(a)
    } else {
        let Svd {
            left,
            singular_values,
            right,
        } = tall_svd(a.t());
        Svd {
            left: right,
            singular_values,
            right: left,
        }
    }
}

/// [`svd`] for `m ≥ n`.
fn tall_svd(a: ArrayView2<'_, f64>) -> Svd {
    let (m, n) = a.dim();
    if a.iter().any(|x| !x.is_finite()) {
        return Svd {
            left: Array2::from_elem((m, n), f64::NAN),
            singular_values: Array1::from_elem(n, f64::NAN),
            right: Array2::from_elem((n, n), f64::NAN),
        };
    }
    let scale = power_of_two_scale(a);
    // Row-major: row j of `columns` is column j of B = A Q (scaled), row j of `right_t` is
    // column j of Q.
    let mut columns: Vec<f64> = (0..n * m).map(|k| a[[k % m, k / m]] * scale).collect();
    let mut right_t: Vec<f64> = (0..n * n)
        .map(|k| if k / n == k % n { 1.0 } else { 0.0 })
        .collect();
    // ‖b_j‖², computed afresh at the start of every sweep and updated through each rotation
    // (α' = α − tγ, β' = β + tγ), so a pair costs one dot product.
    let mut squares = vec![0.0; n];
    for _ in 0..MAX_SWEEPS {
        for (j, square) in squares.iter_mut().enumerate() {
            *square = row_dot(&columns, m, j, j);
        }
        let mut rotated = false;
        for i in 0..n {
            for j in i + 1..n {
                let gamma = row_dot(&columns, m, i, j);
                let (alpha, beta) = (squares[i], squares[j]);
                if gamma == 0.0 || gamma.abs() <= EPS * alpha.sqrt() * beta.sqrt() {
                    continue;
                }
                let t = jacobi_tangent(alpha, beta, gamma);
                let c = 1.0 / t.mul_add(t, 1.0).sqrt();
                let s = t * c;
                rotate_rows(&mut columns, m, i, j, c, s);
                rotate_rows(&mut right_t, n, i, j, c, s);
                squares[i] = (alpha - t * gamma).max(0.0);
                squares[j] = (beta + t * gamma).max(0.0);
                rotated = true;
            }
        }
        if !rotated {
            break;
        }
    }
    let norms: Array1<f64> = (0..n).map(|j| row_dot(&columns, m, j, j).sqrt()).collect();
    let order = descending_order(&norms);
    let singular_values: Array1<f64> = order.iter().map(|&j| norms[j] / scale).collect();
    let right = Array2::from_shape_fn((n, n), |(k, j)| right_t[order[j] * n + k]);
    let largest = order.first().map_or(0.0, |&j| norms[j]);
    let zero_below = largest * m.max(n) as f64 * EPS;
    let mut left = Array2::<f64>::zeros((m, n));
    let mut n_done = 0;
    for (position, &j) in order.iter().enumerate() {
        if norms[j] > zero_below {
            let b_j = ArrayView1::from(&columns[j * m..(j + 1) * m]);
            left.column_mut(position)
                .assign(&b_j.mapv(|x| x / norms[j]));
            n_done += 1;
        } else {
            break;
        }
    }
    complete_orthonormal(&mut left, n_done);
    Svd {
        left,
        singular_values,
        right,
    }
}

/// Fills columns `done..` of `q` (whose first `done` columns are orthonormal) with further
/// orthonormal columns: each is the unit vector `e_k` least covered by the columns so far
/// (smallest `Σ q_ki²`, so its residual has squared norm at least `1 − done/m`), projected
/// off them twice (classical Gram–Schmidt with one reorthogonalisation) and normalised.
fn complete_orthonormal(q: &mut Array2<f64>, done: usize) {
    let (m, k) = q.dim();
    // covered[i] = Σ_j q_ij² over the finished columns.
    let mut covered: Array1<f64> = q
        .slice(s![.., ..done])
        .axis_iter(Axis(0))
        .map(|row| row.dot(&row))
        .collect();
    for col in done..k {
        let pick = (0..m)
            .min_by(|&i, &j| covered[i].total_cmp(&covered[j]))
            .unwrap_or(0);
        let mut v = Array1::<f64>::zeros(m);
        v[pick] = 1.0;
        for _ in 0..2 {
            let finished = q.slice(s![.., ..col]);
            let coefficients = finished.t().dot(&v);
            v -= &finished.dot(&coefficients);
        }
        let norm = v.dot(&v).sqrt();
        v.mapv_inplace(|x| x / norm);
        Zip::from(&mut covered)
            .and(&v)
            .for_each(|c, &x| *c += x * x);
        q.column_mut(col).assign(&v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use proptest::prelude::*;

    /// `max |x|` over a matrix.
    fn max_abs(a: &Array2<f64>) -> f64 {
        a.iter().fold(0.0, |m, x| m.max(x.abs()))
    }

    /// `max |XᵀX − I|`.
    fn orthogonality_error(x: &Array2<f64>) -> f64 {
        max_abs(&(x.t().dot(x) - Array2::<f64>::eye(x.ncols())))
    }

    fn reconstruct(svd: &Svd) -> Array2<f64> {
        (&svd.left * &svd.singular_values).dot(&svd.right.t())
    }

    /// Every property an SVD of `a` must have, with tolerances `c·max(m, n)·ε` relative to
    /// `σ_max` for the reconstruction and absolute for orthogonality.
    fn check_svd(a: &Array2<f64>, svd: &Svd) -> std::result::Result<(), TestCaseError> {
        let (m, n) = a.dim();
        let k = m.min(n);
        prop_assert_eq!(svd.left.dim(), (m, k));
        prop_assert_eq!(svd.singular_values.len(), k);
        prop_assert_eq!(svd.right.dim(), (n, k));
        let size = m.max(n) as f64;
        let sigma_max = svd.singular_values.first().copied().unwrap_or(0.0);
        let residual = max_abs(&(a - &reconstruct(svd)));
        prop_assert!(
            residual <= 20.0 * size * EPS * sigma_max.max(f64::MIN_POSITIVE),
            "reconstruction error {residual:e}, σ_max {sigma_max:e}"
        );
        let left_error = orthogonality_error(&svd.left);
        let right_error = orthogonality_error(&svd.right);
        prop_assert!(left_error <= 20.0 * size * EPS, "PᵀP − I: {left_error:e}");
        prop_assert!(right_error <= 20.0 * size * EPS, "QᵀQ − I: {right_error:e}");
        for pair in svd.singular_values.windows(2) {
            prop_assert!(pair[0] >= pair[1], "not sorted: {}", svd.singular_values);
        }
        prop_assert!(svd.singular_values.iter().all(|&x| x >= 0.0));
        Ok(())
    }

    fn check_eigen(
        a: &Array2<f64>,
        eigen: &SymmetricEigen,
    ) -> std::result::Result<(), TestCaseError> {
        let n = a.nrows();
        prop_assert_eq!(eigen.values.len(), n);
        prop_assert_eq!(eigen.vectors.dim(), (n, n));
        let size = n.max(1) as f64;
        let norm = max_abs(a).max(f64::MIN_POSITIVE);
        let back = (&eigen.vectors * &eigen.values).dot(&eigen.vectors.t());
        let residual = max_abs(&(a - &back));
        prop_assert!(
            residual <= 20.0 * size * EPS * norm,
            "reconstruction error {residual:e}"
        );
        let error = orthogonality_error(&eigen.vectors);
        prop_assert!(error <= 20.0 * size * EPS, "EᵀE − I: {error:e}");
        for pair in eigen.values.windows(2) {
            prop_assert!(pair[0] >= pair[1], "not sorted: {}", eigen.values);
        }
        Ok(())
    }

    /// An `m×k` matrix with orthonormal columns, from Gram–Schmidt (twice) on `raw`.
    fn orthonormal_columns(raw: &Array2<f64>) -> Array2<f64> {
        let mut q = raw.clone();
        for j in 0..q.ncols() {
            let mut v = q.column(j).to_owned();
            for _ in 0..2 {
                for i in 0..j {
                    let qi = q.column(i).to_owned();
                    let coefficient = qi.dot(&v);
                    v.scaled_add(-coefficient, &qi);
                }
            }
            let norm = v.dot(&v).sqrt();
            q.column_mut(j).assign(&(v / norm));
        }
        q
    }

    /// `m×n` entries uniform in `[-1, 1]`.
    fn matrix(m: usize, n: usize) -> impl Strategy<Value = Array2<f64>> {
        proptest::collection::vec(-1.0..=1.0_f64, m * n)
            .prop_map(move |v| Array2::from_shape_vec((m, n), v).expect("m·n entries"))
    }

    #[test]
    fn known_singular_values() {
        let cases: Vec<(Array2<f64>, Vec<f64>)> = vec![
            (array![[3.0, 0.0], [0.0, -2.0]], vec![3.0, 2.0]),
            (array![[0.0, 1.0], [0.0, 0.0]], vec![1.0, 0.0]),
            (array![[-5.0]], vec![5.0]),
            (array![[1.0, 1.0], [1.0, 1.0]], vec![2.0, 0.0]),
            (array![[3.0, 4.0]], vec![5.0]),
            (array![[3.0], [4.0]], vec![5.0]),
            // [[1, 1], [0, 1]]: σ² = (3 ± √5)/2, σ = golden ratio φ and 1/φ.
            (
                array![[1.0, 1.0], [0.0, 1.0]],
                vec![1.618_033_988_749_895, 0.618_033_988_749_895],
            ),
            // Rows (1, 0, 1), (0, 1, 0): orthogonal rows of lengths √2 and 1.
            (
                array![[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]],
                vec![2f64.sqrt(), 1.0],
            ),
            (Array2::zeros((3, 3)), vec![0.0, 0.0, 0.0]),
        ];
        for (a, expected) in cases {
            let svd = svd(a.view());
            check_svd(&a, &svd).expect("a valid SVD");
            for (got, want) in svd.singular_values.iter().zip(&expected) {
                assert!(
                    (got - want).abs() <= 4.0 * EPS * want.max(1.0),
                    "{a}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn identity_and_diagonal_come_back_exactly() {
        let svd = svd(Array2::<f64>::eye(5).view());
        assert_eq!(svd.left, Array2::<f64>::eye(5));
        assert_eq!(svd.right, Array2::<f64>::eye(5));
        assert_eq!(svd.singular_values, Array1::<f64>::ones(5));
        let d = array![[0.5, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, -2.0]];
        let svd = super::svd(d.view());
        assert_eq!(svd.singular_values, array![4.0, 2.0, 0.5]);
        assert_eq!(reconstruct(&svd), d);
    }

    #[test]
    fn empty_and_non_finite_matrices() {
        for (m, n) in [(0, 0), (0, 3), (3, 0)] {
            let svd = svd(Array2::<f64>::zeros((m, n)).view());
            let k = m.min(n);
            assert_eq!(svd.left.dim(), (m, k));
            assert_eq!(svd.right.dim(), (n, k));
            assert!(svd.singular_values.is_empty());
            assert!(svd.condition_number().is_nan());
        }
        let svd = svd(array![[1.0, f64::NAN], [0.0, 1.0]].view());
        assert!(svd.singular_values.iter().all(|x| x.is_nan()));
        assert!(svd.condition_number().is_nan());
        let eigen = symmetric_eigen(array![[f64::INFINITY]].view()).expect("square");
        assert!(eigen.values[0].is_nan());
    }

    #[test]
    fn condition_numbers() {
        let svd = svd(array![[4.4, 0.0], [0.0, 0.012]].view());
        assert!((svd.condition_number() - 4.4 / 0.012).abs() < 1e-9);
        assert_eq!(
            super::svd(array![[1.0, 2.0], [2.0, 4.0]].view()).condition_number(),
            f64::INFINITY
        );
        assert_eq!(
            super::svd(Array2::<f64>::zeros((2, 2)).view()).condition_number(),
            f64::INFINITY
        );
        assert_eq!(
            super::svd(Array2::<f64>::eye(3).view()).condition_number(),
            1.0
        );
    }

    #[test]
    fn rank_deficient_left_vectors_are_completed() {
        // Rank 1: every column a multiple of (1, 2, 2).
        let a = array![[1.0, 2.0, -1.0], [2.0, 4.0, -2.0], [2.0, 4.0, -2.0]];
        let svd = svd(a.view());
        check_svd(&a, &svd).expect("a valid SVD");
        assert!((svd.singular_values[0] - 3.0 * 6f64.sqrt()).abs() < 1e-14);
        assert!(svd.singular_values[1] < 1e-15 && svd.singular_values[2] < 1e-15);
        // The zero matrix: P and Q are orthonormal all the same.
        let zero = Array2::<f64>::zeros((4, 3));
        check_svd(&zero, &super::svd(zero.view())).expect("a valid SVD");
    }

    #[test]
    fn known_eigenvalues() {
        let cases: Vec<(Array2<f64>, Vec<f64>)> = vec![
            (array![[2.0, 1.0], [1.0, 2.0]], vec![3.0, 1.0]),
            (array![[0.0, 1.0], [1.0, 0.0]], vec![1.0, -1.0]),
            (array![[-3.0]], vec![-3.0]),
            (Array2::eye(4), vec![1.0; 4]),
            (Array2::zeros((3, 3)), vec![0.0; 3]),
            // The Gram matrix of rows (1, 1, 0), (1, 1, 0): rank 1, eigenvalues 4, 0, 0.
            (
                array![[2.0, 2.0, 0.0], [2.0, 2.0, 0.0], [0.0, 0.0, 0.0]],
                vec![4.0, 0.0, 0.0],
            ),
        ];
        for (a, expected) in cases {
            let eigen = symmetric_eigen(a.view()).expect("square");
            check_eigen(&a, &eigen).expect("a valid eigendecomposition");
            for (got, want) in eigen.values.iter().zip(&expected) {
                assert!(
                    (got - want).abs() <= 8.0 * EPS * want.abs().max(1.0),
                    "{a}: {got} vs {want}"
                );
            }
        }
        assert_eq!(
            symmetric_eigen(Array2::<f64>::eye(3).view())
                .expect("square")
                .vectors,
            Array2::<f64>::eye(3)
        );
        assert!(matches!(
            symmetric_eigen(Array2::<f64>::zeros((2, 3)).view()),
            Err(Error::ShapeMismatch {
                what: "symmetric matrix",
                ..
            })
        ));
        let empty = symmetric_eigen(Array2::<f64>::zeros((0, 0)).view()).expect("square");
        assert!(empty.values.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Random matrices of every shape up to 12×12, at scales from 1e-150 to 1e150.
        #[test]
        fn svd_of_random_matrices(
            a in (1usize..=12, 1usize..=12).prop_flat_map(|(m, n)| matrix(m, n)),
            exponent in prop_oneof![Just(0), -150..=150_i32],
        ) {
            let a = a * 10f64.powi(exponent);
            check_svd(&a, &svd(a.view()))?;
        }

        /// Rank-deficient matrices `X Yᵀ` of rank `r < min(m, n)`.
        #[test]
        fn svd_of_rank_deficient_matrices(
            (x, y) in (1usize..=10, 1usize..=10, 0usize..=4).prop_flat_map(|(m, n, r)| {
                let r = r.min(m.min(n).saturating_sub(1));
                (matrix(m, r), matrix(n, r))
            }),
        ) {
            let a = x.dot(&y.t());
            let svd = svd(a.view());
            check_svd(&a, &svd)?;
            let r = x.ncols();
            let sigma_max = svd.singular_values.first().copied().unwrap_or(0.0);
            for &sigma in svd.singular_values.iter().skip(r) {
                prop_assert!(sigma <= 50.0 * EPS * sigma_max.max(f64::MIN_POSITIVE), "{}", svd.singular_values);
            }
        }

        /// `A = X diag(σ) Yᵀ` with `σ_i` spread geometrically from 1 down to `10^-k`,
        /// `k ≤ 12`: the computed singular values are within `c·n·ε·σ_max` of the true ones
        /// (so those near `1e-4` keep about 11 digits).
        #[test]
        fn svd_of_ill_conditioned_matrices(
            (raw_x, raw_y, decades) in (1usize..=12).prop_flat_map(|n| (matrix(n, n), matrix(n, n), 0.0..=12.0_f64)),
        ) {
            let n = raw_x.nrows();
            let (x, y) = (orthonormal_columns(&raw_x), orthonormal_columns(&raw_y));
            prop_assume!(orthogonality_error(&x) < 1e-12 && orthogonality_error(&y) < 1e-12);
            let sigma = Array1::from_shape_fn(n, |i| {
                10f64.powf(-decades * i as f64 / (n.max(2) - 1) as f64)
            });
            let a = (&x * &sigma).dot(&y.t());
            let svd = svd(a.view());
            check_svd(&a, &svd)?;
            for (got, want) in svd.singular_values.iter().zip(&sigma) {
                prop_assert!((got - want).abs() <= 50.0 * n as f64 * EPS, "{got:e} vs {want:e}");
            }
            let expected = sigma[0] / sigma[n - 1];
            let kappa = svd.condition_number();
            if decades <= 8.0 {
                prop_assert!((kappa - expected).abs() <= 1e-6 * expected, "κ {kappa:e} vs {expected:e}");
            }
        }

        /// Symmetric matrices of sizes up to 12 and their Gram matrices (positive
        /// semidefinite, possibly rank deficient).
        #[test]
        fn eigen_of_random_symmetric_matrices(
            (a, b) in (1usize..=12, 1usize..=12).prop_flat_map(|(n, k)| (matrix(n, n), matrix(k, n))),
        ) {
            let symmetric = &a + &a.t();
            check_eigen(&symmetric, &symmetric_eigen(symmetric.view()).expect("square"))?;
            let gram = b.t().dot(&b);
            let eigen = symmetric_eigen(gram.view()).expect("square");
            check_eigen(&gram, &eigen)?;
            // The eigenvalues of BᵀB are the squared singular values of B.
            let sigma = svd(b.view()).singular_values;
            for i in 0..gram.nrows() {
                let want = sigma.get(i).map_or(0.0, |s| s * s);
                prop_assert!((eigen.values[i] - want).abs() <= 100.0 * EPS * eigen.values[0].max(1.0));
            }
        }
    }
}
