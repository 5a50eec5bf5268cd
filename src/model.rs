//! The model's parameters: focus embeddings `U`, context embeddings `V`, the interaction
//! matrix `W`, optional per-offset interactions `D_p` and optional subwords (an n-gram
//! table `Z`), and the word vectors users read from them.
//!
//! # Word vectors
//!
//! A pair (focus word `w`, context word `c`) is scored `s = v_cᵀ W u_w`. For any invertible
//! `A`, replacing `u_w → A u_w` (`U → U Aᵀ`) and `W → W A⁻¹` leaves every score unchanged,
//! and so does `V → V B`, `W → B⁻¹ W`: the scores, which are all the objective sees, fix `U`,
//! `V` and `W` only up to such changes of basis. A trained `W` far from `I` (ill-conditioned)
//! puts `U` and `V` in a distorted basis, where cosines between raw rows are not those the
//! scores imply. [`Model::word_vectors`] reads out three families of vectors
//! ([`VectorKind`], CLI names in brackets); `n` is the number of words.
//!
//! **Raw** rows of the parameters, as trained:
//!
//! * `u` ([`Focus`](VectorKind::Focus)): the rows `u_w` of `U` (with subwords, each composed
//!   with its n-grams' rows at the read-out weight: see [Subwords](#subwords)).
//! * `vw` ([`MappedContext`](VectorKind::MappedContext)): the rows of `V W`, context vectors
//!   mapped into the focus space, so that `s = (V W)_c · u_w`.
//! * `sum` ([`Sum`](VectorKind::Sum)): `U + V W`.
//! * `concat` ([`Concatenated`](VectorKind::Concatenated)): `[V W, U]` (`n×2M`) with each
//!   half's rows scaled to unit length first (zero rows stay zero), so that both halves weigh
//!   equally in a cosine.
//!
//! **Balanced**: with the SVD `W = P Σ Qᵀ`, focus vectors `F = U Q Σ^{1/2}` and context
//! vectors `C = V P Σ^{1/2}`: `W`'s stretch is split evenly between the two sides, and
//! `⟨C_c, F_w⟩ = v_cᵀ W u_w` is the score. With `W = I` they are exactly `U` and `V`.
//! `F Fᵀ = U (WᵀW)^{1/2} Uᵀ` and `C Cᵀ = V (W Wᵀ)^{1/2} Vᵀ`, so their cosines do not change
//! under orthogonal changes of basis (`A`, `B` orthogonal above) but do under general ones.
//! Kinds `balanced-focus` (`F`), `balanced-context` (`C`), `balanced-sum`
//! (`F + C`) and `balanced-concat` (`[C, F]`, each half's rows scaled to unit length).
//!
//! **Score-only**: vectors that depend on the score matrix `S = V W Uᵀ` (`n×n`, never
//! formed) alone. With `U = Q_u R_u` and `V = Q_v R_v` (`Q` with orthonormal columns,
//! computed from the eigendecompositions of the `M×M` Gram matrices: `UᵀU = E D Eᵀ`,
//! `R_u = D^{1/2} Eᵀ`, `Q_u = U E D^{-1/2}`) and the SVD `R_v W R_uᵀ = X Λ Yᵀ`:
//! `F = Q_u Y Λ^{1/2}` and `C = Q_v X Λ^{1/2}`. Then `S = C Fᵀ` is an SVD of `S` in
//! disguise (`Q_v X` and `Q_u Y` have orthonormal columns), so `F Fᵀ = (SᵀS)^{1/2}` and
//! `C Cᵀ = (S Sᵀ)^{1/2}`: every cosine between `F` rows, or between `C` rows, is unchanged
//! by every reparametrisation that keeps the scores. The cost is `O(n·M²)`. Directions of
//! `U` or `V` with a singular value below [`SCORE_RANK_TOLERANCE`] (`1e-6`) of their
//! largest count as zero (they are at the level of `f32` rounding), and so do singular
//! values of `S` up to `M·ε_f64` of the largest; columns beyond the rank of `S` are zero.
//! Kinds `score-focus`, `score-context`, `score-sum` and `score-concat`, built as the
//! balanced ones.
//!
//! **Score-only, smoothed spectrum**: `score-smoothed`
//! ([`ScoreSmoothed`](VectorKind::ScoreSmoothed), the default) is `score-concat` with the
//! singular values weighted by `Λ^{0.35}` instead of `Λ^{1/2}`
//! ([`score_read_out_weighted`], [`SMOOTHED_SPECTRAL_WEIGHT`]): `F Fᵀ = (SᵀS)^{0.35}`, so it
//! too depends on the scores alone, but the top directions of `S`, which every word shares
//! (on English Wikipedia the largest singular value is seven times the second), weigh less
//! in a cosine. `C Fᵀ` is then no longer `S`; the kinds that reproduce the scores are the
//! `p = 1/2` ones above.
//!
//! The `M×M` work (SVDs by one-sided Jacobi, eigendecompositions by Jacobi) and the Gram
//! matrices run in `f64`, the `n×M` products `F = U T`, `C = V T'` in the model's `f32`
//! ([`balanced_read_out`] and [`score_read_out`] take `f32` or `f64` matrices). At
//! `n = 63 000` words one kind takes about 0.1 s (balanced) and 0.3 s (score-only) of CPU
//! time at `M = 100`, 0.8 s and 3.5 s at `M = 300`; computing a read-out once
//! ([`Model::balanced_read_out`], [`Model::score_read_out`]) and taking its
//! [`sum`](ReadOut::sum) and [`concatenated`](ReadOut::concatenated) is cheaper than asking
//! for several kinds one by one.
//!
//! # Per-offset interactions
//!
//! A model can have one interaction `D_p` per window offset ([`OffsetInteractions`]):
//! a pair at offset `p` is scored `v_cᵀ D_p W u_w` (see [`crate::loss`]). Word vectors do
//! not know offsets, so every kind above is read out with the **effective interaction**
//! `W̄ = Σ_p π_p D_p W` in place of `W`, where `π_p` is the share of training pairs at
//! offset `p` ([`OffsetInteractions::pair_shares`]): `v_cᵀ W̄ u_w` is the score of the pair
//! averaged over the offsets it is trained at. Without per-offset interactions `W̄ = W`.
//!
//! # Subwords
//!
//! A model can have subwords ([`Subwords`], see [`crate::subwords`]): word `w`'s focus
//! vector is then `u_w = (a·x_w + Σ_{g ∈ G_w} z_g) / (a + |G_w|)`, the mean of its row `x_w`
//! of `U`, of weight `a` ([`SubwordConfig::word_weight`](crate::subwords::SubwordConfig::word_weight),
//! 2 by default), and the rows of its character n-grams in `Z`. [`Model::focus_vectors`] gives these
//! vectors. Every read-out above starts, where it says `U`, from the same mean at the
//! [`readout_weight`](crate::subwords::SubwordConfig::readout_weight) `b` (0.25 by
//! default; [`Model::readout_focus_vectors`]), which with `b ≠ a` no longer
//! reproduces the scores exactly; [`Model::focus_embeddings`] stays the words' own rows, the
//! parameters the trainer steps.

mod offsets;
mod readout;

pub use offsets::{OffsetInteractionKind, OffsetInteractions, OffsetInteractionsMut};
pub use readout::{
    MAX_SPECTRAL_WEIGHT, ReadOut, SCORE_RANK_TOLERANCE, SMOOTHED_SPECTRAL_WEIGHT,
    balanced_read_out, check_spectral_weight, score_read_out, score_read_out_weighted,
};

use ndarray::{Array2, ArrayView2, ArrayViewMut2, CowArray, Ix2};
use rand::{Rng, RngExt, SeedableRng};

use crate::error::{Error, Result};
use crate::subwords::{SubwordConfig, SubwordIndex, Subwords};

/// Mixed into the seed for the subword table's stream (the bytes of "subwords").
const SUBWORD_STREAM: u64 = 0x7375_6277_6f72_6473;
use crate::linalg::{self, Svd};

/// How `U` and `V` start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EmbeddingInit {
    /// word2vec: `U` uniform in `(-0.5, 0.5)/M`, `V` all zeros.
    #[default]
    Word2vec,
    /// The course: `U` and `V` both uniform in `(-0.5, 0.5)/M`.
    Uniform,
}

/// How `W` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum InteractionInit {
    /// `W = I`: the model starts as plain skip-gram (`s = v_cᵀ u_w`).
    #[default]
    Identity,
    /// The course: every entry uniform in `(-0.5, 0.5)/M`.
    Uniform,
}

/// Which vectors represent a word (see the [module documentation](self#word-vectors) for
/// the constructions). Every kind has a short [`name`](Self::name) for command lines.
///
/// The default is [`ScoreSmoothed`](Self::ScoreSmoothed): it depends on the model's
/// scores alone (with subwords, on the scores of the focus vectors read out, see
/// [`Model::readout_focus_vectors`]), so no reparametrisation of `U`, `V` and `W` changes
/// its cosines. On
/// English Wikipedia (BENCHMARKS.md) the score-only concatenation scored at or within noise
/// of the best of the `p = 1/2` kinds on every set but MEN, where the sums led by up to 0.014
/// and lost 9.8 points on MSR; `U` alone lost 0.011 on SimVerb, 4.7 points on MSR and 2.4
/// on BATS. Its smoothed spectrum added what [`SMOOTHED_SPECTRAL_WEIGHT`] lists (MEN
/// included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum VectorKind {
    /// `u`: rows of `U`, the focus (target) embeddings.
    Focus,
    /// `vw`: rows of `V·W`: context vectors mapped into the focus space
    /// (`s = (V W)_c · u_w`).
    MappedContext,
    /// `concat`: `[V·W, U]`, length `2M`, each half's rows scaled to unit length (zero rows
    /// stay zero), so that both halves weigh equally in a cosine.
    Concatenated,
    /// `sum`: `U + V·W`.
    Sum,
    /// `balanced-focus`: `F = U Q Σ^{1/2}` with `W = P Σ Qᵀ`.
    BalancedFocus,
    /// `balanced-context`: `C = V P Σ^{1/2}`.
    BalancedContext,
    /// `balanced-sum`: `F + C` of the balanced read-out.
    BalancedSum,
    /// `balanced-concat`: `[C, F]` of the balanced read-out, each half's rows scaled to
    /// unit length.
    BalancedConcatenated,
    /// `score-focus`: `F = Q_u Y Λ^{1/2}`, a function of the scores alone.
    ScoreFocus,
    /// `score-context`: `C = Q_v X Λ^{1/2}`.
    ScoreContext,
    /// `score-sum`: `F + C` of the score-only read-out.
    ScoreSum,
    /// `score-concat`: `[C, F]` of the score-only read-out, each half's rows scaled to unit
    /// length.
    ScoreConcatenated,
    /// `score-smoothed`: `[C, F]` of the score-only read-out with the singular values of
    /// the scores weighted by `Λ^p`, `p` = [`SMOOTHED_SPECTRAL_WEIGHT`] (0.35), instead of
    /// `Λ^{1/2}` ([`score_read_out_weighted`]), each half's rows scaled to unit length. The
    /// default.
    #[default]
    ScoreSmoothed,
}

impl VectorKind {
    /// Every kind, in a fixed order.
    pub const ALL: [VectorKind; 13] = [
        VectorKind::Focus,
        VectorKind::MappedContext,
        VectorKind::Concatenated,
        VectorKind::Sum,
        VectorKind::BalancedFocus,
        VectorKind::BalancedContext,
        VectorKind::BalancedSum,
        VectorKind::BalancedConcatenated,
        VectorKind::ScoreFocus,
        VectorKind::ScoreContext,
        VectorKind::ScoreSum,
        VectorKind::ScoreConcatenated,
        VectorKind::ScoreSmoothed,
    ];

    /// A short name: `u`, `vw`, `concat`, `sum`, `balanced-focus`, `balanced-context`,
    /// `balanced-sum`, `balanced-concat`, `score-focus`, `score-context`, `score-sum`,
    /// `score-concat` or `score-smoothed`.
    pub fn name(self) -> &'static str {
        match self {
            VectorKind::Focus => "u",
            VectorKind::MappedContext => "vw",
            VectorKind::Concatenated => "concat",
            VectorKind::Sum => "sum",
            VectorKind::BalancedFocus => "balanced-focus",
            VectorKind::BalancedContext => "balanced-context",
            VectorKind::BalancedSum => "balanced-sum",
            VectorKind::BalancedConcatenated => "balanced-concat",
            VectorKind::ScoreFocus => "score-focus",
            VectorKind::ScoreContext => "score-context",
            VectorKind::ScoreSum => "score-sum",
            VectorKind::ScoreConcatenated => "score-concat",
            VectorKind::ScoreSmoothed => "score-smoothed",
        }
    }

    /// The kind with this [`name`](Self::name), if any.
    ///
    /// ```
    /// use bilinear_skipgram::VectorKind;
    /// assert_eq!(VectorKind::from_name("score-concat"), Some(VectorKind::ScoreConcatenated));
    /// assert_eq!(VectorKind::from_name("vw"), Some(VectorKind::MappedContext));
    /// assert_eq!(VectorKind::from_name("U"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<VectorKind> {
        VectorKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// Parses a [`VectorKind::name`], as command lines take it.
///
/// ```
/// use bilinear_skipgram::VectorKind;
/// assert_eq!("score-concat".parse::<VectorKind>()?, VectorKind::ScoreConcatenated);
/// assert!("U".parse::<VectorKind>().is_err());
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
impl std::str::FromStr for VectorKind {
    type Err = Error;

    /// # Errors
    ///
    /// [`Error::InvalidArgument`] naming every kind when `name` is none of them.
    fn from_str(name: &str) -> Result<Self> {
        crate::config::parse_named(&VectorKind::ALL, VectorKind::name, "vector kind", name)
    }
}

/// `U` (`n_words×M`), `V` (`n_words×M`), `W` (`M×M`) and the per-offset interactions
/// (none unless asked for), in `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    focus: Array2<f32>,
    context: Array2<f32>,
    interaction: Array2<f32>,
    offsets: OffsetInteractions,
    subwords: Option<Subwords>,
}

fn uniform<R: Rng + ?Sized>(rows: usize, cols: usize, half_width: f32, rng: &mut R) -> Array2<f32> {
    Array2::from_shape_simple_fn((rows, cols), || {
        (rng.random::<f32>() * 2.0 - 1.0) * half_width
    })
}

impl Model {
    /// A model for `n_words` words of dimension `dim`, initialised as asked. `U` is drawn
    /// first, then `V`, then `W`, so a seed fixes the model. A model of dimension 0 can be
    /// built but not trained (the configuration refuses `dim` 0) nor saved
    /// ([`save_model`](crate::save_model) refuses it).
    ///
    /// # Example
    ///
    /// ```
    /// use bilinear_skipgram::{EmbeddingInit, InteractionInit, Model};
    /// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
    ///
    /// let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    /// let model = Model::new(10, 4, EmbeddingInit::Word2vec, InteractionInit::Identity, &mut rng);
    /// assert_eq!(model.focus_embeddings().dim(), (10, 4));
    /// assert!(model.focus_embeddings().iter().all(|x| x.abs() < 0.5 / 4.0));
    /// assert!(model.context_embeddings().iter().all(|&x| x == 0.0));
    /// assert_eq!(model.interaction()[[1, 1]], 1.0);
    /// ```
    pub fn new<R: Rng + ?Sized>(
        n_words: usize,
        dim: usize,
        embedding_init: EmbeddingInit,
        interaction_init: InteractionInit,
        rng: &mut R,
    ) -> Self {
        let half_width = 0.5 / dim.max(1) as f32;
        let focus = uniform(n_words, dim, half_width, rng);
        let context = match embedding_init {
            EmbeddingInit::Word2vec => Array2::zeros((n_words, dim)),
            EmbeddingInit::Uniform => uniform(n_words, dim, half_width, rng),
        };
        let interaction = match interaction_init {
            InteractionInit::Identity => Array2::eye(dim),
            InteractionInit::Uniform => uniform(dim, dim, half_width, rng),
        };
        Model {
            focus,
            context,
            interaction,
            offsets: OffsetInteractions::none(),
            subwords: None,
        }
    }

    /// A model for `n_words` words as the configuration asks (dimension, initialisations,
    /// per-offset interactions at the identity), drawn from an RNG seeded with the
    /// configuration's seed, without subwords (they need the vocabulary's words: see
    /// [`Model::for_vocab`], the model [`crate::train`] starts from).
    pub fn for_config(config: &crate::TrainConfig, n_words: usize) -> Self {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(config.seed());
        let mut model = Model::new(
            n_words,
            config.dim(),
            config.embedding_init(),
            config.interaction_init(),
            &mut rng,
        );
        model.offsets = OffsetInteractions::identity_unchecked(
            config.offset_interactions(),
            config.dim(),
            config.window(),
            config.window_mode(),
        );
        model
    }

    /// The model [`crate::train`] starts from for a vocabulary: [`Model::for_config`],
    /// with the subwords the configuration asks for (the vocabulary's
    /// [`SubwordIndex`] and an n-gram table uniform in `(-0.5, 0.5)/M`, drawn from its own
    /// stream of the seed, so that the other matrices do not depend on it).
    ///
    /// # Errors
    ///
    /// What [`SubwordIndex::new`] refuses.
    pub fn for_vocab(config: &crate::TrainConfig, vocab: &crate::Vocab) -> Result<Self> {
        let model = Model::for_config(config, vocab.len());
        let Some(subwords) = config.subwords() else {
            return Ok(model);
        };
        let index = SubwordIndex::new(vocab.words(), subwords)?;
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(config.seed() ^ SUBWORD_STREAM);
        let dim = config.dim();
        let table = uniform(index.n_ngrams(), dim, 0.5 / dim as f32, &mut rng);
        model.with_subwords(Subwords::new(index, table, dim)?)
    }

    /// The course's initialisation: every entry of `U`, `V` and `W` uniform in
    /// `(-0.5, 0.5)/M`.
    pub fn course<R: Rng + ?Sized>(n_words: usize, dim: usize, rng: &mut R) -> Self {
        Model::new(
            n_words,
            dim,
            EmbeddingInit::Uniform,
            InteractionInit::Uniform,
            rng,
        )
    }

    /// A model from given matrices.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] unless `focus` and `context` are both `n_words×M` and
    /// `interaction` is `M×M`; [`Error::InvalidArgument`] when `M` is 0 (a word vector
    /// needs at least one value).
    pub fn from_parts(
        focus: Array2<f32>,
        context: Array2<f32>,
        interaction: Array2<f32>,
    ) -> Result<Self> {
        let (n_words, dim) = focus.dim();
        if dim == 0 {
            return Err(Error::InvalidArgument {
                what: "focus embeddings",
                message: format!(
                    "the shape ({n_words}, 0) has no column: a word vector needs at least \
                     one value"
                ),
            });
        }
        if context.dim() != (n_words, dim) {
            return Err(Error::ShapeMismatch {
                what: "context embeddings",
                expected: vec![n_words, dim],
                found: context.shape().to_vec(),
            });
        }
        if interaction.dim() != (dim, dim) {
            return Err(Error::ShapeMismatch {
                what: "interaction",
                expected: vec![dim, dim],
                found: interaction.shape().to_vec(),
            });
        }
        Ok(Model {
            focus,
            context,
            interaction,
            offsets: OffsetInteractions::none(),
            subwords: None,
        })
    }

    /// The model with the given per-offset interactions (replacing any it had), for
    /// example [`OffsetInteractions::identity`] to start training with them.
    ///
    /// # Example
    ///
    /// ```
    /// use bilinear_skipgram::{
    ///     EmbeddingInit, InteractionInit, Model, OffsetInteractionKind, OffsetInteractions,
    ///     WindowMode,
    /// };
    /// use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};
    ///
    /// let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    /// let offsets = OffsetInteractions::identity(OffsetInteractionKind::Diagonal, 4, 5, WindowMode::Shrink)?;
    /// let model = Model::new(10, 4, EmbeddingInit::Word2vec, InteractionInit::Identity, &mut rng)
    ///     .with_offset_interactions(offsets)?;
    /// assert_eq!(model.offset_interactions().n_offsets(), 10);
    /// // At the identity the effective interaction is W itself.
    /// assert_eq!(model.effective_interaction(), model.interaction());
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the interactions are for another dimension than the
    /// model's `M`.
    pub fn with_offset_interactions(mut self, offsets: OffsetInteractions) -> Result<Self> {
        offsets.check_dim(self.dim())?;
        self.offsets = offsets;
        Ok(self)
    }

    /// The model with the given subwords (replacing any it had): each word's focus vector
    /// becomes the mean of its row of `U` and its n-grams' rows (see [`crate::subwords`]).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] unless the subwords index as many words as the model has
    /// and their table has the model's dimension.
    pub fn with_subwords(mut self, subwords: Subwords) -> Result<Self> {
        if subwords.index().n_words() != self.n_words() {
            return Err(Error::ShapeMismatch {
                what: "subword index (words)",
                expected: vec![self.n_words()],
                found: vec![subwords.index().n_words()],
            });
        }
        if subwords.table().ncols() != self.dim() {
            return Err(Error::ShapeMismatch {
                what: "subword n-gram table",
                expected: vec![subwords.index().n_ngrams(), self.dim()],
                found: subwords.table().shape().to_vec(),
            });
        }
        self.subwords = Some(subwords);
        Ok(self)
    }

    /// The model's subwords, if it has them.
    pub fn subwords(&self) -> Option<&Subwords> {
        self.subwords.as_ref()
    }

    /// The model's subwords mutably, if it has them.
    pub fn subwords_mut(&mut self) -> Option<&mut Subwords> {
        self.subwords.as_mut()
    }

    /// The focus vectors `u_w` the scores use: the rows of `U` for a model without
    /// subwords, otherwise each word's row averaged with its n-grams' rows at the
    /// [`word_weight`](crate::subwords::SubwordConfig::word_weight) (see
    /// [`crate::subwords`]).
    pub fn focus_vectors(&self) -> CowArray<'_, f32, Ix2> {
        self.focus_composed(SubwordConfig::word_weight)
    }

    /// The focus vectors every read-out of word vectors ([`word_vectors`](Self::word_vectors))
    /// starts from: [`focus_vectors`](Self::focus_vectors), except that with subwords each
    /// word's row is averaged with its n-grams' rows at the
    /// [`readout_weight`](crate::subwords::SubwordConfig::readout_weight).
    pub fn readout_focus_vectors(&self) -> CowArray<'_, f32, Ix2> {
        self.focus_composed(SubwordConfig::readout_weight)
    }

    /// `U` as it is without subwords, else each row composed with its n-grams' rows at the
    /// own-row weight `weight` picks from the subword configuration.
    fn focus_composed(&self, weight: fn(&SubwordConfig) -> f32) -> CowArray<'_, f32, Ix2> {
        match &self.subwords {
            None => CowArray::from(self.focus.view()),
            Some(s) => CowArray::from(s.compose(self.focus.view(), weight(&s.index().config()))),
        }
    }

    /// A model from given matrices and per-offset interactions.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] unless `focus` and `context` are both `n_words×M`,
    /// `interaction` is `M×M` and the per-offset interactions are for dimension `M`.
    pub fn from_parts_with_offsets(
        focus: Array2<f32>,
        context: Array2<f32>,
        interaction: Array2<f32>,
        offsets: OffsetInteractions,
    ) -> Result<Self> {
        Model::from_parts(focus, context, interaction)?.with_offset_interactions(offsets)
    }

    /// The matrices `(U, V, W)` (the per-offset interactions and subwords are dropped; see
    /// [`into_parts_with_offsets`](Self::into_parts_with_offsets)).
    pub fn into_parts(self) -> (Array2<f32>, Array2<f32>, Array2<f32>) {
        (self.focus, self.context, self.interaction)
    }

    /// `(U, V, W, per-offset interactions)` (the subwords are dropped).
    pub fn into_parts_with_offsets(
        self,
    ) -> (Array2<f32>, Array2<f32>, Array2<f32>, OffsetInteractions) {
        (self.focus, self.context, self.interaction, self.offsets)
    }

    /// Number of words (rows of `U` and `V`).
    pub fn n_words(&self) -> usize {
        self.focus.nrows()
    }

    /// Embedding dimension `M`.
    pub fn dim(&self) -> usize {
        self.focus.ncols()
    }

    /// `U`, the focus (target) embeddings: each word's own row. With subwords a word's
    /// focus vector is its row averaged with its n-grams' rows: see
    /// [`focus_vectors`](Self::focus_vectors).
    pub fn focus_embeddings(&self) -> ArrayView2<'_, f32> {
        self.focus.view()
    }

    /// `V`, the context embeddings.
    pub fn context_embeddings(&self) -> ArrayView2<'_, f32> {
        self.context.view()
    }

    /// `W`, the interaction matrix.
    pub fn interaction(&self) -> ArrayView2<'_, f32> {
        self.interaction.view()
    }

    /// The per-offset interactions ([`OffsetInteractions::none`] unless the model was built
    /// with some).
    pub fn offset_interactions(&self) -> &OffsetInteractions {
        &self.offsets
    }

    /// Mutable `U`.
    pub fn focus_embeddings_mut(&mut self) -> ArrayViewMut2<'_, f32> {
        self.focus.view_mut()
    }

    /// Mutable `V`.
    pub fn context_embeddings_mut(&mut self) -> ArrayViewMut2<'_, f32> {
        self.context.view_mut()
    }

    /// Mutable `W`.
    pub fn interaction_mut(&mut self) -> ArrayViewMut2<'_, f32> {
        self.interaction.view_mut()
    }

    /// Mutable per-offset interactions.
    pub fn offset_interactions_mut(&mut self) -> OffsetInteractionsMut<'_> {
        self.offsets.view_mut()
    }

    /// All three matrices mutably at once: `(U, V, W)`.
    pub fn parts_mut(
        &mut self,
    ) -> (
        ArrayViewMut2<'_, f32>,
        ArrayViewMut2<'_, f32>,
        ArrayViewMut2<'_, f32>,
    ) {
        (
            self.focus.view_mut(),
            self.context.view_mut(),
            self.interaction.view_mut(),
        )
    }

    /// Everything mutably at once: `(U, V, W, per-offset interactions)`.
    pub fn parts_with_offsets_mut(
        &mut self,
    ) -> (
        ArrayViewMut2<'_, f32>,
        ArrayViewMut2<'_, f32>,
        ArrayViewMut2<'_, f32>,
        OffsetInteractionsMut<'_>,
    ) {
        let (focus, context, interaction, offsets, _) = self.training_parts_mut();
        (focus, context, interaction, offsets)
    }

    /// Everything the trainer steps, mutably at once: `(U, V, W, per-offset interactions,
    /// subword table with its index)`.
    #[allow(clippy::type_complexity)]
    pub(crate) fn training_parts_mut(
        &mut self,
    ) -> (
        ArrayViewMut2<'_, f32>,
        ArrayViewMut2<'_, f32>,
        ArrayViewMut2<'_, f32>,
        OffsetInteractionsMut<'_>,
        Option<(ArrayViewMut2<'_, f32>, &SubwordIndex)>,
    ) {
        (
            self.focus.view_mut(),
            self.context.view_mut(),
            self.interaction.view_mut(),
            self.offsets.view_mut(),
            self.subwords.as_mut().map(Subwords::parts_mut),
        )
    }

    /// `W̄ = Σ_p π_p D_p W`, the interaction word vectors are read out with (see
    /// [Per-offset interactions](self#per-offset-interactions)), computed in `f64`; `W`
    /// itself (a copy) without per-offset interactions.
    pub fn effective_interaction(&self) -> Array2<f32> {
        match self.offsets.kind() {
            OffsetInteractionKind::None => self.interaction.clone(),
            _ => self.effective_interaction_f64().mapv(|x| x as f32),
        }
    }

    fn effective_interaction_f64(&self) -> Array2<f64> {
        self.offsets.effective_interaction(self.interaction.view())
    }

    /// The SVD `W = P Σ Qᵀ` (`left` = `P`, `right` = `Q`, singular values in descending
    /// order), computed in `f64` by one-sided Jacobi; [`Svd::condition_number`] gives
    /// `σ_max/σ_min`. This is `W` itself, not the effective interaction.
    ///
    /// ```
    /// use bilinear_skipgram::Model;
    /// use ndarray::{Array2, array};
    ///
    /// let model = Model::from_parts(Array2::zeros((3, 2)), Array2::zeros((3, 2)), array![[0.0, 4.4], [0.012, 0.0]])?;
    /// let svd = model.interaction_svd();
    /// assert_eq!(svd.singular_values.to_vec(), vec![4.4_f32 as f64, 0.012_f32 as f64]);
    /// assert!((svd.condition_number() - 4.4 / 0.012).abs() < 1e-3);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn interaction_svd(&self) -> Svd {
        linalg::svd(self.interaction.mapv(f64::from).view())
    }

    /// `‖W − I‖_F`, in `f64`: how far the model is from plain skip-gram.
    pub fn interaction_distance_from_identity(&self) -> f64 {
        self.interaction
            .indexed_iter()
            .map(|((i, j), &x)| {
                let d = f64::from(x) - if i == j { 1.0 } else { 0.0 };
                d * d
            })
            .sum::<f64>()
            .sqrt()
    }

    /// `V·W̄`: row `c` is `v_cᵀ W̄`, the context vector mapped into the focus space, so that
    /// the score of a pair is `(V W̄)_c · u_w`. `W̄ = W` without per-offset interactions.
    pub fn mapped_context_embeddings(&self) -> Array2<f32> {
        match self.offsets.kind() {
            OffsetInteractionKind::None => self.context.dot(&self.interaction),
            _ => self.context.dot(&self.effective_interaction()),
        }
    }

    /// The balanced read-out of the model: `F = U Q Σ^{1/2}`, `C = V P Σ^{1/2}` with
    /// `W̄ = P Σ Qᵀ` (see the [module documentation](self#word-vectors)).
    pub fn balanced_read_out(&self) -> ReadOut<f32> {
        readout::balanced(
            self.readout_focus_vectors().view(),
            self.context.view(),
            self.effective_interaction_f64().view(),
        )
    }

    /// The score-only read-out of the model: `F = Q_u Y Λ^{1/2}`, `C = Q_v X Λ^{1/2}` (see
    /// the [module documentation](self#word-vectors)).
    pub fn score_read_out(&self) -> ReadOut<f32> {
        self.score_read_out_unchecked(0.5)
    }

    /// The score-only read-out with spectral weight `weight`, checked by the caller.
    fn score_read_out_unchecked(&self, weight: f64) -> ReadOut<f32> {
        readout::score(
            self.readout_focus_vectors().view(),
            self.context.view(),
            self.effective_interaction_f64().view(),
            weight,
        )
    }

    /// The score-only read-out with spectral weight `weight`: `F = Q_u Y Λ^p`,
    /// `C = Q_v X Λ^p` with `p = weight` (see [`score_read_out_weighted`]); `weight = 0.5`
    /// is [`score_read_out`](Self::score_read_out).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] unless `0 ≤ weight ≤`
    /// [`MAX_SPECTRAL_WEIGHT`].
    pub fn score_read_out_weighted(&self, weight: f64) -> Result<ReadOut<f32>> {
        readout::check_spectral_weight(weight)?;
        Ok(self.score_read_out_unchecked(weight))
    }

    /// The word vectors of the given kind, one row per word (see the
    /// [module documentation](self#word-vectors) for every construction).
    ///
    /// # Example
    ///
    /// ```
    /// use bilinear_skipgram::{Model, VectorKind};
    /// use ndarray::array;
    ///
    /// let model = Model::from_parts(
    ///     array![[1.0, 0.0]],
    ///     array![[0.0, 1.0]],
    ///     array![[2.0, 0.0], [0.0, 3.0]],
    /// )?;
    /// assert_eq!(model.word_vectors(VectorKind::MappedContext), array![[0.0, 3.0]]);
    /// // Each half scaled to unit length: [V·W / |V·W|, U / |U|].
    /// assert_eq!(model.word_vectors(VectorKind::Concatenated), array![[0.0, 1.0, 1.0, 0.0]]);
    /// assert_eq!(model.word_vectors(VectorKind::Sum), array![[1.0, 3.0]]);
    /// // W = P Σ Qᵀ with Σ = diag(3, 2): F = U Q Σ^{1/2}, C = V P Σ^{1/2}, ⟨C, F⟩ = 0 = v W u.
    /// let f = model.word_vectors(VectorKind::BalancedFocus);
    /// let c = model.word_vectors(VectorKind::BalancedContext);
    /// assert_eq!(c.row(0).dot(&f.row(0)), 0.0);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn word_vectors(&self, kind: VectorKind) -> Array2<f32> {
        match kind {
            VectorKind::Focus => self.readout_focus_vectors().into_owned(),
            VectorKind::MappedContext => self.mapped_context_embeddings(),
            VectorKind::Concatenated => readout::concatenate_unit_rows(
                self.mapped_context_embeddings().view(),
                self.readout_focus_vectors().view(),
            ),
            VectorKind::Sum => self.mapped_context_embeddings() + &self.readout_focus_vectors(),
            VectorKind::BalancedFocus => self.balanced_read_out().focus,
            VectorKind::BalancedContext => self.balanced_read_out().context,
            VectorKind::BalancedSum => self.balanced_read_out().sum(),
            VectorKind::BalancedConcatenated => self.balanced_read_out().concatenated(),
            VectorKind::ScoreFocus => self.score_read_out().focus,
            VectorKind::ScoreContext => self.score_read_out().context,
            VectorKind::ScoreSum => self.score_read_out().sum(),
            VectorKind::ScoreConcatenated => self.score_read_out().concatenated(),
            VectorKind::ScoreSmoothed => self
                .score_read_out_unchecked(SMOOTHED_SPECTRAL_WEIGHT)
                .concatenated(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::Xoshiro256PlusPlus};

    #[test]
    fn course_init_is_uniform_in_range_and_seeded() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let a = Model::course(50, 8, &mut rng);
        let bound = 0.5 / 8.0;
        for m in [
            a.focus_embeddings(),
            a.context_embeddings(),
            a.interaction(),
        ] {
            assert!(m.iter().all(|x| x.abs() <= bound));
            let mean = m.iter().map(|&x| f64::from(x)).sum::<f64>() / m.len() as f64;
            assert!(mean.abs() < 0.01, "mean {mean}");
            let spread = m.iter().map(|&x| f64::from(x.abs())).sum::<f64>() / m.len() as f64;
            assert!(
                spread > bound as f64 * 0.3,
                "entries are not spread: {spread}"
            );
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        assert_eq!(a, Model::course(50, 8, &mut rng));
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        assert_ne!(a, Model::course(50, 8, &mut rng));
    }

    #[test]
    fn from_parts_checks_shapes() {
        let ok = Model::from_parts(
            Array2::zeros((3, 2)),
            Array2::zeros((3, 2)),
            Array2::zeros((2, 2)),
        );
        assert!(ok.is_ok());
        let err = Model::from_parts(
            Array2::zeros((3, 2)),
            Array2::zeros((4, 2)),
            Array2::zeros((2, 2)),
        )
        .expect_err("V has 4 rows");
        assert_eq!(
            err.to_string(),
            "shape mismatch for context embeddings: expected [3, 2], found [4, 2]"
        );
        assert!(matches!(
            Model::from_parts(
                Array2::zeros((3, 2)),
                Array2::zeros((3, 2)),
                Array2::zeros((3, 3)),
            ),
            Err(Error::ShapeMismatch {
                what: "interaction",
                ..
            })
        ));
    }

    #[test]
    fn word_vectors_shapes_and_values() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let model = Model::course(5, 3, &mut rng);
        let vw = model.word_vectors(VectorKind::MappedContext);
        let expected = model.context_embeddings().dot(&model.interaction());
        assert_eq!(vw, expected);
        let concat = model.word_vectors(VectorKind::Concatenated);
        assert_eq!(concat.dim(), (5, 6));
        for (row, (u, vw)) in concat
            .rows()
            .into_iter()
            .zip(model.focus_embeddings().rows().into_iter().zip(vw.rows()))
        {
            let (left, right) = (row.slice(ndarray::s![..3]), row.slice(ndarray::s![3..]));
            assert!((left.dot(&left) - 1.0).abs() < 1e-6 && (right.dot(&right) - 1.0).abs() < 1e-6);
            let (nu, nvw) = (u.dot(&u).sqrt(), vw.dot(&vw).sqrt());
            for k in 0..3 {
                assert!((right[k] - u[k] / nu).abs() < 1e-6);
                assert!((left[k] - vw[k] / nvw).abs() < 1e-6);
            }
        }
        let sum = model.word_vectors(VectorKind::Sum);
        assert_eq!(sum, &expected + &model.focus_embeddings());
    }
}
