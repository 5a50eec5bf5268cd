//! Analogies a : b :: c : ? answered by 3CosAdd or 3CosMul over the most frequent words,
//! and the Google `questions-words` / MSR analogy files.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView1, ArrayView2, Axis, CowArray, Ix2, Zip, s};

use super::lines::{
    MalformedPolicy, Rejection, dataset_name, find_word, open, read_lines, special_ids,
};
use super::search::{direction_length, normalize_rows, query_scores, restricted_rows};
use super::top_k;
use crate::error::{Error, Result};
use crate::vocab::Vocab;

/// The ε of 3CosMul (Levy and Goldberg 2014), which keeps the division finite.
pub const COSMUL_EPSILON: f32 = 0.001;

/// The number of most frequent words word2vec's `compute-accuracy` searches (and requires
/// the question words to be among).
pub const DEFAULT_RESTRICT: usize = 30_000;

/// Similarities computed per block and thread, in floats (16 MiB): the question words ×
/// candidates block is this size, so memory does not grow with the vocabulary.
const BLOCK_FLOATS: usize = 1 << 22;

/// The narrowest block of candidates, so that the matrix product stays efficient.
const MIN_BLOCK: usize = 256;

/// How an analogy a : b :: c : ? picks its answer d among the candidates, a, b and c
/// excluded. Vectors are normalised to unit length first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AnalogyMethod {
    /// 3CosAdd (Mikolov et al. 2013): argmax over d of cos(d, b − a + c).
    #[default]
    CosAdd,
    /// 3CosMul (Levy and Goldberg 2014): argmax over d of
    /// cos′(d, b) · cos′(d, c) / (cos′(d, a) + ε), with cos′ = (cos + 1) / 2 in \[0, 1\]
    /// and ε = [`COSMUL_EPSILON`].
    CosMul,
}

impl AnalogyMethod {
    /// Both methods, 3CosAdd first.
    pub const ALL: [AnalogyMethod; 2] = [AnalogyMethod::CosAdd, AnalogyMethod::CosMul];

    /// A short name: `3cosadd` or `3cosmul`.
    pub fn name(self) -> &'static str {
        match self {
            AnalogyMethod::CosAdd => "3cosadd",
            AnalogyMethod::CosMul => "3cosmul",
        }
    }
}

/// Candidates scored at a time by [`block_argmax`]: the scores stay in L1 cache.
const SUB_BLOCK: usize = 256;

/// Lanes of the running maximum in [`max_of`], enough for the compiler to use wide vector
/// registers.
const LANES: usize = 16;

/// 1 / (cos′ + ε), the 3CosMul denominator inverted, from a cosine.
#[inline]
fn cos_mul_reciprocal(cos: f32) -> f32 {
    1.0 / ((cos + 1.0) * 0.5 + COSMUL_EPSILON)
}

/// One block's similarity rows for a question, as [`block_argmax`] needs them: `b` and `c`
/// hold the candidates' cosines with b and c; `a` holds their cosines with a for 3CosAdd
/// and [`cos_mul_reciprocal`] of them for 3CosMul (so that no loop over candidates
/// divides).
struct BlockRows<'r> {
    a: &'r [f32],
    b: &'r [f32],
    c: &'r [f32],
}

impl BlockRows<'_> {
    fn len(&self) -> usize {
        self.a.len().min(self.b.len()).min(self.c.len())
    }

    fn slice(&self, start: usize, end: usize) -> BlockRows<'_> {
        BlockRows {
            a: &self.a[start..end],
            b: &self.b[start..end],
            c: &self.c[start..end],
        }
    }
}

/// 3CosAdd's score without the division by |b − a + c|, which does not change the argmax.
#[inline(always)]
fn add_score(cos_a: f32, cos_b: f32, cos_c: f32) -> f32 {
    cos_b - cos_a + cos_c
}

/// 3CosMul's objective from the reciprocal term of a and the cosines with b and c.
#[inline(always)]
fn mul_score(reciprocal_a: f32, cos_b: f32, cos_c: f32) -> f32 {
    ((cos_b + 1.0) * 0.5) * ((cos_c + 1.0) * 0.5) * reciprocal_a
}

/// The largest score, ignoring NaN; −∞ if there is none. Nothing is stored, and the
/// [`LANES`] running maxima let the loop vectorise.
#[inline(always)]
fn max_score(rows: &BlockRows<'_>, score: impl Fn(f32, f32, f32) -> f32) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let n = rows.len();
    let whole = n - n % LANES;
    let chunks = rows
        .a
        .chunks_exact(LANES)
        .zip(rows.b.chunks_exact(LANES))
        .zip(rows.c.chunks_exact(LANES));
    for ((a, b), c) in chunks {
        for (((m, &x), &y), &z) in lanes.iter_mut().zip(a).zip(b).zip(c) {
            let v = score(x, y, z);
            *m = if v > *m { v } else { *m };
        }
    }
    let tail = rows.slice(whole, n);
    for (((m, &x), &y), &z) in lanes.iter_mut().zip(tail.a).zip(tail.b).zip(tail.c) {
        let v = score(x, y, z);
        *m = if v > *m { v } else { *m };
    }
    lanes
        .into_iter()
        .fold(f32::NEG_INFINITY, |m, v| if v > m { v } else { m })
}

/// The largest value, ignoring NaN; −∞ if there is none.
fn max_of(values: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (m, &v) in lanes.iter_mut().zip(chunk) {
            *m = if v > *m { v } else { *m };
        }
    }
    for (m, &v) in lanes.iter_mut().zip(rest) {
        *m = if v > *m { v } else { *m };
    }
    lanes
        .into_iter()
        .fold(f32::NEG_INFINITY, |m, v| if v > m { v } else { m })
}

/// The first position whose score is `value`.
#[inline(always)]
fn position_of(
    rows: &BlockRows<'_>,
    score: impl Fn(f32, f32, f32) -> f32,
    value: f32,
) -> Option<usize> {
    rows.a
        .iter()
        .zip(rows.b)
        .zip(rows.c)
        .position(|((&x, &y), &z)| score(x, y, z) == value)
}

/// The first position of the best score among a block's candidates, and that score, if it
/// beats `floor` (the best score of earlier blocks, which wins ties); positions in
/// `excluded` and NaN scores are skipped.
///
/// In a block without a question word (nearly all of them) one pass computes only the
/// maximum, storing nothing; the position is searched for only when the maximum beats
/// `floor`, which gets rare as blocks go by. A block with a question word is scored
/// [`SUB_BLOCK`] candidates at a time into `scratch`, the question words set to −∞.
#[inline(always)]
fn block_argmax_by(
    rows: &BlockRows<'_>,
    score: impl Fn(f32, f32, f32) -> f32 + Copy,
    excluded: &[usize],
    floor: f32,
    scratch: &mut [f32; SUB_BLOCK],
) -> Option<(usize, f32)> {
    let n = rows.len();
    if excluded.iter().all(|&e| e >= n) {
        let best = max_score(rows, score);
        return if best > floor {
            position_of(rows, score, best).map(|j| (j, best))
        } else {
            None
        };
    }
    let score_sub_block = |start: usize, scratch: &mut [f32; SUB_BLOCK]| -> usize {
        let end = (start + SUB_BLOCK).min(n);
        let sub = rows.slice(start, end);
        let out = &mut scratch[..end - start];
        for (((o, &x), &y), &z) in out.iter_mut().zip(sub.a).zip(sub.b).zip(sub.c) {
            *o = score(x, y, z);
        }
        for &e in excluded {
            if let Some(v) = e.checked_sub(start).and_then(|j| out.get_mut(j)) {
                *v = f32::NEG_INFINITY;
            }
        }
        end - start
    };
    let mut best_value = floor;
    let mut best_start = None;
    for start in (0..n).step_by(SUB_BLOCK) {
        let len = score_sub_block(start, scratch);
        let value = max_of(&scratch[..len]);
        if value > best_value {
            best_value = value;
            best_start = Some(start);
        }
    }
    let start = best_start?;
    let len = score_sub_block(start, scratch);
    scratch[..len]
        .iter()
        .position(|&v| v == best_value)
        .map(|j| (start + j, best_value))
}

/// [`block_argmax_by`] with the method's score.
fn block_argmax(
    rows: &BlockRows<'_>,
    method: AnalogyMethod,
    excluded: &[usize],
    floor: f32,
    scratch: &mut [f32; SUB_BLOCK],
) -> Option<(usize, f32)> {
    match method {
        AnalogyMethod::CosAdd => block_argmax_by(rows, add_score, excluded, floor, scratch),
        AnalogyMethod::CosMul => block_argmax_by(rows, mul_score, excluded, floor, scratch),
    }
}

/// A row of similarities as a slice (rows of a standard-layout matrix always are; a copy
/// otherwise).
fn contiguous(row: ArrayView1<'_, f32>) -> Cow<'_, [f32]> {
    match row.to_slice() {
        Some(slice) => Cow::Borrowed(slice),
        None => Cow::Owned(row.to_vec()),
    }
}

/// The best answer found so far for one question and method.
#[derive(Debug, Clone, Copy)]
struct Best {
    id: usize,
    score: f32,
}

impl Best {
    const NONE: Best = Best {
        id: usize::MAX,
        score: f32::NEG_INFINITY,
    };

    /// Keeps the higher score; on a tie the smaller id (the more frequent word), so the
    /// result does not depend on how candidates were split into blocks and threads.
    fn offer(&mut self, other: Best) {
        if other.score > self.score || (other.score == self.score && other.id < self.id) {
            *self = other;
        }
    }

    fn get(self) -> Option<(usize, f32)> {
        (self.id != usize::MAX).then_some((self.id, self.score))
    }
}

/// Answers analogy questions over the `n` most frequent words of a vocabulary: the
/// vectors of word ids `0..n` (a trained [`Vocab`] is sorted by descending count),
/// normalised to unit length.
///
/// Question words must be among these `n` words too (word2vec's `compute-accuracy` rule);
/// [`word_id`](Self::word_id) gives their ids. The entries
/// [`UNK_TOKEN`](crate::vocab::UNK_TOKEN), [`START_MARKER`](crate::corpus::START_MARKER) and
/// [`END_MARKER`](crate::corpus::END_MARKER) are never answers.
///
/// [`best_answers`](Self::best_answers) answers many questions at once: it multiplies the
/// vectors of the distinct question words by blocks of candidate vectors in one matrix
/// product per block (so a word shared by many questions costs one row) and combines the
/// rows per question, on several threads. [`answers`](Self::answers) answers one question
/// with matrix–vector products and gives the `k` best answers.
///
/// ```
/// use bilinear_skipgram::{AnalogyMethod, eval::AnalogySearch, OovPolicy, Vocab};
/// use ndarray::array;
///
/// let words = ["man", "woman", "king", "queen", "apple"];
/// let vocab = Vocab::from_counts(words.map(|w| (w.to_owned(), 1)), OovPolicy::Drop)?;
/// let vectors = array![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, -1.0]];
/// let search = AnalogySearch::new(vectors.view(), &vocab, 10)?;
/// let [a, b, c] = ["man", "king", "woman"].map(|w| search.word_id(w).unwrap());
/// let best = search.answers([a, b, c], AnalogyMethod::CosAdd, 1)?;
/// assert_eq!(vocab.word(best[0].0), Some("queen"));
/// let queen = search.word_id("queen").unwrap();
/// let batch = search.best_answers(&[[a, b, c], [b, a, queen]], AnalogyMethod::CosMul)?;
/// assert_eq!(batch.iter().map(|best| best.unwrap().0).collect::<Vec<_>>(), [queen, c]);
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct AnalogySearch<'v> {
    vocab: &'v Vocab,
    /// The candidates' unit rows: a normalised copy, or borrowed from
    /// [`Embeddings`](crate::Embeddings).
    unit: CowArray<'v, f32, Ix2>,
    /// Candidates that are never answers: the special tokens.
    excluded: Vec<usize>,
    threads: usize,
    /// Similarities per block and thread; [`BLOCK_FLOATS`] but for tests.
    block_floats: usize,
}

impl<'v> AnalogySearch<'v> {
    /// Prepares a search over the first `restrict` rows of `vectors` (all rows if there are
    /// fewer), which has one row per entry of `vocab`. Uses as many threads as there are
    /// cores.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when `vectors` does not have one row per vocabulary entry;
    /// [`Error::InvalidArgument`] when `restrict` is 0.
    pub fn new(vectors: ArrayView2<'_, f32>, vocab: &'v Vocab, restrict: usize) -> Result<Self> {
        if vectors.nrows() != vocab.len() {
            return Err(Error::ShapeMismatch {
                what: "word vectors (one row per vocabulary entry)",
                expected: vec![vocab.len(), vectors.ncols()],
                found: vectors.shape().to_vec(),
            });
        }
        let n = restricted_rows(restrict, vectors.nrows())?;
        let mut unit = vectors.slice(s![..n, ..]).to_owned();
        normalize_rows(unit.view_mut());
        Ok(Self::from_unit_rows(CowArray::from(unit), vocab))
    }

    /// A search over `unit`, rows already of unit length (by
    /// [`normalize_rows`]), which are the first rows of `vocab`'s entries.
    pub(crate) fn from_unit_rows(unit: CowArray<'v, f32, Ix2>, vocab: &'v Vocab) -> Self {
        let n = unit.nrows();
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        AnalogySearch {
            vocab,
            unit,
            excluded: special_ids(vocab)
                .into_iter()
                .filter(|&id| id < n)
                .collect(),
            threads,
            block_floats: BLOCK_FLOATS,
        }
    }

    /// Uses `threads` threads in [`best_answers`](Self::best_answers) (0 counts as 1). The
    /// answers do not depend on it.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The number of candidate words `n`: word ids `0..n` are searched.
    pub fn n_candidates(&self) -> usize {
        self.unit.nrows()
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &'v Vocab {
        self.vocab
    }

    /// The id of `word` if it is one of the candidates (looked up with [`find_word`]: the
    /// lookup rule of [`Vocab::id`], special tokens never found).
    pub fn word_id(&self, word: &str) -> Option<usize> {
        find_word(self.vocab, word).filter(|&id| id < self.n_candidates())
    }

    fn check(&self, question: [usize; 3]) -> Result<()> {
        match question.into_iter().find(|&w| w >= self.n_candidates()) {
            Some(index) => Err(Error::IndexOutOfRange {
                what: "analogy question word (among the candidates)",
                index,
                len: self.n_candidates(),
            }),
            None => Ok(()),
        }
    }

    /// The `k` best answers d to a : b :: c : ? for `question = [a, b, c]` (word ids), best
    /// first, as `(id, score)`: the score is cos(d, b − a + c) for 3CosAdd and the 3CosMul
    /// objective for 3CosMul. a, b and c are never answers.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`] when a question word is not a candidate.
    pub fn answers(
        &self,
        question: [usize; 3],
        method: AnalogyMethod,
        k: usize,
    ) -> Result<Vec<(usize, f32)>> {
        self.check(question)?;
        let rows = self.unit.view();
        let [a, b, c] = question.map(|w| rows.row(w));
        let scores = query_scores(rows, &[b, c], &[a], method);
        let mut exclude = question.to_vec();
        exclude.extend(&self.excluded);
        Ok(top_k(scores.view(), k, &exclude))
    }

    /// The best answer to every question `[a, b, c]` (word ids): `(id, score)` per
    /// question, or `None` when every candidate is excluded or, for 3CosAdd, b − a + c is
    /// zero (zero rows: no direction to look in, as in [`answers`](Self::answers)). Scores
    /// are as in [`answers`](Self::answers); ties go to the smaller id.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`] when a question word is not a candidate.
    pub fn best_answers(
        &self,
        questions: &[[usize; 3]],
        method: AnalogyMethod,
    ) -> Result<Vec<Option<(usize, f32)>>> {
        for &question in questions {
            self.check(question)?;
        }
        Ok(self
            .solve(questions, &[method])
            .into_iter()
            .flatten()
            .map(Best::get)
            .collect())
    }

    /// The best answer to every question (already checked) under every method: one vector
    /// per method, in the order of `methods`. The matrix products are shared by the
    /// methods.
    fn solve(&self, questions: &[[usize; 3]], methods: &[AnalogyMethod]) -> Vec<Vec<Best>> {
        let n = self.n_candidates();
        if questions.is_empty() || methods.is_empty() {
            return vec![vec![Best::NONE; questions.len()]; methods.len()];
        }
        // Each distinct question word is one row of the query matrix.
        let mut slot_of: HashMap<usize, usize> = HashMap::new();
        let mut distinct: Vec<usize> = Vec::new();
        let slots: Vec<[usize; 3]> = questions
            .iter()
            .map(|question| {
                question.map(|w| {
                    *slot_of.entry(w).or_insert_with(|| {
                        distinct.push(w);
                        distinct.len() - 1
                    })
                })
            })
            .collect();
        let rows = self.unit.view();
        let queries = rows.select(Axis(0), &distinct);
        // 3CosAdd's argmax does not need |b − a + c|, but its reported score is a cosine.
        // b − a + c = 0 (zero rows) has no direction: every candidate scores 0, and the
        // question has no answer, as in `answers` (no scale: dropped).
        let add_scale: Vec<Option<f32>> = questions
            .iter()
            .map(|&[a, b, c]| {
                let query = &rows.row(b) - &rows.row(a) + rows.row(c);
                direction_length(query.view()).map(|norm| 1.0 / norm)
            })
            .collect();
        // With 3CosMul, a block holds the reciprocals too.
        let wants_mul = methods.contains(&AnalogyMethod::CosMul);
        let per_candidate = distinct.len() * if wants_mul { 2 } else { 1 };
        let width = (self.block_floats / per_candidate).max(MIN_BLOCK).min(n);
        let n_blocks = n.div_ceil(width);
        let n_threads = self.threads.min(n_blocks).max(1);

        // Thread t takes blocks t, t + n_threads, …
        let run = |t: usize| -> Vec<Vec<Best>> {
            let mut best = vec![vec![Best::NONE; questions.len()]; methods.len()];
            let mut sims = Array2::<f32>::zeros((distinct.len(), width));
            let mut reciprocals =
                Array2::<f32>::zeros((if wants_mul { distinct.len() } else { 0 }, width));
            let mut scratch = [0.0_f32; SUB_BLOCK];
            let mut excluded = Vec::with_capacity(3 + self.excluded.len());
            for block in (t..n_blocks).step_by(n_threads) {
                let start = block * width;
                let end = (start + width).min(n);
                let candidates = rows.slice(s![start..end, ..]);
                let mut block_sims = sims.slice_mut(s![.., ..end - start]);
                general_mat_mul(1.0, &queries, &candidates.t(), 0.0, &mut block_sims);
                let mut block_reciprocals = reciprocals.slice_mut(s![.., ..end - start]);
                if wants_mul {
                    Zip::from(&mut block_reciprocals)
                        .and(&block_sims)
                        .for_each(|r, &cos| *r = cos_mul_reciprocal(cos));
                }
                let sim_rows: Vec<Cow<'_, [f32]>> =
                    block_sims.rows().into_iter().map(contiguous).collect();
                let reciprocal_rows: Vec<Cow<'_, [f32]>> = block_reciprocals
                    .rows()
                    .into_iter()
                    .map(contiguous)
                    .collect();
                for (q, &[ia, ib, ic]) in slots.iter().enumerate() {
                    excluded.clear();
                    excluded.extend(
                        questions[q]
                            .iter()
                            .chain(&self.excluded)
                            .filter_map(|&w| w.checked_sub(start)),
                    );
                    for (m, &method) in methods.iter().enumerate() {
                        let a_rows = match method {
                            AnalogyMethod::CosAdd => &sim_rows,
                            AnalogyMethod::CosMul => &reciprocal_rows,
                        };
                        let block_rows = BlockRows {
                            a: &a_rows[ia],
                            b: &sim_rows[ib],
                            c: &sim_rows[ic],
                        };
                        let so_far = &mut best[m][q];
                        let found = block_argmax(
                            &block_rows,
                            method,
                            &excluded,
                            so_far.score,
                            &mut scratch,
                        );
                        if let Some((j, score)) = found {
                            so_far.offer(Best {
                                id: start + j,
                                score,
                            });
                        }
                    }
                }
            }
            best
        };

        let mut per_thread: Vec<Vec<Vec<Best>>> = if n_threads == 1 {
            vec![run(0)]
        } else {
            let run = &run;
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..n_threads)
                    .map(|t| scope.spawn(move || run(t)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        let mut merged = per_thread.pop().unwrap_or_default();
        for other in per_thread {
            for (mine, theirs) in merged.iter_mut().zip(other) {
                for (m, t) in mine.iter_mut().zip(theirs) {
                    m.offer(t);
                }
            }
        }
        // 3CosAdd's scores become cosines.
        for (per_question, &method) in merged.iter_mut().zip(methods) {
            if method == AnalogyMethod::CosAdd {
                for (best, &scale) in per_question.iter_mut().zip(&add_scale) {
                    match scale {
                        Some(scale) => best.score *= scale,
                        None => *best = Best::NONE,
                    }
                }
            }
        }
        merged
    }
}

/// How a method did on one section of an analogy dataset (or one BATS relation).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SectionScore {
    /// The section's name.
    pub name: String,
    /// Questions in the section.
    pub n_questions: usize,
    /// Questions whose words (a, b, c and at least one accepted answer) are all among the
    /// candidates; the others are not asked.
    pub n_covered: usize,
    /// Covered questions answered correctly.
    pub n_correct: usize,
}

impl SectionScore {
    /// Correct answers per covered question, or `None` if none is covered.
    pub fn accuracy(&self) -> Option<f64> {
        (self.n_covered > 0).then(|| self.n_correct as f64 / self.n_covered as f64)
    }

    /// Covered questions per question, or `None` if there are none.
    pub fn coverage(&self) -> Option<f64> {
        (self.n_questions > 0).then(|| self.n_covered as f64 / self.n_questions as f64)
    }
}

/// How one method did on an analogy dataset: a score per section (per relation for BATS).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnalogyReport {
    /// The method.
    pub method: AnalogyMethod,
    /// Per-section scores, in file order.
    pub sections: Vec<SectionScore>,
}

impl AnalogyReport {
    /// The sections summed, named `total`.
    pub fn total(&self) -> SectionScore {
        let mut total = SectionScore {
            name: "total".to_owned(),
            n_questions: 0,
            n_covered: 0,
            n_correct: 0,
        };
        for section in &self.sections {
            total.n_questions += section.n_questions;
            total.n_covered += section.n_covered;
            total.n_correct += section.n_correct;
        }
        total
    }

    /// Correct answers per covered question over all sections (word2vec's "total
    /// accuracy"), or `None` if no question is covered.
    pub fn accuracy(&self) -> Option<f64> {
        self.total().accuracy()
    }

    /// The mean of the sections' accuracies, over the sections with at least one covered
    /// question (the BATS score is this mean over its relations), or `None` if there is no
    /// such section. [`n_sections_scored`](Self::n_sections_scored) says how many there are.
    pub fn mean_accuracy(&self) -> Option<f64> {
        let accuracies: Vec<f64> = self
            .sections
            .iter()
            .filter_map(SectionScore::accuracy)
            .collect();
        (!accuracies.is_empty()).then(|| accuracies.iter().sum::<f64>() / accuracies.len() as f64)
    }

    /// The number of sections with at least one covered question.
    pub fn n_sections_scored(&self) -> usize {
        self.sections.iter().filter(|s| s.n_covered > 0).count()
    }
}

/// A section of questions as word ids: covered questions with their accepted answers.
pub(crate) struct IdSection {
    pub(crate) name: String,
    pub(crate) n_questions: usize,
    pub(crate) covered: Vec<([usize; 3], Vec<usize>)>,
}

/// Answers every covered question of every section in one batch and counts, per method
/// and section, the answers that are among the accepted ones.
pub(crate) fn score_sections(
    search: &AnalogySearch<'_>,
    sections: &[IdSection],
    methods: &[AnalogyMethod],
) -> Vec<AnalogyReport> {
    let questions: Vec<[usize; 3]> = sections
        .iter()
        .flat_map(|s| s.covered.iter().map(|&(q, _)| q))
        .collect();
    let best = search.solve(&questions, methods);
    methods
        .iter()
        .zip(best)
        .map(|(&method, answers)| {
            let mut answers = answers.into_iter();
            let sections = sections
                .iter()
                .map(|section| {
                    let mut n_correct = 0;
                    for ((_, accepted), answer) in section.covered.iter().zip(answers.by_ref()) {
                        if answer.get().is_some_and(|(id, _)| accepted.contains(&id)) {
                            n_correct += 1;
                        }
                    }
                    SectionScore {
                        name: section.name.clone(),
                        n_questions: section.n_questions,
                        n_covered: section.covered.len(),
                        n_correct,
                    }
                })
                .collect();
            AnalogyReport { method, sections }
        })
        .collect()
}

/// One analogy question a : b :: c : d, words as written in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalogyQuestion {
    /// a.
    pub a: String,
    /// b.
    pub b: String,
    /// c.
    pub c: String,
    /// d, the expected answer.
    pub expected: String,
}

/// A named group of questions, such as `capital-common-countries`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalogySection {
    /// The section's name.
    pub name: String,
    /// Its questions, in file order.
    pub questions: Vec<AnalogyQuestion>,
}

/// An analogy dataset with four words `a b c d` a line (a : b :: c : d), separated by
/// spaces or tabs: Google's `questions-words.txt`, whose `: name` lines start sections,
/// or the MSR set, which has none. Questions before any `:` line form a section named
/// after the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalogyDataset {
    name: String,
    sections: Vec<AnalogySection>,
    malformed_lines: Vec<u64>,
}

impl AnalogyDataset {
    /// Reads an analogy file. The dataset is named after the file, without its extension.
    ///
    /// # Errors
    ///
    /// [`Error::File`] when the file cannot be opened or read (a folder, for one; a pipe is
    /// read as it comes); [`Error::Parse`] for a line longer than
    /// [`MAX_LINE_BYTES`](crate::io::MAX_LINE_BYTES) under either policy (so `/dev/zero` is
    /// an error at once); under
    /// [`MalformedPolicy::Strict`], [`Error::Parse`] naming the file, the line and the bad
    /// text of the first line that is neither a `: name` header nor four words.
    ///
    /// # Example
    ///
    /// ```
    /// use bilinear_skipgram::{eval::AnalogyDataset, eval::MalformedPolicy};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("questions-words.txt");
    /// std::fs::write(&path, ": capitals\nAthens Greece Baghdad Iraq\n: plurals\ncat cats dog dogs\n")?;
    /// let set = AnalogyDataset::read(&path, MalformedPolicy::Strict)?;
    /// assert_eq!(set.sections().iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["capitals", "plurals"]);
    /// assert_eq!(set.n_questions(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read(path: impl AsRef<Path>, policy: MalformedPolicy) -> Result<Self> {
        let path = path.as_ref();
        Self::from_reader(open(path)?, path, policy)
    }

    /// Reads an analogy file from `reader`; `path` names it in errors and gives the dataset
    /// its name.
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
        let name = dataset_name(path);
        let mut sections: Vec<AnalogySection> = Vec::new();
        let malformed_lines = read_lines(reader, path, policy, |_, line| {
            if let Some(header) = line.strip_prefix(':') {
                let header = header.trim();
                if header.is_empty() {
                    return Err(Rejection::Malformed(format!(
                        "section header without a name: {line:?}"
                    )));
                }
                sections.push(AnalogySection {
                    name: header.to_owned(),
                    questions: Vec::new(),
                });
                return Ok(());
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let [a, b, c, d] = words.as_slice() else {
                return Err(Rejection::Malformed(format!(
                    "expected 4 words (a b c d) or a `: section` header, found {} words: {line:?}",
                    words.len()
                )));
            };
            let question = AnalogyQuestion {
                a: (*a).to_owned(),
                b: (*b).to_owned(),
                c: (*c).to_owned(),
                expected: (*d).to_owned(),
            };
            match sections.last_mut() {
                Some(section) => section.questions.push(question),
                None => sections.push(AnalogySection {
                    name: name.clone(),
                    questions: vec![question],
                }),
            }
            Ok(())
        })?;
        Ok(AnalogyDataset {
            name,
            sections,
            malformed_lines,
        })
    }

    /// A dataset from sections in memory.
    pub fn from_sections(name: impl Into<String>, sections: Vec<AnalogySection>) -> Self {
        AnalogyDataset {
            name: name.into(),
            sections,
            malformed_lines: Vec::new(),
        }
    }

    /// The dataset's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sections, in file order.
    pub fn sections(&self) -> &[AnalogySection] {
        &self.sections
    }

    /// The number of questions.
    pub fn n_questions(&self) -> usize {
        self.sections.iter().map(|s| s.questions.len()).sum()
    }

    /// One-based numbers of the lines skipped as malformed under [`MalformedPolicy::Skip`].
    pub fn malformed_lines(&self) -> &[u64] {
        &self.malformed_lines
    }

    /// Answers every question with `search` under each of `methods` (all questions in one
    /// batch) and reports accuracy per section, one report per method.
    ///
    /// A question is covered, and asked, when a, b, c and d are all among the search's
    /// candidates (word2vec's `compute-accuracy` rule); it is correct when the best answer
    /// is d.
    pub fn evaluate(
        &self,
        search: &AnalogySearch<'_>,
        methods: &[AnalogyMethod],
    ) -> Vec<AnalogyReport> {
        let sections: Vec<IdSection> = self
            .sections
            .iter()
            .map(|section| IdSection {
                name: section.name.clone(),
                n_questions: section.questions.len(),
                covered: section
                    .questions
                    .iter()
                    .filter_map(|q| {
                        let a = search.word_id(&q.a)?;
                        let b = search.word_id(&q.b)?;
                        let c = search.word_id(&q.c)?;
                        let d = search.word_id(&q.expected)?;
                        Some(([a, b, c], vec![d]))
                    })
                    .collect(),
            })
            .collect();
        score_sections(search, &sections, methods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_argmax_skips_nan_and_excluded() {
        let mut scratch = [0.0; SUB_BLOCK];
        let zeros = vec![0.0_f32; 600];
        let mut b = vec![0.0_f32; 600];
        b[1] = f32::NAN;
        b[300] = 0.9;
        b[450] = 0.9;
        b[599] = 2.0;
        let add = AnalogyMethod::CosAdd;
        let rows = BlockRows {
            a: &zeros,
            b: &b,
            c: &zeros,
        };
        let best = |excluded: &[usize], scratch: &mut [f32; SUB_BLOCK]| {
            block_argmax(&rows, add, excluded, f32::NEG_INFINITY, scratch)
        };
        assert_eq!(best(&[], &mut scratch), Some((599, 2.0)));
        // Ties go to the first position, across sub-blocks.
        assert_eq!(best(&[599], &mut scratch), Some((300, 0.9)));
        assert_eq!(best(&[599, 300], &mut scratch), Some((450, 0.9)));
        let all: Vec<usize> = (0..600).collect();
        assert_eq!(best(&all, &mut scratch), None);
        let empty = BlockRows {
            a: &[],
            b: &[],
            c: &[],
        };
        assert_eq!(
            block_argmax(&empty, add, &[], f32::NEG_INFINITY, &mut scratch),
            None
        );
        // Only a score above the floor is reported, with or without exclusions.
        assert_eq!(block_argmax(&rows, add, &[], 2.0, &mut scratch), None);
        assert_eq!(
            block_argmax(&rows, add, &[], 1.5, &mut scratch),
            Some((599, 2.0))
        );
        assert_eq!(block_argmax(&rows, add, &[599], 0.9, &mut scratch), None);
        assert_eq!(
            block_argmax(&rows, add, &[599], 0.5, &mut scratch),
            Some((300, 0.9))
        );
        assert_eq!(max_of(&[f32::NAN, -3.0, f32::NAN]), -3.0);
        assert_eq!(max_of(&[]), f32::NEG_INFINITY);
    }

    #[test]
    fn many_blocks_and_threads_give_the_single_block_answers() {
        use crate::vocab::OovPolicy;
        use rand::{RngExt, SeedableRng, rngs::Xoshiro256PlusPlus};

        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let n = 1000;
        let words = (0..n).map(|i| (format!("w{i}"), (n - i) as u64));
        let vocab = Vocab::from_counts(words, OovPolicy::Unk).expect("vocab");
        let vectors = Array2::from_shape_simple_fn((vocab.len(), 8), || rng.random::<f32>() - 0.5);
        let questions: Vec<[usize; 3]> = (0..300)
            .map(|_| [0; 3].map(|_| rng.random_range(0..900)))
            .collect();
        let one_block = AnalogySearch::new(vectors.view(), &vocab, 900)
            .expect("search")
            .with_threads(1);
        let mut small_blocks = one_block.clone().with_threads(3);
        // 300 questions have at most 900 distinct words: blocks of 256 candidates, 4 blocks
        // over 3 threads, the last one narrower.
        small_blocks.block_floats = 1;
        for method in AnalogyMethod::ALL {
            let expected = one_block.solve(&questions, &[method]);
            let found = small_blocks.solve(&questions, &[method]);
            for (e, f) in expected[0].iter().zip(&found[0]) {
                assert_eq!(e.id, f.id);
                assert!((e.score - f.score).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn ties_go_to_the_smaller_id() {
        let mut best = Best::NONE;
        best.offer(Best { id: 7, score: 0.5 });
        best.offer(Best { id: 3, score: 0.5 });
        best.offer(Best { id: 1, score: 0.4 });
        assert_eq!(best.get(), Some((3, 0.5)));
        assert_eq!(Best::NONE.get(), None);
    }
}
