"""`smoltrace-compare` and the `--min-success-rate` gate, on run folders made by the real CLI.

Runs: litellm against the scripted server, which answers addition tasks right or wrong as each test
decides. Every figure of the comparison is recomputed here from the two results.json files (the
exact binomial p from fractions, the interval from the per-task differences read from the rows).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import BIN, cli_env
from fakes.hub_server import FakeHub
from fakes.llm_server import ScriptedLLMServer, graded_addition
from hubtest import TOKEN, hub_server, make_run_folder

from smoltrace.scoring import stats

TASKS = [
    {
        "id": f"add{i}",
        "prompt": f"What is {i} plus {10 + i}?",
        "expected_tool": "calculator",
        "expected_keywords": [str(10 + 2 * i)],
        "difficulty": "easy",
        "agent_type": "tool",
    }
    for i in range(8)
]
Z = 1.959963984540054


def task_number(task: str) -> int:
    return int(task.split("What is ", 1)[1].split(" ", 1)[0])


def eval_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "smoltrace-eval"), *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )


def compare_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "smoltrace.compare", *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Run A answers all 8 tasks right; run B only tasks 0-2 (twice: point and lower-bound gates)."""
    base = tmp_path_factory.mktemp("compare")
    tasks = base / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    server = ScriptedLLMServer().start()
    folders: dict[str, Path] = {}
    outcomes: dict[str, subprocess.CompletedProcess] = {}
    try:
        for name, right, gate in (
            ("a", range(8), ["--min-success-rate", "100"]),
            ("b", range(3), ["--min-success-rate", "30"]),
            ("b_lower", range(3), ["--min-success-rate", "30", "--gate", "lower-bound"]),
        ):
            server.set_responder(graded_addition(lambda task, _, r=right: task_number(task) in r))
            out = base / name
            outcomes[name] = eval_cli(
                "--model", "openai/gpt-4o-mini", "--api-base", server.openai_base,
                "--dataset-name", str(tasks), "--agent-type", "tool",
                "--output-format", "json", "--output-dir", str(out), *gate,
            )  # fmt: skip
            (folders[name],) = [p for p in out.iterdir() if p.is_dir()]
    finally:
        server.stop()
    yield {**folders, "outcomes": outcomes}  # type: ignore[dict-item]


def rows(folder: Path) -> list[dict]:
    return json.loads((folder / "results.json").read_text())


def test_success_rate_gate_exit_codes(runs: dict) -> None:
    a, b, lower = (runs["outcomes"][k] for k in ("a", "b", "b_lower"))
    assert a.returncode == 0, a.stderr
    assert "[GATE] passed: success rate 100.0% >= 100%" in a.stdout
    assert b.returncode == 0, b.stderr
    assert "[GATE] passed: success rate 37.5% >= 30%" in b.stdout  # 3/8
    # Wilson lower bound of 3/8, written out: (p + z^2/2n - z sqrt(p q/n + z^2/4n^2)) / (1 + z^2/n)
    p, n = 3 / 8, 8
    low = (p + Z**2 / (2 * n) - Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n * n))) / (
        1 + Z**2 / n
    )
    assert lower.returncode == 4
    assert f"lower end of the 95% interval of the success rate {round(100 * low, 2)}%" in (
        lower.stderr
    )
    assert "below --min-success-rate 30%" in lower.stderr and "Traceback" not in lower.stderr
    assert "TOOL: 3/8 (37.5%, 95% CI 13.7–69.4%)" in b.stdout


def test_compare_json_figures_recomputed_from_the_rows(runs: dict) -> None:
    result = compare_cli(str(runs["a"]), str(runs["b"]), "--format", "json", "--seed", "5")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    a = {r["task_id"]: r["success"] for r in rows(runs["a"])}
    b = {r["task_id"]: r["success"] for r in rows(runs["b"])}
    assert report["paired_tasks"] == 8 and report["dropped"] == {"only_in_a": 0, "only_in_b": 0}
    wins = sum(1 for t in a if b[t] and not a[t])
    losses = sum(1 for t in a if a[t] and not b[t])
    assert (wins, losses) == (0, 5)
    assert report["mcnemar"]["wins"] == wins and report["mcnemar"]["losses"] == losses
    assert report["mcnemar"]["ties"] == 3
    # exact binomial: 2 * P(X <= 0 | n=5, 1/2) = 2/32
    assert report["mcnemar"]["p_value"] == float(2 * Fraction(1, 2**5))
    rate = report["success_rate"]
    assert (rate["a"], rate["b"], rate["difference"]) == (100.0, 37.5, -62.5)
    diffs = [float(b[t]) - float(a[t]) for t in a]
    low, high = stats.paired_bootstrap_interval(diffs, seed=5)
    assert (rate["ci_low"], rate["ci_high"]) == (100 * low, 100 * high)
    assert rate["ci_high"] < 0  # (3/8)^8: almost no resample has only ties
    tokens_a = {r["task_id"]: r["total_tokens"] for r in rows(runs["a"])}
    tokens_b = {r["task_id"]: r["total_tokens"] for r in rows(runs["b"])}
    token_diffs = [tokens_b[t] - tokens_a[t] for t in a]
    assert report["tokens"]["difference"] == pytest.approx(sum(token_diffs) / 8)
    assert report["tokens"]["a"] == pytest.approx(sum(tokens_a.values()) / 8)
    latency = {r["task_id"]: r["execution_time_ms"] for r in rows(runs["b"])}
    assert report["duration_ms"]["b"] == pytest.approx(sum(latency.values()) / 8)
    cost_a = sum(r["cost_usd"] for r in rows(runs["a"])) / 8
    assert report["cost_usd"]["a"] == pytest.approx(cost_a)
    per_task = {t["task_id"]: t for t in report["tasks"]}
    assert per_task["add5"] == {
        "task_id": "add5", "agent_type": "tool", "a_successes": 1, "a_attempts": 1,
        "b_successes": 0, "b_attempts": 1, "outcome": "loss",
    }  # fmt: skip
    assert per_task["add1"]["outcome"] == "tie"
    assert report["a"]["run_id"] == rows(runs["a"])[0]["run_id"]


def test_compare_table_and_regression_gate(runs: dict) -> None:
    table = compare_cli(str(runs["a"]), str(runs["b"]))
    assert table.returncode == 0, table.stderr
    assert "Paired tasks: 8 (dropped: 0 only in A, 0 only in B)" in table.stdout
    # the README's example: d = 0,0,0,-1,-1,-1,-1,-1, seed 0, 10,000 resamples
    assert "100.0%       37.5%    -62.5 pp  [-87.5, -25.0] pp" in table.stdout
    assert "B's success rate is lower than A's (the 95% interval excludes 0)" in table.stdout
    # 5 discordant tasks: exact p = 0.0625, so the table warns that the evidence is thin
    assert "only 5 tasks differ and McNemar's exact test does not reject at 5%" in table.stdout
    assert "Tasks B wins: 0, loses: 5, ties: 3; McNemar exact p = 0.0625" in table.stdout
    assert "LOSS  tool:add7  A 1/1  B 0/1" in table.stdout
    # worse by 62.5 points, interval below 0: a 10-point budget fails, a 70-point one does not
    failed = compare_cli(str(runs["a"]), str(runs["b"]), "--max-regression", "10")
    assert failed.returncode == 4, failed.stderr
    assert "Regression gate (--max-regression 10 pp): FAILED" in failed.stdout
    assert compare_cli(str(runs["a"]), str(runs["b"]), "--max-regression", "70").returncode == 0
    # B better than A: never a regression
    reverse = compare_cli(
        str(runs["b"]), str(runs["a"]), "--max-regression", "0", "--format", "json"
    )
    assert reverse.returncode == 0
    assert json.loads(reverse.stdout)["gate"] == {"max_regression": 0.0, "failed": False}


def test_a_regression_inside_the_noise_does_not_fail_the_gate(runs: dict, tmp_path: Path) -> None:
    # B' = A with one task lost: 12.5 points worse, but one discordant task is no evidence
    results = rows(runs["a"])
    results[0]["success"] = False
    worse = tmp_path / "results.json"
    worse.write_text(json.dumps(results))
    result = compare_cli(str(runs["a"]), str(worse), "--max-regression", "5", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["success_rate"]["difference"] == -12.5 and report["success_rate"]["ci_high"] == 0
    assert report["mcnemar"]["p_value"] == 1.0 and report["gate"]["failed"] is False


def test_dropped_tasks_are_counted(runs: dict, tmp_path: Path) -> None:
    subset = tmp_path / "results.json"
    subset.write_text(
        json.dumps([r for r in rows(runs["b"]) if r["task_id"] not in ("add0", "add6")])
    )
    report = json.loads(compare_cli(str(runs["a"]), str(subset), "--format", "json").stdout)
    assert report["paired_tasks"] == 6 and report["dropped"] == {"only_in_a": 2, "only_in_b": 0}
    assert report["success_rate"]["b"] == pytest.approx(100 * 2 / 6)


def test_refusals_are_one_line_with_exit_2(runs: dict, tmp_path: Path) -> None:
    renamed = tmp_path / "other.json"
    renamed.write_text(json.dumps([{**r, "task_id": "x" + r["task_id"]} for r in rows(runs["b"])]))
    code_agent = tmp_path / "code.json"
    code_agent.write_text(json.dumps([{**r, "agent_type": "code"} for r in rows(runs["b"])]))
    empty_folder = tmp_path / "unfinished"
    empty_folder.mkdir()
    cases = [
        ((str(runs["a"]), str(renamed)), "the runs share no task (by task id and agent type)"),
        ((str(runs["a"]), str(code_agent)), "the runs share no task"),
        ((str(runs["a"]), str(empty_folder)), "has no results.json"),
        ((str(runs["a"]), "not a source"), "is neither a run folder"),
        ((str(runs["a"]), str(runs["b"]), "--max-regression", "150"), "outside 0..100"),
    ]
    for args, message in cases:
        result = compare_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert result.stdout == ""


def test_min_success_rate_is_checked_before_any_run(tmp_path: Path) -> None:
    result = eval_cli("--provider", "mock", "--model", "oracle", "--min-success-rate", "0.8x")
    assert result.returncode == 2 and "invalid float value" in result.stderr
    result = eval_cli(
        "--provider", "mock", "--model", "oracle", "--min-success-rate", "120",
        "--output-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 2 and "outside 0..100" in result.stderr
    assert list(tmp_path.iterdir()) == []


# -- two Hub results datasets --------------------------------------------------------------------


@pytest.fixture()
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    yield from hub_server(tmp_path, monkeypatch)


def test_compare_two_hub_datasets(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from smoltrace import compare
    from smoltrace.outputs.hub import publish_run_folder

    first = make_run_folder(tmp_path / "a", timestamp="20250101_120000")
    second = make_run_folder(tmp_path / "b", timestamp="20250102_120000")
    results = json.loads((second / "results.json").read_text())
    lost = [r["test_case_uid"] for r in results if r["agent_type"] == "code"][:4]
    for row in results:
        if row["test_case_uid"] in lost:
            row["success"] = False
    (second / "results.json").write_text(json.dumps(results))
    repo_a = publish_run_folder(first, TOKEN)["results"]
    repo_b = publish_run_folder(second, TOKEN)["results"]
    shutil.rmtree(tmp_path / "a")
    shutil.rmtree(tmp_path / "b")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert compare.main([repo_a, repo_b, "--format", "json", "--max-regression", "1"]) == 4
    report = json.loads(capsys.readouterr().out)
    total = len(results)
    assert report["a"]["source"] == repo_a and report["paired_tasks"] == total
    assert report["mcnemar"]["losses"] == 4 and report["mcnemar"]["wins"] == 0
    assert report["mcnemar"]["p_value"] == float(2 * Fraction(1, 2**4))
    assert report["success_rate"]["difference"] == pytest.approx(-100 * 4 / total)
    diffs = [-1.0 if r["test_case_uid"] in lost else 0.0 for r in results]
    low, high = stats.paired_bootstrap_interval(diffs)
    assert report["success_rate"]["ci_low"] == pytest.approx(100 * low)
    assert report["success_rate"]["ci_high"] == pytest.approx(100 * high)
    assert high < 0 and report["gate"]["failed"] is True
    # a dataset that is not there: one line, exit 2
    assert compare.main([repo_a, "testuser/smoltrace-results-19990101_000000"]) == 2
    assert "cannot load Hub dataset testuser/smoltrace-results-19990101_000000" in (
        capsys.readouterr().err
    )


def test_help_is_light_and_documents_the_exit_codes() -> None:
    result = subprocess.run(
        [str(BIN / "smoltrace-compare"), "--help"], capture_output=True, text=True, env=cli_env()
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "--max-regression" in text and "3 regression gate failed" in text
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom smoltrace.compare import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "print('HEAVY', [m for m in ('litellm', 'torch', 'smolagents', 'datasets') "
            "if m in sys.modules])",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert "HEAVY []" in probe.stdout, probe.stdout + probe.stderr


def test_point_gate_fails_below_the_threshold_and_passes_at_it(
    capsys: pytest.CaptureFixture,
) -> None:
    from types import SimpleNamespace

    from smoltrace.console import RunConsole
    from smoltrace.main import _success_gate

    row = {"success_rate": 79.99, "success_rate_ci_low": 60.0}
    console = RunConsole(quiet=True)
    point = SimpleNamespace(min_success_rate=80.0, gate="point")
    assert _success_gate(point, row, console) == 4
    assert (
        "gate failed: success rate 79.99% is below --min-success-rate 80%"
        in capsys.readouterr().err
    )
    assert _success_gate(point, {**row, "success_rate": 80.0}, console) == 0
    lower = SimpleNamespace(min_success_rate=60.0, gate="lower-bound")
    assert _success_gate(lower, row, console) == 0
    assert _success_gate(SimpleNamespace(min_success_rate=None, gate="point"), row, console) == 0
