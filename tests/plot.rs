//! Pictures: the 2-D projection on data with known principal axes, unit length, PNG files
//! of the right size whose labels really render (from the embedded font, in Cyrillic), the
//! loss curve, and the error cases.

use std::path::Path;

use approx::assert_abs_diff_eq;
use bilinear_skipgram::{
    ConfigError, Error, plot::PICTURE_SIZE, plot::TrainingCurves, plot::plot_loss,
    plot::plot_training, plot::plot_words, plot::project_2d,
};
use ndarray::{Array1, Array2, array};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// Two orthonormal directions in `dim` dimensions that are not coordinate axes.
fn two_directions(dim: usize) -> (Array1<f32>, Array1<f32>) {
    let a = Array1::from_shape_fn(dim, |i| if i % 2 == 0 { 1.0_f32 } else { 0.5 });
    let a = &a / a.dot(&a).sqrt();
    let b = Array1::from_shape_fn(dim, |i| (i as f32 - 3.0).sin());
    let b = &b - &(&a * a.dot(&b));
    let b = &b / b.dot(&b).sqrt();
    (a, b)
}

/// `offset + α a + β b` over the grid α ∈ {-3..=3}, β ∈ {-1, 1}: α and β uncorrelated, α
/// with the larger spread, so the principal axes are `a` then `b`.
fn planted(dim: usize) -> (Array2<f32>, Vec<(f32, f32)>) {
    let (a, b) = two_directions(dim);
    let offset = Array1::from_shape_fn(dim, |i| 100.0 + 10.0 * i as f32);
    let mut coefficients = Vec::new();
    for alpha in -3..=3 {
        for beta in [-1.0_f32, 1.0] {
            coefficients.push((alpha as f32, beta));
        }
    }
    let mut x = Array2::<f32>::zeros((coefficients.len(), dim));
    for (mut row, &(alpha, beta)) in x.rows_mut().into_iter().zip(&coefficients) {
        row.assign(&(&offset + &(&a * alpha) + &(&b * beta)));
    }
    (x, coefficients)
}

#[test]
fn projection_removes_the_offset_and_recovers_the_axes() {
    // 14 words in 10-D goes through the M×M covariance, in 40-D through the N×N Gram matrix.
    for dim in [10, 40] {
        let (x, coefficients) = planted(dim);
        let points = project_2d(x.view()).expect("project");
        assert_eq!(points.dim(), (coefficients.len(), 2));
        let expected = Array2::from_shape_fn((coefficients.len(), 2), |(i, k)| {
            let (alpha, beta) = coefficients[i];
            let norm = alpha.hypot(beta);
            if k == 0 { alpha / norm } else { beta / norm }
        });
        // Up to the sign of each axis.
        let mut aligned = points.clone();
        for k in 0..2 {
            if aligned.column(k).dot(&expected.column(k)) < 0.0 {
                aligned.column_mut(k).mapv_inplace(|c| -c);
            }
        }
        assert_abs_diff_eq!(aligned, expected, epsilon = 1e-4);
    }
}

#[test]
fn projected_points_have_unit_length() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    for (rows, dim) in [(2, 5), (3, 3), (12, 50), (60, 8)] {
        let x = Array2::from_shape_fn((rows, dim), |_| rng.random_range(-1.0_f32..1.0));
        let points = project_2d(x.view()).expect("project");
        for row in points.rows() {
            assert_abs_diff_eq!(row.dot(&row).sqrt(), 1.0, epsilon = 1e-5);
        }
    }
}

#[test]
fn two_words_lie_on_the_first_axis_and_the_axis_points_at_the_farthest_word() {
    let x = array![[1.0_f32, 2.0, 3.0], [3.0, 2.0, 1.0]];
    let points = project_2d(x.view()).expect("project");
    // Symmetric about the mean, so either word may come out positive; the second axis has
    // no spread and stays zero instead of amplifying rounding noise.
    assert_abs_diff_eq!(points[(0, 0)].abs(), 1.0, epsilon = 1e-6);
    assert_abs_diff_eq!(points[(0, 0)], -points[(1, 0)], epsilon = 1e-6);
    assert_eq!(points.column(1).to_vec(), vec![0.0, 0.0]);

    let lopsided = array![[0.0_f32, 0.0], [1.0, 0.0], [5.0, 0.0], [0.0, 0.5]];
    let points = project_2d(lopsided.view()).expect("project");
    let farthest =
        points.column(0).iter().copied().fold(
            0.0_f32,
            |best, c| {
                if c.abs() > best.abs() { c } else { best }
            },
        );
    assert!(farthest > 0.0, "{points}");
}

#[test]
fn projection_rejects_too_few_words_and_non_finite_entries() {
    assert!(matches!(
        project_2d(Array2::<f32>::zeros((1, 4)).view()),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        project_2d(Array2::<f32>::zeros((3, 0)).view()),
        Err(Error::ShapeMismatch { .. })
    ));
    for bad in [f32::NAN, f32::INFINITY] {
        let x = array![[0.0_f32, 1.0], [1.0, bad], [2.0, 0.0]];
        match project_2d(x.view()) {
            Err(Error::Config(ConfigError::NotFinite { value, .. })) => {
                assert_eq!(value.is_nan(), bad.is_nan());
            }
            other => panic!("expected NotFinite, got {other:?}"),
        }
    }
}

/// Checks the PNG signature and the IHDR width and height, then decodes the pixels.
fn read_png(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("read png");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
    assert_eq!((width, height), PICTURE_SIZE);
    assert_eq!((width, height), (800, 600));

    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("decode header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("buffer size")];
    let info = reader.next_frame(&mut pixels).expect("decode pixels");
    assert_eq!((info.width, info.height), PICTURE_SIZE);
    assert_eq!(info.color_type, png::ColorType::Rgb);
    pixels.truncate(info.buffer_size());
    pixels
}

fn differing_pixels(a: &[u8], b: &[u8]) -> usize {
    a.chunks(3).zip(b.chunks(3)).filter(|(p, q)| p != q).count()
}

fn three_words() -> Array2<f32> {
    array![
        [1.0_f32, 0.0, 0.0, 0.5],
        [0.0, 1.0, 0.0, -0.5],
        [0.0, 0.0, 1.0, 0.25]
    ]
}

#[test]
fn word_pictures_are_pngs_whose_cyrillic_labels_render() {
    let dir = tempfile::tempdir().expect("tempdir");
    let x = three_words();
    let draw = |name: &str, labels: &[&str]| {
        let path = dir.path().join(name);
        plot_words(&path, x.view(), labels, "Думи").expect("plot words");
        read_png(&path)
    };
    let empty = draw("empty.png", &["", "", ""]);
    let cyrillic = draw("cyrillic.png", &["януари", "нефт", "бюджет"]);
    let zhe = draw("zhe.png", &["ж", "ж", "ж"]);
    let sha = draw("sha.png", &["ш", "ш", "ш"]);
    let latin = draw("latin.png", &["january", "oil", "budget"]);

    // Labels put ink on the picture.
    assert!(differing_pixels(&empty, &cyrillic) > 300);
    assert!(differing_pixels(&empty, &latin) > 300);
    // Two Cyrillic letters differ, so they are real glyphs, not the same missing-glyph box.
    assert!(differing_pixels(&zhe, &sha) > 20);
    // The picture is mostly white background, with some dark ink.
    let white = cyrillic.chunks(3).filter(|p| p == &[255, 255, 255]).count();
    let dark = cyrillic
        .chunks(3)
        .filter(|p| p.iter().all(|&c| c < 100))
        .count();
    let total = (PICTURE_SIZE.0 * PICTURE_SIZE.1) as usize;
    assert!(white > total / 2, "{white} white of {total}");
    assert!(dark > 500, "{dark} dark pixels");
    // No temporary file is left beside the pictures.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".png") && !n.starts_with('.')),
        "{names:?}"
    );
}

#[test]
fn the_title_renders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let x = three_words();
    let labels = ["a", "b", "c"];
    let untitled = dir.path().join("untitled.png");
    let titled = dir.path().join("titled.png");
    plot_words(&untitled, x.view(), &labels, "").expect("plot");
    plot_words(&titled, x.view(), &labels, "Вектори U").expect("plot");
    assert!(differing_pixels(&read_png(&untitled), &read_png(&titled)) > 100);
}

#[test]
fn many_long_labels_still_draw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let x = Array2::from_shape_fn((40, 20), |_| rng.random_range(-1.0_f32..1.0));
    let words: Vec<String> = (0..40)
        .map(|i| format!("конкурентоспособността{i}"))
        .collect();
    let labels: Vec<&str> = words.iter().map(String::as_str).collect();
    let path = dir.path().join("crowded.png");
    plot_words(&path, x.view(), &labels, &"a very long title ".repeat(10)).expect("plot");
    read_png(&path);
}

#[test]
fn word_picture_errors_are_typed_and_leave_files_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("words.png");
    std::fs::write(&path, b"earlier").expect("write");
    let x = three_words();

    let one = x.slice(ndarray::s![..1, ..]);
    assert!(matches!(
        plot_words(&path, one, &["a"], "t"),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        plot_words(&path, x.view(), &["a", "b"], "t"),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut nan = x.clone();
    nan[(1, 2)] = f32::NAN;
    assert!(matches!(
        plot_words(&path, nan.view(), &["a", "b", "c"], "t"),
        Err(Error::Config(ConfigError::NotFinite { .. }))
    ));
    assert_eq!(std::fs::read(&path).expect("read"), b"earlier");

    let unwritable = dir.path().join("no such folder").join("words.png");
    match plot_words(&unwritable, x.view(), &["a", "b", "c"], "t") {
        Err(Error::File { .. }) => {}
        other => panic!("expected a file error, got {other:?}"),
    }
    assert!(!unwritable.exists());
}

#[test]
fn loss_pictures_skip_non_finite_points() {
    let dir = tempfile::tempdir().expect("tempdir");
    let points: Vec<(u64, f64)> = (0..200)
        .map(|i| {
            let loss = if i % 13 == 0 {
                f64::NAN
            } else {
                2.0 + (-(i as f64) / 40.0).exp()
            };
            (i * 25_000, loss)
        })
        .collect();
    let path = dir.path().join("loss.png");
    plot_loss(&path, &points, "Загуба").expect("plot loss");
    let curve = read_png(&path);

    // A lone point (and an infinite one beside it) still makes a picture.
    let single = dir.path().join("single.png");
    plot_loss(&single, &[(1000, 3.5), (2000, f64::INFINITY)], "Загуба").expect("plot");
    let single = read_png(&single);
    assert!(differing_pixels(&curve, &single) > 300);

    // Nothing finite to draw is an error, and writes nothing.
    let none = dir.path().join("none.png");
    assert!(matches!(
        plot_loss(&none, &[(1, f64::NAN)], "t"),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        plot_loss(&none, &[], "t"),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(!none.exists());

    let unwritable = dir.path().join("missing").join("loss.png");
    assert!(matches!(
        plot_loss(&unwritable, &points, "t"),
        Err(Error::File { .. })
    ));
}

#[test]
fn training_pictures_draw_both_losses_and_w() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut curves = TrainingCurves::new();
    for i in 0..100_u64 {
        curves
            .online_loss
            .push((i * 10_000, 2.0 + (-(i as f64) / 30.0).exp()));
        if i % 10 == 9 {
            curves
                .heldout_loss
                .push((i * 10_000, 2.5 - i as f64 / 400.0));
            curves
                .interaction_distance
                .push((i * 10_000, i as f64 / 10.0));
            // An infinite condition number (a singular W) is skipped, not drawn.
            let condition = if i == 49 {
                f64::INFINITY
            } else {
                1.0 + i as f64
            };
            curves.interaction_condition.push((i * 10_000, condition));
        }
    }
    let full = dir.path().join("full.png");
    plot_training(&full, &curves, "Training").expect("plot");
    let full = read_png(&full);

    // Without W's diagnostics the loss panel takes the whole picture.
    let mut losses_only = curves.clone();
    losses_only.interaction_distance.clear();
    losses_only.interaction_condition.clear();
    let path = dir.path().join("losses.png");
    plot_training(&path, &losses_only, "Training").expect("plot");
    let losses = read_png(&path);
    assert!(differing_pixels(&full, &losses) > 5_000);

    // Without the held-out curve the picture differs again.
    let mut online_only = losses_only.clone();
    online_only.heldout_loss.clear();
    let path = dir.path().join("online.png");
    plot_training(&path, &online_only, "Training").expect("plot");
    assert!(differing_pixels(&losses, &read_png(&path)) > 300);

    // A held-out loss alone is enough; no finite loss at all is an error.
    let mut heldout_only = TrainingCurves::new();
    heldout_only.heldout_loss.push((5, 3.0));
    plot_training(dir.path().join("one.png"), &heldout_only, "t").expect("plot");
    let mut nothing = TrainingCurves::new();
    nothing.online_loss.push((1, f64::NAN));
    nothing.interaction_distance.push((1, 1.0));
    let none = dir.path().join("none.png");
    assert!(matches!(
        plot_training(&none, &nothing, "t"),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(!none.exists());
}
