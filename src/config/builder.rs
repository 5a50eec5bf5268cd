//! [`TrainConfigBuilder`] and the checks every value passes.

use super::*;

/// Builds a [`TrainConfig`]; every value is checked by [`TrainConfigBuilder::build`].
#[derive(Debug, Clone)]
pub struct TrainConfigBuilder {
    pub(super) config: TrainConfig,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.config.$name = value;
            self
        }
    };
}

impl TrainConfigBuilder {
    /// Subword focus vectors (see [`crate::subwords`]): each word's focus vector is the
    /// weighted mean of its row of `U` and the rows of its character n-grams. The default
    /// is [`SubwordConfig::default`]; `None` gives every word a free row. Checked by
    /// [`build`](Self::build) as [`SubwordConfig::new`] and its `with_*` setters check it.
    ///
    /// ```
    /// use bilinear_skipgram::{TrainConfig, subwords::SubwordConfig};
    /// let c = TrainConfig::builder().subwords(Some(SubwordConfig::new(3, 6)?)).build()?;
    /// assert_eq!(c.subwords(), Some(SubwordConfig::new(3, 6)?));
    /// # Ok::<(), bilinear_skipgram::ConfigError>(())
    /// ```
    pub fn subwords(mut self, subwords: Option<SubwordConfig>) -> Self {
        let c = &mut self.config;
        match subwords {
            Some(s) => {
                (c.subword_min_n, c.subword_max_n) = (s.min_n, s.max_n);
                (c.subword_min_words, c.subword_word_weight) = (s.min_words, s.word_weight);
                c.subword_readout_weight = s.readout_weight;
            }
            // `build` puts the other subword fields in their one form.
            None => (c.subword_min_n, c.subword_max_n) = (0, 0),
        }
        self
    }

    setter!(
        /// Embedding dimension `M`: 1 to 10 000, default 100.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().dim(50).build()?;
        /// assert_eq!(c.dim(), 50);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        dim: usize
    );
    setter!(
        /// Context words on each side: 1 to 1 000, default 5.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().window(3).build()?;
        /// assert_eq!(c.window(), 3);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        window: usize
    );
    setter!(
        /// Fixed (the course) or shrinking (word2vec, the default) window.
        ///
        /// ```
        /// use bilinear_skipgram::{TrainConfig, WindowMode};
        /// let c = TrainConfig::builder().window_mode(WindowMode::Fixed).build()?;
        /// assert_eq!(c.window_mode(), WindowMode::Fixed);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        window_mode: WindowMode
    );
    setter!(
        /// Negatives per observed context: 1 to 1 000, default 5.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().negatives(10).build()?;
        /// assert_eq!(c.negatives(), 10);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        negatives: usize
    );
    setter!(
        /// Exponent on word counts for drawing negatives: finite, 0 to 10, default 0.75.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().negative_power(1.0).build()?;
        /// assert_eq!(c.negative_power(), 1.0);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        negative_power: f64
    );
    setter!(
        /// Passes over the corpus: 1 to 10 000, default 5.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().epochs(1).build()?;
        /// assert_eq!(c.epochs(), 1);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        epochs: usize
    );
    setter!(
        /// Initial learning rate of `U` and `V`: finite, in (0, 100], default
        /// [`DEFAULT_LEARNING_RATE`].
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().learning_rate(0.05).build()?;
        /// assert_eq!(c.learning_rate(), 0.05);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        learning_rate: f32
    );
    setter!(
        /// Initial learning rate of `W`: finite, in [0, 100], default
        /// [`DEFAULT_INTERACTION_LEARNING_RATE`]; 0 freezes `W` (with the identity
        /// initialisation this is exactly plain skip-gram with negative sampling).
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().interaction_learning_rate(0.0).build()?;
        /// assert_eq!(c.interaction_learning_rate(), 0.0);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        interaction_learning_rate: f32
    );
    setter!(
        /// How `W` (and the per-offset interactions) take their steps: AdaGrad (the
        /// default), whose `η` is the interaction learning rate, or plain SGD.
        ///
        /// ```
        /// use bilinear_skipgram::{InteractionOptimizer, TrainConfig};
        /// let c = TrainConfig::builder()
        ///     .interaction_optimizer(InteractionOptimizer::AdaGrad)
        ///     .interaction_learning_rate(0.01)
        ///     .build()?;
        /// assert_eq!(c.interaction_optimizer(), InteractionOptimizer::AdaGrad);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        interaction_optimizer: InteractionOptimizer
    );
    setter!(
        /// Decay `λ` of the trained interaction towards the identity, applied after every
        /// block of focus words as `W -= η λ (W − I)` (`η` the interaction rate in force,
        /// whatever the optimizer): finite, in [0, 100], default 0 (off). It pulls `W`
        /// (and each `D_p`) back towards the identity, that is towards plain skip-gram, and
        /// so bounds how ill-conditioned it can get. No effect while `W` is frozen.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().interaction_decay(0.1).build()?;
        /// assert_eq!(c.interaction_decay(), 0.1);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        interaction_decay: f32
    );
    setter!(
        /// Per-offset interactions: diagonal (the default), full, or none (every pair is
        /// scored `v_cᵀ W u_w`; with `W` frozen at the identity that is word2vec's
        /// skip-gram). With them a pair whose context is `o` positions from its focus
        /// word is scored `v_cᵀ D_o W u_w` ([`OffsetInteractions`](crate::OffsetInteractions)),
        /// one `D_o` per offset `o ∈ {−b…−1, 1…b}` of the window `b`, starting at the
        /// identity and trained at [`offset_learning_rate`](Self::offset_learning_rate)
        /// with the [`interaction_optimizer`](Self::interaction_optimizer). Full
        /// interactions take `2 · window · dim²` floats, at most [`MAX_OFFSET_FLOATS`].
        ///
        /// ```
        /// use bilinear_skipgram::{OffsetInteractionKind, TrainConfig};
        /// let c = TrainConfig::builder()
        ///     .offset_interactions(OffsetInteractionKind::Diagonal)
        ///     .build()?;
        /// assert_eq!(c.offset_interactions(), OffsetInteractionKind::Diagonal);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        offset_interactions: OffsetInteractionKind
    );
    setter!(
        /// Initial learning rate of the per-offset interactions: finite, in [0, 100],
        /// default [`DEFAULT_OFFSET_LEARNING_RATE`]; 0 freezes them at the identity. It
        /// follows the same schedule as the other rates.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().offset_learning_rate(0.01).build()?;
        /// assert_eq!(c.offset_learning_rate(), 0.01);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        offset_learning_rate: f32
    );
    setter!(
        /// Linear decay (word2vec, the default) or a constant rate.
        ///
        /// ```
        /// use bilinear_skipgram::{LearningRateSchedule, TrainConfig};
        /// let c = TrainConfig::builder().schedule(LearningRateSchedule::Constant).build()?;
        /// assert_eq!(c.schedule(), LearningRateSchedule::Constant);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        schedule: LearningRateSchedule
    );
    setter!(
        /// Smallest count of a vocabulary word: at least 1, default 5.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().min_count(1).build()?;
        /// assert_eq!(c.min_count(), 1);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        min_count: u64
    );
    setter!(
        /// Largest vocabulary (the most frequent words are kept): `None` (the default) or
        /// at least 1. The course keeps 20 000.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().max_vocab(Some(20_000)).build()?;
        /// assert_eq!(c.max_vocab(), Some(20_000));
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        max_vocab: Option<usize>
    );
    setter!(
        /// Subsampling threshold `t` of frequent words: finite, in [0, 1), default 1e-3;
        /// 0 keeps every word.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().subsample(0.0).build()?;
        /// assert_eq!(c.subsample(), 0.0);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        subsample: f64
    );
    setter!(
        /// Worker threads: 1 to 1 024, default the number of cores. One thread with a
        /// fixed seed reproduces a run bit for bit.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().threads(1).build()?;
        /// assert_eq!(c.threads(), 1);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        threads: usize
    );
    setter!(
        /// Seed of every random choice, default 1.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().seed(42).build()?;
        /// assert_eq!(c.seed(), 42);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        seed: u64
    );
    setter!(
        /// How `U` and `V` start: word2vec (the default: `U` uniform, `V` zero) or the
        /// course (both uniform).
        ///
        /// ```
        /// use bilinear_skipgram::{EmbeddingInit, TrainConfig};
        /// let c = TrainConfig::builder().embedding_init(EmbeddingInit::Uniform).build()?;
        /// assert_eq!(c.embedding_init(), EmbeddingInit::Uniform);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        embedding_init: EmbeddingInit
    );
    setter!(
        /// How `W` starts: identity (the default) or the course's uniform entries.
        ///
        /// ```
        /// use bilinear_skipgram::{InteractionInit, TrainConfig};
        /// let c = TrainConfig::builder().interaction_init(InteractionInit::Uniform).build()?;
        /// assert_eq!(c.interaction_init(), InteractionInit::Uniform);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        interaction_init: InteractionInit
    );
    setter!(
        /// Focus words between merges of a thread's `W` gradient into the shared `W`:
        /// 1 to 4 096, default 64. Larger values mean fewer, larger matrix products, less
        /// locking and a staler `W`.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().merge_interval(16).build()?;
        /// assert_eq!(c.merge_interval(), 16);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        merge_interval: usize
    );
    setter!(
        /// Pairs in the held-out sample: 0 to 1 000 000, default [`DEFAULT_HELDOUT_PAIRS`];
        /// 0 turns it off.
        ///
        /// During the vocabulary pass of [`train`](crate::train) and
        /// [`train_checkpointed`](crate::train_checkpointed) a seeded rule picks sentences
        /// (at most 1 % of them); once the vocabulary is built they are turned into this
        /// many pairs, formed exactly as the trainer forms pairs (subsampling, window,
        /// negatives), drawn once from the seed. Those sentences are left out of training,
        /// and the mean loss on the pairs is reported as
        /// [`Progress::heldout_loss`](crate::Progress::heldout_loss). A corpus with fewer
        /// than 100 sentences has no held-out sample.
        ///
        /// ```
        /// let c = bilinear_skipgram::TrainConfig::builder().heldout_pairs(0).build()?;
        /// assert_eq!(c.heldout_pairs(), 0);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        heldout_pairs: usize
    );
    setter!(
        /// What happens to words outside the vocabulary: dropped (word2vec, the default) or
        /// mapped to `<UNK>` (the course).
        ///
        /// ```
        /// use bilinear_skipgram::{OovPolicy, TrainConfig};
        /// let c = TrainConfig::builder().oov(OovPolicy::Unk).build()?;
        /// assert_eq!(c.oov(), OovPolicy::Unk);
        /// # Ok::<(), bilinear_skipgram::ConfigError>(())
        /// ```
        oov: OovPolicy
    );

    /// Surround every sentence with `<START>` and `<END>` (the course does), default off.
    ///
    /// ```
    /// let c = bilinear_skipgram::TrainConfig::builder().markers(true).build()?;
    /// assert!(c.corpus_options().markers);
    /// # Ok::<(), bilinear_skipgram::ConfigError>(())
    /// ```
    pub fn markers(mut self, value: bool) -> Self {
        self.config.corpus = self.config.corpus.with_markers(value);
        self
    }

    /// Lowercase the text (default on).
    ///
    /// ```
    /// let c = bilinear_skipgram::TrainConfig::builder().lowercase(false).build()?;
    /// assert!(!c.corpus_options().lowercase);
    /// # Ok::<(), bilinear_skipgram::ConfigError>(())
    /// ```
    pub fn lowercase(mut self, value: bool) -> Self {
        self.config.corpus = self.config.corpus.with_lowercase(value);
        self
    }

    /// Invalid UTF-8 in the corpus: an error naming file and line (the default) or lossy
    /// decoding with a count of replaced bytes.
    ///
    /// ```
    /// use bilinear_skipgram::{TrainConfig, Utf8Policy};
    /// let c = TrainConfig::builder().utf8(Utf8Policy::Lossy).build()?;
    /// assert_eq!(c.corpus_options().utf8, Utf8Policy::Lossy);
    /// # Ok::<(), bilinear_skipgram::ConfigError>(())
    /// ```
    pub fn utf8(mut self, value: Utf8Policy) -> Self {
        self.config.corpus = self.config.corpus.with_utf8(value);
        self
    }

    /// Checks every value and returns the configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first field whose value is out of range or not finite.
    pub fn build(self) -> Result<TrainConfig, ConfigError> {
        let mut c = self.config;
        int_range("dim", c.dim as u64, 1, 10_000)?;
        int_range("window", c.window as u64, 1, 1_000)?;
        int_range("negatives", c.negatives as u64, 1, 1_000)?;
        int_range("epochs", c.epochs as u64, 1, 10_000)?;
        int_range("min_count", c.min_count, 1, u64::MAX)?;
        if let Some(max) = c.max_vocab {
            int_range("max_vocab", max as u64, 1, u32::MAX as u64 - 1)?;
        }
        int_range("threads", c.threads as u64, 1, 1_024)?;
        int_range("merge_interval", c.merge_interval as u64, 1, 4_096)?;
        int_range("heldout_pairs", c.heldout_pairs as u64, 0, 1_000_000)?;
        if c.subword_min_n == 0 {
            // No subwords, in one form, so that equal configurations compare equal.
            let d = SubwordConfig::default();
            c.subword_max_n = 0;
            (c.subword_min_words, c.subword_word_weight) = (d.min_words, d.word_weight);
            c.subword_readout_weight = d.readout_weight;
        } else {
            SubwordConfig {
                min_n: c.subword_min_n,
                max_n: c.subword_max_n,
                min_words: c.subword_min_words,
                word_weight: c.subword_word_weight,
                readout_weight: c.subword_readout_weight,
            }
            .checked()?;
        }
        float_range(
            "negative_power",
            c.negative_power,
            |x| (0.0..=10.0).contains(&x),
            "[0, 10]",
        )?;
        float_range(
            "learning_rate",
            decimal(c.learning_rate),
            |x| x > 0.0 && x <= 100.0,
            "(0, 100]",
        )?;
        float_range(
            "interaction_learning_rate",
            decimal(c.interaction_learning_rate),
            |x| (0.0..=100.0).contains(&x),
            "[0, 100]",
        )?;
        float_range(
            "offset_learning_rate",
            decimal(c.offset_learning_rate),
            |x| (0.0..=100.0).contains(&x),
            "[0, 100]",
        )?;
        if c.offset_interactions == OffsetInteractionKind::Full {
            let floats = (2 * c.window as u64).saturating_mul((c.dim as u64).pow(2));
            if floats > MAX_OFFSET_FLOATS {
                return Err(ConfigError::TooLarge {
                    field: "full offset interactions (2 · window · dim² floats)",
                    max: MAX_OFFSET_FLOATS,
                    value: floats,
                });
            }
        }
        float_range(
            "interaction_decay",
            decimal(c.interaction_decay),
            |x| (0.0..=100.0).contains(&x),
            "[0, 100]",
        )?;
        float_range(
            "subsample",
            c.subsample,
            |x| (0.0..1.0).contains(&x),
            "[0, 1)",
        )?;
        Ok(c)
    }
}

fn int_range(field: &'static str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if value < min {
        Err(ConfigError::TooSmall { field, min, value })
    } else if value > max {
        Err(ConfigError::TooLarge { field, max, value })
    } else {
        Ok(())
    }
}

/// `x` as the `f64` of its shortest decimal form, so that an error shows the `0.1` a user
/// gave, not `0.10000000149011612`.
pub(crate) fn decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

fn float_range(
    field: &'static str,
    value: f64,
    accept: impl Fn(f64) -> bool,
    range: &'static str,
) -> Result<(), ConfigError> {
    if !value.is_finite() {
        Err(ConfigError::NotFinite { field, value })
    } else if !accept(value) {
        Err(ConfigError::OutOfRange {
            field,
            range,
            value,
        })
    } else {
        Ok(())
    }
}
