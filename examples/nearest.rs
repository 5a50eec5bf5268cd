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
//!
//! The vectors come from a model folder written by the train example, or from a file of
//! word vectors: word2vec text or binary (`.bin`), possibly gzip- or xz-compressed, or
//! finalfusion. Queries typed on standard input are lines of at most 64 KiB of UTF-8; a
//! line that is not ends the session with an error giving its number. Errors are printed
//! with their causes, one per line, with exit status 1; a closed standard output
//! (`nearest … | head -1`) ends the program quietly with status 0.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use bilinear_skipgram::error::exit_code;
use bilinear_skipgram::{
    AnalogyMethod, Embeddings, Error, OovPolicy, Result, VectorKind, Vocab, eval::AnalogySearch,
    eval::DEFAULT_RESTRICT, eval::count_non_finite_rows, eval::find_word, io::LineReader,
    io::MAX_LINE_BYTES, load_model, read_word_vectors,
};
use std::str::FromStr;

#[path = "common/args.rs"]
mod args;

use clap::Parser;

/// Nearest neighbours and analogies.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Model folder written by the train example (U.npy, V.npy, W.npy, vocab.txt), or a
    /// file of word vectors (word2vec text, binary if named `.bin`, possibly compressed; or
    /// finalfusion), with words in descending frequency.
    model_dir: PathBuf,
    /// Queries: a word, or an analogy `a:b::c`; none to read them from standard input.
    queries: Vec<String>,
    /// Which word vectors of a model folder to use (a file holds one kind): u, vw, concat,
    /// sum, or one of the read-outs in the score's geometry, balanced-focus,
    /// balanced-context, balanced-sum, balanced-concat, score-focus, score-context,
    /// score-sum, score-concat, score-smoothed (see `VectorKind`).
    #[arg(long, default_value = "score-smoothed", value_parser = VectorKind::from_str)]
    vectors: VectorKind,
    /// Answers printed per query.
    #[arg(short, default_value_t = 10, value_parser = args::at_least_one)]
    k: usize,
    /// Analogies search (and require their words among) this many most frequent words.
    #[arg(long, default_value_t = DEFAULT_RESTRICT)]
    restrict: usize,
    /// For a model folder with subwords: read its vectors at this weight of a word's own
    /// row against 1 for each n-gram, instead of the weight it was trained to be read at.
    #[arg(long, value_parser = args::f32_value)]
    subword_readout_weight: Option<f32>,
}

fn listing(vocab: &Vocab, answers: &[(usize, f32)]) -> String {
    answers
        .iter()
        .filter_map(|&(id, score)| vocab.word(id).map(|w| format!("{w} {score:.3}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Answers one query: the result, or why there is none, as lines of text.
fn answer(
    query: &str,
    embeddings: &Embeddings,
    search: &AnalogySearch<'_>,
    k: usize,
) -> Result<String> {
    let vocab = search.vocab();
    let mut out = String::new();
    let mut words: Vec<&str> = match query.split_once("::") {
        Some((a_b, c)) => a_b.split(':').chain([c]).map(str::trim).collect(),
        None => query.split_whitespace().collect(),
    };
    // `a:b::` or `:b::c` leaves a word empty: malformed, as below.
    if words.contains(&"") {
        words.clear();
    }
    match words.as_slice() {
        // Never <UNK> or a sentence marker as a query or an answer.
        [word] => match find_word(vocab, word) {
            Some(_) => {
                let found: Vec<String> = embeddings
                    .most_similar(&[word], &[], k)?
                    .iter()
                    .map(|n| format!("{} {:.3}", n.word, n.score))
                    .collect();
                out.push_str(&format!("{word}: {}\n", found.join(", ")));
            }
            None => out.push_str(&format!("{word}: not in the vocabulary\n")),
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
                out.push_str(&format!(
                    "{a}:{b}::{c}: {} not among the {} most frequent words\n",
                    missing.join(", "),
                    search.n_candidates()
                ));
                return Ok(out);
            };
            for method in AnalogyMethod::ALL {
                let best = search.answers([a_id, b_id, c_id], method, k)?;
                out.push_str(&format!(
                    "{a}:{b}::{c} ({}): {}\n",
                    method.name(),
                    listing(vocab, &best)
                ));
            }
        }
        _ => out.push_str(&format!(
            "{query:?}: expected one word, `a:b::c` or `a b c`\n"
        )),
    }
    Ok(out)
}

/// Writes to standard output at once; a closed one is an error that `main` takes quietly.
fn print(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Io)
}

fn main() -> ExitCode {
    exit_code(run())
}

fn run() -> Result<()> {
    let args = Args::parse();
    let (vectors, vocab) = if args.model_dir.is_dir() {
        let (mut model, vocab) = load_model(&args.model_dir, OovPolicy::Drop)?;
        args::read_subwords_at(Some(&mut model), args.subword_readout_weight)?;
        (model.word_vectors(args.vectors), vocab)
    } else {
        args::read_subwords_at(None, args.subword_readout_weight)?;
        let (vocab, vectors) = read_word_vectors(&args.model_dir)?;
        (vectors, vocab)
    };
    let n_bad = count_non_finite_rows(vectors.view());
    if n_bad > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "warning: {n_bad} of {} vectors hold a NaN or an infinity (a diverged model?); \
             those words have no neighbours",
            vectors.nrows()
        );
    }
    let embeddings = Embeddings::new(vocab, vectors)?;
    let search = embeddings.analogy_search(args.restrict)?;
    if !args.queries.is_empty() {
        for query in &args.queries {
            print(&answer(query, &embeddings, &search, args.k)?)?;
        }
        return Ok(());
    }
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        let _ = writeln!(
            std::io::stderr(),
            "a word, or an analogy a:b::c; end with Ctrl-D"
        );
    }
    let mut lines = LineReader::new(std::io::stdin().lock(), "standard input", MAX_LINE_BYTES);
    loop {
        if interactive {
            let mut stderr = std::io::stderr();
            let _ = write!(stderr, "> ");
            let _ = stderr.flush();
        }
        let Some(line) = lines.next_line()? else {
            return Ok(());
        };
        if !line.trim().is_empty() {
            print(&answer(line.trim(), &embeddings, &search, args.k)?)?;
        }
    }
}
