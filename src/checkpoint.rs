//! Checkpoints: everything an interrupted training run needs to continue where it stopped.
//!
//! A checkpoint holds the configuration, the vocabulary, `U`, `V` and `W`, and the
//! [`TrainState`]: the corpus position (epoch and sentences done), the words done (which is
//! where the learning-rate schedule stands), every worker thread's random generator state,
//! the losses so far and the corpus files' sizes. The trainer writes one at a point where
//! every worker is paused between two chunks, so the parameters and the position agree;
//! with one thread a resumed run gives bit for bit the model of an uninterrupted run with
//! the same checkpoint schedule.
//!
//! # File format
//!
//! One little-endian binary file, written to a temporary file, synced and renamed over
//! the previous checkpoint ([`write_atomic`]), so the file under the checkpoint's name is
//! always a complete checkpoint:
//!
//! ```text
//! "BSGCKPT1"                          magic and format version
//! u64 n, n bytes                      the configuration (TrainConfig::to_text)
//! u64 n, n bytes                      the state, `key = value` lines
//! u64 words, then per word:           the vocabulary in id order
//!     u32 n, n bytes (UTF-8), u64 count
//! 3 × (u64 rows, u64 cols, f32 data)  U, V, W, row-major
//! u32                                 CRC-32 of every byte before it
//! ```
//!
//! Reading checks the magic, every length against the bytes left in the file before
//! allocating, the shapes against the configuration and vocabulary, and the CRC.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ndarray::{Array2, ArrayView2};

use crate::config::TrainConfig;
use crate::error::{ConfigError, Error, Result};
use crate::io::write_atomic;
use crate::model::Model;
use crate::vocab::Vocab;

const MAGIC: &[u8; 8] = b"BSGCKPT1";
/// Bytes per conversion buffer when streaming floats.
const FLOATS_PER_BUFFER: usize = 16 * 1024;

/// Where a training run stands.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrainState {
    /// Zero-based epoch in progress.
    pub epoch: usize,
    /// Sentences of that epoch already trained on: the corpus is read on from there.
    pub sentences: u64,
    /// Corpus words processed so far, all epochs and threads: the learning-rate schedule
    /// continues from here.
    pub words_done: u64,
    /// Observed pairs trained on so far.
    pub pairs: u64,
    /// For each epoch, the summed loss and the number of pairs so far.
    pub epoch_losses: Vec<(f64, u64)>,
    /// Training seconds before this state.
    pub seconds: f64,
    /// Each worker thread's random generator state (the 32-byte xoshiro256++ seed it
    /// continues from).
    pub rng_seeds: Vec<[u8; 32]>,
    /// Sizes in bytes of the corpus files, in order, to refuse resuming on another corpus.
    pub corpus_sizes: Vec<u64>,
}

impl TrainState {
    /// The state at the start of a run with `config` on corpus files of `corpus_sizes`
    /// bytes.
    pub fn new(config: &TrainConfig, corpus_sizes: Vec<u64>) -> TrainState {
        TrainState {
            epoch: 0,
            sentences: 0,
            words_done: 0,
            pairs: 0,
            epoch_losses: vec![(0.0, 0); config.epochs()],
            seconds: 0.0,
            rng_seeds: (0..config.threads())
                .map(|thread| initial_seed(config.seed(), thread))
                .collect(),
            corpus_sizes,
        }
    }

    /// Whether every epoch is done.
    pub fn finished(&self, config: &TrainConfig) -> bool {
        self.epoch >= config.epochs()
    }

    fn to_text(&self) -> String {
        let mut text = format!(
            "epoch = {}\nsentences = {}\nwords_done = {}\npairs = {}\nseconds = {:?}\n",
            self.epoch, self.sentences, self.words_done, self.pairs, self.seconds
        );
        for (loss, pairs) in &self.epoch_losses {
            text.push_str(&format!("epoch_loss = {loss:?} {pairs}\n"));
        }
        for seed in &self.rng_seeds {
            let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
            text.push_str(&format!("rng = {hex}\n"));
        }
        for size in &self.corpus_sizes {
            text.push_str(&format!("corpus_size = {size}\n"));
        }
        text
    }

    fn from_text(text: &str) -> Option<TrainState> {
        let mut state = TrainState {
            epoch: 0,
            sentences: 0,
            words_done: 0,
            pairs: 0,
            epoch_losses: Vec::new(),
            seconds: 0.0,
            rng_seeds: Vec::new(),
            corpus_sizes: Vec::new(),
        };
        let mut seen = [false; 5];
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (key, value) = line.split_once(" = ")?;
            match key {
                "epoch" => (state.epoch, seen[0]) = (value.parse().ok()?, true),
                "sentences" => (state.sentences, seen[1]) = (value.parse().ok()?, true),
                "words_done" => (state.words_done, seen[2]) = (value.parse().ok()?, true),
                "pairs" => (state.pairs, seen[3]) = (value.parse().ok()?, true),
                "seconds" => (state.seconds, seen[4]) = (value.parse().ok()?, true),
                "epoch_loss" => {
                    let (loss, pairs) = value.split_once(' ')?;
                    state
                        .epoch_losses
                        .push((loss.parse().ok()?, pairs.parse().ok()?));
                }
                "rng" => {
                    let bytes = value.as_bytes();
                    if bytes.len() != 64 {
                        return None;
                    }
                    let mut seed = [0_u8; 32];
                    for (byte, pair) in seed.iter_mut().zip(bytes.chunks_exact(2)) {
                        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
                    }
                    state.rng_seeds.push(seed);
                }
                "corpus_size" => state.corpus_sizes.push(value.parse().ok()?),
                _ => return None,
            }
        }
        (seen.iter().all(|&s| s) && state.seconds.is_finite()).then_some(state)
    }
}

/// The 32-byte generator seed thread `thread` starts from.
pub(crate) fn initial_seed(seed: u64, thread: usize) -> [u8; 32] {
    use rand::{RngExt, SeedableRng};
    let mixed = seed.wrapping_add((thread as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rand::rngs::Xoshiro256PlusPlus::seed_from_u64(mixed).random()
}

/// A checkpoint read back from disk.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The configuration in force (with any learning rate lowered by a retry).
    pub config: TrainConfig,
    /// The vocabulary.
    pub vocab: Vocab,
    /// `U`, `V` and `W`.
    pub model: Model,
    /// Where the run stands.
    pub state: TrainState,
}

impl Checkpoint {
    /// A checkpoint from its parts, for example to continue training a model with
    /// [`resume`](crate::resume) from a state made with [`TrainState::new`].
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] unless the model has one row per vocabulary entry and the
    /// configuration's dimension, and the state one generator per thread and one loss per
    /// epoch.
    pub fn new(
        config: TrainConfig,
        vocab: Vocab,
        model: Model,
        state: TrainState,
    ) -> Result<Checkpoint> {
        let checks = [
            (
                "checkpoint model (vocabulary size × dimension)",
                [vocab.len(), config.dim()],
                [model.n_words(), model.dim()],
            ),
            (
                "checkpoint state (generators per thread, losses per epoch)",
                [config.threads(), config.epochs()],
                [state.rng_seeds.len(), state.epoch_losses.len()],
            ),
        ];
        for (what, expected, found) in checks {
            if expected != found {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: expected.to_vec(),
                    found: found.to_vec(),
                });
            }
        }
        Ok(Checkpoint {
            config,
            vocab,
            model,
            state,
        })
    }

    /// Reads and checks a checkpoint.
    ///
    /// # Errors
    ///
    /// [`Error::File`] when the file cannot be opened or read, [`Error::Format`] naming the
    /// file when it is not a checkpoint, is truncated, fails its CRC, or holds sizes that
    /// do not agree with each other or with the file's length.
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let file = File::open(path).map_err(|source| Error::File {
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
        if &magic != MAGIC {
            return Err(reader.bad("not a bilinear-skipgram checkpoint (wrong magic bytes)"));
        }
        let config_text = reader.text("the configuration")?;
        let config = TrainConfig::from_text(&config_text)
            .map_err(|e| reader.bad(&format!("bad configuration: {e}")))?;
        let state_text = reader.text("the training state")?;
        let state = TrainState::from_text(&state_text)
            .ok_or_else(|| reader.bad("the training state is malformed"))?;
        if state.rng_seeds.len() != config.threads() || state.epoch_losses.len() != config.epochs()
        {
            return Err(reader.bad(&format!(
                "the state has {} generator states and {} epoch losses for {} threads and {} epochs",
                state.rng_seeds.len(),
                state.epoch_losses.len(),
                config.threads(),
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
        let expected = reader.crc.clone().finalize();
        let mut stored = [0_u8; 4];
        reader.read(&mut stored, "the CRC")?;
        if u32::from_le_bytes(stored) != expected {
            return Err(reader.bad("the CRC does not match: the file is corrupted"));
        }
        if reader.left != 0 {
            return Err(reader.bad(&format!("{} unexpected bytes after the end", reader.left)));
        }
        let model = Model::from_parts(focus, context, interaction)?;
        Ok(Checkpoint {
            config,
            vocab,
            model,
            state,
        })
    }

    /// Writes the checkpoint atomically (see the [module documentation](self)), streaming
    /// the matrices without copying them.
    ///
    /// # Errors
    ///
    /// [`Error::File`] when the file cannot be written, synced or renamed.
    pub fn write(&self, path: &Path) -> Result<()> {
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
        write_parts(
            path,
            &Parts {
                config: &self.config,
                vocab: &self.vocab,
                focus: &focus,
                context: &context,
                interaction: &interaction,
                state: &self.state,
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
    pub(crate) state: &'a TrainState,
}

/// Writes a checkpoint atomically from its parts.
pub(crate) fn write_parts(path: &Path, parts: &Parts<'_>) -> Result<()> {
    let file_error = |source| Error::File {
        path: path.to_path_buf(),
        source,
    };
    let dim = parts.config.dim();
    let n_words = parts.vocab.len();
    for (what, data, rows) in [
        ("checkpoint U", parts.focus, n_words),
        ("checkpoint V", parts.context, n_words),
        ("checkpoint W", parts.interaction, dim),
    ] {
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
            let crc = out.crc.clone().finalize();
            out.inner.write_all(&crc.to_le_bytes())
        };
        body().map_err(file_error)
    })
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

/// When and where the trainer writes checkpoints, and what it does on divergence.
///
/// ```
/// use std::time::Duration;
/// use bilinear_skipgram::CheckpointOptions;
///
/// let options = CheckpointOptions::new("run/checkpoint.bsg")
///     .every(Duration::from_secs(600))
///     .retries(2, 0.5)?;
/// assert_eq!(options.retry_factor(), 0.5);
/// # Ok::<(), bilinear_skipgram::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointOptions {
    path: PathBuf,
    every: Option<Duration>,
    every_words: Option<u64>,
    retries: usize,
    retry_factor: f32,
}

impl CheckpointOptions {
    /// Checkpoints at `path` every five minutes of training, no retry on divergence.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CheckpointOptions {
            path: path.into(),
            every: Some(Duration::from_secs(300)),
            every_words: None,
            retries: 0,
            retry_factor: 0.5,
        }
    }

    /// A checkpoint whenever this much training time has passed since the last one.
    pub fn every(mut self, interval: Duration) -> Self {
        self.every = Some(interval);
        self
    }

    /// A checkpoint whenever this many minutes of training have passed since the last
    /// one: [`every`](Self::every) for a number that comes from a person, checked first.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NotFinite`] or [`ConfigError::OutOfRange`] unless
    /// `0 < minutes ≤ 1 000 000` (about two years).
    pub fn every_minutes(self, minutes: f64) -> Result<Self, ConfigError> {
        if !minutes.is_finite() {
            return Err(ConfigError::NotFinite {
                field: "checkpoint minutes",
                value: minutes,
            });
        }
        if !(minutes > 0.0 && minutes <= 1e6) {
            return Err(ConfigError::OutOfRange {
                field: "checkpoint minutes",
                range: "(0, 1000000]",
                value: minutes,
            });
        }
        Ok(self.every(Duration::from_secs_f64(minutes * 60.0)))
    }

    /// A checkpoint whenever this many corpus words have been trained since the last one
    /// (taken at the next chunk boundary, about ten thousand words); `None` for time only.
    /// Word-based checkpoints are placed the same way in every run, which makes runs with
    /// one thread reproducible across interruptions.
    pub fn every_words(mut self, words: Option<u64>) -> Self {
        self.every_words = words;
        self
    }

    /// Only word-based checkpoints (no timer).
    pub fn without_timer(mut self) -> Self {
        self.every = None;
        self
    }

    /// On divergence, go back to the last checkpoint up to `retries` times, multiplying
    /// both learning rates by `factor` each time.
    ///
    /// # Errors
    ///
    /// [`ConfigError::OutOfRange`] unless `0 < factor < 1`.
    pub fn retries(mut self, retries: usize, factor: f32) -> Result<Self, ConfigError> {
        if !factor.is_finite() {
            return Err(ConfigError::NotFinite {
                field: "retry_factor",
                value: f64::from(factor),
            });
        }
        if !(factor > 0.0 && factor < 1.0) {
            return Err(ConfigError::OutOfRange {
                field: "retry_factor",
                range: "(0, 1)",
                value: f64::from(factor),
            });
        }
        self.retries = retries;
        self.retry_factor = factor;
        Ok(self)
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The time between checkpoints, if timed.
    pub fn interval(&self) -> Option<Duration> {
        self.every
    }

    /// The words between checkpoints, if counted.
    pub fn interval_words(&self) -> Option<u64> {
        self.every_words
    }

    /// Retries on divergence.
    pub fn retry_count(&self) -> usize {
        self.retries
    }

    /// Learning-rate factor per retry.
    pub fn retry_factor(&self) -> f32 {
        self.retry_factor
    }
}

/// The sizes of the corpus files.
pub(crate) fn corpus_sizes(paths: &[PathBuf]) -> Result<Vec<u64>> {
    paths
        .iter()
        .map(|path| {
            std::fs::metadata(path)
                .map(|m| m.len())
                .map_err(|source| Error::File {
                    path: path.clone(),
                    source,
                })
        })
        .collect()
}

/// Removes temporary files that an interrupted checkpoint write left next to `path`
/// (hidden `.NAME.tmpPID` files, see [`write_atomic`]); failures are ignored, since a
/// leftover temporary file is harmless.
pub(crate) fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".tmp");
    let Some(prefix) = prefix.to_str() else {
        return;
    };
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            if file_name.to_str().is_some_and(|n| {
                n.strip_prefix(prefix)
                    .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
            }) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Checks that a checkpoint was made on a corpus with these file sizes.
pub(crate) fn check_corpus(checkpoint: &Path, expected: &[u64], found: &[u64]) -> Result<()> {
    if expected == found {
        return Ok(());
    }
    Err(Error::Format {
        path: checkpoint.to_path_buf(),
        message: format!(
            "the checkpoint was made on corpus files of {expected:?} bytes, but the files given have {found:?} bytes"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_text_round_trips() {
        let config = TrainConfig::builder().threads(2).epochs(3).build().unwrap();
        let mut state = TrainState::new(&config, vec![10, 20]);
        state.epoch = 1;
        state.sentences = 7;
        state.words_done = 12345;
        state.pairs = 999;
        state.seconds = 1.25;
        state.epoch_losses[0] = (0.1 + 0.2, 17);
        let back = TrainState::from_text(&state.to_text()).unwrap();
        assert_eq!(back, state);
        assert_ne!(state.rng_seeds[0], state.rng_seeds[1]);
    }

    #[test]
    fn malformed_state_text_is_rejected() {
        for text in [
            "",
            "epoch = 1\n",
            "epoch = x\nsentences = 0\nwords_done = 0\npairs = 0\nseconds = 0.0\n",
            "epoch = 0\nsentences = 0\nwords_done = 0\npairs = 0\nseconds = 0.0\nrng = 00\n",
            "epoch = 0\nsentences = 0\nwords_done = 0\npairs = 0\nseconds = 0.0\nmystery = 1\n",
        ] {
            assert!(TrainState::from_text(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn checkpoint_minutes_are_checked() {
        let options = CheckpointOptions::new("c").every_minutes(1.5).unwrap();
        assert_eq!(options.interval(), Some(Duration::from_secs(90)));
        for (minutes, message) in [
            (
                1e300,
                "`checkpoint minutes` must lie in (0, 1000000], got 1e300",
            ),
            (0.0, "`checkpoint minutes` must lie in (0, 1000000], got 0"),
            (
                -1.0,
                "`checkpoint minutes` must lie in (0, 1000000], got -1",
            ),
            (f64::NAN, "`checkpoint minutes` must be finite, got NaN"),
            (
                f64::INFINITY,
                "`checkpoint minutes` must be finite, got inf",
            ),
        ] {
            let error = CheckpointOptions::new("c")
                .every_minutes(minutes)
                .unwrap_err();
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn retry_factor_is_checked() {
        let options = CheckpointOptions::new("x");
        assert!(options.clone().retries(1, 0.0).is_err());
        assert!(options.clone().retries(1, 1.0).is_err());
        assert!(options.clone().retries(1, f32::NAN).is_err());
        assert_eq!(options.retries(3, 0.25).unwrap().retry_count(), 3);
    }

    #[test]
    fn parts_must_agree() {
        let config = TrainConfig::builder().dim(3).threads(2).build().unwrap();
        let vocab = Vocab::from_counts(
            [("a".to_owned(), 2), ("b".to_owned(), 1)],
            crate::OovPolicy::Drop,
        )
        .unwrap();
        let state = TrainState::new(&config, vec![]);
        let model = Model::for_config(&config, 2);
        assert!(Checkpoint::new(config.clone(), vocab.clone(), model, state.clone()).is_ok());
        let wrong_rows = Model::for_config(&config, 3);
        assert!(matches!(
            Checkpoint::new(config.clone(), vocab.clone(), wrong_rows, state.clone()),
            Err(Error::ShapeMismatch { .. })
        ));
        let one_thread = TrainState::new(&config.to_builder().threads(1).build().unwrap(), vec![]);
        let model = Model::for_config(&config, 2);
        assert!(matches!(
            Checkpoint::new(config, vocab, model, one_thread),
            Err(Error::ShapeMismatch { .. })
        ));
    }

    #[test]
    fn write_reads_back_row_major_and_column_major_models() {
        let dir = tempfile::tempdir().unwrap();
        let config = TrainConfig::builder().dim(3).threads(1).build().unwrap();
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
        let state = TrainState::new(&config, vec![5]);
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
}
