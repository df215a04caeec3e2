"""A real MCP server for the tests: the `mcp` SDK's MCPServer served by uvicorn on 127.0.0.1.

One server answers both transports: streamable HTTP at `/mcp` and SSE at `/sse`. Every tool call
it receives is logged (name and arguments), so tests can check what the agents really called.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette

STARTUP_TIMEOUT_S = 30.0


class MCPTestServer:
    """`tools` maps a tool name to a plain Python function (its signature becomes the schema)."""

    def __init__(self, name: str, tools: dict[str, Callable[..., Any]]) -> None:
        from mcp.server.mcpserver import MCPServer

        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.mcp = MCPServer(name)
        for tool_name, fn in tools.items():
            self.mcp.add_tool(self._logged(tool_name, fn), name=tool_name)
        streamable = self.mcp.streamable_http_app()
        sse = self.mcp.sse_app()
        app = Starlette(
            routes=[*streamable.routes, *sse.routes],
            lifespan=lambda _app: self.mcp.session_manager.run(),
        )
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def _logged(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls.append((name, dict(kwargs)))
            return fn(*args, **kwargs)

        return wrapper

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def sse_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sse"

    def start(self) -> MCPTestServer:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:  # uvicorn offers no callback: wait for its flag
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the MCP test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_TIMEOUT_S)
        with contextlib.suppress(OSError):
            self._socket.close()

    def __enter__(self) -> MCPTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port_url(path: str = "/mcp") -> str:
    """A URL on 127.0.0.1 where nothing listens (the port is bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
