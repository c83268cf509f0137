//! The tool specs the agent registers: names, schemas that accept the documented arguments.

use lathe_edits::{
    ApplyPatchArgs, EditFileArgs, WriteFileArgs, apply_patch_tool, edit_file_tool, write_file_tool,
};
use pretty_assertions::assert_eq;
use serde_json::json;

#[test]
fn tool_specs_name_their_required_arguments() {
    let specs = [edit_file_tool(), apply_patch_tool(), write_file_tool()];
    let summary: Vec<(&str, serde_json::Value)> = specs
        .iter()
        .map(|s| (s.name, s.parameters["required"].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("edit_file", json!(["path", "old_string", "new_string"])),
            ("apply_patch", json!(["patch"])),
            ("write_file", json!(["path", "content"])),
        ]
    );
    for spec in &specs {
        assert!(
            spec.description.len() > 100,
            "{} needs instructions",
            spec.name
        );
    }
}

#[test]
fn arguments_deserialize_from_model_json() {
    let edit: EditFileArgs =
        serde_json::from_value(json!({"path": "a", "old_string": "x", "new_string": "y"})).unwrap();
    assert_eq!(
        edit,
        EditFileArgs {
            path: "a".into(),
            old_string: "x".into(),
            new_string: "y".into(),
            replace_all: false
        }
    );
    let patch: ApplyPatchArgs =
        serde_json::from_value(json!({"input": "*** Begin Patch"})).unwrap();
    assert_eq!(patch.patch, "*** Begin Patch");
    let write: WriteFileArgs = serde_json::from_value(json!({"path": "a", "content": ""})).unwrap();
    assert_eq!(write.content, "");
}

#[test]
fn rule_paths_name_every_file_a_patch_touches_as_the_parser_reads_it() {
    use lathe_edits::rule_paths;
    use serde_json::json;
    let patch = |text: &str| rule_paths("apply_patch", &json!({ "patch": text }));
    assert_eq!(
        patch("*** Begin Patch\n*** Update File: a/x.rs\n*** Move to: ./src/b.rs\n@@\n-x\n+y\n*** Add File: .env\n+K=V\n*** Delete File: old.txt\n*** End Patch\n")
            .unwrap(),
        "a/x.rs\nsrc/b.rs\n.env\nold.txt",
        "Codex paths are taken as written (no a/ stripping)"
    );
    assert_eq!(
        patch("diff --git a/src/a.rs b/.env\nsimilarity index 90%\nrename from src/a.rs\nrename to .env\n--- a/src/a.rs\n+++ b/.env\n@@ -1 +1 @@\n-x\n+y\n")
            .unwrap(),
        "src/a.rs\n.env"
    );
    assert_eq!(
        patch("--- a/db.sql\n+++ b/db.sql\n@@ -1,2 +1,1 @@\n--- a comment\n-x\n")
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        ["db.sql"],
        "a removed `-- comment` line is not a path"
    );
    assert_eq!(patch("not a patch").unwrap(), "");
    assert_eq!(
        rule_paths("write_file", &json!({"path": "./src/../x"})).unwrap(),
        "./src/../x",
        "paths that do not normalize are judged as written (and refused by the tool)"
    );
    assert_eq!(
        rule_paths("edit_file", &json!({"path": "./src/a.rs"})).unwrap(),
        "src/a.rs"
    );
}
