//! Workspace diffs: what an edit will change, per file, before anything is written.
