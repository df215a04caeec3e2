"""The Hub features are the documented types: each column table of
smoltrace_dataset_structure.md against the type table the publisher uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smoltrace.copy_datasets import TASK_TYPES, task_types
from smoltrace.outputs.hub import (
    LEADERBOARD_TYPES,
    METRICS_TYPES,
    RESULTS_TYPES,
    SPAN_TYPES,
    TRACES_TYPES,
    features_for,
    hub_rows,
)
from smoltrace.outputs.leaderboard import LEADERBOARD_COLUMNS
from smoltrace.outputs.results import RESULTS_COLUMNS
from smoltrace.tasks import load_tasks
from smoltrace.telemetry import METRICS_COLUMNS

DOC = (Path(__file__).resolve().parent.parent / "smoltrace_dataset_structure.md").read_text()
DOC_TYPES = {
    "string": "string",
    "string or null": "string",
    "int": "int",
    "int or null": "int",
    "float": "float",
    "float or null": "float",
    "bool": "bool",
    "list of string": "list<string>",
    "list of string or null": "list<string>",
    "list of span": "spans",
}
# Span objects whose keys vary are JSON text on the Hub; status is a struct (see the doc's note).
HUB_SPAN_FIELDS = {"attributes": "json", "events": "json", "resource": "json", "status": "status"}


def documented(heading: str) -> dict[str, str]:
    """{column: type} of the first table after `heading` (first column may name several)."""
    body = DOC[DOC.index(heading) :].split("\n\n| ", 1)[1]
    table = "| " + body.split("\n\n", 1)[0]
    columns = {}
    for line in table.splitlines()[2:]:
        cells = line.split("|")
        for name in re.findall(r"`([^`]+)`", cells[1]):
            columns[name] = cells[2].strip()
    return columns


@pytest.mark.parametrize(
    ("heading", "types", "columns"),
    [
        ("## Results dataset", RESULTS_TYPES, RESULTS_COLUMNS),
        ("## Traces dataset", TRACES_TYPES, None),
        ("### Metrics dataset", METRICS_TYPES, METRICS_COLUMNS),
        ("## Leaderboard dataset", LEADERBOARD_TYPES, LEADERBOARD_COLUMNS),
        ("## Task suite copies", TASK_TYPES, None),
    ],
)
def test_published_types_are_the_documented_ones(
    heading: str, types: dict[str, str], columns: tuple[str, ...] | None
) -> None:
    doc = documented(heading)
    assert list(types) == list(doc)
    assert types == {column: DOC_TYPES[kind] for column, kind in doc.items()}
    if columns is not None:
        assert tuple(types) == tuple(columns)


def test_span_fields_are_the_documented_ones_with_json_text_for_varying_objects() -> None:
    doc = documented("A span:")
    assert list(SPAN_TYPES) == list(doc)
    for field, kind in SPAN_TYPES.items():
        assert kind == HUB_SPAN_FIELDS.get(field, DOC_TYPES.get(doc[field])), field


def test_features_and_conversion() -> None:
    features = features_for(TRACES_TYPES)
    assert features["spans"].feature["attributes"].dtype == "string"
    assert features["spans"].feature["status"]["code"].dtype == "string"
    assert features_for(RESULTS_TYPES)["tools_used"].feature.dtype == "string"
    span = {key: None for key in SPAN_TYPES} | {"attributes": {"a": [1, 2.5]}, "events": []}
    (row,) = hub_rows([{"spans": [span], "total_tokens": 3, "unknown": 1}], TRACES_TYPES, "t")
    assert row["spans"][0]["attributes"] == '{"a": [1, 2.5]}' and row["spans"][0]["events"] == "[]"
    assert list(row) == list(TRACES_TYPES)
    for bad, message in ((True, "should be int"), (2.5, "should be int"), ("3", "should be int")):
        with pytest.raises(ValueError, match=message):
            hub_rows([{"total_tokens": bad}], TRACES_TYPES, "t")
    with pytest.raises(ValueError, match="should be list<string>"):
        hub_rows([{"test_ids": ["a", 1]}], TRACES_TYPES, "t")


def test_task_suites_get_the_documented_types() -> None:
    tasks = load_tasks("smoltrace-tasks").tasks
    assert task_types(tasks) == {k: v for k, v in TASK_TYPES.items() if any(k in t for t in tasks)}
    extra = [{"id": "a", "prompt": "p", "score": 1}, {"id": "b", "prompt": "q", "score": 0.5}]
    assert task_types(extra)["score"] == "float"
    assert task_types([{"id": "a", "meta": {"x": 1}}])["meta"] == "json"
