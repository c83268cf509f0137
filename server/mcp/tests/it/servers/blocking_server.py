"""A real MCP server (the Python SDK's MCPServer, stdio) for the hub's failure tests.

`block(fifo)` opens the named pipe `fifo` for writing — which returns only once the test
opens it for reading, so the test knows the call is in flight — and then never answers.
`echo(text)` answers at once.
"""

import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("blocking")


@server.tool()
def echo(text: str) -> str:
    """Returns the text."""
    return f"echo: {text}"


@server.tool()
def block(fifo: str) -> str:
    """Signals through the named pipe that the call started, then never answers."""
    with open(fifo, "w") as pipe:
        pipe.write("started\n")
        pipe.flush()
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    print("blocking server starting", file=sys.stderr, flush=True)
    server.run("stdio")
