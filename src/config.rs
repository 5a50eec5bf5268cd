//! Training configuration, checked when it is built so that no invalid configuration can
//! exist.

use crate::corpus::{CorpusOptions, Utf8Policy};
use crate::error::{ConfigError, Error};
use crate::model::{EmbeddingInit, InteractionInit, OffsetInteractionKind};
use crate::vocab::OovPolicy;

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
            corpus: CorpusOptions::default(),
            oov: OovPolicy::Drop,
        }
    }
}

/// The default initial learning rate of `U` and `V`: 0.05, twice word2vec's 0.025.
///
/// Measured on English Wikipedia (BENCHMARKS.md, "Embedding quality on English Wikipedia"):
/// with the default per-offset interactions and vectors, five epochs at 0.05 scored MEN
/// 0.559 against 0.536 at 0.025, MTurk-771 0.522 against 0.494 and SimVerb 0.133 against
/// 0.126 and MSR 35.1 % against 34.8 %; RW and BATS preferred 0.025 (0.420 against 0.409,
/// 14.8 % against 14.2 %). word2vec C and gensim gain as much from 0.05. On a small corpus
/// a lower rate can be better; set [`TrainConfigBuilder::learning_rate`] for it.
pub const DEFAULT_LEARNING_RATE: f32 = 0.05;

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
/// (AdaGrad, rows at 0.05) kept MEN and MTurk-771 and scored SimVerb 0.126 against 0.116;
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
    /// The per-offset interactions `D_p` the model has: none (the default), diagonal or full.
    pub fn offset_interactions(&self) -> OffsetInteractionKind {
        self.offset_interactions
    }
    /// Initial learning rate of the per-offset interactions; 0 freezes them.
    pub fn offset_learning_rate(&self) -> f32 {
        self.offset_learning_rate
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

/// Builds a [`TrainConfig`]; every value is checked by [`TrainConfigBuilder::build`].
#[derive(Debug, Clone)]
pub struct TrainConfigBuilder {
    config: TrainConfig,
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
        let c = self.config;
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

/// One configuration value in [`TrainConfig::fields`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FieldValue<'a> {
    /// An integer.
    Int(u64),
    /// An `f32` (printed with its shortest decimal).
    F32(f32),
    /// An `f64`.
    F64(f64),
    /// A switch.
    Bool(bool),
    /// One of a few names (an enum).
    Name(&'a str),
}

impl std::fmt::Display for FieldValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Int(n) => write!(f, "{n}"),
            // `{:?}` prints the shortest decimal that reads back to the same bits, always
            // with a decimal point (`1.0`, `0.025`), as TOML floats need.
            FieldValue::F32(x) => write!(f, "{x:?}"),
            FieldValue::F64(x) => write!(f, "{x:?}"),
            FieldValue::Bool(b) => write!(f, "{b}"),
            FieldValue::Name(name) => write!(f, "\"{name}\""),
        }
    }
}

pub(crate) fn window_mode_name(mode: WindowMode) -> &'static str {
    match mode {
        WindowMode::Shrink => "shrink",
        WindowMode::Fixed => "fixed",
    }
}

fn schedule_name(schedule: LearningRateSchedule) -> &'static str {
    match schedule {
        LearningRateSchedule::Linear => "linear",
        LearningRateSchedule::Constant => "constant",
    }
}

fn embedding_init_name(init: EmbeddingInit) -> &'static str {
    match init {
        EmbeddingInit::Word2vec => "word2vec",
        EmbeddingInit::Uniform => "uniform",
    }
}

fn interaction_init_name(init: InteractionInit) -> &'static str {
    match init {
        InteractionInit::Identity => "identity",
        InteractionInit::Uniform => "uniform",
    }
}

fn utf8_name(utf8: Utf8Policy) -> &'static str {
    match utf8 {
        Utf8Policy::Strict => "strict",
        Utf8Policy::Lossy => "lossy",
    }
}

/// The name an out-of-vocabulary policy is written and read as: `drop` or `unk`.
pub(crate) fn oov_name(oov: OovPolicy) -> &'static str {
    match oov {
        OovPolicy::Drop => "drop",
        OovPolicy::Unk => "unk",
    }
}

impl TrainConfig {
    /// Every field with its value, in a fixed order; `max_vocab` only when set.
    pub(crate) fn fields(&self) -> Vec<(&'static str, FieldValue<'static>)> {
        use FieldValue::{Bool, F32, F64, Int, Name};
        let mut fields = vec![
            ("dim", Int(self.dim as u64)),
            ("window", Int(self.window as u64)),
            ("window_mode", Name(window_mode_name(self.window_mode))),
            ("negatives", Int(self.negatives as u64)),
            ("negative_power", F64(self.negative_power)),
            ("epochs", Int(self.epochs as u64)),
            ("learning_rate", F32(self.learning_rate)),
            (
                "interaction_learning_rate",
                F32(self.interaction_learning_rate),
            ),
            (
                "interaction_optimizer",
                Name(self.interaction_optimizer.name()),
            ),
            ("interaction_decay", F32(self.interaction_decay)),
            ("offset_interactions", Name(self.offset_interactions.name())),
            ("offset_learning_rate", F32(self.offset_learning_rate)),
            ("learning_rate_schedule", Name(schedule_name(self.schedule))),
            ("min_count", Int(self.min_count)),
        ];
        if let Some(max_vocab) = self.max_vocab {
            fields.push(("max_vocab", Int(max_vocab as u64)));
        }
        fields.extend([
            ("subsample", F64(self.subsample)),
            ("threads", Int(self.threads as u64)),
            ("seed", Int(self.seed)),
            (
                "embedding_init",
                Name(embedding_init_name(self.embedding_init)),
            ),
            (
                "interaction_init",
                Name(interaction_init_name(self.interaction_init)),
            ),
            ("merge_interval", Int(self.merge_interval as u64)),
            ("heldout_pairs", Int(self.heldout_pairs as u64)),
            ("lowercase", Bool(self.corpus.lowercase)),
            ("markers", Bool(self.corpus.markers)),
            ("utf8", Name(utf8_name(self.corpus.utf8))),
            ("oov", Name(oov_name(self.oov))),
        ]);
        fields
    }

    /// The configuration as text, one `key = value` line per field (valid TOML), which
    /// [`TrainConfig::from_text`] reads back to an equal configuration.
    ///
    /// ```
    /// use bilinear_skipgram::TrainConfig;
    ///
    /// let config = TrainConfig::builder().dim(50).learning_rate(0.05).build()?;
    /// let text = config.to_text();
    /// assert!(text.contains("dim = 50\n"));
    /// assert_eq!(TrainConfig::from_text(&text)?, config);
    /// # Ok::<(), bilinear_skipgram::ConfigError>(())
    /// ```
    pub fn to_text(&self) -> String {
        self.fields()
            .iter()
            .map(|(key, value)| format!("{key} = {value}\n"))
            .collect()
    }

    /// Reads the text [`TrainConfig::to_text`] writes. Every field must be present once
    /// (`max_vocab` is optional, and so are the fields added after the first release, which
    /// take their defaults when missing, so that older checkpoints still read: see
    /// [`ADDED_FIELDS`]) and the values pass the same checks as
    /// [`TrainConfigBuilder::build`]. Empty lines and lines starting with `#` are ignored.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Parse`] naming the one-based line for a malformed line, an unknown,
    /// repeated or missing key or a value of the wrong kind; otherwise whatever
    /// [`TrainConfigBuilder::build`] rejects.
    pub fn from_text(text: &str) -> Result<TrainConfig, ConfigError> {
        let mut values: Vec<(&str, &str, usize)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(parse_error(
                    line_no,
                    format!("expected `key = value`, got {line:?}"),
                ));
            };
            let (key, value) = (key.trim(), value.trim());
            if values.iter().any(|&(k, _, _)| k == key) {
                return Err(parse_error(line_no, format!("`{key}` is given twice")));
            }
            values.push((key, value, line_no));
        }
        let defaults = TrainConfig::default();
        let mut config = defaults.clone();
        config.max_vocab = None;
        for (key, value, line_no) in values {
            let expected = defaults
                .fields()
                .into_iter()
                .chain([("max_vocab", FieldValue::Int(0))])
                .find(|&(k, _)| k == key)
                .map(|(_, v)| v)
                .ok_or_else(|| parse_error(line_no, format!("unknown key `{key}`")))?;
            let parsed = parse_value(value, expected)
                .ok_or_else(|| parse_error(line_no, format!("bad value for `{key}`: {value}")))?;
            set_field(&mut config, key, parsed)
                .ok_or_else(|| parse_error(line_no, format!("bad value for `{key}`: {value}")))?;
        }
        let given: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
            .collect();
        if let Some((missing, _)) = defaults
            .fields()
            .into_iter()
            .find(|(k, _)| !given.contains(k) && !ADDED_FIELDS.contains(k))
        {
            return Err(parse_error(
                text.lines().count() + 1,
                format!("`{missing}` is missing"),
            ));
        }
        TrainConfigBuilder { config }.build()
    }
}

/// Configuration fields added after the first release: [`TrainConfig::from_text`] gives
/// them their default values when they are missing (older checkpoints do not have them).
pub const ADDED_FIELDS: &[&str] = &[
    "interaction_optimizer",
    "interaction_decay",
    "heldout_pairs",
    "offset_interactions",
    "offset_learning_rate",
];

fn parse_error(line: usize, message: String) -> ConfigError {
    ConfigError::Parse { line, message }
}

/// `text` read as the same kind of value as `like`.
fn parse_value<'t>(text: &'t str, like: FieldValue<'_>) -> Option<FieldValue<'t>> {
    Some(match like {
        FieldValue::Int(_) => FieldValue::Int(text.parse().ok()?),
        FieldValue::F32(_) => FieldValue::F32(text.parse().ok()?),
        FieldValue::F64(_) => FieldValue::F64(text.parse().ok()?),
        FieldValue::Bool(_) => FieldValue::Bool(text.parse().ok()?),
        FieldValue::Name(_) => FieldValue::Name(text.strip_prefix('"')?.strip_suffix('"')?),
    })
}

/// Sets field `key` of `c`; `None` if the value does not fit the field.
pub(crate) fn set_field(c: &mut TrainConfig, key: &str, value: FieldValue<'_>) -> Option<()> {
    use FieldValue::{Bool, F32, F64, Int, Name};
    let size = |n: u64| usize::try_from(n).ok();
    match (key, value) {
        ("dim", Int(n)) => c.dim = size(n)?,
        ("window", Int(n)) => c.window = size(n)?,
        ("negatives", Int(n)) => c.negatives = size(n)?,
        ("epochs", Int(n)) => c.epochs = size(n)?,
        ("min_count", Int(n)) => c.min_count = n,
        ("max_vocab", Int(n)) => c.max_vocab = Some(size(n)?),
        ("threads", Int(n)) => c.threads = size(n)?,
        ("seed", Int(n)) => c.seed = n,
        ("merge_interval", Int(n)) => c.merge_interval = size(n)?,
        ("heldout_pairs", Int(n)) => c.heldout_pairs = size(n)?,
        ("negative_power", F64(x)) => c.negative_power = x,
        ("subsample", F64(x)) => c.subsample = x,
        ("learning_rate", F32(x)) => c.learning_rate = x,
        ("interaction_learning_rate", F32(x)) => c.interaction_learning_rate = x,
        ("interaction_decay", F32(x)) => c.interaction_decay = x,
        ("offset_learning_rate", F32(x)) => c.offset_learning_rate = x,
        ("offset_interactions", Name(n)) => {
            c.offset_interactions = OffsetInteractionKind::from_name(n)?;
        }
        ("interaction_optimizer", Name(n)) => {
            c.interaction_optimizer = InteractionOptimizer::ALL
                .into_iter()
                .find(|&m| m.name() == n)?;
        }
        ("lowercase", Bool(b)) => c.corpus.lowercase = b,
        ("markers", Bool(b)) => c.corpus.markers = b,
        ("window_mode", Name(n)) => {
            c.window_mode = [WindowMode::Shrink, WindowMode::Fixed]
                .into_iter()
                .find(|&m| window_mode_name(m) == n)?;
        }
        ("learning_rate_schedule", Name(n)) => {
            c.schedule = [LearningRateSchedule::Linear, LearningRateSchedule::Constant]
                .into_iter()
                .find(|&m| schedule_name(m) == n)?;
        }
        ("embedding_init", Name(n)) => {
            c.embedding_init = [EmbeddingInit::Word2vec, EmbeddingInit::Uniform]
                .into_iter()
                .find(|&m| embedding_init_name(m) == n)?;
        }
        ("interaction_init", Name(n)) => {
            c.interaction_init = [InteractionInit::Identity, InteractionInit::Uniform]
                .into_iter()
                .find(|&m| interaction_init_name(m) == n)?;
        }
        ("utf8", Name(n)) => {
            c.corpus.utf8 = [Utf8Policy::Strict, Utf8Policy::Lossy]
                .into_iter()
                .find(|&m| utf8_name(m) == n)?;
        }
        ("oov", Name(n)) => {
            c.oov = [OovPolicy::Drop, OovPolicy::Unk]
                .into_iter()
                .find(|&m| oov_name(m) == n)?;
        }
        _ => return None,
    }
    Some(())
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
fn decimal(x: f32) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn err(b: TrainConfigBuilder) -> ConfigError {
        match b.build() {
            Ok(c) => panic!("accepted {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn defaults_are_valid() {
        let c = TrainConfig::builder().build().expect("defaults");
        assert_eq!(c, TrainConfig::default());
        assert_eq!(c.learning_rate(), DEFAULT_LEARNING_RATE);
        assert_eq!(c.offset_interactions(), OffsetInteractionKind::Diagonal);
        assert_eq!(c.interaction_optimizer(), InteractionOptimizer::AdaGrad);
        assert_eq!(c.window_mode(), WindowMode::Shrink);
    }

    #[test]
    fn each_integer_rule_names_field_and_value() {
        let b = TrainConfig::builder;
        let cases: Vec<(TrainConfigBuilder, ConfigError)> = vec![
            (
                b().dim(0),
                ConfigError::TooSmall {
                    field: "dim",
                    min: 1,
                    value: 0,
                },
            ),
            (
                b().dim(10_001),
                ConfigError::TooLarge {
                    field: "dim",
                    max: 10_000,
                    value: 10_001,
                },
            ),
            (
                b().window(0),
                ConfigError::TooSmall {
                    field: "window",
                    min: 1,
                    value: 0,
                },
            ),
            (
                b().negatives(0),
                ConfigError::TooSmall {
                    field: "negatives",
                    min: 1,
                    value: 0,
                },
            ),
            (
                b().epochs(0),
                ConfigError::TooSmall {
                    field: "epochs",
                    min: 1,
                    value: 0,
                },
            ),
            (
                b().min_count(0),
                ConfigError::TooSmall {
                    field: "min_count",
                    min: 1,
                    value: 0,
                },
            ),
            (
                b().max_vocab(Some(0)),
                ConfigError::TooSmall {
                    field: "max_vocab",
                    min: 1,
                    value: 0,
                },
            ),
            (
                b().threads(0),
                ConfigError::TooSmall {
                    field: "threads",
                    min: 1,
                    value: 0,
                },
            ),
            (
                b().threads(5000),
                ConfigError::TooLarge {
                    field: "threads",
                    max: 1024,
                    value: 5000,
                },
            ),
            (
                b().merge_interval(0),
                ConfigError::TooSmall {
                    field: "merge_interval",
                    min: 1,
                    value: 0,
                },
            ),
            (
                b().heldout_pairs(1_000_001),
                ConfigError::TooLarge {
                    field: "heldout_pairs",
                    max: 1_000_000,
                    value: 1_000_001,
                },
            ),
        ];
        for (builder, expected) in cases {
            assert_eq!(err(builder), expected);
        }
    }

    #[test]
    fn each_float_rule_names_field_and_value() {
        let b = TrainConfig::builder;
        assert_eq!(
            err(b().learning_rate(f32::NAN)).to_string(),
            "`learning_rate` must be finite, got NaN"
        );
        assert_eq!(
            err(b().learning_rate(0.0)),
            ConfigError::OutOfRange {
                field: "learning_rate",
                range: "(0, 100]",
                value: 0.0
            }
        );
        assert_eq!(
            err(b().interaction_learning_rate(-1.0)),
            ConfigError::OutOfRange {
                field: "interaction_learning_rate",
                range: "[0, 100]",
                value: -1.0
            }
        );
        assert_eq!(
            err(b().interaction_learning_rate(f32::INFINITY)),
            ConfigError::NotFinite {
                field: "interaction_learning_rate",
                value: f64::INFINITY
            }
        );
        assert_eq!(
            err(b().subsample(1.0)),
            ConfigError::OutOfRange {
                field: "subsample",
                range: "[0, 1)",
                value: 1.0
            }
        );
        assert_eq!(
            err(b().subsample(-0.1)).to_string(),
            "`subsample` must lie in [0, 1), got -0.1"
        );
        assert_eq!(
            err(b().negative_power(f64::NEG_INFINITY)),
            ConfigError::NotFinite {
                field: "negative_power",
                value: f64::NEG_INFINITY
            }
        );
        assert_eq!(
            err(b().negative_power(-0.5)),
            ConfigError::OutOfRange {
                field: "negative_power",
                range: "[0, 10]",
                value: -0.5
            }
        );
        assert_eq!(
            err(b().interaction_decay(-0.5)),
            ConfigError::OutOfRange {
                field: "interaction_decay",
                range: "[0, 100]",
                value: -0.5
            }
        );
        assert_eq!(
            err(b().interaction_decay(f32::NAN)).to_string(),
            "`interaction_decay` must be finite, got NaN"
        );
        assert_eq!(
            err(b().offset_learning_rate(-0.5)),
            ConfigError::OutOfRange {
                field: "offset_learning_rate",
                range: "[0, 100]",
                value: -0.5
            }
        );
        // An f32 value is shown as given, not widened to 0.10000000149011612.
        assert_eq!(
            err(b().offset_learning_rate(-0.1)).to_string(),
            "`offset_learning_rate` must lie in [0, 100], got -0.1"
        );
        assert_eq!(
            err(b().learning_rate(1e30)).to_string(),
            "`learning_rate` must lie in (0, 100], got 1e30"
        );
        let huge = b()
            .offset_interactions(OffsetInteractionKind::Full)
            .dim(10_000)
            .window(10);
        assert!(matches!(
            err(huge),
            ConfigError::TooLarge {
                max: MAX_OFFSET_FLOATS,
                value: 2_000_000_000,
                ..
            }
        ));
        let diagonal = b()
            .offset_interactions(OffsetInteractionKind::Diagonal)
            .dim(10_000)
            .window(10);
        assert!(diagonal.build().is_ok());
    }

    #[test]
    fn text_round_trips_every_field() {
        let config = TrainConfig::builder()
            .dim(7)
            .window(2)
            .window_mode(WindowMode::Fixed)
            .negatives(9)
            .negative_power(0.5)
            .epochs(3)
            .learning_rate(0.1 + 0.2)
            .interaction_learning_rate(1e-7)
            .schedule(LearningRateSchedule::Constant)
            .min_count(2)
            .max_vocab(Some(1234))
            .subsample(1.5e-5)
            .threads(3)
            .seed(u64::MAX)
            .embedding_init(EmbeddingInit::Uniform)
            .interaction_init(InteractionInit::Uniform)
            .merge_interval(17)
            .interaction_optimizer(InteractionOptimizer::AdaGrad)
            .interaction_decay(0.25)
            .offset_interactions(OffsetInteractionKind::Full)
            .offset_learning_rate(0.125)
            .heldout_pairs(77)
            .markers(true)
            .lowercase(false)
            .utf8(Utf8Policy::Lossy)
            .oov(OovPolicy::Unk)
            .build()
            .expect("config");
        assert_eq!(TrainConfig::from_text(&config.to_text()), Ok(config));
        let default = TrainConfig::default();
        assert_eq!(TrainConfig::from_text(&default.to_text()), Ok(default));
    }

    #[test]
    fn bad_text_names_the_line() {
        let good = TrainConfig::default().to_text();
        let line_of = |text: &str| match TrainConfig::from_text(text) {
            Err(ConfigError::Parse { line, message }) => (line, message),
            other => panic!("{other:?}"),
        };
        let (line, message) = line_of(&good.replace("dim = 100", "dim = lots"));
        assert_eq!((line, message.contains("dim")), (1, true));
        let (line, message) = line_of(&format!("{good}colour = \"blue\"\n"));
        assert!(message.contains("unknown key `colour`"), "{message}");
        assert_eq!(line, good.lines().count() + 1);
        let (_, message) = line_of(&format!("{good}dim = 5\n"));
        assert!(message.contains("twice"), "{message}");
        let (_, message) = line_of(&good.replace("seed = 1\n", ""));
        assert!(message.contains("`seed` is missing"), "{message}");
        // Fields added later take their defaults when missing (older checkpoints).
        let mut older = good.clone();
        for key in ADDED_FIELDS {
            older = older
                .lines()
                .filter(|l| !l.starts_with(&format!("{key} =")))
                .map(|l| format!("{l}\n"))
                .collect();
        }
        assert_ne!(older, good);
        assert_eq!(TrainConfig::from_text(&older), Ok(TrainConfig::default()));
        let (_, message) = line_of(
            &good
                .replace("\"adagrad\"", "\"adam\"")
                .replace("\"sgd\"", "\"adam\""),
        );
        assert!(message.contains("interaction_optimizer"), "{message}");
        let (_, message) = line_of(&good.replace("\"shrink\"", "\"wide\""));
        assert!(message.contains("window_mode"), "{message}");
        let (line, _) = line_of(&good.replace("window = 5", "window 5"));
        assert_eq!(line, 2);
        // Values are checked as the builder checks them.
        assert!(matches!(
            TrainConfig::from_text(&good.replace("dim = 100", "dim = 0")),
            Err(ConfigError::TooSmall { field: "dim", .. })
        ));
    }
}
