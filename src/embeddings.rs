//! Word-keyed vectors for querying: [`Embeddings`] owns the words and their unit-length
//! vectors with the original lengths, and answers similarity, nearest-neighbour, analogy
//! and odd-one-out queries by word.

use std::path::Path;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, CowArray, s};

use crate::error::{Error, Result};
use crate::eval::search::{normalize_rows, query_scores, restricted_rows};
use crate::eval::{AnalogyMethod, AnalogySearch, top_k};
use crate::io::Word2vecFormat;
use crate::model::{Model, VectorKind};
use crate::vocab::{OovPolicy, Vocab};

/// Word vectors keyed by word, ready for queries: the words (a [`Vocab`]), every vector
/// scaled to unit length, and every vector's original length (its norm). This is what
/// gensim calls `KeyedVectors` and finalfusion `Embeddings`.
///
/// Build it from a trained model ([`from_model`](Self::from_model), any [`VectorKind`]), a
/// saved model folder ([`load_model`](Self::load_model)), a word2vec file
/// ([`read_word2vec`](Self::read_word2vec)), a finalfusion file (`read_finalfusion`, with
/// the `finalfusion` cargo feature) or words and vectors in memory
/// ([`new`](Self::new), [`from_words`](Self::from_words)). The vectors are normalised in
/// place, without a second copy; the unnormalised vector of a word is its length times its
/// unit vector ([`get`](Self::get)).
///
/// # Looking words up
///
/// Every query looks its words up with the crate's one rule, [`Vocab::id`]: the word as
/// given, then lowercased as the corpus tokenizer lowercases (so `"Paris"` finds `paris` in
/// vectors trained on lowercased text). A word that is not found is an
/// [`Error::UnknownWord`] naming it.
///
/// # Searches
///
/// [`most_similar`](Self::most_similar), [`most_similar_by_vector`](Self::most_similar_by_vector)
/// and [`analogy`](Self::analogy) score every candidate in one pass over the unit vectors (a
/// matrix–vector product for 3CosAdd, small matrix products by blocks for 3CosMul) and
/// allocate nothing else that grows with the vocabulary than the score vector; they skip the
/// query words, [`UNK_TOKEN`](crate::vocab::UNK_TOKEN) and the sentence markers, and return the `k`
/// best as [`Neighbour`]s, best first, ties to the smaller id (the more frequent word).
/// Their `_with` forms take [`SearchOptions`]: 3CosMul instead of 3CosAdd, and a search
/// restricted to the most frequent words (the first ids: a vocabulary trained here, and the
/// files word2vec, gensim and this crate write, list words by descending count). Many
/// analogy questions at once go through [`analogy_search`](Self::analogy_search), which
/// borrows these vectors.
///
/// A vector holding a NaN or an infinity (from a diverged run) has no direction: its unit
/// vector is all NaN, its cosines are NaN, searches never return it, and a query made of it
/// finds nothing.
///
/// `Embeddings` owns everything it holds (`Send + Sync + 'static`), so it can live in an
/// application's state next to anything else.
///
/// ```
/// use bilinear_skipgram::{Embeddings, Error};
/// use ndarray::array;
///
/// let words = ["man", "woman", "king", "queen", "apple"].map(String::from).to_vec();
/// let vectors = array![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, -1.0]];
/// let embeddings = Embeddings::from_words(words, vectors)?;
///
/// let best = embeddings.most_similar(&["king", "woman"], &["man"], 1)?;
/// assert_eq!(best[0].word, "queen");
/// assert!((embeddings.similarity("King", "queen")? - 0.5).abs() < 1e-6);
/// assert!(matches!(embeddings.get("prince"), Err(Error::UnknownWord { word }) if word == "prince"));
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    vocab: Vocab,
    unit: Array2<f32>,
    norms: Array1<f32>,
    /// Entries that are never answers: the special tokens, ascending.
    special: Vec<usize>,
}

/// One answer of a search: a word, its id and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour<'a> {
    /// The word, as stored.
    pub word: &'a str,
    /// Its id (its row).
    pub id: usize,
    /// The cosine similarity under 3CosAdd (and for a single positive word or vector), the
    /// 3CosMul objective under [`AnalogyMethod::CosMul`].
    pub score: f32,
}

/// How a search of [`Embeddings`] scores and which words it considers. The default is
/// 3CosAdd over every word.
///
/// The fields are public for reading; build a value with [`SearchOptions::default`] and the
/// `with_*` setters.
///
/// ```
/// use bilinear_skipgram::{AnalogyMethod, SearchOptions};
///
/// let options = SearchOptions::default().with_method(AnalogyMethod::CosMul).with_restrict(30_000);
/// assert_eq!((options.method, options.restrict), (AnalogyMethod::CosMul, Some(30_000)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SearchOptions {
    /// How candidates are scored. Default [`AnalogyMethod::CosAdd`].
    pub method: AnalogyMethod,
    /// Only the `n` most frequent words (ids `0..n`) are answers; query words may be any
    /// word. `None` (the default) means every word, an `n` beyond the vocabulary too;
    /// searches refuse `Some(0)` with [`Error::InvalidArgument`].
    pub restrict: Option<usize>,
}

impl SearchOptions {
    /// Sets [`method`](Self::method).
    pub fn with_method(mut self, method: AnalogyMethod) -> Self {
        self.method = method;
        self
    }

    /// Sets [`restrict`](Self::restrict) to `Some(n)`.
    pub fn with_restrict(mut self, n: usize) -> Self {
        self.restrict = Some(n);
        self
    }
}

impl Embeddings {
    /// Embeddings of `vocab`'s entries, row `i` of `vectors` being the vector of id `i`.
    /// The rows are normalised in place; `vectors` is not copied.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when `vectors` does not have one row per entry, or has no
    /// column.
    pub fn new(vocab: Vocab, mut vectors: Array2<f32>) -> Result<Self> {
        if vectors.nrows() != vocab.len() || vectors.ncols() == 0 {
            return Err(Error::ShapeMismatch {
                what: "word vectors (one row per vocabulary entry, at least one column)",
                expected: vec![vocab.len(), vectors.ncols().max(1)],
                found: vectors.shape().to_vec(),
            });
        }
        let norms = normalize_rows(vectors.view_mut());
        let special = crate::eval::special_ids(&vocab);
        Ok(Embeddings {
            vocab,
            unit: vectors,
            norms,
            special,
        })
    }

    /// Embeddings of `words` (ids in order) with the vectors `vectors`, for words without
    /// counts: the vocabulary's counts are all 0. (The file readers give ranks instead;
    /// see [`vocab`](Self::vocab).)
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when a word appears twice; [`Error::EmptyVocabulary`]
    /// when there is no word; as [`new`](Self::new) otherwise.
    pub fn from_words(words: Vec<String>, vectors: Array2<f32>) -> Result<Self> {
        let n_words = words.len();
        let vocab = Vocab::from_counts(words.iter().map(|w| (w.clone(), 0)), OovPolicy::Drop)?;
        if vocab.len() != n_words {
            let mut seen = std::collections::HashSet::with_capacity(n_words);
            let repeated = words
                .iter()
                .find(|w| !seen.insert(w.as_str()))
                .cloned()
                .unwrap_or_default();
            return Err(Error::InvalidArgument {
                what: "words",
                message: format!("{repeated:?} appears more than once"),
            });
        }
        Self::new(vocab, vectors)
    }

    /// The `kind` vectors of a trained model ([`Model::word_vectors`], which computes them
    /// into a new matrix that is then normalised in place), with a copy of its vocabulary.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the model does not have one row per vocabulary entry,
    /// [`Error::InvalidArgument`] when its subwords were indexed from other words.
    pub fn from_model(model: &Model, vocab: &Vocab, kind: VectorKind) -> Result<Self> {
        if model.n_words() != vocab.len() {
            return Err(Error::ShapeMismatch {
                what: "model rows (one per vocabulary entry)",
                expected: vec![vocab.len(), model.dim()],
                found: vec![model.n_words(), model.dim()],
            });
        }
        crate::subwords::check_words(model.subwords(), vocab.words())?;
        Self::new(vocab.clone(), model.word_vectors(kind))
    }

    /// The `kind` vectors of a model folder written by [`save_model`](crate::save_model)
    /// (read with [`load_model`](crate::load_model); a `<UNK>` entry is kept as an entry,
    /// never an answer).
    ///
    /// # Errors
    ///
    /// Those of [`load_model`](crate::load_model).
    pub fn load_model(dir: impl AsRef<Path>, kind: VectorKind) -> Result<Self> {
        let (model, vocab) = crate::io::load_model(dir.as_ref(), OovPolicy::Drop)?;
        Self::new(vocab, model.word_vectors(kind))
    }

    /// The vectors of a file in any format [`read_word_vectors`](crate::read_word_vectors)
    /// recognises (finalfusion, or word2vec text or binary, compressed or not), words in
    /// file order, their ranks as counts.
    ///
    /// # Errors
    ///
    /// Those of [`read_word_vectors`](crate::read_word_vectors).
    pub fn read_word_vectors(path: impl AsRef<Path>) -> Result<Self> {
        let (vocab, vectors) = crate::io::read_word_vectors(path)?;
        Self::new(vocab, vectors)
    }

    /// The vectors of a word2vec file in the given format
    /// ([`read_word2vec`](crate::read_word2vec)).
    ///
    /// # Errors
    ///
    /// Those of [`read_word2vec`](crate::read_word2vec).
    pub fn read_word2vec(path: impl AsRef<Path>, format: Word2vecFormat) -> Result<Self> {
        let (words, vectors) = crate::io::read_word2vec(path, format)?;
        Self::new(crate::io::vocab_of_ranked_words(words)?, vectors)
    }

    /// The vectors of a finalfusion file ([`read_finalfusion`](crate::read_finalfusion):
    /// each row is its norm times its stored unit row, then normalised again here).
    ///
    /// Available with the `finalfusion` cargo feature.
    ///
    /// # Errors
    ///
    /// Those of [`read_finalfusion`](crate::read_finalfusion).
    #[cfg(feature = "finalfusion")]
    pub fn read_finalfusion(path: impl AsRef<Path>) -> Result<Self> {
        let (words, vectors) = crate::io::read_finalfusion(path.as_ref())?;
        Self::new(crate::io::vocab_of_ranked_words(words)?, vectors)
    }

    /// Writes these vectors as a finalfusion file: the unit rows and their lengths as
    /// finalfusion's norms, with the training configuration in the metadata, as
    /// [`write_finalfusion`](crate::write_finalfusion) with
    /// [`FinalfusionVectors::Normalized`](crate::FinalfusionVectors::Normalized) (no
    /// vector is normalised again).
    ///
    /// Available with the `finalfusion` cargo feature.
    ///
    /// # Errors
    ///
    /// As [`write_finalfusion`](crate::write_finalfusion).
    #[cfg(feature = "finalfusion")]
    pub fn write_finalfusion(
        &self,
        path: impl AsRef<Path>,
        config: Option<&crate::TrainConfig>,
    ) -> Result<()> {
        crate::io::write_finalfusion_parts(
            path.as_ref(),
            self.unit.view(),
            self.norms.view(),
            &self.vocab,
            config,
        )
    }

    /// The number of words.
    pub fn len(&self) -> usize {
        self.unit.nrows()
    }

    /// Whether there is no word (never true: building embeddings of no word is an error).
    pub fn is_empty(&self) -> bool {
        self.unit.nrows() == 0
    }

    /// The dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.unit.ncols()
    }

    /// The vocabulary: the words in id order, with their counts. Vectors read from a file
    /// have no counts: their ranks stand for them (`n, n − 1, …, 1` in file order, as
    /// [`read_word_vectors`](crate::read_word_vectors) gives), whichever reader read them.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The words, indexed by id.
    pub fn words(&self) -> &[String] {
        self.vocab.words()
    }

    /// The word with id `id`, if any.
    pub fn word(&self, id: usize) -> Option<&str> {
        self.vocab.word(id)
    }

    /// The id of `word` by the lookup rule of [`Vocab::id`], if it is found.
    pub fn id(&self, word: &str) -> Option<usize> {
        self.vocab.id(word)
    }

    /// Whether `word` is found by the lookup rule of [`Vocab::id`].
    pub fn contains(&self, word: &str) -> bool {
        self.id(word).is_some()
    }

    /// The id of `word`, or [`Error::UnknownWord`].
    fn require(&self, word: &str) -> Result<usize> {
        self.id(word).ok_or_else(|| Error::UnknownWord {
            word: word.to_owned(),
        })
    }

    /// The vector of `word` as it was given to these embeddings (unnormalised), computed
    /// as its length times its unit vector, so an owned array. Each value is within about
    /// three `f32` roundings of the original (relative error at most `3·2⁻²⁴` for values in
    /// the normal `f32` range); [`unit_vector`](Self::unit_vector) and
    /// [`norm`](Self::norm) are exact.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWord`] when `word` is not found.
    pub fn get(&self, word: &str) -> Result<Array1<f32>> {
        let id = self.require(word)?;
        let norm = self.norms[id];
        Ok(self.unit.row(id).mapv(|x| x * norm))
    }

    /// The unit-length vector of `word`, borrowed (all NaN for a vector that held a NaN or
    /// an infinity, zero for a zero vector).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWord`] when `word` is not found.
    pub fn unit_vector(&self, word: &str) -> Result<ArrayView1<'_, f32>> {
        let id = self.require(word)?;
        Ok(self.unit.row(id))
    }

    /// The length of `word`'s vector before normalisation.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWord`] when `word` is not found.
    pub fn norm(&self, word: &str) -> Result<f32> {
        let id = self.require(word)?;
        Ok(self.norms[id])
    }

    /// Every unit vector, one row per id.
    pub fn unit_vectors(&self) -> ArrayView2<'_, f32> {
        self.unit.view()
    }

    /// Every vector's length before normalisation, by id.
    pub fn norms(&self) -> ArrayView1<'_, f32> {
        self.norms.view()
    }

    /// The cosine similarity of two words (NaN if either vector held a NaN or an
    /// infinity, 0 if either is zero).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWord`] naming the first word not found.
    pub fn similarity(&self, a: &str, b: &str) -> Result<f32> {
        let (a, b) = (self.require(a)?, self.require(b)?);
        Ok(self.unit.row(a).dot(&self.unit.row(b)))
    }

    /// The `k` words most similar to the `positive` words and least similar to the
    /// `negative` ones by 3CosAdd, best first: the cosine with
    /// `Σ positive − Σ negative` of the unit vectors (gensim's `most_similar`), over every
    /// word but the query words. `most_similar(&["king", "woman"], &["man"], k)` answers
    /// man : king :: woman : ?.
    ///
    /// # Errors
    ///
    /// As [`most_similar_with`](Self::most_similar_with).
    pub fn most_similar(
        &self,
        positive: &[&str],
        negative: &[&str],
        k: usize,
    ) -> Result<Vec<Neighbour<'_>>> {
        self.most_similar_with(positive, negative, k, SearchOptions::default())
    }

    /// [`most_similar`](Self::most_similar) with a method and a restriction: under
    /// [`AnalogyMethod::CosMul`] the score is
    /// `Π_p cos′(d, p) / (Π_n cos′(d, n) + ε)` with `cos′ = (cos + 1) / 2` and
    /// `ε` = [`COSMUL_EPSILON`](crate::eval::COSMUL_EPSILON) (gensim's `most_similar_cosmul`).
    /// Fewer than `k` neighbours come back when fewer words are candidates; none when the
    /// query has no direction (3CosAdd with `Σ positive − Σ negative = 0`, or a vector
    /// that held a NaN).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWord`] naming the first query word not found;
    /// [`Error::InvalidArgument`] when `positive` is empty or the restriction is 0.
    pub fn most_similar_with(
        &self,
        positive: &[&str],
        negative: &[&str],
        k: usize,
        options: SearchOptions,
    ) -> Result<Vec<Neighbour<'_>>> {
        if positive.is_empty() {
            return Err(Error::InvalidArgument {
                what: "positive words",
                message: "at least one word is needed".to_owned(),
            });
        }
        let positive = self.ids(positive)?;
        let negative = self.ids(negative)?;
        let rows = |ids: &[usize]| ids.iter().map(|&id| self.unit.row(id)).collect::<Vec<_>>();
        let exclude: Vec<usize> = positive.iter().chain(&negative).copied().collect();
        self.search(&rows(&positive), &rows(&negative), &exclude, k, options)
    }

    /// The `k` words whose vectors are most similar to `vector` (which need not have unit
    /// length), best first, no word excluded but the special tokens; the score is the
    /// cosine (or, under [`AnalogyMethod::CosMul`], `cos′ / (1 + ε)`).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when `vector` does not have the embeddings' dimension.
    pub fn most_similar_by_vector(
        &self,
        vector: ArrayView1<'_, f32>,
        k: usize,
    ) -> Result<Vec<Neighbour<'_>>> {
        self.most_similar_by_vector_with(vector, k, SearchOptions::default())
    }

    /// [`most_similar_by_vector`](Self::most_similar_by_vector) with a method and a
    /// restriction.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when `vector` does not have the embeddings' dimension;
    /// [`Error::InvalidArgument`] when the restriction is 0.
    pub fn most_similar_by_vector_with(
        &self,
        vector: ArrayView1<'_, f32>,
        k: usize,
        options: SearchOptions,
    ) -> Result<Vec<Neighbour<'_>>> {
        if vector.len() != self.dim() {
            return Err(Error::ShapeMismatch {
                what: "query vector",
                expected: vec![self.dim()],
                found: vec![vector.len()],
            });
        }
        let mut query = vector.to_owned().insert_axis(ndarray::Axis(0));
        normalize_rows(query.view_mut());
        self.search(&[query.row(0)], &[], &[], k, options)
    }

    /// The `k` best answers d to the analogy a : b :: c : ? by 3CosAdd (cos(d, b − a + c)),
    /// a, b and c excluded: [`most_similar`](Self::most_similar) with positive `[b, c]`
    /// and negative `[a]`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWord`] naming the first word not found.
    pub fn analogy(&self, a: &str, b: &str, c: &str, k: usize) -> Result<Vec<Neighbour<'_>>> {
        self.analogy_with(a, b, c, k, SearchOptions::default())
    }

    /// [`analogy`](Self::analogy) with a method (3CosMul:
    /// `cos′(d, b) cos′(d, c) / (cos′(d, a) + ε)`) and a restriction of the answers.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWord`] naming the first word not found; [`Error::InvalidArgument`]
    /// when the restriction is 0.
    pub fn analogy_with(
        &self,
        a: &str,
        b: &str,
        c: &str,
        k: usize,
        options: SearchOptions,
    ) -> Result<Vec<Neighbour<'_>>> {
        let [a, b, c] = [self.require(a)?, self.require(b)?, self.require(c)?];
        let row = |id: usize| self.unit.row(id);
        self.search(&[row(b), row(c)], &[row(a)], &[a, b, c], k, options)
    }

    /// The word of `words` that matches the others least: the one whose unit vector has
    /// the lowest cosine with the mean of their unit vectors (gensim's `doesnt_match`), as
    /// given in `words`. A word whose vector held a NaN or an infinity is the odd one out;
    /// ties go to the first.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownWord`] naming the first word not found; [`Error::InvalidArgument`]
    /// when `words` is empty.
    pub fn doesnt_match<'w>(&self, words: &[&'w str]) -> Result<&'w str> {
        let ids = self.ids(words)?;
        let mut sum = Array1::<f32>::zeros(self.dim());
        for &id in &ids {
            let row = self.unit.row(id);
            if row.iter().all(|x| x.is_finite()) {
                sum += &row;
            }
        }
        let mut odd: Option<(&'w str, f32)> = None;
        for (&word, &id) in words.iter().zip(&ids) {
            // The mean's length does not change which cosine is lowest.
            let score = self.unit.row(id).dot(&sum);
            let score = if score.is_nan() {
                f32::NEG_INFINITY
            } else {
                score
            };
            if odd.is_none_or(|(_, lowest)| score < lowest) {
                odd = Some((word, score));
            }
        }
        odd.map(|(word, _)| word)
            .ok_or_else(|| Error::InvalidArgument {
                what: "words",
                message: "at least one word is needed".to_owned(),
            })
    }

    /// An [`AnalogySearch`] over the `restrict` most frequent words that borrows these unit
    /// vectors and this vocabulary (nothing is copied), to answer many analogy questions at
    /// once or to evaluate an [`AnalogyDataset`](crate::eval::AnalogyDataset) or
    /// [`BatsDataset`](crate::eval::BatsDataset). It gives the same answers as
    /// [`AnalogySearch::new`] on the original vectors.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when `restrict` is 0, as [`AnalogySearch::new`].
    pub fn analogy_search(&self, restrict: usize) -> Result<AnalogySearch<'_>> {
        let n = restricted_rows(restrict, self.len())?;
        Ok(AnalogySearch::from_unit_rows(
            CowArray::from(self.unit.slice(s![..n, ..])),
            &self.vocab,
        ))
    }

    /// The ids of `words`, or [`Error::UnknownWord`] for the first not found.
    fn ids(&self, words: &[&str]) -> Result<Vec<usize>> {
        words.iter().map(|word| self.require(word)).collect()
    }

    /// The `k` best candidates for a query of unit vectors, `exclude` and the special
    /// tokens skipped.
    fn search(
        &self,
        positive: &[ArrayView1<'_, f32>],
        negative: &[ArrayView1<'_, f32>],
        exclude: &[usize],
        k: usize,
        options: SearchOptions,
    ) -> Result<Vec<Neighbour<'_>>> {
        let n = match options.restrict {
            Some(restrict) => restricted_rows(restrict, self.len())?,
            None => self.len(),
        };
        let candidates = self.unit.slice(s![..n, ..]);
        let scores = query_scores(candidates, positive, negative, options.method);
        let mut excluded: Vec<usize> = exclude.iter().copied().filter(|&id| id < n).collect();
        excluded.extend(self.special.iter().copied().filter(|&id| id < n));
        Ok(top_k(scores.view(), k, &excluded)
            .into_iter()
            .map(|(id, score)| Neighbour {
                word: self.vocab.word(id).unwrap_or_default(),
                id,
                score,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_are_send_sync_and_static() {
        fn assert_auto<T: Send + Sync + 'static>() {}
        assert_auto::<Embeddings>();
        assert_auto::<SearchOptions>();
    }
}
