//! `Embeddings`: known answers on hand-made vectors, agreement with `AnalogySearch` and
//! `UnitVectors`, the lookup rule, unknown words, restrictions, odd arguments, NaN rows,
//! and (with the `finalfusion` feature) finalfusion's own queries on our files.

use bilinear_skipgram::{
    AnalogyMethod, Embeddings, Error, Model, OovPolicy, SearchOptions, VectorKind, Vocab,
    eval::AnalogySearch, eval::COSMUL_EPSILON, eval::UnitVectors, vocab::UNK_TOKEN,
};
use ndarray::{Array1, Array2, array};
use rand::{RngExt, SeedableRng, rngs::Xoshiro256PlusPlus};

const WORDS: [&str; 6] = ["man", "woman", "king", "queen", "apple", "pear"];

/// Gender on axis 1 (man, woman) … royalty on axis 2, fruit on axis 3; lengths vary.
fn tiny() -> Embeddings {
    let vectors = array![
        [2.0_f32, 0.0, 0.0, 0.0],
        [0.0, 3.0, 0.0, 0.0],
        [1.0, 0.0, 1.0, 0.0],
        [0.0, 0.5, 0.5, 0.0],
        [0.0, 0.0, 0.0, 4.0],
        [0.1, 0.0, 0.0, 1.0]
    ];
    Embeddings::from_words(WORDS.map(String::from).to_vec(), vectors).expect("embeddings")
}

fn words_of(neighbours: &[bilinear_skipgram::Neighbour<'_>]) -> Vec<String> {
    neighbours.iter().map(|n| n.word.to_owned()).collect()
}

#[test]
fn known_answers_on_a_hand_made_matrix() {
    let e = tiny();
    assert_eq!((e.len(), e.dim()), (6, 4));
    let half = std::f32::consts::FRAC_1_SQRT_2;
    // cos(king, queen) = (0·1 + 0.5·0 + … ) → king = (1,0,1,0)/√2, queen = (0,1,1,0)/√2: 1/2.
    assert!((e.similarity("king", "queen").expect("known") - 0.5).abs() < 1e-6);
    assert!((e.similarity("man", "king").expect("known") - half).abs() < 1e-6);
    assert_eq!(e.similarity("apple", "man").expect("known"), 0.0);
    // man : king :: woman : ? → king − man + woman = (1,0,1,0)/√2 − (1,0,0,0) + (0,1,0,0).
    let best = e
        .most_similar(&["king", "woman"], &["man"], 3)
        .expect("known");
    // queen, then apple (cosine 0) before pear (slightly negative).
    assert_eq!(words_of(&best), ["queen", "apple", "pear"]);
    let query = array![half - 1.0, 1.0, half, 0.0];
    let queen = array![0.0, half, half, 0.0];
    let expected = query.dot(&queen) / query.dot(&query).sqrt();
    assert!(
        (best[0].score - expected).abs() < 1e-6,
        "{best:?} vs {expected}"
    );
    assert_eq!(best[0].id, 3);
    // analogy(a, b, c) is most_similar([b, c], [a]).
    assert_eq!(e.analogy("man", "king", "woman", 3).expect("known"), best);
    // 3CosMul: cos′(d, king) cos′(d, woman) / (cos′(d, man) + ε), by hand for queen.
    let shifted = |c: f32| (c + 1.0) / 2.0;
    let mul = e
        .analogy_with(
            "man",
            "king",
            "woman",
            1,
            SearchOptions::default().with_method(AnalogyMethod::CosMul),
        )
        .expect("known");
    let expected = shifted(0.5) * shifted(half) / (shifted(0.0) + COSMUL_EPSILON);
    assert_eq!(mul[0].word, "queen");
    assert!((mul[0].score - expected).abs() < 1e-6, "{mul:?}");
    // Nearest to apple: pear, then the rest at cosine 0 in id order (ties to the smaller id).
    let near = e.most_similar(&["apple"], &[], 5).expect("known");
    assert_eq!(words_of(&near), ["pear", "man", "woman", "king", "queen"]);
    assert!((near[0].score - 1.0 / 1.01_f32.sqrt()).abs() < 1e-6);
    // By vector: not normalised, nothing excluded.
    let by_vector = e
        .most_similar_by_vector(array![0.0_f32, 0.0, 0.0, 7.0].view(), 2)
        .expect("dim 4");
    assert_eq!(words_of(&by_vector), ["apple", "pear"]);
    assert!((by_vector[0].score - 1.0).abs() < 1e-6);
    // The odd one out, as given.
    assert_eq!(
        e.doesnt_match(&["man", "KING", "Queen", "apple"])
            .expect("known"),
        "apple"
    );
    // Vectors come back as length × unit vector.
    assert_eq!(e.norm("woman").expect("known"), 3.0);
    assert_eq!(e.get("woman").expect("known"), array![0.0, 3.0, 0.0, 0.0]);
    let pear = e.get("pear").expect("known");
    assert!(
        (pear[0] - 0.1).abs() < 1e-7 && (pear[3] - 1.0).abs() < 1e-7,
        "{pear}"
    );
    assert_eq!(
        e.unit_vector("man").expect("known"),
        array![1.0, 0.0, 0.0, 0.0]
    );
}

#[test]
fn lookups_follow_the_one_rule() {
    let words = ["god", "Rome", "rome", "σοφός"].map(String::from).to_vec();
    let e = Embeddings::from_words(words, Array2::eye(4)).expect("embeddings");
    // Exact first, then lowercased as the tokenizer lowercases.
    assert_eq!(e.id("God"), Some(0));
    assert_eq!(e.id("GOD"), Some(0));
    assert_eq!(e.id("Rome"), Some(1));
    assert_eq!(e.id("rome"), Some(2));
    assert_eq!(e.id("ROME"), Some(2));
    // A capital sigma ending a word becomes final sigma, as in the corpus.
    assert_eq!(e.id("ΣΟΦΌΣ"), Some(3));
    assert!(e.contains("Σοφός") && !e.contains("godd"));
    // The vocabulary, find_word and AnalogySearch agree.
    let vocab = e.vocab();
    for word in [
        "God",
        "GOD",
        "Rome",
        "rome",
        "ROME",
        "ΣΟΦΌΣ",
        "Σοφός",
        "godd",
    ] {
        let id = e.id(word);
        assert_eq!(vocab.id(word), id, "{word}");
        assert_eq!(bilinear_skipgram::eval::find_word(vocab, word), id);
        let search = e.analogy_search(10).expect("search");
        assert_eq!(search.word_id(word), id, "{word}");
    }
}

#[test]
fn unknown_words_are_named() {
    let e = tiny();
    let unknown = |result: Result<(), Error>, expected: &str| match result {
        Err(Error::UnknownWord { word }) => assert_eq!(word, expected),
        other => panic!("expected UnknownWord({expected}), got {other:?}"),
    };
    unknown(e.get("Prince").map(drop), "Prince");
    unknown(e.norm("prince").map(drop), "prince");
    unknown(e.unit_vector("prince").map(drop), "prince");
    unknown(e.similarity("king", "prince").map(drop), "prince");
    unknown(e.most_similar(&["king", "x1"], &["x2"], 3).map(drop), "x1");
    unknown(e.most_similar(&["king"], &["x2"], 3).map(drop), "x2");
    unknown(e.analogy("man", "king", "girl", 3).map(drop), "girl");
    unknown(e.doesnt_match(&["man", "boy"]).map(drop), "boy");
    let message = e.get("Prince").expect_err("unknown").to_string();
    assert_eq!(message, "unknown word \"Prince\"");
}

#[test]
fn odd_arguments() {
    let e = tiny();
    assert!(matches!(
        e.most_similar(&[], &["man"], 3),
        Err(Error::InvalidArgument {
            what: "positive words",
            ..
        })
    ));
    assert!(matches!(
        e.doesnt_match(&[]),
        Err(Error::InvalidArgument { what: "words", .. })
    ));
    assert!(matches!(
        e.most_similar_by_vector(array![1.0_f32].view(), 3),
        Err(Error::ShapeMismatch { .. })
    ));
    // No negative words is fine; k = 0 asks for nothing.
    assert_eq!(e.most_similar(&["king"], &[], 0).expect("fine"), []);
    // k beyond the vocabulary: every other word, best first.
    let all = e.most_similar(&["king"], &[], 100).expect("fine");
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|p| p[0].score >= p[1].score));
    assert!(all.iter().all(|n| n.word != "king"));
    // A query without direction finds nothing: king − king.
    assert_eq!(e.most_similar(&["king"], &["king"], 3).expect("fine"), []);
    assert_eq!(
        e.most_similar_by_vector(Array1::zeros(4).view(), 3)
            .expect("fine"),
        []
    );
    // Building: a repeated word, a wrong shape, no word.
    let twice = ["a", "b", "a"].map(String::from).to_vec();
    match Embeddings::from_words(twice, Array2::zeros((3, 2))) {
        Err(Error::InvalidArgument { message, .. }) => assert!(message.contains("\"a\"")),
        other => panic!("{other:?}"),
    }
    let two = ["a", "b"].map(String::from).to_vec();
    assert!(matches!(
        Embeddings::from_words(two.clone(), Array2::zeros((3, 2))),
        Err(Error::ShapeMismatch { .. })
    ));
    let error = Embeddings::from_words(two, Array2::zeros((2, 0))).expect_err("no column");
    assert!(matches!(error, Error::ShapeMismatch { .. }), "{error:?}");
    // It said `expected [2, 18446744073709551615]`, a placeholder for any width.
    assert_eq!(
        error.to_string(),
        "shape mismatch for word vectors (one row per vocabulary entry, at least one column): \
         expected [2, 1], found [2, 0]"
    );
    assert!(matches!(
        Embeddings::from_words(Vec::new(), Array2::zeros((0, 2))),
        Err(Error::EmptyVocabulary(_))
    ));
}

#[test]
fn restriction_limits_the_answers_not_the_query() {
    let e = tiny();
    let options = SearchOptions::default().with_restrict(3);
    // apple (id 4) may ask; only man, woman, king may answer.
    let near = e
        .most_similar_with(&["apple"], &[], 10, options)
        .expect("fine");
    assert_eq!(words_of(&near), ["man", "woman", "king"]);
    let near = e
        .most_similar_with(&["queen"], &[], 10, options)
        .expect("fine");
    assert_eq!(words_of(&near), ["woman", "king", "man"]);
    assert!(near.iter().all(|n| n.id < 3));
    let by_vector = e
        .most_similar_by_vector_with(array![0.0_f32, 0.0, 0.0, 1.0].view(), 10, options)
        .expect("fine");
    assert_eq!(by_vector.len(), 3);
    // Beyond the vocabulary means everything; 0 is refused.
    assert_eq!(
        e.most_similar_with(
            &["queen"],
            &[],
            10,
            SearchOptions::default().with_restrict(1000)
        )
        .expect("fine"),
        e.most_similar(&["queen"], &[], 10).expect("fine")
    );
    assert!(matches!(
        e.analogy_with(
            "man",
            "king",
            "woman",
            1,
            SearchOptions::default().with_restrict(0)
        ),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn every_search_refuses_a_restriction_of_zero_alike() {
    let e = tiny();
    let vectors = Array2::<f32>::eye(e.len());
    let refusals = [
        e.most_similar_with(
            &["queen"],
            &[],
            1,
            SearchOptions::default().with_restrict(0),
        )
        .map(|_| ())
        .expect_err("most_similar_with"),
        e.analogy_search(0).map(|_| ()).expect_err("analogy_search"),
        AnalogySearch::new(vectors.view(), e.vocab(), 0)
            .map(|_| ())
            .expect_err("AnalogySearch::new"),
    ];
    for error in refusals {
        assert!(
            matches!(
                error,
                Error::InvalidArgument {
                    what: "restrict",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("0 most frequent words"),
            "{error}"
        );
    }
}

#[test]
fn nan_rows_are_never_answers_and_disturb_nothing() {
    let words = ["a", "broken", "b", "c", "inf"].map(String::from).to_vec();
    let vectors = array![
        [1.0_f32, 0.0, 0.0],
        [f32::NAN, 1.0, 0.0],
        [0.9, 0.1, 0.0],
        [0.0, 1.0, 1.0],
        [f32::INFINITY, 0.0, 0.0]
    ];
    let e = Embeddings::from_words(words, vectors).expect("embeddings");
    let near = e.most_similar(&["a"], &[], 10).expect("fine");
    assert_eq!(words_of(&near), ["b", "c"]);
    assert!(near.iter().all(|n| n.score.is_finite()));
    for cosmul in [false, true] {
        let options = if cosmul {
            SearchOptions::default().with_method(AnalogyMethod::CosMul)
        } else {
            SearchOptions::default()
        };
        let found = e
            .most_similar_with(&["a", "c"], &[], 10, options)
            .expect("fine");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].word, "b");
        // A query made of a broken vector finds nothing.
        assert_eq!(
            e.most_similar_with(&["broken"], &[], 10, options)
                .expect("fine"),
            []
        );
    }
    assert!(e.similarity("a", "broken").expect("known").is_nan());
    assert!(e.get("inf").expect("known").iter().all(|x| x.is_nan()));
    assert_eq!(
        e.doesnt_match(&["a", "b", "broken"]).expect("known"),
        "broken"
    );
    assert_eq!(e.doesnt_match(&["a", "b", "c"]).expect("known"), "c");
}

#[test]
fn special_tokens_are_looked_up_but_never_answers() {
    let vocab = Vocab::from_counts(
        ["the", UNK_TOKEN, "a", "<START>"].map(|w| (w.to_owned(), 5)),
        OovPolicy::Unk,
    )
    .expect("vocab");
    let vectors = array![[1.0_f32, 0.0], [1.0, 0.01], [0.0, 1.0], [1.0, 0.02]];
    let e = Embeddings::new(vocab, vectors).expect("embeddings");
    let near = e.most_similar(&["the"], &[], 10).expect("fine");
    assert_eq!(words_of(&near), ["a"]);
    let unk = e.get(UNK_TOKEN).expect("an entry");
    approx::assert_abs_diff_eq!(unk, array![1.0, 0.01], epsilon = 1e-7);
    // A special token may ask; it is still not an answer.
    assert_eq!(
        words_of(&e.most_similar(&[UNK_TOKEN], &[], 10).expect("fine")),
        ["the", "a"]
    );
}

/// A random vocabulary of `n` words in descending count order and `n × dim` vectors of
/// lengths between 0.1 and 10.
fn random(n: usize, dim: usize, seed: u64) -> (Vocab, Array2<f32>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let vocab = Vocab::from_counts(
        (0..n).map(|i| (format!("w{i}"), (n - i) as u64)),
        OovPolicy::Drop,
    )
    .expect("vocab");
    let mut vectors = Array2::from_shape_simple_fn((n, dim), || rng.random::<f32>() * 2.0 - 1.0);
    for mut row in vectors.rows_mut() {
        let scale = 10.0_f32.powf(rng.random::<f32>() * 2.0 - 1.0);
        row *= scale;
    }
    (vocab, vectors)
}

#[test]
fn agrees_with_analogy_search_and_unit_vectors() {
    let (vocab, vectors) = random(400, 12, 5);
    let restrict = 300;
    let search = AnalogySearch::new(vectors.view(), &vocab, restrict)
        .expect("search")
        .with_threads(1);
    let unit = UnitVectors::new(vectors.view());
    let e = Embeddings::new(vocab.clone(), vectors.clone()).expect("embeddings");
    assert_eq!(e.unit_vectors(), unit.view());
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let questions: Vec<[usize; 3]> = (0..60)
        .map(|_| [0; 3].map(|_| rng.random_range(0..restrict)))
        .filter(|q| q[0] != q[1] && q[1] != q[2] && q[0] != q[2])
        .collect();
    let borrowed = e.analogy_search(restrict).expect("search").with_threads(1);
    for method in AnalogyMethod::ALL {
        let options = SearchOptions::default()
            .with_method(method)
            .with_restrict(restrict);
        for &[a, b, c] in &questions {
            let word = |id: usize| vocab.word(id).expect("id");
            let ours = e
                .analogy_with(word(a), word(b), word(c), 5, options)
                .expect("known");
            let theirs = search.answers([a, b, c], method, 5).expect("candidates");
            assert_eq!(ours.len(), theirs.len());
            for (o, &(id, score)) in ours.iter().zip(&theirs) {
                assert_eq!(o.id, id, "{method:?} {a} {b} {c}");
                assert!((o.score - score).abs() < 1e-6, "{} vs {score}", o.score);
            }
        }
        // The borrowing search is the copying one.
        let expected = search.best_answers(&questions, method).expect("candidates");
        let found = borrowed
            .best_answers(&questions, method)
            .expect("candidates");
        assert_eq!(found, expected);
    }
    for id in [0, 17, 399] {
        let word = vocab.word(id).expect("id");
        let ours = e.most_similar(&[word], &[], 8).expect("known");
        let theirs = unit.nearest(id, 8).expect("row");
        let ids: Vec<usize> = ours.iter().map(|n| n.id).collect();
        assert_eq!(ids, theirs.iter().map(|&(i, _)| i).collect::<Vec<_>>());
        for (o, &(_, score)) in ours.iter().zip(&theirs) {
            assert!((o.score - score).abs() < 1e-6);
        }
    }
}

#[test]
fn built_from_a_model_a_folder_and_a_word2vec_file() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let n = 30;
    let vocab = Vocab::from_counts(
        (0..n).map(|i| (format!("w{i}"), (n - i) as u64)),
        OovPolicy::Drop,
    )
    .expect("vocab");
    let model = Model::course(n, 6, &mut rng);
    let dir = tempfile::tempdir().expect("tempdir");
    bilinear_skipgram::save_model(dir.path(), &model, &vocab).expect("saves");
    for kind in [
        VectorKind::Focus,
        VectorKind::MappedContext,
        VectorKind::Concatenated,
    ] {
        let from_model = Embeddings::from_model(&model, &vocab, kind).expect("model");
        let vectors = model.word_vectors(kind);
        assert_eq!(
            from_model.unit_vectors(),
            UnitVectors::new(vectors.view()).view()
        );
        assert_eq!(from_model.vocab(), &vocab);
        let loaded = Embeddings::load_model(dir.path(), kind).expect("folder");
        assert_eq!(loaded, from_model);
        let path = dir.path().join("v.bin");
        bilinear_skipgram::write_word2vec_binary(&path, vectors.view(), &vocab).expect("w2v");
        let read = Embeddings::read_word2vec(&path, bilinear_skipgram::Word2vecFormat::Binary)
            .expect("w2v");
        assert_eq!(read.words(), vocab.words());
        assert_eq!(read.unit_vectors(), from_model.unit_vectors());
        // Ranks stand for the counts, as for any reader of files.
        let ranks: Vec<u64> = (1..=vocab.len() as u64).rev().collect();
        assert_eq!(read.vocab().counts(), &ranks[..]);
        let any = Embeddings::read_word_vectors(&path).expect("any format");
        assert_eq!(any.vocab(), read.vocab());
    }
    let wrong = Vocab::from_counts([("x".to_owned(), 1)], OovPolicy::Drop).expect("vocab");
    assert!(matches!(
        Embeddings::from_model(&model, &wrong, VectorKind::Focus),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[cfg(feature = "finalfusion")]
mod finalfusion {
    use super::*;
    use ::finalfusion::io::ReadEmbeddings;
    use ::finalfusion::similarity::{Analogy, WordSimilarity};
    use ::finalfusion::storage::NdArray;
    use ::finalfusion::vocab::SimpleVocab;
    use bilinear_skipgram::{FinalfusionVectors, read_finalfusion, write_finalfusion};
    use proptest::prelude::*;

    type FinalfusionEmbeddings = ::finalfusion::embeddings::Embeddings<SimpleVocab, NdArray>;

    fn read_with_finalfusion(path: &std::path::Path) -> FinalfusionEmbeddings {
        let mut reader = std::io::BufReader::new(std::fs::File::open(path).expect("open"));
        FinalfusionEmbeddings::read_embeddings(&mut reader).expect("finalfusion reads it")
    }

    #[test]
    fn finalfusion_queries_on_our_file_give_our_neighbours_and_cosines() {
        let (vocab, vectors) = random(300, 16, 21);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("e.fifu");
        write_finalfusion(
            &path,
            vectors.view(),
            &vocab,
            None,
            FinalfusionVectors::Normalized,
        )
        .expect("writes");
        let theirs = read_with_finalfusion(&path);
        let ours = Embeddings::new(vocab.clone(), vectors.clone()).expect("embeddings");
        for word in ["w0", "w1", "w42", "w299"] {
            let expected = ours.most_similar(&[word], &[], 10).expect("known");
            let found = theirs.word_similarity(word, 10, None).expect("present");
            let found_words: Vec<&str> = found.iter().map(|r| r.word()).collect();
            assert_eq!(found_words, words_of(&expected), "{word}");
            for (f, e) in found.iter().zip(&expected) {
                assert!((f.cosine_similarity() - e.score).abs() < 1e-6, "{word}");
                assert!(f.cosine_similarity() <= 1.0 + 1e-6);
            }
        }
        for [a, b, c] in [["w3", "w7", "w11"], ["w100", "w2", "w250"]] {
            let expected = ours.analogy(a, b, c, 5).expect("known");
            let found = theirs.analogy([a, b, c], 5, None).expect("present");
            let found_words: Vec<&str> = found.iter().map(|r| r.word()).collect();
            assert_eq!(found_words, words_of(&expected), "{a} {b} {c}");
            for (f, e) in found.iter().zip(&expected) {
                assert!((f.cosine_similarity() - e.score).abs() < 1e-5);
            }
        }
        // finalfusion's unnormalised vector and ours agree, to rounding.
        for (id, word) in vocab.words().iter().enumerate() {
            let found = theirs
                .embedding_with_norm(word)
                .expect("present")
                .into_unnormalized();
            for (f, x) in found.iter().zip(vectors.row(id)) {
                assert!(
                    (f - x).abs() <= 3.0001 * f32::EPSILON / 2.0 * x.abs(),
                    "{f} vs {x}"
                );
            }
        }
        // Embeddings::write_finalfusion writes the same file from its own unit rows.
        let again = dir.path().join("again.fifu");
        ours.write_finalfusion(&again, None).expect("writes");
        assert_eq!(
            std::fs::read(&again).expect("read"),
            std::fs::read(&path).expect("read")
        );
        let back = Embeddings::read_finalfusion(&again).expect("reads");
        assert_eq!(back.words(), ours.words());
        approx::assert_abs_diff_eq!(back.unit_vectors(), ours.unit_vectors(), epsilon = 1e-6);
    }

    #[test]
    fn the_raw_layout_is_exact_but_finalfusion_ranks_it_by_dot_product() {
        // Lengths 10 and 0.5: finalfusion's "cosine" of the raw rows is their dot product.
        let vocab = Vocab::from_counts(["a", "b", "c"].map(|w| (w.to_owned(), 1)), OovPolicy::Drop)
            .expect("vocab");
        let vectors = array![[10.0_f32, 0.0], [6.0, 8.0], [0.0, 0.5]];
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("raw.fifu");
        write_finalfusion(&path, vectors.view(), &vocab, None, FinalfusionVectors::Raw)
            .expect("writes");
        let raw = read_with_finalfusion(&path);
        let found = raw.word_similarity("a", 1, None).expect("present");
        assert_eq!(found[0].cosine_similarity(), 60.0);
        assert_eq!(read_finalfusion(&path).expect("reads").1, vectors);
        write_finalfusion(
            &path,
            vectors.view(),
            &vocab,
            None,
            FinalfusionVectors::Normalized,
        )
        .expect("writes");
        let normalized = read_with_finalfusion(&path);
        let found = normalized.word_similarity("a", 2, None).expect("present");
        assert_eq!(found[0].word(), "b");
        assert!((found[0].cosine_similarity() - 0.6).abs() < 1e-6);
        let metadata = bilinear_skipgram::read_finalfusion_metadata(&path)
            .expect("reads")
            .expect("some");
        assert!(
            metadata.lines().any(|l| l == "normalized = true"),
            "{metadata}"
        );
    }

    #[test]
    fn broken_rows_do_not_stop_finalfusion() {
        let vocab = Vocab::from_counts(
            ["a", "nan", "b"].map(|w| (w.to_owned(), 1)),
            OovPolicy::Drop,
        )
        .expect("vocab");
        let vectors = array![[1.0_f32, 0.0], [f32::NAN, 1.0], [1.0, 1.0]];
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("e.fifu");
        write_finalfusion(
            &path,
            vectors.view(),
            &vocab,
            None,
            FinalfusionVectors::Normalized,
        )
        .expect("writes");
        let theirs = read_with_finalfusion(&path);
        let found = theirs.word_similarity("a", 2, None).expect("present");
        assert_eq!(found[0].word(), "b");
        let (_, read) = read_finalfusion(&path).expect("reads");
        assert!(read.row(1).iter().all(|x| x.is_nan()));
        assert_eq!(read.row(0), vectors.row(0));
    }

    #[test]
    fn the_layout_of_the_vectors_given_does_not_matter() {
        let vocab = Vocab::from_counts(["a", "b", "c"].map(|w| (w.to_owned(), 1)), OovPolicy::Drop)
            .expect("vocab");
        // The same 3×2 rows, once in row-major order and once as the transpose of a
        // row-major 2×3 (column-major).
        let rows = array![[3.0_f32, 4.0], [1.0, 0.0], [0.0, -2.0]];
        let columns = rows.t().to_owned();
        let dir = tempfile::tempdir().expect("tempdir");
        for layout in [FinalfusionVectors::Normalized, FinalfusionVectors::Raw] {
            let (a, b) = (dir.path().join("a.fifu"), dir.path().join("b.fifu"));
            write_finalfusion(&a, rows.view(), &vocab, None, layout).expect("writes");
            write_finalfusion(&b, columns.t(), &vocab, None, layout).expect("writes");
            assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
            let (_, read) = read_finalfusion(&b).expect("reads");
            assert_eq!(read, rows);
        }
    }

    /// Rows of plain values with lengths from 10⁻³ to 10³ (no subnormal results).
    fn plain_rows() -> impl Strategy<Value = Array2<f32>> {
        (1_usize..12, 1_usize..20).prop_flat_map(|(n, dim)| {
            (
                proptest::collection::vec(-2.0_f32..2.0, n * dim),
                proptest::collection::vec(-3.0_f32..3.0, n),
            )
                .prop_map(move |(values, exponents)| {
                    let mut rows = Array2::from_shape_vec((n, dim), values).expect("shape");
                    for (mut row, e) in rows.rows_mut().into_iter().zip(exponents) {
                        row *= 10.0_f32.powf(e);
                    }
                    rows
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        #[test]
        fn normalized_files_read_back_within_three_roundings(vectors in plain_rows()) {
            let vocab = Vocab::from_counts(
                (0..vectors.nrows()).map(|i| (format!("w{i}"), 1)),
                OovPolicy::Drop,
            ).expect("vocab");
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("e.fifu");
            write_finalfusion(&path, vectors.view(), &vocab, None, FinalfusionVectors::Normalized)
                .expect("writes");
            let (_, read) = read_finalfusion(&path).expect("reads");
            // Three roundings of relative size 2⁻²⁴ each: the unit row, the norm, their
            // product.
            let bound = 3.0001 * f32::EPSILON / 2.0;
            for (r, x) in read.iter().zip(&vectors) {
                prop_assert!((r - x).abs() <= bound * x.abs(), "{} vs {}", r, x);
            }
        }
    }
}
