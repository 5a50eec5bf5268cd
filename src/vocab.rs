//! The vocabulary: word counts, word ids, out-of-vocabulary handling and word2vec
//! subsampling.
//!
//! ```
//! use bilinear_skipgram::{OovPolicy, VocabBuilder};
//!
//! let mut builder = VocabBuilder::new();
//! for token in "the cat saw the dog and the bird".split(' ') {
//!     builder.add(token);
//! }
//! let vocab = builder.build(1, Some(3), OovPolicy::Unk)?;
//! // `<UNK>` takes one of the three entries and counts the 4 tokens left out.
//! assert_eq!(vocab.words(), ["<UNK>", "the", "and"]);
//! assert_eq!(vocab.counts(), [4, 3, 1]);
//! assert_eq!(vocab.lookup("dog"), vocab.unk_id());
//! # Ok::<(), bilinear_skipgram::Error>(())
//! ```

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, BufRead, Write};
use std::path::Path;

use crate::corpus::{Corpus, SentenceStream};
use crate::error::{ConfigError, Error, Result};
use crate::io::{LineReader, MAX_LINE_BYTES};

/// The vocabulary entry standing for every out-of-vocabulary token under [`OovPolicy::Unk`].
pub const UNK_TOKEN: &str = "<UNK>";

/// What happens to tokens that are not in the vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OovPolicy {
    /// Out-of-vocabulary tokens are dropped from training (as in word2vec).
    #[default]
    Drop,
    /// Out-of-vocabulary tokens map to a [`UNK_TOKEN`] entry, which always exists and whose
    /// count is the number of tokens it stands for (possibly 0).
    Unk,
}

/// Frequency order: count descending, then the word's bytes ascending.
fn frequency_order(a: (&str, u64), b: (&str, u64)) -> Ordering {
    b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0))
}

/// The id of the entry at `index`, if ids can still be `u32`.
fn id_for_index(index: usize) -> Result<u32> {
    u32::try_from(index).map_err(|_| {
        Error::Config(ConfigError::TooLarge {
            field: "vocabulary size",
            max: u64::from(u32::MAX),
            value: index as u64 + 1,
        })
    })
}

/// A map from words, hashed with [`FxHasher`].
type WordMap<V> = HashMap<String, V, BuildHasherDefault<FxHasher>>;

/// FxHash, the hash of the Rust compiler's own tables: one rotate, xor and multiply per 8
/// bytes. Every corpus token is looked up once per pass, and SipHash (the std default,
/// built to resist chosen collisions) cost about as much as the tokenizer. The words come
/// from the user's own corpus, so collision attacks are not a concern here.
#[derive(Debug, Clone, Copy, Default)]
struct FxHasher {
    hash: u64,
}

impl FxHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let (words, rest) = bytes.as_chunks::<8>();
        for &word in words {
            self.add(u64::from_le_bytes(word));
        }
        let mut last = [0_u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Counts tokens, then turns the counts into a [`Vocab`] with [`build`](Self::build).
#[derive(Debug, Clone, Default)]
pub struct VocabBuilder {
    counts: WordMap<u64>,
    n_tokens: u64,
    n_sentences: u64,
    longest_sentence: u64,
}

impl VocabBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one occurrence of `token`. Allocates only the first time a token is seen.
    pub fn add(&mut self, token: &str) {
        match self.counts.get_mut(token) {
            Some(count) => *count = count.saturating_add(1),
            None => {
                self.counts.insert(token.to_owned(), 1);
            }
        }
        self.n_tokens = self.n_tokens.saturating_add(1);
    }

    /// Counts every token of every remaining sentence of `stream`.
    ///
    /// # Errors
    ///
    /// Any error of [`SentenceStream::next_sentence`]; the tokens read before it stay
    /// counted.
    pub fn add_sentences(&mut self, stream: &mut SentenceStream) -> Result<()> {
        loop {
            let mut length = 0_u64;
            if !stream.next_sentence(|token| {
                self.add(token);
                length += 1;
            })? {
                return Ok(());
            }
            self.n_sentences += 1;
            self.longest_sentence = self.longest_sentence.max(length);
        }
    }

    /// Number of sentences counted by [`add_sentences`](Self::add_sentences) and
    /// [`count_corpus`](Self::count_corpus).
    pub fn n_sentences(&self) -> u64 {
        self.n_sentences
    }

    /// Tokens of the longest sentence counted by [`add_sentences`](Self::add_sentences)
    /// and [`count_corpus`](Self::count_corpus) (markers included): below 2, the corpus
    /// holds no (focus, context) pair.
    pub fn longest_sentence(&self) -> u64 {
        self.longest_sentence
    }

    /// Number of tokens counted (with repeats).
    pub fn n_tokens(&self) -> u64 {
        self.n_tokens
    }

    /// Number of distinct tokens counted.
    pub fn n_distinct(&self) -> usize {
        self.counts.len()
    }

    /// Counts the tokens of `corpus` in one streaming pass. Sentence markers are counted
    /// like words when the corpus options turn them on.
    ///
    /// # Errors
    ///
    /// Any error of [`Corpus::sentences`] or [`SentenceStream::next_sentence`].
    pub fn count_corpus(corpus: &Corpus) -> Result<VocabBuilder> {
        let mut builder = Self::new();
        builder.add_sentences(&mut corpus.sentences()?)?;
        Ok(builder)
    }

    /// Builds the vocabulary.
    ///
    /// Words with a count of at least `min_count` are kept, then at most `max_size` entries
    /// in total (the most frequent). Entries are ordered by count, descending, ties broken
    /// by the word's bytes, ascending, so the result does not depend on hashing; a word's
    /// id is its position.
    ///
    /// With [`OovPolicy::Unk`], a [`UNK_TOKEN`] entry is added whose count is the number of
    /// tokens left out (by `min_count` or by `max_size`); it takes one of the `max_size`
    /// places and is ordered by its count like any word. A token equal to [`UNK_TOKEN`]
    /// (the tokenizer never makes one) is counted into that entry.
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyVocabulary`] if no word is left, saying how many tokens and distinct
    ///   words were seen and which `min_count` and `max_size` left nothing.
    /// - [`Error::Config`] if more than `u32::MAX` entries would be kept.
    pub fn build(self, min_count: u64, max_size: Option<usize>, oov: OovPolicy) -> Result<Vocab> {
        let n_tokens = self.n_tokens;
        let n_distinct = self.counts.len();
        let mut n_unknown = 0_u64;
        let mut entries: Vec<(String, u64)> = Vec::with_capacity(n_distinct);
        for (word, count) in self.counts {
            if count >= min_count && !(oov == OovPolicy::Unk && word == UNK_TOKEN) {
                entries.push((word, count));
            } else {
                n_unknown = n_unknown.saturating_add(count);
            }
        }
        entries.sort_unstable_by(|a, b| frequency_order((a.0.as_str(), a.1), (b.0.as_str(), b.1)));
        let max_words = match (max_size, oov) {
            (None, _) => usize::MAX,
            (Some(max_size), OovPolicy::Drop) => max_size,
            (Some(max_size), OovPolicy::Unk) => max_size.saturating_sub(1),
        };
        if entries.len() > max_words {
            for (_, count) in entries.drain(max_words..) {
                n_unknown = n_unknown.saturating_add(count);
            }
        }
        if entries.is_empty() {
            let max_size = max_size.map_or_else(|| "none".to_owned(), |m| m.to_string());
            let unk_note = if oov == OovPolicy::Unk {
                " (with OovPolicy::Unk, <UNK> takes one of the max_size entries)"
            } else {
                ""
            };
            return Err(Error::EmptyVocabulary(format!(
                "{n_tokens} tokens ({n_distinct} distinct) were counted, and min_count = \
                 {min_count} with max_size = {max_size}{unk_note} left no word"
            )));
        }
        if oov == OovPolicy::Unk {
            let at = entries.partition_point(|(word, count)| {
                frequency_order((word.as_str(), *count), (UNK_TOKEN, n_unknown)) == Ordering::Less
            });
            entries.insert(at, (UNK_TOKEN.to_owned(), n_unknown));
        }
        let mut table = Table::default();
        for (word, count) in entries {
            table.insert(word, count)?;
        }
        table.finish(oov)
    }
}

/// Entries being collected into a [`Vocab`], in id order.
#[derive(Default)]
struct Table {
    words: Vec<String>,
    counts: Vec<u64>,
    index: WordMap<u32>,
}

impl Table {
    /// Adds a word, or returns the id it already has (leaving the table unchanged).
    fn insert(&mut self, word: String, count: u64) -> Result<Option<u32>> {
        if let Some(&id) = self.index.get(word.as_str()) {
            return Ok(Some(id));
        }
        let id = id_for_index(self.words.len())?;
        self.index.insert(word.clone(), id);
        self.words.push(word);
        self.counts.push(count);
        Ok(None)
    }

    /// Checks that there is a real word, adds `<UNK>` if the policy needs it, and makes
    /// the vocabulary.
    fn finish(mut self, oov: OovPolicy) -> Result<Vocab> {
        let unk_present = self.index.contains_key(UNK_TOKEN);
        let n_real_words = match oov {
            OovPolicy::Drop => self.words.len(),
            OovPolicy::Unk => self.words.len() - usize::from(unk_present),
        };
        if n_real_words == 0 {
            return Err(Error::EmptyVocabulary(if self.words.is_empty() {
                "no word was given".to_owned()
            } else {
                format!("only {UNK_TOKEN} was given")
            }));
        }
        let unk_id = match oov {
            OovPolicy::Drop => None,
            OovPolicy::Unk => {
                if !unk_present {
                    self.insert(UNK_TOKEN.to_owned(), 0)?;
                }
                self.index.get(UNK_TOKEN).copied()
            }
        };
        let n_tokens = self
            .counts
            .iter()
            .fold(0_u64, |sum, &count| sum.saturating_add(count));
        Ok(Vocab {
            words: self.words,
            counts: self.counts,
            index: self.index,
            oov,
            unk_id,
            n_tokens,
        })
    }
}

/// A vocabulary: words with their counts, indexed by ids `0..len()`.
///
/// Word ids are `usize` in every public function of the crate (row `id` of `U` and `V`).
/// The trainer stores them as `u32` in its hot loops, so a vocabulary has fewer than
/// `u32::MAX` entries; only the sampler's hot-loop draw,
/// [`sample_index`](crate::NegativeSampler::sample_index), shows that storage.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocab {
    words: Vec<String>,
    counts: Vec<u64>,
    index: WordMap<u32>,
    oov: OovPolicy,
    unk_id: Option<u32>,
    n_tokens: u64,
}

impl Vocab {
    /// A vocabulary with the given words and counts, for example a synthetic one.
    ///
    /// Ids follow the order of first appearance (nothing is sorted). A word given more
    /// than once keeps its first id and the sum of its counts. With [`OovPolicy::Unk`], a
    /// given [`UNK_TOKEN`] entry is used as the unknown entry; otherwise one with count 0 is
    /// appended.
    ///
    /// ```
    /// use bilinear_skipgram::{OovPolicy, Vocab};
    ///
    /// let vocab = Vocab::from_counts([("b".to_owned(), 5), ("a".to_owned(), 7)], OovPolicy::Drop)?;
    /// assert_eq!(vocab.id("b"), Some(0));
    /// assert_eq!(vocab.n_tokens(), 12);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyVocabulary`] if no word is given (or, with [`OovPolicy::Unk`], only
    ///   [`UNK_TOKEN`]).
    /// - [`Error::Config`] if there are more than `u32::MAX` entries.
    pub fn from_counts(
        pairs: impl IntoIterator<Item = (String, u64)>,
        oov: OovPolicy,
    ) -> Result<Vocab> {
        let mut table = Table::default();
        for (word, count) in pairs {
            if let Some(id) = table.insert(word, count)? {
                let total = &mut table.counts[id as usize];
                *total = total.saturating_add(count);
            }
        }
        table.finish(oov)
    }

    /// Number of entries (including [`UNK_TOKEN`] under [`OovPolicy::Unk`]).
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there is no entry. Never true for a vocabulary made by this module.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words, indexed by id.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The counts, indexed by id.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The word with id `id`, if any.
    pub fn word(&self, id: usize) -> Option<&str> {
        self.words.get(id).map(String::as_str)
    }

    /// The count of the word with id `id`, if any.
    pub fn count(&self, id: usize) -> Option<u64> {
        self.counts.get(id).copied()
    }

    /// The id of `word` by the crate's one lookup rule, which every word lookup follows
    /// ([`lookup`](Self::lookup), [`find_word`](crate::eval::find_word),
    /// [`AnalogySearch::word_id`](crate::eval::AnalogySearch::word_id) and
    /// [`Embeddings`](crate::Embeddings)):
    ///
    /// 1. `word` exactly as given, if it is an entry;
    /// 2. otherwise `word` lowercased as the corpus tokenizer lowercases
    ///    ([`for_each_token`](crate::corpus::for_each_token): character by character, a final
    ///    capital sigma becomes `ς`), if that changes it and is an entry.
    ///
    /// Exact first, so that vectors trained without lowercasing (or read from another
    /// tool's file) that hold both `Paris` and `paris` give each its own vector. Lowercased
    /// next, because the tokenizer lowercases the corpus by default, so a vocabulary trained
    /// here holds `paris` only, and `Paris`, as a user or an evaluation file writes it,
    /// means that entry.
    ///
    /// ```
    /// use bilinear_skipgram::{OovPolicy, Vocab};
    ///
    /// let vocab = Vocab::from_counts([("god".to_owned(), 9), ("Rome".to_owned(), 3)], OovPolicy::Drop)?;
    /// assert_eq!(vocab.id("God"), Some(0));
    /// assert_eq!(vocab.id("Rome"), Some(1));
    /// assert_eq!(vocab.id("ROME"), None);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn id(&self, word: &str) -> Option<usize> {
        self.id_u32(word).map(|id| id as usize)
    }

    /// [`id`](Self::id) as the `u32` the trainer stores.
    fn id_u32(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied().or_else(|| {
            let lower = crate::corpus::lowercase_token(word)?;
            self.index.get(lower.as_str()).copied()
        })
    }

    /// The id a query word maps to: [`id`](Self::id) (the lookup rule); otherwise the
    /// [`UNK_TOKEN`] id under [`OovPolicy::Unk`], or `None` under [`OovPolicy::Drop`].
    /// The trainer does not use it: it maps corpus tokens exactly as the vocabulary pass
    /// counted them, without the lowercase retry.
    pub fn lookup(&self, token: &str) -> Option<usize> {
        self.id_u32(token).or(self.unk_id).map(|id| id as usize)
    }

    /// The id a corpus token is trained as, as the `u32` the trainer stores: its own entry,
    /// exactly as the vocabulary pass counted it (a token the corpus did not lowercase is
    /// not merged into its lowercase form); otherwise the [`UNK_TOKEN`] id under
    /// [`OovPolicy::Unk`], or `None` (drop it). Ids are below `u32::MAX`:
    /// [`from_counts`](Self::from_counts) and the builder refuse more.
    #[inline]
    pub(crate) fn token_id_u32(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied().or(self.unk_id)
    }

    /// The out-of-vocabulary policy.
    pub fn oov_policy(&self) -> OovPolicy {
        self.oov
    }

    /// The id of [`UNK_TOKEN`] under [`OovPolicy::Unk`]; `None` under [`OovPolicy::Drop`].
    pub fn unk_id(&self) -> Option<usize> {
        self.unk_id.map(|id| id as usize)
    }

    /// Sum of the counts of all entries: the number of training tokens.
    pub fn n_tokens(&self) -> u64 {
        self.n_tokens
    }

    /// word2vec subsampling: the probability of keeping each occurrence of each entry,
    /// indexed by id.
    ///
    /// For a word of count `f`, with `N = n_tokens()` and `t = threshold`,
    /// `p = (sqrt(f / (t·N)) + 1) · (t·N) / f`, clamped to at most 1. A `threshold` that
    /// is not positive (0, negative or NaN) turns subsampling off (every `p` is 1), and so
    /// does a zero count.
    ///
    /// ```
    /// use bilinear_skipgram::{OovPolicy, Vocab};
    ///
    /// let vocab = Vocab::from_counts([("the".to_owned(), 990), ("cat".to_owned(), 10)], OovPolicy::Drop)?;
    /// let keep = vocab.keep_probabilities(1e-3);
    /// assert!(keep[0] < 0.05 && keep[1] > 0.4);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn keep_probabilities(&self, threshold: f64) -> Vec<f32> {
        if threshold.is_nan() || threshold <= 0.0 {
            return vec![1.0; self.counts.len()];
        }
        let scaled_total = threshold * self.n_tokens as f64;
        self.counts
            .iter()
            .map(|&count| {
                if count == 0 {
                    return 1.0;
                }
                // (sqrt(f/(tN)) + 1)·(tN)/f = sqrt(r) + r with r = tN/f.
                let ratio = scaled_total / count as f64;
                let keep = ratio.sqrt() + ratio;
                keep.min(1.0) as f32
            })
            .collect()
    }

    /// The first word a vocabulary file could not hold so that it reads back the same,
    /// with why: an empty word, one with whitespace (the fields' separator), one whose
    /// line would be longer than [`MAX_LINE_BYTES`], or a first word that starts with a
    /// byte-order mark (which reading drops). No corpus token is any of these.
    pub fn unwritable_word(&self) -> Option<(usize, &str, &'static str)> {
        // The longest count (u64) and its separator.
        const COUNT_BYTES: usize = 21;
        self.words.iter().enumerate().find_map(|(id, word)| {
            let why = if word.is_empty() {
                "is empty"
            } else if word.chars().any(char::is_whitespace) {
                "contains whitespace"
            } else if word.len() + COUNT_BYTES > MAX_LINE_BYTES {
                "is longer than a vocabulary line may be"
            } else if id == 0 && word.starts_with('\u{feff}') {
                "starts with a byte-order mark"
            } else {
                return None;
            };
            Some((id, word.as_str(), why))
        })
    }

    /// Writes the vocabulary as text, one `word count` line per entry in id order.
    ///
    /// # Errors
    ///
    /// - [`Error::Io`] with kind `InvalidInput`, before anything is written, if a word
    ///   could not be read back ([`unwritable_word`](Self::unwritable_word)).
    /// - [`Error::Io`] if writing fails.
    pub fn write_text(&self, mut writer: impl Write) -> Result<()> {
        if let Some((id, word, why)) = self.unwritable_word() {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "word {id} ({}) {why} and cannot be written as text",
                    shown(word)
                ),
            )));
        }
        for (word, count) in self.words.iter().zip(&self.counts) {
            writeln!(writer, "{word} {count}")?;
        }
        writer.flush()?;
        Ok(())
    }

    /// Reads a vocabulary written by [`write_text`](Self::write_text): one `word count`
    /// line per entry, ids in line order. Lines holding only whitespace are skipped; a
    /// trailing `"\r"` and a byte-order mark at the start are ignored. With
    /// [`OovPolicy::Unk`], a missing [`UNK_TOKEN`] entry is appended with count 0. `name` is
    /// used in errors.
    ///
    /// # Errors
    ///
    /// - [`Error::Parse`] naming `name` and the one-based line for a line that is longer
    ///   than [`MAX_LINE_BYTES`], is not valid UTF-8, does not
    ///   have exactly two fields, has a count that is not a non-negative integer, or
    ///   repeats a word.
    /// - [`Error::File`] naming `name` if reading fails.
    /// - [`Error::EmptyVocabulary`] if there is no word, [`Error::Config`] if more than
    ///   `u32::MAX`.
    pub fn read_text(
        reader: impl BufRead,
        name: impl AsRef<Path>,
        oov: OovPolicy,
    ) -> Result<Vocab> {
        let name = name.as_ref();
        let parse_error = |line: u64, message: String| Error::parse(name, line, message);
        let mut table = Table::default();
        let mut lines_of_ids: Vec<u64> = Vec::new();
        let mut lines = LineReader::new(reader, name, MAX_LINE_BYTES);
        loop {
            let line = lines.line_number() + 1;
            let Some(text) = lines.next_line()? else {
                break;
            };
            let mut fields = text.split_whitespace();
            let (word, count) = match (fields.next(), fields.next(), fields.next()) {
                (None, _, _) => continue,
                (Some(word), Some(count), None) => (word, count),
                (Some(word), None, _) => {
                    return Err(parse_error(
                        line,
                        format!("expected `word count`, found only {word:?}"),
                    ));
                }
                (Some(_), Some(_), Some(_)) => {
                    return Err(parse_error(
                        line,
                        format!("expected `word count`, found more than two fields in {text:?}"),
                    ));
                }
            };
            let count: u64 = count.parse().map_err(|error| {
                parse_error(
                    line,
                    format!(
                        "count {count:?} of word {word:?} is not a non-negative integer: {error}"
                    ),
                )
            })?;
            if let Some(id) = table.insert(word.to_owned(), count)? {
                let first = lines_of_ids.get(id as usize).copied().unwrap_or_default();
                return Err(parse_error(
                    line,
                    format!("word {word:?} appears again (first on line {first})"),
                ));
            }
            lines_of_ids.push(line);
        }
        table.finish(oov)
    }
}

/// A word as an error message shows it: quoted and escaped, a long one cut after 40
/// characters (as the word2vec reader cuts them) with its length in bytes.
pub(crate) fn shown(word: &str) -> String {
    if word.chars().nth(40).is_some() {
        format!("{:?} ({} bytes)", crate::io::truncate(word), word.len())
    } else {
        format!("{word:?}")
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::corpus::CorpusOptions;

    #[test]
    fn fx_hasher_separates_prefixes_and_lengths() {
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<FxHasher>::default();
        let words: Vec<String> = (1..=20)
            .map(|n| "a".repeat(n))
            .chain(["ab", "ba", "abc", "acb", "\u{0}", "\u{0}\u{0}"].map(String::from))
            .collect();
        let mut hashes: Vec<u64> = words.iter().map(|w| build.hash_one(w)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), words.len());
    }

    fn builder_of(text: &str) -> VocabBuilder {
        let mut builder = VocabBuilder::new();
        for token in text.split_whitespace() {
            builder.add(token);
        }
        builder
    }

    fn pairs(items: &[(&str, u64)]) -> Vec<(String, u64)> {
        items.iter().map(|&(w, c)| (w.to_owned(), c)).collect()
    }

    proptest::proptest! {
        /// The lookup rule lowercases a word as the tokenizer lowercases a token.
        #[test]
        fn lookups_lowercase_as_the_tokenizer(
            chars in proptest::collection::vec(proptest::sample::select(vec![
                'a', 'Z', 'q', 'Q', '7', 'Σ', 'σ', 'ς', 'Ο', 'ό', 'İ', 'Ǆ', 'ǅ', 'Ж', 'ж', 'ё',
                'Ё', 'ß', 'ẞ', 'Ω', '中', '\u{301}',
            ]), 1..8)
        ) {
            let word: String = chars.into_iter().collect();
            let mut tokens = Vec::new();
            crate::corpus::for_each_token(&word, true, &mut String::new(), |t| {
                tokens.push(t.to_owned())
            });
            proptest::prop_assume!(tokens.len() == 1 && tokens[0].chars().count() >= word.chars().count());
            let lowered = crate::corpus::lowercase_token(&word);
            proptest::prop_assert_eq!(lowered.as_deref().unwrap_or(&word), tokens[0].as_str());
            proptest::prop_assert_eq!(lowered.is_none(), tokens[0] == word);
        }
    }

    #[test]
    fn lookups_try_the_word_then_its_lowercase() {
        let vocab = Vocab::from_counts(
            pairs(&[
                ("god", 5),
                ("Rome", 3),
                ("rome", 2),
                ("нефт", 1),
                ("<UNK>", 0),
            ]),
            OovPolicy::Unk,
        )
        .unwrap();
        assert_eq!(vocab.id("God"), Some(0));
        assert_eq!(vocab.id("Rome"), Some(1));
        assert_eq!(vocab.id("ROME"), Some(2));
        assert_eq!(vocab.id("НЕФТ"), Some(3));
        assert_eq!(vocab.id("goddess"), None);
        assert_eq!(vocab.lookup("GOD"), Some(0));
        assert_eq!(vocab.lookup("goddess"), Some(4));
    }

    #[test]
    fn builder_counts_tokens_and_distinct_words() {
        let builder = builder_of("a b a c a b");
        assert_eq!(builder.n_tokens(), 6);
        assert_eq!(builder.n_distinct(), 3);
        let mut stream = SentenceStream::from_reader(
            &b"one\n\ntwo words\nthree words here\n"[..],
            "s",
            CorpusOptions::default(),
        );
        let mut builder = VocabBuilder::new();
        builder.add_sentences(&mut stream).unwrap();
        assert_eq!((builder.n_sentences(), builder.longest_sentence()), (3, 3));
        let empty = VocabBuilder::new();
        assert_eq!((empty.n_tokens(), empty.n_distinct()), (0, 0));
    }

    #[test]
    fn order_is_count_descending_then_bytes_ascending() {
        // Ties: "b" and "ä" and "a" (count 2), "z", "c", "<END>" (count 1).
        let builder = builder_of("z b ä a c b x x x ä a <END>");
        let vocab = builder.clone().build(1, None, OovPolicy::Drop).unwrap();
        assert_eq!(vocab.words(), ["x", "a", "b", "ä", "<END>", "c", "z"]);
        assert_eq!(vocab.counts(), [3, 2, 2, 2, 1, 1, 1]);
        // Building twice from equal counts (different hash seeds) gives equal vocabularies.
        let again = builder_of("a ä <END> b c x x z b x a ä")
            .build(1, None, OovPolicy::Drop)
            .unwrap();
        assert_eq!(vocab, again);
        for (id, word) in vocab.words().iter().enumerate() {
            assert_eq!(vocab.id(word), Some(id));
            assert_eq!(vocab.word(id), Some(word.as_str()));
        }
        assert_eq!(vocab.word(7), None);
        assert_eq!(vocab.count(0), Some(3));
        assert_eq!(vocab.count(7), None);
    }

    #[test]
    fn min_count_and_max_size_with_drop() {
        let builder = builder_of("a a a a b b b c c d");
        let vocab = builder.clone().build(2, None, OovPolicy::Drop).unwrap();
        assert_eq!(vocab.words(), ["a", "b", "c"]);
        assert_eq!(vocab.n_tokens(), 9);
        assert_eq!(vocab.unk_id(), None);
        assert_eq!(vocab.oov_policy(), OovPolicy::Drop);
        assert_eq!(vocab.lookup("d"), None);
        assert_eq!(vocab.lookup("b"), Some(1));
        let vocab = builder.build(0, Some(2), OovPolicy::Drop).unwrap();
        assert_eq!(vocab.words(), ["a", "b"]);
        assert_eq!(vocab.n_tokens(), 7);
    }

    #[test]
    fn unk_counts_everything_left_out_and_takes_a_place() {
        let builder = builder_of("a a a a b b b c c d e");
        // min_count drops d, e (2 tokens); max_size 3 keeps a, b and <UNK>, cutting c (2).
        let vocab = builder.clone().build(2, Some(3), OovPolicy::Unk).unwrap();
        // <UNK> (4) ties with "a" (4) and sorts first by bytes ('<' < 'a').
        assert_eq!(vocab.words(), ["<UNK>", "a", "b"]);
        assert_eq!(vocab.counts(), [4, 4, 3]);
        assert_eq!(vocab.unk_id(), Some(0));
        assert_eq!(vocab.lookup("zzz"), Some(0));
        assert_eq!(vocab.lookup("c"), Some(0));
        assert_eq!(vocab.lookup("a"), Some(1));
        assert_eq!(vocab.id("c"), None);
        assert_eq!(vocab.n_tokens(), 11);
        // Nothing left out: <UNK> exists with count 0, last.
        let vocab = builder.build(1, None, OovPolicy::Unk).unwrap();
        assert_eq!(vocab.len(), 6);
        assert_eq!(vocab.words()[5], UNK_TOKEN);
        assert_eq!(vocab.counts()[5], 0);
        assert_eq!(vocab.unk_id(), Some(5));
    }

    #[test]
    fn unk_ties_are_ordered_by_bytes() {
        // "<UNK>" sorts after digits but before letters: '0' < '<' < 'a'.
        let vocab = builder_of("a 1 x")
            .build(1, Some(3), OovPolicy::Unk)
            .unwrap();
        assert_eq!(vocab.words(), ["1", "<UNK>", "a"]);
        assert_eq!(vocab.counts(), [1, 1, 1]);
    }

    #[test]
    fn empty_vocabulary_errors_explain_why() {
        let error = builder_of("a b b c")
            .build(5, None, OovPolicy::Drop)
            .unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, Error::EmptyVocabulary(_)), "{error:?}");
        assert!(message.contains("4 tokens"), "{message}");
        assert!(message.contains("3 distinct"), "{message}");
        assert!(message.contains("min_count = 5"), "{message}");
        assert!(message.contains("max_size = none"), "{message}");

        let error = builder_of("a b")
            .build(1, Some(0), OovPolicy::Drop)
            .unwrap_err();
        assert!(error.to_string().contains("max_size = 0"), "{error}");
        // <UNK> alone is not a vocabulary.
        let error = builder_of("a b")
            .build(1, Some(1), OovPolicy::Unk)
            .unwrap_err();
        assert!(matches!(error, Error::EmptyVocabulary(_)), "{error:?}");
        assert!(error.to_string().contains("<UNK> takes one"), "{error}");
        let error = VocabBuilder::new()
            .build(1, None, OovPolicy::Unk)
            .unwrap_err();
        assert!(error.to_string().contains("0 tokens"), "{error}");
    }

    #[test]
    fn unk_token_in_the_counts_joins_the_unknown_entry() {
        let vocab = builder_of("a a <UNK> b")
            .build(2, None, OovPolicy::Unk)
            .unwrap();
        assert_eq!(vocab.words(), ["<UNK>", "a"]);
        assert_eq!(vocab.counts(), [2, 2]);
    }

    #[test]
    fn count_corpus_streams_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.txt");
        std::fs::write(&path, "Нефт и петрол.\nНЕФТ!\n").unwrap();
        let corpus = Corpus::new([&path], CorpusOptions::default().with_markers(true));
        let builder = VocabBuilder::count_corpus(&corpus).unwrap();
        assert_eq!(builder.n_tokens(), 8);
        let vocab = builder.build(2, None, OovPolicy::Drop).unwrap();
        assert_eq!(vocab.words(), ["<END>", "<START>", "нефт"]);
        assert_eq!(vocab.counts(), [2, 2, 2]);

        let missing = Corpus::new([dir.path().join("nope")], CorpusOptions::default());
        assert!(matches!(
            VocabBuilder::count_corpus(&missing),
            Err(Error::File { .. })
        ));
    }

    #[test]
    fn from_counts_keeps_order_and_sums_duplicates() {
        let vocab =
            Vocab::from_counts(pairs(&[("b", 1), ("a", 5), ("b", 2)]), OovPolicy::Drop).unwrap();
        assert_eq!(vocab.words(), ["b", "a"]);
        assert_eq!(vocab.counts(), [3, 5]);
        assert_eq!(vocab.n_tokens(), 8);
        assert!(!vocab.is_empty());

        let vocab = Vocab::from_counts(pairs(&[("b", 1), ("a", 5)]), OovPolicy::Unk).unwrap();
        assert_eq!(vocab.words(), ["b", "a", "<UNK>"]);
        assert_eq!(vocab.counts(), [1, 5, 0]);
        assert_eq!(vocab.unk_id(), Some(2));

        let vocab = Vocab::from_counts(pairs(&[("<UNK>", 4), ("a", 5)]), OovPolicy::Unk).unwrap();
        assert_eq!(vocab.unk_id(), Some(0));
        assert_eq!(vocab.len(), 2);
        // Under Drop, "<UNK>" is an ordinary word and unknown tokens are still dropped.
        let vocab = Vocab::from_counts(pairs(&[("<UNK>", 4), ("a", 5)]), OovPolicy::Drop).unwrap();
        assert_eq!(vocab.unk_id(), None);
        assert_eq!(vocab.lookup("zzz"), None);
    }

    #[test]
    fn from_counts_rejects_empty_input() {
        let error = Vocab::from_counts(Vec::new(), OovPolicy::Drop).unwrap_err();
        assert!(matches!(error, Error::EmptyVocabulary(_)), "{error:?}");
        let error = Vocab::from_counts(pairs(&[("<UNK>", 3)]), OovPolicy::Unk).unwrap_err();
        assert!(matches!(error, Error::EmptyVocabulary(_)), "{error:?}");
    }

    #[test]
    fn ids_beyond_u32_are_rejected() {
        assert_eq!(id_for_index(0).unwrap(), 0);
        assert_eq!(id_for_index(u32::MAX as usize).unwrap(), u32::MAX);
        let error = id_for_index(u32::MAX as usize + 1).unwrap_err();
        assert!(
            matches!(error, Error::Config(ConfigError::TooLarge { value, .. }) if value == u64::from(u32::MAX) + 2),
            "{error:?}"
        );
    }

    #[test]
    fn keep_probabilities_match_hand_computation() {
        let vocab = Vocab::from_counts(
            pairs(&[("a", 1000), ("b", 100), ("c", 10), ("d", 0)]),
            OovPolicy::Drop,
        )
        .unwrap();
        // N = 1110, t = 1e-3, tN = 1.11.
        // a: r = 1.11 / 1000 = 0.00111, sqrt(r) = 0.0333167, p = 0.0344267
        // b: r = 0.0111, sqrt(r) = 0.1053565, p = 0.1164565
        // c: r = 0.111, sqrt(r) = 0.3331666, p = 0.4441666
        let keep = vocab.keep_probabilities(1e-3);
        let expected = [0.034_426_66_f32, 0.116_456_54, 0.444_166_6, 1.0];
        assert_eq!(keep.len(), 4);
        for (got, want) in keep.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        // The formula as written in word2vec gives the same.
        let (f, n, t) = (100.0_f64, 1110.0_f64, 1e-3_f64);
        let word2vec = ((f / (t * n)).sqrt() + 1.0) * (t * n) / f;
        assert!((f64::from(keep[1]) - word2vec).abs() < 1e-6);
    }

    #[test]
    fn keep_probabilities_are_monotone_and_clamped() {
        let counts: Vec<(String, u64)> = (1..=50)
            .rev()
            .map(|i| (format!("w{i}"), i * i * 100))
            .collect();
        let vocab = Vocab::from_counts(counts, OovPolicy::Drop).unwrap();
        let keep = vocab.keep_probabilities(1e-4);
        for pair in keep.windows(2) {
            assert!(
                pair[0] <= pair[1],
                "rarer words must be kept at least as often: {pair:?}"
            );
        }
        assert!(keep[0] < 0.2, "{}", keep[0]);
        assert!(keep.iter().all(|&p| p > 0.0 && p <= 1.0));
        assert_eq!(*keep.last().unwrap(), 1.0);
        // A huge threshold keeps everything.
        assert!(vocab.keep_probabilities(1.0).iter().all(|&p| p == 1.0));
        assert!(
            vocab
                .keep_probabilities(f64::INFINITY)
                .iter()
                .all(|&p| p == 1.0)
        );
    }

    #[test]
    fn non_positive_threshold_disables_subsampling() {
        let vocab =
            Vocab::from_counts(pairs(&[("a", 1_000_000), ("b", 1)]), OovPolicy::Drop).unwrap();
        for threshold in [0.0, -1.0, f64::NAN] {
            assert_eq!(
                vocab.keep_probabilities(threshold),
                [1.0, 1.0],
                "{threshold}"
            );
        }
        assert!(vocab.keep_probabilities(1e-5)[0] < 1.0);
        let zeros = Vocab::from_counts(pairs(&[("a", 0), ("b", 0)]), OovPolicy::Drop).unwrap();
        assert_eq!(zeros.keep_probabilities(1e-3), [1.0, 1.0]);
    }

    #[test]
    fn text_round_trip() {
        let vocab = builder_of("нефт нефт и <START> <END> don't don't don't")
            .build(1, Some(4), OovPolicy::Unk)
            .unwrap();
        let mut bytes = Vec::new();
        vocab.write_text(&mut bytes).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(text.lines().next(), Some("don't 3"));
        assert_eq!(text.lines().count(), 4);
        let back =
            Vocab::read_text(Cursor::new(bytes), Path::new("v.txt"), OovPolicy::Unk).unwrap();
        assert_eq!(back, vocab);
        // CRLF and blank lines are accepted.
        let back = Vocab::read_text(
            Cursor::new("a 3\r\n\r\nb 1\r\n"),
            Path::new("v"),
            OovPolicy::Drop,
        )
        .unwrap();
        assert_eq!(back.words(), ["a", "b"]);
        assert_eq!(back.counts(), [3, 1]);
    }

    #[test]
    fn malformed_text_names_the_line_and_value() {
        let long_line = format!("a 1\n{} 2\n", "w".repeat(MAX_LINE_BYTES));
        let cases: [(&[u8], u64, &str); 8] = [
            (b"a 1\nb\n", 2, "found only \"b\""),
            (b"a 1\nb 2 3\n", 2, "more than two fields"),
            (b"a 1\nb x7\n", 2, "\"x7\""),
            (b"a -1\n", 1, "\"-1\""),
            (b"a 1\nb 2\na 3\n", 3, "first on line 1"),
            (b"a 1\n\xff 2\n", 2, "invalid UTF-8"),
            (long_line.as_bytes(), 2, "longer than 65536 bytes"),
            // A byte-order mark at the start is not part of the first word.
            (b"\xef\xbb\xbfa 1\nb 2\na 3\n", 3, "first on line 1"),
        ];
        for (input, want_line, want_text) in cases {
            let error =
                Vocab::read_text(Cursor::new(input), Path::new("vocab.txt"), OovPolicy::Drop)
                    .unwrap_err();
            match &error {
                Error::Parse {
                    path,
                    line,
                    message,
                } => {
                    assert_eq!(path, Path::new("vocab.txt"));
                    assert_eq!(*line, want_line, "{message}");
                    assert!(message.contains(want_text), "{message}");
                }
                other => panic!("expected Error::Parse, got {other:?}"),
            }
        }
        let error =
            Vocab::read_text(Cursor::new(""), Path::new("empty"), OovPolicy::Drop).unwrap_err();
        assert!(matches!(error, Error::EmptyVocabulary(_)), "{error:?}");
    }

    #[test]
    fn unwritable_words_are_rejected_before_writing() {
        let vocab =
            Vocab::from_counts(pairs(&[("ok", 1), ("two words", 1)]), OovPolicy::Drop).unwrap();
        let mut bytes = Vec::new();
        let error = vocab.write_text(&mut bytes).unwrap_err();
        assert!(
            matches!(&error, Error::Io(e) if e.kind() == io::ErrorKind::InvalidInput),
            "{error:?}"
        );
        assert!(bytes.is_empty());
        // A byte-order mark is dropped from the start of the file only: a first word may
        // not start with one, a later word may, and reads back the same.
        let bom =
            Vocab::from_counts(pairs(&[("\u{feff}a", 1), ("b", 1)]), OovPolicy::Drop).unwrap();
        assert_eq!(
            bom.unwritable_word(),
            Some((0, "\u{feff}a", "starts with a byte-order mark"))
        );
        let later =
            Vocab::from_counts(pairs(&[("b", 1), ("\u{feff}a", 1)]), OovPolicy::Drop).unwrap();
        let mut bytes = Vec::new();
        later.write_text(&mut bytes).unwrap();
        let back = Vocab::read_text(Cursor::new(bytes), Path::new("v"), OovPolicy::Drop).unwrap();
        assert_eq!(back.words(), later.words());
        // The longest word that fits a line reads back; one byte more is refused.
        for (len, fits) in [(MAX_LINE_BYTES - 21, true), (MAX_LINE_BYTES - 20, false)] {
            let word = "w".repeat(len);
            let vocab = Vocab::from_counts([(word, u64::MAX)], OovPolicy::Drop).unwrap();
            assert_eq!(vocab.unwritable_word().is_none(), fits, "{len}");
            if fits {
                let mut bytes = Vec::new();
                vocab.write_text(&mut bytes).unwrap();
                let back =
                    Vocab::read_text(Cursor::new(bytes), Path::new("v"), OovPolicy::Drop).unwrap();
                assert_eq!(back.words(), vocab.words());
            }
        }
    }
}
