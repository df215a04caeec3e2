"""Telemetry extraction (placeholder until the telemetry module lands)."""

from __future__ import annotations

from typing import Any


def extract_traces(span_exporter: Any, run_id: str) -> list[dict[str, Any]]:
    return []


def extract_metrics(
    metric_exporter: Any,
    trace_aggregator: Any,
    trace_data: list[dict[str, Any]],
    all_results: dict[str, list[dict[str, Any]]],
    run_id: str,
) -> dict[str, Any]:
    return {"run_id": run_id, "resourceMetrics": [], "aggregates": []}


def link_results_to_traces(all_results: dict[str, list[dict[str, Any]]], trace_data: list[dict[str, Any]]) -> None:
    return None


def finish_otel(otel: tuple[Any, ...]) -> None:
    return None
