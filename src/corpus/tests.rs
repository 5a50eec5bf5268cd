use std::io::Write;

use super::tokens::*;
use super::*;

fn tokens(line: &str) -> Vec<String> {
    let mut buffer = String::new();
    let mut out = Vec::new();
    for_each_token(line, true, &mut buffer, |t| out.push(t.to_owned()));
    out
}

fn read_all(stream: &mut SentenceStream) -> Result<Vec<Vec<String>>> {
    let mut sentences = Vec::new();
    loop {
        let mut sentence = Vec::new();
        if !stream.next_sentence(|t| sentence.push(t.to_owned()))? {
            return Ok(sentences);
        }
        sentences.push(sentence);
    }
}

fn read_path(path: &Path, options: CorpusOptions) -> Result<Vec<Vec<String>>> {
    read_all(&mut Corpus::new([path], options).sentences()?)
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn xz(bytes: &[u8]) -> Vec<u8> {
    let options = lzma_rust2::XzOptions::with_preset(6);
    let mut encoder = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Deterministic pseudo-random bytes (xorshift64).
fn garbage(n: usize, mut state: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

const SAMPLE: &str = "Петрол и НЕФТ, януари!\n\nThe well-known café — don't stop.\n2005 г.\n";

fn sample_sentences() -> Vec<Vec<String>> {
    vec![
        strings(&["петрол", "и", "нефт", "януари"]),
        strings(&["the", "well-known", "café", "don't", "stop"]),
        strings(&["2005", "г"]),
    ]
}

// ---- tokeniser ----

#[test]
fn bulgarian_is_lowercased_and_split_on_punctuation() {
    assert_eq!(
        tokens("Петрол и НЕФТ, януари!"),
        ["петрол", "и", "нефт", "януари"]
    );
}

#[test]
fn mixed_scripts() {
    assert_eq!(
        tokens("BMW и Mercedes-Benz; Καλημέρα ΚΌΣΜΕ; 東京 Tokyo; مرحبا بالعالم"),
        [
            "bmw",
            "и",
            "mercedes-benz",
            "καλημέρα",
            "κόσμε",
            "東京",
            "tokyo",
            "مرحبا",
            "بالعالم"
        ]
    );
}

#[test]
fn digits_are_tokens() {
    assert_eq!(tokens("2005 г."), ["2005", "г"]);
    assert_eq!(tokens("3.14, 42%, x2"), ["3", "14", "42", "x2"]);
    // Non-ASCII digits are alphanumeric too.
    assert_eq!(tokens("٣٤ ५"), ["٣٤", "५"]);
}

#[test]
fn zero_width_joiners_join_and_invisible_hyphens_vanish() {
    // Persian "I want", with a zero-width non-joiner inside the word, and "water".
    assert_eq!(
        tokens("\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645} \u{622}\u{628}"),
        [
            "\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645}",
            "\u{622}\u{628}"
        ]
    );
    // Devanagari with a zero-width joiner; at a word's edge it joins nothing.
    assert_eq!(
        tokens("\u{915}\u{94d}\u{200d}\u{937} \u{200d}a\u{200d}"),
        ["\u{915}\u{94d}\u{200d}\u{937}", "a"]
    );
    // Soft hyphens and word joiners are dropped wherever they stand.
    assert_eq!(
        tokens(
            "Soft\u{ad}hy\u{ad}\u{ad}phen \u{ad}word\u{2060}s\u{ad} well-\u{ad}known \u{feff}bom"
        ),
        ["softhyphen", "words", "well-known", "bom"]
    );
    // Not normalised: a combining accent and a precomposed letter are two spellings.
    assert_eq!(
        tokens("cafe\u{301} caf\u{e9}"),
        ["cafe\u{301}", "caf\u{e9}"]
    );
}

#[test]
fn apostrophes_and_hyphens_join_only_between_word_characters() {
    assert_eq!(tokens("don't"), ["don't"]);
    assert_eq!(tokens("don’t"), ["don’t"]);
    assert_eq!(tokens("well-known"), ["well-known"]);
    assert_eq!(tokens("well‐known"), ["well‐known"]);
    assert_eq!(tokens("о'кей"), ["о'кей"]);
    assert_eq!(tokens("'quoted'"), ["quoted"]);
    assert_eq!(tokens("‘quoted’"), ["quoted"]);
    assert_eq!(tokens("a--b"), ["a", "b"]);
    assert_eq!(tokens("end-"), ["end"]);
    assert_eq!(tokens("-start"), ["start"]);
    assert_eq!(tokens("a - b"), ["a", "b"]);
    assert_eq!(tokens("rock'n'roll"), ["rock'n'roll"]);
    assert_eq!(tokens("a'-b"), ["a", "b"]);
    assert_eq!(tokens("'"), Vec::<String>::new());
}

#[test]
fn combining_marks_stay_inside_words() {
    // Devanagari vowel signs and virama are marks (Mc/Mn).
    assert_eq!(tokens("हिन्दी भाषा"), ["हिन्दी", "भाषा"]);
    // Thai tone mark.
    assert_eq!(tokens("น้ำ"), ["น้ำ"]);
    // Decomposed é: e + U+0301.
    assert_eq!(tokens("Cafe\u{301} noir"), ["cafe\u{301}", "noir"]);
}

#[test]
fn uppercase_non_ascii_is_lowercased() {
    assert_eq!(tokens("ÀÉÎÕÜ ÆØÅ ŁÓDŹ"), ["àéîõü", "æøå", "łódź"]);
    // İ lowercases to two chars (i + combining dot above); no panic.
    assert_eq!(tokens("İSTANBUL"), ["i\u{307}stanbul"]);
    assert_eq!(tokens("ΣΊΣΥΦΟΣ"), ["σίσυφος"]);
    assert_eq!(tokens("Σ"), ["σ"]);
    assert_eq!(tokens("ẞ"), ["ß"]);
}

#[test]
fn fast_paths_agree_with_the_general_definitions() {
    for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
        assert_eq!(
            is_word_char(c),
            is_word_char_general(c),
            "{c:?} U+{:04X}",
            u32::from(c)
        );
    }
    for code in 0x400..=0x4ff {
        let Some(c) = char::from_u32(code) else {
            continue;
        };
        let mut fast = String::new();
        push_word_char(&mut fast, c, true);
        if c != 'Σ' {
            assert_eq!(fast, c.to_lowercase().collect::<String>(), "U+{code:04X}");
        }
    }
}

#[test]
fn lowercase_off_keeps_case() {
    let mut buffer = String::from("stale content");
    let mut out = Vec::new();
    for_each_token("НЕФТ Don't", false, &mut buffer, |t| {
        out.push(t.to_owned())
    });
    assert_eq!(out, ["НЕФТ", "Don't"]);
    assert!(buffer.is_empty());
}

#[test]
fn separators_only_gives_no_tokens() {
    assert!(tokens("  \t ,.;!? — «» \u{fffd} 😀 ").is_empty());
    assert!(tokens("").is_empty());
}

// ---- streams ----

#[test]
fn stream_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<SentenceStream>();
}

/// Every kind of source gets a fingerprint; pre-tokenised sentences hash as the text
/// of their words joined by a space, one sentence per line.
#[test]
fn every_source_kind_is_fingerprinted() {
    let sentences = vec![vec!["one", "two"], vec![], vec!["three"]];
    let text = "one two\n\nthree\n";
    let fingerprints = |corpus: &Corpus| {
        let mut stream = corpus.sentences().unwrap();
        while stream.next_sentence(|_| {}).unwrap() {}
        stream.fingerprints().to_vec()
    };
    let given = fingerprints(&Corpus::from_sentences(sentences));
    let in_memory = fingerprints(&Corpus::from_text(text));
    let bytes = text.as_bytes().to_vec();
    let reader = fingerprints(&Corpus::from_reader_fn("r", move || {
        Ok(Cursor::new(bytes.clone()))
    }));
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "c.txt.gz", &gzip(text.as_bytes()));
    let file = fingerprints(&Corpus::new([&path], CorpusOptions::default()));
    let names: Vec<_> = [&given, &in_memory, &reader, &file]
        .iter()
        .map(|f| f[0].name.clone())
        .collect();
    assert_eq!(
        names,
        [
            PathBuf::from("<sentences>"),
            PathBuf::from("<text>"),
            PathBuf::from("r"),
            path.clone()
        ]
    );
    for found in [&given, &in_memory, &reader, &file] {
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].bytes, found[0].hash),
            (in_memory[0].bytes, in_memory[0].hash)
        );
    }
    assert_eq!(in_memory[0].bytes, text.len() as u64);
    assert_eq!(given[0].size, None);
    assert_eq!(file[0].size, std::fs::metadata(&path).ok().map(|m| m.len()));
    // Another order of the same words is another fingerprint.
    let swapped = fingerprints(&Corpus::from_sentences(vec![
        vec!["two", "one"],
        vec![],
        vec!["three"],
    ]));
    assert_ne!(swapped[0].hash, given[0].hash);
}

#[test]
fn in_memory_reader() {
    let mut stream =
        SentenceStream::from_reader(SAMPLE.as_bytes(), "mem", CorpusOptions::default());
    assert_eq!(read_all(&mut stream).unwrap(), sample_sentences());
    assert_eq!(stream.bytes_read(), SAMPLE.len() as u64);
    assert_eq!(stream.current_line(), 4);
    assert_eq!(stream.current_path(), Some(Path::new("mem")));
    assert_eq!(stream.replaced_bytes(), 0);
}

#[test]
fn empty_file_has_no_sentences() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "empty.txt", b"");
    assert!(
        read_path(&path, CorpusOptions::default())
            .unwrap()
            .is_empty()
    );
    let blank = write_file(dir.path(), "blank.txt", b"\n \n, .\r\n");
    let options = CorpusOptions::default().with_markers(true);
    assert!(read_path(&blank, options).unwrap().is_empty());
}

#[test]
fn file_with_one_word() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "one.txt", b"Word");
    assert_eq!(
        read_path(&path, CorpusOptions::default()).unwrap(),
        [["word"]]
    );
}

#[test]
fn very_long_line_is_read_in_full() {
    let n_tokens = 100_000;
    let mut line = String::new();
    for i in 0..n_tokens {
        line.push_str(&format!("w{i} "));
    }
    line.push('\n');
    let mut stream = SentenceStream::from_reader(
        std::io::Cursor::new(line.into_bytes()),
        "long",
        CorpusOptions::default(),
    );
    // Cut into sentences of at most MAX_SENTENCE_BYTES, every token kept in order.
    let sentences = read_all(&mut stream).unwrap();
    assert!(sentences.len() > 1);
    let tokens: Vec<String> = sentences.into_iter().flatten().collect();
    let expected: Vec<String> = (0..n_tokens).map(|i| format!("w{i}")).collect();
    assert_eq!(tokens, expected);
    assert_eq!(stream.current_line(), 1);
}

/// `unit` repeated `n` times, made as it is read: a line of any length in little memory.
struct Repeat {
    unit: &'static [u8],
    left: u64,
    at: usize,
}

impl Read for Repeat {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && self.left > 0 {
            let take = (self.unit.len() - self.at).min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&self.unit[self.at..self.at + take]);
            n += take;
            self.at += take;
            if self.at == self.unit.len() {
                self.at = 0;
                self.left -= 1;
            }
        }
        Ok(n)
    }
}

#[test]
fn a_line_of_millions_of_tokens_is_read_in_bounded_memory() {
    // One line of 24 MB, no line break at all.
    let n = 1_000_000;
    let reader = Repeat {
        unit: b"Alpha beta, gamma-delta ",
        left: n,
        at: 0,
    };
    let mut stream = SentenceStream::from_reader(reader, "endless", CorpusOptions::default());
    let (mut count, mut sentences, mut longest) = (0_u64, 0_u64, 0_usize);
    loop {
        let mut in_sentence = 0;
        let more = stream
            .next_sentence(|token| {
                assert!(["alpha", "beta", "gamma-delta"].contains(&token), "{token}");
                in_sentence += 1;
            })
            .unwrap();
        if !more {
            break;
        }
        count += in_sentence as u64;
        sentences += 1;
        longest = longest.max(in_sentence);
        // The line buffer never holds much more than a sentence.
        assert!(stream.line_bytes.capacity() <= 2 * MAX_SENTENCE_BYTES);
    }
    assert_eq!(count, 3 * n);
    assert!(sentences >= 24 * n / MAX_SENTENCE_BYTES as u64);
    assert!(longest <= MAX_SENTENCE_BYTES / 6);
    assert_eq!(stream.bytes_read(), 24 * n);
    assert_eq!(stream.current_line(), 1);
    assert_eq!(stream.long_tokens_skipped(), 0);
}

#[test]
fn gzip_of_nul_bytes_reads_in_bounded_memory() {
    // 16 MiB of NUL bytes, one line, gzip-compressed to a few kilobytes.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0_u8; 1 << 20];
    for _ in 0..16 {
        encoder.write_all(&zeros).unwrap();
    }
    let compressed = encoder.finish().unwrap();
    assert!(compressed.len() < 100_000);
    let mut stream = SentenceStream::from_reader(
        std::io::Cursor::new(compressed),
        "zeros.gz",
        CorpusOptions::default(),
    );
    assert!(!stream.next_sentence(|t| panic!("token {t:?}")).unwrap());
    assert_eq!(stream.bytes_read(), 16 << 20);
    assert!(stream.line_bytes.capacity() <= 2 * MAX_SENTENCE_BYTES);
}

#[test]
fn long_tokens_are_skipped_and_counted() {
    let long = "x".repeat(MAX_TOKEN_BYTES + 1);
    let fits = "y".repeat(MAX_TOKEN_BYTES);
    let huge = "z".repeat(3 * MAX_SENTENCE_BYTES);
    let text = format!("a {long} b\n{fits}\nc {huge}, d\n\u{e9}{huge}\u{fc} e\nlast\n");
    let mut stream = SentenceStream::from_reader(
        std::io::Cursor::new(text.into_bytes()),
        "long-tokens",
        CorpusOptions::default(),
    );
    let sentences = read_all(&mut stream).unwrap();
    // `c` ends the sentence cut before the run of z; the run is skipped up to the
    // comma. A run that starts with a non-ASCII letter is skipped up to the space
    // (ü is taken as part of it).
    assert_eq!(
        sentences,
        [
            strings(&["a", "b"]),
            vec![fits],
            strings(&["c"]),
            strings(&["d"]),
            strings(&["e"]),
            strings(&["last"]),
        ]
    );
    assert_eq!(stream.long_tokens_skipped(), 3);
    assert_eq!(stream.current_line(), 5);
}

#[test]
fn invalid_utf8_in_a_long_line_gives_its_offset_and_skips_the_rest_of_the_line() {
    let mut bytes = b"ok ".repeat(30_000);
    bytes.extend_from_slice(b"\xff more\nnext\n");
    let mut stream = SentenceStream::from_reader(
        std::io::Cursor::new(bytes),
        "bad-long",
        CorpusOptions::default(),
    );
    let mut n_ok = 0;
    let error = loop {
        match stream.next_sentence(|t| {
            assert_eq!(t, "ok");
            n_ok += 1;
        }) {
            Ok(true) => {}
            Ok(false) => panic!("no error"),
            Err(error) => break error,
        }
    };
    let message = error.to_string();
    assert!(
        message.starts_with("bad-long:1: invalid UTF-8 at byte offset 90000 of the line"),
        "{message}"
    );
    assert!(message.contains("--lossy-utf8"), "{message}");
    // The sentences before the bad one were read; the rest of the line is dropped.
    assert!(n_ok > 0 && n_ok <= 30_000, "{n_ok}");
    assert_eq!(read_all(&mut stream).unwrap(), [strings(&["next"])]);
    assert_eq!(stream.current_line(), 2);
}

/// Words of mixed scripts and separators, including joiners that join (a single `-` or
/// `'` between words) and that do not (`--`, `'-`, at the ends).
fn line_strategy() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let word = "[a-zA-Z0-9\u{e9}\u{3a3}\u{3c3}\u{e7}\u{43d}\u{415}\u{424}\u{422}]{1,5}";
    let separator = proptest::sample::select(vec![
        " ",
        " ",
        " ",
        ", ",
        "\u{2014}",
        "-",
        "'",
        "--",
        "'-",
        "\u{2019}",
        "\u{2010}",
        "\u{2026} ",
        "\t",
        "\u{fffd}",
        "\u{3000}",
        // Joined or dropped inside a word, never split at.
        "\u{200c}",
        "\u{200d}",
        "\u{ad}",
        "\u{ad}\u{ad}",
        "-\u{ad}",
        "\u{2060}'",
        "\u{feff} ",
    ]);
    proptest::collection::vec((word, separator), 0..400).prop_map(|items| {
        items
            .into_iter()
            .map(|(w, s)| format!("{w}{s}"))
            .collect::<String>()
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
    /// Cutting a line into sentences anywhere between tokens keeps exactly the tokens
    /// of the whole line. The window must hold the longest token with its joiners and
    /// ignorable characters, which the stream never cuts in (a longer one is skipped and
    /// counted): words joined by `-`, `'`, U+200C and soft hyphens chain, and a window of
    /// 96 bytes once met a chain of 97 (of which 89 are the token). The chance of a chain
    /// falls geometrically with its length; lines of up to 400 words are still cut many
    /// times in a window of 256 to 1023 bytes.
    #[test]
    fn cutting_a_line_keeps_its_tokens(
        line in line_strategy(),
        max_sentence in 256_usize..1024,
        lowercase in proptest::bool::ANY,
    ) {
        let mut reference = Vec::new();
        let mut buffer = String::new();
        for_each_token(&line, lowercase, &mut buffer, |t| reference.push(t.to_owned()));
        let text = format!("{line}\nsecond line\n");
        let options = CorpusOptions::default().with_lowercase(lowercase);
        let mut stream =
            SentenceStream::from_reader(std::io::Cursor::new(text.into_bytes()), "p", options);
        stream.max_sentence = max_sentence;
        let mut sentences = read_all(&mut stream).unwrap();
        let last = sentences.pop();
        proptest::prop_assert_eq!(last, Some(strings(&["second", "line"])));
        let tokens: Vec<String> = sentences.into_iter().flatten().collect();
        proptest::prop_assert_eq!(tokens, reference);
        proptest::prop_assert_eq!(stream.long_tokens_skipped(), 0);
        proptest::prop_assert_eq!(stream.current_line(), 2);
    }
}

#[test]
fn invalid_utf8_strict_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "bad.txt", b"one\ntwo\nthr\xffee\nfour\n");
    let mut stream = Corpus::new([&path], CorpusOptions::default())
        .sentences()
        .unwrap();
    let mut seen = Vec::new();
    assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
    assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
    let error = stream
        .next_sentence(|t| seen.push(t.to_owned()))
        .unwrap_err();
    assert!(matches!(error, Error::Corpus { line: 3, .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("bad.txt"), "{message}");
    assert!(message.contains(":3:"), "{message}");
    assert!(message.contains("byte offset 3"), "{message}");
    // The bad line is skipped and reading can go on.
    assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
    assert_eq!(seen, ["one", "two", "four"]);
    assert!(!stream.next_sentence(|_| {}).unwrap());
}

#[test]
fn invalid_utf8_lossy_counts_bad_bytes() {
    // 0xff (1 byte), a truncated 3-byte sequence 0xe2 0x82 (2 bytes, one U+FFFD), and
    // two lone continuation bytes 0x80 0x80 (2 bytes, two U+FFFD).
    let bytes = b"good\xffbad caf\xe2\x82 x\x80\x80y\n\xc3\xa9t\xc3\xa9\n";
    let options = CorpusOptions::default().with_utf8(Utf8Policy::Lossy);
    let mut stream = SentenceStream::from_reader(&bytes[..], "lossy", options);
    assert_eq!(
        read_all(&mut stream).unwrap(),
        [
            strings(&["good", "bad", "caf", "x", "y"]),
            strings(&["été"])
        ]
    );
    assert_eq!(stream.replaced_bytes(), 5);
}

#[test]
fn binary_garbage_in_lossy_mode_does_not_panic() {
    for seed in 1_u64..=8 {
        let bytes = garbage(200_000, seed.wrapping_mul(0x9e37_79b9_7f4a_7c15_u64));
        let options = CorpusOptions::default()
            .with_utf8(Utf8Policy::Lossy)
            .with_markers(true);
        let mut stream =
            SentenceStream::from_reader(std::io::Cursor::new(bytes.clone()), "garbage", options);
        let mut n_tokens = 0_u64;
        loop {
            match stream.next_sentence(|_| n_tokens += 1) {
                Ok(true) => {}
                Ok(false) => break,
                // Random bytes may start with a compression magic number.
                Err(Error::Corpus { .. }) => break,
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert!(stream.replaced_bytes() > 0);
        assert!(stream.bytes_read() <= bytes.len() as u64);
    }
}

#[test]
fn gzip_and_xz_match_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let plain = write_file(dir.path(), "plain.txt", SAMPLE.as_bytes());
    let gz = write_file(dir.path(), "corpus.gz", &gzip(SAMPLE.as_bytes()));
    let xz_path = write_file(dir.path(), "corpus.xz", &xz(SAMPLE.as_bytes()));
    // Wrong extensions: detection is by content.
    let gz_as_txt = write_file(dir.path(), "really-gzip.txt", &gzip(SAMPLE.as_bytes()));
    let xz_as_gz = write_file(dir.path(), "really-xz.gz", &xz(SAMPLE.as_bytes()));
    let plain_as_xz = write_file(dir.path(), "really-plain.xz", SAMPLE.as_bytes());
    // Two gzip members concatenated, split mid-line.
    let (head, tail) = SAMPLE.as_bytes().split_at(30);
    let mut two_members = gzip(head);
    two_members.extend(gzip(tail));
    let multi_gz = write_file(dir.path(), "multi.gz", &two_members);
    let mut two_streams = xz(head);
    two_streams.extend(xz(tail));
    let multi_xz = write_file(dir.path(), "multi.xz", &two_streams);

    let expected = read_path(&plain, CorpusOptions::default()).unwrap();
    assert_eq!(expected, sample_sentences());
    for path in [
        gz,
        xz_path,
        gz_as_txt,
        xz_as_gz,
        plain_as_xz,
        multi_gz,
        multi_xz,
    ] {
        let mut stream = Corpus::new([&path], CorpusOptions::default())
            .sentences()
            .unwrap();
        assert_eq!(
            read_all(&mut stream).unwrap(),
            expected,
            "{}",
            path.display()
        );
        assert_eq!(
            stream.bytes_read(),
            SAMPLE.len() as u64,
            "{}",
            path.display()
        );
    }
}

#[test]
fn compressed_from_reader() {
    let options = CorpusOptions::default();
    let mut stream =
        SentenceStream::from_reader(std::io::Cursor::new(gzip(SAMPLE.as_bytes())), "gz", options);
    assert_eq!(read_all(&mut stream).unwrap(), sample_sentences());
}

#[test]
fn truncated_gzip_is_a_corpus_error() {
    let dir = tempfile::tempdir().unwrap();
    let body = "line one\n".repeat(10_000);
    let mut compressed = gzip(body.as_bytes());
    compressed.truncate(compressed.len() / 2);
    let path = write_file(dir.path(), "truncated.gz", &compressed);
    let mut stream = Corpus::new([&path], CorpusOptions::default())
        .sentences()
        .unwrap();
    let result = read_all(&mut stream);
    match result {
        Err(Error::Corpus {
            path: error_path,
            line,
            message,
        }) => {
            assert_eq!(error_path, path);
            assert!(line > 1);
            assert_eq!(
                message,
                "gzip decompression error: the file ends before its gzip-compressed data \
                 does: it is truncated"
            );
        }
        other => panic!("expected a corpus error, got {other:?}"),
    }
}

/// A gzip or xz file cut anywhere after its magic number says that it is truncated; the
/// decoders said `incomplete deflate stream` and `failed to fill whole buffer`.
#[test]
fn every_cut_of_a_gzip_or_xz_file_says_it_is_truncated() {
    let body = "line one\nline two\n".repeat(20);
    for (format, compressed, magic) in [
        ("gzip", gzip(body.as_bytes()), GZIP_MAGIC.len()),
        ("xz", xz(body.as_bytes()), XZ_MAGIC.len()),
    ] {
        for cut in magic..compressed.len() {
            let mut stream = SentenceStream::from_reader(
                std::io::Cursor::new(compressed[..cut].to_vec()),
                "cut",
                CorpusOptions::default(),
            );
            let error = read_all(&mut stream).unwrap_err();
            let expected = format!(
                "{format} decompression error: the file ends before its {format}-compressed \
                 data does: it is truncated"
            );
            assert!(
                matches!(&error, Error::Corpus { message, .. } if *message == expected),
                "{format} cut at {cut} of {}: {error:?}",
                compressed.len()
            );
        }
    }
}

#[test]
fn corrupt_xz_is_a_corpus_error() {
    let mut compressed = xz("some text\n".repeat(100).as_bytes());
    let middle = compressed.len() / 2;
    compressed[middle] ^= 0xff;
    let mut stream = SentenceStream::from_reader(
        std::io::Cursor::new(compressed),
        "bad.xz",
        CorpusOptions::default(),
    );
    let error = read_all(&mut stream).unwrap_err();
    assert!(matches!(error, Error::Corpus { .. }), "{error:?}");
    assert!(error.to_string().contains("bad.xz"), "{error}");
}

#[test]
fn crlf_line_endings() {
    let text = b"Alpha beta\r\ngamma\r\n\r\ndelta";
    let mut stream = SentenceStream::from_reader(&text[..], "crlf", CorpusOptions::default());
    assert_eq!(
        read_all(&mut stream).unwrap(),
        [
            strings(&["alpha", "beta"]),
            strings(&["gamma"]),
            strings(&["delta"])
        ]
    );
    assert_eq!(stream.current_line(), 4);
}

#[test]
fn markers_surround_each_sentence() {
    let options = CorpusOptions::default().with_markers(true);
    let mut stream = SentenceStream::from_reader(&b"A b\n...\nC\n"[..], "m", options);
    assert_eq!(
        read_all(&mut stream).unwrap(),
        [
            strings(&[START_MARKER, "a", "b", END_MARKER]),
            strings(&[START_MARKER, "c", END_MARKER])
        ]
    );
}

#[test]
fn several_files_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_file(dir.path(), "1.txt", b"one two\nthree\n");
    let second = write_file(dir.path(), "2.gz", &gzip(b"four\n"));
    let third = write_file(dir.path(), "3.txt", b"\nfive six");
    let corpus = Corpus::new([&first, &second, &third], CorpusOptions::default());
    assert_eq!(
        corpus.paths().collect::<Vec<_>>(),
        [first.as_path(), second.as_path(), third.as_path()]
    );
    assert_eq!(corpus.options(), &CorpusOptions::default());
    let mut stream = corpus.sentences().unwrap();
    assert_eq!(stream.current_path(), None);
    let mut seen = Vec::new();
    assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
    assert_eq!(
        (stream.current_path(), stream.current_line()),
        (Some(first.as_path()), 1)
    );
    assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
    assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
    assert_eq!(
        (stream.current_path(), stream.current_line()),
        (Some(second.as_path()), 1)
    );
    assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
    assert_eq!(
        (stream.current_path(), stream.current_line()),
        (Some(third.as_path()), 2)
    );
    assert!(!stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
    assert_eq!(seen, ["one", "two", "three", "four", "five", "six"]);
    assert_eq!(stream.bytes_read(), 14 + 5 + 9);
}

#[test]
fn missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let present = write_file(dir.path(), "present.txt", b"x\n");
    let missing = dir.path().join("missing.txt");
    let error = Corpus::new([&present, &missing], CorpusOptions::default())
        .sentences()
        .unwrap_err();
    match &error {
        Error::File { path, source } => {
            assert_eq!(path, &missing);
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("expected Error::File, got {other:?}"),
    }
    assert!(error.to_string().contains("missing.txt"), "{error}");
}

#[test]
fn file_removed_after_check_is_a_file_error_and_stream_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let gone = write_file(dir.path(), "gone.txt", b"lost\n");
    let kept = write_file(dir.path(), "kept.txt", b"kept\n");
    let mut stream = Corpus::new([&gone, &kept], CorpusOptions::default())
        .sentences()
        .unwrap();
    std::fs::remove_file(&gone).unwrap();
    let error = stream.next_sentence(|_| {}).unwrap_err();
    assert!(
        matches!(&error, Error::File { path, .. } if path == &gone),
        "{error:?}"
    );
    let mut seen = Vec::new();
    assert!(stream.next_sentence(|t| seen.push(t.to_owned())).unwrap());
    assert_eq!(seen, ["kept"]);
}

#[test]
fn directory_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let error = Corpus::new([dir.path()], CorpusOptions::default())
        .sentences()
        .unwrap_err();
    assert!(
        matches!(&error, Error::File { path, .. } if path == dir.path()),
        "{error:?}"
    );
}

#[test]
fn short_reads_still_detect_compression() {
    /// A reader returning one byte per call.
    struct Trickle(std::io::Cursor<Vec<u8>>);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }
    for bytes in [xz(SAMPLE.as_bytes()), gzip(SAMPLE.as_bytes())] {
        let reader = Trickle(std::io::Cursor::new(bytes));
        let mut stream = SentenceStream::from_reader(reader, "trickle", CorpusOptions::default());
        assert_eq!(read_all(&mut stream).unwrap(), sample_sentences());
    }
}

#[test]
fn debug_output_names_the_source() {
    let stream = SentenceStream::from_reader(&b"x"[..], "named", CorpusOptions::default());
    let debug = format!("{stream:?}");
    assert!(debug.contains("SentenceStream"), "{debug}");
    assert!(debug.contains("n_pending_sources: 1"), "{debug}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
    /// The ASCII fast path hands out exactly the tokens of the general path, on text
    /// that mixes ASCII words, joiners, digits, capitals and non-ASCII letters and
    /// separators.
    #[test]
    fn ascii_fast_path_equals_the_general_path(
        text in "([a-zA-Z0-9]{1,6}|[ '\\-.,]{1,3}|[éΣσçнЕФТ’‐—…\u{ad}\u{200c}\u{2060}]|ΣΣ| ){0,24}",
        lowercase in proptest::bool::ANY,
    ) {
        let (mut fast, mut general) = (Vec::new(), Vec::new());
        let mut buffer = String::from("left over");
        for_each_token(&text, lowercase, &mut buffer, |t| fast.push(t.to_owned()));
        proptest::prop_assert!(buffer.is_empty());
        general_tokens(&text, lowercase, &mut buffer, |t| general.push(t.to_owned()));
        proptest::prop_assert_eq!(fast, general, "{:?}", text);
    }
}
