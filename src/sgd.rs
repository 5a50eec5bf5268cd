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

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, Array3, ArrayView2, ArrayViewMut2, Axis, Zip, s};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

use crate::checkpoint::{
    Checkpoint, CheckpointOptions, Parts, TrainState, check_corpus, corpus_sizes, initial_seed,
    remove_stale_temporaries, write_parts,
};
use crate::config::{LearningRateSchedule, TrainConfig, WindowMode};
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::hogwild::SharedRows;
use crate::kernels::{LogisticTable, axpy, dot};
use crate::loss::loss_and_gradient_batched;
use crate::model::Model;
use crate::preflight::{SentenceCounts, check_trainable, no_pair_trained};
use crate::sampling::NegativeSampler;
use crate::vocab::{Vocab, VocabBuilder};

/// Receives training progress.
pub trait Observer {
    /// Called from the thread that called the trainer, a few times per second and once at
    /// the end.
    fn on_progress(&mut self, progress: &Progress);
}

impl<F: FnMut(&Progress)> Observer for F {
    fn on_progress(&mut self, progress: &Progress) {
        self(progress)
    }
}

/// An observer that ignores progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Observer for NoProgress {
    fn on_progress(&mut self, _progress: &Progress) {}
}

/// A progress report.
#[derive(Debug, Clone, Copy, PartialEq)]
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
        }
    }
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrainReport {
    /// Mean loss per observed pair in each epoch.
    pub epoch_losses: Vec<f64>,
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
    /// one pass over the corpus (every epoch skips the same ones); 0 if no epoch was read
    /// to its end in this session.
    pub long_tokens_skipped: u64,
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
}

/// Builds the vocabulary of the corpus files, initialises a model and trains it.
///
/// The files are read as the configuration's corpus options say (plain, gzip or xz).
///
/// # Errors
///
/// [`Error::File`] or [`Error::Corpus`] when a file cannot be read,
/// [`Error::EmptyVocabulary`] when no word reaches `min_count`,
/// [`Error::NothingToTrain`] before training when the vocabulary has one word, no line
/// has two words or subsampling keeps next to nothing, and after it when no pair was
/// trained, [`Error::Diverged`] when the loss becomes non-finite.
pub fn train<P: AsRef<Path>>(
    config: &TrainConfig,
    paths: &[P],
    observer: &mut dyn Observer,
) -> Result<Trained> {
    let corpus = Corpus::new(
        paths.iter().map(|p| p.as_ref().to_path_buf()),
        config.corpus_options().clone(),
    );
    let builder = VocabBuilder::count_corpus(&corpus)?;
    let counts = SentenceCounts::of(&builder);
    let vocab = builder.build(config.min_count(), config.max_vocab(), config.oov())?;
    check_trainable(config, &vocab, Some(counts))?;
    let mut model = Model::for_config(config, vocab.len());
    let report = train_model(config, &vocab, &mut model, &corpus, observer)?;
    Ok(Trained {
        vocab,
        model,
        report,
        config: config.clone(),
    })
}

/// Like [`train`], writing checkpoints as `options` says (one before the first word and
/// one at the end as well), so that [`resume`] can continue the run after an interruption.
/// On divergence it goes back to the last checkpoint with lower learning rates if
/// `options` allows retries; otherwise the error is returned and the last checkpoint
/// stays valid.
///
/// # Errors
///
/// As [`train`], plus [`Error::File`] when a checkpoint cannot be written.
pub fn train_checkpointed<P: AsRef<Path>>(
    config: &TrainConfig,
    paths: &[P],
    options: &CheckpointOptions,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    let corpus = Corpus::new(
        paths.iter().map(|p| p.as_ref().to_path_buf()),
        config.corpus_options().clone(),
    );
    let sizes = corpus_sizes(corpus.paths())?;
    remove_stale_temporaries(options.path());
    let builder = VocabBuilder::count_corpus(&corpus)?;
    let counts = SentenceCounts::of(&builder);
    let vocab = builder.build(config.min_count(), config.max_vocab(), config.oov())?;
    check_trainable(config, &vocab, Some(counts))?;
    let model = Model::for_config(config, vocab.len());
    let checkpoint = Checkpoint {
        config: config.clone(),
        vocab,
        model,
        state: TrainState::new(config, sizes),
    };
    checkpoint.write(options.path())?;
    drive(checkpoint, &corpus, options, observer)
}

/// Continues the run whose checkpoint is at `options.path()` on the same corpus files,
/// from the corpus position, learning rate and random state it was written at; a finished
/// run's checkpoint gives its final model at once.
///
/// # Errors
///
/// [`Error::File`]/[`Error::Format`] when the checkpoint cannot be read or is corrupted,
/// [`Error::Format`] when the corpus files' sizes differ from those the run started with,
/// and everything [`train_checkpointed`] returns.
pub fn resume<P: AsRef<Path>>(
    paths: &[P],
    options: &CheckpointOptions,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    remove_stale_temporaries(options.path());
    let checkpoint = Checkpoint::read(options.path())?;
    let corpus = Corpus::new(
        paths.iter().map(|p| p.as_ref().to_path_buf()),
        checkpoint.config.corpus_options().clone(),
    );
    check_corpus(
        options.path(),
        &checkpoint.state.corpus_sizes,
        &corpus_sizes(corpus.paths())?,
    )?;
    drive(checkpoint, &corpus, options, observer)
}

/// Trains from a checkpoint to the end, going back to the last checkpoint on divergence
/// as often as `options` allows.
fn drive(
    mut current: Checkpoint,
    corpus: &Corpus,
    options: &CheckpointOptions,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    let mut recovered = Vec::new();
    loop {
        if current.state.finished(&current.config) {
            return Ok(Trained {
                report: report_of(&current.state, recovered),
                vocab: current.vocab,
                model: current.model,
                config: current.config,
            });
        }
        match run(
            &current.config,
            &current.vocab,
            &mut current.model,
            corpus,
            observer,
            &current.state,
            Some(options),
        ) {
            Ok(mut report) => {
                report.recovered = recovered;
                return Ok(Trained {
                    vocab: current.vocab,
                    model: current.model,
                    report,
                    config: current.config,
                });
            }
            Err(error @ Error::Diverged { .. }) if recovered.len() < options.retry_count() => {
                let mut last = Checkpoint::read(options.path())?;
                let factor = options.retry_factor();
                last.config = last
                    .config
                    .to_builder()
                    .learning_rate(last.config.learning_rate() * factor)
                    .interaction_learning_rate(last.config.interaction_learning_rate() * factor)
                    .build()?;
                // Record the lower rates at once, so an interruption now resumes with them.
                last.write(options.path())?;
                recovered.push(error.to_string());
                current = last;
            }
            Err(error) => return Err(error),
        }
    }
}

/// The report of a run that stands at `state`.
fn report_of(state: &TrainState, recovered: Vec<String>) -> TrainReport {
    TrainReport {
        epoch_losses: state
            .epoch_losses
            .iter()
            .map(|&(loss, pairs)| loss / pairs.max(1) as f64)
            .collect(),
        words: state.words_done,
        pairs: state.pairs,
        seconds: state.seconds,
        recovered,
        long_tokens_skipped: 0,
    }
}

/// How many pairs ahead the trainer prefetches the context rows (`V`).
const PREFETCH_PAIRS: usize = 2;
/// Words per chunk handed to a worker thread.
const CHUNK_WORDS: usize = 10_000;
/// Shortest time between two observer calls.
const REPORT_EVERY: Duration = Duration::from_millis(200);

struct Chunk {
    epoch: usize,
    ids: Vec<u32>,
    /// End offset (exclusive) of each sentence in `ids`.
    ends: Vec<usize>,
}

/// What the reader hands the workers.
enum Job {
    Chunk(Chunk),
    /// Stop at the [`PauseGate`] until the checkpoint is written.
    Pause,
}

/// What the calling thread hears about.
enum Event {
    /// A worker finished a chunk.
    Chunk(Report),
    /// Every worker is paused, all earlier chunks are reported, and the corpus position is
    /// `sentences` sentences into `epoch`: write a checkpoint, then release the gate.
    Pause { epoch: usize, sentences: u64 },
}

struct Report {
    epoch: usize,
    words: u64,
    loss: f64,
    pairs: u64,
}

/// Where workers wait while a checkpoint is written.
#[derive(Default)]
struct PauseGate {
    /// Workers waiting, and the number of releases so far.
    state: Mutex<(usize, u64)>,
    changed: Condvar,
}

/// How often gate waiters look at the abort flag.
const GATE_POLL: Duration = Duration::from_millis(20);

impl PauseGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, u64)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn releases(&self) -> u64 {
        self.lock().1
    }

    /// Waits until `done` holds for the gate's state or `abort` is set; returns whether
    /// `done` held.
    fn wait_until(&self, abort: &AtomicBool, done: impl Fn(&(usize, u64)) -> bool) -> bool {
        let mut state = self.lock();
        while !done(&state) {
            if abort.load(Ordering::Relaxed) {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, GATE_POLL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// A worker arrives and waits for the release (or an abort).
    fn arrive_and_wait(&self, abort: &AtomicBool) {
        let release = {
            let mut state = self.lock();
            state.0 += 1;
            self.changed.notify_all();
            state.1
        };
        self.wait_until(abort, |state| state.1 != release);
    }

    fn release(&self) {
        let mut state = self.lock();
        *state = (0, state.1 + 1);
        self.changed.notify_all();
    }
}

/// Trains an existing model on a corpus with the online trainer (see the
/// [module documentation](self)).
///
/// `model` must have one row per vocabulary entry and the configuration's dimension. The
/// corpus is read `epochs` times; tokens are mapped through `vocab` with its OOV policy.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when the model does not fit the vocabulary and configuration,
/// [`Error::Sampling`] when no vocabulary word has a positive count,
/// [`Error::File`]/[`Error::Corpus`] when the corpus cannot be read,
/// [`Error::NothingToTrain`] when no pair was trained (the model is trained as given, so
/// this is found at the end; [`train`] checks the corpus and vocabulary first), and
/// [`Error::Diverged`] when a loss or an update becomes non-finite (checked for every
/// block of focus words in every thread).
pub fn train_model(
    config: &TrainConfig,
    vocab: &Vocab,
    model: &mut Model,
    corpus: &Corpus,
    observer: &mut dyn Observer,
) -> Result<TrainReport> {
    let start = TrainState::new(config, Vec::new());
    run(config, vocab, model, corpus, observer, &start, None)
}

/// Trains from `start` to the end, writing checkpoints as `checkpoints` says.
fn run(
    config: &TrainConfig,
    vocab: &Vocab,
    model: &mut Model,
    corpus: &Corpus,
    observer: &mut dyn Observer,
    start: &TrainState,
    checkpoints: Option<&CheckpointOptions>,
) -> Result<TrainReport> {
    check_model(
        config,
        vocab.len(),
        model,
        "model (vocabulary size × configured dimension)",
    )?;
    let threads = config.threads();
    if start.rng_seeds.len() != threads || start.epoch_losses.len() != config.epochs() {
        return Err(Error::ShapeMismatch {
            what: "training state (generator states per thread, losses per epoch)",
            expected: vec![threads, config.epochs()],
            found: vec![start.rng_seeds.len(), start.epoch_losses.len()],
        });
    }
    let sampler = NegativeSampler::new(vocab.counts(), config.negative_power())?;
    let keep = vocab.keep_probabilities(config.subsample());
    let words_per_epoch = vocab.n_tokens();
    let words_total = words_per_epoch.saturating_mul(config.epochs() as u64);
    let shared_interaction = Mutex::new(model.interaction().as_standard_layout().into_owned());
    let shared = Shared::new(
        config,
        model,
        &shared_interaction,
        (&sampler, &keep),
        (start.words_done, words_total),
        start.rng_seeds.clone(),
    )?;

    let (chunk_tx, chunk_rx) = sync_channel::<Job>(2 * threads);
    let chunk_rx = Mutex::new(chunk_rx);
    let (event_tx, event_rx) = sync_channel::<Event>(64 * threads);
    let clock = Instant::now();
    let seconds = |clock: Instant| start.seconds + clock.elapsed().as_secs_f64();
    let mut epoch_loss = start.epoch_losses.clone();
    let mut totals = (start.words_done, start.pairs); // words, pairs
    let mut written = Ok(());
    let mut long_tokens_skipped = 0;

    let outcome = std::thread::scope(|scope| {
        let shared_ref = &shared;
        let reader_events = event_tx.clone();
        let schedule = checkpoints.map(|c| (c.interval(), c.interval_words()));
        let reader = scope.spawn(move || {
            let position = (start.epoch, start.sentences);
            let reader = Reader {
                corpus,
                vocab,
                epochs: config.epochs(),
                jobs: chunk_tx,
                events: reader_events,
                shared: shared_ref,
                schedule,
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
        let mut interval = (0.0_f64, 0_u64);
        let mut last_epoch = start.epoch;
        let mut emit = |interval: &mut (f64, u64), epoch: usize, done: u64| {
            let mut progress = Progress::new(
                epoch,
                done,
                words_total,
                learning_rate_at(config.learning_rate(), config, done, words_total),
                *interval,
                clock.elapsed(),
            );
            // A resumed run's speed counts only this session's words.
            progress.words_per_second = (done - start.words_done.min(done)) as f64
                / progress.elapsed.as_secs_f64().max(1e-9);
            observer.on_progress(&progress);
            *interval = (0.0, 0);
        };
        for event in event_rx.iter() {
            let report = match event {
                Event::Chunk(report) => report,
                Event::Pause { epoch, sentences } => {
                    if written.is_ok() {
                        if let Some(options) = checkpoints {
                            let state = TrainState {
                                epoch,
                                sentences,
                                words_done: totals.0,
                                pairs: totals.1,
                                epoch_losses: epoch_loss.clone(),
                                seconds: seconds(clock),
                                rng_seeds: lock(&shared.seeds).clone(),
                                corpus_sizes: start.corpus_sizes.clone(),
                            };
                            written = write_checkpoint(options, config, vocab, &shared, &state);
                        }
                        if written.is_err() {
                            shared.abort.store(true, Ordering::Relaxed);
                        }
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
            if last_call.elapsed() >= REPORT_EVERY {
                emit(&mut interval, last_epoch, totals.0);
                last_call = Instant::now();
            }
        }
        emit(&mut interval, last_epoch, totals.0);

        let mut first_error = None;
        for worker in workers {
            if let Err(e) = worker.join().unwrap_or_else(|_| Err(worker_panicked())) {
                first_error.get_or_insert(e);
            }
        }
        match reader.join().unwrap_or_else(|_| Err(worker_panicked())) {
            Ok(skipped) => long_tokens_skipped = skipped,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    });
    outcome?;
    written?;
    if totals.1 == 0 {
        return Err(no_pair_trained(totals.0));
    }
    if let Some(options) = checkpoints {
        let state = TrainState {
            epoch: config.epochs(),
            sentences: 0,
            words_done: totals.0,
            pairs: totals.1,
            epoch_losses: epoch_loss.clone(),
            seconds: seconds(clock),
            rng_seeds: lock(&shared.seeds).clone(),
            corpus_sizes: start.corpus_sizes.clone(),
        };
        write_checkpoint(options, config, vocab, &shared, &state)?;
    }
    drop(shared);
    let trained_interaction = shared_interaction
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    model.interaction_mut().assign(&trained_interaction);
    let mut report = report_of(
        &TrainState {
            words_done: totals.0,
            pairs: totals.1,
            epoch_losses: epoch_loss,
            seconds: seconds(clock),
            ..start.clone()
        },
        Vec::new(),
    );
    report.long_tokens_skipped = long_tokens_skipped;
    Ok(report)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Writes a checkpoint of the paused (or finished) workers' model, after checking that
/// every parameter is finite so that a checkpoint is never a diverged model.
fn write_checkpoint(
    options: &CheckpointOptions,
    config: &TrainConfig,
    vocab: &Vocab,
    shared: &Shared<'_>,
    state: &TrainState,
) -> Result<()> {
    let interaction = lock(shared.interaction);
    let interaction = interaction.as_slice().ok_or_else(|| Error::ShapeMismatch {
        what: "W (must be contiguous)",
        expected: vec![config.dim(), config.dim()],
        found: vec![],
    })?;
    shared.focus.with_all(|focus| {
        shared.context.with_all(|context| {
            for (name, values) in [("U", focus), ("V", context), ("W", interaction)] {
                if let Some(i) = values.iter().position(|x| !x.is_finite()) {
                    return Err(Error::Diverged {
                        epoch: state.epoch,
                        words: state.words_done,
                        learning_rate: learning_rate_at(
                            config.learning_rate(),
                            config,
                            state.words_done,
                            shared.words_total,
                        ),
                        what: format!(
                            "{name}[{}, {}] is {} at a checkpoint",
                            i / config.dim(),
                            i % config.dim(),
                            values[i]
                        ),
                    });
                }
            }
            write_parts(
                options.path(),
                &Parts {
                    config,
                    vocab,
                    focus,
                    context,
                    interaction,
                    state,
                },
            )
        })
    })
}

fn worker_panicked() -> Error {
    Error::Io(std::io::Error::other("a training thread panicked"))
}

/// Checks that `model` has `n_words` rows (`what` says of what) of the configured dimension.
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

/// The learning rate after `done` of `total` words.
fn learning_rate_at(initial: f32, config: &TrainConfig, done: u64, total: u64) -> f32 {
    match config.schedule() {
        LearningRateSchedule::Constant => initial,
        LearningRateSchedule::Linear => {
            let left = 1.0 - done as f64 / total.max(1) as f64;
            (f64::from(initial) * left.max(1e-4)) as f32
        }
    }
}

/// What every worker shares.
struct Shared<'a> {
    focus: SharedRows<'a>,
    context: SharedRows<'a>,
    interaction: &'a Mutex<Array2<f32>>,
    sampler: &'a NegativeSampler,
    keep: &'a [f32],
    config: &'a TrainConfig,
    words_done: AtomicU64,
    words_total: u64,
    abort: AtomicBool,
    /// `W` is the identity and is not trained: `h = u_w` and `Wᵀ e = e`.
    identity_frozen: bool,
    /// σ and softplus for the scores.
    logistic: &'static LogisticTable,
    /// Each worker's generator seed as of the last pause.
    seeds: Mutex<Vec<[u8; 32]>>,
    /// Where workers wait while a checkpoint is written.
    gate: PauseGate,
}

impl<'a> Shared<'a> {
    /// What the workers share for training `model`: its `U` and `V` rows (borrowed for
    /// `'a`), `interaction` (a copy of its `W`), the sampler and keep probabilities, the
    /// words done and in total, and one generator seed per thread.
    fn new(
        config: &'a TrainConfig,
        model: &'a mut Model,
        interaction: &'a Mutex<Array2<f32>>,
        (sampler, keep): (&'a NegativeSampler, &'a [f32]),
        (words_done, words_total): (u64, u64),
        seeds: Vec<[u8; 32]>,
    ) -> Result<Self> {
        let dim = config.dim();
        let identity_frozen = config.interaction_learning_rate() == 0.0
            && model.interaction() == Array2::<f32>::eye(dim);
        let n_words = model.n_words();
        let (focus, context, _) = model.parts_mut();
        let (Some(focus), Some(context)) = (SharedRows::new(focus), SharedRows::new(context))
        else {
            return Err(Error::ShapeMismatch {
                what: "model embeddings (must be contiguous and row-major)",
                expected: vec![n_words, dim],
                found: vec![],
            });
        };
        Ok(Shared {
            focus,
            context,
            interaction,
            sampler,
            keep,
            config,
            words_done: AtomicU64::new(words_done),
            words_total,
            abort: AtomicBool::new(false),
            identity_frozen,
            logistic: LogisticTable::get(),
            seeds: Mutex::new(seeds),
            gate: PauseGate::default(),
        })
    }
}

/// Streams the corpus as chunks of word ids to the workers, and pauses them for
/// checkpoints.
struct Reader<'r, 'a> {
    corpus: &'r Corpus,
    vocab: &'r Vocab,
    epochs: usize,
    jobs: SyncSender<Job>,
    events: SyncSender<Event>,
    shared: &'r Shared<'a>,
    /// Checkpoint every so much time and/or every so many words.
    schedule: Option<(Option<Duration>, Option<u64>)>,
}

impl Reader<'_, '_> {
    /// Reads from `sentences` sentences into epoch `epoch` to the end of the last epoch.
    /// Returns the long tokens skipped in the last epoch read to its end.
    fn run(self, (epoch, sentences): (usize, u64)) -> Result<u64> {
        let result = self.read(epoch, sentences);
        if result.is_err() {
            self.shared.abort.store(true, Ordering::Relaxed);
        }
        result
    }

    fn read(&self, first_epoch: usize, skip: u64) -> Result<u64> {
        let mut long_tokens_skipped = 0;
        let mut since = (Instant::now(), 0_u64); // last checkpoint, words sent since
        let fresh = |epoch| Chunk {
            epoch,
            ids: Vec::with_capacity(CHUNK_WORDS + 64),
            ends: Vec::new(),
        };
        for epoch in first_epoch..self.epochs {
            let mut stream = self.corpus.sentences()?;
            let mut sentences = 0_u64;
            if epoch == first_epoch {
                while sentences < skip {
                    if !stream.next_sentence(|_| {})? {
                        return Err(Error::Format {
                            path: stream
                                .current_path()
                                .map(Path::to_path_buf)
                                .unwrap_or_default(),
                            message: format!(
                                "the corpus has {sentences} sentences, but the run to resume had read {skip} in epoch {epoch}"
                            ),
                        });
                    }
                    sentences += 1;
                }
            }
            let mut chunk = fresh(epoch);
            while stream.next_sentence(|token| {
                if let Some(id) = self.vocab.lookup(token) {
                    chunk.ids.push(id);
                }
            })? {
                sentences += 1;
                if chunk.ends.last().copied().unwrap_or(0) != chunk.ids.len() {
                    chunk.ends.push(chunk.ids.len());
                }
                if chunk.ids.len() >= CHUNK_WORDS {
                    since.1 += chunk.ids.len() as u64;
                    let full = std::mem::replace(&mut chunk, fresh(epoch));
                    if !self.send(Job::Chunk(full)) {
                        return Ok(long_tokens_skipped);
                    }
                    if self.due(since) {
                        if !self.pause(epoch, sentences) {
                            return Ok(long_tokens_skipped);
                        }
                        since = (Instant::now(), 0);
                    }
                }
            }
            if !chunk.ids.is_empty() {
                since.1 += chunk.ids.len() as u64;
                if !self.send(Job::Chunk(chunk)) {
                    return Ok(long_tokens_skipped);
                }
            }
            long_tokens_skipped = stream.long_tokens_skipped();
            if epoch + 1 < self.epochs && self.due(since) {
                if !self.pause(epoch + 1, 0) {
                    return Ok(long_tokens_skipped);
                }
                since = (Instant::now(), 0);
            }
        }
        Ok(long_tokens_skipped)
    }

    /// Queues a job unless training stopped; `false` if it did. Checking the abort flag
    /// before every send keeps the reader from blocking on a queue nobody empties.
    fn send(&self, job: Job) -> bool {
        !self.shared.abort.load(Ordering::Relaxed) && self.jobs.send(job).is_ok()
    }

    /// Whether a checkpoint is due `since.0` and `since.1` words after the last one.
    fn due(&self, since: (Instant, u64)) -> bool {
        self.schedule.is_some_and(|(every, every_words)| {
            every.is_some_and(|every| since.0.elapsed() >= every)
                || every_words.is_some_and(|words| since.1 >= words)
        })
    }

    /// Pauses every worker after the chunks sent so far, has the calling thread write a
    /// checkpoint at `(epoch, sentences)`, and waits for it; `false` if training stopped.
    fn pause(&self, epoch: usize, sentences: u64) -> bool {
        let shared = self.shared;
        let threads = shared.config.threads();
        let releases = shared.gate.releases();
        for _ in 0..threads {
            if !self.send(Job::Pause) {
                return false;
            }
        }
        // Each worker takes one pause job and waits, so once all have arrived every
        // earlier chunk is trained and reported.
        if !shared
            .gate
            .wait_until(&shared.abort, |state| state.0 == threads)
        {
            return false;
        }
        if self.events.send(Event::Pause { epoch, sentences }).is_err() {
            return false;
        }
        shared
            .gate
            .wait_until(&shared.abort, |state| state.1 != releases)
    }
}

fn run_worker(
    thread: usize,
    shared: &Shared<'_>,
    jobs: &Mutex<Receiver<Job>>,
    events: SyncSender<Event>,
) -> Result<()> {
    let mut worker = Worker::new(thread, shared);
    let result = (|| {
        loop {
            if shared.abort.load(Ordering::Relaxed) {
                return Ok(());
            }
            let next = lock(jobs).recv();
            match next {
                Err(_) => return Ok(()),
                Ok(Job::Pause) => worker.pause(),
                Ok(Job::Chunk(chunk)) => {
                    let report = worker.train_chunk(&chunk)?;
                    if events.send(Event::Chunk(report)).is_err() {
                        return Ok(());
                    }
                }
            }
        }
    })();
    if result.is_err() {
        shared.abort.store(true, Ordering::Relaxed);
    }
    if shared.abort.load(Ordering::Relaxed) {
        // The reader may be blocked on a full queue; it checks the abort flag before every
        // send, so emptying the queue once lets it finish.
        while lock(jobs).try_recv().is_ok() {}
    }
    result
}

/// One thread's state; all buffers are allocated once.
///
/// Focus words are processed in blocks of at most `merge_interval` consecutive positions
/// of a sentence, cut early where a focus word would occur twice in one block. For a block
/// of `B` focus words with rows `U_B` (taken before any of their updates):
///
/// ```text
/// H  = U_B Wᵀ              one GEMM instead of B matrix–vector products
/// (the pairs of every focus word, in order: V updates, E row k += Ṽᵀ g)
/// U_B -= α E W             one GEMM, then one row update per focus word
/// W  -= α_W Eᵀ U_B         one GEMM on the thread's copy of W
/// ```
///
/// Within a block a focus row is read once and written once, and `U` rows are read only as
/// focus words, so this equals processing the focus words one by one with `W` held fixed
/// for the block. The copy is merged into the shared `W` every `merge_interval` focus
/// words and when the worker is dropped (see the module documentation).
struct Worker<'s, 'a> {
    shared: &'s Shared<'a>,
    thread: usize,
    rng: Xoshiro256PlusPlus,
    /// Epoch and words done (all threads) at the start of the current sentence.
    position: (usize, u64),
    dim: usize,
    /// Largest block.
    capacity: usize,
    /// This thread's copy of `W`: the shared `W` as of the last merge, plus this thread's
    /// updates since.
    interaction: Array2<f32>,
    /// The shared `W` as of the last merge (unused with one thread).
    interaction_base: Array2<f32>,
    /// Focus words whose `W` update is in the copy but not yet in the shared `W`.
    unmerged_words: usize,
    /// `U_B`, `H`, `E` and `E W`, `capacity × dim` each, row-major.
    block_focus: Vec<f32>,
    block_hidden: Vec<f32>,
    block_error: Vec<f32>,
    block_update: Vec<f32>,
    /// Sentence positions and window reaches of the block's focus words.
    block: Vec<(usize, usize)>,
    /// The rows of every pair of the block, `n + 1` per pair (the context row, then the
    /// negatives), in training order.
    pair_rows: Vec<u32>,
    /// `g` of one pair, `n + 1` long.
    gains: Vec<f32>,
    sentence: Vec<u32>,
}

impl<'s, 'a> Worker<'s, 'a> {
    fn new(thread: usize, shared: &'s Shared<'a>) -> Self {
        let config = shared.config;
        let dim = config.dim();
        let seed = lock(&shared.seeds)
            .get(thread)
            .copied()
            .unwrap_or_else(|| initial_seed(config.seed(), thread));
        let interaction = lock(shared.interaction).clone();
        let capacity = config.merge_interval();
        let block_len = capacity * dim;
        Worker {
            shared,
            thread,
            rng: Xoshiro256PlusPlus::from_seed(seed),
            position: (0, 0),
            dim,
            capacity,
            interaction_base: interaction.clone(),
            unmerged_words: 0,
            interaction,
            block_focus: vec![0.0; block_len],
            block_hidden: vec![0.0; block_len],
            block_error: vec![0.0; block_len],
            block_update: vec![0.0; block_len],
            block: Vec::with_capacity(capacity),
            pair_rows: Vec::new(),
            gains: vec![0.0; config.negatives() + 1],
            sentence: Vec::new(),
        }
    }

    /// Stops for a checkpoint: moves the generator to a fresh seed that the checkpoint
    /// records, merges its `W` updates, waits at the gate, and takes the merged `W`.
    fn pause(&mut self) {
        let seed: [u8; 32] = self.rng.random();
        self.rng = Xoshiro256PlusPlus::from_seed(seed);
        if let Some(slot) = lock(&self.shared.seeds).get_mut(self.thread) {
            *slot = seed;
        }
        // The checkpoint needs this thread's W updates in the shared W.
        if self.unmerged_words > 0 {
            self.merge_interaction();
        }
        self.shared.gate.arrive_and_wait(&self.shared.abort);
        // Continue from the W the checkpoint holds (with every thread's updates), as a run
        // resumed from it does.
        let shared_interaction = lock(self.shared.interaction);
        self.interaction.assign(&*shared_interaction);
        self.interaction_base.assign(&*shared_interaction);
    }

    fn train_chunk(&mut self, chunk: &Chunk) -> Result<Report> {
        let shared = self.shared;
        let config = shared.config;
        let base = shared.words_done.load(Ordering::Relaxed);
        let mut loss = 0.0_f64;
        let mut pairs = 0_u64;
        let mut start = 0;
        let mut local_words = 0_u64;
        for &end in &chunk.ends {
            let done = base + local_words;
            let rate = learning_rate_at(config.learning_rate(), config, done, shared.words_total);
            let interaction_rate = learning_rate_at(
                config.interaction_learning_rate(),
                config,
                done,
                shared.words_total,
            );
            let words = chunk.ids.get(start..end).unwrap_or(&[]);
            self.position = (chunk.epoch, done);
            local_words += words.len() as u64;
            start = end;
            self.subsample(words);
            let (l, p) = self.train_sentence(rate, interaction_rate)?;
            loss += l;
            pairs += p;
        }
        shared.words_done.fetch_add(local_words, Ordering::Relaxed);
        Ok(Report {
            epoch: chunk.epoch,
            words: local_words,
            loss,
            pairs,
        })
    }

    fn subsample(&mut self, words: &[u32]) {
        self.sentence.clear();
        for &w in words {
            let keep = self.shared.keep.get(w as usize).copied().unwrap_or(1.0);
            if keep >= 1.0 || self.rng.random::<f32>() < keep {
                self.sentence.push(w);
            }
        }
    }

    /// Trains on `self.sentence`, block by block; returns the summed loss and the number of
    /// pairs.
    fn train_sentence(&mut self, rate: f32, interaction_rate: f32) -> Result<(f64, u64)> {
        let len = self.sentence.len();
        let mut loss = 0.0_f64;
        let mut pairs = 0_u64;
        let mut next = 0;
        while next < len {
            next = self.fill_block(next);
            if !self.block.is_empty() {
                let (l, p) = self.train_block(rate, interaction_rate)?;
                loss += l;
                pairs += p;
            }
        }
        Ok((loss, pairs))
    }

    /// Collects the next block of focus positions from `start` (those with at least one
    /// context), drawing their window reaches; returns the first position not taken.
    fn fill_block(&mut self, start: usize) -> usize {
        let config = self.shared.config;
        let window = config.window();
        let len = self.sentence.len();
        self.block.clear();
        let mut i = start;
        while i < len && self.block.len() < self.capacity {
            let word = self.sentence[i];
            if self.block.iter().any(|&(p, _)| self.sentence[p] == word) {
                break;
            }
            let reach = match config.window_mode() {
                WindowMode::Fixed => window,
                WindowMode::Shrink => window - self.rng.random_range(0..window),
            };
            if len > 1 && reach > 0 {
                self.block.push((i, reach));
            }
            i += 1;
        }
        i
    }

    fn train_block(&mut self, rate: f32, interaction_rate: f32) -> Result<(f64, u64)> {
        let shared = self.shared;
        let dim = self.dim;
        let n = self.block.len();
        let used = n * dim;
        let len = self.sentence.len();
        for &(position, _) in &self.block {
            shared.focus.prefetch(self.sentence[position] as usize);
        }
        for (k, &(position, _)) in self.block.iter().enumerate() {
            let word = self.sentence[position] as usize;
            shared.focus.with_row(word, |u| {
                self.block_focus[k * dim..(k + 1) * dim].copy_from_slice(u)
            });
        }
        // H = U_B Wᵀ; with W = I frozen, H is U_B itself.
        if !shared.identity_frozen {
            let focus = block_view(&self.block_focus, n, dim)?;
            let mut hidden = block_view_mut(&mut self.block_hidden, n, dim)?;
            general_mat_mul(1.0, &focus, &self.interaction.t(), 0.0, &mut hidden);
        }
        let hidden_rows = if shared.identity_frozen {
            &self.block_focus
        } else {
            &self.block_hidden
        };
        self.block_error[..used].fill(0.0);
        // Every pair's rows (its context, then its negatives), drawn up front in the order
        // the pairs use them: the random stream is the one of drawing them pair by pair,
        // and the rows of the pairs ahead can be prefetched while a pair is trained.
        let stride = self.gains.len();
        self.pair_rows.clear();
        for &(i, reach) in &self.block {
            for j in i.saturating_sub(reach)..(i + reach + 1).min(len) {
                if j != i {
                    self.pair_rows.push(self.sentence[j]);
                    for _ in 1..stride {
                        self.pair_rows
                            .push(shared.sampler.sample_index(&mut self.rng));
                    }
                }
            }
        }
        for &row in self.pair_rows.iter().take(PREFETCH_PAIRS * stride) {
            shared.context.prefetch(row as usize);
        }
        let mut loss = 0.0_f64;
        let mut pair_rows = self.pair_rows.chunks_exact(stride);
        let mut ahead = self.pair_rows.chunks_exact(stride).skip(PREFETCH_PAIRS);
        for (k, &(i, reach)) in self.block.iter().enumerate() {
            let hidden = &hidden_rows[k * dim..(k + 1) * dim];
            let error = &mut self.block_error[k * dim..(k + 1) * dim];
            let n_pairs = (i + reach + 1).min(len) - i.saturating_sub(reach) - 1;
            for rows in pair_rows.by_ref().take(n_pairs) {
                for &row in ahead.next().unwrap_or(&[]) {
                    shared.context.prefetch(row as usize);
                }
                loss += train_pair(shared, rows, &mut self.gains, hidden, error, rate);
            }
        }
        let pairs = (self.pair_rows.len() / stride) as u64;
        // U_B -= α E W
        let update = if shared.identity_frozen {
            &self.block_error[..used]
        } else {
            let error = block_view(&self.block_error, n, dim)?;
            let mut update = block_view_mut(&mut self.block_update, n, dim)?;
            general_mat_mul(1.0, &error, &self.interaction, 0.0, &mut update);
            &self.block_update[..used]
        };
        // Divergence check, once per block: a non-finite score, row of `U`, `V` or `W`
        // makes the loss or the focus update non-finite.
        if !loss.is_finite() || !update.iter().all(|x| x.is_finite()) {
            let what = if loss.is_finite() {
                "an update of U".to_owned()
            } else {
                format!("the loss over {pairs} pairs is {loss}")
            };
            return Err(Error::Diverged {
                epoch: self.position.0,
                words: self.position.1,
                learning_rate: rate,
                what,
            });
        }
        for (k, &(position, _)) in self.block.iter().enumerate() {
            let word = self.sentence[position] as usize;
            shared
                .focus
                .with_row_mut(word, |u| axpy(-rate, &update[k * dim..(k + 1) * dim], u));
        }
        // W -= α_W Eᵀ U_B on this thread's copy, then merged into the shared W.
        if interaction_rate > 0.0 {
            let error = block_view(&self.block_error, n, dim)?;
            let focus = block_view(&self.block_focus, n, dim)?;
            general_mat_mul(
                -interaction_rate,
                &error.t(),
                &focus,
                1.0,
                &mut self.interaction,
            );
            self.unmerged_words += n;
            if self.unmerged_words >= self.capacity {
                self.merge_interaction();
            }
        }
        Ok((loss, pairs))
    }

    /// Merges this thread's `W` updates since the last merge into the shared `W` and
    /// refreshes this thread's copy. The lock is held for two `M×M` passes, not for a
    /// matrix product: the updates were computed on the copy, outside the lock.
    fn merge_interaction(&mut self) {
        self.unmerged_words = 0;
        let shared = self.shared;
        let mut shared_interaction = shared
            .interaction
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if shared.config.threads() == 1 {
            // The only writer: the shared W equals the copy as it was before this block's
            // update, so the copy after it is exactly the merged W.
            shared_interaction.assign(&self.interaction);
        } else {
            // shared += copy − base: this thread's update, on top of the other threads'.
            Zip::from(&mut *shared_interaction)
                .and(&self.interaction)
                .and(&self.interaction_base)
                .for_each(|merged, &copy, &base| *merged += copy - base);
            self.interaction.assign(&*shared_interaction);
            drop(shared_interaction);
            self.interaction_base.assign(&self.interaction);
        }
    }
}

impl Drop for Worker<'_, '_> {
    /// Merges the `W` updates of the last blocks, which may not have reached
    /// `merge_interval` focus words.
    fn drop(&mut self) {
        if self.unmerged_words > 0 {
            self.merge_interaction();
        }
    }
}

/// The first `n` rows of a block buffer as a matrix.
fn block_view(buffer: &[f32], n: usize, dim: usize) -> Result<ArrayView2<'_, f32>> {
    ArrayView2::from_shape((n, dim), &buffer[..n * dim]).map_err(|_| block_error(n, dim))
}

/// The first `n` rows of a block buffer as a mutable matrix.
fn block_view_mut(buffer: &mut [f32], n: usize, dim: usize) -> Result<ArrayViewMut2<'_, f32>> {
    ArrayViewMut2::from_shape((n, dim), &mut buffer[..n * dim]).map_err(|_| block_error(n, dim))
}

fn block_error(n: usize, dim: usize) -> Error {
    Error::ShapeMismatch {
        what: "training block buffers",
        expected: vec![n, dim],
        found: vec![],
    }
}

/// One observed pair for a focus word with `h = hidden`: `rows` holds the context row and
/// the `n` negatives. Scores them with the rows as they are, returns the loss, adds
/// `Ṽᵀ g` to `error`, then applies the `V` updates.
#[inline]
fn train_pair(
    shared: &Shared<'_>,
    rows: &[u32],
    gains: &mut [f32],
    hidden: &[f32],
    error: &mut [f32],
    rate: f32,
) -> f64 {
    let mut loss = 0.0_f64;
    for (k, (&row, gain)) in rows.iter().zip(gains.iter_mut()).enumerate() {
        let term = shared.context.with_row(row as usize, |v| {
            let score = dot(v, hidden);
            let (g, term) = shared.logistic.gain_and_loss(score, k == 0);
            axpy(g, v, error);
            *gain = g;
            term
        });
        loss += f64::from(term);
    }
    for (&row, &gain) in rows.iter().zip(gains.iter()) {
        shared
            .context
            .with_row_mut(row as usize, |v| axpy(-rate * gain, hidden, v));
    }
    loss
}

/// Trains one worker on `sentence` (word ids, taken as they are: no subsampling) `repeats`
/// times, block by block as [`train_model`] does, with the configuration's initial rates;
/// returns the time the repeats took, the number of pairs of one repeat and the summed
/// loss. Setup (sampler, shared rows, the worker and its buffers) is outside the timing.
/// Only for [`crate::bench_support`].
pub(crate) fn time_sentence(
    config: &TrainConfig,
    counts: &[u64],
    model: &mut Model,
    sentence: &[u32],
    repeats: u64,
) -> Result<(Duration, u64, f64)> {
    check_model(
        config,
        counts.len(),
        model,
        "model (one row per count × configured dimension)",
    )?;
    if let Some(&id) = sentence.iter().find(|&&id| id as usize >= counts.len()) {
        return Err(Error::IndexOutOfRange {
            what: "word",
            index: id as usize,
            len: counts.len(),
        });
    }
    let sampler = NegativeSampler::new(counts, config.negative_power())?;
    let keep = vec![1.0_f32; counts.len()];
    let shared_interaction = Mutex::new(model.interaction().as_standard_layout().into_owned());
    let shared = Shared::new(
        config,
        model,
        &shared_interaction,
        (&sampler, &keep),
        (0, u64::MAX),
        vec![initial_seed(config.seed(), 0)],
    )?;
    let mut worker = Worker::new(0, &shared);
    let (mut pairs, mut loss) = (0_u64, 0.0_f64);
    let start = Instant::now();
    for _ in 0..repeats {
        worker.sentence.clear();
        worker.sentence.extend_from_slice(sentence);
        let (l, p) =
            worker.train_sentence(config.learning_rate(), config.interaction_learning_rate())?;
        loss += l;
        pairs = p;
    }
    let elapsed = start.elapsed();
    drop(worker);
    let trained_interaction = shared_interaction
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    model.interaction_mut().assign(&trained_interaction);
    Ok((elapsed, pairs, loss))
}

/// One step of the course's minibatch SGD (`stochasticGradientDescend`): the gradients of
/// the batch's mean loss ([`loss_and_gradient_batched`]),
/// then `U[w_k] -= α ∂J/∂u[k]` and `V[c_kj] -= α ∂J/∂Ṽ[k, j]` for every observation `k` and
/// row `j` (rows that occur several times receive every update), and `W -= α ∂J/∂W` once.
/// Returns the batch's mean loss.
///
/// `focus_ids[k]` is observation `k`'s focus word; `context_ids` is `S×(n+1)`, row `k`
/// holding its observed context first and then its negatives.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when `context_ids` does not have one row per focus word or the
/// batch is empty, [`Error::IndexOutOfRange`] when an id is not a row of the model.
pub fn course_minibatch_step(
    model: &mut Model,
    focus_ids: &[u32],
    context_ids: ArrayView2<'_, u32>,
    learning_rate: f32,
) -> Result<f32> {
    let n_obs = focus_ids.len();
    let (rows, n_rows) = context_ids.dim();
    if rows != n_obs {
        return Err(Error::ShapeMismatch {
            what: "context ids (one row per focus word)",
            expected: vec![n_obs, n_rows],
            found: vec![rows, n_rows],
        });
    }
    let n_words = model.n_words();
    for &id in focus_ids.iter().chain(context_ids.iter()) {
        if id as usize >= n_words {
            return Err(Error::IndexOutOfRange {
                what: "word",
                index: id as usize,
                len: n_words,
            });
        }
    }
    let focus = model.focus_embeddings().select(
        Axis(0),
        &focus_ids.iter().map(|&i| i as usize).collect::<Vec<_>>(),
    );
    let dim = model.dim();
    let context = model.context_embeddings();
    let contexts = Array3::from_shape_fn((n_obs, n_rows, dim), |(k, j, m)| {
        context[[context_ids[[k, j]] as usize, m]]
    });
    let grads =
        loss_and_gradient_batched(focus.view(), contexts.view(), model.interaction(), None)?;
    let (mut u, mut v, mut w) = model.parts_mut();
    for (k, &id) in focus_ids.iter().enumerate() {
        u.row_mut(id as usize)
            .scaled_add(-learning_rate, &grads.focus.row(k));
    }
    for ((k, j), &id) in context_ids.indexed_iter() {
        v.row_mut(id as usize)
            .scaled_add(-learning_rate, &grads.contexts.slice(s![k, j, ..]));
    }
    w.scaled_add(-learning_rate, &grads.interaction);
    Ok(grads.loss)
}

/// Trains with the course's minibatch SGD: observations (focus word, context word, `n`
/// negatives) are generated in corpus order with the configured window, collected into
/// batches of `batch_size` (the course uses 1000) and applied by [`course_minibatch_step`]
/// with the configured learning rate and schedule (the course uses a constant rate of 1).
/// Single-threaded; `W` uses the same rate as `U` and `V`, as in the course.
///
/// # Errors
///
/// As [`train_model`], and [`Error::ShapeMismatch`] for `batch_size` 0.
pub fn train_course(
    config: &TrainConfig,
    vocab: &Vocab,
    model: &mut Model,
    corpus: &Corpus,
    batch_size: usize,
    observer: &mut dyn Observer,
) -> Result<TrainReport> {
    check_model(
        config,
        vocab.len(),
        model,
        "model (vocabulary size × configured dimension)",
    )?;
    if batch_size == 0 {
        return Err(Error::ShapeMismatch {
            what: "batch size",
            expected: vec![1],
            found: vec![0],
        });
    }
    let sampler = NegativeSampler::new(vocab.counts(), config.negative_power())?;
    let keep = vocab.keep_probabilities(config.subsample());
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed().wrapping_add(1));
    let n_rows = config.negatives() + 1;
    let words_total = vocab.n_tokens().saturating_mul(config.epochs() as u64);
    let start = Instant::now();
    let mut focus_ids = Vec::with_capacity(batch_size);
    let mut context_ids = Array2::<u32>::zeros((batch_size, n_rows));
    let mut epoch_losses = Vec::with_capacity(config.epochs());
    let (mut words, mut pairs) = (0_u64, 0_u64);
    let mut sentence = Vec::new();
    let mut last_call = Instant::now();
    let mut interval = (0.0_f64, 0_u64);
    let mut long_tokens_skipped = 0;

    for epoch in 0..config.epochs() {
        let (mut epoch_loss, mut epoch_pairs) = (0.0_f64, 0_u64);
        let mut stream = corpus.sentences()?;
        loop {
            sentence.clear();
            let mut raw = 0_u64;
            let more = stream.next_sentence(|token| {
                if let Some(id) = vocab.lookup(token) {
                    raw += 1;
                    let p = keep.get(id as usize).copied().unwrap_or(1.0);
                    if p >= 1.0 || rng.random::<f32>() < p {
                        sentence.push(id);
                    }
                }
            })?;
            words += raw;
            let rate = learning_rate_at(config.learning_rate(), config, words, words_total);
            let len = sentence.len();
            for i in 0..len {
                let reach = match config.window_mode() {
                    WindowMode::Fixed => config.window(),
                    WindowMode::Shrink => config.window() - rng.random_range(0..config.window()),
                };
                for j in i.saturating_sub(reach)..(i + reach + 1).min(len) {
                    if j == i {
                        continue;
                    }
                    let k = focus_ids.len();
                    focus_ids.push(sentence[i]);
                    context_ids[[k, 0]] = sentence[j];
                    for r in 1..n_rows {
                        context_ids[[k, r]] = sampler.sample_index(&mut rng);
                    }
                    if focus_ids.len() == batch_size {
                        let mean =
                            course_minibatch_step(model, &focus_ids, context_ids.view(), rate)?;
                        let total = f64::from(mean) * batch_size as f64;
                        if !total.is_finite() {
                            return Err(Error::Diverged {
                                epoch,
                                words,
                                learning_rate: rate,
                                what: format!("the mean loss of a batch is {mean}"),
                            });
                        }
                        epoch_loss += total;
                        epoch_pairs += batch_size as u64;
                        interval.0 += total;
                        interval.1 += batch_size as u64;
                        focus_ids.clear();
                    }
                }
            }
            let at_end = !more;
            if at_end || last_call.elapsed() >= REPORT_EVERY {
                observer.on_progress(&Progress::new(
                    epoch,
                    words,
                    words_total,
                    rate,
                    interval,
                    start.elapsed(),
                ));
                interval = (0.0, 0);
                last_call = Instant::now();
            }
            if at_end {
                break;
            }
        }
        pairs += epoch_pairs;
        epoch_losses.push(epoch_loss / epoch_pairs.max(1) as f64);
        long_tokens_skipped = stream.long_tokens_skipped();
    }
    // A last partial batch is applied too, as a smaller batch.
    if !focus_ids.is_empty() {
        let n = focus_ids.len();
        let rate = learning_rate_at(config.learning_rate(), config, words, words_total);
        course_minibatch_step(model, &focus_ids, context_ids.slice(s![..n, ..]), rate)?;
        pairs += n as u64;
    }
    if pairs == 0 {
        return Err(no_pair_trained(words));
    }
    Ok(TrainReport {
        epoch_losses,
        words,
        pairs,
        seconds: start.elapsed().as_secs_f64(),
        recovered: Vec::new(),
        long_tokens_skipped,
    })
}
