//! The bilinear skip-gram negative-sampling loss and its closed-form gradients.
//!
//! Pure math: no I/O, no random numbers. Everything is generic over [`Real`] (`f32` and
//! `f64`).
//!
//! # The math
//!
//! For a focus (target) word with embedding `u_w` (length `M`), the interaction matrix `W`
//! (`M×M`) and the stacked context rows `Ṽ = [v_c; v_c̄1; …; v_c̄n]` (`(n+1)×M`, row 0 the
//! observed context, rows `1..=n` the sampled negatives):
//!
//! ```text
//! h = W u_w                      (length M)
//! s = Ṽ h                        (length n+1; s_k = v_kᵀ W u_w)
//! J = -( log σ(s_0) + Σ_j log σ(-s_j) )
//!   = softplus(-s_0) + Σ_j softplus(s_j)
//! g = σ(s) - δ                   (δ one-hot at row 0, so g_0 = -σ(-s_0), g_j = σ(s_j))
//! e = Ṽᵀ g                       (length M)
//!
//! ∂J/∂u_w = Wᵀ e = Wᵀ Ṽᵀ g
//! ∂J/∂Ṽ   = g ⊗ h                (row k is g_k · h)
//! ∂J/∂W   = e u_wᵀ = (Ṽᵀ g) u_wᵀ
//! ```
//!
//! Per component this is `∂J/∂v_c = -σ(-s_0) W u_w` and `∂J/∂v_c̄j = σ(s_j) W u_w`.
//!
//! With optional per-row offsets `q` (the log noise prior of noise-contrastive estimation)
//! every score is replaced by `s_k - q_k`; since `∂(s_k - q_k)/∂s_k = 1` the gradient
//! formulas keep their form with `g = σ(s - q) - δ`. Without offsets the formulas above are
//! used exactly.
//!
//! A batch of `S` observations averages `J` over `S`; its gradients are the gradients of
//! that mean, so every per-observation gradient is divided by `S` and `∂J/∂W` is the mean
//! of the per-observation `∂J/∂W`.
//!
//! # Per-offset interactions
//!
//! A model may give every window offset `p` (the context's position minus the focus
//! word's) its own interaction `D_p` on top of the shared `W`: a pair at offset `p` is scored
//! `s = v_cᵀ D_p W u_w`, with `D_p` either the identity (the single `W` above, "every `W_p`
//! tied"), a diagonal matrix `diag(d_p)` (with `W = I` frozen, `v_cᵀ diag(d_p) u_w`:
//! position-dependent weighting as in Mikolov et al. 2018) or a full `M×M` matrix (with
//! `W = I` frozen, a full `W_p` per offset). With
//!
//! ```text
//! h   = W u_w                    (length M)
//! h_p = D_p h                    (length M)
//! s   = Ṽ h_p                    (s_k = v_kᵀ D_p W u_w)
//! J   = softplus(-s_0) + Σ_j softplus(s_j)
//! g   = σ(s) - δ
//! e   = Ṽᵀ g                     (∂J/∂h_p)
//! ẽ   = D_pᵀ e                   (∂J/∂h)
//!
//! ∂J/∂Ṽ   = g ⊗ h_p              (row k is g_k · h_p)
//! ∂J/∂D_p = e hᵀ                 (full D_p)
//! ∂J/∂d_p = e ⊙ h                (diagonal D_p = diag(d_p); the diagonal of e hᵀ)
//! ∂J/∂u_w = Wᵀ ẽ = Wᵀ D_pᵀ Ṽᵀ g
//! ∂J/∂W   = ẽ u_wᵀ
//! ```
//!
//! Each follows from the chain rule through the linear maps `u_w ↦ h ↦ h_p ↦ s`:
//! `∂J/∂s = g`; `s = Ṽ h_p` gives `∂J/∂Ṽ = g h_pᵀ` and `∂J/∂h_p = Ṽᵀ g = e`; `h_p = D_p h`
//! gives `∂J/∂D_p = e hᵀ` (entry `(i, j)`: `e_i h_j`; for a diagonal only `i = j`
//! remains) and `∂J/∂h = D_pᵀ e`; `h = W u_w` gives `∂J/∂W = ẽ u_wᵀ` and
//! `∂J/∂u_w = Wᵀ ẽ`. With `D_p = I`, `h_p = h` and `ẽ = e` and these are the formulas
//! above, computed in the same order: [`offset_loss_and_gradient`] with an identity,
//! `diag(1, …, 1)` or full identity `D_p` returns exactly what [`loss_and_gradient`] does.
//!
//! A batch ([`offset_loss_and_gradient_batched`]) holds `S` observations, each with its own
//! index into a stack of `P` interactions `D_0 … D_{P-1}` (a model with window `b` has
//! `P = 2b`; the model decides which offset is which index). It averages `J` over `S`;
//! `∂J/∂D_p` is the sum over the observations that use `D_p` of their gradients, divided by
//! `S` (zero for an interaction no observation uses), and `∂J/∂W` is the mean over all.
//!
//! # Numerics
//!
//! `log σ` is evaluated through `softplus(x) = max(x, 0) + ln(1 + e^{-|x|})` and `σ`
//! through the branch that never exponentiates a positive number, so scores of any finite
//! size give finite losses and finite `σ(s) − δ` (no `log(0)`, no `inf/inf`). The gradients
//! multiply these by the rows, so they are finite as long as those products fit the float
//! type: with `f32` rows of 1e20, `∂J/∂W = (Ṽᵀ g) u_wᵀ` overflows. Non-finite inputs are
//! not refused: they give non-finite results (the trainer's divergence check stops there).
//!
//! # Example
//!
//! A hand computation with `M = 2`, `n = 1` and `W = I`: `u_w = (1, 0)`,
//! `v_c = (2, 0)`, `v_c̄ = (0, 1)`. Then `h = (1, 0)`, `s = (2, 0)`,
//! `J = softplus(-2) + softplus(0) = ln(1 + e^-2) + ln 2 ≈ 0.126928 + 0.693147`.
//!
//! ```
//! use bilinear_skipgram::loss::loss_and_gradient;
//! use ndarray::array;
//!
//! let u = array![1.0_f64, 0.0];
//! let contexts = array![[2.0, 0.0], [0.0, 1.0]];
//! let w = array![[1.0, 0.0], [0.0, 1.0]];
//! let grads = loss_and_gradient(u.view(), contexts.view(), w.view(), None)?;
//!
//! let sigma = |x: f64| 1.0 / (1.0 + (-x).exp());
//! assert!((grads.loss - ((1.0 + (-2.0_f64).exp()).ln() + 2.0_f64.ln())).abs() < 1e-12);
//! // g = (σ(2) - 1, σ(0)); ∂J/∂v_c = g_0 h, ∂J/∂v_c̄ = g_1 h
//! assert!((grads.contexts[[0, 0]] - (sigma(2.0) - 1.0)).abs() < 1e-12);
//! assert!((grads.contexts[[1, 0]] - 0.5).abs() < 1e-12);
//! // ∂J/∂u_w = Wᵀ Ṽᵀ g = (2 g_0, g_1)
//! assert!((grads.focus[0] - 2.0 * (sigma(2.0) - 1.0)).abs() < 1e-12);
//! assert!((grads.focus[1] - 0.5).abs() < 1e-12);
//! // ∂J/∂W = (Ṽᵀ g) u_wᵀ: only the first column is non-zero
//! assert_eq!(grads.interaction[[0, 1]], 0.0);
//! # Ok::<(), bilinear_skipgram::Error>(())
//! ```

use ndarray::linalg::general_mat_vec_mul;
use ndarray::{
    Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut1, ArrayViewMut2, Axis,
    LinalgScalar, ScalarOperand, Zip,
};

use crate::error::{Error, Result};

/// The floating-point types the loss works in: `f32` and `f64`.
pub trait Real:
    num_traits::Float
    + LinalgScalar
    + ScalarOperand
    + std::fmt::Debug
    + std::fmt::Display
    + std::iter::Sum
    + Send
    + Sync
    + 'static
{
}

impl Real for f32 {}
impl Real for f64 {}

/// `ln(1 + e^x)`, finite for every finite `x`.
#[inline]
pub fn softplus<T: Real>(x: T) -> T {
    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
}

/// The logistic function `σ(x) = 1 / (1 + e^-x)`, without overflow for any `x`.
#[inline]
pub fn sigmoid<T: Real>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// `log σ(x) = -softplus(-x)`, finite for every finite `x`.
#[inline]
pub fn log_sigmoid<T: Real>(x: T) -> T {
    -softplus(-x)
}

/// Loss and gradients of one observation (one focus word, one observed context, `n`
/// negatives).
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients<T> {
    /// `J`.
    pub loss: T,
    /// `∂J/∂u_w`, length `M`.
    pub focus: Array1<T>,
    /// `∂J/∂Ṽ`, `(n+1)×M`; row 0 belongs to the observed context.
    pub contexts: Array2<T>,
    /// `∂J/∂W`, `M×M`.
    pub interaction: Array2<T>,
}

/// Mean loss and gradients of a batch of `S` observations.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchGradients<T> {
    /// Mean `J` over the batch.
    pub loss: T,
    /// `S×M`: row `k` is the gradient of the mean loss with respect to observation `k`'s
    /// focus vector (its single-observation gradient divided by `S`).
    pub focus: Array2<T>,
    /// `S×(n+1)×M`: the gradient of the mean loss with respect to observation `k`'s
    /// context rows (single-observation gradients divided by `S`).
    pub contexts: Array3<T>,
    /// `M×M`: the gradient of the mean loss with respect to `W` (the mean of the
    /// single-observation gradients).
    pub interaction: Array2<T>,
}

/// Mutable gradient buffers that [`accumulate_loss_and_gradient`] adds into.
#[derive(Debug)]
pub struct GradientsMut<'a, T> {
    /// Receives `scale · ∂J/∂u_w`, length `M`.
    pub focus: ArrayViewMut1<'a, T>,
    /// Receives `scale · ∂J/∂Ṽ`, `(n+1)×M`.
    pub contexts: ArrayViewMut2<'a, T>,
    /// Receives `scale · ∂J/∂W`, `M×M`.
    pub interaction: ArrayViewMut2<'a, T>,
}

/// Scratch space for [`accumulate_loss_and_gradient`], so repeated calls allocate nothing.
#[derive(Debug, Clone)]
pub struct Workspace<T> {
    hidden: Array1<T>,
    errors: Array1<T>,
    weighted: Array1<T>,
}

impl<T: Real> Workspace<T> {
    /// Scratch space for dimension `dim` and `n_rows` context rows (`n + 1`).
    pub fn new(dim: usize, n_rows: usize) -> Self {
        Workspace {
            hidden: Array1::zeros(dim),
            errors: Array1::zeros(n_rows),
            weighted: Array1::zeros(dim),
        }
    }

    /// `h = W u_w` from the last call.
    pub fn hidden(&self) -> ArrayView1<'_, T> {
        self.hidden.view()
    }

    /// `g = σ(s - q) - δ` from the last call.
    pub fn errors(&self) -> ArrayView1<'_, T> {
        self.errors.view()
    }

    fn fit(&mut self, dim: usize, n_rows: usize) {
        if self.hidden.len() != dim {
            self.hidden = Array1::zeros(dim);
            self.weighted = Array1::zeros(dim);
        }
        if self.errors.len() != n_rows {
            self.errors = Array1::zeros(n_rows);
        }
    }
}

fn check_shape(what: &'static str, expected: &[usize], found: &[usize]) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            what,
            expected: expected.to_vec(),
            found: found.to_vec(),
        })
    }
}

/// Checks the shapes of one observation's inputs and returns `(M, n + 1)`.
fn check_observation<T>(
    focus: &ArrayView1<'_, T>,
    contexts: &ArrayView2<'_, T>,
    interaction: &ArrayView2<'_, T>,
    offsets: Option<&ArrayView1<'_, T>>,
) -> Result<(usize, usize)> {
    let dim = focus.len();
    let n_rows = contexts.nrows();
    if n_rows == 0 {
        return Err(Error::ShapeMismatch {
            what: "contexts (needs the observed context in row 0)",
            expected: vec![1, dim],
            found: contexts.shape().to_vec(),
        });
    }
    check_shape("contexts", &[n_rows, dim], contexts.shape())?;
    check_shape("interaction", &[dim, dim], interaction.shape())?;
    if let Some(q) = offsets {
        check_shape("offsets", &[n_rows], q.shape())?;
    }
    Ok((dim, n_rows))
}

/// Turns the scores `s` in `errors` into `g = σ(s − q) − δ` (`q` the noise-contrastive
/// offsets, if any) and returns `J = softplus(−(s_0 − q_0)) + Σ_j softplus(s_j − q_j)`;
/// `g_0 = −σ(−s_0)` avoids cancellation.
fn loss_and_errors<T: Real>(errors: &mut Array1<T>, offsets: Option<ArrayView1<'_, T>>) -> T {
    if let Some(q) = offsets {
        Zip::from(&mut *errors)
            .and(&q)
            .for_each(|s, &q| *s = *s - q);
    }
    let mut loss = T::zero();
    for (k, s) in errors.iter_mut().enumerate() {
        if k == 0 {
            loss = loss + softplus(-*s);
            *s = -sigmoid(-*s);
        } else {
            loss = loss + softplus(*s);
            *s = sigmoid(*s);
        }
    }
    loss
}

/// Adds `scale` times the row gradients that share one form in every variant:
/// `∂J/∂u_w = Wᵀ e` (a sum of rows of `W`, contiguous for row-major `W`),
/// `∂J/∂Ṽ = g ⊗ h` and `∂J/∂W = e u_wᵀ`, with `e = Ṽᵀ g` and `h = W u_w` for the plain
/// score, `e = D_pᵀ Ṽᵀ g` and `h = D_p W u_w` with a per-offset interaction.
fn add_gradients<T: Real>(
    grads: GradientsMut<'_, T>,
    focus: &ArrayView1<'_, T>,
    interaction: &ArrayView2<'_, T>,
    (errors, hidden, weighted): (&Array1<T>, &Array1<T>, &Array1<T>),
    scale: T,
) {
    let GradientsMut {
        focus: mut focus_grad,
        contexts: mut contexts_grad,
        interaction: mut interaction_grad,
    } = grads;
    for (row, &e) in interaction.axis_iter(Axis(0)).zip(weighted.iter()) {
        focus_grad.scaled_add(scale * e, &row);
    }
    for (mut row, &g) in contexts_grad.axis_iter_mut(Axis(0)).zip(errors.iter()) {
        row.scaled_add(scale * g, hidden);
    }
    for (mut row, &e) in interaction_grad.axis_iter_mut(Axis(0)).zip(weighted.iter()) {
        row.scaled_add(scale * e, focus);
    }
}

/// Checks the shapes of a batch's inputs, in this order: the batch, `contexts`, the
/// number of offset indices (if the batch has them), `interaction`, the noise offsets;
/// returns `(S, M, n + 1)`.
fn check_batch<T>(
    focus: &ArrayView2<'_, T>,
    contexts: &ArrayView3<'_, T>,
    offset_indices: Option<&[usize]>,
    interaction: &ArrayView2<'_, T>,
    (offsets_name, offsets): (&'static str, Option<&ArrayView2<'_, T>>),
) -> Result<(usize, usize, usize)> {
    let (n_obs, dim) = focus.dim();
    let n_rows = contexts.len_of(Axis(1));
    if n_obs == 0 || n_rows == 0 {
        return Err(Error::ShapeMismatch {
            what: "batch (needs at least one observation with a context row)",
            expected: vec![n_obs.max(1), n_rows.max(1), dim],
            found: contexts.shape().to_vec(),
        });
    }
    check_shape("contexts", &[n_obs, n_rows, dim], contexts.shape())?;
    if let Some(indices) = offset_indices {
        check_shape("offset indices", &[n_obs], &[indices.len()])?;
    }
    check_shape("interaction", &[dim, dim], interaction.shape())?;
    if let Some(q) = offsets {
        check_shape(offsets_name, &[n_obs, n_rows], q.shape())?;
    }
    Ok((n_obs, dim, n_rows))
}

/// Adds `scale` times one observation's gradients into `grads` and returns its loss `J`
/// (not scaled). Allocates nothing once `workspace` has the right size.
///
/// `contexts` holds the observed context in row 0 and the negatives in rows `1..=n`;
/// `offsets`, when given, has one entry per context row and is subtracted from the scores.
/// A row that occurs several times in `contexts` gets one gradient row per occurrence; the
/// caller adds them all.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when `contexts` is not `(n+1)×M` with `n + 1 ≥ 1`,
/// `interaction` is not `M×M`, `offsets` is not of length `n + 1`, or a gradient buffer
/// does not have the shape of what it receives (`M = focus.len()`).
pub fn accumulate_loss_and_gradient<T: Real>(
    focus: ArrayView1<'_, T>,
    contexts: ArrayView2<'_, T>,
    interaction: ArrayView2<'_, T>,
    offsets: Option<ArrayView1<'_, T>>,
    scale: T,
    grads: GradientsMut<'_, T>,
    workspace: &mut Workspace<T>,
) -> Result<T> {
    let (dim, n_rows) = check_observation(&focus, &contexts, &interaction, offsets.as_ref())?;
    check_shape("focus gradient", &[dim], grads.focus.shape())?;
    check_shape("contexts gradient", &[n_rows, dim], grads.contexts.shape())?;
    check_shape(
        "interaction gradient",
        &[dim, dim],
        grads.interaction.shape(),
    )?;
    workspace.fit(dim, n_rows);
    let Workspace {
        hidden,
        errors,
        weighted,
    } = workspace;

    // h = W u_w
    general_mat_vec_mul(T::one(), &interaction, &focus, T::zero(), hidden);
    // s = Ṽ h, stored in `errors` for now
    general_mat_vec_mul(T::one(), &contexts, &*hidden, T::zero(), errors);
    let loss = loss_and_errors(errors, offsets);
    // e = Ṽᵀ g
    general_mat_vec_mul(T::one(), &contexts.t(), &*errors, T::zero(), weighted);
    add_gradients(
        grads,
        &focus,
        &interaction,
        (&*errors, &*hidden, &*weighted),
        scale,
    );
    Ok(loss)
}

/// Loss and gradients of one observation.
///
/// See the [module documentation](self) for the formulas and an example.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when `contexts` is not `(n+1)×M` with `n + 1 ≥ 1`,
/// `interaction` is not `M×M` or `offsets` is not of length `n + 1` (`M = focus.len()`).
pub fn loss_and_gradient<T: Real>(
    focus: ArrayView1<'_, T>,
    contexts: ArrayView2<'_, T>,
    interaction: ArrayView2<'_, T>,
    offsets: Option<ArrayView1<'_, T>>,
) -> Result<Gradients<T>> {
    let (dim, n_rows) = check_observation(&focus, &contexts, &interaction, offsets.as_ref())?;
    let mut focus_grad = Array1::zeros(dim);
    let mut contexts_grad = Array2::zeros((n_rows, dim));
    let mut interaction_grad = Array2::zeros((dim, dim));
    let mut workspace = Workspace::new(dim, n_rows);
    let loss = accumulate_loss_and_gradient(
        focus,
        contexts,
        interaction,
        offsets,
        T::one(),
        GradientsMut {
            focus: focus_grad.view_mut(),
            contexts: contexts_grad.view_mut(),
            interaction: interaction_grad.view_mut(),
        },
        &mut workspace,
    )?;
    Ok(Gradients {
        loss,
        focus: focus_grad,
        contexts: contexts_grad,
        interaction: interaction_grad,
    })
}

/// Mean loss and gradients of a batch of `S ≥ 1` observations (the course's
/// `lossAndGradientBatched`).
///
/// `focus` is `S×M` (one focus vector per observation), `contexts` is `S×(n+1)×M`
/// (observation `k`'s context rows, positive first) and `offsets`, when given, `S×(n+1)`.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when `S = 0`, `n + 1 = 0`, or a shape does not match the
/// ones above.
pub fn loss_and_gradient_batched<T: Real>(
    focus: ArrayView2<'_, T>,
    contexts: ArrayView3<'_, T>,
    interaction: ArrayView2<'_, T>,
    offsets: Option<ArrayView2<'_, T>>,
) -> Result<BatchGradients<T>> {
    let (n_obs, dim, n_rows) = check_batch(
        &focus,
        &contexts,
        None,
        &interaction,
        ("offsets", offsets.as_ref()),
    )?;
    let scale = T::one() / count_as::<T>(n_obs);
    let mut focus_grad = Array2::zeros((n_obs, dim));
    let mut contexts_grad = Array3::zeros((n_obs, n_rows, dim));
    let mut interaction_grad = Array2::zeros((dim, dim));
    let mut workspace = Workspace::new(dim, n_rows);
    let mut total = T::zero();
    for k in 0..n_obs {
        total = total
            + accumulate_loss_and_gradient(
                focus.row(k),
                contexts.index_axis(Axis(0), k),
                interaction,
                offsets.as_ref().map(|q| q.row(k)),
                scale,
                GradientsMut {
                    focus: focus_grad.row_mut(k),
                    contexts: contexts_grad.index_axis_mut(Axis(0), k),
                    interaction: interaction_grad.view_mut(),
                },
                &mut workspace,
            )?;
    }
    Ok(BatchGradients {
        loss: total * scale,
        focus: focus_grad,
        contexts: contexts_grad,
        interaction: interaction_grad,
    })
}

/// One window offset's interaction `D_p`, the factor between `W` and the context rows in
/// `s = Ṽ D_p W u_w` (see [Per-offset interactions](self#per-offset-interactions)).
#[derive(Debug, Clone, Copy)]
pub enum OffsetInteraction<'a, T> {
    /// `D_p = I`: the shared `W` alone.
    Identity,
    /// `D_p = diag(d_p)`; the view is `d_p`, length `M`.
    Diagonal(ArrayView1<'a, T>),
    /// A full `M×M` matrix `D_p`.
    Full(ArrayView2<'a, T>),
}

/// The interactions `D_0 … D_{P-1}` of every window offset, all of one variant.
#[derive(Debug, Clone, Copy)]
pub enum OffsetInteractionStack<'a, T> {
    /// Every `D_p = I`; any offset index is accepted.
    Identity,
    /// `P×M`: row `p` is `d_p`, `D_p = diag(d_p)`.
    Diagonal(ArrayView2<'a, T>),
    /// `P×M×M`: `D_p` is `[p, .., ..]`.
    Full(ArrayView3<'a, T>),
}

impl<'a, T> OffsetInteractionStack<'a, T> {
    /// `P`, the number of interactions, or `None` for [`Identity`](Self::Identity) (which
    /// stands for any number of identities).
    pub fn n_offsets(&self) -> Option<usize> {
        match self {
            OffsetInteractionStack::Identity => None,
            OffsetInteractionStack::Diagonal(d) => Some(d.nrows()),
            OffsetInteractionStack::Full(d) => Some(d.len_of(Axis(0))),
        }
    }

    /// `D_p`, or `None` when `p ≥ P`.
    pub fn get(&self, p: usize) -> Option<OffsetInteraction<'a, T>> {
        match *self {
            OffsetInteractionStack::Identity => Some(OffsetInteraction::Identity),
            OffsetInteractionStack::Diagonal(d) => {
                (p < d.nrows()).then(|| OffsetInteraction::Diagonal(d.index_axis_move(Axis(0), p)))
            }
            OffsetInteractionStack::Full(d) => (p < d.len_of(Axis(0)))
                .then(|| OffsetInteraction::Full(d.index_axis_move(Axis(0), p))),
        }
    }
}

/// `∂J/∂D_p` of one observation, of the variant of its `D_p`.
#[derive(Debug, Clone, PartialEq)]
pub enum OffsetInteractionGradient<T> {
    /// `D_p = I` has no parameters.
    Identity,
    /// `∂J/∂d_p = e ⊙ h`, length `M`.
    Diagonal(Array1<T>),
    /// `∂J/∂D_p = e hᵀ`, `M×M`.
    Full(Array2<T>),
}

/// The gradient of a batch's mean loss with respect to every `D_p` of the stack.
#[derive(Debug, Clone, PartialEq)]
pub enum OffsetInteractionStackGradient<T> {
    /// Identities have no parameters.
    Identity,
    /// `P×M`: row `p` is `∂J/∂d_p`.
    Diagonal(Array2<T>),
    /// `P×M×M`: `[p, .., ..]` is `∂J/∂D_p`.
    Full(Array3<T>),
}

/// Loss and gradients of one observation with a per-offset interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetGradients<T> {
    /// `J`.
    pub loss: T,
    /// `∂J/∂u_w = Wᵀ D_pᵀ Ṽᵀ g`, length `M`.
    pub focus: Array1<T>,
    /// `∂J/∂Ṽ = g ⊗ h_p`, `(n+1)×M`; row 0 belongs to the observed context.
    pub contexts: Array2<T>,
    /// `∂J/∂W = (D_pᵀ Ṽᵀ g) u_wᵀ`, `M×M`.
    pub interaction: Array2<T>,
    /// `∂J/∂D_p`.
    pub offset_interaction: OffsetInteractionGradient<T>,
}

/// Mean loss and gradients of a batch of `S` observations with per-offset interactions.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetBatchGradients<T> {
    /// Mean `J` over the batch.
    pub loss: T,
    /// `S×M`: row `k` is observation `k`'s `∂J/∂u_w` divided by `S`.
    pub focus: Array2<T>,
    /// `S×(n+1)×M`: observation `k`'s `∂J/∂Ṽ` divided by `S`.
    pub contexts: Array3<T>,
    /// `M×M`: the mean of the observations' `∂J/∂W`.
    pub interaction: Array2<T>,
    /// Every `∂J/∂D_p`: the sum of the gradients of the observations at index `p`, divided
    /// by `S`.
    pub offset_interactions: OffsetInteractionStackGradient<T>,
}

/// Where one observation's `∂J/∂D_p` is added.
enum OffsetGradientMut<'a, T> {
    Identity,
    Diagonal(ArrayViewMut1<'a, T>),
    Full(ArrayViewMut2<'a, T>),
}

/// Scratch vectors of the per-offset computation.
struct OffsetWorkspace<T> {
    /// `h = W u_w`.
    hidden: Array1<T>,
    /// `h_p = D_p h`.
    positioned: Array1<T>,
    /// `s`, then `g`.
    errors: Array1<T>,
    /// `e = Ṽᵀ g`.
    weighted: Array1<T>,
    /// `ẽ = D_pᵀ e`.
    back: Array1<T>,
}

impl<T: Real> OffsetWorkspace<T> {
    fn new(dim: usize, n_rows: usize) -> Self {
        OffsetWorkspace {
            hidden: Array1::zeros(dim),
            positioned: Array1::zeros(dim),
            errors: Array1::zeros(n_rows),
            weighted: Array1::zeros(dim),
            back: Array1::zeros(dim),
        }
    }
}

/// Checks that `d` fits dimension `dim`.
fn check_offset_interaction<T>(d: &OffsetInteraction<'_, T>, dim: usize) -> Result<()> {
    match d {
        OffsetInteraction::Identity => Ok(()),
        OffsetInteraction::Diagonal(d) => check_shape("offset interaction", &[dim], d.shape()),
        OffsetInteraction::Full(d) => check_shape("offset interaction", &[dim, dim], d.shape()),
    }
}

/// Adds `scale` times one observation's gradients into the buffers and returns its loss.
/// The caller has checked every shape.
#[allow(clippy::too_many_arguments)]
fn accumulate_offset<T: Real>(
    focus: ArrayView1<'_, T>,
    contexts: ArrayView2<'_, T>,
    interaction: ArrayView2<'_, T>,
    offset_interaction: OffsetInteraction<'_, T>,
    noise_offsets: Option<ArrayView1<'_, T>>,
    scale: T,
    grads: GradientsMut<'_, T>,
    offset_grad: OffsetGradientMut<'_, T>,
    workspace: &mut OffsetWorkspace<T>,
) -> T {
    let OffsetWorkspace {
        hidden,
        positioned,
        errors,
        weighted,
        back,
    } = workspace;
    // h = W u_w
    general_mat_vec_mul(T::one(), &interaction, &focus, T::zero(), hidden);
    // h_p = D_p h
    match offset_interaction {
        OffsetInteraction::Identity => positioned.assign(&*hidden),
        OffsetInteraction::Diagonal(d) => Zip::from(&mut *positioned)
            .and(&d)
            .and(&*hidden)
            .for_each(|y, &d, &h| *y = d * h),
        OffsetInteraction::Full(d) => {
            general_mat_vec_mul(T::one(), &d, &*hidden, T::zero(), positioned)
        }
    }
    // s = Ṽ h_p, stored in `errors` for now
    general_mat_vec_mul(T::one(), &contexts, &*positioned, T::zero(), errors);
    let loss = loss_and_errors(errors, noise_offsets);
    // e = Ṽᵀ g
    general_mat_vec_mul(T::one(), &contexts.t(), &*errors, T::zero(), weighted);
    // ∂J/∂D_p = e hᵀ, or its diagonal e ⊙ h
    match offset_grad {
        OffsetGradientMut::Identity => {}
        OffsetGradientMut::Diagonal(mut grad) => Zip::from(&mut grad)
            .and(&*weighted)
            .and(&*hidden)
            .for_each(|g, &e, &h| *g = *g + scale * e * h),
        OffsetGradientMut::Full(mut grad) => {
            for (mut row, &e) in grad.axis_iter_mut(Axis(0)).zip(weighted.iter()) {
                row.scaled_add(scale * e, &*hidden);
            }
        }
    }
    // ẽ = D_pᵀ e
    match offset_interaction {
        OffsetInteraction::Identity => back.assign(&*weighted),
        OffsetInteraction::Diagonal(d) => Zip::from(&mut *back)
            .and(&d)
            .and(&*weighted)
            .for_each(|y, &d, &e| *y = d * e),
        OffsetInteraction::Full(d) => {
            general_mat_vec_mul(T::one(), &d.t(), &*weighted, T::zero(), back)
        }
    }
    // ∂J/∂u_w = Wᵀ ẽ, ∂J/∂Ṽ = g ⊗ h_p, ∂J/∂W = ẽ u_wᵀ
    add_gradients(
        grads,
        &focus,
        &interaction,
        (&*errors, &*positioned, &*back),
        scale,
    );
    loss
}

/// Loss and gradients of one observation scored `s = Ṽ D_p W u_w`.
///
/// `contexts` holds the observed context in row 0 and the negatives in rows `1..=n`;
/// `noise_offsets`, when given, are the noise-contrastive offsets `q` (one per context row,
/// subtracted from the scores) exactly as `offsets` in [`loss_and_gradient`]. See
/// [Per-offset interactions](self#per-offset-interactions) for the formulas.
///
/// # Example
///
/// With `D_p = diag(2, 0)` only the first coordinate of `h = W u_w` counts, twice:
///
/// ```
/// use bilinear_skipgram::loss::{
///     OffsetInteraction, OffsetInteractionGradient, offset_loss_and_gradient, softplus,
/// };
/// use ndarray::array;
///
/// let u = array![1.0_f64, 3.0];
/// let contexts = array![[1.0, 1.0]];
/// let w = array![[1.0, 0.0], [0.0, 1.0]];
/// let d = array![2.0, 0.0];
/// let g = offset_loss_and_gradient(
///     u.view(), contexts.view(), w.view(), OffsetInteraction::Diagonal(d.view()), None,
/// )?;
/// // h = (1, 3), h_p = (2, 0), s = 2
/// assert!((g.loss - softplus(-2.0)).abs() < 1e-15);
/// // g_0 = σ(2) − 1, e = g_0 v_c, ∂J/∂d = e ⊙ h = g_0 (1, 3)
/// let g0 = g.contexts[[0, 0]] / 2.0;
/// assert_eq!(g.offset_interaction, OffsetInteractionGradient::Diagonal(array![g0, 3.0 * g0]));
/// // ẽ = d ⊙ e = (2 g_0, 0): u's second coordinate does not reach the score
/// assert_eq!(g.focus, array![2.0 * g0, 0.0]);
/// # Ok::<(), bilinear_skipgram::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when `contexts` is not `(n+1)×M` with `n + 1 ≥ 1`,
/// `interaction` is not `M×M`, a diagonal `D_p` is not of length `M`, a full one not `M×M`,
/// or `noise_offsets` is not of length `n + 1` (`M = focus.len()`).
pub fn offset_loss_and_gradient<T: Real>(
    focus: ArrayView1<'_, T>,
    contexts: ArrayView2<'_, T>,
    interaction: ArrayView2<'_, T>,
    offset_interaction: OffsetInteraction<'_, T>,
    noise_offsets: Option<ArrayView1<'_, T>>,
) -> Result<OffsetGradients<T>> {
    let (dim, n_rows) = check_observation(&focus, &contexts, &interaction, noise_offsets.as_ref())?;
    check_offset_interaction(&offset_interaction, dim)?;
    let mut focus_grad = Array1::zeros(dim);
    let mut contexts_grad = Array2::zeros((n_rows, dim));
    let mut interaction_grad = Array2::zeros((dim, dim));
    let mut offset_grad = match offset_interaction {
        OffsetInteraction::Identity => OffsetInteractionGradient::Identity,
        OffsetInteraction::Diagonal(_) => OffsetInteractionGradient::Diagonal(Array1::zeros(dim)),
        OffsetInteraction::Full(_) => OffsetInteractionGradient::Full(Array2::zeros((dim, dim))),
    };
    let offset_grad_mut = match &mut offset_grad {
        OffsetInteractionGradient::Identity => OffsetGradientMut::Identity,
        OffsetInteractionGradient::Diagonal(g) => OffsetGradientMut::Diagonal(g.view_mut()),
        OffsetInteractionGradient::Full(g) => OffsetGradientMut::Full(g.view_mut()),
    };
    let loss = accumulate_offset(
        focus,
        contexts,
        interaction,
        offset_interaction,
        noise_offsets,
        T::one(),
        GradientsMut {
            focus: focus_grad.view_mut(),
            contexts: contexts_grad.view_mut(),
            interaction: interaction_grad.view_mut(),
        },
        offset_grad_mut,
        &mut OffsetWorkspace::new(dim, n_rows),
    );
    Ok(OffsetGradients {
        loss,
        focus: focus_grad,
        contexts: contexts_grad,
        interaction: interaction_grad,
        offset_interaction: offset_grad,
    })
}

/// Mean loss and gradients of a batch of `S ≥ 1` observations, observation `k` scored with
/// the interaction `D_{offset_indices[k]}` of the stack.
///
/// `focus` is `S×M`, `contexts` `S×(n+1)×M` (observation `k`'s context rows, positive
/// first), `offset_indices` has length `S`, and `noise_offsets`, when given, is `S×(n+1)`
/// (as `offsets` in [`loss_and_gradient_batched`]). The result holds `∂J/∂D_p` for every
/// `p` of the stack, zero for those no observation uses. With
/// [`OffsetInteractionStack::Identity`] the indices are not used.
///
/// # Errors
///
/// [`Error::ShapeMismatch`] when `S = 0`, `n + 1 = 0`, a shape does not match the ones
/// above or the stack is not `P×M` (diagonal) or `P×M×M` (full);
/// [`Error::IndexOutOfRange`] for an offset index `≥ P`.
pub fn offset_loss_and_gradient_batched<T: Real>(
    focus: ArrayView2<'_, T>,
    contexts: ArrayView3<'_, T>,
    offset_indices: &[usize],
    interaction: ArrayView2<'_, T>,
    offset_interactions: OffsetInteractionStack<'_, T>,
    noise_offsets: Option<ArrayView2<'_, T>>,
) -> Result<OffsetBatchGradients<T>> {
    let (n_obs, dim, n_rows) = check_batch(
        &focus,
        &contexts,
        Some(offset_indices),
        &interaction,
        ("noise offsets", noise_offsets.as_ref()),
    )?;
    let mut offset_grad = match offset_interactions {
        OffsetInteractionStack::Identity => OffsetInteractionStackGradient::Identity,
        OffsetInteractionStack::Diagonal(d) => {
            let n_offsets = d.nrows();
            check_shape("offset interactions", &[n_offsets, dim], d.shape())?;
            OffsetInteractionStackGradient::Diagonal(Array2::zeros((n_offsets, dim)))
        }
        OffsetInteractionStack::Full(d) => {
            let n_offsets = d.len_of(Axis(0));
            check_shape("offset interactions", &[n_offsets, dim, dim], d.shape())?;
            OffsetInteractionStackGradient::Full(Array3::zeros((n_offsets, dim, dim)))
        }
    };
    if let Some(n_offsets) = offset_interactions.n_offsets()
        && let Some(&index) = offset_indices.iter().find(|&&p| p >= n_offsets)
    {
        return Err(Error::IndexOutOfRange {
            what: "offset interaction",
            index,
            len: n_offsets,
        });
    }
    let scale = T::one() / count_as::<T>(n_obs);
    let mut focus_grad = Array2::zeros((n_obs, dim));
    let mut contexts_grad = Array3::zeros((n_obs, n_rows, dim));
    let mut interaction_grad = Array2::zeros((dim, dim));
    let mut workspace = OffsetWorkspace::new(dim, n_rows);
    let mut total = T::zero();
    for (k, &p) in offset_indices.iter().enumerate() {
        // Checked above: every index is in range.
        let Some(d) = offset_interactions.get(p) else {
            continue;
        };
        let offset_grad_mut = match &mut offset_grad {
            OffsetInteractionStackGradient::Identity => OffsetGradientMut::Identity,
            OffsetInteractionStackGradient::Diagonal(g) => {
                OffsetGradientMut::Diagonal(g.row_mut(p))
            }
            OffsetInteractionStackGradient::Full(g) => {
                OffsetGradientMut::Full(g.index_axis_mut(Axis(0), p))
            }
        };
        total = total
            + accumulate_offset(
                focus.row(k),
                contexts.index_axis(Axis(0), k),
                interaction,
                d,
                noise_offsets.as_ref().map(|q| q.row(k)),
                scale,
                GradientsMut {
                    focus: focus_grad.row_mut(k),
                    contexts: contexts_grad.index_axis_mut(Axis(0), k),
                    interaction: interaction_grad.view_mut(),
                },
                offset_grad_mut,
                &mut workspace,
            );
    }
    Ok(OffsetBatchGradients {
        loss: total * scale,
        focus: focus_grad,
        contexts: contexts_grad,
        interaction: interaction_grad,
        offset_interactions: offset_grad,
    })
}

/// `n` as a float; exact for every batch size that fits in memory.
fn count_as<T: Real>(n: usize) -> T {
    // A usize always converts to a float (possibly rounded); the fallback is unreachable.
    T::from(n).unwrap_or_else(T::one)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn stable_at_extreme_scores() {
        for &x in &[-1e4_f32, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4] {
            assert!(softplus(x).is_finite(), "softplus({x})");
            assert!(sigmoid(x).is_finite(), "sigmoid({x})");
            assert!(log_sigmoid(x).is_finite(), "log_sigmoid({x})");
        }
        assert_eq!(softplus(1e4_f64), 1e4);
        assert_eq!(log_sigmoid(-1e4_f64), -1e4);
        assert!((softplus(0.0_f64) - 2f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn saturated_scores_give_finite_gradients() {
        let u = array![100.0_f32, -100.0];
        let contexts = array![[-100.0_f32, 100.0], [100.0, -100.0]];
        let w = array![[1.0_f32, 0.0], [0.0, 1.0]];
        let g =
            loss_and_gradient(u.view(), contexts.view(), w.view(), None).expect("shapes are right");
        assert!(g.loss.is_finite() && g.loss > 1e4);
        assert!(g.focus.iter().all(|x| x.is_finite()));
        assert!(g.contexts.iter().all(|x| x.is_finite()));
        assert!(g.interaction.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn shape_errors() {
        let u = array![1.0_f64, 2.0];
        let w = Array2::<f64>::eye(2);
        let empty = Array2::<f64>::zeros((0, 2));
        assert!(matches!(
            loss_and_gradient(u.view(), empty.view(), w.view(), None),
            Err(Error::ShapeMismatch { .. })
        ));
        let wrong_dim = Array2::<f64>::zeros((2, 3));
        let err = loss_and_gradient(u.view(), wrong_dim.view(), w.view(), None)
            .expect_err("contexts are 2×3 for M = 2");
        assert_eq!(
            err.to_string(),
            "shape mismatch for contexts: expected [2, 2], found [2, 3]"
        );
        let contexts = Array2::<f64>::zeros((3, 2));
        let w3 = Array2::<f64>::eye(3);
        assert!(matches!(
            loss_and_gradient(u.view(), contexts.view(), w3.view(), None),
            Err(Error::ShapeMismatch {
                what: "interaction",
                ..
            })
        ));
        let q = array![0.0_f64, 1.0];
        assert!(matches!(
            loss_and_gradient(u.view(), contexts.view(), w.view(), Some(q.view())),
            Err(Error::ShapeMismatch {
                what: "offsets",
                ..
            })
        ));
        let batch_u = Array2::<f64>::zeros((0, 2));
        let batch_c = Array3::<f64>::zeros((0, 3, 2));
        assert!(matches!(
            loss_and_gradient_batched(batch_u.view(), batch_c.view(), w.view(), None),
            Err(Error::ShapeMismatch { .. })
        ));
        let batch_u = Array2::<f64>::zeros((2, 2));
        let batch_c = Array3::<f64>::zeros((3, 3, 2));
        assert!(matches!(
            loss_and_gradient_batched(batch_u.view(), batch_c.view(), w.view(), None),
            Err(Error::ShapeMismatch {
                what: "contexts",
                ..
            })
        ));
        let mut fg = Array1::<f64>::zeros(3);
        let mut cg = Array2::<f64>::zeros((3, 2));
        let mut ig = Array2::<f64>::zeros((2, 2));
        let mut ws = Workspace::new(2, 3);
        assert!(matches!(
            accumulate_loss_and_gradient(
                u.view(),
                contexts.view(),
                w.view(),
                None,
                1.0,
                GradientsMut {
                    focus: fg.view_mut(),
                    contexts: cg.view_mut(),
                    interaction: ig.view_mut(),
                },
                &mut ws,
            ),
            Err(Error::ShapeMismatch {
                what: "focus gradient",
                ..
            })
        ));
    }
}
