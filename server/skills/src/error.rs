//! The crate's error type: what can go wrong when a caller asks for a skill to be rendered.
//! Problems in skill files are not errors but data (`SkillProblem`), reported in listings.

/// A failed lookup or render.
#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    #[error("unknown skill `{0}`; `lathe skills` lists the skills")]
    UnknownSkill(String),
    #[error("skill `{skill}` needs the argument `{argument}` ({description})")]
    MissingArgument {
        skill: String,
        argument: String,
        description: String,
    },
    #[error("skill `{skill}` has no argument `{argument}` (its arguments: {known})")]
    UnknownArgument {
        skill: String,
        argument: String,
        known: String,
    },
}
