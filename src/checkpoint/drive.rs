//! The checkpointed trainer: starting and resuming a run, writing its checkpoints, and
//! going back to the last one on divergence.

use std::path::Path;

use super::format::{Parts, write_parts};
use super::{Checkpoint, CheckpointOptions, OptimizerState, TrainState};
use crate::config::TrainConfig;
use crate::corpus::{Corpus, SourceFingerprint};
use crate::error::{Error, OptionDifference, Result};
use crate::model::Model;
use crate::preflight::{Stage, check_memory};
use crate::sgd::{
    HeldOut, Observer, Shared, Start, Trained, count_corpus, diverged, report_of, run,
};
use crate::vocab::Vocab;

/// Like [`train`], writing checkpoints as `options` says (one before the first word and
/// one at the end as well), so that [`resume`] can continue the run after an interruption.
/// On divergence it goes back to the last checkpoint with lower learning rates if
/// `options` allows retries; otherwise the error is returned and the last checkpoint
/// stays valid. When the observer stops training, the run ends at the next boundary
/// between two chunks (see [`Observer::on_progress`]) with a checkpoint written there, of
/// the model returned: [`resume`] goes on from the stop, exactly as the run would have
/// gone on.
///
/// Every kind of [`Corpus`] can be checkpointed: files, text and sentences in memory, and
/// reader functions. The checkpoint records the names, sizes and content fingerprints of
/// the corpus sources, computed in the vocabulary pass ([`SentenceStream::fingerprints`]),
/// which [`resume`] compares.
///
/// # Errors
///
/// As [`train`], plus [`Error::File`] when a checkpoint cannot be written: before the
/// vocabulary pass when its folder is missing or accepts no new file, or its path is a
/// folder, a symbolic link (not followed, as for output folders) or another file that is
/// not a regular one ([`check_output_file`]).
///
/// [`check_output_file`]: crate::io::check_output_file
///
/// [`train`]: crate::sgd::train
/// [`SentenceStream::fingerprints`]: crate::corpus::SentenceStream::fingerprints
pub fn train_checkpointed(
    config: &TrainConfig,
    corpus: impl Into<Corpus>,
    options: &CheckpointOptions,
    mut observer: impl Observer,
) -> Result<Trained> {
    let corpus = corpus.into().with_options(config.corpus_options().clone());
    // A checkpoint that cannot be written is found before the vocabulary pass, not after.
    crate::io::check_output_file(options.path())?;
    remove_stale_temporaries(options.path());
    let (vocab, heldout, fingerprints) = count_corpus(config, &corpus)?;
    check_memory(config, vocab.len(), Stage::BeforeModel)?;
    let model = Model::for_vocab(config, &vocab)?;
    let checkpoint = Checkpoint {
        config: config.clone(),
        vocab,
        model,
        state: TrainState::new(config, fingerprints),
        optimizer: OptimizerState::default(),
        heldout,
    };
    checkpoint.write(options.path())?;
    drive(checkpoint, &corpus, options, &mut observer)
}

/// Continues the run whose checkpoint is at `options.path()` on the same corpus with the
/// same training options, from the corpus position, learning rate and optimizer state it
/// was written at; a finished run's checkpoint gives its final model at once.
///
/// `config` must equal the checkpoint's configuration except for
/// [`threads`](crate::TrainConfigBuilder::threads), which may change (the random streams
/// depend on the data's position, not on the threads), and the subwords'
/// [`readout_weight`](crate::subwords::SubwordConfig::readout_weight), which weighs the
/// read-out only. The checkpoint interval and the
/// retries are [`CheckpointOptions`], which may change too. Learning rates lowered by
/// retries after a divergence are compared after lowering the given ones the same way,
/// so the command that started the run resumes it. The corpus is read with the
/// configuration's corpus options, which equal the checkpoint's.
///
/// `corpus` must be the one the run started on, as for [`train_checkpointed`] (files, or
/// a [`Corpus`] in memory or behind a reader function). Before training, it is read once
/// to check that every source has the name, size and content it had when the run started
/// (what [`TrainState::corpus`] records: a file's path as given and its size on disk,
/// `<text>` for text in memory, `<sentences>` for pre-tokenised sentences, a reader
/// function's name; and for every source a fingerprint of its bytes after decompression,
/// or of pre-tokenised sentences' words joined by a space with a line feed after each
/// sentence). A finished run's checkpoint returns its model without reading the corpus;
/// the sources' number, names and sizes are still checked.
///
/// # Errors
///
/// [`Error::File`]/[`Error::Format`] when the checkpoint cannot be read or is corrupted,
/// [`Error::CheckpointVersion`] for a checkpoint of an older format,
/// [`Error::OptionsMismatch`] listing every option of `config` that differs from the
/// checkpoint's, [`Error::File`] before the corpus is read when the run is unfinished and
/// its checkpoint cannot be written again (as [`train_checkpointed`] checks it: a symbolic
/// link is refused), [`Error::CorpusMismatch`] naming the first corpus source whose name,
/// size or content differs, and everything [`train_checkpointed`] returns.
pub fn resume(
    config: &TrainConfig,
    corpus: impl Into<Corpus>,
    options: &CheckpointOptions,
    observer: impl Observer,
) -> Result<Trained> {
    Checkpoint::read(options.path())?.resume(config, corpus, options, observer)
}

impl Checkpoint {
    /// Continues this checkpoint's run as [`resume`] does, without reading the checkpoint
    /// again: for a program that has read it already, to report on it or to notice a
    /// finished run. `options.path()` must be the file this checkpoint was read from: the
    /// run's next checkpoints are written there, messages name it, and a retry after a
    /// divergence goes back to the checkpoint there.
    ///
    /// ```no_run
    /// use bilinear_skipgram::{Checkpoint, CheckpointOptions, NoProgress, TrainConfig};
    ///
    /// let options = CheckpointOptions::new("run.ckpt");
    /// let checkpoint = Checkpoint::read(options.path())?;
    /// if checkpoint.state.finished(&checkpoint.config) {
    ///     eprintln!("finished: {} words", checkpoint.state.words_done);
    /// }
    /// let config = TrainConfig::default();
    /// let trained = checkpoint.resume(&config, ["corpus.txt.xz"], &options, NoProgress)?;
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`resume`]; the checkpoint is read again only for a retry after a
    /// divergence.
    pub fn resume(
        mut self,
        config: &TrainConfig,
        corpus: impl Into<Corpus>,
        options: &CheckpointOptions,
        mut observer: impl Observer,
    ) -> Result<Trained> {
        remove_stale_temporaries(options.path());
        self.check_resumable(options.path(), config)?;
        self.adopt(config)?;
        let corpus = corpus
            .into()
            .with_options(self.config.corpus_options().clone());
        if self.state.finished(&self.config) {
            check_corpus_names(options.path(), &self.state.corpus, &corpus)?;
        } else {
            // The checkpoint is written again: found unwritable before the corpus pass.
            crate::io::check_output_file(options.path())?;
            check_corpus(options.path(), &self.state.corpus, &corpus)?;
        }
        drive(self, &corpus, options, &mut observer)
    }
}

/// `config` with its learning rates multiplied by `factor`, as a retry after a divergence
/// lowers them.
fn lowered(config: &TrainConfig, factor: f32) -> Result<TrainConfig> {
    Ok(config
        .to_builder()
        .learning_rate(config.learning_rate() * factor)
        .interaction_learning_rate(config.interaction_learning_rate() * factor)
        .offset_learning_rate(config.offset_learning_rate() * factor)
        .build()?)
}

/// Options that may differ between a checkpoint and the configuration resuming it.
const MAY_CHANGE_ON_RESUME: [&str; 2] = ["threads", "subword_readout_weight"];

impl Checkpoint {
    /// Takes from `given` what [`MAY_CHANGE_ON_RESUME`] lists: the threads, and the
    /// subwords' read-out weight (the configuration's and the model's).
    fn adopt(&mut self, given: &TrainConfig) -> Result<()> {
        let mut builder = self.config.to_builder().threads(given.threads());
        if let (Some(mine), Some(theirs)) = (self.config.subwords(), given.subwords()) {
            let weight = theirs.readout_weight();
            builder = builder.subwords(Some(mine.with_readout_weight(weight)?));
            if let Some(subwords) = self.model.subwords_mut() {
                subwords.set_readout_weight(weight)?;
            }
        }
        self.config = builder.build()?;
        Ok(())
    }

    /// Checks that `config` may resume this checkpoint (read from `path`, which the error
    /// names): that it equals the checkpoint's configuration except for the number of
    /// threads and the subwords' read-out weight, with its learning rates compared after
    /// the lowering that retries recorded
    /// (see [Resuming](super#resuming)). [`resume`] checks this first; a program can check it
    /// itself before reporting, for example, that a run already finished, and then go on
    /// with [`Checkpoint::resume`], which does not read the file again.
    ///
    /// # Errors
    ///
    /// [`Error::OptionsMismatch`] listing every option that differs, with the checkpoint's
    /// value and the given one, and [`Error::Config`] if lowering the given learning
    /// rates takes them out of range.
    pub fn check_resumable(&self, path: impl AsRef<Path>, config: &TrainConfig) -> Result<()> {
        check_options(path.as_ref(), self, config)
    }
}

/// Refuses `given` unless it is the checkpoint's configuration, up to what
/// [`MAY_CHANGE_ON_RESUME`] lists and the retries' lowering of the learning rates,
/// listing every option that differs.
fn check_options(path: &Path, checkpoint: &Checkpoint, given: &TrainConfig) -> Result<()> {
    let factors = &checkpoint.state.retry_factors;
    let mut expected = given.clone();
    for &factor in factors {
        expected = lowered(&expected, factor)?;
    }
    let in_force = checkpoint.config.fields();
    let wanted = expected.fields();
    let given_fields = given.fields();
    let value_of = |fields: &[(&'static str, crate::config::FieldValue<'static>)], name| {
        fields
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(|| "none".to_owned(), |(_, v)| v.to_string())
    };
    let mut names: Vec<&'static str> = in_force.iter().map(|(n, _)| *n).collect();
    for (name, _) in &wanted {
        if !names.contains(name) {
            names.push(name);
        }
    }
    let lowered_rates = [
        "learning_rate",
        "interaction_learning_rate",
        "offset_learning_rate",
    ];
    let mut differences = Vec::new();
    for name in names {
        if MAY_CHANGE_ON_RESUME.contains(&name) {
            continue;
        }
        let (checkpoint_value, wanted_value) = (value_of(&in_force, name), value_of(&wanted, name));
        if checkpoint_value == wanted_value {
            continue;
        }
        let mut difference = OptionDifference {
            name,
            checkpoint: checkpoint_value,
            given: value_of(&given_fields, name),
        };
        if !factors.is_empty() && lowered_rates.contains(&name) {
            let lowering = match factors.as_slice() {
                [factor] => format!("after 1 retry, × {factor}"),
                [first, rest @ ..] if rest.iter().all(|f| f == first) => {
                    format!("after {} retries, × {first} each", factors.len())
                }
                _ => {
                    let list: Vec<String> = factors.iter().map(|f| format!("× {f}")).collect();
                    format!("after {} retries, {}", factors.len(), list.join(" "))
                }
            };
            difference.checkpoint = format!("{} ({lowering})", difference.checkpoint);
            difference.given = format!("{} ({wanted_value} after the same)", difference.given);
        }
        differences.push(difference);
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(Error::OptionsMismatch {
            path: path.to_path_buf(),
            differences,
        })
    }
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
                // The checkpoint's threads and read-out may be another session's.
                last.config = lowered(&last.config, factor)?;
                last.adopt(&current.config)?;
                last.state.retry_factors.push(factor);
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
    let with_subwords = |f: &mut dyn FnMut(Option<&[f32]>) -> Result<()>| match &shared.subwords {
        Some(subwords) => subwords.rows.with_all(|z| f(Some(z))),
        None => f(None),
    };
    with_subwords(&mut |subwords| {
        shared.focus.with_all(|focus| {
            shared.context.with_all(|context| {
                let checked = [
                    ("U", focus),
                    ("V", context),
                    ("W", interaction),
                    ("D", offset_values.unwrap_or(&[])),
                    ("Z", subwords.unwrap_or(&[])),
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
                        subwords,
                        state,
                        heldout,
                    },
                )
            })
        })
    })
}

/// Removes temporary files that an interrupted checkpoint write left next to `path`
/// (hidden `.NAME.tmpPID` files, see [`write_atomic`]) by processes no longer running, so
/// that the same command started twice does not pull the file from under the other run's
/// write; failures are ignored, since a leftover temporary file is harmless.
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
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(|pid| !crate::io::process_alive(pid))
            }) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Reads `corpus` once and checks that its sources have the names, sizes and content
/// fingerprints `expected` recorded when the run started; a state made without
/// fingerprints ([`TrainState::new`] with none) skips the check, as documented there.
fn check_corpus(checkpoint: &Path, expected: &[SourceFingerprint], corpus: &Corpus) -> Result<()> {
    if expected.is_empty() {
        return Ok(());
    }
    check_corpus_names(checkpoint, expected, corpus)?;
    let mismatch = |file: &Path, message: String| Error::CorpusMismatch {
        path: checkpoint.to_path_buf(),
        file: file.to_path_buf(),
        message,
    };
    let mut stream = corpus.sentences()?;
    while stream.next_sentence(|_| {})? {}
    for (recorded, found) in expected.iter().zip(stream.fingerprints()) {
        if (recorded.bytes, recorded.hash) != (found.bytes, found.hash) {
            return Err(mismatch(
                &found.name,
                format!(
                    "its content differs from when the run started: {} bytes after \
                     decompression with fingerprint {:016x} now, {} bytes with {:016x} then",
                    found.bytes, found.hash, recorded.bytes, recorded.hash
                ),
            ));
        }
    }
    Ok(())
}

/// The part of [`check_corpus`] that needs no pass over the corpus: the sources' number,
/// names and (files) sizes on disk. A finished run's checkpoint is checked this far: its
/// model needs no corpus, but another corpus named for it is a mistake worth reporting.
fn check_corpus_names(
    checkpoint: &Path,
    expected: &[SourceFingerprint],
    corpus: &Corpus,
) -> Result<()> {
    if expected.is_empty() {
        return Ok(());
    }
    let mismatch = |file: &Path, message: String| Error::CorpusMismatch {
        path: checkpoint.to_path_buf(),
        file: file.to_path_buf(),
        message,
    };
    let given = corpus.source_names();
    // "file" when every source is one, as the messages of a corpus of files always said.
    let noun = if given.iter().all(|(_, file)| *file) {
        "file"
    } else {
        "source"
    };
    if given.len() != expected.len() {
        let names = |names: Vec<String>| names.join(", ");
        let recorded = names(
            expected
                .iter()
                .map(|e| e.name.display().to_string())
                .collect(),
        );
        let given_names = names(given.iter().map(|(p, _)| p.display().to_string()).collect());
        let file = given.get(expected.len()).map_or_else(
            || {
                expected
                    .get(given.len())
                    .map(|e| e.name.clone())
                    .unwrap_or_default()
            },
            |(name, _)| name.clone(),
        );
        return Err(mismatch(
            &file,
            format!(
                "the run started on {} corpus {noun}{} ({recorded}), and {} {} given ({given_names})",
                expected.len(),
                if expected.len() == 1 { "" } else { "s" },
                given.len(),
                if given.len() == 1 { "is" } else { "are" },
            ),
        ));
    }
    // Names and sizes first: they need no pass over the corpus.
    for (index, (recorded, (name, is_file))) in expected.iter().zip(&given).enumerate() {
        if recorded.name.to_string_lossy() != name.to_string_lossy() {
            let noun = if *is_file { "file" } else { "source" };
            return Err(mismatch(
                name,
                format!(
                    "the run started with {} as corpus {noun} {} of {}, and a {noun} of another \
                     name cannot resume it",
                    recorded.name.display(),
                    index + 1,
                    expected.len()
                ),
            ));
        }
        let size = is_file
            .then(|| std::fs::metadata(name).ok().map(|m| m.len()))
            .flatten();
        if let (Some(recorded), Some(size)) = (recorded.size, size)
            && recorded != size
        {
            return Err(mismatch(
                name,
                format!("the file has {size} bytes, and had {recorded} when the run started"),
            ));
        }
    }
    Ok(())
}
