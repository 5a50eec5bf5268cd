//! The per-offset interactions `D_p` of a model folder: [`OFFSETS_FILE`] holds the values,
//! [`OFFSETS_INFO_FILE`] what they are.
//!
//! `D.npy` is a 2-D `f32` array, so that [`read_matrix`](super::read_matrix) and numpy read
//! it as they read `W.npy`: for diagonal interactions `P×M` (row `p` is `d_p`), for full
//! ones `(P·M)×M`, the `P` matrices `D_p` stacked (numpy:
//! `np.load("D.npy").reshape(P, M, M)`). `P = 2b` for window `b`, offsets indexed
//! `−b … −1, 1 … b` ([`OffsetInteractions`]). `D.txt` says which (valid TOML):
//!
//! ```text
//! kind = "diagonal"
//! window = 5
//! window_mode = "shrink"
//! ```
//!
//! The window mode fixes the pair shares `π_p` that weigh `D_p` in the effective
//! interaction the word vectors are read out with.

use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::{Array3, ArrayView2};

use super::folder::check_crc;
use super::{Manifest, read_matrix_listed, remove_if_present, write_atomic, write_matrix};
use crate::config::{WindowMode, window_mode_name};
use crate::error::{Error, Result};
use crate::model::{OffsetInteractionKind, OffsetInteractions};

/// File name of the per-offset interactions in a model folder.
pub const OFFSETS_FILE: &str = "D.npy";
/// File name of what the per-offset interactions are (kind, window, window mode).
pub const OFFSETS_INFO_FILE: &str = "D.txt";

/// Reads the info file `info_name` of the data file `data_name` in `dir`, checked against
/// the manifest: `None` when neither is there (the model does not have that part), else
/// the info file's path, its `key = value` lines (one-based line number, key, value;
/// empty and `#` lines skipped) and its number of lines.
///
/// # Errors
///
/// [`Error::Format`] when the data file is there without its info file, or a line is not
/// `key = value`; [`Error::File`] when the info file cannot be read; what the manifest
/// check finds.
pub(crate) fn read_info_file(
    dir: &Path,
    info_name: &str,
    data_name: &str,
    manifest: Option<&Manifest>,
) -> Result<Option<InfoFile>> {
    let info = dir.join(info_name);
    let listed = manifest.is_some_and(|m| m.get(info_name).is_some());
    let bytes = match super::read_regular_file(&info) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !listed => {
            let values = dir.join(data_name);
            if values.exists() {
                return Err(Error::Format {
                    path: values,
                    message: format!("there is no {info_name} to say what it holds"),
                });
            }
            return Ok(None);
        }
        Err(source) => return Err(Error::File { path: info, source }),
    };
    if let Some(manifest) = manifest {
        let entry = manifest.check_size(dir, info_name)?;
        check_crc(&info, entry, crc32fast::hash(&bytes), bytes.len() as u64)?;
    }
    let text = String::from_utf8(bytes).map_err(|_| Error::Format {
        path: info.clone(),
        message: "not UTF-8".to_owned(),
    })?;
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(Error::Format {
                path: info,
                message: format!("line {}: expected `key = value`, got {line:?}", index + 1),
            });
        };
        lines.push((index + 1, key.trim().to_owned(), value.trim().to_owned()));
    }
    let n_lines = text.lines().count();
    Ok(Some((info, lines, n_lines)))
}

/// An info file read by [`read_info_file`]: its path, its `key = value` lines and its
/// number of lines.
pub(crate) type InfoFile = (PathBuf, Vec<(usize, String, String)>, usize);

/// Writes `offsets` into `dir` as [`OFFSETS_FILE`] and [`OFFSETS_INFO_FILE`]; for a model
/// without per-offset interactions removes those files if an earlier save left them.
pub(crate) fn write_offsets(dir: &Path, offsets: &OffsetInteractions) -> Result<()> {
    let (values, info) = (dir.join(OFFSETS_FILE), dir.join(OFFSETS_INFO_FILE));
    let stacked;
    let matrix: ArrayView2<'_, f32> = match (offsets.diagonal(), offsets.full()) {
        (Some(d), _) => d,
        (_, Some(d)) => {
            let (p, m, _) = d.dim();
            stacked = d
                .as_standard_layout()
                .into_owned()
                .into_shape_with_order((p * m, m))
                .map_err(|_| Error::ShapeMismatch {
                    what: "full per-offset interactions stacked as (P·M)×M",
                    expected: vec![p * m, m],
                    found: vec![p, m, m],
                })?;
            stacked.view()
        }
        _ => {
            remove_if_present(&values)?;
            return remove_if_present(&info);
        }
    };
    write_matrix(&values, matrix)?;
    write_atomic(&info, |writer| {
        write!(
            writer,
            "kind = \"{}\"\nwindow = {}\nwindow_mode = \"{}\"\n",
            offsets.kind().name(),
            offsets.window(),
            window_mode_name(offsets.window_mode())
        )
        .map_err(Error::Io)
    })
}

/// Reads the per-offset interactions of a model of dimension `dim` from `dir`, checking
/// both files against `manifest` when there is one: [`OffsetInteractions::none`] when the
/// folder has no [`OFFSETS_INFO_FILE`] (and the manifest lists none).
pub(crate) fn read_offsets(
    dir: &Path,
    dim: usize,
    manifest: Option<&Manifest>,
) -> Result<OffsetInteractions> {
    let Some((info, lines, n_lines)) =
        read_info_file(dir, OFFSETS_INFO_FILE, OFFSETS_FILE, manifest)?
    else {
        return Ok(OffsetInteractions::none());
    };
    let bad = |line: usize, message: String| Error::Format {
        path: info.clone(),
        message: format!("line {line}: {message}"),
    };
    let (mut kind, mut window, mut window_mode) = (None, None, None);
    let mut window_line = 0;
    for (index, key, value) in lines
        .iter()
        .map(|(i, k, v)| (*i - 1, k.as_str(), v.as_str()))
    {
        let name = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
        let known = match key {
            "kind" => name
                .and_then(OffsetInteractionKind::from_name)
                .map(|k| kind = Some(k)),
            "window" => value.parse::<usize>().ok().map(|w| {
                window = Some(w);
                window_line = index + 1;
            }),
            "window_mode" => [WindowMode::Shrink, WindowMode::Fixed]
                .into_iter()
                .find(|&m| Some(window_mode_name(m)) == name)
                .map(|m| window_mode = Some(m)),
            _ => return Err(bad(index + 1, format!("unknown key `{key}`"))),
        };
        if known.is_none() {
            return Err(bad(index + 1, format!("bad value for `{key}`: {value}")));
        }
    }
    let (Some(kind), Some(window), Some(window_mode)) = (kind, window, window_mode) else {
        return Err(bad(
            n_lines + 1,
            "`kind`, `window` and `window_mode` are all needed".to_owned(),
        ));
    };
    if kind == OffsetInteractionKind::None {
        return Ok(OffsetInteractions::none());
    }
    if window == 0 {
        return Err(bad(
            window_line,
            "`window` must be at least 1, got 0".to_owned(),
        ));
    }
    // D.npy has 2·window rows (2·window·M for full interactions): a window so large that
    // they cannot be counted is refused here, before it wraps to a small count that a
    // matrix of as many rows would pass.
    let per_offset = match kind {
        OffsetInteractionKind::Full => dim,
        _ => 1,
    };
    let Some((n_offsets, rows)) = window
        .checked_mul(2)
        .and_then(|n| Some((n, n.checked_mul(per_offset)?)))
    else {
        let rows = if per_offset == 1 {
            "2·window"
        } else {
            "2·window·M"
        };
        return Err(bad(
            window_line,
            format!(
                "`window` = {window} is too large: {OFFSETS_FILE} would need {rows} = {} rows",
                2 * window as u128 * per_offset as u128
            ),
        ));
    };
    let path = dir.join(OFFSETS_FILE);
    let entry = manifest
        .map(|m| m.check_size(dir, OFFSETS_FILE))
        .transpose()?;
    let values = read_matrix_listed(&path, entry)?;
    if values.dim() != (rows, dim) {
        return Err(Error::ShapeMismatch {
            what: "D.npy (2·window rows for diagonal interactions, 2·window·M for full ones, \
                   M columns)",
            expected: vec![rows, dim],
            found: values.shape().to_vec(),
        });
    }
    match kind {
        OffsetInteractionKind::Full => {
            let (values, _) = values.into_raw_vec_and_offset();
            let full = Array3::from_shape_vec((n_offsets, dim, dim), values).map_err(|_| {
                Error::ShapeMismatch {
                    what: "D.npy as P×M×M",
                    expected: vec![n_offsets, dim, dim],
                    found: vec![rows, dim],
                }
            })?;
            OffsetInteractions::from_full(full, window, window_mode)
        }
        _ => OffsetInteractions::from_diagonal(values, window, window_mode),
    }
}
