//! Unit tests of the configuration: its checks, names and text form.

use super::*;

fn err(b: TrainConfigBuilder) -> ConfigError {
    match b.build() {
        Ok(c) => panic!("accepted {c:?}"),
        Err(e) => e,
    }
}

#[test]
fn defaults_are_valid() {
    let c = TrainConfig::builder().build().expect("defaults");
    assert_eq!(c, TrainConfig::default());
    assert_eq!(c.learning_rate(), DEFAULT_LEARNING_RATE);
    assert_eq!(c.offset_interactions(), OffsetInteractionKind::Diagonal);
    assert_eq!(c.interaction_optimizer(), InteractionOptimizer::AdaGrad);
    assert_eq!(c.window_mode(), WindowMode::Shrink);
}

#[test]
fn each_integer_rule_names_field_and_value() {
    let b = TrainConfig::builder;
    let cases: Vec<(TrainConfigBuilder, ConfigError)> = vec![
        (
            b().dim(0),
            ConfigError::TooSmall {
                field: "dim",
                min: 1,
                value: 0,
            },
        ),
        (
            b().dim(10_001),
            ConfigError::TooLarge {
                field: "dim",
                max: 10_000,
                value: 10_001,
            },
        ),
        (
            b().window(0),
            ConfigError::TooSmall {
                field: "window",
                min: 1,
                value: 0,
            },
        ),
        (
            b().negatives(0),
            ConfigError::TooSmall {
                field: "negatives",
                min: 1,
                value: 0,
            },
        ),
        (
            b().epochs(0),
            ConfigError::TooSmall {
                field: "epochs",
                min: 1,
                value: 0,
            },
        ),
        (
            b().min_count(0),
            ConfigError::TooSmall {
                field: "min_count",
                min: 1,
                value: 0,
            },
        ),
        (
            b().max_vocab(Some(0)),
            ConfigError::TooSmall {
                field: "max_vocab",
                min: 1,
                value: 0,
            },
        ),
        (
            b().threads(0),
            ConfigError::TooSmall {
                field: "threads",
                min: 1,
                value: 0,
            },
        ),
        (
            b().threads(5000),
            ConfigError::TooLarge {
                field: "threads",
                max: 1024,
                value: 5000,
            },
        ),
        (
            b().merge_interval(0),
            ConfigError::TooSmall {
                field: "merge_interval",
                min: 1,
                value: 0,
            },
        ),
        (
            b().heldout_pairs(1_000_001),
            ConfigError::TooLarge {
                field: "heldout_pairs",
                max: 1_000_000,
                value: 1_000_001,
            },
        ),
    ];
    for (builder, expected) in cases {
        assert_eq!(err(builder), expected);
    }
}

#[test]
fn each_float_rule_names_field_and_value() {
    let b = TrainConfig::builder;
    assert_eq!(
        err(b().learning_rate(f32::NAN)).to_string(),
        "`learning_rate` must be finite, got NaN"
    );
    assert_eq!(
        err(b().learning_rate(0.0)),
        ConfigError::OutOfRange {
            field: "learning_rate",
            range: "(0, 100]",
            value: 0.0
        }
    );
    assert_eq!(
        err(b().interaction_learning_rate(-1.0)),
        ConfigError::OutOfRange {
            field: "interaction_learning_rate",
            range: "[0, 100]",
            value: -1.0
        }
    );
    assert_eq!(
        err(b().interaction_learning_rate(f32::INFINITY)),
        ConfigError::NotFinite {
            field: "interaction_learning_rate",
            value: f64::INFINITY
        }
    );
    assert_eq!(
        err(b().subsample(1.0)),
        ConfigError::OutOfRange {
            field: "subsample",
            range: "[0, 1)",
            value: 1.0
        }
    );
    assert_eq!(
        err(b().subsample(-0.1)).to_string(),
        "`subsample` must lie in [0, 1), got -0.1"
    );
    assert_eq!(
        err(b().negative_power(f64::NEG_INFINITY)),
        ConfigError::NotFinite {
            field: "negative_power",
            value: f64::NEG_INFINITY
        }
    );
    assert_eq!(
        err(b().negative_power(-0.5)),
        ConfigError::OutOfRange {
            field: "negative_power",
            range: "[0, 10]",
            value: -0.5
        }
    );
    assert_eq!(
        err(b().interaction_decay(-0.5)),
        ConfigError::OutOfRange {
            field: "interaction_decay",
            range: "[0, 100]",
            value: -0.5
        }
    );
    assert_eq!(
        err(b().interaction_decay(f32::NAN)).to_string(),
        "`interaction_decay` must be finite, got NaN"
    );
    assert_eq!(
        err(b().offset_learning_rate(-0.5)),
        ConfigError::OutOfRange {
            field: "offset_learning_rate",
            range: "[0, 100]",
            value: -0.5
        }
    );
    // An f32 value is shown as given, not widened to 0.10000000149011612.
    assert_eq!(
        err(b().offset_learning_rate(-0.1)).to_string(),
        "`offset_learning_rate` must lie in [0, 100], got -0.1"
    );
    assert_eq!(
        err(b().learning_rate(1e30)).to_string(),
        "`learning_rate` must lie in (0, 100], got 1e30"
    );
    let huge = b()
        .offset_interactions(OffsetInteractionKind::Full)
        .dim(10_000)
        .window(10);
    assert!(matches!(
        err(huge),
        ConfigError::TooLarge {
            max: MAX_OFFSET_FLOATS,
            value: 2_000_000_000,
            ..
        }
    ));
    let diagonal = b()
        .offset_interactions(OffsetInteractionKind::Diagonal)
        .dim(10_000)
        .window(10);
    assert!(diagonal.build().is_ok());
}

#[test]
fn text_round_trips_every_field() {
    let config = TrainConfig::builder()
        .dim(7)
        .window(2)
        .window_mode(WindowMode::Fixed)
        .negatives(9)
        .negative_power(0.5)
        .epochs(3)
        .learning_rate(0.1 + 0.2)
        .interaction_learning_rate(1e-7)
        .schedule(LearningRateSchedule::Constant)
        .min_count(2)
        .max_vocab(Some(1234))
        .subsample(1.5e-5)
        .threads(3)
        .seed(u64::MAX)
        .embedding_init(EmbeddingInit::Uniform)
        .interaction_init(InteractionInit::Uniform)
        .merge_interval(17)
        .interaction_optimizer(InteractionOptimizer::AdaGrad)
        .interaction_decay(0.25)
        .offset_interactions(OffsetInteractionKind::Full)
        .offset_learning_rate(0.125)
        .heldout_pairs(77)
        .subwords(Some(
            crate::subwords::SubwordConfig::new(3, 7)
                .and_then(|s| s.with_min_words(5))
                .and_then(|s| s.with_word_weight(0.1 + 0.2))
                .and_then(|s| s.with_readout_weight(0.7))
                .expect("subwords"),
        ))
        .markers(true)
        .lowercase(false)
        .utf8(Utf8Policy::Lossy)
        .oov(OovPolicy::Unk)
        .build()
        .expect("config");
    assert_eq!(TrainConfig::from_text(&config.to_text()), Ok(config));
    let default = TrainConfig::default();
    assert_eq!(TrainConfig::from_text(&default.to_text()), Ok(default));
}

#[test]
fn bad_text_names_the_line() {
    let good = TrainConfig::default().to_text();
    let line_of = |text: &str| match TrainConfig::from_text(text) {
        Err(ConfigError::Parse { line, message }) => (line, message),
        other => panic!("{other:?}"),
    };
    let (line, message) = line_of(&good.replace("dim = 100", "dim = lots"));
    assert_eq!((line, message.contains("dim")), (1, true));
    let (line, message) = line_of(&format!("{good}colour = \"blue\"\n"));
    assert!(message.contains("unknown key `colour`"), "{message}");
    assert_eq!(line, good.lines().count() + 1);
    let (_, message) = line_of(&format!("{good}dim = 5\n"));
    assert!(message.contains("twice"), "{message}");
    let (_, message) = line_of(&good.replace("seed = 1\n", ""));
    assert!(message.contains("`seed` is missing"), "{message}");
    // Fields added later take their defaults when missing (older checkpoints).
    let mut older = good.clone();
    for key in ADDED_FIELDS {
        older = older
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} =")))
            .map(|l| format!("{l}\n"))
            .collect();
    }
    assert_ne!(older, good);
    // Written before subwords existed: a model without them, whatever the default.
    let without_subwords = TrainConfig::builder().subwords(None).build().unwrap();
    assert_eq!(TrainConfig::from_text(&older), Ok(without_subwords));
    // Written before the word weight existed: fastText's plain mean, weight 1.
    let unweighted = good
        .lines()
        .filter(|l| !l.starts_with("subword_word_weight ="))
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    let subwords = TrainConfig::from_text(&unweighted).unwrap().subwords();
    assert_eq!(subwords.map(|s| s.word_weight()), Some(1.0));
    assert_eq!(
        subwords.map(|s| (s.min_n(), s.max_n())),
        TrainConfig::default()
            .subwords()
            .map(|s| (s.min_n(), s.max_n()))
    );
    // Written before the read-out weight existed: read at the word weight (both 1 when
    // neither is given).
    let without = |keys: &[&str]| {
        let text: String = good
            .lines()
            .filter(|l| !keys.iter().any(|k| l.starts_with(&format!("{k} ="))))
            .map(|l| format!("{l}\n"))
            .collect();
        TrainConfig::from_text(&text)
            .unwrap()
            .subwords()
            .map(|s| (s.word_weight(), s.readout_weight()))
    };
    assert_eq!(without(&["subword_readout_weight"]), Some((2.0, 2.0)));
    assert_eq!(
        without(&["subword_word_weight", "subword_readout_weight"]),
        Some((1.0, 1.0))
    );
    assert!(matches!(
        TrainConfig::from_text(
            &good.replace("subword_word_weight = 2", "subword_word_weight = -1")
        ),
        Err(ConfigError::OutOfRange {
            field: "subword_word_weight",
            ..
        })
    ));
    let (_, message) = line_of(
        &good
            .replace("\"adagrad\"", "\"adam\"")
            .replace("\"sgd\"", "\"adam\""),
    );
    assert!(message.contains("interaction_optimizer"), "{message}");
    let (_, message) = line_of(&good.replace("\"shrink\"", "\"wide\""));
    assert!(message.contains("window_mode"), "{message}");
    let (line, _) = line_of(&good.replace("window = 5", "window 5"));
    assert_eq!(line, 2);
    // Values are checked as the builder checks them.
    assert!(matches!(
        TrainConfig::from_text(&good.replace("dim = 100", "dim = 0")),
        Err(ConfigError::TooSmall { field: "dim", .. })
    ));
}
