//! The checkpoint file: reading it with its checks and writing it atomically (the format
//! is in the [module documentation](crate::checkpoint)).

use std::io::{BufReader, Read, Write};
use std::path::Path;

use ndarray::{Array2, ArrayView2};

use super::{Checkpoint, OptimizerState, TrainState};
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::model::Model;
use crate::model::{OffsetInteractionKind, OffsetInteractions};
use crate::sgd::{HeldOut, interactions_of};
use crate::subwords::{SubwordIndex, Subwords};
use crate::vocab::Vocab;

/// The magic bytes of the current format.
pub(crate) const MAGIC: &[u8; 8] = b"BSGCKPT3";
/// The magic bytes of the earlier formats, which cannot be resumed: the first has no
/// optimizer state and no held-out sample, and neither records the corpus's content or the
/// random streams as this version draws them.
const OLDER_MAGICS: [&[u8; 8]; 2] = [b"BSGCKPT1", b"BSGCKPT2"];
/// The name of `W`'s AdaGrad squares among the named matrices.
const INTERACTION_SQUARES: &str = "W.squares";
/// The name of the per-offset interactions among the named matrices: `P×M` (diagonal) or
/// `(P·M)×M` (full), as in `D.npy`.
const OFFSETS: &str = "D";
/// The name of their AdaGrad squares, in the same layout.
const OFFSET_SQUARES: &str = "D.squares";
/// The name of the subword n-gram table (`n_ngrams × M`, as in `Z.npy`).
const SUBWORDS: &str = "Z";

/// Rows of the per-offset interactions of `config` as stored (`M` columns): `2b` for
/// diagonal ones, `2b·M` for full ones, 0 for none.
pub(crate) fn offset_rows(config: &TrainConfig) -> usize {
    let n_offsets = 2 * config.window();
    match config.offset_interactions() {
        OffsetInteractionKind::None => 0,
        OffsetInteractionKind::Diagonal => n_offsets,
        OffsetInteractionKind::Full => n_offsets * config.dim(),
    }
}
/// Bytes per conversion buffer when streaming floats.
const FLOATS_PER_BUFFER: usize = 16 * 1024;

impl Checkpoint {
    /// Reads and checks a checkpoint.
    ///
    /// # Errors
    ///
    /// [`Error::File`] when the file cannot be opened or read, [`Error::Format`] naming the
    /// file when it is not a checkpoint, is truncated, fails its CRC, or holds sizes that
    /// do not agree with each other or with the file's length.
    pub fn read(path: impl AsRef<Path>) -> Result<Checkpoint> {
        let path = path.as_ref();
        // Opening a FIFO blocks until a writer comes, and a checkpoint has a length to check:
        // a pipe, a device or a folder cannot be one.
        let file = crate::io::open_regular_file(path).map_err(|source| Error::File {
            path: path.to_path_buf(),
            source,
        })?;
        let len = file
            .metadata()
            .map_err(|source| Error::File {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        let mut reader = CheckedReader {
            inner: BufReader::with_capacity(1 << 20, file),
            crc: crc32fast::Hasher::new(),
            left: len,
            path,
        };
        let mut magic = [0_u8; 8];
        reader.read(&mut magic, "the magic bytes")?;
        if OLDER_MAGICS.contains(&&magic) {
            return Err(Error::CheckpointVersion {
                path: path.to_path_buf(),
                found: String::from_utf8_lossy(&magic).into_owned(),
                expected: String::from_utf8_lossy(MAGIC).into_owned(),
            });
        }
        if &magic != MAGIC {
            return Err(reader.bad("not a bilinear-skipgram checkpoint (wrong magic bytes)"));
        }
        let config_text = reader.text("the configuration")?;
        let config = TrainConfig::from_text(&config_text)
            .map_err(|e| reader.bad(&format!("bad configuration: {e}")))?;
        let state_text = reader.text("the training state")?;
        let state = TrainState::from_text(&state_text)
            .ok_or_else(|| reader.bad("the training state is malformed"))?;
        if state.epoch_losses.len() != config.epochs() {
            return Err(reader.bad(&format!(
                "the state has {} epoch losses for {} epochs",
                state.epoch_losses.len(),
                config.epochs()
            )));
        }
        let n_words = reader.u64("the vocabulary size")?;
        // Each entry takes at least 12 bytes.
        if n_words.saturating_mul(12) > reader.left {
            return Err(reader.bad(&format!(
                "truncated: a vocabulary of {n_words} words does not fit in the {} bytes left",
                reader.left
            )));
        }
        let mut entries = Vec::with_capacity(n_words as usize);
        for _ in 0..n_words {
            let n = u64::from(reader.u32("a word's length")?);
            let bytes = reader.bytes(n, "a word")?;
            let word = String::from_utf8(bytes)
                .map_err(|_| reader.bad("a vocabulary word is not UTF-8"))?;
            let count = reader.u64("a word's count")?;
            entries.push((word, count));
        }
        let vocab = Vocab::from_counts(entries, config.oov())
            .map_err(|e| reader.bad(&format!("bad vocabulary: {e}")))?;
        if vocab.len() as u64 != n_words {
            return Err(reader.bad("the vocabulary has repeated words"));
        }
        let dim = config.dim();
        let focus = reader.matrix("U", [vocab.len(), dim])?;
        let context = reader.matrix("V", [vocab.len(), dim])?;
        let interaction = reader.matrix("W", [dim, dim])?;
        let mut optimizer = OptimizerState::default();
        let mut offsets = None;
        let mut table = None;
        let index = config
            .subwords()
            .map(|s| SubwordIndex::new(vocab.words(), s))
            .transpose()
            .map_err(|e| reader.bad(&format!("bad subword index: {e}")))?;
        let z_rows = index.as_ref().map_or(0, SubwordIndex::n_ngrams);
        let d_rows = offset_rows(&config);
        let n_named = reader.u64("the number of named matrices")?;
        for _ in 0..n_named {
            let name = reader.text("a matrix name")?;
            let (slot, rows) = match name.as_str() {
                INTERACTION_SQUARES => (&mut optimizer.interaction_squares, dim),
                OFFSETS if d_rows > 0 => (&mut offsets, d_rows),
                OFFSET_SQUARES if d_rows > 0 => (&mut optimizer.offset_squares, d_rows),
                SUBWORDS if index.is_some() => (&mut table, z_rows),
                _ => return Err(reader.bad(&format!("unexpected matrix {name:?}"))),
            };
            if slot.is_some() {
                return Err(reader.bad(&format!("repeated matrix {name:?}")));
            }
            *slot = Some(reader.matrix(&name, [rows, dim])?);
        }
        let heldout = reader.heldout(&config, vocab.len())?;
        let offsets = match offsets {
            None if d_rows > 0 => {
                return Err(reader.bad(&format!(
                    "the configuration has {} per-offset interactions, and the checkpoint none",
                    config.offset_interactions().name()
                )));
            }
            None => OffsetInteractions::none(),
            Some(d) => interactions_of(&config, d.into_raw_vec_and_offset().0)
                .map_err(|e| reader.bad(&format!("bad per-offset interactions: {e}")))?,
        };
        let expected = reader.crc.clone().finalize();
        let mut stored = [0_u8; 4];
        reader.read(&mut stored, "the CRC")?;
        if u32::from_le_bytes(stored) != expected {
            return Err(reader.bad("the CRC does not match: the file is corrupted"));
        }
        if reader.left != 0 {
            return Err(reader.bad(&format!("{} unexpected bytes after the end", reader.left)));
        }
        let mut model =
            Model::from_parts(focus, context, interaction)?.with_offset_interactions(offsets)?;
        match (index, table) {
            (Some(index), Some(table)) => {
                model = model.with_subwords(Subwords::new(index, table, dim)?)?;
            }
            (Some(_), None) => {
                return Err(reader
                    .bad("the configuration has subwords, and the checkpoint no n-gram table"));
            }
            _ => {}
        }
        Ok(Checkpoint {
            config,
            vocab,
            model,
            state,
            optimizer,
            heldout,
        })
    }

    /// Writes the checkpoint atomically (see the [module documentation](super)), streaming
    /// the matrices without copying them.
    ///
    /// # Errors
    ///
    /// [`Error::File`] when the file cannot be written, synced or renamed.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        // Borrowed as they are when row-major (always, for models this crate makes), so a
        // checkpoint of a large model does not double the memory.
        fn contiguous(m: ArrayView2<'_, f32>) -> std::borrow::Cow<'_, [f32]> {
            match m.to_slice() {
                Some(slice) => std::borrow::Cow::Borrowed(slice),
                None => std::borrow::Cow::Owned(m.iter().copied().collect()),
            }
        }
        let focus = contiguous(self.model.focus_embeddings());
        let context = contiguous(self.model.context_embeddings());
        let interaction = contiguous(self.model.interaction());
        let interaction_squares = self
            .optimizer
            .interaction_squares
            .as_ref()
            .map(|m| contiguous(m.view()));
        let offset_squares = self
            .optimizer
            .offset_squares
            .as_ref()
            .map(|m| contiguous(m.view()));
        let offsets = self.model.offset_interactions();
        let offsets: Option<std::borrow::Cow<'_, [f32]>> =
            match (offsets.diagonal(), offsets.full()) {
                (Some(d), _) => Some(contiguous(d)),
                (_, Some(d)) => Some(match d.to_slice() {
                    Some(slice) => std::borrow::Cow::Borrowed(slice),
                    None => std::borrow::Cow::Owned(d.iter().copied().collect()),
                }),
                _ => None,
            };
        let subwords = self.model.subwords().map(|s| contiguous(s.table()));
        write_parts(
            path,
            &Parts {
                config: &self.config,
                vocab: &self.vocab,
                focus: &focus,
                context: &context,
                interaction: &interaction,
                interaction_squares: interaction_squares.as_deref(),
                offsets: offsets.as_deref(),
                offset_squares: offset_squares.as_deref(),
                subwords: subwords.as_deref(),
                state: &self.state,
                heldout: self.heldout.as_ref(),
            },
        )
    }
}

/// What a checkpoint is written from (borrowed, so the trainer writes without copies).
pub(crate) struct Parts<'a> {
    pub(crate) config: &'a TrainConfig,
    pub(crate) vocab: &'a Vocab,
    /// `U`, row-major.
    pub(crate) focus: &'a [f32],
    /// `V`, row-major.
    pub(crate) context: &'a [f32],
    /// `W`, row-major.
    pub(crate) interaction: &'a [f32],
    /// `W`'s AdaGrad squares, row-major, if any.
    pub(crate) interaction_squares: Option<&'a [f32]>,
    /// The per-offset interactions (`P×M` or `(P·M)×M`, row-major), if the model has any.
    pub(crate) offsets: Option<&'a [f32]>,
    /// Their AdaGrad squares, in the same layout, if any.
    pub(crate) offset_squares: Option<&'a [f32]>,
    /// The subword n-gram table (`n_ngrams × M`, row-major), if the model has one.
    pub(crate) subwords: Option<&'a [f32]>,
    pub(crate) state: &'a TrainState,
    pub(crate) heldout: Option<&'a HeldOut>,
}

/// Writes a checkpoint atomically from its parts.
pub(crate) fn write_parts(path: &Path, parts: &Parts<'_>) -> Result<()> {
    let file_error = |source| Error::File {
        path: path.to_path_buf(),
        source,
    };
    let dim = parts.config.dim();
    let n_words = parts.vocab.len();
    let d_rows = offset_rows(parts.config);
    let named: Vec<(&'static str, usize, &[f32])> = [
        (INTERACTION_SQUARES, dim, parts.interaction_squares),
        (OFFSETS, d_rows, parts.offsets),
        (OFFSET_SQUARES, d_rows, parts.offset_squares),
        (
            SUBWORDS,
            parts.subwords.map_or(0, |z| z.len() / dim.max(1)),
            parts.subwords,
        ),
    ]
    .into_iter()
    .filter_map(|(name, rows, data)| Some((name, rows, data?)))
    .collect();
    if parts.config.subwords().is_some() != parts.subwords.is_some() {
        return Err(Error::InvalidArgument {
            what: "checkpoint subwords",
            message: "the configuration and the model disagree on having subwords".to_owned(),
        });
    }
    if (d_rows > 0) != parts.offsets.is_some() {
        return Err(Error::ShapeMismatch {
            what: "checkpoint per-offset interactions (as the configuration has)",
            expected: vec![d_rows, dim],
            found: vec![parts.offsets.map_or(0, |d| d.len() / dim.max(1)), dim],
        });
    }
    let checks = [
        ("checkpoint U", parts.focus, n_words),
        ("checkpoint V", parts.context, n_words),
        ("checkpoint W", parts.interaction, dim),
    ]
    .into_iter()
    .chain(named.iter().map(|&(name, rows, data)| (name, data, rows)));
    for (what, data, rows) in checks {
        if data.len() != rows * dim {
            return Err(Error::ShapeMismatch {
                what,
                expected: vec![rows * dim],
                found: vec![data.len()],
            });
        }
    }
    write_atomic(path, |writer| {
        let mut out = CrcWriter {
            inner: writer,
            crc: crc32fast::Hasher::new(),
        };
        let mut body = || -> std::io::Result<()> {
            out.write_all(MAGIC)?;
            for text in [parts.config.to_text(), parts.state.to_text()] {
                out.write_all(&(text.len() as u64).to_le_bytes())?;
                out.write_all(text.as_bytes())?;
            }
            out.write_all(&(n_words as u64).to_le_bytes())?;
            for (word, count) in parts.vocab.words().iter().zip(parts.vocab.counts()) {
                out.write_all(&(word.len() as u32).to_le_bytes())?;
                out.write_all(word.as_bytes())?;
                out.write_all(&count.to_le_bytes())?;
            }
            for (rows, data) in [
                (n_words, parts.focus),
                (n_words, parts.context),
                (dim, parts.interaction),
            ] {
                out.write_all(&(rows as u64).to_le_bytes())?;
                out.write_all(&(dim as u64).to_le_bytes())?;
                write_floats(&mut out, data)?;
            }
            out.write_all(&(named.len() as u64).to_le_bytes())?;
            for &(name, rows, data) in &named {
                out.write_all(&(name.len() as u64).to_le_bytes())?;
                out.write_all(name.as_bytes())?;
                out.write_all(&(rows as u64).to_le_bytes())?;
                out.write_all(&(dim as u64).to_le_bytes())?;
                write_floats(&mut out, data)?;
            }
            write_heldout(&mut out, parts.heldout)?;
            let crc = out.crc.clone().finalize();
            out.inner.write_all(&crc.to_le_bytes())
        };
        body().map_err(file_error)
    })
}

/// A word id as the checkpoint stores it (a vocabulary has fewer than `u32::MAX` words).
fn id_u32(id: usize) -> std::io::Result<u32> {
    u32::try_from(id).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("word id {id} does not fit the checkpoint's 32 bits"),
        )
    })
}

/// The held-out sample: `u64` sentences (0: none), then the sentence indices, the tokens,
/// the pairs and the rows per pair, and per pair its focus id, offset and rows.
fn write_heldout(out: &mut impl Write, heldout: Option<&HeldOut>) -> std::io::Result<()> {
    let Some(heldout) = heldout else {
        return out.write_all(&0_u64.to_le_bytes());
    };
    out.write_all(&(heldout.sentences().len() as u64).to_le_bytes())?;
    for &sentence in heldout.sentences() {
        out.write_all(&sentence.to_le_bytes())?;
    }
    let rows = heldout.context_ids();
    for n in [heldout.n_tokens(), rows.nrows() as u64, rows.ncols() as u64] {
        out.write_all(&n.to_le_bytes())?;
    }
    let mut buffer = Vec::new();
    for ((&focus, &offset), row) in heldout
        .focus_ids()
        .iter()
        .zip(heldout.offsets())
        .zip(rows.rows())
    {
        buffer.clear();
        buffer.extend_from_slice(&id_u32(focus)?.to_le_bytes());
        buffer.extend_from_slice(&offset.to_le_bytes());
        for &id in row {
            buffer.extend_from_slice(&id_u32(id)?.to_le_bytes());
        }
        out.write_all(&buffer)?;
    }
    Ok(())
}

fn write_floats(out: &mut impl Write, data: &[f32]) -> std::io::Result<()> {
    let mut buffer = Vec::with_capacity(4 * FLOATS_PER_BUFFER);
    for chunk in data.chunks(FLOATS_PER_BUFFER) {
        buffer.clear();
        for x in chunk {
            buffer.extend_from_slice(&x.to_le_bytes());
        }
        out.write_all(&buffer)?;
    }
    Ok(())
}

struct CrcWriter<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Reads a checkpoint while computing its CRC and counting the bytes left.
struct CheckedReader<'p, R> {
    inner: R,
    crc: crc32fast::Hasher,
    left: u64,
    path: &'p Path,
}

impl<R: Read> CheckedReader<'_, R> {
    fn bad(&self, message: &str) -> Error {
        Error::Format {
            path: self.path.to_path_buf(),
            message: message.to_owned(),
        }
    }

    fn read(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        if (buf.len() as u64) > self.left {
            return Err(self.bad(&format!("truncated: the file ends inside {what}")));
        }
        self.inner.read_exact(buf).map_err(|source| Error::File {
            path: self.path.to_path_buf(),
            source,
        })?;
        self.left -= buf.len() as u64;
        self.crc.update(buf);
        Ok(())
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        let mut b = [0_u8; 8];
        self.read(&mut b, what)?;
        Ok(u64::from_le_bytes(b))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let mut b = [0_u8; 4];
        self.read(&mut b, what)?;
        Ok(u32::from_le_bytes(b))
    }

    fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>> {
        if n > self.left {
            return Err(self.bad(&format!(
                "truncated: {what} of {n} bytes with {} bytes left",
                self.left
            )));
        }
        let mut buf = vec![0_u8; n as usize];
        self.read(&mut buf, what)?;
        Ok(buf)
    }

    fn text(&mut self, what: &str) -> Result<String> {
        let n = self.u64(what)?;
        let bytes = self.bytes(n, what)?;
        String::from_utf8(bytes).map_err(|_| self.bad(&format!("{what} is not UTF-8")))
    }

    fn i32(&mut self, what: &str) -> Result<i32> {
        let mut b = [0_u8; 4];
        self.read(&mut b, what)?;
        Ok(i32::from_le_bytes(b))
    }

    /// The held-out sample written by [`write_heldout`], checked against the
    /// configuration (rows per pair, window) and the vocabulary size.
    fn heldout(&mut self, config: &TrainConfig, n_words: usize) -> Result<Option<HeldOut>> {
        let n_sentences = self.u64("the number of held-out sentences")?;
        if n_sentences == 0 {
            return Ok(None);
        }
        if n_sentences.saturating_mul(8) > self.left {
            return Err(self.bad(&format!(
                "truncated: {n_sentences} held-out sentences do not fit in the {} bytes left",
                self.left
            )));
        }
        let mut sentences = Vec::with_capacity(n_sentences as usize);
        for _ in 0..n_sentences {
            sentences.push(self.u64("a held-out sentence")?);
        }
        let n_tokens = self.u64("the held-out tokens")?;
        let n_pairs = self.u64("the number of held-out pairs")?;
        let n_rows = self.u64("the rows per held-out pair")?;
        if n_rows != config.negatives() as u64 + 1 {
            return Err(self.bad(&format!(
                "held-out pairs have {n_rows} rows, expected {} (negatives + 1)",
                config.negatives() + 1
            )));
        }
        if n_pairs.saturating_mul(8 + 4 * n_rows) > self.left {
            return Err(self.bad(&format!(
                "truncated: {n_pairs} held-out pairs do not fit in the {} bytes left",
                self.left
            )));
        }
        let (n_pairs, n_rows) = (n_pairs as usize, n_rows as usize);
        let mut focus = Vec::with_capacity(n_pairs);
        let mut offsets = Vec::with_capacity(n_pairs);
        let mut rows = Vec::with_capacity(n_pairs * n_rows);
        for _ in 0..n_pairs {
            focus.push(self.u32("a held-out focus word")? as usize);
            offsets.push(self.i32("a held-out offset")?);
            for _ in 0..n_rows {
                rows.push(self.u32("a held-out context row")? as usize);
            }
        }
        let rows = Array2::from_shape_vec((n_pairs, n_rows), rows)
            .map_err(|_| self.bad("the held-out rows have the wrong length"))?;
        HeldOut::from_parts(
            sentences,
            n_tokens,
            focus,
            offsets,
            rows,
            (n_words, config.window()),
        )
        .map(Some)
        .map_err(|e| self.bad(&format!("bad held-out sample: {e}")))
    }

    fn matrix(&mut self, name: &str, shape: [usize; 2]) -> Result<Array2<f32>> {
        let rows = self.u64(name)?;
        let cols = self.u64(name)?;
        if [rows, cols] != [shape[0] as u64, shape[1] as u64] {
            return Err(self.bad(&format!(
                "{name} is {rows}×{cols}, expected {}×{}",
                shape[0], shape[1]
            )));
        }
        let n = shape[0] * shape[1];
        if (n as u64).saturating_mul(4) > self.left {
            return Err(self.bad(&format!("truncated: the file ends inside {name}")));
        }
        let mut data = vec![0.0_f32; n];
        let mut buffer = vec![0_u8; 4 * FLOATS_PER_BUFFER];
        for chunk in data.chunks_mut(FLOATS_PER_BUFFER) {
            let bytes = &mut buffer[..4 * chunk.len()];
            self.read(bytes, name)?;
            for (x, b) in chunk.iter_mut().zip(bytes.chunks_exact(4)) {
                *x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        Array2::from_shape_vec((shape[0], shape[1]), data)
            .map_err(|_| self.bad(&format!("{name} has the wrong number of values")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_reads_back_row_major_and_column_major_models() {
        let dir = tempfile::tempdir().unwrap();
        let config = TrainConfig::builder()
            .dim(3)
            .threads(1)
            .offset_interactions(OffsetInteractionKind::None)
            .subwords(None)
            .build()
            .unwrap();
        let vocab = Vocab::from_counts(
            [("a".to_owned(), 2), ("b".to_owned(), 1)],
            crate::OovPolicy::Drop,
        )
        .unwrap();
        let u = Array2::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as f32);
        // V stored column-major: the same values must come back row-major.
        let v = Array2::from_shape_fn((3, 2), |(j, i)| -((i * 3 + j) as f32)).reversed_axes();
        assert!(v.as_slice().is_none());
        let w = Array2::from_shape_fn((3, 3), |(i, j)| (i + 10 * j) as f32);
        let model = Model::from_parts(u.clone(), v.clone(), w.clone()).unwrap();
        let state = TrainState::new(&config, vec![]);
        let path = dir.path().join("c.bsg");
        Checkpoint::new(config, vocab, model, state)
            .unwrap()
            .write(&path)
            .unwrap();
        let back = Checkpoint::read(&path).unwrap();
        assert_eq!(back.model.focus_embeddings(), u);
        assert_eq!(back.model.context_embeddings(), v);
        assert_eq!(back.model.interaction(), w);
    }

    fn small_checkpoint() -> Checkpoint {
        let config = TrainConfig::builder()
            .dim(2)
            .window(3)
            .negatives(1)
            .threads(1)
            .offset_interactions(OffsetInteractionKind::None)
            .subwords(None)
            .build()
            .unwrap();
        let vocab = Vocab::from_counts(
            [("a".to_owned(), 2), ("b".to_owned(), 1)],
            crate::OovPolicy::Drop,
        )
        .unwrap();
        let model = Model::for_config(&config, 2);
        let state = TrainState::new(&config, vec![]);
        Checkpoint::new(config, vocab, model, state).unwrap()
    }

    #[test]
    fn optimizer_state_and_heldout_sample_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bsg");
        let mut checkpoint = small_checkpoint();
        checkpoint.optimizer.interaction_squares = Some(ndarray::array![[1.0, 2.0], [3.0, 4.5]]);
        checkpoint.heldout = Some(
            HeldOut::from_parts(
                vec![3, 17],
                12,
                vec![0, 1, 1],
                vec![-3, 1, 2],
                ndarray::array![[1, 0], [0, 0], [1, 1]],
                (2, 3),
            )
            .unwrap(),
        );
        checkpoint.write(&path).unwrap();
        let back = Checkpoint::read(&path).unwrap();
        assert_eq!(back.optimizer, checkpoint.optimizer);
        assert_eq!(back.heldout, checkpoint.heldout);
        // An offset beyond the window, or an id beyond the vocabulary, is refused.
        for (offsets, rows) in [
            (vec![-4, 1, 2], ndarray::array![[1, 0], [0, 0], [1, 1]]),
            (vec![-3, 1, 2], ndarray::array![[1, 0], [0, 2], [1, 1]]),
        ] {
            let bad = HeldOut::from_parts(vec![3], 12, vec![0, 1, 1], offsets, rows, (2, 3));
            assert!(bad.is_err());
        }
    }

    #[test]
    fn per_offset_interactions_and_their_squares_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bsg");
        for kind in [OffsetInteractionKind::Diagonal, OffsetInteractionKind::Full] {
            let plain = small_checkpoint();
            let config = plain
                .config
                .to_builder()
                .offset_interactions(kind)
                .build()
                .unwrap();
            let rows = offset_rows(&config);
            let values: Vec<f32> = (0..rows * 2).map(|i| i as f32 * 0.25 - 1.0).collect();
            let offsets = interactions_of(&config, values).unwrap();
            let model = plain
                .model
                .clone()
                .with_offset_interactions(offsets)
                .unwrap();
            let state = TrainState::new(&config, vec![]);
            let mut checkpoint =
                Checkpoint::new(config, plain.vocab.clone(), model, state).unwrap();
            checkpoint.optimizer.offset_squares =
                Some(Array2::from_shape_fn((rows, 2), |(i, j)| {
                    (i * 2 + j) as f32
                }));
            checkpoint.write(&path).unwrap();
            let back = Checkpoint::read(&path).unwrap();
            assert_eq!(back.model, checkpoint.model, "{kind:?}");
            assert_eq!(back.optimizer, checkpoint.optimizer, "{kind:?}");
            // A model without the configured interactions is refused.
            assert!(matches!(
                Checkpoint::new(
                    checkpoint.config.clone(),
                    plain.vocab.clone(),
                    plain.model.clone(),
                    checkpoint.state.clone()
                ),
                Err(Error::ShapeMismatch { .. })
            ));
        }
    }

    #[test]
    fn older_formats_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bsg");
        small_checkpoint().write(&path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        for old in OLDER_MAGICS {
            bytes[..8].copy_from_slice(old);
            std::fs::write(&path, &bytes).unwrap();
            let error = Checkpoint::read(&path).unwrap_err();
            assert!(
                matches!(error, Error::CheckpointVersion { .. }),
                "{error:?}"
            );
            let message = error.to_string();
            let version = String::from_utf8_lossy(old);
            assert!(
                message.contains(&*version) && message.contains("BSGCKPT3"),
                "{message}"
            );
        }
    }
}
