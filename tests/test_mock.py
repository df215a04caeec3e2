"""The mock oracle: 100% on the built-in suite, never a crash on other datasets."""

from __future__ import annotations

from smoltrace.core import run_evaluation
from smoltrace.mock import plan_calls
from smoltrace.tasks import TaskSet


def test_oracle_scores_every_builtin_task_for_both_agent_types() -> None:
    results, *_ = run_evaluation("oracle", ["tool", "code"], provider="mock")
    assert len(results["tool"]) == 8 and len(results["code"]) == 7
    for record in results["tool"] + results["code"]:
        assert record["success"] is True, record
        assert record["error"] is None
        assert record["total_tokens"] == record["prompt_tokens"] + record["completion_tokens"] > 0
        assert record["cost_usd"] == 0.0


def test_oracle_never_crashes_on_foreign_tasks() -> None:
    tasks = TaskSet(
        [
            {"id": "unknown_tool", "prompt": "Translate hello", "expected_tool": "translator"},
            {
                "id": "multiple_no_hint",
                "prompt": "Do several things",
                "expected_tool": "multiple",
                "expected_tool_calls": 3,
            },
            {"id": "bare", "prompt": "Say something nice"},
            {"id": "keywords", "prompt": "Name a colour", "expected_keywords": ["blue"]},
        ],
        "inline",
    )
    results, *_ = run_evaluation("oracle", ["tool", "code"], provider="mock", task_set=tasks)
    by_uid = {r["test_case_uid"]: r for r in results["tool"] + results["code"]}
    assert len(by_uid) == 8
    assert all(r["error"] is None and isinstance(r["success"], bool) for r in by_uid.values())
    assert (
        by_uid["tool:unknown_tool"]["success"] is False
    )  # the tool does not exist: honest failure
    assert (
        by_uid["tool:multiple_no_hint"]["tools_used"] and by_uid["code:keywords"]["success"] is True
    )


def test_plan_reads_arguments_from_the_prompt() -> None:
    task = {
        "prompt": "Compare the weather in Paris, France and London, UK.",
        "expected_tool": "get_weather",
        "expected_tool_calls": 2,
    }
    assert plan_calls(task, {"get_weather"}) == [
        ("get_weather", {"location": "Paris, France"}),
        ("get_weather", {"location": "London, UK"}),
    ]
    assert plan_calls(
        {"prompt": "What is 234 multiplied by 67?", "expected_tool": "calculator"}, {"calculator"}
    ) == [("calculator", {"expression": "234 * 67"})]
