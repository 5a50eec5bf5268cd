//! Trains embeddings, prints the nearest neighbours of a few probe words and draws them
//! (`words.png`) and the training loss, online and held out, with `W`'s distance from the
//! identity and condition number (`loss.png`).
//!
//! With no arguments it trains on the bundled King James Bible (`data/kjv.txt.xz`):
//!
//! ```text
//! cargo run --release --example train
//! cargo run --release --example train -- corpus.txt.xz --dim 50 --window 3 --probe january
//! ```
//!
//! With `--checkpoint FILE` it writes a checkpoint every few minutes; run the same command
//! again after an interruption and it resumes from the checkpoint. The training options
//! must match the checkpoint's (only `--threads`, `--checkpoint-minutes` and `--retries`
//! may change; a difference is refused with every differing option named), and so must
//! the corpus files (names, sizes and content). Once the run has finished, the same
//! command says so and writes the output folder again from the checkpoint's final model,
//! without training (with the `--vectors`, `--probe` and `--out` given then): a run whose
//! output was lost after its last checkpoint (a full disk, a kill while the folder was
//! written) gets it back.
//!
//! It saves the whole model (`write_trained`, which `Trained::load` reads back): `U.npy`,
//! `V.npy`, `W.npy`, `vocab.txt` (and `D.npy`, `D.txt` with `--offsets`), `config.txt`,
//! `report.txt` and, when the run has a held-out sample, `heldout.txt`. Besides, it
//! writes the word vectors chosen with `--vectors` as `vectors.txt` (word2vec text format,
//! which gensim loads with `KeyedVectors.load_word2vec_format`) and, with the `finalfusion`
//! feature (on for the crate's examples), as `embeddings.fifu` (unit rows and their norms)
//! with the training configuration in its metadata.
//!
//! The output folder is checked before the corpus is read, and replaced as a whole once
//! everything is written (`replace_dir`): a run that fails at any point leaves the
//! previous output folder exactly as it was. Errors are printed with their causes, one
//! per line, with exit status 1. If standard output is closed early (`train … | head`),
//! the program ends quietly with status 0: its files are written before anything is
//! printed there.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use bilinear_skipgram::error::exit_code;
use bilinear_skipgram::{
    Checkpoint, CheckpointOptions, ConfigError, Embeddings, InteractionInit, InteractionOptimizer,
    OffsetInteractionKind, OovPolicy, Progress, Result, TrainConfig, Trained, Utf8Policy,
    VectorKind, WindowMode, io::check_output_dir, io::check_output_file, io::replace_dir,
    plot::TrainingCurves, plot::plot_training, train, train_checkpointed, write_trained,
    write_word2vec_text,
};
use std::str::FromStr;

mod common;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::Array2;

/// Train bilinear skip-gram embeddings.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Corpus files: UTF-8 text, one sentence per line, plain, .gz or .xz
    /// [default: the bundled King James Bible].
    corpus: Vec<PathBuf>,
    /// Embedding dimension.
    #[arg(long, default_value_t = 100)]
    dim: usize,
    /// Context words on each side.
    #[arg(long, default_value_t = 5)]
    window: usize,
    /// Use the full window for every word (the course) instead of word2vec's random shrink.
    #[arg(long)]
    fixed_window: bool,
    /// Negatives per context.
    #[arg(long, default_value_t = 5)]
    negatives: usize,
    /// Passes over the corpus.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Worker threads [default: the number of cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Smallest count of a vocabulary word.
    #[arg(long, default_value_t = 5)]
    min_count: u64,
    /// Largest vocabulary (most frequent words kept).
    #[arg(long)]
    max_vocab: Option<usize>,
    /// Initial learning rate of U and V.
    #[arg(
        long,
        default_value_t = bilinear_skipgram::config::DEFAULT_LEARNING_RATE,
        value_parser = common::args::f32_value,
    )]
    learning_rate: f32,
    /// Initial learning rate of W (0 freezes W).
    #[arg(
        long,
        default_value_t = bilinear_skipgram::config::DEFAULT_INTERACTION_LEARNING_RATE,
        value_parser = common::args::f32_value,
    )]
    interaction_learning_rate: f32,
    /// How W and the D_p take their steps: adagrad (per entry, the rate divided by the root
    /// of the summed squared gradients) or sgd (the block's summed gradient at the rate).
    #[arg(long, default_value = "adagrad", value_parser = InteractionOptimizer::from_str)]
    interaction_optimizer: InteractionOptimizer,
    /// Decay of W towards the identity per block, W -= rate × decay × (W − I) (0: off).
    #[arg(long, default_value_t = 0.0, value_parser = common::args::f32_value)]
    interaction_decay: f32,
    /// Per-offset interactions D_p (a pair at offset p is scored v_cᵀ D_p W u_w): diagonal,
    /// full, or none (with W frozen: exactly word2vec's skip-gram).
    #[arg(long, default_value = "diagonal", value_parser = OffsetInteractionKind::from_str)]
    offsets: OffsetInteractionKind,
    #[command(flatten)]
    subword_args: common::args::SubwordArgs,
    /// Initial learning rate of the per-offset interactions (0 freezes them).
    #[arg(
        long,
        default_value_t = bilinear_skipgram::config::DEFAULT_OFFSET_LEARNING_RATE,
        value_parser = common::args::f32_value,
    )]
    offset_learning_rate: f32,
    /// Pairs in the held-out sample, drawn from sentences left out of training (0: none).
    #[arg(long, default_value_t = bilinear_skipgram::config::DEFAULT_HELDOUT_PAIRS)]
    heldout_pairs: usize,
    /// Start W with uniform entries (the course) instead of the identity.
    #[arg(long)]
    uniform_interaction: bool,
    /// Subsampling threshold of frequent words (0 turns it off).
    #[arg(long, default_value_t = 1e-3)]
    subsample: f64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Surround every sentence with <START> and <END>.
    #[arg(long)]
    markers: bool,
    /// Map unknown words to <UNK> instead of dropping them.
    #[arg(long)]
    unk: bool,
    /// Replace invalid UTF-8 in the corpus (counted) instead of stopping at it.
    #[arg(long)]
    lossy_utf8: bool,
    /// Output folder for U.npy, V.npy, W.npy, vocab.txt, vectors.txt, embeddings.fifu,
    /// words.png and loss.png.
    #[arg(long, default_value = "embeddings")]
    out: PathBuf,
    /// Word vectors written to vectors.txt and embeddings.fifu: u (U), vw (V·W), concat
    /// ([V·W, U]), sum (U + V·W), or a read-out in the score's geometry: balanced-focus,
    /// balanced-context, balanced-sum, balanced-concat, score-focus, score-context,
    /// score-sum, score-concat, score-smoothed (see `VectorKind`).
    #[arg(long, default_value = "score-smoothed", value_parser = VectorKind::from_str)]
    vectors: VectorKind,
    /// Words whose nearest neighbours are printed (repeatable).
    #[arg(long = "probe")]
    probes: Vec<String>,
    /// Neighbours printed per probe word.
    #[arg(long, default_value_t = 8, value_parser = common::args::at_least_one)]
    neighbours: usize,
    /// Checkpoint file: written during training, and resumed from if it exists (a regular
    /// file; a symbolic link is refused, as for --out). Once the run has finished, its
    /// model is written to --out from the checkpoint, without training.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Minutes between checkpoints (needs --checkpoint).
    #[arg(long, default_value_t = 5.0, requires = "checkpoint")]
    checkpoint_minutes: f64,
    /// On divergence, go back to the last checkpoint with half the learning rates, up to
    /// this many times (needs --checkpoint).
    #[arg(long, default_value_t = 0, requires = "checkpoint")]
    retries: usize,
    /// Stop training after this many minutes and write the model trained so far (with
    /// --checkpoint, a checkpoint is written at the stop, and running the same command
    /// again goes on from there).
    #[arg(long)]
    time_limit_minutes: Option<f64>,
}

/// Writes to standard error, ignoring a closed one (`2>&1 | head`).
macro_rules! note {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    common::report_writes_past_the_file_size_limit();
    exit_code(run())
}

fn run() -> Result<()> {
    let args = Args::parse();
    let (corpus, bundled) = common::corpus_or_bundled(&args.corpus);
    let mut builder = TrainConfig::builder()
        .dim(args.dim)
        .window(args.window)
        .negatives(args.negatives)
        .epochs(args.epochs)
        .min_count(args.min_count)
        .max_vocab(args.max_vocab)
        .learning_rate(args.learning_rate)
        .interaction_learning_rate(args.interaction_learning_rate)
        .interaction_optimizer(args.interaction_optimizer)
        .interaction_decay(args.interaction_decay)
        .heldout_pairs(args.heldout_pairs)
        .offset_interactions(args.offsets)
        .offset_learning_rate(args.offset_learning_rate)
        .subwords(
            args.subword_args
                .config(TrainConfig::default().subwords())?,
        )
        .subsample(args.subsample)
        .seed(args.seed)
        .markers(args.markers)
        .utf8(if args.lossy_utf8 {
            Utf8Policy::Lossy
        } else {
            Utf8Policy::Strict
        })
        .oov(if args.unk {
            OovPolicy::Unk
        } else {
            OovPolicy::Drop
        })
        .window_mode(if args.fixed_window {
            WindowMode::Fixed
        } else {
            WindowMode::Shrink
        })
        .interaction_init(if args.uniform_interaction {
            InteractionInit::Uniform
        } else {
            InteractionInit::Identity
        });
    if let Some(threads) = args.threads {
        builder = builder.threads(threads);
    }
    let config = builder.build()?;
    let time_limit = args.time_limit_minutes.map(time_limit).transpose()?;
    // Where the results go is checked before hours of training, not after.
    check_output_dir(&args.out)?;
    for path in &args.corpus {
        check_outside(path, "a corpus file", &args.out)?;
    }
    let checkpoint = match &args.checkpoint {
        None => None,
        Some(path) => {
            check_output_file(path)?;
            check_outside(path, "the checkpoint", &args.out)?;
            let options = CheckpointOptions::new(path)
                .every_minutes(args.checkpoint_minutes)?
                .retries(args.retries, 0.5)?;
            Some(options)
        }
    };
    // A finished run's checkpoint holds its final model, which `resume` returns without
    // training: the output is written from it, so a run whose output was lost after its
    // last checkpoint (a full disk, a kill while the folder was written) gets it back, and
    // other --vectors or another --out can be asked for.
    let last = match &checkpoint {
        Some(options) if options.path().exists() => {
            let read = Checkpoint::read(options.path())?;
            // Other options are refused even when the run is finished: they ask for
            // another run.
            read.check_resumable(options.path(), &config)?;
            Some(read)
        }
        _ => None,
    };
    let finished = last
        .as_ref()
        .is_some_and(|read| read.state.finished(&read.config));
    // Said once `resume` has checked the corpus names, below.
    let finished_note = match (&checkpoint, &last) {
        (Some(options), Some(read)) if finished => format!(
            "{}: this run already finished ({} words, {} pairs); writing its model to {} \
             without training (remove the checkpoint to train again)",
            options.path().display(),
            read.state.words_done,
            read.state.pairs,
            args.out.display()
        ),
        _ => String::new(),
    };
    if !finished {
        note!("training on {}", corpus_names(&corpus));
    }

    let bar = if finished {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(1)
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {percent:>3}% ETA {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut curves = TrainingCurves::new();
    let mut heldout = String::new();
    let mut show = |p: &Progress| {
        curves.record(p);
        if let Some(loss) = p.heldout_loss {
            heldout = format!(" held-out {loss:.4}");
        }
        bar.set_length(p.words_total);
        bar.set_position(p.words_done);
        bar.set_message(format!(
            "epoch {} lr {:.5} loss {:.4}{heldout} {:.0} words/s",
            p.epoch + 1,
            p.learning_rate,
            p.interval_loss,
            p.words_per_second
        ));
        match time_limit {
            Some(limit) if p.elapsed >= limit => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    };
    let trained = match (&checkpoint, last) {
        (None, _) => train(&config, &corpus, &mut show)?,
        // Read once, above.
        (Some(options), Some(last)) => {
            if !finished {
                note!("resuming from {}", options.path().display());
            }
            let trained = last.resume(&config, &corpus, options, &mut show)?;
            if finished {
                note!("{finished_note}");
            }
            trained
        }
        (Some(options), None) => train_checkpointed(&config, &corpus, options, &mut show)?,
    };
    bar.finish();
    if trained.report.stopped_early {
        let resumable = checkpoint.as_ref().map_or_else(String::new, |options| {
            format!(
                ", and so is the checkpoint {} (run the same command again to go on)",
                options.path().display()
            )
        });
        note!(
            "stopped at the time limit after {} words: the model written is trained that \
             far{resumable}",
            trained.report.words
        );
    }
    for divergence in &trained.report.recovered {
        note!("recovered from: {divergence}");
    }
    let report = &trained.report;
    note!(
        "{} words, {} pairs in {:.1} s ({:.0} words/s/thread)",
        report.words,
        report.pairs,
        report.seconds,
        report.words as f64 / report.seconds / trained.config.threads() as f64,
    );
    let heldout_pairs = trained.heldout.as_ref().map_or(0, |h| h.n_pairs());
    for (epoch, (online, heldout)) in report
        .epoch_losses
        .iter()
        .zip(&report.epoch_heldout_losses)
        .enumerate()
    {
        let heldout = heldout.map_or_else(
            || "none".to_owned(),
            |l| format!("{l:.4} ({heldout_pairs} pairs)"),
        );
        note!(
            "epoch {}: online loss {online:.4}, held-out loss {heldout}",
            epoch + 1
        );
    }
    if let Some(Some(w)) = report.epoch_interactions.last() {
        let (name, what) = if trained.config.offset_interactions() == OffsetInteractionKind::None {
            ("W", "")
        } else {
            ("W̄", " (W̄ = Σ π_p D_p W, the effective interaction)")
        };
        note!(
            "‖{name} − I‖_F = {:.4}, condition number of {name} σmax/σmin = {:.4}{what}",
            w.distance_from_identity,
            w.condition_number
        );
    }
    if report.long_tokens_skipped > 0 {
        note!(
            "skipped {} tokens longer than {} bytes {}",
            report.long_tokens_skipped,
            bilinear_skipgram::corpus::MAX_TOKEN_BYTES,
            if report.stopped_early {
                "in one pass over the corpus, or in the part read before the stop"
            } else {
                "in each epoch"
            }
        );
    }

    let probes = common::probes_or_bundled(&args.probes, bundled);
    let vectors = trained.model.word_vectors(args.vectors);
    // Every output in one folder, replaced as a whole once all of it is written; what was
    // written is told once the folder is in place.
    let mut written = Vec::new();
    replace_dir(&args.out, |dir| {
        written = write_outputs(dir, &trained, &vectors, &args, &probes, &curves)?;
        Ok(())
    })?;
    for line in written {
        note!("{line}");
    }

    let embeddings = Embeddings::new(trained.vocab.clone(), vectors)?;
    let mut stdout = std::io::stdout().lock();
    common::write_neighbours(
        &mut stdout,
        args.vectors.name(),
        &embeddings,
        &probes,
        args.neighbours,
    )
}

/// Writes the model, the word vectors and the pictures into `dir`; returns the lines that
/// tell what was written, to print once `dir` is in place.
fn write_outputs(
    dir: &Path,
    trained: &Trained,
    vectors: &Array2<f32>,
    args: &Args,
    probes: &[String],
    curves: &TrainingCurves,
) -> Result<Vec<String>> {
    let config = &trained.config;
    write_trained(dir, trained)?;
    write_word2vec_text(dir.join("vectors.txt"), vectors.view(), &trained.vocab)?;
    #[cfg(feature = "finalfusion")]
    bilinear_skipgram::write_finalfusion(
        dir.join("embeddings.fifu"),
        vectors.view(),
        &trained.vocab,
        Some(config),
        bilinear_skipgram::FinalfusionVectors::Normalized,
    )?;
    let fifu = if cfg!(feature = "finalfusion") {
        " and embeddings.fifu"
    } else {
        ""
    };
    let mut pictures = Vec::new();
    // A finished run's checkpoint gives its model without training, and a resumed run
    // with little left to do may report nothing: then the curves are the report's, one
    // point at the end of each epoch (not for a stopped run, whose last epoch is partial).
    let finite = |curves: &TrainingCurves| {
        [&curves.online_loss, &curves.heldout_loss]
            .iter()
            .any(|points| points.iter().any(|(_, loss)| loss.is_finite()))
    };
    let epochs;
    let (curves, title) = if finite(curves) || trained.report.stopped_early {
        (curves, "Training loss and W")
    } else {
        epochs = TrainingCurves::from_epochs(&trained.report);
        (&epochs, "Training loss and W at the end of each epoch")
    };
    let loss_drawn = finite(curves);
    if loss_drawn {
        plot_training(dir.join("loss.png"), curves, title)?;
        pictures.push("loss.png");
    }
    let what = format!(": {} vectors", args.vectors.name());
    let words_drawn = common::plot_probes(
        &dir.join("words.png"),
        vectors.view(),
        &trained.vocab,
        probes,
        &what,
    )?;
    if words_drawn {
        pictures.push("words.png");
    }
    let mut lines = vec![format!(
        "wrote U.npy, V.npy, W.npy{}, vocab.txt ({} words, dim {}), config.txt, report.txt{}, \
         vectors.txt{fifu} ({} vectors, dim {}){}{} to {}",
        match (
            config.offset_interactions() == OffsetInteractionKind::None,
            trained.model.subwords(),
        ) {
            (true, None) => String::new(),
            (false, None) => ", D.npy, D.txt".to_owned(),
            (true, Some(s)) => format!(", Z.npy, Z.txt ({} n-grams)", s.index().n_ngrams()),
            (false, Some(s)) => {
                format!(
                    ", D.npy, D.txt, Z.npy, Z.txt ({} n-grams)",
                    s.index().n_ngrams()
                )
            }
        },
        trained.vocab.len(),
        config.dim(),
        if trained.heldout.is_some() {
            ", heldout.txt"
        } else {
            ""
        },
        args.vectors.name(),
        vectors.ncols(),
        if pictures.is_empty() { "" } else { ", " },
        pictures.join(", "),
        args.out.display()
    )];
    if !words_drawn {
        lines.push(
            "(no words.png: it needs 2 probe words in the vocabulary, given with --probe)"
                .to_owned(),
        );
    }
    if !loss_drawn {
        lines.push("(no loss.png: it needs a finite loss)".to_owned());
    }
    Ok(lines)
}

/// Refuses a checkpoint or a corpus file (`what`) inside the output folder (or at its
/// path): the folder is replaced as a whole once training ends, which would fail on the
/// file found in it, or remove it, after the training.
fn check_outside(file: &Path, what: &str, out: &Path) -> Result<()> {
    // Both as absolute paths with their folders' links resolved; an output folder whose
    // parent is missing holds nothing yet.
    let resolved = |path: &Path| -> Option<PathBuf> {
        if let Ok(path) = path.canonicalize() {
            return Some(path);
        }
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        let parent = parent.unwrap_or(Path::new(".")).canonicalize().ok()?;
        Some(parent.join(path.file_name()?))
    };
    let (Some(resolved_file), Some(folder)) = (resolved(file), resolved(out)) else {
        return Ok(());
    };
    if !resolved_file.starts_with(&folder) {
        return Ok(());
    }
    let place = if resolved_file == folder {
        "is"
    } else {
        "is inside"
    };
    Err(bilinear_skipgram::Error::File {
        path: file.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{what} {place} the output folder {}, which is replaced as a whole once \
                 training ends: keep {what} outside it",
                out.display()
            ),
        ),
    })
}

fn corpus_names(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--time-limit-minutes` as a duration: finite, 0 to 1 000 000 minutes.
fn time_limit(minutes: f64) -> Result<Duration> {
    let field = "time limit minutes";
    if !minutes.is_finite() {
        return Err(ConfigError::NotFinite {
            field,
            value: minutes,
        }
        .into());
    }
    if !(0.0..=1e6).contains(&minutes) {
        return Err(ConfigError::OutOfRange {
            field,
            range: "[0, 1000000]",
            value: minutes,
        }
        .into());
    }
    Ok(Duration::from_secs_f64(minutes * 60.0))
}
