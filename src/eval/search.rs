//! The similarity search that [`UnitVectors`](super::UnitVectors),
//! [`AnalogySearch`](super::AnalogySearch) and [`Embeddings`](crate::Embeddings) share: one
//! rule for unit rows, and one definition of the 3CosAdd and 3CosMul scores of a query made
//! of positive and negative words.

use ndarray::linalg::{general_mat_mul, general_mat_vec_mul};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Zip, s};

use super::analogy::{AnalogyMethod, COSMUL_EPSILON};
use crate::error::{Error, Result};
use crate::loss::Real;

/// Candidates scored per matrix product by [`query_scores`] under 3CosMul: the query
/// words × candidates block stays small, whatever the vocabulary size.
const SCORE_BLOCK: usize = 4096;

/// The candidates of a search restricted to the `restrict` most frequent of `n_rows`
/// words: all of them when there are fewer.
///
/// # Errors
///
/// [`Error::InvalidArgument`] when `restrict` is 0: such a search has no candidate.
pub(crate) fn restricted_rows(restrict: usize, n_rows: usize) -> Result<usize> {
    if restrict == 0 {
        return Err(Error::InvalidArgument {
            what: "restrict",
            message: "a search over the 0 most frequent words has no candidate".to_owned(),
        });
    }
    Ok(restrict.min(n_rows))
}

/// Scales every row of `rows` to unit length in place and returns the rows' original
/// lengths.
///
/// Lengths are computed in `f64` and each value is divided in `f64` and rounded once, so a
/// unit row is the correctly rounded `x / ‖x‖` and no finite row of `f32` overflows (nor
/// one of `f64` whose values stay below 10¹⁵⁰). A zero row stays zero (length 0). A row
/// holding a NaN or an infinity has no direction: it becomes all NaN (length NaN or
/// infinity), so that its cosines are NaN and searches, which skip NaN scores, never return
/// it and are not disturbed by it.
pub(crate) fn normalize_rows<T: Real>(mut rows: ArrayViewMut2<'_, T>) -> Array1<T> {
    let wide = |x: T| x.to_f64().unwrap_or(f64::NAN);
    let narrow = |x: f64| T::from(x).unwrap_or_else(T::nan);
    let mut norms = Array1::zeros(rows.nrows());
    for (mut row, norm_out) in rows.rows_mut().into_iter().zip(norms.iter_mut()) {
        let norm = row.iter().map(|&x| wide(x) * wide(x)).sum::<f64>().sqrt();
        *norm_out = narrow(norm);
        if !norm.is_finite() {
            row.fill(T::nan());
        } else if norm > 0.0 {
            row.mapv_inplace(|x| narrow(wide(x) / norm));
        }
    }
    norms
}

/// The length of a 3CosAdd query vector (`b − a + c`) if it has a direction: `None` when
/// it is 0 (zero rows) or not finite, and then no candidate is an answer.
pub(crate) fn direction_length(query: ArrayView1<'_, f32>) -> Option<f32> {
    let norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 0.0 && norm.is_finite()).then_some(norm)
}

/// The score of every candidate (a row of `candidates`, unit length) for the query "like
/// the `positive` vectors and unlike the `negative` ones" (unit length too):
///
/// - [`AnalogyMethod::CosAdd`]: the cosine of the candidate with `Σ positive − Σ negative`
///   (for a : b :: c : ?, positive `[b, c]` and negative `[a]`, the cosine with
///   `b − a + c`). A query vector of length 0 (or not finite) has no direction: every
///   score is NaN.
/// - [`AnalogyMethod::CosMul`]: `Π_p cos′(d, p) / (Π_n cos′(d, n) + ε)` with
///   `cos′ = (cos + 1) / 2` and `ε` = [`COSMUL_EPSILON`] (an empty product is 1), which
///   for a : b :: c : ? is Levy and Goldberg's `cos′(d, b) cos′(d, c) / (cos′(d, a) + ε)`.
///
/// Only the score vector grows with the number of candidates: 3CosAdd is one
/// matrix–vector product, 3CosMul one small matrix product per block of candidates.
pub(crate) fn query_scores(
    candidates: ArrayView2<'_, f32>,
    positive: &[ArrayView1<'_, f32>],
    negative: &[ArrayView1<'_, f32>],
    method: AnalogyMethod,
) -> Array1<f32> {
    let n = candidates.nrows();
    let mut scores = Array1::<f32>::zeros(n);
    match method {
        AnalogyMethod::CosAdd => {
            // b − a + c in this order: the first positive, minus the negatives, plus the
            // other positives.
            let mut query = Array1::<f32>::zeros(candidates.ncols());
            let (first, rest) = positive
                .split_first()
                .map_or((None, &[][..]), |(f, r)| (Some(f), r));
            if let Some(first) = first {
                query.assign(first);
            }
            for v in negative {
                query -= v;
            }
            for v in rest {
                query += v;
            }
            let Some(norm) = direction_length(query.view()) else {
                scores.fill(f32::NAN);
                return scores;
            };
            general_mat_vec_mul(1.0, &candidates, &query, 0.0, &mut scores);
            scores.mapv_inplace(|x| x / norm);
        }
        AnalogyMethod::CosMul => {
            let n_positive = positive.len();
            let words: Vec<ArrayView1<'_, f32>> =
                positive.iter().chain(negative).map(|v| v.view()).collect();
            let queries = ndarray::stack(ndarray::Axis(0), &words)
                .unwrap_or_else(|_| Array2::zeros((0, candidates.ncols())));
            let width = SCORE_BLOCK.min(n).max(1);
            let mut sims = Array2::<f32>::zeros((queries.nrows(), width));
            for start in (0..n).step_by(width) {
                let end = (start + width).min(n);
                let mut block_sims = sims.slice_mut(s![.., ..end - start]);
                general_mat_mul(
                    1.0,
                    &queries,
                    &candidates.slice(s![start..end, ..]).t(),
                    0.0,
                    &mut block_sims,
                );
                let block_scores = scores.slice_mut(s![start..end]);
                Zip::from(block_sims.columns())
                    .and(block_scores)
                    .for_each(|cosines, score| {
                        let shifted = |cos: f32| (cos + 1.0) * 0.5;
                        let numerator = cosines
                            .iter()
                            .take(n_positive)
                            .fold(1.0_f32, |p, &cos| p * shifted(cos));
                        let denominator = cosines
                            .iter()
                            .skip(n_positive)
                            .fold(1.0_f32, |p, &cos| p * shifted(cos));
                        *score = numerator / (denominator + COSMUL_EPSILON);
                    });
            }
        }
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn rows_become_unit_and_keep_their_lengths() {
        let mut rows = array![
            [3.0_f32, 4.0],
            [0.0, 0.0],
            [f32::NAN, 1.0],
            [f32::INFINITY, 0.0],
            [3e38, 3e38],
            [-0.0, 0.0]
        ];
        let norms = normalize_rows(rows.view_mut());
        assert_eq!(rows.row(0), array![0.6_f32, 0.8]);
        assert_eq!(norms[0], 5.0);
        assert_eq!((norms[1], rows.row(1).to_vec()), (0.0, vec![0.0, 0.0]));
        assert!(norms[2].is_nan() && rows.row(2).iter().all(|x| x.is_nan()));
        assert!(norms[3].is_infinite() && rows.row(3).iter().all(|x| x.is_nan()));
        // 3e38² overflows f32 but not f64: the row is still a direction.
        let half = std::f32::consts::FRAC_1_SQRT_2;
        assert!(
            rows.row(4).iter().all(|&x| (x - half).abs() < 1e-7),
            "{rows}"
        );
        assert!(norms[4].is_infinite());
        assert!(rows[[5, 0]].is_sign_negative());
    }

    #[test]
    fn scores_match_the_plain_formulas() {
        let mut candidates = array![
            [1.0_f32, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [1.0, 0.0, 1.0],
            [0.0, 1.0, 1.0],
            [1.0, 1.0, -1.0],
            [-2.0, 0.5, 0.3]
        ];
        normalize_rows(candidates.view_mut());
        let [a, b, c] = [0, 2, 1].map(|i| candidates.row(i));
        let cos = |d: usize, v: ArrayView1<'_, f32>| candidates.row(d).dot(&v);
        let add = query_scores(candidates.view(), &[b, c], &[a], AnalogyMethod::CosAdd);
        let query = &b - &a + c;
        let query_norm = query.dot(&query).sqrt();
        let mul = query_scores(candidates.view(), &[b, c], &[a], AnalogyMethod::CosMul);
        for d in 0..candidates.nrows() {
            let expected = candidates.row(d).dot(&query) / query_norm;
            assert!(
                (add[d] - expected).abs() < 1e-6,
                "{d}: {} vs {expected}",
                add[d]
            );
            let shifted = |x: f32| (x + 1.0) / 2.0;
            let expected =
                shifted(cos(d, b)) * shifted(cos(d, c)) / (shifted(cos(d, a)) + COSMUL_EPSILON);
            assert!(
                (mul[d] - expected).abs() < 1e-5,
                "{d}: {} vs {expected}",
                mul[d]
            );
        }
        // One positive word and no negative: 3CosAdd is the plain cosine, 3CosMul a
        // monotone function of it.
        let plain = query_scores(candidates.view(), &[b], &[], AnalogyMethod::CosAdd);
        let shifted = query_scores(candidates.view(), &[b], &[], AnalogyMethod::CosMul);
        for d in 0..candidates.nrows() {
            assert!((plain[d] - cos(d, b)).abs() < 1e-6);
            let expected = (cos(d, b) + 1.0) / 2.0 / (1.0 + COSMUL_EPSILON);
            assert!((shifted[d] - expected).abs() < 1e-6);
        }
        // b − b has no direction.
        let none = query_scores(candidates.view(), &[b], &[b], AnalogyMethod::CosAdd);
        assert!(none.iter().all(|x| x.is_nan()));
    }

    #[test]
    fn cos_mul_blocks_give_the_unblocked_scores() {
        // More candidates than one block, the last block narrower.
        let n = SCORE_BLOCK * 2 + 17;
        let mut candidates =
            Array2::from_shape_fn((n, 4), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
        normalize_rows(candidates.view_mut());
        let [a, b, c] = [3, 100, SCORE_BLOCK + 5].map(|i| candidates.row(i));
        let scores = query_scores(candidates.view(), &[b, c], &[a], AnalogyMethod::CosMul);
        for d in [0, SCORE_BLOCK - 1, SCORE_BLOCK, n - 1] {
            let row = candidates.row(d);
            let shifted = |v: ArrayView1<'_, f32>| (row.dot(&v) + 1.0) * 0.5;
            let expected = shifted(b) * shifted(c) / (shifted(a) + COSMUL_EPSILON);
            assert!((scores[d] - expected).abs() < 1e-5, "{d}");
        }
    }
}
