//! `/events`: the event log as Server-Sent Events.
//!
//! With `?session=ID` the stream replays the session's log after `Last-Event-ID` (or
//! `?after=`) and then follows it live; each SSE id is the event's `seq`, so a client that
//! reconnects with `Last-Event-ID` misses nothing and sees nothing twice. The bus is
//! subscribed to before the backlog is read, and live events at or below the last sent
//! `seq` are skipped, which closes the gap between the two. A subscriber that falls behind
//! the bus re-reads from the store. Without `session` the stream is every session's live
//! events.

use super::state::DaemonState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use lathe_protocol::{Event, SessionId};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

#[derive(Deserialize)]
pub(crate) struct StreamQuery {
    session: Option<String>,
    after: Option<u64>,
}

const PAGE: usize = 500;

struct Cursor {
    state: Arc<DaemonState>,
    session: Option<SessionId>,
    last_seq: u64,
    pending: VecDeque<Event>,
    bus: broadcast::Receiver<Event>,
    caught_up: bool,
}

pub(crate) async fn stream(
    State(state): State<Arc<DaemonState>>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let cursor = Cursor {
        bus: state.store.subscribe(),
        session: query.session.map(SessionId::from),
        last_seq: resume.or(query.after).unwrap_or(0),
        pending: VecDeque::new(),
        caught_up: false,
        state,
    };
    let events = futures::stream::unfold(cursor, |mut cursor| async move {
        let event = cursor.next().await?;
        let sse = SseEvent::default()
            .event(event.payload.type_name())
            .json_data(&event)
            .unwrap_or_else(|_| SseEvent::default().comment("unencodable event"));
        let sse = if cursor.session.is_some() {
            sse.id(event.seq.to_string())
        } else {
            sse
        };
        Some((Ok(sse), cursor))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

impl Cursor {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.last_seq = event.seq;
                return Some(event);
            }
            if let (false, Some(session)) = (self.caught_up, &self.session) {
                match self.state.store.events(session, self.last_seq, PAGE) {
                    Ok(events) if !events.is_empty() => {
                        self.pending.extend(events);
                        continue;
                    }
                    Ok(_) => self.caught_up = true,
                    Err(error) => {
                        tracing::error!(%error, "cannot read the log for an SSE client");
                        return None;
                    }
                }
            }
            let received = tokio::select! {
                _ = self.state.shutdown.cancelled() => return None,
                received = self.bus.recv() => received,
            };
            match received {
                Ok(event) => match &self.session {
                    None => return Some(event),
                    Some(session) if *session == event.session_id && event.seq > self.last_seq => {
                        self.pending.push_back(event)
                    }
                    Some(_) => {}
                },
                Err(RecvError::Lagged(_)) => self.caught_up = false,
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
