//! word2vec's text and binary formats, as the original `word2vec` tool writes them and
//! gensim's `KeyedVectors.load_word2vec_format(path, binary=...)` reads them.
//!
//! Both start with a header line `n_words dim\n`. In the text format each word follows on
//! its own line, `word v1 v2 … vdim\n`, values separated by single spaces. In the binary
//! format each word is `word`, one space, `dim` little-endian `f32` and a newline.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use ndarray::{Array2, ArrayView2};

use super::MAX_LINE_BYTES;
use crate::error::{Error, Result};
use crate::vocab::Vocab;

/// Which of word2vec's two formats a file is in.
///
/// ```
/// use bilinear_skipgram::Word2vecFormat;
///
/// assert_eq!(Word2vecFormat::from_file_name("GoogleNews-vectors-negative300.bin.gz"), Word2vecFormat::Binary);
/// assert_eq!(Word2vecFormat::from_file_name("vectors.txt"), Word2vecFormat::Text);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Word2vecFormat {
    /// Text: a header line `n_words dim`, then one line per word, the word and its values
    /// in decimal, separated by spaces ([`write_word2vec_text`]).
    Text,
    /// Binary: the same header line, then per word its UTF-8 bytes, a space and `dim`
    /// little-endian `f32` ([`write_word2vec_binary`]).
    Binary,
}

impl Word2vecFormat {
    /// The format by the crate's naming rule, which
    /// [`read_word_vectors`](crate::read_word_vectors) follows: [`Binary`](Self::Binary)
    /// if the file name ends in `.bin` (also `.bin.gz`, `.bin.xz`, any case),
    /// [`Text`](Self::Text) otherwise. The two formats start alike, so the name is what
    /// tells them apart.
    pub fn from_file_name(path: impl AsRef<Path>) -> Word2vecFormat {
        let name = path
            .as_ref()
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let stem = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".xz"))
            .unwrap_or(&name);
        if stem.ends_with(".bin") {
            Word2vecFormat::Binary
        } else {
            Word2vecFormat::Text
        }
    }
}

/// The header line is `n_words dim\n`; anything longer than this is not a header.
const MAX_HEADER_LEN: u64 = 256;

/// The longest text value accepted, in bytes: a row of the text format may be at most
/// [`MAX_LINE_BYTES`] plus this many bytes per value long.
const MAX_TEXT_VALUE_BYTES: usize = 64;

/// Writes word vectors in word2vec's text format, atomically: a header line
/// `n_words dim`, then one line `word v1 v2 … vdim` per vocabulary entry, in id order.
///
/// Each value is written with the fewest digits that read back as exactly the same `f32`
/// (Rust's `{}` formatting, or `{:e}` for magnitudes below `1e-4` or from `1e16` up, which
/// keeps tiny and huge values short), so [`read_word2vec`] returns the very same bits, and so
/// do gensim, numpy and C's `strtof`. `-0.0` is written as `-0`; infinities and NaN as `inf`,
/// `-inf` and `NaN`.
///
/// ```
/// use bilinear_skipgram::{OovPolicy, Vocab, Word2vecFormat, read_word2vec, write_word2vec_text};
/// use ndarray::array;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("vectors.txt");
/// let vocab = Vocab::from_counts([("нефт".to_owned(), 3), ("oil".to_owned(), 2)], OovPolicy::Drop)?;
/// let vectors = array![[0.1_f32, -2.5], [1e-30, 0.0]];
/// write_word2vec_text(&path, vectors.view(), &vocab)?;
/// assert_eq!(std::fs::read_to_string(&path)?, "2 2\nнефт 0.1 -2.5\noil 1e-30 0\n");
/// let (words, read) = read_word2vec(&path, Word2vecFormat::Text)?;
/// assert_eq!(words, ["нефт", "oil"]);
/// assert_eq!(read, vectors);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// Nothing is written, and an earlier file at `path` is kept, when:
///
/// - [`Error::ShapeMismatch`]: `vectors` does not have one row per vocabulary entry.
/// - [`Error::File`] with [`io::ErrorKind::InvalidInput`]: a word is empty or contains
///   whitespace, so that it could not be read back as one word.
///
/// [`Error::File`] when the file cannot be written.
pub fn write_word2vec_text(
    path: impl AsRef<Path>,
    vectors: ArrayView2<'_, f32>,
    vocab: &Vocab,
) -> Result<()> {
    let path = path.as_ref();
    check_writable(path, vectors, vocab)?;
    super::write_atomic(path, |writer| {
        write_text_rows(writer, vectors, vocab).map_err(super::file_error(path))
    })
}

fn write_text_rows(
    writer: &mut impl Write,
    vectors: ArrayView2<'_, f32>,
    vocab: &Vocab,
) -> io::Result<()> {
    writeln!(writer, "{} {}", vectors.nrows(), vectors.ncols())?;
    for (word, row) in vocab.words().iter().zip(vectors.rows()) {
        writer.write_all(word.as_bytes())?;
        for &value in row {
            write_value(writer, value)?;
        }
        writer.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes `" value"` with the shortest digits that parse back to the same `f32`.
fn write_value(writer: &mut impl Write, value: f32) -> io::Result<()> {
    let magnitude = value.abs();
    if value == 0.0 || !value.is_finite() || (1e-4..1e16).contains(&magnitude) {
        write!(writer, " {value}")
    } else {
        write!(writer, " {value:e}")
    }
}

/// Writes word vectors in word2vec's binary format, atomically: a header line
/// `n_words dim`, then per vocabulary entry, in id order, the word's UTF-8 bytes, a space,
/// `dim` little-endian `f32` and a newline (as the original `word2vec` tool writes it).
///
/// # Errors
///
/// Nothing is written, and an earlier file at `path` is kept, when:
///
/// - [`Error::ShapeMismatch`]: `vectors` does not have one row per vocabulary entry.
/// - [`Error::File`] with [`io::ErrorKind::InvalidInput`]: a word is empty or contains
///   whitespace, so that it could not be read back as one word.
///
/// [`Error::File`] when the file cannot be written.
pub fn write_word2vec_binary(
    path: impl AsRef<Path>,
    vectors: ArrayView2<'_, f32>,
    vocab: &Vocab,
) -> Result<()> {
    let path = path.as_ref();
    check_writable(path, vectors, vocab)?;
    super::write_atomic(path, |writer| {
        write_binary_rows(writer, vectors, vocab).map_err(super::file_error(path))
    })
}

fn write_binary_rows(
    writer: &mut impl Write,
    vectors: ArrayView2<'_, f32>,
    vocab: &Vocab,
) -> io::Result<()> {
    writeln!(writer, "{} {}", vectors.nrows(), vectors.ncols())?;
    let mut record = Vec::new();
    for (word, row) in vocab.words().iter().zip(vectors.rows()) {
        record.clear();
        record.extend_from_slice(word.as_bytes());
        record.push(b' ');
        for &value in row {
            record.extend_from_slice(&value.to_le_bytes());
        }
        record.push(b'\n');
        writer.write_all(&record)?;
    }
    Ok(())
}

/// Checks, before anything is written, that there is one row per word and that every word
/// can be read back.
fn check_writable(path: &Path, vectors: ArrayView2<'_, f32>, vocab: &Vocab) -> Result<()> {
    if vectors.nrows() != vocab.len() {
        return Err(Error::ShapeMismatch {
            what: "word vectors (one row per vocabulary entry)",
            expected: vec![vocab.len(), vectors.ncols()],
            found: vectors.shape().to_vec(),
        });
    }
    if let Some((id, word)) = vocab
        .words()
        .iter()
        .enumerate()
        .find(|(_, word)| word.is_empty() || word.chars().any(char::is_whitespace))
    {
        return Err(Error::File {
            path: path.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "word {id} ({word:?}) is empty or contains whitespace and cannot be \
                     written in word2vec format"
                ),
            ),
        });
    }
    Ok(())
}

/// Reads word vectors in word2vec's text (`binary = false`) or binary (`binary = true`)
/// format, as written by [`write_word2vec_text`] and [`write_word2vec_binary`], by the
/// original `word2vec` tool or by gensim's `save_word2vec_format`.
///
/// Returns the words in file order and the vectors, one row per word. The words need not
/// form a [`Vocab`] (the file holds no counts); to get one, for example
/// `Vocab::from_counts(words.into_iter().map(|w| (w, 0)), OovPolicy::Drop)`.
///
/// What is accepted, following gensim's reader:
///
/// - Text: the values of a line are separated by single spaces; trailing ASCII whitespace
///   (including `"\r"`) is ignored; values are anything Rust parses as an `f32`
///   (`1.5`, `-2e-3`, `inf`, `NaN`). Blank lines after the last row are ignored.
/// - Binary: the words may start with newlines (the original tool ends each vector with one,
///   gensim does not), which are not part of the word. Newlines after the last row are
///   ignored.
///
/// A gzip- or xz-compressed file (as word2vec files are often distributed, for example
/// `GoogleNews-vectors-negative300.bin.gz`) is recognised by its first bytes and read
/// through the decompressor. A finalfusion or `.npy` file is recognised too, and refused
/// with a message that says what it is.
///
/// It is stricter than gensim in that the header must be exact: a file with fewer or more
/// rows than it claims, or rows of another length, is an error rather than read in part;
/// a dimension of 0 is refused. Memory is reserved only for what the file can actually
/// hold, so a header claiming 10¹² words gives an error at the end of the file, not a huge
/// allocation; a line of the text format may be at most [`MAX_LINE_BYTES`] plus 64 bytes
/// per value long.
///
/// # Errors
///
/// - [`Error::File`] when the file cannot be opened or read (or decompressed).
/// - Text format, [`Error::Parse`] naming the one-based line: a header that is not two
///   non-negative integers; a line that is too long, is not valid UTF-8, has an empty
///   word, a value that is not a number or the wrong number of values; a word seen before;
///   a row beyond the header's count.
/// - Binary format, [`Error::Format`] naming the row and its byte offset: a bad header, a
///   word that is not valid UTF-8, is empty, contains whitespace or is seen before, a
///   vector cut short, or bytes after the header's count of rows (a wrong count or
///   dimension in the header shows up as one of these).
/// - Both, [`Error::Format`]: an empty file or no header line, a header of dimension 0 or
///   whose count times dimension overflows a `usize`, a file that ends before the
///   header's count of rows, or a finalfusion or `.npy` file.
pub fn read_word2vec(
    path: impl AsRef<Path>,
    format: Word2vecFormat,
) -> Result<(Vec<String>, Array2<f32>)> {
    let path = path.as_ref();
    let binary = format == Word2vecFormat::Binary;
    let file = File::open(path).map_err(super::file_error(path))?;
    // The size of a regular file bounds what it can hold; other files (pipes) are read as
    // they come, growing buffers as data arrives.
    let mut file_len = file
        .metadata()
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len());
    let mut raw = BufReader::new(file);
    let magic = raw.fill_buf().map_err(super::file_error(path))?;
    if let Some(what) = super::not_word2vec(magic) {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!("{what}, not a word2vec file"),
        });
    }
    let (inner, compression) =
        crate::corpus::open_decoded(Box::new(raw)).map_err(super::file_error(path))?;
    if compression != crate::corpus::Compression::Plain {
        // The file's size no longer bounds what it holds.
        file_len = None;
    }
    let mut reader = Reader {
        path,
        inner,
        offset: 0,
    };
    let header = reader.read_header()?;
    let (n_words, dim) = parse_header(path, &header, binary)?;
    if n_words.checked_mul(dim).is_none() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "the header claims {n_words} words of dimension {dim}, more values than fit \
                 in memory"
            ),
        });
    }
    let remaining = file_len.map(|len| len.saturating_sub(reader.offset));
    let rows = rows_to_reserve(n_words, dim, binary, remaining);
    let mut words = Vec::with_capacity(rows);
    let mut values = Vec::with_capacity(rows * dim);
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(rows);
    if binary {
        reader.read_binary_rows(n_words, dim, &mut words, &mut values, &mut seen)?;
    } else {
        reader.read_text_rows(n_words, dim, &mut words, &mut values, &mut seen)?;
    }
    let vectors = Array2::from_shape_vec((n_words, dim), values).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        message: format!("{n_words} rows of dimension {dim}: {e}"),
    })?;
    Ok((words, vectors))
}

/// How many rows to reserve memory for: the header's count, but no more than `remaining`
/// bytes of a regular file can hold, or than 64 Ki values when the size is unknown (a pipe);
/// the buffers grow as rows actually arrive. A text row takes at least `w 0 … 0\n`, 2 + 2·dim
/// bytes (the last newline may be missing), a binary row `w `, 2 + 4·dim bytes (gensim
/// writes no newline).
fn rows_to_reserve(n_words: usize, dim: usize, binary: bool, remaining: Option<u64>) -> usize {
    let dim_u128 = dim as u128;
    let max_rows = match remaining {
        Some(remaining) if binary => u128::from(remaining) / (2 + 4 * dim_u128),
        Some(remaining) => (u128::from(remaining) + 1) / (2 + 2 * dim_u128),
        None => (1 << 16) / dim_u128.max(1),
    };
    usize::try_from(max_rows).map_or(n_words, |max_rows| n_words.min(max_rows))
}

/// Parses `n_words dim`; a dimension of 0 is an error.
fn parse_header(path: &Path, header: &[u8], binary: bool) -> Result<(usize, usize)> {
    let bad = |message: String| {
        if binary {
            Error::Format {
                path: path.to_path_buf(),
                message: format!("header: {message}"),
            }
        } else {
            Error::parse(path, 1, message)
        }
    };
    let text = std::str::from_utf8(header)
        .map_err(|_| bad("the header is not valid UTF-8".to_owned()))?
        .trim_end();
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    let [n_words, dim] = fields[..] else {
        return Err(bad(format!(
            "expected a header `n_words dim`, found {:?}",
            truncate(text)
        )));
    };
    let number = |field: &str, what: &str| {
        field
            .parse::<usize>()
            .map_err(|_| bad(format!("the header's {what} {field:?} is not a count")))
    };
    let (n_words, dim) = (number(n_words, "word count")?, number(dim, "dimension")?);
    if dim == 0 {
        return Err(bad(
            "the header's dimension is 0: a word vector needs at least one value".to_owned(),
        ));
    }
    Ok((n_words, dim))
}

/// At most 40 characters of `text`, for error messages.
pub(crate) fn truncate(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// A buffered (and decompressed) file that counts the bytes consumed.
struct Reader<'a> {
    path: &'a Path,
    inner: Box<dyn BufRead + Send>,
    offset: u64,
}

impl Reader<'_> {
    fn io_error(&self, source: io::Error) -> Error {
        Error::File {
            path: self.path.to_path_buf(),
            source,
        }
    }

    fn format_error(&self, message: String) -> Error {
        Error::Format {
            path: self.path.to_path_buf(),
            message,
        }
    }

    /// Appends bytes up to and including `delimiter` (or to the end of the file, or at
    /// most `limit` bytes) to `buf`; returns how many were read.
    fn read_until(&mut self, delimiter: u8, limit: u64, buf: &mut Vec<u8>) -> Result<usize> {
        let n = (&mut self.inner)
            .take(limit)
            .read_until(delimiter, buf)
            .map_err(|e| self.io_error(e))?;
        self.offset += n as u64;
        Ok(n)
    }

    fn read_header(&mut self) -> Result<Vec<u8>> {
        let mut header = Vec::new();
        self.read_until(b'\n', MAX_HEADER_LEN, &mut header)?;
        if header.last() != Some(&b'\n') {
            return Err(self.format_error(if header.is_empty() {
                "the file is empty: expected a header `n_words dim`".to_owned()
            } else {
                format!("no header line `n_words dim` within the first {MAX_HEADER_LEN} bytes")
            }));
        }
        Ok(header)
    }

    /// Checks that `word` is new and records it.
    fn record_word(
        seen: &mut HashMap<String, usize>,
        words: &mut Vec<String>,
        word: String,
        position: usize,
    ) -> std::result::Result<(), String> {
        if let Some(first) = seen.get(&word) {
            return Err(format!("the word {word:?} was already seen (row {first})"));
        }
        seen.insert(word.clone(), position);
        words.push(word);
        Ok(())
    }

    fn read_text_rows(
        &mut self,
        n_words: usize,
        dim: usize,
        words: &mut Vec<String>,
        values: &mut Vec<f32>,
        seen: &mut HashMap<String, usize>,
    ) -> Result<()> {
        let path = self.path;
        let mut line = Vec::new();
        let mut line_no = 1_u64;
        let max_line = MAX_LINE_BYTES.saturating_add(dim.saturating_mul(MAX_TEXT_VALUE_BYTES));
        // The longest line plus "\r\n", and one byte more to tell a longer one.
        let limit = (max_line as u64).saturating_add(3);
        let too_long = |line: u64| {
            let message = format!(
                "the line is longer than {max_line} bytes ({MAX_LINE_BYTES} for the word and \
                 {MAX_TEXT_VALUE_BYTES} per value for the header's dimension {dim})"
            );
            Error::parse(path, line, message)
        };
        for row in 1..=n_words {
            line.clear();
            line_no += 1;
            let n = self.read_until(b'\n', limit, &mut line)?;
            if n == 0 {
                return Err(self.format_error(format!(
                    "the file ends after {} of the {n_words} rows its header claims",
                    row - 1
                )));
            }
            if n as u64 == limit && line.last() != Some(&b'\n') {
                return Err(too_long(line_no));
            }
            let bad = |message: String| Error::parse(path, line_no, message);
            let text = std::str::from_utf8(&line)
                .map_err(|e| bad(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?
                .trim_end_matches(|c: char| c.is_ascii_whitespace());
            let mut fields = text.split(' ');
            let word = fields.next().unwrap_or_default();
            if word.is_empty() {
                return Err(bad(if text.is_empty() {
                    format!("expected a word and {dim} values, found an empty line")
                } else {
                    "the line starts with a space: empty word".to_owned()
                }));
            }
            let mut n_values = 0_usize;
            for field in fields {
                n_values += 1;
                if n_values > dim {
                    continue;
                }
                let value = field.parse::<f32>().map_err(|_| {
                    bad(format!(
                        "value {n_values} of {word:?}, {:?}, is not a number",
                        truncate(field)
                    ))
                })?;
                values.push(value);
            }
            if n_values != dim {
                return Err(bad(format!(
                    "{word:?} has {n_values} values, but the header gives dimension {dim}"
                )));
            }
            Self::record_word(seen, words, word.to_owned(), row).map_err(bad)?;
        }
        // Only blank lines may follow.
        loop {
            line.clear();
            line_no += 1;
            let n = self.read_until(b'\n', limit, &mut line)?;
            if n == 0 {
                return Ok(());
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                let message = format!("more rows than the {n_words} the header claims");
                return Err(Error::parse(self.path, line_no, message));
            }
            if n as u64 == limit && line.last() != Some(&b'\n') {
                return Err(too_long(line_no));
            }
        }
    }

    fn read_binary_rows(
        &mut self,
        n_words: usize,
        dim: usize,
        words: &mut Vec<String>,
        values: &mut Vec<f32>,
        seen: &mut HashMap<String, usize>,
    ) -> Result<()> {
        let path = self.path;
        let vector_len = (dim as u64).saturating_mul(4);
        let mut word = Vec::new();
        let mut vector = Vec::new();
        for row in 1..=n_words {
            let start = self.offset;
            let bad = |message: String| Error::Format {
                path: path.to_path_buf(),
                message: format!("row {row} (byte {start}): {message}"),
            };
            word.clear();
            // A word of at most MAX_LINE_BYTES, after a newline or two, and its space.
            let limit = MAX_LINE_BYTES as u64 + 3;
            let n = self.read_until(b' ', limit, &mut word)?;
            let leading_newlines = word.iter().take_while(|&&b| b == b'\n').count();
            if n as u64 == limit && word.last() != Some(&b' ') {
                return Err(bad(format!(
                    "no space within {limit} bytes: a word is at most {MAX_LINE_BYTES} bytes \
                     (is the header's dimension right?)"
                )));
            }
            if word.last() != Some(&b' ') {
                return Err(if word.len() == leading_newlines {
                    self.format_error(format!(
                        "the file ends after {} of the {n_words} rows its header claims",
                        row - 1
                    ))
                } else {
                    bad("the file ends inside a word".to_owned())
                });
            }
            let word =
                std::str::from_utf8(&word[leading_newlines..word.len() - 1]).map_err(|_| {
                    bad("the word is not valid UTF-8 (is the header's dimension right?)".to_owned())
                })?;
            if word.is_empty() || word.chars().any(char::is_whitespace) {
                return Err(bad(format!(
                    "the word {:?} is empty or contains whitespace (is the header's dimension \
                     right?)",
                    truncate(word)
                )));
            }
            vector.clear();
            let n = (&mut self.inner)
                .take(vector_len)
                .read_to_end(&mut vector)
                .map_err(|e| self.io_error(e))?;
            self.offset += n as u64;
            if (n as u64) < vector_len {
                return Err(bad(format!(
                    "the file ends inside the vector of {word:?} ({n} of {vector_len} bytes)"
                )));
            }
            values.extend(
                vector
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            Self::record_word(seen, words, word.to_owned(), row).map_err(bad)?;
        }
        // Only newlines may follow.
        loop {
            let buf = self.inner.fill_buf().map_err(super::file_error(path))?;
            if buf.is_empty() {
                return Ok(());
            }
            let (n, extra) = (buf.len(), buf.iter().position(|&b| b != b'\n'));
            if let Some(at) = extra {
                let offset = self.offset + at as u64;
                return Err(self.format_error(format!(
                    "byte {offset}: more data after the {n_words} rows the header claims (is \
                     the header's count or dimension right?)"
                )));
            }
            self.inner.consume(n);
            self.offset += n as u64;
        }
    }
}
