//! Property tests of the per-offset loss `s = Ṽ D_p W u_w`
//! ([`offset_loss_and_gradient`], [`offset_loss_and_gradient_batched`]): every gradient entry
//! against central finite differences, against the formulas written out independently with
//! plain loops, the batch against single observations, the reductions to the plain loss
//! (`D_p = I`) and of a diagonal to a full `D_p`, repeated rows and saturated scores.
//!
//! Everything is `f64` unless a test says otherwise. `D_p` is drawn as the identity, a
//! diagonal or a full matrix with entries `U[-1.5, 1.5]`; the other entries are
//! `U[-1, 1] × scale` with `scale` one of `0.1`, `1` or a value in `[3, 6]`, so that scores
//! saturate in some cases, as in `tests/gradients.rs`.
//!
//! Tolerances follow `tests/gradients.rs`: a central difference `(L(x+h) − L(x−h)) / 2h`
//! differs from `∂L/∂x` by rounding, at most about `ε·C/h` with `C` the loss evaluated in
//! absolute values, plus truncation `h²/6·|L'''|` with `|L'''| ≤ max|σ''|·Σ_k |∂s_k/∂x|³`
//! (every term of `J` is a softplus of a score that is linear in any single input entry);
//! the tests allow 4× their sum. Two evaluations of the same formulas in a different order
//! differ by at most `γ·(1 + C_k)` relative to the size of each term, `γ = c·(3M + n)·ε`.

use approx::assert_abs_diff_eq;
use bilinear_skipgram::Error;
use bilinear_skipgram::loss::{
    OffsetBatchGradients, OffsetGradients, OffsetInteraction, OffsetInteractionGradient,
    OffsetInteractionStack, OffsetInteractionStackGradient, loss_and_gradient,
    loss_and_gradient_batched, offset_loss_and_gradient, offset_loss_and_gradient_batched,
};
use ndarray::{Array1, Array2, Array3, Axis, array, s};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::subsequence;

/// Cases per property; the file runs in a few seconds with `--release`.
const CASES: u32 = 128;
const EPS: f64 = f64::EPSILON;
/// `max |σ''(x)| = 1/(6√3)`.
const SIGMA2_MAX: f64 = 0.096_225_044_864_937_63;
/// Safety factor on the finite-difference error bound.
const FD_SAFETY: f64 = 4.0;

// ---------------------------------------------------------------------------------------
// Independent reference functions (no call into the crate).
// ---------------------------------------------------------------------------------------

fn sigma(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn log_sigma(x: f64) -> f64 {
    if x >= 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

fn max_abs<'a>(values: impl IntoIterator<Item = &'a f64>) -> f64 {
    values.into_iter().fold(0.0, |acc, x| acc.max(x.abs()))
}

/// `A x` with plain loops, optionally in absolute values.
fn mat_vec(a: &Array2<f64>, x: &[f64], abs: bool) -> Vec<f64> {
    let f = |v: f64| if abs { v.abs() } else { v };
    (0..a.nrows())
        .map(|i| (0..a.ncols()).map(|j| f(a[[i, j]]) * f(x[j])).sum())
        .collect()
}

/// `Aᵀ x` with plain loops, optionally in absolute values.
fn mat_t_vec(a: &Array2<f64>, x: &[f64], abs: bool) -> Vec<f64> {
    let f = |v: f64| if abs { v.abs() } else { v };
    (0..a.ncols())
        .map(|j| (0..a.nrows()).map(|i| f(a[[i, j]]) * f(x[i])).sum())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Cases.
// ---------------------------------------------------------------------------------------

/// One `D_p`.
#[derive(Debug, Clone)]
enum Offset {
    Identity,
    Diagonal(Array1<f64>),
    Full(Array2<f64>),
}

impl Offset {
    fn view(&self) -> OffsetInteraction<'_, f64> {
        match self {
            Offset::Identity => OffsetInteraction::Identity,
            Offset::Diagonal(d) => OffsetInteraction::Diagonal(d.view()),
            Offset::Full(d) => OffsetInteraction::Full(d.view()),
        }
    }

    /// `D_p` as a dense `M×M` matrix.
    fn dense(&self, m: usize) -> Array2<f64> {
        match self {
            Offset::Identity => Array2::eye(m),
            Offset::Diagonal(d) => Array2::from_diag(d),
            Offset::Full(d) => d.clone(),
        }
    }
}

/// One observation: focus `u`, context rows `c` (row 0 positive), `w`, `d` and optional
/// noise offsets `q`.
#[derive(Debug, Clone)]
struct Case {
    u: Array1<f64>,
    c: Array2<f64>,
    w: Array2<f64>,
    d: Offset,
    q: Option<Array1<f64>>,
}

impl Case {
    fn dim(&self) -> usize {
        self.u.len()
    }

    fn n_rows(&self) -> usize {
        self.c.nrows()
    }

    fn grads(&self) -> OffsetGradients<f64> {
        offset_loss_and_gradient(
            self.u.view(),
            self.c.view(),
            self.w.view(),
            self.d.view(),
            self.q.as_ref().map(|q| q.view()),
        )
        .expect("the strategies build consistent shapes")
    }

    fn loss(&self) -> f64 {
        self.grads().loss
    }

    fn dense_d(&self) -> Array2<f64> {
        self.d.dense(self.dim())
    }

    /// `h = W u`.
    fn hidden(&self) -> Vec<f64> {
        mat_vec(&self.w, self.u.as_slice().expect("contiguous"), false)
    }

    /// `h_p = D_p W u`.
    fn positioned(&self) -> Vec<f64> {
        mat_vec(&self.dense_d(), &self.hidden(), false)
    }

    /// `s_k − q_k`.
    fn scores(&self) -> Vec<f64> {
        let hp = self.positioned();
        (0..self.n_rows())
            .map(|k| {
                (0..self.dim()).map(|i| self.c[[k, i]] * hp[i]).sum::<f64>()
                    - self.q.as_ref().map_or(0.0, |q| q[k])
            })
            .collect()
    }

    /// `C_k = |v_k|ᵀ |D_p| |W| |u| + |q_k| + 1`.
    fn magnitudes(&self) -> Vec<f64> {
        let abs_h = mat_vec(&self.w, self.u.as_slice().expect("contiguous"), true);
        let abs_hp = mat_vec(&self.dense_d(), &abs_h, true);
        (0..self.n_rows())
            .map(|k| {
                (0..self.dim())
                    .map(|i| self.c[[k, i]].abs() * abs_hp[i])
                    .sum::<f64>()
                    + self.q.as_ref().map_or(0.0, |q| q[k].abs())
                    + 1.0
            })
            .collect()
    }

    /// `∂s_k/∂u_j = (Wᵀ D_pᵀ v_k)_j` for every row `k`: row `k` of the result.
    fn focus_slopes(&self) -> Vec<Vec<f64>> {
        let d = self.dense_d();
        (0..self.n_rows())
            .map(|k| {
                let dv = mat_t_vec(&d, self.c.row(k).as_slice().expect("contiguous"), false);
                mat_t_vec(&self.w, &dv, false)
            })
            .collect()
    }

    fn to_f32(&self) -> Case32 {
        Case32 {
            u: self.u.mapv(|x| x as f32),
            c: self.c.mapv(|x| x as f32),
            w: self.w.mapv(|x| x as f32),
            d: match &self.d {
                Offset::Identity => None,
                Offset::Diagonal(d) => Some((d.mapv(|x| x as f32).insert_axis(Axis(0)), true)),
                Offset::Full(d) => Some((d.mapv(|x| x as f32), false)),
            },
            q: self.q.as_ref().map(|q| q.mapv(|x| x as f32)),
        }
    }
}

/// The same observation in `f32`; `d` is `(1×M, true)` for a diagonal, `(M×M, false)` for a
/// full `D_p`.
struct Case32 {
    u: Array1<f32>,
    c: Array2<f32>,
    w: Array2<f32>,
    d: Option<(Array2<f32>, bool)>,
    q: Option<Array1<f32>>,
}

impl Case32 {
    fn grads(&self) -> OffsetGradients<f32> {
        let d = match &self.d {
            None => OffsetInteraction::Identity,
            Some((d, true)) => OffsetInteraction::Diagonal(d.row(0)),
            Some((d, false)) => OffsetInteraction::Full(d.view()),
        };
        offset_loss_and_gradient(
            self.u.view(),
            self.c.view(),
            self.w.view(),
            d,
            self.q.as_ref().map(|q| q.view()),
        )
        .expect("consistent shapes")
    }

    fn to_f64(&self) -> Case {
        Case {
            u: self.u.mapv(f64::from),
            c: self.c.mapv(f64::from),
            w: self.w.mapv(f64::from),
            d: match &self.d {
                None => Offset::Identity,
                Some((d, true)) => Offset::Diagonal(d.row(0).mapv(f64::from)),
                Some((d, false)) => Offset::Full(d.mapv(f64::from)),
            },
            q: self.q.as_ref().map(|q| q.mapv(f64::from)),
        }
    }
}

fn scale() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.1), Just(1.0), 3.0..=6.0]
}

fn entries(len: usize, scale: f64) -> impl Strategy<Value = Vec<f64>> {
    vec(-1.0..=1.0, len).prop_map(move |v| v.into_iter().map(|x| x * scale).collect())
}

/// 0 identity, 1 diagonal, 2 full.
fn offset_kind() -> impl Strategy<Value = u8> {
    0u8..=2
}

fn offset(kind: u8, m: usize) -> impl Strategy<Value = Offset> {
    vec(-1.5..=1.5, m * m).prop_map(move |v| match kind {
        0 => Offset::Identity,
        1 => Offset::Diagonal(Array1::from_vec(v[..m].to_vec())),
        _ => Offset::Full(Array2::from_shape_vec((m, m), v).expect("M·M entries")),
    })
}

fn case_with(
    m: usize,
    n: usize,
    scale: f64,
    kind: u8,
    with_q: bool,
) -> impl Strategy<Value = Case> {
    (
        entries(m, scale),
        entries((n + 1) * m, scale),
        entries(m * m, scale),
        offset(kind, m),
        vec(-3.0..=3.0, n + 1),
    )
        .prop_map(move |(u, c, w, d, q)| Case {
            u: Array1::from_vec(u),
            c: Array2::from_shape_vec((n + 1, m), c).expect("(n+1)·M entries"),
            w: Array2::from_shape_vec((m, m), w).expect("M·M entries"),
            d,
            q: with_q.then(|| Array1::from_vec(q)),
        })
}

/// `M ∈ 1..=24`, `n ∈ 0..=8`, any scale, any `D_p`, with or without `q`.
fn any_case() -> impl Strategy<Value = Case> {
    (
        1usize..=24,
        0usize..=8,
        scale(),
        offset_kind(),
        any::<bool>(),
    )
        .prop_flat_map(|(m, n, sc, kind, q)| case_with(m, n, sc, kind, q))
}

/// A stack of `P` interactions of one variant.
#[derive(Debug, Clone)]
enum Stack {
    Identity,
    Diagonal(Array2<f64>),
    Full(Array3<f64>),
}

impl Stack {
    fn view(&self) -> OffsetInteractionStack<'_, f64> {
        match self {
            Stack::Identity => OffsetInteractionStack::Identity,
            Stack::Diagonal(d) => OffsetInteractionStack::Diagonal(d.view()),
            Stack::Full(d) => OffsetInteractionStack::Full(d.view()),
        }
    }

    fn get(&self, p: usize) -> Offset {
        match self {
            Stack::Identity => Offset::Identity,
            Stack::Diagonal(d) => Offset::Diagonal(d.row(p).to_owned()),
            Stack::Full(d) => Offset::Full(d.index_axis(Axis(0), p).to_owned()),
        }
    }
}

/// `S` observations sharing `W` and the stack; observation `k` uses `D_{index[k]}`.
#[derive(Debug, Clone)]
struct Batch {
    u: Array2<f64>,
    c: Array3<f64>,
    index: Vec<usize>,
    w: Array2<f64>,
    stack: Stack,
    n_offsets: usize,
    q: Option<Array2<f64>>,
}

impl Batch {
    fn len(&self) -> usize {
        self.u.nrows()
    }

    fn grads(&self) -> OffsetBatchGradients<f64> {
        offset_loss_and_gradient_batched(
            self.u.view(),
            self.c.view(),
            &self.index,
            self.w.view(),
            self.stack.view(),
            self.q.as_ref().map(|q| q.view()),
        )
        .expect("the strategies build consistent shapes")
    }

    fn loss(&self) -> f64 {
        self.grads().loss
    }

    fn observation(&self, k: usize) -> Case {
        Case {
            u: self.u.row(k).to_owned(),
            c: self.c.index_axis(Axis(0), k).to_owned(),
            w: self.w.clone(),
            d: self.stack.get(self.index[k]),
            q: self.q.as_ref().map(|q| q.row(k).to_owned()),
        }
    }
}

/// `S ∈ 1..=5`, `M ∈ 1..=12`, `n ∈ 0..=5`, `P ∈ 1..=6`.
fn batch() -> impl Strategy<Value = Batch> {
    (
        1usize..=5,
        1usize..=12,
        0usize..=5,
        1usize..=6,
        scale(),
        offset_kind(),
        any::<bool>(),
    )
        .prop_flat_map(|(s, m, n, p, sc, kind, with_q)| {
            (
                entries(s * m, sc),
                entries(s * (n + 1) * m, sc),
                vec(0..p, s),
                entries(m * m, sc),
                vec(-1.5..=1.5, p * m * m),
                vec(-3.0..=3.0, s * (n + 1)),
            )
                .prop_map(move |(u, c, index, w, d, q)| Batch {
                    u: Array2::from_shape_vec((s, m), u).expect("S·M entries"),
                    c: Array3::from_shape_vec((s, n + 1, m), c).expect("S·(n+1)·M entries"),
                    index,
                    w: Array2::from_shape_vec((m, m), w).expect("M·M entries"),
                    stack: match kind {
                        0 => Stack::Identity,
                        1 => Stack::Diagonal(
                            Array2::from_shape_vec((p, m), d[..p * m].to_vec())
                                .expect("P·M entries"),
                        ),
                        _ => Stack::Full(
                            Array3::from_shape_vec((p, m, m), d).expect("P·M·M entries"),
                        ),
                    },
                    n_offsets: p,
                    q: with_q
                        .then(|| Array2::from_shape_vec((s, n + 1), q).expect("S·(n+1) entries")),
                })
        })
}

// ---------------------------------------------------------------------------------------
// Finite differences.
// ---------------------------------------------------------------------------------------

/// Central difference of `loss` in one variable currently `x0`; `set` writes it into a
/// copy of `base`. Returns the quotient and the step.
fn central_difference<C: Clone>(
    base: &C,
    x0: f64,
    loss: impl Fn(&C) -> f64,
    set: impl Fn(&mut C, f64),
) -> (f64, f64) {
    let h = 1e-6 * x0.abs().max(1.0);
    let (plus, minus) = (x0 + h, x0 - h);
    let mut case = base.clone();
    set(&mut case, plus);
    let loss_plus = loss(&case);
    set(&mut case, minus);
    let loss_minus = loss(&case);
    ((loss_plus - loss_minus) / (plus - minus), h)
}

/// Checks an analytic derivative against a central difference of a loss `weight · Σ J`
/// whose terms add up to `magnitude` in absolute values; `slopes` holds `∂s/∂x` for every
/// score the variable enters.
fn check_fd(
    analytic: f64,
    (fd, h): (f64, f64),
    magnitude: f64,
    weight: f64,
    slopes: &[f64],
    what: &str,
    index: &[usize],
) -> Result<(), TestCaseError> {
    let rounding = EPS * weight * magnitude / h;
    let truncation =
        h * h / 6.0 * SIGMA2_MAX * weight * slopes.iter().map(|a| a.abs().powi(3)).sum::<f64>();
    let tolerance = FD_SAFETY * (rounding + truncation);
    prop_assert!(
        (fd - analytic).abs() <= tolerance,
        "{what}{index:?}: analytic {analytic:e}, finite difference {fd:e}, difference {:e} > \
         tolerance {tolerance:e} (rounding {rounding:e}, truncation {truncation:e}, h {h:e})",
        (fd - analytic).abs()
    );
    Ok(())
}

/// Every entry of every gradient of one observation against a central difference.
fn check_single_by_fd(case: &Case) -> Result<(), TestCaseError> {
    let g = case.grads();
    let (m, rows) = (case.dim(), case.n_rows());
    let (h, hp) = (case.hidden(), case.positioned());
    let magnitude: f64 = case.magnitudes().iter().sum();
    let loss = Case::loss;
    prop_assert!(g.loss.is_finite());

    let focus_slopes = case.focus_slopes();
    for j in 0..m {
        let slopes: Vec<f64> = focus_slopes.iter().map(|row| row[j]).collect();
        let fd = central_difference(case, case.u[j], loss, |c, x| c.u[j] = x);
        check_fd(g.focus[j], fd, magnitude, 1.0, &slopes, "∂J/∂u_w", &[j])?;
    }
    for k in 0..rows {
        for (i, &hp_i) in hp.iter().enumerate() {
            let fd = central_difference(case, case.c[[k, i]], loss, |c, x| c.c[[k, i]] = x);
            check_fd(
                g.contexts[[k, i]],
                fd,
                magnitude,
                1.0,
                &[hp_i],
                "∂J/∂Ṽ",
                &[k, i],
            )?;
        }
    }
    let d = case.dense_d();
    let dv: Vec<Vec<f64>> = (0..rows)
        .map(|k| mat_t_vec(&d, case.c.row(k).as_slice().expect("contiguous"), false))
        .collect();
    for i in 0..m {
        for j in 0..m {
            let slopes: Vec<f64> = dv.iter().map(|dv| dv[i] * case.u[j]).collect();
            let fd = central_difference(case, case.w[[i, j]], loss, |c, x| c.w[[i, j]] = x);
            check_fd(
                g.interaction[[i, j]],
                fd,
                magnitude,
                1.0,
                &slopes,
                "∂J/∂W",
                &[i, j],
            )?;
        }
    }
    match (&case.d, &g.offset_interaction) {
        (Offset::Identity, OffsetInteractionGradient::Identity) => {}
        (Offset::Diagonal(d), OffsetInteractionGradient::Diagonal(grad)) => {
            prop_assert_eq!(grad.len(), m);
            for i in 0..m {
                let slopes: Vec<f64> = (0..rows).map(|k| case.c[[k, i]] * h[i]).collect();
                let fd = central_difference(case, d[i], loss, |c, x| {
                    if let Offset::Diagonal(d) = &mut c.d {
                        d[i] = x;
                    }
                });
                check_fd(grad[i], fd, magnitude, 1.0, &slopes, "∂J/∂d_p", &[i])?;
            }
        }
        (Offset::Full(d), OffsetInteractionGradient::Full(grad)) => {
            prop_assert_eq!(grad.dim(), (m, m));
            for i in 0..m {
                for j in 0..m {
                    let slopes: Vec<f64> = (0..rows).map(|k| case.c[[k, i]] * h[j]).collect();
                    let fd = central_difference(case, d[[i, j]], loss, |c, x| {
                        if let Offset::Full(d) = &mut c.d {
                            d[[i, j]] = x;
                        }
                    });
                    check_fd(
                        grad[[i, j]],
                        fd,
                        magnitude,
                        1.0,
                        &slopes,
                        "∂J/∂D_p",
                        &[i, j],
                    )?;
                }
            }
        }
        (d, grad) => prop_assert!(false, "gradient {grad:?} for {d:?}"),
    }
    Ok(())
}

/// Every entry of every gradient of a batch's mean loss against a central difference of
/// that mean loss, including every `D_p` of the stack.
fn check_batch_by_fd(b: &Batch) -> Result<(), TestCaseError> {
    let g = b.grads();
    let (s, m) = b.u.dim();
    let rows = b.c.len_of(Axis(1));
    let weight = 1.0 / s as f64;
    let obs: Vec<Case> = (0..s).map(|k| b.observation(k)).collect();
    let magnitude: f64 = obs.iter().flat_map(Case::magnitudes).sum();
    let loss = Batch::loss;
    prop_assert!(g.loss.is_finite());

    for (k, case) in obs.iter().enumerate() {
        let focus_slopes = case.focus_slopes();
        for j in 0..m {
            let slopes: Vec<f64> = focus_slopes.iter().map(|row| row[j]).collect();
            let fd = central_difference(b, b.u[[k, j]], loss, |c, x| c.u[[k, j]] = x);
            check_fd(
                g.focus[[k, j]],
                fd,
                magnitude,
                weight,
                &slopes,
                "∂J/∂U",
                &[k, j],
            )?;
        }
        let hp = case.positioned();
        for r in 0..rows {
            for (i, &hp_i) in hp.iter().enumerate() {
                let fd = central_difference(b, b.c[[k, r, i]], loss, |c, x| c.c[[k, r, i]] = x);
                let analytic = g.contexts[[k, r, i]];
                check_fd(
                    analytic,
                    fd,
                    magnitude,
                    weight,
                    &[hp_i],
                    "∂J/∂Ṽ",
                    &[k, r, i],
                )?;
            }
        }
    }
    for i in 0..m {
        for j in 0..m {
            let slopes: Vec<f64> = obs
                .iter()
                .flat_map(|case| {
                    let d = case.dense_d();
                    (0..rows)
                        .map(|r| {
                            let dv = mat_t_vec(&d, case.c.row(r).as_slice().expect("rows"), false);
                            dv[i] * case.u[j]
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            let fd = central_difference(b, b.w[[i, j]], loss, |c, x| c.w[[i, j]] = x);
            check_fd(
                g.interaction[[i, j]],
                fd,
                magnitude,
                weight,
                &slopes,
                "∂J/∂W",
                &[i, j],
            )?;
        }
    }
    // The scores of the observations at index p, with their hidden vectors.
    let users = |p: usize| obs.iter().zip(&b.index).filter(move |(_, i)| **i == p);
    match (&b.stack, &g.offset_interactions) {
        (Stack::Identity, OffsetInteractionStackGradient::Identity) => {}
        (Stack::Diagonal(d), OffsetInteractionStackGradient::Diagonal(grad)) => {
            prop_assert_eq!(grad.dim(), (b.n_offsets, m));
            for p in 0..b.n_offsets {
                for i in 0..m {
                    let slopes: Vec<f64> = users(p)
                        .flat_map(|(case, _)| {
                            let h = case.hidden();
                            (0..rows).map(move |r| case.c[[r, i]] * h[i])
                        })
                        .collect();
                    let fd = central_difference(b, d[[p, i]], loss, |c, x| {
                        if let Stack::Diagonal(d) = &mut c.stack {
                            d[[p, i]] = x;
                        }
                    });
                    check_fd(
                        grad[[p, i]],
                        fd,
                        magnitude,
                        weight,
                        &slopes,
                        "∂J/∂d",
                        &[p, i],
                    )?;
                }
            }
        }
        (Stack::Full(d), OffsetInteractionStackGradient::Full(grad)) => {
            prop_assert_eq!(grad.dim(), (b.n_offsets, m, m));
            for p in 0..b.n_offsets {
                for i in 0..m {
                    for j in 0..m {
                        let slopes: Vec<f64> = users(p)
                            .flat_map(|(case, _)| {
                                let h = case.hidden();
                                (0..rows).map(move |r| case.c[[r, i]] * h[j])
                            })
                            .collect();
                        let fd = central_difference(b, d[[p, i, j]], loss, |c, x| {
                            if let Stack::Full(d) = &mut c.stack {
                                d[[p, i, j]] = x;
                            }
                        });
                        let analytic = grad[[p, i, j]];
                        check_fd(
                            analytic,
                            fd,
                            magnitude,
                            weight,
                            &slopes,
                            "∂J/∂D",
                            &[p, i, j],
                        )?;
                    }
                }
            }
        }
        (stack, grad) => prop_assert!(false, "gradient {grad:?} for {stack:?}"),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The formulas, term by term.
// ---------------------------------------------------------------------------------------

/// Loss and gradients from the per-row formulas, with `a_k = -σ(-s_0)` for `k = 0` and
/// `σ(s_k)` otherwise and `D = D_p` dense:
///
/// ```text
/// J       = -log σ(s_0) - Σ_j log σ(-s_j)
/// ∂J/∂v_k = a_k D W u
/// ∂J/∂u   = Σ_k a_k Wᵀ Dᵀ v_k
/// ∂J/∂W   = Σ_k a_k (Dᵀ v_k) uᵀ
/// ∂J/∂D   = Σ_k a_k v_k (W u)ᵀ        (its diagonal for a diagonal D)
/// ```
///
/// With `magnitude`, every factor in absolute values and `|a_k|` times `1 + C_k`: the scale
/// of the rounding error of any evaluation order.
struct Reference {
    loss: f64,
    focus: Array1<f64>,
    contexts: Array2<f64>,
    interaction: Array2<f64>,
    offset: Array2<f64>,
}

fn reference(case: &Case, magnitude: bool) -> Reference {
    let (m, rows) = (case.dim(), case.n_rows());
    let f = |x: f64| if magnitude { x.abs() } else { x };
    let scores = case.scores();
    let sizes = case.magnitudes();
    let d = case.dense_d();
    let u = case.u.as_slice().expect("contiguous");
    let h = mat_vec(&case.w, u, magnitude);
    let hp = mat_vec(&d, &h, magnitude);
    let loss = if magnitude {
        sizes.iter().sum()
    } else {
        -log_sigma(scores[0]) - (1..rows).map(|j| log_sigma(-scores[j])).sum::<f64>()
    };
    let mut r = Reference {
        loss,
        focus: Array1::zeros(m),
        contexts: Array2::zeros((rows, m)),
        interaction: Array2::zeros((m, m)),
        offset: Array2::zeros((m, m)),
    };
    for k in 0..rows {
        let a = if k == 0 {
            -sigma(-scores[0])
        } else {
            sigma(scores[k])
        };
        let a = if magnitude {
            a.abs() * (1.0 + sizes[k])
        } else {
            a
        };
        let v: Vec<f64> = case.c.row(k).to_vec();
        let dv = mat_t_vec(&d, &v, magnitude);
        let wdv = mat_t_vec(&case.w, &dv, magnitude);
        for i in 0..m {
            r.contexts[[k, i]] = a * hp[i];
            r.focus[i] += a * wdv[i];
            for j in 0..m {
                r.interaction[[i, j]] += a * dv[i] * f(u[j]);
                r.offset[[i, j]] += a * f(v[i]) * h[j];
            }
        }
    }
    r
}

/// `|a − b| ≤ rel · bound` entrywise (plus a floor far below any normal number).
fn check_entrywise<'a>(
    actual: impl IntoIterator<Item = &'a f64>,
    expected: impl IntoIterator<Item = &'a f64>,
    bound: impl IntoIterator<Item = &'a f64>,
    rel: f64,
    what: &str,
) -> Result<(), TestCaseError> {
    for (i, ((a, e), b)) in actual.into_iter().zip(expected).zip(bound).enumerate() {
        let allowed = rel * b + 1e-290;
        prop_assert!(
            (a - e).abs() <= allowed,
            "{what} entry {i}: {a:e} vs {e:e} (difference {:e}, allowed {allowed:e})",
            (a - e).abs()
        );
    }
    Ok(())
}

fn gamma(case: &Case) -> f64 {
    4.0 * (3 * case.dim() + case.n_rows() + 8) as f64 * EPS
}

/// The crate equals the per-row formulas.
fn check_reference(case: &Case) -> Result<(), TestCaseError> {
    let g = case.grads();
    let want = reference(case, false);
    let size = reference(case, true);
    let rel = gamma(case);
    prop_assert!(
        (g.loss - want.loss).abs() <= rel * size.loss,
        "J: {:e} vs {:e}",
        g.loss,
        want.loss
    );
    check_entrywise(&g.focus, &want.focus, &size.focus, rel, "∂J/∂u_w")?;
    check_entrywise(&g.contexts, &want.contexts, &size.contexts, rel, "∂J/∂Ṽ")?;
    check_entrywise(
        &g.interaction,
        &want.interaction,
        &size.interaction,
        rel,
        "∂J/∂W",
    )?;
    match &g.offset_interaction {
        OffsetInteractionGradient::Identity => {}
        OffsetInteractionGradient::Diagonal(grad) => {
            let diag = want.offset.diag().to_owned();
            let size = size.offset.diag().to_owned();
            check_entrywise(grad, &diag, &size, rel, "∂J/∂d_p")?;
        }
        OffsetInteractionGradient::Full(grad) => {
            check_entrywise(grad, &want.offset, &size.offset, rel, "∂J/∂D_p")?;
        }
    }
    Ok(())
}

/// `1e-12 · (1 + max |x|)`.
fn tight<'a>(values: impl IntoIterator<Item = &'a f64>) -> f64 {
    1e-12 * (1.0 + max_abs(values))
}

// ---------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Every entry of `∂J/∂u_w`, `∂J/∂Ṽ`, `∂J/∂W` and `∂J/∂D_p` (or `∂J/∂d_p`) of one
    /// observation against central differences.
    #[test]
    fn single_gradients_match_finite_differences(case in any_case()) {
        check_single_by_fd(&case)?;
    }

    /// Every entry of every gradient of a batch's mean loss, every `D_p` of the stack
    /// included (also those no observation uses), against central differences.
    #[test]
    fn batch_gradients_match_finite_differences(b in batch()) {
        check_batch_by_fd(&b)?;
    }

    /// The crate equals the per-row formulas, computed independently.
    #[test]
    fn gradients_equal_the_formulas(case in any_case()) {
        check_reference(&case)?;
    }

    /// The batch is the mean of its observations; `∂J/∂D_p` gathers the observations at
    /// index `p` and is zero for an index nobody uses.
    #[test]
    fn batch_is_the_mean_of_single_observations(b in batch()) {
        let got = b.grads();
        let s = b.len();
        let count = s as f64;
        let singles: Vec<OffsetGradients<f64>> =
            (0..s).map(|k| b.observation(k).grads()).collect();
        let mean_loss = singles.iter().map(|g| g.loss).sum::<f64>() / count;
        assert_abs_diff_eq!(got.loss, mean_loss, epsilon = 1e-12 * (1.0 + mean_loss));
        prop_assert_eq!(got.focus.dim(), b.u.dim());
        prop_assert_eq!(got.contexts.dim(), b.c.dim());
        for (k, single) in singles.iter().enumerate() {
            let focus = &single.focus / count;
            assert_abs_diff_eq!(got.focus.row(k), focus.view(), epsilon = tight(&focus));
            let contexts = &single.contexts / count;
            assert_abs_diff_eq!(
                got.contexts.index_axis(Axis(0), k),
                contexts.view(),
                epsilon = tight(&contexts)
            );
        }
        let mut interaction = Array2::zeros(b.w.dim());
        let mut size = 0.0;
        for single in &singles {
            interaction += &single.interaction;
            size += max_abs(&single.interaction);
        }
        interaction /= count;
        assert_abs_diff_eq!(got.interaction, interaction, epsilon = 1e-12 * (1.0 + size));

        let m = b.w.nrows();
        for p in 0..b.n_offsets {
            let mut sum = Array2::<f64>::zeros((m, m));
            let mut used = false;
            for (single, &i) in singles.iter().zip(&b.index) {
                if i != p {
                    continue;
                }
                used = true;
                match &single.offset_interaction {
                    OffsetInteractionGradient::Identity => {}
                    OffsetInteractionGradient::Diagonal(g) => {
                        let mut diagonal = sum.diag_mut();
                        diagonal += g;
                    }
                    OffsetInteractionGradient::Full(g) => sum += g,
                }
            }
            sum /= count;
            match &got.offset_interactions {
                OffsetInteractionStackGradient::Identity => {
                    prop_assert!(matches!(b.stack, Stack::Identity));
                }
                OffsetInteractionStackGradient::Diagonal(g) => {
                    assert_abs_diff_eq!(g.row(p), sum.diag(), epsilon = tight(&sum));
                    if !used {
                        prop_assert!(g.row(p).iter().all(|&x| x == 0.0));
                    }
                }
                OffsetInteractionStackGradient::Full(g) => {
                    assert_abs_diff_eq!(g.index_axis(Axis(0), p), sum.view(), epsilon = tight(&sum));
                    if !used {
                        prop_assert!(g.index_axis(Axis(0), p).iter().all(|&x| x == 0.0));
                    }
                }
            }
        }
    }

    /// `D_p = I` in any of its three forms (identity, diagonal of ones, full identity)
    /// gives exactly, bit for bit, what `loss_and_gradient` gives; the batch with an
    /// identity stack exactly what `loss_and_gradient_batched` gives.
    #[test]
    fn identity_reduces_exactly_to_the_plain_loss(
        case in (1usize..=24, 0usize..=8, scale(), any::<bool>())
            .prop_flat_map(|(m, n, sc, q)| case_with(m, n, sc, 0, q)),
        b in batch(),
    ) {
        let m = case.dim();
        let plain = loss_and_gradient(
            case.u.view(),
            case.c.view(),
            case.w.view(),
            case.q.as_ref().map(|q| q.view()),
        )
        .expect("consistent shapes");
        for d in [Offset::Identity, Offset::Diagonal(Array1::ones(m)), Offset::Full(Array2::eye(m))] {
            let g = Case { d: d.clone(), ..case.clone() }.grads();
            prop_assert_eq!(g.loss.to_bits(), plain.loss.to_bits(), "{:?}", d);
            prop_assert_eq!(&g.focus, &plain.focus, "{:?}", d);
            prop_assert_eq!(&g.contexts, &plain.contexts, "{:?}", d);
            prop_assert_eq!(&g.interaction, &plain.interaction, "{:?}", d);
        }

        let got = Batch { stack: Stack::Identity, ..b.clone() }.grads();
        let plain = loss_and_gradient_batched(
            b.u.view(),
            b.c.view(),
            b.w.view(),
            b.q.as_ref().map(|q| q.view()),
        )
        .expect("consistent shapes");
        prop_assert_eq!(got.loss.to_bits(), plain.loss.to_bits());
        prop_assert_eq!(got.focus, plain.focus);
        prop_assert_eq!(got.contexts, plain.contexts);
        prop_assert_eq!(got.interaction, plain.interaction);
        prop_assert_eq!(got.offset_interactions, OffsetInteractionStackGradient::Identity);
    }

    /// A diagonal `D_p = diag(d)` and the full matrix `diag(d)` give the same loss and
    /// gradients, exactly, and the diagonal gradient is the diagonal of the full one.
    #[test]
    fn diagonal_equals_full_with_a_diagonal_matrix(
        case in (1usize..=24, 0usize..=8, scale(), any::<bool>())
            .prop_flat_map(|(m, n, sc, q)| case_with(m, n, sc, 1, q)),
    ) {
        let Offset::Diagonal(d) = &case.d else {
            unreachable!("kind 1 is diagonal")
        };
        let diagonal = case.grads();
        let full = Case { d: Offset::Full(Array2::from_diag(d)), ..case.clone() }.grads();
        prop_assert_eq!(diagonal.loss.to_bits(), full.loss.to_bits());
        prop_assert_eq!(&diagonal.focus, &full.focus);
        prop_assert_eq!(&diagonal.contexts, &full.contexts);
        prop_assert_eq!(&diagonal.interaction, &full.interaction);
        let (OffsetInteractionGradient::Diagonal(gd), OffsetInteractionGradient::Full(gf)) =
            (&diagonal.offset_interaction, &full.offset_interaction)
        else {
            return Err(TestCaseError::fail("wrong gradient variants"));
        };
        prop_assert_eq!(gd, &gf.diag().to_owned());
    }

    /// A context vector in several rows of `Ṽ`: the gradient with respect to it is the sum
    /// of its rows' gradients, against central differences moving all copies together.
    #[test]
    fn repeated_context_rows_sum_their_gradients(
        (case, rows) in (1usize..=24, 1usize..=8, scale(), offset_kind(), any::<bool>())
            .prop_flat_map(|(m, n, sc, kind, q)| (
                case_with(m, n, sc, kind, q),
                subsequence((0..=n).collect::<Vec<_>>(), 2..=3.min(n + 1)),
            )),
    ) {
        let mut case = case;
        let shared = case.c.row(rows[0]).to_owned();
        for &r in &rows[1..] {
            case.c.row_mut(r).assign(&shared);
        }
        let g = case.grads();
        let hp = case.positioned();
        let magnitude: f64 = case.magnitudes().iter().sum();
        for i in 0..case.dim() {
            let analytic: f64 = rows.iter().map(|&r| g.contexts[[r, i]]).sum();
            let fd = central_difference(&case, shared[i], Case::loss, |c, x| {
                for &r in &rows {
                    c.c[[r, i]] = x;
                }
            });
            let slopes = vec![hp[i]; rows.len()];
            check_fd(analytic, fd, magnitude, 1.0, &slopes, "shared ∂J/∂v", &[i])?;
        }
    }

    /// The same focus word in two observations of a batch (same `u` row, possibly another
    /// offset): the sum of their focus gradient rows against central differences moving both
    /// rows together.
    #[test]
    fn repeated_focus_rows_sum_their_gradients(
        (b, pair) in batch().prop_filter("two observations", |b| b.len() >= 2)
            .prop_flat_map(|b| {
                let s = b.len();
                (Just(b), subsequence((0..s).collect::<Vec<_>>(), 2))
            }),
    ) {
        let mut b = b;
        let (k0, k1) = (pair[0], pair[1]);
        let shared = b.u.row(k0).to_owned();
        b.u.row_mut(k1).assign(&shared);
        let g = b.grads();
        let s = b.len();
        let magnitude: f64 = (0..s).flat_map(|k| b.observation(k).magnitudes()).sum();
        for j in 0..b.w.nrows() {
            let analytic = g.focus[[k0, j]] + g.focus[[k1, j]];
            let fd = central_difference(&b, shared[j], Batch::loss, |c, x| {
                c.u[[k0, j]] = x;
                c.u[[k1, j]] = x;
            });
            let slopes: Vec<f64> = [k0, k1]
                .iter()
                .flat_map(|&k| b.observation(k).focus_slopes().into_iter().map(move |row| row[j]))
                .collect();
            check_fd(analytic, fd, magnitude, 1.0 / s as f64, &slopes, "shared ∂J/∂u", &[j])?;
        }
    }

    /// At scores up to ±1e4 the loss is finite and within `[R, R + (n+1) ln 2]` with
    /// `R = max(-s_0, 0) + Σ_j max(s_j, 0)`, the gradients are finite and, in `f64`, equal
    /// the per-row formulas. Checked in `f32` too.
    #[test]
    fn saturated_scores_stay_finite_and_exact(
        case in any_case(),
        target in prop_oneof![Just(1e4), 1e2..=1e4],
    ) {
        let s_max = max_abs(&Case { q: None, ..case.clone() }.scores());
        prop_assume!(s_max > 0.0);
        let case = Case { u: &case.u * (target / s_max), ..case };
        check_reference(&case)?;
        let case32 = case.to_f32();
        let g32 = case32.grads();
        let as64 = |g: &Array2<f32>| g.mapv(f64::from);
        let (label_cases, eps32) = (
            [
                ("f64", case.clone(), case.grads()),
                (
                    "f32",
                    case32.to_f64(),
                    OffsetGradients {
                        loss: f64::from(g32.loss),
                        focus: g32.focus.mapv(f64::from),
                        contexts: as64(&g32.contexts),
                        interaction: as64(&g32.interaction),
                        offset_interaction: match &g32.offset_interaction {
                            OffsetInteractionGradient::Identity => OffsetInteractionGradient::Identity,
                            OffsetInteractionGradient::Diagonal(g) => {
                                OffsetInteractionGradient::Diagonal(g.mapv(f64::from))
                            }
                            OffsetInteractionGradient::Full(g) => {
                                OffsetInteractionGradient::Full(as64(g))
                            }
                        },
                    },
                ),
            ],
            f64::from(f32::EPSILON),
        );
        for (label, case, g) in label_cases {
            let eps = if label == "f32" { eps32 } else { EPS };
            let rows = case.n_rows();
            let scores = case.scores();
            let slack = 4.0 * (3 * case.dim() + rows + 8) as f64
                * eps
                * case.magnitudes().iter().sum::<f64>();
            let relu = (-scores[0]).max(0.0) + scores[1..].iter().map(|s| s.max(0.0)).sum::<f64>();
            prop_assert!(g.loss.is_finite(), "{label}: J = {}", g.loss);
            prop_assert!(
                g.loss >= relu - slack && g.loss <= relu + rows as f64 * 2f64.ln() + slack,
                "{label}: J = {} outside [{relu}, {relu} + (n+1) ln 2] ± {slack}",
                g.loss
            );
            let offset_finite = match &g.offset_interaction {
                OffsetInteractionGradient::Identity => true,
                OffsetInteractionGradient::Diagonal(g) => g.iter().all(|x| x.is_finite()),
                OffsetInteractionGradient::Full(g) => g.iter().all(|x| x.is_finite()),
            };
            let all_finite = g.focus.iter().chain(&g.contexts).chain(&g.interaction)
                .all(|x| x.is_finite());
            prop_assert!(all_finite && offset_finite, "{label}: non-finite gradient");
        }
    }

    /// `f32` and `f64` agree at a moderate scale: each entry to 1e-4 relative to the size it
    /// is computed from.
    #[test]
    fn f32_agrees_with_f64(
        case in (1usize..=24, 0usize..=8, offset_kind(), any::<bool>())
            .prop_flat_map(|(m, n, kind, q)| case_with(m, n, 1.0, kind, q)),
    ) {
        let case32 = case.to_f32();
        let case = case32.to_f64();
        let (g32, g64) = (case32.grads(), case.grads());
        let size = reference(&case, true);
        let rel = 1e-4;
        prop_assert!((f64::from(g32.loss) - g64.loss).abs() <= rel * size.loss);
        check_entrywise(&g32.focus.mapv(f64::from), &g64.focus, &size.focus, rel, "∂J/∂u_w")?;
        check_entrywise(&g32.contexts.mapv(f64::from), &g64.contexts, &size.contexts, rel, "∂J/∂Ṽ")?;
        check_entrywise(
            &g32.interaction.mapv(f64::from),
            &g64.interaction,
            &size.interaction,
            rel,
            "∂J/∂W",
        )?;
        match (&g32.offset_interaction, &g64.offset_interaction) {
            (OffsetInteractionGradient::Identity, OffsetInteractionGradient::Identity) => {}
            (OffsetInteractionGradient::Diagonal(a), OffsetInteractionGradient::Diagonal(b)) => {
                let bound = size.offset.diag().to_owned();
                check_entrywise(&a.mapv(f64::from), b, &bound, rel, "∂J/∂d_p")?;
            }
            (OffsetInteractionGradient::Full(a), OffsetInteractionGradient::Full(b)) => {
                check_entrywise(&a.mapv(f64::from), b, &size.offset, rel, "∂J/∂D_p")?;
            }
            (a, b) => prop_assert!(false, "variants differ: {a:?} vs {b:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Deterministic tests.
// ---------------------------------------------------------------------------------------

/// A hand computation with `M = 2`, `n = 1` and a full `D_p`:
///
/// ```text
/// u_w = (1, 2), W = [[1, 0], [0, 1]], D_p = [[0, 1], [1, 0]] (swaps coordinates)
/// v_c = (1, 0), v_c̄ = (0, 1)
/// h   = (1, 2), h_p = (2, 1), s = (2, 1)
/// J   = softplus(-2) + softplus(1)
/// g   = (σ(2) − 1, σ(1))
/// ∂J/∂v_c = g_0 (2, 1), ∂J/∂v_c̄ = g_1 (2, 1)
/// e   = Ṽᵀ g = (g_0, g_1), ẽ = D_pᵀ e = (g_1, g_0)
/// ∂J/∂D_p = e hᵀ = [[g_0, 2 g_0], [g_1, 2 g_1]]
/// ∂J/∂u_w = Wᵀ ẽ = (g_1, g_0), ∂J/∂W = ẽ u_wᵀ = [[g_1, 2 g_1], [g_0, 2 g_0]]
/// ```
#[test]
fn hand_computed_example() {
    let u = array![1.0_f64, 2.0];
    let w = Array2::<f64>::eye(2);
    let d = array![[0.0, 1.0], [1.0, 0.0]];
    let contexts = array![[1.0, 0.0], [0.0, 1.0]];
    let g = offset_loss_and_gradient(
        u.view(),
        contexts.view(),
        w.view(),
        OffsetInteraction::Full(d.view()),
        None,
    )
    .expect("2×2 shapes");
    let (g0, g1) = (sigma(2.0) - 1.0, sigma(1.0));
    let tol = 1e-15;
    let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
    assert_abs_diff_eq!(g.loss, softplus(-2.0) + softplus(1.0), epsilon = tol);
    assert_abs_diff_eq!(
        g.contexts,
        array![[2.0 * g0, g0], [2.0 * g1, g1]],
        epsilon = tol
    );
    assert_abs_diff_eq!(g.focus, array![g1, g0], epsilon = tol);
    assert_abs_diff_eq!(
        g.interaction,
        array![[g1, 2.0 * g1], [g0, 2.0 * g0]],
        epsilon = tol
    );
    let OffsetInteractionGradient::Full(gd) = g.offset_interaction else {
        panic!("a full D_p has a full gradient");
    };
    assert_abs_diff_eq!(gd, array![[g0, 2.0 * g0], [g1, 2.0 * g1]], epsilon = tol);

    // In a batch of two with D_p at index 1 and an unused identity at index 0, the stack's
    // gradient is the one above halved, at index 1 only.
    let stack = ndarray::stack![Axis(0), Array2::<f64>::eye(2), d];
    let b = offset_loss_and_gradient_batched(
        ndarray::stack![Axis(0), u, u].view(),
        ndarray::stack![Axis(0), contexts, contexts].view(),
        &[1, 1],
        w.view(),
        OffsetInteractionStack::Full(stack.view()),
        None,
    )
    .expect("consistent shapes");
    let OffsetInteractionStackGradient::Full(gs) = b.offset_interactions else {
        panic!("a full stack has a full gradient");
    };
    assert_eq!(gs.slice(s![0, .., ..]), Array2::<f64>::zeros((2, 2)));
    assert_abs_diff_eq!(
        gs.slice(s![1, .., ..]),
        array![[g0, 2.0 * g0], [g1, 2.0 * g1]],
        epsilon = tol
    );
}

fn shape_error<T: std::fmt::Debug>(
    result: bilinear_skipgram::Result<T>,
) -> (&'static str, Vec<usize>, Vec<usize>) {
    match result {
        Err(Error::ShapeMismatch {
            what,
            expected,
            found,
        }) => (what, expected, found),
        other => panic!("expected a shape mismatch, got {other:?}"),
    }
}

#[test]
fn shape_and_index_errors() {
    let u = array![1.0_f64, 2.0];
    let c = Array2::<f64>::zeros((3, 2));
    let w = Array2::<f64>::eye(2);
    let d3 = Array1::<f64>::ones(3);
    assert_eq!(
        shape_error(offset_loss_and_gradient(
            u.view(),
            c.view(),
            w.view(),
            OffsetInteraction::Diagonal(d3.view()),
            None
        )),
        ("offset interaction", vec![2], vec![3])
    );
    let full = Array2::<f64>::eye(3);
    assert_eq!(
        shape_error(offset_loss_and_gradient(
            u.view(),
            c.view(),
            w.view(),
            OffsetInteraction::Full(full.view()),
            None
        )),
        ("offset interaction", vec![2, 2], vec![3, 3])
    );
    // The plain checks come first and read as in `loss_and_gradient`.
    let q = array![0.0_f64];
    assert_eq!(
        shape_error(offset_loss_and_gradient(
            u.view(),
            c.view(),
            w.view(),
            OffsetInteraction::Identity,
            Some(q.view())
        )),
        ("offsets", vec![3], vec![1])
    );

    let bu = Array2::<f64>::zeros((2, 2));
    let bc = Array3::<f64>::zeros((2, 3, 2));
    let diag = Array2::<f64>::ones((4, 2));
    let run = |index: &[usize], stack: OffsetInteractionStack<'_, f64>| {
        offset_loss_and_gradient_batched(bu.view(), bc.view(), index, w.view(), stack, None)
    };
    assert!(run(&[0, 3], OffsetInteractionStack::Diagonal(diag.view())).is_ok());
    assert!(matches!(
        run(&[0, 4], OffsetInteractionStack::Diagonal(diag.view())),
        Err(Error::IndexOutOfRange {
            what: "offset interaction",
            index: 4,
            len: 4
        })
    ));
    assert_eq!(
        run(&[0, 4], OffsetInteractionStack::Diagonal(diag.view()))
            .expect_err("index 4 of 4")
            .to_string(),
        "offset interaction index 4 is out of range (length 4)"
    );
    // Identity stacks accept any index.
    assert!(run(&[7, 100], OffsetInteractionStack::Identity).is_ok());
    assert_eq!(
        shape_error(run(&[0], OffsetInteractionStack::Identity)),
        ("offset indices", vec![2], vec![1])
    );
    let wide = Array2::<f64>::ones((4, 3));
    assert_eq!(
        shape_error(run(&[0, 0], OffsetInteractionStack::Diagonal(wide.view()))),
        ("offset interactions", vec![4, 2], vec![4, 3])
    );
    let full = Array3::<f64>::zeros((4, 2, 3));
    assert_eq!(
        shape_error(run(&[0, 0], OffsetInteractionStack::Full(full.view()))),
        ("offset interactions", vec![4, 2, 2], vec![4, 2, 3])
    );
    let q = Array2::<f64>::zeros((2, 2));
    assert_eq!(
        shape_error(offset_loss_and_gradient_batched(
            bu.view(),
            bc.view(),
            &[0, 0],
            w.view(),
            OffsetInteractionStack::Identity,
            Some(q.view())
        )),
        ("noise offsets", vec![2, 3], vec![2, 2])
    );
    let empty = Array3::<f64>::zeros((2, 0, 2));
    let (what, ..) = shape_error(offset_loss_and_gradient_batched(
        bu.view(),
        empty.view(),
        &[0, 0],
        w.view(),
        OffsetInteractionStack::Identity,
        None,
    ));
    assert!(what.starts_with("batch"), "{what}");
}

#[test]
fn stack_accessors() {
    let d = Array2::<f64>::ones((3, 2));
    let stack = OffsetInteractionStack::Diagonal(d.view());
    assert_eq!(stack.n_offsets(), Some(3));
    assert!(matches!(stack.get(2), Some(OffsetInteraction::Diagonal(row)) if row.len() == 2));
    assert!(stack.get(3).is_none());
    let full = Array3::<f64>::zeros((2, 4, 4));
    let stack = OffsetInteractionStack::Full(full.view());
    assert_eq!(stack.n_offsets(), Some(2));
    assert!(matches!(stack.get(1), Some(OffsetInteraction::Full(m)) if m.dim() == (4, 4)));
    assert!(stack.get(2).is_none());
    let identity = OffsetInteractionStack::<f64>::Identity;
    assert_eq!(identity.n_offsets(), None);
    assert!(matches!(
        identity.get(99),
        Some(OffsetInteraction::Identity)
    ));
}
