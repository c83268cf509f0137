//! lathe-mcp: MCP both ways.
