"""The estimators against hand-worked and textbook values, and their properties (hypothesis).

Every expected value here is computed a second, independent way: by enumerating the subsets of
attempts, from the textbook's published digits, with exact fractions, or with Miller's formula.
"""

from __future__ import annotations

import itertools
import math
import statistics
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smoltrace.scoring import stats

Z = 1.959963984540054


def enumerate_pass(n: int, c: int, k: int) -> tuple[float, float]:
    """(pass@k, pass^k) by enumerating every k-subset of n attempts with c successes."""
    attempts = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(attempts, k))
    return (
        sum(any(s) for s in subsets) / len(subsets),
        sum(all(s) for s in subsets) / len(subsets),
    )


def miller_se(clusters: list[list[float]]) -> float:
    """Miller 2024 eq. for the clustered SE: CLT variance plus within-cluster cross terms."""
    values = [x for c in clusters for x in c]
    n = len(values)
    mean = sum(values) / n
    clt = sum((x - mean) ** 2 for x in values) / n**2
    cross = sum(
        (c[i] - mean) * (c[j] - mean)
        for c in clusters
        for i in range(len(c))
        for j in range(len(c))
        if i != j
    )
    return math.sqrt(max(0.0, clt + cross / n**2))  # float cancellation can dip below 0


# -- pass@k / pass^k ---------------------------------------------------------------------------


def test_pass_at_k_hand_worked_n5_c2() -> None:
    assert stats.pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert stats.pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert stats.pass_hat_k(5, 2, 2) == pytest.approx(0.1)
    assert stats.pass_hat_k(5, 2, 3) == 0.0
    assert stats.pass_at_k(5, 2, 4) == 1.0  # any 4 of 5 attempts include a success


@pytest.mark.parametrize("n,c,k", [(5, 2, 3), (7, 3, 2), (6, 6, 4), (6, 0, 3), (10, 1, 5)])
def test_pass_estimators_match_enumeration(n: int, c: int, k: int) -> None:
    at_k, hat_k = enumerate_pass(n, c, k)
    assert stats.pass_at_k(n, c, k) == pytest.approx(at_k)
    assert stats.pass_hat_k(n, c, k) == pytest.approx(hat_k)


@pytest.mark.parametrize("n,c,k", [(5, 6, 1), (5, 2, 0), (5, 2, 6), (0, 0, 1), (3, -1, 1)])
def test_pass_estimators_reject_impossible_counts(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError, match="1 <= k <= n"):
        stats.pass_at_k(n, c, k)
    with pytest.raises(ValueError, match="1 <= k <= n"):
        stats.pass_hat_k(n, c, k)


@given(st.integers(1, 30).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_pass_at_k_properties(nc: tuple[int, int]) -> None:
    n, c = nc
    at = [stats.pass_at_k(n, c, k) for k in range(1, n + 1)]
    hat = [stats.pass_hat_k(n, c, k) for k in range(1, n + 1)]
    assert all(0.0 <= v <= 1.0 for v in at + hat)
    assert at == sorted(at)  # monotone non-decreasing in k
    assert hat == sorted(hat, reverse=True)
    assert at[0] == pytest.approx(c / n) and hat[0] == pytest.approx(c / n)
    assert all(h <= at[0] + 1e-12 <= a + 2e-12 for h, a in zip(hat, at, strict=True))


def test_mean_pass_at_k_over_tasks() -> None:
    clusters = [[True, False, False, True, False], [True] * 5, [False] * 5]
    # pass@2 per task: 0.7, 1, 0 -> mean 1.7/3; pass^2: 0.1, 1, 0
    assert stats.mean_pass_at_k(clusters, 2) == pytest.approx(1.7 / 3)
    assert stats.mean_pass_hat_k(clusters, 2) == pytest.approx(1.1 / 3)
    assert stats.mean_pass_at_k(clusters, 6) is None
    # a task with fewer attempts than k is left out, not counted as a failure
    assert stats.mean_pass_at_k([[True, True], [False]], 2) == 1.0


# -- Wilson ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "successes,n,low,high",
    [
        (9, 10, 0.5958, 0.9821),  # the console example
        # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (score, no correction)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_textbook_values(successes: int, n: int, low: float, high: float) -> None:
    got_low, got_high = stats.wilson_interval(successes, n)
    assert (round(got_low, 4), round(got_high, 4)) == (low, high)


def test_wilson_zero_successes_closed_form() -> None:
    # at p = 0 the upper bound is z^2 / (n + z^2)
    assert stats.wilson_interval(0, 10) == (0.0, pytest.approx(Z**2 / (10 + Z**2)))


# -- success rate, clustered -------------------------------------------------------------------


def test_success_rate_hand_worked_clusters() -> None:
    # two tasks, two attempts: one always passes, one never. p = 0.5, N = 4.
    # se = sqrt((2 - 1)^2 + (0 - 1)^2) / 4 = sqrt(2)/4; n_eff = 0.25 / 0.125 = 2 (= tasks)
    estimate = stats.success_rate([[True, True], [False, False]])
    assert estimate.value == 0.5
    assert estimate.se == pytest.approx(math.sqrt(2) / 4)
    assert (estimate.low, estimate.high) == pytest.approx(stats.wilson_interval(1, 2))
    assert (estimate.observations, estimate.tasks) == (4, 2)


def test_clustered_interval_is_wider_than_treating_attempts_as_independent() -> None:
    clusters = [[True] * 5] * 6 + [[False] * 5] * 4
    clustered = stats.success_rate(clusters)
    naive_low, naive_high = stats.wilson_interval(30, 50)
    assert clustered.value == 0.6
    assert clustered.high - clustered.low > naive_high - naive_low
    assert (clustered.low, clustered.high) == pytest.approx(stats.wilson_interval(6, 10))


def test_success_rate_all_pass_with_repeats_is_not_a_point() -> None:
    estimate = stats.success_rate([[True] * 5] * 4)
    assert estimate.value == 1.0 and estimate.se == 0.0
    assert (estimate.low, estimate.high) == pytest.approx(stats.wilson_interval(4, 4))
    assert estimate.low < 1.0


def test_success_rate_needs_attempts() -> None:
    with pytest.raises(ValueError, match="no attempts"):
        stats.success_rate([[], []])


clusters_strategy = st.lists(
    st.lists(st.booleans(), min_size=1, max_size=6), min_size=1, max_size=25
)


@given(clusters_strategy)
def test_success_rate_properties(clusters: list[list[bool]]) -> None:
    estimate = stats.success_rate(clusters)
    values = [x for c in clusters for x in c]
    assert estimate.value == pytest.approx(sum(values) / len(values))
    assert 0.0 <= estimate.low <= estimate.value <= estimate.high <= 1.0
    assert estimate.se == pytest.approx(
        miller_se([[float(x) for x in c] for c in clusters]), abs=1e-7
    )


@given(st.lists(st.booleans(), min_size=1, max_size=60))
def test_success_rate_with_one_attempt_is_the_single_attempt_numbers(outcomes: list[bool]) -> None:
    estimate = stats.success_rate([[o] for o in outcomes])
    n, s = len(outcomes), sum(outcomes)
    p = s / n
    assert estimate.value == pytest.approx(p)
    assert estimate.se == pytest.approx(math.sqrt(p * (1 - p) / n))
    assert (estimate.low, estimate.high) == pytest.approx(stats.wilson_interval(s, n))
    assert stats.mean_pass_at_k([[o] for o in outcomes], 1) == pytest.approx(p)


@given(st.lists(st.integers(1, 6), min_size=1, max_size=12), st.integers(0, 10**6))
def test_mean_pass_at_1_is_the_success_rate_with_equal_repeats(sizes: list[int], seed: int) -> None:
    k = sizes[0]
    clusters = [[(seed >> (i * 3 + j)) & 1 == 1 for j in range(k)] for i in range(len(sizes))]
    assert stats.mean_pass_at_k(clusters, 1) == pytest.approx(stats.success_rate(clusters).value)


# -- means with intervals ----------------------------------------------------------------------


def test_clustered_mean_with_one_observation_per_task_is_the_usual_interval() -> None:
    values = [120.0, 80.0, 100.0, 140.0, 60.0]
    estimate = stats.clustered_mean([[v] for v in values])
    assert estimate is not None
    se = statistics.stdev(values) / math.sqrt(len(values))
    assert estimate.value == 100.0
    assert estimate.se == pytest.approx(se)
    assert (estimate.low, estimate.high) == pytest.approx((100 - Z * se, 100 + Z * se))


def test_clustered_mean_hand_worked() -> None:
    # tasks [10, 20] and [30, 40]: mean 25, cluster sums of deviations -20 and +20
    # se = sqrt(2/1 * (400 + 400)) / 4 = 10
    estimate = stats.clustered_mean([[10, 20], [30, 40]])
    assert estimate is not None
    assert (estimate.value, estimate.se) == (25.0, pytest.approx(10.0))


def test_clustered_mean_undefined_cases() -> None:
    assert stats.clustered_mean([[], []]) is None
    one_task = stats.clustered_mean([[1.0, 3.0]])
    assert one_task == stats.Estimate(2.0, None, None, None, 2, 1)


@given(
    st.lists(
        st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=5),
        min_size=2,
        max_size=20,
    )
)
def test_clustered_mean_contains_the_mean(clusters: list[list[float]]) -> None:
    estimate = stats.clustered_mean(clusters)
    assert estimate is not None and estimate.low is not None and estimate.high is not None
    assert estimate.low <= estimate.value + 1e-6 and estimate.value <= estimate.high + 1e-6


# -- McNemar -----------------------------------------------------------------------------------


def exact_binomial_two_sided(b: int, c: int) -> Fraction:
    n = b + c
    tail = sum(Fraction(math.comb(n, i), 2**n) for i in range(min(b, c) + 1))
    return min(Fraction(1), 2 * tail)


def test_mcnemar_textbook_cases() -> None:
    # b = 10, c = 2: 2 * (1 + 12 + 66) / 4096 = 158/4096
    assert stats.mcnemar_exact(10, 2) == pytest.approx(158 / 4096)
    assert stats.mcnemar_exact(2, 10) == pytest.approx(158 / 4096)
    assert stats.mcnemar_exact(0, 5) == pytest.approx(2 / 32)
    assert stats.mcnemar_exact(4, 4) == 1.0
    assert stats.mcnemar_exact(0, 0) == 1.0


@given(st.integers(0, 60), st.integers(0, 60))
def test_mcnemar_matches_exact_fractions(b: int, c: int) -> None:
    p = stats.mcnemar_exact(b, c)
    assert 0.0 <= p <= 1.0
    assert p == pytest.approx(float(exact_binomial_two_sided(b, c)))
    assert p == stats.mcnemar_exact(c, b)


# -- paired bootstrap and comparison -----------------------------------------------------------


def test_bootstrap_is_reproducible_and_seeded() -> None:
    diffs = [0.2, 0.0, -0.4, 0.6, 1.0, 0.2, -0.2, 0.8, 0.0, 0.4, -0.6, 0.2, 0.4]
    first = stats.paired_bootstrap_interval(diffs, iterations=301, seed=7)
    assert stats.paired_bootstrap_interval(diffs, iterations=301, seed=7) == first
    assert stats.paired_bootstrap_interval(diffs, iterations=301, seed=8) != first
    assert min(diffs) <= first[0] <= first[1] <= max(diffs)


def test_bootstrap_agrees_with_normal_theory_on_many_tasks() -> None:
    diffs = [1] * 60 + [-1] * 20 + [0] * 120
    mean = sum(diffs) / len(diffs)
    se = statistics.pstdev(diffs) / math.sqrt(len(diffs))
    low, high = stats.paired_bootstrap_interval(diffs, seed=1)
    assert low == pytest.approx(mean - Z * se, abs=0.012)
    assert high == pytest.approx(mean + Z * se, abs=0.012)


def test_bootstrap_of_constant_differences_is_that_constant() -> None:
    assert stats.paired_bootstrap_interval([0.5] * 9, iterations=50) == (0.5, 0.5)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0]), min_size=1, max_size=20))
def test_bootstrap_interval_contains_the_mean_difference(diffs: list[float]) -> None:
    low, high = stats.paired_bootstrap_interval(diffs, iterations=2000, seed=3)
    mean = sum(diffs) / len(diffs)
    assert low - 1e-9 <= mean <= high + 1e-9


def test_paired_comparison_hand_worked() -> None:
    a = [[True], [True], [False], [False], [True], [False]]
    b = [[True], [False], [True], [True], [True], [True]]
    result = stats.paired_comparison(list(zip(a, b, strict=True)), iterations=500, seed=0)
    assert (result.tasks, result.wins, result.losses, result.ties) == (6, 3, 1, 2)
    assert result.rate_a == pytest.approx(0.5) and result.rate_b == pytest.approx(5 / 6)
    assert result.difference == pytest.approx(2 / 6)
    assert result.p_value == pytest.approx(float(exact_binomial_two_sided(3, 1)))  # 0.625
    assert result.low <= result.difference <= result.high


def test_paired_comparison_with_repeats_uses_task_rates() -> None:
    a = [[True, False, False, False], [True, True, True, True]]
    b = [[True, True, False, False], [True, True, True, False]]
    result = stats.paired_comparison(list(zip(a, b, strict=True)), iterations=200)
    assert result.difference == pytest.approx(((0.5 - 0.25) + (0.75 - 1.0)) / 2)
    assert (result.wins, result.losses, result.ties) == (1, 1, 0)


def test_paired_comparison_needs_shared_tasks() -> None:
    with pytest.raises(ValueError, match="share no task"):
        stats.paired_comparison([([], [True])])


def test_task_clusters_group_by_agent_and_task() -> None:
    records = [
        {"agent_type": "tool", "task_id": "a", "success": True, "cost_usd": 0.1},
        {"agent_type": "code", "task_id": "a", "success": False, "cost_usd": None},
        {"agent_type": "tool", "task_id": "a", "success": False, "cost_usd": 0.3},
        {"agent_type": "tool", "test_id": "b", "success": True, "cost_usd": 0.2},
    ]
    assert stats.task_clusters(records, lambda r: r["success"]) == [
        [True, False],
        [False],
        [True],
    ]
    assert stats.task_clusters(records, lambda r: r["cost_usd"]) == [[0.1, 0.3], [], [0.2]]


def test_records_without_a_task_id_are_tasks_of_their_own() -> None:
    records = [{"success": True}, {"success": False}, {"task_id": "a", "success": True}]
    assert stats.task_clusters(records, lambda r: r["success"]) == [[True], [False], [True]]


def test_task_estimates_per_task_curves() -> None:
    records = [
        {"agent_type": "tool", "task_id": "a", "success": ok}
        for ok in (True, False, True, False, False)
    ] + [{"agent_type": "code", "task_id": "a", "success": True}]
    tool, code = stats.task_estimates(records)
    assert (tool["attempts"], tool["successes"]) == (5, 2)
    assert tool["pass_at_k"] == pytest.approx([0.4, 0.7, 0.9, 1.0, 1.0])
    assert tool["pass_hat_k"] == pytest.approx([0.4, 0.1, 0.0, 0.0, 0.0])
    assert [enumerate_pass(5, 2, k)[0] for k in range(1, 6)] == pytest.approx(tool["pass_at_k"])
    assert code == {
        "agent_type": "code", "task_id": "a", "attempts": 1, "successes": 1,
        "pass_at_k": [1.0], "pass_hat_k": [1.0],
    }  # fmt: skip
