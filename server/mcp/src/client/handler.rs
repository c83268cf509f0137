//! What Lathe answers to an MCP server it is a client of: its identity and capabilities,
//! `notifications/tools/list_changed` (the hub re-lists the server's tools), and
//! `elicitation/create` (forwarded to the user's surfaces through an [`ElicitationSink`],
//! declined when none is attached).

use futures::future::BoxFuture;
use rmcp::ClientHandler;
use rmcp::model::{
    ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult, ElicitationAction,
    ErrorData, Implementation,
};
use rmcp::service::{NotificationContext, RequestContext, RoleClient};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::Notify;

/// A question an MCP server asks the user (MCP elicitation), for the user's surfaces.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerElicitation {
    /// The configured name of the server asking.
    pub server: String,
    pub message: String,
    /// The JSON schema of the form (`requestedSchema`), or `None` for a URL elicitation.
    pub schema: Option<Value>,
    /// The page to open, for a URL elicitation.
    pub url: Option<String>,
    /// The server's id of a URL elicitation (its later `notifications/elicitation/complete`
    /// names it).
    pub elicitation_id: Option<String>,
}

/// The user's answer to a [`ServerElicitation`].
#[derive(Clone, Debug, PartialEq)]
pub enum ElicitationReply {
    /// The form's content (an object matching the schema; `null` for a URL elicitation).
    Accept(Value),
    Decline,
    Cancel,
}

/// Where the hub forwards servers' elicitation requests (the daemon routes them to the
/// editor, dashboard or MCP client that the user is at).
pub trait ElicitationSink: Send + Sync + 'static {
    fn elicit(&self, request: ServerElicitation) -> BoxFuture<'static, ElicitationReply>;
}

/// The client side of one hub connection.
pub(crate) struct HubClient {
    pub(crate) server: String,
    pub(crate) tools_changed: Arc<Notify>,
    pub(crate) elicitation: Option<Arc<dyn ElicitationSink>>,
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
        let question = match request {
            ElicitRequestParams::FormElicitationParams {
                message,
                requested_schema,
                ..
            } => ServerElicitation {
                server: self.server.clone(),
                message,
                schema: serde_json::to_value(requested_schema).ok(),
                url: None,
                elicitation_id: None,
            },
            ElicitRequestParams::UrlElicitationParams {
                message,
                url,
                elicitation_id,
                ..
            } => ServerElicitation {
                server: self.server.clone(),
                message,
                schema: None,
                url: Some(url),
                elicitation_id: Some(elicitation_id).filter(|id| !id.is_empty()),
            },
            _ => return Ok(ElicitResult::new(ElicitationAction::Decline)),
        };
        // The server withdrawing its question (notifications/cancelled) drops the sink's
        // future, which withdraws it from wherever it was forwarded.
        let reply = tokio::select! {
            reply = sink.elicit(question) => reply,
            () = context.ct.cancelled() => ElicitationReply::Cancel,
        };
        Ok(match reply {
            ElicitationReply::Accept(Value::Null) => ElicitResult::new(ElicitationAction::Accept),
            ElicitationReply::Accept(content) => {
                ElicitResult::new(ElicitationAction::Accept).with_content(content)
            }
            ElicitationReply::Decline => ElicitResult::new(ElicitationAction::Decline),
            ElicitationReply::Cancel => ElicitResult::new(ElicitationAction::Cancel),
        })
    }
}
