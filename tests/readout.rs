//! Property tests of the word-vector read-outs ([`balanced_read_out`], [`score_read_out`],
//! [`Model::word_vectors`]): the scores are reproduced, the score-only read-out is a
//! function of the scores alone, `W = I` gives `U` and `V` back, sums and concatenations
//! are built as documented, per-offset models use the effective interaction, and the
//! smoothed (spectrally weighted) score-only read-out rescales the columns of the plain one.
//!
//! The read-out functions are generic; the `f64` properties run on `f64` matrices and the
//! model (which is `f32`) is checked with `f32` tolerances. Matrices are `n×M` with
//! `n ∈ 1..=16` and `M ∈ 1..=8`, so `n < M` (rank-deficient `U`, `V`) occurs; interaction
//! matrices are either uniform in `[-1, 1]` or `X diag(σ) Yᵀ` with orthonormal `X`, `Y` and
//! `σ` spread geometrically over up to 4 decades (condition numbers up to `10⁴`).
//!
//! Tolerances: the read-outs are products of a few `M×M` factors computed by backward
//! stable algorithms, so in `f64` errors are a modest multiple of `ε·M` times the size of
//! the quantities they build, and of `ε·κ` where a Gram matrix is inverted (score-only,
//! `κ` the condition number of `U` or `V`); each test states its bound.

use bilinear_skipgram::model::{
    ReadOut, SCORE_RANK_TOLERANCE, SMOOTHED_SPECTRAL_WEIGHT, balanced_read_out, score_read_out,
    score_read_out_weighted,
};
use bilinear_skipgram::{Model, OffsetInteractionKind, OffsetInteractions, VectorKind, WindowMode};
use ndarray::{Array1, Array2, Array3, ArrayView2, Axis, array, s};
use proptest::collection::vec;
use proptest::prelude::*;

const CASES: u32 = 256;
const EPS: f64 = f64::EPSILON;

// ---------------------------------------------------------------------------------------
// Helpers, independent of the crate.
// ---------------------------------------------------------------------------------------

fn max_abs(a: &Array2<f64>) -> f64 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn frobenius(a: &Array2<f64>) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Columns of `raw` made orthonormal by Gram–Schmidt (twice).
fn orthonormal_columns(raw: &Array2<f64>) -> Array2<f64> {
    let mut q = raw.clone();
    for j in 0..q.ncols() {
        let mut v = q.column(j).to_owned();
        for _ in 0..2 {
            for i in 0..j {
                let qi = q.column(i).to_owned();
                let c = qi.dot(&v);
                v.scaled_add(-c, &qi);
            }
        }
        let norm = v.dot(&v).sqrt();
        q.column_mut(j).assign(&(v / norm));
    }
    q
}

fn orthogonality_error(x: &Array2<f64>) -> f64 {
    max_abs(&(x.t().dot(x) - Array2::<f64>::eye(x.ncols())))
}

/// Rows scaled to unit length; zero rows stay zero.
fn unit_rows(a: &Array2<f64>) -> Array2<f64> {
    let mut out = a.clone();
    for mut row in out.axis_iter_mut(Axis(0)) {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
    out
}

fn f64_of(a: &Array2<f32>) -> Array2<f64> {
    a.mapv(f64::from)
}

/// `|a − b| ≤ tolerance` entrywise, with the largest difference in the message.
fn close(
    a: &Array2<f64>,
    b: &Array2<f64>,
    tolerance: f64,
    what: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.dim(), b.dim(), "{}", what);
    let diff = max_abs(&(a - b));
    prop_assert!(
        diff <= tolerance,
        "{what}: largest difference {diff:e} > tolerance {tolerance:e}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Strategies.
// ---------------------------------------------------------------------------------------

fn matrix(rows: usize, cols: usize) -> impl Strategy<Value = Array2<f64>> {
    vec(-1.0..=1.0_f64, rows * cols)
        .prop_map(move |v| Array2::from_shape_vec((rows, cols), v).expect("rows·cols entries"))
}

/// `X diag(σ) Yᵀ` with `σ_i = 10^(−decades·i/(M−1))`; `decades = 0` is an orthogonal
/// matrix.
fn conditioned(m: usize, max_decades: f64) -> impl Strategy<Value = Array2<f64>> {
    (matrix(m, m), matrix(m, m), 0.0..=max_decades).prop_filter_map(
        "orthonormalisable",
        move |(x, y, decades)| {
            let (x, y) = (orthonormal_columns(&x), orthonormal_columns(&y));
            // A zero column (the shrinker makes them) gives NaN columns, which a max-fold
            // of the error would skip.
            let finite = x.iter().chain(&y).all(|a| a.is_finite());
            if !finite || orthogonality_error(&x) > 1e-12 || orthogonality_error(&y) > 1e-12 {
                return None;
            }
            let sigma = Array1::from_shape_fn(m, |i| {
                10f64.powf(-decades * i as f64 / (m.max(2) - 1) as f64)
            });
            Some((&x * &sigma).dot(&y.t()))
        },
    )
}

/// A random interaction: uniform entries, or with a condition number up to `10⁴`.
fn interaction(m: usize) -> BoxedStrategy<Array2<f64>> {
    prop_oneof![matrix(m, m), conditioned(m, 4.0)].boxed()
}

/// `(U, V, W)` with `n ∈ 1..=16`, `M ∈ 1..=8`.
fn parts() -> impl Strategy<Value = (Array2<f64>, Array2<f64>, Array2<f64>)> {
    (1usize..=16, 1usize..=8).prop_flat_map(|(n, m)| (matrix(n, m), matrix(n, m), interaction(m)))
}

/// `(U, V, W)` with `n ≥ 2M`, so `U` and `V` have full column rank and a condition number
/// that is rarely large.
fn tall_parts() -> impl Strategy<Value = (Array2<f64>, Array2<f64>, Array2<f64>)> {
    (1usize..=8, 0usize..=8).prop_flat_map(|(m, extra)| {
        let n = 2 * m + extra;
        (matrix(n, m), matrix(n, m), interaction(m))
    })
}

/// `κ(A) = σ_max/σ_min`, from the SVD of `AᵀA` (rounded to `f32`, through the model's
/// report helper): an estimate good to a few digits, enough to scale tolerances.
fn condition_number(a: &Array2<f64>) -> f64 {
    let gram = a.t().dot(a).mapv(|x| x as f32);
    let model = Model::from_parts(
        Array2::zeros((1, gram.nrows())),
        Array2::zeros((1, gram.nrows())),
        gram,
    )
    .expect("square");
    model.interaction_svd().condition_number().sqrt()
}

// ---------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------

/// `S = V W Uᵀ`.
fn scores(u: &Array2<f64>, v: &Array2<f64>, w: &Array2<f64>) -> Array2<f64> {
    v.dot(w).dot(&u.t())
}

fn read_outs(u: &Array2<f64>, v: &Array2<f64>, w: &Array2<f64>) -> (ReadOut<f64>, ReadOut<f64>) {
    (
        balanced_read_out(u.view(), v.view(), w.view()).expect("consistent shapes"),
        score_read_out(u.view(), v.view(), w.view()).expect("consistent shapes"),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// `⟨C_c, F_w⟩ = v_cᵀ W u_w` for every pair, both read-outs. Balanced: within
    /// `100·M·ε·‖V‖‖W‖‖U‖` (Frobenius norms). Score-only: the same plus what the dropped
    /// directions can carry, `2·SCORE_RANK_TOLERANCE·‖V‖‖W‖‖U‖`.
    #[test]
    fn read_outs_reproduce_the_scores((u, v, w) in parts()) {
        let m = w.nrows();
        let s = scores(&u, &v, &w);
        let size = frobenius(&u) * frobenius(&v) * frobenius(&w);
        let (balanced, score) = read_outs(&u, &v, &w);
        prop_assert_eq!(balanced.focus.dim(), u.dim());
        prop_assert_eq!(score.context.dim(), v.dim());
        close(
            &balanced.context.dot(&balanced.focus.t()),
            &s,
            100.0 * m as f64 * EPS * size,
            "balanced C Fᵀ vs V W Uᵀ",
        )?;
        close(
            &score.context.dot(&score.focus.t()),
            &s,
            (100.0 * m as f64 * EPS + 2.0 * SCORE_RANK_TOLERANCE) * size,
            "score-only C Fᵀ vs V W Uᵀ",
        )?;
    }

    /// With `U`, `V` of full rank and well conditioned the score-only read-out reproduces
    /// the scores to `100·M·ε·κ(U)·κ(V)·‖V‖‖W‖‖U‖`: no direction is dropped.
    #[test]
    fn score_read_out_is_exact_at_full_rank((u, v, w) in tall_parts()) {
        let (ku, kv) = (condition_number(&u), condition_number(&v));
        prop_assume!(ku < 1e3 && kv < 1e3);
        let m = w.nrows();
        let size = frobenius(&u) * frobenius(&v) * frobenius(&w);
        let (_, score) = read_outs(&u, &v, &w);
        close(
            &score.context.dot(&score.focus.t()),
            &scores(&u, &v, &w),
            100.0 * m as f64 * EPS * ku * kv * size,
            "score-only C Fᵀ vs V W Uᵀ",
        )?;
    }

    /// The score-only vectors are a function of `S` alone: `(F Fᵀ)² = SᵀS` and
    /// `(C Cᵀ)² = S Sᵀ` (and `F Fᵀ`, `C Cᵀ` are positive semidefinite by construction, so
    /// they are the unique square roots). Within `1000·M·ε·κ(U)·κ(V)·‖S‖²`.
    #[test]
    fn score_read_out_is_the_square_root_of_the_scores((u, v, w) in tall_parts()) {
        let (ku, kv) = (condition_number(&u), condition_number(&v));
        prop_assume!(ku < 1e3 && kv < 1e3);
        let m = w.nrows();
        let s = scores(&u, &v, &w);
        let (_, score) = read_outs(&u, &v, &w);
        let ff = score.focus.dot(&score.focus.t());
        let cc = score.context.dot(&score.context.t());
        let tolerance = 1000.0 * m as f64 * EPS * ku * kv * frobenius(&s).powi(2);
        close(&ff.dot(&ff), &s.t().dot(&s), tolerance, "(F Fᵀ)² vs SᵀS")?;
        close(&cc.dot(&cc), &s.dot(&s.t()), tolerance, "(C Cᵀ)² vs S Sᵀ")?;
    }

    /// The weighted read-out rescales the columns of the plain one: with `λ_j` the squared
    /// length of column `j` of the plain `F` (its columns are `Q_u Y` scaled by `λ^{1/2}`,
    /// `Q_u Y` orthonormal), column `j` of `F_p` is that column times `λ_j^{p − 1/2}`, and
    /// so for `C`; `F_pᵀ F_p = C_pᵀ C_p = diag(λ^{2p})`. `p = 1/2` is the plain read-out bit
    /// for bit. Checked per column relative to its length, within `1000·M·ε·κ(U)·κ(V)`
    /// relative to `λ_max^{p−1/2}`-scaled sizes, on columns with `λ_j ≥ 10⁻⁶ λ_max` (below
    /// that the plain column is rounding noise that a negative power amplifies).
    #[test]
    fn weighted_score_read_out_rescales_the_plain_one(
        (u, v, w) in tall_parts(),
        weight in 0.0..=1.0_f64,
    ) {
        let (ku, kv) = (condition_number(&u), condition_number(&v));
        prop_assume!(ku < 1e3 && kv < 1e3);
        let m = w.nrows();
        let (_, plain) = read_outs(&u, &v, &w);
        let same = score_read_out_weighted(u.view(), v.view(), w.view(), 0.5).expect("valid");
        prop_assert_eq!(&same, &plain);
        let weighted = score_read_out_weighted(u.view(), v.view(), w.view(), weight).expect("valid");
        let lambda = plain.focus.map_axis(Axis(0), |c| c.dot(&c));
        let largest = lambda.iter().copied().fold(0.0, f64::max);
        prop_assume!(largest > 0.0);
        let tolerance = 1000.0 * m as f64 * EPS * ku * kv;
        for (name, plain, weighted) in [
            ("F", &plain.focus, &weighted.focus),
            ("C", &plain.context, &weighted.context),
        ] {
            for j in 0..m {
                let l = lambda[j];
                if l < 1e-6 * largest {
                    continue;
                }
                let want = plain.column(j).mapv(|x| x * l.powf(weight - 0.5));
                let got = weighted.column(j);
                let size = l.powf(weight) * (largest / l).powf(0.5);
                let error = (&got - &want).iter().fold(0.0_f64, |a, x| a.max(x.abs()));
                prop_assert!(
                    error <= tolerance * size,
                    "{} column {}: error {:e} > {:e} (λ = {:e}, p = {})",
                    name, j, error, tolerance * size, l, weight
                );
                let norm = got.dot(&got);
                prop_assert!(
                    (norm - l.powf(2.0 * weight)).abs() <= tolerance * size * size,
                    "{} column {}: |column|² = {:e}, λ^(2p) = {:e}", name, j, norm, l.powf(2.0 * weight)
                );
            }
        }
    }

    /// Reparametrisations that keep the scores keep the score-only read-out up to a
    /// rotation: `U → U Aᵀ, W → W A⁻¹` and `V → V B, W → B⁻¹ W` with `A`, `B` of condition
    /// number up to 10 leave `F Fᵀ` and `C Cᵀ` unchanged to `1000·M·ε·κ·max|F Fᵀ|`, `κ` the
    /// largest condition number of `U`, `V` before and after. The balanced read-out is
    /// unchanged when `A` and `B` are orthogonal.
    #[test]
    fn score_read_out_is_invariant_under_reparametrisation(
        ((u, v, w), (xa, ya, sa), (xb, yb, sb), (qa, qb)) in (1usize..=8, 0usize..=8)
            .prop_flat_map(|(m, extra)| {
                let n = 2 * m + extra;
                let factors = move || (
                    matrix(m, m).prop_map(|x| orthonormal_columns(&x)),
                    matrix(m, m).prop_map(|x| orthonormal_columns(&x)),
                    vec(-0.5..=0.5_f64, m).prop_map(|e| Array1::from_vec(e).mapv(|e| 10f64.powf(e))),
                );
                (
                    (matrix(n, m), matrix(n, m), interaction(m)),
                    factors(),
                    factors(),
                    (
                        matrix(m, m).prop_map(|x| orthonormal_columns(&x)),
                        matrix(m, m).prop_map(|x| orthonormal_columns(&x)),
                    ),
                )
            }),
    ) {
        for x in [&xa, &ya, &xb, &yb, &qa, &qb] {
            prop_assume!(orthogonality_error(x) < 1e-12);
        }
        // A = X_a diag(a) Y_aᵀ, A⁻¹ = Y_a diag(1/a) X_aᵀ; the same for B.
        let a = (&xa * &sa).dot(&ya.t());
        let a_inv = (&ya / &sa).dot(&xa.t());
        let b = (&xb * &sb).dot(&yb.t());
        let b_inv = (&yb / &sb).dot(&xb.t());
        let u2 = u.dot(&a.t());
        let v2 = v.dot(&b);
        let kappa = [&u, &v, &u2, &v2].iter().map(|x| condition_number(x)).fold(1.0, f64::max);
        prop_assume!(kappa < 1e3);
        let m = w.nrows();

        let (_, before) = read_outs(&u, &v, &w);
        let ff = before.focus.dot(&before.focus.t());
        let cc = before.context.dot(&before.context.t());
        let tolerance = 1000.0 * m as f64 * EPS * kappa * max_abs(&ff).max(max_abs(&cc));
        // The smoothed read-out (`F Fᵀ = (SᵀS)^p`) is a function of the scores too.
        let smoothed = |u: &Array2<f64>, v: &Array2<f64>, w: &Array2<f64>| {
            score_read_out_weighted(u.view(), v.view(), w.view(), SMOOTHED_SPECTRAL_WEIGHT)
                .expect("consistent shapes, valid weight")
        };
        let before_smoothed = smoothed(&u, &v, &w);
        let sff = before_smoothed.focus.dot(&before_smoothed.focus.t());
        let scc = before_smoothed.context.dot(&before_smoothed.context.t());
        let smoothed_tolerance = 1000.0 * m as f64 * EPS * kappa * max_abs(&sff).max(max_abs(&scc));
        // U alone, V alone, both.
        for (label, u2, v2, w2) in [
            ("A", &u2, &v, w.dot(&a_inv)),
            ("B", &u, &v2, b_inv.dot(&w)),
            ("A and B", &u2, &v2, b_inv.dot(&w).dot(&a_inv)),
        ] {
            let (_, after) = read_outs(u2, v2, &w2);
            close(&after.focus.dot(&after.focus.t()), &ff, tolerance, &format!("F Fᵀ, {label}"))?;
            close(&after.context.dot(&after.context.t()), &cc, tolerance, &format!("C Cᵀ, {label}"))?;
            let after = smoothed(u2, v2, &w2);
            close(&after.focus.dot(&after.focus.t()), &sff, smoothed_tolerance, &format!("smoothed F Fᵀ, {label}"))?;
            close(&after.context.dot(&after.context.t()), &scc, smoothed_tolerance, &format!("smoothed C Cᵀ, {label}"))?;
        }

        // Orthogonal changes of basis keep the balanced read-out (it rotates with them).
        let (balanced, _) = read_outs(&u, &v, &w);
        let (rotated, _) = read_outs(&u.dot(&qa.t()), &v.dot(&qb), &qb.t().dot(&w).dot(&qa.t()));
        let bff = balanced.focus.dot(&balanced.focus.t());
        let bcc = balanced.context.dot(&balanced.context.t());
        let tolerance = 1000.0 * m as f64 * EPS * max_abs(&bff).max(max_abs(&bcc)).max(1.0);
        close(&rotated.focus.dot(&rotated.focus.t()), &bff, tolerance, "balanced F Fᵀ")?;
        close(&rotated.context.dot(&rotated.context.t()), &bcc, tolerance, "balanced C Cᵀ")?;
    }

    /// With `W = I` the balanced read-out is exactly `U` and `V`, in `f64` and through the
    /// `f32` model.
    #[test]
    fn balanced_read_out_of_the_identity_is_u_and_v(
        (u, v) in (1usize..=16, 1usize..=8).prop_flat_map(|(n, m)| (matrix(n, m), matrix(n, m))),
    ) {
        let m = u.ncols();
        let r = balanced_read_out(u.view(), v.view(), Array2::<f64>::eye(m).view())
            .expect("consistent shapes");
        prop_assert_eq!(&r.focus, &u);
        prop_assert_eq!(&r.context, &v);

        let model = Model::from_parts(u.mapv(|x| x as f32), v.mapv(|x| x as f32), Array2::eye(m))
            .expect("consistent shapes");
        prop_assert_eq!(model.word_vectors(VectorKind::BalancedFocus), model.focus_embeddings());
        prop_assert_eq!(model.word_vectors(VectorKind::BalancedContext), model.context_embeddings());
    }

    /// The model (`f32`) reproduces its scores through every focus/context pair of kinds:
    /// `(balanced-context, balanced-focus)` and `(score-context, score-focus)`, within
    /// `f32` tolerances; `vw` with `u` likewise. Its sums and concatenations are built as
    /// documented, from the kinds' own focus and context vectors.
    #[test]
    fn model_kinds_reproduce_scores_and_are_built_as_documented(
        (u, v, w, zero_row) in tall_parts().prop_flat_map(|(u, v, w)| {
            let n = u.nrows();
            (Just(u), Just(v), Just(w), 0..n)
        }),
    ) {
        let (ku, kv) = (condition_number(&u), condition_number(&v));
        prop_assume!(ku < 1e2 && kv < 1e2);
        let mut u = u.mapv(|x| x as f32);
        // A zero row must stay zero in every concatenation.
        u.row_mut(zero_row).fill(0.0);
        let model = Model::from_parts(u, v.mapv(|x| x as f32), w.mapv(|x| x as f32))
            .expect("consistent shapes");
        let (u, v, w) = (
            f64_of(&model.focus_embeddings().to_owned()),
            f64_of(&model.context_embeddings().to_owned()),
            f64_of(&model.interaction().to_owned()),
        );
        let m = w.nrows();
        let s = scores(&u, &v, &w);
        let size = frobenius(&u) * frobenius(&v) * frobenius(&w);
        let f32_eps = f64::from(f32::EPSILON);
        for (focus, context, tolerance) in [
            (VectorKind::Focus, VectorKind::MappedContext, 10.0 * m as f64 * f32_eps * size),
            (VectorKind::BalancedFocus, VectorKind::BalancedContext, 20.0 * m as f64 * f32_eps * size),
            (VectorKind::ScoreFocus, VectorKind::ScoreContext, 20.0 * m as f64 * f32_eps * ku * kv * size),
        ] {
            let f = f64_of(&model.word_vectors(focus));
            let c = f64_of(&model.word_vectors(context));
            close(&c.dot(&f.t()), &s, tolerance, focus.name())?;
        }
        for (focus, context, sum, concat) in [
            (VectorKind::Focus, VectorKind::MappedContext, VectorKind::Sum, VectorKind::Concatenated),
            (VectorKind::BalancedFocus, VectorKind::BalancedContext, VectorKind::BalancedSum, VectorKind::BalancedConcatenated),
            (VectorKind::ScoreFocus, VectorKind::ScoreContext, VectorKind::ScoreSum, VectorKind::ScoreConcatenated),
        ] {
            let f = f64_of(&model.word_vectors(focus));
            let c = f64_of(&model.word_vectors(context));
            let got_sum = f64_of(&model.word_vectors(sum));
            close(&got_sum, &(&f + &c), 4.0 * f32_eps * (max_abs(&f) + max_abs(&c)), sum.name())?;
            let got = f64_of(&model.word_vectors(concat));
            prop_assert_eq!(got.dim(), (u.nrows(), 2 * m));
            let want = ndarray::concatenate![Axis(1), unit_rows(&c), unit_rows(&f)];
            close(&got, &want, 1e-6, concat.name())?;
            prop_assert!(got.row(zero_row).slice(s![m..]).iter().all(|&x| x == 0.0), "{}", concat.name());
        }
        // The default kind is the concatenation of the weighted read-out's halves.
        let smoothed = model
            .score_read_out_weighted(SMOOTHED_SPECTRAL_WEIGHT)
            .expect("a valid weight");
        let want = ndarray::concatenate![
            Axis(1),
            unit_rows(&f64_of(&smoothed.context)),
            unit_rows(&f64_of(&smoothed.focus))
        ];
        let got = f64_of(&model.word_vectors(VectorKind::ScoreSmoothed));
        close(&got, &want, 1e-6, "score-smoothed")?;
        prop_assert_eq!(VectorKind::default(), VectorKind::ScoreSmoothed);
    }

    /// A model with per-offset interactions reads out with `W̄ = Σ_p π_p D_p W` (shares
    /// computed here from the documented formula): `vw` is `V W̄`, and the balanced and
    /// score-only read-outs are those of `(U, V, W̄)`.
    #[test]
    fn per_offset_models_read_out_with_the_effective_interaction(
        (u, v, w, d, window, full, shrink) in (1usize..=6, 1usize..=4, any::<bool>(), any::<bool>())
            .prop_flat_map(|(m, window, full, shrink)| {
                let n = 2 * m + 3;
                (
                    matrix(n, m),
                    matrix(n, m),
                    interaction(m),
                    vec(-1.5..=1.5_f64, 2 * window * m * m),
                    Just(window),
                    Just(full),
                    Just(shrink),
                )
            }),
    ) {
        let m = w.nrows();
        let p = 2 * window;
        let mode = if shrink { WindowMode::Shrink } else { WindowMode::Fixed };
        let d = Array3::from_shape_vec((p, m, m), d).expect("P·M·M entries").mapv(|x| x as f32);
        let offsets = if full {
            OffsetInteractions::from_full(d.clone(), window, mode)
        } else {
            OffsetInteractions::from_diagonal(d.slice(s![.., 0, ..]).to_owned(), window, mode)
        }
        .expect("consistent shapes");
        let model = Model::from_parts_with_offsets(
            u.mapv(|x| x as f32),
            v.mapv(|x| x as f32),
            w.mapv(|x| x as f32),
            offsets,
        )
        .expect("consistent shapes");

        // π by index: offsets −b…−1, 1…b.
        let b = window as f64;
        let shares: Vec<f64> = (0..p)
            .map(|i| {
                let o = if i < window { i as f64 - b } else { i as f64 - b + 1.0 };
                if shrink { (b - o.abs() + 1.0) / (b * (b + 1.0)) } else { 1.0 / p as f64 }
            })
            .collect();
        let got_shares = model.offset_interactions().pair_shares();
        for (got, want) in got_shares.iter().zip(&shares) {
            prop_assert!((got - want).abs() < 1e-15);
        }
        let mut mean = Array2::<f64>::zeros((m, m));
        for (i, share) in shares.iter().enumerate() {
            let d_p = if full {
                f64_of(&d.index_axis(Axis(0), i).to_owned())
            } else {
                Array2::from_diag(&d.slice(s![i, 0, ..]).mapv(f64::from))
            };
            mean.scaled_add(*share, &d_p);
        }
        let w_bar = mean.dot(&f64_of(&model.interaction().to_owned()));
        let f32_eps = f64::from(f32::EPSILON);
        let w_size = max_abs(&w_bar).max(1.0);
        close(&f64_of(&model.effective_interaction()), &w_bar, 50.0 * f32_eps * w_size * m as f64, "W̄")?;

        let (u, v) = (
            f64_of(&model.focus_embeddings().to_owned()),
            f64_of(&model.context_embeddings().to_owned()),
        );
        let s_bar = scores(&u, &v, &w_bar);
        let size = frobenius(&u) * frobenius(&v) * frobenius(&w_bar).max(1.0);
        let vw = f64_of(&model.word_vectors(VectorKind::MappedContext));
        close(&vw.dot(&u.t()), &s_bar, 50.0 * m as f64 * f32_eps * size, "vw")?;
        let (ku, kv) = (condition_number(&u), condition_number(&v));
        prop_assume!(ku < 1e2 && kv < 1e2);
        for (focus, context) in [
            (VectorKind::BalancedFocus, VectorKind::BalancedContext),
            (VectorKind::ScoreFocus, VectorKind::ScoreContext),
        ] {
            let f = f64_of(&model.word_vectors(focus));
            let c = f64_of(&model.word_vectors(context));
            close(&c.dot(&f.t()), &s_bar, 50.0 * m as f64 * f32_eps * ku * kv * size, focus.name())?;
        }
        // The generic read-out of (U, V, W̄) as the model computes W̄: the model splits W̄ in
        // f64, the generic read-out the f32 W̄ it is given, so their singular vectors agree to
        // f32 rounding times W̄'s condition number (up to 10⁴ here).
        let w_model = model.effective_interaction();
        let generic = balanced_read_out(
            model.focus_embeddings(),
            model.context_embeddings(),
            w_model.view(),
        )
        .expect("consistent shapes");
        let f = model.word_vectors(VectorKind::BalancedFocus);
        let kw = condition_number(&w_bar).max(1.0) as f32;
        let tolerance = 1e-5 * kw * generic.focus.iter().fold(1.0_f32, |a, x| a.max(x.abs()));
        prop_assert!(f.iter().zip(&generic.focus).all(|(a, b)| (a - b).abs() <= tolerance));
    }
}

// ---------------------------------------------------------------------------------------
// Deterministic tests.
// ---------------------------------------------------------------------------------------

/// A reparametrisation with a non-orthogonal `A` moves the balanced vectors (so the
/// invariance property above is not vacuous) but not the score-only ones.
#[test]
fn balanced_read_out_depends_on_the_basis_score_read_out_does_not() {
    let u = array![[1.0_f64, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]];
    let v = array![[1.0_f64, 2.0], [0.5, -1.0], [0.0, 1.0], [1.0, 0.0]];
    let w = array![[1.0_f64, 0.5], [0.0, 2.0]];
    let a = array![[3.0_f64, 1.0], [0.0, 0.5]];
    let a_inv = array![[1.0 / 3.0, -2.0 / 3.0], [0.0, 2.0]];
    let (u2, w2) = (u.dot(&a.t()), w.dot(&a_inv));
    let gram = |r: &ReadOut<f64>| r.focus.dot(&r.focus.t());
    let (b1, s1) = read_outs(&u, &v, &w);
    let (b2, s2) = read_outs(&u2, &v, &w2);
    assert!(max_abs(&(gram(&b1) - gram(&b2))) > 0.1);
    assert!(max_abs(&(gram(&s1) - gram(&s2))) < 1e-12);
    // The scores themselves agree.
    assert!(max_abs(&(scores(&u, &v, &w) - scores(&u2, &v, &w2))) < 1e-14);
}

/// Rank-deficient inputs: `V = 0` (word2vec's start) gives zero score-only vectors and zero
/// balanced context vectors; a singular `W` and duplicate columns of `U` still reproduce the
/// scores.
#[test]
fn rank_deficient_inputs() {
    let u = array![
        [1.0_f64, 2.0, 0.5],
        [0.0, 1.0, -1.0],
        [3.0, 0.0, 1.0],
        [1.0, 1.0, 1.0]
    ];
    let zero = Array2::<f64>::zeros((4, 3));
    let w = array![[1.0_f64, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let (balanced, score) = read_outs(&u, &zero, &w);
    assert!(score.focus.iter().chain(&score.context).all(|&x| x == 0.0));
    assert!(balanced.context.iter().all(|&x| x == 0.0));

    let singular = array![[1.0_f64, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 0.0]];
    let duplicated = ndarray::concatenate![Axis(1), u.slice(s![.., ..2]), u.slice(s![.., ..1])];
    let v = array![
        [0.5_f64, 1.0, -1.0],
        [1.0, 0.0, 2.0],
        [0.0, 0.0, 1.0],
        [-1.0, 1.0, 0.0]
    ];
    for (u, w) in [(&u, &singular), (&duplicated, &w), (&duplicated, &singular)] {
        let s = scores(u, &v, w);
        let (balanced, score) = read_outs(u, &v, w);
        let size = frobenius(u) * frobenius(&v) * frobenius(w);
        assert!(max_abs(&(balanced.context.dot(&balanced.focus.t()) - &s)) < 1e-13 * size);
        assert!(max_abs(&(score.context.dot(&score.focus.t()) - &s)) < 1e-13 * size);
        // F has M columns; those beyond the rank of S are zero.
        assert_eq!(score.focus.ncols(), 3);
        assert!(
            score.focus.column(2).iter().all(|&x| x == 0.0),
            "{}",
            score.focus
        );
    }
}

#[test]
fn shape_errors() {
    let u = Array2::<f64>::zeros((3, 2));
    let v = Array2::<f64>::zeros((4, 2));
    let w = Array2::<f64>::eye(2);
    for result in [
        balanced_read_out(u.view(), v.view(), w.view()),
        score_read_out(u.view(), v.view(), w.view()),
    ] {
        assert_eq!(
            result.expect_err("V has 4 rows").to_string(),
            "shape mismatch for context embeddings: expected [3, 2], found [4, 2]"
        );
    }
    let w2 = Array2::<f64>::eye(2);
    for (weight, shown) in [
        (-0.1, "-0.1"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (1.0001, "1.0001"),
        (1e308, "1e308"),
    ] {
        let message = score_read_out_weighted(u.view(), u.view(), w2.view(), weight)
            .expect_err("not a weight")
            .to_string();
        assert!(
            message.starts_with(&format!(
                "invalid spectral weight: {shown} does not lie in [0, 1]"
            )),
            "{message}"
        );
        let model = Model::from_parts(Array2::zeros((3, 2)), Array2::zeros((3, 2)), Array2::eye(2))
            .expect("consistent shapes");
        assert!(model.score_read_out_weighted(weight).is_err());
    }
    let w3 = Array2::<f64>::eye(3);
    assert_eq!(
        score_read_out(u.view(), u.view(), w3.view())
            .expect_err("W is 3×3")
            .to_string(),
        "shape mismatch for interaction: expected [2, 2], found [3, 3]"
    );
}

/// Every kind has a distinct name that `from_name` maps back.
#[test]
fn names_round_trip() {
    let mut names: Vec<&str> = VectorKind::ALL.iter().map(|k| k.name()).collect();
    for kind in VectorKind::ALL {
        assert_eq!(VectorKind::from_name(kind.name()), Some(kind));
    }
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), VectorKind::ALL.len());
    assert_eq!(VectorKind::from_name("balanced"), None);
}

/// The report helpers: `‖W − I‖_F` and the SVD of `W` with its condition number.
#[test]
fn interaction_reports() {
    let w = array![[1.0_f32, 2.0], [0.0, 3.0]];
    let model = Model::from_parts(Array2::zeros((2, 2)), Array2::zeros((2, 2)), w.clone())
        .expect("consistent shapes");
    // W − I = [[0, 2], [0, 2]]
    assert!((model.interaction_distance_from_identity() - 8f64.sqrt()).abs() < 1e-15);
    let svd = model.interaction_svd();
    let back = (&svd.left * &svd.singular_values).dot(&svd.right.t());
    assert!(max_abs(&(back - f64_of(&w))) < 1e-14);
    // det = 3 = σ_1 σ_2, ‖W‖_F² = 14 = σ_1² + σ_2².
    let (s1, s2) = (svd.singular_values[0], svd.singular_values[1]);
    assert!((s1 * s2 - 3.0).abs() < 1e-14 && (s1 * s1 + s2 * s2 - 14.0).abs() < 1e-13);
    assert!((svd.condition_number() - s1 / s2).abs() < 1e-14);
    let identity = Model::from_parts(Array2::zeros((2, 3)), Array2::zeros((2, 3)), Array2::eye(3))
        .expect("consistent shapes");
    assert_eq!(identity.interaction_distance_from_identity(), 0.0);
    assert_eq!(identity.interaction_svd().condition_number(), 1.0);
}

/// A model without per-offset interactions reads out with `W` itself, bit for bit, and
/// one at the identity (`d_p = 1`, `D_p = I`) with the same `W̄ = W`.
#[test]
fn identity_offsets_change_nothing() {
    let u = array![
        [0.5_f32, -1.0, 0.25],
        [1.0, 0.0, 2.0],
        [0.0, 1.0, 1.0],
        [1.5, -0.5, 0.0]
    ];
    let v = array![
        [1.0_f32, 0.5, 0.0],
        [0.0, 1.0, -1.0],
        [2.0, 0.0, 1.0],
        [0.5, 0.5, 0.5]
    ];
    let w = array![[1.0_f32, 0.25, 0.0], [0.0, 2.0, 0.5], [0.5, 0.0, 0.75]];
    let plain = Model::from_parts(u.clone(), v.clone(), w.clone()).expect("consistent shapes");
    assert_eq!(plain.mapped_context_embeddings(), v.dot(&w));
    assert_eq!(plain.effective_interaction(), w);
    for kind in [OffsetInteractionKind::Diagonal, OffsetInteractionKind::Full] {
        for mode in [WindowMode::Shrink, WindowMode::Fixed] {
            let offsets = OffsetInteractions::identity(kind, 3, 3, mode).expect("window 3");
            let model = plain
                .clone()
                .with_offset_interactions(offsets)
                .expect("M = 3");
            let w_bar = model.effective_interaction();
            assert!(
                w_bar
                    .iter()
                    .zip(&w)
                    .all(|(a, b)| (a - b).abs() <= 1e-6 * b.abs())
            );
            for vector_kind in VectorKind::ALL {
                let (a, b) = (
                    model.word_vectors(vector_kind),
                    plain.word_vectors(vector_kind),
                );
                let tolerance = 1e-5 * b.iter().fold(1.0_f32, |m, x| m.max(x.abs()));
                assert!(
                    a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= tolerance),
                    "{}",
                    vector_kind.name()
                );
            }
        }
    }
    // Wrong dimension.
    let offsets =
        OffsetInteractions::identity(OffsetInteractionKind::Full, 2, 1, WindowMode::Shrink)
            .expect("window 1");
    assert!(plain.clone().with_offset_interactions(offsets).is_err());
    let (_, _, _, none) = plain.into_parts_with_offsets();
    assert_eq!(none, OffsetInteractions::none());
}

/// `view` hands the model's interactions to the batched loss as they are.
#[test]
fn offsets_view_feeds_the_loss() {
    use bilinear_skipgram::loss::{OffsetInteractionStack, offset_loss_and_gradient_batched};
    let mut offsets =
        OffsetInteractions::identity(OffsetInteractionKind::Diagonal, 2, 1, WindowMode::Fixed)
            .expect("window 1");
    if let bilinear_skipgram::model::OffsetInteractionsMut::Diagonal(mut d) = offsets.view_mut() {
        d[[1, 0]] = 3.0;
    }
    let view: OffsetInteractionStack<'_, f32> = offsets.view();
    let u = array![[1.0_f32, 1.0]];
    let c = Array3::from_shape_vec((1, 1, 2), vec![1.0_f32, 0.0]).expect("1·1·2 entries");
    let w = Array2::<f32>::eye(2);
    let plus_one = offsets.index_of(1).expect("offset 1");
    let g = offset_loss_and_gradient_batched(u.view(), c.view(), &[plus_one], w.view(), view, None)
        .expect("consistent shapes");
    // s = 3 at offset +1: J = softplus(−3).
    let want = (1.0_f64 + (-3.0_f64).exp()).ln();
    assert!((f64::from(g.loss) - want).abs() < 1e-6);
    let _: ArrayView2<'_, f32> = offsets.diagonal().expect("diagonal");
}
