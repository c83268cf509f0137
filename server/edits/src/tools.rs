//! Tool descriptions and JSON schemas of the file-changing tools, for the agent's tool
//! registry. The texts are the instructions the model sees: they state the exact format,
//! the matching rules and what to do when an edit is refused.

use serde_json::{Value, json};

/// A tool as registered with the model.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

pub const EDIT_FILE_DESCRIPTION: &str = "\
Replace text in an existing file (search/replace).

- `old_string` must match the file's current text and identify exactly ONE place: include \
enough surrounding lines (usually 2-3) to make it unique. Copy it from the file as it is now; \
do not include line numbers.
- `new_string` replaces it. Keep the file's indentation style.
- Set `replace_all` to true to replace every occurrence (e.g. renaming a variable).
- If matching exactly fails, Lathe retries ignoring trailing whitespace, then indentation, then \
typographic punctuation; the result says when a fallback was used.
- If several places match, the edit is refused with their line numbers: add context and retry.
- If nothing matches, the edit is refused with the most similar lines of the file: read the \
file again and retry.
- To create a file, use an empty `old_string` on a path that does not exist (or write_file).";

pub const APPLY_PATCH_DESCRIPTION: &str = "\
Apply a patch that can add, delete, move and edit several files at once.

Use this envelope:
*** Begin Patch
*** Add File: path/new.py
+every line of the new file starts with +
*** Delete File: path/old.py
*** Update File: path/app.py
*** Move to: path/renamed.py      (optional)
@@ def enclosing_function():     (optional: a line to find first, e.g. a class or function header)
 context line (leading space)
-removed line
+added line
 context line
*** End Patch

Rules: paths are relative to the workspace root. In an update, each hunk shows about 3 lines of \
unchanged context before and after the change, prefixed with a space; hunks must appear in file \
order and must not overlap. Without an @@ line a hunk's context must match exactly one place \
after the previous hunk; add more context or an @@ line if it is refused as ambiguous. Use \
`*** End of File` after a hunk that ends at the end of the file. A unified diff (as `git diff` \
prints, with or without line numbers in @@ headers) is also accepted. Nothing is changed unless \
the whole patch applies; a refusal says which hunk failed and which lines of the file are most \
similar.";

pub const WRITE_FILE_DESCRIPTION: &str = "\
Create a file, or replace the whole content of an existing one. Give the complete content: \
nothing of the old content is kept. Prefer edit_file or apply_patch for changes to part of an \
existing file. Parent directories are created as needed.";

/// JSON Schema of `edit_file`'s arguments.
pub fn edit_file_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path relative to the workspace root."},
            "old_string": {"type": "string", "description": "The exact text to replace (empty to create a new file)."},
            "new_string": {"type": "string", "description": "The text to put in its place."},
            "replace_all": {"type": "boolean", "default": false, "description": "Replace every occurrence of old_string."}
        },
        "required": ["path", "old_string", "new_string"],
        "additionalProperties": false
    })
}

/// JSON Schema of `apply_patch`'s arguments.
pub fn apply_patch_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "patch": {"type": "string", "description": "The whole patch, from `*** Begin Patch` to `*** End Patch` (or a unified diff)."}
        },
        "required": ["patch"],
        "additionalProperties": false
    })
}

/// JSON Schema of `write_file`'s arguments.
pub fn write_file_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path relative to the workspace root."},
            "content": {"type": "string", "description": "The complete new content of the file."}
        },
        "required": ["path", "content"],
        "additionalProperties": false
    })
}

pub fn edit_file_tool() -> ToolSpec {
    ToolSpec {
        name: "edit_file",
        description: EDIT_FILE_DESCRIPTION,
        parameters: edit_file_schema(),
    }
}

pub fn apply_patch_tool() -> ToolSpec {
    ToolSpec {
        name: "apply_patch",
        description: APPLY_PATCH_DESCRIPTION,
        parameters: apply_patch_schema(),
    }
}

pub fn write_file_tool() -> ToolSpec {
    ToolSpec {
        name: "write_file",
        description: WRITE_FILE_DESCRIPTION,
        parameters: write_file_schema(),
    }
}
