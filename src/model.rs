//! The model's parameters: focus embeddings `U`, context embeddings `V` and the
//! interaction matrix `W`, and the word vectors users read from them.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, concatenate};
use rand::{Rng, RngExt, SeedableRng};

use crate::error::{Error, Result};

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

/// Which vectors represent a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum VectorKind {
    /// Rows of `U`, the focus (target) embeddings.
    #[default]
    Focus,
    /// Rows of `V·W`: context vectors mapped into the focus space (`s = (V W)_c · u_w`).
    MappedContext,
    /// `[V·W, U]`, length `2M`.
    Concatenated,
    /// `U + V·W`.
    Sum,
}

impl VectorKind {
    /// Every kind, in a fixed order.
    pub const ALL: [VectorKind; 4] = [
        VectorKind::Focus,
        VectorKind::MappedContext,
        VectorKind::Concatenated,
        VectorKind::Sum,
    ];

    /// A short name: `u`, `vw`, `concat` or `sum`.
    pub fn name(self) -> &'static str {
        match self {
            VectorKind::Focus => "u",
            VectorKind::MappedContext => "vw",
            VectorKind::Concatenated => "concat",
            VectorKind::Sum => "sum",
        }
    }
}

/// `U` (`n_words×M`), `V` (`n_words×M`) and `W` (`M×M`), in `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    focus: Array2<f32>,
    context: Array2<f32>,
    interaction: Array2<f32>,
}

fn uniform<R: Rng + ?Sized>(rows: usize, cols: usize, half_width: f32, rng: &mut R) -> Array2<f32> {
    Array2::from_shape_simple_fn((rows, cols), || {
        (rng.random::<f32>() * 2.0 - 1.0) * half_width
    })
}

impl Model {
    /// A model for `n_words` words of dimension `dim`, initialised as asked. `U` is drawn
    /// first, then `V`, then `W`, so a seed fixes the model.
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
        }
    }

    /// A model for `n_words` words as the configuration asks (dimension, initialisations),
    /// drawn from an RNG seeded with the configuration's seed: the model [`crate::train`]
    /// starts from.
    pub fn for_config(config: &crate::TrainConfig, n_words: usize) -> Self {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(config.seed());
        Model::new(
            n_words,
            config.dim(),
            config.embedding_init(),
            config.interaction_init(),
            &mut rng,
        )
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
    /// `interaction` is `M×M`.
    pub fn from_parts(
        focus: Array2<f32>,
        context: Array2<f32>,
        interaction: Array2<f32>,
    ) -> Result<Self> {
        let (n_words, dim) = focus.dim();
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
        })
    }

    /// The matrices `(U, V, W)`.
    pub fn into_parts(self) -> (Array2<f32>, Array2<f32>, Array2<f32>) {
        (self.focus, self.context, self.interaction)
    }

    /// Number of words (rows of `U` and `V`).
    pub fn n_words(&self) -> usize {
        self.focus.nrows()
    }

    /// Embedding dimension `M`.
    pub fn dim(&self) -> usize {
        self.focus.ncols()
    }

    /// `U`, the focus (target) embeddings.
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

    /// `V·W`: row `c` is `v_cᵀ W`, the context vector mapped into the focus space, so that
    /// the score of a pair is `(V W)_c · u_w`.
    pub fn mapped_context_embeddings(&self) -> Array2<f32> {
        self.context.dot(&self.interaction)
    }

    /// The word vectors of the given kind, one row per word.
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
    /// assert_eq!(model.word_vectors(VectorKind::Concatenated), array![[0.0, 3.0, 1.0, 0.0]]);
    /// assert_eq!(model.word_vectors(VectorKind::Sum), array![[1.0, 3.0]]);
    /// # Ok::<(), bilinear_skipgram::Error>(())
    /// ```
    pub fn word_vectors(&self, kind: VectorKind) -> Array2<f32> {
        match kind {
            VectorKind::Focus => self.focus.clone(),
            VectorKind::MappedContext => self.mapped_context_embeddings(),
            VectorKind::Concatenated => {
                let mapped = self.mapped_context_embeddings();
                // Both have n_words rows by construction, so this cannot fail; fall back to
                // the mapped vectors rather than panic.
                concatenate(Axis(1), &[mapped.view(), self.focus.view()]).unwrap_or(mapped)
            }
            VectorKind::Sum => self.mapped_context_embeddings() + &self.focus,
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
        assert_eq!(concat.slice(ndarray::s![.., 3..]), model.focus_embeddings());
        let sum = model.word_vectors(VectorKind::Sum);
        assert_eq!(sum, &expected + &model.focus_embeddings());
    }
}
