//! The store's one error type. Errors are cheap to clone because a failed group commit
//! reports the same error to every append in the group.

use std::path::PathBuf;
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
}
