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
//! # Numerics
//!
//! `log σ` is evaluated through `softplus(x) = max(x, 0) + ln(1 + e^{-|x|})` and `σ`
//! through the branch that never exponentiates a positive number, so scores of any finite
//! size give finite losses and gradients (no `log(0)`, no `inf/inf`).
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
    let GradientsMut {
        focus: mut focus_grad,
        contexts: mut contexts_grad,
        interaction: mut interaction_grad,
    } = grads;
    check_shape("focus gradient", &[dim], focus_grad.shape())?;
    check_shape("contexts gradient", &[n_rows, dim], contexts_grad.shape())?;
    check_shape(
        "interaction gradient",
        &[dim, dim],
        interaction_grad.shape(),
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
    if let Some(q) = offsets {
        Zip::from(&mut *errors)
            .and(&q)
            .for_each(|s, &q| *s = *s - q);
    }
    // J and g = σ(s) - δ; g_0 = -σ(-s_0) avoids cancellation.
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
    // e = Ṽᵀ g
    general_mat_vec_mul(T::one(), &contexts.t(), &*errors, T::zero(), weighted);
    // ∂J/∂u_w = Wᵀ e, as a sum of rows of W (contiguous for row-major W)
    for (row, &e) in interaction.axis_iter(Axis(0)).zip(weighted.iter()) {
        focus_grad.scaled_add(scale * e, &row);
    }
    // ∂J/∂Ṽ = g ⊗ h
    for (mut row, &g) in contexts_grad.axis_iter_mut(Axis(0)).zip(errors.iter()) {
        row.scaled_add(scale * g, &*hidden);
    }
    // ∂J/∂W = e u_wᵀ
    for (mut row, &e) in interaction_grad.axis_iter_mut(Axis(0)).zip(weighted.iter()) {
        row.scaled_add(scale * e, &focus);
    }
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
    check_shape("interaction", &[dim, dim], interaction.shape())?;
    if let Some(q) = &offsets {
        check_shape("offsets", &[n_obs, n_rows], q.shape())?;
    }
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
