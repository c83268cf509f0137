//! Code context from tree-sitter and ropey: documents, cursor context, outlines and the ranked repo map.
