//! The step of the interaction `W`: plain SGD and AdaGrad on the block's summed gradient,
//! with and without decay towards the identity, checked against exact steps computed with
//! the loss module; and `W`'s diagnostics in the progress reports and the final report.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use bilinear_skipgram::loss::loss_and_gradient;
use bilinear_skipgram::{
    Corpus, InteractionDiagnostics, InteractionOptimizer, LearningRateSchedule, Model, NoProgress,
    OffsetInteractionKind, OovPolicy, Progress, TrainConfig, Vocab, WindowMode,
    config::ADAGRAD_EPSILON, plot::TrainingCurves, train, train_model,
};
use ndarray::{Array2, array};

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(text.as_bytes()).expect("write");
    path
}

/// One epoch, one thread, fixed window 1, no subsampling, constant rates.
fn exact_config(
    negatives: usize,
    (rate, interaction_rate): (f32, f32),
    merge_interval: usize,
    optimizer: InteractionOptimizer,
    decay: f32,
) -> TrainConfig {
    TrainConfig::builder()
        .dim(3)
        .window(1)
        .window_mode(WindowMode::Fixed)
        .negatives(negatives)
        .epochs(1)
        .min_count(1)
        .subsample(0.0)
        .threads(1)
        .learning_rate(rate)
        .interaction_learning_rate(interaction_rate)
        .interaction_optimizer(optimizer)
        .interaction_decay(decay)
        .subwords(None)
        .schedule(LearningRateSchedule::Constant)
        .merge_interval(merge_interval)
        .offset_interactions(OffsetInteractionKind::None)
        .build()
        .expect("valid")
}

fn start_model() -> Model {
    Model::from_parts(
        array![[0.3_f32, -0.2, 0.5], [-0.4, 0.1, 0.2]],
        array![[0.2_f32, 0.4, -0.1], [0.1, -0.3, 0.6]],
        array![[0.9_f32, 0.2, -0.1], [0.1, 1.1, 0.3], [-0.2, 0.0, 0.8]],
    )
    .expect("shapes")
}

/// The expected model after training on "a b" (`a` = word 0, `b` = word 1 with count 0,
/// so every negative is `a`), the focus words in `blocks`: within a block, exact SGD steps
/// for `U` and `V` pair by pair with `W` fixed, then one step of `W` from the block's
/// summed gradient `g`: `W -= η λ (W − I)` and `W -= η g` (SGD) or, with AdaGrad,
/// `G += g²`, `W -= η g / (√G + ε)`.
fn expected(
    blocks: &[&[(usize, usize)]],
    negatives: usize,
    (rate, interaction_rate): (f32, f32),
    adagrad: bool,
    decay: f32,
) -> Model {
    let (mut u, mut v, mut w) = start_model().into_parts();
    let mut squares = Array2::<f32>::zeros((3, 3));
    for block in blocks {
        let mut gradient = Array2::<f32>::zeros((3, 3));
        for &(focus, context) in *block {
            let contexts = Array2::from_shape_fn((negatives + 1, 3), |(k, m)| {
                if k == 0 { v[[context, m]] } else { v[[0, m]] }
            });
            let g =
                loss_and_gradient(u.row(focus), contexts.view(), w.view(), None).expect("shapes");
            v.row_mut(context).scaled_add(-rate, &g.contexts.row(0));
            for k in 1..=negatives {
                v.row_mut(0).scaled_add(-rate, &g.contexts.row(k));
            }
            u.row_mut(focus).scaled_add(-rate, &g.focus);
            gradient += &g.interaction;
        }
        let eye = Array2::<f32>::eye(3);
        w = &w - &((&w - &eye) * (interaction_rate * decay));
        if adagrad {
            squares += &gradient.mapv(|g| g * g);
            let step = ndarray::Zip::from(&gradient)
                .and(&squares)
                .map_collect(|&g, &s| g / (s.sqrt() + ADAGRAD_EPSILON));
            w.scaled_add(-interaction_rate, &step);
        } else {
            w.scaled_add(-interaction_rate, &gradient);
        }
    }
    Model::from_parts(u, v, w).expect("shapes")
}

fn assert_close(got: &Model, want: &Model, tolerance: f32, what: &str) {
    for (got, want, name) in [
        (got.focus_embeddings(), want.focus_embeddings(), "U"),
        (got.context_embeddings(), want.context_embeddings(), "V"),
        (got.interaction(), want.interaction(), "W"),
    ] {
        assert!(
            got.iter()
                .zip(want.iter())
                .all(|(x, y)| (x - y).abs() < tolerance),
            "{what}, {name}: {got:?} vs {want:?}"
        );
    }
}

#[test]
fn interaction_steps_equal_exact_steps_from_the_block_gradient() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "ab.txt", "a b\n");
    let vocab = Vocab::from_counts(
        [("a".to_string(), 2), ("b".to_string(), 0)],
        OovPolicy::Drop,
    )
    .expect("vocab");
    let negatives = 2;
    let rates = (0.2_f32, 0.1_f32);
    let one_block: &[&[(usize, usize)]] = &[&[(0, 1), (1, 0)]];
    let two_blocks: &[&[(usize, usize)]] = &[&[(0, 1)], &[(1, 0)]];
    for (optimizer, decay, merge_interval, blocks) in [
        (InteractionOptimizer::Sgd, 0.0, 2, one_block),
        (InteractionOptimizer::Sgd, 0.5, 2, one_block),
        (InteractionOptimizer::Sgd, 0.5, 1, two_blocks),
        (InteractionOptimizer::AdaGrad, 0.0, 2, one_block),
        (InteractionOptimizer::AdaGrad, 0.0, 1, two_blocks),
        (InteractionOptimizer::AdaGrad, 0.3, 1, two_blocks),
    ] {
        let config = exact_config(negatives, rates, merge_interval, optimizer, decay);
        let mut model = start_model();
        let corpus = Corpus::new([&path], config.corpus_options().clone());
        train_model(&config, &vocab, &mut model, &corpus, NoProgress).expect("trains");
        let adagrad = optimizer == InteractionOptimizer::AdaGrad;
        let want = expected(blocks, negatives, rates, adagrad, decay);
        let what = format!("{optimizer:?}, decay {decay}, {} block(s)", blocks.len());
        assert_close(&model, &want, 1e-5, &what);
        // The step really is the optimizer's: the other one lands elsewhere.
        let other = expected(blocks, negatives, rates, !adagrad, decay);
        let gap = (&model.interaction() - &other.interaction())
            .iter()
            .fold(0.0_f32, |m, x| m.max(x.abs()));
        assert!(
            gap > 1e-3,
            "{what}: indistinguishable from the other optimizer"
        );
    }
}

/// Two topics; random words of one topic per line.
fn topics(n_sentences: usize) -> String {
    let words = [
        ["cat", "dog", "mouse", "pet", "fur", "paw"],
        ["car", "bus", "road", "wheel", "drive", "fuel"],
    ];
    let mut text = String::new();
    for i in 0..n_sentences {
        let topic = &words[i % 2];
        let line: Vec<&str> = (0..8).map(|k| topic[(i * 7 + k * 5) % 6]).collect();
        text.push_str(&line.join(" "));
        text.push('\n');
    }
    text
}

#[test]
fn progress_and_report_carry_w_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "topics.txt", &topics(600));
    for (interaction_rate, optimizer) in [
        (0.0, InteractionOptimizer::Sgd),
        (0.01, InteractionOptimizer::Sgd),
        (0.01, InteractionOptimizer::AdaGrad),
    ] {
        let config = TrainConfig::builder()
            .dim(8)
            .window(2)
            .epochs(3)
            .min_count(1)
            .threads(1)
            .interaction_learning_rate(interaction_rate)
            .interaction_optimizer(optimizer)
            .offset_interactions(OffsetInteractionKind::None)
            .build()
            .expect("valid");
        let mut reports: Vec<Progress> = Vec::new();
        let mut curves = TrainingCurves::new();
        let mut observer = |p: &Progress| {
            reports.push(*p);
            curves.record(p);
            ControlFlow::Continue(())
        };
        let trained = train(&config, [&path], &mut observer).expect("trains");
        // The curves hold every report's online loss and the diagnostics where reported.
        assert_eq!(curves.online_loss.len(), reports.len());
        let n_diagnostics = reports.iter().filter(|p| p.interaction.is_some()).count();
        assert_eq!(curves.interaction_distance.len(), n_diagnostics);
        assert_eq!(curves.interaction_condition.len(), n_diagnostics);
        let diagnostics = &trained.report.epoch_interactions;
        assert_eq!(diagnostics.len(), 3);
        let last = diagnostics[2].expect("measured at the end");
        let direct = InteractionDiagnostics::of(trained.model.interaction());
        assert_eq!(last, direct);
        // Every epoch end is reported, in order, with its diagnostics.
        let with: Vec<&Progress> = reports.iter().filter(|p| p.interaction.is_some()).collect();
        assert!(with.len() >= 3, "{} reports with diagnostics", with.len());
        assert_eq!(with.last().and_then(|p| p.interaction), Some(last));
        for (epoch, d) in diagnostics.iter().enumerate() {
            let d = d.expect("every epoch end is measured");
            assert!(
                with.iter()
                    .any(|p| p.epoch == epoch && p.interaction == Some(d)),
                "epoch {epoch}"
            );
        }
        if interaction_rate == 0.0 {
            assert_eq!(last.distance_from_identity, 0.0);
            assert!((last.condition_number - 1.0).abs() < 1e-12);
        } else {
            assert!(last.distance_from_identity > 0.0);
            assert!(last.condition_number > 1.0);
        }
    }
}
