//! The `serde` feature: round trips through JSON, and deserialising through the builders'
//! checks.
#![cfg(feature = "serde")]

use bilinear_skipgram::{OovPolicy, TrainConfig, TrainReport, Vocab};

#[test]
fn train_config_round_trips_and_is_checked() {
    let config = TrainConfig::builder()
        .dim(50)
        .window(3)
        .learning_rate(0.05)
        .max_vocab(Some(20_000))
        .seed(u64::MAX)
        .oov(OovPolicy::Unk)
        .build()
        .expect("valid");
    let json = serde_json::to_string(&config).expect("serialises");
    assert!(json.contains("\"dim\":50"), "{json}");
    assert!(json.contains("\"learning_rate\":0.05"), "{json}");
    assert!(json.contains("\"oov\":\"unk\""), "{json}");
    let back: TrainConfig = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, config);

    // Missing keys take the defaults; integers are accepted for floats; null max_vocab is
    // no limit.
    let small: TrainConfig =
        serde_json::from_str(r#"{"dim": 8, "learning_rate": 1, "max_vocab": null}"#)
            .expect("deserialises");
    let expected = TrainConfig::builder()
        .dim(8)
        .learning_rate(1.0)
        .build()
        .expect("valid");
    assert_eq!(small, expected);

    // Whatever the builder rejects, deserialising rejects, with the builder's message.
    for (json, needle) in [
        (r#"{"dim": 0}"#, "`dim` must be at least 1, got 0"),
        (r#"{"learning_rate": -0.5}"#, "`learning_rate` must lie in"),
        (r#"{"subsample": 1.5}"#, "`subsample` must lie in"),
        (r#"{"dim": 8, "dimm": 9}"#, "unknown key `dimm`"),
        (r#"{"dim": "eight"}"#, "bad value for `dim`: \"eight\""),
        (r#"{"dim": -3}"#, "bad value for `dim`: -3"),
        (r#"{"window_mode": "wide"}"#, "bad value for `window_mode`"),
        (r#"{"dim": 8, "dim": 9}"#, "`dim` is given twice"),
        (r#"{"max_vocab": 0}"#, "`max_vocab` must be at least 1"),
    ] {
        let error = serde_json::from_str::<TrainConfig>(json).expect_err(json);
        assert!(error.to_string().contains(needle), "{json}: {error}");
    }
}

#[test]
fn vocab_round_trips_and_is_checked() {
    let vocab = Vocab::from_counts(
        [("нефт", 3), ("<UNK>", 2), ("oil", 1)].map(|(w, c)| (w.to_owned(), c)),
        OovPolicy::Unk,
    )
    .expect("vocab");
    let json = serde_json::to_string(&vocab).expect("serialises");
    assert_eq!(
        json,
        r#"{"words":["нефт","<UNK>","oil"],"counts":[3,2,1],"oov":"unk"}"#
    );
    let back: Vocab = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back, vocab);
    assert_eq!(back.unk_id(), Some(1));
    for (json, needle) in [
        (
            r#"{"words":["a","b","a"],"counts":[1,2,3],"oov":"drop"}"#,
            "word \"a\" appears more than once",
        ),
        (
            r#"{"words":["a"],"counts":[1,2],"oov":"drop"}"#,
            "1 words but 2 counts",
        ),
        (
            r#"{"words":[],"counts":[],"oov":"drop"}"#,
            "the vocabulary is empty",
        ),
        (
            r#"{"words":["a"],"counts":[1],"oov":"unk"}"#,
            "without its <UNK> entry",
        ),
        (
            r#"{"words":["a"],"counts":[1],"oov":"keep"}"#,
            "unknown variant `keep`",
        ),
        (
            r#"{"words":["a"],"counts":[1],"oov":"drop","x":1}"#,
            "unknown field `x`",
        ),
    ] {
        let error = serde_json::from_str::<Vocab>(json).expect_err(json);
        assert!(error.to_string().contains(needle), "{json}: {error}");
    }
}

#[test]
fn progress_and_report_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.txt");
    std::fs::write(&path, "a b c d\nb c d e\n".repeat(50)).expect("write");
    let config = TrainConfig::builder()
        .dim(4)
        .epochs(1)
        .min_count(1)
        .threads(1)
        .build()
        .expect("valid");
    struct Keep(Vec<bilinear_skipgram::Progress>);
    impl bilinear_skipgram::Observer for Keep {
        fn on_progress(
            &mut self,
            progress: &bilinear_skipgram::Progress,
        ) -> std::ops::ControlFlow<()> {
            self.0.push(*progress);
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut keep = Keep(Vec::new());
    // An observer of one's own is kept by lending it through a closure.
    let trained = bilinear_skipgram::train(&config, [&path], |p: &bilinear_skipgram::Progress| {
        bilinear_skipgram::Observer::on_progress(&mut keep, p)
    })
    .expect("trains");
    let json = serde_json::to_string(&trained.report).expect("serialises");
    let report: TrainReport = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(report, trained.report);
    let last = keep.0.last().expect("a report");
    let json = serde_json::to_string(last).expect("serialises");
    assert!(json.contains("\"elapsed\""), "{json}");
    let progress: bilinear_skipgram::Progress = serde_json::from_str(&json).expect("back");
    assert_eq!(progress.words_done, last.words_done);
    assert_eq!(progress.elapsed, last.elapsed);
}
