//! A disk of limited size under the store: a redb storage backend on the real file that
//! fails with ENOSPC, as a full ext4 does, and that tests can hold writes on.
//!
//! The model: the file is sparse, so growing it takes no room; writing a 4 KiB block the
//! file never held before takes one block of the disk, and fails when the disk has none
//! left. Overwriting a block the file already holds always succeeds.

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};
use std::collections::BTreeSet;
use std::io;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

const BLOCK: u64 = 4096;
/// Linux `ENOSPC`, what `write(2)` says on a full disk.
const ENOSPC: i32 = 28;

/// The disk: shared by every backend opened on it, so that it outlives reopens.
#[derive(Debug, Clone, Default)]
pub struct Disk {
    state: Arc<(Mutex<State>, Condvar)>,
}

#[derive(Debug, Default)]
struct State {
    /// Blocks the file holds.
    blocks: BTreeSet<u64>,
    /// How many blocks the file may hold; `None` for as many as it wants.
    capacity: Option<usize>,
    /// Writes wait while this is set.
    held: bool,
    /// Writes waiting because of `held`.
    waiting: usize,
}

impl Disk {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes the file occupies on the disk.
    pub fn used_bytes(&self) -> u64 {
        self.state().blocks.len() as u64 * BLOCK
    }

    /// Leaves no room beyond what the file holds now.
    pub fn fill(&self) {
        let mut state = self.state();
        state.capacity = Some(state.blocks.len());
    }

    /// Gives the disk all the room it wants again.
    pub fn free(&self) {
        self.state().capacity = None;
    }

    /// Makes every write wait until [`Disk::release_writes`].
    pub fn hold_writes(&self) {
        self.state().held = true;
    }

    /// Lets held writes proceed.
    pub fn release_writes(&self) {
        self.state().held = false;
        self.state.1.notify_all();
    }

    /// Waits until a write is waiting because of [`Disk::hold_writes`].
    pub fn wait_for_held_write(&self) {
        let mut state = self.state();
        while state.waiting == 0 {
            state = self
                .state
                .1
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// A backend on the file at `path` (created when missing), stored on this disk.
    pub fn open(&self, path: &Path) -> io::Result<OnDisk> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        Ok(OnDisk {
            file: FileBackend::new(file).map_err(io::Error::other)?,
            disk: self.clone(),
        })
    }

    /// Waits while writes are held, then takes the blocks of `offset..offset + len`.
    fn allocate(&self, offset: u64, len: u64) -> io::Result<()> {
        let mut state = self.state();
        if state.held {
            state.waiting += 1;
            self.state.1.notify_all();
            while state.held {
                state = self
                    .state
                    .1
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            state.waiting -= 1;
        }
        if len == 0 {
            return Ok(());
        }
        let wanted: Vec<u64> = (offset / BLOCK..=(offset + len - 1) / BLOCK)
            .filter(|block| !state.blocks.contains(block))
            .collect();
        if let Some(capacity) = state.capacity
            && state.blocks.len() + wanted.len() > capacity
        {
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        state.blocks.extend(wanted);
        Ok(())
    }

    /// Gives back the blocks past `len` when the file shrinks.
    fn truncate(&self, len: u64) {
        let first_gone = len.div_ceil(BLOCK);
        self.state().blocks.retain(|block| *block < first_gone);
    }
}

/// The real file backend, on a [`Disk`].
#[derive(Debug)]
pub struct OnDisk {
    file: FileBackend,
    disk: Disk,
}

impl StorageBackend for OnDisk {
    fn len(&self) -> Result<u64, io::Error> {
        self.file.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.file.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.file.set_len(len)?;
        self.disk.truncate(len);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        self.file.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.disk.allocate(offset, data.len() as u64)?;
        self.file.write(offset, data)
    }

    fn close(&self) -> Result<(), io::Error> {
        self.file.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}
