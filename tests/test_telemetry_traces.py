"""Trace documents, result linking and aggregates from hand-built span dicts: the counting rules.

Expected figures are computed here from the spans' token counts and the pricing table's rates
(USD per 1,000 tokens, read from genai-otel's bundled table).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import genai_otel
import pytest

from smoltrace.telemetry import TraceMetricsAggregator, extract_traces, link_results_to_traces

RATES = json.loads((Path(genai_otel.__file__).parent / "llm_pricing.json").read_text())["chat"]


def price(model: str, prompt: int, completion: int) -> float:
    rate = RATES[model]
    return (prompt * rate["promptPrice"] + completion * rate["completionPrice"]) / 1000


class Exporter:
    def __init__(self, spans: list[dict[str, Any]]) -> None:
        self.spans = spans

    def get_finished_spans(self) -> list[dict[str, Any]]:
        return list(self.spans)


def span(
    trace: str, span_id: str, parent: str | None, start: int, end: int, name: str, **attributes: Any
) -> dict[str, Any]:
    return {
        "trace_id": trace,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "kind": "INTERNAL",
        "start_time": start,
        "end_time": end,
        "duration_ms": (end - start) / 1e6,
        "attributes": attributes,
        "events": [],
        "status": {"code": "UNSET", "description": None},
        "resource": {"attributes": {"run.id": "r"}},
    }


def llm(trace: str, span_id: str, parent: str, start: int, prompt: int, completion: int, **extra):
    return span(
        trace, span_id, parent, start, start + 10, "LiteLLMModel.generate",
        **{"openinference.span.kind": "LLM", "llm.token_count.prompt": prompt,
           "llm.token_count.completion": completion,
           "llm.token_count.total": prompt + completion, **extra},
    )  # fmt: skip


def task_trace(
    trace: str, uid: str, start: int, calls: list[tuple[int, int]], **root_extra: Any
) -> list[dict[str, Any]]:
    """root -> AGENT (carrying the run totals, as OpenInference does) -> one step per call."""
    agent_type, task_id = uid.split(":")
    root_attributes = {
        "test.id": task_id,
        "test.case_uid": uid,
        "agent.type": agent_type,
        "smoltrace.model_id": "gpt-4o-mini",
        "smoltrace.provider": "litellm",
        "tests.tool_calls": len(calls),
        "tests.steps": len(calls) + 1,
        **root_extra,
    }
    spans = [
        span(trace, f"{trace}-root", None, start, start + 1000, "test_evaluation", **root_attributes),
        span(
            trace, f"{trace}-agent", f"{trace}-root", start + 1, start + 900, "ToolCallingAgent.run",
            **{"openinference.span.kind": "AGENT",
               "llm.token_count.prompt": sum(p for p, _ in calls),
               "llm.token_count.completion": sum(c for _, c in calls)},
        ),
    ]  # fmt: skip
    for i, (prompt, completion) in enumerate(calls):
        step = f"{trace}-step{i}"
        spans.append(span(trace, step, f"{trace}-agent", start + 10 + 100 * i, start + 90 + 100 * i,
                          f"Step {i + 1}", **{"openinference.span.kind": "CHAIN"}))  # fmt: skip
        spans.append(llm(trace, f"{trace}-llm{i}", step, start + 11 + 100 * i, prompt, completion))
    return spans


def test_tokens_and_cost_count_each_model_call_once() -> None:
    spans = task_trace("t1", "tool:weather", 1_000, [(120, 30), (140, 20)])
    # a second instrumentation reporting the first call again, nested in it (litellm's span)
    spans.append(llm("t1", "t1-nested", "t1-llm0", 1_012, 120, 30, **{"llm.cost.total": 3.6e-05}))
    (document,) = extract_traces(Exporter(spans), "r")
    assert document["total_tokens"] == 120 + 30 + 140 + 20
    expected = price("gpt-4o-mini", 260, 50)
    assert document["total_cost_usd"] == pytest.approx(expected, rel=1e-12)
    costs = {
        s["span_id"]: s["attributes"].get("gen_ai.usage.cost.total") for s in document["spans"]
    }
    assert costs["t1-llm0"] == pytest.approx(price("gpt-4o-mini", 120, 30), rel=1e-12)
    assert costs["t1-llm1"] == pytest.approx(price("gpt-4o-mini", 140, 20), rel=1e-12)
    assert costs["t1-nested"] is None and costs["t1-agent"] is None
    assert document["total_duration_ms"] == 1000 / 1e6  # the root span, not a sum of spans
    assert document["root_span_id"] == "t1-root"
    assert document["test_ids"] == ["weather"] and document["test_case_uids"] == ["tool:weather"]
    assert document["agent_type"] == "tool" and document["run_id"] == "r"
    assert [s["start_time"] for s in document["spans"]] == sorted(
        s["start_time"] for s in document["spans"]
    )
    assert (
        "gen_ai.usage.cost.total" not in spans[3]["attributes"]
    )  # the exporter's copy is untouched


def test_unpriced_model_no_calls_and_fallbacks() -> None:
    unpriced = task_trace(
        "t1", "tool:a", 1_000, [(10, 5)], **{"smoltrace.model_id": "my-local-model"}
    )
    no_calls = task_trace("t2", "tool:b", 5_000, [])
    mock = task_trace("t3", "code:c", 9_000, [(7, 3)], **{"smoltrace.provider": "mock"})
    # a root without the model attributes: the call's own model, litellm pricing
    bare = task_trace("t4", "tool:d", 13_000, [(100, 10)])
    for attribute in ("smoltrace.model_id", "smoltrace.provider"):
        del bare[0]["attributes"][attribute]
    bare[-1]["attributes"]["llm.model_name"] = "gpt-4o-mini"
    documents = extract_traces(Exporter(unpriced + no_calls + mock + bare), "r")
    assert [d["trace_id"] for d in documents] == ["t1", "t2", "t3", "t4"]
    assert documents[0]["total_cost_usd"] is None and documents[0]["total_tokens"] == 15
    assert "gen_ai.usage.cost.total" not in documents[0]["spans"][-1]["attributes"]
    assert documents[1]["total_cost_usd"] == 0.0 and documents[1]["total_tokens"] == 0
    assert documents[2]["total_cost_usd"] == 0.0 and documents[2]["total_tokens"] == 10
    assert documents[3]["total_cost_usd"] == pytest.approx(price("gpt-4o-mini", 100, 10))
    assert extract_traces(None, "r") == [] and extract_traces(Exporter([]), "r") == []


def test_a_failed_call_without_token_counts_is_not_a_model_call() -> None:
    spans = task_trace("t1", "tool:x", 1_000, [(50, 5)])
    failed = llm("t1", "t1-failed", "t1-step0", 1_050, 0, 0)
    for key in ("llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total"):
        del failed["attributes"][key]
    failed["status"] = {"code": "ERROR", "description": "boom"}
    (document,) = extract_traces(Exporter([*spans, failed]), "r")
    assert document["total_tokens"] == 55
    assert document["total_cost_usd"] == pytest.approx(price("gpt-4o-mini", 50, 5))


def _records() -> dict[str, list[dict[str, Any]]]:
    def record(uid: str, success: bool, prompt: int, completion: int) -> dict[str, Any]:
        return {
            "test_case_uid": uid,
            "test_id": uid.split(":")[1],
            "success": success,
            "total_tokens": prompt + completion,
            "cost_usd": price("gpt-4o-mini", prompt, completion),
            "trace_id": None,
            "span_id": None,
            "enhanced_trace_info": {},
        }

    return {
        "tool": [record("tool:shared", True, 120, 30)],
        "code": [record("code:shared", False, 200, 40)],
    }


def test_results_link_to_their_own_trace_by_test_case_uid(caplog) -> None:
    # the same task id in both agent types: linking by test_id would give both the first trace
    spans = task_trace("tA", "tool:shared", 1_000, [(120, 30)]) + task_trace(
        "tB", "code:shared", 5_000, [(200, 40)]
    )
    traces = extract_traces(Exporter(spans), "r")
    results = _records()
    with caplog.at_level(logging.WARNING, logger="smoltrace.telemetry.traces"):
        link_results_to_traces(results, traces)
    assert not caplog.records
    tool, code = results["tool"][0], results["code"][0]
    assert (tool["trace_id"], tool["span_id"]) == ("tA", "tA-root")
    assert (code["trace_id"], code["span_id"]) == ("tB", "tB-root")
    assert code["enhanced_trace_info"] == {
        "trace_id": "tB",
        "root_span_id": "tB-root",
        "total_tokens": 240,
        "duration_ms": 1000 / 1e6,
        "cost_usd": traces[1]["total_cost_usd"],
        "span_count": 4,
    }


def test_a_record_disagreeing_with_its_trace_is_reported(caplog) -> None:
    traces = extract_traces(Exporter(task_trace("tA", "tool:shared", 1_000, [(120, 30)])), "r")
    results = {"tool": [_records()["tool"][0] | {"total_tokens": 999}], "code": []}
    with caplog.at_level(logging.WARNING, logger="smoltrace.telemetry.traces"):
        link_results_to_traces(results, traces)
    assert "tool:shared" in caplog.text and "999" in caplog.text
    link_results_to_traces(results, [])  # an untraced run leaves records alone
    assert results["tool"][0]["trace_id"] == "tA"


def test_aggregates_key_success_by_test_case_uid() -> None:
    spans = task_trace("tA", "tool:shared", 1_000, [(120, 30)]) + task_trace(
        "tB", "code:shared", 5_000, [(200, 40), (10, 2)]
    )
    traces = extract_traces(Exporter(spans), "r")
    aggregates = {
        a["name"]: a["data_points"][0]
        for a in TraceMetricsAggregator().collect_all(traces, _records())
    }
    assert aggregates["tests.successful"] == {
        "value": {"value": 1},
        "attributes": {"total_tests": 2, "success_rate": 50.0},
    }
    assert aggregates["tests.tool_calls"]["value"] == {"sum": 3, "count": 2, "avg": 1.5}
    assert aggregates["tests.steps"]["value"] == {"sum": 5, "count": 2, "avg": 2.5}
    assert aggregates["llm.token_count.total"]["value"] == {"value": 402}
    cost = price("gpt-4o-mini", 120, 30) + price("gpt-4o-mini", 210, 42)
    assert aggregates["gen_ai.usage.cost.total"]["value"] == {"value": round(cost, 10)}
    assert aggregates["gen_ai.co2.emissions"]["value"] == {"value": round(402 / 1000 * 0.0004, 4)}
    assert TraceMetricsAggregator().collect_all([], _records()) == []
