//! The built-in skills: the repository's `skills/*.md`, embedded at build time by `build.rs`.
//!
//! Invariant: the embedded text is exactly the files' contents; they are parsed like any
//! other skill file, so a problem in one is reported (and caught by the tests) the same way.

use crate::parse;
use crate::set::Candidate;
use crate::skill::SkillOrigin;
use lathe_protocol::skill::SkillSource;
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/builtin_skills.rs"));

/// The embedded files: (file name, contents), sorted by file name.
pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
    BUILTIN_FILES
}

/// The built-in files, parsed.
pub(crate) fn candidates() -> Vec<Candidate> {
    BUILTIN_FILES
        .iter()
        .map(|(file, text)| {
            let path = format!("<built-in>/{file}");
            let origin = SkillOrigin {
                source: SkillSource::Builtin,
                path: path.clone(),
            };
            Candidate {
                source: SkillSource::Builtin,
                path,
                loaded: parse::parse_lathe(text, origin).map(Arc::new),
            }
        })
        .collect()
}
