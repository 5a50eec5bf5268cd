//! The dense interaction parameters the workers share (`W`), their optimizer state, and
//! each thread's copy of them.
//!
//! A frozen parameter is stored once and read by every thread without a lock. A trained
//! one lives under a lock; each thread trains a copy of it (values and AdaGrad squares) and
//! merges the change of its copy into the shared one at merge points: with one thread the
//! copy *is* the parameter (the merge is an assignment), with several the shared value
//! becomes `shared + (copy − base)`, `base` being the shared value as of the thread's last
//! merge.

use std::sync::Mutex;

use ndarray::{ArrayView2, ArrayViewMut2};

use super::lock;
use crate::config::{ADAGRAD_EPSILON, InteractionOptimizer};
use crate::error::{Error, Result};

/// A dense parameter and its optimizer state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dense {
    /// The values, row-major.
    pub(crate) values: Vec<f32>,
    /// AdaGrad's sums of squared gradients, one per value; empty under SGD.
    pub(crate) squares: Vec<f32>,
}

impl Dense {
    /// `values` with the squares `squares` (AdaGrad) or none (SGD); missing squares start
    /// at zero.
    pub(crate) fn new(
        values: Vec<f32>,
        squares: Option<Vec<f32>>,
        optimizer: InteractionOptimizer,
    ) -> Dense {
        let squares = match optimizer {
            InteractionOptimizer::Sgd => Vec::new(),
            InteractionOptimizer::AdaGrad => squares.unwrap_or_else(|| vec![0.0; values.len()]),
        };
        Dense { values, squares }
    }

    /// `self += copy − base`, entry by entry (values and squares).
    fn add_change(&mut self, copy: &Dense, base: &Dense) {
        for (merged, (copy, base)) in [
            (&mut self.values, (&copy.values, &base.values)),
            (&mut self.squares, (&copy.squares, &base.squares)),
        ] {
            for ((m, &c), &b) in merged.iter_mut().zip(copy.iter()).zip(base.iter()) {
                *m += c - b;
            }
        }
    }

    fn assign(&mut self, other: &Dense) {
        self.values.copy_from_slice(&other.values);
        self.squares.copy_from_slice(&other.squares);
    }
}

/// A dense parameter as the workers share it.
pub(crate) enum SharedDense {
    /// Not trained: read by every thread, never written.
    Frozen(Dense),
    /// Trained: each thread trains a copy and merges it in.
    Trained(Mutex<Dense>),
}

impl SharedDense {
    pub(crate) fn new(dense: Dense, trained: bool) -> SharedDense {
        if trained {
            SharedDense::Trained(Mutex::new(dense))
        } else {
            SharedDense::Frozen(dense)
        }
    }

    /// The current values and squares (a copy, taken under the lock).
    pub(crate) fn snapshot(&self) -> Dense {
        match self {
            SharedDense::Frozen(dense) => dense.clone(),
            SharedDense::Trained(shared) => lock(shared).clone(),
        }
    }

    /// The final values and squares.
    pub(crate) fn into_dense(self) -> Dense {
        match self {
            SharedDense::Frozen(dense) => dense,
            SharedDense::Trained(shared) => shared
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        }
    }
}

/// One thread's copy of a trained dense parameter.
pub(crate) struct DenseCopy {
    /// The shared parameter as of the last merge, plus this thread's steps since.
    pub(crate) current: Dense,
    /// The shared parameter as of the last merge; `None` with one thread, whose copy is the
    /// only writer.
    base: Option<Dense>,
}

impl DenseCopy {
    /// A copy of `shared` for one of `threads` threads; `None` if it is frozen.
    pub(crate) fn new(shared: &SharedDense, threads: usize) -> Option<DenseCopy> {
        let SharedDense::Trained(shared) = shared else {
            return None;
        };
        let current = lock(shared).clone();
        let base = (threads > 1).then(|| current.clone());
        Some(DenseCopy { current, base })
    }

    /// Merges this copy's change since the last merge into `shared` and refreshes the
    /// copy. The lock is held for a few passes over the values, never for a product.
    pub(crate) fn merge(&mut self, shared: &SharedDense) {
        let SharedDense::Trained(shared) = shared else {
            return;
        };
        let mut merged = lock(shared);
        match &mut self.base {
            // The only writer: the shared value equals the copy as it was before this
            // thread's last steps, so the copy is exactly the merged value.
            None => merged.assign(&self.current),
            Some(base) => {
                merged.add_change(&self.current, base);
                self.current.assign(&merged);
                drop(merged);
                base.assign(&self.current);
            }
        }
    }

    /// Takes the shared value as the copy (after a pause, when every thread has merged).
    pub(crate) fn refresh(&mut self, shared: &SharedDense) {
        let SharedDense::Trained(shared) = shared else {
            return;
        };
        let merged = lock(shared);
        self.current.assign(&merged);
        if let Some(base) = &mut self.base {
            base.assign(&merged);
        }
    }
}

/// One optimizer step on `dense` with the gradient `gradient` (same length) at rate
/// `rate`: SGD `w -= η g`, or AdaGrad `G += g²; w -= η g / (√G + ε)`.
pub(crate) fn optimizer_step(dense: &mut Dense, gradient: &[f32], rate: f32) {
    if dense.squares.is_empty() {
        for (w, &g) in dense.values.iter_mut().zip(gradient) {
            *w -= rate * g;
        }
    } else {
        for ((w, s), &g) in dense
            .values
            .iter_mut()
            .zip(dense.squares.iter_mut())
            .zip(gradient)
        {
            *s += g * g;
            *w -= rate * g / (s.sqrt() + ADAGRAD_EPSILON);
        }
    }
}

/// `W -= step (W − I)` for the `dim × dim` matrix `values` (row-major).
pub(crate) fn decay_towards_identity(values: &mut [f32], dim: usize, step: f32) {
    for (i, w) in values.iter_mut().enumerate() {
        let identity = if i % (dim + 1) == 0 { 1.0 } else { 0.0 };
        *w -= step * (*w - identity);
    }
}

/// A `rows × cols` row-major buffer as a matrix.
pub(crate) fn matrix(values: &[f32], rows: usize, cols: usize) -> Result<ArrayView2<'_, f32>> {
    let what = "dense parameter buffer";
    values
        .get(..rows * cols)
        .and_then(|v| ArrayView2::from_shape((rows, cols), v).ok())
        .ok_or_else(|| shape_error(what, rows, cols, values.len()))
}

/// A `rows × cols` row-major buffer as a mutable matrix.
pub(crate) fn matrix_mut(
    values: &mut [f32],
    rows: usize,
    cols: usize,
) -> Result<ArrayViewMut2<'_, f32>> {
    let len = values.len();
    values
        .get_mut(..rows * cols)
        .and_then(|v| ArrayViewMut2::from_shape((rows, cols), v).ok())
        .ok_or_else(|| shape_error("dense parameter buffer", rows, cols, len))
}

fn shape_error(what: &'static str, rows: usize, cols: usize, len: usize) -> Error {
    Error::ShapeMismatch {
        what,
        expected: vec![rows, cols],
        found: vec![len],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adagrad_step_is_the_formula() {
        let mut dense = Dense::new(vec![1.0, -2.0, 0.5], None, InteractionOptimizer::AdaGrad);
        assert_eq!(dense.squares, [0.0; 3]);
        optimizer_step(&mut dense, &[2.0, 0.0, -0.5], 0.1);
        // First step: G = g², so each entry with g ≠ 0 moves by η sign(g).
        assert_eq!(dense.squares, [4.0, 0.0, 0.25]);
        assert!((dense.values[0] - 0.9).abs() < 1e-7);
        assert_eq!(dense.values[1], -2.0);
        assert!((dense.values[2] - 0.6).abs() < 1e-7);
        optimizer_step(&mut dense, &[1.0, 3.0, 0.0], 0.1);
        assert_eq!(dense.squares, [5.0, 9.0, 0.25]);
        let expected = 0.9 - 0.1 * 1.0 / (5.0_f32.sqrt() + ADAGRAD_EPSILON);
        assert!((dense.values[0] - expected).abs() < 1e-7);
        assert!((dense.values[1] - (-2.1)).abs() < 1e-6);
        assert!((dense.values[2] - 0.6).abs() < 1e-7);
    }

    #[test]
    fn sgd_step_has_no_state() {
        let mut dense = Dense::new(
            vec![1.0, 2.0],
            Some(vec![5.0, 5.0]),
            InteractionOptimizer::Sgd,
        );
        assert!(dense.squares.is_empty());
        optimizer_step(&mut dense, &[1.0, -1.0], 0.5);
        assert_eq!(dense.values, [0.5, 2.5]);
    }

    #[test]
    fn decay_pulls_towards_the_identity() {
        let mut w = vec![3.0, 1.0, -1.0, 0.0];
        decay_towards_identity(&mut w, 2, 0.5);
        assert_eq!(w, [2.0, 0.5, -0.5, 0.5]);
    }

    #[test]
    fn two_copies_merge_both_changes() {
        let shared = SharedDense::new(
            Dense::new(vec![1.0, 1.0], None, InteractionOptimizer::AdaGrad),
            true,
        );
        let mut a = DenseCopy::new(&shared, 2).expect("trained");
        let mut b = DenseCopy::new(&shared, 2).expect("trained");
        optimizer_step(&mut a.current, &[1.0, 0.0], 0.5);
        optimizer_step(&mut b.current, &[0.0, -2.0], 0.5);
        a.merge(&shared);
        b.merge(&shared);
        let merged = shared.snapshot();
        assert_eq!(merged.values, [0.5, 1.5]);
        assert_eq!(merged.squares, [1.0, 4.0]);
        // b saw a's change at its merge; a sees b's after a refresh.
        assert_eq!(b.current, merged);
        a.refresh(&shared);
        assert_eq!(a.current, merged);
        // Nothing to copy when frozen.
        let frozen = SharedDense::new(
            Dense::new(vec![1.0], None, InteractionOptimizer::Sgd),
            false,
        );
        assert!(DenseCopy::new(&frozen, 2).is_none());
    }

    #[test]
    fn one_copy_is_the_parameter() {
        let shared = SharedDense::new(
            Dense::new(vec![2.0, 3.0], None, InteractionOptimizer::Sgd),
            true,
        );
        let mut only = DenseCopy::new(&shared, 1).expect("trained");
        assert!(only.base.is_none());
        optimizer_step(&mut only.current, &[1.0, 1.0], 1.0);
        only.merge(&shared);
        assert_eq!(shared.into_dense().values, [1.0, 2.0]);
    }
}
