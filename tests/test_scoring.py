"""Scoring: the rules of smoltrace_dataset_structure.md ("Scoring") as pure cases, then real smolagents
agents (through litellm, against the scripted server) whose tool use is scored from what really ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.llm_server import by_task, code, tool_call

from smoltrace.core import run_evaluation
from smoltrace.scoring import correct_tool, response_correct, score

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


@pytest.mark.parametrize(
    ("keywords", "response", "expected"),
    [
        (["Paris", "London"], "It is warmer in LONDON today.", True),  # any, case-insensitive
        (["paris"], "PARIS: 22°C", True),
        (["15678"], "The answer is 15,678", False),
        (["Paris", "London"], "Berlin is warmer", False),
        (["Paris"], None, False),  # a missing response never matches
        (["Paris"], "", False),
        (None, None, True),  # no keywords: true, even without a response
        ([], "anything", True),
    ],
)
def test_response_correct(keywords: list[str] | None, response: str | None, expected: bool) -> None:
    task = {} if keywords is None else {"expected_keywords": keywords}
    assert response_correct(task, response) is expected


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
    assert record["steps"] == 2  # one action step and the final answer
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
