//! Interop formats: exact round trips (word2vec text and binary, finalfusion), gensim
//! reading our files, and typed errors, never panics, on malformed files.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use bilinear_skipgram::{
    Error, OovPolicy, Vocab, Word2vecFormat, read_word2vec, write_word2vec_binary,
    write_word2vec_text,
};
use ndarray::{Array2, array};
use proptest::prelude::*;

fn vocab_of(words: &[&str]) -> Vocab {
    Vocab::from_counts(
        words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.to_string(), i as u64 + 1)),
        OovPolicy::Drop,
    )
    .expect("vocab")
}

fn bits(matrix: &Array2<f32>) -> Vec<u32> {
    matrix.iter().map(|x| x.to_bits()).collect()
}

/// Asserts that two matrices have the same shape and the same bits (so `-0.0 != 0.0`).
fn assert_same_bits(found: &Array2<f32>, expected: &Array2<f32>) {
    assert_eq!(found.dim(), expected.dim());
    assert_eq!(bits(found), bits(expected), "{found:?} != {expected:?}");
}

fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).expect("write");
    path
}

/// Words from a Unicode-rich alphabet, never whitespace: Latin, digits, Cyrillic
/// (including the extended block), Greek, CJK, emoji, combining accents, punctuation.
fn word() -> impl Strategy<Value = String> {
    let letter = prop_oneof![
        proptest::char::range('a', 'z'),
        proptest::char::range('A', 'Z'),
        proptest::char::range('0', '9'),
        proptest::char::range('а', 'я'),
        proptest::char::range('А', 'Я'),
        proptest::char::range('\u{400}', '\u{4ff}'),
        proptest::char::range('α', 'ω'),
        proptest::char::range('一', '龥'),
        proptest::char::range('😀', '🙏'),
        proptest::char::range('\u{300}', '\u{36f}'),
        proptest::sample::select(vec![
            '\'', '-', '_', '<', '>', '.', '!', '"', '\\', '#', 'ё'
        ]),
    ];
    proptest::collection::vec(letter, 1..8).prop_map(|chars| chars.into_iter().collect())
}

/// Finite `f32` of every kind: negative, tiny (subnormal), huge, ±0.0, and plain values.
fn value() -> impl Strategy<Value = f32> {
    use proptest::num::f32 as f;
    prop_oneof![
        f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO,
        -2.0_f32..2.0,
        proptest::sample::select(vec![
            0.0,
            -0.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-45,
            -1e-45,
            f32::MAX,
            f32::MIN,
            1e-4,
            9.999_999e-5,
            1e16,
            9.999_999e15,
            0.1,
            1.0 / 3.0,
        ]),
    ]
}

/// A vocabulary of distinct words and one random row per word.
fn embeddings() -> impl Strategy<Value = (Vocab, Array2<f32>)> {
    (proptest::collection::hash_set(word(), 1..25), 1_usize..=20).prop_flat_map(|(words, dim)| {
        let words: Vec<String> = words.into_iter().collect();
        let n = words.len();
        proptest::collection::vec(value(), n * dim).prop_map(move |values| {
            let vocab = Vocab::from_counts(words.iter().map(|w| (w.clone(), 1)), OovPolicy::Drop)
                .expect("vocab");
            let vectors = Array2::from_shape_vec((n, dim), values).expect("shape");
            (vocab, vectors)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn word2vec_text_round_trips_exactly((vocab, vectors) in embeddings()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v.txt");
        write_word2vec_text(&path, vectors.view(), &vocab).expect("writes");
        let (words, read) = read_word2vec(&path, Word2vecFormat::Text).expect("reads");
        prop_assert_eq!(&words[..], vocab.words());
        prop_assert_eq!(read.dim(), vectors.dim());
        prop_assert_eq!(bits(&read), bits(&vectors));
    }

    #[test]
    fn word2vec_binary_round_trips_exactly((vocab, vectors) in embeddings()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v.bin");
        write_word2vec_binary(&path, vectors.view(), &vocab).expect("writes");
        let (words, read) = read_word2vec(&path, Word2vecFormat::Binary).expect("reads");
        prop_assert_eq!(&words[..], vocab.words());
        prop_assert_eq!(read.dim(), vectors.dim());
        prop_assert_eq!(bits(&read), bits(&vectors));
    }
}

#[test]
fn text_values_are_shortest_and_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.txt");
    let vectors = array![
        [0.0_f32, -0.0, 1.0, -2.5, 0.1],
        [1e-45, f32::MAX, 1e-4, 9.999_999e-5, 1e16],
    ];
    write_word2vec_text(&path, vectors.view(), &vocab_of(&["я", "ё"])).expect("writes");
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        "2 5\nя 0 -0 1 -2.5 0.1\nё 1e-45 3.4028235e38 0.0001 9.999999e-5 1e16\n"
    );
    assert_same_bits(
        &read_word2vec(&path, Word2vecFormat::Text).expect("reads").1,
        &vectors,
    );
}

#[test]
fn binary_layout_is_word_space_floats_newline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.bin");
    write_word2vec_binary(&path, array![[1.0_f32, -0.0]].view(), &vocab_of(&["щ"]))
        .expect("writes");
    let mut expected = b"1 2\n".to_vec();
    expected.extend_from_slice("щ ".as_bytes());
    expected.extend_from_slice(&1.0_f32.to_le_bytes());
    expected.extend_from_slice(&(-0.0_f32).to_le_bytes());
    expected.push(b'\n');
    assert_eq!(fs::read(&path).expect("read"), expected);
}

#[test]
fn views_that_are_not_contiguous_are_written_in_row_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stored = array![[1.0_f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let vocab = vocab_of(&["a", "b", "c"]);
    let transposed = stored.t();
    for format in [Word2vecFormat::Text, Word2vecFormat::Binary] {
        let binary = format == Word2vecFormat::Binary;
        let path = dir.path().join(format!("t{binary}"));
        if binary {
            write_word2vec_binary(&path, transposed, &vocab).expect("writes");
        } else {
            write_word2vec_text(&path, transposed, &vocab).expect("writes");
        }
        let (_, read) = read_word2vec(&path, format).expect("reads");
        assert_eq!(read, transposed.to_owned());
    }
}

#[test]
fn reads_what_gensim_and_word2vec_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Trailing spaces and CRLF in text; gensim's binary has no newline after a vector.
    let text = write_bytes(dir.path(), "g.txt", b"2 2\r\nx 1.5 -2 \r\ny 1e-3 0\r\n\r\n");
    let (words, vectors) = read_word2vec(&text, Word2vecFormat::Text).expect("reads text");
    assert_eq!(words, ["x", "y"]);
    assert_eq!(vectors, array![[1.5_f32, -2.0], [1e-3, 0.0]]);
    let mut bytes = b"2 1\nx ".to_vec();
    bytes.extend_from_slice(&0.5_f32.to_le_bytes());
    bytes.extend_from_slice(b"y ");
    bytes.extend_from_slice(&(-4.0_f32).to_le_bytes());
    let binary = write_bytes(dir.path(), "g.bin", &bytes);
    let (words, vectors) = read_word2vec(&binary, Word2vecFormat::Binary).expect("reads binary");
    assert_eq!(words, ["x", "y"]);
    assert_eq!(vectors, array![[0.5_f32], [-4.0]]);
}

/// The one-based line of a text-format error.
fn parse_line(err: &Error) -> u64 {
    match err {
        Error::Parse { line, .. } => *line,
        other => panic!("expected Error::Parse, got {other:?}"),
    }
}

#[test]
fn malformed_text_files_give_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, &str, u64, &str); 10] = [
        ("header", "two 2\na 1 2\n", 1, "word count"),
        ("one-field header", "2\na 1 2\n", 1, "n_words dim"),
        ("non-numeric", "2 2\na 1 2\nb 1 x2\n", 3, "\"x2\""),
        ("too few values", "2 2\na 1 2\nb 1\n", 3, "1 values"),
        ("too many values", "2 2\na 1 2\nb 1 2 3\n", 3, "3 values"),
        ("dimension lies", "1 3\na 1 2\n", 2, "dimension 3"),
        ("more rows", "1 2\na 1 2\nb 3 4\n", 3, "more rows"),
        ("duplicate", "2 1\nab 1\nab 2\n", 3, "already seen"),
        ("empty line", "2 1\na 1\n\nb 2\n", 3, "empty line"),
        ("double space", "1 2\na  1 2\n", 2, "\"\""),
    ];
    for (name, text, line, needle) in cases {
        let path = write_bytes(dir.path(), "bad.txt", text.as_bytes());
        let err = read_word2vec(&path, Word2vecFormat::Text).expect_err(name);
        assert_eq!(parse_line(&err), line, "{name}: {err}");
        let message = err.to_string();
        assert!(message.contains("bad.txt"), "{name}: {message}");
        assert!(message.contains(needle), "{name}: {message}");
    }
    let path = write_bytes(dir.path(), "utf8.txt", b"1 1\n\xff 1\n");
    assert_eq!(
        parse_line(&read_word2vec(&path, Word2vecFormat::Text).expect_err("utf8")),
        2
    );
}

#[test]
fn truncated_files_and_lying_headers_are_format_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vocab = vocab_of(&["alpha", "бета", "γ"]);
    let vectors = array![[1.0_f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
    let text = dir.path().join("v.txt");
    let binary = dir.path().join("v.bin");
    write_word2vec_text(&text, vectors.view(), &vocab).expect("writes");
    write_word2vec_binary(&binary, vectors.view(), &vocab).expect("writes");

    let is_format = |r: Result<(Vec<String>, Array2<f32>), Error>, what: &str| match r {
        Err(Error::Format { path, message }) => {
            assert!(path.ends_with("cut"), "{what}: {path:?}");
            message
        }
        other => panic!("{what}: expected Error::Format, got {other:?}"),
    };
    // Text cut after two rows: the header's third row is missing.
    let bytes = fs::read(&text).expect("read");
    let two_rows = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(2);
    let cut = write_bytes(
        dir.path(),
        "cut",
        &bytes[..two_rows.expect("3 lines").0 + 1],
    );
    let message = is_format(read_word2vec(&cut, Word2vecFormat::Text), "text cut");
    assert!(message.contains("2 of the 3 rows"), "{message}");
    // Binary cut inside the last vector, and after the last vector's word.
    let bytes = fs::read(&binary).expect("read");
    for (len, needle) in [
        (bytes.len() - 3, "ends inside the vector"),
        (4, "0 of the 3"),
    ] {
        let cut = write_bytes(dir.path(), "cut", &bytes[..len]);
        let message = is_format(read_word2vec(&cut, Word2vecFormat::Binary), "binary cut");
        assert!(message.contains(needle), "{message}");
    }
    // Headers that claim far more than the file holds are errors, not huge allocations.
    for (header, text_needle, binary_needle) in [
        (
            "1000000000000 2",
            "1 of the 1000000000000 rows",
            "ends inside the vector",
        ),
        (
            "1 1000000000000",
            "dimension 1000000000000",
            "ends inside the vector",
        ),
        (
            "3 1000000000000000000",
            "dimension 1000000000000000000",
            "ends inside",
        ),
    ] {
        for format in [Word2vecFormat::Text, Word2vecFormat::Binary] {
            let binary = format == Word2vecFormat::Binary;
            let mut bytes = format!("{header}\n").into_bytes();
            bytes.extend_from_slice(b"a 1 2\n");
            let cut = write_bytes(dir.path(), "cut", &bytes);
            let err = read_word2vec(&cut, format).expect_err(header);
            assert!(
                matches!(err, Error::Format { .. } | Error::Parse { .. }),
                "{header}: {err:?}"
            );
            let needle = if binary { binary_needle } else { text_needle };
            assert!(err.to_string().contains(needle), "{header}: {err}");
        }
    }
    let cut = write_bytes(
        dir.path(),
        "cut",
        b"18446744073709551615 18446744073709551615\n",
    );
    let message = is_format(read_word2vec(&cut, Word2vecFormat::Binary), "overflow");
    assert!(message.contains("more values than fit"), "{message}");
    let cut = write_bytes(dir.path(), "cut", b"");
    assert!(is_format(read_word2vec(&cut, Word2vecFormat::Text), "empty").contains("empty"));
}

#[test]
fn binary_headers_that_lie_are_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vocab = vocab_of(&["alpha", "бета", "γ"]);
    let vectors = array![[1.0_f32, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]];
    let path = dir.path().join("v.bin");
    write_word2vec_binary(&path, vectors.view(), &vocab).expect("writes");
    let bytes = fs::read(&path).expect("read");
    let body = &bytes[4..]; // after "3 3\n"
    for header in ["2 3", "3 2", "3 4", "1 3"] {
        let mut lying = format!("{header}\n").into_bytes();
        lying.extend_from_slice(body);
        let path = write_bytes(dir.path(), "lie.bin", &lying);
        match read_word2vec(&path, Word2vecFormat::Binary) {
            Err(Error::Format { message, .. }) => {
                assert!(message.contains("header"), "{header}: {message}")
            }
            other => panic!("{header}: expected Error::Format, got {other:?}"),
        }
    }
    // A repeated word.
    let mut repeated = b"2 1\nab ".to_vec();
    repeated.extend_from_slice(&1.0_f32.to_le_bytes());
    repeated.extend_from_slice(b"\nab ");
    repeated.extend_from_slice(&1.0_f32.to_le_bytes());
    let path = write_bytes(dir.path(), "rep.bin", &repeated);
    let err = read_word2vec(&path, Word2vecFormat::Binary).expect_err("repeated");
    assert!(err.to_string().contains("row 2"), "{err}");
}

#[test]
fn no_cut_or_flipped_byte_makes_the_readers_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vocab = vocab_of(&["a", "бв", "🙂"]);
    let vectors = array![[1.0_f32, -0.0], [1e-40, 3.5], [f32::MAX, 0.25]];
    for format in [Word2vecFormat::Text, Word2vecFormat::Binary] {
        let binary = format == Word2vecFormat::Binary;
        let path = dir.path().join("v");
        if binary {
            write_word2vec_binary(&path, vectors.view(), &vocab).expect("writes");
        } else {
            write_word2vec_text(&path, vectors.view(), &vocab).expect("writes");
        }
        let bytes = fs::read(&path).expect("read");
        for len in 0..bytes.len() {
            let cut = write_bytes(dir.path(), "cut", &bytes[..len]);
            if let Ok((_, read)) = read_word2vec(&cut, format) {
                // Only a cut of the final newline, or inside the last text value, can
                // still parse.
                let near_end = if binary { 1 } else { 6 };
                assert!(len >= bytes.len() - near_end, "{len}: {read:?}");
            }
        }
        for at in 0..bytes.len() {
            for flip in [0x01, 0x20, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[at] ^= flip;
                let path = write_bytes(dir.path(), "flip", &bad);
                let _ = read_word2vec(&path, format);
            }
        }
    }
}

#[test]
fn unwritable_words_and_shapes_fail_before_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v.txt");
    fs::write(&path, "old").expect("write");
    for bad in [
        "a b",
        "tab\there",
        "nl\n",
        "nbsp\u{a0}",
        "",
        "ideographic\u{3000}space",
    ] {
        let vocab = vocab_of(&["ok", bad]);
        let vectors = Array2::<f32>::zeros((2, 3));
        for format in [Word2vecFormat::Text, Word2vecFormat::Binary] {
            let binary = format == Word2vecFormat::Binary;
            let result = if binary {
                write_word2vec_binary(&path, vectors.view(), &vocab)
            } else {
                write_word2vec_text(&path, vectors.view(), &vocab)
            };
            match result {
                Err(Error::File { path: p, source }) => {
                    assert_eq!(p, path);
                    assert_eq!(source.kind(), io::ErrorKind::InvalidInput);
                    assert!(source.to_string().contains("word 1"), "{source}");
                }
                other => panic!("{bad:?}: expected Error::File, got {other:?}"),
            }
        }
    }
    let vocab = vocab_of(&["a", "b"]);
    let wrong = Array2::<f32>::zeros((3, 2));
    assert!(matches!(
        write_word2vec_text(&path, wrong.view(), &vocab),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        write_word2vec_binary(&path, wrong.view(), &vocab),
        Err(Error::ShapeMismatch { .. })
    ));
    // Nothing was written: the old file is intact and no temporary file is left.
    assert_eq!(fs::read_to_string(&path).expect("read"), "old");
    assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
}

/// Loads `path` with gensim and returns each word with the bits of its vector, or `None`
/// when python3 with gensim is not available.
fn gensim_load(path: &Path, binary: bool) -> Option<Vec<(String, Vec<u32>)>> {
    const SCRIPT: &str = r#"
import json, sys
import numpy as np
from gensim.models import KeyedVectors
kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=sys.argv[2] == "1")
assert kv.vectors.dtype == np.float32, kv.vectors.dtype
rows = [[w, [int(b) for b in kv[w].view(np.uint32)]] for w in kv.index_to_key]
sys.stdout.write(json.dumps(rows, ensure_ascii=True))
"#;
    let probe = Command::new("python3")
        .args(["-c", "import gensim"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        return None;
    }
    let output = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(path)
        .arg(if binary { "1" } else { "0" })
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "gensim failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(parse_rows(
        &String::from_utf8(output.stdout).expect("utf-8"),
    ))
}

/// Parses `[["word", [bits, ...]], ...]` as the script above prints it (ASCII JSON with
/// `\uXXXX` escapes), without a JSON dependency.
fn parse_rows(json: &str) -> Vec<(String, Vec<u32>)> {
    let mut rows = Vec::new();
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut units = Vec::new();
        loop {
            match chars.next().expect("string ends") {
                '"' => break,
                '\\' => match chars.next().expect("escape") {
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        units.push(u16::from_str_radix(&hex, 16).expect("hex"));
                    }
                    'n' => units.push(u16::from(b'\n')),
                    't' => units.push(u16::from(b'\t')),
                    other => units.push(other as u16),
                },
                other => units.push(other as u16),
            }
        }
        let word = String::from_utf16(&units).expect("utf-16");
        let numbers: String = chars
            .by_ref()
            .skip_while(|&c| c != '[')
            .skip(1)
            .take_while(|&c| c != ']')
            .collect();
        let values = numbers
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse().expect("bits"))
            .collect();
        rows.push((word, values));
    }
    rows
}

#[test]
fn gensim_loads_our_text_and_binary_files_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let words = [
        "the",
        "нефт",
        "януари",
        "ёлка",
        "αβγ",
        "漢字",
        "🙂",
        "e\u{301}",
        "<UNK>",
        "don't",
        "a\"b\\c",
        "#1",
    ];
    let vocab = vocab_of(&words);
    let specials = [
        0.0_f32,
        -0.0,
        1e-45,
        -1e-45,
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
        0.1,
        1.0 / 3.0,
        -123_456.79,
        9.999_999e-5,
        1e16,
    ];
    let vectors = Array2::from_shape_fn((words.len(), 7), |(i, j)| {
        specials[(i * 7 + j) % specials.len()] * if (i + j) % 3 == 0 { 1.0 } else { -0.75 }
    });
    for format in [Word2vecFormat::Text, Word2vecFormat::Binary] {
        let binary = format == Word2vecFormat::Binary;
        let path = dir.path().join(if binary { "v.bin" } else { "v.txt" });
        if binary {
            write_word2vec_binary(&path, vectors.view(), &vocab).expect("writes");
        } else {
            write_word2vec_text(&path, vectors.view(), &vocab).expect("writes");
        }
        let Some(rows) = gensim_load(&path, binary) else {
            eprintln!(
                "SKIPPED gensim_loads_our_text_and_binary_files_exactly: `python3 -c 'import \
                 gensim'` failed; install gensim to run this check"
            );
            return;
        };
        assert_eq!(rows.len(), words.len());
        for ((word, row_bits), (expected_word, expected)) in
            rows.iter().zip(words.iter().zip(vectors.rows()))
        {
            assert_eq!(word, expected_word);
            let expected: Vec<u32> = expected.iter().map(|x| x.to_bits()).collect();
            assert_eq!(row_bits, &expected, "{word} (binary: {binary})");
        }
    }
}

#[cfg(feature = "finalfusion")]
mod finalfusion {
    use super::*;
    use ::finalfusion::io::WriteEmbeddings;
    use ::finalfusion::prelude::*;
    use bilinear_skipgram::FinalfusionVectors::Raw;
    use bilinear_skipgram::{
        TrainConfig, read_finalfusion, read_finalfusion_metadata, write_finalfusion,
    };

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn finalfusion_round_trips_exactly((vocab, vectors) in embeddings()) {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("e.fifu");
            write_finalfusion(&path, vectors.view(), &vocab, None, Raw).expect("writes");
            let (words, read) = read_finalfusion(&path).expect("reads");
            prop_assert_eq!(&words[..], vocab.words());
            prop_assert_eq!(read.dim(), vectors.dim());
            prop_assert_eq!(bits(&read), bits(&vectors));
        }
    }

    fn sample() -> (Vocab, Array2<f32>) {
        (
            vocab_of(&["нефт", "oil", "🙂"]),
            array![[3.0_f32, 4.0], [-0.0, 1e-40], [f32::MAX, -2.5]],
        )
    }

    #[test]
    fn metadata_holds_the_training_configuration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("e.fifu");
        let (vocab, vectors) = sample();
        let config = TrainConfig::builder()
            .dim(2)
            .window(3)
            .negatives(7)
            .epochs(9)
            .learning_rate(0.05)
            .interaction_learning_rate(0.0025)
            .max_vocab(Some(20_000))
            .seed(u64::MAX)
            .threads(2)
            .build()
            .expect("config");
        write_finalfusion(&path, vectors.view(), &vocab, Some(&config), Raw).expect("writes");
        let metadata = read_finalfusion_metadata(&path)
            .expect("reads")
            .expect("has metadata");
        for line in [
            "[vectors]",
            "n_words = 3",
            "normalized = false",
            "[training]",
            "dim = 2",
            "window = 3",
            "window_mode = \"shrink\"",
            "negatives = 7",
            "epochs = 9",
            "learning_rate = 0.05",
            "interaction_learning_rate = 0.0025",
            "negative_power = 0.75",
            "max_vocab = 20000",
            "subsample = 0.001",
            "seed = \"18446744073709551615\"",
            "threads = 2",
            "oov = \"drop\"",
        ] {
            assert!(
                metadata.lines().any(|l| l == line),
                "{line:?} missing from\n{metadata}"
            );
        }
        // Without a config there is no training table.
        write_finalfusion(&path, vectors.view(), &vocab, None, Raw).expect("writes");
        let metadata = read_finalfusion_metadata(&path)
            .expect("reads")
            .expect("some");
        assert!(!metadata.contains("[training]"), "{metadata}");
    }

    #[test]
    fn finalfusion_itself_reads_our_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("e.fifu");
        let (vocab, vectors) = sample();
        write_finalfusion(&path, vectors.view(), &vocab, None, Raw).expect("writes");
        let mut reader = io::BufReader::new(fs::File::open(&path).expect("open"));
        let embeddings: Embeddings<VocabWrap, StorageWrap> =
            Embeddings::read_embeddings(&mut reader).expect("finalfusion reads it");
        assert!(embeddings.metadata().is_some());
        for (word, expected) in vocab.words().iter().zip(vectors.rows()) {
            let found = embeddings
                .embedding_with_norm(word)
                .expect("word present")
                .into_unnormalized();
            let found: Vec<u32> = found.iter().map(|x| x.to_bits()).collect();
            let expected: Vec<u32> = expected.iter().map(|x| x.to_bits()).collect();
            assert_eq!(found, expected, "{word}");
        }
    }

    #[test]
    fn normalised_files_from_finalfusion_are_unnormalised() {
        let dir = tempfile::tempdir().expect("tempdir");
        // finalfusion's text reader normalises the rows and keeps their norms.
        let text = "нефт 3 4\noil -1 0.5\n";
        let embeddings: Embeddings<
            ::finalfusion::vocab::SimpleVocab,
            ::finalfusion::storage::NdArray,
        > = Embeddings::read_text(&mut io::Cursor::new(text)).expect("parses");
        let path = dir.path().join("ff.fifu");
        let mut file = io::BufWriter::new(fs::File::create(&path).expect("create"));
        embeddings.write_embeddings(&mut file).expect("writes");
        drop(file);
        let (words, vectors) = read_finalfusion(&path).expect("reads");
        assert_eq!(words, ["нефт", "oil"]);
        approx::assert_abs_diff_eq!(vectors, array![[3.0_f32, 4.0], [-1.0, 0.5]], epsilon = 1e-6);
        assert_eq!(read_finalfusion_metadata(&path).expect("reads"), None);
    }

    #[test]
    fn wrong_shapes_fail_before_writing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("e.fifu");
        let (vocab, _) = sample();
        let wrong = Array2::<f32>::zeros((2, 2));
        assert!(matches!(
            write_finalfusion(&path, wrong.view(), &vocab, None, Raw),
            Err(Error::ShapeMismatch { .. })
        ));
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 0);
    }

    /// The byte offset of the chunk with identifier `id` (its identifier, then its `u64`
    /// length, then its contents).
    fn find_chunk(bytes: &[u8], id: u32) -> usize {
        let n_chunks = u32::from_le_bytes(bytes[8..12].try_into().expect("4")) as usize;
        let mut at = 12 + 4 * n_chunks;
        loop {
            let found = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"));
            let len = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().expect("8"));
            if found == id {
                return at;
            }
            at += 12 + len as usize;
        }
    }

    fn expect_format(path: &Path, what: &str, needle: &str) {
        match read_finalfusion(path) {
            Err(Error::Format { message, .. }) => {
                assert!(message.contains(needle), "{what}: {message}")
            }
            other => panic!("{what}: expected Error::Format, got {other:?}"),
        }
    }

    #[test]
    fn malformed_files_are_format_errors_not_panics() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("e.fifu");
        let (vocab, vectors) = sample();
        write_finalfusion(&path, vectors.view(), &vocab, None, Raw).expect("writes");
        let good = fs::read(&path).expect("read");
        let bad = dir.path().join("bad.fifu");
        let patch = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut bytes = good.clone();
            edit(&mut bytes);
            fs::write(&bad, &bytes).expect("write");
        };
        let vocab_at = find_chunk(&good, 1);
        let array_at = find_chunk(&good, 2);
        let norms_at = find_chunk(&good, 6);

        patch(&|b| b[0] = b'X');
        expect_format(&bad, "magic", "FiFu");
        // A vocabulary length far beyond the file.
        patch(&|b| b[vocab_at + 12..vocab_at + 20].copy_from_slice(&u64::MAX.to_le_bytes()));
        expect_format(&bad, "vocab length", "vocabulary");
        // A word length beyond the chunk.
        patch(&|b| b[vocab_at + 20..vocab_at + 24].copy_from_slice(&u32::MAX.to_le_bytes()));
        expect_format(&bad, "word length", "word");
        // A repeated word: word 2 ("🙂", 4 bytes) becomes a copy of word 1 ("oil").
        patch(&|b| {
            let w1 = vocab_at + 24 + 8 + 4; // after the vocabulary length and "нефт"
            let w2 = w1 + 3 + 4;
            b[w2 - 4..w2].copy_from_slice(&3_u32.to_le_bytes());
            let oil = b[w1..w1 + 3].to_vec();
            b[w2..w2 + 3].copy_from_slice(&oil);
            b.remove(w2 + 3);
            let len = u64::from_le_bytes(b[vocab_at + 4..vocab_at + 12].try_into().expect("8"));
            b[vocab_at + 4..vocab_at + 12].copy_from_slice(&(len - 1).to_le_bytes());
        });
        expect_format(&bad, "repeated word", "repeated");
        // A matrix with more rows, or far more columns, than the file holds.
        patch(&|b| b[array_at + 12..array_at + 20].copy_from_slice(&4_u64.to_le_bytes()));
        expect_format(&bad, "rows", "4 rows for 3 words");
        patch(&|b| b[array_at + 20..array_at + 24].copy_from_slice(&u32::MAX.to_le_bytes()));
        expect_format(&bad, "cols", "matrix");
        patch(&|b| b[norms_at + 12..norms_at + 20].copy_from_slice(&2_u64.to_le_bytes()));
        expect_format(&bad, "norms", "2 rows for 3 words");
        // A chunk length beyond the file.
        patch(&|b| b[array_at + 4..array_at + 12].copy_from_slice(&u64::MAX.to_le_bytes()));
        expect_format(&bad, "chunk length", "chunk");
        // Unsupported chunk lists: the list [metadata, vocab, array, norms] starts at byte
        // 12; make the storage quantized (id 4).
        patch(&|b| b[20..24].copy_from_slice(&4_u32.to_le_bytes()));
        expect_format(&bad, "quantized", "not supported");

        // No cut or flipped byte panics, and every cut is an error.
        for len in 0..good.len() {
            fs::write(&bad, &good[..len]).expect("write");
            assert!(read_finalfusion(&bad).is_err(), "cut at {len}");
            let _ = read_finalfusion_metadata(&bad);
        }
        for at in 0..good.len() {
            for flip in [0x01, 0x10, 0x80, 0xff] {
                patch(&|b| b[at] ^= flip);
                let _ = read_finalfusion(&bad);
                let _ = read_finalfusion_metadata(&bad);
            }
        }
    }
}
