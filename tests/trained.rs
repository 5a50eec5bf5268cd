//! Whole-model folders: `Trained::save` and `Trained::load` keep every part of a trained
//! model, a loaded model trains on exactly as the original would, and a folder missing a
//! part or holding a damaged file is refused with an error naming the file.

use std::fs;
use std::path::{Path, PathBuf};

use bilinear_skipgram::{
    Corpus, Embeddings, Error, InteractionDiagnostics, InteractionOptimizer, NoProgress,
    OffsetInteractionKind, OovPolicy, TrainConfig, Trained, VectorKind, io::CONFIG_FILE,
    io::HELDOUT_FILE, io::MANIFEST_FILE, io::REPORT_FILE, load_model, save_model, train,
    train_model,
};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// `n` lines of 10 words out of 30.
fn corpus(n: usize, seed: u64) -> String {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut text = String::new();
    for _ in 0..n {
        let words: Vec<String> = (0..10)
            .map(|_| format!("w{}", rng.random_range(0..30)))
            .collect();
        text.push_str(&words.join(" "));
        text.push('\n');
    }
    text
}

fn config(offsets: OffsetInteractionKind, oov: OovPolicy) -> TrainConfig {
    TrainConfig::builder()
        .dim(6)
        .window(2)
        .epochs(2)
        .min_count(2)
        .threads(1)
        .interaction_learning_rate(0.005)
        .interaction_optimizer(InteractionOptimizer::AdaGrad)
        .offset_interactions(offsets)
        .oov(oov)
        // Short n-grams, so that the words `w0` … `w29` share some (`<w`, `w1`, …).
        .subwords(Some(
            bilinear_skipgram::subwords::SubwordConfig::new(2, 3).expect("lengths"),
        ))
        .heldout_pairs(100)
        .seed(3)
        .build()
        .expect("valid")
}

fn trained(dir: &Path, offsets: OffsetInteractionKind, oov: OovPolicy) -> (Trained, PathBuf) {
    let path = dir.join("corpus.txt");
    fs::write(&path, corpus(400, 1)).expect("write corpus");
    let trained = train(&config(offsets, oov), [&path], NoProgress).expect("trains");
    (trained, path)
}

fn assert_same(loaded: &Trained, original: &Trained) {
    assert_eq!(loaded.vocab, original.vocab);
    assert_eq!(loaded.vocab.counts(), original.vocab.counts());
    assert_eq!(loaded.vocab.oov_policy(), original.vocab.oov_policy());
    assert_eq!(loaded.model, original.model);
    assert_eq!(
        loaded.model.offset_interactions(),
        original.model.offset_interactions()
    );
    assert_eq!(loaded.config, original.config);
    assert_eq!(loaded.report, original.report);
    assert_eq!(loaded.heldout, original.heldout);
}

#[test]
fn every_part_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (offsets, oov) in [
        (OffsetInteractionKind::None, OovPolicy::Drop),
        (OffsetInteractionKind::Diagonal, OovPolicy::Unk),
        (OffsetInteractionKind::Full, OovPolicy::Drop),
    ] {
        let (mut original, _) = trained(dir.path(), offsets, oov);
        assert!(
            original.heldout.is_some(),
            "the corpus has a held-out sample"
        );
        assert_eq!(
            original.model.offset_interactions().kind(),
            offsets,
            "{offsets:?}"
        );
        // Every kind of value the report format holds, including the awkward ones.
        original
            .report
            .recovered
            .push("diverged: a \\ backslash,\na line break\r and = signs ".to_owned());
        original.report.recovered.push(String::new());
        original.report.seconds = f64::INFINITY;
        original.report.epoch_heldout_losses[0] = None;
        original.report.epoch_interactions[1] = None;
        original.report.epoch_interactions[0] = Some(interaction(1e-300, f64::INFINITY));
        original.report.epoch_losses[1] = 1.0 / 3.0;

        let out = dir.path().join(format!("model-{offsets:?}"));
        original.save(&out).expect("saves");
        let loaded = Trained::load(&out).expect("loads");
        assert_same(&loaded, &original);
        // Saving again over the folder replaces it; the loaded model saves the same bytes.
        loaded.save(&out).expect("saves again");
        assert_same(&Trained::load(&out).expect("loads again"), &original);
    }
}

/// Diagnostics with the given values (the struct is non-exhaustive).
fn interaction(distance: f64, condition: f64) -> InteractionDiagnostics {
    let mut d = InteractionDiagnostics::of(ndarray::Array2::<f32>::eye(2).view());
    d.distance_from_identity = distance;
    d.condition_number = condition;
    d
}

#[test]
fn a_model_without_heldout_sample_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut original, _) = trained(dir.path(), OffsetInteractionKind::None, OovPolicy::Drop);
    original.heldout = None;
    original.report.epoch_losses.clear();
    original.report.epoch_heldout_losses.clear();
    original.report.epoch_interactions.clear();
    let out = dir.path().join("model");
    original.save(&out).expect("saves");
    assert!(!out.join(HELDOUT_FILE).exists());
    assert_same(&Trained::load(&out).expect("loads"), &original);
}

#[test]
fn a_loaded_model_is_queried_and_trains_on_as_the_original() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (original, corpus_path) =
        trained(dir.path(), OffsetInteractionKind::Diagonal, OovPolicy::Drop);
    let out = dir.path().join("model");
    original.save(&out).expect("saves");
    let mut loaded = Trained::load(&out).expect("loads");

    let kind = VectorKind::MappedContext;
    let from_loaded = loaded.embeddings_with(kind).expect("query");
    let from_original =
        Embeddings::from_model(&original.model, &original.vocab, kind).expect("query");
    assert_eq!(
        loaded.embeddings().expect("default kind"),
        Embeddings::from_model(&original.model, &original.vocab, VectorKind::default())
            .expect("query")
    );
    assert_eq!(
        from_loaded.most_similar(&["w1"], &[], 5).expect("query"),
        from_original.most_similar(&["w1"], &[], 5).expect("query")
    );
    let heldout = loaded.heldout.as_ref().expect("held out");
    assert_eq!(
        heldout.loss(&loaded.model).expect("loss"),
        original
            .heldout
            .as_ref()
            .expect("held out")
            .loss(&original.model)
            .expect("loss")
    );

    // One more run over the corpus from each gives the same model (one thread: the
    // trainer is deterministic).
    let corpus = Corpus::new([&corpus_path], original.config.corpus_options().clone());
    let mut further = original.model.clone();
    let a = train_model(
        &original.config,
        &original.vocab,
        &mut further,
        &corpus,
        NoProgress,
    )
    .expect("trains further");
    let b = train_model(
        &loaded.config,
        &loaded.vocab,
        &mut loaded.model,
        &corpus,
        NoProgress,
    )
    .expect("trains further");
    assert_eq!(a.epoch_losses, b.epoch_losses);
    assert_eq!(loaded.model, further);
    assert_ne!(further, original.model, "training changed the model");
}

/// Every file of a whole-model folder with offsets and a held-out sample.
const PARTS: [&str; 11] = [
    "U.npy",
    "V.npy",
    "W.npy",
    "vocab.txt",
    "D.npy",
    "D.txt",
    "Z.npy",
    "Z.txt",
    CONFIG_FILE,
    REPORT_FILE,
    HELDOUT_FILE,
];

fn saved(dir: &Path) -> PathBuf {
    let (original, _) = trained(dir, OffsetInteractionKind::Diagonal, OovPolicy::Drop);
    let out = dir.join("saved");
    original.save(&out).expect("saves");
    let mut names: Vec<String> = fs::read_dir(&out)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = PARTS
        .iter()
        .chain(&[MANIFEST_FILE])
        .map(|s| s.to_string())
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    out
}

fn copy_folder(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[test]
fn a_missing_part_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let saved = saved(dir.path());
    for part in PARTS {
        let out = dir.path().join(format!("without-{part}"));
        copy_folder(&saved, &out);
        fs::remove_file(out.join(part)).expect("remove");
        let error = Trained::load(&out).expect_err(part);
        assert!(
            error.to_string().contains(part),
            "{part}: {error} ({error:?})"
        );
        assert!(
            matches!(error, Error::File { .. } | Error::Format { .. }),
            "{part}: {error:?}"
        );
        // Without the manifest too, the missing file is named.
        fs::remove_file(out.join(MANIFEST_FILE)).expect("remove");
        if part != HELDOUT_FILE {
            let error = Trained::load(&out).expect_err(part);
            assert!(error.to_string().contains(part), "{part}: {error}");
        }
    }
}

#[test]
fn a_damaged_part_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let saved = saved(dir.path());
    for part in PARTS {
        let out = dir.path().join(format!("damaged-{part}"));
        copy_folder(&saved, &out);
        // One byte changed in the last line or value: the size is as listed, the CRC-32
        // is not.
        let path = out.join(part);
        let mut bytes = fs::read(&path).expect("read");
        let at = bytes.len() - 2;
        bytes[at] ^= 0x01;
        fs::write(&path, &bytes).expect("write");
        let error = Trained::load(&out).expect_err(part);
        assert!(matches!(error, Error::Format { .. }), "{part}: {error:?}");
        let message = error.to_string();
        assert!(
            message.contains(part) && message.contains("CRC-32"),
            "{part}: {message}"
        );
        // A truncated file: the size differs.
        fs::write(&path, &bytes[..bytes.len() - 1]).expect("write");
        let message = Trained::load(&out).expect_err(part).to_string();
        assert!(
            message.contains(part) && message.contains("bytes"),
            "{part}: {message}"
        );
    }
}

#[test]
fn malformed_text_parts_are_refused_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let saved = saved(dir.path());
    let cases: [(&str, &str, &str, u64); 8] = [
        (REPORT_FILE, "pairs = ", "pairs = many", 3),
        (REPORT_FILE, "words = ", "sentences = ", 2),
        (REPORT_FILE, "stopped_early = ", "stopped_early = maybe", 6),
        (REPORT_FILE, "epoch_losses = ", "epoch_losses = 1.0 x ", 7),
        (REPORT_FILE, "# bilinear", "# other", 1),
        (CONFIG_FILE, "dim = 6", "dim = six", 1),
        (HELDOUT_FILE, "pairs = ", "pairs = -", 4),
        (HELDOUT_FILE, "tokens = ", "tokens = 1 2", 2),
    ];
    for (part, find, replace, line) in cases {
        let out = dir.path().join(format!("malformed-{part}-{line}"));
        copy_folder(&saved, &out);
        // Without a manifest (a folder edited by hand), the parser is what refuses it.
        fs::remove_file(out.join(MANIFEST_FILE)).expect("remove");
        let path = out.join(part);
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.contains(find), "{part} holds {find:?}");
        fs::write(&path, text.replacen(find, replace, 1)).expect("write");
        let error = Trained::load(&out).expect_err(part);
        let Error::Parse {
            path: error_path,
            line: error_line,
            ..
        } = &error
        else {
            panic!("{part} {replace:?}: {error:?}");
        };
        assert_eq!(error_path, &path, "{error}");
        if part == CONFIG_FILE {
            // The configuration's line is wherever `dim` is.
            let dim_line = text
                .lines()
                .position(|l| l.starts_with("dim ="))
                .expect("dim");
            assert_eq!(*error_line, dim_line as u64 + 1, "{error}");
        } else {
            assert_eq!(*error_line, line, "{part} {replace:?}: {error}");
        }
    }
}

#[test]
fn a_plain_model_folder_is_read_by_load_model_and_named_by_trained_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (original, _) = trained(dir.path(), OffsetInteractionKind::None, OovPolicy::Drop);
    let plain = dir.path().join("plain");
    save_model(&plain, &original.model, &original.vocab).expect("saves");
    let error = Trained::load(&plain).expect_err("no configuration");
    assert!(matches!(error, Error::Format { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(CONFIG_FILE) && message.contains("load_model"),
        "{message}"
    );
    let (model, vocab) = load_model(&plain, OovPolicy::Drop).expect("plain folder");
    assert_eq!(model, original.model);
    assert_eq!(vocab, original.vocab);
    // A whole-model folder is still a model folder.
    let whole = dir.path().join("whole");
    original.save(&whole).expect("saves");
    let (model, vocab) = load_model(&whole, OovPolicy::Drop).expect("whole folder");
    assert_eq!((model, vocab), (original.model, original.vocab));
}

#[test]
fn a_model_whose_parts_disagree_is_not_saved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut original, _) = trained(dir.path(), OffsetInteractionKind::None, OovPolicy::Drop);
    original.vocab = bilinear_skipgram::Vocab::from_counts(
        original
            .vocab
            .words()
            .iter()
            .cloned()
            .zip(original.vocab.counts().iter().copied()),
        OovPolicy::Unk,
    )
    .expect("vocab");
    let out = dir.path().join("model");
    let error = original.save(&out).expect_err("two OOV policies");
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    assert!(!out.exists(), "nothing is written");
}
