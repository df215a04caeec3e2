"""The leaderboard's uncertainty columns, against figures worked out by hand in each test."""

from __future__ import annotations

import math

import pytest

from smoltrace.outputs.leaderboard import LEADERBOARD_COLUMNS, compute_leaderboard_row
from smoltrace.outputs.uncertainty import UNCERTAINTY_COLUMNS

Z = 1.959963984540054


def wilson(successes: float, n: float) -> tuple[float, float]:
    """Wilson score interval written out from its textbook form (independent of smoltrace)."""
    p = successes / n
    centre = p + Z * Z / (2 * n)
    spread = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - spread) / (1 + Z * Z / n), (centre + spread) / (1 + Z * Z / n)


def attempt(task: str, success: bool, ms: float, tokens: int, cost: float | None) -> dict:
    return {
        "test_id": task,
        "agent_type": "tool",
        "success": success,
        "steps": 1,
        "execution_time_ms": ms,
        "total_tokens": tokens,
        "cost_usd": cost,
    }


def board(records: list[dict]) -> dict:
    return compute_leaderboard_row(
        "m", {"tool": records, "code": []}, [], {}, "d", "r", None, "x", agent_type="tool"
    )


def test_columns_follow_the_original_ones() -> None:
    start = LEADERBOARD_COLUMNS.index("notes") + 1
    assert LEADERBOARD_COLUMNS[start : start + len(UNCERTAINTY_COLUMNS)] == UNCERTAINTY_COLUMNS


def test_single_attempt_run_gets_the_wilson_interval() -> None:
    records = [attempt(f"t{i}", i < 9, 100.0, 10, 0.001) for i in range(10)]
    row = board(records)
    assert (row["repeats"], row["total_tasks"], row["success_rate"]) == (1, 10, 90.0)
    assert row["success_rate_se"] == round(100 * math.sqrt(0.9 * 0.1 / 10), 2)  # 9.49
    assert (row["success_rate_ci_low"], row["success_rate_ci_high"]) == (59.58, 98.21)
    assert (row["pass_at_1"], row["pass_at_k"], row["pass_hat_k"]) == (0.9, 0.9, 0.9)
    # every duration, token count and cost equal: the interval is the point
    assert row["avg_duration_ms_ci_low"] == row["avg_duration_ms_ci_high"] == 100.0
    assert row["avg_cost_per_test_usd_ci_low"] == 0.001


def test_repeated_run_hand_worked() -> None:
    # three tasks, two attempts each: [pass, pass], [pass, fail], [fail, fail]
    outcomes = {"a": (True, True), "b": (True, False), "c": (False, False)}
    durations = {"a": (100, 200), "b": (300, 400), "c": (500, 600)}
    records = [
        attempt(task, outcomes[task][i], durations[task][i], 10 * (i + 1), None)
        for i in range(2)
        for task in "abc"
    ]
    row = board(records)
    assert (row["repeats"], row["total_tasks"], row["total_tests"]) == (2, 3, 6)
    # p = 1/2; se = sqrt((2-1)^2 + (1-1)^2 + (0-1)^2) / 6 = sqrt(2)/6
    se = math.sqrt(2) / 6
    assert row["success_rate_se"] == round(100 * se, 2) == 23.57
    # n_eff = p(1-p)/se^2 = 0.25 / (2/36) = 4.5, within [3 tasks, 6 attempts]
    low, high = wilson(0.5 * 4.5, 4.5)
    assert row["success_rate_ci_low"] == round(100 * low, 2)
    assert row["success_rate_ci_high"] == round(100 * high, 2)
    # pass@2 per task 1, 1, 0; pass^2 per task 1, 0, 0
    assert (row["pass_at_1"], row["pass_at_k"], row["pass_hat_k"]) == (0.5, 0.6667, 0.3333)
    # durations: mean 350; task sums of deviations -400, 0, 400; se = sqrt(3/2 * 320000) / 6
    duration_se = math.sqrt(1.5 * 320_000) / 6
    assert row["avg_duration_ms"] == 350.0
    assert row["avg_duration_ms_ci_low"] == round(350 - Z * duration_se, 2)
    assert row["avg_duration_ms_ci_high"] == round(350 + Z * duration_se, 2)
    # tokens 10 then 20 in every task: deviations cancel within each task, so se = 0
    assert row["avg_tokens_per_test_ci_low"] == row["avg_tokens_per_test_ci_high"] == 15.0
    # no attempt has a cost: no interval, not an interval around a made-up 0
    assert row["avg_cost_per_test_usd_ci_low"] is None


def test_empty_run_has_counts_and_no_estimates() -> None:
    row = board([])
    assert (row["repeats"], row["total_tasks"]) == (0, 0)
    assert all(row[c] is None for c in UNCERTAINTY_COLUMNS[2:])


def test_both_agent_types_are_separate_tasks() -> None:
    tool = [attempt("a", True, 1.0, 1, 0.0), attempt("a", False, 1.0, 1, 0.0)]
    code = [{**attempt("a", True, 1.0, 1, 0.0), "agent_type": "code"}]
    row = compute_leaderboard_row(
        "m", {"tool": tool, "code": code}, [], {}, "d", "r", None, "x", agent_type="both"
    )
    assert (row["repeats"], row["total_tasks"]) == (2, 2)
    assert row["pass_at_1"] == pytest.approx((0.5 + 1.0) / 2)
    assert row["pass_at_k"] == 1.0  # only the tool task has 2 attempts


def test_console_summary_line() -> None:
    from smoltrace.console import summary_line

    single = [attempt(f"t{i}", i < 9, 1.0, 1, 0.0) for i in range(10)]
    assert summary_line("tool", single) == "TOOL: 9/10 (90.0%, 95% CI 59.6–98.2%)"
    repeated = [
        attempt(t, ok, 1.0, 1, 0.0) for t, ok in zip("aabbcc", [1, 1, 1, 0, 0, 0], strict=True)
    ]
    # 3/6; n_eff 4.5 -> Wilson(2.25, 4.5) = 17.2–82.8%; pass@2 2/3, pass^2 1/3
    low, high = wilson(2.25, 4.5)
    assert summary_line("code", repeated) == (
        f"CODE: 3/6 (50.0%, 95% CI {100 * low:.1f}–{100 * high:.1f}%); "
        "3 tasks × 2 attempts, pass@2 0.667, pass^2 0.333"
    )


def test_console_per_task_lines_with_repeats() -> None:
    from smoltrace.console import task_estimate_lines

    records = [attempt("a", ok, 1.0, 1, 0.0) for ok in (True, False, True, False, False)]
    records += [attempt("b", True, 1.0, 1, 0.0)] * 5
    assert task_estimate_lines(records) == [
        "  per task: successes/attempts; pass@k and pass^k for k = 1..attempts",
        "  a: 2/5; pass@k 0.40 0.70 0.90 1.00 1.00; pass^k 0.40 0.10 0.00 0.00 0.00",
        "  b: 5/5; pass@k 1.00 1.00 1.00 1.00 1.00; pass^k 1.00 1.00 1.00 1.00 1.00",
    ]
    assert task_estimate_lines(records[:1] + records[5:6]) == []  # one attempt each: nothing


def test_dataset_cards_explain_the_new_columns() -> None:
    from smoltrace.outputs.cards import LEADERBOARD_MEANINGS, RESULTS_MEANINGS

    assert all(LEADERBOARD_MEANINGS.get(column) for column in UNCERTAINTY_COLUMNS)
    assert RESULTS_MEANINGS["attempt"]
