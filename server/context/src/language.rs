//! Supported languages: detection from paths and names, grammars, and compiled tags queries.
//!
//! Invariants:
//! - Every pattern of a tags query (`queries/<lang>.scm`) is *rooted at its tagged node*: the
//!   node captured as `@definition.<kind>`, `@reference.<kind>` or `@import` is the pattern's
//!   outermost node. Incremental tag maintenance in [`crate::document`] relies on this, because
//!   a range-restricted query then returns exactly the tags whose node intersects the range.
//! - Context that a rooted pattern cannot express ("only at the top level of the file") is
//!   declared with `(#set! scope "top")` and checked in code ([`LanguageSpec::is_top_level`]).
//! - Queries are compiled once per process and shared.

use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Query};

use crate::error::ContextError;

/// A language with a tree-sitter grammar and tags query. Files in other languages are
/// handled as plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Rust (`.rs`).
    Rust,
    /// Python (`.py`, `.pyi`).
    Python,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// JavaScript and JSX (`.js`, `.mjs`, `.cjs`, `.jsx`).
    JavaScript,
    /// Go (`.go`).
    Go,
    /// Java (`.java`).
    Java,
    /// C (`.c`, `.h`).
    C,
    /// C++ (`.cc`, `.cpp`, `.cxx`, `.hpp`, `.hh`, `.hxx`, ...).
    Cpp,
}

/// What a definition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolKind {
    /// A module or namespace.
    Module,
    /// A class (or record).
    Class,
    /// A struct or union.
    Struct,
    /// An enum.
    Enum,
    /// An interface (or annotation type).
    Interface,
    /// A Rust trait.
    Trait,
    /// A Rust `impl` block.
    Impl,
    /// A type alias or other named type.
    Type,
    /// A free function.
    Function,
    /// A function inside a class-like definition.
    Method,
    /// A constructor.
    Constructor,
    /// A constant.
    Constant,
    /// A top-level variable.
    Variable,
    /// A macro.
    Macro,
}

impl SymbolKind {
    fn from_capture(suffix: &str) -> Option<Self> {
        Some(match suffix {
            "module" => Self::Module,
            "class" => Self::Class,
            "struct" => Self::Struct,
            "enum" => Self::Enum,
            "interface" => Self::Interface,
            "trait" => Self::Trait,
            "impl" => Self::Impl,
            "type" => Self::Type,
            "function" => Self::Function,
            "method" => Self::Method,
            "constructor" => Self::Constructor,
            "constant" => Self::Constant,
            "variable" => Self::Variable,
            "macro" => Self::Macro,
            _ => return None,
        })
    }

    /// Whether definitions nested in this kind are members (functions become methods).
    pub fn is_container(self) -> bool {
        matches!(
            self,
            Self::Class | Self::Struct | Self::Enum | Self::Interface | Self::Trait | Self::Impl
        )
    }

    /// The lowercase name used in renderings and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Module => "module",
            Self::Class => "class",
            Self::Struct => "struct",
            Self::Enum => "enum",
            Self::Interface => "interface",
            Self::Trait => "trait",
            Self::Impl => "impl",
            Self::Type => "type",
            Self::Function => "function",
            Self::Method => "method",
            Self::Constructor => "constructor",
            Self::Constant => "constant",
            Self::Variable => "variable",
            Self::Macro => "macro",
        }
    }
}

/// What a capture of a tags query means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CaptureRole {
    /// `@name`: the identifier of the tag.
    Name,
    /// `@definition.<kind>`.
    Definition(SymbolKind),
    /// `@reference.<kind>`.
    Reference,
    /// `@import`: an import statement.
    Import,
}

/// A language's grammar and compiled tags query.
pub(crate) struct LanguageSpec {
    pub(crate) grammar: tree_sitter::Language,
    pub(crate) query: Query,
    /// Role of each capture index.
    pub(crate) captures: Vec<Option<CaptureRole>>,
    /// Whether each pattern applies at the top level only.
    pub(crate) top_only: Vec<bool>,
}

/// Node kinds that wrap a declaration without putting it inside a function body.
const TOP_LEVEL_WRAPPERS: &[&str] = &[
    "export_statement",
    "ambient_declaration",
    "decorated_definition",
    "const_declaration",
    "var_declaration",
    "var_spec_list",
    "namespace_definition",
    "declaration_list",
    "linkage_specification",
    "preproc_ifdef",
    "preproc_if",
    "preproc_else",
    "field_declaration_list",
    "class_specifier",
    "struct_specifier",
    "template_declaration",
];

/// Parent kinds whose range belongs to the definition they wrap (decorators, `export`,
/// `template<...>`).
const SPAN_EXTENDERS: &[&str] = &[
    "decorated_definition",
    "export_statement",
    "template_declaration",
];

impl LanguageSpec {
    /// Whether `node` sits at the top level of its file, looking through wrappers.
    pub(crate) fn is_top_level(node: Node<'_>) -> bool {
        let mut current = node;
        while let Some(parent) = current.parent() {
            if parent.parent().is_none() {
                return true;
            }
            if !TOP_LEVEL_WRAPPERS.contains(&parent.kind()) {
                return false;
            }
            current = parent;
        }
        true
    }

    /// The byte range shown for a definition: the node, widened to a decorating parent.
    pub(crate) fn display_span(node: Node<'_>) -> std::ops::Range<usize> {
        let mut span = node.byte_range();
        let mut current = node;
        while let Some(parent) = current.parent() {
            if !SPAN_EXTENDERS.contains(&parent.kind()) {
                break;
            }
            span.start = span.start.min(parent.start_byte());
            span.end = span.end.max(parent.end_byte());
            current = parent;
        }
        span
    }
}

impl Language {
    /// All supported languages.
    pub const ALL: [Language; 9] = [
        Language::Rust,
        Language::Python,
        Language::TypeScript,
        Language::Tsx,
        Language::JavaScript,
        Language::Go,
        Language::Java,
        Language::C,
        Language::Cpp,
    ];

    /// Detects the language from a file name and, for a `.h` header (C's and C++'s alike),
    /// its content: a header with C++ constructs (classes, namespaces, templates) is C++.
    pub fn for_source(path: &Path, text: &str) -> Option<Self> {
        let language = Self::from_path(path)?;
        let header = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("h"));
        Some(if header && looks_like_cpp(text) {
            Self::Cpp
        } else {
            language
        })
    }

    /// Detects the language from a file name's extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "rs" => Self::Rust,
            "py" | "pyi" => Self::Python,
            "ts" | "mts" | "cts" => Self::TypeScript,
            "tsx" => Self::Tsx,
            "js" | "mjs" | "cjs" | "jsx" => Self::JavaScript,
            "go" => Self::Go,
            "java" => Self::Java,
            "c" | "h" => Self::C,
            "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "h++" | "ipp" | "inl" => {
                Self::Cpp
            }
            _ => return None,
        })
    }

    /// Detects the language from an LSP `languageId` or a user-given name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "rust" | "rs" => Self::Rust,
            "python" | "py" => Self::Python,
            "typescript" | "ts" => Self::TypeScript,
            "typescriptreact" | "tsx" => Self::Tsx,
            "javascript" | "js" | "javascriptreact" | "jsx" => Self::JavaScript,
            "go" | "golang" => Self::Go,
            "java" => Self::Java,
            "c" => Self::C,
            "cpp" | "c++" | "cxx" => Self::Cpp,
            _ => return None,
        })
    }

    /// The lowercase name (as in JSON).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::Python => "python",
            Self::TypeScript => "typescript",
            Self::Tsx => "tsx",
            Self::JavaScript => "javascript",
            Self::Go => "go",
            Self::Java => "java",
            Self::C => "c",
            Self::Cpp => "cpp",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn grammar(self) -> tree_sitter::Language {
        match self {
            Self::Rust => tree_sitter_rust::LANGUAGE.into(),
            Self::Python => tree_sitter_python::LANGUAGE.into(),
            Self::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Self::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Self::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Self::Go => tree_sitter_go::LANGUAGE.into(),
            Self::Java => tree_sitter_java::LANGUAGE.into(),
            Self::C => tree_sitter_c::LANGUAGE.into(),
            Self::Cpp => tree_sitter_cpp::LANGUAGE.into(),
        }
    }

    pub(crate) fn query_source(self) -> String {
        match self {
            Self::Rust => include_str!("../queries/rust.scm").to_owned(),
            Self::Python => include_str!("../queries/python.scm").to_owned(),
            Self::TypeScript => include_str!("../queries/typescript.scm").to_owned(),
            Self::Tsx => [
                include_str!("../queries/typescript.scm"),
                include_str!("../queries/tsx.scm"),
            ]
            .concat(),
            Self::JavaScript => include_str!("../queries/javascript.scm").to_owned(),
            Self::Go => include_str!("../queries/go.scm").to_owned(),
            Self::Java => include_str!("../queries/java.scm").to_owned(),
            Self::C => include_str!("../queries/c.scm").to_owned(),
            Self::Cpp => include_str!("../queries/cpp.scm").to_owned(),
        }
    }

    /// The grammar and compiled tags query, built on first use.
    pub(crate) fn spec(self) -> Result<&'static LanguageSpec, ContextError> {
        static SPECS: [OnceLock<Result<LanguageSpec, String>>; 9] = [const { OnceLock::new() }; 9];
        SPECS[self.index()]
            .get_or_init(|| self.build_spec())
            .as_ref()
            .map_err(|message| ContextError::Query {
                language: self.name(),
                message: message.clone(),
            })
    }

    fn build_spec(self) -> Result<LanguageSpec, String> {
        let grammar = self.grammar();
        let query = Query::new(&grammar, &self.query_source()).map_err(|e| e.to_string())?;
        let mut captures = Vec::with_capacity(query.capture_names().len());
        for name in query.capture_names() {
            let role = if *name == "name" {
                Some(CaptureRole::Name)
            } else if *name == "import" {
                Some(CaptureRole::Import)
            } else if let Some(kind) = name.strip_prefix("definition.") {
                let kind = SymbolKind::from_capture(kind)
                    .ok_or_else(|| format!("unknown definition kind in capture @{name}"))?;
                Some(CaptureRole::Definition(kind))
            } else if name.starts_with("reference.") {
                Some(CaptureRole::Reference)
            } else {
                None
            };
            captures.push(role);
        }
        let top_only = (0..query.pattern_count())
            .map(|i| {
                query
                    .property_settings(i)
                    .iter()
                    .any(|p| &*p.key == "scope" && p.value.as_deref() == Some("top"))
            })
            .collect();
        Ok(LanguageSpec {
            grammar,
            query,
            captures,
            top_only,
        })
    }
}

/// Whether a header's lines start with constructs only C++ has.
fn looks_like_cpp(text: &str) -> bool {
    const CPP_ONLY: [&str; 9] = [
        "class ",
        "namespace ",
        "template<",
        "template <",
        "public:",
        "private:",
        "protected:",
        "using namespace ",
        "extern \"C++\"",
    ];
    text.lines()
        .map(str::trim_start)
        .any(|line| CPP_ONLY.iter().any(|start| line.starts_with(start)))
}
