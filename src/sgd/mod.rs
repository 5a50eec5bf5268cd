//! Training: word2vec-style online SGD with Hogwild threads (the default), and the
//! course's exact minibatch SGD.
//!
//! # The online trainer
//!
//! For each focus word `w` of a sentence (after subsampling), the trainer computes
//! `h = W u_w` once. For every context `c` in the window it draws `n` negatives, scores the
//! `n + 1` rows `s = Ṽ h` with the rows as they are, adds `Ṽᵀ g` to the window's `e`, and then
//! applies `v_k -= α g_k h` to every row, so a row that occurs twice among the positive and
//! the negatives receives both updates: this is exactly one SGD step on that pair's `J`.
//! After the window it applies `u_w -= α Wᵀ e` and records `α_W e u_wᵀ` for `W`: one `W u_w`
//! and one `W` update per focus word, not per pair.
//!
//! With subwords ([`crate::subwords`]) `u_w` is composed from the word's row of `U` and its
//! n-grams' rows when the word's block starts, and the step `−α Wᵀ e` is applied to each of
//! those rows (once to an n-gram row the word has several times), as fastText does: `u_w`
//! moves by the step a free row would take, and the n-gram rows collect the steps of every
//! word that has them. (The block then equals one-at-a-time processing only up to the
//! n-gram rows the block's words share, which every word of a block composes at its start.)
//!
//! Each thread works through blocks of up to
//! [`merge_interval`](crate::TrainConfig::merge_interval) focus words: it computes `h` for
//! the whole block with one matrix product (`H = U_B Wᵀ`) from its copy of `W`, applies the
//! focus updates with another (`E W`), and applies the block's `W` update to its copy with
//! a third (`Eᵀ U_B`). This equals processing the focus words one at a time with `W` fixed
//! within a block (a block ends early where a focus word would repeat). Once its copy holds
//! the `W` updates of at least `merge_interval` focus words, and when it finishes, a thread
//! adds the change of its copy since its last merge to the shared `W` under a lock and takes
//! the result as its new copy. With one thread the copy is the only `W` there is, so one
//! thread runs exactly the sequential algorithm with `W` fixed per block; with several, a
//! thread sees the others' `W` updates at its merges, every `merge_interval` focus words or
//! a few more. `U` and `V` are shared without locks (Hogwild). Progress
//! counters and losses are per thread and reported once per chunk of the corpus (about ten thousand
//! words), never per pair.
//!
//! # What the calling thread measures
//!
//! Besides the online loss of the pairs trained on, the calling thread scores the model:
//! the loss on the held-out sample ([`HeldOut`], when the run has one) and `W`'s distance
//! from the identity and condition number ([`InteractionDiagnostics`]). It does so at most
//! every [`SCORE_EVERY`] from the shared parameters as they stand (a Hogwild snapshot of
//! `U` and `V`, `W` as last merged), and at the end of every epoch and of the run with
//! every worker paused and its `W` merged, so those scores are exactly those of the model
//! at that point ([`TrainReport::epoch_heldout_losses`],
//! [`TrainReport::epoch_interactions`]). Such a pause, like one for a checkpoint, changes
//! no result with one thread: the merge is an assignment, and the random draws
//! (subsampling, window reaches, negatives) come from a generator seeded anew for every
//! chunk of about ten thousand words by the seed, the epoch and the chunk's first
//! sentence, whichever thread trains it and whenever the workers pause.
//!
//! # Memory
//!
//! After the vocabulary pass and before allocating the model, [`train`] and
//! [`train_checkpointed`] estimate what the run will allocate (`U` and `V`, `W` and the
//! per-offset interactions, the subword n-gram table and index estimated at one n-gram a
//! word and length, the sampler, the shared copies, and per thread the copies of
//! a trained `W` or `D` with their AdaGrad state and the block buffers; a frozen `W` is
//! shared, not copied) and refuse with [`Error::OutOfMemory`] a run that needs more than
//! is available, naming the limit that binds: the least of `MemAvailable + SwapFree` of
//! `/proc/meminfo`, the room under the limit of the process's memory cgroup and of each
//! enclosing one (with the swap it may still use; page cache is not counted as used), and
//! the address space left under `ulimit -v`. Against `ulimit -v` the threads' address
//! space counts too: a stack each and, with glibc, a malloc arena for each worker and the
//! corpus reader (64 MiB reserved apiece on 64-bit systems, as many as `MALLOC_ARENA_MAX`
//! allows). Arenas reserved while there is room take it from the run's buffers, which
//! then abort allocating; `MALLOC_ARENA_MAX=1` makes the threads share the main arena.
//! Elsewhere than on Linux only a plan beyond what any allocation may ask for
//! (`isize::MAX` bytes) is refused.
//! [`train_model`] and [`resume`] check what is left to allocate once the model exists,
//! and [`train_course`] checks its batches' buffers.
//! The estimate errs high (`V`'s rows that are never drawn are never resident), so a run
//! that fits is never refused for lack of memory; under `ulimit -v` it may be, when glibc
//! would have found no room for some arenas and shared the others. The vocabulary and
//! held-out sample exist already when the check runs, so the available memory accounts
//! for them.

mod course;
pub(crate) mod dense;
mod diagnostics;
mod heldout;
mod offsets;
mod pause;
mod reader;
mod worker;

use std::cell::Cell;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ndarray::{ArrayView2, ArrayViewMut2};

use crate::checkpoint::drive::write_checkpoint;
use crate::checkpoint::{CheckpointOptions, TrainState};
use crate::config::{LearningRateSchedule, TrainConfig};
use crate::corpus::{Corpus, SourceFingerprint};
use crate::error::{Error, Result};
use crate::hogwild::SharedRows;
use crate::kernels::LogisticTable;
use crate::model::{Model, OffsetInteractionKind};
use crate::preflight::{Stage, check_memory, check_trainable, no_pair_trained};
use crate::sampling::NegativeSampler;
use crate::subwords::{SubwordConfig, SubwordIndex};
use crate::vocab::Vocab;
use dense::{Dense, SharedDense};
use pause::PauseGate;
use reader::{Event, Job, Reader};
use worker::run_worker;

pub use crate::checkpoint::drive::{resume, train_checkpointed};
pub use course::{course_minibatch_step, train_course};
pub use diagnostics::InteractionDiagnostics;
pub use heldout::{HeldOut, SENTENCES_PER_HELDOUT, TOKENS_PER_PAIR};
pub(crate) use offsets::interactions_of;
pub(crate) use worker::time_sentence;

/// Receives training progress, and can stop training.
///
/// Any closure `FnMut(&Progress) -> ControlFlow<()>` is an observer; give its argument's
/// type (`|progress: &Progress| …`), which Rust does not infer here. [`NoProgress`] is the
/// observer that wants nothing. To keep an observer of your own after training, pass a
/// closure that borrows it: `|p: &Progress| observer.on_progress(p)`.
///
/// ```
/// use std::ops::ControlFlow;
/// use std::time::{Duration, Instant};
/// use bilinear_skipgram::{Corpus, Progress, TrainConfig, train};
///
/// let text = "cat dog mouse pet fur\ncar bus road wheel drive\n".repeat(200);
/// let config = TrainConfig::builder().dim(8).min_count(1).threads(1).build()?;
/// let deadline = Instant::now() + Duration::from_secs(60);
/// let trained = train(&config, Corpus::from_text(text), |progress: &Progress| {
///     if Instant::now() >= deadline {
///         ControlFlow::Break(())
///     } else {
///         ControlFlow::Continue(())
///     }
/// })?;
/// println!("stopped early: {}", trained.report.stopped_early);
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
pub trait Observer {
    /// Called from the thread that called the trainer, a few times per second and once at
    /// the end.
    ///
    /// Returning [`ControlFlow::Break`] stops training promptly: the worker threads finish
    /// the chunk of about ten thousand words each is training, the rest of the corpus is
    /// left unread, and the trainer returns `Ok` with the model as trained so far and
    /// [`TrainReport::stopped_early`] set. After a `Break` the observer is not called
    /// again.
    ///
    /// A panic in the observer stops every thread of the run and then goes on in the
    /// caller (a checkpointed run can be resumed from its last checkpoint).
    ///
    /// A checkpointed run ([`train_checkpointed`], [`resume`]) stops where it can write a
    /// checkpoint: at the next boundary between two chunks that the reader reaches (the
    /// chunks already queued, a few per thread, are trained first), or at the pause under
    /// way. It writes one there, so that [`resume`] goes on from the stop; the model
    /// returned is the one in that checkpoint. If the corpus ends at that boundary, the
    /// epoch ends as usual (and a last epoch completes the run: no stop).
    fn on_progress(&mut self, progress: &Progress) -> ControlFlow<()>;
}

impl<F: FnMut(&Progress) -> ControlFlow<()>> Observer for F {
    fn on_progress(&mut self, progress: &Progress) -> ControlFlow<()> {
        self(progress)
    }
}

/// An observer that ignores progress and never stops training.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Observer for NoProgress {
    fn on_progress(&mut self, _progress: &Progress) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

/// `&mut NoProgress` works too.
impl Observer for &mut NoProgress {
    fn on_progress(&mut self, _progress: &Progress) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

/// An observer behind a trait object, for example one picked at run time.
impl Observer for &mut dyn Observer {
    fn on_progress(&mut self, progress: &Progress) -> ControlFlow<()> {
        (**self).on_progress(progress)
    }
}

/// A boxed observer, for example one picked at run time.
impl Observer for Box<dyn Observer + '_> {
    fn on_progress(&mut self, progress: &Progress) -> ControlFlow<()> {
        (**self).on_progress(progress)
    }
}

/// A progress report.
///
/// The online loss ([`Progress::interval_loss`]) is measured on the pairs being trained
/// on, with the parameters as the updates find them; it rewards adapting to the text at
/// hand. The held-out loss ([`Progress::heldout_loss`]) is the exact loss of the current
/// model on a fixed sample of pairs from sentences that training never sees (see
/// [`HeldOut`]): the objective itself, measured on unseen text.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Progress {
    /// Zero-based epoch of the most recent report.
    pub epoch: usize,
    /// Corpus words processed so far, all threads and epochs (before subsampling).
    pub words_done: u64,
    /// Words to process in the whole run (`epochs × words per epoch`).
    pub words_total: u64,
    /// Learning rate of `U` and `V` at `words_done`.
    pub learning_rate: f32,
    /// Mean loss `J` per observed pair over the interval since the previous report, summed in
    /// `f64` from the scores the updates used; `NaN` if the interval had no pair.
    pub interval_loss: f64,
    /// Pairs in that interval.
    pub interval_pairs: u64,
    /// Words per second since training started (all threads).
    pub words_per_second: f64,
    /// Time since training started.
    pub elapsed: Duration,
    /// The mean loss per pair on the held-out sample, computed for this report: in about
    /// one report every [`SCORE_EVERY`], in the report at the end of each epoch and in the
    /// last one; `None` in the others and when the run has no held-out sample.
    pub heldout_loss: Option<f64>,
    /// `W`'s distance from the identity and condition number, computed for this report
    /// (in the same reports as [`Progress::heldout_loss`]); `None` in the others.
    pub interaction: Option<InteractionDiagnostics>,
}

impl Progress {
    /// A report at `words_done` of `words_total` from `(loss sum, pairs)` of the interval.
    fn new(
        epoch: usize,
        words_done: u64,
        words_total: u64,
        learning_rate: f32,
        interval: (f64, u64),
        elapsed: Duration,
    ) -> Self {
        Progress {
            epoch,
            words_done,
            words_total,
            learning_rate,
            interval_loss: if interval.1 > 0 {
                interval.0 / interval.1 as f64
            } else {
                f64::NAN
            },
            interval_pairs: interval.1,
            words_per_second: words_done as f64 / elapsed.as_secs_f64().max(1e-9),
            elapsed,
            heldout_loss: None,
            interaction: None,
        }
    }
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TrainReport {
    /// Mean loss per observed pair in each epoch.
    pub epoch_losses: Vec<f64>,
    /// The held-out loss at the end of each epoch ([`HeldOut::loss`] of the model then);
    /// `None` when the run has no held-out sample.
    pub epoch_heldout_losses: Vec<Option<f64>>,
    /// `W`'s diagnostics at the end of each epoch (the last one is the trained model's);
    /// `None` where not measured (the course's trainer).
    pub epoch_interactions: Vec<Option<InteractionDiagnostics>>,
    /// Corpus words processed (before subsampling), all epochs.
    pub words: u64,
    /// Observed (focus, context) pairs trained on.
    pub pairs: u64,
    /// Wall-clock training time (over every session of a resumed run).
    pub seconds: f64,
    /// The divergences recovered from by going back to the last checkpoint with lower
    /// learning rates ([`CheckpointOptions::retries`]), in order.
    pub recovered: Vec<String>,
    /// Tokens longer than [`MAX_TOKEN_BYTES`](crate::corpus::MAX_TOKEN_BYTES) skipped in
    /// one pass over the corpus (every epoch skips the same ones); if no epoch was read to
    /// its end in this session (the observer stopped it), those of the part read.
    pub long_tokens_skipped: u64,
    /// The observer stopped training ([`Observer::on_progress`] returned
    /// [`ControlFlow::Break`]) before every word of the run was trained: the model is
    /// trained on [`words`](Self::words) words, the per-epoch lists stop at the epoch it
    /// stopped in (whose entries cover the part trained, scored at the stop), and a
    /// checkpointed run wrote a checkpoint at the stop, of the model returned (from which
    /// [`resume`] goes on). A `Break` once every word is trained is no stop.
    #[cfg_attr(feature = "serde", serde(default))]
    pub stopped_early: bool,
}

/// A trained model with its vocabulary.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Trained {
    /// The vocabulary; word id `i` is row `i` of `U` and `V`.
    pub vocab: Vocab,
    /// `U`, `V` and `W`.
    pub model: Model,
    /// What the run did.
    pub report: TrainReport,
    /// The configuration at the end (learning rates lowered by any recovery).
    pub config: TrainConfig,
    /// The held-out sample the run left out of training and scored, if any.
    pub heldout: Option<HeldOut>,
}

/// Builds the vocabulary of the corpus (and the held-out sample, see
/// [`TrainConfigBuilder::heldout_pairs`](crate::TrainConfigBuilder::heldout_pairs)),
/// initialises a model and trains it, calling `observer` a few times per second.
///
/// `corpus` is anything a [`Corpus`] is made from: a list of files (`&[path]`, `[path]`,
/// a `Vec` of paths), or a [`Corpus`] (or `&Corpus`) of files, text in memory, sentences
/// in memory or a reader function. It is read with the configuration's corpus options
/// ([`TrainConfig::corpus_options`]), once for the vocabulary and once per epoch.
/// `observer` is a closure `|progress: &Progress| -> ControlFlow<()>`, or [`NoProgress`];
/// when it returns [`ControlFlow::Break`], training stops and the model trained so far is
/// returned, with [`TrainReport::stopped_early`] set.
///
/// ```
/// use std::ops::ControlFlow;
/// use bilinear_skipgram::{Corpus, NoProgress, Progress, TrainConfig, train};
///
/// let sentences: Vec<Vec<String>> = (0..400)
///     .map(|i| ["cat dog pet", "car bus road"][i % 2].split(' ').map(String::from).collect())
///     .collect();
/// let config = TrainConfig::builder().dim(8).epochs(3).min_count(1).subsample(0.0).threads(1).build()?;
/// let corpus = Corpus::from_sentences(sentences);
/// let full = train(&config, &corpus, NoProgress)?;
/// assert!(!full.report.stopped_early);
/// // Stop at the first report (at the latest the end of the first epoch, where the
/// // held-out loss is scored): the model trained so far comes back.
/// let stopped = train(&config, &corpus, |_: &Progress| ControlFlow::Break(()))?;
/// assert!(stopped.report.stopped_early);
/// assert!(stopped.report.words < full.report.words);
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::File`] or [`Error::Corpus`] when the corpus cannot be read,
/// [`Error::EmptyVocabulary`] when no word reaches `min_count`,
/// [`Error::NothingToTrain`] before training when the vocabulary has one word, no line
/// has two words or subsampling keeps next to nothing, and after it when no pair was
/// trained (unless the observer stopped training), [`Error::OutOfMemory`] before the model
/// is allocated when the run would not fit in the available memory (see
/// [Memory](self#memory)), [`Error::Diverged`] when the loss becomes non-finite.
pub fn train(
    config: &TrainConfig,
    corpus: impl Into<Corpus>,
    mut observer: impl Observer,
) -> Result<Trained> {
    let corpus = corpus.into().with_options(config.corpus_options().clone());
    let (vocab, heldout, _) = count_corpus(config, &corpus)?;
    check_memory(config, vocab.len(), Stage::BeforeModel)?;
    let mut model = initial_model(config, &vocab)?;
    let state = TrainState::new(config, Vec::new());
    let start = Start {
        state: &state,
        interaction_squares: None,
        offset_squares: None,
        heldout: heldout.as_ref(),
    };
    let report = run(
        config,
        &vocab,
        &mut model,
        &corpus,
        &mut observer,
        &start,
        None,
    )?;
    Ok(Trained {
        vocab,
        model,
        report,
        config: config.clone(),
        heldout,
    })
}

/// The model [`train`] starts from: [`Model::for_vocab`].
pub(crate) fn initial_model(config: &TrainConfig, vocab: &Vocab) -> Result<Model> {
    Model::for_vocab(config, vocab)
}

/// The vocabulary pass: the vocabulary of `corpus`, checked to leave something to train,
/// its held-out sample, and the fingerprints of its sources.
pub(crate) fn count_corpus(
    config: &TrainConfig,
    corpus: &Corpus,
) -> Result<(Vocab, Option<HeldOut>, Vec<SourceFingerprint>)> {
    let (counts, candidates, fingerprints) = heldout::count_corpus(corpus, config)?;
    let sentences = candidates.sentence_counts();
    let vocab = counts.build(config.min_count(), config.max_vocab(), config.oov())?;
    check_trainable(config, &vocab, Some(sentences))?;
    let heldout = candidates.into_heldout(config, &vocab)?;
    Ok((vocab, heldout, fingerprints))
}

/// The report of a run that stands at `state`.
pub(crate) fn report_of(state: &TrainState, recovered: Vec<String>) -> TrainReport {
    TrainReport {
        epoch_losses: state
            .epoch_losses
            .iter()
            .map(|&(loss, pairs)| loss / pairs.max(1) as f64)
            .collect(),
        epoch_heldout_losses: state.heldout_losses.clone(),
        epoch_interactions: state.interactions.clone(),
        words: state.words_done,
        pairs: state.pairs,
        seconds: state.seconds,
        recovered,
        long_tokens_skipped: 0,
        stopped_early: false,
    }
}

/// Shortest time between two observer calls.
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Shortest time between two scorings of the held-out loss and `W`'s diagnostics during
/// an epoch. A scoring that takes longer than a fiftieth of this (`W`'s diagnostics at a
/// large dimension) spaces the next one fifty times its own duration away, so that scoring
/// takes at most about 2 % of the calling thread's time; the scorings at the end of each
/// epoch always happen.
pub const SCORE_EVERY: Duration = Duration::from_secs(2);

/// Trains an existing model on a corpus with the online trainer (see the
/// [module documentation](self)).
///
/// `model` must have one row per vocabulary entry and the configuration's dimension, and
/// the per-offset interactions the configuration asks for (kind, window and window mode;
/// [`OffsetInteractions::identity`](crate::OffsetInteractions::identity) makes them to start from). The
/// corpus (as for [`train`]: files, or any [`Corpus`]) is read `epochs` times with the
/// configuration's corpus options; tokens are mapped through `vocab` with its OOV policy.
/// There is no held-out sample: it is drawn during the vocabulary pass, which [`train`]
/// and [`train_checkpointed`] make. `observer` can stop training, as for [`train`].
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when the model does not fit the vocabulary and configuration
/// (its per-offset interactions included),
/// [`Error::InvalidArgument`] when its subwords are not the configuration's or were
/// indexed from other words than the vocabulary's, or a vocabulary word could not be
/// saved ([`Vocab::unwritable_word`]),
/// [`Error::Sampling`] when no vocabulary word has a positive count,
/// [`Error::OutOfMemory`] when the sampler, the shared copies and the threads' buffers
/// would not fit in the available memory,
/// [`Error::File`]/[`Error::Corpus`] when the corpus cannot be read,
/// [`Error::NothingToTrain`] when no pair was trained (the model is trained as given, so
/// this is found at the end; [`train`] checks the corpus and vocabulary first), and
/// [`Error::Diverged`] when a loss or an update becomes non-finite (checked for every
/// block of focus words in every thread).
pub fn train_model(
    config: &TrainConfig,
    vocab: &Vocab,
    model: &mut Model,
    corpus: impl Into<Corpus>,
    mut observer: impl Observer,
) -> Result<TrainReport> {
    let corpus = corpus.into().with_options(config.corpus_options().clone());
    let state = TrainState::new(config, Vec::new());
    let start = Start {
        state: &state,
        interaction_squares: None,
        offset_squares: None,
        heldout: None,
    };
    run(config, vocab, model, &corpus, &mut observer, &start, None)
}

/// Where a run starts: the training state, the optimizer state and the held-out sample.
pub(crate) struct Start<'s> {
    pub(crate) state: &'s TrainState,
    /// AdaGrad's squares of `W` (zero when `None`).
    pub(crate) interaction_squares: Option<ArrayView2<'s, f32>>,
    /// AdaGrad's squares of the per-offset interactions, flat as
    /// [`OptimizerState`](crate::checkpoint::OptimizerState) keeps them (zero when `None`).
    pub(crate) offset_squares: Option<ArrayView2<'s, f32>>,
    pub(crate) heldout: Option<&'s HeldOut>,
}

/// Trains from `start` to the end, writing checkpoints as `checkpoints` says.
pub(crate) fn run(
    config: &TrainConfig,
    vocab: &Vocab,
    model: &mut Model,
    corpus: &Corpus,
    observer: &mut dyn Observer,
    start: &Start<'_>,
    checkpoints: Option<&CheckpointOptions>,
) -> Result<TrainReport> {
    check_model(
        config,
        vocab.len(),
        model,
        "model (vocabulary size × configured dimension)",
    )?;
    crate::subwords::check_words(model.subwords(), vocab.words())?;
    if let Some((id, word, why)) = vocab.unwritable_word() {
        return Err(Error::InvalidArgument {
            what: "vocabulary",
            message: format!(
                "word {id} ({}) {why}: no corpus token can be it, and a model trained with \
                 it could not be saved",
                crate::vocab::shown(word)
            ),
        });
    }
    check_memory(config, vocab.len(), Stage::BeforeTraining)?;
    let threads = config.threads();
    let dim = config.dim();
    let (heldout, start_state) = (start.heldout, start.state);
    if start_state.epoch_losses.len() != config.epochs() {
        return Err(Error::ShapeMismatch {
            what: "training state (losses per epoch)",
            expected: vec![config.epochs()],
            found: vec![start_state.epoch_losses.len()],
        });
    }
    if let Some(squares) = &start.interaction_squares
        && squares.dim() != (dim, dim)
    {
        return Err(Error::ShapeMismatch {
            what: "AdaGrad squares of W",
            expected: vec![dim, dim],
            found: squares.shape().to_vec(),
        });
    }
    check_offsets(config, model)?;
    check_subwords(config, model)?;
    let offset_values = offsets::dense_of(
        model.offset_interactions(),
        start
            .offset_squares
            .map(|squares| squares.iter().copied().collect()),
        config.interaction_optimizer(),
    );
    if let (Some(squares), Some(values)) = (&start.offset_squares, &offset_values)
        && squares.len() != values.values.len()
    {
        return Err(Error::ShapeMismatch {
            what: "AdaGrad squares of the per-offset interactions",
            expected: vec![values.values.len()],
            found: squares.shape().to_vec(),
        });
    }
    let sampler = NegativeSampler::new(vocab.counts(), config.negative_power())?;
    let keep = vocab.keep_probabilities(config.subsample());
    let words_per_epoch = vocab
        .n_tokens()
        .saturating_sub(heldout.map_or(0, HeldOut::n_tokens));
    let words_total = words_per_epoch.saturating_mul(config.epochs() as u64);
    let interaction = Dense::new(
        model.interaction().iter().copied().collect(),
        start
            .interaction_squares
            .map(|squares| squares.iter().copied().collect()),
        config.interaction_optimizer(),
    );
    let (focus, context, mut model_interaction, mut model_offsets, subwords) =
        model.training_parts_mut();
    let shared = Shared::new(
        config,
        (focus, context, subwords),
        (interaction, offset_values),
        (&sampler, &keep),
        (start_state.words_done, words_total),
    )?;
    // The held-out loss and the diagnostics of W (of W̄ = Σ_p π_p D_p W with per-offset
    // interactions) of the shared model as it stands.
    let measure = |shared: &Shared<'_>, diagnostics: bool| -> Result<Scores> {
        let values = shared.interaction.snapshot().values;
        let interaction = dense::matrix(&values, dim, dim)?;
        let offsets = shared
            .offsets
            .as_ref()
            .map(|d| offsets::interactions_of(config, d.snapshot().values))
            .transpose()?;
        let effective = match &offsets {
            Some(offsets) => offsets.effective_interaction(interaction),
            None => interaction.mapv(f64::from),
        };
        Ok(Scores {
            heldout_loss: heldout.map(|h| {
                h.shared_loss(
                    (&shared.focus, shared.subwords.as_ref()),
                    &shared.context,
                    interaction,
                    offsets.as_ref(),
                )
            }),
            interaction: diagnostics.then(|| InteractionDiagnostics::of_f64(effective.view())),
        })
    };
    // Frozen interactions' diagnostics do not change: computed once.
    let frozen_diagnostics = if shared.trains_dense {
        None
    } else {
        measure(&shared, true)?.interaction
    };
    let score = |shared: &Shared<'_>| -> Result<Scores> {
        let mut scores = measure(shared, frozen_diagnostics.is_none())?;
        scores.interaction = scores.interaction.or(frozen_diagnostics);
        Ok(scores)
    };
    let interaction_trained = shared.trains_dense;

    let (chunk_tx, chunk_rx) = sync_channel::<Job>(2 * threads);
    let chunk_rx = Mutex::new(chunk_rx);
    let (event_tx, event_rx) = sync_channel::<Event>(64 * threads);
    let clock = Instant::now();
    let seconds = |clock: Instant| start_state.seconds + clock.elapsed().as_secs_f64();
    let mut epoch_loss = start_state.epoch_losses.clone();
    let mut epoch_heldout = start_state.heldout_losses.clone();
    let mut epoch_interactions = start_state.interactions.clone();
    let mut totals = (start_state.words_done, start_state.pairs); // words, pairs
    let mut written = Ok(());
    let mut long_tokens_skipped = 0;
    // The observer asked to stop (it is not called again), and whether that left words
    // untrained (it may have asked at the last report of a finished run).
    let stop_requested = Cell::new(false);
    let mut stopped_early = false;
    let mut last_epoch = start_state.epoch;

    // Their malloc arenas outlive them: a later run's memory check need not count them.
    crate::preflight::record_trainer_threads(threads + 1);
    let observer_panic = Cell::new(None);
    let outcome = std::thread::scope(|scope| {
        let shared_ref = &shared;
        let reader_events = event_tx.clone();
        let schedule = checkpoints.map(|c| (c.interval(), c.interval_words()));
        let reader = scope.spawn(move || {
            let position = (start_state.epoch, start_state.sentences);
            let reader = Reader {
                corpus,
                vocab,
                epochs: config.epochs(),
                jobs: chunk_tx,
                events: reader_events,
                shared: shared_ref,
                schedule,
                heldout: heldout.map_or(&[], HeldOut::sentences),
                epoch_end_pauses: heldout.is_some() || interaction_trained,
                words_sent: Cell::new(0),
            };
            reader.run(position)
        });
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let event_tx = event_tx.clone();
                let (shared, chunk_rx) = (&shared, &chunk_rx);
                scope.spawn(move || run_worker(t, shared, chunk_rx, event_tx))
            })
            .collect();
        drop(event_tx);

        let mut last_call = Instant::now();
        let mut next_score = Instant::now() + SCORE_EVERY;
        let mut interval = (0.0_f64, 0_u64);
        let mut score_error = Ok(());
        let mut emit =
            |interval: &mut (f64, u64), epoch: usize, done: u64, scores: Option<Scores>| {
                if stop_requested.get() {
                    return;
                }
                let mut progress = Progress::new(
                    epoch,
                    done,
                    words_total,
                    learning_rate_at(config.learning_rate(), config, done, words_total),
                    *interval,
                    clock.elapsed(),
                );
                // A resumed run's speed counts only this session's words.
                progress.words_per_second = (done - start_state.words_done.min(done)) as f64
                    / progress.elapsed.as_secs_f64().max(1e-9);
                if let Some(scores) = scores {
                    progress.heldout_loss = scores.heldout_loss;
                    progress.interaction = scores.interaction;
                }
                // A panicking observer must not leave the threads waiting for a loop that
                // no longer runs: they are stopped, and the panic goes on once they are.
                let flow = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    observer.on_progress(&progress)
                }));
                let flow = flow.unwrap_or_else(|payload| {
                    observer_panic.set(Some(payload));
                    stop_requested.set(true);
                    shared.abort.store(true, Ordering::Relaxed);
                    ControlFlow::Continue(())
                });
                if flow.is_break() {
                    stop_requested.set(true);
                    if checkpoints.is_some() {
                        // The reader pauses the workers at the next chunk boundary (or the
                        // pause under way) for a checkpoint at the stop, and ends there,
                        // unless the corpus ends there: the epoch then ends as usual.
                        shared.stop.store(true, Ordering::Relaxed);
                    } else {
                        // Workers finish the chunk they are training and drop the rest of
                        // the queue; the reader sends nothing more.
                        shared.abort.store(true, Ordering::Relaxed);
                    }
                }
                *interval = (0.0, 0);
            };
        for event in event_rx.iter() {
            let report = match event {
                Event::Chunk(report) => report,
                Event::Pause {
                    epoch,
                    sentences,
                    checkpoint,
                } => {
                    if sentences == 0 && epoch > 0 && written.is_ok() {
                        // The end of epoch `epoch - 1`: every worker is paused with its W
                        // merged, so the scores are those of the model at that point.
                        match score(&shared) {
                            Ok(scores) => {
                                if let Some(slot) = epoch_heldout.get_mut(epoch - 1) {
                                    *slot = scores.heldout_loss;
                                }
                                if let Some(slot) = epoch_interactions.get_mut(epoch - 1) {
                                    *slot = scores.interaction;
                                }
                                emit(&mut interval, epoch - 1, totals.0, Some(scores));
                                last_call = Instant::now();
                            }
                            Err(e) => written = Err(e),
                        }
                    }
                    // A stop asked for before this pause (or at its scoring) has the
                    // checkpoint written here, where the reader ends the run.
                    if (checkpoint || stop_requested.get())
                        && written.is_ok()
                        && let Some(options) = checkpoints
                    {
                        let state = TrainState {
                            epoch,
                            sentences,
                            words_done: totals.0,
                            pairs: totals.1,
                            epoch_losses: epoch_loss.clone(),
                            heldout_losses: epoch_heldout.clone(),
                            interactions: epoch_interactions.clone(),
                            seconds: seconds(clock),
                            corpus: start_state.corpus.clone(),
                            retry_factors: start_state.retry_factors.clone(),
                        };
                        written =
                            write_checkpoint(options, config, vocab, &shared, &state, heldout);
                    }
                    if written.is_err() {
                        shared.abort.store(true, Ordering::Relaxed);
                    }
                    shared.gate.release();
                    continue;
                }
            };
            totals.0 += report.words;
            totals.1 += report.pairs;
            interval.0 += report.loss;
            interval.1 += report.pairs;
            if let Some(e) = epoch_loss.get_mut(report.epoch) {
                e.0 += report.loss;
                e.1 += report.pairs;
            }
            last_epoch = report.epoch;
            if Instant::now() >= next_score {
                // A Hogwild snapshot of U and V while the workers go on; W as last merged.
                let started = Instant::now();
                let scores = score(&shared);
                next_score = Instant::now() + SCORE_EVERY.max(started.elapsed() * 50);
                match scores {
                    Ok(scores) => emit(&mut interval, last_epoch, totals.0, Some(scores)),
                    Err(e) => {
                        score_error = Err(e);
                        shared.abort.store(true, Ordering::Relaxed);
                    }
                }
                last_call = Instant::now();
            } else if last_call.elapsed() >= REPORT_EVERY {
                emit(&mut interval, last_epoch, totals.0, None);
                last_call = Instant::now();
            }
        }
        // Every worker has merged its W: the scores of the trained model (of the model as
        // trained until a stop, in the epoch it stopped in).
        let stopped = stop_requested.get();
        let last = if stopped {
            last_epoch
        } else {
            config.epochs() - 1
        };
        let finished = !shared.abort.load(Ordering::Relaxed) || stopped;
        let scores = if finished { score(&shared).ok() } else { None };
        if let Some(scores) = &scores {
            if let Some(slot) = epoch_heldout.get_mut(last) {
                *slot = scores.heldout_loss;
            }
            if let Some(slot) = epoch_interactions.get_mut(last) {
                *slot = scores.interaction;
            }
        }
        emit(&mut interval, last_epoch, totals.0, scores);

        let mut first_error = None;
        for worker in workers {
            if let Err(e) = worker.join().unwrap_or_else(|_| Err(worker_panicked())) {
                first_error.get_or_insert(e);
            }
        }
        match reader.join().unwrap_or_else(|_| Err(worker_panicked())) {
            Ok(end) => {
                long_tokens_skipped = end.long_tokens_skipped;
                let all_trained = end.completed
                    && totals.0.saturating_sub(start_state.words_done) == end.words_sent;
                stopped_early = stopped && !all_trained;
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        if let Err(e) = score_error {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    });
    if let Some(payload) = observer_panic.take() {
        std::panic::resume_unwind(payload);
    }
    outcome?;
    written?;
    if totals.1 == 0 && !stopped_early {
        return Err(no_pair_trained(totals.0));
    }
    let state = TrainState {
        epoch: config.epochs(),
        sentences: 0,
        words_done: totals.0,
        pairs: totals.1,
        epoch_losses: epoch_loss,
        heldout_losses: epoch_heldout,
        interactions: epoch_interactions,
        seconds: seconds(clock),
        corpus: start_state.corpus.clone(),
        retry_factors: start_state.retry_factors.clone(),
    };
    // A stopped run is not finished: its checkpoint at the stop is the one to resume from.
    if let Some(options) = checkpoints
        && !stopped_early
    {
        write_checkpoint(options, config, vocab, &shared, &state, heldout)?;
    }
    let (trained, trained_offsets) = shared.into_interaction();
    model_interaction.assign(&dense::matrix(&trained.values, dim, dim)?);
    if let Some(trained_offsets) = trained_offsets {
        offsets::assign(&mut model_offsets, &trained_offsets.values)?;
    }
    let mut report = report_of(&state, Vec::new());
    report.long_tokens_skipped = long_tokens_skipped;
    if stopped_early {
        // Only the epochs begun: the last one is partial.
        report.stopped_early = true;
        let epochs = last_epoch + 1;
        report.epoch_losses.truncate(epochs);
        report.epoch_heldout_losses.truncate(epochs);
        report.epoch_interactions.truncate(epochs);
    }
    Ok(report)
}

/// What the calling thread measures on the shared model.
#[derive(Debug, Clone, Copy)]
struct Scores {
    heldout_loss: Option<f64>,
    interaction: Option<InteractionDiagnostics>,
}

/// Checks that `model` has the subwords `config` asks for (none, or the same n-grams and
/// word weight).
pub(crate) fn check_subwords(config: &TrainConfig, model: &Model) -> Result<()> {
    let has = model.subwords().map(|s| s.index().config());
    if has != config.subwords() {
        let describe = |s: Option<SubwordConfig>| {
            s.map_or("no subwords".to_owned(), |s| {
                format!(
                    "subwords {s} (min_words {}, word_weight {}, readout_weight {})",
                    s.min_words(),
                    s.word_weight(),
                    s.readout_weight()
                )
            })
        };
        return Err(Error::InvalidArgument {
            what: "model",
            message: format!(
                "the model has {}, but the configuration asks for {}",
                describe(has),
                describe(config.subwords())
            ),
        });
    }
    Ok(())
}

/// Checks that the model has the per-offset interactions `config` asks for.
pub(crate) fn check_offsets(config: &TrainConfig, model: &Model) -> Result<()> {
    let offsets = model.offset_interactions();
    let kind = config.offset_interactions();
    let fits = offsets.kind() == kind
        && (kind == OffsetInteractionKind::None
            || (offsets.window() == config.window()
                && offsets.window_mode() == config.window_mode()
                && offsets.dim() == Some(config.dim())));
    if fits {
        return Ok(());
    }
    let index = |kind| {
        OffsetInteractionKind::ALL
            .iter()
            .position(|&k| k == kind)
            .unwrap_or(0)
    };
    Err(Error::ShapeMismatch {
        what: "per-offset interactions ([kind: 0 none, 1 diagonal, 2 full; offsets; \
               dimension], in the configuration's window mode)",
        expected: vec![
            index(kind),
            2 * config.window() * usize::from(kind != OffsetInteractionKind::None),
            config.dim(),
        ],
        found: vec![
            index(offsets.kind()),
            offsets.n_offsets(),
            offsets.dim().unwrap_or(config.dim()),
        ],
    })
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn worker_panicked() -> Error {
    Error::Io(std::io::Error::other("a training thread panicked"))
}

/// The n-gram rows the workers share, with the index saying which words have them.
pub(crate) struct SharedSubwords<'a> {
    pub(crate) rows: SharedRows<'a>,
    pub(crate) index: &'a SubwordIndex,
}

impl SharedSubwords<'_> {
    /// Word `word`'s focus vector `u_w = (a·x_w + Σ_g z_g) / (a + |G_w|)` into `out`.
    pub(crate) fn focus_vector(&self, focus: &SharedRows<'_>, word: usize, out: &mut [f32]) {
        focus.with_row(word, |x| out.copy_from_slice(x));
        let grams = self.index.word_ngram_slice(word);
        let weight = self.index.config().word_weight();
        crate::subwords::average_with(out, grams, weight, |g, out| {
            self.rows.with_row(g as usize, |z| {
                for (o, z) in out.iter_mut().zip(z) {
                    *o += z;
                }
            });
        });
    }

    /// `z_g -= rate · update` once for every distinct n-gram of `word` (the full step of
    /// `u_w` on each row, as fastText takes it, so that `u_w` moves by exactly that step:
    /// see [`crate::subwords`]). A word's n-grams are in id order, repeats adjacent.
    pub(crate) fn step(&self, word: usize, rate: f32, update: &[f32]) {
        for g in distinct(self.index.word_ngram_slice(word)) {
            self.rows
                .with_row_mut(g as usize, |z| crate::kernels::axpy(-rate, update, z));
        }
    }

    pub(crate) fn prefetch(&self, word: usize) {
        for g in distinct(self.index.word_ngram_slice(word)) {
            self.rows.prefetch(g as usize);
        }
    }
}

/// The ids of a sorted slice, each once.
fn distinct(sorted: &[u32]) -> impl Iterator<Item = u32> + '_ {
    sorted
        .iter()
        .enumerate()
        .filter(move |&(i, g)| i == 0 || sorted[i - 1] != *g)
        .map(|(_, &g)| g)
}

/// Checks that `model` has `n_words` rows (`what` says of what) of the configured
/// dimension.
fn check_model(
    config: &TrainConfig,
    n_words: usize,
    model: &Model,
    what: &'static str,
) -> Result<()> {
    let expected = [n_words, config.dim()];
    let found = [model.n_words(), model.dim()];
    if expected != found {
        return Err(Error::ShapeMismatch {
            what,
            expected: expected.to_vec(),
            found: found.to_vec(),
        });
    }
    Ok(())
}

/// The divergence at `words` of `words_total` in `epoch`, naming every learning rate in
/// force then.
pub(crate) fn diverged(
    config: &TrainConfig,
    (epoch, words): (usize, u64),
    words_total: u64,
    what: String,
) -> Error {
    let at = |initial| learning_rate_at(initial, config, words, words_total);
    Error::Diverged {
        epoch,
        words,
        learning_rate: at(config.learning_rate()),
        interaction_learning_rate: at(config.interaction_learning_rate()),
        offset_learning_rate: (config.offset_interactions() != OffsetInteractionKind::None)
            .then(|| at(config.offset_learning_rate())),
        what,
    }
}

/// The learning rate after `done` of `total` words.
pub(crate) fn learning_rate_at(initial: f32, config: &TrainConfig, done: u64, total: u64) -> f32 {
    match config.schedule() {
        LearningRateSchedule::Constant => initial,
        LearningRateSchedule::Linear => {
            let left = 1.0 - done as f64 / total.max(1) as f64;
            (f64::from(initial) * left.max(1e-4)) as f32
        }
    }
}

/// What every worker shares.
pub(crate) struct Shared<'a> {
    pub(crate) focus: SharedRows<'a>,
    pub(crate) context: SharedRows<'a>,
    /// The subword n-gram rows and which words have them, when the model has subwords.
    pub(crate) subwords: Option<SharedSubwords<'a>>,
    /// `W` (with its AdaGrad squares), frozen or trained.
    pub(crate) interaction: SharedDense,
    /// The per-offset interactions `D` (with their squares), when the model has them.
    pub(crate) offsets: Option<SharedDense>,
    /// `W` or `D` is trained: workers count focus words towards merges.
    trains_dense: bool,
    sampler: &'a NegativeSampler,
    keep: &'a [f32],
    config: &'a TrainConfig,
    words_done: AtomicU64,
    pub(crate) words_total: u64,
    abort: AtomicBool,
    /// The observer stopped a checkpointed run: the reader pauses the workers at the next
    /// chunk boundary for a checkpoint there, and ends the run, unless the corpus ends
    /// there and the epoch ends as usual (see [`Observer`]).
    stop: AtomicBool,
    /// `W` is the identity and is not trained: `h = u_w` and `Wᵀ e = e`.
    identity_frozen: bool,
    /// σ and softplus for the scores.
    logistic: &'static LogisticTable,
    /// Where workers wait while a checkpoint is written.
    gate: PauseGate,
}

impl<'a> Shared<'a> {
    /// What the workers share for training a model: its `U` and `V` rows (borrowed for
    /// `'a`), its `W` and per-offset interactions with the optimizer state (moved in;
    /// [`Shared::into_interaction`] gives them back), the sampler and keep probabilities,
    /// and the words done and in total.
    #[allow(clippy::type_complexity)]
    fn new(
        config: &'a TrainConfig,
        (focus, context, subwords): (
            ArrayViewMut2<'a, f32>,
            ArrayViewMut2<'a, f32>,
            Option<(ArrayViewMut2<'a, f32>, &'a SubwordIndex)>,
        ),
        (interaction, offsets): (Dense, Option<Dense>),
        (sampler, keep): (&'a NegativeSampler, &'a [f32]),
        (words_done, words_total): (u64, u64),
    ) -> Result<Self> {
        let dim = config.dim();
        let trained = config.interaction_learning_rate() > 0.0;
        let identity = interaction
            .values
            .iter()
            .enumerate()
            .all(|(i, &w)| w == if i % (dim + 1) == 0 { 1.0 } else { 0.0 });
        let identity_frozen = !trained && identity;
        let offsets_trained = config.offset_learning_rate() > 0.0;
        let trains_dense = trained || (offsets.is_some() && offsets_trained);
        let n_words = focus.nrows();
        let (Some(focus), Some(context)) = (SharedRows::new(focus), SharedRows::new(context))
        else {
            return Err(Error::ShapeMismatch {
                what: "model embeddings (must be contiguous and row-major)",
                expected: vec![n_words, dim],
                found: vec![],
            });
        };
        let subwords = match subwords {
            None => None,
            Some((table, index)) => Some(SharedSubwords {
                rows: SharedRows::new(table).ok_or_else(|| Error::ShapeMismatch {
                    what: "subword n-gram table (must be contiguous and row-major)",
                    expected: vec![index.n_ngrams(), dim],
                    found: vec![],
                })?,
                index,
            }),
        };
        Ok(Shared {
            focus,
            context,
            subwords,
            interaction: SharedDense::new(interaction, trained),
            offsets: offsets.map(|d| SharedDense::new(d, offsets_trained)),
            trains_dense,
            sampler,
            keep,
            config,
            words_done: AtomicU64::new(words_done),
            words_total,
            abort: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            identity_frozen,
            logistic: LogisticTable::get(),
            gate: PauseGate::default(),
        })
    }

    /// Ends the sharing and gives back `W` and the per-offset interactions with their
    /// optimizer state.
    fn into_interaction(self) -> (Dense, Option<Dense>) {
        (
            self.interaction.into_dense(),
            self.offsets.map(SharedDense::into_dense),
        )
    }
}
