//! Evaluates a trained model on every word-similarity and analogy set in a folder and prints
//! one table.
//!
//! ```text
//! cargo run --release --example train -- --out embeddings
//! cargo run --release --example evaluate -- embeddings
//! cargo run --release --example evaluate -- embeddings --eval-dir ../shared/data/eval \
//!     --vectors u --restrict 30000 --sections
//! ```
//!
//! Similarity sets are the `*.tsv` files with three columns, scored by Spearman's ρ;
//! analogy sets are `msr_analogy.txt` and `questions-words*.txt` (accuracy of 3CosAdd and
//! 3CosMul) and `bats*.tsv` (mean accuracy over the relations with a covered question,
//! their number in brackets). Coverage is the pairs or questions whose words are in the
//! vocabulary (for analogies: among the `--restrict` most frequent words) out of all;
//! similarity pairs whose vectors hold a NaN or an infinity are left out and counted.
//!
//! Errors are printed with their causes, one per line, with exit status 1; a closed
//! standard output (`evaluate … | true`) ends the program quietly with status 0.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bilinear_skipgram::error::exit_code;
use bilinear_skipgram::{
    AnalogyMethod, Error, OovPolicy, Result, VectorKind, eval::AnalogyDataset, eval::AnalogyReport,
    eval::AnalogySearch, eval::BatsDataset, eval::DEFAULT_RESTRICT, eval::MalformedPolicy,
    eval::SimilarityDataset, eval::count_non_finite_rows, io::check_regular_file, load_model,
    read_word_vectors,
};

/// Writes to standard error, ignoring a closed one.
macro_rules! note {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
#[path = "common/args.rs"]
mod args;

use clap::Parser;
use ndarray::Array2;

/// Evaluate word vectors on word-similarity and analogy sets.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Model folder written by the train example (U.npy, V.npy, W.npy, vocab.txt), or a
    /// file of word vectors with words in descending frequency, as word2vec and gensim
    /// write them: word2vec (`.bin`: binary, otherwise text; either possibly gzip- or
    /// xz-compressed) or finalfusion (recognised by its first bytes).
    model_dir: PathBuf,
    /// Folder with the evaluation sets.
    #[arg(long, default_value = "../shared/data/eval")]
    eval_dir: PathBuf,
    /// Which word vectors to evaluate: all, u, vw, concat, sum, or one of the read-outs in
    /// the score's geometry, balanced-focus, balanced-context, balanced-sum,
    /// balanced-concat, score-focus, score-context, score-sum, score-concat, score-smoothed (see
    /// `VectorKind`).
    #[arg(long, default_value = "all", value_parser = parse_vector_kinds)]
    vectors: Kinds,
    /// Analogies search (and require question words among) this many most frequent words.
    #[arg(long, default_value_t = DEFAULT_RESTRICT)]
    restrict: usize,
    /// Stop at the first malformed line instead of skipping and counting it.
    #[arg(long)]
    strict: bool,
    /// Also print a row per analogy section (BATS: per relation).
    #[arg(long)]
    sections: bool,
    /// Threads for the analogy search [default: the number of cores].
    #[arg(long)]
    threads: Option<usize>,
    /// For a model folder with subwords: read its vectors at this weight of a word's own
    /// row against 1 for each n-gram, instead of the weight it was trained to be read at.
    #[arg(long, value_parser = args::f32_value)]
    subword_readout_weight: Option<f32>,
    /// For a model folder: compute the score-smoothed vectors with the singular values of
    /// the scores weighted by `Λ^P` instead of the library's `SMOOTHED_SPECTRAL_WEIGHT`
    /// (0 to 1; 0.5 gives score-concat's spectrum).
    #[arg(long, value_name = "P")]
    spectral_weight: Option<f64>,
}

/// The vector kinds to evaluate.
#[derive(Clone, Debug)]
struct Kinds(Vec<VectorKind>);

/// `all` or the name of one vector kind.
fn parse_vector_kinds(name: &str) -> bilinear_skipgram::Result<Kinds> {
    if name == "all" {
        return Ok(Kinds(VectorKind::ALL.to_vec()));
    }
    match name.parse() {
        Ok(kind) => Ok(Kinds(vec![kind])),
        Err(Error::InvalidArgument { what, message }) => Err(Error::InvalidArgument {
            what,
            message: message.replacen("expected one of", "expected all or one of", 1),
        }),
        Err(other) => Err(other),
    }
}

enum EvalSet {
    Similarity(SimilarityDataset),
    Analogy(AnalogyDataset),
    Bats(BatsDataset),
}

impl EvalSet {
    fn name(&self) -> &str {
        match self {
            EvalSet::Similarity(s) => s.name(),
            EvalSet::Analogy(s) => s.name(),
            EvalSet::Bats(s) => s.name(),
        }
    }

    fn malformed_lines(&self) -> &[u64] {
        match self {
            EvalSet::Similarity(s) => s.malformed_lines(),
            EvalSet::Analogy(s) => s.malformed_lines(),
            EvalSet::Bats(s) => s.malformed_lines(),
        }
    }
}

/// Reads the evaluation sets of `dir`, recognised by file name. A `*.tsv` file that is not
/// BATS is a similarity set if it has at least one `word word score` line.
fn read_sets(dir: &Path, policy: MalformedPolicy) -> Result<Vec<EvalSet>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| bilinear_skipgram::Error::File {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let mut sets = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let tsv = name.ends_with(".tsv");
        let analogy = name == "msr_analogy.txt"
            || (name.starts_with("questions-words") && name.ends_with(".txt"));
        if !(analogy || tsv) {
            continue;
        }
        // A pipe among the sets would wait for a writer for good.
        check_regular_file(&path)?;
        if tsv && name.starts_with("bats") {
            sets.push(EvalSet::Bats(BatsDataset::read(&path, policy)?));
        } else if analogy {
            sets.push(EvalSet::Analogy(AnalogyDataset::read(&path, policy)?));
        } else {
            let set = SimilarityDataset::read(&path, policy)?;
            if set.pairs().is_empty() {
                note!(
                    "{}: no `word word score` line, not evaluated",
                    path.display()
                );
            } else {
                sets.push(EvalSet::Similarity(set));
            }
        }
    }
    // Similarity sets first, then analogies; by file name within each.
    sets.sort_by_key(|set| match set {
        EvalSet::Similarity(_) => 0,
        EvalSet::Analogy(_) => 1,
        EvalSet::Bats(_) => 2,
    });
    Ok(sets)
}

fn score(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.4}"))
}

/// Table cells `[set, metric, score, coverage]` for the reports of one analogy set: the
/// total accuracy (BATS: the mean over relations), then each section's if asked.
fn analogy_cells(
    set: &str,
    reports: &[AnalogyReport],
    bats: bool,
    sections: bool,
) -> Vec<[String; 4]> {
    let mut cells = Vec::new();
    for report in reports {
        let method = report.method.name();
        let total = report.total();
        let coverage = format!("{}/{}", total.n_covered, total.n_questions);
        cells.push(if bats {
            // The mean is over the relations with a covered question: say how many.
            let n_relations = report.sections.len();
            let n_scored = report.n_sections_scored();
            [
                set.to_owned(),
                format!("bats-{method} mean"),
                score(report.mean_accuracy()),
                format!("{coverage} ({n_scored}/{n_relations} rel.)"),
            ]
        } else {
            [
                set.to_owned(),
                method.to_owned(),
                score(total.accuracy()),
                coverage,
            ]
        });
        if sections {
            for section in &report.sections {
                cells.push([
                    format!("{set}/{}", section.name),
                    method.to_owned(),
                    score(section.accuracy()),
                    format!("{}/{}", section.n_covered, section.n_questions),
                ]);
            }
        }
    }
    cells
}

fn main() -> ExitCode {
    exit_code(run())
}

fn run() -> Result<()> {
    let args = Args::parse();
    if !args.eval_dir.is_dir() {
        let what = if args.eval_dir.exists() {
            "is not a folder"
        } else {
            "not found"
        };
        note!(
            "evaluation folder {} {what}; pass --eval-dir DIR with word-similarity *.tsv \
             files, msr_analogy.txt, questions-words*.txt or bats*.tsv",
            args.eval_dir.display()
        );
        std::process::exit(2);
    }
    let policy = if args.strict {
        MalformedPolicy::Strict
    } else {
        MalformedPolicy::Skip
    };
    let sets = read_sets(&args.eval_dir, policy)?;
    if sets.is_empty() {
        note!("no evaluation set found in {}", args.eval_dir.display());
        std::process::exit(2);
    }
    for set in &sets {
        if let Some(first) = set.malformed_lines().first() {
            note!(
                "{}: skipped {} malformed lines (the first is line {first})",
                set.name(),
                set.malformed_lines().len()
            );
        }
    }
    // What to evaluate: the model's vector kinds, each computed when its turn comes (so
    // that `--vectors all` holds one kind at a time, not thirteen), or the file's vectors.
    let (model, names, file, vocab) = if args.model_dir.is_dir() {
        let (mut model, vocab) = load_model(&args.model_dir, OovPolicy::Drop)?;
        args::read_subwords_at(Some(&mut model), args.subword_readout_weight)?;
        let kinds = args.vectors.0.clone();
        let names: Vec<String> = kinds.iter().map(|kind| kind.name().to_owned()).collect();
        (Some((model, kinds)), names, None, vocab)
    } else {
        args::read_subwords_at(None, args.subword_readout_weight)?;
        // The file's order (descending frequency) is the vocabulary's.
        let (vocab, vectors) = read_word_vectors(&args.model_dir)?;
        (None, vec!["file".to_owned()], Some(vectors), vocab)
    };
    // Checked before any vectors are computed.
    match (&model, args.spectral_weight) {
        (None, Some(_)) => {
            return Err(Error::InvalidArgument {
                what: "--spectral-weight",
                message: "a file of word vectors holds one read-out; give a model folder"
                    .to_owned(),
            });
        }
        (Some(_), Some(weight)) => bilinear_skipgram::model::check_spectral_weight(weight)?,
        _ => {}
    }
    let mut file = file;
    let mut vectors_at = |k: usize| -> Result<Array2<f32>> {
        // A file has one set of vectors, asked for once.
        let vectors = match &model {
            Some((model, kinds)) => match (kinds[k], args.spectral_weight) {
                (VectorKind::ScoreSmoothed, Some(weight)) => {
                    model.score_read_out_weighted(weight)?.concatenated()
                }
                (kind, _) => model.word_vectors(kind),
            },
            None => file.take().unwrap_or_default(),
        };
        let n_bad = count_non_finite_rows(vectors.view());
        if n_bad > 0 {
            note!(
                "warning: {n_bad} of {} {} vectors hold a NaN or an infinity (a diverged \
                 model?); similarity pairs with them are left out and counted, analogy \
                 questions with them get no answer",
                vectors.nrows(),
                names[k]
            );
        }
        Ok(vectors)
    };
    let mut first = Some(vectors_at(0)?);
    note!(
        "{}: {} words, dimension {}; analogies over the {} most frequent words",
        args.model_dir.display(),
        vocab.len(),
        first.as_ref().map_or(0, Array2::ncols),
        args.restrict.min(vocab.len())
    );

    // (set index, kind index, [set, vectors, metric, score, coverage])
    let mut rows: Vec<(usize, usize, [String; 5])> = Vec::new();
    for (k, vectors_name) in names.iter().enumerate() {
        let vectors = match first.take() {
            Some(vectors) => vectors,
            None => vectors_at(k)?,
        };
        let mut search = AnalogySearch::new(vectors.view(), &vocab, args.restrict)?;
        if let Some(threads) = args.threads {
            search = search.with_threads(threads);
        }
        for (s, set) in sets.iter().enumerate() {
            let cells = match set {
                EvalSet::Similarity(data) => {
                    let report = data.evaluate(vectors.view(), &vocab)?;
                    let non_finite = if report.n_non_finite > 0 {
                        format!(" ({} non-finite)", report.n_non_finite)
                    } else {
                        String::new()
                    };
                    vec![[
                        data.name().to_owned(),
                        "spearman".to_owned(),
                        score(report.spearman),
                        format!("{}/{}{non_finite}", report.n_found, report.n_pairs),
                    ]]
                }
                EvalSet::Analogy(data) => {
                    let reports = data.evaluate(&search, &AnalogyMethod::ALL);
                    analogy_cells(data.name(), &reports, false, args.sections)
                }
                EvalSet::Bats(data) => {
                    let reports = data.evaluate(&search, &AnalogyMethod::ALL);
                    analogy_cells(data.name(), &reports, true, args.sections)
                }
            };
            for [set_name, metric, value, coverage] in cells {
                rows.push((
                    s,
                    k,
                    [set_name, vectors_name.clone(), metric, value, coverage],
                ));
            }
        }
    }
    // Grouped by set, then vector kind, as the sets were read.
    rows.sort_by_key(|&(s, k, _)| (s, k));
    let header = ["set", "vectors", "metric", "score", "coverage"].map(String::from);
    let table: Vec<&[String; 5]> = std::iter::once(&header)
        .chain(rows.iter().map(|(_, _, row)| row))
        .collect();
    let widths: Vec<usize> = (0..5)
        .map(|c| {
            table
                .iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for row in table {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &w))| {
                if c >= 3 {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        text.push_str(line.join("  ").trim_end());
        text.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Io)
}
