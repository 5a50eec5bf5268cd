#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
pub mod loss;
mod model;

pub use error::{ConfigError, Error, Result, SamplingError};
pub use model::{EmbeddingInit, InteractionInit, Model, VectorKind};
