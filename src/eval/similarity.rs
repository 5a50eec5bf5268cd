//! Word similarity: `word1 word2 score` files scored by Spearman's rank correlation between
//! the gold scores and the cosine similarity of the word vectors.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

use ndarray::{ArrayView1, ArrayView2};

use super::lines::{MalformedPolicy, Rejection, dataset_name, fields, find_word, open, read_lines};
use crate::error::{Error, Result};
use crate::vocab::Vocab;

/// One line of a similarity file: two words and their gold similarity.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarityPair {
    /// The first word, as written in the file.
    pub first: String,
    /// The second word, as written in the file.
    pub second: String,
    /// The gold score (finite; its scale does not matter to a rank correlation).
    pub score: f64,
}

/// A word-similarity dataset such as MEN, SimVerb-3500 or the Stanford Rare Words.
///
/// Files have one `word1<TAB>word2<TAB>score` line per pair; lines without a tab are split
/// at runs of spaces instead. Blank lines are skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct SimilarityDataset {
    name: String,
    pairs: Vec<SimilarityPair>,
    malformed_lines: Vec<u64>,
}

/// How well cosine similarity ranks a [`SimilarityDataset`]'s pairs, and how many pairs
/// could be scored.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SimilarityReport {
    /// Spearman's ρ between the gold scores and the cosines of the pairs found, or `None`
    /// when it is undefined (fewer than two pairs found, or all gold scores or all cosines
    /// equal).
    pub spearman: Option<f64>,
    /// Pairs in the dataset: `n_found + n_oov + n_non_finite`.
    pub n_pairs: usize,
    /// Pairs whose two words are both in the vocabulary with finite vectors: the pairs ρ is
    /// computed on.
    pub n_found: usize,
    /// Pairs left out because a word is not in the vocabulary.
    pub n_oov: usize,
    /// Pairs left out because the vector of one of their words holds a NaN or an infinity
    /// (a diverged or damaged model): their cosine cannot be ranked.
    pub n_non_finite: usize,
    /// The distinct words not found, in order of first appearance.
    pub oov_words: Vec<String>,
}

impl SimilarityReport {
    /// The fraction of pairs found, or `None` for an empty dataset.
    pub fn coverage(&self) -> Option<f64> {
        (self.n_pairs > 0).then(|| self.n_found as f64 / self.n_pairs as f64)
    }
}

fn parse_pair(line: &str) -> Result<SimilarityPair, Rejection> {
    let parts = fields(line);
    let [first, second, score] = parts.as_slice() else {
        return Err(Rejection::Malformed(format!(
            "expected 3 fields (word1, word2, score), found {}: {line:?}",
            parts.len()
        )));
    };
    if first.is_empty() || second.is_empty() {
        return Err(Rejection::Malformed(format!("empty word in {line:?}")));
    }
    let value: f64 = score
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| {
            Rejection::Malformed(format!(
                "score {score:?} is not a finite number in {line:?}"
            ))
        })?;
    Ok(SimilarityPair {
        first: (*first).to_owned(),
        second: (*second).to_owned(),
        score: value,
    })
}

impl SimilarityDataset {
    /// Reads a similarity file. The dataset is named after the file, without its extension.
    ///
    /// # Errors
    ///
    /// [`Error::File`] when the file cannot be opened or read (a folder, for one; a pipe is
    /// read as it comes); [`Error::Parse`] for a line longer than
    /// [`MAX_LINE_BYTES`](crate::io::MAX_LINE_BYTES) under either policy (so `/dev/zero` is
    /// an error at once); under
    /// [`MalformedPolicy::Strict`], [`Error::Parse`] naming the file, the line and the bad
    /// text of the first line that does not have exactly three fields or whose score is
    /// not a finite number.
    ///
    /// # Example
    ///
    /// ```
    /// use bilinear_skipgram::{eval::MalformedPolicy, eval::SimilarityDataset};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("tiny.tsv");
    /// std::fs::write(&path, "cat\tdog\t8.5\ncar\ttree\tlow\n")?;
    /// let err = SimilarityDataset::read(&path, MalformedPolicy::Strict).unwrap_err();
    /// assert!(err.to_string().ends_with("tiny.tsv:2: score \"low\" is not a finite number in \"car\\ttree\\tlow\""));
    /// let set = SimilarityDataset::read(&path, MalformedPolicy::Skip)?;
    /// assert_eq!((set.name(), set.pairs().len(), set.malformed_lines()), ("tiny", 1, &[2][..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read(path: impl AsRef<Path>, policy: MalformedPolicy) -> Result<Self> {
        let path = path.as_ref();
        Self::from_reader(open(path)?, path, policy)
    }

    /// Reads a similarity file from `reader`; `path` names it in errors and gives the
    /// dataset its name.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read), without the failure to open.
    pub fn from_reader(
        reader: impl BufRead,
        path: impl AsRef<Path>,
        policy: MalformedPolicy,
    ) -> Result<Self> {
        let path = path.as_ref();
        let mut pairs = Vec::new();
        let malformed_lines = read_lines(reader, path, policy, |_, line| {
            pairs.push(parse_pair(line)?);
            Ok(())
        })?;
        Ok(SimilarityDataset {
            name: dataset_name(path),
            pairs,
            malformed_lines,
        })
    }

    /// A dataset from pairs in memory.
    pub fn from_pairs(name: impl Into<String>, pairs: Vec<SimilarityPair>) -> Self {
        SimilarityDataset {
            name: name.into(),
            pairs,
            malformed_lines: Vec::new(),
        }
    }

    /// The dataset's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pairs, in file order.
    pub fn pairs(&self) -> &[SimilarityPair] {
        &self.pairs
    }

    /// One-based numbers of the lines skipped as malformed under [`MalformedPolicy::Skip`].
    pub fn malformed_lines(&self) -> &[u64] {
        &self.malformed_lines
    }

    /// Scores word vectors on the dataset: the cosine similarity of every pair whose two
    /// words are in `vocab`, and Spearman's ρ ([`spearman`]) between these cosines and the
    /// gold scores. Pairs with a word outside the vocabulary, or with a vector that is not
    /// finite, are counted in the report, not scored. Words are looked up with [`find_word`] (lowercased, as the corpus is). A
    /// zero vector has cosine 0 with everything.
    ///
    /// `vectors` has one row per vocabulary id, for example
    /// [`Model::word_vectors`](crate::Model::word_vectors).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when `vectors` does not have one row per vocabulary entry.
    pub fn evaluate(
        &self,
        vectors: ArrayView2<'_, f32>,
        vocab: &Vocab,
    ) -> Result<SimilarityReport> {
        if vectors.nrows() != vocab.len() {
            return Err(Error::ShapeMismatch {
                what: "word vectors (one row per vocabulary entry)",
                expected: vec![vocab.len(), vectors.ncols()],
                found: vectors.shape().to_vec(),
            });
        }
        let mut gold = Vec::with_capacity(self.pairs.len());
        let mut cosines = Vec::with_capacity(self.pairs.len());
        let mut oov_words = Vec::new();
        let mut seen_oov = HashSet::new();
        let mut n_non_finite = 0;
        let finite = |id: usize| vectors.row(id).iter().all(|x| x.is_finite());
        for pair in &self.pairs {
            let first = find_word(vocab, &pair.first);
            let second = find_word(vocab, &pair.second);
            match (first, second) {
                (Some(i), Some(j)) if !(finite(i) && finite(j)) => n_non_finite += 1,
                (Some(i), Some(j)) => {
                    gold.push(pair.score);
                    cosines.push(cosine(vectors.row(i), vectors.row(j)));
                }
                _ => {
                    for (word, id) in [(&pair.first, first), (&pair.second, second)] {
                        if id.is_none() && seen_oov.insert(word.as_str()) {
                            oov_words.push(word.clone());
                        }
                    }
                }
            }
        }
        let n_found = gold.len();
        Ok(SimilarityReport {
            spearman: spearman(&gold, &cosines)?,
            n_pairs: self.pairs.len(),
            n_found,
            n_oov: self.pairs.len() - n_found - n_non_finite,
            n_non_finite,
            oov_words,
        })
    }
}

/// Cosine similarity accumulated in `f64`; 0 when either vector is zero.
fn cosine(x: ArrayView1<'_, f32>, y: ArrayView1<'_, f32>) -> f64 {
    let (mut dot, mut xx, mut yy) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (&a, &b) in x.iter().zip(y.iter()) {
        let (a, b) = (f64::from(a), f64::from(b));
        dot += a * b;
        xx += a * a;
        yy += b * b;
    }
    if xx == 0.0 || yy == 0.0 {
        0.0
    } else {
        dot / (xx.sqrt() * yy.sqrt())
    }
}

/// One-based ranks of `values`, ties given the average of the ranks they span (the
/// "average" method of `scipy.stats.rankdata`). NaN ranks above every number.
///
/// ```
/// use bilinear_skipgram::eval::average_ranks;
///
/// assert_eq!(average_ranks(&[10.0, 20.0, 20.0, 5.0]), [2.0, 3.5, 3.5, 1.0]);
/// ```
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let value = values[order[start]];
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&i| values[i].total_cmp(&value).is_eq())
                .count();
        // Positions start..end hold ranks start+1 ..= end; their mean is (start+1+end)/2.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation ρ of `x` and `y`: the Pearson correlation of their
/// [`average_ranks`], so ties are handled as `scipy.stats.spearmanr` handles them.
///
/// Returns `Ok(None)` when ρ is undefined: fewer than two values, a value that is not
/// finite, or all of `x` (or all of `y`) equal.
///
/// ```
/// use bilinear_skipgram::eval::spearman;
///
/// // Ranks [1, 2.5, 2.5, 4, 5] and [2, 1, 3.5, 3.5, 5]: ρ = 7.25 / 9.5.
/// let rho = spearman(&[1.0, 2.0, 2.0, 3.0, 4.0], &[2.0, 1.0, 3.0, 3.0, 5.0])?.unwrap();
/// assert!((rho - 0.763_157_894_736_842_1).abs() < 1e-12);
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when `x` and `y` differ in length.
pub fn spearman(x: &[f64], y: &[f64]) -> Result<Option<f64>> {
    if x.len() != y.len() {
        return Err(Error::ShapeMismatch {
            what: "spearman inputs (equal lengths)",
            expected: vec![x.len()],
            found: vec![y.len()],
        });
    }
    if x.len() < 2 || !x.iter().chain(y).all(|v| v.is_finite()) {
        return Ok(None);
    }
    Ok(pearson(&average_ranks(x), &average_ranks(y)))
}

/// Pearson correlation; `None` when either input is constant.
fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let mean_x = x.iter().sum::<f64>() / n;
    let mean_y = y.iter().sum::<f64>() / n;
    let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (dx, dy) = (a - mean_x, b - mean_y);
        xy += dx * dy;
        xx += dx * dx;
        yy += dy * dy;
    }
    (xx > 0.0 && yy > 0.0).then(|| (xy / (xx * yy).sqrt()).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_with_ties_match_scipy_rankdata() {
        // scipy.stats.rankdata([3, 1, 4, 1, 5, 9, 2, 6]) = [4, 1.5, 5, 1.5, 6, 8, 3, 7]
        assert_eq!(
            average_ranks(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]),
            [4.0, 1.5, 5.0, 1.5, 6.0, 8.0, 3.0, 7.0]
        );
        assert_eq!(average_ranks(&[7.0, 7.0, 7.0]), [2.0, 2.0, 2.0]);
        assert_eq!(average_ranks(&[]), Vec::<f64>::new());
        assert_eq!(average_ranks(&[f64::NAN, 1.0]), [2.0, 1.0]);
    }

    #[test]
    fn parse_pair_rejects_with_the_bad_value() {
        let p = parse_pair("old  new 4.5e0").ok().expect("space separated");
        assert_eq!(
            (p.first.as_str(), p.second.as_str(), p.score),
            ("old", "new", 4.5)
        );
        for (line, needle) in [
            ("a\tb", "found 2"),
            ("a\tb\t1\t2", "found 4"),
            ("a\tb\tNaN", "\"NaN\""),
            ("a\tb\tinf", "\"inf\""),
            ("a\t\t1", "empty word"),
        ] {
            match parse_pair(line) {
                Err(Rejection::Malformed(m)) => assert!(m.contains(needle), "{m}"),
                _ => panic!("{line:?} should be malformed"),
            }
        }
    }

    #[test]
    fn cosine_of_zero_vector_is_zero() {
        let x = ndarray::array![3.0_f32, 4.0];
        let z = ndarray::array![0.0_f32, 0.0];
        assert_eq!(cosine(x.view(), z.view()), 0.0);
        assert!((cosine(x.view(), x.view()) - 1.0).abs() < 1e-12);
    }
}
