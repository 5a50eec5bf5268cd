#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

// Not API: hooks for the crate's own criterion benches (see the module docs).
#[doc(hidden)]
pub mod bench_support;
pub mod checkpoint;
pub mod config;
pub mod corpus;
pub mod embeddings;
pub mod error;
pub mod eval;
mod fingerprint;
mod hogwild;
pub mod io;
mod kernels;
mod linalg;
pub mod loss;
pub mod model;
#[cfg(feature = "plot")]
pub mod plot;
mod preflight;
pub mod sampling;
#[cfg(feature = "serde")]
mod serde_impls;
pub mod sgd;
pub mod subwords;
pub mod vocab;

// The public API takes and returns ndarray 0.17 arrays and rand 0.10 generators: the exact
// versions, for callers that do not depend on them directly or pin other versions.
pub use ndarray;
pub use rand;

pub use checkpoint::{Checkpoint, CheckpointOptions};
pub use config::{
    InteractionOptimizer, LearningRateSchedule, TrainConfig, TrainConfigBuilder, WindowMode,
};
pub use corpus::{Corpus, CorpusOptions, Utf8Policy};
pub use embeddings::{Embeddings, Neighbour, SearchOptions};
pub use error::{ConfigError, Error, OptionDifference, Result, SamplingError};
pub use eval::AnalogyMethod;
#[cfg(feature = "finalfusion")]
pub use io::{FinalfusionVectors, read_finalfusion, read_finalfusion_metadata, write_finalfusion};
pub use io::{
    Word2vecFormat, load_model, read_matrix, read_word_vectors, read_word2vec, save_model,
    write_matrix, write_model, write_trained, write_word2vec_binary, write_word2vec_text,
};
pub use linalg::Svd;
pub use model::{
    EmbeddingInit, InteractionInit, Model, OffsetInteractionKind, OffsetInteractions, VectorKind,
};
pub use sampling::NegativeSampler;
pub use sgd::{
    HeldOut, InteractionDiagnostics, NoProgress, Observer, Progress, TrainReport, Trained,
    course_minibatch_step, resume, train, train_checkpointed, train_course, train_model,
};
pub use vocab::{OovPolicy, Vocab, VocabBuilder};

/// The names a typical program needs: `use bilinear_skipgram::prelude::*;`.
///
/// Train ([`train`] with a [`TrainConfig`] on a [`Corpus`], progress through a closure
/// over [`Progress`], or [`NoProgress`]), save and load the [`Trained`] model, query it as
/// [`Embeddings`] of a [`VectorKind`], export it ([`Word2vecFormat`]) and handle an
/// [`Error`].
pub mod prelude {
    pub use crate::{
        Corpus, Embeddings, Error, NoProgress, Progress, TrainConfig, Trained, VectorKind,
        Word2vecFormat, train,
    };
}
