//! Checks before a training run starts: that it has something to train (a run that can
//! train no (focus, context) pair would only overwrite earlier results with an untrained
//! model), and that its matrices and buffers fit in the memory available.

use crate::config::{InteractionOptimizer, TrainConfig};
use crate::error::{Error, Result};
use crate::model::OffsetInteractionKind;
use crate::vocab::Vocab;

/// What the vocabulary pass saw of the sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SentenceCounts {
    /// Sentences (non-empty lines, or pieces of long lines).
    pub(crate) sentences: u64,
    /// Tokens of the longest sentence (markers included).
    pub(crate) longest: u64,
}

/// The expected number of corpus words per epoch that subsampling keeps.
fn expected_kept_words(config: &TrainConfig, vocab: &Vocab) -> f64 {
    vocab
        .keep_probabilities(config.subsample())
        .iter()
        .zip(vocab.counts())
        .map(|(&keep, &count)| f64::from(keep) * count as f64)
        .sum()
}

/// Refuses a run on a corpus that cannot train a pair: a vocabulary of fewer than two
/// entries, a corpus without a sentence of two tokens (when `counts` of the vocabulary
/// pass are known), or subsampling that keeps, in expectation, fewer than two words in the
/// whole run. (A model trained with a vocabulary given by the caller, as `train_model`
/// does, may legitimately have one word; only the trained pairs are checked there.)
pub(crate) fn check_trainable(
    config: &TrainConfig,
    vocab: &Vocab,
    counts: Option<SentenceCounts>,
) -> Result<()> {
    let nothing = |reason: String| Err(Error::NothingToTrain { reason });
    if vocab.len() < 2 {
        let words: Vec<String> = vocab.words().iter().map(|w| format!("{w:?}")).collect();
        return nothing(format!(
            "the vocabulary has {} word ({}), and training needs at least 2: each pair's \
             negatives are drawn from the other words (lower min_count or raise max_vocab; \
             min_count = {}, max_vocab = {})",
            vocab.len(),
            words.join(", "),
            config.min_count(),
            config
                .max_vocab()
                .map_or_else(|| "none".to_owned(), |m| m.to_string()),
        ));
    }
    if let Some(counts) = counts
        && counts.longest < 2
    {
        return nothing(format!(
            "no line of the corpus has two words ({} lines with a word, {} tokens), so \
             there is no (focus, context) pair: the corpus must hold sentences, one per line",
            counts.sentences,
            vocab.n_tokens(),
        ));
    }
    let kept = expected_kept_words(config, vocab) * config.epochs() as f64;
    // (A vocabulary of zero counts cannot draw negatives: the sampler says so.)
    if kept < 2.0 && vocab.n_tokens() > 0 {
        let kept = if kept == 0.0 {
            "0".to_owned()
        } else if kept >= 0.01 {
            format!("{kept:.2}")
        } else {
            format!("{kept:.1e}")
        };
        let epochs = match config.epochs() {
            1 => "1 epoch".to_owned(),
            n => format!("{n} epochs"),
        };
        return nothing(format!(
            "subsampling with threshold {:e} keeps, in expectation, {kept} words in \
             {epochs} of {} words each, too few to make a pair (raise subsample, or set it \
             to 0 to keep every word)",
            config.subsample(),
            vocab.n_tokens(),
        ));
    }
    Ok(())
}

/// The error for a run that ended without training a pair.
pub(crate) fn no_pair_trained(words: u64) -> Error {
    Error::NothingToTrain {
        reason: format!(
            "the run read {words} corpus words but trained 0 pairs: subsampling, dropped \
             out-of-vocabulary words or one-word sentences left no (focus, context) pair"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::OovPolicy;

    fn vocab(pairs: &[(&str, u64)]) -> Vocab {
        Vocab::from_counts(
            pairs.iter().map(|&(w, c)| (w.to_owned(), c)),
            OovPolicy::Drop,
        )
        .unwrap()
    }

    fn config(subsample: f64) -> TrainConfig {
        TrainConfig::builder()
            .subsample(subsample)
            .epochs(1)
            .build()
            .unwrap()
    }

    #[test]
    fn each_reason_is_given() {
        let two = SentenceCounts {
            sentences: 10,
            longest: 2,
        };
        let message = |result: Result<()>| match result {
            Err(Error::NothingToTrain { reason }) => reason,
            other => panic!("expected NothingToTrain, got {other:?}"),
        };
        let one = message(check_trainable(
            &config(0.0),
            &vocab(&[("the", 9)]),
            Some(two),
        ));
        assert!(one.contains("1 word (\"the\")"), "{one}");
        let single = SentenceCounts {
            sentences: 7,
            longest: 1,
        };
        let words = vocab(&[("a", 4), ("b", 3)]);
        let lines = message(check_trainable(&config(0.0), &words, Some(single)));
        assert!(
            lines.contains("no line of the corpus has two words (7 lines"),
            "{lines}"
        );
        let sub = message(check_trainable(&config(1e-300), &words, Some(two)));
        assert!(sub.contains("subsampling with threshold 1e-300"), "{sub}");
        // Without subsampling every word is kept; unknown counts skip that check.
        check_trainable(&config(0.0), &words, Some(two)).unwrap();
        check_trainable(&config(0.0), &words, None).unwrap();
        // The expectation is the sum of count × keep probability.
        let kept = expected_kept_words(&config(1e-3), &words);
        let keep = words.keep_probabilities(1e-3);
        assert!((kept - (4.0 * f64::from(keep[0]) + 3.0 * f64::from(keep[1]))).abs() < 1e-9);
    }
}

/// What a memory check counts: before the model exists, its matrices as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// After the vocabulary pass, before `U`, `V`, `W` and `D` are allocated.
    BeforeModel,
    /// The model exists; training is about to allocate the rest.
    BeforeTraining,
}

/// The memory a training run of `config` with `n_words` vocabulary entries will still
/// allocate at `stage`, in bytes, part by part. An estimate, meant as an upper bound of
/// what is resident: `V` starts at zero and the rows never drawn stay unresident, and
/// small things (thread stacks, channels, the progress reports) are left out. The
/// vocabulary and the held-out sample are not counted: they exist when the check runs, so
/// the available memory already accounts for them.
pub(crate) fn memory_plan(
    config: &TrainConfig,
    n_words: usize,
    stage: Stage,
) -> Vec<(String, u64)> {
    const F32: u64 = 4;
    let n = n_words as u64;
    let m = config.dim() as u64;
    let threads = config.threads() as u64;
    let square = m * m * F32;
    let adagrad = u64::from(config.interaction_optimizer() == InteractionOptimizer::AdaGrad);
    let offset_floats = match config.offset_interactions() {
        OffsetInteractionKind::None => 0,
        OffsetInteractionKind::Diagonal => 2 * config.window() as u64 * m,
        OffsetInteractionKind::Full => 2 * config.window() as u64 * m * m,
    };
    let mut parts = Vec::new();
    if stage == Stage::BeforeModel {
        parts.push(("U and V".to_owned(), 2 * n * m * F32));
        parts.push(("W and D".to_owned(), square + offset_floats * F32));
    }
    // The alias table and target probabilities (16 bytes a word), the weights and work
    // lists while it is built (about 20), the subsampling keep probabilities (4).
    parts.push(("sampler".to_owned(), n * 40));
    // The shared W and D with their AdaGrad squares, a snapshot of each for checkpoints
    // and scoring, and W's diagnostics (an f64 SVD: about four M×M matrices of f64).
    let dense = (square + offset_floats * F32) * (1 + adagrad);
    parts.push(("shared W and D".to_owned(), 2 * dense + 4 * m * m * 8));
    // Per thread: a copy of W (and D) when trained, with a base to merge from when there
    // are several threads, and the AdaGrad gradient; the block buffers; two queued chunks.
    let copies = 1 + u64::from(threads > 1);
    let mut per_thread = 0;
    if config.interaction_learning_rate() > 0.0 {
        per_thread += copies * square * (1 + adagrad) + adagrad * square;
    }
    if offset_floats > 0 && config.offset_learning_rate() > 0.0 {
        per_thread += (copies * (1 + adagrad) + 1) * offset_floats * F32;
    }
    let capacity = config.merge_interval() as u64;
    per_thread += 4 * capacity * m * F32;
    if offset_floats > 0 {
        let max_pairs = capacity * 2 * config.window() as u64;
        per_thread += 2 * max_pairs * m * F32 + 3 * capacity * m * F32;
    }
    per_thread += 2 * 10_100 * F32;
    parts.push((
        format!("{threads} thread{}", if threads == 1 { "" } else { "s" }),
        threads.saturating_mul(per_thread),
    ));
    parts
}

/// The memory available to this process: `MemAvailable + SwapFree` of `/proc/meminfo`,
/// in bytes; `None` where that file is absent or unreadable (not Linux).
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kib = line[name.len()..].trim().trim_end_matches("kB").trim();
        kib.parse::<u64>().ok().map(|k| k.saturating_mul(1024))
    };
    Some(field("MemAvailable:")?.saturating_add(field("SwapFree:").unwrap_or(0)))
}

/// Refuses, before anything big is allocated, a run whose [`memory_plan`] exceeds the
/// available memory (`MemAvailable + SwapFree` on Linux; elsewhere nothing is checked).
pub(crate) fn check_memory(config: &TrainConfig, n_words: usize, stage: Stage) -> Result<()> {
    match available_memory() {
        Some(available) => check_memory_against(config, n_words, stage, available),
        None => Ok(()),
    }
}

fn check_memory_against(
    config: &TrainConfig,
    n_words: usize,
    stage: Stage,
    available: u64,
) -> Result<()> {
    let parts = memory_plan(config, n_words, stage);
    let needed = parts
        .iter()
        .fold(0_u64, |sum, (_, b)| sum.saturating_add(*b));
    if needed <= available {
        return Ok(());
    }
    let breakdown = parts
        .iter()
        .filter(|(_, bytes)| *bytes > 0)
        .map(|(what, bytes)| format!("{what}: {}", crate::error::bytes_text(*bytes)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::OutOfMemory {
        needed,
        available,
        breakdown,
        source_of_limit: "are available (MemAvailable + SwapFree in /proc/meminfo)".to_owned(),
    })
}

#[cfg(test)]
mod memory_tests {
    use super::*;

    fn config(threads: usize, dim: usize, interaction_learning_rate: f32) -> TrainConfig {
        TrainConfig::builder()
            .threads(threads)
            .dim(dim)
            .interaction_learning_rate(interaction_learning_rate)
            // The plain model with W's SGD step: the figures below count W alone.
            .interaction_optimizer(crate::InteractionOptimizer::Sgd)
            .offset_interactions(crate::OffsetInteractionKind::None)
            .build()
            .unwrap()
    }

    fn total(config: &TrainConfig, n_words: usize, stage: Stage) -> u64 {
        memory_plan(config, n_words, stage)
            .iter()
            .map(|(_, b)| b)
            .sum()
    }

    #[test]
    fn a_frozen_interaction_is_not_counted_per_thread() {
        let frozen = config(32, 2000, 0.0);
        let trained = config(32, 2000, 0.001);
        let plan = memory_plan(&frozen, 1000, Stage::BeforeTraining);
        let (_, per_threads) = plan.last().unwrap();
        // Block buffers and queued chunks only: 32 × (4 × 64 × 2000 + 2 × 10 100) floats.
        assert_eq!(*per_threads, 32 * (4 * 64 * 2000 + 2 * 10_100) * 4);
        let (_, trained_threads) = memory_plan(&trained, 1000, Stage::BeforeTraining)
            .last()
            .cloned()
            .unwrap();
        // Plus a copy and a base of W (SGD) per thread.
        assert_eq!(trained_threads - per_threads, 32 * 2 * 2000 * 2000 * 4);
    }

    #[test]
    fn the_model_is_counted_only_before_it_exists() {
        let config = config(1, 100, 0.0);
        let before = total(&config, 10_000, Stage::BeforeModel);
        let after = total(&config, 10_000, Stage::BeforeTraining);
        assert_eq!(before - after, (2 * 10_000 * 100 + 100 * 100) * 4);
    }

    #[test]
    fn only_what_does_not_fit_is_refused() {
        // A million words at dimension 300 on 8 threads with a trained W: about 2.4 GB.
        let config = config(8, 300, 0.001);
        let needed = total(&config, 1_000_000, Stage::BeforeModel);
        assert!(needed > 2_400_000_000 && needed < 2_600_000_000, "{needed}");
        assert!(check_memory_against(&config, 1_000_000, Stage::BeforeModel, needed).is_ok());
        let error =
            check_memory_against(&config, 1_000_000, Stage::BeforeModel, needed - 1).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, Error::OutOfMemory { .. }));
        assert!(
            message.contains("U and V: 2.2 GiB") && message.contains("8 threads"),
            "{message}"
        );
    }
}
