"""Scoring: the rules of smoltrace_dataset_structure.md ("Scoring") as pure cases, then real smolagents
agents (through litellm, against the scripted server) whose tool use is scored from what really ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.llm_server import by_task, code, tool_call

from smoltrace.core import run_evaluation
from smoltrace.scoring import (
    KEYWORD_MATCH_RULES,
    correct_tool,
    keyword_matches,
    keywords_in_prompt,
    numbers_in,
    response_correct,
    score,
)
from smoltrace.tasks import load_tasks

MODEL = "openai/gpt-4o-mini"

# --- pure rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "tools_used", "expected"),
    [
        # 'multiple': any tools, at least expected_tool_calls of them (1 when absent)
        (
            {"expected_tool": "multiple", "expected_tool_calls": 2},
            ["get_weather", "calculator"],
            True,
        ),
        (
            {"expected_tool": "multiple", "expected_tool_calls": 2},
            ["get_weather", "get_weather"],
            True,
        ),
        ({"expected_tool": "multiple", "expected_tool_calls": 2}, ["get_weather"], False),
        ({"expected_tool": "multiple", "expected_tool_calls": 3}, ["a", "b"], False),
        ({"expected_tool": "multiple"}, ["calculator"], True),
        ({"expected_tool": "multiple"}, [], False),
        # a named tool: that tool, at least expected_tool_calls times; other tools do not count
        ({"expected_tool": "get_weather", "expected_tool_calls": 2}, ["get_weather"] * 2, True),
        ({"expected_tool": "get_weather", "expected_tool_calls": 2}, ["get_weather"] * 3, True),
        (
            {"expected_tool": "get_weather", "expected_tool_calls": 2},
            ["get_weather", "calculator"],
            False,
        ),
        ({"expected_tool": "get_weather", "expected_tool_calls": 1}, ["calculator"], False),
        ({"expected_tool": "get_weather"}, ["calculator", "get_weather"], True),
        ({"expected_tool": "get_weather"}, [], False),
        # no expected tool: equals tool_called
        ({}, [], False),
        ({}, ["web_search"], True),
    ],
)
def test_correct_tool(task: dict, tools_used: list[str], expected: bool) -> None:
    assert correct_tool(task, tools_used) is expected


@pytest.mark.parametrize("rule", KEYWORD_MATCH_RULES)
@pytest.mark.parametrize(
    ("keywords", "response", "expected"),
    [
        (["Paris", "London"], "It is warmer in LONDON today.", True),  # any, case-insensitive
        (["paris"], "PARIS: 22°C", True),
        (["Paris", "London"], "Berlin is warmer", False),
        (["Paris"], None, False),  # a missing response never matches
        (["Paris"], "", False),
        (None, None, True),  # no keywords: true, even without a response
        ([], "anything", True),
    ],
)
def test_response_correct_under_both_rules(
    rule: str, keywords: list[str] | None, response: str | None, expected: bool
) -> None:
    task = {} if keywords is None else {"expected_keywords": keywords}
    assert response_correct(task, response, rule) is expected


# (keyword, response, word rule, substring rule): where the two rules differ, and where they agree
MATCHING_CASES = [
    ("22", "It is 122 degrees", False, True),
    ("22", "22 degrees", True, True),
    ("22", "22.0 degrees", True, True),
    ("22.0", "It is 22 degrees", True, False),
    ("22", "Paris: 22°C, Clear", True, True),
    ("22", "22C", True, True),
    ("22", "the ratio is 1.22", False, True),
    ("22", "from 15-22 degrees", True, True),
    ("-3", "it is -3 outside", True, True),
    ("3", "it is -3 outside", False, True),
    ("2", "CO2 is a gas", False, True),
    ("15678", "The answer is 15,678", True, False),
    ("15678", "The answer is 15678.", True, True),
    ("71.6", "71.60°F", True, True),
    ("1000", "Result: 1000", True, True),
    ("AI", "she said hello", False, True),
    ("AI", "news about AI: new models", True, True),
    ("AI", "AI's progress", True, True),
    ("ai", "Generative AI", True, True),
    ("UTC", "12:00 UTC+1", True, True),
    ("machine learning", "Machine\n  learning is a field", True, False),
    ("machine learning", "machine-learning", False, False),
    ("Paris", "Parisian food", False, True),
    ("C++", "I write c++.", True, True),
    ("", "anything", False, False),
]


@pytest.mark.parametrize(("keyword", "response", "word", "substring"), MATCHING_CASES)
def test_keyword_matching_rules(keyword: str, response: str, word: bool, substring: bool) -> None:
    assert keyword_matches(keyword, response, "word") is word
    assert keyword_matches(keyword, response, "substring") is substring


def test_substring_rule_is_the_original_rule() -> None:
    # the original harness: any(k.lower() in response.lower())
    for keyword, response, *_ in MATCHING_CASES:
        if keyword:
            original = keyword.lower() in response.lower()
            assert keyword_matches(keyword, response, "substring") is original


def test_word_rule_reads_numbers_as_numbers() -> None:
    assert [str(n) for n in numbers_in("a 1,234.5, -3, 15-22, CO2, 22°C, v1.22")] == [
        "1234.5",
        "-3",
        "15",
        "22",
        "22",
    ]


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="word, substring"):
        keyword_matches("x", "x", "fuzzy")  # type: ignore[arg-type]


def test_builtin_tasks_whose_keyword_is_in_their_prompt() -> None:
    echoed = {t["id"]: keywords_in_prompt(t) for t in load_tasks().tasks if keywords_in_prompt(t)}
    assert echoed == {
        "tool_time_single": ["UTC"],
        "tool_search_single": ["Python"],
        "tool_weather_compare": ["Paris"],
        "tool_search_and_summarize": ["AI"],
        "shared_basic_search": ["machine learning"],
    }
    # the number keywords are not in their prompts: 22 is not the 2 of "234 multiplied by 67"
    assert keywords_in_prompt({"prompt": "What is 122 + 1?", "expected_keywords": ["22"]}) == []
    assert keywords_in_prompt(
        {"prompt": "What is 122 + 1?", "expected_keywords": ["22"]}, "substring"
    ) == ["22"]


WEATHER = {"expected_tool": "get_weather", "expected_tool_calls": 2, "expected_keywords": ["Paris"]}


@pytest.mark.parametrize(
    ("task", "tools_used", "final", "response", "expected"),
    [
        (
            WEATHER,
            ["get_weather", "get_weather"],
            True,
            "Paris is warmer",
            dict(success=True, tool_called=True, correct_tool=True, response_correct=True),
        ),
        (  # one call short
            WEATHER,
            ["get_weather"],
            True,
            "Paris is warmer",
            dict(success=False, tool_called=True, correct_tool=False, response_correct=True),
        ),
        (  # right tools, wrong answer
            WEATHER,
            ["get_weather", "get_weather"],
            True,
            "London is warmer",
            dict(success=False, tool_called=True, correct_tool=True, response_correct=False),
        ),
        (  # no final answer
            WEATHER,
            ["get_weather", "get_weather"],
            False,
            None,
            dict(success=False, tool_called=True, correct_tool=True, response_correct=False),
        ),
        (  # no expected tool and none called: tool_called is not required
            {"expected_keywords": ["2870"]},
            [],
            True,
            "2870",
            dict(success=True, tool_called=False, correct_tool=False, response_correct=True),
        ),
        (  # no expected tool, no keywords, an answer: success
            {},
            ["calculator"],
            True,
            "done",
            dict(success=True, tool_called=True, correct_tool=True, response_correct=True),
        ),
        (  # a final answer step whose answer is None
            {"expected_tool": "calculator"},
            ["calculator"],
            True,
            None,
            dict(success=True, tool_called=True, correct_tool=True, response_correct=True),
        ),
    ],
)
def test_score(task: dict, tools_used: list[str], final: bool, response, expected: dict) -> None:
    result = score(task, tools_used, final, response)
    assert set(result) == {
        "success",
        "tool_called",
        "correct_tool",
        "final_answer_called",
        "response_correct",
    }
    assert result == {**expected, "final_answer_called": final}


# Each clause of `success`, removed on its own: the row must fail. A base case that passes all.
GOOD = {
    "task": {"expected_tool": "get_weather", "expected_tool_calls": 1, "expected_keywords": ["22"]},
    "tools_used": ["get_weather"],
    "final": True,
    "response": "It is 22°C in Paris",
    "error": None,
}


@pytest.mark.parametrize(
    ("clause", "change"),
    [
        ("tool called", {"tools_used": []}),
        ("correct tool", {"tools_used": ["calculator"]}),
        (
            "enough calls",
            {"task": {**GOOD["task"], "expected_tool_calls": 2}},  # type: ignore[dict-item]
        ),
        ("final answer", {"final": False}),
        ("keywords", {"response": "It is 122°C in Paris"}),
        ("error forces failure", {"error": "AgentGenerationError: boom"}),
    ],
)
def test_each_success_clause(clause: str, change: dict) -> None:
    good = score(
        GOOD["task"], GOOD["tools_used"], GOOD["final"], GOOD["response"], error=GOOD["error"]
    )
    assert good["success"] is True
    case = {**GOOD, **change}
    result = score(
        case["task"], case["tools_used"], case["final"], case["response"], error=case["error"]
    )
    assert result["success"] is False, clause


def test_success_is_always_a_bool() -> None:
    tasks = [{}, {"expected_tool": "multiple"}, WEATHER, {"expected_keywords": ["x"]}]
    for task in tasks:
        for tools in ([], ["get_weather"], ["get_weather", "get_weather"]):
            for final in (True, False):
                for response in (None, "", "x Paris"):
                    result = score(task, tools, final, response)
                    assert all(type(v) is bool for v in result.values()), (task, result)


# --- real agents ---------------------------------------------------------------------------------


def evaluate(tmp_path: Path, server, agent_type: str, tasks: list[dict]) -> list[dict]:
    dataset = tmp_path / "tasks.jsonl"
    dataset.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    all_results, *_ = run_evaluation(
        MODEL,
        [agent_type],
        None,
        str(dataset),
        provider="litellm",
        api_base=server.openai_base,
        verbose=False,
    )
    other = "code" if agent_type == "tool" else "tool"
    assert all_results[other] == []
    return all_results[agent_type]


CALC_TASK = {
    "id": "calc",
    "prompt": "What is 234 multiplied by 67?",
    "expected_tool": "calculator",
    "expected_tool_calls": 1,
    "expected_keywords": ["15678"],
    "difficulty": "easy",
    "agent_type": "code",
}


def test_code_agent_tool_call_is_detected_from_the_executed_code(
    tmp_path: Path, llm_server
) -> None:
    llm_server.set_responder(
        lambda body: code('result = calculator(expression="234 * 67")\nfinal_answer(result)')
    )
    [record] = evaluate(tmp_path, llm_server, "code", [CALC_TASK])
    assert record["error"] is None
    assert record["tools_used"] == ["calculator"]
    assert record["response"] == f"Result: {234 * 67}"  # the tool really ran
    assert record["tool_called"] is True and record["correct_tool"] is True
    assert record["final_answer_called"] is True and record["response_correct"] is True
    assert record["success"] is True
    assert len(llm_server.requests) == 1
    # counted as smolagents counts: an answer on the first model call is one step
    assert record["steps"] == 1 and record["model_calls"] == 1
    assert record["planning_steps"] == 0 and record["stop_reason"] == "final_answer"
    # a CodeAgent writes code: it is given no tool schemas
    assert not llm_server.requests[0].get("tools")


def test_code_agent_that_only_prints_did_not_use_the_tool(tmp_path: Path, llm_server) -> None:
    # the tool's name appears in the code, but the code never calls it
    source = (
        '# calculator(expression="234 * 67") would be the way\n'
        'print("calculator(expression=...) skipped")\n'
        "print(234 * 67)\n"
        'final_answer("15678")'
    )
    llm_server.set_responder(lambda body: code(source))
    [record] = evaluate(tmp_path, llm_server, "code", [CALC_TASK])
    assert record["error"] is None
    assert record["tools_used"] == []
    assert record["tool_called"] is False and record["correct_tool"] is False
    assert record["final_answer_called"] is True and record["response"] == "15678"
    assert record["response_correct"] is True
    assert record["success"] is False


def test_code_agent_counts_every_executed_call(tmp_path: Path, llm_server) -> None:
    task = {
        **CALC_TASK,
        "id": "two_steps",
        "prompt": "Compute 17 * 23 with the calculator, then add 609 to it.",
        "expected_tool_calls": 2,
        "expected_keywords": ["1000"],
    }
    source = (
        'first = calculator(expression="17 * 23")\n'
        'value = int(first.split(": ")[1])\n'
        'for _ in range(1):\n    second = calculator(expression=f"{value} + 609")\n'
        "final_answer(second)"
    )
    llm_server.set_responder(lambda body: code(source))
    [record] = evaluate(tmp_path, llm_server, "code", [task])
    assert record["tools_used"] == ["calculator", "calculator"]
    assert record["response"] == "Result: 1000"
    assert record["correct_tool"] is True and record["success"] is True


def test_tool_agent_call_counts(tmp_path: Path, llm_server) -> None:
    base = {
        "expected_tool": "get_weather",
        "expected_tool_calls": 2,
        "expected_keywords": ["Paris"],
        "difficulty": "medium",
        "agent_type": "tool",
    }
    tasks = [
        {**base, "id": "twice", "prompt": "Compare the weather in Paris, France and London, UK."},
        {**base, "id": "once", "prompt": "Is it warmer in Paris, France than in London, UK?"},
    ]
    llm_server.set_responder(
        by_task(
            {
                "Compare the weather": [
                    tool_call("get_weather", location="Paris, France"),
                    tool_call("get_weather", location="London, UK"),
                    tool_call("final_answer", answer="Paris is warmer (22°C vs 15°C)."),
                ],
                "Is it warmer": [
                    tool_call("get_weather", location="Paris, France"),
                    tool_call("final_answer", answer="Paris is 22°C; I did not check London."),
                ],
            }
        )
    )
    twice, once = evaluate(tmp_path, llm_server, "tool", tasks)
    assert [twice["test_id"], once["test_id"]] == ["twice", "once"]
    assert twice["tools_used"] == ["get_weather", "get_weather"]
    assert twice["correct_tool"] is True and twice["success"] is True
    assert twice["response"] == "Paris is warmer (22°C vs 15°C)."
    assert once["tools_used"] == ["get_weather"]
    assert once["tool_called"] is True and once["correct_tool"] is False
    assert once["final_answer_called"] is True and once["response_correct"] is True
    assert once["success"] is False
    # the observations the agent got are the real tool outputs
    observed = json.dumps(llm_server.requests[-1]["messages"])
    assert "22°C, Clear" in observed or "22\\u00b0C, Clear" in observed
    assert len(llm_server.requests) == 5
