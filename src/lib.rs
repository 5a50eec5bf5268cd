#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod corpus;
mod error;
pub mod loss;
mod model;
mod sampling;
mod vocab;

pub use corpus::{
    Corpus, CorpusOptions, END_MARKER, START_MARKER, SentenceStream, Utf8Policy, for_each_token,
};
pub use error::{ConfigError, Error, Result, SamplingError};
pub use model::{EmbeddingInit, InteractionInit, Model, VectorKind};
pub use sampling::{MAX_WEIGHTS, NegativeSampler};
pub use vocab::{OovPolicy, UNK_TOKEN, Vocab, VocabBuilder};
