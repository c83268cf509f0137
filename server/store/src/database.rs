//! The open redb database, shared by the readers and the writer thread, and reopened after
//! an I/O error.
//!
//! redb latches the first I/O error of a database (a full disk, say): from then on every
//! operation on that handle fails with `PreviousIo` until it is dropped and the file opened
//! again, which also repairs the file. [`Database`] therefore holds the handle behind a lock
//! together with the means to open it again.
//!
//! Invariants:
//! - Nothing outside this module keeps a `redb::Database`: every use happens inside
//!   [`Database::with`], under the read lock, so when [`Database::reopen`] holds the write
//!   lock the old handle is really closed before the file is opened again.
//! - When a reopen fails, its error is what every later use reports, until a reopen succeeds.

use crate::StoreError;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};

/// Opens the file anew; called on open and on every reopen.
pub(crate) type Opener = Box<dyn Fn() -> Result<redb::Database, StoreError> + Send + Sync>;

pub(crate) struct Database {
    path: PathBuf,
    opener: Opener,
    current: RwLock<Result<redb::Database, StoreError>>,
}

impl Database {
    /// Opens the database for the first time; an error here is returned, not stored.
    pub(crate) fn open(path: &Path, opener: Opener) -> Result<Database, StoreError> {
        let db = opener()?;
        Ok(Database {
            path: path.to_path_buf(),
            opener,
            current: RwLock::new(Ok(db)),
        })
    }

    /// The file that the store names in its errors.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the open database, or returns why none is open.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&redb::Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        match &*current {
            Ok(db) => f(db),
            Err(error) => Err(error.clone()),
        }
    }

    /// Closes the current handle and opens the file again (redb repairs it on open).
    pub(crate) fn reopen(&self) -> Result<(), StoreError> {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        // The old handle must be closed (its file locks released) before the new open.
        drop(std::mem::replace(&mut *current, Err(StoreError::Closed)));
        let reopened = (self.opener)().map_err(|error| error.in_store(&self.path));
        let outcome = reopened.as_ref().map(drop).map_err(Clone::clone);
        *current = reopened;
        outcome
    }
}
