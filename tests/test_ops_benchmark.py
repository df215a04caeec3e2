"""The `smoltrace-ops-benchmark` suite: its records, its sample files, and the oracle through the CLI.

The oracle answers ops tasks only with lines the file tools returned, so 100% here means the sample
files hold every answer and the real file tools deliver it; an empty folder must score 0%.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import BIN, cli_env

from smoltrace.core import run_evaluation
from smoltrace.mock import plan_calls
from smoltrace.tasks import load_tasks
from smoltrace.tasks.ops_samples import SAMPLE_FILES, write_ops_sample_data
from smoltrace.tools import TOOL_GROUPS, build_tools

SUITE = "smoltrace-ops-benchmark"
FILE_TEXT_TOOLS = {*TOOL_GROUPS["file_tools"], *TOOL_GROUPS["text_tools"]}


def whole_word(keyword: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", text, re.IGNORECASE) is not None


@pytest.fixture(scope="module")
def tasks() -> list[dict]:
    return load_tasks(SUITE).tasks


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ops") / "data"
    result = subprocess.run(
        [sys.executable, "-m", "smoltrace.ops_data", str(folder)],
        capture_output=True,
        text=True,
        env=cli_env(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Wrote {len(SAMPLE_FILES)} sample files to {folder}")
    return folder


def test_suite_shape(tasks: list[dict]) -> None:
    assert len(tasks) == 24
    assert Counter(t["difficulty"] for t in tasks) == {"easy": 4, "medium": 11, "hard": 9}
    assert Counter(t["category"] for t in tasks) == {
        "log_analysis": 2,
        "metrics_monitoring": 3,
        "configuration": 3,
        "incident_response": 3,
        "performance": 3,
        "automation": 3,
        "security": 3,
        "debugging": 2,
        "cost_optimization": 2,
    }
    for task in tasks:
        assert task["agent_type"] == "both" and task["expected_tool"] == "multiple"
        assert task["required_tools"] and set(task["required_tools"]) <= FILE_TEXT_TOOLS
        assert task["expected_keywords"] and task["id"].startswith("ops_")


def test_keywords_are_not_in_the_prompt_but_in_what_the_tools_return(
    tasks: list[dict], sample_dir: Path
) -> None:
    tools = {
        t.name: t for t in build_tools(["file_tools", "text_tools"], working_directory=sample_dir)
    }
    for task in tasks:
        for keyword in task["expected_keywords"]:
            assert not whole_word(keyword, task["prompt"]), (task["id"], keyword)
        plan = plan_calls(task, set(tools))
        assert len(plan) == task["expected_tool_calls"], task["id"]
        assert {name for name, _ in plan} == set(task["required_tools"]), task["id"]
        outputs = [tools[name](**arguments) for name, arguments in plan]
        assert not [o for o in outputs if o.startswith("Error")], (task["id"], outputs)
        combined = "\n".join(outputs)
        for keyword in task["expected_keywords"]:
            assert whole_word(keyword, combined), (task["id"], keyword)


def test_sample_data_command(sample_dir: Path, tmp_path: Path) -> None:
    folders = {p.name for p in sample_dir.iterdir() if p.is_dir()}
    assert folders >= {
        "logs",
        "metrics",
        "config",
        "k8s",
        "deployments",
        "backups",
        "security",
        "billing",
        "storage",
        "state",
    }
    files = sorted(str(p.relative_to(sample_dir)) for p in sample_dir.rglob("*") if p.is_file())
    assert files == sorted(SAMPLE_FILES)
    # deterministic: the same bytes on every run
    again = tmp_path / "again"
    write_ops_sample_data(again)
    for name in SAMPLE_FILES:
        assert (again / name).read_bytes() == (sample_dir / name).read_bytes(), name
    json.loads((sample_dir / "metrics" / "cache_stats.json").read_text())

    def ops_data(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "smoltrace.ops_data", *args],
            capture_output=True,
            text=True,
            env=cli_env(),
            check=False,
        )

    refused = ops_data(str(again))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    (again / "logs" / "app.log").write_text("changed")
    assert ops_data(str(again), "--force").returncode == 0
    assert (again / "logs" / "app.log").read_bytes() == (
        sample_dir / "logs" / "app.log"
    ).read_bytes()
    a_file = tmp_path / "file"
    a_file.write_text("")
    not_a_folder = ops_data(str(a_file))
    assert not_a_folder.returncode == 2 and "is a file" in not_a_folder.stderr


def _core(line: str) -> str:
    """A findings line without the prefix grep ('12:') or search_files ('logs/x.log:12: ') adds."""
    return re.sub(r"^(?:\S+:\d+: |\d+[:-])", "", line)


def test_oracle_scores_100_percent_through_the_cli_and_the_file_tools(
    sample_dir: Path, tmp_path: Path, tasks: list[dict]
) -> None:
    output = tmp_path / "out"
    result = subprocess.run(
        [
            str(BIN / "smoltrace-eval"),
            "--provider",
            "mock",
            "--model",
            "oracle",
            "--dataset-name",
            SUITE,
            "--enable-tools",
            "file_tools",
            "text_tools",
            "--working-directory",
            str(sample_dir),
            "--output-format",
            "json",
            "--output-dir",
            str(output),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (folder,) = output.iterdir()
    rows = json.loads((folder / "results.json").read_text())
    assert len(rows) == 48
    assert Counter(r["agent_type"] for r in rows) == {"tool": 24, "code": 24}
    by_id = {t["id"]: t for t in tasks}
    samples = [(sample_dir / name).read_text() for name in SAMPLE_FILES]
    for row in rows:
        task = by_id[row["task_id"]]
        assert row["success"] is True, row
        assert set(row["tools_used"]) == set(task["required_tools"]), row["tools_used"]
        assert len(row["tools_used"]) == task["expected_tool_calls"]
        lines = row["response"].splitlines()
        assert lines and all(any(_core(line) in text for text in samples) for line in lines), row
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["tools"] == {
        "enabled": [*TOOL_GROUPS["file_tools"], *TOOL_GROUPS["text_tools"]],
        "working_directory": str(sample_dir.resolve()),
        "allow_local_network": False,
    }
    board = json.loads((folder / "leaderboard_row.json").read_text())
    assert board["successful_tests"] == 48 and board["success_rate"] == 100.0


def test_an_empty_working_directory_scores_nothing(tmp_path: Path) -> None:
    """The answers come from the files: without them the same oracle fails every task."""
    results, *_ = run_evaluation(
        "oracle",
        ["tool", "code"],
        dataset_name=SUITE,
        provider="mock",
        verbose=False,
        enable_tools=["file_tools", "text_tools"],
        working_directory=str(tmp_path),
    )
    records = results["tool"] + results["code"]
    assert len(records) == 48 and not any(r["success"] for r in records)
    assert all(r["response_correct"] is False for r in records)


def test_a_run_without_the_required_tools_says_so(
    tasks: list[dict], caplog: pytest.LogCaptureFixture
) -> None:
    from smoltrace.main import _warn_unreachable_tools

    needed = Counter(tool for t in tasks for tool in t["required_tools"])
    _warn_unreachable_tools({"tool": tasks}, ["read_file"])
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "read_file" not in warning and "--enable-tools" in warning
    for tool, count in needed.items():
        if tool != "read_file":
            assert f"{tool} ({count} tasks)" in warning
