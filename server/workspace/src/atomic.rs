//! Atomic file replacement: the new content goes to a temporary file in the same directory
//! (same file system), gets the old file's permissions, is fsynced, and is renamed over the
//! target; the directory is fsynced so the rename survives a crash. A failure before the
//! rename removes the temporary file and leaves the target untouched; a failure after it
//! (syncing the directory) leaves the new content in place, so a caller undoing a failed
//! write compares what the target holds rather than assuming.
//!
//! The bytes reach the temporary file through a [`Disk`]: the real file system
//! ([`RealDisk`]) outside tests, and in unit tests a disk that refuses writes the way a full
//! one does, to check the invariants above and the rollback of a multi-file apply.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Where the bytes of a replacement are written.
pub(crate) trait Disk {
    /// Writes all of `bytes` to the freshly created temporary file.
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()>;
}

/// The real file system.
pub(crate) struct RealDisk;

impl Disk for RealDisk {
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        file.write_all(bytes)
    }
}

fn temp_path(target: &Path) -> io::Result<PathBuf> {
    let dir = target
        .parent()
        .ok_or_else(|| io::Error::other("the path has no parent directory"))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!(".{name}.lathe-{}-{unique}.tmp", std::process::id())))
}

/// Replaces (or creates) `target` with `bytes`. `permissions` overrides the mode; by
/// default an existing file keeps its mode and a new file gets the process default.
pub(crate) fn write(
    disk: &dyn Disk,
    target: &Path,
    bytes: &[u8],
    permissions: Option<Permissions>,
) -> io::Result<()> {
    if let Some(dir) = target.parent() {
        fs::create_dir_all(dir)?;
    }
    let keep = match permissions {
        Some(p) => Some(p),
        None => match fs::metadata(target) {
            Ok(meta) => Some(meta.permissions()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(err),
        },
    };
    let temp = temp_path(target)?;
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        disk.write_all(&mut file, bytes)?;
        if let Some(p) = keep {
            file.set_permissions(p)?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, target)?;
        sync_dir(target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Removes a file and syncs its directory; a missing file is not an error.
pub(crate) fn remove(target: &Path) -> io::Result<()> {
    match fs::remove_file(target) {
        Ok(()) => sync_dir(target),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

fn sync_dir(target: &Path) -> io::Result<()> {
    match target.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keeps_permissions_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("run.sh");
        fs::write(&target, "old").unwrap();
        fs::set_permissions(&target, Permissions::from_mode(0o751)).unwrap();
        write(&RealDisk, &target, b"new", None).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o751
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("run.sh")]);
    }
}
