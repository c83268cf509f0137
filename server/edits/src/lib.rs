//! Edit formats (search/replace, unified diff, apply_patch) turned into WorkspaceDiffs, and LSP position conversion.
