"""The local run folder: a journal written as tasks finish, then the five output files.

The folder is the durable copy of a run. Hub publishing reads from it, so a failed upload can be
retried later from the same files (`smoltrace-eval --push-only FOLDER`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from .naming import make_run_folder, run_timestamp
from .results import flatten_results_for_hf

JOURNAL = "records.jsonl"
SETTINGS = "run_settings.json"  # written when the run starts; read by --resume
OUTPUT_FILES = (
    "results.json",
    "traces.json",
    "metrics.json",
    "leaderboard_row.json",
    "metadata.json",
)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON via a temp file and rename, so a reader never sees half a file.

    The temp file is created with mode 0666 less the umask, like any file the user creates
    (mkstemp's 0600 would hide a shared results folder from its other readers).
    """
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, default=str, ensure_ascii=False)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunFolder:
    """One run's folder; `append_record` is safe to call from worker threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls, output_dir: str | Path, model: str, agent_type: str, timestamp: str
    ) -> RunFolder:
        return cls(make_run_folder(output_dir, model, agent_type, timestamp))

    def discard_if_empty(self) -> None:
        """Remove the folder when nothing was recorded (a run that failed before its first task)."""
        journal = self.path / JOURNAL
        if journal.exists() and journal.stat().st_size:
            return
        journal.unlink(missing_ok=True)
        (self.path / SETTINGS).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty after all: keep it
            self.path.rmdir()

    def append_record(self, record: dict[str, Any]) -> None:
        """Append one record as one line, flushed to the OS at once (it survives a kill -9)."""
        line = json.dumps(record, default=str, ensure_ascii=False)
        with self._lock, (self.path / JOURNAL).open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()

    def local_ref(self, name: str) -> str:
        return f"local:{self.path / name}"

    def write_outputs(
        self,
        results_rows: list[dict[str, Any]],
        trace_data: list[dict[str, Any]],
        metric_data: dict[str, Any],
        leaderboard_row: dict[str, Any],
        metadata: dict[str, Any],
    ) -> None:
        """Write the five files; metadata.json last marks the run complete."""
        write_json_atomic(self.path / "results.json", results_rows)
        write_json_atomic(self.path / "traces.json", trace_data)
        write_json_atomic(self.path / "metrics.json", metric_data)
        write_json_atomic(self.path / "leaderboard_row.json", leaderboard_row)
        write_json_atomic(self.path / "metadata.json", metadata)


def count_metric_points(metric_data: dict[str, Any] | None) -> int:
    count = 0
    for batch in (metric_data or {}).get("resourceMetrics") or []:
        for scope in batch.get("scopeMetrics", []):
            for metric in scope.get("metrics", []):
                for kind in ("gauge", "sum", "histogram"):
                    count += len((metric.get(kind) or {}).get("dataPoints", []))
    return count


def save_results_locally(
    all_results: dict[str, list[dict[str, Any]]],
    trace_data: list[dict[str, Any]] | None,
    metric_data: dict[str, Any] | None,
    model_name: str,
    agent_type: str,
    dataset_used: str,
    output_dir: str = "./smoltrace_results",
    *,
    run_id: str | None = None,
    provider: str = "litellm",
    leaderboard_kwargs: dict[str, Any] | None = None,
) -> str:
    """Seed API: write a complete run folder for results computed elsewhere; returns its path."""
    from .leaderboard import compute_leaderboard_row

    timestamp = run_timestamp()
    folder = RunFolder.create(output_dir, model_name, agent_type, timestamp)
    trace_data = trace_data or []
    metric_data = metric_data or {"run_id": run_id, "resourceMetrics": [], "aggregates": []}
    rows = flatten_results_for_hf(all_results, model_name)
    row = compute_leaderboard_row(
        model_name,
        all_results,
        trace_data,
        metric_data,
        dataset_used,
        folder.local_ref("results.json"),
        folder.local_ref("traces.json") if trace_data else None,
        folder.local_ref("metrics.json"),
        agent_type,
        run_id,
        provider,
        **(leaderboard_kwargs or {}),
    )
    metadata = build_metadata(
        run_id=run_id,
        model=model_name,
        provider=provider,
        agent_type=agent_type,
        dataset_used=dataset_used,
        dataset_revision=row.get("dataset_revision"),
        timestamp=timestamp,
        started_at=row["timestamp"],
        finished_at=row["timestamp"],
        num_results=len(rows),
        trace_data=trace_data,
        metric_data=metric_data,
        otel_enabled=bool(trace_data),
        gpu_metrics_enabled=False,
    )
    folder.write_outputs(rows, trace_data, metric_data, row, metadata)
    return str(folder.path)


def build_metadata(
    *,
    run_id: str | None,
    model: str,
    provider: str,
    agent_type: str,
    dataset_used: str,
    dataset_revision: str | None,
    timestamp: str,
    started_at: str,
    finished_at: str,
    num_results: int,
    trace_data: list[dict[str, Any]],
    metric_data: dict[str, Any],
    otel_enabled: bool,
    gpu_metrics_enabled: bool,
    hub: dict[str, str] | None = None,
    sandbox: dict[str, Any] | None = None,
    otlp: dict[str, Any] | None = None,
    mcp_servers: list[dict[str, Any]] | None = None,
    tools: dict[str, Any] | None = None,
    repeats: dict[str, Any] | None = None,
    manifest: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    reliability: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """metadata.json; `manifest` is the run manifest (smoltrace.manifest), None when unknown."""
    from .. import __version__
    from ..run_status import STATUS_FIELDS

    return {
        **{name: (status or {}).get(name) for name in STATUS_FIELDS},
        "reliability": reliability,
        "run_id": run_id,
        "model": model,
        "provider": provider,
        "agent_type": agent_type,
        "dataset_used": dataset_used,
        "dataset_revision": dataset_revision,
        "timestamp": timestamp,
        "started_at": started_at,
        "finished_at": finished_at,
        "num_results": num_results,
        "num_traces": len(trace_data),
        "num_metric_points": count_metric_points(metric_data),
        "otel_enabled": otel_enabled,
        "gpu_metrics_enabled": gpu_metrics_enabled,
        "smoltrace_version": __version__,
        "hub": hub,
        "sandbox": sandbox,
        "otlp": otlp,
        "mcp_servers": mcp_servers or [],
        "tools": tools,
        "repeats": repeats or {"count": 1, "base_seed": None, "seeds": [None]},
        "manifest": manifest,
    }
