//! Checkpoints: everything an interrupted training run needs to continue where it stopped.
//!
//! A checkpoint holds the configuration, the vocabulary, `U`, `V` and `W`, the
//! [`TrainState`] (the corpus position: epoch and sentences done; the words done, which is
//! where the learning-rate schedule stands; the losses and `W`'s diagnostics so far; the
//! corpus sources' names, sizes and content fingerprints; the factors by which retries
//! lowered the learning rates), the optimizer's state ([`OptimizerState`]) and the
//! held-out sample ([`HeldOut`]), so that a resumed run scores the same pairs and skips the
//! same sentences. The trainer writes one at a point where every worker is paused between
//! two chunks, so the parameters and the position agree. No random generator state is
//! stored: each chunk of the corpus draws from a generator seeded by the seed, the epoch
//! and the chunk's first sentence, so with one thread a run gives bit for bit the same
//! model with or without checkpoints, interrupted and resumed or not.
//!
//! # Resuming
//!
//! [`resume`](crate::resume) takes the caller's configuration and refuses
//! ([`Error::OptionsMismatch`]) every option that differs from the checkpoint's, by its
//! [`TrainConfig::to_text`] name, except these, which may change on resume:
//!
//! - `threads` (the random streams do not depend on the threads; with several threads
//!   Hogwild makes runs differ anyway);
//! - `subword_readout_weight` (it weighs a word's own row in the vectors read out, not in
//!   training; the resumed run reads out at the given weight);
//! - the [`CheckpointOptions`]: the interval between checkpoints and the retries.
//!
//! Retries after a divergence lower the learning rates in the checkpoint and record the
//! factor ([`TrainState::retry_factors`]); the caller's rates are compared after the same
//! lowering, so the command that started a run resumes it after retries.
//!
//! Before training, `resume` reads the corpus once and compares each source's name (a
//! file's path as given, `<text>` for text in memory, `<sentences>` for pre-tokenised
//! sentences, a reader function's name), a file's size on disk, and the fingerprint (a
//! 64-bit hash of the source's bytes after decompression, or of pre-tokenised sentences'
//! words joined by a space with a line feed after each sentence, taken during the
//! vocabulary pass when the run started) with the checkpoint's, and refuses the first
//! that differs ([`Error::CorpusMismatch`]).
//!
//! # File format
//!
//! One little-endian binary file, written to a temporary file, synced and renamed over
//! the previous checkpoint ([`write_atomic`]), so the file under the checkpoint's name is
//! always a complete checkpoint:
//!
//! ```text
//! "BSGCKPT3"                          magic and format version
//! u64 n, n bytes                      the configuration (TrainConfig::to_text)
//! u64 n, n bytes                      the state, `key = value` lines
//! u64 words, then per word:           the vocabulary in id order
//!     u32 n, n bytes (UTF-8), u64 count
//! 3 × (u64 rows, u64 cols, f32 data)  U, V, W, row-major
//! u64 k, then k named matrices:       the optimizer's state ("W.squares": AdaGrad's
//!     u64 n, n bytes (name),            sums of squared gradients of W, M×M)
//!     u64 rows, u64 cols, f32 data
//! u64 s                               held-out sentences (0: no held-out sample, and
//!                                     nothing more before the CRC)
//! s × u64                             their indices, ascending
//! u64 tokens, u64 pairs, u64 r        vocabulary tokens in them, pairs, rows per pair (n + 1)
//! pairs × (u32, i32, r × u32)         each pair's focus id, offset, context and negatives
//! u32                                 CRC-32 of every byte before it
//! ```
//!
//! The state text (`key = value` lines) records, among the rest, one
//! `corpus_source = SIZE BYTES HASH NAME` line per corpus source (`SIZE` on disk or `-`,
//! `BYTES` after decompression, `HASH` in hexadecimal, `NAME` hex-encoded UTF-8) and one
//! `retry_factor = F` line per retry.
//!
//! The earlier formats, `"BSGCKPT1"` and `"BSGCKPT2"`, are refused with
//! [`Error::CheckpointVersion`]: they record per-thread random states instead of deriving
//! them from the corpus position, and no corpus fingerprint.
//!
//! Reading checks the magic, every length against the bytes left in the file before
//! allocating, the shapes against the configuration and vocabulary, and the CRC.
//!
//! [`write_atomic`]: crate::io::write_atomic

pub(crate) mod drive;
mod format;
mod options;

use ndarray::Array2;

use crate::config::TrainConfig;
use crate::corpus::SourceFingerprint;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::sgd::{HeldOut, InteractionDiagnostics};
use crate::vocab::Vocab;

pub use options::CheckpointOptions;

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
    /// For each epoch, the held-out loss at its end (`None` before the end, or without a
    /// held-out sample).
    pub heldout_losses: Vec<Option<f64>>,
    /// For each epoch, `W`'s diagnostics at its end (`None` before the end).
    pub interactions: Vec<Option<InteractionDiagnostics>>,
    /// Training seconds before this state.
    pub seconds: f64,
    /// The corpus sources the run started on, in order: names, sizes and content hashes
    /// from the vocabulary pass, to refuse resuming on another corpus (see
    /// [`resume`](crate::resume) for what each kind of source records).
    pub corpus: Vec<SourceFingerprint>,
    /// The factors by which retries after a divergence multiplied the learning rates, in
    /// order ([`CheckpointOptions::retries`]): the checkpoint's configuration holds the
    /// lowered rates, and [`resume`](crate::resume) compares the caller's rates lowered
    /// the same way.
    pub retry_factors: Vec<f32>,
}

impl TrainState {
    /// The state at the start of a run with `config` on the corpus sources `corpus`
    /// (from [`SentenceStream::fingerprints`](crate::corpus::SentenceStream::fingerprints) after
    /// a pass over the corpus; empty to skip the check on resume).
    pub fn new(config: &TrainConfig, corpus: Vec<SourceFingerprint>) -> TrainState {
        TrainState {
            epoch: 0,
            sentences: 0,
            words_done: 0,
            pairs: 0,
            epoch_losses: vec![(0.0, 0); config.epochs()],
            heldout_losses: vec![None; config.epochs()],
            interactions: vec![None; config.epochs()],
            seconds: 0.0,
            corpus,
            retry_factors: Vec::new(),
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
        for (epoch, loss) in self.heldout_losses.iter().enumerate() {
            if let Some(loss) = loss {
                text.push_str(&format!("heldout_loss = {epoch} {loss:?}\n"));
            }
        }
        for (epoch, diagnostics) in self.interactions.iter().enumerate() {
            if let Some(d) = diagnostics {
                text.push_str(&format!(
                    "interaction = {epoch} {:?} {:?}\n",
                    d.distance_from_identity, d.condition_number
                ));
            }
        }
        for source in &self.corpus {
            // The name last and in hexadecimal: any path, spaces and line breaks included.
            let name: String = source
                .name
                .to_string_lossy()
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect();
            let size = source
                .size
                .map_or_else(|| "-".to_owned(), |s| s.to_string());
            text.push_str(&format!(
                "corpus_source = {size} {} {:016x} {name}\n",
                source.bytes, source.hash
            ));
        }
        for factor in &self.retry_factors {
            text.push_str(&format!("retry_factor = {factor:?}\n"));
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
            heldout_losses: Vec::new(),
            interactions: Vec::new(),
            seconds: 0.0,
            corpus: Vec::new(),
            retry_factors: Vec::new(),
        };
        let mut seen = [false; 5];
        // (epoch, value) lines, placed once the number of epochs is known.
        let mut heldout = Vec::new();
        let mut interactions = Vec::new();
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
                "corpus_source" => {
                    let mut fields = value.split(' ');
                    let size = match fields.next()? {
                        "-" => None,
                        size => Some(size.parse().ok()?),
                    };
                    let bytes = fields.next()?.parse().ok()?;
                    let hash = u64::from_str_radix(fields.next()?, 16).ok()?;
                    let hex = fields.next().unwrap_or("").as_bytes();
                    if fields.next().is_some() || hex.len() % 2 != 0 {
                        return None;
                    }
                    let name = hex
                        .chunks_exact(2)
                        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
                        .collect::<Option<Vec<u8>>>()?;
                    state.corpus.push(SourceFingerprint {
                        name: String::from_utf8(name).ok()?.into(),
                        size,
                        bytes,
                        hash,
                    });
                }
                "retry_factor" => {
                    let factor: f32 = value.parse().ok()?;
                    if !(factor > 0.0 && factor < 1.0) {
                        return None;
                    }
                    state.retry_factors.push(factor);
                }
                "heldout_loss" => {
                    let (epoch, loss) = value.split_once(' ')?;
                    heldout.push((epoch.parse::<usize>().ok()?, loss.parse().ok()?));
                }
                "interaction" => {
                    let mut fields = value.split(' ');
                    let epoch = fields.next()?.parse::<usize>().ok()?;
                    let distance_from_identity = fields.next()?.parse().ok()?;
                    let condition_number = fields.next()?.parse().ok()?;
                    if fields.next().is_some() {
                        return None;
                    }
                    let diagnostics = InteractionDiagnostics {
                        distance_from_identity,
                        condition_number,
                    };
                    interactions.push((epoch, diagnostics));
                }
                _ => return None,
            }
        }
        let epochs = state.epoch_losses.len();
        state.heldout_losses = vec![None; epochs];
        state.interactions = vec![None; epochs];
        for (epoch, loss) in heldout {
            *state.heldout_losses.get_mut(epoch)? = Some(loss);
        }
        for (epoch, diagnostics) in interactions {
            *state.interactions.get_mut(epoch)? = Some(diagnostics);
        }
        (seen.iter().all(|&s| s) && state.seconds.is_finite()).then_some(state)
    }
}

/// The optimizer's state of the dense interaction parameters, which a resumed run needs to
/// continue exactly.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct OptimizerState {
    /// AdaGrad's sums of squared gradients of `W` (`M×M`): `Some` when `W` is trained with
    /// [`InteractionOptimizer::AdaGrad`](crate::InteractionOptimizer::AdaGrad).
    pub interaction_squares: Option<Array2<f32>>,
    /// AdaGrad's sums of squared gradients of the per-offset interactions, in the layout of
    /// `D.npy` ([`OFFSETS_FILE`](crate::io::OFFSETS_FILE)): `P×M` for diagonal interactions,
    /// `(P·M)×M` for full ones. `Some` when they are trained with AdaGrad.
    pub offset_squares: Option<Array2<f32>>,
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
    /// The optimizer's state.
    pub optimizer: OptimizerState,
    /// The run's held-out sample, if it has one.
    pub heldout: Option<HeldOut>,
}

impl Checkpoint {
    /// A checkpoint from its parts, for example to continue training a model with
    /// [`resume`](crate::resume) from a state made with [`TrainState::new`]. It has no
    /// optimizer state (AdaGrad starts from zero squares) and no held-out sample.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] unless the model has one row per vocabulary entry and the
    /// configuration's dimension and per-offset interactions, and the state one loss per
    /// epoch; [`Error::InvalidArgument`] unless the model has the configuration's
    /// subwords, indexed from the vocabulary's words.
    pub fn new(
        config: TrainConfig,
        vocab: Vocab,
        model: Model,
        state: TrainState,
    ) -> Result<Checkpoint> {
        let checks = [
            (
                "checkpoint model (vocabulary size × dimension)",
                vec![vocab.len(), config.dim()],
                vec![model.n_words(), model.dim()],
            ),
            (
                "checkpoint state (losses per epoch)",
                vec![config.epochs()],
                vec![state.epoch_losses.len()],
            ),
        ];
        for (what, expected, found) in checks {
            if expected != found {
                return Err(Error::ShapeMismatch {
                    what,
                    expected,
                    found,
                });
            }
        }
        crate::sgd::check_offsets(&config, &model)?;
        crate::sgd::check_subwords(&config, &model)?;
        crate::subwords::check_words(model.subwords(), vocab.words())?;
        Ok(Checkpoint {
            config,
            vocab,
            model,
            state,
            optimizer: OptimizerState::default(),
            heldout: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_text_round_trips() {
        let config = TrainConfig::builder().threads(2).epochs(3).build().unwrap();
        let corpus = ["a b.txt", "naïve\nname.xz"]
            .iter()
            .enumerate()
            .map(|(i, name)| SourceFingerprint {
                name: name.into(),
                size: (i == 0).then_some(10),
                bytes: 20 + i as u64,
                hash: u64::MAX - i as u64,
            })
            .collect();
        let mut state = TrainState::new(&config, corpus);
        state.retry_factors = vec![0.5, 0.1];
        state.epoch = 1;
        state.sentences = 7;
        state.words_done = 12345;
        state.pairs = 999;
        state.seconds = 1.25;
        state.epoch_losses[0] = (0.1 + 0.2, 17);
        state.heldout_losses[1] = Some(2.5 + 1e-12);
        state.interactions[2] = Some(InteractionDiagnostics {
            distance_from_identity: 15.5,
            condition_number: f64::INFINITY,
        });
        let back = TrainState::from_text(&state.to_text()).unwrap();
        assert_eq!(back, state);
    }

    #[test]
    fn malformed_state_text_is_rejected() {
        for text in [
            "",
            "epoch = 1\n",
            "epoch = x\nsentences = 0\nwords_done = 0\npairs = 0\nseconds = 0.0\n",
            "epoch = 0\nsentences = 0\nwords_done = 0\npairs = 0\nseconds = 0.0\nrng = 00\n",
            "epoch = 0\nsentences = 0\nwords_done = 0\npairs = 0\nseconds = 0.0\n\
             corpus_source = 1 2 zz 61\n",
            "epoch = 0\nsentences = 0\nwords_done = 0\npairs = 0\nseconds = 0.0\n\
             corpus_source = 1 2 ff 6\n",
            "epoch = 0\nsentences = 0\nwords_done = 0\npairs = 0\nseconds = 0.0\n\
             retry_factor = 1.5\n",
            "epoch = 0\nsentences = 0\nwords_done = 0\npairs = 0\nseconds = 0.0\nmystery = 1\n",
            // An epoch record beyond the epochs.
            "epoch = 0\nsentences = 0\nwords_done = 0\npairs = 0\nseconds = 0.0\n\
             epoch_loss = 0.0 0\nheldout_loss = 1 2.0\n",
            "epoch = 0\nsentences = 0\nwords_done = 0\npairs = 0\nseconds = 0.0\n\
             epoch_loss = 0.0 0\ninteraction = 0 1.0\n",
        ] {
            assert!(TrainState::from_text(text).is_none(), "{text:?}");
        }
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
        let model = Model::for_vocab(&config, &vocab).unwrap();
        assert!(Checkpoint::new(config.clone(), vocab.clone(), model, state.clone()).is_ok());
        // The default has subwords: a model without them does not fit it.
        let plain = Model::for_config(&config, 2);
        assert!(matches!(
            Checkpoint::new(config.clone(), vocab.clone(), plain, state.clone()),
            Err(Error::InvalidArgument { what: "model", .. })
        ));
        let config = config.to_builder().subwords(None).build().unwrap();
        let wrong_rows = Model::for_config(&config, 3);
        assert!(matches!(
            Checkpoint::new(config.clone(), vocab.clone(), wrong_rows, state.clone()),
            Err(Error::ShapeMismatch { .. })
        ));
        let one_epoch = TrainState::new(&config.to_builder().epochs(1).build().unwrap(), vec![]);
        let model = Model::for_config(&config, 2);
        assert!(matches!(
            Checkpoint::new(
                config.to_builder().epochs(2).build().unwrap(),
                vocab,
                model,
                one_epoch
            ),
            Err(Error::ShapeMismatch { .. })
        ));
    }
}
