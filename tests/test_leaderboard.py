"""compute_leaderboard_row, checked against figures worked out by hand."""

from __future__ import annotations

import pytest

from smoltrace.errors import ConfigError
from smoltrace.outputs.leaderboard import compute_leaderboard_row


def record(success: bool, steps: int, ms: float, tokens: int, cost: float | None) -> dict:
    return {
        "success": success,
        "steps": steps,
        "execution_time_ms": ms,
        "total_tokens": tokens,
        "cost_usd": cost,
    }


RESULTS = {
    "tool": [record(True, 3, 100.0, 1000, 0.001), record(False, 4, 250.5, 1501, 0.002)],
    "code": [record(True, 2, 50.25, 700, None)],
}


def row(**kwargs):
    base = dict(
        model_name="m",
        all_results=RESULTS,
        trace_data=[],
        metric_data={"resourceMetrics": []},
        dataset_used="smoltrace-tasks",
        results_dataset="u/r",
        traces_dataset=None,
        metrics_dataset="u/m",
    )
    base.update(kwargs)
    return compute_leaderboard_row(**base)


def test_both_agent_types() -> None:
    r = row(
        agent_type="both", run_id="run-1", provider="litellm", timestamp="2026-11-26T10:00:00+00:00"
    )
    assert (r["total_tests"], r["successful_tests"], r["failed_tests"]) == (3, 2, 1)
    assert r["success_rate"] == 66.67  # 2/3
    assert r["avg_steps"] == 3.0  # (3+4+2)/3
    assert r["total_duration_ms"] == 400.75 and r["avg_duration_ms"] == 133.58  # 400.75/3 = 133.583
    assert r["total_tokens"] == 3201 and r["avg_tokens_per_test"] == 1067  # 3201/3 = 1067.0
    assert (
        r["total_cost_usd"] == 0.003 and r["avg_cost_per_test_usd"] == 0.001
    )  # unpriced row adds nothing
    assert r["notes"] == "Evaluation on 2026-11-26; 3 tests"
    assert r["co2_emissions_g"] is None and r["gpu_power_avg_w"] is None


def test_single_agent_type_uses_only_its_rows() -> None:
    r = row(agent_type="code")
    assert (r["total_tests"], r["successful_tests"], r["success_rate"]) == (1, 1, 100.0)
    assert r["total_cost_usd"] is None and r["avg_cost_per_test_usd"] is None  # unknown, not 0
    assert r["avg_tokens_per_test"] == 700


def test_grouping_fields_are_normalised_and_purpose_checked() -> None:
    r = row(
        use_case="Customer Support!",
        team=" ML Platform ",
        purpose="Regression",
        suite_version="V1.2",
    )
    assert (r["use_case"], r["team"], r["purpose"], r["suite_version"]) == (
        "customer-support",
        "ml-platform",
        "regression",
        "v1.2",
    )
    with pytest.raises(ConfigError, match="invalid purpose"):
        row(purpose="fun")
