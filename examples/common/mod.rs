//! What the `train` and `course` examples share: the listing of each probe word's nearest
//! neighbours, the parser of its count ([`args`]), and how a write past the file size limit
//! ends the program.

use std::io::Write;

pub mod args;

use bilinear_skipgram::{Embeddings, Error, Result};

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
