//! Stopping training from the progress callback: the partial model comes back with a
//! report that says so, promptly, from every trainer, with no thread left behind.

use std::ops::ControlFlow;
use std::time::Instant;

use bilinear_skipgram::{
    Corpus, Model, NoProgress, Observer, Progress, TrainConfig, Vocab, VocabBuilder, train,
    train_course, train_model,
};

/// A worker trains at most the chunk it holds when told to stop: 10 000 words and the rest
/// of the sentence that reaches them.
const CHUNK_WORDS_AT_MOST: u64 = 10_000 + 10;

/// `n` sentences of 10 words over two topics (100 distinct words), from a fixed generator.
fn sentences(n: usize) -> Vec<Vec<String>> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|i| {
            let topic = if i % 2 == 0 { "a" } else { "b" };
            (0..10).map(|_| format!("{topic}{}", next() % 50)).collect()
        })
        .collect()
}

fn config(threads: usize, epochs: usize) -> TrainConfig {
    TrainConfig::builder()
        .dim(8)
        .window(2)
        .negatives(2)
        .epochs(epochs)
        .min_count(1)
        .threads(threads)
        .seed(3)
        .build()
        .expect("config")
}

fn all_finite(model: &Model) -> bool {
    model.focus_embeddings().iter().all(|x| x.is_finite())
        && model.context_embeddings().iter().all(|x| x.is_finite())
        && model.interaction().iter().all(|x| x.is_finite())
}

#[test]
fn stopping_after_the_first_report_returns_the_partial_model() {
    // 60 000 words an epoch, 3 epochs. There is a held-out sample, so the end of every
    // epoch is reported: the first report comes at the latest at the end of the first
    // epoch, whatever the machine's speed.
    let corpus = Corpus::from_sentences(sentences(6_000));
    for threads in [1, 2] {
        let config = config(threads, 3);
        let full = train(&config, &corpus, NoProgress).expect("full run");
        assert!(!full.report.stopped_early);
        assert_eq!(full.report.epoch_losses.len(), 3);

        let mut calls = 0;
        let mut at_stop = 0;
        let stopped = train(&config, &corpus, |p: &Progress| {
            calls += 1;
            at_stop = p.words_done;
            ControlFlow::Break(())
        })
        .expect("stopped run");
        // Not called again after it said stop, not even for the final report.
        assert_eq!(calls, 1);
        let report = &stopped.report;
        assert!(report.stopped_early);
        assert!(report.words < full.report.words, "{} words", report.words);
        // Prompt: each worker finished at most the chunk it held.
        assert!(report.words >= at_stop);
        assert!(
            report.words <= at_stop + threads as u64 * CHUNK_WORDS_AT_MOST,
            "{} words done, {at_stop} at the stop",
            report.words
        );
        assert!(report.pairs > 0 && report.pairs < full.report.pairs);
        // The lists stop at the epoch it stopped in, scored at the stop.
        assert!(!report.epoch_losses.is_empty() && report.epoch_losses.len() <= 2);
        assert_eq!(report.epoch_heldout_losses.len(), report.epoch_losses.len());
        assert!(
            report
                .epoch_heldout_losses
                .last()
                .copied()
                .flatten()
                .is_some()
        );
        assert!(
            report
                .epoch_interactions
                .last()
                .copied()
                .flatten()
                .is_some()
        );
        assert_eq!(stopped.vocab.words(), full.vocab.words());
        assert!(all_finite(&stopped.model));
        // The partial model was trained: it moved from where it started.
        let initial = Model::for_vocab(&config, &stopped.vocab).expect("model");
        assert!(stopped.model.focus_embeddings() != initial.focus_embeddings());
    }
}

#[test]
fn a_deadline_that_has_passed_stops_at_the_first_report() {
    let corpus = Corpus::from_sentences(sentences(6_000));
    let config = config(2, 4);
    // A service's deadline; here one already passed when training starts, so the test
    // does not depend on how fast the machine is.
    let deadline = Instant::now();
    let stopped = train(&config, &corpus, |_: &Progress| {
        if Instant::now() >= deadline {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .expect("stopped");
    assert!(stopped.report.stopped_early);
    assert!(stopped.report.words < 4 * 60_000 / 2);
}

#[test]
fn a_word_budget_stops_within_a_chunk_per_thread() {
    let corpus = Corpus::from_sentences(sentences(6_000));
    let total = train(&config(1, 3), &corpus, NoProgress)
        .expect("full")
        .report
        .words;
    // About 59 000 words an epoch: the end of the first epoch, or of the second, is
    // reported after each budget is reached and before the run ends.
    for threads in [1, 2, 3] {
        for budget in [1_u64, 50_000, 100_000] {
            let mut at_stop = 0;
            let stopped = train(&config(threads, 3), &corpus, |p: &Progress| {
                at_stop = p.words_done;
                if p.words_done >= budget {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .expect("stopped");
            let report = &stopped.report;
            assert!(report.stopped_early, "{threads} threads, budget {budget}");
            assert!(at_stop >= budget);
            assert!(report.words >= at_stop && report.words < total);
            assert!(report.words <= at_stop + threads as u64 * CHUNK_WORDS_AT_MOST);
            assert!(all_finite(&stopped.model));
        }
    }
}

#[test]
fn a_break_at_the_final_report_is_not_a_stop() {
    let corpus = Corpus::from_sentences(sentences(1_000));
    let config = config(1, 2);
    let full = train(&config, &corpus, NoProgress).expect("full");
    let total = full.report.words;
    // Asks to stop only once every word is done: the run had finished.
    let trained = train(&config, &corpus, |p: &Progress| {
        if p.words_done >= total {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .expect("trains");
    assert!(!trained.report.stopped_early);
    assert_eq!(trained.report.words, total);
    assert_eq!(trained.report.epoch_losses.len(), 2);
}

#[test]
fn train_model_and_the_course_trainer_stop_too() {
    let corpus = Corpus::from_sentences(sentences(3_000));
    // With W trained, the end of every epoch is reported, so the first report comes at the
    // latest at the end of the first epoch.
    let config = config(1, 3)
        .to_builder()
        .interaction_learning_rate(0.001)
        .build()
        .expect("config");
    let vocab: Vocab = VocabBuilder::count_corpus(&corpus)
        .expect("counts")
        .build(1, None, config.oov())
        .expect("vocab");
    let words_total = 3 * vocab.n_tokens();

    let mut model = Model::for_vocab(&config, &vocab).expect("model");
    let report = train_model(&config, &vocab, &mut model, &corpus, |_: &Progress| {
        ControlFlow::Break(())
    })
    .expect("online");
    assert!(report.stopped_early);
    assert!(report.words < words_total);

    // The course has one W, no per-offset interactions and no subwords.
    let config = config
        .to_builder()
        .offset_interactions(bilinear_skipgram::OffsetInteractionKind::None)
        .subwords(None)
        .build()
        .expect("valid");
    let mut model = Model::for_vocab(&config, &vocab).expect("model");
    let mut calls = 0;
    let report = train_course(&config, &vocab, &mut model, &corpus, 100, |_: &Progress| {
        calls += 1;
        ControlFlow::Break(())
    })
    .expect("course");
    assert_eq!(calls, 1);
    assert!(report.stopped_early);
    // The course trainer reports at the latest at the end of each epoch.
    assert!(report.words <= vocab.n_tokens());
    assert_eq!(report.epoch_losses.len(), 1);
    assert!(all_finite(&model));

    // A run stopped in its first epoch counts the overlong tokens of the part it read
    // (both trainers reported 0).
    let mut with_long = sentences(3_000);
    with_long[0].push("x".repeat(2_000));
    let long_corpus = Corpus::from_sentences(with_long);
    let mut model = Model::for_vocab(&config, &vocab).expect("model");
    let report = train_course(
        &config,
        &vocab,
        &mut model,
        &long_corpus,
        100,
        |_: &Progress| ControlFlow::Break(()),
    )
    .expect("course");
    assert!(report.stopped_early);
    assert_eq!(report.long_tokens_skipped, 1);
    // The online trainer reports every 200 ms: on a corpus that takes longer, the first
    // report stops it in its first epoch, or, on a fast machine, at the epoch's end, where
    // the count is 1 as well.
    let mut with_long = sentences(100_000);
    with_long[0].push("x".repeat(2_000));
    let long_corpus = Corpus::from_sentences(with_long);
    let mut model = Model::for_vocab(&config, &vocab).expect("model");
    let report = train_model(&config, &vocab, &mut model, &long_corpus, |_: &Progress| {
        ControlFlow::Break(())
    })
    .expect("online");
    assert!(report.stopped_early);
    assert_eq!(report.long_tokens_skipped, 1);

    let mut model = Model::for_vocab(&config, &vocab).expect("model");
    let report =
        train_course(&config, &vocab, &mut model, &corpus, 100, NoProgress).expect("course");
    assert!(!report.stopped_early);
    assert_eq!(report.words, words_total);

    // A batch whose buffers cannot fit (terabytes) is refused before anything is allocated
    // or trained (it aborted allocating before the course had a memory check).
    if std::fs::read_to_string("/proc/meminfo").is_ok() {
        let before = model.clone();
        let error = train_course(&config, &vocab, &mut model, &corpus, 1 << 40, NoProgress)
            .expect_err("refused");
        assert!(
            matches!(error, bilinear_skipgram::Error::OutOfMemory { .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("a batch of 1099511627776: "),
            "{error}"
        );
        assert_eq!(model, before);
    }
}

#[test]
fn observers_of_every_kind_are_accepted() {
    /// An observer of one's own, which stops after `limit` reports.
    struct Limit {
        seen: usize,
        limit: usize,
    }
    impl Observer for Limit {
        fn on_progress(&mut self, _: &Progress) -> ControlFlow<()> {
            self.seen += 1;
            if self.seen >= self.limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    let corpus = Corpus::from_sentences(sentences(2_000));
    let config = config(1, 3);
    // By value, lent through a closure, as a trait object, boxed, and `&mut NoProgress`.
    let by_value = train(&config, &corpus, Limit { seen: 0, limit: 1 }).expect("by value");
    assert!(by_value.report.stopped_early);
    let mut limit = Limit { seen: 0, limit: 1 };
    let lent = train(&config, &corpus, |p: &Progress| limit.on_progress(p)).expect("lent");
    assert!(lent.report.stopped_early);
    assert_eq!(limit.seen, 1);
    let mut limit = Limit { seen: 0, limit: 1 };
    let dynamic: &mut dyn Observer = &mut limit;
    assert!(
        train(&config, &corpus, dynamic)
            .expect("dyn")
            .report
            .stopped_early
    );
    let boxed: Box<dyn Observer> = Box::new(Limit { seen: 0, limit: 1 });
    assert!(
        train(&config, &corpus, boxed)
            .expect("box")
            .report
            .stopped_early
    );
    let mut counted = 0;
    let mut closure = |_: &Progress| {
        counted += 1;
        ControlFlow::Continue(())
    };
    assert!(
        !train(&config, &corpus, &mut closure)
            .expect("&mut closure")
            .report
            .stopped_early
    );
    assert!(counted > 0);
    assert!(
        !train(&config, &corpus, &mut NoProgress)
            .expect("&mut")
            .report
            .stopped_early
    );
}

/// A panicking observer's panic reaches the caller of `train` and `train_checkpointed`:
/// it left the reader and the workers waiting on a loop that no longer ran, and `train`
/// never returned.
#[test]
fn a_panicking_observer_panics_the_caller_and_leaves_no_thread_waiting() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (threads, checkpointed) in [(1, false), (2, false), (2, true)] {
        let corpus = Corpus::from_sentences(sentences(20_000));
        // Epochs enough for pauses at epoch ends after the panic, which waited for good.
        let config = config(threads, 6);
        let checkpoint = dir.path().join(format!("{threads}-{checkpointed}.bsg"));
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut calls = 0;
            // Panics at the second report: the first may come before the workers start.
            let observer = move |_: &Progress| -> ControlFlow<()> {
                calls += 1;
                assert!(calls < 2, "the observer panics");
                ControlFlow::Continue(())
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if checkpointed {
                    let options = bilinear_skipgram::CheckpointOptions::new(&checkpoint);
                    bilinear_skipgram::train_checkpointed(&config, corpus, &options, observer)
                        .map(drop)
                } else {
                    train(&config, corpus, observer).map(drop)
                }
            }));
            let _ = sender.send(outcome.is_err());
        });
        let panicked = receiver
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{threads} threads: train did not return within a minute"));
        assert!(panicked, "{threads} threads, checkpointed {checkpointed}");
    }
}
