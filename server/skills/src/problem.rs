//! Problems found in skill files, each with the file and the 1-based line it is about.
//!
//! Invariant: an `Error` means the file did not load (or, for a duplicate, was ignored); a
//! `Warning` means it loaded with something dropped or defaulted.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem in one skill file, printed like a compiler message: `path:line: error: text`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillProblem {
    pub path: String,
    /// 1-based.
    pub line: u32,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for SkillProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(
            f,
            "{}:{}: {severity}: {}",
            self.path, self.line, self.message
        )
    }
}

/// Collects the problems of one file.
#[derive(Debug)]
pub(crate) struct Problems {
    path: String,
    list: Vec<SkillProblem>,
}

impl Problems {
    pub(crate) fn new(path: &str) -> Self {
        Self {
            path: path.to_owned(),
            list: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, line: u32, message: impl Into<String>) {
        self.push(line, Severity::Error, message.into());
    }

    pub(crate) fn warn(&mut self, line: u32, message: impl Into<String>) {
        self.push(line, Severity::Warning, message.into());
    }

    fn push(&mut self, line: u32, severity: Severity, message: String) {
        self.list.push(SkillProblem {
            path: self.path.clone(),
            line: line.max(1),
            severity,
            message,
        });
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.list.iter().any(|p| p.severity == Severity::Error)
    }

    pub(crate) fn into_vec(self) -> Vec<SkillProblem> {
        self.list
    }
}
