//! Checkpoints: before a run changes files, their current content is committed with gix to
//! `refs/lathe/checkpoints/<session>`, and `undo` restores it.
//!
//! A checkpoint commit's tree holds `manifest.json` (session, run, and per file whether it
//! existed and its mode) and `files/<path>` blobs of the files that existed; its parent is
//! the previous checkpoint of the session. Later calls of the same run add the files the run
//! touches next (the first content seen is kept), replacing the tip rather than stacking.
//! A run that writes through [`Workspace::apply_for_run`] also records, per file, what it
//! left there (the content hash, or that it removed the file); an apply that is refused
//! (and so changed nothing) drops the checkpoint it took.
//! `undo` rewrites every recorded file (deleting those that did not exist) and moves the
//! ref back to the parent; it first refuses, naming them, when files hold neither what the
//! run left nor what the checkpoint holds — someone changed them after the run, and undoing
//! would lose that — unless asked to undo anyway. Only objects and that ref are written:
//! the user's index, HEAD, branches and work tree are never touched. Outside git the same
//! commits go to a private bare repository under the state directory.

use crate::{ApplyReport, Workspace, WorkspaceError, atomic};
use gix::object::tree::EntryKind;
use gix::refs::Target;
use gix::refs::transaction::PreviousValue;
use lathe_edits::{WorkspaceDiff, content_hash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;

const MANIFEST: &str = "manifest.json";
const FILES: &str = "files";

/// One file recorded in a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointFile {
    /// Workspace-relative path.
    pub path: String,
    /// Whether the file existed (undo deletes files that did not).
    pub existed: bool,
    /// Unix permission bits of the file when it existed.
    #[serde(default)]
    pub mode: u32,
    /// What the run left in the file, when the run recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<LeftByRun>,
    /// For a file that did not exist: its ancestor directories that did not either,
    /// deepest first (undo removes those it leaves empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_dirs: Vec<String>,
}

/// What a run left in a file after its last change to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum LeftByRun {
    /// The file with this content hash (`blake3:<hex>`).
    File { hash: String },
    /// No file: the run removed it (or moved it away).
    Absent,
}

/// Whether an undo may overwrite changes made after the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UndoMode {
    /// Refuse when a recorded file changed after the run.
    KeepLaterChanges,
    /// Restore the checkpoint whatever the files hold now.
    Anyway,
}

/// A checkpoint commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// The commit id (hex).
    pub id: String,
    /// The previous checkpoint of the session.
    pub parent: Option<String>,
    pub session: String,
    pub run: String,
    pub files: Vec<CheckpointFile>,
}

/// What an undo restored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UndoReport {
    /// The checkpoint that was restored.
    pub checkpoint: String,
    /// Files written back with their checkpointed content.
    pub restored: Vec<String>,
    /// Files the run had created, now removed.
    pub deleted: Vec<String>,
}

/// One line for the user: what the undo restored and removed.
impl std::fmt::Display for UndoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if !self.restored.is_empty() {
            parts.push(format!("restored {}", self.restored.join(", ")));
        }
        if !self.deleted.is_empty() {
            parts.push(format!("removed {}", self.deleted.join(", ")));
        }
        if parts.is_empty() {
            parts.push("nothing to restore".into());
        }
        write!(
            f,
            "undo: {} (checkpoint {})",
            parts.join("; "),
            self.checkpoint
        )
    }
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    version: u32,
    session: String,
    run: String,
    files: Vec<CheckpointFile>,
}

fn ref_name(session: &str) -> Result<String, WorkspaceError> {
    let valid = !session.is_empty()
        && !session.starts_with('.')
        && !session.ends_with(".lock")
        && !session.contains("..")
        && session
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(format!("refs/lathe/checkpoints/{session}"))
    } else {
        Err(WorkspaceError::InvalidSession(session.to_owned()))
    }
}

fn signature() -> gix::actor::Signature {
    gix::actor::Signature {
        name: "Lathe".into(),
        email: "lathe@localhost".into(),
        time: gix::date::Time::now_utc(),
    }
}

impl Workspace {
    /// The repository that stores checkpoints: the workspace's own, or a private bare one.
    fn checkpoint_store(&self) -> Result<gix::Repository, WorkspaceError> {
        if let Some(repo) = &self.repo {
            return Ok(repo.to_thread_local());
        }
        let key = lathe_edits::content_hash(self.root.as_os_str().as_encoded_bytes());
        let key: String = key
            .as_str()
            .trim_start_matches("blake3:")
            .chars()
            .take(16)
            .collect();
        let path = self
            .state_dir
            .join("checkpoints")
            .join(format!("{key}.git"));
        if path.join("HEAD").is_file() {
            gix::open(&path).map_err(WorkspaceError::git)
        } else {
            std::fs::create_dir_all(&path).map_err(|e| WorkspaceError::io(path.display(), e))?;
            gix::init_bare(&path).map_err(WorkspaceError::git)
        }
    }

    /// Records the current content of `paths` before run `run` of `session` changes them.
    /// The first call of a run creates a checkpoint on top of the previous one; later calls
    /// of the same run add files not recorded yet.
    pub fn checkpoint(
        &self,
        session: &str,
        run: &str,
        paths: &[&str],
    ) -> Result<CheckpointInfo, WorkspaceError> {
        let name = ref_name(session)?;
        let repo = self.checkpoint_store()?;
        let tip = tip(&repo, &name)?;
        let tip_info = match tip {
            Some(id) => Some(read_checkpoint(&repo, id)?),
            None => None,
        };
        let same_run = tip_info.as_ref().filter(|t| t.run == run);

        let mut files: Vec<CheckpointFile> = same_run.map(|t| t.files.clone()).unwrap_or_default();
        let known: BTreeSet<String> = files.iter().map(|f| f.path.clone()).collect();
        let mut fresh = BTreeSet::new();
        for raw in paths {
            let resolved = self.resolve_for_write(raw)?;
            if !known.contains(&resolved.rel) {
                fresh.insert(resolved.rel);
            }
        }
        if let Some(current) = same_run.filter(|_| fresh.is_empty()) {
            return Ok(current.clone());
        }

        let base_tree = match same_run {
            Some(t) => repo
                .find_commit(oid(&t.id)?)
                .and_then(|c| c.tree_id())
                .map_err(WorkspaceError::git)?
                .detach(),
            None => gix::ObjectId::empty_tree(repo.object_hash()),
        };
        let mut editor = repo.edit_tree(base_tree).map_err(WorkspaceError::git)?;
        for rel in &fresh {
            let resolved = self.resolve_for_write(rel)?;
            let meta = match std::fs::metadata(&resolved.abs) {
                Ok(meta) => Some(meta),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
                Err(err) => return Err(WorkspaceError::io(rel, err)),
            };
            let Some(meta) = meta else {
                files.push(CheckpointFile {
                    path: rel.clone(),
                    existed: false,
                    mode: 0,
                    left: None,
                    missing_dirs: self
                        .missing_dirs(&resolved.abs)
                        .iter()
                        .filter_map(|dir| dir.strip_prefix(&self.root).ok())
                        .map(|dir| dir.to_string_lossy().replace('\\', "/"))
                        .collect(),
                });
                continue;
            };
            if meta.is_dir() {
                return Err(WorkspaceError::InvalidPath {
                    path: rel.clone(),
                    reason: "it is a directory; checkpoints record files".into(),
                });
            }
            let bytes = std::fs::read(&resolved.abs).map_err(|e| WorkspaceError::io(rel, e))?;
            let blob = repo
                .write_blob(&bytes)
                .map_err(WorkspaceError::git)?
                .detach();
            let mode = meta.permissions().mode() & 0o7777;
            let kind = if mode & 0o111 != 0 {
                EntryKind::BlobExecutable
            } else {
                EntryKind::Blob
            };
            editor
                .upsert(format!("{FILES}/{rel}"), kind, blob)
                .map_err(WorkspaceError::git)?;
            files.push(CheckpointFile {
                path: rel.clone(),
                existed: true,
                mode,
                left: None,
                missing_dirs: Vec::new(),
            });
        }
        let manifest = Manifest {
            version: 1,
            session: session.to_owned(),
            run: run.to_owned(),
            files,
        };
        let parent = match (same_run, &tip_info) {
            (Some(t), _) => t.parent.as_deref().map(oid).transpose()?,
            (None, Some(t)) => Some(oid(&t.id)?),
            (None, None) => None,
        };
        commit_manifest(&repo, &name, editor, &manifest, parent, tip)
    }

    /// Records what run `run` of `session` left in the files `report` names, in its
    /// checkpoint (a no-op when the session's last checkpoint is another run's).
    fn record_left(
        &self,
        session: &str,
        run: &str,
        report: &ApplyReport,
    ) -> Result<(), WorkspaceError> {
        let name = ref_name(session)?;
        let repo = self.checkpoint_store()?;
        let Some(tip) = tip(&repo, &name)? else {
            return Ok(());
        };
        let info = read_checkpoint(&repo, tip)?;
        if info.run != run {
            return Ok(());
        }
        let mut files = info.files;
        for (path, hash) in &report.left {
            let rel = self.resolve_for_write(path)?.rel;
            if let Some(file) = files.iter_mut().find(|f| f.path == rel) {
                file.left = Some(match hash {
                    Some(hash) => LeftByRun::File {
                        hash: hash.as_str().to_owned(),
                    },
                    None => LeftByRun::Absent,
                });
            }
        }
        let tree = repo
            .find_commit(tip)
            .and_then(|c| c.tree_id())
            .map_err(WorkspaceError::git)?
            .detach();
        let editor = repo.edit_tree(tree).map_err(WorkspaceError::git)?;
        let manifest = Manifest {
            version: 1,
            session: session.to_owned(),
            run: run.to_owned(),
            files,
        };
        let parent = info.parent.as_deref().map(oid).transpose()?;
        commit_manifest(&repo, &name, editor, &manifest, parent, Some(tip)).map(drop)
    }

    /// Applies `diff` as run `run` of `session` does: checkpoints the files it touches,
    /// applies it, and records what it left in them (so that `undo` notices later changes).
    pub fn apply_for_run(
        &self,
        session: &str,
        run: &str,
        diff: &WorkspaceDiff,
    ) -> Result<ApplyReport, WorkspaceError> {
        let before = tip(&self.checkpoint_store()?, &ref_name(session)?)?;
        let taken = self
            .checkpoint(session, run, &diff.touched_paths())
            .map_err(|e| WorkspaceError::CheckpointFailed(Box::new(e)))?;
        let report = match self.apply(diff) {
            Ok(report) => report,
            Err(error) => {
                // Nothing changed (the apply rolled back): the checkpoint taken for this
                // diff would have a later undo restore files the run never changed.
                let untouched = !matches!(
                    &error,
                    WorkspaceError::Write { unrestored, .. }
                        | WorkspaceError::PartlyApplied { unrestored, .. }
                        if !unrestored.is_empty()
                );
                if untouched && let Err(reset) = self.reset_tip(session, &taken.id, before) {
                    tracing::warn!(%session, error = %reset, "could not drop the checkpoint of a refused edit");
                }
                return Err(error);
            }
        };
        // The change is on disk: a failure to record it only means undo cannot tell later
        // changes to these files apart, as for checkpoints written before this was recorded.
        if let Err(error) = self.record_left(session, run, &report) {
            tracing::warn!(%session, %error, "could not record what the run left; undo will not notice later changes to these files");
        }
        Ok(report)
    }

    /// Makes `before` the session's last checkpoint again, if `taken` is still the last.
    fn reset_tip(
        &self,
        session: &str,
        taken: &str,
        before: Option<gix::ObjectId>,
    ) -> Result<(), WorkspaceError> {
        let taken = oid(taken)?;
        if before == Some(taken) {
            return Ok(());
        }
        let name = ref_name(session)?;
        let repo = self.checkpoint_store()?;
        let current = PreviousValue::MustExistAndMatch(Target::Object(taken));
        match before {
            Some(before) => repo
                .reference(name.as_str(), before, current, "lathe: edit refused")
                .map(drop)
                .map_err(WorkspaceError::git),
            None => {
                let reference = repo
                    .find_reference(name.as_str())
                    .map_err(WorkspaceError::git)?;
                if reference.id().detach() != taken {
                    return Ok(());
                }
                reference.delete().map_err(WorkspaceError::git)
            }
        }
    }

    /// Restores the files of the session's last checkpoint (deleting files the run
    /// created) and makes the previous checkpoint the last one; refuses when a file changed
    /// after the run (see [`UndoMode`]).
    pub fn undo(&self, session: &str) -> Result<UndoReport, WorkspaceError> {
        self.undo_with(session, UndoMode::KeepLaterChanges)
    }

    /// [`Workspace::undo`], overwriting later changes when `mode` says so.
    pub fn undo_with(&self, session: &str, mode: UndoMode) -> Result<UndoReport, WorkspaceError> {
        let name = ref_name(session)?;
        let repo = self.checkpoint_store()?;
        let Some(tip) = tip(&repo, &name)? else {
            return Err(WorkspaceError::NoCheckpoint(session.to_owned()));
        };
        let info = read_checkpoint(&repo, tip)?;
        let tree = repo
            .find_commit(tip)
            .and_then(|c| c.tree())
            .map_err(WorkspaceError::git)?;
        if mode == UndoMode::KeepLaterChanges {
            let changed = self.changed_since_run(&info, &tree)?;
            if !changed.is_empty() {
                return Err(WorkspaceError::ChangedSinceRun {
                    session: session.to_owned(),
                    files: changed,
                });
            }
        }
        let mut report = UndoReport {
            checkpoint: info.id.clone(),
            ..UndoReport::default()
        };
        let mut created_dirs: Vec<String> = Vec::new();
        for file in &info.files {
            let target = self.resolve_for_write(&file.path)?;
            if file.existed {
                let entry = tree
                    .lookup_entry_by_path(format!("{FILES}/{}", file.path))
                    .map_err(WorkspaceError::git)?
                    .ok_or_else(|| WorkspaceError::BadCheckpoint {
                        id: info.id.clone(),
                        reason: format!("no content recorded for {}", file.path),
                    })?;
                let object = entry.object().map_err(WorkspaceError::git)?;
                atomic::write(
                    &atomic::RealDisk,
                    &target.abs,
                    &object.data,
                    Some(Permissions::from_mode(file.mode)),
                )
                .map_err(|e| WorkspaceError::io(&file.path, e))?;
                report.restored.push(file.path.clone());
            } else {
                if target.abs.exists() {
                    atomic::remove(&target.abs).map_err(|e| WorkspaceError::io(&file.path, e))?;
                    report.deleted.push(file.path.clone());
                }
                created_dirs.extend(file.missing_dirs.iter().cloned());
            }
        }
        // Deepest first, once every file is gone, and only while empty: the user may have
        // put files there since.
        created_dirs.sort_by_key(|dir| std::cmp::Reverse(dir.matches('/').count()));
        created_dirs.dedup();
        for dir in &created_dirs {
            if let Ok(dir) = self.resolve_for_write(dir) {
                let _ = std::fs::remove_dir(&dir.abs);
            }
        }
        let current = PreviousValue::MustExistAndMatch(Target::Object(tip));
        match info.parent.as_deref() {
            Some(parent) => {
                repo.reference(name.as_str(), oid(parent)?, current, "lathe undo")
                    .map_err(WorkspaceError::git)?;
            }
            None => {
                repo.find_reference(name.as_str())
                    .and_then(|r| r.delete())
                    .map_err(WorkspaceError::git)?;
            }
        }
        Ok(report)
    }

    /// The recorded files that hold neither what the run left nor the checkpointed content.
    fn changed_since_run(
        &self,
        info: &CheckpointInfo,
        tree: &gix::Tree<'_>,
    ) -> Result<Vec<String>, WorkspaceError> {
        let mut changed = Vec::new();
        for file in &info.files {
            let Some(left) = &file.left else {
                continue;
            };
            let target = self.resolve_for_write(&file.path)?;
            let current = match std::fs::read(&target.abs) {
                Ok(bytes) => Some(bytes),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
                Err(err) => return Err(WorkspaceError::io(&file.path, err)),
            };
            let as_left = match (left, &current) {
                (LeftByRun::File { hash }, Some(bytes)) => content_hash(bytes).as_str() == hash,
                (LeftByRun::Absent, None) => true,
                _ => false,
            };
            if as_left {
                continue;
            }
            let as_before = match (&current, file.existed) {
                (None, false) => true,
                (Some(bytes), true) => tree
                    .lookup_entry_by_path(format!("{FILES}/{}", file.path))
                    .map_err(WorkspaceError::git)?
                    .map(|entry| entry.object().map(|o| o.data == *bytes))
                    .transpose()
                    .map_err(WorkspaceError::git)?
                    .unwrap_or(false),
                _ => false,
            };
            if !as_before {
                changed.push(file.path.clone());
            }
        }
        Ok(changed)
    }

    /// The session's checkpoints, newest first.
    pub fn checkpoints(&self, session: &str) -> Result<Vec<CheckpointInfo>, WorkspaceError> {
        let name = ref_name(session)?;
        let repo = self.checkpoint_store()?;
        let mut out = Vec::new();
        let mut next = tip(&repo, &name)?;
        while let Some(id) = next {
            let info = read_checkpoint(&repo, id)?;
            next = info.parent.as_deref().map(oid).transpose()?;
            out.push(info);
        }
        Ok(out)
    }
}

/// Writes `manifest` into the tree being edited, commits it on `parent`, and moves the
/// session's ref from `previous` to the new commit.
fn commit_manifest(
    repo: &gix::Repository,
    name: &str,
    mut editor: gix::object::tree::Editor<'_>,
    manifest: &Manifest,
    parent: Option<gix::ObjectId>,
    previous: Option<gix::ObjectId>,
) -> Result<CheckpointInfo, WorkspaceError> {
    let json =
        serde_json::to_vec_pretty(manifest).map_err(|e| WorkspaceError::git(e.to_string()))?;
    let manifest_blob = repo
        .write_blob(&json)
        .map_err(WorkspaceError::git)?
        .detach();
    editor
        .upsert(MANIFEST, EntryKind::Blob, manifest_blob)
        .map_err(WorkspaceError::git)?;
    let tree = editor.write().map_err(WorkspaceError::git)?.detach();
    let commit = gix::objs::Commit {
        tree,
        parents: parent.into_iter().collect(),
        author: signature(),
        committer: signature(),
        encoding: None,
        message: format!(
            "lathe checkpoint\n\nsession: {}\nrun: {}\nfiles: {}\n",
            manifest.session,
            manifest.run,
            manifest.files.len()
        )
        .into(),
        extra_headers: Vec::new(),
    };
    let id = repo
        .write_object(&commit)
        .map_err(WorkspaceError::git)?
        .detach();
    let constraint = match previous {
        Some(old) => PreviousValue::MustExistAndMatch(Target::Object(old)),
        None => PreviousValue::MustNotExist,
    };
    repo.reference(name, id, constraint, "lathe checkpoint")
        .map_err(WorkspaceError::git)?;
    Ok(CheckpointInfo {
        id: id.to_string(),
        parent: parent.map(|p| p.to_string()),
        session: manifest.session.clone(),
        run: manifest.run.clone(),
        files: manifest.files.clone(),
    })
}

fn oid(hex: &str) -> Result<gix::ObjectId, WorkspaceError> {
    gix::ObjectId::from_hex(hex.as_bytes()).map_err(WorkspaceError::git)
}

fn tip(repo: &gix::Repository, name: &str) -> Result<Option<gix::ObjectId>, WorkspaceError> {
    let reference = repo.try_find_reference(name).map_err(WorkspaceError::git)?;
    Ok(reference.and_then(|r| r.try_id().map(|id| id.detach())))
}

fn read_checkpoint(
    repo: &gix::Repository,
    id: gix::ObjectId,
) -> Result<CheckpointInfo, WorkspaceError> {
    let bad = |reason: String| WorkspaceError::BadCheckpoint {
        id: id.to_string(),
        reason,
    };
    let commit = repo.find_commit(id).map_err(|e| bad(e.to_string()))?;
    let parent = commit.parent_ids().next().map(|p| p.detach().to_string());
    let tree = commit.tree().map_err(|e| bad(e.to_string()))?;
    let entry = tree
        .lookup_entry_by_path(MANIFEST)
        .map_err(|e| bad(e.to_string()))?
        .ok_or_else(|| bad("it has no manifest".into()))?;
    let object = entry.object().map_err(|e| bad(e.to_string()))?;
    let manifest: Manifest =
        serde_json::from_slice(&object.data).map_err(|e| bad(e.to_string()))?;
    Ok(CheckpointInfo {
        id: id.to_string(),
        parent,
        session: manifest.session,
        run: manifest.run,
        files: manifest.files,
    })
}
