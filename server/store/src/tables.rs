//! Table definitions and the JSON encoding of stored records.
//!
//! Records are JSON so that a store written by one version stays readable by the next and
//! by humans debugging it; keys are typed so that range scans by `(session, seq)` are
//! ordered.

use crate::StoreError;
use redb::{Database, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;

/// `(session id, seq) -> Event` (JSON).
pub(crate) const EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("events");
/// `session id -> SessionMeta` (JSON).
pub(crate) const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
/// `approval id -> Approval` (JSON).
pub(crate) const APPROVALS: TableDefinition<&str, &[u8]> = TableDefinition::new("approvals");
/// `(metric, day since epoch) -> counter`.
pub(crate) const METRICS: TableDefinition<(&str, u64), u64> = TableDefinition::new("metrics");

/// Creates every table so that readers never meet a missing one.
pub(crate) fn create_all(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(StoreError::db)?;
    txn.open_table(EVENTS).map_err(StoreError::db)?;
    txn.open_table(SESSIONS).map_err(StoreError::db)?;
    txn.open_table(APPROVALS).map_err(StoreError::db)?;
    txn.open_table(METRICS).map_err(StoreError::db)?;
    txn.commit().map_err(StoreError::db)
}

/// The last `seq` stored for a session, 0 when none.
pub(crate) fn last_seq(
    table: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    session: &str,
) -> Result<u64, StoreError> {
    let mut range = table
        .range((session, 0)..=(session, u64::MAX))
        .map_err(StoreError::db)?;
    match range.next_back() {
        Some(entry) => {
            let (key, _) = entry.map_err(StoreError::db)?;
            Ok(key.value().1)
        }
        None => Ok(0),
    }
}

pub(crate) fn encode(value: &impl serde::Serialize) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}
