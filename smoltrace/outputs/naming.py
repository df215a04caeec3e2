"""Names of run folders and Hub datasets (see smoltrace_dataset_structure.md)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def run_timestamp(now: datetime | None = None) -> str:
    """The run's `YYYYMMDD_HHMMSS` suffix, local time, taken once when the run starts."""
    return (now or datetime.now()).strftime("%Y%m%d_%H%M%S")


def generate_dataset_names(
    username: str, timestamp: str | None = None
) -> tuple[str, str, str, str]:
    """(results, traces, metrics, leaderboard) Hub dataset ids for one run of `username`."""
    ts = timestamp or run_timestamp()
    return (
        f"{username}/smoltrace-results-{ts}",
        f"{username}/smoltrace-traces-{ts}",
        f"{username}/smoltrace-metrics-{ts}",
        f"{username}/smoltrace-leaderboard",
    )


def safe_model_name(model: str) -> str:
    return re.sub(r"[/:\\\s]", "_", model)


def run_folder(output_dir: str | Path, model: str, agent_type: str, timestamp: str) -> Path:
    """`{output_dir}/{model}_{agent_type}_{timestamp}`, made unique if a folder of that name exists."""
    base = Path(output_dir) / f"{safe_model_name(model)}_{agent_type}_{timestamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}_{n}")
    return candidate
