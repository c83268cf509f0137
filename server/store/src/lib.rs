//! redb persistence of sessions, the event log, approvals and metrics.
