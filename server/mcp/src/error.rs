//! lathe-mcp's error type: what can fail when starting to serve a connection.

/// An MCP surface that could not be served.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The connection could not be set up or ended abnormally.
    #[error("MCP connection failed: {0}")]
    Serve(String),
}
