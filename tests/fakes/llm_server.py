"""A scripted chat-model server speaking the OpenAI and Ollama HTTP protocols.

Tests point the real litellm client (and real smolagents agents) at this server so that the whole
model-call path, including retries, streaming and token accounting, runs without any network or
real model. Replies come from a *responder* (a function of the request body); everything the
server receives and every usage block it sends is recorded for assertions.

Faults can be injected per request (:meth:`ScriptedLLMServer.set_faults`): HTTP errors, 429 with
``Retry-After``, bursts, malformed 200 bodies, connection resets and hangs. A fault plan decides from
the conversation (:func:`task_text`) and the request's position in it, never from arrival order, so
the same run meets the same faults however its workers interleave.

Stdlib only; the server binds to 127.0.0.1 on an ephemeral port and serves each connection in
its own thread, so parallel agent workers can call it at once.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import json
import logging
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

logger = logging.getLogger(__name__)

_STREAM_PIECE_CHARS = 16  # streamed text and tool arguments are cut into pieces of this size


@dataclass
class Reply:
    """What the fake model answers to one request; token counts are derived when left None."""

    content: str | None = None
    tool_calls: list[dict] | None = (
        None  # [{"name": "get_weather", "arguments": {"location": "Paris"}}]
    )
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


Responder = Callable[[dict], Reply]


def tool_call(name: str, **arguments: Any) -> Reply:
    """A reply that calls one tool with keyword arguments."""
    return Reply(tool_calls=[{"name": name, "arguments": arguments}])


def text(content: str) -> Reply:
    """A plain text reply."""
    return Reply(content=content)


def code(python_source: str) -> Reply:
    """A CodeAgent answer in smolagents' default ``<code>...</code>`` block format."""
    return Reply(content=f"Thought: I will run this code.\n<code>\n{python_source}\n</code>")


def message_text(message: dict) -> str:
    """Text of a chat message whose content is a string, a list of parts, or None."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type", "text") == "text"
        )
    return ""


def task_text(body: dict) -> str:
    """The conversation's task: the first user message, or the prompt of an ``/api/generate`` body.

    Agents repeat their task as the first user message on every step, so this identifies a
    conversation across the requests of one agent run.
    """
    for message in body.get("messages") or []:
        if message.get("role") == "user":
            return message_text(message)
    return str(body.get("prompt", ""))


def default_responder(body: dict) -> Reply:
    """Finish at once: a ``final_answer`` tool call when tools are offered, else a code block."""
    if body.get("tools"):
        return tool_call("final_answer", answer="ok")
    return code('final_answer("ok")')


def sequence(*replies: Reply) -> Responder:
    """Answer ``replies`` in order within each conversation, then repeat the last one.

    Conversations are keyed by :func:`task_text`, so agents running different tasks in parallel
    each walk through their own copy of the sequence.
    """
    if not replies:
        raise ValueError("sequence() needs at least one reply")
    lock = threading.Lock()
    positions: dict[str, int] = {}

    def respond(body: dict) -> Reply:
        key = task_text(body)
        with lock:
            position = positions.get(key, 0)
            positions[key] = position + 1
        return replies[min(position, len(replies) - 1)]

    return respond


def by_task(
    mapping: dict[str, Responder | list[Reply]], default: Responder | None = None
) -> Responder:
    """Pick a responder by a substring of the task; a list of replies means ``sequence(*list)``.

    Keys are tried in insertion order. With no match and no ``default`` the request fails, so a
    mistyped task key shows up as an error instead of a silently wrong answer.
    """
    routes = [
        (needle, sequence(*target) if isinstance(target, list) else target)
        for needle, target in mapping.items()
    ]

    def respond(body: dict) -> Reply:
        task = task_text(body)
        for needle, responder in routes:
            if needle in task:
                return responder(body)
        if default is None:
            raise LookupError(f"no scripted task matches {task[:200]!r}")
        return default(body)

    return respond


ADDITION_TASK = re.compile(r"What is (\d+) plus (\d+)\?")


def graded_addition(correct: Callable[[str, Any], bool]) -> Responder:
    """Tool-agent answers to "What is A plus B?" tasks, right or wrong as `correct(task, seed)` says.

    The first step calls `calculator`, the next answers A+B when `correct` is true and A+B+1
    otherwise. Stateless: the step is the number of assistant messages in the request and the
    attempt is the request's `seed`, so each attempt gets the same answers in any worker order.
    """

    def respond(body: dict) -> Reply:
        task = task_text(body)
        match = ADDITION_TASK.search(task)
        if match is None:
            raise LookupError(f"not an addition task: {task[:200]!r}")
        a, b = int(match[1]), int(match[2])
        step = sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")
        if step == 0:
            return tool_call("calculator", expression=f"{a} + {b}")
        answer = a + b if correct(task, body.get("seed")) else a + b + 1
        return tool_call("final_answer", answer=str(answer))

    return respond


def prompt_token_count(body: dict) -> int:
    """Deterministic prompt size: per message, its text length // 4 + 4."""
    if "messages" in body:
        return sum(len(message_text(m)) // 4 + 4 for m in body["messages"])
    return len(str(body.get("prompt", ""))) // 4 + 4


def completion_token_count(content: str | None, tool_calls: list[dict] | None) -> int:
    """Deterministic completion size: the JSON of the reply's content and tool calls // 4 + 1."""
    payload = json.dumps({"content": content, "tool_calls": tool_calls}, sort_keys=True)
    return len(payload) // 4 + 1


def _truncate_at_stop(content: str | None, stop: str | list[str] | None) -> str | None:
    """Cut content before the first stop sequence, as a real server does."""
    if content is None or not stop:
        return content
    stops = [stop] if isinstance(stop, str) else stop
    cut = min((i for i in (content.find(s) for s in stops if s) if i >= 0), default=len(content))
    return content[:cut]


def _pieces(value: str) -> list[str]:
    return [value[i : i + _STREAM_PIECE_CHARS] for i in range(0, len(value), _STREAM_PIECE_CHARS)]


@dataclass(frozen=True)
class _Failure:
    status: int
    body: str | None
    retry_after: float | None


FAULT_KINDS = ("status", "malformed", "reset", "hang")


@dataclass(frozen=True)
class Fault:
    """One injected fault: an HTTP error, a malformed 200 body, a reset connection or a hang.

    A hang holds the request for ``hang_s`` seconds (or until the server stops), then closes the
    connection without an answer.
    """

    kind: str
    status: int = 500
    retry_after: float | None = None
    body: str | None = None
    hang_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {FAULT_KINDS}")


def server_error(status: int = 500) -> Fault:
    return Fault("status", status=status)


def rate_limited(retry_after: float | None = None) -> Fault:
    return Fault("status", status=429, retry_after=retry_after)


def malformed(body: str = '{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess') -> Fault:
    """A 200 whose body is not a usable completion (truncated JSON by default)."""
    return Fault("malformed", status=200, body=body)


def connection_reset() -> Fault:
    return Fault("reset")


def hang(seconds: float = 3600.0) -> Fault:
    return Fault("hang", hang_s=seconds)


FaultPlan = Callable[[str, int], "Fault | None"]
"""``plan(conversation, position)``: the fault for the request at ``position`` (0-based, counting
every request of that conversation, retries included), or None to answer normally."""


def _draw(seed: int, conversation: str, position: int) -> float:
    digest = hashlib.sha256(f"{seed}|{conversation}|{position}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def fault_rate(fault: Fault, rate: float, seed: int = 0, burst: int = 1) -> FaultPlan:
    """Each request starts a burst of ``burst`` faulty requests with probability ``rate``.

    The draw is a hash of (seed, conversation, position): deterministic per request, and a retry
    (the next position) gets a fresh draw.
    """

    def plan(conversation: str, position: int) -> Fault | None:
        starts = range(max(0, position - burst + 1), position + 1)
        return fault if any(_draw(seed, conversation, p) < rate for p in starts) else None

    return plan


def first_requests(fault: Fault, count: int, match: str = "") -> FaultPlan:
    """The first ``count`` requests of every conversation containing ``match`` get ``fault``."""

    def plan(conversation: str, position: int) -> Fault | None:
        return fault if match in conversation and position < count else None

    return plan


@dataclass(frozen=True)
class _Answer:
    """A reply resolved for sending: stop sequences applied, ids and token counts fixed."""

    content: str | None
    tool_calls: list[dict]  # [{"id", "name", "arguments"}]
    prompt_tokens: int
    completion_tokens: int

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


class _HTTPServer(ThreadingHTTPServer):
    """Tracks open connections so that stop() can close idle keep-alive sockets too."""

    daemon_threads = True

    def __init__(self, app: ScriptedLLMServer) -> None:
        self.app = app
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def close_open_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # without this, Nagle meets delayed ACK and every loopback answer waits ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self.server.app._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.app._handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.app._handle(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.app._handle(self, "DELETE")

    def do_PATCH(self) -> None:
        self.server.app._handle(self, "PATCH")

    def do_HEAD(self) -> None:
        self.server.app._handle(self, "HEAD")

    def reset_connection(self) -> None:
        """Abort the connection with a TCP reset (SO_LINGER 0), as a crashing proxy does."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send_json(
        self, status: int, payload: object, headers: dict[str, str] | None = None
    ) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def send_bytes(
        self,
        status: int,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_stream(self, content_type: str, chunks: Iterator[bytes]) -> None:
        """Send chunks with chunked transfer encoding, flushing each one like a live model."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in chunks:
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class ScriptedLLMServer:
    """OpenAI-compatible and Ollama-protocol chat server answering from a responder.

    ``url`` is the Ollama base (``api_base`` for litellm's ``ollama_chat/`` and ``ollama/``);
    ``openai_base`` is the base for ``openai/`` models.
    """

    def __init__(self, responder: Responder | None = None, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self._responder = responder or default_responder
        self._lock = threading.Lock()
        self._requests: list[dict] = []
        self._usages: list[dict] = []
        self._unhandled: list[str] = []
        self._responder_errors: list[str] = []
        self._models_seen: dict[str, None] = {}
        self._failures: deque[_Failure] = deque()
        self._fault_plan: FaultPlan | None = None
        self._positions: dict[str, int] = {}
        self._faults_sent: list[tuple[str, int, str]] = []
        self._stopping = threading.Event()
        self._response_ids = itertools.count(1)
        self._tool_call_ids = itertools.count(1)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ScriptedLLMServer:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stopping.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="scripted-llm-server",
            daemon=True,
        )
        self._thread.start()
        logger.debug("scripted LLM server listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, close every open connection and join the server thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()  # releases hanging requests
        httpd.shutdown()
        httpd.close_open_connections()
        httpd.server_close()
        thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- public state ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_base(self) -> str:
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[dict]:
        """Every generation request body received (failed ones included), in arrival order."""
        with self._lock:
            return copy.deepcopy(self._requests)

    @property
    def usages(self) -> list[dict]:
        """Every usage block sent, as ``prompt_tokens``/``completion_tokens``/``total_tokens``."""
        with self._lock:
            return copy.deepcopy(self._usages)

    @property
    def unhandled(self) -> list[str]:
        """``"METHOD /path"`` of every request to a route this server does not know."""
        with self._lock:
            return list(self._unhandled)

    @property
    def responder_errors(self) -> list[str]:
        """Errors raised by the responder; each was answered with HTTP 400."""
        with self._lock:
            return list(self._responder_errors)

    def fail_next(
        self,
        status: int,
        times: int = 1,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` generation requests with HTTP ``status`` instead of a reply."""
        with self._lock:
            self._failures.extend([_Failure(status, body, retry_after)] * times)

    def set_faults(self, plan: FaultPlan | None) -> None:
        """Inject faults from now on as ``plan`` decides (None: no more faults)."""
        with self._lock:
            self._fault_plan = plan

    @property
    def faults_sent(self) -> list[tuple[str, int, str]]:
        """``(conversation, position, kind)`` of every injected fault, in arrival order."""
        with self._lock:
            return list(self._faults_sent)

    def set_responder(self, responder: Responder) -> None:
        with self._lock:
            self._responder = responder

    # -- request handling ------------------------------------------------------------------------

    def _handle(self, handler: _Handler, method: str) -> None:
        path = handler.path.split("?", 1)[0].rstrip("/") or "/"
        raw = handler.read_body()
        route = (method, path)
        if route == ("POST", "/v1/chat/completions"):
            self._generate(handler, raw, "openai")
        elif route == ("POST", "/api/chat"):
            self._generate(handler, raw, "ollama_chat")
        elif route == ("POST", "/api/generate"):
            self._generate(handler, raw, "ollama_generate")
        elif route == ("GET", "/v1/models"):
            models = [
                {"id": m, "object": "model", "created": 0, "owned_by": "scripted"}
                for m in self._models()
            ]
            handler.send_json(200, {"object": "list", "data": models})
        elif route == ("GET", "/api/tags"):
            handler.send_json(
                200, {"models": [self._ollama_model_entry(m) for m in self._models()]}
            )
        elif route == ("POST", "/api/show"):
            handler.send_json(200, self._ollama_show())
        else:
            with self._lock:
                self._unhandled.append(f"{method} {handler.path}")
            logger.warning("scripted LLM server: unhandled %s %s", method, handler.path)
            handler.send_json(404, {"error": f"unknown route {method} {path}"})

    def _generate(self, handler: _Handler, raw: bytes, protocol: str) -> None:
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            handler.send_json(400, _error_payload(protocol, f"invalid JSON body: {exc}"))
            return
        with self._lock:
            self._requests.append(copy.deepcopy(body))
            if isinstance(body.get("model"), str):
                self._models_seen[body["model"]] = None
            failure = self._failures.popleft() if self._failures else None
            responder = self._responder
            call_number = next(self._response_ids)
            conversation = task_text(body)
            position = self._positions.get(conversation, 0)
            self._positions[conversation] = position + 1
            fault = self._fault_plan(conversation, position) if self._fault_plan else None
            if fault is not None and failure is None:
                self._faults_sent.append((conversation, position, fault.kind))
        if self.latency_s > 0:
            time.sleep(self.latency_s)
        if failure is not None:
            self._send_failure(handler, protocol, failure)
            return
        if fault is not None:
            self._send_fault(handler, protocol, fault)
            return
        try:
            answer = self._resolve(body, responder(copy.deepcopy(body)), protocol)
        except Exception as exc:  # a broken script must reach the test as a client error
            message = f"responder failed: {type(exc).__name__}: {exc}"
            logger.exception("scripted LLM server: %s", message)
            with self._lock:
                self._responder_errors.append(message)
            handler.send_json(400, _error_payload(protocol, message))
            return
        model = str(body.get("model", "scripted"))
        stream = bool(body.get("stream"))
        if protocol == "openai":
            if stream:
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                chunks = self._openai_chunks(answer, model, call_number, include_usage)
                handler.send_stream("text/event-stream", chunks)
            else:
                self._record_usage(answer)
                handler.send_json(200, _openai_completion(answer, model, call_number))
        elif protocol == "ollama_chat" and stream:
            handler.send_stream("application/x-ndjson", self._ollama_chat_chunks(answer, model))
        elif protocol == "ollama_chat":
            self._record_usage(answer)
            handler.send_json(
                200, _ollama_final(answer, model, {"message": _ollama_chat_message(answer)})
            )
        elif stream:
            handler.send_stream("application/x-ndjson", self._ollama_generate_chunks(answer, model))
        else:
            self._record_usage(answer)
            handler.send_json(200, _ollama_final(answer, model, _ollama_generate_fields(answer)))

    def _resolve(self, body: dict, reply: Reply, protocol: str) -> _Answer:
        if not isinstance(reply, Reply):
            raise TypeError(f"responder returned {type(reply).__name__}, expected Reply")
        stop = body.get("stop") if protocol == "openai" else (body.get("options") or {}).get("stop")
        content = _truncate_at_stop(reply.content, stop)
        calls = reply.tool_calls or []
        if protocol == "ollama_generate" and len(calls) > 1:
            raise ValueError("/api/generate can carry at most one tool call")
        with self._lock:
            ids = [f"call_{next(self._tool_call_ids)}" for _ in calls]
        return _Answer(
            content=content,
            tool_calls=[
                {"id": i, "name": c["name"], "arguments": c.get("arguments", {})}
                for i, c in zip(ids, calls, strict=True)
            ],
            prompt_tokens=(
                reply.prompt_tokens if reply.prompt_tokens is not None else prompt_token_count(body)
            ),
            completion_tokens=(
                reply.completion_tokens
                if reply.completion_tokens is not None
                else completion_token_count(content, reply.tool_calls)
            ),
        )

    def _record_usage(self, answer: _Answer) -> None:
        with self._lock:
            self._usages.append(answer.usage())

    def _send_fault(self, handler: _Handler, protocol: str, fault: Fault) -> None:
        if fault.kind == "status":
            self._send_failure(handler, protocol, _Failure(fault.status, None, fault.retry_after))
        elif fault.kind == "malformed":
            handler.send_bytes(200, (fault.body or "").encode(), "application/json")
        elif fault.kind == "reset":
            handler.reset_connection()
        else:  # hang: hold the request, then drop the connection unanswered
            self._stopping.wait(fault.hang_s)
            handler.reset_connection()

    def _send_failure(self, handler: _Handler, protocol: str, failure: _Failure) -> None:
        headers = {} if failure.retry_after is None else {"Retry-After": f"{failure.retry_after:g}"}
        if failure.body is not None:
            handler.send_bytes(failure.status, failure.body.encode(), "application/json", headers)
            return
        message = f"scripted failure (HTTP {failure.status})"
        handler.send_json(failure.status, _error_payload(protocol, message), headers)

    def _openai_chunks(
        self, answer: _Answer, model: str, call_number: int, include_usage: bool
    ) -> Iterator[bytes]:
        base = {
            "id": f"chatcmpl-scripted-{call_number}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_scripted",
        }

        def event(delta: dict, finish_reason: str | None = None) -> bytes:
            chunk = {
                **base,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            if include_usage:
                chunk["usage"] = None
            return _sse(chunk)

        yield event({"role": "assistant", "content": ""})
        for piece in _pieces(answer.content or ""):
            yield event({"content": piece})
        for index, call in enumerate(answer.tool_calls):
            head = {"index": index, "id": call["id"], "type": "function"}
            yield event(
                {"tool_calls": [{**head, "function": {"name": call["name"], "arguments": ""}}]}
            )
            for piece in _pieces(json.dumps(call["arguments"])):
                yield event({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield event({}, answer.finish_reason)
        if include_usage:
            self._record_usage(answer)
            yield _sse({**base, "choices": [], "usage": answer.usage()})
        yield b"data: [DONE]\n\n"

    def _ollama_chat_chunks(self, answer: _Answer, model: str) -> Iterator[bytes]:
        for piece in _pieces(answer.content or ""):
            message = {"role": "assistant", "content": piece}
            yield _ndjson({"model": model, "created_at": _now(), "message": message, "done": False})
        if answer.tool_calls:
            message = _ollama_chat_message(answer)
            message["content"] = ""
            yield _ndjson({"model": model, "created_at": _now(), "message": message, "done": False})
        self._record_usage(answer)
        yield _ndjson(
            _ollama_final(answer, model, {"message": {"role": "assistant", "content": ""}})
        )

    def _ollama_generate_chunks(self, answer: _Answer, model: str) -> Iterator[bytes]:
        for piece in _pieces(_ollama_generate_fields(answer)["response"]):
            yield _ndjson({"model": model, "created_at": _now(), "response": piece, "done": False})
        self._record_usage(answer)
        yield _ndjson(_ollama_final(answer, model, {"response": ""}))

    def _models(self) -> list[str]:
        with self._lock:
            return list(self._models_seen) or ["scripted"]

    @staticmethod
    def _ollama_model_entry(name: str) -> dict:
        return {
            "name": name,
            "model": name,
            "modified_at": "2025-01-01T00:00:00Z",
            "size": 0,
            "digest": "0" * 64,
            "details": {"format": "gguf", "family": "llama", "parameter_size": "8B"},
        }

    @staticmethod
    def _ollama_show() -> dict:
        """Model details as Ollama reports them; a ``.Tools`` template marks tool support."""
        return {
            "modelfile": "",
            "parameters": "",
            "template": "{{ if .Tools }}tools{{ end }}{{ .Prompt }}",
            "details": {"format": "gguf", "family": "llama", "parameter_size": "8B"},
            "model_info": {"general.architecture": "llama", "llama.context_length": 8192},
            "capabilities": ["completion", "tools"],
        }


def _error_payload(protocol: str, message: str) -> dict:
    if protocol == "openai":
        return {
            "error": {"message": message, "type": "scripted_error", "param": None, "code": None}
        }
    return {"error": message}


def _openai_completion(answer: _Answer, model: str, call_number: int) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if answer.tool_calls:
        message["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
            }
            for call in answer.tool_calls
        ]
    return {
        "id": f"chatcmpl-scripted-{call_number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_scripted",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": answer.finish_reason,
            }
        ],
        "usage": answer.usage(),
    }


def _ollama_chat_message(answer: _Answer) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": answer.content or ""}
    if answer.tool_calls:
        message["tool_calls"] = [
            {"function": {"index": index, "name": call["name"], "arguments": call["arguments"]}}
            for index, call in enumerate(answer.tool_calls)
        ]
    return message


def _ollama_generate_fields(answer: _Answer) -> dict:
    """``/api/generate`` has no tool calls; one is sent as the JSON litellm parses in JSON mode."""
    if answer.tool_calls:
        call = answer.tool_calls[0]
        return {"response": json.dumps({"name": call["name"], "arguments": call["arguments"]})}
    return {"response": answer.content or ""}


def _ollama_final(answer: _Answer, model: str, fields: dict) -> dict:
    """The closing Ollama object: ``done`` with token counts (durations in nanoseconds)."""
    return {
        "model": model,
        "created_at": _now(),
        **fields,
        "done": True,
        "done_reason": "stop",
        "total_duration": 0,
        "load_duration": 0,
        "prompt_eval_count": answer.prompt_tokens,
        "prompt_eval_duration": 0,
        "eval_count": answer.completion_tokens,
        "eval_duration": 0,
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _sse(payload: dict) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _ndjson(payload: dict) -> bytes:
    return (json.dumps(payload) + "\n").encode()
