//! Bad input of every kind the public API reads: each case asserts the error variant and
//! that the message names the file, line or value. RELIABILITY.md lists the cases with the
//! messages; `cargo test --release --test bad_input -- --nocapture` prints them (lines
//! starting with `BAD_INPUT`).

use std::fs;
use std::path::{Path, PathBuf};

use bilinear_skipgram::{
    ConfigError, Corpus, CorpusOptions, Error, Model, NoProgress, OovPolicy, TrainConfig,
    TrainConfigBuilder, Utf8Policy, Vocab, Word2vecFormat, eval::AnalogyDataset, eval::BatsDataset,
    eval::MalformedPolicy, eval::SimilarityDataset, io::FOCUS_FILE, io::INTERACTION_FILE,
    io::MAX_LINE_BYTES, io::read_vocab, load_model, read_matrix, read_word_vectors, read_word2vec,
    save_model, train, train_model,
};
use ndarray::{Array2, array};

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).expect("write");
    path
}

/// Prints the case and the message for RELIABILITY.md and returns the message.
fn show(case: &str, error: &Error) -> String {
    let message = error.to_string();
    eprintln!("BAD_INPUT | {case} | {message}");
    message
}

/// Asserts that `message` contains every needle.
fn assert_names(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn garbage(n: usize, mut state: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

fn small_config() -> TrainConfigBuilder {
    TrainConfig::builder()
        .dim(8)
        .epochs(1)
        .min_count(1)
        .threads(2)
}

// ---- corpus files ----

#[test]
fn empty_corpus_is_an_empty_vocabulary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = write(dir.path(), "empty.txt", "");
    let config = small_config().build().expect("valid");
    let error = train(&config, [&empty], NoProgress).expect_err("empty");
    let message = show("empty corpus file", &error);
    assert!(matches!(error, Error::EmptyVocabulary(_)), "{error:?}");
    assert_names(&message, &["0 tokens", "min_count = 1"]);
}

#[test]
fn binary_garbage_strict_names_file_and_line_lossy_trains() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = garbage(100_000, 0x9e37_79b9_7f4a_7c15);
    // Not a gzip or xz magic number: read as (invalid) text.
    bytes[0] = b'x';
    let path = write(dir.path(), "garbage.bin", &bytes);
    let config = small_config().build().expect("valid");
    let error = train(&config, [&path], NoProgress).expect_err("strict");
    let message = show("binary garbage, Utf8Policy::Strict", &error);
    let Error::Corpus { line, .. } = &error else {
        panic!("expected Error::Corpus, got {error:?}");
    };
    assert_names(
        &message,
        &["garbage.bin", &format!(":{line}:"), "invalid UTF-8"],
    );

    let lossy = small_config()
        .utf8(Utf8Policy::Lossy)
        .subsample(0.0)
        .build()
        .expect("valid");
    let trained = train(&lossy, [&path], NoProgress).expect("lossy trains");
    assert!(trained.report.words > 0);
    let mut stream = Corpus::new([&path], lossy.corpus_options().clone())
        .sentences()
        .expect("opens");
    while stream.next_sentence(|_| {}).expect("lossy reads") {}
    assert!(
        stream.replaced_bytes() > 10_000,
        "{}",
        stream.replaced_bytes()
    );
}

#[test]
fn garbage_behind_a_gzip_or_xz_magic_number_is_a_corpus_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, magic) in [
        ("fake.gz", &[0x1f_u8, 0x8b][..]),
        ("fake.xz", &[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00][..]),
    ] {
        let mut bytes = magic.to_vec();
        bytes.extend(garbage(10_000, 7));
        let path = write(dir.path(), name, &bytes);
        let config = small_config()
            .utf8(Utf8Policy::Lossy)
            .build()
            .expect("valid");
        let error = train(&config, [&path], NoProgress).expect_err("corrupt");
        let message = show(&format!("random bytes after a {name} magic number"), &error);
        assert!(matches!(error, Error::Corpus { line: 1, .. }), "{error:?}");
        assert_names(&message, &[name, ":1:", "decompression error"]);
    }
}

#[test]
fn invalid_utf8_strict_is_an_error_lossy_is_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "latin1.txt",
        b"plain words\ncaf\xe9 au lait\nmore words\n",
    );
    let config = small_config().build().expect("valid");
    let error = train(&config, [&path], NoProgress).expect_err("strict");
    let message = show("invalid UTF-8 (Latin-1 byte) on line 2, strict", &error);
    assert!(matches!(error, Error::Corpus { line: 2, .. }), "{error:?}");
    assert_names(
        &message,
        &["latin1.txt:2:", "byte offset 3", "Utf8Policy::Lossy"],
    );

    let options = CorpusOptions::default().with_utf8(Utf8Policy::Lossy);
    let mut stream = Corpus::new([&path], options).sentences().expect("opens");
    let mut tokens = Vec::new();
    while stream
        .next_sentence(|t| tokens.push(t.to_owned()))
        .expect("lossy")
    {}
    assert_eq!(
        tokens,
        ["plain", "words", "caf", "au", "lait", "more", "words"]
    );
    assert_eq!(stream.replaced_bytes(), 1);
    let lossy = small_config()
        .utf8(Utf8Policy::Lossy)
        .subsample(0.0)
        .build()
        .expect("valid");
    let trained = train(&lossy, [&path], NoProgress).expect("lossy trains");
    assert_eq!(trained.report.words, 7);
}

#[test]
fn a_single_word_is_nothing_to_train() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "one.txt", "Word");
    let config = small_config().epochs(3).build().expect("valid");
    let error = train(&config, [&path], NoProgress).expect_err("one word");
    let message = show("a corpus of one word", &error);
    assert!(matches!(error, Error::NothingToTrain { .. }), "{error:?}");
    assert_names(&message, &["1 word (\"word\")"]);
}

#[test]
fn one_line_of_a_million_tokens_is_trained_in_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n_tokens = 1_000_000_u64;
    let mut line = String::with_capacity(8 * n_tokens as usize);
    for i in 0..n_tokens {
        // 1000 distinct words, each 1000 times.
        line.push_str(&format!("w{} ", (i * 7919) % 1000));
    }
    line.push('\n');
    let path = write(dir.path(), "long.txt", line);
    let config = small_config()
        .dim(4)
        .window(1)
        .negatives(1)
        .subsample(0.0)
        .build()
        .expect("valid");
    let trained = train(&config, [&path], NoProgress).expect("trains");
    assert_eq!(trained.vocab.len(), 1000);
    assert_eq!(trained.vocab.n_tokens(), n_tokens);
    assert_eq!(trained.report.words, n_tokens);
    assert!(trained.report.pairs > n_tokens);
}

#[test]
fn min_count_that_leaves_nothing_is_an_empty_vocabulary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "rare.txt", "every word here is rare\n");
    let config = small_config().min_count(2).build().expect("valid");
    let error = train(&config, [&path], NoProgress).expect_err("empty");
    let message = show("min_count = 2 on a corpus of words seen once", &error);
    assert!(matches!(error, Error::EmptyVocabulary(_)), "{error:?}");
    assert_names(&message, &["5 tokens", "5 distinct", "min_count = 2"]);
}

#[test]
fn missing_corpus_and_directory_name_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = small_config().build().expect("valid");
    let missing = dir.path().join("missing.txt");
    let error = train(&config, [&missing], NoProgress).expect_err("missing");
    let message = show("corpus file that does not exist", &error);
    assert!(matches!(error, Error::File { .. }), "{error:?}");
    assert_names(&message, &["missing.txt"]);
    let error = train(&config, [dir.path()], NoProgress).expect_err("dir");
    let message = show("corpus path that is a folder", &error);
    assert!(matches!(error, Error::File { .. }), "{error:?}");
    assert_names(&message, &["is a folder"]);
}

#[test]
fn vocabulary_of_zero_counts_cannot_draw_negatives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "c.txt", "a b\n");
    let vocab = Vocab::from_counts([("a".to_owned(), 0), ("b".to_owned(), 0)], OovPolicy::Drop)
        .expect("vocab");
    let config = small_config().build().expect("valid");
    let mut model = Model::for_vocab(&config, &vocab).expect("model");
    let corpus = Corpus::new([&path], config.corpus_options().clone());
    let error =
        train_model(&config, &vocab, &mut model, &corpus, NoProgress).expect_err("all zero");
    let message = show(
        "train_model with a vocabulary whose counts are all 0",
        &error,
    );
    assert!(matches!(error, Error::Sampling(_)), "{error:?}");
    assert_names(&message, &["all 2 weights are zero"]);

    let wrong = Model::for_config(&config, 3);
    let mut wrong = wrong;
    let error =
        train_model(&config, &vocab, &mut wrong, &corpus, NoProgress).expect_err("wrong rows");
    let message = show("train_model with 3 model rows for 2 words", &error);
    assert!(matches!(error, Error::ShapeMismatch { .. }), "{error:?}");
    assert_names(&message, &["[2, 8]", "[3, 8]"]);

    let error = Vocab::from_counts(Vec::new(), OovPolicy::Drop).expect_err("no word");
    let message = show("Vocab::from_counts with no word", &error);
    assert!(matches!(error, Error::EmptyVocabulary(_)), "{error:?}");
    assert_names(&message, &["no word was given"]);
}

#[test]
fn a_vocabulary_word_no_file_could_hold_is_refused_before_training() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "c.txt", "a b a b\n");
    let config = small_config().build().expect("valid");
    let corpus = Corpus::new([&path], config.corpus_options().clone());
    let long = "w".repeat(70_000);
    for (word, needles) in [
        (
            "new york",
            vec!["word 2", "\"new york\"", "contains whitespace"],
        ),
        ("", vec!["word 2", "is empty"]),
        (
            long.as_str(),
            vec!["word 2", "70000 bytes", "longer than a vocabulary line"],
        ),
    ] {
        let vocab = Vocab::from_counts(
            [("a", 2), ("b", 2), (word, 1)].map(|(w, c)| (w.to_owned(), c)),
            OovPolicy::Drop,
        )
        .expect("vocab");
        let mut model = Model::for_vocab(&config, &vocab).expect("model");
        let start = model.clone();
        let error =
            train_model(&config, &vocab, &mut model, &corpus, NoProgress).expect_err("refused");
        let message = show("train_model with an unwritable word", &error);
        assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
        assert_names(&message, &needles);
        assert!(message.len() < 300, "a long word is cut: {message}");
        assert_eq!(model, start, "refused before any step");
        let error = save_model(dir.path().join("m"), &model, &vocab).expect_err("unsaveable");
        assert_names(
            &show("save_model with an unwritable word", &error),
            &needles,
        );
        assert!(!dir.path().join("m").exists());
    }
}

// ---- configuration ----

/// Every builder setter with values out of its range: 0, too large, `usize::MAX`, NaN,
/// infinities and negative numbers.
#[test]
fn every_setter_rejects_out_of_range_values() {
    let b = TrainConfig::builder;
    let cases: Vec<(&str, TrainConfigBuilder, &str)> = vec![
        ("dim(0)", b().dim(0), "`dim` must be at least 1, got 0"),
        (
            "dim(10_001)",
            b().dim(10_001),
            "`dim` must be at most 10000, got 10001",
        ),
        (
            "dim(usize::MAX)",
            b().dim(usize::MAX),
            "got 18446744073709551615",
        ),
        (
            "window(0)",
            b().window(0),
            "`window` must be at least 1, got 0",
        ),
        (
            "window(1_001)",
            b().window(1_001),
            "`window` must be at most 1000",
        ),
        (
            "negatives(0)",
            b().negatives(0),
            "`negatives` must be at least 1",
        ),
        (
            "negatives(usize::MAX)",
            b().negatives(usize::MAX),
            "`negatives` must be at most 1000",
        ),
        (
            "negative_power(NaN)",
            b().negative_power(f64::NAN),
            "`negative_power` must be finite, got NaN",
        ),
        (
            "negative_power(-inf)",
            b().negative_power(f64::NEG_INFINITY),
            "must be finite, got -inf",
        ),
        (
            "negative_power(-1)",
            b().negative_power(-1.0),
            "`negative_power` must lie in [0, 10], got -1",
        ),
        ("negative_power(11)", b().negative_power(11.0), "got 11"),
        (
            "epochs(0)",
            b().epochs(0),
            "`epochs` must be at least 1, got 0",
        ),
        (
            "epochs(10_001)",
            b().epochs(10_001),
            "`epochs` must be at most 10000",
        ),
        (
            "learning_rate(0)",
            b().learning_rate(0.0),
            "`learning_rate` must lie in (0, 100], got 0",
        ),
        ("learning_rate(-0.1)", b().learning_rate(-0.1), "got -0.1"),
        (
            "learning_rate(NaN)",
            b().learning_rate(f32::NAN),
            "`learning_rate` must be finite, got NaN",
        ),
        (
            "learning_rate(inf)",
            b().learning_rate(f32::INFINITY),
            "must be finite, got inf",
        ),
        ("learning_rate(101)", b().learning_rate(101.0), "got 101"),
        (
            "interaction_learning_rate(-1)",
            b().interaction_learning_rate(-1.0),
            "`interaction_learning_rate` must lie in [0, 100], got -1",
        ),
        (
            "interaction_learning_rate(NaN)",
            b().interaction_learning_rate(f32::NAN),
            "must be finite, got NaN",
        ),
        (
            "interaction_learning_rate(f32::MAX)",
            b().interaction_learning_rate(f32::MAX),
            "must lie in [0, 100]",
        ),
        (
            "min_count(0)",
            b().min_count(0),
            "`min_count` must be at least 1, got 0",
        ),
        (
            "max_vocab(Some(0))",
            b().max_vocab(Some(0)),
            "`max_vocab` must be at least 1, got 0",
        ),
        (
            "max_vocab(Some(u32::MAX))",
            b().max_vocab(Some(u32::MAX as usize)),
            "`max_vocab` must be at most 4294967294",
        ),
        (
            "subsample(-1e-3)",
            b().subsample(-1e-3),
            "`subsample` must lie in [0, 1), got -0.001",
        ),
        ("subsample(1)", b().subsample(1.0), "got 1"),
        (
            "subsample(NaN)",
            b().subsample(f64::NAN),
            "`subsample` must be finite, got NaN",
        ),
        (
            "threads(0)",
            b().threads(0),
            "`threads` must be at least 1, got 0",
        ),
        (
            "threads(1_025)",
            b().threads(1_025),
            "`threads` must be at most 1024, got 1025",
        ),
        (
            "merge_interval(0)",
            b().merge_interval(0),
            "`merge_interval` must be at least 1",
        ),
        (
            "merge_interval(4_097)",
            b().merge_interval(4_097),
            "`merge_interval` must be at most 4096",
        ),
    ];
    for (case, builder, needle) in cases {
        let error = builder.build().expect_err(case);
        assert!(
            matches!(
                error,
                ConfigError::TooSmall { .. }
                    | ConfigError::TooLarge { .. }
                    | ConfigError::NotFinite { .. }
                    | ConfigError::OutOfRange { .. }
            ),
            "{case}: {error:?}"
        );
        let message = show(case, &Error::Config(error));
        assert_names(&message, &[needle]);
    }
    // The whole range of the seed is valid, and so are both ends of every range.
    for config in [
        b().seed(0).build(),
        b().seed(u64::MAX).build(),
        b().dim(10_000)
            .window(1_000)
            .negatives(1_000)
            .epochs(10_000)
            .build(),
        b().learning_rate(100.0)
            .interaction_learning_rate(0.0)
            .build(),
        b().negative_power(0.0)
            .subsample(0.0)
            .threads(1_024)
            .merge_interval(4_096)
            .build(),
        b().max_vocab(Some(u32::MAX as usize - 1))
            .min_count(u64::MAX)
            .build(),
    ] {
        config.expect("edge values are valid");
    }
}

// ---- evaluation files ----

/// Reads the file `(name, text)` under both policies: strict must fail on the first line of
/// `skipped` with every needle in the message; skip must record exactly `skipped`.
fn both_policies<T>(
    case: &str,
    dir: &Path,
    (name, text): (&str, &[u8]),
    read: impl Fn(&Path, MalformedPolicy) -> Result<T, Error>,
    skipped: &[u64],
    malformed: impl Fn(&T) -> Vec<u64>,
    needles: &[&str],
) -> T {
    let path = write(dir, name, text);
    let error = match read(&path, MalformedPolicy::Strict) {
        Err(error) => error,
        Ok(_) => panic!("{case}: accepted under Strict"),
    };
    let message = show(case, &error);
    let Error::Parse { line, .. } = &error else {
        panic!("{case}: expected Error::Parse, got {error:?}");
    };
    assert_eq!(*line, skipped[0], "{case}");
    assert_names(&message, &[name, &format!(":{line}:")]);
    assert_names(&message, needles);
    let set = read(&path, MalformedPolicy::Skip).expect("skip policy reads");
    assert_eq!(malformed(&set), skipped, "{case}");
    set
}

#[test]
fn malformed_similarity_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = |set: &SimilarityDataset| set.malformed_lines().to_vec();
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "similarity: two fields",
            b"cat\tdog\t7\ncat\tdog\n",
            "3 fields",
        ),
        (
            "similarity: score not a number",
            b"cat dog 7\ncar tree high\n",
            "score \"high\"",
        ),
        (
            "similarity: score NaN",
            b"cat dog 7\ncar tree NaN\n",
            "not a finite number",
        ),
        (
            "similarity: four fields",
            b"cat dog 7\ncar tree 1 2\n",
            "3 fields",
        ),
        (
            "similarity: invalid UTF-8",
            b"cat dog 7\ncaf\xe9 tea 5\n",
            "invalid UTF-8",
        ),
    ];
    for (case, text, needle) in cases {
        let set = both_policies(
            case,
            dir.path(),
            ("sim.txt", text),
            |p: &Path, m| SimilarityDataset::read(p, m),
            &[2],
            lines,
            &[needle],
        );
        assert_eq!(set.pairs().len(), 1, "{case}");
    }
}

#[test]
fn malformed_analogy_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = |set: &AnalogyDataset| set.malformed_lines().to_vec();
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "analogy: three words",
            b": s\na b c d\na b c\n",
            "found 3 words",
        ),
        (
            "analogy: five words",
            b": s\na b c d\na b c d e\n",
            "found 5 words",
        ),
        (
            "analogy: header without a name",
            b": s\na b c d\n:\n",
            "section header without a name",
        ),
        (
            "analogy: invalid UTF-8",
            b": s\na b c d\na \xff c d\n",
            "invalid UTF-8",
        ),
    ];
    for (case, text, needle) in cases {
        let set = both_policies(
            case,
            dir.path(),
            ("questions.txt", text),
            |p: &Path, m| AnalogyDataset::read(p, m),
            &[3],
            lines,
            &[needle],
        );
        assert_eq!(set.n_questions(), 1, "{case}");
    }
}

#[test]
fn malformed_bats_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let header = "relation_id\trelation\tcategory\tword\ttargets\n";
    let good = "E01\tcountry - capital\tencyclopedic\tathens\tgreece\n";
    let lines = |set: &BatsDataset| set.malformed_lines().to_vec();
    let cases = [
        (
            "BATS: missing field",
            "E01\tcountry - capital\tencyclopedic\tparis\n",
            "expected 5 tab-separated fields",
        ),
        (
            "BATS: empty word",
            "E01\tcountry - capital\tencyclopedic\t\tfrance\n",
            "empty relation_id or word",
        ),
        (
            "BATS: no target",
            "E01\tcountry - capital\tencyclopedic\tparis\t / \n",
            "no target",
        ),
    ];
    for (case, bad, needle) in cases {
        let text = format!("{header}{good}{bad}");
        let set = both_policies(
            case,
            dir.path(),
            ("bats.tsv", text.as_bytes()),
            |p: &Path, m| BatsDataset::read(p, m),
            &[3],
            lines,
            &[needle],
        );
        assert_eq!(set.relations()[0].rows.len(), 1, "{case}");
    }
    // A header without the required columns is an error under either policy.
    let path = write(
        dir.path(),
        "noheader.tsv",
        format!("word\tsomething\n{good}"),
    );
    for policy in [MalformedPolicy::Strict, MalformedPolicy::Skip] {
        let error = BatsDataset::read(&path, policy).expect_err("no columns");
        let message = show(
            "BATS: header without relation_id/targets (either policy)",
            &error,
        );
        assert!(matches!(error, Error::Parse { line: 1, .. }), "{error:?}");
        assert_names(&message, &["noheader.tsv:1:"]);
    }
}

// ---- model files (.npy and vocab.txt) ----

/// An `.npy` version 1.0 file with the given header fields and data.
fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    let mut header = dict.into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header);
    bytes.extend(data);
    bytes
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn expect_npy_format(case: &str, dir: &Path, bytes: &[u8], needles: &[&str]) {
    let path = write(dir, "m.npy", bytes);
    let error = read_matrix(&path).expect_err(case);
    let message = show(case, &error);
    assert!(matches!(error, Error::Format { .. }), "{case}: {error:?}");
    assert_names(&message, &["m.npy"]);
    assert_names(&message, needles);
}

#[test]
fn npy_files_of_the_wrong_type_shape_or_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let four = f32_bytes(&[1.0, 2.0, 3.0, 4.0]);
    expect_npy_format("npy: empty file", d, b"", &["ends inside the npy preamble"]);
    expect_npy_format(
        "npy: not an npy file",
        d,
        b"U,V,W\n1,2,3\n",
        &["not an .npy file"],
    );
    expect_npy_format(
        "npy: f64 elements",
        d,
        &npy("<f8", false, "(2, 2)", &[0; 32]),
        &["'<f8'", "'<f4'"],
    );
    expect_npy_format(
        "npy: int64 elements",
        d,
        &npy("<i8", false, "(2, 2)", &[0; 32]),
        &["'<i8'"],
    );
    expect_npy_format(
        "npy: 1-D array",
        d,
        &npy("<f4", false, "(4,)", &four),
        &["expected a 2-D array, found shape [4]"],
    );
    expect_npy_format(
        "npy: 3-D array",
        d,
        &npy("<f4", false, "(1, 2, 2)", &four),
        &["found shape [1, 2, 2]"],
    );
    expect_npy_format(
        "npy: data cut short",
        d,
        &npy("<f4", false, "(2, 2)", &four[..13]),
        &["needs 16 bytes", "holds 13"],
    );
    expect_npy_format(
        "npy: data longer than the shape",
        d,
        &npy("<f4", false, "(1, 2)", &four),
        &["needs 8 bytes", "holds 16"],
    );
    // Would be 4 PB; must be refused from the header, not attempted.
    expect_npy_format(
        "npy: header claims 10^15 × 300",
        d,
        &npy("<f4", false, "(1000000000000000, 300)", &four),
        &["(1000000000000000, 300) needs 1200000000000000000 bytes"],
    );
    expect_npy_format(
        "npy: shape overflows usize",
        d,
        &npy("<f4", false, "(18446744073709551615, 2)", &four),
        &["more values than fit in memory"],
    );
    // Version 2.0 with a 4 GiB header length.
    let mut huge_header = b"\x93NUMPY\x02\x00".to_vec();
    huge_header.extend(u32::MAX.to_le_bytes());
    huge_header.extend(b"{'descr': '<f4'");
    expect_npy_format(
        "npy: v2 header length 4 GiB",
        d,
        &huge_header,
        &["claims to be 4294967295 bytes long"],
    );
    expect_npy_format(
        "npy: header cut short",
        d,
        &npy("<f4", false, "(2, 2)", &four)[..40],
        &["claims to be 118 bytes long"],
    );
    expect_npy_format(
        "npy: unknown version",
        d,
        b"\x93NUMPY\x09\x00\x10\x00{}",
        &["unsupported .npy version 9.0"],
    );
    expect_npy_format(
        "npy: header not a dict",
        d,
        &{
            let mut b = npy("<f4", false, "(2, 2)", &four);
            b[10] = b'<';
            b
        },
        &["malformed header"],
    );

    // The Python-literal parser takes time exponential in bracket nesting: 20 nested
    // brackets must be refused at once, not parsed for minutes (found by cargo-fuzz).
    let mut nested = b"\x93NUMPY\x01\x00".to_vec();
    let dict = format!("{}\n", "[".repeat(20));
    nested.extend((dict.len() as u16).to_le_bytes());
    nested.extend(dict.as_bytes());
    let start = std::time::Instant::now();
    expect_npy_format(
        "npy: header of 20 nested `[`",
        d,
        &nested,
        &["0 `{`, 0 `(` and 20 `[`"],
    );
    let tuples = npy("<f4", false, &"(1, ".repeat(20), &four);
    expect_npy_format(
        "npy: header of 20 nested `(1, `",
        d,
        &tuples,
        &["1 `{`, 20 `(` and 0 `[`"],
    );
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());

    // Fortran order and big-endian are read, into standard layout.
    let path = write(d, "f.npy", npy("<f4", true, "(2, 2)", &four));
    assert_eq!(
        read_matrix(&path).expect("fortran"),
        array![[1.0, 3.0], [2.0, 4.0]]
    );
    assert!(read_matrix(&path).expect("fortran").is_standard_layout());
    let big: Vec<u8> = [1.0_f32, 2.0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let path = write(d, "b.npy", npy(">f4", false, "(1, 2)", &big));
    assert_eq!(read_matrix(&path).expect("big-endian"), array![[1.0, 2.0]]);
}

/// A saved model with 3 words and dimension 2, in `dir/model`.
fn saved_model(dir: &Path) -> PathBuf {
    let vocab = Vocab::from_counts(
        [
            ("a".to_owned(), 3),
            ("b".to_owned(), 2),
            ("c".to_owned(), 1),
        ],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let config = TrainConfig::builder().dim(2).build().expect("valid");
    let model = Model::for_config(&config, 3);
    let out = dir.join("model");
    save_model(&out, &model, &vocab).expect("saves");
    out
}

#[test]
fn model_folders_with_mismatched_or_broken_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = saved_model(dir.path());
    load_model(&out, OovPolicy::Drop).expect("the saved model loads");
    // The shape and format checks, as on a folder written before manifests existed (with
    // a manifest, any of these replaced files is refused first for its size or CRC-32:
    // see tests/model_folder.rs).
    fs::remove_file(out.join(bilinear_skipgram::io::MANIFEST_FILE)).expect("remove");

    let replace = |name: &str, bytes: &[u8]| {
        let original = fs::read(out.join(name)).expect("read");
        fs::write(out.join(name), bytes).expect("write");
        let result = load_model(&out, OovPolicy::Drop);
        fs::write(out.join(name), original).expect("restore");
        result.expect_err(name)
    };
    let shape_cases = [
        (
            "U.npy",
            npy("<f4", false, "(2, 2)", &[0; 16]),
            "U.npy",
            "[3, 2]",
            "[2, 2]",
        ),
        (
            "V.npy",
            npy("<f4", false, "(3, 3)", &[0; 36]),
            "V.npy",
            "[3, 2]",
            "[3, 3]",
        ),
        (
            "W.npy",
            npy("<f4", false, "(3, 3)", &[0; 36]),
            "W.npy",
            "[2, 2]",
            "[3, 3]",
        ),
    ];
    for (name, bytes, what, expected, found) in shape_cases {
        let error = replace(name, &bytes);
        let message = show(&format!("model folder: {name} of the wrong shape"), &error);
        assert!(matches!(error, Error::ShapeMismatch { .. }), "{error:?}");
        assert_names(&message, &[what, expected, found]);
    }
    let u = fs::read(out.join(FOCUS_FILE)).expect("read");
    let error = replace(FOCUS_FILE, &u[..u.len() - 1]);
    let message = show("model folder: U.npy truncated by one byte", &error);
    assert!(matches!(error, Error::Format { .. }), "{error:?}");
    assert_names(&message, &["U.npy", "needs 24 bytes", "holds 23"]);
    let error = replace(INTERACTION_FILE, &npy("<f8", false, "(2, 2)", &[0; 32]));
    let message = show("model folder: W.npy of f64", &error);
    assert!(matches!(error, Error::Format { .. }), "{error:?}");
    assert_names(&message, &["W.npy", "'<f8'"]);
    // A model of dimension 0 is refused naming U.npy: it reached the embeddings, whose
    // message said `expected [3, 18446744073709551615], found [3, 0]`.
    let error = replace(FOCUS_FILE, &npy("<f4", false, "(3, 0)", &[]));
    let message = show("model folder: U.npy of 0 columns", &error);
    assert!(matches!(error, Error::Format { .. }), "{error:?}");
    assert_eq!(
        message,
        format!(
            "{}: the shape (3, 0) has no column: a model of dimension 0 has no word vectors \
             (a word vector needs at least one value)",
            out.join(FOCUS_FILE).display()
        )
    );

    let vocab_cases: [(&str, &[u8], u64, &str); 4] = [
        (
            "vocab.txt: a word without count",
            b"a 3\nb\nc 1\n",
            2,
            "found only \"b\"",
        ),
        (
            "vocab.txt: three fields",
            b"a 3\nb 2\nc 1 x\n",
            3,
            "more than two fields",
        ),
        (
            "vocab.txt: negative count",
            b"a 3\nb -2\nc 1\n",
            2,
            "count \"-2\"",
        ),
        ("vocab.txt: repeated word", b"a 3\nb 2\na 1\n", 3, "\"a\""),
    ];
    for (case, bytes, line, needle) in vocab_cases {
        let error = replace("vocab.txt", bytes);
        let message = show(case, &error);
        assert!(
            matches!(&error, Error::Parse { line: l, .. } if *l == line),
            "{error:?}"
        );
        assert_names(&message, &[&format!("vocab.txt:{line}:"), needle]);
    }
    let error = replace("vocab.txt", b"a 3\nb 2\n");
    let message = show("vocab.txt: 2 words for 3 rows", &error);
    assert!(matches!(error, Error::ShapeMismatch { .. }), "{error:?}");
    assert_names(&message, &["U.npy", "[2, 2]", "[3, 2]"]);
    let error = replace("vocab.txt", b"");
    show("vocab.txt: empty", &error);
    assert!(matches!(error, Error::EmptyVocabulary(_)), "{error:?}");

    fs::remove_file(out.join("V.npy")).expect("remove");
    let error = load_model(&out, OovPolicy::Drop).expect_err("missing");
    let message = show("model folder: V.npy missing", &error);
    assert!(matches!(error, Error::File { .. }), "{error:?}");
    assert_names(&message, &["V.npy"]);
    let error = read_vocab(dir.path().join("nothing.txt"), OovPolicy::Drop).expect_err("missing");
    assert!(matches!(error, Error::File { .. }), "{error:?}");
}

#[test]
fn a_model_of_dimension_zero_is_neither_built_nor_saved() {
    // `load_model` refuses a U.npy of 0 columns (above), so building such a model from
    // parts is refused, and so is saving one made by `Model::new`, before anything is
    // written: the folder does not appear.
    let error = Model::from_parts(
        Array2::zeros((3, 0)),
        Array2::zeros((3, 0)),
        Array2::zeros((0, 0)),
    )
    .expect_err("dimension 0");
    let message = show("Model::from_parts of dimension 0", &error);
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    assert_names(&message, &["(3, 0)", "no column"]);

    let tmp = tempfile::tempdir().expect("tempdir");
    let vocab = Vocab::from_counts(
        [("a", 3_u64), ("b", 2), ("c", 1)].map(|(w, c)| (w.to_owned(), c)),
        OovPolicy::Drop,
    )
    .expect("vocab");
    let mut rng = <rand::rngs::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(1);
    let model = Model::new(
        3,
        0,
        bilinear_skipgram::EmbeddingInit::Word2vec,
        bilinear_skipgram::InteractionInit::Identity,
        &mut rng,
    );
    let out = tmp.path().join("model");
    let error = save_model(&out, &model, &vocab).expect_err("dimension 0");
    let message = show("save_model of dimension 0", &error);
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    assert_names(&message, &["(3 rows)", "dimension 0"]);
    assert!(!out.exists(), "no folder");
    // `write_model` fills a folder that exists: the refusal comes before its first file.
    let error =
        bilinear_skipgram::io::write_model(tmp.path(), &model, &vocab).expect_err("dimension 0");
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    let left: Vec<_> = fs::read_dir(tmp.path()).expect("read").collect();
    assert!(left.is_empty(), "nothing is written: {left:?}");
}

/// `D.txt` of a folder without a manifest: a window of 0, or one whose `2·window` offsets
/// (`2·window·M` rows for full interactions) overflow, is an error naming the file, the
/// line and the value. `2 · 2⁶³` wrapped to 0, so a `D.npy` of no rows passed the shape
/// check and every vector read as zero, without a word.
#[test]
fn d_txt_with_a_window_of_zero_or_one_that_overflows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = saved_model(dir.path());
    fs::remove_file(out.join(bilinear_skipgram::io::MANIFEST_FILE)).expect("remove");
    let d_txt = out.join(bilinear_skipgram::io::OFFSETS_INFO_FILE);
    fs::write(
        out.join(bilinear_skipgram::io::OFFSETS_FILE),
        npy("<f4", false, "(0, 2)", &[]),
    )
    .expect("write");
    let huge = 1_u64 << 63;
    let quarter = 1_u64 << 62;
    let cases = [
        (
            "diagonal",
            0,
            "`window` must be at least 1, got 0".to_owned(),
        ),
        ("full", 0, "`window` must be at least 1, got 0".to_owned()),
        (
            "diagonal",
            huge,
            format!(
                "`window` = {huge} is too large: D.npy would need 2·window = {} rows",
                2 * huge as u128
            ),
        ),
        (
            "full",
            quarter,
            format!(
                "`window` = {quarter} is too large: D.npy would need 2·window·M = {} rows",
                4 * quarter as u128
            ),
        ),
    ];
    for (kind, window, message) in cases {
        fs::write(
            &d_txt,
            format!("kind = \"{kind}\"\nwindow = {window}\nwindow_mode = \"shrink\"\n"),
        )
        .expect("write");
        let error = load_model(&out, OovPolicy::Drop).expect_err("refused");
        show(&format!("D.txt: {kind}, window = {window}"), &error);
        assert_eq!(
            error.to_string(),
            format!("{}: line 2: {message}", d_txt.display())
        );
        assert!(matches!(error, Error::Format { .. }), "{error:?}");
    }
}

// ---- word2vec files ----

fn expect_word2vec(
    case: &str,
    dir: &Path,
    bytes: &[u8],
    binary: bool,
    line: Option<u64>,
    needles: &[&str],
) {
    let path = write(dir, if binary { "v.bin" } else { "v.txt" }, bytes);
    let error = read_word2vec(&path, Word2vecFormat::from_file_name(&path)).expect_err(case);
    let message = show(case, &error);
    match (line, &error) {
        (Some(line), Error::Parse { line: l, .. }) => {
            assert_eq!(*l, line, "{case}");
            assert_names(&message, &[&format!(":{line}:")]);
        }
        (None, Error::Format { .. }) => {}
        _ => panic!("{case}: unexpected {error:?}"),
    }
    assert_names(&message, &[if binary { "v.bin" } else { "v.txt" }]);
    assert_names(&message, needles);
}

#[test]
fn word2vec_text_files_that_lie_or_are_malformed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let rows = "a 1 2\nb 3 4\n";
    let t = |case: &str, text: &str, line: Option<u64>, needles: &[&str]| {
        expect_word2vec(case, d, text.as_bytes(), false, line, needles)
    };
    t(
        "word2vec text: empty file",
        "",
        None,
        &["the file is empty"],
    );
    t(
        "word2vec text: header claims 3 rows, 2 present",
        &format!("3 2\n{rows}"),
        None,
        &["ends after 2 of the 3 rows"],
    );
    t(
        "word2vec text: header claims 1 row, 2 present",
        &format!("1 2\n{rows}"),
        Some(3),
        &["more rows than the 1"],
    );
    t(
        "word2vec text: header claims 10^15 rows",
        &format!("1000000000000000 2\n{rows}"),
        None,
        &["ends after 2 of the 1000000000000000 rows"],
    );
    t(
        "word2vec text: header claims dimension 10^15",
        &format!("2 1000000000000000\n{rows}"),
        Some(2),
        &["has 2 values", "dimension 1000000000000000"],
    );
    t(
        "word2vec text: count × dimension overflows",
        &format!("100000000000 1000000000000\n{rows}"),
        None,
        &["more values than fit in memory"],
    );
    t(
        "word2vec text: header not numbers",
        &format!("two 2\n{rows}"),
        Some(1),
        &["\"two\" is not a count"],
    );
    t(
        "word2vec text: negative count",
        &format!("-2 2\n{rows}"),
        Some(1),
        &["\"-2\" is not a count"],
    );
    t(
        "word2vec text: value not a number",
        "2 2\na 1 2\nb 3 x4\n",
        Some(3),
        &["value 2 of \"b\", \"x4\", is not a number"],
    );
    t(
        "word2vec text: row too short",
        "2 2\na 1 2\nb 3\n",
        Some(3),
        &["\"b\" has 1 values"],
    );
    t(
        "word2vec text: repeated word",
        "2 2\na 1 2\na 3 4\n",
        Some(3),
        &["already seen"],
    );
    t(
        "word2vec text: header line of 300 bytes",
        &"9".repeat(300),
        None,
        &["no header line"],
    );

    // NaN and infinite values are accepted, as they are written: the file is read as it is.
    let path = write(d, "nan.txt", "2 2\na NaN 1\nb inf -inf\n");
    let (words, vectors) = read_word2vec(&path, Word2vecFormat::Text).expect("NaN is a value");
    assert_eq!(words, ["a", "b"]);
    assert!(vectors[[0, 0]].is_nan() && vectors[[1, 1]] == f32::NEG_INFINITY);
}

#[test]
fn word2vec_binary_files_that_lie_or_are_truncated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let row = |word: &str, values: &[f32]| {
        let mut bytes = format!("{word} ").into_bytes();
        bytes.extend(f32_bytes(values));
        bytes.push(b'\n');
        bytes
    };
    let body = [row("a", &[1.0, 2.0]), row("b", &[3.0, 4.0])].concat();
    let file = |header: &str, body: &[u8]| [header.as_bytes(), body].concat();
    let t = |case: &str, bytes: &[u8], needles: &[&str]| {
        expect_word2vec(case, d, bytes, true, None, needles)
    };
    t("word2vec binary: empty file", b"", &["the file is empty"]);
    t(
        "word2vec binary: header claims 3 rows, 2 present",
        &file("3 2\n", &body),
        &["ends after 2 of the 3 rows"],
    );
    t(
        "word2vec binary: header claims 1 row, 2 present",
        &file("1 2\n", &body),
        &["more data after the 1 rows"],
    );
    t(
        "word2vec binary: header claims 10^15 rows",
        &file("1000000000000000 2\n", &body),
        &["ends after 2 of the 1000000000000000 rows"],
    );
    t(
        "word2vec binary: header claims dimension 10^15",
        &file("2 1000000000000000\n", &body),
        &["row 1", "ends inside the vector of \"a\""],
    );
    t(
        "word2vec binary: header dimension 3 for rows of 2",
        &file("2 3\n", &body),
        &["row 2"],
    );
    t(
        "word2vec binary: vector cut short",
        &file("2 2\n", &body[..body.len() - 3]),
        &["row 2", "ends inside the vector of \"b\" (6 of 8 bytes)"],
    );
    t(
        "word2vec binary: file ends inside a word",
        &file("2 2\n", &body[..12]),
        &["row 2", "ends inside a word"],
    );
    t(
        "word2vec binary: header not numbers",
        &file("2 x\n", &body),
        &["header", "\"x\" is not a count"],
    );

    let nan = [row("a", &[f32::NAN, 1.0])].concat();
    let path = write(d, "nan.bin", file("1 2\n", &nan));
    let (_, vectors) = read_word2vec(&path, Word2vecFormat::Binary).expect("NaN is a value");
    assert!(vectors[[0, 0]].is_nan());
}

// ---- finalfusion ----

#[cfg(feature = "finalfusion")]
#[test]
fn truncated_finalfusion_files_are_format_errors() {
    use bilinear_skipgram::{read_finalfusion, read_finalfusion_metadata, write_finalfusion};
    let dir = tempfile::tempdir().expect("tempdir");
    let vocab = Vocab::from_counts(
        [("нефт".to_owned(), 3), ("oil".to_owned(), 2)],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let config = TrainConfig::builder().dim(3).build().expect("valid");
    let path = dir.path().join("e.fifu");
    let vectors: Array2<f32> = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    write_finalfusion(
        &path,
        vectors.view(),
        &vocab,
        Some(&config),
        bilinear_skipgram::FinalfusionVectors::Raw,
    )
    .expect("writes");
    let bytes = fs::read(&path).expect("read");
    let cut = dir.path().join("cut.fifu");
    let mut shown = false;
    for len in 0..bytes.len() {
        fs::write(&cut, &bytes[..len]).expect("write");
        for result in [
            read_finalfusion(&cut).map(|_| ()),
            read_finalfusion_metadata(&cut).map(|_| ()),
        ] {
            let error = result.expect_err("truncated");
            assert!(matches!(error, Error::Format { .. }), "{len}: {error:?}");
            assert!(error.to_string().contains("cut.fifu"), "{error}");
            if !shown && len == bytes.len() / 2 {
                show(
                    &format!("finalfusion: {len} of {} bytes", bytes.len()),
                    &error,
                );
                shown = true;
            }
        }
    }
    // A norms chunk the header does not list, of 2^32 norms, after the storage: finalfusion
    // reads it anyway and allocated 16 GiB for it (found by cargo-fuzz).
    let mut trailing = bytes.clone();
    trailing.extend(6_u32.to_le_bytes());
    trailing.extend(12_u64.to_le_bytes());
    trailing.extend((1_u64 << 32).to_le_bytes());
    trailing.extend(10_u32.to_le_bytes());
    fs::write(&cut, &trailing).expect("write");
    let error = read_finalfusion(&cut).expect_err("trailing chunk");
    let message = show(
        "finalfusion: unlisted norms chunk of 2^32 after the storage",
        &error,
    );
    assert!(matches!(error, Error::Format { .. }), "{error:?}");
    assert_names(&message, &["cut.fifu", "24 bytes after the last chunk"]);

    // A vocabulary length of 2^60 in a small file.
    let mut lying = bytes.clone();
    let at = lying
        .windows(8)
        .position(|w| w == 2_u64.to_le_bytes())
        .expect("vocabulary length");
    lying[at..at + 8].copy_from_slice(&(1_u64 << 60).to_le_bytes());
    fs::write(&cut, &lying).expect("write");
    let error = read_finalfusion(&cut).expect_err("lying length");
    let message = show("finalfusion: vocabulary length 2^60", &error);
    assert!(matches!(error, Error::Format { .. }), "{error:?}");
    assert_names(&message, &["cut.fifu", "runs past the end"]);
}

// ---- arrays and ids handed to the API ----

#[test]
fn arrays_of_the_wrong_shape_and_ids_out_of_range() {
    use bilinear_skipgram::{
        course_minibatch_step, eval::AnalogySearch, eval::UnitVectors, eval::spearman,
        plot::plot_loss, plot::plot_words, plot::project_2d,
    };
    let config = TrainConfig::builder().dim(2).build().expect("valid");
    let mut model = Model::for_config(&config, 3);
    let error = course_minibatch_step(&mut model, &[0, 7], array![[1_usize], [2]].view(), 1.0)
        .expect_err("id 7");
    let message = show("course_minibatch_step: word id 7 of 3", &error);
    assert!(
        matches!(
            error,
            Error::IndexOutOfRange {
                index: 7,
                len: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(&message, &["index 7", "length 3"]);
    let error = course_minibatch_step(&mut model, &[0, 1], array![[1_usize]].view(), 1.0)
        .expect_err("one row of contexts for two focus words");
    let message = show(
        "course_minibatch_step: 1 context row for 2 focus words",
        &error,
    );
    assert!(matches!(error, Error::ShapeMismatch { .. }), "{error:?}");
    assert_names(&message, &["[2, 1]", "[1, 1]"]);

    let vectors = UnitVectors::new(array![[1.0_f32, 0.0], [0.0, 1.0]].view());
    let error = vectors.nearest(2, 1).expect_err("row 2 of 2");
    let message = show("UnitVectors::nearest: row 2 of 2", &error);
    assert!(matches!(error, Error::IndexOutOfRange { .. }), "{error:?}");
    assert_names(&message, &["index 2", "length 2"]);
    let error = vectors
        .similarities(array![1.0_f32, 2.0, 3.0].view())
        .expect_err("dim 3");
    show(
        "UnitVectors::similarities: query of dimension 3 for 2",
        &error,
    );
    assert!(matches!(error, Error::ShapeMismatch { .. }), "{error:?}");

    let vocab = Vocab::from_counts([("a".to_owned(), 2), ("b".to_owned(), 1)], OovPolicy::Drop)
        .expect("vocab");
    let three_rows = Array2::<f32>::zeros((3, 2));
    let error = AnalogySearch::new(three_rows.view(), &vocab, 10).expect_err("3 rows");
    show("AnalogySearch::new: 3 rows for 2 words", &error);
    assert!(matches!(error, Error::ShapeMismatch { .. }), "{error:?}");
    let error = spearman(&[1.0, 2.0], &[1.0]).expect_err("lengths");
    show("spearman: 2 values against 1", &error);
    assert!(matches!(error, Error::ShapeMismatch { .. }), "{error:?}");
    let error = project_2d(array![[1.0_f32, 2.0]].view()).expect_err("one row");
    show("project_2d: one row", &error);
    assert!(matches!(error, Error::ShapeMismatch { .. }), "{error:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    let png = dir.path().join("p.png");
    let error = plot_loss(&png, &[(10, f64::NAN), (20, f64::INFINITY)], "t").expect_err("no point");
    show("plot_loss: no finite loss", &error);
    assert!(matches!(error, Error::ShapeMismatch { .. }), "{error:?}");
    let error = plot_words(
        &png,
        array![[1.0_f32, f32::NAN], [0.0, 1.0]].view(),
        &["a", "b"],
        "t",
    )
    .expect_err("NaN");
    let message = show("plot_words: a NaN coordinate", &error);
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    assert_names(&message, &["NaN"]);
    let error = plot_words(&png, array![[1.0_f32], [0.0]].view(), &["a"], "t").expect_err("labels");
    show("plot_words: 1 label for 2 vectors", &error);
    assert!(matches!(error, Error::ShapeMismatch { .. }), "{error:?}");
    // Degenerate but valid: one point, identical vectors.
    plot_loss(&png, &[(0, 1.0)], "").expect("one point plots");
    plot_words(
        &png,
        array![[1.0_f32, 1.0], [1.0, 1.0]].view(),
        &["", "😀"],
        "",
    )
    .expect("same");
}

// ---- long lines, byte-order marks, files of another format ----

#[test]
fn lines_longer_than_the_limit_name_the_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let long = "w".repeat(MAX_LINE_BYTES + 1);
    let expect_long = |case: &str, result: Result<(), Error>, name: &str, line: u64| {
        let error = result.expect_err(case);
        let message = show(case, &error);
        assert!(
            matches!(&error, Error::Parse { line: l, .. } if *l == line),
            "{case}: {error:?}"
        );
        assert_names(&message, &[&format!("{name}:{line}:"), "longer than"]);
    };
    let vocab = write(d, "vocab.txt", format!("a 1\n{long} 2\n"));
    expect_long(
        "vocab.txt: a line of 65 537 bytes",
        read_vocab(&vocab, OovPolicy::Drop).map(drop),
        "vocab.txt",
        2,
    );
    for policy in [MalformedPolicy::Strict, MalformedPolicy::Skip] {
        let sim = write(d, "sim.tsv", format!("cat\tdog\t7\n{long}\tx\t1\n"));
        expect_long(
            "similarity: a line of 65 537 bytes (either policy)",
            SimilarityDataset::read(&sim, policy).map(drop),
            "sim.tsv",
            2,
        );
        let analogies = write(d, "questions.txt", format!(": s\n{long} b c d\n"));
        expect_long(
            "analogy: a line of 65 537 bytes (either policy)",
            AnalogyDataset::read(&analogies, policy).map(drop),
            "questions.txt",
            2,
        );
        let bats = write(
            d,
            "bats.tsv",
            format!("relation_id\tword\ttargets\nE01\t{long}\tx\n"),
        );
        expect_long(
            "BATS: a line of 65 537 bytes (either policy)",
            BatsDataset::read(&bats, policy).map(drop),
            "bats.tsv",
            2,
        );
    }
    // word2vec text: the limit grows with the dimension.
    let values = " 0.5".repeat(3);
    let w2v = write(
        d,
        "v.txt",
        format!(
            "2 3\na{values}\n{}{values}\n",
            "w".repeat(MAX_LINE_BYTES + 300)
        ),
    );
    expect_long(
        "word2vec text: a row of 65 848 bytes at dimension 3",
        read_word2vec(&w2v, Word2vecFormat::Text).map(drop),
        "v.txt",
        3,
    );
    // word2vec binary: a word without a space.
    let bin = write(
        d,
        "v.bin",
        [b"1 2\n".as_slice(), &vec![b'w'; MAX_LINE_BYTES + 10]].concat(),
    );
    let error = read_word2vec(&bin, Word2vecFormat::Binary).expect_err("no space");
    let message = show("word2vec binary: a word of 65 546 bytes", &error);
    assert!(matches!(error, Error::Format { .. }), "{error:?}");
    assert_names(&message, &["v.bin", "row 1", "no space within"]);
}

#[test]
fn a_byte_order_mark_does_not_drop_the_first_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bom = "\u{feff}";
    let sim = write(
        dir.path(),
        "sim.tsv",
        format!("{bom}cat\tdog\t7\ncar\ttree\t1\n"),
    );
    let set = SimilarityDataset::read(&sim, MalformedPolicy::Strict).expect("reads");
    assert_eq!(set.pairs()[0].first, "cat");
    let vocab = Vocab::from_counts(
        [("cat".to_owned(), 3), ("dog".to_owned(), 2)],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let report = set
        .evaluate(array![[1.0_f32, 0.0], [1.0, 0.1]].view(), &vocab)
        .expect("evaluates");
    assert_eq!(report.n_found, 1, "{report:?}");
    let analogies = write(
        dir.path(),
        "questions.txt",
        format!("{bom}: capitals\nparis france rome italy\n"),
    );
    let set = AnalogyDataset::read(&analogies, MalformedPolicy::Strict).expect("reads");
    assert_eq!(set.sections()[0].name, "capitals");
    let file = write(dir.path(), "vocab.txt", format!("{bom}a 2\nb 1\n"));
    let vocab = read_vocab(&file, OovPolicy::Drop).expect("reads");
    assert_eq!(vocab.words(), ["a", "b"]);
}

#[test]
fn word2vec_files_of_dimension_zero_or_another_format() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    expect_word2vec(
        "word2vec text: header of dimension 0",
        d,
        b"2 0\na\nb\n",
        false,
        Some(1),
        &["dimension is 0"],
    );
    expect_word2vec(
        "word2vec binary: header of dimension 0",
        d,
        b"2 0\na \nb \n",
        true,
        None,
        &["dimension is 0"],
    );
    // A gzip-compressed file is read through the decompressor.
    let text = "2 2\nнефт 0.5 -1\noil 1e-3 2\n";
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).expect("gzip");
    let gz = write(d, "v.txt.gz", encoder.finish().expect("gzip"));
    let plain = write(d, "v.txt", text);
    assert_eq!(
        read_word2vec(&gz, Word2vecFormat::Text).expect("gzip"),
        read_word2vec(&plain, Word2vecFormat::Text).expect("plain")
    );
    let (vocab, vectors) = read_word_vectors(&gz).expect("any format");
    assert_eq!(vocab.words(), ["нефт", "oil"]);
    assert_eq!(vocab.counts(), [2, 1]);
    assert_eq!(vectors, array![[0.5_f32, -1.0], [1e-3, 2.0]]);
    // A compressed file cut short says so (it said `incomplete deflate stream` and `failed
    // to fill whole buffer`).
    let many = format!("300 2\n{}", "w 0.5 -1\n".repeat(300));
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(many.as_bytes()).expect("gzip");
    let gz_bytes = encoder.finish().expect("gzip");
    let mut encoder =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).expect("xz");
    encoder.write_all(many.as_bytes()).expect("xz");
    let xz_bytes = encoder.finish().expect("xz");
    for (name, format, bytes) in [
        ("cut.txt.gz", "gzip", gz_bytes),
        ("cut.txt.xz", "xz", xz_bytes),
    ] {
        let cut = write(d, name, &bytes[..bytes.len() / 2]);
        let error = read_word_vectors(&cut).expect_err("truncated");
        let message = show(&format!("word2vec text, {format}: cut in half"), &error);
        assert!(matches!(error, Error::File { .. }), "{error:?}");
        assert_eq!(
            message,
            format!(
                "I/O error on {}: the file ends before its {format}-compressed data does: it is \
                 truncated",
                cut.display()
            )
        );
    }
    // Files of another format say what they are.
    let npy = d.join("U.npy");
    bilinear_skipgram::write_matrix(&npy, array![[1.0_f32]].view()).expect("npy");
    let error = read_word2vec(&npy, Word2vecFormat::Text).expect_err("npy");
    let message = show("word2vec text: an .npy file", &error);
    assert!(matches!(error, Error::Format { .. }), "{error:?}");
    assert_names(&message, &["U.npy", ".npy matrix", "not a word2vec file"]);
    let error = read_word_vectors(d).expect_err("a folder");
    show("read_word_vectors: a folder", &error);
    assert!(matches!(error, Error::File { .. }), "{error:?}");
    assert_names(&error.to_string(), &["load_model"]);
}

#[cfg(feature = "finalfusion")]
#[test]
fn a_finalfusion_file_is_recognised() {
    use bilinear_skipgram::write_finalfusion;
    let dir = tempfile::tempdir().expect("tempdir");
    let vocab = Vocab::from_counts(
        [("нефт".to_owned(), 3), ("oil".to_owned(), 2)],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let path = dir.path().join("embeddings.fifu");
    let vectors: Array2<f32> = array![[1.0, 2.0], [4.0, 5.0]];
    write_finalfusion(
        &path,
        vectors.view(),
        &vocab,
        None,
        bilinear_skipgram::FinalfusionVectors::Raw,
    )
    .expect("writes");
    let error = read_word2vec(&path, Word2vecFormat::Text).expect_err("not word2vec");
    let message = show("word2vec text: a finalfusion file", &error);
    assert!(matches!(error, Error::Format { .. }), "{error:?}");
    assert_names(&message, &["embeddings.fifu", "a finalfusion file"]);
    let (read_vocab, read_vectors) = read_word_vectors(&path).expect("reads finalfusion");
    assert_eq!(read_vocab.words(), vocab.words());
    assert_eq!(read_vectors, vectors);
    // Vectors of dimension 0 are refused naming the file, as in word2vec files; they
    // reached the embeddings, whose message said `expected [2, 18446744073709551615]`.
    let empty = dir.path().join("empty.fifu");
    write_finalfusion(
        &empty,
        Array2::<f32>::zeros((2, 0)).view(),
        &vocab,
        None,
        bilinear_skipgram::FinalfusionVectors::Raw,
    )
    .expect("writes");
    let error = read_word_vectors(&empty).expect_err("dimension 0");
    let message = show("finalfusion: vectors of dimension 0", &error);
    assert!(matches!(error, Error::Format { .. }), "{error:?}");
    assert_eq!(
        message,
        format!(
            "{}: the 2 vectors have dimension 0: a word vector needs at least one value",
            empty.display()
        )
    );
}

// ---- nothing to train ----

#[test]
fn a_run_that_would_train_nothing_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sentences = write(
        dir.path(),
        "corpus.txt",
        "the cat sat\nthe dog ran\n".repeat(20),
    );
    let expect_nothing = |case: &str, config: TrainConfig, path: &Path, needles: &[&str]| {
        let error = train(&config, [path], NoProgress).expect_err(case);
        let message = show(case, &error);
        assert!(
            matches!(error, Error::NothingToTrain { .. }),
            "{case}: {error:?}"
        );
        assert_names(&message, &["nothing to train: "]);
        assert_names(&message, needles);
    };
    expect_nothing(
        "max_vocab(Some(1)): a vocabulary of one word",
        small_config().max_vocab(Some(1)).build().expect("valid"),
        &sentences,
        &[
            "the vocabulary has 1 word (\"the\")",
            "at least 2",
            "max_vocab = 1",
        ],
    );
    expect_nothing(
        "subsample(1e-300)",
        small_config().subsample(1e-300).build().expect("valid"),
        &sentences,
        &[
            "subsampling with threshold 1e-300",
            "keeps, in expectation, 0 words in 1 epoch of 120 words each",
        ],
    );
    let one_word_lines = write(dir.path(), "words.txt", "alpha\nbeta\ngamma\nalpha\n");
    expect_nothing(
        "a corpus of one word per line",
        small_config().build().expect("valid"),
        &one_word_lines,
        &["no line of the corpus has two words (4 lines with a word, 4 tokens)"],
    );
    // Every line has two words, but one of them is never in the vocabulary: the run
    // trains no pair, and says so instead of returning an untrained model.
    let pairs_of_rare = write(dir.path(), "rare.txt", "a x1\na x2\nb x3\nb x4\n");
    expect_nothing(
        "every pair has a word below min_count: 0 pairs trained",
        small_config()
            .min_count(2)
            .subsample(0.0)
            .build()
            .expect("valid"),
        &pairs_of_rare,
        &["read 4 corpus words but trained 0 pairs"],
    );
}
