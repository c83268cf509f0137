"""A real MCP server (the Python SDK's MCPServer, stdio) that asks its user a question by
elicitation: the hub relays it to the MCP clients connected to Lathe.

`book_table(day)` asks for a form (seats, window) and says what it got back.
"""

from pydantic import BaseModel

from mcp.server.mcpserver import AcceptedElicitation, Context, MCPServer

server = MCPServer("elicit")


class Booking(BaseModel):
    seats: int
    window: bool


@server.tool()
async def book_table(day: str, ctx: Context) -> str:
    """Books a table, asking the user how many seats."""
    answer = await ctx.elicit(f"How many seats on {day}?", schema=Booking)
    if isinstance(answer, AcceptedElicitation):
        where = "by the window" if answer.data.window else "inside"
        return f"booked {answer.data.seats} seats on {day} {where}"
    return f"no booking: {answer.action}"


if __name__ == "__main__":
    server.run("stdio")
