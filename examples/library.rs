//! The crate as a dependency, end to end: train from sentences held in memory with a
//! progress callback that stops at a deadline, save the whole model, load it back, query it
//! by word, export it for word2vec and finalfusion users, and read the finalfusion file back
//! through finalfusion's own API.
//!
//! ```text
//! cargo run --release --example library                 # the bundled Bible, 60 s at most
//! cargo run --release --example library -- corpus.txt.xz --seconds 300 --out model
//! ```
//!
//! The corpus is read into memory first (as a service would hold text from a database) and
//! trained from there. Errors are printed with their causes, one per line, with exit
//! status 1.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bilinear_skipgram::error::exit_code;
use bilinear_skipgram::{
    Corpus, CorpusOptions, Embeddings, Error, Progress, Result, TrainConfig, Trained, VectorKind,
    Word2vecFormat, train, write_word2vec_text,
};
use clap::Parser;

/// Train from memory, save, reload, query and export, as a program using the crate would.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Corpus file (plain, .gz or .xz), read into memory first [default: the bundled
    /// King James Bible].
    corpus: Option<PathBuf>,
    /// Stop training after this many seconds, through the progress callback.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Epochs (the deadline may stop training earlier).
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Folder for the saved model and the exported vectors.
    #[arg(long, default_value = "library-model")]
    out: PathBuf,
}

/// Standard output: a write to it that fails (a closed pipe, `| head`) is an error that
/// ends the program quietly through `exit_code`.
fn out() -> std::io::Stdout {
    std::io::stdout()
}

fn main() -> ExitCode {
    exit_code(run())
}

fn run() -> Result<()> {
    let args = Args::parse();
    let seconds = if args.seconds.is_finite() && args.seconds > 0.0 {
        args.seconds
    } else {
        return Err(Error::InvalidArgument {
            what: "--seconds",
            message: format!("expected a positive number, got {}", args.seconds),
        });
    };
    let path = args
        .corpus
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/kjv.txt.xz"));

    // 1. Text in memory: here read from a file, in a service from wherever it lives.
    let mut sentences: Vec<Vec<String>> = Vec::new();
    let mut stream = Corpus::new([&path], CorpusOptions::default()).sentences()?;
    let mut sentence = Vec::new();
    while stream.next_sentence(|word| sentence.push(word.to_owned()))? {
        if !sentence.is_empty() {
            sentences.push(std::mem::take(&mut sentence));
        }
    }
    writeln!(out(), "{} sentences in memory", sentences.len())?;

    // 2. Train from memory; the callback stops training at the deadline.
    let config = TrainConfig::builder().dim(64).epochs(args.epochs).build()?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let stop_at_deadline = |progress: &Progress| {
        if Instant::now() >= deadline {
            let _ = writeln!(
                out(),
                "deadline reached after {} words",
                progress.words_done
            );
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let trained = train(&config, Corpus::from_sentences(sentences), stop_at_deadline)?;
    writeln!(
        out(),
        "trained {} words ({}), {} pairs in {:.1} s",
        trained.report.words,
        if trained.report.stopped_early {
            "stopped early"
        } else {
            "every epoch"
        },
        trained.report.pairs,
        trained.report.seconds
    )?;

    // 3. Save the whole model (configuration, vocabulary, matrices, report) and load it.
    let model_dir = args.out.join("model");
    trained.save(&model_dir)?;
    let loaded = Trained::load(&model_dir)?;
    writeln!(out(), "saved and reloaded {}", model_dir.display())?;

    // 4. Query by word. The Bible's words where the corpus has them; on other text the
    // probe is a word of middling frequency and the English queries are skipped.
    let embeddings = loaded.embeddings()?;
    let knows_all = |words: &[&str]| words.iter().all(|w| embeddings.contains(w));
    if knows_all(&["king", "woman", "man"]) {
        let answers = embeddings.most_similar(&["king", "woman"], &["man"], 5)?;
        let listed: Vec<String> = answers
            .iter()
            .map(|n| format!("{} {:.3}", n.word, n.score))
            .collect();
        writeln!(out(), "king - man + woman: {}", listed.join(", "))?;
    }
    if knows_all(&["king", "prince"]) {
        writeln!(
            out(),
            "similarity(king, prince) = {:.3}",
            embeddings.similarity("king", "prince")?
        )?;
    }
    let probe = if embeddings.contains("king") {
        "king".to_owned()
    } else {
        let words = loaded.vocab.words();
        words[(words.len() / 100).min(words.len() - 1)].clone()
    };
    match embeddings.get("smartphone") {
        Err(Error::UnknownWord { word }) => writeln!(out(), "{word:?} is not in the vocabulary")?,
        Err(other) => return Err(other),
        Ok(_) => writeln!(out(), "smartphone is in the vocabulary")?,
    }

    // 5. Export for other tools: word2vec text (gensim) and finalfusion (unit rows + norms).
    let vectors = loaded.model.word_vectors(VectorKind::default());
    let text = args.out.join("vectors.txt");
    write_word2vec_text(&text, vectors.view(), &loaded.vocab)?;
    let from_text = Embeddings::read_word2vec(&text, Word2vecFormat::Text)?;
    let ours: Vec<(String, f32)> = from_text
        .most_similar(&[probe.as_str()], &[], 5)?
        .into_iter()
        .map(|n| (n.word.to_owned(), n.score))
        .collect();
    writeln!(out(), "{probe}, ours:        {ours:?}")?;
    #[cfg(feature = "finalfusion")]
    finalfusion_round_trip(
        &args.out.join("embeddings.fifu"),
        &loaded,
        vectors.view(),
        &probe,
        &ours,
    )?;
    Ok(())
}

/// Writes the vectors as finalfusion and reads them back through finalfusion's own API,
/// which must give the same neighbours of `probe` with the same cosines.
#[cfg(feature = "finalfusion")]
fn finalfusion_round_trip(
    fifu: &std::path::Path,
    trained: &Trained,
    vectors: bilinear_skipgram::ndarray::ArrayView2<'_, f32>,
    probe: &str,
    ours: &[(String, f32)],
) -> Result<()> {
    use bilinear_skipgram::{FinalfusionVectors, write_finalfusion};
    use finalfusion::prelude::{Embeddings as FinalfusionEmbeddings, ReadEmbeddings};
    use finalfusion::similarity::WordSimilarity;
    use finalfusion::storage::NdArray;
    use finalfusion::vocab::SimpleVocab;

    write_finalfusion(
        fifu,
        vectors,
        &trained.vocab,
        Some(&trained.config),
        FinalfusionVectors::Normalized,
    )?;
    let file = std::fs::File::open(fifu).map_err(|source| Error::File {
        path: fifu.to_owned(),
        source,
    })?;
    let read: FinalfusionEmbeddings<SimpleVocab, NdArray> = FinalfusionEmbeddings::read_embeddings(
        &mut std::io::BufReader::new(file),
    )
    .map_err(|e| Error::InvalidArgument {
        what: "embeddings.fifu",
        message: format!("finalfusion cannot read it: {e}"),
    })?;
    let theirs: Vec<(String, f32)> = read
        .word_similarity(probe, 5, None)
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.word().to_owned(), r.cosine_similarity()))
        .collect();
    writeln!(out(), "{probe}, finalfusion: {theirs:?}")?;
    let same = ours.len() == theirs.len()
        && ours
            .iter()
            .zip(&theirs)
            .all(|((a, x), (b, y))| a == b && (x - y).abs() < 1e-4);
    if !same {
        return Err(Error::InvalidArgument {
            what: "embeddings.fifu",
            message: format!("finalfusion's neighbours of {probe:?} differ from ours"),
        });
    }
    writeln!(out(), "finalfusion agrees: same neighbours, same cosines")?;
    Ok(())
}
