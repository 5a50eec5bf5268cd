//! Trains with the course's recipe, measures its collapse as it happens, prints the nearest
//! neighbours of probe words and draws them (`words.png`, the course's picture).
//!
//! The course's recipe ([`train_course`]): every entry of `U`, `V` and `W` uniform in
//! ±0.5/M ([`Model::course`]), minibatch SGD on the mean loss of batches of 1000
//! observations at a constant learning rate of 1 for all three, a fixed window of 3, 5
//! negatives, dimension 50, the 20 000 most frequent words, sentences between `<START>` and
//! `<END>`, no subsampling, one epoch. With no corpus it trains on the bundled King James
//! Bible:
//!
//! ```text
//! cargo run --release --example course
//! cargo run --release --example course -- news.txt.xz --probe januar --probe oil
//! ```
//!
//! `--trainer online` trains with the crate's default trainer instead (its own defaults:
//! word2vec initialisation, `W` at the identity and frozen unless
//! `--interaction-learning-rate` is given, diagonal per-offset interactions `D_p` unless
//! `--offsets` says otherwise, the crate's learning rate
//! ([`DEFAULT_LEARNING_RATE`](bilinear_skipgram::config::DEFAULT_LEARNING_RATE)) decaying
//! linearly, shrinking window, subsampling 1e-3, minimum count 5, five epochs, no markers),
//! so that both are measured the same way. Every option is overridable.
//!
//! After every measurement point it prints one row of collapse diagnostics
//! ([`Anisotropy`] and [`Displacement`] of `U`, [`Anisotropy`] of `V`, [`ScoreMoments`],
//! `W`'s singular values): the mean cosine between word vectors (all pairs), the share of
//! `‖U‖²` along its top singular direction (uncentred and centred), `‖mean row‖ / mean row
//! norm`, how far `U` moved from its initial value and how much of that move lies along one
//! direction, the mean and spread of the scores `v_cᵀ W u_w` of all word pairs, and how well
//! `U`'s top direction lines up with `W`'s top right singular vector. Measurement points:
//! for the course, after each corpus file of each epoch (give the corpus as several files,
//! for example the output of `split`, to see inside an epoch: each file is one call of
//! [`train_course`] with its own seed, so batches do not span files); for the online
//! trainer, every `--snapshot-words` corpus words (it is trained with
//! [`train_checkpointed`] and each checkpoint is read back when the trainer next reports
//! progress). The loss column is the mean loss of the pairs reported since the previous row.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use bilinear_skipgram::error::exit_code;

use bilinear_skipgram::{
    Checkpoint, CheckpointOptions, Corpus, EmbeddingInit, Embeddings, InteractionInit,
    LearningRateSchedule, Model, OffsetInteractionKind, Progress, Result, TrainConfig, VectorKind,
    Vocab, VocabBuilder, WindowMode, eval::Anisotropy, eval::Displacement, eval::ScoreMoments,
    io::check_output_dir, io::replace_dir, io::write_model, train_checkpointed, train_course,
};
use std::str::FromStr;

mod common;

use clap::{Parser, ValueEnum};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

/// Train with the course's recipe (or the default trainer) and measure the collapse.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Corpus files, trained in order: UTF-8 text, one sentence per line, plain, .gz or .xz
    /// [default: the bundled King James Bible].
    corpus: Vec<PathBuf>,
    /// The course's minibatch SGD, or the crate's default (online) trainer.
    #[arg(long, value_enum, default_value_t = Trainer::Course)]
    trainer: Trainer,
    /// Initialisation [default: course for the course, word2vec for the online trainer].
    #[arg(long, value_enum)]
    init: Option<Init>,
    /// Embedding dimension.
    #[arg(long, default_value_t = 50)]
    dim: usize,
    /// Context words on each side.
    #[arg(long, default_value_t = 3)]
    window: usize,
    /// Full window for every word (fixed) or word2vec's random shrink [default: fixed
    /// for the course, shrink for the online trainer].
    #[arg(long, value_enum)]
    window_mode: Option<Window>,
    /// Negatives per context.
    #[arg(long, default_value_t = 5)]
    negatives: usize,
    /// Largest vocabulary (most frequent words kept).
    #[arg(long, default_value_t = 20_000)]
    max_vocab: usize,
    /// Smallest count of a vocabulary word [default: 1 for the course, 5 for online].
    #[arg(long)]
    min_count: Option<u64>,
    /// Passes over the corpus [default: 1 for the course, 5 for online].
    #[arg(long)]
    epochs: Option<usize>,
    /// Observations per minibatch (course).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Learning rate: of U, V and W for the course (constant), of U and V for the online
    /// trainer (decaying) [default: 1 for the course, the crate's for online].
    #[arg(long, value_parser = common::args::f32_value)]
    learning_rate: Option<f32>,
    /// Learning rate of W for the online trainer [default: the crate's, 0 (frozen)].
    #[arg(long, value_parser = common::args::f32_value)]
    interaction_learning_rate: Option<f32>,
    /// Per-offset interactions of the online trainer: diagonal, full or none (the course's
    /// trainer has none, and refuses the option) [default: the crate's, diagonal].
    #[arg(long, value_parser = OffsetInteractionKind::from_str)]
    offsets: Option<OffsetInteractionKind>,
    /// Learning-rate schedule of the online trainer (the course's is always constant)
    /// [default: linear].
    #[arg(long, value_enum)]
    schedule: Option<Schedule>,
    /// Subsampling threshold of frequent words, 0 for none [default: 0 for the course, 1e-3
    /// for online].
    #[arg(long)]
    subsample: Option<f64>,
    /// Surround sentences with <START> and <END> [default: true for the course, false for
    /// online].
    #[arg(long)]
    markers: Option<bool>,
    /// Worker threads (online).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Corpus words between two measurements (online).
    #[arg(long, default_value_t = 500_000)]
    snapshot_words: u64,
    /// Output folder for U.npy, V.npy, W.npy, vocab.txt and words.png.
    #[arg(long, default_value = "course")]
    out: PathBuf,
    /// Words whose nearest neighbours are printed and drawn (repeatable).
    #[arg(long = "probe")]
    probes: Vec<String>,
    /// Neighbours printed per probe word.
    #[arg(long, default_value_t = 8, value_parser = common::args::at_least_one)]
    neighbours: usize,
    /// Vectors drawn in words.png and searched for neighbours (besides u): u, vw, concat,
    /// sum, balanced-…, score-….
    #[arg(long, default_value = "u", value_parser = VectorKind::from_str)]
    vectors: VectorKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Trainer {
    /// The course's minibatch-mean SGD (`train_course`).
    Course,
    /// The crate's default trainer (`train_checkpointed`, as `train`).
    Online,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Init {
    /// U, V and W uniform in ±0.5/M.
    Course,
    /// U uniform, V zero, W the identity.
    Word2vec,
    /// U and V uniform, W the identity.
    IdentityW,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Schedule {
    Linear,
    Constant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Window {
    Fixed,
    Shrink,
}

/// Errors go to standard error as their message and causes, not as `Debug`.
fn main() -> ExitCode {
    common::report_writes_past_the_file_size_limit();
    exit_code(run())
}

fn run() -> Result<()> {
    let args = Args::parse();
    let (corpus, bundled) = common::corpus_or_bundled(&args.corpus);
    let config = config_of(&args)?;
    // Where the results go is checked before the training, not after.
    check_output_dir(&args.out)?;
    eprintln!(
        "{:?} trainer on {}: dim {}, window {} ({:?}), {} negatives, learning rate {} \
         (W: {}, {:?}), {} epochs, subsample {}, min count {}, markers {}",
        args.trainer,
        names(&corpus),
        config.dim(),
        config.window(),
        config.window_mode(),
        config.negatives(),
        config.learning_rate(),
        if args.trainer == Trainer::Course {
            config.learning_rate()
        } else {
            config.interaction_learning_rate()
        },
        config.schedule(),
        config.epochs(),
        config.subsample(),
        config.min_count(),
        config.corpus_options().markers,
    );
    let whole = Corpus::new(corpus.iter().cloned(), config.corpus_options().clone());
    let vocab = VocabBuilder::count_corpus(&whole)?.build(
        config.min_count(),
        config.max_vocab(),
        config.oov(),
    )?;
    eprintln!(
        "{} vocabulary words, {} tokens",
        vocab.len(),
        vocab.n_tokens()
    );

    let mut table = Table::new();
    let start = Instant::now();
    let model = match args.trainer {
        Trainer::Course => train_course_measured(&args, &config, &vocab, &corpus, &mut table)?,
        Trainer::Online => train_online_measured(&args, &config, &vocab, &corpus, &mut table)?,
    };
    eprintln!(
        "trained {} words, {} pairs in {:.1} s as the trainer reports it ({:.1} s with the \
         vocabulary pass and the measurements)",
        table.words,
        table.pairs,
        table.seconds,
        start.elapsed().as_secs_f64()
    );

    let probes = common::probes_or_bundled(&args.probes, bundled);
    // The model and the picture in one folder, replaced as a whole once both are written.
    let mut drawn = false;
    replace_dir(&args.out, |dir| {
        write_model(dir, &model, &vocab)?;
        let what = format!(
            ", {} trainer: {}",
            match args.trainer {
                Trainer::Course => "course",
                Trainer::Online => "online",
            },
            args.vectors.name()
        );
        let vectors = model.word_vectors(args.vectors);
        drawn = common::plot_probes(
            &dir.join("words.png"),
            vectors.view(),
            &vocab,
            &probes,
            &what,
        )?;
        Ok(())
    })?;
    eprintln!(
        "wrote U.npy, V.npy, W.npy, vocab.txt{} to {}",
        if drawn { ", words.png" } else { "" },
        args.out.display()
    );

    let mut kinds = vec![VectorKind::Focus];
    if args.vectors != VectorKind::Focus {
        kinds.push(args.vectors);
    }
    for kind in kinds {
        let embeddings = Embeddings::from_model(&model, &vocab, kind)?;
        let mut stdout = std::io::stdout().lock();
        common::write_neighbours(
            &mut stdout,
            kind.name(),
            &embeddings,
            &probes,
            args.neighbours,
        )?;
    }
    Ok(())
}

/// The configuration: the course's recipe or the crate's defaults, then the options given.
fn config_of(args: &Args) -> Result<TrainConfig> {
    let course = args.trainer == Trainer::Course;
    let init = args
        .init
        .unwrap_or(if course { Init::Course } else { Init::Word2vec });
    let (embedding_init, interaction_init) = match init {
        Init::Course => (EmbeddingInit::Uniform, InteractionInit::Uniform),
        Init::Word2vec => (EmbeddingInit::Word2vec, InteractionInit::Identity),
        Init::IdentityW => (EmbeddingInit::Uniform, InteractionInit::Identity),
    };
    let mut builder = TrainConfig::builder()
        .dim(args.dim)
        .window(args.window)
        .negatives(args.negatives)
        .max_vocab(Some(args.max_vocab))
        .threads(args.threads)
        .seed(args.seed)
        .embedding_init(embedding_init)
        .interaction_init(interaction_init);
    if course {
        builder = builder
            .window_mode(WindowMode::Fixed)
            .min_count(1)
            .epochs(1)
            .learning_rate(1.0)
            .schedule(LearningRateSchedule::Constant)
            .subsample(0.0)
            .markers(true)
            .offset_interactions(OffsetInteractionKind::None)
            .subwords(None);
    }
    if let Some(mode) = args.window_mode {
        builder = builder.window_mode(match mode {
            Window::Fixed => WindowMode::Fixed,
            Window::Shrink => WindowMode::Shrink,
        });
    }
    if let Some(v) = args.min_count {
        builder = builder.min_count(v);
    }
    if let Some(v) = args.epochs {
        builder = builder.epochs(v);
    }
    if let Some(v) = args.learning_rate {
        builder = builder.learning_rate(v);
    }
    if let Some(v) = args.interaction_learning_rate {
        builder = builder.interaction_learning_rate(v);
    }
    match (args.offsets, course) {
        (Some(kind), false) => builder = builder.offset_interactions(kind),
        (Some(_), true) => {
            return Err(bilinear_skipgram::Error::InvalidArgument {
                what: "--offsets",
                message: "the course's trainer has no per-offset interactions; \
                          use it with --trainer online"
                    .to_owned(),
            });
        }
        (None, _) => {}
    }
    if let (Some(schedule), false) = (args.schedule, course) {
        builder = builder.schedule(match schedule {
            Schedule::Linear => LearningRateSchedule::Linear,
            Schedule::Constant => LearningRateSchedule::Constant,
        });
    }
    if let Some(v) = args.subsample {
        builder = builder.subsample(v);
    }
    if let Some(v) = args.markers {
        builder = builder.markers(v);
    }
    Ok(builder.build()?)
}

/// The course: one [`train_course`] call per corpus file and epoch (each with its own
/// seed), a measurement after each.
fn train_course_measured(
    args: &Args,
    config: &TrainConfig,
    vocab: &Vocab,
    files: &[PathBuf],
    table: &mut Table,
) -> Result<Model> {
    let mut model = if args.init.unwrap_or(Init::Course) == Init::Course {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(config.seed());
        Model::course(vocab.len(), config.dim(), &mut rng)
    } else {
        Model::for_config(config, vocab.len())
    };
    let initial = model.clone();
    table.row(&model, &initial);
    let mut seed = config.seed();
    for _ in 0..config.epochs() {
        for file in files {
            let part = config.to_builder().epochs(1).seed(seed).build()?;
            seed = seed.wrapping_add(1);
            let corpus = Corpus::new([file.clone()], config.corpus_options().clone());
            let mut observe = |p: &Progress| {
                table.add_loss(p);
                ControlFlow::Continue(())
            };
            let report = train_course(&part, vocab, &mut model, &corpus, args.batch, &mut observe)?;
            table.words += report.words;
            table.pairs += report.pairs;
            table.seconds += report.seconds;
            table.row(&model, &initial);
        }
    }
    Ok(model)
}

/// The online trainer, checkpointed every `--snapshot-words` words; each checkpoint is read
/// and measured when the trainer reports progress after writing it.
fn train_online_measured(
    args: &Args,
    config: &TrainConfig,
    vocab: &Vocab,
    files: &[PathBuf],
    table: &mut Table,
) -> Result<Model> {
    // The model `train_checkpointed` starts from, on the same vocabulary.
    let initial = Model::for_vocab(config, vocab)?;
    table.row(&initial, &initial);
    // The measured checkpoints go to a temporary folder of their own, not into the output
    // folder, which is replaced as a whole at the end; it is removed however this ends.
    let measured = tempfile::tempdir().map_err(|source| bilinear_skipgram::Error::File {
        path: std::env::temp_dir(),
        source,
    })?;
    let path = measured.path().join("measure.checkpoint");
    let options = CheckpointOptions::new(&path)
        .without_timer()
        .every_words(Some(args.snapshot_words));
    let mut seen: Option<SystemTime> = None;
    let mut failure = None;
    let mut observe = |p: &Progress| {
        table.add_loss(p);
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        if modified.is_none() || modified == seen {
            return ControlFlow::Continue(());
        }
        seen = modified;
        match Checkpoint::read(&path) {
            Ok(checkpoint) if checkpoint.state.words_done > table.words => {
                table.words = checkpoint.state.words_done;
                table.pairs = checkpoint.state.pairs;
                table.row(&checkpoint.model, &initial);
            }
            Ok(_) => {}
            Err(error) => {
                failure.get_or_insert(error);
            }
        }
        ControlFlow::Continue(())
    };
    let trained = train_checkpointed(config, files, &options, &mut observe)?;
    if let Some(error) = failure {
        return Err(error);
    }
    table.seconds = trained.report.seconds;
    if trained.report.words > table.words {
        table.words = trained.report.words;
        table.pairs = trained.report.pairs;
        table.row(&trained.model, &initial);
    }
    Ok(trained.model)
}

/// The diagnostics table, printed row by row.
struct Table {
    words: u64,
    pairs: u64,
    /// Training seconds as the trainer reports them.
    seconds: f64,
    /// Summed loss and pairs since the last row.
    loss: (f64, u64),
}

impl Table {
    fn new() -> Self {
        eprintln!(
            "columns: corpus words and pairs so far, mean loss per pair since the last row; U: \
             mean cosine over all pairs of rows, share of ‖U‖² on its top singular direction \
             (uncentred, centred), ‖mean row‖ / mean row norm; ‖U − U₀‖/‖U₀‖, median row of \
             ‖u − u₀‖/‖u₀‖, top share of U − U₀; V: mean cosine, centred top share; scores \
             vᵀWu over all word pairs: mean, standard deviation; W: largest, second and \
             smallest singular values, |cos| between U's top direction and W's top right \
             singular vector"
        );
        // The table is for watching: a closed standard output does not stop training.
        let _ = writeln!(
            std::io::stdout(),
            "{:>9} {:>9} {:>5} | {:>5} {:>5} {:>5} {:>5} | {:>6} {:>6} {:>5} | {:>5} {:>5} | {:>6} {:>5} | {:>7} {:>7} {:>6} {:>5}",
            "words",
            "pairs",
            "loss",
            "cos",
            "top",
            "top c",
            "mean",
            "moved",
            "median",
            "ΔU top",
            "V cos",
            "top c",
            "s mean",
            "s sd",
            "W σ1",
            "σ2",
            "σ_M",
            "U∥W"
        );
        Table {
            words: 0,
            pairs: 0,
            seconds: 0.0,
            loss: (0.0, 0),
        }
    }

    fn add_loss(&mut self, p: &Progress) {
        if p.interval_pairs > 0 {
            self.loss.0 += p.interval_loss * p.interval_pairs as f64;
            self.loss.1 += p.interval_pairs;
        }
    }

    fn row(&mut self, model: &Model, initial: &Model) {
        // The focus vectors the scores use (with subwords, composed from U and Z).
        let (focus, start) = (model.focus_vectors(), initial.focus_vectors());
        let (focus, start) = (focus.view(), start.view());
        let u = Anisotropy::of(focus);
        let v = Anisotropy::of(model.context_embeddings());
        let change = Anisotropy::of((&focus - &start).view());
        let moved = Displacement::between(focus, start);
        let (relative, median) = moved.map_or((f64::NAN, f64::NAN), |m| (m.relative, m.median_row));
        let scores = ScoreMoments::of(focus, model.context_embeddings(), model.interaction());
        let (mean, sd) = scores.map_or((f64::NAN, f64::NAN), |m| (m.mean, m.std));
        let w = model.interaction_svd();
        let s = &w.singular_values;
        let aligned = w.right.column(0).dot(&u.top_direction).abs();
        let loss = if self.loss.1 > 0 {
            self.loss.0 / self.loss.1 as f64
        } else {
            f64::NAN
        };
        self.loss = (0.0, 0);
        // The table is for watching: a closed standard output does not stop training.
        let _ = writeln!(
            std::io::stdout(),
            "{:>9} {:>9} {:>5.3} | {:>5.3} {:>5.3} {:>5.3} {:>5.3} | {:>6.2} {:>6.2} {:>6.3} | {:>5.3} {:>5.3} | {:>6.2} {:>5.2} | {:>7.3} {:>7.3} {:>6.4} {:>5.3}",
            self.words,
            self.pairs,
            loss,
            u.mean_cosine,
            u.top_share,
            u.top_share_centred,
            u.mean_norm_ratio,
            relative,
            median,
            change.top_share,
            v.mean_cosine,
            v.top_share_centred,
            mean,
            sd,
            s.first().copied().unwrap_or(f64::NAN),
            s.get(1).copied().unwrap_or(f64::NAN),
            s.last().copied().unwrap_or(f64::NAN),
            aligned
        );
    }
}

fn names(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
