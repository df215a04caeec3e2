"""Telemetry of a run: OpenTelemetry setup, in-memory exporters, trace and metric extraction.

`setup` wires the providers and the agent instrumentation, `exporters` turn spans and metrics into
JSON, `traces` builds the per-task trace documents and links them to the results, `metrics`
computes the aggregates and the flattened GPU series, `gpu` drives the NVML collector.
"""

from .exporters import InMemoryMetricExporter, InMemorySpanExporter
from .metrics import (
    FLATTENED_METRICS,
    METRICS_COLUMNS,
    TraceMetricsAggregator,
    extract_metrics,
    flatten_metrics_for_hf,
)
from .setup import finish_otel, setup_inmemory_otel
from .traces import extract_traces, link_results_to_traces

__all__ = [
    "FLATTENED_METRICS",
    "METRICS_COLUMNS",
    "InMemoryMetricExporter",
    "InMemorySpanExporter",
    "TraceMetricsAggregator",
    "extract_metrics",
    "extract_traces",
    "finish_otel",
    "flatten_metrics_for_hf",
    "link_results_to_traces",
    "setup_inmemory_otel",
]
