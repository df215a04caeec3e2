"""Results rows: the in-memory task records flattened to the published results schema."""

from __future__ import annotations

import json
from typing import Any

RESULTS_COLUMNS = (
    "model",
    "evaluation_date",
    "task_id",
    "test_case_uid",
    "test_index",
    "attempt",
    "agent_type",
    "difficulty",
    "prompt",
    "success",
    "tool_called",
    "correct_tool",
    "final_answer_called",
    "response_correct",
    "tools_used",
    "steps",
    "planning_steps",
    "model_calls",
    "stop_reason",
    "response",
    "error",
    "retries",
    "last_retry_error",
    "trace_id",
    "span_id",
    "run_id",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "execution_time_ms",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "enhanced_trace_info",
)


def ordered_records(all_results: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Tool records first, then code records, each in dataset order."""
    return [*all_results.get("tool", []), *all_results.get("code", [])]


def flatten_results_for_hf(
    all_results: dict[str, list[dict[str, Any]]], model_name: str
) -> list[dict[str, Any]]:
    """One row per task execution with exactly RESULTS_COLUMNS, in that order."""
    rows = []
    for record in ordered_records(all_results):
        row = {column: record.get(column) for column in RESULTS_COLUMNS}
        row["model"] = model_name
        row["task_id"] = record["test_id"]
        row["tools_used"] = list(record.get("tools_used") or [])
        row["enhanced_trace_info"] = json.dumps(
            record.get("enhanced_trace_info") or {}, sort_keys=True
        )
        rows.append(row)
    return rows
