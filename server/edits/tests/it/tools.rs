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
