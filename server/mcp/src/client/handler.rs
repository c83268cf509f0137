//! What Lathe answers to an MCP server it is a client of: its identity and capabilities,
//! `notifications/tools/list_changed` (the hub re-lists the server's tools), and
//! `elicitation/create` (forwarded to the user's surfaces through an [`ElicitationSink`],
//! in the daemon [`AskTheUser`]: the question broker; declined when there is no sink).

use futures::future::BoxFuture;
use lathe_agent::QuestionBroker;
use lathe_protocol::{QuestionKind, QuestionReply};
use rmcp::ClientHandler;
use rmcp::model::{
    ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction,
    ErrorData, Implementation,
};
use rmcp::service::{NotificationContext, RequestContext, RoleClient};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Where the hub forwards servers' elicitation requests: `server` (its configured name)
/// asks `message`, a form or a page to open, and waits at most `within` (its tool call
/// gives up after `tool_timeout_sec`, so a later answer would reach nobody).
pub trait ElicitationSink: Send + Sync + 'static {
    fn elicit(
        &self,
        server: &str,
        message: String,
        kind: QuestionKind,
        within: Duration,
    ) -> BoxFuture<'static, QuestionReply>;
}

/// The daemon's sink: every question goes to the user's surfaces through the question
/// broker, as a question of `workspace` (its canonical root).
#[derive(Clone, Debug)]
pub struct AskTheUser {
    pub broker: QuestionBroker,
    pub workspace: PathBuf,
}

impl ElicitationSink for AskTheUser {
    fn elicit(
        &self,
        server: &str,
        message: String,
        kind: QuestionKind,
        within: Duration,
    ) -> BoxFuture<'static, QuestionReply> {
        let (broker, workspace, server) = (
            self.broker.clone(),
            self.workspace.clone(),
            server.to_owned(),
        );
        Box::pin(async move {
            broker
                .ask(&workspace, &server, &message, kind, within)
                .await
        })
    }
}

/// The client side of one hub connection.
pub(crate) struct HubClient {
    pub(crate) server: String,
    pub(crate) tools_changed: Arc<Notify>,
    pub(crate) elicitation: Option<Arc<dyn ElicitationSink>>,
    /// The server's `tool_timeout_sec`: how long its questions may wait for the user.
    pub(crate) tool_timeout: Duration,
}

impl ClientHandler for HubClient {
    fn get_info(&self) -> ClientConfig {
        let capabilities: ClientCapabilities = if self.elicitation.is_some() {
            serde_json::from_value(json!({"elicitation": {"form": {}, "url": {}}}))
                .unwrap_or_default()
        } else {
            ClientCapabilities::default()
        };
        ClientConfig::new(
            capabilities,
            Implementation::new("lathe", env!("CARGO_PKG_VERSION")).with_title("Lathe"),
        )
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        tracing::info!(server = %self.server, "tool list changed");
        self.tools_changed.notify_one();
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let Some(sink) = &self.elicitation else {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let (message, kind) = match request {
            ElicitRequestParams::FormElicitationParams {
                message,
                requested_schema,
                ..
            } => match serde_json::to_value(requested_schema) {
                Ok(schema) => (message, QuestionKind::Form { schema }),
                Err(_) => return Ok(ElicitResult::new(ElicitationAction::Decline)),
            },
            ElicitRequestParams::UrlElicitationParams {
                message,
                url,
                elicitation_id,
                ..
            } => (
                message,
                QuestionKind::Url {
                    url,
                    elicitation_id: Some(elicitation_id).filter(|id| !id.is_empty()),
                },
            ),
            _ => return Ok(ElicitResult::new(ElicitationAction::Decline)),
        };
        // The server withdrawing its question (notifications/cancelled) drops the sink's
        // future, which withdraws it from wherever it was forwarded.
        let reply = tokio::select! {
            reply = sink.elicit(&self.server, message, kind, self.tool_timeout) => reply,
            () = context.ct.cancelled() => QuestionReply::Cancel,
        };
        Ok(match reply {
            QuestionReply::Accept {
                content: Value::Null,
            } => ElicitResult::new(ElicitationAction::Accept),
            QuestionReply::Accept { content } => {
                ElicitResult::new(ElicitationAction::Accept).with_content(content)
            }
            QuestionReply::Decline => ElicitResult::new(ElicitationAction::Decline),
            QuestionReply::Cancel => ElicitResult::new(ElicitationAction::Cancel),
        })
    }
}
