//! The trainer with per-offset interactions `D_p`: a block of focus words equals exact
//! sequential steps (the loss module's per-offset gradients) with `W` and every `D_p` held
//! fixed within the block, for diagonal and full interactions, each optimizer and frozen
//! parts; and the trained interactions, the held-out loss and the diagnostics that use them.

use std::io::Write;
use std::path::{Path, PathBuf};

use bilinear_skipgram::loss::{
    OffsetInteraction, OffsetInteractionGradient, offset_loss_and_gradient,
};
use bilinear_skipgram::{
    Corpus, Error, InteractionDiagnostics, InteractionOptimizer, LearningRateSchedule, Model,
    NoProgress, OffsetInteractionKind, OffsetInteractions, OovPolicy, TrainConfig, Vocab,
    WindowMode, config::ADAGRAD_EPSILON, train, train_model,
};
use ndarray::{Array1, Array2, Array3, Axis, Zip, array};

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(text.as_bytes()).expect("write");
    path
}

const DIM: usize = 3;
const NEGATIVES: usize = 2;

/// One case: the kind of `D`, the optimizer, the decay, and the rates of `U`/`V`, `W`
/// and `D` (0 freezes).
#[derive(Debug, Clone, Copy)]
struct Case {
    kind: OffsetInteractionKind,
    optimizer: InteractionOptimizer,
    decay: f32,
    rates: (f32, f32, f32),
    /// `W` starts at the identity (with a rate of 0 the trainer skips its products).
    identity_w: bool,
}

fn config(case: Case) -> TrainConfig {
    TrainConfig::builder()
        .dim(DIM)
        .window(2)
        .window_mode(WindowMode::Fixed)
        .negatives(NEGATIVES)
        .epochs(1)
        .min_count(1)
        .subsample(0.0)
        .threads(1)
        .learning_rate(case.rates.0)
        .interaction_learning_rate(case.rates.1)
        .offset_learning_rate(case.rates.2)
        .interaction_optimizer(case.optimizer)
        .interaction_decay(case.decay)
        .offset_interactions(case.kind)
        .subwords(None)
        .schedule(LearningRateSchedule::Constant)
        .merge_interval(3)
        .heldout_pairs(0)
        .build()
        .expect("valid")
}

/// Four offsets (window 2), away from the identity so that every `D_p` matters.
fn start_model(case: Case) -> Model {
    let w = if case.identity_w {
        Array2::eye(DIM)
    } else {
        array![[0.9_f32, 0.2, -0.1], [0.1, 1.1, 0.3], [-0.2, 0.0, 0.8]]
    };
    let offsets = match case.kind {
        OffsetInteractionKind::Full => {
            let d = Array3::from_shape_fn((4, DIM, DIM), |(p, i, j)| {
                let identity = if i == j { 1.0 } else { 0.0 };
                identity + 0.1 * ((p * 7 + i * 3 + j * 5) % 11) as f32 / 11.0 - 0.05
            });
            OffsetInteractions::from_full(d, 2, WindowMode::Fixed)
        }
        _ => {
            let d =
                Array2::from_shape_fn((4, DIM), |(p, i)| 0.6 + 0.2 * ((p * 5 + i * 3) % 7) as f32);
            OffsetInteractions::from_diagonal(d, 2, WindowMode::Fixed)
        }
    }
    .expect("window 2");
    Model::from_parts_with_offsets(
        array![[0.3_f32, -0.2, 0.5], [-0.4, 0.1, 0.2], [0.2, 0.3, -0.3]],
        array![[0.2_f32, 0.4, -0.1], [0.1, -0.3, 0.6], [-0.5, 0.2, 0.1]],
        w,
        offsets,
    )
    .expect("shapes")
}

/// `D_p` as a full matrix (a diagonal one expanded), from the model's storage.
fn d_matrix(offsets: &OffsetInteractions, p: usize) -> Array2<f32> {
    match (offsets.diagonal(), offsets.full()) {
        (Some(d), _) => Array2::from_diag(&d.row(p)),
        (_, Some(d)) => d.index_axis(Axis(0), p).to_owned(),
        _ => Array2::eye(DIM),
    }
}

/// One AdaGrad or SGD step with decay on `values` (any shape), as the trainer defines it.
fn step(
    values: &mut [f32],
    squares: &mut [f32],
    gradient: &[f32],
    identity: &[f32],
    case: Case,
    rate: f32,
) {
    for i in 0..values.len() {
        values[i] -= rate * case.decay * (values[i] - identity[i]);
        if case.optimizer == InteractionOptimizer::AdaGrad {
            squares[i] += gradient[i] * gradient[i];
            values[i] -= rate * gradient[i] / (squares[i].sqrt() + ADAGRAD_EPSILON);
        } else {
            values[i] -= rate * gradient[i];
        }
    }
}

/// The model after training on "a b c" (`b` and `c` have count 0, so every negative is
/// `a`), one block of the three focus words, fixed window 2: for each focus word its pairs
/// in order with `u_w` as at the start of its window, every `V` step applied at once, `u_w`
/// stepped after its window; `W` and every `D_p` fixed for the block and stepped at its end
/// with the block's summed gradients.
fn expected(case: Case) -> Model {
    let (rate, w_rate, d_rate) = case.rates;
    let start = start_model(case);
    let offsets = start.offset_interactions().clone();
    let (mut u, mut v, w) = start.into_parts();
    let mut w_gradient = Array2::<f32>::zeros((DIM, DIM));
    let mut d_gradient: Vec<Array2<f32>> = vec![Array2::zeros((DIM, DIM)); 4];
    // (focus, [(context, offset index)]): index −2 → 0, −1 → 1, +1 → 2, +2 → 3.
    let block: [(usize, [(usize, usize); 2]); 3] = [
        (0, [(1, 2), (2, 3)]),
        (1, [(0, 1), (2, 2)]),
        (2, [(0, 0), (1, 1)]),
    ];
    for (focus, pairs) in block {
        let mut focus_gradient = Array1::<f32>::zeros(DIM);
        for (context, p) in pairs {
            let contexts = Array2::from_shape_fn((NEGATIVES + 1, DIM), |(k, m)| {
                if k == 0 { v[[context, m]] } else { v[[0, m]] }
            });
            let diagonal = offsets.diagonal().map(|d| d.row(p).to_owned());
            let full = offsets.full().map(|d| d.index_axis(Axis(0), p).to_owned());
            let d_p = match (&diagonal, &full) {
                (Some(d), _) => OffsetInteraction::Diagonal(d.view()),
                (_, Some(d)) => OffsetInteraction::Full(d.view()),
                _ => OffsetInteraction::Identity,
            };
            let g = offset_loss_and_gradient(u.row(focus), contexts.view(), w.view(), d_p, None)
                .expect("shapes");
            v.row_mut(context).scaled_add(-rate, &g.contexts.row(0));
            for k in 1..=NEGATIVES {
                v.row_mut(0).scaled_add(-rate, &g.contexts.row(k));
            }
            focus_gradient += &g.focus;
            w_gradient += &g.interaction;
            match g.offset_interaction {
                OffsetInteractionGradient::Diagonal(g) => {
                    d_gradient[p].diag_mut().scaled_add(1.0, &g);
                }
                OffsetInteractionGradient::Full(g) => d_gradient[p] += &g,
                _ => panic!("identity D_p"),
            }
        }
        u.row_mut(focus).scaled_add(-rate, &focus_gradient);
    }
    let mut w = w;
    if w_rate > 0.0 {
        let eye = Array2::<f32>::eye(DIM);
        let mut squares = vec![0.0; DIM * DIM];
        let mut values = w.iter().copied().collect::<Vec<_>>();
        let gradient = w_gradient.iter().copied().collect::<Vec<_>>();
        step(
            &mut values,
            &mut squares,
            &gradient,
            eye.as_slice().expect("standard"),
            case,
            w_rate,
        );
        w = Array2::from_shape_vec((DIM, DIM), values).expect("shape");
    }
    let mut offsets = offsets;
    if d_rate > 0.0 {
        match case.kind {
            OffsetInteractionKind::Full => {
                let mut d = offsets.full().expect("full").to_owned();
                for (p, mut d_p) in d.axis_iter_mut(Axis(0)).enumerate() {
                    let mut values = d_p.iter().copied().collect::<Vec<_>>();
                    let mut squares = vec![0.0; values.len()];
                    let gradient = d_gradient[p].iter().copied().collect::<Vec<_>>();
                    let eye = Array2::<f32>::eye(DIM);
                    step(
                        &mut values,
                        &mut squares,
                        &gradient,
                        eye.as_slice().expect("standard"),
                        case,
                        d_rate,
                    );
                    d_p.assign(&Array2::from_shape_vec((DIM, DIM), values).expect("shape"));
                }
                offsets = OffsetInteractions::from_full(d, 2, WindowMode::Fixed).expect("full");
            }
            _ => {
                let mut d = offsets.diagonal().expect("diagonal").to_owned();
                for (p, mut d_p) in d.rows_mut().into_iter().enumerate() {
                    let mut values = d_p.to_vec();
                    let mut squares = vec![0.0; DIM];
                    let gradient = d_gradient[p].diag().to_vec();
                    step(
                        &mut values,
                        &mut squares,
                        &gradient,
                        &[1.0; DIM],
                        case,
                        d_rate,
                    );
                    d_p.assign(&Array1::from(values));
                }
                offsets = OffsetInteractions::from_diagonal(d, 2, WindowMode::Fixed).expect("diag");
            }
        }
    }
    Model::from_parts_with_offsets(u, v, w, offsets).expect("shapes")
}

fn max_gap(a: &Model, b: &Model) -> f32 {
    let gap = |x: ndarray::ArrayView2<f32>, y: ndarray::ArrayView2<f32>| {
        Zip::from(&x)
            .and(&y)
            .fold(0.0_f32, |m, a, b| m.max((a - b).abs()))
    };
    let mut worst = gap(a.focus_embeddings(), b.focus_embeddings())
        .max(gap(a.context_embeddings(), b.context_embeddings()))
        .max(gap(a.interaction(), b.interaction()));
    for p in 0..4 {
        worst = worst.max(gap(
            d_matrix(a.offset_interactions(), p).view(),
            d_matrix(b.offset_interactions(), p).view(),
        ));
    }
    worst
}

#[test]
fn a_block_with_offsets_equals_exact_sequential_steps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "abc.txt", "a b c\n");
    let vocab = Vocab::from_counts(
        [
            ("a".to_string(), 2),
            ("b".to_string(), 0),
            ("c".to_string(), 0),
        ],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let sgd = InteractionOptimizer::Sgd;
    let adagrad = InteractionOptimizer::AdaGrad;
    let (diagonal, full) = (OffsetInteractionKind::Diagonal, OffsetInteractionKind::Full);
    let case = |kind, optimizer, decay, rates, identity_w| Case {
        kind,
        optimizer,
        decay,
        rates,
        identity_w,
    };
    for case in [
        case(diagonal, sgd, 0.0, (0.2, 0.1, 0.3), false),
        case(diagonal, adagrad, 0.4, (0.2, 0.1, 0.05), false),
        case(diagonal, sgd, 0.0, (0.2, 0.0, 0.3), true),
        case(diagonal, sgd, 0.0, (0.2, 0.1, 0.0), false),
        case(full, sgd, 0.0, (0.2, 0.1, 0.3), false),
        case(full, adagrad, 0.3, (0.2, 0.1, 0.05), false),
        case(full, sgd, 0.5, (0.2, 0.0, 0.3), true),
        case(full, adagrad, 0.0, (0.2, 0.1, 0.0), false),
    ] {
        let config = config(case);
        let mut model = start_model(case);
        let corpus = Corpus::new([&path], config.corpus_options().clone());
        let report = train_model(&config, &vocab, &mut model, &corpus, NoProgress).expect("trains");
        assert_eq!(report.pairs, 6, "{case:?}");
        let want = expected(case);
        let gap = max_gap(&model, &want);
        assert!(
            gap < 2e-5,
            "{case:?}: off by {gap}\n{model:?}\nvs\n{want:?}"
        );
        // D moved unless frozen, and the test would see a wrong D.
        let d_moved = max_gap(&model, &start_model(case));
        assert!(d_moved > 1e-3, "{case:?}");
        if case.rates.2 == 0.0 {
            assert_eq!(
                model.offset_interactions(),
                start_model(case).offset_interactions(),
                "{case:?}: frozen D moved"
            );
        }
    }
}

/// Two topics, random words of one topic per line.
fn topics(n_sentences: usize) -> String {
    let words = [
        ["cat", "dog", "mouse", "pet", "fur", "paw"],
        ["car", "bus", "road", "wheel", "drive", "fuel"],
    ];
    let mut text = String::new();
    for i in 0..n_sentences {
        let topic = &words[i % 2];
        let line: Vec<&str> = (0..8).map(|k| topic[(i * 7 + k * 5 + k * k) % 6]).collect();
        text.push_str(&line.join(" "));
        text.push('\n');
    }
    text
}

/// The held-out loss straight from the loss module's per-offset function, in `f64`.
fn direct_heldout_loss(trained: &bilinear_skipgram::Trained) -> f64 {
    let heldout = trained.heldout.as_ref().expect("held-out sample");
    let model = &trained.model;
    let offsets = model.offset_interactions();
    let u = model.focus_vectors().mapv(f64::from);
    let v = model.context_embeddings().mapv(f64::from);
    let w = model.interaction().mapv(f64::from);
    let rows = heldout.context_ids();
    let mut total = 0.0;
    for (k, (&focus, &offset)) in heldout
        .focus_ids()
        .iter()
        .zip(heldout.offsets())
        .enumerate()
    {
        let p = offsets
            .index_of(offset as isize)
            .expect("within the window");
        let contexts =
            Array2::from_shape_fn((rows.ncols(), model.dim()), |(j, m)| v[[rows[[k, j]], m]]);
        let diagonal = offsets.diagonal().map(|d| d.row(p).mapv(f64::from));
        let full = offsets
            .full()
            .map(|d| d.index_axis(Axis(0), p).mapv(f64::from));
        let d_p = match (&diagonal, &full) {
            (Some(d), _) => OffsetInteraction::Diagonal(d.view()),
            (_, Some(d)) => OffsetInteraction::Full(d.view()),
            _ => OffsetInteraction::Identity,
        };
        let g = offset_loss_and_gradient(u.row(focus), contexts.view(), w.view(), d_p, None)
            .expect("shapes");
        total += g.loss;
    }
    total / heldout.n_pairs() as f64
}

#[test]
fn trained_offsets_come_back_scored_and_diagnosed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "topics.txt", &topics(2000));
    for kind in [OffsetInteractionKind::Diagonal, OffsetInteractionKind::Full] {
        for threads in [1, 2] {
            let config = TrainConfig::builder()
                .dim(8)
                .window(3)
                .epochs(2)
                .min_count(1)
                .subsample(0.0)
                .threads(threads)
                .interaction_learning_rate(0.002)
                .offset_learning_rate(0.01)
                .offset_interactions(kind)
                .heldout_pairs(300)
                .build()
                .expect("valid");
            let trained = train(&config, [&path], NoProgress).expect("trains");
            let offsets = trained.model.offset_interactions();
            assert_eq!(offsets.kind(), kind);
            assert_eq!(offsets.n_offsets(), 6);
            let identity =
                OffsetInteractions::identity(kind, 8, 3, WindowMode::Shrink).expect("id");
            assert_ne!(
                offsets, &identity,
                "{kind:?}, {threads} threads: D did not move"
            );
            // The held-out loss at the end is the model's, D_p included.
            let heldout = trained.heldout.as_ref().expect("held-out sample");
            let last = trained.report.epoch_heldout_losses[1].expect("scored");
            let method = heldout.loss(&trained.model).expect("fits");
            let direct = direct_heldout_loss(&trained);
            assert!(
                (method - direct).abs() < 1e-9 * direct,
                "{method} vs {direct}"
            );
            if threads == 1 {
                assert!((last - direct).abs() < 1e-9 * direct, "{last} vs {direct}");
            }
            // The diagnostics are those of the effective interaction Σ_p π_p D_p W.
            let d = trained.report.epoch_interactions[1].expect("measured");
            let effective =
                InteractionDiagnostics::of(trained.model.effective_interaction().view());
            assert!((d.distance_from_identity - effective.distance_from_identity).abs() < 1e-5);
            assert!((d.condition_number / effective.condition_number - 1.0).abs() < 1e-4);
        }
    }
}

#[test]
fn a_model_without_the_configured_offsets_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "t.txt", "a b c\n");
    let vocab = Vocab::from_counts(
        [
            ("a".to_string(), 1),
            ("b".to_string(), 1),
            ("c".to_string(), 1),
        ],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let case = Case {
        kind: OffsetInteractionKind::Diagonal,
        optimizer: InteractionOptimizer::Sgd,
        decay: 0.0,
        rates: (0.1, 0.1, 0.1),
        identity_w: false,
    };
    let corpus = Corpus::new([&path], config(case).corpus_options().clone());
    // No per-offset interactions, or full ones, for a diagonal configuration.
    let without = config(case)
        .to_builder()
        .offset_interactions(OffsetInteractionKind::None)
        .build()
        .expect("valid");
    let mut plain = Model::for_config(&without, 3);
    let mut full = start_model(Case {
        kind: OffsetInteractionKind::Full,
        ..case
    });
    for model in [&mut plain, &mut full] {
        assert!(matches!(
            train_model(&config(case), &vocab, model, &corpus, NoProgress),
            Err(Error::ShapeMismatch { .. })
        ));
    }
    // Another window.
    let wider = config(case).to_builder().window(3).build().expect("valid");
    let mut model = start_model(case);
    assert!(matches!(
        train_model(&wider, &vocab, &mut model, &corpus, NoProgress),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn saved_models_keep_their_offsets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vocab = Vocab::from_counts(
        [
            ("a".to_string(), 3),
            ("b".to_string(), 2),
            ("c".to_string(), 1),
        ],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let out = dir.path().join("model");
    for kind in [OffsetInteractionKind::Full, OffsetInteractionKind::Diagonal] {
        let case = Case {
            kind,
            optimizer: InteractionOptimizer::Sgd,
            decay: 0.0,
            rates: (0.1, 0.1, 0.1),
            identity_w: false,
        };
        let model = start_model(case);
        bilinear_skipgram::save_model(&out, &model, &vocab).expect("saves");
        let (loaded, _) = bilinear_skipgram::load_model(&out, OovPolicy::Drop).expect("loads");
        assert_eq!(loaded, model, "{kind:?}");
        // numpy's view of D.npy: P×M, or the P matrices stacked as (P·M)×M.
        let d = bilinear_skipgram::read_matrix(out.join(bilinear_skipgram::io::OFFSETS_FILE))
            .expect("D.npy");
        let rows = if kind == OffsetInteractionKind::Full {
            4 * DIM
        } else {
            4
        };
        assert_eq!(d.dim(), (rows, DIM));
        assert_eq!(
            d_matrix(loaded.offset_interactions(), 1),
            d_matrix(model.offset_interactions(), 1)
        );
    }
    // A model without them, saved over the folder, leaves no stale D behind.
    let without = TrainConfig::builder()
        .dim(DIM)
        .offset_interactions(OffsetInteractionKind::None)
        .build()
        .expect("valid");
    let plain = Model::for_config(&without, 3);
    bilinear_skipgram::save_model(&out, &plain, &vocab).expect("saves");
    assert!(!out.join(bilinear_skipgram::io::OFFSETS_FILE).exists());
    let (loaded, _) = bilinear_skipgram::load_model(&out, OovPolicy::Drop).expect("loads");
    assert_eq!(
        loaded.offset_interactions().kind(),
        OffsetInteractionKind::None
    );

    // D.npy without D.txt, and a D.txt that does not say what D.npy is, are refused.
    let case = Case {
        kind: OffsetInteractionKind::Diagonal,
        optimizer: InteractionOptimizer::Sgd,
        decay: 0.0,
        rates: (0.1, 0.1, 0.1),
        identity_w: false,
    };
    bilinear_skipgram::save_model(&out, &start_model(case), &vocab).expect("saves");
    let info = out.join(bilinear_skipgram::io::OFFSETS_INFO_FILE);
    let text = std::fs::read_to_string(&info).expect("D.txt");
    // The manifest lists both files: a changed D.txt is refused.
    std::fs::write(&info, text.replace("window = 2", "window = 3")).expect("write");
    let error = bilinear_skipgram::load_model(&out, OovPolicy::Drop).expect_err("changed");
    assert!(error.to_string().contains("MANIFEST"), "{error}");
    // Without the manifest (a folder as older versions wrote them) the files are read as
    // they are, and checked.
    std::fs::remove_file(out.join(bilinear_skipgram::io::MANIFEST_FILE)).expect("remove");
    for (bad, needle) in [
        (text.replace("\"diagonal\"", "\"round\""), "line 1"),
        (text.replace("window = 2", "window = 3"), "D.npy"),
        (text.replace("window_mode = \"fixed\"\n", ""), "needed"),
        (format!("{text}colour = 1\n"), "unknown key"),
    ] {
        std::fs::write(&info, &bad).expect("write");
        let error = bilinear_skipgram::load_model(&out, OovPolicy::Drop).expect_err(&bad);
        assert!(error.to_string().contains(needle), "{bad:?}: {error}");
    }
    std::fs::remove_file(&info).expect("remove");
    assert!(matches!(
        bilinear_skipgram::load_model(&out, OovPolicy::Drop),
        Err(Error::Format { .. })
    ));
}
