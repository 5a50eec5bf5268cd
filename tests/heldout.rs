//! The held-out sample: its sentences are not trained on, its pairs are formed as the
//! trainer forms them, its loss is the loss module's on the model, it is fixed by the seed,
//! and small corpora have none.

use std::collections::HashSet;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use bilinear_skipgram::loss::loss_and_gradient;
use bilinear_skipgram::{
    InteractionOptimizer, Model, NoProgress, OffsetInteractionKind, Progress, TrainConfig, Trained,
    WindowMode, sgd::SENTENCES_PER_HELDOUT, train,
};
use ndarray::Array2;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(text.as_bytes()).expect("write");
    path
}

/// `n` lines; line `i` starts with its own word `only{i}`, then 9 words out of 20 shared.
fn corpus(n: usize, seed: u64) -> String {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!("only{i}"));
        for _ in 0..9 {
            text.push_str(&format!(" w{}", rng.random_range(0..20)));
        }
        text.push('\n');
    }
    text
}

fn config(heldout_pairs: usize, seed: u64) -> TrainConfig {
    TrainConfig::builder()
        .dim(8)
        .window(2)
        .epochs(2)
        .min_count(1)
        .subsample(0.0)
        .threads(1)
        .interaction_learning_rate(0.005)
        .interaction_optimizer(InteractionOptimizer::AdaGrad)
        .heldout_pairs(heldout_pairs)
        .seed(seed)
        // `direct_loss` scores with the plain loss: no per-offset interactions.
        .offset_interactions(OffsetInteractionKind::None)
        .build()
        .expect("valid")
}

#[test]
fn heldout_sentences_are_not_trained_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 3000;
    let path = write_file(dir.path(), "c.txt", &corpus(n, 1));
    let config = config(200, 5);
    let trained = train(&config, [&path], NoProgress).expect("trains");
    let heldout = trained
        .heldout
        .as_ref()
        .expect("3000 sentences have a held-out sample");
    assert_eq!(heldout.n_pairs(), 200);
    let sentences = heldout.sentences();
    assert!(!sentences.is_empty());
    assert!(sentences.len() as u64 <= n as u64 / SENTENCES_PER_HELDOUT);
    assert!(sentences.windows(2).all(|w| w[0] < w[1]));
    // Ten tokens a line, all in the vocabulary.
    assert_eq!(heldout.n_tokens(), 10 * sentences.len() as u64);
    let epochs = config.epochs() as u64;
    assert_eq!(
        trained.report.words,
        epochs * (trained.vocab.n_tokens() - heldout.n_tokens())
    );
    // `only{i}` occurs in line i alone, and U rows change only as focus words: the rows of
    // held-out lines are as initialised, every other one has moved.
    let start = Model::for_vocab(&config, &trained.vocab).expect("model");
    let held: HashSet<u64> = sentences.iter().copied().collect();
    for i in 0..n as u64 {
        let id = trained
            .vocab
            .id(&format!("only{i}"))
            .expect("in the vocabulary") as usize;
        let unchanged =
            trained.model.focus_embeddings().row(id) == start.focus_embeddings().row(id);
        assert_eq!(unchanged, held.contains(&i), "line {i}");
    }
}

/// The pairs come from the held-out lines as the trainer forms them: with a fixed window
/// and no subsampling, every pair is a (focus, offset, context) of one of those lines.
#[test]
fn heldout_pairs_come_from_the_heldout_sentences() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = corpus(2000, 2);
    let path = write_file(dir.path(), "c.txt", &text);
    let config = config(300, 9)
        .to_builder()
        .window_mode(WindowMode::Fixed)
        .epochs(1)
        .build()
        .expect("valid");
    let trained = train(&config, [&path], NoProgress).expect("trains");
    let heldout = trained.heldout.as_ref().expect("held-out sample");
    let lines: Vec<&str> = text.lines().collect();
    let mut triples = HashSet::new();
    for &s in heldout.sentences() {
        let ids: Vec<usize> = lines[s as usize]
            .split(' ')
            .map(|w| trained.vocab.id(w).expect("word"))
            .collect();
        for i in 0..ids.len() {
            for j in i.saturating_sub(2)..(i + 3).min(ids.len()) {
                if j != i {
                    triples.insert((ids[i], j as i32 - i as i32, ids[j]));
                }
            }
        }
    }
    let rows = heldout.context_ids();
    assert_eq!(rows.ncols(), config.negatives() + 1);
    // A fixed window 2 gives 4 pairs a position but 2 or 3 at the ends: 34 per line, so
    // the pairs fill 8 lines and part of a ninth, which is held out all the same.
    assert_eq!(heldout.n_pairs(), 300);
    assert_eq!(heldout.sentences().len(), 9);
    for k in 0..heldout.n_pairs() {
        let triple = (
            heldout.focus_ids()[k] as usize,
            heldout.offsets()[k],
            rows[[k, 0]] as usize,
        );
        assert!(triples.contains(&triple), "pair {k}: {triple:?}");
        assert!(rows.row(k).iter().all(|&id| id < trained.vocab.len()));
    }
}

/// The held-out loss, straight from the loss module in `f64`, pair by pair.
fn direct_loss(trained: &Trained) -> f64 {
    let heldout = trained.heldout.as_ref().expect("held-out sample");
    let model = &trained.model;
    let u = model.focus_vectors().mapv(f64::from);
    let v = model.context_embeddings().mapv(f64::from);
    let w = model.interaction().mapv(f64::from);
    let rows = heldout.context_ids();
    let mut total = 0.0;
    for (k, &focus) in heldout.focus_ids().iter().enumerate() {
        let contexts =
            Array2::from_shape_fn((rows.ncols(), model.dim()), |(j, m)| v[[rows[[k, j]], m]]);
        let g = loss_and_gradient(u.row(focus), contexts.view(), w.view(), None).expect("shapes");
        total += g.loss;
    }
    total / heldout.n_pairs() as f64
}

#[test]
fn heldout_loss_is_the_loss_of_the_final_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "c.txt", &corpus(3000, 3));
    let mut reports: Vec<Progress> = Vec::new();
    let mut observer = |p: &Progress| {
        reports.push(*p);
        ControlFlow::Continue(())
    };
    let trained = train(&config(1000, 1), [&path], &mut observer).expect("trains");
    let heldout = trained.heldout.as_ref().expect("held-out sample");
    let expected = direct_loss(&trained);
    let losses = &trained.report.epoch_heldout_losses;
    assert_eq!(losses.len(), 2);
    let last = losses[1].expect("scored at the end");
    assert!(
        (last - expected).abs() < 1e-9 * expected,
        "{last} vs {expected}"
    );
    let method = heldout.loss(&trained.model).expect("ids fit");
    assert!((method - expected).abs() < 1e-9 * expected);
    // An untrained model scores (n + 1) ln 2; a trained one better, and the first epoch's
    // loss is reported too.
    let first = losses[0].expect("scored at the end of epoch 1");
    assert!(
        first < 6.0 * 2f64.ln() && last < 6.0 * 2f64.ln(),
        "{losses:?}"
    );
    // The reports show it at each epoch end, and the last report holds the final value.
    let scored: Vec<f64> = reports.iter().filter_map(|p| p.heldout_loss).collect();
    assert!(scored.contains(&first));
    assert_eq!(reports.last().and_then(|p| p.heldout_loss), Some(last));
}

#[test]
fn heldout_sample_is_fixed_by_the_seed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_file(dir.path(), "c.txt", &corpus(3000, 4));
    let a = train(&config(500, 3), [&path], NoProgress).expect("trains");
    let b = train(&config(500, 3), [&path], NoProgress).expect("trains");
    assert_eq!(a.heldout, b.heldout);
    assert_eq!(a.model, b.model);
    assert_eq!(a.report.epoch_heldout_losses, b.report.epoch_heldout_losses);
    let c = train(&config(500, 4), [&path], NoProgress).expect("trains");
    let (sa, sc) = (
        a.heldout.expect("sample").sentences().to_vec(),
        c.heldout.expect("sample").sentences().to_vec(),
    );
    assert_ne!(sa, sc);
}

#[test]
fn small_corpora_and_zero_pairs_have_no_heldout_sample() {
    let dir = tempfile::tempdir().expect("tempdir");
    let small = write_file(dir.path(), "small.txt", &corpus(99, 5));
    let mut reports: Vec<Progress> = Vec::new();
    let mut observer = |p: &Progress| {
        reports.push(*p);
        ControlFlow::Continue(())
    };
    let trained = train(&config(4096, 1), [&small], &mut observer).expect("trains");
    assert!(trained.heldout.is_none());
    assert_eq!(trained.report.epoch_heldout_losses, [None, None]);
    assert!(reports.iter().all(|p| p.heldout_loss.is_none()));
    assert_eq!(trained.report.words, 2 * trained.vocab.n_tokens());

    let large = write_file(dir.path(), "large.txt", &corpus(1000, 5));
    let trained = train(&config(0, 1), [&large], NoProgress).expect("trains");
    assert!(trained.heldout.is_none());
    assert_eq!(trained.report.words, 2 * trained.vocab.n_tokens());
    // 1000 lines: at most 10 held out, which caps the pairs below the 4096 asked for.
    let trained = train(&config(4096, 1), [&large], NoProgress).expect("trains");
    let heldout = trained.heldout.expect("1000 sentences have a sample");
    assert_eq!(heldout.sentences().len(), 10);
    assert!(heldout.n_pairs() < 4096);
}
