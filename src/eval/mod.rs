//! Evaluating word vectors: nearest neighbours, word similarity and analogies.
//!
//! - [`UnitVectors`] and [`top_k`]: nearest neighbours by cosine similarity.
//! - [`SimilarityDataset`]: `word1<TAB>word2<TAB>score` files (MEN, SimVerb-3500, Rare
//!   Words, …), scored by Spearman's ρ ([`spearman`], ties given average ranks) between
//!   the gold scores and the cosines, with the pairs not in the vocabulary counted.
//! - [`AnalogySearch`]: a : b :: c : ? by 3CosAdd or 3CosMul ([`AnalogyMethod`]) over the
//!   most frequent words, many questions per matrix product.
//! - [`AnalogyDataset`] (Google `questions-words`, MSR) and [`BatsDataset`] (BATS, asked
//!   pairwise), reported per section or relation as [`AnalogyReport`]s.
//! - [`Anisotropy`], [`Displacement`] and [`ScoreMoments`]: whether vectors share one
//!   direction (a collapse), how far they moved from where they started, and whether the
//!   model scores every pair alike.
//!
//! Words from evaluation files are looked up with [`find_word`]: the crate's one lookup rule
//! ([`Vocab::id`](crate::Vocab::id): as written, then lowercased as the corpus reader
//! lowercases its text). Readers take a [`MalformedPolicy`]: stop at the first
//! malformed line with an error naming file, line and bad text, or skip and count.
//!
//! ```no_run
//! use std::path::Path;
//! use bilinear_skipgram::{
//!     eval::AnalogyDataset, AnalogyMethod, eval::AnalogySearch, eval::DEFAULT_RESTRICT, eval::MalformedPolicy,
//!     OovPolicy, eval::SimilarityDataset, VectorKind, load_model,
//! };
//!
//! let (model, vocab) = load_model(Path::new("embeddings"), OovPolicy::Drop)?;
//! let vectors = model.word_vectors(VectorKind::Focus);
//! let men = SimilarityDataset::read(Path::new("men3k.tsv"), MalformedPolicy::Strict)?;
//! let report = men.evaluate(vectors.view(), &vocab)?;
//! println!("MEN ρ = {:?} on {}/{} pairs", report.spearman, report.n_found, report.n_pairs);
//!
//! let search = AnalogySearch::new(vectors.view(), &vocab, DEFAULT_RESTRICT)?;
//! let msr = AnalogyDataset::read(Path::new("msr_analogy.txt"), MalformedPolicy::Strict)?;
//! for report in msr.evaluate(&search, &AnalogyMethod::ALL) {
//!     let total = report.total();
//!     println!("{}: {:?} on {}/{}", report.method.name(), total.accuracy(), total.n_covered, total.n_questions);
//! }
//! # Ok::<(), bilinear_skipgram::Error>(())
//! ```

mod analogy;
mod bats;
mod geometry;
mod lines;
pub(crate) mod search;
mod similarity;

pub use analogy::{
    AnalogyDataset, AnalogyMethod, AnalogyQuestion, AnalogyReport, AnalogySearch, AnalogySection,
    COSMUL_EPSILON, DEFAULT_RESTRICT, SectionScore,
};
pub use bats::{BatsDataset, BatsRelation, BatsRow};
pub use geometry::{Anisotropy, Displacement, ScoreMoments};
pub(crate) use lines::special_ids;
pub use lines::{MalformedPolicy, find_word};
pub use similarity::{
    SimilarityDataset, SimilarityPair, SimilarityReport, average_ranks, spearman,
};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::error::{Error, Result};

/// The number of rows of `vectors` that hold a NaN or an infinity: words of a diverged or
/// damaged model, whose similarities cannot be ranked. Readers accept such vectors (they
/// may have been written that way); evaluations leave them out and count them.
///
/// ```
/// use bilinear_skipgram::eval::count_non_finite_rows;
/// use ndarray::array;
///
/// assert_eq!(count_non_finite_rows(array![[1.0_f32, 0.0], [f32::NAN, 1.0], [f32::INFINITY, 0.0]].view()), 2);
/// ```
pub fn count_non_finite_rows(vectors: ArrayView2<'_, f32>) -> usize {
    vectors
        .rows()
        .into_iter()
        .filter(|row| !row.iter().all(|x| x.is_finite()))
        .count()
}

/// Word vectors scaled to unit length, for cosine queries. Zero rows stay zero; a row
/// holding a NaN or an infinity becomes all NaN, so it is never a neighbour. (The same
/// rows as [`Embeddings::unit_vectors`](crate::Embeddings::unit_vectors), which also keeps
/// the words and the lengths.)
#[derive(Debug, Clone, PartialEq)]
pub struct UnitVectors {
    rows: Array2<f32>,
}

impl UnitVectors {
    /// Normalises every row of a copy of `vectors` (lengths computed in `f64`).
    pub fn new(vectors: ArrayView2<'_, f32>) -> Self {
        let mut rows = vectors.to_owned();
        search::normalize_rows(rows.view_mut());
        UnitVectors { rows }
    }

    /// The normalised rows.
    pub fn view(&self) -> ArrayView2<'_, f32> {
        self.rows.view()
    }

    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.rows.nrows()
    }

    /// Whether there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.rows.nrows() == 0
    }

    /// Cosine similarity of every row with `query` (which need not be normalised): one
    /// matrix–vector product.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when `query` does not have the vectors' dimension.
    pub fn similarities(&self, query: ArrayView1<'_, f32>) -> Result<Array1<f32>> {
        if query.len() != self.rows.ncols() {
            return Err(Error::ShapeMismatch {
                what: "query vector",
                expected: vec![self.rows.ncols()],
                found: vec![query.len()],
            });
        }
        // The rows' own rule (lengths in f64, so that no finite query overflows or
        // underflows its length; a zero query stays zero).
        let mut unit = query.to_owned().insert_axis(Axis(0));
        search::normalize_rows(unit.view_mut());
        Ok(self.rows.dot(&unit.row(0)))
    }

    /// The `k` rows most similar to row `index`, the row itself excluded, best first, as
    /// `(row, cosine)`.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`] when `index` is not a row.
    ///
    /// # Example
    ///
    /// ```
    /// use bilinear_skipgram::eval::UnitVectors;
    /// use ndarray::array;
    ///
    /// let vectors = UnitVectors::new(array![[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]].view());
    /// let nearest = vectors.nearest(0, 2)?;
    /// assert_eq!(nearest.iter().map(|&(i, _)| i).collect::<Vec<_>>(), vec![1, 2]);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn nearest(&self, index: usize, k: usize) -> Result<Vec<(usize, f32)>> {
        if index >= self.len() {
            return Err(Error::IndexOutOfRange {
                what: "word vector",
                index,
                len: self.len(),
            });
        }
        let sims = self.rows.dot(&self.rows.row(index));
        Ok(top_k(sims.view(), k, &[index]))
    }
}

/// The `k` largest entries of `scores` (NaN entries and `exclude`d indices skipped), best
/// first; ties go to the smaller index.
///
/// A small `k` keeps the best `k` while scanning; a large one (more than 64, when asking
/// for much of the vocabulary) selects and sorts instead, so the cost stays
/// `O(n + k log k)` whatever `k` is.
pub fn top_k(scores: ArrayView1<'_, f32>, k: usize, exclude: &[usize]) -> Vec<(usize, f32)> {
    let keep = |&(i, s): &(usize, f32)| !s.is_nan() && !exclude.contains(&i);
    if k > 64 {
        let mut all: Vec<(usize, f32)> = scores.iter().copied().enumerate().filter(keep).collect();
        // NaN is filtered out; -0 and +0 are equal, as in the scan below.
        let order = |a: &(usize, f32), b: &(usize, f32)| {
            b.1.partial_cmp(&a.1)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.0.cmp(&b.0))
        };
        if all.len() > k {
            all.select_nth_unstable_by(k, order);
            all.truncate(k);
        }
        all.sort_unstable_by(order);
        return all;
    }
    let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return best;
    }
    for (i, &s) in scores.iter().enumerate() {
        if !keep(&(i, s)) {
            continue;
        }
        if best.len() == k && best.last().is_some_and(|&(_, worst)| s <= worst) {
            continue;
        }
        let at = best.partition_point(|&(_, b)| b >= s);
        best.insert(at, (i, s));
        best.truncate(k);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn top_k_orders_and_excludes() {
        let s = array![0.1_f32, 0.9, f32::NAN, 0.5, 0.9, -1.0];
        assert_eq!(top_k(s.view(), 3, &[]), vec![(1, 0.9), (4, 0.9), (3, 0.5)]);
        assert_eq!(top_k(s.view(), 2, &[1]), vec![(4, 0.9), (3, 0.5)]);
        assert_eq!(top_k(s.view(), 0, &[]), vec![]);
        assert_eq!(top_k(s.view(), 10, &[]).len(), 5);
    }

    #[test]
    fn large_k_selects_as_small_k_scans() {
        // Many ties, NaN and exclusions: both paths give the same order.
        let scores: Array1<f32> = (0..500)
            .map(|i| match i % 7 {
                0 => f32::NAN,
                r => (r as f32 * 0.25).sin() + if i % 3 == 0 { 0.0 } else { 1e-3 },
            })
            .collect();
        let exclude = [3, 10, 499];
        let all = top_k(scores.view(), 1000, &exclude);
        assert_eq!(all.len(), 500 - 72 - 3);
        for k in [1, 5, 64] {
            assert_eq!(top_k(scores.view(), k, &exclude), all[..k]);
        }
        assert_eq!(top_k(scores.view(), 65, &exclude), all[..65]);
        assert_eq!(top_k(scores.view(), 200, &exclude), all[..200]);
        for pair in all.windows(2) {
            assert!(pair[0].1 > pair[1].1 || (pair[0].1 == pair[1].1 && pair[0].0 < pair[1].0));
        }
    }

    #[test]
    fn nearest_matches_brute_force_cosine() {
        let v = array![
            [3.0_f32, 4.0],
            [1.0, 0.0],
            [0.0, 2.0],
            [0.0, 0.0],
            [-3.0, -4.0]
        ];
        let unit = UnitVectors::new(v.view());
        let n = unit.nearest(0, 4).expect("row 0 exists");
        assert_eq!(n[0].0, 2);
        assert!((n[0].1 - 0.8).abs() < 1e-6);
        assert_eq!(n[1].0, 1);
        assert!((n[1].1 - 0.6).abs() < 1e-6);
        assert_eq!(n[2], (3, 0.0));
        assert_eq!(n[3].0, 4);
        assert!(matches!(
            unit.nearest(5, 1),
            Err(Error::IndexOutOfRange { index: 5, .. })
        ));
        let sims = unit
            .similarities(array![6.0_f32, 8.0].view())
            .expect("dim 2");
        assert!((sims[0] - 1.0).abs() < 1e-6);
        assert!(unit.similarities(array![1.0_f32].view()).is_err());
    }
}
