"""The compare view: two runs' results paired by task, their difference and whether it is chance.

Reads only the published results schema (task_id, agent_type, success, total_tokens, cost_usd,
execution_time_ms), like the rest of the dashboard, and computes what `smoltrace-compare` reports
with the estimators documented in smoltrace_dataset_structure.md ("Statistics"): per-task success
shares, their mean difference B - A with a seeded paired bootstrap 95% interval, and the exact
two-sided binomial (McNemar) p-value on tasks won against tasks lost.
"""

from __future__ import annotations

import math
import random
from typing import Any

from .views import esc, fmt_cost, fmt_number, table_value

BOOTSTRAP_ITERATIONS = 10_000
TASK_COLUMNS = ("Task", "Agent", "A", "B", "Outcome")


def _tasks(results: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in results:
        grouped.setdefault((str(row.get("task_id")), str(row.get("agent_type"))), []).append(row)
    return grouped


def _share(rows: list[dict[str, Any]]) -> float:
    return sum(1 for r in rows if r.get("success")) / len(rows)


def _mean(rows: list[dict[str, Any]], column: str) -> float | None:
    values = [float(r[column]) for r in rows if isinstance(r.get(column), (int, float))]
    return sum(values) / len(values) if values else None


def bootstrap_interval(differences: list[float], iterations: int, seed: int) -> tuple[float, float]:
    """2.5th and 97.5th percentiles (linear interpolation) of the resampled mean difference."""
    rng = random.Random(seed)
    size = len(differences)
    means = sorted(math.fsum(rng.choices(differences, k=size)) / size for _ in range(iterations))

    def percentile(q: float) -> float:
        position = q * (len(means) - 1)
        below = math.floor(position)
        above = min(below + 1, len(means) - 1)
        return means[below] + (means[above] - means[below]) * (position - below)

    return percentile(0.025), percentile(0.975)


def exact_binomial_p(wins: int, losses: int) -> float:
    """Two-sided exact binomial test of wins against losses at p = 1/2 (McNemar's exact test)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1))
    return min(1.0, 2 * tail / 2**n)


def compare_results(
    results_a: list[dict[str, Any]],
    results_b: list[dict[str, Any]],
    *,
    iterations: int = BOOTSTRAP_ITERATIONS,
    seed: int = 0,
) -> dict[str, Any] | None:
    """The comparison of B against A on their shared tasks; None when they share none."""
    tasks_a, tasks_b = _tasks(results_a), _tasks(results_b)
    shared = [key for key in tasks_a if key in tasks_b]
    if not shared:
        return None
    rates = [(_share(tasks_a[key]), _share(tasks_b[key])) for key in shared]
    differences = [b - a for a, b in rates]
    low, high = bootstrap_interval(differences, iterations, seed)
    wins = sum(1 for d in differences if d > 0)
    losses = sum(1 for d in differences if d < 0)
    metrics = {}
    for column in ("total_tokens", "cost_usd", "execution_time_ms"):
        pairs = [(_mean(tasks_a[key], column), _mean(tasks_b[key], column)) for key in shared]
        both = [(a, b) for a, b in pairs if a is not None and b is not None]
        metrics[column] = (
            None
            if not both
            else {
                "a": sum(a for a, _ in both) / len(both),
                "b": sum(b for _, b in both) / len(both),
                "difference": sum(b - a for a, b in both) / len(both),
            }
        )
    return {
        "paired_tasks": len(shared),
        "only_in_a": len(tasks_a) - len(shared),
        "only_in_b": len(tasks_b) - len(shared),
        "rate_a": 100 * sum(a for a, _ in rates) / len(rates),
        "rate_b": 100 * sum(b for _, b in rates) / len(rates),
        "difference": 100 * math.fsum(differences) / len(differences),
        "ci_low": 100 * low,
        "ci_high": 100 * high,
        "wins": wins,
        "losses": losses,
        "ties": len(shared) - wins - losses,
        "p_value": exact_binomial_p(wins, losses),
        "metrics": metrics,
        "tasks": [
            (
                task_id,
                agent,
                f"{sum(1 for r in tasks_a[(task_id, agent)] if r.get('success'))}"
                f"/{len(tasks_a[(task_id, agent)])}",
                f"{sum(1 for r in tasks_b[(task_id, agent)] if r.get('success'))}"
                f"/{len(tasks_b[(task_id, agent)])}",
                "B better" if d > 0 else "B worse" if d < 0 else "same",
            )
            for (task_id, agent), d in zip(shared, differences, strict=True)
        ],
    }


def verdict(report: dict[str, Any]) -> str:
    if report["ci_low"] > 0:
        return "B is better than A: the 95% interval of the difference excludes 0."
    if report["ci_high"] < 0:
        return "B is worse than A: the 95% interval of the difference excludes 0."
    return "No detectable difference: the 95% interval of the difference includes 0."


def compare_markdown(label_a: str, label_b: str, report: dict[str, Any] | None) -> str:
    """The comparison as the compare view shows it."""
    if report is None:
        return (
            f"**{esc(label_a)}** and **{esc(label_b)}** share no task (by task id and agent "
            "type): pick two runs of the same task suite."
        )
    lines = [
        f"**A:** {esc(label_a)}  \n**B:** {esc(label_b)}",
        "",
        f"Paired tasks: {report['paired_tasks']} (dropped: {report['only_in_a']} only in A, "
        f"{report['only_in_b']} only in B)",
        "",
        "| | A | B | B − A | 95% CI |",
        "|---|---|---|---|---|",
        f"| Success rate | {report['rate_a']:.1f}% | {report['rate_b']:.1f}% | "
        f"{report['difference']:+.1f} pp | {report['ci_low']:+.1f} to {report['ci_high']:+.1f} pp |",
    ]
    for label, column, show in (
        ("Tokens per task", "total_tokens", lambda v: fmt_number(float(v), 1)),
        ("Cost per task", "cost_usd", fmt_cost),
        ("Time per task", "execution_time_ms", lambda v: fmt_number(float(v), 1, "ms")),
    ):
        metric = report["metrics"][column]
        if metric is None:
            lines.append(f"| {label} | n/a | n/a | n/a | |")
            continue
        sign = "+" if metric["difference"] >= 0 else "−"
        lines.append(
            f"| {label} | {show(metric['a'])} | {show(metric['b'])} | "
            f"{sign}{show(abs(metric['difference']))} | |"
        )
    lines += [
        "",
        f"**{verdict(report)}** Tasks B wins: {report['wins']}, loses: {report['losses']}, "
        f"ties: {report['ties']}; McNemar exact p = {report['p_value']:.4g}.",
    ]
    return "\n".join(lines)


def task_table(report: dict[str, Any] | None) -> dict[str, Any]:
    """Per-task outcomes, changed tasks first."""
    rows = [list(t) for t in (report or {}).get("tasks", [])]
    rows.sort(key=lambda row: row[4] == "same")
    return table_value(TASK_COLUMNS, rows, {})
