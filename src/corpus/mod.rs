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
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

use crate::error::{Error, Result};
pub use crate::fingerprint::SourceFingerprint;
use crate::fingerprint::{Hasher, HashingReader};

mod decode;
mod stream;
mod tokens;

pub(crate) use decode::{Compression, open_decoded};
pub use stream::SentenceStream;
pub use tokens::for_each_token;
pub(crate) use tokens::lowercase_token;

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
    /// training slows training down. Every pass reads to the end: the vocabulary pass
    /// comes before any progress report, so a reader that never ends cannot be stopped
    /// there (a file that never ends, such as a pipe or a device, is refused for this
    /// reason), and text that differs between passes is not detected (words missing from
    /// the vocabulary are dropped, as unknown words are).
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
    /// folder, or is not a regular file (a pipe, a device, a socket, or `-`).
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
    match crate::io::not_a_regular_file(&metadata) {
        Some(error) if error.kind() == io::ErrorKind::IsADirectory => Err(Error::File {
            path: path.to_path_buf(),
            source: error,
        }),
        Some(error) => refuse(
            io::ErrorKind::InvalidInput,
            &format!(
                "{error}: the corpus is read once for the vocabulary and once per epoch, so \
                 it must be a regular file (save the stream to a file first, compressed if \
                 you like)"
            ),
        ),
        None => Ok(()),
    }
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

#[cfg(test)]
mod tests;
