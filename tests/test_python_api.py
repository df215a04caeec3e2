"""`run_evaluation` as notebook and script users call it: agent-type spellings, progress output."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import cli_env

from smoltrace.core import normalize_agent_types, run_evaluation
from smoltrace.errors import ConfigError

SCRIPT = """
from smoltrace.core import run_evaluation
results, *_ = run_evaluation(
    "oracle", "tool", test_subset="easy", provider="mock", verbose={verbose}
)
print("tool records:", len(results["tool"]))
"""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("tool", ["tool"]),
        ("both", ["tool", "code"]),
        (["both"], ["tool", "code"]),
        (["code", "tool"], ["code", "tool"]),
        (["tool", "both"], ["tool", "code"]),
    ],
)
def test_agent_type_spellings(given: str | list[str], expected: list[str]) -> None:
    assert normalize_agent_types(given) == expected


def test_a_string_agent_type_runs_and_a_wrong_one_is_named() -> None:
    results, *_ = run_evaluation("oracle", "code", test_subset="easy", provider="mock")
    assert results["tool"] == [] and len(results["code"]) > 0
    with pytest.raises(ConfigError, match=r"invalid agent type\(s\) 'robot'; use tool, code"):
        run_evaluation("oracle", ["robot"], provider="mock")


def run_script(verbose: bool) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(verbose=verbose)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )


def test_verbose_shows_progress_where_no_logging_is_set_up() -> None:
    """A plain script or notebook sees each task and the summary; verbose=False stays silent."""
    loud, quiet = run_script(True), run_script(False)
    assert loud.returncode == quiet.returncode == 0, loud.stderr + quiet.stderr
    assert loud.stdout == quiet.stdout == "tool records: 5\n"
    lines = loud.stderr.splitlines()
    assert "[1/5] PASS tool:tool_weather_single" in lines
    assert sum(line.startswith("[") and " PASS tool:" in line for line in lines) == 5
    assert "TOOL: 5/5 (100.0%)" in lines
    assert quiet.stderr == ""


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t "])
def test_run_evaluation_itself_refuses_a_blank_prompt(prompt: str) -> None:
    from smoltrace.tasks import TaskSet

    # a caller's own TaskSet skips load_tasks: run_evaluation must still check it, before any call
    tasks = TaskSet(
        [{"id": "fine", "prompt": "What is 2 + 2?"}, {"id": "blank", "prompt": prompt}], "mine"
    )
    with pytest.raises(ConfigError, match=r"task 'blank'.*'prompt'"):
        run_evaluation("oracle", ["tool"], provider="mock", task_set=tasks, verbose=False)


def test_run_evaluation_warns_about_keywords_already_in_the_prompt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="smoltrace"):
        run_evaluation("oracle", ["tool"], provider="mock")
    [warning] = [r.getMessage() for r in caplog.records if "own prompt" in r.getMessage()]
    for echoed in ("tool_time_single (UTC)", "tool_search_and_summarize (AI)"):
        assert echoed in warning
    assert "tool_weather_compare (Paris)" in warning
