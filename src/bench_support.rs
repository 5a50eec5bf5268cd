//! Internals for the crate's own criterion benches (`benches/kernels.rs`,
//! `benches/training.rs`). **Not part of the public API**: hidden from the documentation,
//! not covered by semver, and free to change or disappear in any release.
//!
//! The kernels and the trainer's worker are private so that the public API stays the
//! trainer (`train`, `train_model`) and the loss. Benches are separate crates and see only
//! `pub` items, so this module forwards the few internals they time, through thin
//! functions instead of making the internals themselves public. A cargo feature would do
//! the same but make `cargo bench` need `--features`; a `#[doc(hidden)]` module keeps the
//! benches runnable as they are and keeps these names out of the documented API.

use std::time::Duration;

use crate::config::TrainConfig;
use crate::error::Result;
use crate::kernels::{LogisticTable, axpy as axpy_kernel, dot as dot_kernel};
use crate::model::Model;

/// The trainer's dot product of two rows (over the common length).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_kernel(a, b)
}

/// The trainer's `y += alpha · x` (over the common length).
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    axpy_kernel(alpha, x, y)
}

/// The trainer's `(σ(s) − δ, loss term)` from the logistic table (`δ = 1` for the positive).
#[inline]
pub fn gain_and_loss(score: f32, positive: bool) -> (f32, f32) {
    LogisticTable::get().gain_and_loss(score, positive)
}

/// Runs the online trainer's worker `repeats` times over one sentence of word ids (no
/// subsampling; the configuration's window, negatives, block size and initial learning
/// rates), drawing negatives from `counts` (one per model row). Returns the time of the
/// repeats (setup excluded), the pairs of one repeat and the summed loss.
///
/// # Errors
///
/// As the trainer: a bad sampler input or a model that does not fit.
pub fn time_sentence(
    config: &TrainConfig,
    counts: &[u64],
    model: &mut Model,
    sentence: &[u32],
    repeats: u64,
) -> Result<(Duration, u64, f64)> {
    crate::sgd::time_sentence(config, counts, model, sentence, repeats)
}
