"""Shared helpers for the Hub publishing, cleanup and copy tests: a local Hub and run folders.

Run folders are written the way `smoltrace.main` writes them for `--output-format hub`; the mock
evaluations behind them are run once per session and given a fresh run id per folder.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from fakes.hub_server import FakeHub, point_clients_at

TOKEN = "hf_test_token_123456"
OTHER_TOKEN = "hf_other_token_654321"
READ_TOKEN = "hf_read_only_token_777777"  # a "read" role token of readuser
USERS = {TOKEN: "testuser", OTHER_TOKEN: "otheruser", READ_TOKEN: "readuser"}

_EVALUATIONS: dict[bool, tuple[Any, ...]] = {}


def hub_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A fresh local Hub for one test, with the in-process clients pointed at it.

    Test modules wrap it in their `hub` fixture. The Hub file and datasets caches are keyed by
    commit id, and every fresh FakeHub numbers its commits from the start, so each test gets
    caches of its own (and ~/.cache stays clean).
    """
    import datasets.config
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-hub-cache"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets")
    monkeypatch.setattr(datasets.config, "DOWNLOADED_DATASETS_PATH", tmp_path / "hf-downloads")
    server = FakeHub(tokens=USERS, read_only_users=("readuser",)).start()
    point_clients_at(server)
    try:
        yield server
    finally:
        server.stop()
    assert server.unhandled == []


def mock_evaluation(enable_otel: bool, run_id: str) -> tuple[Any, ...]:
    """The oracle's 5-tuple (run once per session per `enable_otel`), relabelled with `run_id`."""
    if enable_otel not in _EVALUATIONS:
        from smoltrace.core import run_evaluation

        _EVALUATIONS[enable_otel] = run_evaluation(
            "oracle", ["tool", "code"], provider="mock", enable_otel=enable_otel, verbose=False
        )
    all_results, traces, metrics, dataset_used, old_id = copy.deepcopy(_EVALUATIONS[enable_otel])
    relabel = json.loads(json.dumps([all_results, traces, metrics]).replace(old_id, run_id))
    return *relabel, dataset_used, run_id


def make_run_folder(
    output_dir: Path,
    *,
    user: str | None = "testuser",
    timestamp: str = "20250101_120000",
    enable_otel: bool = False,
    run_id: str | None = None,
    metric_data: dict[str, Any] | None = None,
    extra_columns: dict[str, Any] | None = None,
) -> Path:
    """A complete run folder of the mock oracle; `user=None` makes a local-JSON run (no hub)."""
    from smoltrace.outputs.leaderboard import compute_leaderboard_row
    from smoltrace.outputs.local import RunFolder, build_metadata
    from smoltrace.outputs.naming import generate_dataset_names
    from smoltrace.outputs.results import flatten_results_for_hf

    run_id = run_id or str(uuid.uuid4())
    all_results, traces, metrics, dataset_used, run_id = mock_evaluation(enable_otel, run_id)
    if metric_data is not None:
        metrics = {**metric_data, "run_id": run_id}
    folder = RunFolder.create(output_dir, "oracle", "both", timestamp)
    if user is None:
        hub = None
        refs = {
            "results": folder.local_ref("results.json"),
            "traces": folder.local_ref("traces.json") if enable_otel else None,
            "metrics": folder.local_ref("metrics.json"),
        }
    else:
        results, traces_repo, metrics_repo, board = generate_dataset_names(user, timestamp)
        hub = refs = {
            "results": results,
            "traces": traces_repo if enable_otel else None,
            "metrics": metrics_repo,
            "leaderboard": board,
        }
    finished = datetime.now(timezone.utc).isoformat()
    rows = flatten_results_for_hf(all_results, "oracle")
    row = compute_leaderboard_row(
        "oracle",
        all_results,
        traces,
        metrics,
        dataset_used,
        refs["results"],
        refs["traces"],
        refs["metrics"],
        "both",
        run_id,
        "mock",
        submitted_by=user or "local",
        timestamp=finished,
    )
    row.update(extra_columns or {})
    metadata = build_metadata(
        run_id=run_id,
        model="oracle",
        provider="mock",
        agent_type="both",
        dataset_used=dataset_used,
        dataset_revision=None,
        timestamp=timestamp,
        started_at=finished,
        finished_at=finished,
        num_results=len(rows),
        trace_data=traces,
        metric_data=metrics,
        otel_enabled=enable_otel,
        gpu_metrics_enabled=metric_data is not None,
        hub=hub,
    )
    folder.write_outputs(rows, traces, metrics, row, metadata)
    return folder.path


def load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def load_hub(repo_id: str, cache: Path, token: str = TOKEN) -> Any:
    """`datasets.load_dataset(repo_id)` as a user would call it, with a cache of its own."""
    from datasets import load_dataset

    return load_dataset(
        repo_id, split="train", token=token, cache_dir=str(cache / uuid.uuid4().hex)
    )


def gpu_metric_data() -> dict[str, Any]:
    """OTLP-JSON GPU metrics: two GPUs at two times, plus run-wide CO2 without a gpu_id."""

    def point(t: int, value: float, gpu: str | None, name: str = "NVIDIA H100") -> dict[str, Any]:
        attributes = (
            []
            if gpu is None
            else [
                {"key": "gpu_id", "value": {"stringValue": gpu}},
                {"key": "gpu_name", "value": {"stringValue": name}},
            ]
        )
        return {"attributes": attributes, "timeUnixNano": str(t), "asDouble": value}

    t1, t2 = 1_730_000_000_000_000_000, 1_730_000_010_000_000_000
    gauges = {
        "gen_ai.gpu.utilization": [
            point(t1, 67.0, "0"),
            point(t1, 12.5, "1"),
            point(t2, 71.25, "0"),
        ],
        "gen_ai.gpu.memory.used": [point(t1, 20480.0, "0"), point(t2, 20992.5, "0")],
        "gen_ai.gpu.temperature": [point(t1, 55.0, "0"), point(t1, 41.0, "1")],
        "gen_ai.gpu.power": [point(t2, 310.123456789, "1")],
    }
    metrics = [
        {"name": name, "unit": "", "gauge": {"dataPoints": points}}
        for name, points in gauges.items()
    ]
    metrics.append(
        {
            "name": "gen_ai.co2.emissions",
            "unit": "gCO2e",
            "sum": {
                "dataPoints": [point(t2, 0.123456789, None)],
                "aggregationTemporality": 2,
                "isMonotonic": True,
            },
        }
    )
    resource = {
        "attributes": [
            {"key": "service.name", "value": {"stringValue": "smoltrace-eval"}},
            {"key": "run.id", "value": {"stringValue": "set-by-make_run_folder"}},
        ]
    }
    return {
        "resourceMetrics": [
            {
                "resource": resource,
                "scopeMetrics": [{"scope": {"name": "test"}, "metrics": metrics}],
            }
        ],
        "aggregates": [],
    }
