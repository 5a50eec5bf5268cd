//! The collapse diagnostics (`Anisotropy`, `Displacement`, `ScoreMoments`) against brute-force and
//! independent computations, their invariances, and hand-computed cases.

use bilinear_skipgram::{Error, eval::Anisotropy, eval::Displacement, eval::ScoreMoments};
use ndarray::{Array1, Array2, Axis, array};
use proptest::collection::vec;
use proptest::prelude::*;

const CASES: u32 = 64;

/// The mean cosine over ordered pairs of distinct non-zero rows, pair by pair.
fn brute_mean_cosine(x: &Array2<f64>) -> f64 {
    let rows: Vec<_> = x
        .axis_iter(Axis(0))
        .filter(|r| r.dot(r) > 0.0)
        .map(|r| {
            let norm = r.dot(&r).sqrt();
            r.mapv(|v| v / norm)
        })
        .collect();
    let (mut sum, mut count) = (0.0, 0.0);
    for (i, a) in rows.iter().enumerate() {
        for (j, b) in rows.iter().enumerate() {
            if i != j {
                sum += a.dot(b);
                count += 1.0;
            }
        }
    }
    sum / count
}

/// The largest eigenvalue of `XᵀX` by power iteration from a fixed start, independent of
/// the Jacobi routine the crate uses.
fn power_iteration_top(x: &Array2<f64>) -> f64 {
    let gram = x.t().dot(x);
    let mut v = Array1::from_shape_fn(gram.nrows(), |i| 1.0 + 0.1 * i as f64);
    let mut lambda = 0.0;
    for _ in 0..5000 {
        let w = gram.dot(&v);
        let norm = w.dot(&w).sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        lambda = v.dot(&w) / v.dot(&v);
        v = w / norm;
    }
    lambda
}

fn to_f64(x: &Array2<f32>) -> Array2<f64> {
    x.mapv(f64::from)
}

/// `rows×cols` matrices with entries in [-1, 1], some rows set to zero.
fn matrix(rows: usize, cols: usize) -> impl Strategy<Value = Array2<f32>> {
    (
        vec(-1.0_f32..1.0, rows * cols),
        vec(prop::bool::weighted(0.1), rows),
    )
        .prop_map(move |(values, zero)| {
            let mut x = Array2::from_shape_vec((rows, cols), values).expect("shape");
            for (mut row, &z) in x.axis_iter_mut(Axis(0)).zip(&zero) {
                if z {
                    row.fill(0.0);
                }
            }
            x
        })
}

/// A rotation of `R^cols`: a product of Givens rotations with the given angles.
fn rotation(cols: usize, angles: &[f64]) -> Array2<f64> {
    let mut q = Array2::<f64>::eye(cols);
    for (k, &angle) in angles.iter().enumerate() {
        let (i, j) = (k % cols, (k * 7 + 1) % cols);
        if i == j {
            continue;
        }
        let mut g = Array2::<f64>::eye(cols);
        let (c, s) = (angle.cos(), angle.sin());
        g[[i, i]] = c;
        g[[j, j]] = c;
        g[[i, j]] = -s;
        g[[j, i]] = s;
        q = q.dot(&g);
    }
    q
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn mean_cosine_is_the_mean_over_all_pairs(x in matrix(9, 4)) {
        let got = Anisotropy::of(x.view());
        let n_nonzero = x.axis_iter(Axis(0)).filter(|r| r.iter().any(|&v| v != 0.0)).count();
        prop_assert_eq!(got.n_nonzero, n_nonzero);
        prop_assert_eq!(got.n_rows, 9);
        if n_nonzero >= 2 {
            let want = brute_mean_cosine(&to_f64(&x));
            prop_assert!((got.mean_cosine - want).abs() < 1e-9, "{} vs {}", got.mean_cosine, want);
        } else {
            prop_assert!(got.mean_cosine.is_nan());
        }
    }

    #[test]
    fn spectrum_matches_an_independent_computation(x in matrix(12, 5)) {
        let got = Anisotropy::of(x.view());
        let x64 = to_f64(&x);
        let frobenius: f64 = x64.iter().map(|v| v * v).sum();
        prop_assume!(frobenius > 1e-6);
        // Σσ² is ‖X‖_F², σ_1² the top eigenvalue of XᵀX found by power iteration.
        let squares: f64 = got.singular_values.iter().map(|s| s * s).sum();
        prop_assert!((squares - frobenius).abs() < 1e-9 * frobenius.max(1.0));
        let top = power_iteration_top(&x64);
        prop_assert!((got.singular_values[0].powi(2) - top).abs() < 1e-6 * top.max(1.0));
        prop_assert!((got.top_share - top / frobenius).abs() < 1e-6);
        // The top direction is a unit eigenvector of XᵀX for σ_1².
        let d = &got.top_direction;
        prop_assert!((d.dot(d) - 1.0).abs() < 1e-9);
        let residual = x64.t().dot(&x64).dot(d) - d * top;
        prop_assert!(residual.dot(&residual).sqrt() < 1e-5 * top.max(1.0));
        for pair in got.singular_values.to_vec().windows(2) {
            prop_assert!(pair[0] >= pair[1]);
        }
    }

    #[test]
    fn centred_share_is_the_share_of_the_centred_rows(x in matrix(10, 4)) {
        let got = Anisotropy::of(x.view());
        let mean = x.mean_axis(Axis(0)).expect("rows");
        let centred = &x - &mean;
        let want = Anisotropy::of(centred.view());
        prop_assume!(want.top_share.is_finite());
        prop_assert!((got.top_share_centred - want.top_share).abs() < 1e-5,
            "{} vs {}", got.top_share_centred, want.top_share);
        // ‖μ‖ over the mean row norm, directly.
        let x64 = to_f64(&x);
        let mu = x64.mean_axis(Axis(0)).expect("rows");
        let mean_norm = x64.axis_iter(Axis(0)).map(|r| r.dot(&r).sqrt()).sum::<f64>() / 10.0;
        prop_assume!(mean_norm > 0.0);
        prop_assert!((got.mean_norm_ratio - mu.dot(&mu).sqrt() / mean_norm).abs() < 1e-9);
    }

    #[test]
    fn measures_do_not_change_under_rotation_and_scaling(
        x in matrix(8, 4),
        angles in vec(-3.0_f64..3.0, 6),
        scale in 0.01_f32..100.0,
    ) {
        let a = Anisotropy::of(x.view());
        let rotated = to_f64(&x).dot(&rotation(4, &angles)).mapv(|v| v as f32 * scale);
        let b = Anisotropy::of(rotated.view());
        let close = |p: f64, q: f64| (p.is_nan() && q.is_nan()) || (p - q).abs() < 1e-4;
        prop_assert!(close(a.mean_cosine, b.mean_cosine), "{} {}", a.mean_cosine, b.mean_cosine);
        prop_assert!(close(a.top_share, b.top_share), "{} {}", a.top_share, b.top_share);
        prop_assert!(close(a.top_share_centred, b.top_share_centred), "{} {}", a.top_share_centred, b.top_share_centred);
        prop_assert!(close(a.mean_norm_ratio, b.mean_norm_ratio), "{} {}", a.mean_norm_ratio, b.mean_norm_ratio);
    }

    #[test]
    fn displacement_matches_its_definition(
        x in matrix(7, 3),
        y in matrix(7, 3),
    ) {
        let got = Displacement::between(y.view(), x.view()).expect("same shape");
        let (x64, y64) = (to_f64(&x), to_f64(&y));
        let diff = &y64 - &x64;
        let start: f64 = x64.iter().map(|v| v * v).sum();
        if start > 0.0 {
            let want = (diff.iter().map(|v| v * v).sum::<f64>() / start).sqrt();
            prop_assert!((got.relative - want).abs() < 1e-9 * want.max(1.0));
        } else {
            prop_assert!(got.relative.is_nan());
        }
        let mut ratios: Vec<f64> = diff
            .axis_iter(Axis(0))
            .zip(x64.axis_iter(Axis(0)))
            .filter(|(_, r)| r.dot(r) > 0.0)
            .map(|(d, r)| (d.dot(&d) / r.dot(&r)).sqrt())
            .collect();
        ratios.sort_by(f64::total_cmp);
        if ratios.is_empty() {
            prop_assert!(got.median_row.is_nan());
        } else {
            // The median: as many ratios at or below it as at or above it.
            let below = ratios.iter().filter(|&&r| r <= got.median_row + 1e-12).count();
            let above = ratios.iter().filter(|&&r| r >= got.median_row - 1e-12).count();
            prop_assert!(2 * below >= ratios.len() && 2 * above >= ratios.len());
        }
    }
}

#[test]
fn hand_computed_cases() {
    // One vector repeated: everything along one direction, no variation around the mean.
    let same = Anisotropy::of(array![[3.0, 4.0], [3.0, 4.0], [3.0, 4.0]].view());
    assert!((same.mean_cosine - 1.0).abs() < 1e-12);
    assert!((same.top_share - 1.0).abs() < 1e-12);
    assert!((same.mean_norm_ratio - 1.0).abs() < 1e-12);
    assert!(same.top_share_centred.is_nan());
    assert!((same.singular_values[0] - 75.0_f64.sqrt()).abs() < 1e-9);
    assert!(same.singular_values[1].abs() < 1e-6);
    assert!((same.top_direction[0].abs() - 0.6).abs() < 1e-9);
    assert!((same.top_direction[1].abs() - 0.8).abs() < 1e-9);

    // Equal rows whose mean is not exact in floating point are still recognised as equal,
    // and so are rows one f32 rounding step apart (centred energy ~1e-14 of the total).
    let tenths = Anisotropy::of(Array2::from_elem((7, 3), 0.1_f32).view());
    assert!(tenths.top_share_centred.is_nan());
    assert!((tenths.mean_cosine - 1.0).abs() < 1e-12);
    let ulp = Anisotropy::of(array![[1.0_f32, 1.0], [1.0, 1.0 + f32::EPSILON]].view());
    assert!(ulp.top_share_centred.is_nan(), "{}", ulp.top_share_centred);
    let apart = Anisotropy::of(array![[1.0_f32, 1.0], [1.0, 1.001]].view());
    assert!((apart.top_share_centred - 1.0).abs() < 1e-9);

    // The unit vectors of R³: isotropic, orthogonal, mean (1,1,1)/3 of norm 1/√3.
    let basis = Anisotropy::of(Array2::<f32>::eye(3).view());
    assert!(basis.mean_cosine.abs() < 1e-12);
    assert!((basis.top_share - 1.0 / 3.0).abs() < 1e-9);
    assert!((basis.mean_norm_ratio - 1.0 / 3.0_f64.sqrt()).abs() < 1e-12);
    // Centred, the three rows span a plane with two equal singular values.
    assert!((basis.top_share_centred - 0.5).abs() < 1e-9);

    // Rows v and −v: opposite, mean zero, but all variation along one direction.
    let opposite = Anisotropy::of(array![[1.0, 2.0], [-1.0, -2.0]].view());
    assert!((opposite.mean_cosine + 1.0).abs() < 1e-12);
    assert_eq!(opposite.mean_norm_ratio, 0.0);
    assert!((opposite.top_share - 1.0).abs() < 1e-12);
    assert!((opposite.top_share_centred - 1.0).abs() < 1e-12);

    // A zero row counts as a row for the mean but not for the cosines.
    let with_zero = Anisotropy::of(array![[1.0, 0.0], [0.0, 0.0], [1.0, 0.0]].view());
    assert_eq!((with_zero.n_rows, with_zero.n_nonzero), (3, 2));
    assert!((with_zero.mean_cosine - 1.0).abs() < 1e-12);
    assert!((with_zero.mean_norm_ratio - 1.0).abs() < 1e-12);

    // Nothing to measure.
    let zero = Anisotropy::of(Array2::<f32>::zeros((4, 3)).view());
    assert!(zero.mean_cosine.is_nan() && zero.top_share.is_nan() && zero.mean_norm_ratio.is_nan());
    let single = Anisotropy::of(array![[1.0_f32, 2.0]].view());
    assert!(single.mean_cosine.is_nan());
    assert!((single.top_share - 1.0).abs() < 1e-12);

    // A non-finite entry poisons the measures instead of panicking.
    let bad = Anisotropy::of(array![[f32::NAN, 1.0], [1.0, 2.0]].view());
    assert!(bad.top_share.is_nan() && bad.mean_cosine.is_nan());
}

#[test]
fn displacement_by_hand_and_shape_checked() {
    // Row norms² 1, 4, 25 (sum 30); rows moved by 1, 0, 5: ratios 1, 0, 1; ‖D‖² = 26.
    let start = array![[1.0_f32, 0.0], [0.0, 2.0], [3.0, 4.0]];
    let now = array![[1.0_f32, 1.0], [0.0, 2.0], [0.0, 0.0]];
    let moved = Displacement::between(now.view(), start.view()).expect("same shape");
    assert!((moved.relative - (26.0_f64 / 30.0).sqrt()).abs() < 1e-12);
    assert_eq!(moved.median_row, 1.0);
    // Even number of rows: the mean of the middle two; a row starting at zero is left out.
    let start = array![[1.0_f32], [1.0], [0.0], [1.0], [1.0]];
    let now = array![[1.0_f32], [1.5], [7.0], [3.0], [5.0]];
    let moved = Displacement::between(now.view(), start.view()).expect("same shape");
    assert_eq!(moved.median_row, 1.25);
    let unchanged = Displacement::between(start.view(), start.view()).expect("same shape");
    assert_eq!((unchanged.relative, unchanged.median_row), (0.0, 0.0));

    let error = Displacement::between(Array2::<f32>::zeros((3, 2)).view(), start.view())
        .expect_err("shapes differ");
    match error {
        Error::ShapeMismatch {
            expected, found, ..
        } => {
            assert_eq!(expected, vec![5, 1]);
            assert_eq!(found, vec![3, 2]);
        }
        other => panic!("expected a shape mismatch, got {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn score_moments_are_those_of_every_pair(
        u in matrix(6, 3),
        v in matrix(5, 3),
        w in matrix(3, 3),
    ) {
        let got = ScoreMoments::of(u.view(), v.view(), w.view()).expect("shapes agree");
        let (u, v, w) = (to_f64(&u), to_f64(&v), to_f64(&w));
        let mut scores = Vec::new();
        for uw in u.axis_iter(Axis(0)) {
            for vc in v.axis_iter(Axis(0)) {
                scores.push(vc.dot(&w.dot(&uw)));
            }
        }
        let n = scores.len() as f64;
        let mean = scores.iter().sum::<f64>() / n;
        let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n;
        prop_assert!((got.mean - mean).abs() < 1e-9, "{} vs {}", got.mean, mean);
        // The variance comes from E[s²] − mean², which loses absolute precision ~1e-12·E[s²].
        let second = scores.iter().map(|s| s * s).sum::<f64>() / n;
        prop_assert!((got.std.powi(2) - var).abs() < 1e-9 * second.max(1.0), "{} vs {}", got.std.powi(2), var);
    }
}

#[test]
fn score_moments_by_hand_and_shape_checked() {
    // U rows a·(1, 0) for a = 1, 2; V rows (0, b) for b = 1, 3; W maps e1 to e2, so each
    // score is a·b: 1, 3, 2, 6, mean 3, variance (4 + 0 + 1 + 9)/4 = 3.5.
    let u = array![[1.0_f32, 0.0], [2.0, 0.0]];
    let v = array![[0.0_f32, 1.0], [0.0, 3.0]];
    let w = array![[0.0_f32, 0.0], [1.0, 0.0]];
    let m = ScoreMoments::of(u.view(), v.view(), w.view()).expect("shapes agree");
    assert!((m.mean - 3.0).abs() < 1e-12);
    assert!((m.std - 3.5_f64.sqrt()).abs() < 1e-12);

    let empty = ScoreMoments::of(Array2::<f32>::zeros((0, 2)).view(), v.view(), w.view())
        .expect("shapes agree");
    assert!(empty.mean.is_nan() && empty.std.is_nan());
    assert!(matches!(
        ScoreMoments::of(u.view(), Array2::<f32>::zeros((2, 3)).view(), w.view()),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        ScoreMoments::of(u.view(), v.view(), Array2::<f32>::zeros((2, 3)).view()),
        Err(Error::ShapeMismatch { .. })
    ));
}
