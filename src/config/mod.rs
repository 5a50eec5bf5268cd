//! Training configuration, checked when it is built so that no invalid configuration can
//! exist.

use crate::corpus::{CorpusOptions, Utf8Policy};
use crate::error::{ConfigError, Error};
use crate::model::{EmbeddingInit, InteractionInit, OffsetInteractionKind};
use crate::subwords::SubwordConfig;
use crate::vocab::OovPolicy;

mod builder;
mod fields;
#[cfg(test)]
mod tests;

pub use builder::TrainConfigBuilder;
#[cfg(feature = "finalfusion")]
pub(crate) use builder::decimal;
pub use fields::ADDED_FIELDS;
pub(crate) use fields::{FieldValue, window_mode_name};
#[cfg(feature = "serde")]
pub(crate) use fields::{oov_name, set_field};

/// How far a focus word looks for its contexts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WindowMode {
    /// word2vec: for each focus word the reach is drawn uniformly from `1..=window`, so
    /// near contexts count more.
    #[default]
    Shrink,
    /// The course: always `window` words on each side.
    Fixed,
}

/// How the learning rate changes during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LearningRateSchedule {
    /// word2vec: decays linearly with the words processed, from the initial rate to
    /// `1e-4` times it at the end of the last epoch.
    #[default]
    Linear,
    /// The same rate throughout.
    Constant,
}

/// How the dense interaction parameters (`W`, and the per-offset `D_p` when the model has
/// them) take their steps.
///
/// Each worker thread applies one step per block of focus words (see the
/// [`sgd`](crate::sgd) module) with the block's summed gradient `g` (for `W`,
/// `g = Eᵀ U_B`, the sum of `e u_wᵀ` over every pair of every focus word of the block) and
/// the rate `η` in force (the interaction learning rate under the configured schedule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum InteractionOptimizer {
    /// Plain SGD, `w -= η g`: the step of a row of `U` or `V`, but summed over every pair
    /// of the block.
    Sgd,
    /// AdaGrad (Duchi et al., 2011), per entry: `G += g²`, then
    /// `w -= η g / (√G + ε)` with `ε =` [`ADAGRAD_EPSILON`]. `G` starts at zero, so the
    /// first step moves every entry with a non-zero gradient by `η`, and later steps shrink
    /// as squared gradients accumulate: the step no longer grows with the number of pairs
    /// a block sums over. The default: a dense parameter sums the gradients of every pair
    /// it takes part in, so one rate cannot suit it and the rows at once (see
    /// [`DEFAULT_OFFSET_LEARNING_RATE`]).
    #[default]
    AdaGrad,
}

impl InteractionOptimizer {
    /// Every optimizer, in a fixed order.
    pub const ALL: [InteractionOptimizer; 2] =
        [InteractionOptimizer::Sgd, InteractionOptimizer::AdaGrad];

    /// A short name: `sgd` or `adagrad` (the configuration text uses it).
    pub fn name(self) -> &'static str {
        match self {
            InteractionOptimizer::Sgd => "sgd",
            InteractionOptimizer::AdaGrad => "adagrad",
        }
    }
}

/// Parses an optimizer [`name`](InteractionOptimizer::name), as command lines take it.
///
/// ```
/// use bilinear_skipgram::InteractionOptimizer;
/// assert_eq!("adagrad".parse::<InteractionOptimizer>()?, InteractionOptimizer::AdaGrad);
/// assert!("Adam".parse::<InteractionOptimizer>().is_err());
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
impl std::str::FromStr for InteractionOptimizer {
    type Err = Error;

    /// # Errors
    ///
    /// [`Error::InvalidArgument`] naming every optimizer when `name` is none of them.
    fn from_str(name: &str) -> crate::error::Result<Self> {
        parse_named(&Self::ALL, Self::name, "interaction optimizer", name)
    }
}

/// The one of `all` whose `name_of` is `name`, or [`Error::InvalidArgument`] saying what
/// was given and listing every name: the parser of the crate's named options.
pub(crate) fn parse_named<T: Copy>(
    all: &[T],
    name_of: fn(T) -> &'static str,
    what: &'static str,
    name: &str,
) -> crate::error::Result<T> {
    all.iter()
        .copied()
        .find(|&item| name_of(item) == name)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|&item| name_of(item)).collect();
            Error::InvalidArgument {
                what,
                message: format!("expected one of {}, got {name:?}", names.join(", ")),
            }
        })
}

/// The `ε` of [`InteractionOptimizer::AdaGrad`]: `w -= η g / (√G + ε)`. It only keeps the
/// division finite where `G = 0` (then `g = 0` as well, and the step is 0); any entry that
/// has seen a gradient has `√G ≥ |g| ≫ ε` in `f32`.
pub const ADAGRAD_EPSILON: f32 = 1e-8;

/// A checked training configuration. Build it with [`TrainConfig::builder`].
///
/// # Example
///
/// ```
/// use bilinear_skipgram::TrainConfig;
///
/// let config = TrainConfig::builder().dim(50).window(3).negatives(5).build()?;
/// assert_eq!(config.dim(), 50);
/// assert!(TrainConfig::builder().dim(0).build().is_err());
/// # Ok::<(), bilinear_skipgram::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    dim: usize,
    window: usize,
    window_mode: WindowMode,
    negatives: usize,
    negative_power: f64,
    epochs: usize,
    learning_rate: f32,
    interaction_learning_rate: f32,
    interaction_optimizer: InteractionOptimizer,
    interaction_decay: f32,
    offset_interactions: OffsetInteractionKind,
    offset_learning_rate: f32,
    schedule: LearningRateSchedule,
    min_count: u64,
    max_vocab: Option<usize>,
    subsample: f64,
    threads: usize,
    seed: u64,
    embedding_init: EmbeddingInit,
    interaction_init: InteractionInit,
    merge_interval: usize,
    heldout_pairs: usize,
    /// Subword n-gram lengths, `min_words` and the weights; `subword_min_n` 0 means no
    /// subwords.
    subword_min_n: usize,
    subword_max_n: usize,
    subword_min_words: usize,
    subword_word_weight: f32,
    subword_readout_weight: f32,
    corpus: CorpusOptions,
    oov: OovPolicy,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            dim: 100,
            window: 5,
            window_mode: WindowMode::Shrink,
            negatives: 5,
            negative_power: 0.75,
            epochs: 5,
            learning_rate: DEFAULT_LEARNING_RATE,
            interaction_learning_rate: DEFAULT_INTERACTION_LEARNING_RATE,
            interaction_optimizer: InteractionOptimizer::AdaGrad,
            interaction_decay: 0.0,
            offset_interactions: OffsetInteractionKind::Diagonal,
            offset_learning_rate: DEFAULT_OFFSET_LEARNING_RATE,
            schedule: LearningRateSchedule::Linear,
            min_count: 5,
            max_vocab: None,
            subsample: 1e-3,
            threads: default_threads(),
            seed: 1,
            embedding_init: EmbeddingInit::Word2vec,
            interaction_init: InteractionInit::Identity,
            merge_interval: 64,
            heldout_pairs: DEFAULT_HELDOUT_PAIRS,
            subword_min_n: SubwordConfig::default().min_n(),
            subword_max_n: SubwordConfig::default().max_n(),
            subword_min_words: SubwordConfig::default().min_words(),
            subword_word_weight: SubwordConfig::default().word_weight(),
            subword_readout_weight: SubwordConfig::default().readout_weight(),
            corpus: CorpusOptions::default(),
            oov: OovPolicy::Drop,
        }
    }
}

/// The default initial learning rate of `U` and `V`: 0.04, above word2vec's 0.025.
///
/// Measured on English Wikipedia (BENCHMARKS.md, "Embedding quality on English Wikipedia"),
/// with the default per-offset interactions and vectors, five epochs, means of eight seeds:
/// 0.04 against 0.05 scored RW 0.412 against 0.406 and SimVerb 0.128 against 0.126, the two
/// sets that gain from a lower rate, for MEN 0.556 against 0.559, MTurk-771 0.521 against
/// 0.526, MSR 35.4 % against 35.6 % and BATS 14.1 % against 14.2 %. At 0.025 (one seed)
/// RW rose further, to 0.420, but MEN fell to 0.536 and MTurk-771 to 0.494. word2vec C and
/// gensim gain on MEN and MTurk-771 from a rate above 0.025 too. On a small corpus a lower
/// rate can be better; set [`TrainConfigBuilder::learning_rate`] for it.
pub const DEFAULT_LEARNING_RATE: f32 = 0.04;

/// The default learning rate of the shared interaction `W`: 0, so `W` stays at the
/// identity and the bilinear coupling is carried by the per-offset interactions `D_p`
/// (default [`OffsetInteractionKind::Diagonal`]).
///
/// A single trained `W` adds no expressive power: for any invertible `A`, `(A u_w, W A⁻¹)`
/// scores every pair alike, so `W` only moves `U` and `V` into another basis. Measured on
/// English Wikipedia (BENCHMARKS.md), training it (plain SGD at 0.0025 or 0.00025, AdaGrad,
/// decay towards the identity) never raised a score of any vector kind above `W` frozen.
/// With `W` frozen and no per-offset interactions
/// ([`TrainConfigBuilder::offset_interactions`] `None`) the model is exactly word2vec's
/// skip-gram with negative sampling. Set
/// [`TrainConfigBuilder::interaction_learning_rate`] to train `W`.
pub const DEFAULT_INTERACTION_LEARNING_RATE: f32 = 0.0;

/// The default learning rate of the per-offset interactions `D_p`: 0.001 with the default
/// [`InteractionOptimizer::AdaGrad`], whose first step moves an entry by the rate and later
/// steps shrink as squared gradients accumulate.
///
/// Measured on English Wikipedia (BENCHMARKS.md): diagonal `D_p` at 0.001 against 0.003
/// (AdaGrad, rows at 0.05, the default then) kept MEN and MTurk-771 and scored SimVerb 0.126 against 0.116;
/// against `W` frozen without `D_p` they raise RW by 0.017, MSR by 3.7 points and BATS by
/// 1.4 points (vectors [`VectorKind::Concatenated`](crate::VectorKind)).
pub const DEFAULT_OFFSET_LEARNING_RATE: f32 = 0.001;

/// The most floats full per-offset interactions may take (`2 · window · dim²`): 2³⁰, 4 GiB.
pub const MAX_OFFSET_FLOATS: u64 = 1 << 30;

/// The default number of held-out pairs (see [`TrainConfigBuilder::heldout_pairs`]).
pub const DEFAULT_HELDOUT_PAIRS: usize = 4096;

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

impl TrainConfig {
    /// A builder that starts from this configuration, to change a few values.
    ///
    /// ```
    /// use bilinear_skipgram::TrainConfig;
    ///
    /// let config = TrainConfig::builder().dim(50).build()?;
    /// let slower = config.to_builder().learning_rate(0.01).build()?;
    /// assert_eq!((slower.dim(), slower.learning_rate()), (50, 0.01));
    /// # Ok::<(), bilinear_skipgram::ConfigError>(())
    /// ```
    pub fn to_builder(&self) -> TrainConfigBuilder {
        TrainConfigBuilder {
            config: self.clone(),
        }
    }

    /// A builder that starts from the defaults.
    pub fn builder() -> TrainConfigBuilder {
        TrainConfigBuilder {
            config: TrainConfig::default(),
        }
    }

    /// Embedding dimension `M`.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Context words on each side of the focus word (the largest reach).
    pub fn window(&self) -> usize {
        self.window
    }
    /// Fixed or shrinking window.
    pub fn window_mode(&self) -> WindowMode {
        self.window_mode
    }
    /// Negatives per observed context.
    pub fn negatives(&self) -> usize {
        self.negatives
    }
    /// Exponent applied to word counts for the negative sampler.
    pub fn negative_power(&self) -> f64 {
        self.negative_power
    }
    /// Passes over the corpus.
    pub fn epochs(&self) -> usize {
        self.epochs
    }
    /// Initial learning rate of `U` and `V`.
    pub fn learning_rate(&self) -> f32 {
        self.learning_rate
    }
    /// Initial learning rate of `W`; 0 freezes `W`.
    pub fn interaction_learning_rate(&self) -> f32 {
        self.interaction_learning_rate
    }
    /// How `W` (and the per-offset interactions) take their steps.
    pub fn interaction_optimizer(&self) -> InteractionOptimizer {
        self.interaction_optimizer
    }
    /// Decay `λ` of the trained interaction towards the identity: after each block,
    /// `W -= η λ (W − I)` with the interaction rate `η` in force; 0 turns it off.
    pub fn interaction_decay(&self) -> f32 {
        self.interaction_decay
    }
    /// The per-offset interactions `D_p` the model has: none, diagonal (the default) or full.
    pub fn offset_interactions(&self) -> OffsetInteractionKind {
        self.offset_interactions
    }
    /// Initial learning rate of the per-offset interactions; 0 freezes them.
    pub fn offset_learning_rate(&self) -> f32 {
        self.offset_learning_rate
    }
    /// The subwords of the focus vectors (see [`crate::subwords`]): by default
    /// [`SubwordConfig::default`]; `None`: every word has a free row of `U`.
    pub fn subwords(&self) -> Option<SubwordConfig> {
        (self.subword_min_n > 0).then_some(SubwordConfig {
            min_n: self.subword_min_n,
            max_n: self.subword_max_n,
            min_words: self.subword_min_words,
            word_weight: self.subword_word_weight,
            readout_weight: self.subword_readout_weight,
        })
    }
    /// Pairs of the held-out sample (0: none).
    pub fn heldout_pairs(&self) -> usize {
        self.heldout_pairs
    }
    /// Learning-rate schedule (applies to every rate).
    pub fn schedule(&self) -> LearningRateSchedule {
        self.schedule
    }
    /// Smallest count of a word kept in the vocabulary.
    pub fn min_count(&self) -> u64 {
        self.min_count
    }
    /// Largest vocabulary size, if any.
    pub fn max_vocab(&self) -> Option<usize> {
        self.max_vocab
    }
    /// Subsampling threshold `t` (0 turns subsampling off).
    pub fn subsample(&self) -> f64 {
        self.subsample
    }
    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }
    /// Seed of every random choice (initialisation, sampling, window, subsampling).
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// How `U` and `V` start.
    pub fn embedding_init(&self) -> EmbeddingInit {
        self.embedding_init
    }
    /// How `W` starts.
    pub fn interaction_init(&self) -> InteractionInit {
        self.interaction_init
    }
    /// Focus words a thread processes between merges of its `W` gradient into the shared
    /// `W`.
    pub fn merge_interval(&self) -> usize {
        self.merge_interval
    }
    /// How the corpus is read (lowercasing, sentence markers, UTF-8 policy).
    pub fn corpus_options(&self) -> &CorpusOptions {
        &self.corpus
    }
    /// What happens to words outside the vocabulary.
    pub fn oov(&self) -> OovPolicy {
        self.oov
    }
}
