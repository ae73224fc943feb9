//! Writing files safely: whole files atomically, metric logs line by line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes temporary files of concurrent writers within one process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` so that readers see the old content or the
/// new one, never a partial file: the bytes go to a temporary file in the
/// same directory, which is fsynced and renamed over `path`; the directory
/// is then fsynced so that the rename survives a crash. On failure the
/// temporary file is removed and `path` is left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path)?;
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(path);
    Ok(())
}

/// Appends one line to `path` (created if absent), adding the newline when
/// `line` lacks one. The line goes out in a single `write` call, so a crash
/// leaves at worst a truncated last line; used for `metrics.jsonl`, one
/// call per evaluation. The data is handed to the OS (`File` has no user
/// buffer) but not fsynced.
pub fn append_line(path: &Path, line: &str) -> io::Result<()> {
    let mut buf = String::with_capacity(line.len() + 1);
    buf.push_str(line);
    if !buf.ends_with('\n') {
        buf.push('\n');
    }
    let mut f = OpenOptions::new().append(true).create(true).open(path)?;
    f.write_all(buf.as_bytes())?;
    f.flush()
}

/// `dir/.name.tmp.<pid>.<n>` next to `path`.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("not a file path: {}", path.display())))?;
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp_name = format!(".{}.tmp.{}.{}", name.to_string_lossy(), std::process::id(), n);
    Ok(path.with_file_name(tmp_name))
}

/// Best effort: persists the directory entry after a rename (a no-op where
/// directories cannot be opened, e.g. on Windows).
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
