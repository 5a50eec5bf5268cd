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
pub mod vocab;

// The public API takes and returns ndarray 0.17 arrays and rand 0.10 generators: the exact
// versions, for callers that do not depend on them directly or pin other versions.
pub use ndarray;
pub use rand;

pub use checkpoint::{Checkpoint, CheckpointOptions, OptimizerState, TrainState};
pub use config::{
    ADAGRAD_EPSILON, DEFAULT_HELDOUT_PAIRS, DEFAULT_INTERACTION_LEARNING_RATE,
    DEFAULT_OFFSET_LEARNING_RATE, InteractionOptimizer, LearningRateSchedule, MAX_OFFSET_FLOATS,
    TrainConfig, TrainConfigBuilder, WindowMode,
};
pub use corpus::{
    Corpus, CorpusOptions, END_MARKER, MAX_SENTENCE_BYTES, MAX_TOKEN_BYTES, START_MARKER,
    SentenceStream, SourceFingerprint, Utf8Policy, for_each_token,
};
pub use embeddings::{Embeddings, Neighbour, SearchOptions};
pub use error::{ConfigError, Error, OptionDifference, Result, SamplingError};
pub use eval::{
    AnalogyDataset, AnalogyMethod, AnalogyQuestion, AnalogyReport, AnalogySearch, AnalogySection,
    Anisotropy, BatsDataset, BatsRelation, BatsRow, COSMUL_EPSILON, DEFAULT_RESTRICT, Displacement,
    MalformedPolicy, ScoreMoments, SectionScore, SimilarityDataset, SimilarityPair,
    SimilarityReport, UnitVectors, average_ranks, count_non_finite_rows, find_word, spearman,
    top_k,
};
pub use io::{
    CONTEXT_FILE, FOCUS_FILE, INTERACTION_FILE, LineReader, MANIFEST_FILE, MAX_LINE_BYTES,
    OFFSETS_FILE, OFFSETS_INFO_FILE, VOCAB_FILE, check_output_dir, check_output_file, load_model,
    read_matrix, read_vocab, read_word_vectors, read_word2vec, replace_dir, save_model,
    write_atomic, write_matrix, write_model, write_vocab, write_word2vec_binary,
    write_word2vec_text,
};
#[cfg(feature = "finalfusion")]
pub use io::{FinalfusionVectors, read_finalfusion, read_finalfusion_metadata, write_finalfusion};
pub use linalg::Svd;
pub use model::{
    EmbeddingInit, InteractionInit, Model, OffsetInteractionKind, OffsetInteractions,
    OffsetInteractionsMut, ReadOut, VectorKind,
};
#[cfg(feature = "plot")]
pub use plot::{PICTURE_SIZE, TrainingCurves, plot_loss, plot_training, plot_words, project_2d};
pub use sampling::{MAX_WEIGHTS, NegativeSampler};
pub use sgd::{
    HeldOut, InteractionDiagnostics, NoProgress, Observer, Progress, SCORE_EVERY,
    SENTENCES_PER_HELDOUT, TOKENS_PER_PAIR, TrainReport, Trained, course_minibatch_step, resume,
    train, train_checkpointed, train_course, train_model,
};
pub use vocab::{OovPolicy, UNK_TOKEN, Vocab, VocabBuilder};
