"""Paired comparison of two runs: load their results rows, pair tasks, test the difference.

Two runs are compared only on what both ran: a task is identified by its task id and agent type,
and its attempts in each run are pooled. Pairing removes the task-to-task spread (easy and hard
tasks are easy and hard for both), which is what makes a paired interval narrower than comparing
two independent intervals. The statistics are in `smoltrace.scoring.stats`; this module reads runs (a run
folder, its `results.json`, or a Hub results dataset) and builds the report.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .scoring.stats import (
    BOOTSTRAP_ITERATIONS,
    CONFIDENCE,
    paired_bootstrap_interval,
    paired_comparison,
)

logger = logging.getLogger(__name__)

__all__ = ["RunRows", "compare_runs", "format_report", "load_run", "regression_gate"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_REQUIRED = ("task_id", "agent_type", "success")
HubLoader = Callable[[str, str | None], list[dict[str, Any]]]


@dataclass
class RunRows:
    """One run's results rows and where they came from."""

    source: str
    rows: list[dict[str, Any]]

    def first(self, column: str) -> Any:
        return next((r.get(column) for r in self.rows if r.get(column) is not None), None)


def _load_hub_rows(repo_id: str, token: str | None) -> list[dict[str, Any]]:
    from datasets import load_dataset

    return [dict(row) for row in load_dataset(repo_id, split="train", token=token)]


def load_run(source: str, token: str | None = None, hub_loader: HubLoader | None = None) -> RunRows:
    """A run from a run folder, a results.json file, or a Hub results dataset id."""
    path = Path(source).expanduser()
    if path.is_dir():
        path = path / "results.json"
        if not path.is_file():
            raise ConfigError(
                f"{source} has no results.json: pass a complete run folder (one that finished), "
                "its results.json, or a Hub results dataset id"
            )
    if path.is_file():
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path} is not a JSON results file: {exc}") from None
        return RunRows(str(source), _checked(rows, str(path)))
    if not _HUB_ID.match(source):
        raise ConfigError(
            f"{source} is neither a run folder, a results.json file nor a Hub dataset id "
            "(user/smoltrace-results-YYYYMMDD_HHMMSS)"
        )
    try:
        rows = (hub_loader or _load_hub_rows)(source, token)
    except Exception as exc:
        logger.debug("loading %s failed", source, exc_info=True)
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ConfigError(
            f"cannot load Hub dataset {source} ({type(exc).__name__}: {first}); check the id and "
            "that HF_TOKEN or --hf-token-file may read it"
        ) from None
    return RunRows(source, _checked(rows, source))


def _checked(rows: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"{where} is not a list of results rows")
    if not rows:
        raise ConfigError(f"{where} has no results rows: nothing to compare")
    for index, row in enumerate(rows):
        missing = [c for c in _REQUIRED if row.get(c) is None]
        if missing:
            raise ConfigError(
                f"{where} row {index} lacks {', '.join(missing)}: not a smoltrace results dataset"
            )
    return rows


TaskKey = tuple[str, str]


def _by_task(rows: list[dict[str, Any]]) -> dict[TaskKey, list[dict[str, Any]]]:
    grouped: dict[TaskKey, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((str(row["task_id"]), str(row["agent_type"])), []).append(row)
    return grouped


def _task_mean(rows: list[dict[str, Any]], column: str) -> float | None:
    values = [float(r[column]) for r in rows if r.get(column) is not None]
    return math.fsum(values) / len(values) if values else None


def _paired_metric(
    pairs: Sequence[tuple[list[dict[str, Any]], list[dict[str, Any]]]],
    column: str,
    *,
    iterations: int,
    seed: int,
) -> dict[str, Any] | None:
    """Mean per-task value in A and B, and the mean of B - A with a paired bootstrap interval."""
    means = [(_task_mean(a, column), _task_mean(b, column)) for a, b in pairs]
    both = [(a, b) for a, b in means if a is not None and b is not None]
    if not both:
        return None
    differences = [b - a for a, b in both]
    low, high = paired_bootstrap_interval(differences, iterations=iterations, seed=seed)
    return {
        "tasks": len(both),
        "a": math.fsum(a for a, _ in both) / len(both),
        "b": math.fsum(b for _, b in both) / len(both),
        "difference": math.fsum(differences) / len(both),
        "ci_low": low,
        "ci_high": high,
    }


def compare_runs(
    run_a: RunRows,
    run_b: RunRows,
    *,
    iterations: int = BOOTSTRAP_ITERATIONS,
    seed: int = 0,
) -> dict[str, Any]:
    """The comparison report (plain JSON types); differences are B minus A.

    Raises ConfigError when the runs share no task (by task id and agent type).
    """
    tasks_a, tasks_b = _by_task(run_a.rows), _by_task(run_b.rows)
    shared = [key for key in tasks_a if key in tasks_b]
    if not shared:
        raise ConfigError(
            f"the runs share no task (by task id and agent type): A has {len(tasks_a)} "
            f"(e.g. {_example(tasks_a)}), B has {len(tasks_b)} (e.g. {_example(tasks_b)}); "
            "compare runs of the same task suite and agent type"
        )
    pairs = [(tasks_a[key], tasks_b[key]) for key in shared]
    outcome = paired_comparison(
        [([bool(r["success"]) for r in a], [bool(r["success"]) for r in b]) for a, b in pairs],
        iterations=iterations,
        seed=seed,
    )
    per_task = []
    for (task_id, agent_type), (a, b) in zip(shared, pairs, strict=True):
        rate_a = sum(bool(r["success"]) for r in a) / len(a)
        rate_b = sum(bool(r["success"]) for r in b) / len(b)
        per_task.append(
            {
                "task_id": task_id,
                "agent_type": agent_type,
                "a_successes": sum(bool(r["success"]) for r in a),
                "a_attempts": len(a),
                "b_successes": sum(bool(r["success"]) for r in b),
                "b_attempts": len(b),
                "outcome": "win" if rate_b > rate_a else "loss" if rate_b < rate_a else "tie",
            }
        )
    return {
        "a": _describe(run_a, len(tasks_a)),
        "b": _describe(run_b, len(tasks_b)),
        "paired_tasks": len(shared),
        "dropped": {
            "only_in_a": len(tasks_a) - len(shared),
            "only_in_b": len(tasks_b) - len(shared),
        },
        "confidence": CONFIDENCE,
        "bootstrap": {"iterations": iterations, "seed": seed},
        "success_rate": {
            "a": 100 * outcome.rate_a,
            "b": 100 * outcome.rate_b,
            "difference": 100 * outcome.difference,
            "ci_low": 100 * outcome.low,
            "ci_high": 100 * outcome.high,
        },
        "mcnemar": {
            "wins": outcome.wins,
            "losses": outcome.losses,
            "ties": outcome.ties,
            "p_value": outcome.p_value,
            "test": "exact two-sided binomial test on tasks won vs lost (not mid-p)",
        },
        "tokens": _paired_metric(pairs, "total_tokens", iterations=iterations, seed=seed),
        "cost_usd": _paired_metric(pairs, "cost_usd", iterations=iterations, seed=seed),
        "duration_ms": _paired_metric(pairs, "execution_time_ms", iterations=iterations, seed=seed),
        "tasks": per_task,
    }


def _example(tasks: dict[TaskKey, Any]) -> str:
    return ", ".join(f"{agent}:{task}" for task, agent in list(tasks)[:2]) or "none"


def _describe(run: RunRows, tasks: int) -> dict[str, Any]:
    return {
        "source": run.source,
        "run_id": run.first("run_id"),
        "model": run.first("model"),
        "tasks": tasks,
        "attempts": len(run.rows),
    }


def regression_gate(report: dict[str, Any], max_regression: float) -> dict[str, Any]:
    """Fails when B's success rate is lower than A's by more than `max_regression` points and the
    interval of the difference excludes zero (the drop is both large and not chance)."""
    rate = report["success_rate"]
    failed = rate["difference"] < -max_regression and rate["ci_high"] < 0
    return {"max_regression": max_regression, "failed": failed}


def _signed(value: float, digits: int, unit: str = "") -> str:
    return f"{value:+.{digits}f}{unit}"


def format_report(report: dict[str, Any]) -> str:
    """The report as a readable table."""
    a, b, rate, test = report["a"], report["b"], report["success_rate"], report["mcnemar"]
    lines = [
        f"A: {a['source']} ({a['model']}, run {a['run_id']}): {a['tasks']} tasks, {a['attempts']} attempts",
        f"B: {b['source']} ({b['model']}, run {b['run_id']}): {b['tasks']} tasks, {b['attempts']} attempts",
        f"Paired tasks: {report['paired_tasks']} (dropped: {report['dropped']['only_in_a']} only in A, "
        f"{report['dropped']['only_in_b']} only in B)",
        "",
        f"{'':14}{'A':>12}{'B':>12}{'B - A':>12}  95% CI (paired bootstrap)",
        f"{'success rate':14}{rate['a']:>11.1f}%{rate['b']:>11.1f}%{_signed(rate['difference'], 1, ' pp'):>12}"
        f"  [{_signed(rate['ci_low'], 1)}, {_signed(rate['ci_high'], 1)}] pp",
    ]
    for label, key, digits in (
        ("tokens", "tokens", 1),
        ("cost (USD)", "cost_usd", 6),
        ("duration ms", "duration_ms", 1),
    ):
        metric = report[key]
        if metric is None:
            lines.append(f"{label:14}{'n/a':>12}{'n/a':>12}{'n/a':>12}")
            continue
        lines.append(
            f"{label:14}{metric['a']:>12.{digits}f}{metric['b']:>12.{digits}f}"
            f"{_signed(metric['difference'], digits):>12}"
            f"  [{_signed(metric['ci_low'], digits)}, {_signed(metric['ci_high'], digits)}]"
        )
    if rate["ci_low"] > 0 or rate["ci_high"] < 0:
        better = "higher" if rate["ci_low"] > 0 else "lower"
        verdict = f"B's success rate is {better} than A's (the 95% interval excludes 0)"
        if test["p_value"] >= 0.05:
            verdict += (
                f"; but only {test['wins'] + test['losses']} tasks differ and McNemar's exact "
                f"test does not reject at 5% (p = {test['p_value']:.4g}): the bootstrap interval "
                "is optimistic with so few tasks, confirm with more tasks or repeats"
            )
    else:
        verdict = "no detectable difference in success rate (the 95% interval includes 0)"
    lines += [
        "",
        verdict,
        f"Tasks B wins: {test['wins']}, loses: {test['losses']}, ties: {test['ties']}; "
        f"McNemar exact p = {test['p_value']:.4g}",
    ]
    changed = [t for t in report["tasks"] if t["outcome"] != "tie"]
    for task in changed:
        lines.append(
            f"  {task['outcome'].upper():5} {task['agent_type']}:{task['task_id']}  "
            f"A {task['a_successes']}/{task['a_attempts']}  B {task['b_successes']}/{task['b_attempts']}"
        )
    gate = report.get("gate")
    if gate is not None:
        verdict = "FAILED" if gate["failed"] else "passed"
        lines.append(
            f"\nRegression gate (--max-regression {gate['max_regression']:g} pp): {verdict}"
        )
    return "\n".join(lines)
