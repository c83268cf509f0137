//! `/events`: the event log as Server-Sent Events.
//!
//! With `?session=ID` the stream replays the session's log after `Last-Event-ID` (or
//! `?after=`) and then follows it live; each SSE id is the event's `seq`, so a client that
//! reconnects with `Last-Event-ID` misses nothing and sees nothing twice. The bus is
//! subscribed to before the backlog is read, and live events at or below the last sent
//! `seq` are skipped, which closes the gap between the two. A subscriber that falls behind
//! the bus re-reads from the store. Without `session` the stream is every session's live
//! events and the MCP servers' questions (`question.asked` with the question,
//! `question.resolved` with its id, action and surface, `question.resync` when the stream
//! fell behind and the pending ones should be listed again): such a stream is a dashboard, so
//! while it is open the question broker counts it as a surface that can answer.

use super::state::DaemonState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use lathe_agent::Attachment;
use lathe_protocol::{Event, QuestionEvent, SessionId};
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
    /// The question bus and the stream's place at the broker, for a stream of every session.
    questions: Option<(broadcast::Receiver<QuestionEvent>, Attachment)>,
}

/// What the stream sends next.
enum Item {
    Event(Event),
    Question(QuestionEvent),
    /// Question events were missed: the client should list the pending questions again.
    QuestionsMissed,
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
    let questions = query.session.is_none().then(|| {
        let broker = state.workspaces.questions();
        (broker.subscribe(), broker.watch())
    });
    let cursor = Cursor {
        questions,
        bus: state.store.subscribe(),
        session: query.session.map(SessionId::from),
        last_seq: resume.or(query.after).unwrap_or(0),
        pending: VecDeque::new(),
        caught_up: false,
        state,
    };
    let events = futures::stream::unfold(cursor, |mut cursor| async move {
        let sse = match cursor.next().await? {
            Item::Event(event) => {
                let sse = SseEvent::default()
                    .event(event.payload.type_name())
                    .json_data(&event)
                    .unwrap_or_else(|_| SseEvent::default().comment("unencodable event"));
                if cursor.session.is_some() {
                    sse.id(event.seq.to_string())
                } else {
                    sse
                }
            }
            Item::Question(question) => {
                let name = match question {
                    QuestionEvent::Asked(_) => "question.asked",
                    QuestionEvent::Resolved { .. } => "question.resolved",
                };
                SseEvent::default()
                    .event(name)
                    .json_data(&question)
                    .unwrap_or_else(|_| SseEvent::default().comment("unencodable question"))
            }
            Item::QuestionsMissed => SseEvent::default().event("question.resync").data("{}"),
        };
        Some((Ok(sse), cursor))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

impl Cursor {
    async fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                self.last_seq = event.seq;
                return Some(Item::Event(event));
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
            let questions = &mut self.questions;
            let asked = async {
                match questions {
                    Some((questions, _)) => questions.recv().await,
                    None => std::future::pending().await,
                }
            };
            let received = tokio::select! {
                _ = self.state.shutdown.cancelled() => return None,
                received = self.bus.recv() => received,
                question = asked => match question {
                    Ok(question) => return Some(Item::Question(question)),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "an SSE client missed question events");
                        return Some(Item::QuestionsMissed);
                    }
                    Err(RecvError::Closed) => return None,
                },
            };
            match received {
                Ok(event) => match &self.session {
                    None => return Some(Item::Event(event)),
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
