//! Replacing a folder of files as a whole ([`replace_dir`]), with a manifest of sizes and
//! CRC-32 checksums that readers check ([`Manifest`]), and checks that an output folder or
//! file can be written before a long computation starts ([`check_output_dir`],
//! [`check_output_file`]).

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::io::{LineReader, MAX_LINE_BYTES};

/// File name of the manifest that [`replace_dir`] writes last into every folder.
pub const MANIFEST_FILE: &str = "MANIFEST";

/// First line of a manifest: the format and its version.
const MANIFEST_FORMAT: &str = "bilinear-skipgram manifest 1";

/// Files that a model folder written without a manifest (by an earlier version of
/// [`save_model`](crate::save_model) or of the `train` example) may hold: such a folder
/// is replaced only if it holds nothing else.
const LEGACY_MODEL_FILES: [&str; 9] = [
    "U.npy",
    "V.npy",
    "W.npy",
    "vocab.txt",
    "vectors.txt",
    "vectors.bin",
    "embeddings.fifu",
    "words.png",
    "loss.png",
];

/// Staging folders made by this process, for unique names.
static STAGING_COUNTER: AtomicU64 = AtomicU64::new(0);

fn file_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::File {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(path: &Path, kind: io::ErrorKind, message: String) -> Error {
    Error::File {
        path: path.to_path_buf(),
        source: io::Error::new(kind, message),
    }
}

/// The error of a probe that could not make `what` in the folder `parent`, which is to
/// hold `target`.
fn cannot_make<'a>(
    parent: &'a Path,
    what: &'a str,
    target: &'a Path,
) -> impl FnOnce(io::Error) -> Error + 'a {
    move |error| {
        invalid(
            parent,
            error.kind(),
            format!(
                "cannot make {what} in it ({error}), so {} cannot be written",
                target.display()
            ),
        )
    }
}

/// One file listed in a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// The file's name in the folder.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The CRC-32 (IEEE) of its bytes.
    pub crc32: u32,
}

/// The manifest of a folder written by [`replace_dir`]: the name, size and CRC-32 of every
/// file, written last, after every file is complete and synced.
///
/// The file [`MANIFEST_FILE`] is text: the line `bilinear-skipgram manifest 1`, then one
/// line per file, `name<TAB>size<TAB>crc32` (the CRC in 8 hexadecimal digits), by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// The files, by name.
    pub fn entries(&self) -> &[ManifestEntry] {
        &self.entries
    }

    /// The entry of the file `name`, if listed.
    pub fn get(&self, name: &str) -> Option<&ManifestEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Reads the manifest of `dir`; `None` if the folder has none (a folder written by an
    /// earlier version, accepted as it is).
    ///
    /// # Errors
    ///
    /// [`Error::File`] when the manifest exists but cannot be read or is not a regular file,
    /// [`Error::Parse`] naming its line when it is malformed.
    pub fn read(dir: impl AsRef<Path>) -> Result<Option<Manifest>> {
        let path = dir.as_ref().join(MANIFEST_FILE);
        let file = match super::open_regular_file(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::File { path, source }),
        };
        Self::parse(BufReader::new(file), &path).map(Some)
    }

    fn parse(reader: impl BufRead, path: &Path) -> Result<Manifest> {
        let mut lines = LineReader::new(reader, path, MAX_LINE_BYTES);
        let bad = |line: u64, message: String| Error::parse(path, line, message);
        match lines.next_line()? {
            Some(MANIFEST_FORMAT) => {}
            other => {
                return Err(bad(
                    1,
                    format!(
                        "expected {MANIFEST_FORMAT:?}, found {:?}",
                        other.unwrap_or_default()
                    ),
                ));
            }
        }
        let mut entries: Vec<ManifestEntry> = Vec::new();
        loop {
            let line = lines.line_number() + 1;
            let Some(text) = lines.next_line()? else {
                break;
            };
            let fields: Vec<&str> = text.split('\t').collect();
            let [name, size, crc] = fields[..] else {
                return Err(bad(
                    line,
                    format!("expected `name<TAB>size<TAB>crc32`, found {text:?}"),
                ));
            };
            let size = size
                .parse()
                .map_err(|_| bad(line, format!("the size {size:?} is not a number")))?;
            let crc32 = u32::from_str_radix(crc, 16)
                .ok()
                .filter(|_| crc.len() == 8)
                .ok_or_else(|| bad(line, format!("the CRC-32 {crc:?} is not 8 hex digits")))?;
            if name.is_empty() || entries.iter().any(|e| e.name == name) {
                return Err(bad(line, format!("the name {name:?} is empty or repeated")));
            }
            entries.push(ManifestEntry {
                name: name.to_owned(),
                size,
                crc32,
            });
        }
        Ok(Manifest { entries })
    }

    fn to_text(&self) -> String {
        let mut text = format!("{MANIFEST_FORMAT}\n");
        for e in &self.entries {
            text.push_str(&format!("{}\t{}\t{:08x}\n", e.name, e.size, e.crc32));
        }
        text
    }

    /// Checks that the file `name` of `dir` is listed and has the listed size, before it is
    /// read; returns its entry.
    pub(crate) fn check_size(&self, dir: &Path, name: &str) -> Result<&ManifestEntry> {
        let path = dir.join(name);
        let entry = self.get(name).ok_or_else(|| Error::Format {
            path: path.clone(),
            message: format!(
                "{MANIFEST_FILE} does not list this file: the folder is not the one that was \
                 written"
            ),
        })?;
        let size = fs::metadata(&path).map_err(file_error(&path))?.len();
        if size != entry.size {
            return Err(Error::Format {
                path,
                message: format!(
                    "{size} bytes, but {MANIFEST_FILE} lists {}: the file was damaged or \
                     changed after the folder was written",
                    entry.size
                ),
            });
        }
        Ok(entry)
    }

    /// Checks the size of every listed file that exists (not its CRC, which needs its
    /// bytes). A listed file that was removed since is no error here: a reader checks the
    /// files it needs with [`check_size`](Self::check_size).
    pub(crate) fn check_sizes(&self, dir: &Path) -> Result<()> {
        for entry in &self.entries {
            if fs::symlink_metadata(dir.join(&entry.name)).is_ok() {
                self.check_size(dir, &entry.name)?;
            }
        }
        Ok(())
    }
}

/// Checks the CRC-32 of the bytes actually read from `path` against its manifest entry.
pub(crate) fn check_crc(path: &Path, entry: &ManifestEntry, crc32: u32, size: u64) -> Result<()> {
    if (crc32, size) == (entry.crc32, entry.size) {
        return Ok(());
    }
    Err(Error::Format {
        path: path.to_path_buf(),
        message: format!(
            "the CRC-32 of its {size} bytes is {crc32:08x}, but {MANIFEST_FILE} lists \
             {:08x} for {} bytes: the file was damaged or changed after the folder was \
             written",
            entry.crc32, entry.size
        ),
    })
}

/// A reader that computes the CRC-32 and the number of the bytes read through it.
pub(crate) struct CrcReader<R> {
    inner: R,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<R: Read> CrcReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        CrcReader {
            inner,
            crc: crc32fast::Hasher::new(),
            len: 0,
        }
    }

    /// Reads what is left and returns the CRC-32 and length of everything read.
    pub(crate) fn finish(mut self) -> io::Result<(u32, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((self.crc.finalize(), self.len))
    }
}

impl<R: Read> Read for CrcReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}

/// The folder that holds `dir` and `dir`'s name.
/// `dir` as its components spell it: without a trailing `/` (with which the system follows
/// a symbolic link to a folder, and then cannot rename it) and without `.` components
/// (`out/.`, a name the system refuses to rename).
fn normalised(dir: &Path) -> PathBuf {
    dir.components().collect()
}

fn parent_and_name(dir: &Path) -> Result<(PathBuf, OsString)> {
    let name = dir.file_name().ok_or_else(|| {
        invalid(
            dir,
            io::ErrorKind::InvalidInput,
            "has no folder name of its own (such as `.`, `..` or `/`): give the output \
             folder by name"
                .to_owned(),
        )
    })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.to_os_string()))
}

/// The hidden names of staging (`new`) and set-aside (`old`) folders next to `name`:
/// `.NAME.KIND-PID-COUNTER`.
fn sibling_name(name: &OsString, kind: &str, pid: u32, counter: u64) -> OsString {
    let mut hidden = OsString::from(".");
    hidden.push(name);
    hidden.push(format!(".{kind}-{pid}-{counter}"));
    hidden
}

/// The kind (`new` or `old`) and process id of a sibling named by [`sibling_name`] for
/// `name`, if `entry` is one.
fn parse_sibling(entry: &str, name: &str) -> Option<(&'static str, u32)> {
    let rest = entry
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?;
    let (kind, rest) = if let Some(rest) = rest.strip_prefix("new-") {
        ("new", rest)
    } else {
        ("old", rest.strip_prefix("old-")?)
    };
    let (pid, counter) = rest.split_once('-')?;
    counter.parse::<u64>().ok()?;
    Some((kind, pid.parse().ok()?))
}

/// Whether a process with this id is running (or may be: where this cannot be told, it
/// is taken to be running, so that nothing of it is removed).
pub(crate) fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: kill with signal 0 sends nothing; it only checks the process exists.
        let status = unsafe { libc::kill(pid, 0) };
        status == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Removes what an interrupted [`replace_dir`] of `dir` left next to it, by processes that
/// are no longer running. A set-aside old folder is put back if `dir` itself is missing
/// (the process died between the two renames of the fallback swap). Failures are ignored:
/// a leftover is harmless and the next call tries again.
fn remove_stale_siblings(parent: &Path, name: &OsString, dir: &Path) {
    let (Some(name), Ok(entries)) = (name.to_str(), fs::read_dir(parent)) else {
        return;
    };
    let mut stale = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some((kind, pid)) = file_name.to_str().and_then(|n| parse_sibling(n, name)) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            stale.push((kind, entry.path()));
        }
    }
    // Old folders first, so that one can be put back before the others are removed.
    stale.sort_by_key(|(kind, _)| *kind != "old");
    for (kind, path) in stale {
        let restored =
            kind == "old" && fs::symlink_metadata(dir).is_err() && fs::rename(&path, dir).is_ok();
        if !restored {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// Checks that the existing folder `dir` holds only what a folder written by
/// [`replace_dir`] holds: its manifest and the files it lists, model files, and the names
/// in `new_names`. A folder that holds anything else (the user's own files) is never
/// replaced.
fn check_replaceable(dir: &Path, new_names: &[String]) -> Result<()> {
    let manifest = Manifest::read(dir)?;
    for entry in fs::read_dir(dir).map_err(file_error(dir))? {
        let entry = entry.map_err(file_error(dir))?;
        let file_name = entry.file_name();
        let name = file_name.to_string_lossy();
        let expected = name == MANIFEST_FILE
            || manifest.as_ref().is_some_and(|m| m.get(&name).is_some())
            || LEGACY_MODEL_FILES.contains(&name.as_ref())
            || new_names.iter().any(|n| *n == name)
            || is_atomic_write_leftover(&name);
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if !expected || !is_file {
            return Err(invalid(
                dir,
                io::ErrorKind::AlreadyExists,
                format!(
                    "exists and holds {name:?}, which is not part of a model folder written \
                     by this crate; the folder was left as it is (move that file away, or \
                     choose another output folder)"
                ),
            ));
        }
    }
    Ok(())
}

/// Whether `name` is a temporary file of an interrupted [`write_atomic`](crate::io::write_atomic)
/// (`.NAME.tmpPID`).
fn is_atomic_write_leftover(name: &str) -> bool {
    name.starts_with('.')
        && name
            .rsplit_once(".tmp")
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks, before a long computation, that `dir` can later be written by [`replace_dir`]:
/// the folder that holds it (or, if that is missing, the nearest folder above, where the
/// missing ones will be made) accepts a new folder, and `dir` is either missing or a
/// folder that holds only a model's files (see [`replace_dir`]).
///
/// # Errors
///
/// [`Error::File`] naming the path when the folder above is not a folder or not writable,
/// or `dir` is a regular file, a device, a symbolic link or another kind of file, or a
/// folder holding files that are not a model's.
pub fn check_output_dir(dir: impl AsRef<Path>) -> Result<()> {
    let dir = &normalised(dir.as_ref());
    let (parent, name) = parent_and_name(dir)?;
    // Missing folders on the way are made by `replace_dir`: the nearest one that exists
    // must take them.
    let existing = check_parent(&parent, dir)?;
    let probe_name = if existing == parent {
        sibling_name(
            &name,
            "new",
            std::process::id(),
            STAGING_COUNTER.fetch_add(1, Ordering::Relaxed),
        )
    } else {
        OsString::from(format!(".bilinear-skipgram-probe-{}", std::process::id()))
    };
    let probe = existing.join(probe_name);
    fs::create_dir(&probe).map_err(cannot_make(&existing, "a folder", dir))?;
    let _ = fs::remove_dir(&probe);
    match fs::symlink_metadata(dir) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::File {
            path: dir.to_path_buf(),
            source,
        }),
        Ok(metadata) if metadata.is_dir() => check_replaceable(dir, &[]),
        Ok(metadata) => Err(not_a_folder(dir, &metadata)),
    }
}

/// Checks, before a long computation, that the file `path` can later be written
/// atomically (by [`write_atomic`](crate::io::write_atomic), as checkpoints are): the folder
/// that holds it exists and accepts new files, and `path` is missing or a regular file.
///
/// A symbolic link is refused, even to a regular file, as [`check_output_dir`] refuses one
/// to a folder: the new file is renamed over the name, which would replace the link
/// itself and leave the file it points to as it was.
///
/// # Errors
///
/// [`Error::File`] naming the path when the folder is missing or not writable, or `path`
/// is a folder, a symbolic link, a device, a pipe or another kind of file.
pub fn check_output_file(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let (parent, name) = parent_and_name(path)?;
    if check_parent(&parent, path)? != parent {
        return Err(invalid(
            &parent,
            io::ErrorKind::NotFound,
            format!(
                "the folder that would hold {} does not exist",
                path.display()
            ),
        ));
    }
    let mut probe_name = OsString::from(".");
    probe_name.push(&name);
    probe_name.push(format!(".tmp{}", std::process::id()));
    let probe = parent.join(probe_name);
    File::create(&probe).map_err(cannot_make(&parent, "a file", path))?;
    let _ = fs::remove_file(&probe);
    match fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::File {
            path: path.to_path_buf(),
            source,
        }),
        Ok(metadata) if metadata.is_file() => Ok(()),
        Ok(metadata) if metadata.file_type().is_symlink() => Err(link_refused(path)),
        Ok(metadata) => Err(invalid(
            path,
            io::ErrorKind::InvalidInput,
            format!(
                "exists and is {}, not a regular file that can be replaced",
                kind_of(&metadata)
            ),
        )),
    }
}

/// The error for an output file `path` that is a symbolic link: a file written atomically
/// is renamed over its name, which would replace the link itself and leave the file it
/// points to as it was.
pub(crate) fn link_refused(path: &Path) -> Error {
    invalid(
        path,
        io::ErrorKind::InvalidInput,
        "exists and is a symbolic link, not a regular file that can be replaced: links are \
         not followed, as for output folders (writing would replace the link, not the file \
         it points to); give the file's own path"
            .to_owned(),
    )
}

/// Returns `parent` (which holds `path`) or, if it is missing, the nearest folder above it
/// that exists; an error if that is not a folder or cannot be inspected.
fn check_parent(parent: &Path, path: &Path) -> Result<PathBuf> {
    let mut folder = parent;
    loop {
        match fs::metadata(folder) {
            Ok(metadata) if metadata.is_dir() => return Ok(folder.to_path_buf()),
            Ok(_) => {
                return Err(invalid(
                    folder,
                    io::ErrorKind::NotADirectory,
                    format!(
                        "is not a folder, so {} cannot be made in it",
                        path.display()
                    ),
                ));
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                match folder.parent().filter(|p| !p.as_os_str().is_empty()) {
                    Some(above) => folder = above,
                    None => folder = Path::new("."),
                }
            }
            Err(error) => {
                return Err(invalid(
                    folder,
                    error.kind(),
                    format!(
                        "the folder that would hold {} cannot be used: {error}",
                        path.display()
                    ),
                ));
            }
        }
    }
}

/// A file type in words, for messages.
fn kind_of(metadata: &fs::Metadata) -> &'static str {
    let file_type = metadata.file_type();
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_file() {
        "a regular file"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        super::file_type_name(&file_type)
    }
}

fn not_a_folder(dir: &Path, metadata: &fs::Metadata) -> Error {
    invalid(
        dir,
        io::ErrorKind::AlreadyExists,
        format!(
            "exists and is {}, not a folder; it was left as it is",
            kind_of(metadata)
        ),
    )
}

/// Writes the folder `dir` as a whole: `fill` writes files into a fresh staging folder
/// next to `dir`, and the staging folder then takes `dir`'s place, so that `dir` holds
/// either everything it held before or everything `fill` wrote, never a mix.
///
/// 1. Missing folders above `dir` are made. Leftovers of interrupted calls for the same `dir` (hidden `.NAME.new-PID-N` and
///    `.NAME.old-PID-N` folders of processes that are no longer running) are removed; a
///    set-aside old folder is put back first if `dir` is missing.
/// 2. `fill` gets the staging folder `.NAME.new-PID-N` (hidden, in the same folder as
///    `dir`, so the renames below stay within one file system) and writes regular files
///    into it. If it fails, the staging folder is removed and its error returned; `dir`
///    is untouched.
/// 3. Every file is synced, a [`MANIFEST_FILE`] listing each file's name, size and CRC-32
///    is written last and synced, and so is the staging folder.
/// 4. If `dir` does not exist, the staging folder is renamed to it. If it does, on Linux
///    the two are exchanged in one atomic step (`renameat2` with `RENAME_EXCHANGE`) and
///    the old folder, now under the staging name, is removed. Where the exchange is not
///    available (other systems, or file systems without it), `dir` is renamed aside to
///    `.NAME.old-PID-N`, the staging folder renamed to `dir`, and the old one removed:
///    between these two renames, a fraction of a millisecond, `dir` does not exist, and a
///    process killed right then leaves the old folder aside, which the next call for the
///    same `dir` puts back.
///
/// An existing `dir` is replaced only if it holds what such a folder holds: its manifest
/// and the files it lists, model files (`U.npy`, `V.npy`, `W.npy`, `vocab.txt`,
/// `vectors.txt`, `vectors.bin`, `embeddings.fifu`, `words.png`, `loss.png`, as a folder
/// written before manifests existed holds them), and files of the names `fill` wrote. Anything else, the user's
/// own files, makes it an error, and so does a `dir` that is not a folder (a symbolic
/// link included, even to a folder): neither is ever deleted.
///
/// Two processes replacing the same `dir` at once do not disturb each other: each has its
/// own staging folder, and the last swap wins.
///
/// ```
/// use bilinear_skipgram::io::{Manifest, replace_dir};
///
/// let parent = tempfile::tempdir()?;
/// let dir = parent.path().join("out");
/// replace_dir(&dir, |staging| {
///     std::fs::write(staging.join("a.txt"), "first")?;
///     Ok(())
/// })?;
/// // A failure leaves the folder as it was.
/// let failed = replace_dir(&dir, |staging| {
///     std::fs::write(staging.join("a.txt"), "second")?;
///     Err(bilinear_skipgram::Error::Io(std::io::Error::other("disk full")))
/// });
/// assert!(failed.is_err());
/// assert_eq!(std::fs::read_to_string(dir.join("a.txt"))?, "first");
/// let manifest = Manifest::read(&dir)?.expect("written last");
/// assert_eq!(manifest.entries()[0].size, 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// - [`Error::File`] naming `dir` when it has no name of its own (`.`, `/`), exists and is
///   not a folder, or holds files that are not a model's; naming the parent folder when
///   the staging folder cannot be made; naming a file that cannot be synced or listed, or
///   a subfolder or a name with a tab or newline that `fill` made.
/// - Whatever `fill` returns.
///
/// An error naming a file of the staging folder names the file of `dir` it was to become
/// instead (`out/U.npy`), and one naming the staging folder names `dir`, since the staging
/// folder is gone when the error is returned.
pub fn replace_dir(dir: impl AsRef<Path>, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    replace(dir.as_ref(), fill, true)
}

/// [`replace_dir`], with the atomic exchange or (`try_exchange` false) the fallback.
fn replace(dir: &Path, fill: impl FnOnce(&Path) -> Result<()>, try_exchange: bool) -> Result<()> {
    let dir = &normalised(dir);
    let (parent, name) = parent_and_name(dir)?;
    // What the folder holds is checked before the swap, against the names `fill` wrote.
    if let Ok(metadata) = fs::symlink_metadata(dir)
        && !metadata.is_dir()
    {
        return Err(not_a_folder(dir, &metadata));
    }
    fs::create_dir_all(&parent).map_err(file_error(&parent))?;
    remove_stale_siblings(&parent, &name, dir);
    let pid = std::process::id();
    let (staging, counter) = loop {
        let counter = STAGING_COUNTER.fetch_add(1, Ordering::Relaxed);
        let staging = parent.join(sibling_name(&name, "new", pid, counter));
        match fs::create_dir(&staging) {
            Ok(()) => break (staging, counter),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(Error::File {
                    path: parent,
                    source,
                });
            }
        }
    };
    let aside = parent.join(sibling_name(&name, "old", pid, counter));
    let result = fill(&staging)
        .and_then(|()| seal(&staging))
        .and_then(|names| swap(dir, &staging, &aside, &names, try_exchange));
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    sync_dir(&parent);
    result.map_err(|error| named_in_place(error, &staging, dir))
}

/// `error`, naming a file of the staging folder (removed by now) as the file of `dir` it
/// was to become, `out/loss.png` and not `.out.new-PID-N/loss.png`, and the staging folder
/// itself as `dir`.
fn named_in_place(error: Error, staging: &Path, dir: &Path) -> Error {
    let in_place = |path: PathBuf| match path.strip_prefix(staging) {
        Ok(rest) if rest.as_os_str().is_empty() => dir.to_path_buf(),
        Ok(rest) => dir.join(rest),
        Err(_) => path,
    };
    match error {
        Error::File { path, source } => Error::File {
            path: in_place(path),
            source,
        },
        Error::Format { path, message } => Error::Format {
            path: in_place(path),
            message,
        },
        Error::Parse {
            path,
            line,
            message,
        } => Error::Parse {
            path: in_place(path),
            line,
            message,
        },
        other => other,
    }
}

/// Syncs every file of the staging folder, writes the manifest and syncs the folder;
/// returns the names of the files.
fn seal(staging: &Path) -> Result<Vec<String>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(staging).map_err(file_error(staging))? {
        let entry = entry.map_err(file_error(staging))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(file_error(&path))?;
        let name = entry
            .file_name()
            .into_string()
            .ok()
            .filter(|n| !n.contains(['\t', '\n', '\r']) && n != MANIFEST_FILE);
        let Some(name) = name.filter(|_| file_type.is_file()) else {
            return Err(invalid(
                &path,
                io::ErrorKind::InvalidInput,
                format!(
                    "only regular files named in UTF-8 without tabs or line breaks, and not \
                     {MANIFEST_FILE}, can be part of a folder written as a whole"
                ),
            ));
        };
        // Read back through the CRC and synced: what the manifest lists is on disk.
        let file = File::options()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(file_error(&path))?;
        file.sync_all().map_err(file_error(&path))?;
        let (crc32, size) = CrcReader::new(&file).finish().map_err(file_error(&path))?;
        entries.push(ManifestEntry { name, size, crc32 });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let names = entries.iter().map(|e| e.name.clone()).collect();
    let manifest = staging.join(MANIFEST_FILE);
    let text = Manifest { entries }.to_text();
    let mut file = File::create(&manifest).map_err(file_error(&manifest))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(file_error(&manifest))?;
    sync_dir(staging);
    Ok(names)
}

/// Puts the sealed `staging` folder in `dir`'s place (see [`replace_dir`]).
fn swap(
    dir: &Path,
    staging: &Path,
    aside: &Path,
    names: &[String],
    try_exchange: bool,
) -> Result<()> {
    let metadata = match fs::symlink_metadata(dir) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return fs::rename(staging, dir).map_err(file_error(dir));
        }
        Err(source) => {
            return Err(Error::File {
                path: dir.to_path_buf(),
                source,
            });
        }
        Ok(metadata) => metadata,
    };
    if !metadata.is_dir() {
        return Err(not_a_folder(dir, &metadata));
    }
    // Checked again: the folder may have changed while `fill` ran.
    check_replaceable(dir, names)?;
    if try_exchange && exchange(staging, dir)? {
        // `staging` now names the old folder.
        let _ = fs::remove_dir_all(staging);
        return Ok(());
    }
    fs::rename(dir, aside).map_err(file_error(dir))?;
    if let Err(source) = fs::rename(staging, dir) {
        let _ = fs::rename(aside, dir);
        return Err(Error::File {
            path: dir.to_path_buf(),
            source,
        });
    }
    let _ = fs::remove_dir_all(aside);
    Ok(())
}

/// Exchanges two folders atomically; `Ok(false)` where the system or file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| {
            invalid(
                p,
                io::ErrorKind::InvalidInput,
                "the path holds a NUL byte".to_owned(),
            )
        })
    };
    let (a_c, b_c) = (c_path(a)?, c_path(b)?);
    // SAFETY: both paths are NUL-terminated strings that outlive the call.
    let status = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a_c.as_ptr(),
            libc::AT_FDCWD,
            b_c.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if status == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    match error.raw_os_error() {
        // No renameat2 in the kernel, or no exchange on this file system.
        Some(libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP) => Ok(false),
        _ => Err(Error::File {
            path: b.to_path_buf(),
            source: error,
        }),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> Result<bool> {
    Ok(false)
}

/// Makes the renames in `dir` durable where the platform allows it.
fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of the staging folder that could not be written is named as the file of the
    /// output folder it was to become; other paths are kept.
    #[test]
    fn a_failed_file_is_named_in_the_output_folder() {
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = parent.path().join("out");
        let elsewhere = parent.path().join("corpus.txt");
        for (failed, named) in [
            (Some("sub/U.npy"), dir.join("sub/U.npy")),
            (Some(""), dir.clone()),
            (None, elsewhere.clone()),
        ] {
            let error = replace_dir(&dir, |staging| {
                Err(Error::File {
                    path: failed.map_or_else(|| elsewhere.clone(), |name| staging.join(name)),
                    source: io::Error::other("disk full"),
                })
            })
            .expect_err("fails");
            let Error::File { path, .. } = error else {
                panic!("{error:?}");
            };
            assert_eq!(path, named);
        }
        let error = replace_dir(&dir, |staging| {
            Err(Error::Format {
                path: staging.join("words.png"),
                message: "cannot draw".to_owned(),
            })
        })
        .expect_err("fails");
        assert_eq!(
            error.to_string(),
            format!("{}: cannot draw", dir.join("words.png").display())
        );
        assert_eq!(fs::read_dir(parent.path()).expect("list").count(), 0);
    }

    /// `out/.` and `link/` are the folders `out` and `link`: `out/.` is replaced (it could
    /// not be renamed under that spelling), and a link named with a trailing `/` is refused
    /// before anything is written, as without it (the system would follow it).
    #[test]
    fn trailing_dot_and_slash_name_the_folder_itself() {
        let parent = tempfile::tempdir().expect("tempdir");
        let out = parent.path().join("out");
        let write = |dir: &Path, text: &str| {
            replace_dir(dir, |staging| {
                fs::write(staging.join("a.txt"), text).map_err(Error::Io)
            })
        };
        write(&out, "first").expect("writes");
        let dotted = out.join(".");
        check_output_dir(&dotted).expect("a model folder");
        write(&dotted, "second").expect("replaces");
        assert_eq!(
            fs::read_to_string(out.join("a.txt")).expect("read"),
            "second"
        );
        #[cfg(unix)]
        {
            let link = parent.path().join("link");
            std::os::unix::fs::symlink(&out, &link).expect("symlink");
            let slashed = PathBuf::from(format!("{}/", link.display()));
            let error = check_output_dir(&slashed).expect_err("a link");
            assert!(error.to_string().contains("symbolic link"), "{error}");
            write(&slashed, "third").expect_err("a link");
            assert_eq!(
                fs::read_to_string(out.join("a.txt")).expect("read"),
                "second"
            );
        }
    }

    /// A folder that accepts no new entry (procfs: even root cannot make one there) is
    /// named with what could not be done, not as a bare "No such file or directory".
    #[test]
    fn an_unwritable_parent_is_named_with_what_failed() {
        if !Path::new("/proc/self").exists() {
            eprintln!("no /proc: skipped");
            return;
        }
        let message = check_output_dir("/proc/bsg-out").unwrap_err().to_string();
        assert!(
            message.starts_with("I/O error on /proc: cannot make a folder in it (")
                && message.ends_with("), so /proc/bsg-out cannot be written"),
            "{message}"
        );
        let message = check_output_file("/proc/bsg-out.ckpt")
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("I/O error on /proc: cannot make a file in it (")
                && message.ends_with("), so /proc/bsg-out.ckpt cannot be written"),
            "{message}"
        );
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn sibling_names_parse_back() {
        let name = OsString::from("out");
        let new = sibling_name(&name, "new", 42, 7);
        assert_eq!(new, ".out.new-42-7");
        assert_eq!(parse_sibling(".out.new-42-7", "out"), Some(("new", 42)));
        assert_eq!(parse_sibling(".out.old-42-0", "out"), Some(("old", 42)));
        for other in [
            ".out.new-42",
            ".out.new-x-1",
            ".outx.new-1-1",
            "out.new-1-1",
            ".out.tmp1",
        ] {
            assert_eq!(parse_sibling(other, "out"), None, "{other}");
        }
    }

    #[test]
    fn a_failure_in_fill_leaves_the_old_folder_and_no_staging_folder() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("model");
        replace_dir(&dir, |d| {
            fs::write(d.join("U.npy"), "old U")?;
            fs::write(d.join("vocab.txt"), "old vocab")?;
            Ok(())
        })
        .unwrap();
        let before = names(&dir);
        assert_eq!(before, ["MANIFEST", "U.npy", "vocab.txt"]);
        let error = replace_dir(&dir, |d| {
            fs::write(d.join("U.npy"), "new U")?;
            Err(Error::Io(io::Error::other("injected failure")))
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "I/O error: injected failure");
        assert_eq!(names(&dir), before);
        assert_eq!(fs::read_to_string(dir.join("U.npy")).unwrap(), "old U");
        assert_eq!(names(parent.path()), ["model"]);
    }

    #[test]
    fn the_exchange_and_the_fallback_both_replace_the_folder() {
        for try_exchange in [true, false] {
            let parent = tempfile::tempdir().unwrap();
            let dir = parent.path().join("model");
            for content in ["1", "2", "3"] {
                replace(
                    &dir,
                    |d| Ok(fs::write(d.join("U.npy"), content)?),
                    try_exchange,
                )
                .unwrap();
                assert_eq!(fs::read_to_string(dir.join("U.npy")).unwrap(), content);
                assert_eq!(names(parent.path()), ["model"]);
            }
        }
        #[cfg(target_os = "linux")]
        {
            // On the file systems tests run on, the exchange is available and swaps.
            let parent = tempfile::tempdir().unwrap();
            let (a, b) = (parent.path().join("a"), parent.path().join("b"));
            fs::create_dir(&a).unwrap();
            fs::create_dir(&b).unwrap();
            fs::write(a.join("x"), "in a").unwrap();
            assert!(exchange(&a, &b).unwrap());
            assert_eq!(fs::read_to_string(b.join("x")).unwrap(), "in a");
            assert!(!a.join("x").exists());
        }
    }

    #[test]
    fn a_folder_is_replaced_whole_with_a_manifest() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("model");
        replace_dir(&dir, |d| {
            fs::write(d.join("U.npy"), "old U")?;
            fs::write(d.join("loss.png"), "old picture")?;
            Ok(())
        })
        .unwrap();
        replace_dir(&dir, |d| Ok(fs::write(d.join("U.npy"), "new U!")?)).unwrap();
        // The file the new folder does not have is gone with the old folder.
        assert_eq!(names(&dir), ["MANIFEST", "U.npy"]);
        let manifest = Manifest::read(&dir).unwrap().unwrap();
        assert_eq!(
            manifest.entries(),
            [ManifestEntry {
                name: "U.npy".to_owned(),
                size: 6,
                crc32: crc32fast::hash(b"new U!"),
            }]
        );
        assert_eq!(names(parent.path()), ["model"]);
    }

    #[test]
    fn foreign_files_and_non_folders_are_never_replaced() {
        let parent = tempfile::tempdir().unwrap();
        // A folder with the user's own file.
        let dir = parent.path().join("mine");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("notes.txt"), "keep me").unwrap();
        fs::write(dir.join("U.npy"), "x").unwrap();
        for result in [
            check_output_dir(&dir),
            replace_dir(&dir, |d| Ok(fs::write(d.join("U.npy"), "y")?)),
        ] {
            let message = result.unwrap_err().to_string();
            assert!(message.contains("\"notes.txt\""), "{message}");
        }
        assert_eq!(
            fs::read_to_string(dir.join("notes.txt")).unwrap(),
            "keep me"
        );
        // A legacy model folder (no manifest) with model files only is replaced.
        fs::remove_file(dir.join("notes.txt")).unwrap();
        check_output_dir(&dir).unwrap();
        replace_dir(&dir, |d| Ok(fs::write(d.join("U.npy"), "y")?)).unwrap();
        // A regular file is not a folder.
        let file = parent.path().join("file");
        fs::write(&file, "data").unwrap();
        for result in [check_output_dir(&file), replace_dir(&file, |_| Ok(()))] {
            let message = result.unwrap_err().to_string();
            assert!(
                message.contains("is a regular file, not a folder"),
                "{message}"
            );
        }
        assert_eq!(fs::read_to_string(&file).unwrap(), "data");
        // No name of its own; a missing parent.
        assert!(replace_dir(Path::new("/"), |_| Ok(())).is_err());
        // Missing folders above are made, unless a file is in the way.
        check_output_dir(parent.path().join("missing/out")).unwrap();
        let message = check_output_dir(file.join("out")).unwrap_err().to_string();
        assert!(message.contains("is not a folder"), "{message}");
        // Subfolders cannot be part of the folder.
        let error = replace_dir(parent.path().join("sub"), |d| {
            Ok(fs::create_dir(d.join("inner"))?)
        })
        .unwrap_err();
        assert!(error.to_string().contains("inner"), "{error}");
        assert!(!parent.path().join("sub").exists());
    }

    #[test]
    fn stale_siblings_of_dead_processes_are_removed_and_live_ones_kept() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("model");
        replace_dir(&dir, |d| Ok(fs::write(d.join("U.npy"), "1")?)).unwrap();
        // A process id that is not running: the largest, which Linux never hands out.
        let dead = if cfg!(unix) { 4_194_304 + 17 } else { 0 };
        assert!(!cfg!(unix) || !process_alive(dead));
        let live = std::process::id();
        let parent_pid = if cfg!(unix) {
            // SAFETY: getppid has no preconditions.
            u32::try_from(unsafe { libc::getppid() }).unwrap()
        } else {
            live
        };
        let stale_new = parent.path().join(format!(".model.new-{dead}-3"));
        let stale_old = parent.path().join(format!(".model.old-{dead}-4"));
        let live_new = parent.path().join(format!(".model.new-{parent_pid}-5"));
        for leftover in [&stale_new, &stale_old, &live_new] {
            fs::create_dir(leftover).unwrap();
            fs::write(leftover.join("U.npy"), "left").unwrap();
        }
        replace_dir(&dir, |d| Ok(fs::write(d.join("U.npy"), "2")?)).unwrap();
        let left = names(parent.path());
        if cfg!(unix) {
            assert_eq!(
                left,
                [format!(".model.new-{parent_pid}-5"), "model".to_owned()]
            );
        }
        // An old folder set aside by a process that died before the second rename is put
        // back when the folder itself is missing.
        fs::remove_dir_all(&live_new).unwrap();
        fs::rename(&dir, &stale_old).unwrap();
        replace_dir(parent.path().join("other"), |_| Ok(())).unwrap();
        assert!(
            !dir.exists(),
            "only siblings of the same folder are touched"
        );
        check_output_dir(&dir).unwrap();
        replace_dir(&dir, |d| Ok(fs::write(d.join("U.npy"), "3")?)).unwrap();
        assert_eq!(fs::read_to_string(dir.join("U.npy")).unwrap(), "3");
        assert_eq!(names(parent.path()), ["model", "other"]);
    }

    #[test]
    fn output_file_checks() {
        let parent = tempfile::tempdir().unwrap();
        check_output_file(parent.path().join("run.ckpt")).unwrap();
        let message = check_output_file(parent.path()).unwrap_err().to_string();
        assert!(message.contains("is a folder"), "{message}");
        if cfg!(unix) {
            let message = check_output_file("/dev/null").unwrap_err().to_string();
            assert!(message.contains("is a character device"), "{message}");
        }
        let message = check_output_file(parent.path().join("no/such/run.ckpt"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("does not exist"), "{message}");
        assert_eq!(names(parent.path()), Vec::<String>::new());
        // A symbolic link is refused, to a regular file or to nothing, and left as it is:
        // writing through it would replace the link, not its target.
        #[cfg(unix)]
        {
            let target = parent.path().join("target.ckpt");
            fs::write(&target, "checkpoint").unwrap();
            for (link, to) in [("link.ckpt", "target.ckpt"), ("dangling.ckpt", "missing")] {
                let link = parent.path().join(link);
                std::os::unix::fs::symlink(to, &link).unwrap();
                let message = check_output_file(&link).unwrap_err().to_string();
                assert_eq!(
                    message,
                    format!(
                        "I/O error on {}: exists and is a symbolic link, not a regular file \
                         that can be replaced: links are not followed, as for output folders \
                         (writing would replace the link, not the file it points to); give \
                         the file's own path",
                        link.display()
                    )
                );
                assert!(
                    fs::symlink_metadata(&link)
                        .unwrap()
                        .file_type()
                        .is_symlink()
                );
            }
            assert_eq!(fs::read_to_string(&target).unwrap(), "checkpoint");
            assert_eq!(
                names(parent.path()),
                ["dangling.ckpt", "link.ckpt", "target.ckpt"]
            );
        }
    }

    #[test]
    fn manifests_parse_and_refuse_malformed_lines() {
        let path = Path::new("m/MANIFEST");
        let good = format!("{MANIFEST_FORMAT}\na.txt\t5\t0000abcd\n");
        let manifest = Manifest::parse(good.as_bytes(), path).unwrap();
        assert_eq!(manifest.to_text(), good);
        for (text, line) in [
            ("something else\n".to_owned(), 1),
            (format!("{MANIFEST_FORMAT}\na.txt\t5\n"), 2),
            (format!("{MANIFEST_FORMAT}\na.txt\tfive\t0000abcd\n"), 2),
            (format!("{MANIFEST_FORMAT}\na.txt\t5\tabcd\n"), 2),
            (
                format!("{MANIFEST_FORMAT}\na\t1\t00000000\na\t1\t00000000\n"),
                3,
            ),
        ] {
            let error = Manifest::parse(text.as_bytes(), path).unwrap_err();
            assert!(
                matches!(&error, Error::Parse { line: l, .. } if *l == line),
                "{text:?}: {error:?}"
            );
        }
    }
}
