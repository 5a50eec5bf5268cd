//! Subword focus vectors: the n-grams and their index, the trainer's steps against exact
//! sequential ones, the read-outs, and saving and loading.

use std::io::Write;
use std::path::{Path, PathBuf};

use bilinear_skipgram::loss::loss_and_gradient;
use bilinear_skipgram::subwords::{SubwordConfig, SubwordIndex, Subwords};
use bilinear_skipgram::{
    ConfigError, Corpus, Error, LearningRateSchedule, Model, NoProgress, OffsetInteractionKind,
    OovPolicy, TrainConfig, VectorKind, Vocab, WindowMode, load_model, save_model, train,
    train_model,
};
use ndarray::{Array1, Array2, array};

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(text.as_bytes()).expect("write");
    path
}

#[test]
fn ngrams_are_characters_of_the_marked_word() {
    let config = SubwordConfig::new(2, 3).expect("lengths");
    assert_eq!(
        config.ngrams("éa"),
        ["<é", "<éa", "éa", "éa>", "a>"],
        "characters, not bytes"
    );
    // A word shorter than min_n - 2 has only its whole marked form, if that is long enough.
    assert_eq!(SubwordConfig::new(3, 6).expect("ok").ngrams("a"), ["<a>"]);
    assert!(SubwordConfig::new(4, 6).expect("ok").ngrams("a").is_empty());
    assert_eq!("4".parse::<SubwordConfig>().expect("one length").max_n(), 4);
}

#[test]
fn bad_lengths_are_refused_by_name() {
    for (text, field) in [
        ("0-3", "subword_min_n"),
        ("4-3", "subword_max_n"),
        ("3-99", "subword_max_n"),
    ] {
        match text.parse::<SubwordConfig>() {
            Err(
                ConfigError::TooSmall { field: f, .. } | ConfigError::TooLarge { field: f, .. },
            ) => {
                assert_eq!(f, field, "{text}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    for text in ["", "3-", "a-b", "3-6-9"] {
        let error = text.parse::<SubwordConfig>().expect_err(text);
        assert!(
            error
                .to_string()
                .starts_with("subword n-gram lengths must be `MIN-MAX`"),
            "{text}: {error}"
        );
    }
    let error = SubwordConfig::default()
        .with_min_words(0)
        .expect_err("0 words");
    assert!(error.to_string().contains("subword_min_words"), "{error}");
    for weight in [0.0, -1.0, 1e7, f32::NAN, f32::INFINITY] {
        let error = SubwordConfig::default()
            .with_word_weight(weight)
            .expect_err("weight");
        assert!(
            error.to_string().contains("subword_word_weight"),
            "{weight}: {error}"
        );
        let error = SubwordConfig::default()
            .with_readout_weight(weight)
            .expect_err("weight");
        assert!(
            error.to_string().contains("subword_readout_weight"),
            "{weight}: {error}"
        );
    }
    let config = SubwordConfig::default()
        .with_word_weight(1e-3)
        .expect("small");
    assert_eq!(config.word_weight(), 1e-3);
}

#[test]
fn the_index_keeps_the_ngrams_enough_words_share() {
    let words = ["walk", "walked", "talk", "ox"];
    let config = SubwordConfig::new(3, 3).expect("lengths");
    let index = SubwordIndex::new(&words, config).expect("index");
    let texts = |w: usize| -> Vec<&str> {
        index
            .word_ngrams(w)
            .map(|g| index.ngram(g).expect("kept"))
            .collect()
    };
    assert_eq!(texts(0), ["<wa", "wal", "alk", "lk>"]);
    assert_eq!(texts(1), ["<wa", "wal", "alk"]);
    assert_eq!(texts(2), ["alk", "lk>"]);
    assert!(texts(3).is_empty());
    assert_eq!(index.n_ngrams(), 4);
    // Every n-gram, shared or not, with min_words 1.
    let all = SubwordIndex::new(&words, config.with_min_words(1).expect("ok")).expect("index");
    assert_eq!(all.word_ngrams(3).count(), 2); // <ox, ox>
    assert_eq!(all.n_ngrams(), 4 + 3 + 2 + 2);
    // Out of the vocabulary: the kept n-grams of any string.
    let stalk: Vec<&str> = index
        .ngrams_of("stalk")
        .into_iter()
        .map(|g| index.ngram(g).expect("kept"))
        .collect();
    assert_eq!(stalk, ["alk", "lk>"]);
    // A word's repeated n-gram counts each time.
    let banana = SubwordIndex::new(&["banana", "ana"], config).expect("index");
    let ana = banana.ngram_id("ana").expect("shared");
    assert_eq!(banana.word_ngrams(0).filter(|&g| g == ana).count(), 2);
}

/// Three words that share n-grams (2 to 3 characters, kept when 2 words have them).
fn three_words() -> (Vocab, SubwordIndex) {
    let vocab = Vocab::from_counts(
        [
            ("ab".to_string(), 2),
            ("abc".to_string(), 0),
            ("bc".to_string(), 0),
        ],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let config = SubwordConfig::new(2, 3).expect("lengths");
    let index = SubwordIndex::new(vocab.words(), config).expect("index");
    (vocab, index)
}

fn start_model(index: &SubwordIndex) -> Model {
    let dim = 3;
    let table = Array2::from_shape_fn((index.n_ngrams(), dim), |(g, m)| {
        0.3 * (((g * 5 + m * 3) % 7) as f32 / 7.0 - 0.5)
    });
    Model::from_parts(
        array![[0.3_f32, -0.2, 0.5], [-0.4, 0.1, 0.2], [0.2, 0.3, -0.3]],
        array![[0.2_f32, 0.4, -0.1], [0.1, -0.3, 0.6], [-0.5, 0.2, 0.1]],
        Array2::eye(dim),
    )
    .expect("shapes")
    .with_subwords(Subwords::new(index.clone(), table, dim).expect("table"))
    .expect("subwords")
}

#[test]
fn focus_vectors_average_a_word_row_with_its_ngram_rows() {
    let (_, index) = three_words();
    // <a, <ab, ab, bc, bc>, c> are shared: "ab" has 3 of them, "abc" 6, "bc" 3.
    assert_eq!(
        (0..3)
            .map(|w| index.word_ngrams(w).count())
            .collect::<Vec<_>>(),
        [3, 6, 3]
    );
    // The scores' focus vectors at the default weight (2) and at fastText's plain mean (1),
    // and the read-out's at 1 (the default) and 0.5.
    let (vocab, _) = three_words();
    for (weight, readout) in [(2.0, 1.0), (1.0, 0.5)] {
        let config = index
            .config()
            .with_word_weight(weight)
            .and_then(|c| c.with_readout_weight(readout))
            .expect("weights");
        let index = SubwordIndex::new(vocab.words(), config).expect("index");
        let model = start_model(&index);
        let subwords = model.subwords().expect("subwords");
        for (a, vectors) in [
            (weight, model.focus_vectors()),
            (readout, model.readout_focus_vectors()),
        ] {
            for w in 0..3 {
                let mut want = model.focus_embeddings().row(w).to_owned() * a;
                for g in index.word_ngrams(w) {
                    want += &subwords.table().row(g as usize);
                }
                want /= a + index.word_ngrams(w).count() as f32;
                let gap = (&vectors.row(w) - &want)
                    .mapv(f32::abs)
                    .fold(0.0_f32, |m, &x| m.max(x));
                assert!(
                    gap < 1e-7,
                    "weight {a}, word {w}: {} vs {want}",
                    vectors.row(w)
                );
            }
        }
    }
    // A column-major or transposed U composes the same.
    {
        let model = start_model(&index);
        let subwords = model.subwords().expect("subwords");
        let u = model.focus_embeddings();
        let transposed = u.t().to_owned();
        let want = subwords.focus_vectors(u).expect("shapes");
        assert_eq!(
            subwords.focus_vectors(transposed.t()).expect("shapes"),
            want
        );
        let column_major = Model::from_parts(
            transposed.reversed_axes(),
            model.context_embeddings().to_owned(),
            model.interaction().to_owned(),
        )
        .expect("shapes")
        .with_subwords(subwords.clone())
        .expect("subwords");
        assert_eq!(column_major.focus_vectors(), want);
    }
    let defaults = index.config();
    assert_eq!(
        (defaults.word_weight(), defaults.readout_weight()),
        (2.0, 0.25)
    );
    let model = start_model(&index);
    let subwords = model.subwords().expect("subwords");
    assert_ne!(model.focus_vectors(), model.readout_focus_vectors());
    let focus = model.readout_focus_vectors();
    // Every read-out starts from the read-out's: the focus kind is those vectors, and a
    // model whose U holds them gives the same score read-out.
    assert_eq!(model.word_vectors(VectorKind::Focus), focus);
    let plain = Model::from_parts(
        focus.to_owned(),
        model.context_embeddings().to_owned(),
        model.interaction().to_owned(),
    )
    .expect("shapes");
    for kind in [
        VectorKind::ScoreSmoothed,
        VectorKind::Sum,
        VectorKind::BalancedFocus,
    ] {
        assert_eq!(
            model.word_vectors(kind),
            plain.word_vectors(kind),
            "{kind:?}"
        );
    }
    // Out of the vocabulary: the mean of the kept n-grams' rows.
    let v = subwords.ngram_vector("abx").expect("<a, <ab, ab");
    let want = (0..3)
        .map(|k| subwords.table().row(k).to_owned())
        .fold(Array1::<f32>::zeros(3), |a, b| a + b)
        / 3.0;
    assert!((&v - &want).iter().all(|x| x.abs() < 1e-7), "{v} vs {want}");
    assert!(subwords.ngram_vector("zz").is_none());
}

fn step_config(subwords: SubwordConfig) -> TrainConfig {
    TrainConfig::builder()
        .dim(3)
        .window(2)
        .window_mode(WindowMode::Fixed)
        .negatives(2)
        .epochs(1)
        .min_count(1)
        .subsample(0.0)
        .threads(1)
        .learning_rate(0.2)
        .interaction_learning_rate(0.0)
        .offset_interactions(OffsetInteractionKind::None)
        .schedule(LearningRateSchedule::Constant)
        .merge_interval(3)
        .heldout_pairs(0)
        .subwords(Some(subwords))
        .build()
        .expect("valid")
}

/// Training on "ab abc bc" (one block of the three focus words, every negative `ab`)
/// equals the exact steps: each focus vector composed at the start of the block, the
/// pairs in order with `V` stepped at once, and at the end of the block the word's own
/// row and each of its n-grams' rows stepped by `−α ∂J/∂u_w` summed over its pairs.
#[test]
fn a_block_with_subwords_equals_exact_sequential_steps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "abc.txt", "ab abc bc\n");
    let (vocab, index) = three_words();
    let config = step_config(index.config());
    let mut model = start_model(&index);
    let start = model.clone();
    let corpus = Corpus::new([&path], config.corpus_options().clone());
    let report = train_model(&config, &vocab, &mut model, &corpus, NoProgress).expect("trains");
    assert_eq!(report.pairs, 6);

    let rate = 0.2_f32;
    let u = start.focus_vectors().to_owned();
    let mut v = start.context_embeddings().to_owned();
    let mut rows = start.focus_embeddings().to_owned();
    let mut table = start.subwords().expect("subwords").table().to_owned();
    let w = start.interaction().to_owned();
    let block: [(usize, [usize; 2]); 3] = [(0, [1, 2]), (1, [0, 2]), (2, [0, 1])];
    for (focus, contexts) in block {
        let mut gradient = Array1::<f32>::zeros(3);
        for context in contexts {
            let rows_v =
                Array2::from_shape_fn(
                    (3, 3),
                    |(k, m)| if k == 0 { v[[context, m]] } else { v[[0, m]] },
                );
            let g = loss_and_gradient(u.row(focus), rows_v.view(), w.view(), None).expect("shapes");
            v.row_mut(context).scaled_add(-rate, &g.contexts.row(0));
            for k in 1..3 {
                v.row_mut(0).scaled_add(-rate, &g.contexts.row(k));
            }
            gradient += &g.focus;
        }
        rows.row_mut(focus).scaled_add(-rate, &gradient);
        for g in index.word_ngrams(focus) {
            table.row_mut(g as usize).scaled_add(-rate, &gradient);
        }
    }
    let gap = |a: ndarray::ArrayView2<f32>, b: ndarray::ArrayView2<f32>| {
        a.iter()
            .zip(b)
            .fold(0.0_f32, |m, (x, y)| m.max((x - y).abs()))
    };
    let trained = model.subwords().expect("subwords").table();
    assert!(gap(model.focus_embeddings(), rows.view()) < 1e-6, "U");
    assert!(gap(model.context_embeddings(), v.view()) < 1e-6, "V");
    assert!(gap(trained, table.view()) < 1e-6, "Z");
    // The test would see a wrong Z: every n-gram row moved.
    let start_table = start.subwords().expect("subwords").table();
    for g in 0..index.n_ngrams() {
        assert!(
            gap(
                trained.row(g).insert_axis(ndarray::Axis(0)),
                start_table.row(g).insert_axis(ndarray::Axis(0))
            ) > 1e-4,
            "n-gram {g}"
        );
    }
}

/// The score read-out reproduces the scores of the focus vectors it starts from: the
/// model's own, `v_cᵀ W u_w`, when the read-out weight equals the word weight, and the
/// lighter-weighted vectors' otherwise.
#[test]
fn the_score_read_out_reproduces_the_scores_of_its_focus_vectors() {
    let (vocab, index) = three_words();
    let scores = |model: &Model, u: ndarray::ArrayView2<f32>| {
        model
            .context_embeddings()
            .dot(&model.interaction())
            .dot(&u.t())
    };
    for readout in [2.0, 1.0] {
        let config = index.config().with_readout_weight(readout).expect("weight");
        let model = start_model(&SubwordIndex::new(vocab.words(), config).expect("index"));
        let read = model.score_read_out();
        let product = read.context.dot(&read.focus.t());
        let want = scores(&model, model.readout_focus_vectors().view());
        let gap = (&product - &want)
            .mapv(f32::abs)
            .fold(0.0_f32, |m, &x| m.max(x));
        assert!(gap < 1e-5, "read-out weight {readout}: {product} vs {want}");
        let model_scores = scores(&model, model.focus_vectors().view());
        let gap = (&product - &model_scores)
            .mapv(f32::abs)
            .fold(0.0_f32, |m, &x| m.max(x));
        if readout == 2.0 {
            assert!(gap < 1e-5, "{product} vs {model_scores}");
        } else {
            assert!(gap > 1e-3, "a lighter own row changes the scores read");
        }
    }
}

/// An n-gram a word has several times counts that often in its focus vector, but its row
/// takes the word's step once, like the word's own row: otherwise `u_w` would move by a
/// multiple of its step (about 300 times for a token of 1 000 equal letters).
#[test]
fn a_repeated_ngram_takes_the_step_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "aaaa.txt", "aaaa b\n");
    // `aa` is never met in the corpus; it only makes `<a`, `aa`, `a>` shared n-grams.
    let vocab = Vocab::from_counts(
        [
            ("aaaa".to_string(), 3),
            ("b".to_string(), 2),
            ("aa".to_string(), 0),
        ],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let config = SubwordConfig::new(2, 2).expect("lengths");
    let index = SubwordIndex::new(vocab.words(), config).expect("index");
    let grams: Vec<&str> = index
        .word_ngrams(0)
        .map(|g| index.ngram(g).expect("kept"))
        .collect();
    assert_eq!(grams, ["<a", "aa", "aa", "aa", "a>"]);
    let mut model = start_model(&index);
    let start = model.clone();
    let corpus = Corpus::new([&path], config_for(&index).corpus_options().clone());
    train_model(&config_for(&index), &vocab, &mut model, &corpus, NoProgress).expect("trains");
    let moved = |a: ndarray::ArrayView1<f32>, b: ndarray::ArrayView1<f32>| &a - &b;
    let own = moved(
        model.focus_embeddings().row(0),
        start.focus_embeddings().row(0),
    );
    assert!(own.iter().any(|x| x.abs() > 1e-4), "the word moved: {own}");
    let (after, before) = (
        model.subwords().expect("subwords").table(),
        start.subwords().expect("subwords").table(),
    );
    for g in 0..index.n_ngrams() {
        let step = moved(after.row(g), before.row(g));
        let gap = (&step - &own)
            .mapv(f32::abs)
            .fold(0.0_f32, |m, &x| m.max(x));
        assert!(gap < 1e-7, "n-gram {g}: {step} against the word's {own}");
    }
}

fn config_for(index: &SubwordIndex) -> TrainConfig {
    step_config(index.config())
}

#[test]
fn a_model_without_the_configured_subwords_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "abc.txt", "ab abc bc\n");
    let (vocab, index) = three_words();
    let corpus = Corpus::new([&path], Default::default());
    // The configuration asks for subwords, the model has none.
    let config = step_config(index.config());
    let mut plain = Model::from_parts(Array2::zeros((3, 3)), Array2::zeros((3, 3)), Array2::eye(3))
        .expect("shapes");
    let error = train_model(&config, &vocab, &mut plain, &corpus, NoProgress).expect_err("refused");
    assert!(
        error.to_string().contains("the model has no subwords"),
        "{error}"
    );
    // Other lengths than the model's.
    let other = step_config(SubwordConfig::new(2, 4).expect("ok"));
    let mut model = start_model(&index);
    let error = train_model(&other, &vocab, &mut model, &corpus, NoProgress).expect_err("refused");
    assert!(error.to_string().contains("subwords 2-3"), "{error}");
    assert!(error.to_string().contains("subwords 2-4"), "{error}");
}

#[test]
fn a_model_indexed_from_other_words_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "abc.txt", "ab abc bc\n");
    let (vocab, index) = three_words();
    let corpus = Corpus::new([&path], Default::default());
    let config = config_for(&index);
    // The same three words in another order: rows and n-gram lists no longer match.
    let reordered = Vocab::from_counts(
        ["bc", "abc", "ab"].map(|w| (w.to_string(), 1)),
        OovPolicy::Drop,
    )
    .expect("vocab");
    assert!(index.indexes(vocab.words()) && !index.indexes(reordered.words()));
    let says = |error: Error| {
        assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
        assert!(error.to_string().contains("n-gram index"), "{error}");
    };
    let mut model = start_model(&index);
    says(train_model(&config, &reordered, &mut model, &corpus, NoProgress).expect_err("train"));
    assert_eq!(model, start_model(&index), "refused before any step");
    says(save_model(dir.path().join("saved"), &model, &reordered).expect_err("save"));
    assert!(!dir.path().join("saved").exists(), "nothing written");
    says(
        bilinear_skipgram::Embeddings::from_model(&model, &reordered, VectorKind::default())
            .expect_err("embeddings"),
    );
    let state = bilinear_skipgram::checkpoint::TrainState::new(&config, Vec::new());
    says(
        bilinear_skipgram::Checkpoint::new(config.clone(), reordered, model.clone(), state)
            .expect_err("checkpoint"),
    );
    // The vocabulary the index was built from passes every check.
    save_model(dir.path().join("saved"), &model, &vocab).expect("saves");
}

fn bundled_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/kjv.txt.xz")
}

#[test]
fn a_trained_subword_model_saves_and_loads_whole() {
    let config = TrainConfig::builder()
        .dim(8)
        .epochs(1)
        .min_count(20)
        .threads(1)
        .subwords(Some(SubwordConfig::default()))
        .build()
        .expect("config");
    let trained = train(&config, [bundled_corpus()], NoProgress).expect("trains");
    let subwords = trained.model.subwords().expect("subwords");
    assert_eq!(subwords.index().n_words(), trained.vocab.len());
    assert!(subwords.index().n_ngrams() > 1000);
    assert!(trained.report.epoch_losses[0].is_finite());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("model");
    trained.save(&out).expect("saves");
    let back = bilinear_skipgram::Trained::load(&out).expect("loads");
    assert_eq!(back.model, trained.model);
    assert_eq!(back.config.subwords(), Some(SubwordConfig::default()));
    // A plain model folder too.
    let plain = dir.path().join("plain");
    save_model(&plain, &trained.model, &trained.vocab).expect("saves");
    let (model, _) = load_model(&plain, OovPolicy::Drop).expect("loads");
    assert_eq!(model, trained.model);

    // Z.txt that is not what it should be, and Z.npy alone.
    let broken = |name: &str, edit: &dyn Fn(&Path)| -> Error {
        let copy = dir.path().join(name);
        save_model(&copy, &trained.model, &trained.vocab).expect("saves");
        std::fs::remove_file(copy.join("MANIFEST")).expect("unlisted");
        edit(&copy);
        load_model(&copy, OovPolicy::Drop).expect_err(name)
    };
    let error = broken("lengths", &|d| {
        std::fs::write(d.join("Z.txt"), "min_n = 3\nmax_n = 2\nmin_words = 2\n").expect("write");
    });
    assert!(
        error.to_string().contains("Z.txt") && error.to_string().contains("line 2"),
        "{error}"
    );
    let error = broken("other", &|d| {
        std::fs::write(d.join("Z.txt"), "min_n = 3\nmax_n = 5\nmin_words = 2\n").expect("write");
    });
    assert!(error.to_string().contains("Z.npy"), "{error}");
    let error = broken("missing", &|d| {
        std::fs::write(d.join("Z.txt"), "min_n = 3\nmax_n = 6\n").expect("write");
    });
    assert!(
        error.to_string().contains("line 3") && error.to_string().contains("min_words"),
        "{error}"
    );
    let error = broken("weight", &|d| {
        let info = std::fs::read_to_string(d.join("Z.txt")).expect("read");
        assert!(
            info.ends_with("word_weight = 2\nreadout_weight = 0.25\n"),
            "{info}"
        );
        std::fs::write(
            d.join("Z.txt"),
            info.replace("word_weight = 2", "word_weight = 0"),
        )
        .expect("write");
    });
    assert!(
        error.to_string().contains("line 4") && error.to_string().contains("subword_word_weight"),
        "{error}"
    );
    let error = broken("readout", &|d| {
        let info = std::fs::read_to_string(d.join("Z.txt")).expect("read");
        let info = info.replace("readout_weight = 0.25", "readout_weight = x");
        std::fs::write(d.join("Z.txt"), info).expect("write");
    });
    assert!(
        error.to_string().contains("line 5") && error.to_string().contains("readout_weight`: x"),
        "{error}"
    );
    // Without the weights (written before they existed): fastText's plain mean, 1.
    let older = dir.path().join("older");
    save_model(&older, &trained.model, &trained.vocab).expect("saves");
    std::fs::remove_file(older.join("MANIFEST")).expect("unlisted");
    let info = std::fs::read_to_string(older.join("Z.txt")).expect("read");
    let info = info
        .replace("word_weight = 2\n", "")
        .replace("readout_weight = 0.25\n", "");
    std::fs::write(older.join("Z.txt"), info).expect("write");
    let (model, _) = load_model(&older, OovPolicy::Drop).expect("loads");
    let config = model.subwords().expect("subwords").index().config();
    assert_eq!((config.word_weight(), config.readout_weight()), (1.0, 1.0));
    assert_eq!(model.focus_embeddings(), trained.model.focus_embeddings());
    // With the word weight but not the read-out weight: read at the word weight.
    save_model(&older, &trained.model, &trained.vocab).expect("saves");
    std::fs::remove_file(older.join("MANIFEST")).expect("unlisted");
    let info = std::fs::read_to_string(older.join("Z.txt")).expect("read");
    let info = info.replace("readout_weight = 0.25\n", "");
    std::fs::write(older.join("Z.txt"), info).expect("write");
    let (model, _) = load_model(&older, OovPolicy::Drop).expect("loads");
    let config = model.subwords().expect("subwords").index().config();
    assert_eq!((config.word_weight(), config.readout_weight()), (2.0, 2.0));
    let error = broken("alone", &|d| {
        std::fs::remove_file(d.join("Z.txt")).expect("rm")
    });
    assert!(error.to_string().contains("there is no Z.txt"), "{error}");
    // Saving a model without subwords over it removes Z.npy and Z.txt.
    let without = Model::from_parts(
        trained.model.focus_embeddings().to_owned(),
        trained.model.context_embeddings().to_owned(),
        trained.model.interaction().to_owned(),
    )
    .expect("shapes");
    save_model(&plain, &without, &trained.vocab).expect("saves");
    assert!(!plain.join("Z.npy").exists() && !plain.join("Z.txt").exists());
    let (model, _) = load_model(&plain, OovPolicy::Drop).expect("loads");
    assert!(model.subwords().is_none());
}

#[test]
fn the_course_trainers_refuse_subwords() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "abc.txt", "ab abc bc\n");
    let (vocab, index) = three_words();
    let mut model = start_model(&index);
    let error = bilinear_skipgram::course_minibatch_step(
        &mut model,
        &[0],
        ndarray::array![[1_usize, 0, 0]].view(),
        1.0,
    )
    .expect_err("refused");
    assert!(error.to_string().contains("subwords"), "{error}");
    let config = step_config(index.config());
    let error =
        bilinear_skipgram::train_course(&config, &vocab, &mut model, [&path], 2, NoProgress)
            .expect_err("refused");
    assert!(error.to_string().contains("subwords"), "{error}");
}

mod gradients {
    //! `∂J/∂x_w = a ∂J/∂u_w / (a + |G_w|)` and `∂J/∂z_g = k_g ∂J/∂u_w / (a + |G_w|)` for an
    //! n-gram that occurs `k_g` times in the word (`a` the word weight), against central
    //! finite differences of `J` as a function of the rows (`f64`).

    use bilinear_skipgram::loss::loss_and_gradient;
    use ndarray::{Array1, Array2};
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// `u = (a·x + Σ_g z_g) / (a + |grams|)`.
    fn compose(a: f64, x: &Array1<f64>, z: &Array2<f64>, grams: &[usize]) -> Array1<f64> {
        let mut u = x * a;
        for &g in grams {
            u += &z.row(g);
        }
        u / (a + grams.len() as f64)
    }

    fn loss(
        (a, x): (f64, &Array1<f64>),
        z: &Array2<f64>,
        grams: &[usize],
        c: &Array2<f64>,
        w: &Array2<f64>,
    ) -> f64 {
        let u = compose(a, x, z, grams);
        loss_and_gradient(u.view(), c.view(), w.view(), None)
            .expect("shapes")
            .loss
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn row_gradients_match_finite_differences(
            (m, n, k) in (1_usize..8, 0_usize..4, 1_usize..5),
            seed in any::<u64>(),
            grams in vec(0_usize..5, 0..8),
            a in 0.1_f64..5.0,
        ) {
            use rand::{RngExt, SeedableRng};
            let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut draw = |rows: usize, cols: usize| {
                Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.0..1.0))
            };
            let grams: Vec<usize> = grams.into_iter().map(|g| g % k).collect();
            let x = draw(1, m).row(0).to_owned();
            let (z, c, w) = (draw(k, m), draw(n + 1, m), draw(m, m));
            let u = compose(a, &x, &z, &grams);
            let g_u = loss_and_gradient(u.view(), c.view(), w.view(), None).expect("shapes").focus;
            let share = g_u / (a + grams.len() as f64);
            let h = 1e-5;
            // Scores are at most M·(1 + n)·... in size here; the central difference's
            // truncation (h² |J'''|) and rounding (ε |J| / h) stay far below 1e-7.
            let tolerance = 1e-7 * (1.0 + (m * m) as f64);
            for i in 0..m {
                let (mut up, mut down) = (x.clone(), x.clone());
                up[i] += h;
                down[i] -= h;
                let fd = (loss((a, &up), &z, &grams, &c, &w) - loss((a, &down), &z, &grams, &c, &w)) / (2.0 * h);
                let want = a * share[i];
                prop_assert!((fd - want).abs() < tolerance, "x[{i}]: {fd} vs {want}");
            }
            for g in 0..k {
                let times = grams.iter().filter(|&&q| q == g).count() as f64;
                for i in 0..m {
                    let (mut up, mut down) = (z.clone(), z.clone());
                    up[[g, i]] += h;
                    down[[g, i]] -= h;
                    let fd = (loss((a, &x), &up, &grams, &c, &w) - loss((a, &x), &down, &grams, &c, &w)) / (2.0 * h);
                    let want = times * share[i];
                    prop_assert!((fd - want).abs() < tolerance, "z[{g}, {i}] ({times} times): {fd} vs {want}");
                }
            }
        }
    }
}
