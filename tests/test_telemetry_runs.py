"""Traced runs with the offline mock provider: LLM spans for the oracle model, secrets kept out of
traces, and several runs in one process each getting complete telemetry of their own."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace

from smoltrace.core import run_evaluation
from smoltrace.otel import finish_otel, setup_inmemory_otel
from smoltrace.tasks import TaskSet, load_tasks, validate_task
from smoltrace.telemetry import extract_metrics
from smoltrace.telemetry.exporters import REDACTED

SCHEMA_DOC = Path(__file__).resolve().parents[1] / "smoltrace_dataset_structure.md"


def _traced_run(**kwargs: Any) -> tuple[dict, list[dict], dict, str]:
    results, traces, metric_data, _, run_id = run_evaluation(
        "oracle", kwargs.pop("agent_types", ["tool", "code"]), provider="mock", enable_otel=True,
        verbose=False, **kwargs,
    )  # fmt: skip
    return results, traces, metric_data, run_id


def _check_complete(results: dict, traces: list[dict], run_id: str) -> None:
    """One trace per record, each with its agent, LLM and tool spans, all tagged with `run_id`."""
    records = results["tool"] + results["code"]
    assert sorted(u for d in traces for u in d["test_case_uids"]) == sorted(
        r["test_case_uid"] for r in records
    )
    by_uid = {d["test_case_uids"][0]: d for d in traces}
    for record in records:
        document = by_uid[record["test_case_uid"]]
        kinds = [s["attributes"].get("openinference.span.kind") for s in document["spans"]]
        assert kinds.count("AGENT") == 1 and kinds.count("LLM") >= 1 and "TOOL" in kinds
        assert {s["resource"]["attributes"]["run.id"] for s in document["spans"]} == {run_id}
        assert document["run_id"] == run_id
        assert record["trace_id"] == document["trace_id"]
        assert record["total_tokens"] == document["total_tokens"] > 0


def test_mock_model_calls_are_llm_spans_priced_free() -> None:
    results, traces, _, run_id = _traced_run()
    _check_complete(results, traces, run_id)
    for record in results["tool"] + results["code"]:
        document = next(d for d in traces if d["trace_id"] == record["trace_id"])
        llm = [s for s in document["spans"] if s["name"] == "OracleModel.generate"]
        assert len(llm) == record["model_calls"]
        assert all(s["attributes"]["llm.model_name"] == "oracle" for s in llm)
        prompt = sum(s["attributes"]["llm.token_count.prompt"] for s in llm)
        completion = sum(s["attributes"]["llm.token_count.completion"] for s in llm)
        assert (prompt, completion) == (record["prompt_tokens"], record["completion_tokens"])
        assert all(s["attributes"]["gen_ai.usage.cost.total"] == 0.0 for s in llm)
        assert record["cost_usd"] == document["total_cost_usd"] == 0.0


def test_secrets_never_reach_the_traces(monkeypatch) -> None:
    secret = "tok-0123456789-abcdef"
    monkeypatch.setenv("EXAMPLE_SERVICE_TOKEN", secret)
    task = validate_task(
        {"id": "leaky", "prompt": f"What's the weather in Paris, France? (auth {secret})",
         "expected_tool": "get_weather", "agent_type": "tool"},
        "test task",
    )  # fmt: skip
    _, traces, metric_data, _ = _traced_run(agent_types=["tool"], task_set=TaskSet([task], "t"))
    text = json.dumps(traces) + json.dumps(metric_data)
    assert secret not in text
    assert REDACTED in text


def test_two_runs_in_one_process_each_get_their_own_telemetry() -> None:
    first = _traced_run(run_id="first-run")
    second = _traced_run(run_id="second-run", agent_types=["tool"])
    for results, traces, metric_data, run_id in (first, second):
        _check_complete(results, traces, run_id)
        assert metric_data["run_id"] == run_id
        successful = metric_data["aggregates"][0]["data_points"][0]["attributes"]["total_tests"]
        assert successful == len(results["tool"]) + len(results["code"])
    assert len(second[1]) == len(second[0]["tool"]) == len(first[0]["tool"])
    first_ids = {d["trace_id"] for d in first[1]}
    assert first_ids.isdisjoint(d["trace_id"] for d in second[1])


def test_concurrent_runs_keep_their_spans_and_metrics_apart() -> None:
    tasks = TaskSet(load_tasks().tasks, "smoltrace-tasks")
    outcomes: dict[str, tuple] = {}
    errors: list[BaseException] = []

    def run(run_id: str) -> None:
        try:
            outcomes[run_id] = _traced_run(run_id=run_id, task_set=tasks, parallel_workers=2)
        except BaseException as exc:  # reported below, with the run that failed
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"parallel-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for run_id, (results, traces, _, returned_id) in outcomes.items():
        assert returned_id == run_id
        _check_complete(results, traces, run_id)


def test_metric_batches_carry_each_runs_own_resource() -> None:
    first = setup_inmemory_otel(True, "svc", "metrics-a")
    second = setup_inmemory_otel(True, "svc", "metrics-b")
    first[1].create_counter("smoltrace.test.count").add(2)
    second[1].create_counter("smoltrace.test.count").add(5)
    finish_otel(second)
    finish_otel(first)
    for otel, value in ((first, "2"), (second, "5")):
        data = extract_metrics(otel[3], otel[4], [], {"tool": [], "code": []}, otel[5])
        (batch,) = data["resourceMetrics"]
        resource = {a["key"]: a["value"]["stringValue"] for a in batch["resource"]["attributes"]}
        assert resource["run.id"] == otel[5]
        (point,) = batch["scopeMetrics"][0]["metrics"][0]["sum"]["dataPoints"]
        assert point["asInt"] == value


@pytest.mark.parametrize("agent_type", ["tool", "code"])
def test_a_span_left_open_on_the_callers_thread_captures_no_task(agent_type: str) -> None:
    """Like OpenInference's agent span that a failed `run()` leaves attached: tasks still start
    traces of their own (the workers=1 path runs tasks on the caller's thread)."""
    finish_otel(setup_inmemory_otel(True, "svc", "installs-the-process-wide-provider"))
    leaked = trace.get_tracer("leaky").start_span("ToolCallingAgent.run")
    try:
        with trace.use_span(leaked, end_on_exit=False):
            results, traces, _, run_id = _traced_run(
                agent_types=[agent_type], test_subset="easy", run_id=f"inner-{agent_type}"
            )
    finally:
        leaked.end()
    leaked_trace = f"{leaked.get_span_context().trace_id:032x}"
    assert all(d["trace_id"] != leaked_trace for d in traces)
    for document in traces:
        root = next(s for s in document["spans"] if s["span_id"] == document["root_span_id"])
        assert root["parent_span_id"] is None and root["name"] == "test_evaluation"
    _check_complete(results, traces, run_id)


def _documented(heading: str, table_intro: str) -> list[str]:
    """Backticked names in the first column of the table after `table_intro` under `heading`."""
    section = SCHEMA_DOC.read_text(encoding="utf-8").split(heading, 1)[1]
    table = section.split(table_intro, 1)[1].split("\n\n")[1]
    return [
        name
        for line in table.splitlines()[2:]
        for name in re.findall(r"`([^`]+)`", line.split("|")[1])
    ]


def test_trace_documents_and_spans_match_the_schema_doc() -> None:
    _, traces, _, _ = _traced_run(agent_types=["tool"], test_subset="easy")
    columns = _documented("## Traces dataset", "rooted at its `test_evaluation` span")
    span_fields = _documented("## Traces dataset", "A span:")
    assert all(list(document) == columns for document in traces)
    assert all(sorted(span) == sorted(span_fields) for d in traces for span in d["spans"])
    root = next(s for s in traces[0]["spans"] if s["span_id"] == traces[0]["root_span_id"])
    documented_root = re.findall(
        r"`([a-z_.]+)`",
        SCHEMA_DOC.read_text().split("Root span attributes:", 1)[1].split("The other", 1)[0],
    )
    assert sorted(root["attributes"]) == sorted(documented_root)


def test_agent_span_carries_its_own_task() -> None:
    """Each agent span names its own task, not the previous one (an OpenInference quirk)."""
    from smoltrace.core import run_evaluation

    _, traces, *_ = run_evaluation(
        "oracle", ["tool"], provider="mock", enable_otel=True, test_subset="easy"
    )
    assert len(traces) == 5
    for document in traces:
        root = next(s for s in document["spans"] if s["parent_span_id"] is None)
        agent = next(s for s in document["spans"] if s["name"] == "ToolCallingAgent.run")
        assert agent["attributes"]["smolagents.task"] == root["attributes"]["prompt"]
