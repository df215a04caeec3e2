"""A small OTLP/HTTP collector for tests: decodes what smoltrace exports and keeps it for assertions.

`POST /v1/traces` and `POST /v1/metrics` bodies are parsed as `ExportTraceServiceRequest` and
`ExportMetricsServiceRequest` (opentelemetry-proto); every request's headers and raw body are kept,
so a test can look for a secret in the bytes that went over the wire. `status` makes the receiver
answer every request with that HTTP status instead (e.g. 500); `hold()` makes it keep requests
waiting until `release()`. The run's end flushes its export, so tests read the receiver's state
once the run has returned, without waiting.

Stdlib server on 127.0.0.1 (ephemeral port), one thread per connection, TCP_NODELAY and one write
per response so loopback requests are not delayed by Nagle's algorithm.
"""

from __future__ import annotations

import gzip
import socket
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


def attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in pairs}


@dataclass
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    attributes: dict[str, Any]
    resource: dict[str, Any]


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class OtlpReceiver:
    """Collects spans and metric batches; `status` (default 200) is what every request gets."""

    status: int = 200
    requests: list[Request] = field(default_factory=list)
    spans: list[ReceivedSpan] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)  # {"resource", "names"} per batch

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._gate = threading.Event()
        self._gate.set()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> OtlpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver._handle(self, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- behaviour -------------------------------------------------------------------------

    def hold(self) -> None:
        """Keep every request waiting (after it is recorded) until :meth:`release`."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def span_ids(self) -> set[str]:
        with self._lock:
            return {s.span_id for s in self.spans}

    # -- request handling ------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        encoding = (handler.headers.get("Content-Encoding") or "").lower()
        body = (
            gzip.decompress(raw)
            if encoding == "gzip"
            else zlib.decompress(raw)
            if encoding == "deflate"
            else raw
        )
        path = handler.path.split("?", 1)[0]
        status = self.status
        reply = b""
        if status == 200:
            if path == "/v1/traces":
                self._take_spans(body)
                reply = ExportTraceServiceResponse().SerializeToString()
            elif path == "/v1/metrics":
                self._take_metrics(body)
                reply = ExportMetricsServiceResponse().SerializeToString()
            else:
                status = 404
        with self._lock:
            self.requests.append(
                Request(
                    handler.path, {k.lower(): v for k, v in handler.headers.items()}, body, status
                )
            )
        self._gate.wait()
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            "Content-Type: application/x-protobuf\r\n"
            f"Content-Length: {len(reply)}\r\n\r\n"
        ).encode()
        handler.wfile.write(head + reply)
        handler.wfile.flush()

    def _take_spans(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        received = []
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        ReceivedSpan(
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex() or None,
                            name=span.name,
                            attributes=attributes(span.attributes),
                            resource=resource,
                        )
                    )
        with self._lock:
            self.spans.extend(received)

    def _take_metrics(self, body: bytes) -> None:
        """One entry per resource: its attributes, metric names, and each number point as
        `{"name", "attributes", "value"}` (histograms are named but not unpacked)."""
        request = ExportMetricsServiceRequest.FromString(body)
        batches = []
        for resource_metrics in request.resource_metrics:
            metrics = [m for sm in resource_metrics.scope_metrics for m in sm.metrics]
            points = [
                {
                    "name": m.name,
                    "attributes": attributes(p.attributes),
                    "value": p.as_double if p.WhichOneof("value") == "as_double" else p.as_int,
                }
                for m in metrics
                for p in (m.sum.data_points or m.gauge.data_points)
            ]
            batches.append(
                {
                    "resource": attributes(resource_metrics.resource.attributes),
                    "names": [m.name for m in metrics],
                    "points": points,
                }
            )
        with self._lock:
            self.metrics.extend(batches)


if __name__ == "__main__":  # a receiver in its own process, e.g. for bench/bench_otlp_export.py
    import sys

    with OtlpReceiver() as server:
        print(server.url, flush=True)
        sys.stdin.read()  # serve until stdin closes
