//! Skills: markdown prompts with YAML front matter, discovered, overridden by name and
//! rendered. One registry serves every surface: the agent runs a skill, the LSP completes
//! slash commands and offers "Run skill…", the MCP server lists skills as prompts, the
//! dashboard shows them as actions, and `lathe skills` / `lathe doctor` list their problems.
//!
//! ```text
//! Registry::new(SkillRoots { user, claude_user, workspace })
//!   .snapshot()               -> Arc<SkillSet>   (re-reads the directories; rebuilt on change)
//!     .get("cr")              -> Option<&Arc<Skill>>   (name or alias)
//!     .render("fix", &vars)   -> Result<RenderedSkill, SkillError>
//!     .listing(Some(&tools))  -> SkillListing    (serde, `.to_text()`)
//! ```
//!
//! Invariants: a file with problems never stops other files from loading; every problem has
//! a file and a line; the set handed out is immutable and consistent (one name → one skill);
//! what the disk says is what the next `snapshot()` returns, with no restart and no watcher.

mod builtin;
mod claude;
mod error;
mod listing;
mod markdown;
mod parse;
mod problem;
mod registry;
mod set;
mod skill;
mod template;
mod tools;

pub use builtin::builtin_files;
pub use error::SkillError;
pub use lathe_protocol::config::ApprovalMode;
pub use lathe_protocol::skill::{
    McpServerHint, RenderedSkill, SkillArgument, SkillKind, SkillSource, SkillSpec, SkillVars,
    tool_pattern_matches,
};
pub use listing::{ListedSkill, SkillListing, SkillStatus};
pub use problem::{Severity, SkillProblem};
pub use registry::{Registry, SkillRoots};
pub use set::SkillSet;
pub use skill::{BUILTIN_VARIABLES, Skill, SkillOrigin};
pub use tools::{BUILTIN_TOOLS, MissingTool};
