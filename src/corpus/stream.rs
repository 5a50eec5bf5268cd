//! Reading sentences from a source, one bounded line at a time.

use super::decode::*;
use super::tokens::*;
use super::*;

/// Tokenises one sentence, surrounding it with markers if asked, and skips (and counts in
/// `long_tokens`) the tokens longer than [`MAX_TOKEN_BYTES`]. Returns whether the sentence
/// had any token.
pub(super) fn emit_sentence(
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

/// How a character takes part in tokens: a word character, a joiner (apostrophe, hyphen,
/// zero-width joiner), an ignorable character (dropped: soft hyphen, word joiner) or a
/// separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CharClass {
    Word,
    Joiner,
    Ignorable,
    Separator,
}

impl CharClass {
    fn of(c: char) -> Self {
        if is_word_char(c) {
            Self::Word
        } else if is_joiner(c) {
            Self::Joiner
        } else if is_ignorable(c) {
            Self::Ignorable
        } else {
            Self::Separator
        }
    }

    fn of_ascii(b: u8) -> Self {
        Self::of(char::from(b))
    }

    /// Whether text may be cut between a character of class `self` and one of class
    /// `next` without changing its tokens: next to a separator, or between two joiners
    /// (the first of which then joins nothing); never elsewhere next to an ignorable
    /// character, which a token may continue across.
    fn cut_between(self, next: Self) -> bool {
        self == Self::Separator
            || next == Self::Separator
            || (self, next) == (Self::Joiner, Self::Joiner)
    }
}

/// The last position of `bytes`, after at least one byte, where the text can be cut
/// without changing its tokens (see [`CharClass::cut_between`]); `None` if there is none,
/// that is, if `bytes` is one run of word characters, joiners and ignorable characters. An incomplete UTF-8
/// sequence at the very end is never cut before, since more of it may follow; invalid
/// sequences elsewhere separate tokens, as U+FFFD does.
pub(super) fn last_cut(bytes: &[u8]) -> Option<usize> {
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
pub(super) fn decode_lossy(bytes: &[u8], out: &mut String) -> u64 {
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
    pub(super) line_bytes: Vec<u8>,
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
    pub(super) max_sentence: usize,
    line_text: String,
    token: String,
}

/// Input that [`SentenceStream`] discards before reading on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Skip {
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
    pub(super) fn with_pending(pending: VecDeque<Pending>, options: CorpusOptions) -> Self {
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
            Pending::Path(path) => match crate::io::open_regular_file(&path) {
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
        let what = self.compression.name().map_or_else(
            || "read error".to_owned(),
            |format| format!("{format} decompression error"),
        );
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
