//! Integration tests of lathe-edits: the fixture-driven edit cases, property tests of
//! position conversion and diff round trips, and the tool schemas.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod positions;
mod roundtrip;
mod tools;
