//! The files on disk: confinement, gitignore-aware walking, atomic writes and gix checkpoints.
