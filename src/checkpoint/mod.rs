//! Checkpoints: everything an interrupted training run needs to continue where it stopped.
//!
//! A checkpoint holds the configuration, the vocabulary, `U`, `V` and `W`, the
//! [`TrainState`] (the corpus position: epoch and sentences done; the words done, which is
//! where the learning-rate schedule stands; every worker thread's random generator state;
//! the losses and `W`'s diagnostics so far; the corpus files' sizes), the optimizer's state
//! ([`OptimizerState`]) and the held-out sample ([`HeldOut`]), so that a resumed run scores
//! the same pairs and skips the same sentences. The trainer writes one at a point where
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
//! "BSGCKPT2"                          magic and format version
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
//! The first format, `"BSGCKPT1"`, ends after `W` (no optimizer state, no held-out
//! sample); it is still read.
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
    /// Each worker thread's random generator state (the 32-byte xoshiro256++ seed it
    /// continues from).
    pub rng_seeds: Vec<[u8; 32]>,
    /// Sizes in bytes of the corpus sources, in order, to refuse resuming on another
    /// corpus (see [`resume`](crate::resume) for what each kind of source measures).
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
            heldout_losses: vec![None; config.epochs()],
            interactions: vec![None; config.epochs()],
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
            heldout_losses: Vec::new(),
            interactions: Vec::new(),
            seconds: 0.0,
            rng_seeds: Vec::new(),
            corpus_sizes: Vec::new(),
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

/// The 32-byte generator seed thread `thread` starts from.
pub(crate) fn initial_seed(seed: u64, thread: usize) -> [u8; 32] {
    use rand::{RngExt, SeedableRng};
    let mixed = seed.wrapping_add((thread as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rand::rngs::Xoshiro256PlusPlus::seed_from_u64(mixed).random()
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
    /// `D.npy` ([`OFFSETS_FILE`](crate::OFFSETS_FILE)): `P×M` for diagonal interactions,
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
    /// configuration's dimension and per-offset interactions, and the state one generator
    /// per thread and one loss per epoch.
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
        crate::sgd::check_offsets(&config, &model)?;
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
        let mut state = TrainState::new(&config, vec![10, 20]);
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
}
