"""The leaderboard's uncertainty columns: repeats, pass@k / pass^k and 95% intervals, from the rows.

A run's attempts are grouped by task execution (agent type, task id); every interval treats the task
as the unit, so repeated attempts do not pass for independent evidence. Formulas:
smoltrace_dataset_structure.md, "Statistics".
"""

from __future__ import annotations

import functools
from typing import Any

from ..pricing import COST_DIGITS
from ..scoring.stats import (
    Estimate,
    clustered_mean,
    mean_pass_at_k,
    mean_pass_hat_k,
    success_rate,
    task_clusters,
)

__all__ = ["UNCERTAINTY_COLUMNS", "uncertainty_columns"]

UNCERTAINTY_COLUMNS = (
    "repeats",
    "total_tasks",
    "success_rate_se",
    "success_rate_ci_low",
    "success_rate_ci_high",
    "pass_at_1",
    "pass_at_k",
    "pass_hat_k",
    "avg_duration_ms_ci_low",
    "avg_duration_ms_ci_high",
    "avg_tokens_per_test_ci_low",
    "avg_tokens_per_test_ci_high",
    "avg_cost_per_test_usd_ci_low",
    "avg_cost_per_test_usd_ci_high",
)
PASS_DIGITS = 4


def _bounds(estimate: Estimate | None, digits: int) -> tuple[float | None, float | None]:
    if estimate is None or estimate.low is None or estimate.high is None:
        return None, None
    return round(estimate.low, digits), round(estimate.high, digits)


def _number(record: dict[str, Any], column: str) -> float | None:
    value = record.get(column)
    return None if value is None else float(value)


def uncertainty_columns(records: list[dict[str, Any]]) -> dict[str, Any]:
    """UNCERTAINTY_COLUMNS for a run's records (all None but the counts when there is none)."""
    outcomes = task_clusters(records, lambda r: bool(r.get("success")))
    row: dict[str, Any] = dict.fromkeys(UNCERTAINTY_COLUMNS)
    row["repeats"] = max(map(len, outcomes), default=0)
    row["total_tasks"] = len(outcomes)
    if not records:
        return row
    repeats = row["repeats"]
    rate = success_rate(outcomes)
    row["success_rate_se"] = round(100 * (rate.se or 0.0), 2)
    low, high = _bounds(rate, 10)
    row["success_rate_ci_low"] = None if low is None else round(100 * low, 2)
    row["success_rate_ci_high"] = None if high is None else round(100 * high, 2)
    for column, value in (
        ("pass_at_1", mean_pass_at_k(outcomes, 1)),
        ("pass_at_k", mean_pass_at_k(outcomes, repeats)),
        ("pass_hat_k", mean_pass_hat_k(outcomes, repeats)),
    ):
        row[column] = None if value is None else round(value, PASS_DIGITS)
    for prefix, column, digits in (
        ("avg_duration_ms", "execution_time_ms", 2),
        ("avg_tokens_per_test", "total_tokens", 2),
        ("avg_cost_per_test_usd", "cost_usd", COST_DIGITS),
    ):
        estimate = clustered_mean(task_clusters(records, functools.partial(_number, column=column)))
        row[f"{prefix}_ci_low"], row[f"{prefix}_ci_high"] = _bounds(estimate, digits)
    return row
