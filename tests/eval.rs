//! Word similarity and analogy evaluation: Spearman with ties against hand values, coverage
//! counts, malformed lines, 3CosAdd and 3CosMul on a hand-built set, restriction to the
//! most frequent words, batched against per-question answers, BATS pairwise counting, the
//! Google format, and the staged evaluation files when they are present.

use std::io::Write;
use std::path::{Path, PathBuf};

use bilinear_skipgram::{
    AnalogyMethod, Error, OovPolicy, Vocab, eval::AnalogyDataset, eval::AnalogyReport,
    eval::AnalogySearch, eval::BatsDataset, eval::MalformedPolicy, eval::SimilarityDataset,
    eval::SimilarityPair, eval::UnitVectors, eval::average_ranks, eval::count_non_finite_rows,
    eval::find_word, eval::spearman,
};
use ndarray::{Array2, array};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

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
    assert_eq!(report.n_non_finite, 0);
}

#[test]
fn similarity_leaves_out_and_counts_pairs_with_non_finite_vectors() {
    let set = SimilarityDataset::from_pairs(
        "sim",
        [
            ("cat", "dog", 9.0),
            ("cat", "car", 5.0),
            ("dog", "tree", 1.0),
            ("car", "tree", 2.0),
        ]
        .map(|(first, second, score)| SimilarityPair {
            first: first.to_owned(),
            second: second.to_owned(),
            score,
        })
        .to_vec(),
    );
    let (vocab, mut vectors) = angle_vectors();
    let clean = set.evaluate(vectors.view(), &vocab).expect("evaluates");
    assert_eq!((clean.n_found, clean.n_non_finite), (4, 0));
    assert_eq!(count_non_finite_rows(vectors.view()), 0);
    // A NaN in the vector of "tree" (a diverged model): its two pairs are left out and
    // counted, and ρ is that of the other two, not undefined.
    vectors[[3, 1]] = f32::NAN;
    assert_eq!(count_non_finite_rows(vectors.view()), 1);
    let report = set.evaluate(vectors.view(), &vocab).expect("evaluates");
    assert_eq!(
        (report.n_found, report.n_non_finite, report.n_oov),
        (2, 2, 0)
    );
    let only_two = SimilarityDataset::from_pairs("two", set.pairs()[..2].to_vec());
    assert_eq!(
        report.spearman,
        only_two
            .evaluate(vectors.view(), &vocab)
            .expect("evaluates")
            .spearman
    );
    assert!(report.spearman.is_some());
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
    assert!(matches!(err, Error::Parse { line: 3, .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("broken.tsv:3:"), "{message}");
    assert!(message.contains("\"abc\""), "{message}");

    let set = SimilarityDataset::read(&path, MalformedPolicy::Skip).expect("skips");
    assert_eq!(set.malformed_lines(), [3, 4]);
    assert_eq!(set.pairs().len(), 3);
    assert_eq!(set.pairs()[2].first, "warm");

    let missing = SimilarityDataset::read(dir.path().join("nope.tsv"), MalformedPolicy::Skip);
    assert!(matches!(missing, Err(Error::File { .. })));
}

// ---------------------------------------------------------------------------------------
// Analogies on a hand-built set

const WORDS: [&str; 6] = ["france", "paris", "italy", "spain", "germany", "rome"];

/// Six words whose answers were worked out with numpy (normalise the rows, score every
/// word, mask a, b and c, take the argmax):
///
/// * france : paris :: italy : ? is `rome` (0.59055) by 3CosAdd and `germany` (1.72775) by
///   3CosMul; without the exclusion both would answer `italy`, a question word.
/// * Restricted to the first five words, 3CosAdd answers `spain` (0.02937).
fn hand_built() -> (Vocab, Array2<f32>) {
    let vectors = array![
        [-3.0_f32, -2.0, 3.0],
        [2.0, -2.0, 3.0],
        [1.0, 0.0, 1.0],
        [0.0, -3.0, 0.0],
        [1.0, 2.0, -2.0],
        [1.0, -2.0, 2.0]
    ];
    (vocab_of(&WORDS), vectors)
}

fn ids(search: &AnalogySearch<'_>, words: [&str; 3]) -> [usize; 3] {
    words.map(|w| search.word_id(w).expect("candidate"))
}

#[test]
fn cos_add_and_cos_mul_exclude_the_question_words() {
    let (vocab, vectors) = hand_built();
    let search = AnalogySearch::new(vectors.view(), &vocab, 30_000).expect("search");
    assert_eq!(search.n_candidates(), 6);
    let question = ids(&search, ["France", "Paris", "Italy"]);
    assert_eq!(question, [0, 1, 2]);

    // Without exclusion the query b - a + c is closest to c itself.
    let unit = UnitVectors::new(vectors.view());
    let rows = unit.view();
    let query = &rows.row(1) - &rows.row(0) + rows.row(2);
    let raw = unit.similarities(query.view()).expect("dim");
    let raw_best = bilinear_skipgram::eval::top_k(raw.view(), 1, &[]);
    assert_eq!(raw_best[0].0, 2);

    let add = search
        .answers(question, AnalogyMethod::CosAdd, 6)
        .expect("answers");
    assert_eq!(
        add.len(),
        3,
        "only the three other words are answers: {add:?}"
    );
    assert!(add.iter().all(|&(id, _)| id >= 3));
    assert_eq!(vocab.word(add[0].0), Some("rome"));
    assert!((add[0].1 - 0.590_550_55).abs() < 1e-5, "{add:?}");

    let mul = search
        .answers(question, AnalogyMethod::CosMul, 1)
        .expect("answers");
    assert_eq!(vocab.word(mul[0].0), Some("germany"));
    assert!((mul[0].1 - 1.727_751_6).abs() < 1e-4, "{mul:?}");

    for (method, expected) in [(AnalogyMethod::CosAdd, 5), (AnalogyMethod::CosMul, 4)] {
        let best = search.best_answers(&[question], method).expect("batch");
        assert_eq!(best[0].map(|(id, _)| id), Some(expected), "{method:?}");
    }
    assert!(matches!(
        search.answers([0, 1, 6], AnalogyMethod::CosAdd, 1),
        Err(Error::IndexOutOfRange { index: 6, .. })
    ));
}

#[test]
fn search_is_restricted_to_the_most_frequent_words() {
    let (vocab, vectors) = hand_built();
    let search = AnalogySearch::new(vectors.view(), &vocab, 5).expect("search");
    assert_eq!(search.n_candidates(), 5);
    // `rome` (id 5) is not a candidate any more, neither as answer nor as question word.
    assert_eq!(search.word_id("rome"), None);
    let question = ids(&search, ["france", "paris", "italy"]);
    let add = search
        .answers(question, AnalogyMethod::CosAdd, 1)
        .expect("answers");
    assert_eq!(vocab.word(add[0].0), Some("spain"));
    assert!((add[0].1 - 0.029_367_734).abs() < 1e-5, "{add:?}");
    let best = search
        .best_answers(&[question], AnalogyMethod::CosAdd)
        .expect("batch");
    assert_eq!(best[0].map(|(id, _)| id), Some(3));

    assert!(matches!(
        AnalogySearch::new(vectors.view(), &vocab, 0),
        Err(Error::InvalidArgument {
            what: "restrict",
            ..
        })
    ));
    let wrong_rows = Array2::<f32>::zeros((5, 3));
    assert!(matches!(
        AnalogySearch::new(wrong_rows.view(), &vocab, 10),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn special_tokens_are_never_answers() {
    // <UNK> and <END> point exactly where b - a + c points; <UNK> is the most frequent
    // entry. Under OovPolicy::Drop (as a vocabulary file may be loaded) <UNK> is an ordinary
    // entry but still not a word.
    for (special, oov) in [
        ("<UNK>", OovPolicy::Unk),
        ("<UNK>", OovPolicy::Drop),
        ("<END>", OovPolicy::Drop),
    ] {
        let vocab = Vocab::from_counts(
            [(special, 9), ("a", 5), ("b", 4), ("c", 3), ("d", 2)].map(|(w, n)| (w.to_owned(), n)),
            oov,
        )
        .expect("vocab");
        let vectors = array![
            [0.0_f32, 1.0, 1.0],
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 1.0, 0.8]
        ];
        let search = AnalogySearch::new(vectors.view(), &vocab, 100).expect("search");
        assert_eq!(search.word_id(special), None);
        let question = ids(&search, ["a", "b", "c"]);
        for method in AnalogyMethod::ALL {
            let best = search.answers(question, method, 5).expect("answers");
            assert_eq!(best.iter().map(|&(id, _)| id).collect::<Vec<_>>(), [4]);
            let batch = search.best_answers(&[question], method).expect("batch");
            assert_eq!(batch[0].map(|(id, _)| id), Some(4), "{special} {oov:?}");
        }
    }
}

#[test]
fn batched_answers_equal_the_per_question_loop() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    let n_words = 3000;
    let words: Vec<String> = (0..n_words).map(|i| format!("w{i}")).collect();
    let vocab = Vocab::from_counts(
        words.iter().zip(0..).map(|(w, i)| (w.clone(), 10_000 - i)),
        OovPolicy::Drop,
    )
    .expect("vocab");
    let vectors = Array2::from_shape_simple_fn((n_words, 32), || rng.random::<f32>() - 0.5);
    let restrict = 2800;
    let questions: Vec<[usize; 3]> = (0..2000)
        .map(|_| [0; 3].map(|_| rng.random_range(0..restrict)))
        .collect();
    for threads in [1, 3] {
        let search = AnalogySearch::new(vectors.view(), &vocab, restrict)
            .expect("search")
            .with_threads(threads);
        for method in AnalogyMethod::ALL {
            let batched = search.best_answers(&questions, method).expect("batch");
            assert_eq!(batched.len(), questions.len());
            for (&question, got) in questions.iter().zip(&batched) {
                let naive = search.answers(question, method, 1).expect("one");
                let (want_id, want_score) = naive[0];
                let (got_id, got_score) = got.expect("an answer");
                assert_eq!(got_id, want_id, "{method:?} {question:?}");
                assert!(got_id < restrict && !question.contains(&got_id));
                assert!(
                    (got_score - want_score).abs() <= 1e-5 * want_score.abs().max(1.0),
                    "{method:?} {question:?}: {got_score} vs {want_score}"
                );
            }
        }
    }
}

#[test]
fn google_format_with_two_sections() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(
        dir.path(),
        "questions-words.txt",
        ": capital-common\n\
         France Paris Italy Rome\n\
         Italy Rome France Paris\n\
         France Paris Italy Madrid\n\
         : other\n\
         germany spain paris rome\n\
         spain germany france italy\n\
         three words only\n",
    );
    let err = AnalogyDataset::read(&path, MalformedPolicy::Strict).expect_err("strict");
    let message = err.to_string();
    assert!(message.contains("questions-words.txt:8:"), "{message}");
    assert!(message.contains("three words only"), "{message}");

    let set = AnalogyDataset::read(&path, MalformedPolicy::Skip).expect("reads");
    assert_eq!(set.malformed_lines(), [8]);
    assert_eq!(set.n_questions(), 5);
    let (vocab, vectors) = hand_built();
    let search = AnalogySearch::new(vectors.view(), &vocab, 100).expect("search");
    let reports = set.evaluate(&search, &AnalogyMethod::ALL);
    assert_eq!(reports.len(), 2);
    // Answers (numpy): q1 rome / germany, q2 spain / spain, q3 not covered (madrid),
    // q4 rome / france, q5 italy / italy.
    fn counts(r: &AnalogyReport) -> Vec<(&str, usize, usize, usize)> {
        r.sections
            .iter()
            .map(|s| (s.name.as_str(), s.n_questions, s.n_covered, s.n_correct))
            .collect()
    }
    let add = &reports[0];
    assert_eq!(add.method, AnalogyMethod::CosAdd);
    assert_eq!(
        counts(add),
        [("capital-common", 3, 2, 1), ("other", 2, 2, 2)]
    );
    assert_eq!(add.accuracy(), Some(0.75));
    assert_eq!(add.mean_accuracy(), Some(0.75));
    let total = add.total();
    assert_eq!(
        (total.n_questions, total.n_covered, total.n_correct),
        (5, 4, 3)
    );
    assert_eq!(total.coverage(), Some(0.8));
    let mul = &reports[1];
    assert_eq!(mul.method, AnalogyMethod::CosMul);
    assert_eq!(
        counts(mul),
        [("capital-common", 3, 2, 0), ("other", 2, 2, 1)]
    );
    assert_eq!(mul.accuracy(), Some(0.25));
    assert_eq!(mul.mean_accuracy(), Some(0.25));

    // Restricted to five words, every question with `rome` is not covered.
    let search = AnalogySearch::new(vectors.view(), &vocab, 5).expect("search");
    let add = &set.evaluate(&search, &[AnalogyMethod::CosAdd])[0];
    assert_eq!(
        counts(add),
        [("capital-common", 3, 0, 0), ("other", 2, 1, 1)]
    );
    assert_eq!(add.sections[0].accuracy(), None);
    assert_eq!(add.mean_accuracy(), Some(1.0));
    assert_eq!(add.n_sections_scored(), 1);
}

#[test]
fn msr_format_is_one_section() {
    let set = AnalogyDataset::from_reader(
        "good\tbetter\trough\trougher\nbetter\tgood\trougher\trough\n".as_bytes(),
        Path::new("msr_analogy.txt"),
        MalformedPolicy::Strict,
    )
    .expect("reads");
    assert_eq!(set.sections().len(), 1);
    assert_eq!(set.sections()[0].name, "msr_analogy");
    assert_eq!(set.sections()[0].questions[1].expected, "rough");
}

#[test]
fn bats_pairwise_counting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(
        dir.path(),
        "bats.tsv",
        "relation_id\trelation\tcategory\tword\ttargets\n\
         R1\tcapital\tgeo\tfrance\tparis\n\
         R1\tcapital\tgeo\titaly\troma/rome\n\
         R1\tcapital\tgeo\tspain\tmadrid\n\
         R2\tpair\tmisc\tgermany\tspain\n\
         R2\tpair\tmisc\tparis\titaly\n",
    );
    let set = BatsDataset::read(&path, MalformedPolicy::Strict).expect("reads");
    let (vocab, vectors) = hand_built();
    let search = AnalogySearch::new(vectors.view(), &vocab, 100).expect("search");
    let reports = set.evaluate(&search, &AnalogyMethod::ALL);
    // R1: 3 rows, 6 ordered pairs. `spain` has no target in the vocabulary, so the four
    // questions involving it are not covered. Covered:
    //   france : paris :: italy : ?  accepts rome  (3CosAdd rome ✓, 3CosMul germany ✗)
    //   italy : rome :: france : ?   accepts paris (`roma` is skipped for a′₁; spain, spain ✗)
    // R2: 2 rows, 2 questions:
    //   germany : spain :: paris : ? accepts italy (rome ✗, france ✗)
    //   paris : italy :: germany : ? accepts spain (rome ✗, spain ✓)
    let summary = |i: usize| {
        reports[i]
            .sections
            .iter()
            .map(|s| (s.name.clone(), s.n_questions, s.n_covered, s.n_correct))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        summary(0),
        [
            ("R1 [capital]".to_owned(), 6, 2, 1),
            ("R2 [pair]".to_owned(), 2, 2, 0)
        ]
    );
    assert_eq!(
        summary(1),
        [
            ("R1 [capital]".to_owned(), 6, 2, 0),
            ("R2 [pair]".to_owned(), 2, 2, 1)
        ]
    );
    // The BATS score is the mean over relations: (1/2 + 0) / 2 and (0 + 1/2) / 2.
    assert_eq!(reports[0].mean_accuracy(), Some(0.25));
    assert_eq!(reports[1].mean_accuracy(), Some(0.25));
    let total = reports[0].total();
    assert_eq!((total.n_questions, total.n_covered), (8, 4));
}

// ---------------------------------------------------------------------------------------
// The staged evaluation files

/// `shared/data/eval` next to the crate or one of its parent folders (or the folder
/// `BILINEAR_SKIPGRAM_EVAL_DIR` names), if it exists.
fn shared_eval_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BILINEAR_SKIPGRAM_EVAL_DIR") {
        return Some(PathBuf::from(dir)).filter(|d| d.is_dir());
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/data/eval"))
        .find(|d| d.is_dir())
}

#[test]
fn staged_evaluation_files_parse_strictly() {
    let Some(dir) = shared_eval_dir() else {
        println!("skipping: shared/data/eval not found (set BILINEAR_SKIPGRAM_EVAL_DIR)");
        return;
    };
    for (name, pairs) in [
        ("men3k.tsv", 3000),
        ("mturk771.tsv", 771),
        ("rw_stanford.tsv", 2034),
        ("simverb3500.tsv", 3500),
    ] {
        let path = dir.join(name);
        if !path.exists() {
            println!("skipping {}: not found", path.display());
            continue;
        }
        let set = SimilarityDataset::read(&path, MalformedPolicy::Strict).expect(name);
        assert_eq!(set.pairs().len(), pairs, "{name}");
    }
    let msr = dir.join("msr_analogy.txt");
    if msr.exists() {
        let set = AnalogyDataset::read(&msr, MalformedPolicy::Strict).expect("msr");
        assert_eq!((set.sections().len(), set.n_questions()), (1, 8000));
    } else {
        println!("skipping {}: not found", msr.display());
    }
    let bats = dir.join("bats_3.0.tsv");
    if bats.exists() {
        let set = BatsDataset::read(&bats, MalformedPolicy::Strict).expect("bats");
        assert_eq!(set.relations().len(), 40);
        assert!(set.relations().iter().all(|r| r.rows.len() == 50));
        assert_eq!(set.relations()[20].label(), "E01 [country - capital]");
    } else {
        println!("skipping {}: not found", bats.display());
    }
}

#[test]
fn a_question_without_a_direction_has_no_answer_on_either_path() {
    // b − a + c = 0: a is a zero row (a word never trained), c = −b.
    let vocab = Vocab::from_counts(
        ["zero", "east", "west", "north", "up"]
            .into_iter()
            .enumerate()
            .map(|(i, w)| (w.to_owned(), 10 - i as u64)),
        OovPolicy::Drop,
    )
    .expect("vocab");
    let vectors = array![
        [0.0_f32, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [-1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0]
    ];
    let search = AnalogySearch::new(vectors.view(), &vocab, 5).expect("search");
    let add = search
        .answers([0, 1, 2], AnalogyMethod::CosAdd, 3)
        .expect("answers");
    assert!(add.is_empty(), "{add:?}");
    // The batched path, as the evaluation uses it, answered `north` (every score 0, the
    // smallest id first).
    let best = search
        .best_answers(&[[0, 1, 2], [1, 3, 1]], AnalogyMethod::CosAdd)
        .expect("batch");
    assert_eq!(best[0], None);
    assert!(best[1].is_some());
}

#[test]
fn similarities_take_the_length_of_any_finite_query() {
    let unit = UnitVectors::new(array![[1.0_f32, 0.0], [0.0, 1.0]].view());
    // The length was summed in f32: 1e20² overflowed to infinity, 1e-30² to zero.
    for scale in [1e20_f32, 1e-30, 1.0] {
        let sims = unit
            .similarities(array![scale, 0.0].view())
            .expect("similarities");
        assert!(
            (sims[0] - 1.0).abs() < 1e-6 && sims[1] == 0.0,
            "{scale}: {sims}"
        );
    }
}
