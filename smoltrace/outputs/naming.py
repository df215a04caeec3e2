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
    """`model` as a folder-name part: `/`, `:`, `\\` and spaces become `_`; leading `.` and `_`
    are dropped (`./my-model` must not make a hidden `._my-model_...` folder)."""
    return re.sub(r"[/:\\\s]", "_", model).lstrip("._") or "model"


def make_run_folder(output_dir: str | Path, model: str, agent_type: str, timestamp: str) -> Path:
    """Create `{output_dir}/{model}_{agent_type}_{timestamp}` (`_2`, `_3`, ... if taken).

    Each candidate is claimed with an exclusive mkdir, so two runs starting in the same second,
    even in two processes, never share a folder.
    """
    base = Path(output_dir) / f"{safe_model_name(model)}_{agent_type}_{timestamp}"
    base.parent.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        candidate = base if n == 1 else base.with_name(f"{base.name}_{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1
