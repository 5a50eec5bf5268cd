//! Word similarity evaluation: Spearman with ties against hand values, coverage counts,
//! lowercased lookups and malformed lines.

use std::io::Write;
use std::path::{Path, PathBuf};

use bilinear_skipgram::{
    Error, MalformedPolicy, OovPolicy, SimilarityDataset, Vocab, average_ranks, find_word, spearman,
};
use ndarray::Array2;

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(text.as_bytes()).expect("write");
    path
}

fn vocab_of(words: &[&str]) -> Vocab {
    // Counts descending, so ids follow the given order as in a trained vocabulary.
    let n = words.len() as u64;
    Vocab::from_counts(
        words.iter().zip(0..).map(|(w, i)| (w.to_string(), n - i)),
        OovPolicy::Drop,
    )
    .expect("vocab")
}

// ---------------------------------------------------------------------------------------
// Spearman

#[test]
fn spearman_with_ties_matches_hand_values() {
    // x ranks [1, 2.5, 2.5, 4, 5], y ranks [2, 1, 3.5, 3.5, 5]; deviations from the mean
    // rank 3: dx = [-2, -.5, -.5, 1, 2], dy = [-1, -2, .5, .5, 2]; Σdx dy = 7.25,
    // Σdx² = Σdy² = 9.5, so ρ = 7.25 / 9.5. scipy.stats.spearmanr gives
    // 0.7631578947368421. (The no-ties formula 1 - 6Σd²/(n(n²-1)) would give 0.775.)
    let rho = spearman(&[1.0, 2.0, 2.0, 3.0, 4.0], &[2.0, 1.0, 3.0, 3.0, 5.0])
        .expect("same length")
        .expect("defined");
    assert!((rho - 7.25 / 9.5).abs() < 1e-12, "{rho}");
    assert!((rho - 0.763_157_894_736_842_1).abs() < 1e-12);

    // Ties on both sides; scipy.stats.spearmanr gives 0.19885368120992467.
    let x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
    let y = [2.0, 7.0, 1.0, 8.0, 2.0, 8.0, 1.0, 8.0];
    assert_eq!(average_ranks(&y), [3.5, 5.0, 1.5, 7.0, 3.5, 7.0, 1.5, 7.0]);
    let rho = spearman(&x, &y).expect("ok").expect("defined");
    assert!((rho - 0.198_853_681_209_924_67).abs() < 1e-12, "{rho}");

    let monotone = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    let squares = monotone.map(|v: f64| v * v);
    let reversed = monotone.map(|v| -v);
    let rho = spearman(&monotone, &squares).expect("ok").expect("defined");
    assert!((rho - 1.0).abs() < 1e-12, "{rho}");
    let rho = spearman(&monotone, &reversed)
        .expect("ok")
        .expect("defined");
    assert!((rho + 1.0).abs() < 1e-12, "{rho}");
    // Undefined: constant input, too few values, a value that is not finite.
    assert_eq!(
        spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).expect("ok"),
        None
    );
    assert_eq!(spearman(&[1.0], &[1.0]).expect("ok"), None);
    assert_eq!(spearman(&[1.0, f64::NAN], &[1.0, 2.0]).expect("ok"), None);
    assert!(matches!(
        spearman(&[1.0, 2.0], &[1.0]),
        Err(Error::ShapeMismatch { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Word similarity

/// cat, dog, car, tree at angles 0°, 10°, 60°, 90°; `unicorn` and `pegasus` are not in the
/// vocabulary.
fn angle_vectors() -> (Vocab, Array2<f32>) {
    let vocab = vocab_of(&["cat", "dog", "car", "tree"]);
    let rows: Vec<f32> = [0.0_f32, 10.0, 60.0, 90.0]
        .iter()
        .flat_map(|deg| {
            let r = deg.to_radians();
            [r.cos(), r.sin()]
        })
        .collect();
    (vocab, Array2::from_shape_vec((4, 2), rows).expect("shape"))
}

#[test]
fn similarity_counts_coverage_and_ranks_ties() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(
        dir.path(),
        "sim.tsv",
        "Cat\tdog\t9\n\
         cat\tcar\t5\n\
         cat\tunicorn\t7\n\
         dog car 5\n\
         \n\
         cat\ttree\t2\n\
         unicorn\tpegasus\t8\n\
         car\ttree\t2\n\
         pegasus\ttree\t1\n",
    );
    let set = SimilarityDataset::read(&path, MalformedPolicy::Strict).expect("reads");
    assert_eq!(set.name(), "sim");
    assert_eq!(set.pairs().len(), 8);
    let (vocab, vectors) = angle_vectors();
    let report = set.evaluate(vectors.view(), &vocab).expect("evaluates");
    assert_eq!(report.n_pairs, 8);
    assert_eq!(report.n_found, 5);
    assert_eq!(report.n_oov, 3);
    assert_eq!(report.oov_words, ["unicorn", "pegasus"]);
    assert_eq!(report.coverage(), Some(5.0 / 8.0));
    // Gold [9, 5, 5, 2, 2] (ranks [5, 3.5, 3.5, 1.5, 1.5]) against cosines
    // [cos 10°, cos 60°, cos 50°, cos 90°, cos 30°] (ranks [5, 2, 3, 1, 4]):
    // ρ = 5 / sqrt(9 · 10); scipy.stats.spearmanr gives 0.5270462766947298.
    let rho = report.spearman.expect("defined");
    assert!((rho - 5.0 / 90.0_f64.sqrt()).abs() < 1e-9, "{rho}");
    assert!((rho - 0.527_046_276_694_729_8).abs() < 1e-9);

    let wrong_rows = Array2::<f32>::zeros((3, 2));
    assert!(matches!(
        set.evaluate(wrong_rows.view(), &vocab),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn lookups_are_lowercased() {
    let vocab = vocab_of(&["paris", "Rome"]);
    assert_eq!(find_word(&vocab, "PARIS"), Some(0));
    // Not lowercase in the vocabulary: found as written only.
    assert_eq!(find_word(&vocab, "Rome"), Some(1));
    assert_eq!(find_word(&vocab, "ROME"), None);
}

#[test]
fn malformed_similarity_lines_strict_and_skip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(
        dir.path(),
        "broken.tsv",
        "old\tnew\t1.5\nfast\tquick\t8\nbig\tlarge\tabc\nhot\n\nwarm\tcold\t2\n",
    );
    let err = SimilarityDataset::read(&path, MalformedPolicy::Strict).expect_err("strict");
    assert!(matches!(err, Error::Corpus { line: 3, .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("broken.tsv:3:"), "{message}");
    assert!(message.contains("\"abc\""), "{message}");

    let set = SimilarityDataset::read(&path, MalformedPolicy::Skip).expect("skips");
    assert_eq!(set.malformed_lines(), [3, 4]);
    assert_eq!(set.pairs().len(), 3);
    assert_eq!(set.pairs()[2].first, "warm");

    let missing = SimilarityDataset::read(&dir.path().join("nope.tsv"), MalformedPolicy::Skip);
    assert!(matches!(missing, Err(Error::File { .. })));
}
