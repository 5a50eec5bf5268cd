//! The checkpointed trainer: starting and resuming a run, writing its checkpoints, and
//! going back to the last one on divergence.

use std::path::Path;

use super::format::{Parts, write_parts};
use super::{Checkpoint, CheckpointOptions, OptimizerState, TrainState};
use crate::config::TrainConfig;
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::sgd::{
    HeldOut, Observer, Shared, Start, Trained, count_corpus, diverged, initial_model, report_of,
    run,
};
use crate::vocab::Vocab;

/// Like [`train`], writing checkpoints as `options` says (one before the first word and
/// one at the end as well), so that [`resume`] can continue the run after an interruption.
/// On divergence it goes back to the last checkpoint with lower learning rates if
/// `options` allows retries; otherwise the error is returned and the last checkpoint
/// stays valid. When the observer stops training, no checkpoint is written at the stop:
/// the last one written stays the one [`resume`] goes on from.
///
/// Every kind of [`Corpus`] can be checkpointed: files, text and sentences in memory, and
/// reader functions (which are read once more, to measure them, see [`resume`]).
///
/// # Errors
///
/// As [`train`], plus [`Error::File`] when a checkpoint cannot be written.
///
/// [`train`]: crate::sgd::train
pub fn train_checkpointed(
    config: &TrainConfig,
    corpus: impl Into<Corpus>,
    options: &CheckpointOptions,
    mut observer: impl Observer,
) -> Result<Trained> {
    let corpus = corpus.into().with_options(config.corpus_options().clone());
    let sizes = corpus.source_sizes()?;
    remove_stale_temporaries(options.path());
    let (vocab, heldout) = count_corpus(config, &corpus)?;
    let model = initial_model(config, vocab.len())?;
    let checkpoint = Checkpoint {
        config: config.clone(),
        vocab,
        model,
        state: TrainState::new(config, sizes),
        optimizer: OptimizerState::default(),
        heldout,
    };
    checkpoint.write(options.path())?;
    drive(checkpoint, &corpus, options, &mut observer)
}

/// Continues the run whose checkpoint is at `options.path()` on the same corpus, from the
/// corpus position, learning rate and random state it was written at; a finished run's
/// checkpoint gives its final model at once. The corpus is read with the checkpoint's
/// corpus options.
///
/// The corpus must be the one the run started on, as sources of the same kinds and sizes
/// (what [`TrainState::corpus_sizes`] records: a file's size, the bytes of text in memory,
/// the bytes of pre-tokenised words plus one per word, the bytes a reader function gives,
/// which is read once to count them).
///
/// # Errors
///
/// [`Error::File`]/[`Error::Format`] when the checkpoint cannot be read or is corrupted,
/// [`Error::Format`] when the corpus sources' sizes differ from those the run started
/// with, and everything [`train_checkpointed`] returns.
pub fn resume(
    corpus: impl Into<Corpus>,
    options: &CheckpointOptions,
    mut observer: impl Observer,
) -> Result<Trained> {
    remove_stale_temporaries(options.path());
    let checkpoint = Checkpoint::read(options.path())?;
    let corpus = corpus
        .into()
        .with_options(checkpoint.config.corpus_options().clone());
    check_corpus(
        options.path(),
        &checkpoint.state.corpus_sizes,
        &corpus.source_sizes()?,
    )?;
    drive(checkpoint, &corpus, options, &mut observer)
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
                heldout: current.heldout,
            });
        }
        let start = Start {
            state: &current.state,
            interaction_squares: current
                .optimizer
                .interaction_squares
                .as_ref()
                .map(|m| m.view()),
            offset_squares: current.optimizer.offset_squares.as_ref().map(|m| m.view()),
            heldout: current.heldout.as_ref(),
        };
        match run(
            &current.config,
            &current.vocab,
            &mut current.model,
            corpus,
            observer,
            &start,
            Some(options),
        ) {
            Ok(mut report) => {
                report.recovered = recovered;
                return Ok(Trained {
                    vocab: current.vocab,
                    model: current.model,
                    report,
                    config: current.config,
                    heldout: current.heldout,
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
                    .offset_learning_rate(last.config.offset_learning_rate() * factor)
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

/// Writes a checkpoint of the paused (or finished) workers' model, after checking that
/// every parameter is finite so that a checkpoint is never a diverged model.
pub(crate) fn write_checkpoint(
    options: &CheckpointOptions,
    config: &TrainConfig,
    vocab: &Vocab,
    shared: &Shared<'_>,
    state: &TrainState,
    heldout: Option<&HeldOut>,
) -> Result<()> {
    let dense = shared.interaction.snapshot();
    let interaction = dense.values.as_slice();
    let squares = (!dense.squares.is_empty()).then_some(dense.squares.as_slice());
    let offsets = shared.offsets.as_ref().map(|d| d.snapshot());
    let offset_values = offsets.as_ref().map(|d| d.values.as_slice());
    let offset_squares = offsets
        .as_ref()
        .filter(|d| !d.squares.is_empty())
        .map(|d| d.squares.as_slice());
    shared.focus.with_all(|focus| {
        shared.context.with_all(|context| {
            let checked = [
                ("U", focus),
                ("V", context),
                ("W", interaction),
                ("D", offset_values.unwrap_or(&[])),
            ];
            for (name, values) in checked {
                if let Some(i) = values.iter().position(|x| !x.is_finite()) {
                    return Err(diverged(
                        config,
                        (state.epoch, state.words_done),
                        shared.words_total,
                        format!(
                            "{name}[{}, {}] is {} at a checkpoint",
                            i / config.dim(),
                            i % config.dim(),
                            values[i]
                        ),
                    ));
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
                    interaction_squares: squares,
                    offsets: offset_values,
                    offset_squares,
                    state,
                    heldout,
                },
            )
        })
    })
}

/// Removes temporary files that an interrupted checkpoint write left next to `path`
/// (hidden `.NAME.tmpPID` files, see [`write_atomic`]); failures are ignored, since a
/// leftover temporary file is harmless.
///
/// [`write_atomic`]: crate::io::write_atomic
fn remove_stale_temporaries(path: &Path) {
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
fn check_corpus(checkpoint: &Path, expected: &[u64], found: &[u64]) -> Result<()> {
    if expected == found {
        return Ok(());
    }
    Err(Error::Format {
        path: checkpoint.to_path_buf(),
        message: format!(
            "the checkpoint was made on corpus sources of {expected:?} bytes, but the sources given have {found:?} bytes"
        ),
    })
}
