//! Corpora that are not files: text in memory, pre-tokenised sentences and reader
//! functions train exactly as the same text in a file does, checkpoint and resume, and
//! report their errors by name.

use std::io::{Cursor, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bilinear_skipgram::corpus::{END_MARKER, MAX_TOKEN_BYTES, START_MARKER, for_each_token};
use bilinear_skipgram::{
    Checkpoint, CheckpointOptions, Corpus, CorpusOptions, Error, Model, NoProgress, Progress,
    TrainConfig, Trained, resume, train, train_checkpointed,
};

/// `n` lines of mixed-case words with punctuation, from a fixed generator, so that the
/// tokenizer has work to do (lowercasing, splitting off punctuation).
fn text(n: usize) -> String {
    const WORDS: [&str; 16] = [
        "The",
        "cat",
        "sat,",
        "on",
        "THE",
        "mat.",
        "A",
        "dog",
        "barked!",
        "Birds",
        "sing",
        "(loudly)",
        "in",
        "trees;",
        "well-known",
        "don't",
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = String::new();
    for _ in 0..n {
        let len = 3 + (next() % 8) as usize;
        let words: Vec<&str> = (0..len).map(|_| WORDS[(next() % 16) as usize]).collect();
        out.push_str(&words.join(" "));
        out.push('\n');
    }
    out
}

/// The sentences of `text` as the tokenizer makes them (lowercased, punctuation off).
fn tokenised(text: &str) -> Vec<Vec<String>> {
    let mut buffer = String::new();
    text.lines()
        .map(|line| {
            let mut words = Vec::new();
            for_each_token(line, true, &mut buffer, |t| words.push(t.to_owned()));
            words
        })
        .collect()
}

fn config() -> TrainConfig {
    TrainConfig::builder()
        .dim(12)
        .window(3)
        .negatives(3)
        .epochs(3)
        .min_count(1)
        .threads(1)
        .interaction_learning_rate(0.002)
        .heldout_pairs(200)
        .seed(11)
        .build()
        .expect("config")
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

fn assert_same(a: &Trained, b: &Trained) {
    assert_eq!(a.vocab.words(), b.vocab.words());
    assert_eq!(a.vocab.counts(), b.vocab.counts());
    assert_same_model(&a.model, &b.model);
    assert_eq!(a.report.words, b.report.words);
    assert_eq!(a.report.pairs, b.report.pairs);
    assert_eq!(a.report.epoch_losses, b.report.epoch_losses);
    assert_eq!(a.report.epoch_heldout_losses, b.report.epoch_heldout_losses);
    assert_eq!(a.heldout, b.heldout);
}

fn assert_same_model(a: &Model, b: &Model) {
    assert!(a.focus_embeddings() == b.focus_embeddings(), "U differs");
    assert!(
        a.context_embeddings() == b.context_embeddings(),
        "V differs"
    );
    assert!(a.interaction() == b.interaction(), "W differs");
}

#[test]
fn every_source_trains_exactly_as_the_same_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = text(1500);
    let path = write_file(dir.path(), "corpus.txt", text.as_bytes());
    let from_file = train(&config(), [&path], NoProgress).expect("file");
    assert!(from_file.heldout.is_some());
    assert!(!from_file.report.stopped_early);

    let from_text = train(&config(), Corpus::from_text(text.clone()), NoProgress).expect("text");
    assert_same(&from_file, &from_text);

    // Tokenised by the caller exactly as the tokenizer does: the same model.
    let sentences = tokenised(&text);
    let from_sentences =
        train(&config(), Corpus::from_sentences(sentences), NoProgress).expect("sentences");
    assert_same(&from_file, &from_sentences);

    // A reader function, opened once for the vocabulary and once per epoch, plain or gzip.
    for bytes in [text.clone().into_bytes(), gzip(text.as_bytes())] {
        let bytes: Arc<[u8]> = Arc::from(bytes);
        let opened = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&opened);
        let corpus = Corpus::from_reader_fn("database", move || {
            counter.fetch_add(1, Ordering::Relaxed);
            Ok(Cursor::new(Arc::clone(&bytes)))
        });
        let from_reader = train(&config(), &corpus, NoProgress).expect("reader");
        assert_same(&from_file, &from_reader);
        assert_eq!(opened.load(Ordering::Relaxed), 1 + config().epochs());
    }
}

#[test]
fn the_configuration_options_replace_the_corpus_options() {
    let text = text(400);
    let config = config()
        .to_builder()
        .lowercase(false)
        .build()
        .expect("config");
    let has = |trained: &Trained, word: &str| trained.vocab.words().iter().any(|w| w == word);
    // The corpus says lowercase; the configuration says not to, and wins.
    let corpus = Corpus::from_text(text.clone()).with_options(CorpusOptions::default());
    let trained = train(&config, corpus, NoProgress).expect("trains");
    assert!(has(&trained, "THE") && has(&trained, "The") && !has(&trained, "the"));
    // And the other way round.
    let corpus =
        Corpus::from_text(text).with_options(CorpusOptions::default().with_lowercase(false));
    let trained = train(&self::config(), corpus, NoProgress).expect("trains");
    assert!(!has(&trained, "THE") && !has(&trained, "The") && has(&trained, "the"));
}

#[test]
fn pre_tokenised_words_are_taken_as_given() {
    let long = "x".repeat(MAX_TOKEN_BYTES + 1);
    let mut sentences: Vec<Vec<String>> = Vec::new();
    for i in 0..300 {
        let mut sentence: Vec<String> = ["New_York", "C++", "Don't!", "", "e.g."]
            .iter()
            .map(|w| (*w).to_owned())
            .collect();
        if i % 100 == 0 {
            sentence.push(long.clone());
        }
        sentences.push(sentence);
    }
    // One sentence of nothing but empty words: skipped, not a sentence.
    sentences.push(vec![String::new(), String::new()]);
    let config = config()
        .to_builder()
        .markers(true)
        .heldout_pairs(0)
        .build()
        .expect("config");
    let trained = train(&config, Corpus::from_sentences(sentences), NoProgress).expect("trains");
    let mut words: Vec<&str> = trained.vocab.words().iter().map(String::as_str).collect();
    words.sort_unstable();
    let mut expected = vec![
        "C++",
        "Don't!",
        "New_York",
        "e.g.",
        START_MARKER,
        END_MARKER,
    ];
    expected.sort_unstable();
    assert_eq!(words, expected);
    assert!(trained.vocab.counts().iter().all(|&c| c == 300));
    assert_eq!(trained.report.long_tokens_skipped, 3);
}

#[test]
fn borrowed_static_words_and_shared_sentences_are_accepted() {
    let words: Vec<Vec<&'static str>> = (0..200)
        .map(|i| {
            if i % 2 == 0 {
                vec!["cat", "dog", "pet"]
            } else {
                vec!["car", "bus", "road"]
            }
        })
        .collect();
    let a = train(&config(), Corpus::from_sentences(words.clone()), NoProgress).expect("a");
    let shared: Arc<[Vec<&'static str>]> = Arc::from(words);
    let b = train(&config(), Corpus::from_sentences(shared), NoProgress).expect("b");
    assert_same(&a, &b);
}

#[test]
fn a_word_with_whitespace_names_the_sentence() {
    let mut sentences = vec![vec!["a".to_owned(), "b".to_owned()]; 10];
    sentences.push(vec!["new york".to_owned(), "c".to_owned()]);
    let error = train(&config(), Corpus::from_sentences(sentences), NoProgress)
        .expect_err("whitespace in a word");
    match &error {
        Error::Corpus { path, line, .. } => {
            assert_eq!(path, Path::new("<sentences>"));
            assert_eq!(*line, 11);
        }
        other => panic!("expected a corpus error, got {other:?}"),
    }
    assert!(error.to_string().contains("\"new york\""), "{error}");
}

#[test]
fn reader_function_errors_name_the_source() {
    let corpus =
        Corpus::from_reader_fn("articles table", || -> std::io::Result<Cursor<Vec<u8>>> {
            Err(std::io::Error::other("connection refused"))
        });
    let error = train(&config(), corpus, NoProgress).expect_err("cannot open");
    assert!(
        matches!(&error, Error::File { path, .. } if path == Path::new("articles table")),
        "{error:?}"
    );
    assert!(error.to_string().contains("connection refused"), "{error}");

    // Invalid UTF-8 in text given by a reader names the source and line.
    let corpus =
        Corpus::from_reader_fn("bytes", || Ok(Cursor::new(b"one two\nbad \xff\n".to_vec())));
    let error = train(&config(), corpus, NoProgress).expect_err("invalid UTF-8");
    assert!(
        matches!(&error, Error::Corpus { path, line: 2, .. } if path == Path::new("bytes")),
        "{error:?}"
    );
}

#[test]
fn in_memory_corpora_checkpoint_and_resume_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sentences = tokenised(&text(3000));
    let config = config().to_builder().epochs(4).build().expect("config");
    let options = |name: &str| {
        CheckpointOptions::new(dir.path().join(name))
            .without_timer()
            .every_words(Some(5_000))
    };
    let reference = train_checkpointed(
        &config,
        Corpus::from_sentences(sentences.clone()),
        &options("reference.bsg"),
        NoProgress,
    )
    .expect("reference");
    assert!(!reference.report.stopped_early);

    // Stopped by its observer part of the way, then resumed from its last checkpoint.
    let corpus = Corpus::from_sentences(sentences.clone());
    let total = reference.report.words;
    let stopped = train_checkpointed(&config, &corpus, &options("stopped.bsg"), |p: &Progress| {
        if p.words_done >= total / 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .expect("stopped");
    assert!(stopped.report.stopped_early);
    assert!(stopped.report.words < total);
    // The stopped run refuses another corpus: one sentence fewer, or two words swapped (the same
    // words and bytes in another order, which only the content fingerprint tells apart).
    let mut fewer = sentences.clone();
    fewer.pop();
    let mut swapped = sentences.clone();
    let first = swapped
        .iter_mut()
        .find(|sentence| sentence.len() >= 2 && sentence[0] != sentence[1])
        .expect("a sentence of two different words");
    first.swap(0, 1);
    for other in [fewer, swapped] {
        let error = resume(
            &config,
            Corpus::from_sentences(other),
            &options("stopped.bsg"),
            NoProgress,
        )
        .expect_err("another corpus");
        match &error {
            Error::CorpusMismatch { file, message, .. } => {
                assert_eq!(file, Path::new("<sentences>"));
                assert!(message.contains("content differs"), "{message}");
            }
            other => panic!("expected a corpus mismatch, got {other:?}"),
        }
    }

    // And resumes on its own to the uninterrupted run's model.
    let resumed = resume(&config, &corpus, &options("stopped.bsg"), NoProgress).expect("resume");
    assert!(!resumed.report.stopped_early);
    assert_same_model(&reference.model, &resumed.model);
    assert_eq!(reference.report.words, resumed.report.words);
    assert_eq!(reference.report.pairs, resumed.report.pairs);
}

#[test]
fn reader_functions_and_text_checkpoint_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = text(800);
    let path = dir.path().join("run.bsg");
    let options = CheckpointOptions::new(&path).without_timer();
    let from_text = train_checkpointed(
        &config(),
        Corpus::from_text(text.clone()),
        &options,
        NoProgress,
    )
    .expect("text");
    let bytes: Arc<[u8]> = Arc::from(gzip(text.as_bytes()));
    let corpus = Corpus::from_reader_fn("gz", move || Ok(Cursor::new(Arc::clone(&bytes))));
    let other = dir.path().join("reader.bsg");
    let from_reader = train_checkpointed(
        &config(),
        &corpus,
        &CheckpointOptions::new(&other).without_timer(),
        NoProgress,
    )
    .expect("reader");
    assert_same_model(&from_text.model, &from_reader.model);
    // A finished run resumes to its model at once, on the same source.
    let again = resume(
        &config(),
        &corpus,
        &CheckpointOptions::new(&other),
        NoProgress,
    )
    .expect("resume");
    assert_same_model(&from_reader.model, &again.model);

    // An unfinished run (as an interruption leaves it) is checked against its corpus.
    for checkpoint_path in [&path, &other] {
        let mut checkpoint = Checkpoint::read(checkpoint_path).expect("read");
        checkpoint.state.epoch = 0;
        checkpoint.state.sentences = 10;
        checkpoint.write(checkpoint_path).expect("write");
    }
    // The text's run is refused on the reader: another name.
    let error = resume(&config(), &corpus, &options, NoProgress).expect_err("another corpus");
    match &error {
        Error::CorpusMismatch { file, message, .. } => {
            assert_eq!(file, Path::new("gz"));
            assert!(message.contains("<text>"), "{message}");
        }
        other => panic!("expected a corpus mismatch, got {other:?}"),
    }
    // The reader's run is refused on a reader of the same name giving other bytes.
    let shifted: String = text
        .chars()
        .map(|c| if c == 'a' { 'b' } else { c })
        .collect();
    let bytes: Arc<[u8]> = Arc::from(gzip(shifted.as_bytes()));
    let changed = Corpus::from_reader_fn("gz", move || Ok(Cursor::new(Arc::clone(&bytes))));
    let reader_options = CheckpointOptions::new(&other).without_timer();
    let error =
        resume(&config(), &changed, &reader_options, NoProgress).expect_err("other content");
    assert!(
        matches!(&error, Error::CorpusMismatch { file, message, .. }
            if file == Path::new("gz") && message.contains("content differs")),
        "{error:?}"
    );
    // And resumes on its own reader.
    resume(&config(), &corpus, &reader_options, NoProgress).expect("the same reader resumes");
}

/// The trainer maps each token exactly as the vocabulary pass counted it: a rare `Cat`
/// below `min_count` is dropped, not trained as the frequent `cat` (which the query-side
/// lookup would find it as), so the words trained are the vocabulary's tokens, no more.
#[test]
fn tokens_are_trained_as_counted_not_merged_into_their_lowercase_form() {
    let mut sentences: Vec<Vec<String>> = (0..300)
        .map(|_| ["cat", "dog", "bird", "fish"].map(str::to_owned).to_vec())
        .collect();
    sentences.extend((0..3).map(|_| ["Cat", "dog", "bird"].map(str::to_owned).to_vec()));
    let config = config()
        .to_builder()
        .min_count(5)
        .heldout_pairs(0)
        .build()
        .expect("config");
    let trained = train(&config, Corpus::from_sentences(sentences), NoProgress).expect("trains");
    assert_eq!(
        trained.vocab.id("Cat"),
        trained.vocab.id("cat"),
        "queries still fold case"
    );
    assert!(!trained.vocab.words().iter().any(|w| w == "Cat"));
    assert_eq!(
        trained.report.words,
        config.epochs() as u64 * trained.vocab.n_tokens(),
        "each epoch trains the {} counted tokens",
        trained.vocab.n_tokens()
    );
}
