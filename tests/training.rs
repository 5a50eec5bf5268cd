//! End-to-end training tests: planted structure, falling loss, exact updates, determinism,
//! the course's minibatch step, and corpus edge cases.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use bilinear_skipgram::loss::loss_and_gradient;
use bilinear_skipgram::{
    Corpus, EmbeddingInit, Error, InteractionInit, InteractionOptimizer, LearningRateSchedule,
    Model, NoProgress, OffsetInteractionKind, OovPolicy, Progress, TrainConfig, VectorKind, Vocab,
    WindowMode, course_minibatch_step, eval::UnitVectors, train, train_course, train_model,
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

/// Two topics with disjoint vocabularies; sentences are random words of one topic.
fn two_topic_corpus(n_sentences: usize, seed: u64) -> String {
    let topics = [
        ["cat", "dog", "mouse", "pet", "fur", "paw", "tail", "bark"],
        [
            "car", "bus", "road", "wheel", "drive", "fuel", "lane", "truck",
        ],
    ];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut text = String::new();
    for _ in 0..n_sentences {
        let topic = &topics[rng.random_range(0..2)];
        let len = rng.random_range(5..12);
        let words: Vec<&str> = (0..len).map(|_| topic[rng.random_range(0..8)]).collect();
        text.push_str(&words.join(" "));
        text.push('\n');
    }
    text
}

fn mean_cosines(vectors: &Array2<f32>, vocab: &Vocab) -> (f64, f64) {
    let unit = UnitVectors::new(vectors.view());
    let topic_of = |w: &str| {
        if ["cat", "dog", "mouse", "pet", "fur", "paw", "tail", "bark"].contains(&w) {
            0
        } else {
            1
        }
    };
    let (mut within, mut n_within, mut across, mut n_across) = (0.0, 0, 0.0, 0);
    for i in 0..vocab.len() {
        for j in (i + 1)..vocab.len() {
            let cos = f64::from(unit.view().row(i).dot(&unit.view().row(j)));
            let (a, b) = (
                vocab.word(i).expect("word i"),
                vocab.word(j).expect("word j"),
            );
            if topic_of(a) == topic_of(b) {
                within += cos;
                n_within += 1;
            } else {
                across += cos;
                n_across += 1;
            }
        }
    }
    (within / n_within as f64, across / n_across as f64)
}

#[test]
fn planted_topics_are_recovered_with_one_and_two_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "topics.txt", &two_topic_corpus(3000, 1));
    for (threads, interaction_rate) in [(1, 0.0), (2, 0.0), (1, 0.0025), (2, 0.0025)] {
        let config = TrainConfig::builder()
            .dim(20)
            .window(3)
            .negatives(5)
            .epochs(5)
            .min_count(1)
            .subsample(0.0)
            .threads(threads)
            .interaction_learning_rate(interaction_rate)
            .seed(7)
            .build()
            .expect("valid config");
        let trained = train(&config, [&path], NoProgress).expect("trains");
        assert_eq!(trained.vocab.len(), 16);
        for kind in [VectorKind::Focus, VectorKind::MappedContext] {
            let (within, across) = mean_cosines(&trained.model.word_vectors(kind), &trained.vocab);
            assert!(
                within > across + 0.3,
                "{threads} threads, W rate {interaction_rate}, {kind:?}: \
                 within {within:.3} vs across {across:.3}"
            );
        }
    }
}

#[test]
fn training_loss_falls_and_progress_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "topics.txt", &two_topic_corpus(2000, 2));
    let config = TrainConfig::builder()
        .dim(16)
        .window(3)
        .epochs(4)
        .min_count(1)
        .subsample(0.0)
        .threads(2)
        .build()
        .expect("valid");
    let mut reports: Vec<Progress> = Vec::new();
    let mut observer = |p: &Progress| {
        reports.push(*p);
        ControlFlow::Continue(())
    };
    let trained = train(&config, [&path], &mut observer).expect("trains");
    let losses = &trained.report.epoch_losses;
    assert_eq!(losses.len(), 4);
    assert!(losses.iter().all(|l| l.is_finite() && *l > 0.0));
    // Lines are independent random draws, so the online loss falls over the epochs.
    assert!(
        losses[1] < losses[0] && losses[3] < losses[0] - 0.05,
        "loss did not fall: {losses:?}"
    );
    // (n + 1) ln 2 is the loss of an untrained model (all scores 0).
    assert!(losses[0] < 0.6 * 6.0 * 2f64.ln(), "{losses:?}");
    let last = reports.last().expect("at least one report");
    assert_eq!(last.words_done, last.words_total);
    assert_eq!(last.words_total, trained.report.words);
    assert!(
        reports
            .windows(2)
            .all(|w| w[0].words_done <= w[1].words_done)
    );
    assert!(last.learning_rate < config.learning_rate() * 0.01);
    let pairs: u64 = reports.iter().map(|p| p.interval_pairs).sum();
    assert_eq!(pairs, trained.report.pairs);
}

#[test]
fn one_thread_is_reproducible_bit_for_bit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "topics.txt", &two_topic_corpus(500, 3));
    let config = TrainConfig::builder()
        .dim(8)
        .epochs(2)
        .min_count(1)
        .threads(1)
        .interaction_learning_rate(0.01)
        .seed(11)
        .build()
        .expect("valid");
    let a = train(&config, [&path], NoProgress).expect("trains");
    let b = train(&config, [&path], NoProgress).expect("trains");
    assert_eq!(a.model, b.model);
    assert_eq!(a.report.epoch_losses, b.report.epoch_losses);
    let other = TrainConfig::builder()
        .dim(8)
        .epochs(2)
        .min_count(1)
        .threads(1)
        .interaction_learning_rate(0.01)
        .seed(12)
        .build()
        .expect("valid");
    let c = train(&other, [&path], NoProgress).expect("trains");
    assert_ne!(a.model, c.model);
}

/// One epoch, one thread, fixed window 1, no subsampling, constant rates: a configuration
/// whose updates can be computed by hand.
fn exact_step_config(
    dim: usize,
    negatives: usize,
    rate: f32,
    interaction_rate: f32,
    merge_interval: usize,
) -> TrainConfig {
    TrainConfig::builder()
        .dim(dim)
        .window(1)
        .window_mode(WindowMode::Fixed)
        .negatives(negatives)
        .epochs(1)
        .min_count(1)
        .subsample(0.0)
        .threads(1)
        .learning_rate(rate)
        .interaction_learning_rate(interaction_rate)
        .interaction_optimizer(InteractionOptimizer::Sgd)
        .offset_interactions(OffsetInteractionKind::None)
        .subwords(None)
        .schedule(LearningRateSchedule::Constant)
        .merge_interval(merge_interval)
        .build()
        .expect("valid")
}

/// A one-word vocabulary makes every negative the positive row itself, so the trainer's
/// result can be computed exactly from the loss module: two focus words, each with one
/// context, in a sentence "a a".
#[test]
fn online_updates_equal_the_loss_gradients_with_duplicate_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "aa.txt", "a a\n");
    let negatives = 3;
    let (rate, interaction_rate) = (0.1_f32, 0.05_f32);
    let config = exact_step_config(4, negatives, rate, interaction_rate, 1);
    let vocab = Vocab::from_counts([("a".to_string(), 2)], OovPolicy::Drop).expect("vocab");
    let mut model = Model::from_parts(
        array![[0.3_f32, -0.2, 0.5, 0.1]],
        array![[0.2_f32, 0.4, -0.1, 0.3]],
        array![
            [1.0_f32, 0.2, 0.0, -0.1],
            [0.1, 0.9, 0.3, 0.0],
            [0.0, -0.2, 1.1, 0.2],
            [0.3, 0.0, 0.1, 0.8]
        ],
    )
    .expect("shapes");
    let w_initial = model.interaction().to_owned();

    // Expected: two exact SGD steps on J, one per focus word.
    let (mut u, mut v, mut w) = model.clone().into_parts();
    let mut expected_loss = 0.0_f64;
    for _ in 0..2 {
        let contexts = Array2::from_shape_fn((negatives + 1, 4), |(_, m)| v[[0, m]]);
        let g = loss_and_gradient(u.row(0), contexts.view(), w.view(), None).expect("shapes");
        expected_loss += f64::from(g.loss);
        let dv = g.contexts.sum_axis(ndarray::Axis(0));
        v.row_mut(0).scaled_add(-rate, &dv);
        u.row_mut(0).scaled_add(-rate, &g.focus);
        w.scaled_add(-interaction_rate, &g.interaction);
    }

    let corpus = Corpus::new([&path], config.corpus_options().clone());
    let report = train_model(&config, &vocab, &mut model, &corpus, NoProgress).expect("trains");
    assert_eq!(report.pairs, 2);
    assert!((report.epoch_losses[0] * 2.0 - expected_loss).abs() < 1e-5);
    let close = |a: ndarray::ArrayView2<f32>, b: &Array2<f32>| {
        a.iter().zip(b.iter()).all(|(x, y)| (x - y).abs() < 1e-6)
    };
    assert!(
        close(model.focus_embeddings(), &u),
        "U {:?} vs {u:?}",
        model.focus_embeddings()
    );
    assert!(
        close(model.context_embeddings(), &v),
        "V {:?} vs {v:?}",
        model.context_embeddings()
    );
    assert!(
        close(model.interaction(), &w),
        "W {:?} vs {w:?}",
        model.interaction()
    );

    // Keeping only one of the n + 1 updates of the shared row (what the course's
    // fancy-index assignment `V[rows] -= ...` does) gives a visibly different V.
    let (u0, v0, w0) = (
        array![[0.3_f32, -0.2, 0.5, 0.1]],
        array![[0.2_f32, 0.4, -0.1, 0.3]],
        w_initial,
    );
    let contexts = Array2::from_shape_fn((negatives + 1, 4), |(_, m)| v0[[0, m]]);
    let g = loss_and_gradient(u0.row(0), contexts.view(), w0.view(), None).expect("shapes");
    let mut v_one = v0.clone();
    v_one.row_mut(0).scaled_add(-rate, &g.contexts.row(1));
    let mut v_all = v0.clone();
    v_all
        .row_mut(0)
        .scaled_add(-rate, &g.contexts.sum_axis(ndarray::Axis(0)));
    assert!((&v_one - &v_all).iter().any(|d| d.abs() > 1e-3));
}

/// The course's minibatch step, computed independently with scalar loops for M = 2, n = 1,
/// S = 2 (the two observations share the focus word and a context row), twice.
#[test]
#[allow(clippy::needless_range_loop)] // index loops mirror the formulas
fn course_minibatch_step_reproduces_two_hand_computed_steps() {
    let sigma = |x: f64| 1.0 / (1.0 + (-x).exp());
    let mut u = [[0.5_f64, -0.25], [0.1, 0.2], [-0.3, 0.05]];
    let mut v = [[0.3_f64, 0.1], [-0.2, 0.4], [0.05, -0.3]];
    let mut w = [[1.0_f64, 0.5], [-0.5, 1.0]];
    let focus_ids = [0_usize, 0];
    let context_ids = array![[1_usize, 2], [2, 1]];
    let alpha = 0.5_f64;

    let mut model = Model::from_parts(
        Array2::from_shape_fn((3, 2), |(i, j)| u[i][j] as f32),
        Array2::from_shape_fn((3, 2), |(i, j)| v[i][j] as f32),
        Array2::from_shape_fn((2, 2), |(i, j)| w[i][j] as f32),
    )
    .expect("shapes");

    for _step in 0..2 {
        let mut du = [[0.0_f64; 2]; 3];
        let mut dv = [[0.0_f64; 2]; 3];
        let mut dw = [[0.0_f64; 2]; 2];
        let mut mean_loss = 0.0;
        for k in 0..2 {
            let uw = u[focus_ids[k]];
            let h = [
                w[0][0] * uw[0] + w[0][1] * uw[1],
                w[1][0] * uw[0] + w[1][1] * uw[1],
            ];
            let mut e = [0.0; 2];
            for (j, &row) in context_ids.row(k).iter().enumerate() {
                let vr = v[row];
                let s = vr[0] * h[0] + vr[1] * h[1];
                let g = if j == 0 { sigma(s) - 1.0 } else { sigma(s) };
                mean_loss += if j == 0 {
                    -sigma(s).ln()
                } else {
                    -sigma(-s).ln()
                } / 2.0;
                for m in 0..2 {
                    dv[row][m] += g * h[m] / 2.0;
                    e[m] += g * vr[m];
                }
            }
            for m in 0..2 {
                du[focus_ids[k]][m] += (w[0][m] * e[0] + w[1][m] * e[1]) / 2.0;
                for n in 0..2 {
                    dw[m][n] += e[m] * uw[n] / 2.0;
                }
            }
        }
        let got = course_minibatch_step(&mut model, &focus_ids, context_ids.view(), alpha as f32)
            .expect("valid ids");
        assert!(
            (f64::from(got) - mean_loss).abs() < 1e-6,
            "{got} vs {mean_loss}"
        );
        for (row, d) in u.iter_mut().zip(&du) {
            for m in 0..2 {
                row[m] -= alpha * d[m];
            }
        }
        for i in 0..2 {
            for m in 0..2 {
                w[i][m] -= alpha * dw[i][m];
            }
        }
        for (row, d) in v.iter_mut().zip(&dv) {
            for m in 0..2 {
                row[m] -= alpha * d[m];
            }
        }
        for i in 0..2 {
            for m in 0..2 {
                assert!((f64::from(model.interaction()[[i, m]]) - w[i][m]).abs() < 1e-6);
            }
        }
        for i in 0..3 {
            for m in 0..2 {
                assert!((f64::from(model.focus_embeddings()[[i, m]]) - u[i][m]).abs() < 1e-6);
                assert!((f64::from(model.context_embeddings()[[i, m]]) - v[i][m]).abs() < 1e-6);
            }
        }
    }

    let bad = array![[1_usize, 7], [2, 1]];
    assert!(matches!(
        course_minibatch_step(&mut model, &focus_ids, bad.view(), 0.1),
        Err(Error::IndexOutOfRange { index: 7, .. })
    ));
    assert!(matches!(
        course_minibatch_step(&mut model, &[0], context_ids.view(), 0.1),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn course_trainer_runs_and_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "topics.txt", &two_topic_corpus(300, 4));
    let config = TrainConfig::builder()
        .dim(10)
        .window(3)
        .window_mode(WindowMode::Fixed)
        .epochs(3)
        .min_count(1)
        .subsample(0.0)
        .learning_rate(1.0)
        .schedule(LearningRateSchedule::Constant)
        .embedding_init(EmbeddingInit::Uniform)
        .interaction_init(InteractionInit::Uniform)
        .oov(OovPolicy::Unk)
        .markers(true)
        .offset_interactions(OffsetInteractionKind::None)
        .subwords(None)
        .build()
        .expect("valid");
    let corpus = Corpus::new([&path], config.corpus_options().clone());
    let vocab = bilinear_skipgram::VocabBuilder::count_corpus(&corpus)
        .expect("counts")
        .build(1, None, OovPolicy::Unk)
        .expect("vocab");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let mut model = Model::course(vocab.len(), 10, &mut rng);
    let report =
        train_course(&config, &vocab, &mut model, &corpus, 1000, NoProgress).expect("trains");
    assert_eq!(report.epoch_losses.len(), 3);
    assert!(report.epoch_losses.iter().all(|l| l.is_finite()));
    assert!(report.epoch_losses[2] < report.epoch_losses[0]);
    assert!(report.pairs > 0);
    let error =
        train_course(&config, &vocab, &mut model, &corpus, 0, NoProgress).expect_err("no batch");
    assert_eq!(
        error.to_string(),
        "invalid batch size: must be at least 1 observation, got 0"
    );
    // One word: every negative would be the positive itself (the loss was NaN).
    let one = Vocab::from_counts([("the".to_owned(), 9)], OovPolicy::Drop).expect("vocab");
    let mut small = Model::course(1, 10, &mut rng);
    assert!(matches!(
        train_course(&config, &one, &mut small, &corpus, 1000, NoProgress),
        Err(Error::NothingToTrain { .. })
    ));
    // The course has one W: a configuration with per-offset interactions is refused.
    let with_offsets = config
        .to_builder()
        .offset_interactions(OffsetInteractionKind::Diagonal)
        .build()
        .expect("valid");
    assert!(matches!(
        train_course(
            &with_offsets,
            &vocab,
            &mut model,
            &corpus,
            1000,
            &mut NoProgress
        ),
        Err(Error::InvalidArgument {
            what: "offset_interactions",
            ..
        })
    ));
}

#[test]
fn corpus_edge_cases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = TrainConfig::builder()
        .dim(4)
        .epochs(1)
        .min_count(1)
        .threads(2)
        .build()
        .expect("valid");

    let empty = write_file(dir.path(), "empty.txt", "");
    assert!(matches!(
        train(&config, [&empty], NoProgress),
        Err(Error::EmptyVocabulary(_))
    ));

    // One word gives no pair: nothing to train, refused before training.
    let one = write_file(dir.path(), "one.txt", "word\n");
    assert!(matches!(
        train(&config, [&one], NoProgress),
        Err(Error::NothingToTrain { .. })
    ));

    // One line of 100 000 tokens: every token is trained on, nothing is truncated; the
    // line is cut into sentences of at most MAX_SENTENCE_BYTES.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let long: Vec<String> = (0..100_000)
        .map(|_| format!("w{}", rng.random_range(0..50)))
        .collect();
    let long_path = write_file(dir.path(), "long.txt", &(long.join(" ") + "\n"));
    let no_subsampling = TrainConfig::builder()
        .dim(4)
        .epochs(1)
        .min_count(1)
        .threads(1)
        .subsample(0.0)
        .window(2)
        .window_mode(WindowMode::Fixed)
        .build()
        .expect("valid");
    let trained = train(&no_subsampling, [&long_path], NoProgress).expect("trains");
    assert_eq!(trained.report.words, 100_000);
    let mut stream = bilinear_skipgram::Corpus::new([&long_path], Default::default())
        .sentences()
        .expect("opens");
    let mut n_sentences = 0;
    while stream.next_sentence(|_| {}).expect("reads") {
        n_sentences += 1;
    }
    assert!(n_sentences > 1);
    // Fixed window 2: every position has 4 contexts except 2 at each end of each sentence
    // (3 + 2 fewer).
    assert_eq!(trained.report.pairs, 100_000 * 4 - 6 * n_sentences);

    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, b"fine words\nmore fine words\nbad \xff\xfe byte\n").expect("write");
    let err = train(&config, [&bad], NoProgress).expect_err("invalid UTF-8");
    let text = err.to_string();
    assert!(text.contains("bad.txt") && text.contains(":3:"), "{text}");

    let lossy = TrainConfig::builder()
        .dim(4)
        .epochs(1)
        .min_count(1)
        .subsample(0.0)
        .utf8(bilinear_skipgram::Utf8Policy::Lossy)
        .build()
        .expect("valid");
    let trained = train(&lossy, [&bad], NoProgress).expect("lossy decoding trains");
    assert!(trained.vocab.id("byte").is_some());

    assert!(matches!(
        train(&config, &[dir.path().join("missing.txt")], NoProgress),
        Err(Error::File { .. })
    ));
}

#[test]
fn model_must_fit_vocabulary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "t.txt", "a b c\n");
    let config = TrainConfig::builder()
        .dim(4)
        .min_count(1)
        .build()
        .expect("valid");
    let corpus = Corpus::new([&path], config.corpus_options().clone());
    let vocab = Vocab::from_counts(
        [("a".to_string(), 1), ("b".to_string(), 1)],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let mut model = Model::course(3, 4, &mut rng);
    assert!(matches!(
        train_model(&config, &vocab, &mut model, &corpus, NoProgress),
        Err(Error::ShapeMismatch { .. })
    ));
}

/// A block of two distinct focus words ("a b", merge interval 2) equals two sequential
/// exact steps with `W` held fixed until the block ends. `b` has count 0, so every
/// negative is `a` and the expected values are deterministic.
#[test]
fn block_updates_equal_sequential_steps_with_w_fixed_per_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "ab.txt", "a b\n");
    let negatives = 2;
    let (rate, interaction_rate) = (0.2_f32, 0.1_f32);
    let config = exact_step_config(3, negatives, rate, interaction_rate, 2);
    let vocab = Vocab::from_counts(
        [("a".to_string(), 2), ("b".to_string(), 0)],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let mut model = Model::from_parts(
        array![[0.3_f32, -0.2, 0.5], [-0.4, 0.1, 0.2]],
        array![[0.2_f32, 0.4, -0.1], [0.1, -0.3, 0.6]],
        array![[0.9_f32, 0.2, -0.1], [0.1, 1.1, 0.3], [-0.2, 0.0, 0.8]],
    )
    .expect("shapes");
    let (mut u, mut v, mut w) = model.clone().into_parts();
    let mut w_step = Array2::<f32>::zeros((3, 3));
    for (focus, context) in [(0usize, 1usize), (1, 0)] {
        let contexts = Array2::from_shape_fn((negatives + 1, 3), |(k, m)| {
            if k == 0 { v[[context, m]] } else { v[[0, m]] }
        });
        let g = loss_and_gradient(u.row(focus), contexts.view(), w.view(), None).expect("shapes");
        v.row_mut(context).scaled_add(-rate, &g.contexts.row(0));
        for k in 1..=negatives {
            v.row_mut(0).scaled_add(-rate, &g.contexts.row(k));
        }
        u.row_mut(focus).scaled_add(-rate, &g.focus);
        w_step.scaled_add(-interaction_rate, &g.interaction);
    }
    w += &w_step;

    let corpus = Corpus::new([&path], config.corpus_options().clone());
    train_model(&config, &vocab, &mut model, &corpus, NoProgress).expect("trains");
    for (got, want, name) in [
        (model.focus_embeddings(), &u, "U"),
        (model.context_embeddings(), &v, "V"),
        (model.interaction(), &w, "W"),
    ] {
        assert!(
            got.iter()
                .zip(want.iter())
                .all(|(x, y)| (x - y).abs() < 1e-6),
            "{name}: {got:?} vs {want:?}"
        );
    }
}

/// Each thread merges its `W` updates every `merge_interval` focus words and when it
/// finishes: with an interval longer than the whole corpus only the final merges carry
/// them, and with two threads both threads' updates arrive.
#[test]
fn w_updates_reach_the_model_when_threads_finish() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "topics.txt", &two_topic_corpus(400, 3));
    for threads in [1, 2] {
        let config = TrainConfig::builder()
            .dim(8)
            .window(2)
            .epochs(1)
            .min_count(1)
            .subsample(0.0)
            .threads(threads)
            .interaction_learning_rate(0.01)
            .merge_interval(4_096)
            .build()
            .expect("valid config");
        let trained = train(&config, [&path], NoProgress).expect("trains");
        let w = trained.model.interaction();
        let change = (&w - &Array2::<f32>::eye(8)).mapv(f32::abs).sum();
        assert!(w.iter().all(|x| x.is_finite()), "{threads} threads: {w:?}");
        assert!(change > 1e-3, "{threads} threads: W moved by {change}");
    }
}
