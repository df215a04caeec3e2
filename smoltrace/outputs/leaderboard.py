"""The leaderboard row: one run summarised from its results rows and its GPU metrics."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from ..errors import ConfigError
from ..generation import settings_column
from ..pricing import COST_DIGITS
from ..run_status import STATUS_FIELDS, run_status
from .results import ordered_records
from .uncertainty import UNCERTAINTY_COLUMNS, uncertainty_columns

PURPOSES = ("selection", "regression", "monitoring")

GPU_FIELDS = (
    "gpu_utilization_avg",
    "gpu_utilization_max",
    "gpu_memory_avg_mib",
    "gpu_memory_max_mib",
    "gpu_temperature_avg",
    "gpu_temperature_max",
    "gpu_power_avg_w",
)

# How the run was made (0.2.12's fields): generation settings, hardware, and the pass rule.
RUN_FIELD_COLUMNS = (
    "pass_rule",
    "generation_settings",
    "hardware",
    "hardware_detail",
    "hardware_scope",
)
# What `pass_at_1` counts: each attempt's `success` boolean, averaged per task, then over tasks.
PASS_RULE = "success_boolean_mean_over_attempts"

LEADERBOARD_COLUMNS = (
    "run_id",
    "model",
    "agent_type",
    "provider",
    "timestamp",
    "submitted_by",
    "use_case",
    "team",
    "purpose",
    "suite_version",
    "results_dataset",
    "traces_dataset",
    "metrics_dataset",
    "dataset_used",
    "dataset_revision",
    *STATUS_FIELDS,
    "total_tests",
    "successful_tests",
    "failed_tests",
    "success_rate",
    "scored_success_rate",
    "avg_steps",
    "avg_duration_ms",
    "total_duration_ms",
    "total_tokens",
    "avg_tokens_per_test",
    "total_cost_usd",
    "avg_cost_per_test_usd",
    "co2_emissions_g",
    "power_cost_total_usd",
    *GPU_FIELDS,
    "wall_time_ms",
    "keyword_match",
    "max_steps",
    "tasks_sha256",
    "smoltrace_version",
    "notes",
    *UNCERTAINTY_COLUMNS,
    *RUN_FIELD_COLUMNS,
)
# leaderboard columns copied from the run manifest (null when the run has none)
MANIFEST_COLUMNS = ("wall_time_ms", "keyword_match", "max_steps", "tasks_sha256")


def normalize_grouping_value(value: str | None) -> str | None:
    """Lower-case kebab form of a grouping label (`--use-case`, `--team`, `--suite-version`)."""
    if value is None:
        return None
    normalized = re.sub(r"[^a-z0-9.]+", "-", value.strip().lower()).strip("-")
    return normalized or None


def normalize_purpose(value: str | None) -> str | None:
    if value is None:
        return None
    purpose = value.strip().lower()
    if purpose not in PURPOSES:
        raise ConfigError(f"invalid purpose '{value}'; use one of {', '.join(PURPOSES)}")
    return purpose


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(sum(values) / len(values), 2), round(max(values), 2)


def _last_cumulative(rows: list[dict[str, Any]], column: str) -> float | None:
    """Total of a cumulative counter: the latest value per GPU (rows are in time order), summed."""
    latest = {row["gpu_id"]: row[column] for row in rows if row[column] is not None}
    return sum(latest.values()) if latest else None


# The seed's `aggregate_gpu_metrics` keys, and the leaderboard column each equals.
SEED_GPU_KEYS = {
    "utilization_avg": "gpu_utilization_avg",
    "utilization_max": "gpu_utilization_max",
    "memory_avg": "gpu_memory_avg_mib",
    "memory_max": "gpu_memory_max_mib",
    "temperature_avg": "gpu_temperature_avg",
    "temperature_max": "gpu_temperature_max",
    "power_avg": "gpu_power_avg_w",
    "co2_total": "co2_total",
    "power_cost_total": "power_cost_total",
}


def aggregate_gpu_metrics(resource_metrics: list[dict[str, Any]] | None) -> dict[str, float | None]:
    """The seed's API: `utilization_avg`, `utilization_max`, `memory_avg`, `memory_max`,
    `temperature_avg`, `temperature_max`, `power_avg` (plus HEAD's `co2_total`,
    `power_cost_total`); the same numbers as the leaderboard's `gpu_*` columns."""
    fields = gpu_leaderboard_fields(resource_metrics)
    return {key: fields[column] for key, column in SEED_GPU_KEYS.items()}


def gpu_leaderboard_fields(
    resource_metrics: list[dict[str, Any]] | None,
) -> dict[str, float | None]:
    """The leaderboard's 7 GPU fields plus `co2_total` and `power_cost_total`; None when unmeasured.

    Computed from the flattened time series (one row per timestamp and GPU), so the leaderboard
    and the metrics dataset can never disagree.
    """
    from ..telemetry.metrics import flatten_metrics_for_hf

    rows = flatten_metrics_for_hf({"resourceMetrics": resource_metrics or []})

    def values(column: str) -> list[float]:
        return [row[column] for row in rows if row[column] is not None]

    util_avg, util_max = _stats(values("gpu_utilization_percent"))
    mem_avg, mem_max = _stats(values("gpu_memory_used_mib"))
    temp_avg, temp_max = _stats(values("gpu_temperature_celsius"))
    power_avg, _ = _stats(values("gpu_power_watts"))
    return {
        "gpu_utilization_avg": util_avg,
        "gpu_utilization_max": util_max,
        "gpu_memory_avg_mib": mem_avg,
        "gpu_memory_max_mib": mem_max,
        "gpu_temperature_avg": temp_avg,
        "gpu_temperature_max": temp_max,
        "gpu_power_avg_w": power_avg,
        "co2_total": _last_cumulative(rows, "co2_emissions_gco2e"),
        "power_cost_total": _last_cumulative(rows, "power_cost_usd"),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def compute_leaderboard_row(
    model_name: str,
    all_results: dict[str, list[dict[str, Any]]],
    trace_data: list[dict[str, Any]] | None,
    metric_data: dict[str, Any] | None,
    dataset_used: str,
    results_dataset: str,
    traces_dataset: str | None,
    metrics_dataset: str,
    agent_type: str = "both",
    run_id: str | None = None,
    provider: str = "litellm",
    *,
    use_case: str | None = None,
    team: str | None = None,
    purpose: str | None = None,
    suite_version: str | None = None,
    submitted_by: str | None = None,
    dataset_revision: str | None = None,
    timestamp: str | None = None,
    generation_settings: dict[str, Any] | None = None,
    hardware: dict[str, Any] | None = None,
    manifest: dict[str, Any] | None = None,
    planned_tests: int | None = None,
) -> dict[str, Any]:
    """Every leaderboard column, computed from the run's records (tokens and cost counted once).

    `trace_data` is accepted for the seed's signature; the records already carry the per-task
    totals that agree with their traces, so summing traces again would double-count. The key
    fields of the run `manifest` (smoltrace.manifest) are copied: how the run was made.
    `success_rate` is over the `planned_tests` (default: the records), as in the original;
    `scored_success_rate` over the tasks that ran to an end. A failed run has null rates.
    """
    from .. import __version__

    records = (
        ordered_records(all_results)
        if agent_type == "both"
        else list(all_results.get(agent_type, []))
    )
    total = len(records)
    successes = sum(1 for r in records if r.get("success"))
    durations = [float(r.get("execution_time_ms") or 0.0) for r in records]
    tokens = sum(int(r.get("total_tokens") or 0) for r in records)
    costs = [float(r["cost_usd"]) for r in records if r.get("cost_usd") is not None]
    total_cost = round(sum(costs), COST_DIGITS) if costs else None
    status = run_status(records, planned_tests)
    planned, scored = status["planned_tests"], status["completed_tests"]
    failed = status["run_status"] == "failed"
    gpu = gpu_leaderboard_fields((metric_data or {}).get("resourceMetrics"))
    finished = timestamp or datetime.now(timezone.utc).isoformat()
    row: dict[str, Any] = {
        "run_id": run_id,
        "model": model_name,
        "agent_type": agent_type,
        "provider": provider,
        "timestamp": finished,
        "submitted_by": submitted_by or "local",
        "use_case": normalize_grouping_value(use_case),
        "team": normalize_grouping_value(team),
        "purpose": normalize_purpose(purpose),
        "suite_version": normalize_grouping_value(suite_version),
        "results_dataset": results_dataset,
        "traces_dataset": traces_dataset,
        "metrics_dataset": metrics_dataset,
        "dataset_used": dataset_used,
        "dataset_revision": dataset_revision,
        **status,
        "total_tests": total,
        "successful_tests": successes,
        "failed_tests": total - successes,
        "success_rate": None if failed else round(100 * successes / planned, 2) if planned else 0.0,
        "scored_success_rate": round(100 * successes / scored, 2) if scored else None,
        "avg_steps": round(sum(int(r.get("steps") or 0) for r in records) / total, 2)
        if total
        else 0.0,
        "avg_duration_ms": round(sum(durations) / total, 2) if total else 0.0,
        "total_duration_ms": round(sum(durations), 2),
        "total_tokens": tokens,
        "avg_tokens_per_test": round(tokens / total) if total else 0,
        "total_cost_usd": total_cost,
        "avg_cost_per_test_usd": round(total_cost / total, COST_DIGITS)
        if total_cost is not None and total
        else None,
        "co2_emissions_g": _round(gpu["co2_total"], 4),
        "power_cost_total_usd": _round(gpu["power_cost_total"], COST_DIGITS),
        **{field: gpu[field] for field in GPU_FIELDS},
        **{column: (manifest or {}).get(column) for column in MANIFEST_COLUMNS},
        "smoltrace_version": (manifest or {}).get("packages", {}).get("smoltrace") or __version__,
        "notes": f"Evaluation on {finished[:10]}; {total} tests",
        **uncertainty_columns(records),
        "pass_rule": PASS_RULE,
        "generation_settings": settings_column(generation_settings),
        "hardware": (hardware or {}).get("hardware"),
        "hardware_detail": (hardware or {}).get("hardware_detail"),
        "hardware_scope": (hardware or {}).get("hardware_scope"),
    }
    return {column: row[column] for column in LEADERBOARD_COLUMNS}
