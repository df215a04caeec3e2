"""The success rule: did the agent use the right tools, finish, and say the right thing?

The rules are the original's (see smoltrace_dataset_structure.md, "Scoring") with its holes closed:
`success` is always a bool, code agents are judged on the tools their code really executed, a
missing response never matches a keyword, and a task that errored never succeeds.
"""

from __future__ import annotations

from typing import Any

from .matching import DEFAULT_KEYWORD_MATCH, KeywordMatch, any_keyword_matches

__all__ = ["SCORE_FIELDS", "correct_tool", "keywords_in_prompt", "response_correct", "score"]

SCORE_FIELDS = ("success", "tool_called", "correct_tool", "final_answer_called", "response_correct")


def correct_tool(task: dict[str, Any], tools_used: list[str]) -> bool:
    """The expected tool was called at least `expected_tool_calls` times (1 when absent).

    `multiple` accepts any tools; with no expected tool, any tool call counts.
    """
    expected = task.get("expected_tool")
    minimum = 1 if task.get("expected_tool_calls") is None else task["expected_tool_calls"]
    if expected == "multiple":
        return len(tools_used) >= minimum
    if expected:
        return tools_used.count(expected) >= minimum
    return bool(tools_used)


def response_correct(
    task: dict[str, Any], response: str | None, keyword_match: KeywordMatch = DEFAULT_KEYWORD_MATCH
) -> bool:
    """True without expected keywords; else any keyword matches the response under the rule."""
    keywords = task.get("expected_keywords") or []
    if not keywords:
        return True
    if response is None:
        return False
    return any_keyword_matches(keywords, response, keyword_match)


def keywords_in_prompt(
    task: dict[str, Any], keyword_match: KeywordMatch = DEFAULT_KEYWORD_MATCH
) -> list[str]:
    """The task's expected keywords that its own prompt already contains (echoing it would pass)."""
    return [
        k
        for k in task.get("expected_keywords") or []
        if any_keyword_matches([k], task.get("prompt") or "", keyword_match)
    ]


def score(
    task: dict[str, Any],
    tools_used: list[str],
    final_answer_called: bool,
    response: str | None,
    *,
    error: str | None = None,
    keyword_match: KeywordMatch = DEFAULT_KEYWORD_MATCH,
) -> dict[str, bool]:
    """The five boolean scoring fields of a results row (SCORE_FIELDS)."""
    tool_called = bool(tools_used)
    needs_tool = bool(task.get("expected_tool"))
    tool_ok = correct_tool(task, tools_used)
    answer_ok = response_correct(task, response, keyword_match)
    success = (
        not error
        and final_answer_called
        and answer_ok
        and (tool_called and tool_ok if needs_tool else True)
    )
    return {
        "success": bool(success),
        "tool_called": tool_called,
        "correct_tool": tool_ok,
        "final_answer_called": bool(final_answer_called),
        "response_correct": answer_ok,
    }
