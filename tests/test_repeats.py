"""`--repeats 5` through the real CLI against a scripted server that is right on some attempts only.

The server decides from the request's seed (attempt k of a run with `--seed 100` sends 100 + k)
whether to answer a task right, so the outcome of every (task, attempt) is known in advance. Every
figure the run publishes is recomputed here from that plan, with formulas written out in this file.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BIN, cli_env
from fakes.llm_server import ScriptedLLMServer, graded_addition, task_text

from smoltrace.core import run_evaluation
from smoltrace.errors import ConfigError

BASE_SEED, K = 100, 5
SUCCESSES = [1, 2, 3, 4, 0, 5]  # planned successes of task i over its 5 attempts
TASKS = [
    {
        "id": f"add{i}",
        "prompt": f"What is {i} plus {20 + i}?",
        "expected_tool": "calculator",
        "expected_keywords": [str(20 + 2 * i)],
        "difficulty": "easy",
        "agent_type": "tool",
    }
    for i in range(len(SUCCESSES))
]
Z = 1.959963984540054


def planned(i: int, attempt: int) -> bool:
    """Task i is answered right on SUCCESSES[i] of its attempts, scattered (3a + i mod 5 is a
    permutation of 0..4 as a runs over 0..4)."""
    return (3 * attempt + i) % K < SUCCESSES[i]


def task_index(task: str) -> int:
    return int(task.split("What is ", 1)[1].split(" ", 1)[0])


def correct(task: str, seed: object) -> bool:
    assert isinstance(seed, int), f"every request must carry a seed, got {seed!r}"
    return planned(task_index(task), seed - BASE_SEED)


def wilson(successes: float, n: float) -> tuple[float, float]:
    p = successes / n
    centre = p + Z * Z / (2 * n)
    spread = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - spread) / (1 + Z * Z / n), (centre + spread) / (1 + Z * Z / n)


def subsets_pass(n: int, c: int, k: int) -> tuple[float, float]:
    attempts = [True] * c + [False] * (n - c)
    draws = list(itertools.combinations(attempts, k))
    return sum(map(any, draws)) / len(draws), sum(map(all, draws)) / len(draws)


@pytest.fixture(scope="module")
def repeated_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("repeats")
    tasks = root / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    with ScriptedLLMServer(graded_addition(correct)) as server:
        result = subprocess.run(
            [
                str(BIN / "smoltrace-eval"),
                "--model",
                "openai/gpt-4o-mini",
                "--api-base",
                server.openai_base,
                "--dataset-name",
                str(tasks),
                "--agent-type",
                "tool",
                "--repeats",
                str(K),
                "--seed",
                str(BASE_SEED),
                "--parallel-workers",
                "3",
                "--enable-otel",
                "--output-format",
                "json",
                "--output-dir",
                str(root / "out"),
                "--min-success-rate",
                "25",
                "--gate",
                "lower-bound",
            ],
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=600,
        )
        requests = server.requests
    (folder,) = (root / "out").iterdir()
    return {"result": result, "folder": folder, "requests": requests}


def load(folder: Path, name: str):
    return json.loads((folder / name).read_text())


def test_every_task_ran_k_times_with_its_attempt_and_seed(repeated_run: dict) -> None:
    result, folder = repeated_run["result"], repeated_run["folder"]
    assert result.returncode == 0, result.stderr
    rows = load(folder, "results.json")
    assert len(rows) == K * len(TASKS)
    assert len({r["test_case_uid"] for r in rows}) == len(rows)
    assert {(r["task_id"], r["attempt"]) for r in rows} == {
        (t["id"], a) for t in TASKS for a in range(K)
    }
    assert all(r["test_case_uid"] == f"tool:{r['task_id']}#{r['attempt']}" for r in rows)
    # attempt 0 of every task first, then attempt 1, ...; test_index numbers the rows in order
    assert [r["attempt"] for r in rows] == [a for a in range(K) for _ in TASKS]
    assert [r["test_index"] for r in rows] == list(range(len(rows)))
    for row in rows:
        assert row["success"] == planned(task_index(row["prompt"]), row["attempt"]), row
    # each attempt of each task was one clean conversation: a calculator call, then the answer
    sent = [(task_index(task_text(body)), body["seed"]) for body in repeated_run["requests"]]
    assert sorted(sent) == sorted(
        (i, BASE_SEED + a) for i in range(len(TASKS)) for a in range(K) for _ in range(2)
    )
    meta = load(folder, "metadata.json")
    assert meta["repeats"] == {
        "count": K,
        "base_seed": BASE_SEED,
        "seeds": [BASE_SEED + a for a in range(K)],
    }


def test_traces_carry_the_attempt(repeated_run: dict) -> None:
    rows = {r["test_case_uid"]: r for r in load(repeated_run["folder"], "results.json")}
    traces = load(repeated_run["folder"], "traces.json")
    assert len(traces) == len(rows)
    for trace in traces:
        root = next(s for s in trace["spans"] if s["name"] == "test_evaluation")
        uid = root["attributes"]["test.case_uid"]
        assert root["attributes"]["test.attempt"] == rows[uid]["attempt"]
        assert rows[uid]["trace_id"] == trace["trace_id"]


def test_leaderboard_figures_recomputed_from_the_plan(repeated_run: dict) -> None:
    board = load(repeated_run["folder"], "leaderboard_row.json")
    rows = load(repeated_run["folder"], "results.json")
    n_tasks, total, successes = len(TASKS), K * len(TASKS), sum(SUCCESSES)
    p = successes / total
    assert (board["repeats"], board["total_tasks"], board["total_tests"]) == (K, n_tasks, total)
    assert board["successful_tests"] == successes and board["success_rate"] == round(100 * p, 2)
    # cluster-robust SE: sqrt(sum_t (c_t - p K)^2) / N
    se = math.sqrt(sum((c - p * K) ** 2 for c in SUCCESSES)) / total
    assert board["success_rate_se"] == round(100 * se, 2)
    effective = min(total, max(n_tasks, p * (1 - p) / se**2))
    low, high = wilson(p * effective, effective)
    assert (board["success_rate_ci_low"], board["success_rate_ci_high"]) == (
        round(100 * low, 2),
        round(100 * high, 2),
    )
    curves = [subsets_pass(K, c, K) for c in SUCCESSES]
    assert board["pass_at_1"] == round(sum(c / K for c in SUCCESSES) / n_tasks, 4)
    assert board["pass_at_k"] == round(sum(a for a, _ in curves) / n_tasks, 4) == 0.8333
    assert board["pass_hat_k"] == round(sum(h for _, h in curves) / n_tasks, 4) == 0.1667
    # mean tokens per attempt with its task-clustered (CR1) interval
    by_task = {t["id"]: [r["total_tokens"] for r in rows if r["task_id"] == t["id"]] for t in TASKS}
    mean = sum(r["total_tokens"] for r in rows) / total
    spread = sum(sum(x - mean for x in xs) ** 2 for xs in by_task.values())
    tokens_se = math.sqrt(n_tasks / (n_tasks - 1) * spread) / total
    assert board["avg_tokens_per_test_ci_low"] == round(mean - Z * tokens_se, 2)
    assert board["avg_tokens_per_test_ci_high"] == round(mean + Z * tokens_se, 2)


def test_console_summary_and_gate(repeated_run: dict) -> None:
    out = repeated_run["result"].stdout
    total, successes = K * len(TASKS), sum(SUCCESSES)
    p = successes / total
    se = math.sqrt(sum((c - p * K) ** 2 for c in SUCCESSES)) / total
    effective = min(total, max(len(TASKS), p * (1 - p) / se**2))
    low, high = wilson(p * effective, effective)
    assert (
        f"TOOL: {successes}/{total} ({100 * p:.1f}%, 95% CI {100 * low:.1f}–{100 * high:.1f}%); "
        f"{len(TASKS)} tasks × {K} attempts, pass@5 0.833, pass^5 0.167"
    ) in out
    # per task: c/n and the pass@k curve; add1 has 2 of 5: pass@2 = 1 - C(3,2)/C(5,2) = 0.7
    assert "  add1: 2/5; pass@k 0.40 0.70 0.90 1.00 1.00; pass^k 0.40 0.10 0.00 0.00 0.00" in out
    assert "  add4: 0/5; pass@k 0.00 0.00 0.00 0.00 0.00" in out
    assert (
        f"[GATE] passed: lower end of the 95% interval of the success rate {round(100 * low, 2)}%"
        in out
    )


def test_compare_uses_task_success_shares(repeated_run: dict, tmp_path: Path) -> None:
    """Against a copy where add4 also succeeds on every attempt: one win, 5/30 points better."""
    rows = load(repeated_run["folder"], "results.json")
    better = [{**r, "success": True} if r["task_id"] == "add4" else r for r in rows]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(better))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smoltrace.compare",
            str(repeated_run["folder"]),
            str(path),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["paired_tasks"] == len(TASKS) and report["a"]["attempts"] == K * len(TASKS)
    assert report["success_rate"]["difference"] == pytest.approx(100 / len(TASKS))
    assert (report["mcnemar"]["wins"], report["mcnemar"]["losses"]) == (1, 0)
    add4 = next(t for t in report["tasks"] if t["task_id"] == "add4")
    assert (add4["a_successes"], add4["b_successes"], add4["b_attempts"]) == (0, 5, 5)


def test_python_api_repeats_and_seed_rules() -> None:
    results, *_ = run_evaluation(
        "oracle", ["tool"], provider="mock", verbose=False, repeats=2, seed=3
    )
    rows = results["tool"]
    assert [r["attempt"] for r in rows] == [0] * (len(rows) // 2) + [1] * (len(rows) // 2)
    assert all(r["test_case_uid"].endswith(f"#{r['attempt']}") for r in rows)
    single, *_ = run_evaluation("oracle", ["tool"], provider="mock", verbose=False)
    assert all(r["attempt"] == 0 and "#" not in r["test_case_uid"] for r in single["tool"])
    for kwargs, message in (
        ({"repeats": 0}, "--repeats must be a whole number of at least 1"),
        ({"repeats": 2, "seed": 1, "model_args": {"seed": 2}}, "the seed is given twice"),
        ({"model_args": {"seed": "x"}}, "the seed must be a whole number"),
    ):
        with pytest.raises(ConfigError, match=message):
            run_evaluation("oracle", ["tool"], provider="mock", verbose=False, **kwargs)


def test_readme_example_is_this_run(repeated_run: dict) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    line = next(x for x in repeated_run["result"].stdout.splitlines() if x.startswith("TOOL: "))
    assert f"`{line}`" in readme
    naive_low, naive_high = wilson(sum(SUCCESSES), K * len(TASKS))  # attempts as independent
    assert f"would claim {100 * naive_low:.1f}–{100 * naive_high:.1f}%" in readme


def test_manifest_records_repeats_and_seed(repeated_run: dict) -> None:
    import shlex

    manifest = load(repeated_run["folder"], "metadata.json")["manifest"]
    assert (manifest["repeats"], manifest["base_seed"]) == (K, BASE_SEED)
    command = shlex.split(manifest["reproduce_command"])
    assert command[command.index("--repeats") + 1] == str(K)
    assert command[command.index("--seed") + 1] == str(BASE_SEED)
