//! Discovery: where skill files live, reading them, and handing out a `SkillSet` that follows
//! the disk without a restart.
//!
//! Every `snapshot()` lists the skill directories and reads the skill files (small markdown
//! files: a few hundred microseconds for dozens of them, see `benches/registry.rs`) and
//! compares them with what the current set was built from; only a difference rebuilds. So an
//! edit, a new file or a deletion is seen by the very next call, with no watcher thread and
//! no mtime races.
//!
//! Layout, lowest precedence first:
//! - built-in (embedded);
//! - `claude_user`: `~/.claude/commands/**/*.md`, `~/.claude/skills/*/SKILL.md`;
//! - `user`: `~/.config/lathe/skills/*.md` and `*/SKILL.md`;
//! - workspace `.claude/commands/**/*.md`, `.claude/skills/*/SKILL.md`;
//! - workspace `.lathe/skills/*.md` and `*/SKILL.md`.
//!
//! `*.md` in Lathe's directories is Lathe's format (`README.md` and hidden files are skipped);
//! `*/SKILL.md` anywhere is the Agent Skills format.

use crate::builtin;
use crate::claude;
use crate::parse::{self, Broken};
use crate::problem::{Problems, SkillProblem};
use crate::set::{Candidate, SkillSet};
use crate::skill::SkillOrigin;
use lathe_protocol::skill::SkillSource;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Skill files larger than this are reported, not read.
const MAX_FILE_BYTES: u64 = 256 * 1024;
/// How deep `.claude/commands/` subdirectories are followed.
const MAX_COMMAND_DEPTH: usize = 4;

/// Where to look for skills besides the built-in ones. `None` skips a level.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SkillRoots {
    /// The user's skill directory, normally `~/.config/lathe/skills`.
    pub user: Option<PathBuf>,
    /// Claude Code's user directory, normally `~/.claude` (its `commands/` and `skills/`).
    pub claude_user: Option<PathBuf>,
    /// The workspace root (its `.lathe/skills/` and `.claude/`).
    pub workspace: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Lathe,
    ClaudeCommand,
    ClaudeSkill,
}

/// One file found on disk and what it held when read.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Found {
    source: SkillSource,
    format: Format,
    path: PathBuf,
    contents: Result<String, String>,
}

/// Everything one pass over the directories saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Scan {
    files: Vec<Found>,
    problems: Vec<SkillProblem>,
}

/// The skills of one workspace for one user. Share it (`Arc<Registry>`) between surfaces.
#[derive(Debug)]
pub struct Registry {
    roots: SkillRoots,
    builtins: Vec<Candidate>,
    current: Mutex<Option<(Scan, Arc<SkillSet>)>>,
}

impl Registry {
    pub fn new(roots: SkillRoots) -> Self {
        Self {
            roots,
            builtins: builtin::candidates(),
            current: Mutex::new(None),
        }
    }

    pub fn roots(&self) -> &SkillRoots {
        &self.roots
    }

    /// The skills as the disk has them now: the previous set when nothing changed, a new
    /// one otherwise. Never fails: unreadable files and directories are problems in the set.
    pub fn snapshot(&self) -> Arc<SkillSet> {
        let scan = scan(&self.roots);
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((seen, set)) = current.as_ref()
            && *seen == scan
        {
            return set.clone();
        }
        let mut candidates = self.builtins.clone();
        candidates.extend(scan.files.iter().map(|found| load(found, &self.roots)));
        let set = Arc::new(SkillSet::build(candidates, scan.problems.clone()));
        *current = Some((scan, set.clone()));
        set
    }
}

fn load(found: &Found, roots: &SkillRoots) -> Candidate {
    let path = found.path.display().to_string();
    let origin = SkillOrigin {
        source: found.source,
        path: path.clone(),
    };
    let loaded = match &found.contents {
        Err(message) => {
            let mut problems = Problems::new(&path);
            problems.error(1, message.clone());
            Err(Broken {
                name: None,
                problems: problems.into_vec(),
            })
        }
        Ok(text) => match found.format {
            Format::Lathe => parse::parse_lathe(text, origin),
            Format::ClaudeCommand => {
                let stem = found
                    .path
                    .file_stem()
                    .map(|s| s.to_string_lossy())
                    .unwrap_or_default();
                claude::parse_command(text, &stem, origin)
            }
            Format::ClaudeSkill => {
                let dir = found.path.parent().unwrap_or(Path::new(""));
                let dir_name = dir
                    .file_name()
                    .map(|s| s.to_string_lossy())
                    .unwrap_or_default();
                let files_dir = roots
                    .workspace
                    .as_ref()
                    .and_then(|ws| dir.strip_prefix(ws).ok())
                    .map(|rel| rel.display().to_string());
                claude::parse_skill(text, &dir_name, files_dir.as_deref(), origin)
            }
        },
    };
    Candidate {
        source: found.source,
        path,
        loaded: loaded.map(Arc::new),
    }
}

fn scan(roots: &SkillRoots) -> Scan {
    let mut scan = Scan::default();
    if let Some(dir) = &roots.claude_user {
        claude_dirs(dir, SkillSource::ClaudeUser, &mut scan);
    }
    if let Some(dir) = &roots.user {
        lathe_dir(dir, SkillSource::User, &mut scan);
    }
    if let Some(ws) = &roots.workspace {
        claude_dirs(&ws.join(".claude"), SkillSource::Claude, &mut scan);
        lathe_dir(
            &ws.join(".lathe").join("skills"),
            SkillSource::Workspace,
            &mut scan,
        );
    }
    scan.files
        .sort_by(|a, b| (a.source, &a.path).cmp(&(b.source, &b.path)));
    scan
}

fn lathe_dir(dir: &Path, source: SkillSource, scan: &mut Scan) {
    for (path, is_dir) in list(dir, scan) {
        if is_dir {
            skill_md(&path, source, scan);
        } else if is_markdown(&path) && !file_name(&path).eq_ignore_ascii_case("README.md") {
            found(scan, source, Format::Lathe, path);
        }
    }
}

fn claude_dirs(root: &Path, source: SkillSource, scan: &mut Scan) {
    commands(&root.join("commands"), source, 0, scan);
    for (path, is_dir) in list(&root.join("skills"), scan) {
        if is_dir {
            skill_md(&path, source, scan);
        }
    }
}

fn commands(dir: &Path, source: SkillSource, depth: usize, scan: &mut Scan) {
    for (path, is_dir) in list(dir, scan) {
        if is_dir && depth < MAX_COMMAND_DEPTH {
            commands(&path, source, depth + 1, scan);
        } else if !is_dir && is_markdown(&path) {
            found(scan, source, Format::ClaudeCommand, path);
        }
    }
}

fn skill_md(dir: &Path, source: SkillSource, scan: &mut Scan) {
    let path = dir.join("SKILL.md");
    if path.is_file() {
        found(scan, source, Format::ClaudeSkill, path);
    }
}

fn found(scan: &mut Scan, source: SkillSource, format: Format, path: PathBuf) {
    let contents = read(&path);
    scan.files.push(Found {
        source,
        format,
        path,
        contents,
    });
}

fn read(path: &Path) -> Result<String, String> {
    let too_big = |len: u64| {
        format!("the file is {len} bytes; skill files are at most {MAX_FILE_BYTES} bytes")
    };
    let len = fs::metadata(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(too_big(len));
    }
    let bytes = fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))
}

/// The visible entries of `dir` (following symlinks), sorted, with whether each is a
/// directory. A missing directory is empty; an unreadable one is a problem.
fn list(dir: &Path, scan: &mut Scan) -> Vec<(PathBuf, bool)> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => {
            return Vec::new();
        }
        Err(e) => {
            let mut problems = Problems::new(&dir.display().to_string());
            problems.error(1, format!("cannot read the skill directory: {e}"));
            scan.problems.extend(problems.into_vec());
            return Vec::new();
        }
    };
    let mut out: Vec<(PathBuf, bool)> = entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            if file_name(&path).starts_with('.') {
                return None;
            }
            let meta = fs::metadata(&path).ok()?;
            Some((path, meta.is_dir()))
        })
        .collect();
    out.sort();
    out
}

fn file_name(path: &Path) -> std::borrow::Cow<'_, str> {
    path.file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default()
}

fn is_markdown(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("md"))
}
