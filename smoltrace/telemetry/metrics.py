"""Run metrics: the OTLP batches from the exporter, the six trace aggregates, the flattened series.

`metrics.json` keeps `{"run_id", "resourceMetrics", "aggregates"}`; the Hub metrics dataset is the
GPU time series flattened to one row per (timestamp, GPU) with a fixed set of columns.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..pricing import COST_DIGITS

# The token-based CO2 estimate of the original harness (grams per 1,000 tokens). Only the
# aggregates use it; measured GPU energy is what reaches the leaderboard.
CO2_GRAMS_PER_1K_TOKENS = 0.0004

FLATTENED_METRICS = {
    "gen_ai.co2.emissions": "co2_emissions_gco2e",
    "gen_ai.power.cost": "power_cost_usd",
    "gen_ai.gpu.utilization": "gpu_utilization_percent",
    "gen_ai.gpu.memory.used": "gpu_memory_used_mib",
    "gen_ai.gpu.memory.total": "gpu_memory_total_mib",
    "gen_ai.gpu.temperature": "gpu_temperature_celsius",
    "gen_ai.gpu.power": "gpu_power_watts",
}
METRICS_COLUMNS = (
    "run_id",
    "service_name",
    "timestamp",
    "timestamp_unix_nano",
    "gpu_id",
    "gpu_name",
    *FLATTENED_METRICS.values(),
)


def _root_attributes(document: dict[str, Any]) -> dict[str, Any]:
    root = next(s for s in document["spans"] if s["span_id"] == document["root_span_id"])
    return root["attributes"]


def _histogram(name: str, values: list[int]) -> dict[str, Any]:
    total, count = sum(values), len(values)
    return {
        "name": name,
        "type": "histogram",
        "unit": "",
        "data_points": [
            {
                "value": {
                    "sum": total,
                    "count": count,
                    "avg": round(total / count, 2) if count else 0.0,
                },
                "attributes": {},
            }
        ],
    }


def _sum(
    name: str, unit: str, value: Any, attributes: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "type": "sum",
        "unit": unit,
        "data_points": [{"value": {"value": value}, "attributes": attributes or {}}],
    }


class TraceMetricsAggregator:
    """The six run aggregates of the original harness, computed from the traces and results."""

    def collect_all(
        self,
        trace_data: list[dict[str, Any]] | None = None,
        all_results: dict[str, list[dict[str, Any]]] | None = None,
    ) -> list[dict[str, Any]]:
        """`tests.successful`, `tests.tool_calls`, `tests.steps`, `llm.token_count.total`,
        `gen_ai.usage.cost.total` and `gen_ai.co2.emissions`; [] for a run without traces.

        A task's success is looked up by `test_case_uid`, since a `both` task has two executions
        with the same task id.
        """
        if not trace_data:
            return []
        success = {
            r["test_case_uid"]: bool(r.get("success"))
            for records in (all_results or {}).values()
            for r in records
        }
        roots = [_root_attributes(d) for d in trace_data]
        tests = [a for a in roots if "test.case_uid" in a]
        passed = sum(1 for a in tests if success.get(a["test.case_uid"], False))
        tokens = sum(d["total_tokens"] for d in trace_data)
        costs = [d["total_cost_usd"] for d in trace_data if d["total_cost_usd"] is not None]
        return [
            {
                "name": "tests.successful",
                "type": "counter",
                "unit": "",
                "data_points": [
                    {
                        "value": {"value": passed},
                        "attributes": {
                            "total_tests": len(tests),
                            "success_rate": round(100 * passed / len(tests), 2) if tests else 0.0,
                        },
                    }
                ],
            },
            _histogram(
                "tests.tool_calls",
                [int(a["tests.tool_calls"]) for a in tests if "tests.tool_calls" in a],
            ),
            _histogram("tests.steps", [int(a["tests.steps"]) for a in tests if "tests.steps" in a]),
            _sum("llm.token_count.total", "tokens", tokens),
            _sum(
                "gen_ai.usage.cost.total",
                "USD",
                round(sum(costs), COST_DIGITS) if costs else None,
            ),
            _sum(
                "gen_ai.co2.emissions",
                "gCO2e",
                round(tokens / 1000 * CO2_GRAMS_PER_1K_TOKENS, 4),
                {"method": "token_estimate", "grams_per_1k_tokens": CO2_GRAMS_PER_1K_TOKENS},
            ),
        ]


def extract_metrics(
    metric_exporter: Any,
    trace_aggregator: TraceMetricsAggregator | None,
    trace_data: list[dict[str, Any]],
    all_results: dict[str, list[dict[str, Any]]],
    run_id: str,
) -> dict[str, Any]:
    """`{"run_id", "resourceMetrics", "aggregates"}`; present (with empty lists) even when nothing
    was measured, e.g. an API model on a machine without GPU or a run without OTel."""
    resource_metrics = metric_exporter.get_metrics_data() if metric_exporter is not None else []
    aggregates = trace_aggregator.collect_all(trace_data, all_results) if trace_aggregator else []
    return {"run_id": run_id, "resourceMetrics": resource_metrics, "aggregates": aggregates}


def _plain(value: dict[str, Any]) -> Any:
    """The Python value of an OTLP-JSON AnyValue."""
    kind, raw = next(iter(value.items()))
    if kind == "intValue":
        return int(raw)
    if kind == "arrayValue":
        return [_plain(v) for v in raw.get("values", [])]
    return raw


def _attributes(encoded: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {a["key"]: _plain(a["value"]) for a in encoded or []}


def _point_value(point: dict[str, Any]) -> float:
    return float(point["asDouble"]) if "asDouble" in point else float(point["asInt"])


def _iso_utc(unix_nano: int) -> str:
    seconds, nanos = divmod(unix_nano, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=nanos // 1000)
    return moment.isoformat()


def _row_order(row: dict[str, Any]) -> tuple[int, bool, int, str]:
    gpu = row["gpu_id"]
    numeric = gpu is not None and str(gpu).isdigit()
    return int(row["timestamp_unix_nano"]), gpu is None, int(gpu) if numeric else 0, str(gpu)


def flatten_metrics_for_hf(metric_data: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The GPU time series as rows of METRICS_COLUMNS, one per (timestamp, GPU), by time then GPU.

    Only the seven metrics of FLATTENED_METRICS become columns; a metric without a point at a
    (timestamp, GPU) is None. A point without a `gpu_id` attribute (e.g. run-wide CO2) goes to
    the row whose `gpu_id` is None. No GPU data, no rows.
    """
    data = metric_data or {}
    rows: dict[tuple[int, str | None], dict[str, Any]] = {}
    for batch in data.get("resourceMetrics") or []:
        resource = _attributes(batch.get("resource", {}).get("attributes"))
        for scope in batch.get("scopeMetrics", []):
            for metric in scope.get("metrics", []):
                column = FLATTENED_METRICS.get(metric.get("name"))
                body = metric.get("gauge") or metric.get("sum")
                if column is None or body is None:
                    continue
                for point in body.get("dataPoints", []):
                    attributes = _attributes(point.get("attributes"))
                    gpu_id = attributes.get("gpu_id")
                    gpu_id = None if gpu_id is None else str(gpu_id)
                    unix_nano = int(point["timeUnixNano"])
                    row = rows.get((unix_nano, gpu_id))
                    if row is None:
                        row = dict.fromkeys(METRICS_COLUMNS)
                        row.update(
                            run_id=data.get("run_id") or resource.get("run.id"),
                            service_name=resource.get("service.name"),
                            timestamp=_iso_utc(unix_nano),
                            timestamp_unix_nano=str(unix_nano),
                            gpu_id=gpu_id,
                        )
                        rows[(unix_nano, gpu_id)] = row
                    if attributes.get("gpu_name") is not None:
                        row["gpu_name"] = str(attributes["gpu_name"])
                    row[column] = _point_value(point)
    return sorted(rows.values(), key=_row_order)
