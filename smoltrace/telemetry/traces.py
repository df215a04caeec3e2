"""Trace documents of a run, priced and totalled once per model call, and joined to the results.

A trace is one task: the `test_evaluation` root span, the agent run, its steps, and under them the
LLM and tool spans. Tokens and cost come from the LLM spans only (never from the agent span, which
repeats the run's totals), and only from LLM spans with no LLM ancestor, so a model call that an
instrumentation reports twice is still counted once. Each such span is priced with
:func:`smoltrace.pricing.price`, the function that prices the results rows, at the model and
provider recorded on the root span, so a trace and its results row always agree.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Any

from .. import pricing

logger = logging.getLogger(__name__)

SPAN_KIND = "openinference.span.kind"
LLM_KIND = "LLM"
PROMPT_TOKENS = "llm.token_count.prompt"
COMPLETION_TOKENS = "llm.token_count.completion"
COST = "gen_ai.usage.cost.total"
# Set on the root span by the run loop: the model and provider the results rows are priced at.
ROOT_MODEL = "smoltrace.model_id"
ROOT_PROVIDER = "smoltrace.provider"
SPAN_MODEL = "llm.model_name"
DEFAULT_PROVIDER = "litellm"


def _root(spans: list[dict[str, Any]]) -> dict[str, Any]:
    """The earliest span whose parent is not in the trace: the task's root span."""
    ids = {s["span_id"] for s in spans}
    return next(s for s in spans if s["parent_span_id"] not in ids)


def _model_calls(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """LLM spans with token counts and no LLM ancestor: one per model call."""
    by_id = {s["span_id"]: s for s in spans}

    def nested_in_llm(span: dict[str, Any]) -> bool:
        parent = by_id.get(span["parent_span_id"])
        while parent is not None:
            if parent["attributes"].get(SPAN_KIND) == LLM_KIND:
                return True
            parent = by_id.get(parent["parent_span_id"])
        return False

    return [
        s
        for s in spans
        if s["attributes"].get(SPAN_KIND) == LLM_KIND
        and PROMPT_TOKENS in s["attributes"]
        and COMPLETION_TOKENS in s["attributes"]
        and not nested_in_llm(s)
    ]


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if v is not None))


def _trace_document(trace_id: str, spans: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    spans = sorted(spans, key=lambda s: (s["start_time"], s["span_id"]))
    root = _root(spans)
    calls = _model_calls(spans)
    call_ids = {s["span_id"] for s in calls}
    first_model = str(calls[0]["attributes"].get(SPAN_MODEL, "")) if calls else ""
    model = root["attributes"].get(ROOT_MODEL) or first_model
    provider = root["attributes"].get(ROOT_PROVIDER, DEFAULT_PROVIDER)
    priced_spans = []
    prompt_total = completion_total = 0
    for span in spans:
        if span["span_id"] in call_ids:
            attributes = dict(span["attributes"])
            prompt, completion = int(attributes[PROMPT_TOKENS]), int(attributes[COMPLETION_TOKENS])
            prompt_total += prompt
            completion_total += completion
            cost = pricing.price(model, prompt, completion, provider)
            if cost is not None:
                attributes[COST] = cost
            span = {**span, "attributes": attributes}
        priced_spans.append(span)
    total_cost = pricing.price(model, prompt_total, completion_total, provider)
    return {
        "trace_id": trace_id,
        "run_id": run_id,
        "root_span_id": root["span_id"],
        "test_ids": _unique([s["attributes"].get("test.id") for s in spans]),
        "test_case_uids": _unique([s["attributes"].get("test.case_uid") for s in spans]),
        "agent_type": root["attributes"].get("agent.type"),
        "spans": priced_spans,
        "total_tokens": prompt_total + completion_total,
        "total_duration_ms": root["duration_ms"],
        "total_cost_usd": total_cost,
    }


def extract_traces(span_exporter: Any, run_id: str) -> list[dict[str, Any]]:
    """One document per trace of the run (schema: smoltrace_dataset_structure.md), by start time.

    `total_tokens` and `total_cost_usd` count each model call once and are priced like the
    results rows (the cost of a trace without model calls is 0.0, an unpriced model's is None);
    `total_duration_ms` is the wall time of the root span.
    """
    if span_exporter is None:
        return []
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in span_exporter.get_finished_spans():
        by_trace[span["trace_id"]].append(span)
    documents = [_trace_document(tid, spans, run_id) for tid, spans in by_trace.items()]
    return sorted(documents, key=lambda d: d["spans"][0]["start_time"])


def trace_summary(document: dict[str, Any]) -> dict[str, Any]:
    """The `enhanced_trace_info` of a results row: the totals of its trace."""
    return {
        "trace_id": document["trace_id"],
        "root_span_id": document["root_span_id"],
        "total_tokens": document["total_tokens"],
        "duration_ms": document["total_duration_ms"],
        "cost_usd": document["total_cost_usd"],
        "span_count": len(document["spans"]),
    }


def _costs_agree(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)


def link_results_to_traces(
    all_results: dict[str, list[dict[str, Any]]], trace_data: list[dict[str, Any]]
) -> None:
    """Point every results record at its trace, by `test_case_uid` (unique in a run).

    Sets `trace_id`, `span_id` (the root span) and `enhanced_trace_info`; a record whose tokens or
    cost disagree with its trace is logged, since both count the same model calls.
    """
    if not trace_data:
        return
    index: dict[str, dict[str, Any]] = {}
    for document in trace_data:
        for uid in document["test_case_uids"]:
            index.setdefault(uid, document)
    for records in all_results.values():
        for record in records:
            document = index.get(record["test_case_uid"])
            if document is None:
                logger.warning("task %s has no trace", record["test_case_uid"])
                continue
            record["trace_id"] = document["trace_id"]
            record["span_id"] = document["root_span_id"]
            record["enhanced_trace_info"] = trace_summary(document)
            if record.get("total_tokens") != document["total_tokens"] or not _costs_agree(
                record.get("cost_usd"), document["total_cost_usd"]
            ):
                logger.warning(
                    "task %s: results say %s tokens / $%s, its trace %s tokens / $%s",
                    record["test_case_uid"],
                    record.get("total_tokens"),
                    record.get("cost_usd"),
                    document["total_tokens"],
                    document["total_cost_usd"],
                )
