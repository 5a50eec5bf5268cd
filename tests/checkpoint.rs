//! Checkpoints, resume and divergence: exact resumption, a real SIGKILL in a child
//! process, corrupted and mismatched checkpoints, and recovery from divergence.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bilinear_skipgram::{
    Checkpoint, CheckpointOptions, Corpus, Error, InteractionOptimizer, Model, NoProgress,
    Observer, OffsetInteractionKind, OovPolicy, Progress, TrainConfig, Trained, Vocab, resume,
    train, train_checkpointed, train_model,
};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// The crate's bundled corpus (KJV, about 790 000 words).
fn bundled_corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/kjv.txt.xz")
}

fn config(threads: usize) -> TrainConfig {
    TrainConfig::builder()
        .dim(16)
        .window(3)
        .negatives(3)
        .epochs(2)
        .min_count(5)
        .threads(threads)
        .interaction_learning_rate(0.001)
        .seed(7)
        .build()
        .expect("config")
}

fn options(path: &Path) -> CheckpointOptions {
    CheckpointOptions::new(path)
        .without_timer()
        .every_words(Some(100_000))
}

fn assert_same_model(a: &Model, b: &Model) {
    assert!(a.focus_embeddings() == b.focus_embeddings(), "U differs");
    assert!(
        a.context_embeddings() == b.context_embeddings(),
        "V differs"
    );
    assert!(a.interaction() == b.interaction(), "W differs");
    assert!(
        a.offset_interactions() == b.offset_interactions(),
        "D differs"
    );
    assert!(a.subwords() == b.subwords(), "Z differs");
}

fn all_finite(model: &Model) -> bool {
    model.focus_embeddings().iter().all(|x| x.is_finite())
        && model.context_embeddings().iter().all(|x| x.is_finite())
        && model.interaction().iter().all(|x| x.is_finite())
}

/// Copies the checkpoint at `path` to `copies` whenever it changes, until `stop`.
fn watch(path: &Path, copies: &Path, stop: &AtomicBool) -> usize {
    let mut seen = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if let Ok(bytes) = std::fs::read(path)
            && !seen.contains(&bytes)
        {
            std::fs::write(copies.join(format!("{}.bsg", seen.len())), &bytes).expect("copy");
            seen.push(bytes);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    seen.len()
}

#[test]
fn a_run_resumed_from_any_checkpoint_ends_bit_for_bit_as_the_uninterrupted_run() {
    resumed_runs_end_as_the_uninterrupted_run(&config(1));
}

/// The same with AdaGrad and decay for `W`: the checkpoint carries AdaGrad's squares.
#[test]
fn a_run_with_adagrad_resumes_bit_for_bit() {
    let config = config(1)
        .to_builder()
        .interaction_optimizer(InteractionOptimizer::AdaGrad)
        .interaction_learning_rate(0.002)
        .interaction_decay(0.01)
        .build()
        .expect("config");
    resumed_runs_end_as_the_uninterrupted_run(&config);
}

/// The same with per-offset interactions, diagonal with AdaGrad and full with SGD: the
/// checkpoint carries `D` and its squares.
#[test]
fn a_run_with_diagonal_offsets_resumes_bit_for_bit() {
    resumed_runs_end_as_the_uninterrupted_run(&offsets_config(
        OffsetInteractionKind::Diagonal,
        InteractionOptimizer::AdaGrad,
    ));
}

#[test]
fn a_run_with_full_offsets_resumes_bit_for_bit() {
    resumed_runs_end_as_the_uninterrupted_run(&offsets_config(
        OffsetInteractionKind::Full,
        InteractionOptimizer::Sgd,
    ));
}

/// With subwords: the checkpoint carries the n-gram table, and the index is rebuilt from
/// its vocabulary.
#[test]
fn a_run_with_subwords_resumes_bit_for_bit() {
    let subwords = bilinear_skipgram::subwords::SubwordConfig::new(3, 5).expect("lengths");
    let config = config(1)
        .to_builder()
        .subwords(Some(subwords))
        .build()
        .expect("config");
    resumed_runs_end_as_the_uninterrupted_run(&config);
}

fn offsets_config(kind: OffsetInteractionKind, optimizer: InteractionOptimizer) -> TrainConfig {
    config(1)
        .to_builder()
        .offset_interactions(kind)
        .offset_learning_rate(0.005)
        .interaction_optimizer(optimizer)
        .build()
        .expect("config")
}

fn resumed_runs_end_as_the_uninterrupted_run(config: &TrainConfig) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.bsg");
    let copies = dir.path().join("copies");
    std::fs::create_dir(&copies).expect("mkdir");
    let stop = AtomicBool::new(false);
    let (reference, n_copies) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch(&path, &copies, &stop));
        let trained = train_checkpointed(config, [bundled_corpus()], &options(&path), NoProgress)
            .expect("train");
        stop.store(true, Ordering::Relaxed);
        (trained, watcher.join().expect("watcher"))
    });
    // One thread: the checkpoints change nothing, so the run without any gives the same
    // model.
    let plain = train(config, [bundled_corpus()], NoProgress).expect("train");
    assert_same_model(&plain.model, &reference.model);
    assert_eq!(plain.report.epoch_losses, reference.report.epoch_losses);
    let mut resumed_from_middle = 0;
    // Every checkpoint seen reads; resuming from each would be slow, so take the first,
    // one from the middle and the last.
    for i in 0..n_copies {
        Checkpoint::read(copies.join(format!("{i}.bsg"))).expect("complete");
    }
    let mut picks = vec![0, n_copies / 2, n_copies.saturating_sub(1)];
    picks.dedup();
    for i in picks {
        let copy = copies.join(format!("{i}.bsg"));
        let checkpoint = Checkpoint::read(&copy).expect("every checkpoint seen is complete");
        let state = checkpoint.state.clone();
        assert_eq!(checkpoint.heldout, reference.heldout);
        // The squares start at zero (absent in the checkpoint before the first word).
        let adagrad = config.interaction_optimizer() == InteractionOptimizer::AdaGrad;
        let squares = checkpoint.optimizer.interaction_squares.is_some();
        assert_eq!(squares, adagrad && state.words_done > 0);
        let offsets = config.offset_interactions() != OffsetInteractionKind::None;
        let offset_squares = checkpoint.optimizer.offset_squares.is_some();
        assert_eq!(offset_squares, offsets && adagrad && state.words_done > 0);
        assert_eq!(
            checkpoint.model.offset_interactions().kind(),
            config.offset_interactions()
        );
        let resumed =
            resume(config, [bundled_corpus()], &options(&copy), NoProgress).expect("resume");
        assert_same_model(&resumed.model, &reference.model);
        assert_eq!(resumed.report.epoch_losses, reference.report.epoch_losses);
        assert_eq!(
            resumed.report.epoch_heldout_losses,
            reference.report.epoch_heldout_losses
        );
        assert_eq!(
            resumed.report.epoch_interactions,
            reference.report.epoch_interactions
        );
        assert_eq!(resumed.heldout, reference.heldout);
        assert_eq!(resumed.report.words, reference.report.words);
        assert_eq!(resumed.report.pairs, reference.report.pairs);
        if state.words_done > 0 && !state.finished(&checkpoint.config) {
            resumed_from_middle += 1;
        }
    }
    assert!(
        resumed_from_middle >= 1,
        "no checkpoint from the middle of the run was caught ({n_copies} seen)"
    );
    // The final checkpoint is the finished run: resuming it returns the model at once.
    let finished = resume(config, [bundled_corpus()], &options(&path), NoProgress).expect("resume");
    assert_same_model(&finished.model, &reference.model);
    // The bundled corpus has a held-out sample, scored at both epoch ends.
    assert!(reference.heldout.is_some());
    assert!(
        reference
            .report
            .epoch_heldout_losses
            .iter()
            .all(Option::is_some)
    );
}

/// A run the observer stops writes a checkpoint at the stop, of the model it returns, and
/// resuming from it ends bit for bit as the uninterrupted run (one thread). Before, no
/// checkpoint was written at the stop, so a time limit shorter than the checkpoint interval
/// resumed from the checkpoint before the first word every time, and never got further.
#[test]
fn a_stopped_run_checkpoints_at_the_stop_and_resumes_from_there() {
    let config = config(1);
    let reference = train(&config, [bundled_corpus()], NoProgress).expect("train");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.bsg");
    // No timer and no word count: the only checkpoints are the one before the first word
    // and, now, the one at the stop.
    let options = CheckpointOptions::new(&path).without_timer();
    // At the first report (a few tenths of a second in, wherever that is), and at the first
    // report of the half of the run: the end of the first epoch, where the workers are
    // paused to score the model (or the last chunk's report just before that pause).
    let at_first = |_: &Progress| ControlFlow::Break(());
    let at_half = |p: &Progress| {
        if p.words_done * 2 == p.words_total {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let observers: [(&str, Box<dyn Observer>); 2] = [
        ("first report", Box::new(at_first)),
        ("half", Box::new(at_half)),
    ];
    for (when, observer) in observers {
        let stopped =
            train_checkpointed(&config, [bundled_corpus()], &options, observer).expect("train");
        assert!(stopped.report.stopped_early, "{when}");
        let at_stop = Checkpoint::read(&path).expect("read");
        let state = &at_stop.state;
        assert!(!state.finished(&at_stop.config), "{when}");
        assert!(
            state.words_done > 0,
            "{when}: the checkpoint before the first word"
        );
        assert_eq!(state.words_done, stopped.report.words, "{when}");
        assert_eq!(state.pairs, stopped.report.pairs, "{when}");
        assert_same_model(&at_stop.model, &stopped.model);
        if when == "half" {
            assert_eq!((state.epoch, state.sentences), (1, 0));
            assert_eq!(2 * state.words_done, reference.report.words);
        }
        // The stop at the half goes on from the checkpoint as the program read it.
        let resumed = if when == "half" {
            Checkpoint::read(&path).expect("read").resume(
                &config,
                [bundled_corpus()],
                &options,
                NoProgress,
            )
        } else {
            resume(&config, [bundled_corpus()], &options, NoProgress)
        }
        .expect("resume");
        assert!(!resumed.report.stopped_early, "{when}");
        assert_same_model(&resumed.model, &reference.model);
        assert_eq!(resumed.report.epoch_losses, reference.report.epoch_losses);
        assert_eq!(
            resumed.report.epoch_heldout_losses,
            reference.report.epoch_heldout_losses
        );
        assert_eq!(resumed.report.words, reference.report.words);
        assert_eq!(resumed.report.pairs, reference.report.pairs);
        eprintln!(
            "{when}: stopped at epoch {}, sentence {}, {} of {} words",
            state.epoch, state.sentences, state.words_done, reference.report.words
        );
    }
    // With two threads too, the checkpoint at the stop holds the model returned.
    let two = config.to_builder().threads(2).build().expect("config");
    let stopped = train_checkpointed(&two, [bundled_corpus()], &options, at_half).expect("train");
    let at_stop = Checkpoint::read(&path).expect("read");
    assert!(stopped.report.stopped_early);
    assert_eq!((at_stop.state.epoch, at_stop.state.sentences), (1, 0));
    assert_eq!(at_stop.state.words_done, stopped.report.words);
    assert_same_model(&at_stop.model, &stopped.model);
}

/// The read-out weight weighs the vectors read out, not training: a run resumes at another
/// one (and ends with the uninterrupted run's parameters), while another word weight, which
/// changes training, is refused.
#[test]
fn a_run_resumes_at_another_readout_weight_and_at_no_other_subword_option() {
    let config = config(1);
    let subwords = config.subwords().expect("the default has subwords");
    let with = |s| {
        config
            .to_builder()
            .subwords(Some(s))
            .build()
            .expect("config")
    };
    let reference = train(&config, [bundled_corpus()], NoProgress).expect("train");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.bsg");
    let options = CheckpointOptions::new(&path).without_timer();
    let at_half = |p: &Progress| {
        if p.words_done * 2 == p.words_total {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let stopped =
        train_checkpointed(&config, [bundled_corpus()], &options, at_half).expect("train");
    assert!(stopped.report.stopped_early);
    let heavier = with(subwords.with_word_weight(3.0).expect("weight"));
    match resume(&heavier, [bundled_corpus()], &options, NoProgress).expect_err("refused") {
        Error::OptionsMismatch { differences, .. } => {
            let names: Vec<&str> = differences.iter().map(|d| d.name).collect();
            assert_eq!(names, ["subword_word_weight"]);
        }
        other => panic!("{other:?}"),
    }
    let lighter = with(subwords.with_readout_weight(0.5).expect("weight"));
    let resumed = resume(&lighter, [bundled_corpus()], &options, NoProgress).expect("resume");
    let (got, want) = (
        resumed.model.subwords().expect("subwords"),
        reference.model.subwords().expect("subwords"),
    );
    assert_eq!(got.index().config().readout_weight(), 0.5);
    assert_eq!(resumed.config.subwords(), lighter.subwords());
    assert!(resumed.model.focus_embeddings() == reference.model.focus_embeddings());
    assert!(resumed.model.context_embeddings() == reference.model.context_embeddings());
    assert!(got.table() == want.table(), "Z differs");
    assert_eq!(resumed.report.epoch_losses, reference.report.epoch_losses);
    assert!(
        resumed.model.readout_focus_vectors() != reference.model.readout_focus_vectors(),
        "read at 0.5, not at 1"
    );
    // The checkpoint records the weight the run went on with.
    let finished = Checkpoint::read(&path).expect("read");
    assert_eq!(finished.config.subwords(), lighter.subwords());
    assert_eq!(
        finished.model.subwords().map(|s| s.index().config()),
        lighter.subwords()
    );
    // The finished run needs no corpus, but another one named for it is refused (it was
    // ignored: any file, or none, returned the model).
    let other = dir.path().join("other.txt");
    std::fs::write(&other, "in the beginning\n").expect("write");
    for corpus in [vec![other.clone()], vec![bundled_corpus(), other]] {
        match resume(&lighter, corpus.clone(), &options, NoProgress) {
            Err(Error::CorpusMismatch { .. }) => {}
            other => panic!("{corpus:?}: {other:?}"),
        }
    }
    resume(&lighter, [bundled_corpus()], &options, NoProgress).expect("the same corpus");
}

/// Runs only as the child process of `sigkill_at_a_random_moment_loses_nothing`.
#[test]
#[ignore = "runs as a child process of another test"]
fn child_trains_until_killed() {
    let Ok(path) = std::env::var("BSG_CHILD_CHECKPOINT") else {
        eprintln!("not a child process: nothing to do");
        return;
    };
    let threads: usize = std::env::var("BSG_CHILD_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    let path = PathBuf::from(path);
    train_checkpointed(
        &config(threads),
        [bundled_corpus()],
        &options(&path),
        NoProgress,
    )
    .expect("child training");
}

/// Starts training in a child process, SIGKILLs it at a random moment while checking that
/// the checkpoint under its name is always complete, resumes, and compares with a run that
/// was not interrupted.
fn kill_and_resume(threads: usize, seed: u64) -> (Trained, Trained) {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    // Without checkpoints: with one thread, the resumed run must give the same model.
    let reference = train(&config(threads), [bundled_corpus()], NoProgress).expect("reference run");
    let reference_seconds = started.elapsed().as_secs_f64();

    let path = dir.path().join("killed.bsg");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "child_trains_until_killed",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("BSG_CHILD_CHECKPOINT", &path)
        .env("BSG_CHILD_THREADS", threads.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !path.exists() {
        assert!(Instant::now() < deadline, "the child wrote no checkpoint");
        assert!(
            child.try_wait().expect("child status").is_none(),
            "the child exited early"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    // Training (without the vocabulary pass) took about `reference_seconds`; kill somewhere
    // in its first 60 %, reading the checkpoint all the while.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let delay = Duration::from_secs_f64(rng.random_range(0.0..0.6) * reference_seconds);
    let kill_at = Instant::now() + delay;
    let mut reads = 0;
    while Instant::now() < kill_at {
        let checkpoint = Checkpoint::read(&path).expect("the checkpoint is always complete");
        assert!(all_finite(&checkpoint.model));
        reads += 1;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap child");
    assert!(reads > 0);

    let at_kill = Checkpoint::read(&path).expect("the checkpoint survives SIGKILL");
    eprintln!(
        "{threads} thread(s): killed after {delay:?} at {} of {} words, {reads} reads",
        at_kill.state.words_done, reference.report.words,
    );
    assert!(
        !at_kill.state.finished(&at_kill.config),
        "the child finished before it was killed"
    );
    let resumed = resume(
        &config(threads),
        [bundled_corpus()],
        &options(&path),
        NoProgress,
    )
    .expect("resume");
    // Only complete files under real names; temporaries are hidden and removed on resume.
    for entry in std::fs::read_dir(dir.path()).expect("list") {
        let name = entry.expect("entry").file_name();
        assert!(
            name.to_str() == Some("killed.bsg"),
            "unexpected file {name:?}"
        );
    }
    (reference, resumed)
}

#[test]
fn sigkill_at_a_random_moment_loses_nothing() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let (reference, resumed) = kill_and_resume(1, seed);
    // One thread: the resumed run is the uninterrupted run, bit for bit.
    assert_same_model(&resumed.model, &reference.model);
    assert_eq!(resumed.report.epoch_losses, reference.report.epoch_losses);
}

#[test]
fn sigkill_with_two_threads_resumes_to_a_loss_in_line() {
    let seed = u64::from(std::process::id()).wrapping_mul(31);
    let (reference, resumed) = kill_and_resume(2, seed);
    assert!(all_finite(&resumed.model));
    assert_eq!(resumed.report.words, reference.report.words);
    let (a, b) = (
        reference.report.epoch_losses[1],
        resumed.report.epoch_losses[1],
    );
    assert!(
        (a - b).abs() <= 0.02 * a,
        "last-epoch loss {b} after resuming, {a} without interruption"
    );
}

fn small_checkpoint(dir: &Path) -> PathBuf {
    let corpus = dir.join("corpus.txt");
    std::fs::write(&corpus, "a b c a b c d a b\n".repeat(200)).expect("corpus");
    let path = dir.join("small.bsg");
    train_checkpointed(
        &small_config(),
        [&corpus],
        &CheckpointOptions::new(&path),
        NoProgress,
    )
    .expect("train");
    path
}

fn format_message(result: Result<Checkpoint, Error>) -> String {
    match result {
        Err(Error::Format { message, .. }) => message,
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn corrupted_and_truncated_checkpoints_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = small_checkpoint(dir.path());
    let good = std::fs::read(&path).expect("read");
    Checkpoint::read(&path).expect("the written checkpoint reads");
    let bad = dir.path().join("bad.bsg");

    // One flipped bit anywhere in the body.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    for _ in 0..50 {
        let mut bytes = good.clone();
        let i = rng.random_range(8..bytes.len());
        bytes[i] ^= 1 << rng.random_range(0..8);
        std::fs::write(&bad, &bytes).expect("write");
        assert!(
            matches!(Checkpoint::read(&bad), Err(Error::Format { .. })),
            "a flipped bit at byte {i} was not caught"
        );
    }
    // Every truncation.
    for len in (0..good.len()).step_by(7) {
        std::fs::write(&bad, &good[..len]).expect("write");
        let message = format_message(Checkpoint::read(&bad));
        assert!(
            message.contains("truncated") || message.contains("magic"),
            "{len}: {message}"
        );
    }
    // Trailing bytes, wrong magic, a header size that does not fit.
    let mut longer = good.clone();
    longer.push(0);
    std::fs::write(&bad, &longer).expect("write");
    assert!(format_message(Checkpoint::read(&bad)).contains("after the end"));
    let mut other = good.clone();
    other[..8].copy_from_slice(b"NOTACKPT");
    std::fs::write(&bad, &other).expect("write");
    assert!(format_message(Checkpoint::read(&bad)).contains("magic"));
    let mut huge = good.clone();
    huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&bad, &huge).expect("write");
    assert!(format_message(Checkpoint::read(&bad)).contains("truncated"));
    // A missing file names it.
    match Checkpoint::read(dir.path().join("missing.bsg")) {
        Err(Error::File { path, .. }) => assert!(path.ends_with("missing.bsg")),
        other => panic!("{other:?}"),
    }
}

fn small_config() -> TrainConfig {
    TrainConfig::builder()
        .dim(4)
        .min_count(1)
        .epochs(1)
        .threads(1)
        .build()
        .expect("config")
}

fn corpus_mismatch(result: Result<Trained, Error>) -> (PathBuf, String) {
    match result {
        Err(error @ Error::CorpusMismatch { .. }) => {
            let message = error.to_string();
            let Error::CorpusMismatch { file, .. } = error else {
                unreachable!()
            };
            (file, message)
        }
        other => panic!(
            "expected a corpus mismatch, got {:?}",
            other.map(|t| t.report)
        ),
    }
}

#[test]
fn resuming_on_another_corpus_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = small_checkpoint(dir.path());
    let corpus = dir.path().join("corpus.txt");
    // A finished run's checkpoint: make it unfinished, as an interruption would leave it.
    let mut checkpoint = Checkpoint::read(&path).expect("read");
    checkpoint.state.epoch = 0;
    checkpoint.state.sentences = 10;
    checkpoint.write(&path).expect("write");
    let options = CheckpointOptions::new(&path);
    let resume_on = |files: &[&Path]| resume(&small_config(), files, &options, NoProgress);

    // Another file of another size.
    let other = dir.path().join("other.txt");
    std::fs::write(&other, "x y z\n").expect("write");
    let (file, message) = corpus_mismatch(resume_on(&[&other]));
    assert_eq!(file, other);
    assert!(
        message.contains("corpus.txt") && message.contains("another name"),
        "{message}"
    );

    // The same text with its letters shifted (a → b, …): same name, same size.
    let text = std::fs::read(&corpus).expect("read");
    let shifted: Vec<u8> = text
        .iter()
        .map(|&b| if b.is_ascii_lowercase() { b + 1 } else { b })
        .collect();
    std::fs::write(&corpus, &shifted).expect("write");
    let (file, message) = corpus_mismatch(resume_on(&[&corpus]));
    assert_eq!(file, corpus);
    eprintln!("{message}");
    assert!(message.contains("content differs"), "{message}");

    // The same content under another name, and a second file.
    std::fs::write(&corpus, &text).expect("write");
    let renamed = dir.path().join("renamed.txt");
    std::fs::write(&renamed, &text).expect("write");
    let (file, message) = corpus_mismatch(resume_on(&[&renamed]));
    assert_eq!(file, renamed);
    assert!(message.contains("another name"), "{message}");
    let (file, message) = corpus_mismatch(resume_on(&[&corpus, &renamed]));
    assert_eq!(file, renamed);
    assert!(message.contains("1 corpus file"), "{message}");

    // A different size (one more line).
    let mut longer = text.clone();
    longer.extend_from_slice(b"a b\n");
    std::fs::write(&corpus, &longer).expect("write");
    let (_, message) = corpus_mismatch(resume_on(&[&corpus]));
    assert!(message.contains("bytes, and had"), "{message}");

    // The original corpus resumes.
    std::fs::write(&corpus, &text).expect("write");
    resume_on(&[&corpus]).expect("the same corpus resumes");
}

#[test]
fn resuming_with_other_options_is_refused_naming_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = small_checkpoint(dir.path());
    let corpus = dir.path().join("corpus.txt");
    let options = CheckpointOptions::new(&path);
    let other = small_config()
        .to_builder()
        .dim(8)
        .window(3)
        .learning_rate(0.1)
        .build()
        .expect("config");
    match resume(&other, [&corpus], &options, NoProgress) {
        Err(error @ Error::OptionsMismatch { .. }) => {
            let message = error.to_string();
            eprintln!("{message}");
            let Error::OptionsMismatch { differences, .. } = error else {
                unreachable!()
            };
            let listed: Vec<(&str, &str, &str)> = differences
                .iter()
                .map(|d| (d.name, d.checkpoint.as_str(), d.given.as_str()))
                .collect();
            // small_config() keeps the default learning rate.
            let default_rate = bilinear_skipgram::config::DEFAULT_LEARNING_RATE.to_string();
            assert_eq!(
                listed,
                [
                    ("dim", "4", "8"),
                    ("window", "5", "3"),
                    ("learning_rate", default_rate.as_str(), "0.1")
                ]
            );
            assert!(
                message.contains("dim = 4 in the checkpoint, 8 given"),
                "{message}"
            );
        }
        other => panic!(
            "expected an options mismatch, got {:?}",
            other.map(|t| t.report)
        ),
    }
    // The number of threads may change.
    let threads = small_config()
        .to_builder()
        .threads(2)
        .build()
        .expect("config");
    resume(&threads, [&corpus], &options, NoProgress).expect("other threads resume");
}

/// Retries lower the learning rates in the checkpoint; the command that started the run
/// (with its original rates) must still resume it, and another rate is still refused.
#[test]
fn a_checkpoint_lowered_by_retries_resumes_with_the_original_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.bsg");
    let options = options(&path).retries(6, 0.1).expect("retries");
    let trained = train_checkpointed(
        &explosive_config(),
        [bundled_corpus()],
        &options,
        NoProgress,
    )
    .expect("recovers");
    let n_retries = trained.report.recovered.len();
    assert!(n_retries > 0);
    let checkpoint = Checkpoint::read(&path).expect("read");
    assert_eq!(checkpoint.state.retry_factors, vec![0.1; n_retries]);
    let again = resume(
        &explosive_config(),
        [bundled_corpus()],
        &options,
        NoProgress,
    )
    .expect("the same command resumes");
    assert_same_model(&again.model, &trained.model);
    let lower = explosive_config()
        .to_builder()
        .learning_rate(5.0)
        .build()
        .expect("config");
    match resume(&lower, [bundled_corpus()], &options, NoProgress) {
        Err(error @ Error::OptionsMismatch { .. }) => {
            let message = error.to_string();
            eprintln!("{message}");
            assert!(message.contains("learning_rate = "), "{message}");
            assert!(message.contains("retr"), "{message}");
            assert!(!message.contains("interaction_learning_rate"), "{message}");
        }
        other => panic!(
            "expected an options mismatch, got {:?}",
            other.map(|t| t.report)
        ),
    }
}

#[test]
fn a_non_finite_parameter_stops_training_with_where_and_when() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus_path = dir.path().join("corpus.txt");
    std::fs::write(&corpus_path, "a b c a b c d a b\n".repeat(200)).expect("corpus");
    let config = TrainConfig::builder()
        .dim(4)
        .min_count(1)
        .epochs(1)
        .threads(1)
        .subsample(0.0)
        .learning_rate(0.05)
        .build()
        .expect("config");
    let vocab = Vocab::from_counts(
        [("a", 600), ("b", 600), ("c", 400), ("d", 200)].map(|(w, c)| (w.to_owned(), c)),
        OovPolicy::Drop,
    )
    .expect("vocab");
    let mut model = Model::for_vocab(&config, &vocab).expect("model");
    model.context_embeddings_mut()[[1, 2]] = f32::NAN;
    let corpus = Corpus::new([&corpus_path], config.corpus_options().clone());
    let result = train_model(&config, &vocab, &mut model, &corpus, NoProgress);
    if let Err(error) = &result {
        eprintln!("{error}");
    }
    match result {
        Err(Error::Diverged {
            epoch,
            words,
            learning_rate,
            interaction_learning_rate,
            offset_learning_rate,
            what,
        }) => {
            assert_eq!(epoch, 0);
            assert!(words < 20, "caught only after {words} words");
            assert!(learning_rate > 0.049 && learning_rate <= 0.05);
            assert_eq!(interaction_learning_rate, 0.0);
            // The default diagonal per-offset interactions train at their own rate.
            assert_eq!(
                offset_learning_rate.map(|rate| rate > 0.0),
                Some(true),
                "{offset_learning_rate:?}"
            );
            assert!(what.contains("NaN"), "{what}");
        }
        other => panic!("expected divergence, got {other:?}"),
    }
}

/// A configuration that diverges at its learning rate but trains at a tenth of it.
fn explosive_config() -> TrainConfig {
    TrainConfig::builder()
        .dim(16)
        .window(3)
        .epochs(1)
        .min_count(5)
        .threads(1)
        .learning_rate(50.0)
        .interaction_learning_rate(50.0)
        .build()
        .expect("config")
}

#[test]
fn divergence_keeps_the_last_checkpoint_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.bsg");
    let result = train_checkpointed(
        &explosive_config(),
        [bundled_corpus()],
        &options(&path),
        NoProgress,
    );
    match result {
        Err(
            error @ Error::Diverged {
                learning_rate,
                interaction_learning_rate,
                words,
                ..
            },
        ) => {
            assert!(learning_rate > 1.0, "{learning_rate}");
            assert!(
                interaction_learning_rate > 1.0,
                "{interaction_learning_rate}"
            );
            assert!(words > 0);
            let message = error.to_string();
            eprintln!("{message}");
            assert!(
                message.contains("(U, V)") && message.contains("(W)"),
                "{message}"
            );
        }
        other => panic!("expected divergence, got {:?}", other.map(|t| t.report)),
    }
    let last = Checkpoint::read(&path).expect("the last checkpoint is valid");
    assert!(all_finite(&last.model));
    assert!(!last.state.finished(&last.config));
}

#[test]
fn divergence_is_retried_from_the_last_checkpoint_with_a_lower_rate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run.bsg");
    let options = options(&path).retries(6, 0.1).expect("retries");
    let trained = train_checkpointed(
        &explosive_config(),
        [bundled_corpus()],
        &options,
        NoProgress,
    )
    .expect("recovers");
    for divergence in &trained.report.recovered {
        eprintln!("recovered from: {divergence}");
    }
    assert!(!trained.report.recovered.is_empty());
    assert!(trained.report.recovered.len() <= 6);
    assert!(trained.report.recovered[0].contains("diverged"));
    let factor = 0.1_f32.powi(trained.report.recovered.len() as i32);
    let expected = 50.0 * factor;
    assert!((trained.config.learning_rate() - expected).abs() <= 1e-5 * expected);
    assert!(all_finite(&trained.model));
    assert!(trained.report.epoch_losses[0].is_finite());
    // The finished checkpoint records the lowered rate.
    let last = Checkpoint::read(&path).expect("read");
    assert_eq!(last.config.learning_rate(), trained.config.learning_rate());
}

/// Writes and reads a checkpoint of 200 000 words at dim 300 (480 MB of parameters) and
/// prints the speed; run with
/// `cargo test --release --test checkpoint -- --ignored large_checkpoint --nocapture`.
#[test]
#[ignore = "writes half a gigabyte"]
fn large_checkpoint_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("large.bsg");
    let n_words = 200_000;
    let config = TrainConfig::builder()
        .dim(300)
        .min_count(1)
        .threads(2)
        .build()
        .expect("config");
    let vocab = Vocab::from_counts(
        (0..n_words).map(|i| (format!("w{i}"), 1_000_000 / (i as u64 + 1) + 1)),
        OovPolicy::Drop,
    )
    .expect("vocab");
    let mut model = Model::for_vocab(&config, &vocab).expect("model");
    model.context_embeddings_mut().fill(0.25);
    let checkpoint = Checkpoint::new(
        config.clone(),
        vocab,
        model,
        bilinear_skipgram::checkpoint::TrainState::new(&config, vec![]),
    )
    .expect("checkpoint");
    let started = Instant::now();
    checkpoint.write(&path).expect("write");
    let write = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&path).expect("size").len() as f64;
    let started = Instant::now();
    let back = Checkpoint::read(&path).expect("read");
    let read = started.elapsed().as_secs_f64();
    assert_same_model(&back.model, &checkpoint.model);
    assert_eq!(back.state, checkpoint.state);
    eprintln!(
        "{:.0} MB: write {write:.2} s ({:.0} MB/s), read and check {read:.2} s ({:.0} MB/s)",
        bytes / 1e6,
        bytes / 1e6 / write,
        bytes / 1e6 / read
    );
}

/// A divergence near the end of a long epoch, while the reader is likely blocked on a
/// full chunk queue, must still end training promptly (no thread left waiting).
#[test]
fn a_late_divergence_stops_every_thread() {
    for threads in [1, 2] {
        // Three epochs, so the reader is well ahead when the first one ends.
        let config = TrainConfig::builder()
            .dim(8)
            .epochs(3)
            .min_count(1)
            .subsample(0.0)
            .threads(threads)
            .build()
            .expect("config");
        let corpus = Corpus::new([bundled_corpus()], config.corpus_options().clone());
        let vocab = bilinear_skipgram::VocabBuilder::count_corpus(&corpus)
            .expect("count")
            .build(1, None, OovPolicy::Drop)
            .expect("vocab");
        // "alpha" occurs only in the last book.
        let alpha = vocab.id("alpha").expect("alpha");
        let mut model = Model::for_vocab(&config, &vocab).expect("model");
        model.focus_embeddings_mut()[[alpha, 0]] = f32::INFINITY;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let result = train_model(&config, &vocab, &mut model, &corpus, NoProgress);
            let _ = tx.send(result.map(|report| report.words));
        });
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Err(Error::Diverged { words, .. })) => {
                eprintln!("{threads} thread(s): diverged after {words} words");
            }
            Ok(other) => panic!("expected divergence, got {other:?}"),
            Err(_) => panic!("training did not stop after diverging ({threads} threads)"),
        }
    }
}

/// A checkpoint built by hand from a state without corpus fingerprints
/// (`TrainState::new(config, vec![])`, documented as skipping the corpus check) resumes.
#[test]
fn a_checkpoint_built_without_fingerprints_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("built.bsg");
    let config = config(1);
    let vocab = bilinear_skipgram::VocabBuilder::count_corpus(&Corpus::new(
        [bundled_corpus()],
        config.corpus_options().clone(),
    ))
    .expect("counts")
    .build(config.min_count(), None, OovPolicy::Drop)
    .expect("vocab");
    let model = Model::for_vocab(&config, &vocab).expect("model");
    let state = bilinear_skipgram::checkpoint::TrainState::new(&config, vec![]);
    Checkpoint::new(config.clone(), vocab, model, state)
        .expect("consistent parts")
        .write(&path)
        .expect("writes");
    let trained = resume(&config, [bundled_corpus()], &options(&path), NoProgress)
        .expect("no fingerprints: the corpus is not checked");
    assert_eq!(trained.report.epoch_losses.len(), config.epochs());
}

/// A checkpoint path that cannot be written is refused before the corpus is read; the
/// temporary file of a live process next to it is left alone, a dead one's removed.
#[cfg(unix)]
#[test]
fn checkpoint_paths_are_checked_first_and_live_temporaries_kept() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    let dir = tempfile::tempdir().expect("tempdir");
    let opened = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&opened);
    let corpus = Corpus::from_reader_fn("counted", move || {
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(std::io::Cursor::new(b"a b c\n".to_vec()))
    });
    let missing = dir.path().join("no/such/run.bsg");
    let error = train_checkpointed(&config(1), &corpus, &options(&missing), NoProgress)
        .expect_err("the folder does not exist");
    assert!(error.to_string().contains("no/such"), "{error}");
    assert_eq!(opened.load(Ordering::Relaxed), 0, "the corpus was read");

    // A symbolic link is not followed, as output folders are not: writing the checkpoint
    // would replace the link with a file and leave its target stale. Refused by both,
    // before the corpus is read, and left as it is.
    let small = tempfile::tempdir().expect("tempdir");
    let target = small_checkpoint(small.path());
    let mut unfinished = Checkpoint::read(&target).expect("read");
    unfinished.state.epoch = 0;
    unfinished.state.sentences = 10;
    unfinished.write(&target).expect("write");
    let before = std::fs::read(&target).expect("read");
    let link = dir.path().join("link.bsg");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let link_options = CheckpointOptions::new(&link);
    let refused = |error: Error| {
        let message = error.to_string();
        assert!(
            message.contains("link.bsg: exists and is a symbolic link"),
            "{message}"
        );
    };
    refused(
        train_checkpointed(&small_config(), &corpus, &link_options, NoProgress)
            .expect_err("a link"),
    );
    refused(resume(&small_config(), &corpus, &link_options, NoProgress).expect_err("a link"));
    assert_eq!(opened.load(Ordering::Relaxed), 0, "the corpus was read");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("kept")
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&target).expect("read"), before);

    let path = dir.path().join("run.bsg");
    let live = dir.path().join(format!(
        ".run.bsg.tmp{}",
        std::os::unix::process::parent_id()
    ));
    let dead = dir.path().join(".run.bsg.tmp2000000000");
    for file in [&live, &dead] {
        std::fs::write(file, b"partial").expect("write");
    }
    let config = config(1).to_builder().epochs(1).build().expect("config");
    train_checkpointed(&config, [bundled_corpus()], &options(&path), NoProgress).expect("trains");
    assert!(live.exists(), "a live process's temporary file was removed");
    assert!(!dead.exists(), "a dead process's temporary file was left");
}
