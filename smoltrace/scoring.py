"""Scoring one task execution: did the agent use the right tools, answer, and say the right thing?

The rules are the original's (see smoltrace_dataset_structure.md, "Scoring") with its holes closed:
`success` is always a bool, code agents are judged on the tools their code really executed, and a
missing response never matches a keyword.
"""

from __future__ import annotations

from typing import Any


def correct_tool(task: dict[str, Any], tools_used: list[str]) -> bool:
    expected = task.get("expected_tool")
    minimum = task.get("expected_tool_calls") or 1
    if expected == "multiple":
        return len(tools_used) >= minimum
    if expected:
        return tools_used.count(expected) >= minimum
    return bool(tools_used)


def response_correct(task: dict[str, Any], response: str | None) -> bool:
    keywords = task.get("expected_keywords") or []
    if not keywords:
        return True
    if response is None:
        return False
    text = response.lower()
    return any(keyword.lower() in text for keyword in keywords)


def score(
    task: dict[str, Any], tools_used: list[str], final_answer_called: bool, response: str | None
) -> dict[str, bool]:
    """The five boolean scoring fields of a results row."""
    tool_called = bool(tools_used)
    needs_tool = bool(task.get("expected_tool"))
    tool_ok = correct_tool(task, tools_used)
    answer_ok = response_correct(task, response)
    success = (
        final_answer_called and answer_ok and (tool_called and tool_ok if needs_tool else True)
    )
    return {
        "success": bool(success),
        "tool_called": tool_called,
        "correct_tool": tool_ok,
        "final_answer_called": bool(final_answer_called),
        "response_correct": answer_ok,
    }
