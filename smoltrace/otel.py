"""The seed's OpenTelemetry door: `setup_inmemory_otel` and the exporter and aggregator classes.

The implementation lives in :mod:`smoltrace.telemetry`.
"""

from .telemetry import (
    InMemoryMetricExporter,
    InMemorySpanExporter,
    TraceMetricsAggregator,
    finish_otel,
    setup_inmemory_otel,
)

__all__ = [
    "InMemoryMetricExporter",
    "InMemorySpanExporter",
    "TraceMetricsAggregator",
    "finish_otel",
    "setup_inmemory_otel",
]
