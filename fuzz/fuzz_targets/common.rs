//! A file per fuzzing process that each input is written to, for the loaders that read
//! from a path.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Writes `data` to this process's scratch file (in `/dev/shm` where it exists, so no
/// disk is touched) and returns its path.
pub fn scratch_file(data: &[u8]) -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    let path = PATH.get_or_init(|| {
        let dir = PathBuf::from("/dev/shm");
        let dir = if dir.is_dir() {
            dir
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("bilinear-skipgram-fuzz-{}", std::process::id()))
    });
    std::fs::write(path, data).expect("the scratch file can be written");
    path.clone()
}
