//! [`Backend`]: tower-lsp-server's `LanguageServer`, delegating each method family to its
//! handler module. Document sync is not here: the transport applies it in order.
//!
//! Invariant: no handler waits for the model; an error becomes a JSON-RPC error with a
//! message for the user (see [`crate::LspError::to_jsonrpc`]).

use crate::connection::Conn;
use crate::ext::Status;
use crate::handlers;
use crate::services::LspServices;
use std::sync::Arc;
use tower_lsp_server::gen_lsp_types as lsp;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::{Client, LanguageServer};

/// The language server of one connection.
pub struct Backend {
    pub conn: Arc<Conn>,
}

impl Backend {
    pub fn new(client: Client, services: LspServices) -> Self {
        Self {
            conn: Arc::new(Conn::new(client, services)),
        }
    }

    /// `lathe/status`.
    pub async fn status(&self) -> Result<Status> {
        Ok(handlers::status::status(&self.conn).await?)
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: lsp::InitializeParams) -> Result<lsp::InitializeResult> {
        Ok(handlers::lifecycle::initialize(&self.conn, params)?)
    }

    async fn initialized(&self, _: lsp::InitializedParams) {
        handlers::lifecycle::initialized(&self.conn).await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn code_action(
        &self,
        params: lsp::CodeActionParams,
    ) -> Result<Option<Vec<lsp::CodeActionResponse>>> {
        Ok(Some(handlers::code_action::list(&self.conn, params)?))
    }

    async fn code_action_resolve(&self, action: lsp::CodeAction) -> Result<lsp::CodeAction> {
        Ok(handlers::code_action::resolve(&self.conn, action)?)
    }

    async fn execute_command(
        &self,
        params: lsp::ExecuteCommandParams,
    ) -> Result<Option<lsp::LspAny>> {
        Ok(handlers::execute::execute(&self.conn, params).await?)
    }

    async fn completion(
        &self,
        params: lsp::CompletionParams,
    ) -> Result<Option<lsp::CompletionResponse>> {
        Ok(handlers::completion::complete(&self.conn, params)?)
    }
}
