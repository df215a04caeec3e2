"""OTLP/HTTP export of a run's spans and metrics to a collector, besides the in-memory capture.

Spans reach the collector as redacted copies: the run's in-memory exporter hands every span it
keeps (root spans and the agent, step, LLM and tool spans the SpanRouter sends it) to the run's
:class:`SpanBatcher` together with the dict it made, and the copy is built from that dict's
attributes, so the collector gets exactly the redaction of `traces.json`. The agent's thread only
appends to a bounded queue; a background thread builds the copies and sends them in batches. A full
queue drops the span (counted), a failed export counts its spans, and the end of the run waits at
most about one export timeout for the rest: a dead collector costs the run that, never its result.

Metrics go through a second periodic reader on the run's MeterProvider, with string attributes
redacted. Header values and credentials in the endpoint are secrets: they are registered with
:mod:`smoltrace.redaction`, and the report written to `metadata.json` names only the header names
and the endpoint without user info or query.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Status

from .. import pricing
from ..errors import ConfigError
from ..redaction import Redact, register_secret, secret_redactor
from .exporters import CUMULATIVE_TEMPORALITY
from .traces import COMPLETION_TOKENS, COST, LLM_KIND, PROMPT_TOKENS, SPAN_KIND

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "OtlpConfig",
    "OtlpExport",
    "SpanBatcher",
    "otlp_config",
]

DEFAULT_TIMEOUT_S = 5.0
EXPORTER_PACKAGE = "opentelemetry-exporter-otlp-proto-http"
TRACES_PATH = "/v1/traces"
METRICS_PATH = "/v1/metrics"
MAX_QUEUE = 8192
BATCH_SIZE = 512
BATCH_DELAY_S = 1.0
# Phoenix (and other OpenInference collectors) file spans under this resource attribute and show
# no other resource attribute: each run becomes a project named by its run id.
PROJECT_ATTRIBUTE = "openinference.project.name"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# The OTLP exporters log every failed batch; one line per run and logger says why, the counts
# in metadata.json say how many.
EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
)


@dataclass(frozen=True)
class OtlpConfig:
    """A validated collector address; `endpoint` and `headers` may hold credentials (no repr)."""

    endpoint: str = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S
    # The run's model and provider: model-call spans are priced with them as traces.json prices
    # them (run_evaluation sets these; without a model the exported spans carry no cost).
    model_id: str | None = None
    provider: str = "litellm"

    @property
    def display_endpoint(self) -> str:
        """The endpoint without user info, query or fragment: safe to log and to publish."""
        return _without_credentials(self.endpoint)

    def signal_url(self, signal_path: str) -> str:
        """`{endpoint}/v1/traces` or `/v1/metrics`; an endpoint given as a signal URL is reused."""
        parts = urlsplit(self.endpoint)
        base = parts.path.rstrip("/")
        for known in (TRACES_PATH, METRICS_PATH):
            if base.endswith(known):
                base = base[: -len(known)]
        return urlunsplit(parts._replace(path=base + signal_path, fragment=""))


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse_headers(items: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """`["K=V", ...]` (or a mapping) as a dict; messages never repeat a value, which is a secret."""
    if items is None:
        return {}
    pairs = list(items.items()) if isinstance(items, Mapping) else []
    if not isinstance(items, Mapping):
        for item in items:
            name, sep, value = str(item).partition("=")
            if not sep:
                raise ConfigError(
                    "--otlp-header expects NAME=VALUE (e.g. Authorization='Bearer ...'); "
                    "one value has no '='"
                )
            pairs.append((name, value))
    headers: dict[str, str] = {}
    for name, value in pairs:
        name = str(name).strip()
        if not _HEADER_NAME.match(name):  # not shown: a malformed item may be all secret
            raise ConfigError(
                "an --otlp-header name is not a valid HTTP header name; use NAME=VALUE with a "
                "NAME of letters, digits and '-' (e.g. Authorization=...)"
            )
        if any(c in str(value) for c in "\r\n\0"):
            raise ConfigError(f"--otlp-header {name}: the value contains a line break; remove it")
        headers[name] = str(value)
    return headers


def otlp_config(
    endpoint: str | None,
    headers: Iterable[str] | Mapping[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> OtlpConfig | None:
    """Validate the collector options before any model is called; None without an endpoint.

    Registers header values and endpoint credentials as secrets, so that no log line, trace or
    output file shows them.
    """
    if not endpoint:
        if headers:
            raise ConfigError("--otlp-header needs --otlp-endpoint URL")
        return None
    parts = urlsplit(endpoint)
    shown = _without_credentials(endpoint)
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise ConfigError(f"--otlp-endpoint {shown}: the port is not a number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--otlp-endpoint {shown or '(empty)'}: use an http:// or https:// URL of an OTLP/HTTP "
            "collector, e.g. http://127.0.0.1:4318"
        )
    if not timeout_s > 0:
        raise ConfigError(f"--otlp-timeout must be a positive number of seconds, got {timeout_s}")
    parsed = parse_headers(headers)
    for secret in (
        parts.password,
        parts.username,
        *(v for _, v in parse_qsl(parts.query)),
        *parsed.values(),
    ):
        register_secret(secret)
    if importlib.util.find_spec("opentelemetry.exporter.otlp.proto.http") is None:
        raise ConfigError(
            f"--otlp-endpoint needs the OTLP/HTTP exporter: pip install {EXPORTER_PACKAGE}"
        )
    return OtlpConfig(endpoint, parsed, float(timeout_s))


# -- spans -------------------------------------------------------------------------------------


def _attributes(plain: Mapping[str, Any]) -> dict[str, Any]:
    """Redacted span attributes as OTel attribute values (None has no OTLP encoding)."""
    return {k: v for k, v in plain.items() if v is not None}


def export_copy(
    span: ReadableSpan,
    converted: Mapping[str, Any],
    resource: Resource,
    config: OtlpConfig | None = None,
) -> ReadableSpan:
    """The span as the collector gets it: `converted`'s redacted attributes, events and status
    description, the run's resource; link attributes are left out (only their contexts go).

    A model-call span gets `gen_ai.usage.cost.total` as in traces.json, priced at the run's model
    and provider from `config` (an LLM span nested in another, which only a second instrumentation
    would make, is priced here too, while traces.json counts that call once)."""
    attributes = _attributes(converted["attributes"])
    if (
        config is not None
        and config.model_id
        and attributes.get(SPAN_KIND) == LLM_KIND
        and PROMPT_TOKENS in attributes
        and COMPLETION_TOKENS in attributes
    ):
        cost = pricing.price(
            config.model_id,
            int(attributes[PROMPT_TOKENS]),
            int(attributes[COMPLETION_TOKENS]),
            config.provider,
        )
        if cost is not None:
            attributes[COST] = cost
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=resource,
        attributes=attributes,
        events=[
            Event(e["name"], _attributes(e["attributes"]), e["timestamp"])
            for e in converted["events"]
        ],
        links=[Link(link.context) for link in span.links],
        kind=span.kind,
        status=Status(span.status.status_code, converted["status"]["description"]),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class SpanBatcher:
    """Sends spans to a SpanExporter from a background thread, counting each span's fate.

    Every offered span ends up in exactly one of `exported`, `failed` (the collector refused it or
    could not be reached) and `dropped` (the queue was full, or the run ended before it was sent).
    """

    def __init__(
        self,
        exporter: SpanExporter,
        resource: Resource,
        *,
        config: OtlpConfig | None = None,
        max_queue: int = MAX_QUEUE,
        batch_size: int = BATCH_SIZE,
        delay_s: float = BATCH_DELAY_S,
    ) -> None:
        self._exporter = exporter
        self._resource = resource
        self._config = config
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._delay_s = delay_s
        self._queue: deque[tuple[ReadableSpan, Mapping[str, Any]]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._deadline = 0.0
        self._abandoned = False
        self._in_flight = 0
        self.exported = self.failed = self.dropped = 0
        self._thread = threading.Thread(target=self._work, name="smoltrace-otlp-spans", daemon=True)
        self._thread.start()

    def offer(self, span: ReadableSpan, converted: Mapping[str, Any]) -> None:
        """Queue one finished span (called on the agent's thread: no I/O, no conversion)."""
        with self._lock:
            if self._closing or len(self._queue) >= self._max_queue:
                self.dropped += 1
                first_drop = self.dropped == 1
                full = False
            else:
                self._queue.append((span, converted))
                first_drop = False
                full = len(self._queue) >= self._batch_size
        if full:
            self._wake.set()
        if first_drop:
            logger.warning(
                "OTLP export is behind: spans are being dropped (counted in metadata.json)"
            )

    def _work(self) -> None:
        while True:
            self._wake.wait(self._delay_s)
            self._wake.clear()
            while self._send_batch():
                pass
            with self._lock:
                if self._closing and not self._queue:
                    return

    def _send_batch(self) -> bool:
        with self._lock:
            if self._abandoned or not self._queue:
                return False
            count = min(self._batch_size, len(self._queue))
            items = [self._queue.popleft() for _ in range(count)]
            self._in_flight = count
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            batch = [
                export_copy(span, converted, self._resource, self._config)
                for span, converted in items
            ]
            ok = self._exporter.export(batch) is SpanExportResult.SUCCESS
        except Exception:
            logger.debug("OTLP span export raised", exc_info=True)
            ok = False
        finally:
            detach(token)
        with self._lock:
            if not self._abandoned:  # else already counted as failed by close()
                self._in_flight = 0
                if ok:
                    self.exported += count
                else:
                    self.failed += count
        return True

    def begin_close(self, timeout_s: float) -> None:
        """Accept no more spans and send the queued ones now; :meth:`close` waits for them at
        most until `timeout_s` from now."""
        with self._lock:
            if not self._closing:
                self._closing = True
                self._deadline = time.monotonic() + timeout_s
        self._wake.set()

    def close(self, timeout_s: float) -> None:
        """Send what is queued, waiting at most `timeout_s` from :meth:`begin_close` (plus one
        second to abort a request still under way); what is left then is counted dropped, a batch
        still in flight failed."""
        self.begin_close(timeout_s)
        self._thread.join(max(0.0, self._deadline - time.monotonic()))
        late = self._thread.is_alive()
        if late:
            self._exporter.shutdown()  # aborts the exporter's retry back-off
            self._thread.join(1.0)
        with self._lock:
            self.dropped += len(self._queue)
            self._queue.clear()
            if self._thread.is_alive():
                self._abandoned = True
                self.failed += self._in_flight
                self._in_flight = 0
        if not late:
            self._exporter.shutdown()

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                "spans_exported": self.exported,
                "spans_failed": self.failed,
                "spans_dropped": self.dropped,
            }


# -- metrics -----------------------------------------------------------------------------------


def _redacted_resource(resource: Resource, redact: Redact) -> Resource:
    """`resource` with its string attributes redacted (OTEL_RESOURCE_ATTRIBUTES may add any)."""
    return Resource(
        {k: redact(v) if isinstance(v, str) else v for k, v in resource.attributes.items()},
        resource.schema_url,
    )


def _redacted_points(points: Sequence[Any], redact: Redact) -> list[Any]:
    return [
        dataclasses.replace(
            p,
            attributes={
                k: redact(v) if isinstance(v, str) else v for k, v in (p.attributes or {}).items()
            },
        )
        for p in points
    ]


def redacted_metrics(data: MetricsData, redact: Redact) -> MetricsData:
    """`data` with every string attribute of its resources and data points redacted."""
    return MetricsData(
        resource_metrics=[
            dataclasses.replace(
                rm,
                resource=_redacted_resource(rm.resource, redact),
                scope_metrics=[
                    dataclasses.replace(
                        sm,
                        metrics=[
                            dataclasses.replace(
                                m,
                                data=dataclasses.replace(
                                    m.data, data_points=_redacted_points(m.data.data_points, redact)
                                ),
                            )
                            for m in sm.metrics
                        ],
                    )
                    for sm in rm.scope_metrics
                ],
            )
            for rm in data.resource_metrics
        ]
    )


class CountingMetricExporter(MetricExporter):
    """Redacts and forwards each metric export to `inner`, counting successes and failures."""

    def __init__(self, inner: MetricExporter) -> None:
        super().__init__(
            preferred_temporality=dict(inner._preferred_temporality),
            preferred_aggregation=dict(inner._preferred_aggregation),
        )
        self._inner = inner
        self._lock = threading.Lock()
        self.exports = self.failed = 0

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            result = self._inner.export(
                redacted_metrics(metrics_data, secret_redactor()), timeout_millis=timeout_millis
            )
        except Exception:
            logger.debug("OTLP metric export raised", exc_info=True)
            result = MetricExportResult.FAILURE
        with self._lock:
            if result is MetricExportResult.SUCCESS:
                self.exports += 1
            else:
                self.failed += 1
        return MetricExportResult.SUCCESS  # a collector's failure is counted, not the run's

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._inner.shutdown()


# -- one run's export ---------------------------------------------------------------------------


class _OncePerRun(logging.Filter):
    """Lets the first record of each OTLP exporter logger through, redacted; drops the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in self.seen:
            return False
        self.seen.add(record.name)
        message = record.getMessage()
        cleaned = secret_redactor()(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class OtlpExport:
    """One run's export to a collector: its span batcher, its metric reader and their counts."""

    def __init__(self, config: OtlpConfig, resource: Resource, export_interval_ms: float) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        self.config = config
        run_id = resource.attributes.get("run.id")
        if run_id:
            resource = resource.merge(Resource({PROJECT_ATTRIBUTE: str(run_id)}))
        self.resource = _redacted_resource(resource, secret_redactor())
        self._log_gate = _OncePerRun()
        for name in EXPORTER_LOGGERS:
            logging.getLogger(name).addFilter(self._log_gate)
        timeout = config.timeout_s
        self.spans = SpanBatcher(
            OTLPSpanExporter(
                endpoint=config.signal_url(TRACES_PATH), headers=config.headers, timeout=timeout
            ),
            self.resource,
            config=config,
        )
        self.metric_exporter = CountingMetricExporter(
            OTLPMetricExporter(
                endpoint=config.signal_url(METRICS_PATH),
                headers=config.headers,
                timeout=timeout,
                preferred_temporality=dict(CUMULATIVE_TEMPORALITY),
            )
        )
        self.metric_reader = PeriodicExportingMetricReader(
            self.metric_exporter,
            export_interval_millis=export_interval_ms,
            export_timeout_millis=timeout * 1000,
        )

    def forward(self, span: ReadableSpan, converted: Mapping[str, Any]) -> None:
        self.spans.offer(span, converted)

    def begin_close(self) -> None:
        """The run's spans are all in: start sending the last of them (the metric reader's final
        export runs meanwhile)."""
        self.spans.begin_close(self.config.timeout_s)

    def close(self) -> dict[str, Any]:
        """Wait for the last spans (at most the export timeout from :meth:`begin_close`); returns
        :meth:`report`. Call after the run's MeterProvider has shut down."""
        self.spans.close(self.config.timeout_s)
        for name in EXPORTER_LOGGERS:
            logging.getLogger(name).removeFilter(self._log_gate)
        report = self.report()
        total_failed = report["spans_failed"] + report["spans_dropped"]
        if total_failed or report["metric_exports_failed"]:
            logger.warning(
                "OTLP export to %s: %d spans exported, %d failed, %d dropped, %d metric exports "
                "failed (the run itself is complete)",
                report["endpoint"],
                report["spans_exported"],
                report["spans_failed"],
                report["spans_dropped"],
                report["metric_exports_failed"],
            )
        else:
            logger.info(
                "OTLP export to %s: %d spans, %d metric exports",
                report["endpoint"],
                report["spans_exported"],
                report["metric_exports"],
            )
        return report

    def report(self) -> dict[str, Any]:
        """The `otlp` block of metadata.json: no header value, no credential."""
        with self.metric_exporter._lock:
            metric_exports, metric_failed = (
                self.metric_exporter.exports,
                self.metric_exporter.failed,
            )
        return {
            "endpoint": self.config.display_endpoint,
            "header_names": sorted(self.config.headers),
            **self.spans.counts(),
            "metric_exports": metric_exports,
            "metric_exports_failed": metric_failed,
        }
