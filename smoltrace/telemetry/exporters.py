"""In-memory span and metric exporters: OpenTelemetry data as the JSON smoltrace publishes.

Spans become plain dicts (hex ids, ns times, redacted attributes) as they end, so a run's trace can
be read, written and pushed without the SDK objects. Metrics become OTLP-JSON `resourceMetrics`
batches (the form `metrics.json` keeps), one per export of the metric reader.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    ResourceMetrics,
    Sum,
)
from opentelemetry.sdk.metrics.export import (
    Histogram as HistogramData,
)
from opentelemetry.sdk.metrics.view import DefaultAggregation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ..redaction import (  # noqa: F401  (re-exported for callers and tests)
    MAX_STRING_CHARS,
    REDACTED,
    TRUNCATED_SUFFIX,
    Redact,
    secret_redactor,
)

logger = logging.getLogger(__name__)


def plain_value(value: Any, redact: Redact) -> Any:
    """An attribute value as JSON-ready data: strings redacted, sequences as lists."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    if isinstance(value, Sequence):
        return [plain_value(v, redact) for v in value]
    return redact(str(value))


def plain_attributes(attributes: Mapping[str, Any] | None, redact: Redact) -> dict[str, Any]:
    return {key: plain_value(value, redact) for key, value in (attributes or {}).items()}


def span_to_dict(span: ReadableSpan, resource: Resource | None, redact: Redact) -> dict[str, Any]:
    """One span in the published trace form; `resource` replaces the span's own when given."""
    context = span.get_span_context()
    parent = span.parent
    start, end = span.start_time or 0, span.end_time or 0
    status = span.status
    return {
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_span_id": f"{parent.span_id:016x}" if parent is not None else None,
        "name": span.name,
        "kind": span.kind.name,
        "start_time": start,
        "end_time": end,
        "duration_ms": (end - start) / 1e6,
        "attributes": plain_attributes(span.attributes, redact),
        "events": [
            {
                "name": event.name,
                "timestamp": event.timestamp,
                "attributes": plain_attributes(event.attributes, redact),
            }
            for event in span.events
        ],
        "status": {
            "code": status.status_code.name,
            "description": redact(status.description) if status.description else None,
        },
        "resource": {
            "attributes": plain_attributes((resource or span.resource).attributes, redact)
        },
    }


class InMemorySpanExporter(SpanExporter):
    """Keeps every exported span as a dict (see :func:`span_to_dict`); thread-safe.

    `resource` is the run's resource: spans recorded by the agent instrumentation come from the
    process-wide tracer provider, so the run's own `run.id` is stamped on them here. `forward`,
    when set, also gets each span with its (redacted) dict: the run's OTLP export (see otlp.py).
    """

    def __init__(
        self,
        resource: Resource | None = None,
        forward: Callable[[ReadableSpan, dict[str, Any]], None] | None = None,
    ) -> None:
        self.resource = resource
        self.forward = forward
        self._lock = threading.Lock()
        self._spans: list[dict[str, Any]] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        redact = secret_redactor()
        converted = [span_to_dict(span, self.resource, redact) for span in spans]
        with self._lock:
            self._spans.extend(converted)
        if self.forward is not None:
            for span, plain in zip(spans, converted, strict=True):
                self.forward(span, plain)
        return SpanExportResult.SUCCESS

    def get_finished_spans(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._spans)

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()

    def shutdown(self) -> None:
        """Nothing to release; the spans stay readable after the run's provider shuts down."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


# -- metrics -----------------------------------------------------------------------------------

# Counters stay cumulative so that the last point of `gen_ai.co2.emissions` is the run's total.
CUMULATIVE_TEMPORALITY = {
    kind: AggregationTemporality.CUMULATIVE
    for kind in (
        Counter,
        UpDownCounter,
        Histogram,
        ObservableCounter,
        ObservableUpDownCounter,
        ObservableGauge,
    )
}


def _any_value(value: Any) -> dict[str, Any]:
    """OTLP-JSON AnyValue (64-bit integers as strings, as the OTLP JSON encoding has them)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def otlp_attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": key, "value": _any_value(value)} for key, value in (attributes or {}).items()]


def _times(point: Any) -> dict[str, str]:
    times = {"timeUnixNano": str(point.time_unix_nano)}
    if point.start_time_unix_nano:
        times = {"startTimeUnixNano": str(point.start_time_unix_nano), **times}
    return times


def _number_point(point: Any) -> dict[str, Any]:
    value = point.value
    encoded = {"asInt": str(value)} if isinstance(value, int) else {"asDouble": float(value)}
    return {"attributes": otlp_attributes(point.attributes), **_times(point), **encoded}


def _histogram_point(point: Any) -> dict[str, Any]:
    encoded = {
        "attributes": otlp_attributes(point.attributes),
        **_times(point),
        "count": str(point.count),
        "sum": float(point.sum),
        "bucketCounts": [str(c) for c in point.bucket_counts],
        "explicitBounds": [float(b) for b in point.explicit_bounds],
    }
    if point.count:  # an empty histogram has infinite min/max, which JSON cannot hold
        encoded.update(min=float(point.min), max=float(point.max))
    return encoded


def metric_to_dict(metric: Any) -> dict[str, Any] | None:
    """A metric with its data points; None (logged) for kinds smoltrace does not publish."""
    body: dict[str, Any] = {
        "name": metric.name,
        "description": metric.description,
        "unit": metric.unit,
    }
    data = metric.data
    if isinstance(data, Gauge):
        body["gauge"] = {"dataPoints": [_number_point(p) for p in data.data_points]}
    elif isinstance(data, Sum):
        body["sum"] = {
            "dataPoints": [_number_point(p) for p in data.data_points],
            "aggregationTemporality": int(data.aggregation_temporality),
            "isMonotonic": data.is_monotonic,
        }
    elif isinstance(data, HistogramData):
        body["histogram"] = {
            "dataPoints": [_histogram_point(p) for p in data.data_points],
            "aggregationTemporality": int(data.aggregation_temporality),
        }
    else:
        logger.warning(
            "metric %s has unsupported data %s; not exported", metric.name, type(data).__name__
        )
        return None
    return body


def resource_metrics_to_dict(resource_metrics: ResourceMetrics) -> dict[str, Any]:
    scopes = []
    for scope_metrics in resource_metrics.scope_metrics:
        converted = [m for m in map(metric_to_dict, scope_metrics.metrics) if m is not None]
        if converted:
            scope = scope_metrics.scope
            scopes.append(
                {
                    "scope": {"name": scope.name, "version": scope.version or ""},
                    "metrics": converted,
                }
            )
    return {
        "resource": {"attributes": otlp_attributes(resource_metrics.resource.attributes)},
        "scopeMetrics": scopes,
    }


class InMemoryMetricExporter(MetricExporter):
    """Keeps each export as OTLP-JSON `resourceMetrics` batches; thread-safe.

    Meant to run under a `PeriodicExportingMetricReader`: it asks for cumulative temporality for
    every instrument kind and the default aggregations.
    """

    def __init__(self) -> None:
        super().__init__(
            preferred_temporality=dict(CUMULATIVE_TEMPORALITY),
            preferred_aggregation={kind: DefaultAggregation() for kind in CUMULATIVE_TEMPORALITY},
        )
        self._lock = threading.Lock()
        self._batches: list[dict[str, Any]] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        converted = _non_empty(resource_metrics_to_dict(rm) for rm in metrics_data.resource_metrics)
        with self._lock:
            self._batches.extend(converted)
        return MetricExportResult.SUCCESS

    def get_metrics_data(self) -> list[dict[str, Any]]:
        """Every batch exported so far, oldest first."""
        with self._lock:
            return list(self._batches)

    def clear(self) -> None:
        with self._lock:
            self._batches.clear()

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to release; the batches stay readable after the reader shuts down."""


def _non_empty(batches: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in batches if b["scopeMetrics"]]
