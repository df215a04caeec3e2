"""MCP servers as tool sources: `--mcp-server-url URL` or `name=URL`, over streamable HTTP or SSE.

A small client on the `mcp` SDK (smolagents' own MCP path needs `mcpadapt` and `mcp<2`). Each server
gets one session, opened before any model call and shared by every agent and worker of the run (MCP
sessions carry concurrent requests); it lives on an event loop in a thread of its own, and agents
call into it from theirs. Opening fails closed: an unreachable server (after a few retries), a
server that lists no tools, or two tools with the same name is a ConfigError. Each agent gets fresh
`Tool` objects over the shared sessions, so recording which tools ran stays per agent.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import json
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from smolagents import Tool

from ..errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = [
    "MCP_TRANSPORTS",
    "MCPServerSpec",
    "MCPToolset",
    "connect_mcp_servers",
    "parse_mcp_servers",
]

MCP_TRANSPORTS = ("auto", "streamable-http", "sse")
CONNECT_ATTEMPTS = 3
RETRY_WAITS_S = (1.0, 3.0)  # before the 2nd and 3rd attempt
CONNECT_TIMEOUT_S = 15.0
CALL_TIMEOUT_S = 120.0
MAX_RESULT_CHARS = 50_000
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_JSON_TYPES = {"string", "boolean", "integer", "number", "array", "object", "null"}


@dataclass(frozen=True)
class MCPServerSpec:
    """One `--mcp-server-url` value: the server's URL, transport and tool-name prefix (or None)."""

    url: str
    transport: str
    prefix: str | None = None

    @property
    def label(self) -> str:
        return f"{self.prefix}={self.public_url}" if self.prefix else self.public_url

    @property
    def public_url(self) -> str:
        """The URL without credentials or query (which may hold a key), for messages and records."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"

    def record(self) -> dict[str, Any]:
        return {"url": self.public_url, "transport": self.transport, "prefix": self.prefix}


def _auto_transport(url: str) -> str:
    return "sse" if urlsplit(url).path.rstrip("/").endswith("/sse") else "streamable-http"


def parse_mcp_servers(
    specs: str | Iterable[str] | None, transport: str = "auto"
) -> list[MCPServerSpec]:
    """Check `--mcp-server-url` values (`URL` or `name=URL`) and `--mcp-transport`; no I/O."""
    if transport not in MCP_TRANSPORTS:
        raise ConfigError(
            f"unknown --mcp-transport '{transport}'; use one of {', '.join(MCP_TRANSPORTS)}"
        )
    values = [specs] if isinstance(specs, str) else list(specs or [])
    servers: list[MCPServerSpec] = []
    for value in values:
        name, sep, url = str(value).partition("=")
        if not sep or "://" in name:
            name, url = "", str(value)
        url = url.strip()
        if name and not _NAME.fullmatch(name):
            raise ConfigError(
                f"--mcp-server-url '{value}': the name '{name}' must start with a letter and hold "
                "only letters, digits, '_' and '-'"
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"--mcp-server-url '{value}': not an http(s) URL; use e.g. "
                "http://127.0.0.1:8000/mcp or name=http://host/sse"
            )
        prefix = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or None
        chosen = _auto_transport(url) if transport == "auto" else transport
        servers.append(MCPServerSpec(url, chosen, prefix))
    prefixes = [s.prefix for s in servers if s.prefix]
    duplicated = sorted({p for p in prefixes if prefixes.count(p) > 1})
    if duplicated:
        raise ConfigError(
            f"--mcp-server-url: the name {', '.join(duplicated)} is used for more than one server; "
            "give each server its own name"
        )
    return servers


def _root_cause(exc: BaseException) -> BaseException:
    """The first leaf of an (anyio) exception group, else the exception."""
    group = getattr(builtins, "BaseExceptionGroup", ())  # Python 3.11+
    while isinstance(exc, group) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


class _Session:
    """One open MCP session on a private event loop thread."""

    def __init__(self, spec: MCPServerSpec) -> None:
        self.spec = spec
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="smoltrace-mcp", daemon=True
        )
        self._session: Any = None
        self._closing: asyncio.Event | None = None
        self._main: concurrent.futures.Future[None] | None = None
        self.tools: list[Any] = []

    def open(self, timeout: float) -> None:
        """Connect, initialise and list the tools; raises the transport's error on failure."""
        self._thread.start()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._main = asyncio.run_coroutine_threadsafe(self._run(ready), self._loop)
        try:
            done, _ = concurrent.futures.wait(
                [ready, self._main], timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
            )
            if ready in done:
                ready.result()
                return
            if self._main in done:
                self._main.result()
                raise ConnectionError("the session ended before it was ready")
            raise TimeoutError(f"no answer within {timeout:.0f} s")
        except BaseException:
            self.close()
            raise

    async def _run(self, ready: concurrent.futures.Future[None]) -> None:
        from mcp.client.session import ClientSession

        self._closing = asyncio.Event()
        try:
            async with (
                self._transport() as streams,
                ClientSession(streams[0], streams[1]) as session,
            ):
                await session.initialize()
                self.tools = await self._list_tools(session)
                self._session = session
                ready.set_result(None)
                await self._closing.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(_root_cause(exc))
            elif not self._closing.is_set():
                logger.warning(
                    "MCP server %s: session lost (%s)", self.spec.public_url, _root_cause(exc)
                )
        finally:
            self._session = None

    def _transport(self) -> Any:
        if self.spec.transport == "sse":
            from mcp.client.sse import sse_client

            return sse_client(self.spec.url, timeout=CONNECT_TIMEOUT_S)
        from mcp.client.streamable_http import streamable_http_client

        return streamable_http_client(self.spec.url)

    @staticmethod
    async def _list_tools(session: Any) -> list[Any]:
        tools: list[Any] = []
        cursor = None
        while True:
            page = await (session.list_tools(cursor=cursor) if cursor else session.list_tools())
            tools.extend(page.tools)
            cursor = getattr(page, "next_cursor", None)
            if not cursor:
                return tools

    def call(self, name: str, arguments: dict[str, Any], timeout: float) -> Any:
        session = self._session
        if session is None:
            raise ConnectionError(f"the MCP session with {self.spec.public_url} is closed")
        future = asyncio.run_coroutine_threadsafe(session.call_tool(name, arguments), self._loop)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"MCP tool {name} gave no result within {timeout:.0f} s") from None

    def close(self) -> None:
        """End the session (a clean shutdown when it is open, else cancel the attempt)."""
        if self._main is not None and self._session is None:
            self._main.cancel()  # still connecting: nothing to shut down cleanly
        elif self._closing is not None:
            self._loop.call_soon_threadsafe(self._closing.set)
        if self._main is not None:
            try:
                self._main.result(timeout=CONNECT_TIMEOUT_S)
            except BaseException as exc:  # closing: nothing left to report to
                logger.debug("MCP session %s ended with %r", self.spec.public_url, exc)
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=CONNECT_TIMEOUT_S)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()


def _identifier(name: str) -> str:
    cleaned = re.sub(r"\W", "_", name)
    return f"t_{cleaned}" if not cleaned or cleaned[0].isdigit() else cleaned


def _inputs(schema: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """smolagents `inputs` from a tool's JSON schema; unknown or mixed types become `any`."""
    schema = schema or {}
    required = set(schema.get("required") or [])
    inputs: dict[str, dict[str, Any]] = {}
    for key, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        kind = prop.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k in _JSON_TYPES]
            kind = kinds if kinds and len(kinds) == len(kind) else "any"
        elif kind not in _JSON_TYPES:
            kind = "any"
        entry: dict[str, Any] = {
            "type": kind,
            "description": str(prop.get("description") or prop.get("title") or key),
        }
        if key not in required:
            entry["nullable"] = True
        inputs[key] = entry
    return inputs


def _result_text(result: Any) -> str:
    """What the agent sees: the text parts (or structured content) of a CallToolResult."""
    parts: list[str] = []
    for item in getattr(result, "content", None) or []:
        text = getattr(item, "text", None)
        parts.append(text if text is not None else f"[{getattr(item, 'type', 'content')}]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    text = "\n".join(parts)[:MAX_RESULT_CHARS]
    is_error = getattr(result, "is_error", None)
    return f"Error: {text or 'the MCP tool failed'}" if is_error else text


class MCPTool(Tool):
    """A smolagents tool that forwards its call to one tool of an open MCP session."""

    skip_forward_signature_validation = True
    output_type = "string"

    def __init__(
        self, session: _Session, remote_name: str, name: str, description: str, inputs: dict
    ) -> None:
        self.name = name
        self.description = description
        self.inputs = inputs
        self._session = session
        self._remote_name = remote_name
        self.call_timeout_s = CALL_TIMEOUT_S
        super().__init__()
        self.is_initialized = True

    def forward(self, *args: Any, **kwargs: Any) -> str:
        if args and isinstance(args[0], dict) and len(args) == 1 and not kwargs:
            kwargs = args[0]
        arguments = {k: v for k, v in kwargs.items() if v is not None}
        try:
            result = self._session.call(self._remote_name, arguments, self.call_timeout_s)
        except Exception as exc:  # the agent sees the failure as the tool's answer
            return f"Error: MCP tool {self.name} failed: {type(exc).__name__}: {exc}"
        return _result_text(result)


@dataclass
class _ToolSpec:
    session: _Session
    remote_name: str
    name: str
    description: str
    inputs: dict[str, dict[str, Any]]


class MCPToolset:
    """The open sessions of a run and the tools they offer; `close()` ends every session."""

    def __init__(self, sessions: list[_Session], specs: list[_ToolSpec]) -> None:
        self._sessions = sessions
        self._specs = specs

    @property
    def names(self) -> list[str]:
        return [s.name for s in self._specs]

    def servers(self) -> list[dict[str, Any]]:
        """For the run record: each server's URL, transport, prefix and tool names."""
        return [
            {
                **s.spec.record(),
                "tools": [t.name for t in self._specs if t.session is s],
            }
            for s in self._sessions
        ]

    def make_tools(self) -> list[Tool]:
        """Fresh Tool objects (one agent's) over the shared sessions."""
        return [
            MCPTool(t.session, t.remote_name, t.name, t.description, dict(t.inputs))
            for t in self._specs
        ]

    def close(self) -> None:
        for session in self._sessions:
            session.close()
        self._sessions = []

    def __enter__(self) -> MCPToolset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_with_retries(spec: MCPServerSpec) -> _Session:
    last: BaseException | None = None
    for attempt in range(CONNECT_ATTEMPTS):
        if attempt:
            wait = RETRY_WAITS_S[min(attempt - 1, len(RETRY_WAITS_S) - 1)]
            logger.warning(
                "MCP server %s: attempt %d failed (%s); retrying in %.0f s",
                spec.public_url,
                attempt,
                last,
                wait,
            )
            time.sleep(wait)
        session = _Session(spec)
        try:
            session.open(CONNECT_TIMEOUT_S)
            return session
        except Exception as exc:
            last = exc
    reason = f"{type(last).__name__}: {last}" if last else "unknown error"
    raise ConfigError(
        f"MCP server {spec.label} ({spec.transport}) could not be reached after "
        f"{CONNECT_ATTEMPTS} attempts ({reason.splitlines()[0][:200]}); check the URL and "
        "--mcp-transport, or remove --mcp-server-url"
    )


def connect_mcp_servers(
    servers: list[MCPServerSpec], reserved_names: Iterable[str] = ()
) -> MCPToolset:
    """Open every server and collect its tools; any failure closes what was opened and raises."""
    try:
        import mcp.client.session  # noqa: F401
    except ImportError:
        raise ConfigError(
            "--mcp-server-url needs the MCP SDK; install it with: pip install 'smoltrace[mcp]'"
        ) from None
    sessions: list[_Session] = []
    specs: list[_ToolSpec] = []
    taken = {name: "a built-in tool" for name in reserved_names}
    try:
        for server in servers:
            logger.info("[MCP] Connecting to %s (%s)", server.public_url, server.transport)
            session = _open_with_retries(server)
            sessions.append(session)
            if not session.tools:
                raise ConfigError(
                    f"MCP server {server.label} lists no tools; check the server, or remove it"
                )
            for tool in session.tools:
                base = _identifier(tool.name)
                name = f"{server.prefix}_{base}" if server.prefix else base
                if name in taken:
                    raise ConfigError(
                        f"MCP tool name '{name}' from {server.label} is also {taken[name]}; "
                        "give the server a name (name=URL) so its tools get a prefix"
                    )
                taken[name] = f"a tool of {server.label}"
                description = (
                    tool.description or ""
                ).strip() or f"Tool {tool.name} of {server.public_url}"
                schema = getattr(tool, "input_schema", None)
                specs.append(_ToolSpec(session, tool.name, name, description, _inputs(schema)))
            logger.info("[MCP] Loaded %d tools from %s", len(session.tools), server.public_url)
    except BaseException:
        for session in sessions:
            session.close()
        raise
    return MCPToolset(sessions, specs)
