//! The per-offset interactions `D_p` in a worker's block: each pair's `h_p = D_p h`, the
//! back-propagation of its error `e_p` to the focus word (`ẽ += D_pᵀ e_p`) and to `D_p`
//! (`∂D_p += e_p hᵀ`, or `e_p ⊙ h` for a diagonal `D_p`), and the step of `D`.
//!
//! Diagonal interactions cost `O(M)` a pair. Full ones are batched per offset: the block's
//! focus words with a pair at offset `p` (at most one pair each) are gathered, and
//! `H_p = H_g D_pᵀ`, `Ẽ_g = E_g D_p` and `∂D_p += E_gᵀ H_g` are three matrix products per
//! offset and block instead of three matrix–vector products per pair.

use ndarray::linalg::general_mat_mul;

use ndarray::{Array2, Array3};

use super::dense::{Dense, DenseCopy, SharedDense, matrix, matrix_mut, optimizer_step};
use crate::error::{Error, Result};
use crate::kernels::axpy;
use crate::model::{OffsetInteractionKind, OffsetInteractions, OffsetInteractionsMut};

/// The index of window offset `offset` (`±1 … ±window`), as
/// [`OffsetInteractions::index_of`](crate::OffsetInteractions::index_of) numbers them:
/// `−b … −1, 1 … b` → `0 … 2b − 1`.
pub(crate) fn offset_index(offset: isize, window: usize) -> usize {
    let reach = offset.unsigned_abs();
    if offset < 0 {
        window - reach
    } else {
        window + reach - 1
    }
}

/// `D -= step (D − I)`: every `d_p` towards ones, every full `D_p` towards the identity.
pub(crate) fn decay_offsets(
    values: &mut [f32],
    kind: OffsetInteractionKind,
    dim: usize,
    step: f32,
) {
    for (i, d) in values.iter_mut().enumerate() {
        let identity = match kind {
            OffsetInteractionKind::Full => {
                let within = i % (dim * dim);
                if within.is_multiple_of(dim + 1) {
                    1.0
                } else {
                    0.0
                }
            }
            _ => 1.0,
        };
        *d -= step * (*d - identity);
    }
}

/// A worker's per-offset state: its copy of `D` (when trained), `D`'s gradient for the
/// block, and the block's per-pair buffers.
pub(crate) struct OffsetBlock {
    kind: OffsetInteractionKind,
    window: usize,
    dim: usize,
    /// This thread's copy of `D` when `D` is trained.
    pub(crate) copy: Option<DenseCopy>,
    /// The block's gradient of `D` (`P×M` or `P×M×M`), when `D` is trained.
    gradient: Vec<f32>,
    /// Each pair's focus word (its row in the block) and offset index, in training order.
    pub(crate) pairs: Vec<(usize, usize)>,
    /// Each pair's `h_p`, then its `e_p` (`pairs × M` each).
    pub(crate) hidden: Vec<f32>,
    pub(crate) error: Vec<f32>,
    /// Full `D_p`: the pairs at each offset, and gather buffers (`capacity × M`).
    by_offset: Vec<Vec<usize>>,
    gathered: Vec<f32>,
    gathered_error: Vec<f32>,
    product: Vec<f32>,
}

impl OffsetBlock {
    /// The per-offset state of a worker of `threads` threads for blocks of up to
    /// `capacity` focus words; `None` without per-offset interactions.
    pub(crate) fn new(
        shared: Option<&SharedDense>,
        kind: OffsetInteractionKind,
        (window, dim): (usize, usize),
        (capacity, threads): (usize, usize),
    ) -> Option<OffsetBlock> {
        let shared = shared?;
        if kind == OffsetInteractionKind::None {
            return None;
        }
        let copy = DenseCopy::new(shared, threads);
        let n_values = copy.as_ref().map_or(0, |c| c.current.values.len());
        let full = kind == OffsetInteractionKind::Full;
        let max_pairs = capacity * 2 * window;
        Some(OffsetBlock {
            kind,
            window,
            dim,
            copy,
            gradient: vec![0.0; n_values],
            pairs: Vec::with_capacity(max_pairs),
            hidden: vec![0.0; max_pairs * dim],
            error: vec![0.0; max_pairs * dim],
            by_offset: vec![Vec::with_capacity(capacity); if full { 2 * window } else { 0 }],
            gathered: vec![0.0; if full { capacity * dim } else { 0 }],
            gathered_error: vec![0.0; if full { capacity * dim } else { 0 }],
            product: vec![0.0; if full { capacity * dim } else { 0 }],
        })
    }

    /// Starts a block: no pairs yet.
    pub(crate) fn clear(&mut self) {
        self.pairs.clear();
    }

    /// Records the next pair: focus word `k` of the block, context `offset` positions away.
    pub(crate) fn push(&mut self, k: usize, offset: isize) {
        self.pairs.push((k, offset_index(offset, self.window)));
    }

    /// Computes every pair's `h_p = D_p h_k` from the block's `H` (`hidden_rows`, row `k` is
    /// `h_k`) and zeroes its `e_p`.
    pub(crate) fn forward(&mut self, hidden_rows: &[f32], shared: &SharedDense) -> Result<()> {
        let dim = self.dim;
        let used = self.pairs.len() * dim;
        self.error[..used].fill(0.0);
        let d = current(self.copy.as_ref(), shared);
        match self.kind {
            OffsetInteractionKind::Full => {
                for list in &mut self.by_offset {
                    list.clear();
                }
                for (q, &(_, p)) in self.pairs.iter().enumerate() {
                    if let Some(list) = self.by_offset.get_mut(p) {
                        list.push(q);
                    }
                }
                for (p, list) in self.by_offset.iter().enumerate() {
                    let n = list.len();
                    if n == 0 {
                        continue;
                    }
                    for (row, &q) in list.iter().enumerate() {
                        let k = self.pairs[q].0;
                        self.gathered[row * dim..(row + 1) * dim]
                            .copy_from_slice(&hidden_rows[k * dim..(k + 1) * dim]);
                    }
                    let d_p = matrix(&d[p * dim * dim..(p + 1) * dim * dim], dim, dim)?;
                    let gathered = matrix(&self.gathered, n, dim)?;
                    let mut product = matrix_mut(&mut self.product, n, dim)?;
                    // H_p = H_g D_pᵀ: row i is D_p h_i.
                    general_mat_mul(1.0, &gathered, &d_p.t(), 0.0, &mut product);
                    for (row, &q) in list.iter().enumerate() {
                        self.hidden[q * dim..(q + 1) * dim]
                            .copy_from_slice(&self.product[row * dim..(row + 1) * dim]);
                    }
                }
            }
            _ => {
                for (q, &(k, p)) in self.pairs.iter().enumerate() {
                    let h = &hidden_rows[k * dim..(k + 1) * dim];
                    let d_p = &d[p * dim..(p + 1) * dim];
                    for ((out, &d), &h) in self.hidden[q * dim..(q + 1) * dim]
                        .iter_mut()
                        .zip(d_p)
                        .zip(h)
                    {
                        *out = d * h;
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds every pair's `D_pᵀ e_p` to its focus word's row of `block_error` (`Ẽ`) and, when
    /// `D` is trained, `e_p h_kᵀ` (or `e_p ⊙ h_k`) to `D_p`'s gradient.
    pub(crate) fn backward(
        &mut self,
        hidden_rows: &[f32],
        block_error: &mut [f32],
        shared: &SharedDense,
    ) -> Result<()> {
        let dim = self.dim;
        let trained = self.copy.is_some();
        let d = current(self.copy.as_ref(), shared);
        match self.kind {
            OffsetInteractionKind::Full => {
                for (p, list) in self.by_offset.iter().enumerate() {
                    let n = list.len();
                    if n == 0 {
                        // The GEMM below overwrites the gradient of every offset with a
                        // pair; only the others need zeroing (D's gradient is P·M² floats).
                        if let Some(gradient) =
                            self.gradient.get_mut(p * dim * dim..(p + 1) * dim * dim)
                        {
                            gradient.fill(0.0);
                        }
                        continue;
                    }
                    for (row, &q) in list.iter().enumerate() {
                        let k = self.pairs[q].0;
                        self.gathered_error[row * dim..(row + 1) * dim]
                            .copy_from_slice(&self.error[q * dim..(q + 1) * dim]);
                        self.gathered[row * dim..(row + 1) * dim]
                            .copy_from_slice(&hidden_rows[k * dim..(k + 1) * dim]);
                    }
                    let d_p = matrix(&d[p * dim * dim..(p + 1) * dim * dim], dim, dim)?;
                    let errors = matrix(&self.gathered_error, n, dim)?;
                    let mut product = matrix_mut(&mut self.product, n, dim)?;
                    // Ẽ_g = E_g D_p: row i is D_pᵀ e_i.
                    general_mat_mul(1.0, &errors, &d_p, 0.0, &mut product);
                    for (row, &q) in list.iter().enumerate() {
                        let k = self.pairs[q].0;
                        axpy(
                            1.0,
                            &self.product[row * dim..(row + 1) * dim],
                            &mut block_error[k * dim..(k + 1) * dim],
                        );
                    }
                    if trained {
                        // ∂D_p = E_gᵀ H_g = Σ_i e_i h_iᵀ.
                        let hidden = matrix(&self.gathered, n, dim)?;
                        let mut gradient = matrix_mut(
                            &mut self.gradient[p * dim * dim..(p + 1) * dim * dim],
                            dim,
                            dim,
                        )?;
                        general_mat_mul(1.0, &errors.t(), &hidden, 0.0, &mut gradient);
                    }
                }
            }
            _ => {
                self.gradient.fill(0.0);
                for (q, &(k, p)) in self.pairs.iter().enumerate() {
                    let e = &self.error[q * dim..(q + 1) * dim];
                    let d_p = &d[p * dim..(p + 1) * dim];
                    for ((out, &d), &e) in block_error[k * dim..(k + 1) * dim]
                        .iter_mut()
                        .zip(d_p)
                        .zip(e)
                    {
                        *out += d * e;
                    }
                    if trained {
                        let h = &hidden_rows[k * dim..(k + 1) * dim];
                        for ((g, &e), &h) in self.gradient[p * dim..(p + 1) * dim]
                            .iter_mut()
                            .zip(e)
                            .zip(h)
                        {
                            *g += e * h;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The step of this thread's copy of `D` at rate `rate` with decay `decay` towards the
    /// identity (the optimizer is the one the copy's squares stand for); nothing when `D` is
    /// frozen.
    pub(crate) fn step(&mut self, rate: f32, decay: f32) {
        let Some(copy) = &mut self.copy else {
            return;
        };
        if decay > 0.0 {
            decay_offsets(&mut copy.current.values, self.kind, self.dim, rate * decay);
        }
        optimizer_step(&mut copy.current, &self.gradient, rate);
    }
}

/// The `D` a worker computes with: its copy when trained, the shared one when frozen.
fn current<'c>(copy: Option<&'c DenseCopy>, shared: &'c SharedDense) -> &'c [f32] {
    match (copy, shared) {
        (Some(copy), _) => &copy.current.values,
        (None, SharedDense::Frozen(dense)) => &dense.values,
        (None, SharedDense::Trained(_)) => &[],
    }
}

/// The per-offset interactions of kind `config.offset_interactions()` (not `None`) with
/// the configuration's window and mode, from their flat values.
pub(crate) fn interactions_of(
    config: &crate::config::TrainConfig,
    values: Vec<f32>,
) -> Result<OffsetInteractions> {
    let (window, dim) = (config.window(), config.dim());
    let shape_error = |_| Error::ShapeMismatch {
        what: "per-offset interaction values",
        expected: vec![2 * window, dim],
        found: vec![],
    };
    match config.offset_interactions() {
        OffsetInteractionKind::Full => {
            let full =
                Array3::from_shape_vec((2 * window, dim, dim), values).map_err(shape_error)?;
            OffsetInteractions::from_full(full, window, config.window_mode())
        }
        _ => {
            let diagonal =
                Array2::from_shape_vec((2 * window, dim), values).map_err(shape_error)?;
            OffsetInteractions::from_diagonal(diagonal, window, config.window_mode())
        }
    }
}

/// Writes flat values into a model's per-offset interactions.
pub(crate) fn assign(offsets: &mut OffsetInteractionsMut<'_>, values: &[f32]) -> Result<()> {
    let found = values.len();
    let target: Option<&mut [f32]> = match offsets {
        OffsetInteractionsMut::Diagonal(d) => d.as_slice_mut(),
        OffsetInteractionsMut::Full(d) => d.as_slice_mut(),
        _ => None,
    };
    match target {
        Some(target) if target.len() == found => {
            target.copy_from_slice(values);
            Ok(())
        }
        other => Err(Error::ShapeMismatch {
            what: "per-offset interactions (contiguous, as many values as trained)",
            expected: vec![other.map_or(0, |t| t.len())],
            found: vec![found],
        }),
    }
}

/// `D`'s values as a flat `Dense` for kind `kind`.
pub(crate) fn dense_of(
    offsets: &OffsetInteractions,
    squares: Option<Vec<f32>>,
    optimizer: crate::config::InteractionOptimizer,
) -> Option<Dense> {
    let values: Vec<f32> = match offsets.kind() {
        OffsetInteractionKind::None => return None,
        OffsetInteractionKind::Diagonal => offsets.diagonal()?.iter().copied().collect(),
        OffsetInteractionKind::Full => offsets.full()?.iter().copied().collect(),
    };
    Some(Dense::new(values, squares, optimizer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WindowMode;

    #[test]
    fn offset_indices_are_the_model_s() {
        for window in 1..6 {
            let d = OffsetInteractions::identity(
                OffsetInteractionKind::Diagonal,
                2,
                window,
                WindowMode::Shrink,
            )
            .expect("identity");
            let w = window as isize;
            for offset in (-w..=w).filter(|&o| o != 0) {
                assert_eq!(Some(offset_index(offset, window)), d.index_of(offset));
            }
        }
    }

    #[test]
    fn decay_pulls_every_offset_towards_the_identity() {
        let mut diagonal = vec![3.0, 1.0, -1.0, 0.0];
        decay_offsets(&mut diagonal, OffsetInteractionKind::Diagonal, 2, 0.5);
        assert_eq!(diagonal, [2.0, 1.0, 0.0, 0.5]);
        // Two full 2×2 matrices.
        let mut full = vec![3.0, 2.0, 2.0, 3.0, 1.0, 0.0, 0.0, 1.0];
        decay_offsets(&mut full, OffsetInteractionKind::Full, 2, 0.5);
        assert_eq!(full, [2.0, 1.0, 1.0, 2.0, 1.0, 0.0, 0.0, 1.0]);
    }
}
