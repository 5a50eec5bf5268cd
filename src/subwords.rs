//! Subword (character n-gram) focus vectors, as fastText builds them (Bojanowski et al.,
//! 2017, "Enriching Word Vectors with Subword Information").
//!
//! With subwords, the focus vector of word `w` is no longer a free row of `U` but the
//! weighted mean of its own row `x_w`, of weight `a` (the `word_weight`), and the rows `z_g`
//! of its character n-grams `G_w`, of weight 1 each:
//!
//! ```text
//! u_w = (a·x_w + Σ_{g ∈ G_w} z_g) / (a + |G_w|)
//! ```
//!
//! fastText takes the plain mean, `a = 1`, in training and in the vectors it gives users.
//! The crate trains with `a = 2` by default, a word's own row weighing as much as two of
//! its n-grams, and reads the word vectors for users ([`VectorKind`](crate::VectorKind))
//! with a weight of its own, the `readout_weight` `b`, 0.25 by default:
//!
//! ```text
//! u_w (scores, training, held-out loss)   = (a·x_w + Σ_g z_g) / (a + |G_w|)
//! u_w (every read-out of word vectors)     = (b·x_w + Σ_g z_g) / (b + |G_w|)
//! ```
//!
//! Training with the heavier own row leaves in `x_w` what is the word's alone and in the
//! n-gram rows what its forms share; reading with the lighter one draws each word towards
//! the family of forms it belongs to. On English Wikipedia (eight seeds) `a = 2, b = 1`
//! scored higher than fastText's `a = b = 1` on MEN, MTurk-771, SimVerb, MSR (5.6 points)
//! and BATS, the same on RW; `a = b = 2` scored like `a = b = 1`; reading the same models
//! at `b = 0.25` gained again on every set but RW (SimVerb 0.004, MSR 3.6 points, BATS
//! 1.2; RW −0.004), and kept the Bulgarian pair of issue 10 on all six seeds (see
//! `BENCHMARKS.md`). The read-out weight does not touch training: a trained model can be
//! read at any `b` ([`Subwords::set_readout_weight`]). On a small corpus the light own row
//! lets words that merely share letters in (on the bundled Bible, `asking` among the
//! neighbours of `king`); a heavier `b` keeps them out. Set `b = a` for vectors that
//! reproduce the model's scores.
//!
//! The n-grams of a word are the substrings of `<word>` (the word between the boundary
//! marks `<` and `>`) of `min_n` to `max_n` characters (not bytes), one per position, so a
//! repeated n-gram counts as often as it occurs. The n-gram table holds only the n-grams
//! that occur in at least `min_words` vocabulary words: an n-gram of one word only adds a
//! second row to that word's own, while one shared by several words lets them learn from
//! each other (a rare word from the frequent words that share its stem or ending).
//!
//! Everything else in the model is unchanged: the score of a pair is `v_cᵀ W u_w` (with
//! per-offset interactions `v_cᵀ D_p W u_w`), and `∂J/∂x_w = a·∂J/∂u_w / (a + |G_w|)`,
//! `∂J/∂z_g = ∂J/∂u_w / (a + |G_w|)` for each occurrence of `g` in `G_w` ([`crate::loss`]
//! gives `∂J/∂u_w`, `|G_w|` counts repeats). The trainer steps the word's row and each
//! distinct n-gram row once by `−α ∂J/∂u_w`, as fastText does: a multiple of the gradient
//! step on each, chosen so that `u_w` itself moves by exactly `−α ∂J/∂u_w`
//! (`(a + |G_w|) / (a + |G_w|)`, an n-gram met `k` times counting `k` times in the mean),
//! the step a word without subwords takes.

use std::collections::HashMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::str::FromStr;

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2};

use crate::error::{ConfigError, Error, Result};

/// The boundary marks around a word before its n-grams are taken.
const BOW: char = '<';
const EOW: char = '>';

/// Longest n-gram the configuration accepts, in characters.
pub const MAX_NGRAM: usize = 32;

/// Which character n-grams make up the focus vectors (see the [module documentation](self)).
///
/// ```
/// use bilinear_skipgram::subwords::SubwordConfig;
///
/// let config: SubwordConfig = "3-6".parse()?;
/// assert_eq!((config.min_n(), config.max_n(), config.min_words()), (3, 6, 2));
/// assert_eq!(config.word_weight(), 2.0);
/// assert_eq!(config.to_string(), "3-6");
/// // fastText's plain mean:
/// assert_eq!(config.with_word_weight(1.0)?.word_weight(), 1.0);
/// # Ok::<(), bilinear_skipgram::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubwordConfig {
    pub(crate) min_n: usize,
    pub(crate) max_n: usize,
    pub(crate) min_words: usize,
    pub(crate) word_weight: f32,
    pub(crate) readout_weight: f32,
}

/// The default [`SubwordConfig::word_weight`].
pub const DEFAULT_WORD_WEIGHT: f32 = 2.0;

/// The default [`SubwordConfig::readout_weight`]: a word's own row weighs a quarter of one
/// of its n-grams in the vectors read out (see the [module documentation](self)).
pub const DEFAULT_READOUT_WEIGHT: f32 = 0.25;

/// Largest [`SubwordConfig::word_weight`] and [`SubwordConfig::readout_weight`] the
/// configuration accepts.
pub const MAX_WORD_WEIGHT: f32 = 1e6;

impl Default for SubwordConfig {
    /// 4 to 6 characters, kept when at least 2 words share them, the word's own row
    /// weighing [`DEFAULT_WORD_WEIGHT`] (2) in training and [`DEFAULT_READOUT_WEIGHT`]
    /// (0.25) in the word vectors read out. (fastText takes 3 to 6 and weight 1 for both;
    /// on English Wikipedia 4 to 6 scored higher on MEN, MTurk-771 and SimVerb and lower on
    /// the analogies, and the weights 2 and 0.25 higher than 1 and 1 on every set but RW:
    /// see `BENCHMARKS.md`.)
    fn default() -> Self {
        SubwordConfig {
            min_n: 4,
            max_n: 6,
            min_words: 2,
            word_weight: DEFAULT_WORD_WEIGHT,
            readout_weight: DEFAULT_READOUT_WEIGHT,
        }
    }
}

impl SubwordConfig {
    /// N-grams of `min_n` to `max_n` characters (`1 ≤ min_n ≤ max_n ≤` [`MAX_NGRAM`]),
    /// kept when at least 2 vocabulary words have them, the word's own row of weight
    /// [`DEFAULT_WORD_WEIGHT`] in training and [`DEFAULT_READOUT_WEIGHT`] when read out.
    ///
    /// # Errors
    ///
    /// [`ConfigError::TooSmall`] or [`ConfigError::TooLarge`] for a length out of range, or
    /// `max_n` below `min_n`.
    pub fn new(min_n: usize, max_n: usize) -> std::result::Result<Self, ConfigError> {
        SubwordConfig {
            min_n,
            max_n,
            min_words: 2,
            word_weight: DEFAULT_WORD_WEIGHT,
            readout_weight: DEFAULT_READOUT_WEIGHT,
        }
        .checked()
    }

    /// The same lengths, keeping the n-grams that at least `min_words` vocabulary words
    /// have (1 keeps every n-gram).
    ///
    /// # Errors
    ///
    /// [`ConfigError::TooSmall`] when `min_words` is 0.
    pub fn with_min_words(self, min_words: usize) -> std::result::Result<Self, ConfigError> {
        SubwordConfig { min_words, ..self }.checked()
    }

    /// The same n-grams, the word's own row weighing `word_weight` against 1 for each
    /// n-gram in the focus vector `(a·x_w + Σ_g z_g) / (a + |G_w|)` that the scores and
    /// training use (1 is fastText's plain mean).
    ///
    /// # Errors
    ///
    /// [`ConfigError::NotFinite`] for NaN or an infinity, [`ConfigError::OutOfRange`]
    /// unless `0 < word_weight ≤` [`MAX_WORD_WEIGHT`].
    pub fn with_word_weight(self, word_weight: f32) -> std::result::Result<Self, ConfigError> {
        SubwordConfig {
            word_weight,
            ..self
        }
        .checked()
    }

    /// The same n-grams and training, the word's own row weighing `readout_weight`
    /// against 1 for each n-gram in the focus vectors the word vectors are read from
    /// ([`Model::word_vectors`](crate::Model::word_vectors)); equal to
    /// [`word_weight`](Self::word_weight), they are the vectors the scores use.
    ///
    /// # Errors
    ///
    /// As [`with_word_weight`](Self::with_word_weight), naming `subword_readout_weight`.
    pub fn with_readout_weight(
        self,
        readout_weight: f32,
    ) -> std::result::Result<Self, ConfigError> {
        SubwordConfig {
            readout_weight,
            ..self
        }
        .checked()
    }

    /// Shortest n-gram, in characters.
    pub fn min_n(&self) -> usize {
        self.min_n
    }

    /// Longest n-gram, in characters.
    pub fn max_n(&self) -> usize {
        self.max_n
    }

    /// Vocabulary words an n-gram must occur in to get a row.
    pub fn min_words(&self) -> usize {
        self.min_words
    }

    /// The weight of a word's own row against 1 for each of its n-grams, in the focus
    /// vectors the scores and training use.
    pub fn word_weight(&self) -> f32 {
        self.word_weight
    }

    /// The weight of a word's own row against 1 for each of its n-grams, in the focus
    /// vectors the word vectors are read from.
    pub fn readout_weight(&self) -> f32 {
        self.readout_weight
    }

    pub(crate) fn checked(self) -> std::result::Result<Self, ConfigError> {
        let range = |field, value: usize, min: usize, max: usize| {
            let value = value as u64;
            if value < min as u64 {
                Err(ConfigError::TooSmall {
                    field,
                    min: min as u64,
                    value,
                })
            } else if value > max as u64 {
                Err(ConfigError::TooLarge {
                    field,
                    max: max as u64,
                    value,
                })
            } else {
                Ok(())
            }
        };
        range("subword_min_n", self.min_n, 1, MAX_NGRAM)?;
        range("subword_max_n", self.max_n, self.min_n, MAX_NGRAM)?;
        range("subword_min_words", self.min_words, 1, u32::MAX as usize)?;
        for (field, weight) in [
            ("subword_word_weight", self.word_weight),
            ("subword_readout_weight", self.readout_weight),
        ] {
            if !weight.is_finite() {
                return Err(ConfigError::NotFinite {
                    field,
                    value: weight.into(),
                });
            }
            if weight <= 0.0 || weight > MAX_WORD_WEIGHT {
                return Err(ConfigError::OutOfRange {
                    field,
                    range: "(0, 1e6]",
                    value: weight.into(),
                });
            }
        }
        Ok(self)
    }

    /// The n-grams of `word` (of `<word>`), in order of position and then of length.
    ///
    /// ```
    /// use bilinear_skipgram::subwords::SubwordConfig;
    ///
    /// assert_eq!(SubwordConfig::new(3, 4)?.ngrams("ой"), ["<ой", "<ой>", "ой>"]);
    /// # Ok::<(), bilinear_skipgram::ConfigError>(())
    /// ```
    pub fn ngrams(&self, word: &str) -> Vec<String> {
        let mut grams = Vec::new();
        self.for_each_ngram(word, |g| grams.push(g.to_owned()));
        grams
    }

    /// Calls `f` on each n-gram of `word`, in the order of [`ngrams`](Self::ngrams).
    fn for_each_ngram(&self, word: &str, mut f: impl FnMut(&str)) {
        let text = format!("{BOW}{word}{EOW}");
        let bounds: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        let chars = bounds.len() - 1;
        for start in 0..chars {
            for len in self.min_n..=self.max_n.min(chars - start) {
                f(&text[bounds[start]..bounds[start + len]]);
            }
        }
    }
}

impl fmt::Display for SubwordConfig {
    /// `min_n-max_n`, as [`FromStr`] reads it (`min_words` and the weights are not part
    /// of it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.min_n, self.max_n)
    }
}

impl FromStr for SubwordConfig {
    type Err = ConfigError;

    /// `MIN-MAX` (as `3-6`), or one length `N` for `N-N`; `min_words` and the weights
    /// are the defaults'.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Parse`] (line 0) for text of another form, and what
    /// [`SubwordConfig::new`] refuses.
    fn from_str(text: &str) -> std::result::Result<Self, ConfigError> {
        let bad = || ConfigError::Parse {
            line: 0,
            message: format!(
                "subword n-gram lengths must be `MIN-MAX` (as `3-6`) or `N`, got {text:?}"
            ),
        };
        let (min, max) = text.split_once('-').unwrap_or((text, text));
        let min = min.trim().parse().map_err(|_| bad())?;
        let max = max.trim().parse().map_err(|_| bad())?;
        SubwordConfig::new(min, max)
    }
}

/// The n-gram dictionary of a vocabulary and each word's n-grams (see the
/// [module documentation](self)). It depends only on the words, in order, and the
/// configuration, so a saved model rebuilds it from its vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct SubwordIndex {
    config: SubwordConfig,
    /// The kept n-grams, in order of first occurrence (vocabulary order, then position).
    grams: Vec<String>,
    ids: HashMap<String, u32>,
    /// `word_grams[offsets[w]..offsets[w + 1]]` are word `w`'s n-gram ids.
    offsets: Vec<usize>,
    word_grams: Vec<u32>,
    /// A hash of the indexed words, in order: what [`SubwordIndex::indexes`] compares.
    words_hash: u64,
}

/// A hash of a word list, in order (words and their boundaries).
fn hash_words(words: &[impl AsRef<str>]) -> u64 {
    let mut hasher = DefaultHasher::new();
    words.len().hash(&mut hasher);
    for word in words {
        word.as_ref().hash(&mut hasher);
    }
    hasher.finish()
}

impl SubwordIndex {
    /// The index of `words` (a vocabulary's, in id order).
    ///
    /// ```
    /// use bilinear_skipgram::subwords::{SubwordConfig, SubwordIndex};
    ///
    /// let index = SubwordIndex::new(&["walk", "walked", "talk"], SubwordConfig::new(3, 3)?)?;
    /// // `<wa`, `wal`, `alk` are shared by walk and walked, `alk` and `lk>` also by talk.
    /// let grams: Vec<&str> = index.word_ngrams(0).map(|g| index.ngram(g).unwrap()).collect();
    /// assert_eq!(grams, ["<wa", "wal", "alk", "lk>"]);
    /// assert_eq!(index.word_ngrams(2).count(), 2);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when the kept n-grams do not fit `u32` ids.
    pub fn new(words: &[impl AsRef<str>], config: SubwordConfig) -> Result<Self> {
        // Pass 1: the words each n-gram occurs in (counted once per word), and the order
        // n-grams are first met in.
        let mut met: HashMap<String, (usize, usize)> = HashMap::new();
        let mut last_word: HashMap<String, usize> = HashMap::new();
        for (w, word) in words.iter().enumerate() {
            config.for_each_ngram(word.as_ref(), |g| {
                if last_word.get(g) == Some(&w) {
                    return;
                }
                last_word.insert(g.to_owned(), w);
                let order = met.len();
                met.entry(g.to_owned()).or_insert((order, 0)).1 += 1;
            });
        }
        drop(last_word);
        let mut kept: Vec<(usize, String)> = met
            .into_iter()
            .filter(|(_, (_, n_words))| *n_words >= config.min_words)
            .map(|(g, (order, _))| (order, g))
            .collect();
        kept.sort_unstable_by_key(|&(order, _)| order);
        if u32::try_from(kept.len()).is_err() {
            return Err(Error::InvalidArgument {
                what: "subword n-grams",
                message: format!(
                    "{} n-grams are kept, more than u32 ids can number; raise \
                     subword_min_words",
                    kept.len()
                ),
            });
        }
        let grams: Vec<String> = kept.into_iter().map(|(_, g)| g).collect();
        let ids: HashMap<String, u32> = grams
            .iter()
            .enumerate()
            .map(|(id, g)| (g.clone(), id as u32))
            .collect();
        // Pass 2: each word's kept n-grams, repeats included, in id order (so that the
        // trainer steps a repeated n-gram once: see `SharedSubwords::step`).
        let mut offsets = Vec::with_capacity(words.len() + 1);
        let mut word_grams = Vec::new();
        offsets.push(0);
        for word in words {
            let start = word_grams.len();
            config.for_each_ngram(word.as_ref(), |g| {
                if let Some(&id) = ids.get(g) {
                    word_grams.push(id);
                }
            });
            word_grams[start..].sort_unstable();
            offsets.push(word_grams.len());
        }
        Ok(SubwordIndex {
            config,
            grams,
            ids,
            offsets,
            word_grams,
            words_hash: hash_words(words),
        })
    }

    /// The configuration the index was built with.
    pub fn config(&self) -> SubwordConfig {
        self.config
    }

    /// Words indexed.
    pub fn n_words(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether the index was built from `words` (the same words in the same order), as a
    /// hash of them tells: a model's index must be its vocabulary's, or every word would
    /// be composed from another word's n-grams.
    ///
    /// ```
    /// use bilinear_skipgram::subwords::{SubwordConfig, SubwordIndex};
    ///
    /// let index = SubwordIndex::new(&["walk", "talk"], SubwordConfig::new(3, 3)?)?;
    /// assert!(index.indexes(&["walk", "talk"]));
    /// assert!(!index.indexes(&["talk", "walk"]));
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn indexes(&self, words: &[impl AsRef<str>]) -> bool {
        words.len() == self.n_words() && hash_words(words) == self.words_hash
    }

    /// N-grams kept: the rows of the n-gram table.
    pub fn n_ngrams(&self) -> usize {
        self.grams.len()
    }

    /// The text of n-gram `id`.
    pub fn ngram(&self, id: u32) -> Option<&str> {
        self.grams.get(id as usize).map(String::as_str)
    }

    /// The id of an n-gram's text, if it was kept.
    pub fn ngram_id(&self, gram: &str) -> Option<u32> {
        self.ids.get(gram).copied()
    }

    /// The kept n-grams of vocabulary word `word` in id order, a repeated one as often as
    /// it occurs (none for an id out of range).
    pub fn word_ngrams(&self, word: usize) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.word_ngram_slice(word).iter().copied()
    }

    pub(crate) fn word_ngram_slice(&self, word: usize) -> &[u32] {
        match (self.offsets.get(word), self.offsets.get(word + 1)) {
            (Some(&from), Some(&to)) => &self.word_grams[from..to],
            _ => &[],
        }
    }

    /// The kept n-grams of any string, in or out of the vocabulary.
    pub fn ngrams_of(&self, word: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        self.config
            .for_each_ngram(word, |g| ids.extend(self.ngram_id(g)));
        ids
    }
}

/// A model's subwords: the [`SubwordIndex`] of its vocabulary and the n-gram table `Z`
/// (`n_ngrams × M`), one row per kept n-gram.
#[derive(Debug, Clone, PartialEq)]
pub struct Subwords {
    index: SubwordIndex,
    table: Array2<f32>,
}

impl Subwords {
    /// Subwords from an index and a table of one row per kept n-gram.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] unless `table` has [`SubwordIndex::n_ngrams`] rows and `dim`
    /// columns.
    pub fn new(index: SubwordIndex, table: Array2<f32>, dim: usize) -> Result<Self> {
        if table.dim() != (index.n_ngrams(), dim) {
            return Err(Error::ShapeMismatch {
                what: "subword n-gram table",
                expected: vec![index.n_ngrams(), dim],
                found: table.shape().to_vec(),
            });
        }
        Ok(Subwords { index, table })
    }

    /// The index: which n-grams each word has.
    pub fn index(&self) -> &SubwordIndex {
        &self.index
    }

    /// Reads the word vectors at another [`readout_weight`](SubwordConfig::readout_weight):
    /// it weighs the word's own row in the read-out only, so a trained model can be read
    /// at any weight without training again (the scores and training are unchanged).
    ///
    /// ```
    /// use bilinear_skipgram::subwords::{SubwordConfig, SubwordIndex, Subwords};
    /// use bilinear_skipgram::ndarray::Array2;
    ///
    /// let index = SubwordIndex::new(&["walk", "talk"], SubwordConfig::new(3, 3)?)?;
    /// let mut subwords = Subwords::new(index, Array2::zeros((2, 4)), 4)?;
    /// subwords.set_readout_weight(0.5)?;
    /// assert_eq!(subwords.index().config().readout_weight(), 0.5);
    /// assert!(subwords.set_readout_weight(0.0).is_err());
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`SubwordConfig::with_readout_weight`]; the weight is then unchanged.
    pub fn set_readout_weight(&mut self, weight: f32) -> std::result::Result<(), ConfigError> {
        self.index.config = self.index.config.with_readout_weight(weight)?;
        Ok(())
    }

    /// `Z`, the n-gram rows.
    pub fn table(&self) -> ArrayView2<'_, f32> {
        self.table.view()
    }

    /// Mutable `Z`.
    pub fn table_mut(&mut self) -> ArrayViewMut2<'_, f32> {
        self.table.view_mut()
    }

    /// `Z` mutably and the index, at once (for the trainer).
    pub(crate) fn parts_mut(&mut self) -> (ArrayViewMut2<'_, f32>, &SubwordIndex) {
        (self.table.view_mut(), &self.index)
    }

    /// The focus vectors `u_w = (a·x_w + Σ_g z_g) / (a + |G_w|)` the scores use, of every
    /// word (`a` the [`word_weight`](SubwordConfig::word_weight)), from the words' own rows
    /// `rows` (`U`).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] unless `rows` has one row per indexed word and the table's
    /// width.
    pub fn focus_vectors(&self, rows: ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        self.check_rows(rows)?;
        Ok(self.compose(rows, self.index.config.word_weight))
    }

    /// The focus vectors the word vectors are read from, `(b·x_w + Σ_g z_g) / (b + |G_w|)`
    /// with `b` the [`readout_weight`](SubwordConfig::readout_weight).
    ///
    /// # Errors
    ///
    /// As [`focus_vectors`](Self::focus_vectors).
    pub fn readout_vectors(&self, rows: ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        self.check_rows(rows)?;
        Ok(self.compose(rows, self.index.config.readout_weight))
    }

    fn check_rows(&self, rows: ArrayView2<'_, f32>) -> Result<()> {
        let expected = (self.index.n_words(), self.table.ncols());
        if rows.dim() != expected {
            return Err(Error::ShapeMismatch {
                what: "focus rows of a model with subwords",
                expected: vec![expected.0, expected.1],
                found: rows.shape().to_vec(),
            });
        }
        Ok(())
    }

    /// Each word's row composed with its n-grams' rows at own weight `weight`, for rows of
    /// the right shape (a model's, checked when the subwords were added); rows beyond the
    /// index stay as they are.
    pub(crate) fn compose(&self, rows: ArrayView2<'_, f32>, weight: f32) -> Array2<f32> {
        // Rows in standard layout, each a slice (a transposed or column-major `U` too).
        let mut out = rows.as_standard_layout().into_owned();
        for (w, mut u) in out.rows_mut().into_iter().enumerate() {
            let grams = self.index.word_ngram_slice(w);
            if let Some(u) = u.as_slice_mut() {
                average_with(u, grams, weight, |g, u| {
                    add_row(u, self.table.row(g as usize))
                });
            }
        }
        out
    }

    /// The vector of any string from its kept n-grams alone (their mean), as fastText gives
    /// a word out of the vocabulary; `None` when it has none.
    pub fn ngram_vector(&self, word: &str) -> Option<Array1<f32>> {
        let grams = self.index.ngrams_of(word);
        let (&first, rest) = grams.split_first()?;
        let mut v = self.table.row(first as usize).to_owned();
        for &g in rest {
            v += &self.table.row(g as usize);
        }
        Some(v / grams.len() as f32)
    }
}

/// Checks that a model's subwords (if any) index `words`, its vocabulary's words.
pub(crate) fn check_words(subwords: Option<&Subwords>, words: &[String]) -> Result<()> {
    match subwords {
        Some(subwords) if !subwords.index().indexes(words) => Err(Error::InvalidArgument {
            what: "model",
            message: format!(
                "its n-gram index was built from other words than the vocabulary's {} \
                 (other words, or the same in another order): build the subwords from \
                 this vocabulary's words",
                words.len()
            ),
        }),
        _ => Ok(()),
    }
}

fn add_row(u: &mut [f32], z: ndarray::ArrayView1<'_, f32>) {
    for (a, b) in u.iter_mut().zip(z) {
        *a += b;
    }
}

/// `u ← (a·u + Σ_g z_g) / (a + |grams|)` for the word weight `a`, where `add(g, u)` adds
/// row `z_g` to `u`; `u` holds the word's own row on entry.
pub(crate) fn average_with(
    u: &mut [f32],
    grams: &[u32],
    weight: f32,
    mut add: impl FnMut(u32, &mut [f32]),
) {
    if grams.is_empty() {
        return;
    }
    if weight != 1.0 {
        for x in u.iter_mut() {
            *x *= weight;
        }
    }
    for &g in grams {
        add(g, u);
    }
    let scale = 1.0 / (weight + grams.len() as f32);
    for x in u.iter_mut() {
        *x *= scale;
    }
}
