"""Statistics for numbers worth publishing: pass@k, pass^k, intervals clustered by task, paired tests.

Pure functions on plain numbers (standard library only), so the leaderboard row, the console summary,
`smoltrace-compare` and the CI gates compute every figure the same way and importing them is cheap.
Each estimator is defined in one line, with its formula, in smoltrace_dataset_structure.md
("Statistics"). Repeated attempts of one task are not independent observations: every run-level
uncertainty here treats the task as the unit (Miller 2024, "Adding Error Bars to Evals").
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

__all__ = [
    "BOOTSTRAP_ITERATIONS",
    "CONFIDENCE",
    "Estimate",
    "PairedComparison",
    "clustered_mean",
    "mcnemar_exact",
    "mean_pass_at_k",
    "mean_pass_hat_k",
    "paired_bootstrap_interval",
    "paired_comparison",
    "pass_at_k",
    "pass_hat_k",
    "success_rate",
    "task_clusters",
    "task_estimates",
    "wilson_interval",
    "z_value",
]

CONFIDENCE = 0.95
BOOTSTRAP_ITERATIONS = 10_000


def z_value(confidence: float = CONFIDENCE) -> float:
    """Two-sided normal quantile: 1.959964 for 95%."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _check_counts(n: int, c: int, k: int) -> None:
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chance that at least one of k attempts succeeds, unbiased from c successes in n attempts.

    1 - C(n-c, k) / C(n, k) (Chen et al. 2021): drawing k of the n attempts without replacement.
    """
    _check_counts(n, c, k)
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k: chance that all k attempts succeed, unbiased: C(c, k) / C(n, k) (tau-bench)."""
    _check_counts(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def _mean_over_tasks(
    clusters: Sequence[Sequence[bool]], k: int, estimator: Callable[[int, int, int], float]
) -> float | None:
    values = [estimator(len(t), sum(map(bool, t)), k) for t in clusters if len(t) >= k]
    return sum(values) / len(values) if values else None


def mean_pass_at_k(clusters: Sequence[Sequence[bool]], k: int) -> float | None:
    """Mean pass@k over the tasks with at least k attempts (None when there is none)."""
    return _mean_over_tasks(clusters, k, pass_at_k)


def mean_pass_hat_k(clusters: Sequence[Sequence[bool]], k: int) -> float | None:
    """Mean pass^k over the tasks with at least k attempts (None when there is none)."""
    return _mean_over_tasks(clusters, k, pass_hat_k)


def wilson_interval(
    successes: float, n: float, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Wilson score interval of a proportion; `n` may be an effective (non-integer) sample size.

    Unlike the normal interval it stays inside [0, 1] and is not empty at 0 or n successes.
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need n > 0 and 0 <= successes <= n, got {successes}/{n}")
    z = z_value(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, min(p, center - half)), min(1.0, max(p, center + half))


@dataclass(frozen=True)
class Estimate:
    """A run-level figure with its uncertainty; `se`, `low`, `high` are None when undefined."""

    value: float
    se: float | None
    low: float | None
    high: float | None
    observations: int
    tasks: int


def _flatten(clusters: Sequence[Sequence[float]]) -> list[float]:
    return [float(x) for cluster in clusters for x in cluster]


def _cluster_sum_of_squares(clusters: Sequence[Sequence[float]], mean: float) -> float:
    """Sum over tasks of (sum of the task's deviations from the overall mean) squared."""
    return sum(sum(float(x) - mean for x in cluster) ** 2 for cluster in clusters)


def success_rate(clusters: Sequence[Sequence[bool]], confidence: float = CONFIDENCE) -> Estimate:
    """Success rate over all attempts, its task-clustered standard error and a Wilson interval.

    se = sqrt(sum_t (s_t - p n_t)^2) / N, the cluster-robust (CR0) standard error with tasks as
    clusters (s_t successes in n_t attempts, N attempts in all); with one attempt per task it is
    the binomial sqrt(p(1-p)/N). The interval is Wilson's at the effective sample size
    p(1-p)/se^2, kept between the number of tasks and N (the number of tasks when se = 0): with
    one attempt per task it is exactly the Wilson interval of the successes over N.
    """
    clusters = [c for c in clusters if len(c)]
    values = _flatten(clusters)
    if not values:
        raise ValueError("no attempts: a success rate needs at least one")
    total, tasks = len(values), len(clusters)
    p = sum(values) / total
    se = math.sqrt(_cluster_sum_of_squares(clusters, p)) / total
    if tasks == total:
        effective = float(total)
    elif se == 0 or p in (0.0, 1.0):
        effective = float(tasks)
    else:
        effective = min(float(total), max(float(tasks), p * (1 - p) / (se * se)))
    low, high = wilson_interval(p * effective, effective, confidence)
    return Estimate(p, se, low, high, total, tasks)


def clustered_mean(
    clusters: Sequence[Sequence[float]], confidence: float = CONFIDENCE
) -> Estimate | None:
    """Mean over all observations with a task-clustered standard error and a normal interval.

    se = sqrt(T/(T-1) * sum_t (sum_i (x_ti - mean))^2) / N, the cluster-robust (CR1) standard
    error with T tasks; with one observation per task it is the usual s/sqrt(N). The interval is
    mean +/- z se. Undefined (None) with fewer than two tasks; None when there is nothing to average.
    """
    clusters = [c for c in clusters if len(c)]
    values = _flatten(clusters)
    if not values:
        return None
    total, tasks = len(values), len(clusters)
    mean = sum(values) / total
    if tasks < 2:
        return Estimate(mean, None, None, None, total, tasks)
    se = math.sqrt(tasks / (tasks - 1) * _cluster_sum_of_squares(clusters, mean)) / total
    half = z_value(confidence) * se
    return Estimate(mean, se, mean - half, mean + half, total, tasks)


def mcnemar_exact(wins: int, losses: int) -> float:
    """Two-sided exact binomial p-value of McNemar's test on the discordant pairs.

    p = min(1, 2 * sum_{i <= min(b, c)} C(b+c, i) / 2^(b+c)) for b and c discordant pairs (the
    exact test, not the mid-p variant); 1.0 when there is no discordant pair.
    """
    if wins < 0 or losses < 0:
        raise ValueError(f"discordant counts must be >= 0, got {wins} and {losses}")
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1))
    return min(1.0, 2 * tail / 2**n)


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default method)."""
    position = q * (len(sorted_values) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    fraction = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * fraction


def paired_bootstrap_interval(
    differences: Sequence[float],
    *,
    iterations: int = BOOTSTRAP_ITERATIONS,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> tuple[float, float]:
    """Percentile interval of the mean per-task difference, resampling tasks with replacement.

    Pairs stay together (each draw takes both runs' results for one task), so what the tasks share
    cancels out; `seed` makes the interval reproducible.
    """
    if not differences:
        raise ValueError("no paired tasks to resample")
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    rng = random.Random(seed)
    values = [float(d) for d in differences]
    size = len(values)
    means = sorted(math.fsum(rng.choices(values, k=size)) / size for _ in range(iterations))
    alpha = 1 - confidence
    return _quantile(means, alpha / 2), _quantile(means, 1 - alpha / 2)


@dataclass(frozen=True)
class PairedComparison:
    """Run B against run A on the tasks they share; differences are B minus A."""

    tasks: int
    rate_a: float
    rate_b: float
    difference: float
    low: float
    high: float
    wins: int
    losses: int
    ties: int
    p_value: float


def paired_comparison(
    pairs: Sequence[tuple[Sequence[bool], Sequence[bool]]],
    *,
    iterations: int = BOOTSTRAP_ITERATIONS,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> PairedComparison:
    """Compare two runs task by task; each pair is (A's attempts, B's attempts) at one task.

    A task's rate is its share of successful attempts; the difference is the mean over tasks of
    rate_B - rate_A, with a paired bootstrap interval. A task is a win for B when its rate is
    higher in B, a loss when lower; p is the exact binomial test of wins against losses, which
    with one attempt per task is McNemar's exact test.
    """
    pairs = [(a, b) for a, b in pairs if len(a) and len(b)]
    if not pairs:
        raise ValueError("the runs share no task with attempts in both")
    rates_a = [sum(map(bool, a)) / len(a) for a, _ in pairs]
    rates_b = [sum(map(bool, b)) / len(b) for _, b in pairs]
    differences = [rb - ra for ra, rb in zip(rates_a, rates_b, strict=True)]
    wins = sum(1 for d in differences if d > 0)
    losses = sum(1 for d in differences if d < 0)
    low, high = paired_bootstrap_interval(
        differences, iterations=iterations, seed=seed, confidence=confidence
    )
    size = len(pairs)
    return PairedComparison(
        tasks=size,
        rate_a=sum(rates_a) / size,
        rate_b=sum(rates_b) / size,
        difference=math.fsum(differences) / size,
        low=low,
        high=high,
        wins=wins,
        losses=losses,
        ties=size - wins - losses,
        p_value=mcnemar_exact(wins, losses),
    )


def task_clusters(
    records: Iterable[dict[str, Any]], value: Callable[[dict[str, Any]], Any]
) -> list[list[Any]]:
    """`value(record)` grouped by task execution key (agent type, task id), in first-seen order.

    A record without a value (None) is left out of its task, so a missing cost is not a zero; a
    record without a task id counts as a task of its own.
    """
    groups: dict[tuple[Any, Any], list[Any]] = {}
    for position, record in enumerate(records):
        task_id = record.get("task_id", record.get("test_id"))
        key = (record.get("agent_type"), task_id if task_id is not None else ("#", position))
        group = groups.setdefault(key, [])
        item = value(record)
        if item is not None:
            group.append(item)
    return list(groups.values())


def task_estimates(
    records: Iterable[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Per task execution (agent type, task id): attempts, successes, pass@k and pass^k, k = 1..n."""
    groups: dict[tuple[Any, Any], list[bool]] = {}
    for record in records:
        key = (record.get("agent_type"), record.get("task_id", record.get("test_id")))
        groups.setdefault(key, []).append(bool(record.get("success")))
    estimates = []
    for (agent_type, task_id), outcomes in groups.items():
        n, c = len(outcomes), sum(outcomes)
        estimates.append(
            {
                "agent_type": agent_type,
                "task_id": task_id,
                "attempts": n,
                "successes": c,
                "pass_at_k": [pass_at_k(n, c, k) for k in range(1, n + 1)],
                "pass_hat_k": [pass_hat_k(n, c, k) for k in range(1, n + 1)],
            }
        )
    return estimates
