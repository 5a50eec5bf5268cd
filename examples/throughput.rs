//! Measures training throughput on a corpus: with the crate's default model (`--mode
//! default`: `W` frozen at the identity, diagonal per-offset interactions `D_p` trained
//! with AdaGrad, subword focus vectors), in bilinear mode (`W` trained) and with `W` frozen
//! at the identity (plain skip-gram with negative sampling: no subwords unless
//! `--subwords` asks for them).
//!
//! ```text
//! cargo run --release --example throughput -- corpus.txt --dim 100 --threads 1
//! cargo run --release --example throughput -- corpus.txt --dim 100 --threads 1 --mode frozen
//! cargo run --release --example throughput -- corpus.txt --dim 100 --mode both --offsets full
//! ```
//!
//! In the default mode the interaction options take the library's defaults. In the other
//! two, `--offsets diagonal|full` adds per-offset interactions `D_p` (trained at
//! `--offset-learning-rate`); "frozen" then freezes only `W`.
//!
//! words/s/thread = raw corpus tokens × epochs ÷ training seconds ÷ threads, where the raw
//! tokens are all tokens of the corpus (also those below `--min-count`) and the training
//! seconds exclude the vocabulary pass (a second figure includes it, as the reference
//! trainers' wall-clock figures do). pairs/s/thread = observed (focus, context) pairs ÷
//! training seconds ÷ threads, the unit of `benches/course_numpy.py`. Peak RSS is the
//! process's high-water mark from `/proc/self/status` (Linux); run one mode per process to
//! measure each mode's own.
//!
//! Errors are printed with their causes, one per line, with exit status 1; a closed
//! standard output ends the program quietly with status 0.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use bilinear_skipgram::error::exit_code;
use bilinear_skipgram::{
    Corpus, Error, InteractionOptimizer, Model, NoProgress, OffsetInteractionKind, Result,
    TrainConfig, VocabBuilder, WindowMode, train_model,
};
use clap::{Parser, ValueEnum};

#[path = "common/args.rs"]
mod args;

/// Training throughput of the bilinear and the frozen-W trainer.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Corpus files (plain, .gz or .xz), one sentence per line.
    corpus: Vec<PathBuf>,
    #[arg(long, default_value_t = 100)]
    dim: usize,
    #[arg(long, default_value_t = 5)]
    window: usize,
    /// Use the full window for every word instead of word2vec's random shrink.
    #[arg(long)]
    fixed_window: bool,
    #[arg(long, default_value_t = 5)]
    negatives: usize,
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long, default_value_t = 5)]
    min_count: u64,
    #[arg(long, default_value_t = 1e-3)]
    subsample: f64,
    /// Learning rate of W in bilinear mode.
    #[arg(long, default_value_t = 0.0025, value_parser = args::f32_value)]
    interaction_learning_rate: f32,
    /// How W (and D_p) take their steps in the bilinear and frozen modes: sgd or adagrad.
    #[arg(long, default_value = "sgd", value_parser = InteractionOptimizer::from_str)]
    interaction_optimizer: InteractionOptimizer,
    /// Per-offset interactions D_p in the bilinear and frozen modes: none, diagonal or full.
    #[arg(long, default_value = "none", value_parser = OffsetInteractionKind::from_str)]
    offsets: OffsetInteractionKind,
    #[command(flatten)]
    subword_args: args::SubwordArgs,
    /// Focus words per block (and between merges of W and D_p).
    #[arg(long, default_value_t = 64)]
    merge_interval: usize,
    /// Learning rate of the per-offset interactions (0 freezes them).
    #[arg(
        long,
        default_value_t = bilinear_skipgram::config::DEFAULT_OFFSET_LEARNING_RATE,
        value_parser = args::f32_value,
    )]
    offset_learning_rate: f32,
    /// Which trainer to measure: the default model, bilinear (W trained), frozen (W = I), or
    /// both of the latter.
    #[arg(long, value_enum, default_value_t = Mode::Default)]
    mode: Mode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    Default,
    Bilinear,
    Frozen,
    Both,
}

fn main() -> ExitCode {
    exit_code(run())
}

fn run() -> Result<()> {
    let args = Args::parse();
    let (offsets, optimizer) = (args.offsets, args.interaction_optimizer);
    let modes = match args.mode {
        Mode::Both => vec![Mode::Bilinear, Mode::Frozen],
        mode => vec![mode],
    };
    for mode in modes {
        let rate = if mode == Mode::Bilinear {
            args.interaction_learning_rate
        } else {
            0.0
        };
        let mut builder = TrainConfig::builder();
        builder = builder
            .dim(args.dim)
            .window(args.window)
            .window_mode(if args.fixed_window {
                WindowMode::Fixed
            } else {
                WindowMode::Shrink
            })
            .negatives(args.negatives)
            .epochs(args.epochs)
            .threads(args.threads)
            .min_count(args.min_count)
            .subsample(args.subsample)
            .merge_interval(args.merge_interval)
            .subwords(
                args.subword_args.config(
                    // word2vec's model has free rows.
                    (mode != Mode::Frozen)
                        .then(|| TrainConfig::default().subwords())
                        .flatten(),
                )?,
            );
        if mode != Mode::Default {
            builder = builder
                .interaction_learning_rate(rate)
                .interaction_optimizer(optimizer)
                .offset_interactions(offsets)
                .offset_learning_rate(args.offset_learning_rate);
        }
        let config = builder.build()?;
        let corpus = Corpus::new(args.corpus.clone(), config.corpus_options().clone());
        let start = std::time::Instant::now();
        let counts = VocabBuilder::count_corpus(&corpus)?;
        let raw_tokens = counts.n_tokens();
        let vocab = counts.build(config.min_count(), config.max_vocab(), config.oov())?;
        let mut model = Model::for_vocab(&config, &vocab)?;
        let report = train_model(&config, &vocab, &mut model, &corpus, NoProgress)?;
        let with_vocabulary = start.elapsed().as_secs_f64();
        let words = raw_tokens as f64 * config.epochs() as f64;
        let mut stdout = std::io::stdout().lock();
        writeln!(
            stdout,
            "{:<8} offsets {:<8} dim {:>4} threads {} epochs {}: {:>9.0} words/s/thread, {:.2} s \
             ({:.0} words/s/thread and {:.2} s with the vocabulary pass), \
             {:.0} pairs/s/thread ({} pairs), {} raw tokens, {} vocabulary words, peak RSS {}",
            format!("{mode:?}").to_lowercase(),
            config.offset_interactions().name(),
            config.dim(),
            config.threads(),
            config.epochs(),
            words / report.seconds / config.threads() as f64,
            report.seconds,
            words / with_vocabulary / config.threads() as f64,
            with_vocabulary,
            report.pairs as f64 / report.seconds / config.threads() as f64,
            report.pairs,
            raw_tokens,
            vocab.len(),
            peak_rss().unwrap_or_else(|| "unknown".to_owned()),
        )
        .and_then(|()| stdout.flush())
        .map_err(Error::Io)?;
    }
    Ok(())
}

/// The process's peak resident set size as the OS reports it (Linux `VmHWM`).
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_owned())
}
