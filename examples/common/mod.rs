//! What the `train` and `course` examples share: the bundled corpus and its probe words,
//! the picture and the listing of each probe word's nearest neighbours, the parser of
//! their count ([`args`]), and how a write past the file size limit ends the program.

use std::io::Write;
use std::path::{Path, PathBuf};

pub mod args;

use bilinear_skipgram::{Embeddings, Error, Result, Vocab, plot::plot_words};
use ndarray::{ArrayView2, Axis};

/// The corpus files `given`, or the bundled King James Bible when there are none; and
/// whether it is the bundled corpus.
pub fn corpus_or_bundled(given: &[PathBuf]) -> (Vec<PathBuf>, bool) {
    if given.is_empty() {
        let bible = concat!(env!("CARGO_MANIFEST_DIR"), "/data/kjv.txt.xz");
        (vec![PathBuf::from(bible)], true)
    } else {
        (given.to_vec(), false)
    }
}

/// The probe words `given`, or six words of the bundled corpus when there are none and it
/// is the corpus.
pub fn probes_or_bundled(given: &[String], bundled: bool) -> Vec<String> {
    if given.is_empty() && bundled {
        ["god", "king", "gold", "water", "jerusalem", "sheep"]
            .map(String::from)
            .to_vec()
    } else {
        given.to_vec()
    }
}

/// Draws the probes found in `vocab` (lowercased) to `path`, their rows of `vectors`
/// projected on their top two singular vectors once centred, titled `N probe
/// words{what}, centred, top two singular vectors`; returns whether it drew them, which
/// needs two at least.
pub fn plot_probes(
    path: &Path,
    vectors: ArrayView2<'_, f32>,
    vocab: &Vocab,
    probes: &[String],
    what: &str,
) -> Result<bool> {
    let (labels, ids): (Vec<&str>, Vec<usize>) = probes
        .iter()
        .filter_map(|p| Some((p.as_str(), vocab.id(&p.to_lowercase())?)))
        .unzip();
    if labels.len() < 2 {
        return Ok(false);
    }
    let rows = vectors.select(Axis(0), &ids);
    let title = format!(
        "{} probe words{what}, centred, top two singular vectors",
        labels.len()
    );
    plot_words(path, rows.view(), &labels, &title)?;
    Ok(true)
}

/// Writes `title` and, for each probe, its `k` nearest words with their cosines (or that it
/// is not in the vocabulary) to `out`. A failed write is an [`Error::Io`], so that a closed
/// pipe (`| head`) ends the program quietly through `exit_code`.
pub fn write_neighbours(
    out: &mut impl Write,
    title: &str,
    embeddings: &Embeddings,
    probes: &[String],
    k: usize,
) -> Result<()> {
    writeln!(out, "nearest neighbours ({title} vectors):")?;
    for probe in probes {
        // Word-keyed queries: the lookup rule, and never <UNK> or a sentence marker as an
        // answer.
        match embeddings.most_similar(&[probe.as_str()], &[], k) {
            Ok(found) => {
                let list: Vec<String> = found
                    .iter()
                    .map(|n| format!("{} {:.2}", n.word, n.score))
                    .collect();
                writeln!(out, "  {probe}: {}", list.join(", "))?;
            }
            Err(Error::UnknownWord { .. }) => writeln!(out, "  {probe}: not in the vocabulary")?,
            Err(other) => return Err(other),
        }
    }
    out.flush().map_err(Error::Io)
}

/// Makes a write past the file size limit (`ulimit -f`) fail with an error, `File too
/// large`, which the program reports after removing its temporary files and leaving its
/// earlier output as it was, instead of the signal SIGXFSZ killing it silently mid-write
/// (as Rust's runtime does for SIGPIPE, so that a closed pipe is an error too).
pub fn report_writes_past_the_file_size_limit() {
    #[cfg(unix)]
    // SAFETY: only the disposition of SIGXFSZ changes; no handler runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
