//! The finalfusion format (<https://finalfusion.github.io/spec>) through the `finalfusion`
//! crate: a simple vocabulary, an array storage, norms and TOML metadata.
//!
//! finalfusion's reader trusts the lengths in a file (it allocates what they say and
//! panics on duplicate words), so [`read_finalfusion`] first walks the file's chunks and
//! checks every length against the file size, and that nothing follows the chunks the
//! header lists, before handing it to finalfusion.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use ::finalfusion::embeddings::Embeddings;
use ::finalfusion::error::Error as FinalfusionError;
use ::finalfusion::io::{ReadEmbeddings, ReadMetadata, WriteEmbeddings};
use ::finalfusion::metadata::Metadata;
use ::finalfusion::norms::NdNorms;
use ::finalfusion::storage::{NdArray, Storage, StorageView};
use ::finalfusion::vocab::{SimpleVocab, Vocab as _};
use ndarray::{Array2, ArrayView1, ArrayView2};
use toml::{Table, Value};

use crate::config::{FieldValue, TrainConfig};
use crate::error::{Error, Result};
use crate::eval::search::normalize_rows;
use crate::vocab::Vocab;

/// Which vectors a finalfusion file holds ([`write_finalfusion`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FinalfusionVectors {
    /// finalfusion's own layout: unit-length rows in the storage and the rows' original
    /// lengths as the norms. finalfusion's queries (`word_similarity`, `analogy`,
    /// `embedding_similarity`) take dot products of stored rows, which are then true
    /// cosines, and `embedding_with_norm(w).into_unnormalized()` (or [`read_finalfusion`])
    /// gives back length × unit row: each value within three `f32` roundings of the one
    /// written (relative error at most `3·2⁻²⁴` in the normal `f32` range, more for
    /// subnormal values), not bit for bit. A row holding a NaN or an infinity has no
    /// direction: it is stored as a zero row with norm NaN (finalfusion's queries stop at a
    /// NaN score), and reads back as NaN. The metadata says `normalized = true`.
    #[default]
    Normalized,
    /// The rows exactly as given, with every norm 1: [`read_finalfusion`] and finalfusion
    /// give them back bit for bit, but finalfusion's similarity queries then rank by dot
    /// product and report dot products as cosines. The metadata says `normalized = false`.
    Raw,
}

/// Writes word vectors as a finalfusion file, atomically: a simple vocabulary (the words in
/// id order), an array storage and norms as `layout` says ([`FinalfusionVectors`]:
/// normalised rows with their lengths, so that finalfusion's own queries give cosines, or
/// the rows as given with norms of 1, bit-exact), and TOML metadata.
/// [`Embeddings::write_finalfusion`](crate::Embeddings::write_finalfusion) writes the
/// normalised layout from vectors already normalised.
///
/// The metadata:
///
/// ```toml
/// [vectors]
/// written_by = "bilinear-skipgram 0.1.0"
/// n_words = 2
/// dim = 16
/// normalized = true     # false for FinalfusionVectors::Raw
///
/// [training]            # only with a config
/// dim = 16
/// window = 5
/// window_mode = "shrink"
/// negatives = 5
/// negative_power = 0.75
/// epochs = 5
/// learning_rate = 0.025
/// interaction_learning_rate = 0.0025
/// learning_rate_schedule = "linear"
/// min_count = 5
/// max_vocab = 20000     # absent without a limit
/// subsample = 0.001
/// threads = 8
/// seed = 1
/// embedding_init = "word2vec"
/// interaction_init = "identity"
/// merge_interval = 64
/// lowercase = true
/// markers = false
/// utf8 = "strict"
/// oov = "drop"
/// ```
///
/// `training.dim` is the model's dimension `M`; `vectors.dim` is the length of the rows
/// written (`2M` for concatenated vectors). Counts beyond `i64::MAX` (a seed, say) are
/// written as strings.
///
/// Available with the `finalfusion` cargo feature.
///
/// ```
/// use bilinear_skipgram::{FinalfusionVectors, OovPolicy, TrainConfig, Vocab, read_finalfusion, write_finalfusion};
/// use ndarray::array;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("embeddings.fifu");
/// let vocab = Vocab::from_counts([("нефт".to_owned(), 3), ("oil".to_owned(), 2)], OovPolicy::Drop)?;
/// let vectors = array![[0.1_f32, -2.5], [1e-30, -0.0]];
/// let config = TrainConfig::builder().dim(2).build()?;
/// // Bit for bit:
/// write_finalfusion(&path, vectors.view(), &vocab, Some(&config), FinalfusionVectors::Raw)?;
/// let (words, read) = read_finalfusion(&path)?;
/// assert_eq!(words, ["нефт", "oil"]);
/// assert_eq!(read, vectors);
/// // For finalfusion's queries, to rounding:
/// write_finalfusion(&path, vectors.view(), &vocab, None, FinalfusionVectors::Normalized)?;
/// let (_, read) = read_finalfusion(&path)?;
/// assert!(read.iter().zip(&vectors).all(|(r, v)| (r - v).abs() <= 3e-7 * v.abs()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// Nothing is written, and an earlier file at `path` is kept, when:
///
/// - [`Error::ShapeMismatch`]: `vectors` does not have one row per vocabulary entry.
/// - [`Error::File`] with [`io::ErrorKind::InvalidInput`]: a word or the dimension is too
///   long for the format (more than `u32::MAX` bytes or columns).
///
/// [`Error::File`] when the file cannot be written.
pub fn write_finalfusion(
    path: impl AsRef<Path>,
    vectors: ArrayView2<'_, f32>,
    vocab: &Vocab,
    config: Option<&TrainConfig>,
    layout: FinalfusionVectors,
) -> Result<()> {
    let path = path.as_ref();
    match layout {
        FinalfusionVectors::Normalized => {
            write_parts(path, Rows::Normalize(vectors), vocab, config)
        }
        FinalfusionVectors::Raw => write_parts(path, Rows::Raw(vectors), vocab, config),
    }
}

/// Writes the normalised layout from unit rows (as [`normalize_rows`] makes them) and
/// their lengths.
pub(crate) fn write_finalfusion_parts(
    path: &Path,
    unit: ArrayView2<'_, f32>,
    norms: ArrayView1<'_, f32>,
    vocab: &Vocab,
    config: Option<&TrainConfig>,
) -> Result<()> {
    if norms.len() != unit.nrows() {
        return Err(Error::ShapeMismatch {
            what: "norms (one per row)",
            expected: vec![unit.nrows()],
            found: vec![norms.len()],
        });
    }
    write_parts(path, Rows::Unit(unit, norms), vocab, config)
}

/// The rows [`write_parts`] stores.
enum Rows<'a> {
    /// As given, with norms of 1.
    Raw(ArrayView2<'a, f32>),
    /// Unit rows (as [`normalize_rows`] makes them) and their lengths.
    Unit(ArrayView2<'a, f32>, ArrayView1<'a, f32>),
    /// Rows to normalise on the way (into the one copy handed to finalfusion).
    Normalize(ArrayView2<'a, f32>),
}

/// One row per vocabulary entry, or [`Error::ShapeMismatch`].
fn check_rows(vectors: ArrayView2<'_, f32>, vocab: &Vocab) -> Result<()> {
    let (n_words, dim) = vectors.dim();
    if n_words != vocab.len() {
        return Err(Error::ShapeMismatch {
            what: "word vectors (one row per vocabulary entry)",
            expected: vec![vocab.len(), dim],
            found: vec![n_words, dim],
        });
    }
    Ok(())
}

/// Writes `rows` as a finalfusion file. The values are copied once, into the matrix
/// finalfusion writes; a row with a NaN or an infinity is stored as zeros with a NaN norm.
fn write_parts(
    path: &Path,
    rows: Rows<'_>,
    vocab: &Vocab,
    config: Option<&TrainConfig>,
) -> Result<()> {
    let (Rows::Raw(view) | Rows::Unit(view, _) | Rows::Normalize(view)) = rows;
    check_rows(view, vocab)?;
    let (n_words, dim) = view.dim();
    // finalfusion writes these lengths as u32 without checking.
    let too_long = |message: String| Error::File {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, message),
    };
    if u32::try_from(dim).is_err() {
        return Err(too_long(format!(
            "dimension {dim} is more than finalfusion can store"
        )));
    }
    if let Some((id, word)) = vocab
        .words()
        .iter()
        .enumerate()
        .find(|(_, word)| u32::try_from(word.len()).is_err())
    {
        return Err(too_long(format!(
            "word {id} is {} bytes long, more than finalfusion can store",
            word.len()
        )));
    }
    let normalized = !matches!(rows, Rows::Raw(_));
    // Through a Vec: finalfusion's matrix type is ndarray 0.15's, ours is 0.17's.
    let (mut values, mut norms): (Vec<f32>, Vec<f32>) = match rows {
        Rows::Raw(raw) => (raw.iter().copied().collect(), vec![1.0_f32; n_words]),
        Rows::Unit(unit, norms) => (unit.iter().copied().collect(), norms.to_vec()),
        Rows::Normalize(raw) => {
            // One row-major copy whatever the layout of `raw`, normalised in place.
            let mut unit = raw.as_standard_layout().into_owned();
            let norms = normalize_rows(unit.view_mut());
            (unit.into_raw_vec_and_offset().0, norms.to_vec())
        }
    };
    // A row without a direction is stored as zeros with a NaN norm.
    if normalized {
        for (row, norm) in values.chunks_exact_mut(dim.max(1)).zip(&mut norms) {
            if !row.iter().all(|x| x.is_finite()) {
                row.fill(0.0);
                *norm = f32::NAN;
            }
        }
    }
    let n_values = values.len();
    let matrix = ndarray015::Array2::from_shape_vec((n_words, dim), values).map_err(|_| {
        Error::ShapeMismatch {
            what: "finalfusion storage",
            expected: vec![n_words, dim],
            found: vec![n_values],
        }
    })?;
    // The vocabulary has no duplicate words and one norm and one row per word, which is
    // everything finalfusion asserts.
    let embeddings = Embeddings::new(
        Some(Metadata::new(metadata(n_words, dim, config, normalized))),
        SimpleVocab::new(vocab.words().to_vec()),
        NdArray::new(matrix),
        NdNorms::new(norms),
    );
    super::write_atomic(path, |writer| {
        embeddings
            .write_embeddings(writer)
            .map_err(|e| convert_error(path, e))
    })
}

/// The metadata table described at [`write_finalfusion`].
fn metadata(n_words: usize, dim: usize, config: Option<&TrainConfig>, normalized: bool) -> Table {
    let mut vectors = Table::new();
    vectors.insert(
        "written_by".into(),
        Value::String(concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION")).into()),
    );
    vectors.insert("n_words".into(), count(n_words as u64));
    vectors.insert("dim".into(), count(dim as u64));
    vectors.insert("normalized".into(), Value::Boolean(normalized));
    let mut table = Table::new();
    table.insert("vectors".into(), Value::Table(vectors));
    if let Some(config) = config {
        table.insert("training".into(), Value::Table(training(config)));
    }
    table
}

/// The training configuration as a TOML table.
fn training(c: &TrainConfig) -> Table {
    c.fields()
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                FieldValue::Int(n) => count(n),
                FieldValue::F32(x) => float32(x),
                FieldValue::F64(x) => Value::Float(x),
                FieldValue::Bool(b) => Value::Boolean(b),
                FieldValue::Name(name) => Value::String(name.into()),
            };
            (key.to_owned(), value)
        })
        .collect()
}

/// A TOML integer, or a string when the count is beyond `i64`.
fn count(n: u64) -> Value {
    i64::try_from(n).map_or_else(|_| Value::String(n.to_string()), Value::Integer)
}

/// An `f32` as the TOML float with the same shortest decimal (`0.025`, not
/// `0.02500000037252903`).
fn float32(x: f32) -> Value {
    Value::Float(crate::config::decimal(x))
}

/// Reads a finalfusion file with a simple vocabulary and array storage, as written by
/// [`write_finalfusion`] (or by finalfusion itself).
///
/// Returns the words in file order and one vector per word: the stored row multiplied by
/// its norm when the file has norms (norm × unit row, one `f32` rounding), which is
/// finalfusion's own `embedding_with_norm(w).into_unnormalized()`. So the vectors given to
/// [`write_finalfusion`] come back bit for bit from [`FinalfusionVectors::Raw`] files
/// (norms of 1), and to rounding from [`FinalfusionVectors::Normalized`] ones and other
/// normalised files (within `3·2⁻²⁴` relative error in the normal `f32` range; a row
/// written with a NaN or an infinity comes back all NaN).
///
/// Available with the `finalfusion` cargo feature.
///
/// # Errors
///
/// - [`Error::File`] when the file cannot be opened or read.
/// - [`Error::Format`] when it is not a finalfusion file; has other chunks than optional
///   metadata, a simple vocabulary, an array storage and optional norms (subword
///   vocabularies and quantized storage are not supported); has a chunk, word, matrix or
///   norms vector longer than the file, a repeated word, a word that is not UTF-8, or a
///   matrix or norms vector with another number of rows than there are words; has vectors
///   of dimension 0; has bytes after the chunks its header lists; or when finalfusion
///   rejects it.
pub fn read_finalfusion(path: impl AsRef<Path>) -> Result<(Vec<String>, Array2<f32>)> {
    let path = path.as_ref();
    let mut reader = checked_reader(path)?;
    let embeddings = Embeddings::<SimpleVocab, NdArray>::read_embeddings(&mut reader)
        .map_err(|e| convert_error(path, e))?;
    let words = embeddings.vocab().words().to_vec();
    let storage = embeddings.storage();
    let (n_rows, dim) = storage.shape();
    if dim == 0 {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!(
                "the {n_rows} vectors have dimension 0: a word vector needs at least one value"
            ),
        });
    }
    // Through a Vec: finalfusion's matrix type is ndarray 0.15's, ours is 0.17's.
    let mut vectors =
        Array2::from_shape_vec((n_rows, dim), storage.view().iter().copied().collect()).map_err(
            |e| Error::Format {
                path: path.to_path_buf(),
                message: format!("storage of {n_rows}×{dim}: {e}"),
            },
        )?;
    if words.len() != n_rows {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!("{} words but {n_rows} vectors", words.len()),
        });
    }
    if let Some(norms) = embeddings.norms() {
        for (mut row, &norm) in vectors.rows_mut().into_iter().zip(norms.iter()) {
            if norm != 1.0 {
                row *= norm;
            }
        }
    }
    Ok((words, vectors))
}

/// Reads the metadata of a finalfusion file as TOML text, or `None` if it has none. For a
/// file written by [`write_finalfusion`] it is the table described there.
///
/// Available with the `finalfusion` cargo feature.
///
/// # Errors
///
/// As [`read_finalfusion`].
pub fn read_finalfusion_metadata(path: impl AsRef<Path>) -> Result<Option<String>> {
    let path = path.as_ref();
    let mut reader = checked_reader(path)?;
    let metadata =
        Option::<Metadata>::read_metadata(&mut reader).map_err(|e| convert_error(path, e))?;
    Ok(metadata.map(|m| m.to_string()))
}

/// Opens `path`, checks its layout and rewinds it for finalfusion.
fn checked_reader(path: &Path) -> Result<BufReader<File>> {
    let file = File::open(path).map_err(super::file_error(path))?;
    let file_len = file.metadata().map_err(super::file_error(path))?.len();
    let mut reader = BufReader::new(file);
    Layout {
        path,
        file_len,
        reader: &mut reader,
        offset: 0,
    }
    .check()?;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(super::file_error(path))?;
    Ok(reader)
}

/// Our error for a finalfusion error: I/O failures keep their kind, the rest is a format
/// error. The message includes every cause.
fn convert_error(path: &Path, error: FinalfusionError) -> Error {
    let mut message = error.to_string();
    let mut io_kind = None;
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            io_kind = Some(io.kind());
        }
        source = cause.source();
    }
    match io_kind {
        // A file cut short is malformed, not unreadable.
        Some(kind) if kind != io::ErrorKind::UnexpectedEof => Error::File {
            path: path.to_path_buf(),
            source: io::Error::new(kind, message),
        },
        _ => Error::Format {
            path: path.to_path_buf(),
            message,
        },
    }
}

/// finalfusion chunk identifiers (see `ChunkIdentifier` in finalfusion).
const SIMPLE_VOCAB: u32 = 1;
const ND_ARRAY: u32 = 2;
const METADATA: u32 = 5;
const ND_NORMS: u32 = 6;
/// finalfusion's type identifier of `f32`.
const F32_TYPE: u32 = 10;

/// Walks a finalfusion file's chunks and checks every length finalfusion will trust.
struct Layout<'a, R> {
    path: &'a Path,
    file_len: u64,
    reader: &'a mut R,
    offset: u64,
}

impl<R: Read + Seek> Layout<'_, R> {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::Format {
            path: self.path.to_path_buf(),
            message: message.into(),
        }
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut buf = [0; N];
        match self.reader.read_exact(&mut buf) {
            Ok(()) => {
                self.offset += N as u64;
                Ok(buf)
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(self.error(format!(
                "the file ends at byte {} while reading the {what}",
                self.file_len
            ))),
            Err(e) => Err(Error::File {
                path: self.path.to_path_buf(),
                source: e,
            }),
        }
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        self.bytes(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        self.bytes(what).map(u64::from_le_bytes)
    }

    fn seek_to(&mut self, offset: u64) -> Result<()> {
        self.reader
            .seek(SeekFrom::Start(offset))
            .map_err(super::file_error(self.path))?;
        self.offset = offset;
        Ok(())
    }

    /// Checks that `len` more bytes fit before `end`.
    fn fits(&self, len: Option<u64>, end: u64, what: &str) -> Result<()> {
        match len.and_then(|len| self.offset.checked_add(len)) {
            Some(stop) if stop <= end => Ok(()),
            _ => Err(self.error(format!(
                "the {what} at byte {} runs past the end of its chunk or the file",
                self.offset
            ))),
        }
    }

    fn check(mut self) -> Result<()> {
        if &self.bytes::<4>("magic number")? != b"FiFu" {
            return Err(self.error("not a finalfusion file (no `FiFu` magic number)"));
        }
        let version = self.u32("version")?;
        if version != 0 {
            return Err(self.error(format!("unknown finalfusion version {version}")));
        }
        let n_chunks = self.u32("number of chunks")?;
        self.fits(Some(u64::from(n_chunks) * 4), self.file_len, "chunk list")?;
        let mut chunks = Vec::with_capacity(n_chunks as usize);
        for _ in 0..n_chunks {
            chunks.push(self.u32("chunk list")?);
        }
        let body = chunks.strip_prefix(&[METADATA]).unwrap_or(&chunks);
        if body != [SIMPLE_VOCAB, ND_ARRAY] && body != [SIMPLE_VOCAB, ND_ARRAY, ND_NORMS] {
            return Err(self.error(format!(
                "chunks {chunks:?} are not supported: only optional metadata ({METADATA}), a \
                 simple vocabulary ({SIMPLE_VOCAB}), an array storage ({ND_ARRAY}) and \
                 optional norms ({ND_NORMS})"
            )));
        }
        let mut n_words = 0_u64;
        for &expected in &chunks {
            let id = self.u32("chunk identifier")?;
            if id != expected {
                return Err(self.error(format!(
                    "chunk {id} at byte {} where the header lists chunk {expected}",
                    self.offset - 4
                )));
            }
            let len = self.u64("chunk length")?;
            self.fits(Some(len), self.file_len, "chunk")?;
            let end = self.offset + len;
            match id {
                SIMPLE_VOCAB => n_words = self.check_vocab(end)?,
                ND_ARRAY => {
                    let rows = self.u64("number of rows")?;
                    let cols = self.u32("number of columns")?;
                    self.check_f32_array(rows, u64::from(cols), n_words, end, "matrix")?;
                }
                ND_NORMS => {
                    let len = self.u64("number of norms")?;
                    self.check_f32_array(len, 1, n_words, end, "norms")?;
                }
                _ => {}
            }
            self.seek_to(end)?;
        }
        // finalfusion reads a norms chunk after the storage whether or not the header lists
        // one, trusting its length: nothing may follow the listed chunks.
        if self.offset != self.file_len {
            return Err(self.error(format!(
                "{} bytes after the last chunk listed in the header (byte {})",
                self.file_len.saturating_sub(self.offset),
                self.offset
            )));
        }
        Ok(())
    }

    /// Checks the words of a simple vocabulary chunk ending at `end`; returns their number.
    fn check_vocab(&mut self, end: u64) -> Result<u64> {
        let n_words = self.u64("vocabulary length")?;
        // Each word takes at least its 4-byte length.
        self.fits(n_words.checked_mul(4), end, "vocabulary")?;
        let mut seen = HashSet::new();
        let mut word = Vec::new();
        for index in 0..n_words {
            let len = self.u32("word length")?;
            self.fits(Some(u64::from(len)), end, "word")?;
            word.clear();
            let n = (&mut *self.reader)
                .take(u64::from(len))
                .read_to_end(&mut word)
                .map_err(super::file_error(self.path))?;
            self.offset += n as u64;
            if n != len as usize {
                return Err(self.error(format!("the file ends inside word {index}")));
            }
            let text = std::str::from_utf8(&word)
                .map_err(|_| self.error(format!("word {index} is not valid UTF-8")))?;
            if !seen.insert(text.to_owned()) {
                return Err(self.error(format!("word {index}, {text:?}, is repeated")));
            }
        }
        Ok(n_words)
    }

    /// Checks an `f32` array of `rows × cols` in a chunk ending at `end`.
    fn check_f32_array(
        &mut self,
        rows: u64,
        cols: u64,
        n_words: u64,
        end: u64,
        what: &str,
    ) -> Result<()> {
        if rows != n_words {
            return Err(self.error(format!("the {what} has {rows} rows for {n_words} words")));
        }
        let type_id = self.u32("type identifier")?;
        if type_id != F32_TYPE {
            return Err(self.error(format!(
                "the {what} has type {type_id}, not f32 ({F32_TYPE})"
            )));
        }
        // finalfusion pads to the next multiple of 4 bytes, by 1 to 4 bytes.
        let padding = 4 - self.offset % 4;
        let len = rows
            .checked_mul(cols)
            .and_then(|n| n.checked_mul(4))
            .and_then(|n| n.checked_add(padding));
        self.fits(len, end, what)
    }
}
