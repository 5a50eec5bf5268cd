//! Streaming a text corpus: UTF-8 text, one sentence per line, optionally gzip- or
//! xz-compressed, split into lowercased word tokens.
//!
//! Nothing here holds the whole corpus in memory: [`SentenceStream`] reads one line at a
//! time into a reused buffer, and [`for_each_token`] hands out tokens from a reused
//! scratch string, so after warm-up reading a corpus allocates nothing per line.
//!
//! ```
//! use bilinear_skipgram::{CorpusOptions, corpus::SentenceStream};
//!
//! let text = "Петрол и НЕФТ, януари!\n\n2005 г.\n";
//! let mut stream = SentenceStream::from_reader(text.as_bytes(), "memory", CorpusOptions::default());
//! let mut sentences = Vec::new();
//! loop {
//!     let mut sentence = Vec::new();
//!     if !stream.next_sentence(|token| sentence.push(token.to_owned()))? {
//!         break;
//!     }
//!     sentences.push(sentence);
//! }
//! assert_eq!(sentences, [vec!["петрол", "и", "нефт", "януари"], vec!["2005", "г"]]);
//! # Ok::<(), bilinear_skipgram::Error>(())
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

use crate::error::{Error, Result};
pub use crate::fingerprint::SourceFingerprint;
use crate::fingerprint::{Hasher, HashingReader};

/// Token emitted before the first word of every sentence when [`CorpusOptions::markers`] is on.
pub const START_MARKER: &str = "<START>";

/// Token emitted after the last word of every sentence when [`CorpusOptions::markers`] is on.
pub const END_MARKER: &str = "<END>";

/// The longest token kept, in bytes (after lowercasing). A longer run of word characters
/// is not a word of any language (it is binary data, an unsegmented URL, a base64 blob): it
/// is skipped and counted in [`SentenceStream::long_tokens_skipped`] and
/// [`TrainReport::long_tokens_skipped`](crate::TrainReport::long_tokens_skipped).
pub const MAX_TOKEN_BYTES: usize = 1000;

/// The longest sentence, in bytes. A longer line is cut, between two tokens, into sentences
/// of at most this many bytes, so that a line of any length (a file without line breaks,
/// 10⁹ words on one line) is read and trained in bounded memory. Windows do not reach
/// across such a cut, as in word2vec (which cuts at 1000 words).
pub const MAX_SENTENCE_BYTES: usize = 1 << 16;

/// Capacity of the buffered readers placed over files and decompressors.
const READ_BUFFER_BYTES: usize = 1 << 16;

/// The first bytes of a gzip member.
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// The first bytes of an xz stream.
const XZ_MAGIC: &[u8] = &[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

/// What to do with bytes that are not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Utf8Policy {
    /// Invalid UTF-8 is an [`Error::Corpus`] naming the file, the one-based line and the
    /// byte offset within the line.
    #[default]
    Strict,
    /// Invalid sequences are replaced by U+FFFD (which separates tokens) and the number of
    /// invalid bytes is counted in [`SentenceStream::replaced_bytes`].
    Lossy,
}

/// How a corpus is read and tokenised.
///
/// The fields are public for reading; build a value with [`CorpusOptions::default`] and the
/// `with_*` setters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CorpusOptions {
    /// Lowercase every token (Unicode-aware). Default `true`.
    pub lowercase: bool,
    /// Surround every non-empty sentence with [`START_MARKER`] and [`END_MARKER`].
    /// Default `false`.
    pub markers: bool,
    /// Handling of invalid UTF-8. Default [`Utf8Policy::Strict`].
    pub utf8: Utf8Policy,
}

impl Default for CorpusOptions {
    fn default() -> Self {
        Self {
            lowercase: true,
            markers: false,
            utf8: Utf8Policy::Strict,
        }
    }
}

impl CorpusOptions {
    /// Sets whether tokens are lowercased.
    ///
    /// ```
    /// use bilinear_skipgram::CorpusOptions;
    ///
    /// let options = CorpusOptions::default().with_lowercase(false);
    /// assert!(!options.lowercase);
    /// ```
    #[must_use]
    pub fn with_lowercase(mut self, lowercase: bool) -> Self {
        self.lowercase = lowercase;
        self
    }

    /// Sets whether sentences are surrounded by [`START_MARKER`] and [`END_MARKER`].
    ///
    /// ```
    /// use bilinear_skipgram::CorpusOptions;
    ///
    /// let options = CorpusOptions::default().with_markers(true);
    /// assert!(options.markers);
    /// ```
    #[must_use]
    pub fn with_markers(mut self, markers: bool) -> Self {
        self.markers = markers;
        self
    }

    /// Sets the handling of invalid UTF-8.
    ///
    /// ```
    /// use bilinear_skipgram::{CorpusOptions, Utf8Policy};
    ///
    /// let options = CorpusOptions::default().with_utf8(Utf8Policy::Lossy);
    /// assert_eq!(options.utf8, Utf8Policy::Lossy);
    /// ```
    #[must_use]
    pub fn with_utf8(mut self, utf8: Utf8Policy) -> Self {
        self.utf8 = utf8;
        self
    }
}

/// Whether `c` can be part of a word: a Unicode letter or digit, or a combining mark
/// (General_Category M*), so that scripts such as Devanagari or Thai are not split at
/// vowel signs.
///
/// Common Latin and Cyrillic blocks take a fast path (the general tables are a binary
/// search); a test checks it against the general definition.
#[inline]
fn is_word_char(c: char) -> bool {
    match u32::from(c) {
        0..=0x7f => c.is_ascii_alphanumeric(),
        // Latin-1 letters and Latin Extended-A/B: all letters but × and ÷.
        0xc0..=0x24f => c != '\u{d7}' && c != '\u{f7}',
        // Cyrillic: letters and combining marks, except the thousands sign ҂.
        0x400..=0x4ff => c != '\u{482}',
        _ => is_word_char_general(c),
    }
}

/// The definition of a word character: a letter, a digit or a combining mark.
fn is_word_char_general(c: char) -> bool {
    c.is_alphanumeric() || c.general_category_group() == GeneralCategoryGroup::Mark
}

/// Apostrophes and hyphens, kept inside a token only between two word characters.
#[inline]
fn is_joiner(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '-' | '\u{2010}')
}

/// Appends `c` to the token being built, lowercased if asked. Returns whether the character
/// was a capital sigma, which becomes final sigma if it ends a word.
#[inline]
fn push_word_char(token: &mut String, c: char, lowercase: bool) -> bool {
    if !lowercase {
        token.push(c);
        false
    } else if c.is_ascii() {
        token.push(c.to_ascii_lowercase());
        false
    } else if c == 'Σ' {
        token.push('σ');
        true
    } else if ('\u{430}'..='\u{45f}').contains(&c) {
        // Lowercase Cyrillic (а-я, ѐ-џ): the common case in Bulgarian or Russian text.
        token.push(c);
        false
    } else {
        token.extend(c.to_lowercase());
        false
    }
}

/// Hands the finished token to `f` and clears it. A lowercased capital sigma at the end of a
/// word (after a letter) becomes final sigma, as `str::to_lowercase` would make it.
#[inline]
fn finish_token(token: &mut String, ends_with_capital_sigma: bool, f: &mut impl FnMut(&str)) {
    if ends_with_capital_sigma {
        let stem_len = token.len() - 'σ'.len_utf8();
        if token[..stem_len]
            .chars()
            .next_back()
            .is_some_and(char::is_alphabetic)
        {
            token.truncate(stem_len);
            token.push('ς');
        }
    }
    f(token);
    token.clear();
}

/// `word` lowercased character by character exactly as [`for_each_token`] lowercases the
/// characters of a token (a capital sigma ending the word after a letter becomes final
/// sigma), or `None` when that changes nothing. Used by [`Vocab::id`](crate::Vocab::id).
pub(crate) fn lowercase_token(word: &str) -> Option<String> {
    if word.is_ascii() {
        return word
            .bytes()
            .any(|b| b.is_ascii_uppercase())
            .then(|| word.to_ascii_lowercase());
    }
    let unchanged = |c: char| {
        if c.is_ascii() {
            return !c.is_ascii_uppercase();
        }
        // Lowercase Cyrillic, as in `push_word_char`: the common case in Bulgarian text.
        if ('\u{430}'..='\u{45f}').contains(&c) {
            return true;
        }
        let mut lower = c.to_lowercase();
        lower.next() == Some(c) && lower.next().is_none()
    };
    if word.chars().all(unchanged) {
        return None;
    }
    let mut token = String::with_capacity(word.len());
    let mut ends_with_capital_sigma = false;
    for c in word.chars() {
        ends_with_capital_sigma = push_word_char(&mut token, c, true);
    }
    let mut lowered = None;
    finish_token(&mut token, ends_with_capital_sigma, &mut |t: &str| {
        lowered = Some(t.to_owned());
    });
    lowered
}

/// Splits `line` into tokens and calls `f` for each, in order.
///
/// A token is a maximal run of word characters: Unicode letters and digits
/// ([`char::is_alphanumeric`]) and combining marks (General_Category M*). An apostrophe
/// (`'` or `’`) or hyphen (`-` or `‐`, U+2010) stays in a token only when it has a word
/// character on both sides, so "don't" and "well-known" are single tokens while
/// "'quoted'" gives "quoted" and "a--b" gives "a" and "b". Every other character
/// (punctuation, symbols, whitespace, U+FFFD) separates tokens. Scripts written without
/// spaces (Chinese, Japanese, Thai) are not segmented: a run of such letters is one token.
///
/// With `lowercase`, each character is lowercased with [`char::to_lowercase`] (so "İ"
/// becomes "i̇"), except that a capital sigma ending a word becomes final sigma "ς".
///
/// `buffer` is scratch space, reused between calls so that tokenising allocates nothing
/// once it has grown to the longest token; its content on entry is ignored and it is left
/// empty.
///
/// ```
/// use bilinear_skipgram::corpus::for_each_token;
///
/// let mut buffer = String::new();
/// let mut tokens = Vec::new();
/// for_each_token("Don't PANIC — it's well-known!", true, &mut buffer, |t| tokens.push(t.to_owned()));
/// assert_eq!(tokens, ["don't", "panic", "it's", "well-known"]);
/// ```
pub fn for_each_token(line: &str, lowercase: bool, buffer: &mut String, mut f: impl FnMut(&str)) {
    let rest = ascii_tokens(line, lowercase, buffer, &mut f);
    general_tokens(&line[rest..], lowercase, buffer, &mut f);
}

/// The fast path of [`for_each_token`] for ASCII text: hands out the tokens of `line` as
/// long as they and the separators before them are ASCII, as slices of `line` where no
/// lowercasing is needed. Returns the byte offset where a non-ASCII character made it stop
/// (at the start of a token or of a separator run, so [`general_tokens`] can go on from
/// there exactly as if it had read the whole line), or `line.len()`.
#[inline]
fn ascii_tokens(
    line: &str,
    lowercase: bool,
    buffer: &mut String,
    f: &mut impl FnMut(&str),
) -> usize {
    let bytes = line.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    loop {
        while i < n && bytes[i].is_ascii() && !bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i == n || !bytes[i].is_ascii() {
            return i;
        }
        let start = i;
        let mut upper = false;
        loop {
            while i < n && bytes[i].is_ascii_alphanumeric() {
                upper |= bytes[i].is_ascii_uppercase();
                i += 1;
            }
            let joined = i + 1 < n
                && (bytes[i] == b'\'' || bytes[i] == b'-')
                && bytes[i + 1].is_ascii_alphanumeric();
            if !joined {
                break;
            }
            i += 1;
        }
        // A non-ASCII character right after the token, or after a joiner that follows
        // it, may continue the token: leave it all to the general path.
        let next = if i < n && (bytes[i] == b'\'' || bytes[i] == b'-') {
            i + 1
        } else {
            i
        };
        if next < n && !bytes[next].is_ascii() {
            return start;
        }
        let token = &line[start..i];
        if lowercase && upper {
            buffer.clear();
            buffer.push_str(token);
            buffer.make_ascii_lowercase();
            f(buffer);
            buffer.clear();
        } else {
            f(token);
        }
    }
}

/// [`for_each_token`] for any text, one character at a time.
fn general_tokens(line: &str, lowercase: bool, buffer: &mut String, mut f: impl FnMut(&str)) {
    buffer.clear();
    let mut ends_with_capital_sigma = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if is_word_char(c) {
            ends_with_capital_sigma = push_word_char(buffer, c, lowercase);
        } else if is_joiner(c)
            && !buffer.is_empty()
            && chars.peek().is_some_and(|&next| is_word_char(next))
        {
            // A non-empty buffer means the previous character was a word character: any
            // other character either ends the token or is a joiner followed by a word
            // character.
            buffer.push(c);
            ends_with_capital_sigma = false;
        } else if !buffer.is_empty() {
            finish_token(buffer, ends_with_capital_sigma, &mut f);
            ends_with_capital_sigma = false;
        }
    }
    if !buffer.is_empty() {
        finish_token(buffer, ends_with_capital_sigma, &mut f);
    }
}

/// Where training text comes from: corpus files, text or pre-tokenised sentences held in
/// memory, or readers that a closure opens anew for every pass. Every source can be read
/// again, as training needs (once for the vocabulary and once per epoch).
///
/// | made by | source | tokenised |
/// | --- | --- | --- |
/// | [`Corpus::new`], `From<&[P]>`, `From<[P; N]>`, `From<Vec<P>>` (`P: AsRef<Path>`) | files, plain, gzip or xz | one sentence per line, by [`for_each_token`] |
/// | [`Corpus::from_text`] | a `String` (or `Arc<str>`) in memory | as files |
/// | [`Corpus::from_reader_fn`] | a reader opened for every pass (plain, gzip or xz) | as files |
/// | [`Corpus::from_sentences`] | sentences of words in memory | not at all: words are taken as given |
///
/// Files are the main path: the trainers stream them in bounded memory. The trainers
/// ([`train`](crate::train) and the others) read a corpus with their configuration's
/// corpus options ([`TrainConfig::corpus_options`](crate::TrainConfig::corpus_options)),
/// which replace the corpus's own; the options given here apply when the corpus is read
/// directly ([`Corpus::sentences`]). Cloning a corpus is cheap: text and sentences in
/// memory are shared, not copied.
///
/// ```no_run
/// use bilinear_skipgram::{Corpus, CorpusOptions};
///
/// let corpus = Corpus::new(["news.2005.bg.gz", "news.2006.bg.xz"], CorpusOptions::default());
/// let mut stream = corpus.sentences()?;
/// let mut n_tokens = 0_u64;
/// while stream.next_sentence(|_token| n_tokens += 1)? {}
/// println!("{n_tokens} tokens");
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
#[derive(Clone)]
pub struct Corpus {
    sources: Vec<Source>,
    options: CorpusOptions,
}

/// Opens a fresh reader over a source's bytes for every pass.
type OpenFn = dyn Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync;

/// One source of a [`Corpus`].
#[derive(Clone)]
enum Source {
    /// A corpus file.
    File(PathBuf),
    /// Text in memory, one sentence per line.
    Text(Arc<str>),
    /// Pre-tokenised sentences in memory.
    Sentences(Arc<dyn SentenceSource>),
    /// A reader opened anew for every pass, with the name used in messages.
    Open { open: Arc<OpenFn>, name: PathBuf },
}

/// The name standing for text in memory in messages and [`SentenceStream::current_path`].
const TEXT_NAME: &str = "<text>";

/// The name standing for sentences in memory in messages and
/// [`SentenceStream::current_path`].
const SENTENCES_NAME: &str = "<sentences>";

/// Pre-tokenised sentences, whatever container holds them.
trait SentenceSource: Send + Sync {
    /// Number of sentences.
    fn n_sentences(&self) -> usize;
    /// Calls `f` for every word of sentence `index`, in order.
    fn for_each_word(&self, index: usize, f: &mut dyn FnMut(&str));
}

/// A container of sentences of words, kept as the caller gave it.
struct HeldSentences<T, S, W> {
    sentences: T,
    _types: PhantomData<fn() -> (S, W)>,
}

impl<T, S, W> SentenceSource for HeldSentences<T, S, W>
where
    T: AsRef<[S]> + Send + Sync,
    S: AsRef<[W]>,
    W: AsRef<str>,
{
    fn n_sentences(&self) -> usize {
        self.sentences.as_ref().len()
    }

    fn for_each_word(&self, index: usize, f: &mut dyn FnMut(&str)) {
        if let Some(sentence) = self.sentences.as_ref().get(index) {
            for word in sentence.as_ref() {
                f(word.as_ref());
            }
        }
    }
}

impl fmt::Debug for Corpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sources: Vec<String> = self
            .sources
            .iter()
            .map(|source| match source {
                Source::File(path) => format!("file {}", path.display()),
                Source::Text(text) => format!("{TEXT_NAME} of {} bytes", text.len()),
                Source::Sentences(sentences) => {
                    format!("{SENTENCES_NAME}: {} sentences", sentences.n_sentences())
                }
                Source::Open { name, .. } => format!("reader {}", name.display()),
            })
            .collect();
        f.debug_struct("Corpus")
            .field("sources", &sources)
            .field("options", &self.options)
            .finish()
    }
}

impl Corpus {
    /// A corpus made of the files `paths`, read in that order. Nothing is opened yet.
    pub fn new<P: Into<PathBuf>>(
        paths: impl IntoIterator<Item = P>,
        options: CorpusOptions,
    ) -> Self {
        Self {
            sources: paths
                .into_iter()
                .map(|path| Source::File(path.into()))
                .collect(),
            options,
        }
    }

    /// A corpus of text held in memory: one sentence per line, tokenised exactly as a
    /// corpus file is ([`for_each_token`], lowercased by default), with no copy of the
    /// text. Messages name it `<text>`, with the line.
    ///
    /// ```
    /// use bilinear_skipgram::Corpus;
    ///
    /// let corpus = Corpus::from_text("The cat sat.\nA dog barked!\n");
    /// let mut stream = corpus.sentences()?;
    /// let mut words = Vec::new();
    /// while stream.next_sentence(|word| words.push(word.to_owned()))? {}
    /// assert_eq!(words, ["the", "cat", "sat", "a", "dog", "barked"]);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn from_text(text: impl Into<Arc<str>>) -> Self {
        Self {
            sources: vec![Source::Text(text.into())],
            options: CorpusOptions::default(),
        }
    }

    /// A corpus of sentences already split into words, held in memory as given (a
    /// `Vec<Vec<String>>`, a `Vec<Vec<&'static str>>`, an `Arc<[Vec<String>]>` shared with
    /// the caller, arrays…): nothing is copied.
    ///
    /// The words are not tokenised again: each is one token, exactly as given, whatever
    /// [`CorpusOptions::lowercase`] says (lowercase them yourself if you want that), and
    /// [`CorpusOptions::utf8`] does not apply. [`CorpusOptions::markers`] does: the
    /// markers surround every sentence that has a word. Empty words are skipped, and words
    /// longer than [`MAX_TOKEN_BYTES`] are skipped and counted as a corpus file's are. Messages name
    /// the source `<sentences>`, with the one-based sentence number as the line.
    ///
    /// Reading a sentence with a word that contains whitespace is an [`Error::Corpus`]: a
    /// vocabulary with such a word could not be saved (`vocab.txt`, word2vec and checkpoint
    /// files separate words by whitespace).
    ///
    /// ```
    /// use bilinear_skipgram::{Corpus, CorpusOptions};
    ///
    /// let corpus = Corpus::from_sentences(vec![vec!["New_York", "is", "big"], vec!["", "Paris"]]);
    /// let mut stream = corpus.sentences()?;
    /// let mut sentences = Vec::new();
    /// loop {
    ///     let mut sentence = Vec::new();
    ///     if !stream.next_sentence(|word| sentence.push(word.to_owned()))? {
    ///         break;
    ///     }
    ///     sentences.push(sentence);
    /// }
    /// assert_eq!(sentences, [vec!["New_York", "is", "big"], vec!["Paris"]]);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn from_sentences<T, S, W>(sentences: T) -> Self
    where
        T: AsRef<[S]> + Send + Sync + 'static,
        S: AsRef<[W]> + 'static,
        W: AsRef<str> + 'static,
    {
        let held = HeldSentences {
            sentences,
            _types: PhantomData,
        };
        Self {
            sources: vec![Source::Sentences(Arc::new(held))],
            options: CorpusOptions::default(),
        }
    }

    /// A corpus read from readers that `open` makes, a fresh one for every pass over the
    /// corpus (training makes one pass for the vocabulary and one per epoch): for text in
    /// a database, behind a network connection, or made on the fly. The bytes may be plain,
    /// gzip or xz (recognised by their first bytes) and are tokenised as a corpus file's.
    /// `open` must give the same text every time; `name` stands for the source in messages
    /// and in [`SentenceStream::current_path`].
    ///
    /// The bytes are read on one thread, as a file's are; a reader that is slower than
    /// training slows training down.
    ///
    /// ```
    /// use std::io::Cursor;
    /// use std::sync::Arc;
    /// use bilinear_skipgram::Corpus;
    ///
    /// let text: Arc<[u8]> = Arc::from(&b"one two\nthree\n"[..]);
    /// let corpus = Corpus::from_reader_fn("shared bytes", move || Ok(Cursor::new(Arc::clone(&text))));
    /// for _pass in 0..2 {
    ///     let mut stream = corpus.sentences()?;
    ///     let mut n_words = 0;
    ///     while stream.next_sentence(|_| n_words += 1)? {}
    ///     assert_eq!(n_words, 3);
    /// }
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn from_reader_fn<F, R>(name: impl Into<PathBuf>, open: F) -> Self
    where
        F: Fn() -> io::Result<R> + Send + Sync + 'static,
        R: Read + Send + 'static,
    {
        let open: Arc<OpenFn> =
            Arc::new(move || open().map(|reader| Box::new(reader) as Box<dyn Read + Send>));
        Self {
            sources: vec![Source::Open {
                open,
                name: name.into(),
            }],
            options: CorpusOptions::default(),
        }
    }

    /// The same sources read with `options`.
    ///
    /// ```
    /// use bilinear_skipgram::{Corpus, CorpusOptions};
    ///
    /// let corpus = Corpus::from_text("Hello").with_options(CorpusOptions::default().with_markers(true));
    /// assert!(corpus.options().markers);
    /// ```
    #[must_use]
    pub fn with_options(mut self, options: CorpusOptions) -> Self {
        self.options = options;
        self
    }

    /// The corpus files, in reading order (sources in memory and readers are not files and
    /// are left out).
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.sources.iter().filter_map(|source| match source {
            Source::File(path) => Some(path.as_path()),
            _ => None,
        })
    }

    /// The reading and tokenising options.
    pub fn options(&self) -> &CorpusOptions {
        &self.options
    }

    /// A stream over the sentences of all the sources, in order.
    ///
    /// Every path is checked up front (so a typo fails before a long pass starts), but the
    /// files are opened lazily, one at a time, as the stream reaches them, and so are the
    /// readers of [`Corpus::from_reader_fn`]. Each file may be plain, gzip or xz: the format
    /// is recognised by its first bytes, not its name.
    ///
    /// Every file must be a regular file: training reads the corpus once for the
    /// vocabulary and once per epoch, and a pipe (`mkfifo`, `/dev/stdin` of a pipeline,
    /// `<(…)`, or `-` for standard input) can be read only once; opening one again would
    /// wait forever. Save such a stream to a file first (compressed if you like), or hold it
    /// in memory ([`Corpus::from_text`]). To read a stream once, use
    /// [`SentenceStream::from_reader`].
    ///
    /// # Errors
    ///
    /// [`Error::File`] naming the path if a file does not exist, cannot be inspected, is a
    /// directory, or is not a regular file (a pipe, a device, a socket, or `-`).
    pub fn sentences(&self) -> Result<SentenceStream> {
        for path in self.paths() {
            check_corpus_file(path)?;
        }
        Ok(SentenceStream::with_pending(
            self.sources
                .iter()
                .map(|source| match source {
                    Source::File(path) => Pending::Path(path.clone()),
                    Source::Text(text) => Pending::Text(Arc::clone(text)),
                    Source::Sentences(sentences) => Pending::Sentences(Arc::clone(sentences)),
                    Source::Open { open, name } => Pending::Open {
                        open: Arc::clone(open),
                        name: name.clone(),
                    },
                })
                .collect(),
            self.options.clone(),
        ))
    }

    /// The name of every source, in order, as the [`SourceFingerprint`]s of a pass over
    /// the corpus name them (a file's path as given, `<text>`, `<sentences>`, a reader
    /// function's name), each with whether it is a file: what resuming compares before
    /// reading the corpus to compare the content. Nothing is read.
    pub(crate) fn source_names(&self) -> Vec<(PathBuf, bool)> {
        self.sources
            .iter()
            .map(|source| match source {
                Source::File(path) => (path.clone(), true),
                Source::Text(_) => (PathBuf::from(TEXT_NAME), false),
                Source::Sentences(_) => (PathBuf::from(SENTENCES_NAME), false),
                Source::Open { name, .. } => (name.clone(), false),
            })
            .collect()
    }
}

impl<P: AsRef<Path>> From<&[P]> for Corpus {
    /// The corpus files `paths`, read with the default options.
    fn from(paths: &[P]) -> Self {
        Self::new(
            paths.iter().map(|path| path.as_ref().to_path_buf()),
            CorpusOptions::default(),
        )
    }
}

impl<P: AsRef<Path>, const N: usize> From<&[P; N]> for Corpus {
    /// The corpus files `paths`, read with the default options.
    fn from(paths: &[P; N]) -> Self {
        Self::from(&paths[..])
    }
}

impl<P: AsRef<Path>, const N: usize> From<[P; N]> for Corpus {
    /// The corpus files `paths`, read with the default options.
    fn from(paths: [P; N]) -> Self {
        Self::from(&paths[..])
    }
}

impl<P: AsRef<Path>> From<Vec<P>> for Corpus {
    /// The corpus files `paths`, read with the default options.
    fn from(paths: Vec<P>) -> Self {
        Self::from(paths.as_slice())
    }
}

impl<P: AsRef<Path>> From<&Vec<P>> for Corpus {
    /// The corpus files `paths`, read with the default options.
    fn from(paths: &Vec<P>) -> Self {
        Self::from(paths.as_slice())
    }
}

impl From<&Corpus> for Corpus {
    /// A clone (cheap: text and sentences in memory are shared).
    fn from(corpus: &Corpus) -> Self {
        corpus.clone()
    }
}

/// Checks that `path` is a regular file (after following symbolic links).
fn check_corpus_file(path: &Path) -> Result<()> {
    let refuse = |kind: io::ErrorKind, what: &str| {
        Err(Error::File {
            path: path.to_path_buf(),
            source: io::Error::new(kind, what.to_owned()),
        })
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound && path == Path::new("-") => {
            return refuse(
                io::ErrorKind::InvalidInput,
                "standard input cannot be a corpus: the corpus is read once for the \
                 vocabulary and once per epoch, so it must be a regular file (save the \
                 stream to a file first, compressed if you like)",
            );
        }
        Err(source) => {
            return Err(Error::File {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if metadata.is_dir() {
        return refuse(
            io::ErrorKind::IsADirectory,
            "is a directory, not a corpus file",
        );
    }
    if !metadata.is_file() {
        let what = file_type_name(&metadata.file_type());
        return refuse(
            io::ErrorKind::InvalidInput,
            &format!(
                "is {what}, not a regular file: the corpus is read once for the vocabulary \
                 and once per epoch, so it must be a regular file (save the stream to a file \
                 first, compressed if you like)"
            ),
        );
    }
    Ok(())
}

/// What a file that is neither a regular file nor a directory is, in words.
fn file_type_name(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a pipe (FIFO)";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    let _ = file_type;
    "a special file"
}

/// A source not yet opened.
enum Pending {
    /// A file to open.
    Path(PathBuf),
    /// A reader given by the caller, with the name used in messages.
    Reader {
        reader: Box<dyn Read + Send>,
        name: PathBuf,
    },
    /// Text in memory.
    Text(Arc<str>),
    /// Pre-tokenised sentences in memory.
    Sentences(Arc<dyn SentenceSource>),
    /// A reader to open, with the name used in messages.
    Open { open: Arc<OpenFn>, name: PathBuf },
}

/// The bytes of text in memory, for a [`Cursor`] that reads them without a copy.
struct SharedText(Arc<str>);

impl AsRef<[u8]> for SharedText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Pre-tokenised sentences being read: the source, the next sentence's index, and the
/// hash of the sentences read so far (their words joined by a space, each sentence ended
/// by a line feed, as a file holding them would be), for the source's fingerprint.
struct GivenSentences {
    sentences: Arc<dyn SentenceSource>,
    next: usize,
    hasher: Hasher,
}

/// The format of the source being read, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Plain,
    Gzip,
    Xz,
}

impl Compression {
    fn sniff(magic: &[u8]) -> Self {
        if magic.starts_with(XZ_MAGIC) {
            Self::Xz
        } else if magic.starts_with(GZIP_MAGIC) {
            Self::Gzip
        } else {
            Self::Plain
        }
    }
}

/// Reads the first bytes of `raw` to recognise its format and returns a buffered reader
/// over the decompressed text.
pub(crate) fn open_decoded(
    raw: Box<dyn Read + Send>,
) -> io::Result<(Box<dyn BufRead + Send>, Compression)> {
    let mut raw = BufReader::with_capacity(READ_BUFFER_BYTES, raw);
    let mut magic = [0_u8; XZ_MAGIC.len()];
    let mut n_magic = 0;
    while n_magic < magic.len() {
        match raw.read(&mut magic[n_magic..]) {
            Ok(0) => break,
            Ok(n) => n_magic += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    let magic = &magic[..n_magic];
    let compression = Compression::sniff(magic);
    let whole = Cursor::new(magic.to_vec()).chain(raw);
    let reader: Box<dyn BufRead + Send> = match compression {
        Compression::Plain => Box::new(whole),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            READ_BUFFER_BYTES,
            gzip_decoder(whole)?,
        )),
        Compression::Xz => Box::new(BufReader::with_capacity(
            READ_BUFFER_BYTES,
            xz_decoder(whole)?,
        )),
    };
    Ok((reader, compression))
}

/// The error for a compressed input that this build cannot read.
#[cfg(not(all(feature = "gzip", feature = "xz")))]
fn feature_off(format: &str, feature: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "the input is {format}-compressed, but this build reads {format} only with the cargo feature `{feature}`"
        ),
    )
}

/// A decoder of every gzip member of `compressed`, one after the other.
#[cfg(feature = "gzip")]
fn gzip_decoder(compressed: impl BufRead + Send + 'static) -> io::Result<impl Read + Send> {
    Ok(flate2::bufread::MultiGzDecoder::new(compressed))
}

#[cfg(not(feature = "gzip"))]
fn gzip_decoder(_: impl BufRead + Send + 'static) -> io::Result<io::Empty> {
    Err(feature_off("gzip", "gzip"))
}

/// A decoder of every xz stream of `compressed`, one after the other (stream padding
/// allowed), as `xz -d` reads concatenated files.
#[cfg(feature = "xz")]
fn xz_decoder(compressed: impl BufRead + Send + 'static) -> io::Result<impl Read + Send> {
    Ok(lzma_rust2::XzReader::new(compressed, true))
}

#[cfg(not(feature = "xz"))]
fn xz_decoder(_: impl BufRead + Send + 'static) -> io::Result<io::Empty> {
    Err(feature_off("xz", "xz"))
}

/// Tokenises one sentence, surrounding it with markers if asked, and skips (and counts in
/// `long_tokens`) the tokens longer than [`MAX_TOKEN_BYTES`]. Returns whether the sentence
/// had any token.
fn emit_sentence(
    text: &str,
    options: &CorpusOptions,
    buffer: &mut String,
    long_tokens: &mut u64,
    f: &mut impl FnMut(&str),
) -> bool {
    let mut any = false;
    for_each_token(text, options.lowercase, buffer, |token| {
        if token.len() > MAX_TOKEN_BYTES {
            *long_tokens += 1;
            return;
        }
        if !any {
            any = true;
            if options.markers {
                f(START_MARKER);
            }
        }
        f(token);
    });
    if any && options.markers {
        f(END_MARKER);
    }
    any
}

/// How a character takes part in tokens: a word character, a joiner (apostrophe or
/// hyphen) or a separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharClass {
    Word,
    Joiner,
    Separator,
}

impl CharClass {
    fn of(c: char) -> Self {
        if is_word_char(c) {
            Self::Word
        } else if is_joiner(c) {
            Self::Joiner
        } else {
            Self::Separator
        }
    }

    fn of_ascii(b: u8) -> Self {
        Self::of(char::from(b))
    }

    /// Whether text may be cut between a character of class `self` and one of class
    /// `next` without changing its tokens: unless a word character or a joiner meets
    /// another, except two joiners (the first of which then joins nothing).
    fn cut_between(self, next: Self) -> bool {
        self == Self::Separator
            || next == Self::Separator
            || (self, next) == (Self::Joiner, Self::Joiner)
    }
}

/// The last position of `bytes`, after at least one byte, where the text can be cut
/// without changing its tokens (see [`CharClass::cut_between`]); `None` if there is none,
/// that is, if `bytes` is one run of word characters and joiners. An incomplete UTF-8
/// sequence at the very end is never cut before, since more of it may follow; invalid
/// sequences elsewhere separate tokens, as U+FFFD does.
fn last_cut(bytes: &[u8]) -> Option<usize> {
    // ASCII text: look back from the end, two bytes at a time.
    let n = bytes.len();
    if bytes
        .last()
        .is_some_and(|&b| b.is_ascii() && CharClass::of_ascii(b) == CharClass::Separator)
    {
        return Some(n);
    }
    let mut i = n;
    while i >= 2 && bytes[i - 1].is_ascii() && bytes[i - 2].is_ascii() {
        if CharClass::of_ascii(bytes[i - 2]).cut_between(CharClass::of_ascii(bytes[i - 1])) {
            return Some(i - 1);
        }
        i -= 1;
    }
    if i < 2 {
        return None;
    }
    // Any text: one pass from the start.
    let mut best = None;
    let mut previous: Option<CharClass> = None;
    let mut at = 0;
    let mut chunks = bytes.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        for c in chunk.valid().chars() {
            let class = CharClass::of(c);
            if previous.is_some_and(|p| p.cut_between(class)) {
                best = Some(at);
            }
            previous = Some(class);
            at += c.len_utf8();
        }
        let invalid = chunk.invalid();
        if invalid.is_empty() {
            continue;
        }
        if chunks.peek().is_none() {
            // Possibly the start of a character cut by the buffer's end.
            return best;
        }
        if previous.is_some() {
            best = Some(at);
        }
        previous = Some(CharClass::Separator);
        at += invalid.len();
    }
    if previous == Some(CharClass::Separator) {
        best = Some(at);
    }
    best.filter(|&cut| cut > 0)
}

/// Decodes `bytes` into `out`, replacing each maximal invalid sequence by U+FFFD. Returns
/// the number of invalid bytes.
fn decode_lossy(bytes: &[u8], out: &mut String) -> u64 {
    out.clear();
    let mut n_invalid = 0_u64;
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        let invalid = chunk.invalid();
        if !invalid.is_empty() {
            n_invalid += invalid.len() as u64;
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
    n_invalid
}

/// Sentences of a corpus, read one line at a time.
///
/// Made by [`Corpus::sentences`] or [`SentenceStream::from_reader`]. A trailing `"\n"` or
/// `"\r\n"` is removed, and lines with no token are skipped. Memory stays bounded
/// whatever the input: a line longer than [`MAX_SENTENCE_BYTES`] is cut between two tokens
/// into several sentences, and a token longer than [`MAX_TOKEN_BYTES`] is skipped and
/// counted ([`long_tokens_skipped`](Self::long_tokens_skipped)); a run of word characters
/// too long to fit a sentence is skipped up to the next ASCII separator (a space,
/// punctuation, a control character) or the end of its line.
///
/// After an error the stream can still be used: an invalid UTF-8 line (strict mode) is
/// skipped, while a read or decompression error, or a file that cannot be opened, abandons
/// the rest of that file and the stream goes on with the next one.
pub struct SentenceStream {
    options: CorpusOptions,
    pending: VecDeque<Pending>,
    source: Option<HashingReader<Box<dyn BufRead + Send>>>,
    /// Pre-tokenised sentences being read (instead of `source`).
    given: Option<GivenSentences>,
    /// The current source's size on disk, if it is a file.
    source_size: Option<u64>,
    /// The sources read to their end, with the hash of their bytes.
    fingerprints: Vec<SourceFingerprint>,
    compression: Compression,
    path: Option<PathBuf>,
    line: u64,
    bytes_read: u64,
    replaced_bytes: u64,
    long_tokens: u64,
    /// The bytes of the current line read and not yet handed out: the sentence being read,
    /// which starts with what a cut left over of the one before.
    line_bytes: Vec<u8>,
    /// Bytes at the start of `line_bytes` that the last sentence took.
    consumed: usize,
    /// Whether the current line goes on after the bytes read (the last sentence was cut
    /// from a longer line, or the line is being read).
    mid_line: bool,
    /// Bytes of the current line before `line_bytes`.
    line_offset: u64,
    /// What to discard before reading on.
    skipping: Skip,
    /// [`MAX_SENTENCE_BYTES`], or less in tests.
    max_sentence: usize,
    line_text: String,
    token: String,
}

/// Input that [`SentenceStream`] discards before reading on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    Nothing,
    /// The rest of a line that had invalid UTF-8.
    RestOfLine,
    /// The rest of a token longer than a sentence.
    LongToken,
}

impl fmt::Debug for SentenceStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentenceStream")
            .field("options", &self.options)
            .field("current_path", &self.path)
            .field("current_line", &self.line)
            .field("n_pending_sources", &self.pending.len())
            .field("bytes_read", &self.bytes_read)
            .field("replaced_bytes", &self.replaced_bytes)
            .field("long_tokens_skipped", &self.long_tokens)
            .finish_non_exhaustive()
    }
}

impl SentenceStream {
    fn with_pending(pending: VecDeque<Pending>, options: CorpusOptions) -> Self {
        Self {
            options,
            pending,
            source: None,
            given: None,
            source_size: None,
            fingerprints: Vec::new(),
            compression: Compression::Plain,
            path: None,
            line: 0,
            bytes_read: 0,
            replaced_bytes: 0,
            long_tokens: 0,
            line_bytes: Vec::new(),
            consumed: 0,
            mid_line: false,
            line_offset: 0,
            skipping: Skip::Nothing,
            max_sentence: MAX_SENTENCE_BYTES,
            line_text: String::new(),
            token: String::new(),
        }
    }

    /// A stream over text read from `reader`, which may be plain, gzip or xz (recognised by
    /// its first bytes). `name` stands for the source in errors and in
    /// [`current_path`](Self::current_path). Nothing is read until the first
    /// [`next_sentence`](Self::next_sentence).
    ///
    /// ```
    /// use bilinear_skipgram::{CorpusOptions, corpus::SentenceStream};
    ///
    /// let options = CorpusOptions::default().with_markers(true);
    /// let mut stream = SentenceStream::from_reader(&b"Hello, world\r\n"[..], "greeting", options);
    /// let mut tokens = Vec::new();
    /// assert!(stream.next_sentence(|t| tokens.push(t.to_owned()))?);
    /// assert_eq!(tokens, ["<START>", "hello", "world", "<END>"]);
    /// assert!(!stream.next_sentence(|_| {})?);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn from_reader(
        reader: impl Read + Send + 'static,
        name: impl Into<PathBuf>,
        options: CorpusOptions,
    ) -> Self {
        let pending = Pending::Reader {
            reader: Box::new(reader),
            name: name.into(),
        };
        Self::with_pending(VecDeque::from([pending]), options)
    }

    /// Reads the next sentence that has at least one token and calls `f` for each token in
    /// order, with [`START_MARKER`] first and [`END_MARKER`] last when markers are on.
    /// Returns `Ok(true)` if a sentence was read and `Ok(false)` at the end of the last
    /// source. A sentence is a line, or a piece of a line longer than
    /// [`MAX_SENTENCE_BYTES`].
    ///
    /// # Errors
    ///
    /// - [`Error::File`] naming the path if a file cannot be opened or its first bytes
    ///   cannot be read, or naming the source if a reader function
    ///   ([`Corpus::from_reader_fn`]) fails to open a reader.
    /// - [`Error::Corpus`] naming the path and one-based line for invalid UTF-8 in strict
    ///   mode (with the byte offset within the line) and for read or decompression errors
    ///   (for example a truncated gzip or xz file); for pre-tokenised sentences
    ///   ([`Corpus::from_sentences`]), naming `<sentences>` and the one-based sentence
    ///   number for a word that contains whitespace (the sentence is skipped).
    ///
    /// If an error is returned, `f` has not been called for that sentence (it may have
    /// been for the sentences cut from the same line before it).
    pub fn next_sentence(&mut self, mut f: impl FnMut(&str)) -> Result<bool> {
        loop {
            if self.given.is_some() {
                match self.next_given(&mut f) {
                    Ok(Some(true)) => return Ok(true),
                    Ok(Some(false)) => continue,
                    Ok(None) => {
                        if let Some(given) = self.given.take() {
                            self.fingerprints.push(SourceFingerprint {
                                name: self.path.clone().unwrap_or_default(),
                                size: None,
                                bytes: given.hasher.len(),
                                hash: given.hasher.finish(),
                            });
                        }
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            }
            if self.source.is_none() {
                match self.pending.pop_front() {
                    None => return Ok(false),
                    Some(pending) => {
                        self.open(pending)?;
                        continue;
                    }
                }
            }
            let len = match self.read_piece() {
                Ok(Some(len)) => len,
                Ok(None) => {
                    if let Some(source) = self.source.take() {
                        self.fingerprints.push(SourceFingerprint {
                            name: self.path.clone().unwrap_or_default(),
                            size: self.source_size,
                            bytes: source.hasher().len(),
                            hash: source.hasher().finish(),
                        });
                    }
                    continue;
                }
                Err(error) => {
                    let error = self.read_error(&error);
                    self.source = None;
                    self.reset_line();
                    return Err(error);
                }
            };
            let piece = &self.line_bytes[..len];
            let text = match self.options.utf8 {
                Utf8Policy::Strict => match std::str::from_utf8(piece) {
                    Ok(text) => text,
                    Err(error) => {
                        let offset = self.line_offset + error.valid_up_to() as u64;
                        if self.mid_line {
                            // The rest of the line goes with it.
                            self.line_bytes.clear();
                            self.consumed = 0;
                            self.skipping = Skip::RestOfLine;
                        }
                        return Err(Error::Corpus {
                            path: self.path.clone().unwrap_or_default(),
                            line: self.line,
                            message: format!(
                                "invalid UTF-8 at byte offset {offset} of the line (0-based); \
                                 to replace invalid bytes instead, use Utf8Policy::Lossy (in \
                                 the train example: --lossy-utf8)"
                            ),
                        });
                    }
                },
                Utf8Policy::Lossy => {
                    self.replaced_bytes += decode_lossy(piece, &mut self.line_text);
                    self.line_text.as_str()
                }
            };
            if emit_sentence(
                text,
                &self.options,
                &mut self.token,
                &mut self.long_tokens,
                &mut f,
            ) {
                return Ok(true);
            }
        }
    }

    /// Reads the next sentence's bytes into `line_bytes` and returns their length without
    /// the line ending; `None` at the end of the source. At most [`MAX_SENTENCE_BYTES`] are
    /// held: a longer line is cut at the last place between two tokens ([`last_cut`]), and
    /// a run of word characters that fills the buffer is skipped as a long token.
    fn read_piece(&mut self) -> io::Result<Option<usize>> {
        let Some(source) = self.source.as_mut() else {
            return Ok(None);
        };
        self.line_bytes.drain(..self.consumed);
        self.line_offset += self.consumed as u64;
        self.consumed = 0;
        loop {
            if self.skipping != Skip::Nothing {
                let buf = source.fill_buf()?;
                if buf.is_empty() {
                    self.reset_line();
                    return Ok(None);
                }
                let stop = match self.skipping {
                    Skip::RestOfLine => buf.iter().position(|&b| b == b'\n').map(|i| i + 1),
                    _ => buf.iter().position(|&b| {
                        b.is_ascii() && CharClass::of_ascii(b) == CharClass::Separator
                    }),
                };
                let n = stop.unwrap_or(buf.len());
                source.consume(n);
                self.bytes_read += n as u64;
                self.line_offset += n as u64;
                if stop.is_some() {
                    if self.skipping == Skip::RestOfLine {
                        self.mid_line = false;
                    }
                    self.skipping = Skip::Nothing;
                }
                continue;
            }
            let room = self.max_sentence.saturating_sub(self.line_bytes.len());
            let n = source
                .by_ref()
                .take(room as u64)
                .read_until(b'\n', &mut self.line_bytes)?;
            self.bytes_read += n as u64;
            if self.line_bytes.is_empty() {
                self.mid_line = false;
                return Ok(None);
            }
            if !self.mid_line {
                self.line += 1;
                self.line_offset = 0;
                self.mid_line = true;
            }
            let len = self.line_bytes.len();
            if self.line_bytes.last() == Some(&b'\n') || len < self.max_sentence {
                // The end of the line (or of the source).
                self.consumed = len;
                self.mid_line = false;
                let mut end = len;
                if self.line_bytes.last() == Some(&b'\n') {
                    end -= 1;
                    if end > 0 && self.line_bytes[end - 1] == b'\r' {
                        end -= 1;
                    }
                }
                return Ok(Some(end));
            }
            match last_cut(&self.line_bytes) {
                Some(cut) => {
                    self.consumed = cut;
                    return Ok(Some(cut));
                }
                None => {
                    self.long_tokens += 1;
                    self.line_offset += len as u64;
                    self.line_bytes.clear();
                    self.skipping = Skip::LongToken;
                }
            }
        }
    }

    /// Reads the next pre-tokenised sentence: `Some(true)` if it had a word (handed to `f`),
    /// `Some(false)` if it had none, `None` at the end of the source.
    fn next_given(&mut self, f: &mut impl FnMut(&str)) -> Result<Option<bool>> {
        let Some(given) = self.given.as_mut() else {
            return Ok(None);
        };
        if given.next >= given.sentences.n_sentences() {
            return Ok(None);
        }
        let index = given.next;
        given.next += 1;
        self.line += 1;
        let mut spaced = None;
        let (mut any, mut bytes) = (false, 0_u64);
        let hasher = &mut given.hasher;
        let mut first = true;
        given.sentences.for_each_word(index, &mut |word| {
            if !first {
                hasher.update(b" ");
            }
            first = false;
            hasher.update(word.as_bytes());
            bytes += word.len() as u64 + 1;
            if spaced.is_none() && word.chars().any(char::is_whitespace) {
                spaced = Some(word.to_owned());
            }
            any |= !word.is_empty() && word.len() <= MAX_TOKEN_BYTES;
        });
        hasher.update(b"\n");
        self.bytes_read += bytes;
        if let Some(word) = spaced {
            return Err(Error::Corpus {
                path: self.path.clone().unwrap_or_default(),
                line: self.line,
                message: format!(
                    "the word {word:?} contains whitespace: a pre-tokenised word must not \
                     (vocabulary, word2vec and checkpoint files separate words by whitespace)"
                ),
            });
        }
        let markers = self.options.markers && any;
        if markers {
            f(START_MARKER);
        }
        let long_tokens = &mut self.long_tokens;
        given.sentences.for_each_word(index, &mut |word| {
            if word.len() > MAX_TOKEN_BYTES {
                *long_tokens += 1;
            } else if !word.is_empty() {
                f(word);
            }
        });
        if markers {
            f(END_MARKER);
        }
        Ok(Some(any))
    }

    /// Forgets the line being read (after an error, or at the end of a source).
    fn reset_line(&mut self) {
        self.line_bytes.clear();
        self.consumed = 0;
        self.mid_line = false;
        self.line_offset = 0;
        self.skipping = Skip::Nothing;
    }

    /// Opens a pending source and makes it current.
    fn open(&mut self, pending: Pending) -> Result<()> {
        let (raw, name): (Box<dyn Read + Send>, PathBuf) = match pending {
            Pending::Path(path) => match File::open(&path) {
                Ok(file) => {
                    self.source_size = file.metadata().ok().map(|m| m.len());
                    (Box::new(file), path)
                }
                Err(source) => {
                    self.path = Some(path.clone());
                    self.line = 0;
                    return Err(Error::File { path, source });
                }
            },
            Pending::Reader { reader, name } => {
                self.source_size = None;
                (reader, name)
            }
            Pending::Open { open, name } => match open() {
                Ok(reader) => {
                    self.source_size = None;
                    (reader, name)
                }
                Err(source) => {
                    self.path = Some(name.clone());
                    self.line = 0;
                    return Err(Error::File { path: name, source });
                }
            },
            Pending::Text(text) => {
                self.path = Some(PathBuf::from(TEXT_NAME));
                self.line = 0;
                self.reset_line();
                // A `String` never starts with a compression magic number (neither is
                // valid UTF-8), so the text is read as it is, without a copy.
                self.source = Some(HashingReader::new(Box::new(Cursor::new(SharedText(text)))));
                self.source_size = None;
                self.compression = Compression::Plain;
                return Ok(());
            }
            Pending::Sentences(sentences) => {
                self.path = Some(PathBuf::from(SENTENCES_NAME));
                self.line = 0;
                self.reset_line();
                self.source_size = None;
                self.given = Some(GivenSentences {
                    sentences,
                    next: 0,
                    hasher: Hasher::default(),
                });
                return Ok(());
            }
        };
        self.path = Some(name);
        self.line = 0;
        self.reset_line();
        match open_decoded(raw) {
            Ok((reader, compression)) => {
                self.source = Some(HashingReader::new(reader));
                self.compression = compression;
                Ok(())
            }
            Err(source) => Err(Error::File {
                path: self.path.clone().unwrap_or_default(),
                source,
            }),
        }
    }

    /// The error for a failed read of the current line, or of the one after it if the
    /// current one was read to its end.
    fn read_error(&self, error: &io::Error) -> Error {
        let what = match self.compression {
            Compression::Plain => "read error",
            Compression::Gzip => "gzip decompression error",
            Compression::Xz => "xz decompression error",
        };
        Error::Corpus {
            path: self.path.clone().unwrap_or_default(),
            line: self.line + u64::from(!self.mid_line),
            message: format!("{what}: {error}"),
        }
    }

    /// Number of invalid UTF-8 bytes replaced so far (all sources), in
    /// [`Utf8Policy::Lossy`] mode. Always 0 in strict mode.
    pub fn replaced_bytes(&self) -> u64 {
        self.replaced_bytes
    }

    /// The source being read (or the last one read, once the stream is exhausted);
    /// `None` before anything was opened.
    pub fn current_path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// One-based number, within [`current_path`](Self::current_path), of the last line
    /// read (including lines skipped for having no token); 0 before the first line of a
    /// source. For pre-tokenised sentences, the number of the last sentence read.
    pub fn current_line(&self) -> u64 {
        self.line
    }

    /// Uncompressed bytes consumed so far across all sources, line endings included
    /// (for pre-tokenised sentences, the bytes of the words plus one per word).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Number of tokens longer than [`MAX_TOKEN_BYTES`] skipped so far (all sources).
    pub fn long_tokens_skipped(&self) -> u64 {
        self.long_tokens
    }

    /// The sources read to their end so far, in order, each with its name, size and the
    /// hash of its bytes after decompression ([`SourceFingerprint`]; for pre-tokenised
    /// sentences, of their words joined by a space, a line feed after each sentence); a
    /// source abandoned after an error has none. Checkpoints record them to refuse
    /// resuming on another corpus.
    pub fn fingerprints(&self) -> &[SourceFingerprint] {
        &self.fingerprints
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn tokens(line: &str) -> Vec<String> {
        let mut buffer = String::new();
        let mut out = Vec::new();
        for_each_token(line, true, &mut buffer, |t| out.push(t.to_owned()));
        out
    }

    fn read_all(stream: &mut SentenceStream) -> Result<Vec<Vec<String>>> {
        let mut sentences = Vec::new();
        loop {
            let mut sentence = Vec::new();
            if !stream.next_sentence(|t| sentence.push(t.to_owned()))? {
                return Ok(sentences);
            }
            sentences.push(sentence);
        }
    }

    fn read_path(path: &Path, options: CorpusOptions) -> Result<Vec<Vec<String>>> {
        read_all(&mut Corpus::new([path], options).sentences()?)
    }

    fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn xz(bytes: &[u8]) -> Vec<u8> {
        let options = lzma_rust2::XzOptions::with_preset(6);
        let mut encoder = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// Deterministic pseudo-random bytes (xorshift64).
    fn garbage(n: usize, mut state: u64) -> Vec<u8> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    const SAMPLE: &str = "Петрол и НЕФТ, януари!\n\nThe well-known café — don't stop.\n2005 г.\n";

    fn sample_sentences() -> Vec<Vec<String>> {
        vec![
            strings(&["петрол", "и", "нефт", "януари"]),
            strings(&["the", "well-known", "café", "don't", "stop"]),
            strings(&["2005", "г"]),
        ]
    }

    // ---- tokeniser ----

    #[test]
    fn bulgarian_is_lowercased_and_split_on_punctuation() {
        assert_eq!(
            tokens("Петрол и НЕФТ, януари!"),
            ["петрол", "и", "нефт", "януари"]
        );
    }

    #[test]
    fn mixed_scripts() {
        assert_eq!(
            tokens("BMW и Mercedes-Benz; Καλημέρα ΚΌΣΜΕ; 東京 Tokyo; مرحبا بالعالم"),
            [
                "bmw",
                "и",
                "mercedes-benz",
                "καλημέρα",
                "κόσμε",
                "東京",
                "tokyo",
                "مرحبا",
                "بالعالم"
            ]
        );
    }

    #[test]
    fn digits_are_tokens() {
        assert_eq!(tokens("2005 г."), ["2005", "г"]);
        assert_eq!(tokens("3.14, 42%, x2"), ["3", "14", "42", "x2"]);
        // Non-ASCII digits are alphanumeric too.
        assert_eq!(tokens("٣٤ ५"), ["٣٤", "५"]);
    }

    #[test]
    fn apostrophes_and_hyphens_join_only_between_word_characters() {
        assert_eq!(tokens("don't"), ["don't"]);
        assert_eq!(tokens("don’t"), ["don’t"]);
        assert_eq!(tokens("well-known"), ["well-known"]);
        assert_eq!(tokens("well‐known"), ["well‐known"]);
        assert_eq!(tokens("о'кей"), ["о'кей"]);
        assert_eq!(tokens("'quoted'"), ["quoted"]);
        assert_eq!(tokens("‘quoted’"), ["quoted"]);
        assert_eq!(tokens("a--b"), ["a", "b"]);
        assert_eq!(tokens("end-"), ["end"]);
        assert_eq!(tokens("-start"), ["start"]);
        assert_eq!(tokens("a - b"), ["a", "b"]);
        assert_eq!(tokens("rock'n'roll"), ["rock'n'roll"]);
        assert_eq!(tokens("a'-b"), ["a", "b"]);
        assert_eq!(tokens("'"), Vec::<String>::new());
    }

    #[test]
    fn combining_marks_stay_inside_words() {
        // Devanagari vowel signs and virama are marks (Mc/Mn).
        assert_eq!(tokens("हिन्दी भाषा"), ["हिन्दी", "भाषा"]);
        // Thai tone mark.
        assert_eq!(tokens("น้ำ"), ["น้ำ"]);
        // Decomposed é: e + U+0301.
        assert_eq!(tokens("Cafe\u{301} noir"), ["cafe\u{301}", "noir"]);
    }

    #[test]
    fn uppercase_non_ascii_is_lowercased() {
        assert_eq!(tokens("ÀÉÎÕÜ ÆØÅ ŁÓDŹ"), ["àéîõü", "æøå", "łódź"]);
        // İ lowercases to two chars (i + combining dot above); no panic.
        assert_eq!(tokens("İSTANBUL"), ["i\u{307}stanbul"]);
        assert_eq!(tokens("ΣΊΣΥΦΟΣ"), ["σίσυφος"]);
        assert_eq!(tokens("Σ"), ["σ"]);
        assert_eq!(tokens("ẞ"), ["ß"]);
    }

    #[test]
    fn fast_paths_agree_with_the_general_definitions() {
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            assert_eq!(
                is_word_char(c),
                is_word_char_general(c),
                "{c:?} U+{:04X}",
                u32::from(c)
            );
        }
        for code in 0x400..=0x4ff {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let mut fast = String::new();
            push_word_char(&mut fast, c, true);
            if c != 'Σ' {
                assert_eq!(fast, c.to_lowercase().collect::<String>(), "U+{code:04X}");
            }
        }
    }

    #[test]
    fn lowercase_off_keeps_case() {
        let mut buffer = String::from("stale content");
        let mut out = Vec::new();
        for_each_token("НЕФТ Don't", false, &mut buffer, |t| {
            out.push(t.to_owned())
        });
        assert_eq!(out, ["НЕФТ", "Don't"]);
        assert!(buffer.is_empty());
    }

    #[test]
    fn separators_only_gives_no_tokens() {
        assert!(tokens("  \t ,.;!? — «» \u{fffd} 😀 ").is_empty());
        assert!(tokens("").is_empty());
    }

    // ---- streams ----

    #[test]
    fn stream_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<SentenceStream>();
    }

    /// Every kind of source gets a fingerprint; pre-tokenised sentences hash as the text
    /// of their words joined by a space, one sentence per line.
    #[test]
    fn every_source_kind_is_fingerprinted() {
        let sentences = vec![vec!["one", "two"], vec![], vec!["three"]];
        let text = "one two\n\nthree\n";
        let fingerprints = |corpus: &Corpus| {
            let mut stream = corpus.sentences().unwrap();
            while stream.next_sentence(|_| {}).unwrap() {}
            stream.fingerprints().to_vec()
        };
        let given = fingerprints(&Corpus::from_sentences(sentences));
        let in_memory = fingerprints(&Corpus::from_text(text));
        let bytes = text.as_bytes().to_vec();
        let reader = fingerprints(&Corpus::from_reader_fn("r", move || {
            Ok(Cursor::new(bytes.clone()))
        }));
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "c.txt.gz", &gzip(text.as_bytes()));
        let file = fingerprints(&Corpus::new([&path], CorpusOptions::default()));
        let names: Vec<_> = [&given, &in_memory, &reader, &file]
            .iter()
            .map(|f| f[0].name.clone())
            .collect();
        assert_eq!(
            names,
            [
                PathBuf::from("<sentences>"),
                PathBuf::from("<text>"),
                PathBuf::from("r"),
                path.clone()
            ]
        );
        for found in [&given, &in_memory, &reader, &file] {
            assert_eq!(found.len(), 1);
            assert_eq!(
                (found[0].bytes, found[0].hash),
                (in_memory[0].bytes, in_memory[0].hash)
            );
        }
        assert_eq!(in_memory[0].bytes, text.len() as u64);
        assert_eq!(given[0].size, None);
        assert_eq!(file[0].size, std::fs::metadata(&path).ok().map(|m| m.len()));
        // Another order of the same words is another fingerprint.
        let swapped = fingerprints(&Corpus::from_sentences(vec![
            vec!["two", "one"],
            vec![],
            vec!["three"],
        ]));
        assert_ne!(swapped[0].hash, given[0].hash);
    }

    #[test]
    fn in_memory_reader() {
        let mut stream =
            SentenceStream::from_reader(SAMPLE.as_bytes(), "mem", CorpusOptions::default());
        assert_eq!(read_all(&mut stream).unwrap(), sample_sentences());
        assert_eq!(stream.bytes_read(), SAMPLE.len() as u64);
        assert_eq!(stream.current_line(), 4);
        assert_eq!(stream.current_path(), Some(Path::new("mem")));
        assert_eq!(stream.replaced_bytes(), 0);
    }

    #[test]
    fn empty_file_has_no_sentences() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "empty.txt", b"");
        assert!(
            read_path(&path, CorpusOptions::default())
                .unwrap()
                .is_empty()
        );
        let blank = write_file(dir.path(), "blank.txt", b"\n \n, .\r\n");
        let options = CorpusOptions::default().with_markers(true);
        assert!(read_path(&blank, options).unwrap().is_empty());
    }

    #[test]
    fn file_with_one_word() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "one.txt", b"Word");
        assert_eq!(
            read_path(&path, CorpusOptions::default()).unwrap(),
            [["word"]]
        );
    }

    #[test]
    fn very_long_line_is_read_in_full() {
        let n_tokens = 100_000;
        let mut line = String::new();
        for i in 0..n_tokens {
            line.push_str(&format!("w{i} "));
        }
        line.push('\n');
        let mut stream = SentenceStream::from_reader(
            std::io::Cursor::new(line.into_bytes()),
            "long",
            CorpusOptions::default(),
        );
        // Cut into sentences of at most MAX_SENTENCE_BYTES, every token kept in order.
        let sentences = read_all(&mut stream).unwrap();
        assert!(sentences.len() > 1);
        let tokens: Vec<String> = sentences.into_iter().flatten().collect();
        let expected: Vec<String> = (0..n_tokens).map(|i| format!("w{i}")).collect();
        assert_eq!(tokens, expected);
        assert_eq!(stream.current_line(), 1);
    }

    /// `unit` repeated `n` times, made as it is read: a line of any length in little memory.
    struct Repeat {
        unit: &'static [u8],
        left: u64,
        at: usize,
    }

    impl Read for Repeat {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let mut n = 0;
            while n < buf.len() && self.left > 0 {
                let take = (self.unit.len() - self.at).min(buf.len() - n);
                buf[n..n + take].copy_from_slice(&self.unit[self.at..self.at + take]);
                n += take;
                self.at += take;
                if self.at == self.unit.len() {
                    self.at = 0;
                    self.left -= 1;
                }
            }
            Ok(n)
        }
    }

    #[test]
    fn a_line_of_millions_of_tokens_is_read_in_bounded_memory() {
        // One line of 24 MB, no line break at all.
        let n = 1_000_000;
        let reader = Repeat {
            unit: b"Alpha beta, gamma-delta ",
            left: n,
            at: 0,
        };
        let mut stream = SentenceStream::from_reader(reader, "endless", CorpusOptions::default());
        let (mut count, mut sentences, mut longest) = (0_u64, 0_u64, 0_usize);
        loop {
            let mut in_sentence = 0;
            let more = stream
                .next_sentence(|token| {
                    assert!(["alpha", "beta", "gamma-delta"].contains(&token), "{token}");
                    in_sentence += 1;
                })
                .unwrap();
            if !more {
                break;
            }
            count += in_sentence as u64;
            sentences += 1;
            longest = longest.max(in_sentence);
            // The line buffer never holds much more than a sentence.
            assert!(stream.line_bytes.capacity() <= 2 * MAX_SENTENCE_BYTES);
        }
        assert_eq!(count, 3 * n);
        assert!(sentences >= 24 * n / MAX_SENTENCE_BYTES as u64);
        assert!(longest <= MAX_SENTENCE_BYTES / 6);
        assert_eq!(stream.bytes_read(), 24 * n);
        assert_eq!(stream.current_line(), 1);
        assert_eq!(stream.long_tokens_skipped(), 0);
    }

    #[test]
    fn gzip_of_nul_bytes_reads_in_bounded_memory() {
        // 16 MiB of NUL bytes, one line, gzip-compressed to a few kilobytes.
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![0_u8; 1 << 20];
        for _ in 0..16 {
            encoder.write_all(&zeros).unwrap();
        }
        let compressed = encoder.finish().unwrap();
        assert!(compressed.len() < 100_000);
        let mut stream = SentenceStream::from_reader(
            std::io::Cursor::new(compressed),
            "zeros.gz",
            CorpusOptions::default(),
        );
        assert!(!stream.next_sentence(|t| panic!("token {t:?}")).unwrap());
        assert_eq!(stream.bytes_read(), 16 << 20);
        assert!(stream.line_bytes.capacity() <= 2 * MAX_SENTENCE_BYTES);
    }

    #[test]
    fn long_tokens_are_skipped_and_counted() {
        let long = "x".repeat(MAX_TOKEN_BYTES + 1);
        let fits = "y".repeat(MAX_TOKEN_BYTES);
        let huge = "z".repeat(3 * MAX_SENTENCE_BYTES);
        let text = format!("a {long} b\n{fits}\nc {huge}, d\n\u{e9}{huge}\u{fc} e\nlast\n");
        let mut stream = SentenceStream::from_reader(
            std::io::Cursor::new(text.into_bytes()),
            "long-tokens",
            CorpusOptions::default(),
        );
        let sentences = read_all(&mut stream).unwrap();
        // `c` ends the sentence cut before the run of z; the run is skipped up to the
        // comma. A run that starts with a non-ASCII letter is skipped up to the space
        // (ü is taken as part of it).
        assert_eq!(
            sentences,
            [
                strings(&["a", "b"]),
                vec![fits],
                strings(&["c"]),
                strings(&["d"]),
                strings(&["e"]),
                strings(&["last"]),
            ]
        );
        assert_eq!(stream.long_tokens_skipped(), 3);
        assert_eq!(stream.current_line(), 5);
    }

    #[test]
    fn invalid_utf8_in_a_long_line_gives_its_offset_and_skips_the_rest_of_the_line() {
        let mut bytes = b"ok ".repeat(30_000);
        bytes.extend_from_slice(b"\xff more\nnext\n");
        let mut stream = SentenceStream::from_reader(
            std::io::Cursor::new(bytes),
            "bad-long",
            CorpusOptions::default(),
        );
        let mut n_ok = 0;
        let error = loop {
            match stream.next_sentence(|t| {
                assert_eq!(t, "ok");
                n_ok += 1;
            }) {
                Ok(true) => {}
                Ok(false) => panic!("no error"),
                Err(error) => break error,
            }
        };
        let message = error.to_string();
        assert!(
            message.starts_with("bad-long:1: invalid UTF-8 at byte offset 90000 of the line"),
            "{message}"
        );
        assert!(message.contains("--lossy-utf8"), "{message}");
        // The sentences before the bad one were read; the rest of the line is dropped.
        assert!(n_ok > 0 && n_ok <= 30_000, "{n_ok}");
        assert_eq!(read_all(&mut stream).unwrap(), [strings(&["next"])]);
        assert_eq!(stream.current_line(), 2);
    }

    /// Words of mixed scripts and separators, including joiners that join (a single `-` or
    /// `'` between words) and that do not (`--`, `'-`, at the ends).
    fn line_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let word = "[a-zA-Z0-9\u{e9}\u{3a3}\u{3c3}\u{e7}\u{43d}\u{415}\u{424}\u{422}]{1,5}";
        let separator = proptest::sample::select(vec![
            " ",
            " ",
            " ",
            ", ",
            "\u{2014}",
            "-",
            "'",
            "--",
            "'-",
            "\u{2019}",
            "\u{2010}",
            "\u{2026} ",
            "\t",
            "\u{fffd}",
            "\u{3000}",
        ]);
        proptest::collection::vec((word, separator), 0..400).prop_map(|items| {
            items
                .into_iter()
                .map(|(w, s)| format!("{w}{s}"))
                .collect::<String>()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Cutting a line into sentences anywhere between tokens keeps exactly the tokens
        /// of the whole line.
        #[test]
        fn cutting_a_line_keeps_its_tokens(
            line in line_strategy(),
            max_sentence in 96_usize..400,
            lowercase in proptest::bool::ANY,
        ) {
            let mut reference = Vec::new();
            let mut buffer = String::new();
            for_each_token(&line, lowercase, &mut buffer, |t| reference.push(t.to_owned()));
            let text = format!("{line}\nsecond line\n");
            let options = CorpusOptions::default().with_lowercase(lowercase);
            let mut stream =
                SentenceStream::from_reader(std::io::Cursor::new(text.into_bytes()), "p", options);
            stream.max_sentence = max_sentence;
            let mut sentences = read_all(&mut stream).unwrap();
            let last = sentences.pop();
            proptest::prop_assert_eq!(last, Some(strings(&["second", "line"])));
            let tokens: Vec<String> = sentences.into_iter().flatten().collect();
            proptest::prop_assert_eq!(tokens, reference);
            proptest::prop_assert_eq!(stream.long_tokens_skipped(), 0);
            proptest::prop_assert_eq!(stream.current_line(), 2);
        }
    }

    #[test]
    fn invalid_utf8_strict_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "bad.txt", b"one\ntwo\nthr\xffee\nfour\n");
        let mut stream = Corpus::new([&path], CorpusOptions::default())
            .sentences()
            .unwrap();
        let mut seen = Vec::new();
        assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
        assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
        let error = stream
            .next_sentence(|t| seen.push(t.to_owned()))
            .unwrap_err();
        assert!(matches!(error, Error::Corpus { line: 3, .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("bad.txt"), "{message}");
        assert!(message.contains(":3:"), "{message}");
        assert!(message.contains("byte offset 3"), "{message}");
        // The bad line is skipped and reading can go on.
        assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
        assert_eq!(seen, ["one", "two", "four"]);
        assert!(!stream.next_sentence(|_| {}).unwrap());
    }

    #[test]
    fn invalid_utf8_lossy_counts_bad_bytes() {
        // 0xff (1 byte), a truncated 3-byte sequence 0xe2 0x82 (2 bytes, one U+FFFD), and
        // two lone continuation bytes 0x80 0x80 (2 bytes, two U+FFFD).
        let bytes = b"good\xffbad caf\xe2\x82 x\x80\x80y\n\xc3\xa9t\xc3\xa9\n";
        let options = CorpusOptions::default().with_utf8(Utf8Policy::Lossy);
        let mut stream = SentenceStream::from_reader(&bytes[..], "lossy", options);
        assert_eq!(
            read_all(&mut stream).unwrap(),
            [
                strings(&["good", "bad", "caf", "x", "y"]),
                strings(&["été"])
            ]
        );
        assert_eq!(stream.replaced_bytes(), 5);
    }

    #[test]
    fn binary_garbage_in_lossy_mode_does_not_panic() {
        for seed in 1_u64..=8 {
            let bytes = garbage(200_000, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15_u64));
            let options = CorpusOptions::default()
                .with_utf8(Utf8Policy::Lossy)
                .with_markers(true);
            let mut stream = SentenceStream::from_reader(
                std::io::Cursor::new(bytes.clone()),
                "garbage",
                options,
            );
            let mut n_tokens = 0_u64;
            loop {
                match stream.next_sentence(|_| n_tokens += 1) {
                    Ok(true) => {}
                    Ok(false) => break,
                    // Random bytes may start with a compression magic number.
                    Err(Error::Corpus { .. }) => break,
                    Err(other) => panic!("unexpected error {other:?}"),
                }
            }
            assert!(stream.replaced_bytes() > 0);
            assert!(stream.bytes_read() <= bytes.len() as u64);
        }
    }

    #[test]
    fn gzip_and_xz_match_plain_text() {
        let dir = tempfile::tempdir().unwrap();
        let plain = write_file(dir.path(), "plain.txt", SAMPLE.as_bytes());
        let gz = write_file(dir.path(), "corpus.gz", &gzip(SAMPLE.as_bytes()));
        let xz_path = write_file(dir.path(), "corpus.xz", &xz(SAMPLE.as_bytes()));
        // Wrong extensions: detection is by content.
        let gz_as_txt = write_file(dir.path(), "really-gzip.txt", &gzip(SAMPLE.as_bytes()));
        let xz_as_gz = write_file(dir.path(), "really-xz.gz", &xz(SAMPLE.as_bytes()));
        let plain_as_xz = write_file(dir.path(), "really-plain.xz", SAMPLE.as_bytes());
        // Two gzip members concatenated, split mid-line.
        let (head, tail) = SAMPLE.as_bytes().split_at(30);
        let mut two_members = gzip(head);
        two_members.extend(gzip(tail));
        let multi_gz = write_file(dir.path(), "multi.gz", &two_members);
        let mut two_streams = xz(head);
        two_streams.extend(xz(tail));
        let multi_xz = write_file(dir.path(), "multi.xz", &two_streams);

        let expected = read_path(&plain, CorpusOptions::default()).unwrap();
        assert_eq!(expected, sample_sentences());
        for path in [
            gz,
            xz_path,
            gz_as_txt,
            xz_as_gz,
            plain_as_xz,
            multi_gz,
            multi_xz,
        ] {
            let mut stream = Corpus::new([&path], CorpusOptions::default())
                .sentences()
                .unwrap();
            assert_eq!(
                read_all(&mut stream).unwrap(),
                expected,
                "{}",
                path.display()
            );
            assert_eq!(
                stream.bytes_read(),
                SAMPLE.len() as u64,
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn compressed_from_reader() {
        let options = CorpusOptions::default();
        let mut stream = SentenceStream::from_reader(
            std::io::Cursor::new(gzip(SAMPLE.as_bytes())),
            "gz",
            options,
        );
        assert_eq!(read_all(&mut stream).unwrap(), sample_sentences());
    }

    #[test]
    fn truncated_gzip_is_a_corpus_error() {
        let dir = tempfile::tempdir().unwrap();
        let body = "line one\n".repeat(10_000);
        let mut compressed = gzip(body.as_bytes());
        compressed.truncate(compressed.len() / 2);
        let path = write_file(dir.path(), "truncated.gz", &compressed);
        let mut stream = Corpus::new([&path], CorpusOptions::default())
            .sentences()
            .unwrap();
        let result = read_all(&mut stream);
        match result {
            Err(Error::Corpus {
                path: error_path,
                line,
                message,
            }) => {
                assert_eq!(error_path, path);
                assert!(line > 1);
                assert!(message.contains("gzip"), "{message}");
            }
            other => panic!("expected a corpus error, got {other:?}"),
        }
    }

    #[test]
    fn corrupt_xz_is_a_corpus_error() {
        let mut compressed = xz("some text\n".repeat(100).as_bytes());
        let middle = compressed.len() / 2;
        compressed[middle] ^= 0xff;
        let mut stream = SentenceStream::from_reader(
            std::io::Cursor::new(compressed),
            "bad.xz",
            CorpusOptions::default(),
        );
        let error = read_all(&mut stream).unwrap_err();
        assert!(matches!(error, Error::Corpus { .. }), "{error:?}");
        assert!(error.to_string().contains("bad.xz"), "{error}");
    }

    #[test]
    fn crlf_line_endings() {
        let text = b"Alpha beta\r\ngamma\r\n\r\ndelta";
        let mut stream = SentenceStream::from_reader(&text[..], "crlf", CorpusOptions::default());
        assert_eq!(
            read_all(&mut stream).unwrap(),
            [
                strings(&["alpha", "beta"]),
                strings(&["gamma"]),
                strings(&["delta"])
            ]
        );
        assert_eq!(stream.current_line(), 4);
    }

    #[test]
    fn markers_surround_each_sentence() {
        let options = CorpusOptions::default().with_markers(true);
        let mut stream = SentenceStream::from_reader(&b"A b\n...\nC\n"[..], "m", options);
        assert_eq!(
            read_all(&mut stream).unwrap(),
            [
                strings(&[START_MARKER, "a", "b", END_MARKER]),
                strings(&[START_MARKER, "c", END_MARKER])
            ]
        );
    }

    #[test]
    fn several_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_file(dir.path(), "1.txt", b"one two\nthree\n");
        let second = write_file(dir.path(), "2.gz", &gzip(b"four\n"));
        let third = write_file(dir.path(), "3.txt", b"\nfive six");
        let corpus = Corpus::new([&first, &second, &third], CorpusOptions::default());
        assert_eq!(
            corpus.paths().collect::<Vec<_>>(),
            [first.as_path(), second.as_path(), third.as_path()]
        );
        assert_eq!(corpus.options(), &CorpusOptions::default());
        let mut stream = corpus.sentences().unwrap();
        assert_eq!(stream.current_path(), None);
        let mut seen = Vec::new();
        assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
        assert_eq!(
            (stream.current_path(), stream.current_line()),
            (Some(first.as_path()), 1)
        );
        assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
        assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
        assert_eq!(
            (stream.current_path(), stream.current_line()),
            (Some(second.as_path()), 1)
        );
        assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
        assert_eq!(
            (stream.current_path(), stream.current_line()),
            (Some(third.as_path()), 2)
        );
        assert!(!stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
        assert_eq!(seen, ["one", "two", "three", "four", "five", "six"]);
        assert_eq!(stream.bytes_read(), 14 + 5 + 9);
    }

    #[test]
    fn missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let present = write_file(dir.path(), "present.txt", b"x\n");
        let missing = dir.path().join("missing.txt");
        let error = Corpus::new([&present, &missing], CorpusOptions::default())
            .sentences()
            .unwrap_err();
        match &error {
            Error::File { path, source } => {
                assert_eq!(path, &missing);
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("expected Error::File, got {other:?}"),
        }
        assert!(error.to_string().contains("missing.txt"), "{error}");
    }

    #[test]
    fn file_removed_after_check_is_a_file_error_and_stream_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let gone = write_file(dir.path(), "gone.txt", b"lost\n");
        let kept = write_file(dir.path(), "kept.txt", b"kept\n");
        let mut stream = Corpus::new([&gone, &kept], CorpusOptions::default())
            .sentences()
            .unwrap();
        std::fs::remove_file(&gone).unwrap();
        let error = stream.next_sentence(|_| {}).unwrap_err();
        assert!(
            matches!(&error, Error::File { path, .. } if path == &gone),
            "{error:?}"
        );
        let mut seen = Vec::new();
        assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
        assert_eq!(seen, ["kept"]);
    }

    #[test]
    fn directory_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let error = Corpus::new([dir.path()], CorpusOptions::default())
            .sentences()
            .unwrap_err();
        assert!(
            matches!(&error, Error::File { path, .. } if path == dir.path()),
            "{error:?}"
        );
    }

    #[test]
    fn short_reads_still_detect_compression() {
        /// A reader returning one byte per call.
        struct Trickle(std::io::Cursor<Vec<u8>>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(1);
                self.0.read(&mut buf[..n])
            }
        }
        for bytes in [xz(SAMPLE.as_bytes()), gzip(SAMPLE.as_bytes())] {
            let reader = Trickle(std::io::Cursor::new(bytes));
            let mut stream =
                SentenceStream::from_reader(reader, "trickle", CorpusOptions::default());
            assert_eq!(read_all(&mut stream).unwrap(), sample_sentences());
        }
    }

    #[test]
    fn debug_output_names_the_source() {
        let stream = SentenceStream::from_reader(&b"x"[..], "named", CorpusOptions::default());
        let debug = format!("{stream:?}");
        assert!(debug.contains("SentenceStream"), "{debug}");
        assert!(debug.contains("n_pending_sources: 1"), "{debug}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The ASCII fast path hands out exactly the tokens of the general path, on text
        /// that mixes ASCII words, joiners, digits, capitals and non-ASCII letters and
        /// separators.
        #[test]
        fn ascii_fast_path_equals_the_general_path(
            text in "([a-zA-Z0-9]{1,6}|[ '\\-.,]{1,3}|[éΣσçнЕФТ’‐—…]|ΣΣ| ){0,24}",
            lowercase in proptest::bool::ANY,
        ) {
            let (mut fast, mut general) = (Vec::new(), Vec::new());
            let mut buffer = String::from("left over");
            for_each_token(&text, lowercase, &mut buffer, |t| fast.push(t.to_owned()));
            proptest::prop_assert!(buffer.is_empty());
            general_tokens(&text, lowercase, &mut buffer, |t| general.push(t.to_owned()));
            proptest::prop_assert_eq!(fast, general, "{:?}", text);
        }
    }
}
