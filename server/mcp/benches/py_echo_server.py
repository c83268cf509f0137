"""The Python MCP SDK's server (MCPServer over streamable HTTP) with a trivial echo tool:
the baseline of lathe-mcp's HTTP benchmark.

    py_echo_server.py <port>
"""

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo")


@server.tool()
def echo(text: str) -> str:
    """Returns the text."""
    return text


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
