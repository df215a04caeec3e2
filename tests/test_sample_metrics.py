"""The bundled sample data: the seed's shape, the documented schema, and reproducible generation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT

SAMPLE_DIR = REPO_ROOT / "MockTraceMind" / "sample_data"
GENERATOR = SAMPLE_DIR / "generate_sample_metrics.py"
SCHEMA_DOC = REPO_ROOT / "smoltrace_dataset_structure.md"
SEED_METRICS = {
    "gen_ai.gpu.utilization",
    "gen_ai.gpu.memory.used",
    "gen_ai.gpu.temperature",
    "gen_ai.gpu.power",
    "gen_ai.co2.emissions",
}
NANOS = 1_000_000_000


def load(name: str) -> Any:
    return json.loads((SAMPLE_DIR / name).read_text(encoding="utf-8"))


def metrics_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        metric["name"]: metric
        for batch in document["resourceMetrics"]
        for scope in batch["scopeMetrics"]
        for metric in scope["metrics"]
    }


def documented_fields(section: str, table_index: int = 0) -> set[str]:
    """Backticked names in the first column of a table under a `## section` of the schema doc."""
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    tables = re.findall(r"((?:^\|.*\|\n)+)", body, flags=re.M)
    rows = tables[table_index].strip().splitlines()[2:]
    return {name for row in rows for name in re.findall(r"`([^`]+)`", row.split("|")[1])}


def test_gpu_sample_has_five_metrics_of_twelve_points_ten_seconds_apart() -> None:
    document = load("metrics_llama31.json")
    assert set(document) == {"run_id", "resourceMetrics", "aggregates"}
    metrics = metrics_of(document)
    assert set(metrics) == SEED_METRICS
    stamps_by_metric = []
    for name, metric in metrics.items():
        points = (metric.get("gauge") or metric.get("sum"))["dataPoints"]
        assert len(points) == 12, name
        stamps = [int(point["timeUnixNano"]) for point in points]
        assert [b - a for a, b in pairwise(stamps)] == [10 * NANOS] * 11
        for point in points:
            assert isinstance(point["timeUnixNano"], str)
            assert ("asInt" in point and isinstance(point["asInt"], str)) or isinstance(
                point.get("asDouble"), float
            )
        stamps_by_metric.append(stamps)
    assert all(stamps == stamps_by_metric[0] for stamps in stamps_by_metric)
    co2 = [p["asDouble"] for p in metrics["gen_ai.co2.emissions"]["sum"]["dataPoints"]]
    assert co2 == sorted(co2) and co2[0] > 0  # cumulative
    assert metrics["gen_ai.co2.emissions"]["sum"]["isMonotonic"] is True
    resource = document["resourceMetrics"][0]["resource"]["attributes"]
    assert {"key": "run.id", "value": {"stringValue": document["run_id"]}} in resource


def test_api_sample_has_empty_resource_metrics() -> None:
    document = load("metrics_gpt4.json")
    assert document == {"run_id": "sample-gpt4-api", "resourceMetrics": [], "aggregates": []}


@pytest.mark.parametrize("name", ["llama31", "gpt4"])
def test_samples_use_exactly_the_documented_columns(name: str) -> None:
    results = load(f"results_{name}.json")
    traces = load(f"traces_{name}.json")
    row = load(f"leaderboard_{name}.json")
    assert all(set(result) == documented_fields("Results dataset") for result in results)
    assert all(set(trace) == documented_fields("Traces dataset") for trace in traces)
    span_fields = documented_fields("Traces dataset", table_index=1)
    assert all(set(span) == span_fields for trace in traces for span in trace["spans"])
    assert set(row) == documented_fields("Leaderboard dataset")
    run_ids = {row["run_id"]} | {r["run_id"] for r in results} | {t["run_id"] for t in traces}
    assert run_ids == {load(f"metrics_{name}.json")["run_id"]}


@pytest.mark.parametrize("name", ["llama31", "gpt4"])
def test_sample_rows_agree_with_each_other(name: str) -> None:
    results = load(f"results_{name}.json")
    traces = {trace["trace_id"]: trace for trace in load(f"traces_{name}.json")}
    row = load(f"leaderboard_{name}.json")
    passed = sum(result["success"] for result in results)
    assert (row["total_tests"], row["successful_tests"]) == (len(results), passed)
    assert row["success_rate"] == round(100 * passed / len(results), 2)
    assert row["total_tokens"] == sum(result["total_tokens"] for result in results)
    assert [result["test_index"] for result in results] == list(range(len(results)))
    for result in results:
        trace = traces[result["trace_id"]]
        assert trace["root_span_id"] == result["span_id"]
        assert trace["test_case_uids"] == [result["test_case_uid"]]
        span_ids = {span["span_id"] for span in trace["spans"]}
        assert all(s["parent_span_id"] in span_ids | {None} for s in trace["spans"])
    gpu_fields = [key for key in row if key.startswith("gpu_")] + ["co2_emissions_g"]
    if name == "gpt4":  # API model: never a made-up 0
        assert all(row[key] is None for key in gpu_fields)
        assert any(result["error"] for result in results)
    else:
        assert all(row[key] is not None for key in gpu_fields)


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    written = sorted(Path(line).name for line in done.stdout.split())
    committed = sorted(path.name for path in SAMPLE_DIR.glob("*.json"))
    assert written == committed and len(written) == 8
    for name in written:
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name
