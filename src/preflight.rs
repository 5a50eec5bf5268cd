//! Checks that a training run has something to train before it starts: a run that can
//! train no (focus, context) pair would only overwrite earlier results with an untrained
//! model.

use crate::config::TrainConfig;
use crate::error::{Error, Result};
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
