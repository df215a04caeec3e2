"""smoltrace_dataset_structure.md is the authoritative schema: the code must match it exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path

from smoltrace.core import run_evaluation
from smoltrace.main import RunOutcome  # noqa: F401  (the CLI flow module must import cleanly)
from smoltrace.outputs.leaderboard import LEADERBOARD_COLUMNS, compute_leaderboard_row
from smoltrace.outputs.local import OUTPUT_FILES, SETTINGS
from smoltrace.outputs.results import RESULTS_COLUMNS, flatten_results_for_hf

DOC = (Path(__file__).resolve().parent.parent / "smoltrace_dataset_structure.md").read_text()


def table_first_column(section: str) -> list[str]:
    """Backticked names in the first column of the first table under heading `section`."""
    start = DOC.index(section)
    body = DOC[start:].split("\n\n| ", 1)[1]
    table = "| " + body.split("\n\n", 1)[0]
    names = []
    for line in table.splitlines()[2:]:
        first = line.split("|")[1]
        names += re.findall(r"`([^`]+)`", first)
    return names


def test_results_columns_match_the_doc_and_the_rows() -> None:
    assert table_first_column("## Results dataset") == list(RESULTS_COLUMNS)
    results, *_ = run_evaluation("oracle", ["tool", "code"], provider="mock")
    rows = flatten_results_for_hf(results, "oracle")
    assert all(list(row) == list(RESULTS_COLUMNS) for row in rows)
    assert all(isinstance(row["enhanced_trace_info"], str) for row in rows)
    json.dumps(rows)  # plain JSON types only


def test_leaderboard_columns_match_the_doc() -> None:
    assert table_first_column("## Leaderboard dataset") == list(LEADERBOARD_COLUMNS)
    row = compute_leaderboard_row("m", {"tool": [], "code": []}, [], {}, "d", "r", None, "x")
    assert list(row) == list(LEADERBOARD_COLUMNS)
    assert row["total_tests"] == 0 and row["success_rate"] == 0.0 and row["total_cost_usd"] is None


def test_run_folder_files_match_the_doc() -> None:
    documented = table_first_column("### Local run folder")
    assert documented == ["records.jsonl", SETTINGS, *OUTPUT_FILES]
    meta_fields = table_first_column("#### metadata.json")
    from smoltrace.outputs.local import build_metadata

    meta = build_metadata(
        run_id="r",
        model="m",
        provider="mock",
        agent_type="tool",
        dataset_used="d",
        dataset_revision=None,
        timestamp="t",
        started_at="s",
        finished_at="f",
        num_results=0,
        trace_data=[],
        metric_data={},
        otel_enabled=False,
        gpu_metrics_enabled=False,
    )
    assert sorted(meta) == sorted(meta_fields)
