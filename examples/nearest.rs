//! Nearest neighbours of words and answers to analogies, from the command line or typed
//! one query a line.
//!
//! ```text
//! cargo run --release --example nearest -- embeddings god "egypt:pharaoh::babylon"
//! cargo run --release --example nearest -- embeddings --vectors sum -k 5
//! > king
//! > man king woman
//! ```
//!
//! A single word gives its `k` nearest neighbours by cosine similarity; `a:b::c` or
//! `a b c` gives the `k` best answers to a : b :: c : ? by 3CosAdd and by 3CosMul, among
//! the `--restrict` most frequent words.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use bilinear_skipgram::{
    AnalogyMethod, AnalogySearch, DEFAULT_RESTRICT, OovPolicy, Result, UnitVectors, VectorKind,
    Vocab, find_word, load_model,
};
use clap::{Parser, ValueEnum};

/// Nearest neighbours and analogies.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Model folder written by the train example (U.npy, V.npy, W.npy, vocab.txt).
    model_dir: PathBuf,
    /// Queries: a word, or an analogy `a:b::c`; none to read them from standard input.
    queries: Vec<String>,
    /// Which word vectors to use.
    #[arg(long, value_enum, default_value_t = Vectors::U)]
    vectors: Vectors,
    /// Answers printed per query.
    #[arg(short, default_value_t = 10)]
    k: usize,
    /// Analogies search (and require their words among) this many most frequent words.
    #[arg(long, default_value_t = DEFAULT_RESTRICT)]
    restrict: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Vectors {
    U,
    Vw,
    Concat,
    Sum,
}

impl From<Vectors> for VectorKind {
    fn from(v: Vectors) -> VectorKind {
        match v {
            Vectors::U => VectorKind::Focus,
            Vectors::Vw => VectorKind::MappedContext,
            Vectors::Concat => VectorKind::Concatenated,
            Vectors::Sum => VectorKind::Sum,
        }
    }
}

fn listing(vocab: &Vocab, answers: &[(usize, f32)]) -> String {
    answers
        .iter()
        .filter_map(|&(id, score)| vocab.word(id).map(|w| format!("{w} {score:.3}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Answers one query, printing the result or why there is none.
fn answer(query: &str, unit: &UnitVectors, search: &AnalogySearch<'_>, k: usize) -> Result<()> {
    let vocab = search.vocab();
    let words: Vec<&str> = match query.split_once("::") {
        Some((a_b, c)) => a_b.split(':').chain([c]).map(str::trim).collect(),
        None => query.split_whitespace().collect(),
    };
    match words.as_slice() {
        [word] => match find_word(vocab, word) {
            Some(id) => println!("{word}: {}", listing(vocab, &unit.nearest(id as usize, k)?)),
            None => println!("{word}: not in the vocabulary"),
        },
        [a, b, c] => {
            let ids: Vec<Option<usize>> = [a, b, c].iter().map(|w| search.word_id(w)).collect();
            let [Some(a_id), Some(b_id), Some(c_id)] = ids[..] else {
                let missing: Vec<&str> = [a, b, c]
                    .iter()
                    .zip(&ids)
                    .filter(|(_, id)| id.is_none())
                    .map(|(w, _)| **w)
                    .collect();
                println!(
                    "{a}:{b}::{c}: {} not among the {} most frequent words",
                    missing.join(", "),
                    search.n_candidates()
                );
                return Ok(());
            };
            for method in AnalogyMethod::ALL {
                let best = search.answers([a_id, b_id, c_id], method, k)?;
                println!(
                    "{a}:{b}::{c} ({}): {}",
                    method.name(),
                    listing(vocab, &best)
                );
            }
        }
        _ => println!("{query:?}: expected one word, `a:b::c` or `a b c`"),
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let (model, vocab) = load_model(&args.model_dir, OovPolicy::Drop)?;
    let vectors = model.word_vectors(args.vectors.into());
    let unit = UnitVectors::new(vectors.view());
    let search = AnalogySearch::new(vectors.view(), &vocab, args.restrict)?;
    if !args.queries.is_empty() {
        for query in &args.queries {
            answer(query, &unit, &search, args.k)?;
        }
        return Ok(());
    }
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprintln!("a word, or an analogy a:b::c; end with Ctrl-D");
    }
    let mut lines = std::io::stdin().lock().lines();
    loop {
        if interactive {
            eprint!("> ");
            std::io::stderr().flush()?;
        }
        let Some(line) = lines.next() else {
            return Ok(());
        };
        let line = line?;
        if !line.trim().is_empty() {
            answer(line.trim(), &unit, &search, args.k)?;
        }
    }
}
