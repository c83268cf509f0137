//! One `window/showMessageRequest`: the user picks one of a few buttons.
//!
//! Invariant: a dismissed prompt and a failed request are both `None` (the failure is
//! logged); the caller decides what no choice means.

use tower_lsp_server::Client;
use tower_lsp_server::gen_lsp_types as lsp;

/// Shows `message` with a button per title; the title picked.
pub async fn pick(
    client: &Client,
    kind: lsp::MessageType,
    message: String,
    titles: &[&str],
) -> Option<String> {
    let actions = titles
        .iter()
        .map(|title| lsp::MessageActionItem {
            title: (*title).to_owned(),
            ..lsp::MessageActionItem::default()
        })
        .collect();
    match client
        .show_message_request(kind, message, Some(actions))
        .await
    {
        Ok(item) => item.map(|item| item.title),
        Err(error) => {
            tracing::warn!(error = %error.message, "message request failed");
            None
        }
    }
}
