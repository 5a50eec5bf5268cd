//! A stable fuzz harness: the entry points of the `fuzz/` cargo-fuzz targets, fed random
//! bytes and mutations of valid files by proptest. Every reader must return `Ok` or a typed
//! error, never panic.
//!
//! 64 cases per test by default, so CI stays fast; set `FUZZ_CASES` for more:
//!
//! ```sh
//! FUZZ_CASES=20000 cargo test --release --test fuzz
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bilinear_skipgram::{
    Checkpoint, CorpusOptions, Error, Model, OffsetInteractionKind, OovPolicy, TrainConfig,
    Utf8Policy, Vocab, Word2vecFormat, checkpoint::TrainState, corpus::SentenceStream,
    corpus::for_each_token, eval::AnalogyDataset, eval::BatsDataset, eval::MalformedPolicy,
    eval::SimilarityDataset, read_matrix, read_word2vec, write_matrix, write_word2vec_binary,
    write_word2vec_text,
};
use ndarray::array;
use proptest::prelude::*;

/// Cases per test: `FUZZ_CASES`, or 64.
fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        // A failure is a panic in the library: keep the shrunk input short to read.
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

/// A scratch folder for the whole test binary.
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"))
        .path()
}

/// Writes `bytes` to a file named `name` plus the thread id (tests run in parallel).
fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch().join(format!("{name}-{:?}", std::thread::current().id()));
    std::fs::write(&path, bytes).expect("write");
    path
}

/// Valid files to mutate, made once with the crate's own writers.
struct Seeds {
    npy: Vec<u8>,
    word2vec_text: Vec<u8>,
    word2vec_binary: Vec<u8>,
    #[cfg(feature = "finalfusion")]
    finalfusion: Vec<u8>,
    corpus_gzip: Vec<u8>,
    corpus_xz: Vec<u8>,
    checkpoint: Vec<u8>,
}

const CORPUS: &str = "The Cat sat.\nΣΟΦΟΣ don't well-known\r\n\nнефт и петрол 2005\n";

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let vocab = Vocab::from_counts(
            [
                ("нефт".to_owned(), 3),
                ("oil".to_owned(), 2),
                ("a".to_owned(), 1),
            ],
            OovPolicy::Drop,
        )
        .expect("vocab");
        let vectors = array![[0.5_f32, -1.0], [1e-30, 3.0], [f32::NAN, 0.0]];
        let read = |name: &str| std::fs::read(dir.path().join(name)).expect("read");
        write_matrix(dir.path().join("m.npy"), vectors.view()).expect("npy");
        write_word2vec_text(dir.path().join("v.txt"), vectors.view(), &vocab).expect("text");
        write_word2vec_binary(dir.path().join("v.bin"), vectors.view(), &vocab).expect("bin");
        #[cfg(feature = "finalfusion")]
        {
            let config = TrainConfig::builder().dim(2).build().expect("valid");
            bilinear_skipgram::write_finalfusion(
                dir.path().join("e.fifu"),
                vectors.view(),
                &vocab,
                Some(&config),
                bilinear_skipgram::FinalfusionVectors::Raw,
            )
            .expect("fifu");
        }
        let config = TrainConfig::builder()
            .dim(2)
            .threads(2)
            .epochs(2)
            .offset_interactions(OffsetInteractionKind::None)
            .subwords(None)
            .build()
            .expect("valid");
        let model = Model::from_parts(
            vectors.clone(),
            vectors.clone(),
            array![[1.0, 0.5], [0.0, 2.0]],
        )
        .expect("model");
        Checkpoint::new(
            config.clone(),
            vocab.clone(),
            model,
            TrainState::new(&config, vec![]),
        )
        .expect("checkpoint")
        .write(dir.path().join("c.bsg"))
        .expect("write checkpoint");
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(CORPUS.as_bytes()).expect("gzip");
        let options = lzma_rust2::XzOptions::with_preset(1);
        let mut xz = lzma_rust2::XzWriter::new(Vec::new(), options).expect("xz");
        xz.write_all(CORPUS.as_bytes()).expect("xz");
        Seeds {
            npy: read("m.npy"),
            word2vec_text: read("v.txt"),
            word2vec_binary: read("v.bin"),
            #[cfg(feature = "finalfusion")]
            finalfusion: read("e.fifu"),
            corpus_gzip: gzip.finish().expect("gzip"),
            corpus_xz: xz.finish().expect("xz"),
            checkpoint: read("c.bsg"),
        }
    })
}

/// One edit of a file.
#[derive(Debug, Clone)]
enum Mutation {
    /// Cut the file at this fraction of its length.
    Truncate(f64),
    /// XOR the byte at this fraction of the length.
    Flip(f64, u8),
    /// Insert bytes at this fraction of the length.
    Insert(f64, Vec<u8>),
    /// Overwrite 8 bytes with a large little-endian number (a lying length or count).
    Huge(f64, u64),
    /// Overwrite with ASCII digits (a lying text header).
    Digits(f64, u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0_f64;
    prop_oneof![
        at.clone().prop_map(Mutation::Truncate),
        (at.clone(), 1..=255_u8).prop_map(|(a, x)| Mutation::Flip(a, x)),
        (at.clone(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        (
            at.clone(),
            prop_oneof![Just(u64::MAX), Just(1 << 40), Just(1 << 60), any::<u64>()]
        )
            .prop_map(|(a, n)| Mutation::Huge(a, n)),
        (at, any::<u64>()).prop_map(|(a, n)| Mutation::Digits(a, n)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let at = |f: f64, len: usize| ((f * len as f64) as usize).min(len);
        match m {
            Mutation::Truncate(f) => bytes.truncate(at(*f, bytes.len())),
            Mutation::Flip(f, x) => {
                if !bytes.is_empty() {
                    let i = at(*f, bytes.len() - 1);
                    bytes[i] ^= x;
                }
            }
            Mutation::Insert(f, b) => {
                let i = at(*f, bytes.len());
                bytes.splice(i..i, b.iter().copied());
            }
            Mutation::Huge(f, n) => overwrite(&mut bytes, *f, &n.to_le_bytes()),
            Mutation::Digits(f, n) => overwrite(&mut bytes, *f, n.to_string().as_bytes()),
        }
    }
    bytes
}

fn overwrite(bytes: &mut [u8], f: f64, with: &[u8]) {
    if bytes.len() >= with.len() {
        let i = ((f * (bytes.len() - with.len()) as f64) as usize).min(bytes.len() - with.len());
        bytes[i..i + with.len()].copy_from_slice(with);
    }
}

/// Bytes to feed a reader: random, or a valid `seed` with a few mutations.
fn input(seed: fn(&Seeds) -> &[u8]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        proptest::collection::vec(mutation(), 1..4)
            .prop_map(move |m| apply(seed(seeds()).to_vec(), &m)),
    ]
}

/// The error kinds a loader may return on bad bytes.
fn typed(error: &Error) -> bool {
    matches!(
        error,
        Error::Format { .. }
            | Error::Corpus { .. }
            | Error::Parse { .. }
            | Error::File { .. }
            | Error::ShapeMismatch { .. }
            | Error::EmptyVocabulary(_)
            | Error::Config(_)
    )
}

/// Reads every sentence of `bytes`; errors skip a line or a source, so this ends.
fn read_corpus(bytes: &[u8], options: CorpusOptions) -> (u64, u64) {
    let mut stream =
        SentenceStream::from_reader(std::io::Cursor::new(bytes.to_vec()), "f", options);
    let (mut n_tokens, mut n_errors) = (0_u64, 0_u64);
    loop {
        match stream.next_sentence(|t| {
            assert!(!t.is_empty());
            n_tokens += 1;
        }) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                assert!(
                    matches!(error, Error::Corpus { .. } | Error::File { .. }),
                    "{error:?}"
                );
                n_errors += 1;
                assert!(
                    n_errors <= bytes.len() as u64 + 1,
                    "the stream does not end"
                );
            }
        }
    }
    (n_tokens, n_errors)
}

/// `bytes` with its last four bytes replaced by the CRC-32 of the rest, so that a mutated
/// checkpoint gets past the checksum and exercises the parser behind it.
fn with_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() >= 4 {
        let body = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
    }
    bytes
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn npy_reader_never_panics(bytes in input(|s| &s.npy)) {
        match read_matrix(file("m.npy", &bytes)) {
            Ok(matrix) => prop_assert!(matrix.len() * 4 <= bytes.len()),
            Err(error) => prop_assert!(typed(&error), "{error:?}"),
        }
    }

    #[test]
    fn checkpoint_reader_never_panics(bytes in input(|s| &s.checkpoint), fix_crc in any::<bool>()) {
        let bytes = if fix_crc { with_crc(bytes) } else { bytes };
        match Checkpoint::read(file("c.bsg", &bytes)) {
            Ok(checkpoint) => {
                prop_assert!(fix_crc || bytes == seeds().checkpoint);
                prop_assert_eq!(checkpoint.model.n_words(), checkpoint.vocab.len());
                prop_assert_eq!(checkpoint.state.epoch_losses.len(), checkpoint.config.epochs());
            }
            Err(error) => prop_assert!(typed(&error), "{error:?}"),
        }
    }

    #[test]
    fn word2vec_text_reader_never_panics(bytes in input(|s| &s.word2vec_text)) {
        match read_word2vec(file("v.txt", &bytes), Word2vecFormat::Text) {
            Ok((words, vectors)) => prop_assert_eq!(words.len(), vectors.nrows()),
            Err(error) => prop_assert!(typed(&error), "{error:?}"),
        }
    }

    #[test]
    fn word2vec_binary_reader_never_panics(bytes in input(|s| &s.word2vec_binary)) {
        match read_word2vec(file("v.bin", &bytes), Word2vecFormat::Binary) {
            Ok((words, vectors)) => {
                prop_assert_eq!(words.len(), vectors.nrows());
                prop_assert!(vectors.len() * 4 <= bytes.len());
            }
            Err(error) => prop_assert!(typed(&error), "{error:?}"),
        }
    }

    #[cfg(feature = "finalfusion")]
    #[test]
    fn finalfusion_reader_never_panics(bytes in input(|s| &s.finalfusion)) {
        let path = file("e.fifu", &bytes);
        match bilinear_skipgram::read_finalfusion(&path) {
            Ok((words, vectors)) => prop_assert_eq!(words.len(), vectors.nrows()),
            Err(error) => prop_assert!(typed(&error), "{error:?}"),
        }
        if let Err(error) = bilinear_skipgram::read_finalfusion_metadata(&path) {
            prop_assert!(typed(&error), "{error:?}");
        }
    }

    #[test]
    fn corpus_reader_never_panics(
        bytes in prop_oneof![
            input(|s| &s.corpus_gzip),
            input(|s| &s.corpus_xz),
            input(|_| CORPUS.as_bytes()),
        ],
        lossy in any::<bool>(),
        markers in any::<bool>(),
        lowercase in any::<bool>(),
    ) {
        let options = CorpusOptions::default()
            .with_utf8(if lossy { Utf8Policy::Lossy } else { Utf8Policy::Strict })
            .with_markers(markers)
            .with_lowercase(lowercase);
        read_corpus(&bytes, options);
        let mut buffer = String::new();
        for_each_token(&String::from_utf8_lossy(&bytes), lowercase, &mut buffer, |t| {
            assert!(!t.is_empty());
        });
    }

    #[test]
    fn tokenizer_never_panics(text in any::<String>(), lowercase in any::<bool>()) {
        let mut buffer = String::new();
        let mut tokens = Vec::new();
        for_each_token(&text, lowercase, &mut buffer, |t| tokens.push(t.to_owned()));
        prop_assert!(tokens.iter().all(|t| !t.is_empty() && !t.contains(char::is_whitespace)));
        prop_assert!(buffer.is_empty());
    }

    #[test]
    fn evaluation_and_vocabulary_readers_never_panic(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            "[a-z:\\t /0-9.\\-\n]{0,200}".prop_map(String::into_bytes),
        ],
    ) {
        let path = Path::new("eval.txt");
        for policy in [MalformedPolicy::Strict, MalformedPolicy::Skip] {
            for result in [
                SimilarityDataset::from_reader(&bytes[..], path, policy).map(|_| ()),
                AnalogyDataset::from_reader(&bytes[..], path, policy).map(|_| ()),
                BatsDataset::from_reader(&bytes[..], path, policy).map(|_| ()),
            ] {
                if let Err(error) = result {
                    prop_assert!(typed(&error), "{error:?}");
                }
            }
        }
        for oov in [OovPolicy::Drop, OovPolicy::Unk] {
            if let Err(error) = Vocab::read_text(&bytes[..], path, oov) {
                prop_assert!(typed(&error), "{error:?}");
            }
        }
    }

    #[test]
    fn model_folder_loader_never_panics(
        u in input(|s| &s.npy),
        v in input(|s| &s.npy),
        vocab in "([a-zа-я]{1,4} [0-9]{1,3}\n){0,4}",
        manifest in proptest::option::of(prop_oneof![
            "bilinear-skipgram manifest 1\n(((U|V|W)\\.npy|vocab\\.txt|x)\t[0-9]{1,4}\t[0-9a-f]{7,9}\n){0,5}",
            "[ -~\t\n]{0,100}",
        ]),
    ) {
        let dir = scratch().join(format!("model-{:?}", std::thread::current().id()));
        std::fs::create_dir_all(&dir).expect("dir");
        // With a manifest or without one (as earlier versions wrote model folders).
        let manifest_path = dir.join(bilinear_skipgram::io::MANIFEST_FILE);
        match &manifest {
            Some(text) => std::fs::write(&manifest_path, text).expect("write"),
            None => {
                let _ = std::fs::remove_file(&manifest_path);
            }
        }
        std::fs::write(dir.join("U.npy"), &u).expect("write");
        std::fs::write(dir.join("V.npy"), &v).expect("write");
        std::fs::write(dir.join("vocab.txt"), &vocab).expect("write");
        let w = Model::for_config(&TrainConfig::builder().dim(2).build().expect("valid"), 0);
        write_matrix(dir.join("W.npy"), w.interaction()).expect("W");
        match bilinear_skipgram::load_model(&dir, OovPolicy::Drop) {
            Ok((model, vocab)) => prop_assert_eq!(model.n_words(), vocab.len()),
            Err(error) => prop_assert!(typed(&error), "{error:?}"),
        }
    }
}

proptest! {
    // Drawing a PNG takes tens of milliseconds: an eighth of the cases.
    #![proptest_config(ProptestConfig { cases: (cases() / 8).max(4), ..config() })]

    #[test]
    fn plots_never_panic(
        points in proptest::collection::vec(
            (any::<u64>(), prop_oneof![any::<f64>(), -1e300..1e300_f64, Just(0.0)]),
            0..20,
        ),
        rows in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![any::<f32>(), -1e30..1e30_f32, Just(0.0)], 3),
            0..6,
        ),
        labels in proptest::collection::vec(any::<String>(), 0..6),
        title in any::<String>(),
    ) {
        let png = scratch().join(format!("p-{:?}.png", std::thread::current().id()));
        if let Err(error) = bilinear_skipgram::plot::plot_loss(&png, &points, &title) {
            prop_assert!(
                matches!(error, Error::ShapeMismatch { .. } | Error::Format { .. }),
                "{error:?}"
            );
        }
        let n = rows.len();
        let flat: Vec<f32> = rows.into_iter().flatten().collect();
        let vectors = ndarray::Array2::from_shape_vec((n, 3), flat).expect("shape");
        // One label per row, so that the drawing itself is exercised.
        let labels: Vec<&str> = (0..n).map(|i| labels.get(i).map_or("w", String::as_str)).collect();
        if let Err(error) = bilinear_skipgram::plot::plot_words(&png, vectors.view(), &labels, &title) {
            prop_assert!(
                matches!(
                    error,
                    Error::ShapeMismatch { .. } | Error::Config(_) | Error::Format { .. }
                ),
                "{error:?}"
            );
        }
    }
}
