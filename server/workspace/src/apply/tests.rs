//! Applies against a disk that refuses writes: a refused write leaves the old bytes and no
//! temporary file, a multi-file apply rolls back (including the directories it created),
//! an incomplete rollback is named in the error, and a file changed between the check and
//! its write is refused as stale.

use super::*;
use lathe_edits::apply_patch;
use pretty_assertions::assert_eq;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Write};

/// Linux `ENOSPC`, what `write(2)` says on a full disk.
const ENOSPC: i32 = 28;

/// A disk that refuses the writes whose numbers (from 0, over the disk's life) are in
/// `refused` the way a full one does: half the bytes reach the temporary file, then
/// `ENOSPC`. `before` runs before every write with its number, to play another writer.
struct RefusingDisk<'a> {
    refused: &'a [usize],
    before: &'a dyn Fn(usize),
    count: Cell<usize>,
}

impl<'a> RefusingDisk<'a> {
    fn new(refused: &'a [usize]) -> Self {
        Self::with_hook(refused, &|_| {})
    }

    fn with_hook(refused: &'a [usize], before: &'a dyn Fn(usize)) -> Self {
        Self {
            refused,
            before,
            count: Cell::new(0),
        }
    }
}

impl Disk for RefusingDisk<'_> {
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        let n = self.count.get();
        self.count.set(n + 1);
        (self.before)(n);
        if self.refused.contains(&n) {
            file.write_all(&bytes[..bytes.len() / 2])?;
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        file.write_all(bytes)
    }
}

struct Scratch {
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl Scratch {
    fn new(files: &[(&str, &str)]) -> Self {
        let scratch = Self {
            dir: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
        };
        for (rel, content) in files {
            scratch.write(rel, content);
        }
        scratch
    }

    fn write(&self, rel: &str, content: &str) {
        fs::write(self.dir.path().join(rel), content).unwrap();
    }

    fn workspace(&self) -> Workspace {
        Workspace::open(self.dir.path(), self.state.path()).unwrap()
    }

    /// Every directory (with a trailing `/`) and file (with its content), sorted: temporary
    /// files and directories left behind show up here.
    fn entries(&self) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if path.is_dir() {
                    out.push(format!("{rel}/"));
                    walk(root, &path, out);
                } else {
                    out.push(format!("{rel}: {}", fs::read_to_string(&path).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.sort();
        out
    }

    fn apply_on(&self, disk: &dyn Disk, patch: &str) -> Result<ApplyReport, WorkspaceError> {
        let ws = self.workspace();
        let diff = apply_patch(&ws, patch).unwrap().diff;
        ws.apply_on(disk, &diff)
    }
}

const EDIT_A_AND_B: &str = "*** Begin Patch\n*** Update File: a.txt\n@@\n-a\n+A\n*** Update File: b.txt\n@@\n-b\n+B\n*** End Patch\n";

#[test]
fn a_refused_write_keeps_the_old_bytes_and_leaves_no_temp_file() {
    let s = Scratch::new(&[("a.txt", "one\ntwo\nthree\n")]);
    let patch =
        "*** Begin Patch\n*** Update File: a.txt\n@@\n one\n-two\n+2\n three\n*** End Patch\n";
    let err = s.apply_on(&RefusingDisk::new(&[0]), patch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "could not write a.txt: No space left on device (os error 28). Nothing was changed: \
         any file this change had already written was restored. Fix the cause (for example, \
         free disk space) and apply the change again."
    );
    assert!(
        matches!(&err, WorkspaceError::Write { path, unrestored, .. } if path == "a.txt" && unrestored.is_empty()),
        "{err:?}"
    );
    assert_eq!(s.entries(), vec!["a.txt: one\ntwo\nthree\n"]);
}

#[test]
fn a_refused_write_rolls_back_the_files_and_directories_already_written() {
    let s = Scratch::new(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let patch = "*** Begin Patch\n*** Add File: new/deep/c.txt\n+c\n*** Update File: a.txt\n@@\n-a\n+A\n*** Update File: b.txt\n@@\n-b\n+B\n*** End Patch\n";
    // Writes: 0 creates new/deep/c.txt, 1 replaces a.txt, 2 (b.txt) is refused.
    let err = s.apply_on(&RefusingDisk::new(&[2]), patch).unwrap_err();
    assert!(
        matches!(&err, WorkspaceError::Write { path, unrestored, .. } if path == "b.txt" && unrestored.is_empty()),
        "{err:?}"
    );
    assert!(err.to_string().contains("Nothing was changed"), "{err}");
    assert_eq!(s.entries(), vec!["a.txt: a\n", "b.txt: b\n"]);
}

#[test]
fn a_failed_rollback_names_the_files_left_changed() {
    let s = Scratch::new(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    // Writes: 0 replaces a.txt, 1 (b.txt) is refused, 2 (restoring a.txt) is refused too.
    let err = s
        .apply_on(&RefusingDisk::new(&[1, 2]), EDIT_A_AND_B)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "could not write b.txt: No space left on device (os error 28). Restoring `a.txt` \
         also failed: each holds either its old or its new content, so read them before \
         editing again."
    );
    assert_eq!(s.entries(), vec!["a.txt: A\n", "b.txt: b\n"]);
}

#[test]
fn a_file_changed_between_the_check_and_its_write_is_refused_as_stale() {
    let s = Scratch::new(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let someone_else = |n: usize| {
        if n == 0 {
            s.write("b.txt", "b, changed by someone else\n");
        }
    };
    let err = s
        .apply_on(&RefusingDisk::with_hook(&[], &someone_else), EDIT_A_AND_B)
        .unwrap_err();
    assert!(
        matches!(&err, WorkspaceError::Edit(EditError::Stale { path }) if path == "b.txt"),
        "{err:?}"
    );
    assert_eq!(
        s.entries(),
        vec!["a.txt: a\n", "b.txt: b, changed by someone else\n"]
    );
}

#[test]
fn a_stale_file_with_a_failed_rollback_reports_both() {
    let s = Scratch::new(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let someone_else = |n: usize| {
        if n == 0 {
            s.write("b.txt", "b, changed by someone else\n");
        }
    };
    // Write 1 is the restore of a.txt after b.txt was found stale.
    let err = s
        .apply_on(&RefusingDisk::with_hook(&[1], &someone_else), EDIT_A_AND_B)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "b.txt changed since the edit was prepared (its content hash no longer matches). \
         Read the file again and redo the edit. Restoring `a.txt` also failed: each holds \
         either its old or its new content, so read them before editing again."
    );
}
