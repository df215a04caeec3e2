"""`smoltrace-cleanup`: delete old or broken run datasets from your Hugging Face namespace.

Every run publishes up to three datasets, `{user}/smoltrace-{results,traces,metrics}-{timestamp}`,
so a namespace fills up. Only names of exactly that form are ever considered, which keeps the
leaderboard (`{user}/smoltrace-leaderboard`) and the task datasets (`{user}/smoltrace-tasks`,
`{user}/smoltrace-benchmark-v1`) out of reach. Nothing is deleted without `--no-dry-run`.

A run is complete when it has its results and metrics datasets, and its traces dataset when it
was traced. Whether it was traced is read from the results card (the `smoltrace:` block written
by smoltrace) or, for runs published by older versions, from the results rows' `trace_id`: a run
made without `--enable-otel` has no traces dataset and is not broken (the original tool deleted
such runs with `--incomplete-only`).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .cli import OneLineErrorParser
from .errors import ConfigError

logger = logging.getLogger(__name__)

KINDS = ("results", "traces", "metrics")
PROTECTED_NAMES = ("smoltrace-leaderboard", "smoltrace-tasks", "smoltrace-benchmark-v1")
# `_2`, `_3`, ...: the names publishing claims when another run of the same second holds the plain one
RUN_DATASET = re.compile(
    r"^(?P<owner>[^/]+)/smoltrace-(?P<kind>results|traces|metrics)-"
    r"(?P<timestamp>\d{8}_\d{6})(?:_(?P<claim>[2-9]|[1-9]\d))?$"
)
_OLDER_THAN = re.compile(r"^(?P<count>\d+)\s*(?P<unit>[dwm]?)$")
_UNIT_DAYS = {"": 1, "d": 1, "w": 7, "m": 30}


@dataclass
class Run:
    """The datasets one run left in the namespace, grouped by the run's timestamp."""

    timestamp: str
    datasets: dict[str, str] = field(default_factory=dict)
    traced: bool | None = None  # None: not looked up (only --incomplete-only does), or unknown
    claim: int = 1  # n of a `_n` name: another run of the same second

    @property
    def name(self) -> str:
        """The run's name suffix: the timestamp, plus `_n` for a claimed name."""
        return self.timestamp if self.claim == 1 else f"{self.timestamp}_{self.claim}"

    @property
    def started(self) -> datetime | None:
        """Local start time from the dataset names; None for an impossible date."""
        try:
            return datetime.strptime(self.timestamp, "%Y%m%d_%H%M%S")
        except ValueError:
            return None

    def missing(self) -> list[str]:
        """Kinds a complete run would have and this one lacks (traces only when traced)."""
        needed = ["results", "traces", "metrics"] if self.traced else ["results", "metrics"]
        return [kind for kind in needed if kind not in self.datasets]

    def describe(self, with_state: bool = False) -> str:
        """One report line: timestamp, datasets present and, when asked, completeness."""
        line = f"{self.name}  " + ", ".join(k for k in KINDS if k in self.datasets)
        if not with_state:
            return line
        traced = {True: "traced", False: "not traced", None: "tracing unknown"}[self.traced]
        missing = self.missing()
        state = f"incomplete: no {', '.join(missing)}" if missing else "complete"
        return f"{line}  ({traced}; {state})"


def parse_older_than(value: str) -> int:
    """Days in `30d`, `2w` (x7), `3m` (x30) or a bare number of days."""
    match = _OLDER_THAN.match(value.strip().lower())
    if match is None:
        raise ConfigError(
            f"invalid --older-than '{value}': use a number of days, or Nd, Nw (weeks), Nm (months)"
        )
    return int(match["count"]) * _UNIT_DAYS[match["unit"]]


def _api(token: str) -> Any:
    from .outputs.hub import hub_api

    return hub_api(token)


def discover_smoltrace_datasets(username: str, hf_token: str) -> list[str]:
    """Ids of the user's run datasets; every other dataset (leaderboard, tasks...) is left out."""
    found = []
    for info in _api(hf_token).list_datasets(author=username):
        match = RUN_DATASET.match(info.id)
        if match and match["owner"] == username:
            found.append(info.id)
    return sorted(found)


def group_datasets_by_run(dataset_ids: list[str]) -> list[Run]:
    """Runs (newest first) from run dataset ids; other ids are ignored."""
    runs: dict[tuple[str, int], Run] = {}
    for repo_id in dataset_ids:
        match = RUN_DATASET.match(repo_id)
        if match:
            claim = int(match["claim"] or 1)
            run = runs.setdefault((match["timestamp"], claim), Run(match["timestamp"], claim=claim))
            run.datasets[match["kind"]] = repo_id
    return sorted(runs.values(), key=lambda run: (run.timestamp, run.claim), reverse=True)


def _trace_ids_present(api: Any, repo_id: str, files: list[str], cache: str) -> bool:
    """Whether any results row has a trace_id (the run was traced)."""
    import pyarrow.parquet as pq

    for path in files:
        if path.startswith("data/") and path.endswith(".parquet"):
            local = api.hf_hub_download(repo_id, path, repo_type="dataset", cache_dir=cache)
            table = pq.read_table(local, columns=["trace_id"])
            if table["trace_id"].null_count < len(table):
                return True
    return False


def run_was_traced(results_repo: str, hf_token: str) -> bool | None:
    """Whether the run behind `results_repo` was traced: from the `smoltrace:` block of its card,
    else (runs published by older versions) from its rows' `trace_id`.

    None when that cannot be read; such a run is then kept (never deleted on a guess).
    """
    from .outputs.hub import describe_error, read_smoltrace_block

    api = _api(hf_token)
    try:
        files = api.list_repo_files(results_repo, repo_type="dataset")
        block = read_smoltrace_block(api, results_repo, files) or {}
        if "otel_enabled" in block:
            return bool(block["otel_enabled"])
        # A throw-away cache: these files are read once.
        with tempfile.TemporaryDirectory(prefix="smoltrace-cleanup-") as cache:
            return _trace_ids_present(api, results_repo, files, cache)
    except Exception as exc:
        reason = describe_error(exc, hf_token)
        logger.warning("Cannot tell whether %s was traced (%s): keeping it", results_repo, reason)
        return None


def filter_runs(
    runs: list[Run],
    older_than_days: int | None = None,
    keep_recent: int | None = None,
    incomplete_only: bool = False,
    delete_all: bool = False,
    now: datetime | None = None,
) -> tuple[list[Run], list[Run]]:
    """(to_delete, to_keep) for one criterion; `runs` newest first, as grouped.

    `incomplete_only` needs `Run.traced` filled in for runs lacking traces (see run_was_traced);
    a run whose tracing is unknown and that lacks only traces is kept.
    """
    if delete_all:
        return list(runs), []
    if keep_recent is not None:
        if keep_recent < 0:
            raise ConfigError("--keep-recent must be 0 or more")
        return runs[keep_recent:], runs[:keep_recent]
    if older_than_days is not None:
        cutoff = (now or datetime.now()) - timedelta(days=older_than_days)
        to_delete: list[Run] = []
        to_keep: list[Run] = []
        for run in runs:
            started = run.started
            if started is None:
                logger.warning("Run %s has an impossible date: keeping it", run.name)
            (to_delete if started is not None and started < cutoff else to_keep).append(run)
        return to_delete, to_keep
    if incomplete_only:
        broken = [run for run in runs if run.missing() and not _unknown_without_traces(run)]
        return broken, [run for run in runs if run not in broken]
    raise ConfigError(
        "choose what to delete: --older-than, --keep-recent, --incomplete-only or --all"
    )


def _unknown_without_traces(run: Run) -> bool:
    return run.traced is None and run.missing() == ["traces"]


def datasets_to_delete(runs: list[Run], only: str | None = None) -> list[str]:
    """The dataset ids of `runs`, restricted to one kind with `only`."""
    kinds = [only] if only else list(KINDS)
    return [run.datasets[kind] for run in runs for kind in kinds if kind in run.datasets]


def delete_datasets(
    dataset_ids: list[str], dry_run: bool = True, hf_token: str | None = None
) -> tuple[list[str], dict[str, str]]:
    """Delete run datasets; returns (deleted, {id: error}). A dry run deletes nothing.

    Refuses (ValueError) any id that is not a run dataset, whatever the caller passes.
    """
    refused = [
        i for i in dataset_ids if not RUN_DATASET.match(i) or i.split("/")[-1] in PROTECTED_NAMES
    ]
    if refused:
        raise ValueError(f"not run datasets, never deleted: {', '.join(refused)}")
    if dry_run:
        return [], {}
    if not hf_token:
        raise ConfigError("deleting datasets needs a Hugging Face token")
    from .outputs.hub import describe_error

    api = _api(hf_token)
    deleted, failed = [], {}
    for repo_id in dataset_ids:
        try:
            api.delete_repo(repo_id, repo_type="dataset", missing_ok=True)
            deleted.append(repo_id)
        except Exception as exc:
            failed[repo_id] = describe_error(exc, hf_token)
    return deleted, failed


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="smoltrace-cleanup",
        description=(
            "Delete smoltrace run datasets (results, traces, metrics) from your Hugging Face "
            "namespace. Dry run unless --no-dry-run. The leaderboard and the task datasets "
            "(smoltrace-tasks, smoltrace-benchmark-v1) are never touched."
        ),
        allow_abbrev=False,
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--older-than", metavar="AGE", help="runs older than AGE: 30 or 30d (days), 2w, 3m"
    )
    which.add_argument("--keep-recent", type=int, metavar="N", help="keep the newest N runs")
    which.add_argument(
        "--incomplete-only",
        action="store_true",
        help="runs missing results or metrics, or traces although they were traced",
    )
    which.add_argument("--all", dest="delete_all", action="store_true", help="every run")
    parser.add_argument("--only", choices=KINDS, help="delete only this kind of dataset")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run", action="store_true", help="only list what would be deleted (the default)"
    )
    mode.add_argument("--no-dry-run", action="store_true", help="really delete")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--hf-token-file", help="read the Hugging Face token from this file")
    parser.add_argument(
        "--token", help="Hugging Face token (deprecated: visible in the process list; use HF_TOKEN)"
    )
    return parser


def _confirm(prompt: str, expected: str) -> bool:
    """Whether the user typed `expected`; no terminal (EOF) means no."""
    try:
        return input(prompt).strip() == expected
    except EOFError:
        return False


def cleanup(args: argparse.Namespace) -> int:
    """The command: find, filter, report, then (with --no-dry-run) confirm and delete."""
    from .outputs.hub import require_hf_user, resolve_token

    older_than = parse_older_than(args.older_than) if args.older_than is not None else None
    token = resolve_token(args.hf_token_file, args.token, flag_name="--token") or ""
    user = require_hf_user(token, write=args.no_dry_run)
    runs = group_datasets_by_run(discover_smoltrace_datasets(user, token))
    print(f"Logged in as {user}: {len(runs)} smoltrace run(s) in the namespace.")
    if args.incomplete_only:
        for run in runs:
            if "results" in run.datasets and "traces" not in run.datasets:
                run.traced = run_was_traced(run.datasets["results"], token)
            elif "traces" in run.datasets:
                run.traced = True
    to_delete, to_keep = filter_runs(
        runs,
        older_than_days=older_than,
        keep_recent=args.keep_recent,
        incomplete_only=args.incomplete_only,
        delete_all=args.delete_all,
    )
    doomed = datasets_to_delete(to_delete, args.only)
    for title, group in (("Runs to delete", to_delete), ("Runs kept", to_keep)):
        print(f"{title} ({len(group)}):")
        for run in group:
            print(f"  {run.describe(with_state=args.incomplete_only)}")
    print("Never touched: " + ", ".join(f"{user}/{name}" for name in PROTECTED_NAMES))
    if not doomed:
        print("Nothing to delete.")
        return 0
    print(f"Datasets to delete ({len(doomed)}):")
    for repo_id in doomed:
        print(f"  {repo_id}")
    if not args.no_dry_run:
        print(f"Dry run: nothing was deleted. Re-run with --no-dry-run to delete {len(doomed)}.")
        return 0
    if not args.yes:
        expected = "YES DELETE ALL" if args.delete_all else "DELETE"
        if not _confirm(f"Type {expected} to delete {len(doomed)} datasets: ", expected):
            print("Not confirmed: nothing was deleted.")
            return 1
    deleted, failed = delete_datasets(doomed, dry_run=False, hf_token=token)
    print(f"Deleted {len(deleted)} dataset(s).")
    for repo_id, reason in failed.items():
        print(f"  FAILED {repo_id}: {reason}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit codes: 0 done, 1 a deletion failed or was not confirmed, 2 bad input."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="smoltrace-cleanup: %(levelname)s: %(message)s")
    try:
        return cleanup(args)
    except ConfigError as exc:
        print(f"smoltrace-cleanup: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
