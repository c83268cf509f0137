//! The store's one error type. Errors are cheap to clone because a failed group commit
//! reports the same error to every append in the group.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What went wrong in the store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the session store {path}: {source}")]
    Open {
        path: PathBuf,
        source: Arc<redb::DatabaseError>,
    },
    #[error("cannot prepare {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The file system holding the store has no space left (or the user's quota is spent).
    /// Nothing of the failed write was stored; the store accepts writes again as soon as
    /// there is room.
    #[error(
        "no space left for the session store {path}: the disk is full ({source}); \
         nothing was written, free some space and retry"
    )]
    DiskFull {
        path: PathBuf,
        #[source]
        source: Arc<std::io::Error>,
    },
    #[error("session store: {0}")]
    Database(Arc<redb::Error>),
    #[error("session store holds a record that does not decode: {0}")]
    Corrupt(String),
    #[error("the session store's writer has stopped")]
    Closed,
}

impl StoreError {
    pub(crate) fn db(error: impl Into<redb::Error>) -> StoreError {
        StoreError::Database(Arc::new(error.into()))
    }

    /// Names the store's file in an error that came out of redb, and tells a full disk
    /// apart from other I/O errors.
    pub(crate) fn in_store(self, path: &Path) -> StoreError {
        let io = match &self {
            StoreError::Database(error) => match error.as_ref() {
                redb::Error::Io(io) => Some(io),
                _ => None,
            },
            StoreError::Open { source, .. } => match source.as_ref() {
                redb::DatabaseError::Storage(redb::StorageError::Io(io)) => Some(io),
                _ => None,
            },
            _ => None,
        };
        match io {
            Some(io) if matches!(io.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded) => {
                StoreError::DiskFull {
                    path: path.to_path_buf(),
                    source: Arc::new(std::io::Error::new(io.kind(), io.to_string())),
                }
            }
            _ => self,
        }
    }

    /// Whether redb has latched an I/O error, so that the database must be reopened before
    /// it can be used again.
    pub(crate) fn needs_reopen(&self) -> bool {
        match self {
            StoreError::DiskFull { .. } => true,
            StoreError::Database(error) => {
                matches!(error.as_ref(), redb::Error::Io(_) | redb::Error::PreviousIo)
            }
            _ => false,
        }
    }
}
