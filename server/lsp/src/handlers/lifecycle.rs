//! `initialize`, `initialized` and `shutdown`.
//!
//! Invariants: the position encoding is UTF-8 when the client offers it, else UTF-16;
//! invalid `initializationOptions` fail `initialize` with a message naming the field; the
//! connection joins the editor hub only once initialized, with the capabilities it
//! declared; an agent that cannot be had (no model configured) does not fail the
//! handshake — sync and completion keep working and actions say how to configure one.

use crate::connection::{ClientCaps, Conn, Session};
use crate::error::LspError;
use crate::ext::COMMANDS;
use crate::hub::Peer;
use crate::{from_proto, to_proto, uri};
use lathe_skills::Registry;
use std::path::PathBuf;
use std::sync::Arc;
use tower_lsp_server::gen_lsp_types as lsp;

/// The workspace root a client names: its first workspace folder, else `rootUri`, else
/// `rootPath`, else the current directory. (`rootUri` and `rootPath` are deprecated but
/// are all that older clients such as Neovim 0.7 send.)
#[allow(deprecated)]
fn workspace_root(params: &lsp::InitializeParams) -> PathBuf {
    let folder = match &params.workspace_folders_initialize_params.workspace_folders {
        Some(lsp::WorkspaceFolders::WorkspaceFolderList(folders)) => {
            folders.iter().find_map(|f| uri::to_path(f.uri.as_ref()))
        }
        _ => None,
    };
    let root_uri = params
        .root_uri
        .as_ref()
        .and_then(|u| uri::to_path(u.as_ref()));
    let root_path = match &params.root_path {
        Some(lsp::RootPath::String(path)) => Some(PathBuf::from(path)),
        _ => None,
    };
    folder
        .or(root_uri)
        .or(root_path)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn initialize(
    conn: &Arc<Conn>,
    params: lsp::InitializeParams,
) -> Result<lsp::InitializeResult, LspError> {
    let options = from_proto::init_options(params.initialization_options.clone())?;
    let encoding = from_proto::negotiate(&params.capabilities);
    let caps = ClientCaps::from_lsp(&params.capabilities);
    let workspace = workspace_root(&params);
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    let client_name = params.client_info.as_ref().map_or_else(
        || "editor".to_owned(),
        |info| match &info.version {
            Some(version) => format!("{} {version}", info.name),
            None => info.name.clone(),
        },
    );
    let peer = Arc::new(Peer {
        name: client_name.clone(),
        client: conn.client.clone(),
        documents: conn.documents.clone(),
        encoding,
        caps: caps.edit,
        timeouts: conn.services.timeouts,
    });
    let registration = conn.services.hub.register(peer.clone());
    let session = Session {
        encoding,
        skills: Registry::new(conn.skill_roots(workspace.clone())),
        workspace,
        options,
        client_name,
        caps,
        peer,
    };
    tracing::info!(client = %session.client_name, encoding = encoding.as_lsp(), workspace = %session.workspace.display(), "initialize");
    if !conn.set_session(session) {
        return Err(LspError::bad_arguments(
            "initialize",
            "the server is already initialized",
        ));
    }
    conn.set_registration(registration);
    Ok(lsp::InitializeResult {
        capabilities: capabilities(encoding),
        server_info: Some(lsp::ServerInfo {
            name: "lathe".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    })
}

/// What Lathe's server offers.
pub fn capabilities(encoding: lathe_edits::PositionEncoding) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(to_proto::encoding_kind(encoding)),
        text_document_sync: Some(lsp::TextDocumentSync::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::Incremental),
                ..lsp::TextDocumentSyncOptions::default()
            },
        )),
        code_action_provider: Some(lsp::CodeActionProvider::CodeActionOptions(
            lsp::CodeActionOptions {
                code_action_kinds: Some(vec![
                    lsp::CodeActionKind::QuickFix,
                    lsp::CodeActionKind::RefactorRewrite,
                    lsp::CodeActionKind::Source,
                ]),
                resolve_provider: Some(true),
                ..lsp::CodeActionOptions::default()
            },
        )),
        execute_command_provider: Some(lsp::ExecuteCommandOptions {
            commands: COMMANDS.iter().map(|c| (*c).to_owned()).collect(),
            ..lsp::ExecuteCommandOptions::default()
        }),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec!["/".into()]),
            resolve_provider: Some(false),
            ..lsp::CompletionOptions::default()
        }),
        ..lsp::ServerCapabilities::default()
    }
}

/// After the handshake: take the MCP servers' questions for the workspace, and tell the
/// user now if no agent can serve it.
pub async fn initialized(conn: &Arc<Conn>) {
    conn.attach_questions();
    if let Err(error) = conn.agent().await {
        conn.client
            .show_message(lsp::MessageType::Warning, format!("Lathe: {error}"))
            .await;
    }
}
