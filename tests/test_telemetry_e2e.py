"""End to end: real smolagents agents, litellm and the scripted LLM server, traced by smoltrace.

Every model reply has fixed token counts, so each task's tokens and cost are known here without
asking smoltrace; the price per token is read from genai-otel's pricing table directly. One task
crashes the model on its second call, and the two agent types run on two workers.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import genai_otel
import pytest
from fakes.llm_server import Reply, ScriptedLLMServer, code, task_text

from smoltrace.core import run_evaluation
from smoltrace.tasks import TaskSet, validate_task
from smoltrace.telemetry.traces import trace_summary

MODEL = "openai/gpt-4o-mini"
PRICES = json.loads((Path(genai_otel.__file__).parent / "llm_pricing.json").read_text())["chat"][
    "gpt-4o-mini"
]

TASKS = [
    {"id": "weather", "prompt": "What's the weather in Paris, France?", "agent_type": "both",
     "expected_tool": "get_weather", "expected_keywords": ["22"]},
    {"id": "broken", "prompt": "BROKEN: what's the weather in Tokyo, Japan?", "agent_type": "both",
     "expected_tool": "get_weather"},
    {"id": "time", "prompt": "What time is it in UTC?", "agent_type": "tool",
     "expected_tool": "get_current_time"},
    {"id": "calc", "prompt": "What is 234 multiplied by 67?", "agent_type": "code",
     "expected_tool": "calculator", "expected_keywords": ["15678"]},
]  # fmt: skip


def _call(name: str, prompt: int, completion: int, **arguments: Any) -> Reply:
    return Reply(
        tool_calls=[{"name": name, "arguments": arguments}],
        prompt_tokens=prompt,
        completion_tokens=completion,
    )


def _code(source: str, prompt: int, completion: int) -> Reply:
    reply = code(source)
    reply.prompt_tokens, reply.completion_tokens = prompt, completion
    return reply


CRASH = None  # the model server fails this call
# (agent type, task id) -> the model's reply at each step, with its token counts
SCRIPT: dict[tuple[str, str], list[Reply | None]] = {
    ("tool", "weather"): [
        _call("get_weather", 120, 30, location="Paris, France"),
        _call("final_answer", 140, 20, answer="22°C and clear in Paris"),
    ],
    ("tool", "broken"): [_call("get_weather", 90, 9, location="Tokyo, Japan"), CRASH],
    ("tool", "time"): [
        _call("get_current_time", 100, 10, timezone="UTC"),
        _call("final_answer", 105, 12, answer="It is noon UTC"),
    ],
    ("code", "weather"): [
        _code("print(get_weather(location='Paris, France'))", 110, 25),
        _code("final_answer('22°C in Paris')", 150, 15),
    ],
    ("code", "broken"): [_code("print(get_weather(location='Tokyo, Japan'))", 95, 11), CRASH],
    ("code", "calc"): [
        _code("print(calculator(expression='234 * 67'))", 130, 22),
        _code("final_answer('15678')", 160, 8),
    ],
}
STEP_TOOLS = {  # tool spans expected under each step (besides the LLM span)
    ("tool", "weather"): [["WeatherTool"], ["FinalAnswerTool"]],
    ("tool", "broken"): [["WeatherTool"], []],
    ("tool", "time"): [["TimeTool"], ["FinalAnswerTool"]],
    ("code", "weather"): [["WeatherTool"], ["FinalAnswerTool"]],
    ("code", "broken"): [["WeatherTool"], []],
    ("code", "calc"): [["CalculatorTool"], ["FinalAnswerTool"]],
}


def _task_id(prompt: str) -> str:
    return next(t["id"] for t in TASKS if t["prompt"] in prompt)


def respond(body: dict) -> Reply:
    agent = "tool" if body.get("tools") else "code"
    step = sum(1 for m in body["messages"] if m.get("role") == "assistant")
    reply = SCRIPT[(agent, _task_id(task_text(body)))][step]
    if reply is CRASH:
        raise RuntimeError("the model crashed")
    return reply


def _price(prompt: int, completion: int) -> float:
    return (prompt * PRICES["promptPrice"] + completion * PRICES["completionPrice"]) / 1000


def _expected(key: tuple[str, str]) -> tuple[int, int]:
    replies = [r for r in SCRIPT[key] if r is not None]
    return sum(r.prompt_tokens for r in replies), sum(r.completion_tokens for r in replies)


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    tasks = TaskSet([validate_task(t, "test task") for t in TASKS], "e2e-tasks")
    with ScriptedLLMServer(respond) as server:
        started_ns = time.time_ns()
        results, traces, metric_data, _, run_id = run_evaluation(
            MODEL,
            ["tool", "code"],
            enable_otel=True,
            verbose=False,
            api_base=server.openai_base,
            parallel_workers=2,
            task_set=tasks,
            run_id="e2e-run",
        )
        finished_ns = time.time_ns()
        usages, requests = server.usages, server.requests
    records = {(r["agent_type"], r["test_id"]): r for r in results["tool"] + results["code"]}
    return {
        "records": records,
        "traces": traces,
        "metric_data": metric_data,
        "run_id": run_id,
        "window": (started_ns, finished_ns),
        "usages": usages,
        "requests": requests,
    }


def _trace(run: dict, key: tuple[str, str]) -> dict:
    (document,) = [d for d in run["traces"] if d["test_case_uids"] == [f"{key[0]}:{key[1]}"]]
    return document


def _children(document: dict) -> dict[str | None, list[dict]]:
    children: dict[str | None, list[dict]] = defaultdict(list)
    for span in document["spans"]:
        children[span["parent_span_id"]].append(span)
    return children


pytestmark = pytest.mark.slow


def test_one_trace_per_task_execution(run) -> None:
    assert set(run["records"]) == set(SCRIPT)
    assert len(run["traces"]) == len(SCRIPT)
    uids = sorted(uid for d in run["traces"] for uid in d["test_case_uids"])
    assert uids == sorted(f"{a}:{t}" for a, t in SCRIPT)
    assert all(d["run_id"] == "e2e-run" for d in run["traces"])
    json.dumps(run["traces"], allow_nan=False)
    json.dumps(run["metric_data"], allow_nan=False)


@pytest.mark.parametrize("key", list(SCRIPT), ids=lambda k: f"{k[0]}-{k[1]}")
def test_span_tree_is_task_agent_steps_llm_and_tools(run, key) -> None:
    document = _trace(run, key)
    children = _children(document)
    (root,) = children[None]
    assert root["span_id"] == document["root_span_id"]
    assert root["name"] == "test_evaluation"
    assert root["attributes"]["test.id"] == key[1] and root["attributes"]["agent.type"] == key[0]
    assert root["attributes"]["smoltrace.model_id"] == MODEL
    (agent,) = children[root["span_id"]]
    assert agent["name"] == ("ToolCallingAgent.run" if key[0] == "tool" else "CodeAgent.run")
    assert agent["attributes"]["openinference.span.kind"] == "AGENT"
    steps = children[agent["span_id"]]
    assert [s["name"] for s in steps] == [f"Step {i + 1}" for i in range(len(SCRIPT[key]))]
    for step, reply, tools in zip(steps, SCRIPT[key], STEP_TOOLS[key], strict=True):
        under = children[step["span_id"]]
        kinds = [s["attributes"]["openinference.span.kind"] for s in under]
        assert kinds == ["LLM"] + ["TOOL"] * len(tools)
        assert [s["name"] for s in under] == ["LiteLLMModel.generate", *tools]
        llm = under[0]
        if reply is CRASH:
            assert llm["status"]["code"] == "ERROR" and step["status"]["code"] == "ERROR"
            assert "llm.token_count.prompt" not in llm["attributes"]
            assert "gen_ai.usage.cost.total" not in llm["attributes"]
        else:
            assert llm["attributes"]["llm.token_count.prompt"] == reply.prompt_tokens
            assert llm["attributes"]["llm.token_count.completion"] == reply.completion_tokens
            assert llm["attributes"]["gen_ai.usage.cost.total"] == pytest.approx(
                _price(reply.prompt_tokens, reply.completion_tokens), rel=1e-12
            )
        assert not children[llm["span_id"]]  # one LLM span per call, nothing nested
    span_count = 2 + sum(1 + 1 + len(tools) for tools in STEP_TOOLS[key])
    assert len(document["spans"]) == span_count
    for span in document["spans"]:
        assert span["trace_id"] == document["trace_id"]
        assert span["resource"]["attributes"]["run.id"] == "e2e-run"
        assert span["resource"]["attributes"]["service.name"] == "smoltrace-eval"


def test_failed_task_is_recorded_and_leaves_no_open_span(run) -> None:
    for agent_type in ("tool", "code"):
        record = run["records"][(agent_type, "broken")]
        assert record["success"] is False and "the model crashed" in record["error"]
        root = _children(_trace(run, (agent_type, "broken")))[None][0]
        assert root["status"]["code"] == "ERROR"
    # every trace has exactly one parentless span: no task nested under another's open span
    for document in run["traces"]:
        assert len(_children(document)[None]) == 1
    successes = {k for k, r in run["records"].items() if r["success"]}
    assert successes == {
        ("tool", "weather"),
        ("tool", "time"),
        ("code", "weather"),
        ("code", "calc"),
    }


@pytest.mark.parametrize("key", list(SCRIPT), ids=lambda k: f"{k[0]}-{k[1]}")
def test_tokens_and_cost_match_the_served_usage(run, key) -> None:
    prompt, completion = _expected(key)
    record, document = run["records"][key], _trace(run, key)
    assert (record["prompt_tokens"], record["completion_tokens"]) == (prompt, completion)
    assert record["total_tokens"] == document["total_tokens"] == prompt + completion
    assert document["total_cost_usd"] == pytest.approx(_price(prompt, completion), rel=1e-12)
    assert record["cost_usd"] == document["total_cost_usd"]
    span_costs = [s["attributes"].get("gen_ai.usage.cost.total", 0.0) for s in document["spans"]]
    assert sum(span_costs) == pytest.approx(document["total_cost_usd"], rel=1e-12)


def test_totals_over_the_run_match_the_server(run) -> None:
    served = sum(u["total_tokens"] for u in run["usages"])
    assert served == sum(d["total_tokens"] for d in run["traces"])
    assert served == sum(sum(_expected(k)) for k in SCRIPT)
    assert len(run["requests"]) == sum(len(replies) for replies in SCRIPT.values())
    llm_spans = [
        s
        for d in run["traces"]
        for s in d["spans"]
        if s["attributes"].get("openinference.span.kind") == "LLM"
    ]
    assert len(llm_spans) == len(run["requests"])


@pytest.mark.parametrize("key", list(SCRIPT), ids=lambda k: f"{k[0]}-{k[1]}")
def test_durations_are_within_the_measured_wall_time(run, key) -> None:
    record, document = run["records"][key], _trace(run, key)
    root = _children(document)[None][0]
    started, finished = run["window"]
    assert started <= root["start_time"] <= root["end_time"] <= finished
    assert document["total_duration_ms"] == root["duration_ms"] > 0
    assert document["total_duration_ms"] <= record["execution_time_ms"]
    tolerance_ns = 1_000_000  # the record's end is derived from a different clock
    assert record["start_time_unix_nano"] <= root["start_time"]
    assert root["end_time"] <= record["end_time_unix_nano"] + tolerance_ns
    for span in document["spans"]:
        assert root["start_time"] <= span["start_time"] <= span["end_time"] <= root["end_time"]
        assert span["duration_ms"] == (span["end_time"] - span["start_time"]) / 1e6


@pytest.mark.parametrize("key", list(SCRIPT), ids=lambda k: f"{k[0]}-{k[1]}")
def test_each_result_links_to_its_trace(run, key) -> None:
    record, document = run["records"][key], _trace(run, key)
    assert record["trace_id"] == document["trace_id"]
    assert record["span_id"] == document["root_span_id"]
    assert record["enhanced_trace_info"] == trace_summary(document)
    assert record["enhanced_trace_info"]["span_count"] == len(document["spans"])


def test_aggregates(run) -> None:
    aggregates = {a["name"]: a for a in run["metric_data"]["aggregates"]}
    assert list(aggregates) == [
        "tests.successful",
        "tests.tool_calls",
        "tests.steps",
        "llm.token_count.total",
        "gen_ai.usage.cost.total",
        "gen_ai.co2.emissions",
    ]
    records = list(run["records"].values())
    (successful,) = aggregates["tests.successful"]["data_points"]
    assert successful["value"] == {"value": 4}
    assert successful["attributes"] == {"total_tests": 6, "success_rate": round(400 / 6, 2)}
    (tool_calls,) = aggregates["tests.tool_calls"]["data_points"]
    calls = [len(r["tools_used"]) for r in records]
    assert tool_calls["value"] == {
        "sum": sum(calls),
        "count": 6,
        "avg": round(sum(calls) / 6, 2),
    }
    (steps,) = aggregates["tests.steps"]["data_points"]
    assert steps["value"]["sum"] == sum(r["steps"] for r in records)
    tokens = sum(sum(_expected(k)) for k in SCRIPT)
    (token_total,) = aggregates["llm.token_count.total"]["data_points"]
    assert token_total["value"] == {"value": tokens}
    (cost,) = aggregates["gen_ai.usage.cost.total"]["data_points"]
    expected_cost = sum(_price(*_expected(k)) for k in SCRIPT)
    assert cost["value"]["value"] == round(expected_cost, 10)
    (co2,) = aggregates["gen_ai.co2.emissions"]["data_points"]
    assert co2["value"]["value"] == round(tokens / 1000 * 0.0004, 4)
    assert run["metric_data"]["resourceMetrics"] == []  # an API model: nothing measured
