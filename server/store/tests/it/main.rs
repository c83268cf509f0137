//! lathe-store integration tests: ordering, durability boundaries, concurrency, rollups.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod concurrency;
mod disk;
mod follow;
mod full_disk;
mod log;
mod records;
