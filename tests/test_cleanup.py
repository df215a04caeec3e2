"""`smoltrace-cleanup` against a local Hub: dry run by default, protections, completeness rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.hub_server import FakeHub
from hubtest import OTHER_TOKEN, TOKEN, hub_server

from smoltrace.cleanup import (
    Run,
    delete_datasets,
    filter_runs,
    group_datasets_by_run,
    main,
    parse_older_than,
)
from smoltrace.outputs.cards import Card
from smoltrace.outputs.hub import build_dataset, commit_dataset, features_for

PROTECTED = [
    "testuser/smoltrace-leaderboard",
    "testuser/smoltrace-tasks",
    "testuser/smoltrace-benchmark-v1",
    "testuser/smoltrace-results-latest",  # not a run name
    "testuser/my-dataset",
]


@pytest.fixture()
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    yield from hub_server(tmp_path, monkeypatch)


def put(repo_id: str, trace_ids: list[str | None] | None = None, otel: bool | None = None) -> None:
    """A dataset with a `trace_id` column; `otel` set writes smoltrace's card block."""
    metadata: dict[str, Any] = {"license": "apache-2.0"}
    if otel is not None:
        metadata["smoltrace"] = {"dataset_kind": "results", "otel_enabled": otel}
    rows = [{"trace_id": t} for t in (trace_ids or [None])]
    dataset = build_dataset(rows, features_for({"trace_id": "string"}))
    token = OTHER_TOKEN if repo_id.startswith("otheruser/") else TOKEN
    commit_dataset(token, repo_id, dataset, Card("t", metadata, "body"), "add", private=True)


def put_run(ts: str, kinds: tuple[str, ...], **results: Any) -> None:
    for kind in kinds:
        put(f"testuser/smoltrace-{kind}-{ts}", **(results if kind == "results" else {}))


@pytest.fixture()
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)


def run_ids(hub: Any) -> list[str]:
    return [r for r in hub.repo_ids() if "/smoltrace-" in r and r.split("-")[-1][:1].isdigit()]


@pytest.mark.usefixtures("token_env")
def test_dry_run_by_default_and_protected_datasets_are_never_deleted(
    hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for repo in PROTECTED:
        put(repo)
    put("otheruser/smoltrace-results-20250101_000000")
    put_run("20250101_000000", ("results", "traces", "metrics"), otel=True)
    put_run("20250201_000000", ("results", "metrics"), otel=False)
    before = hub.repo_ids()

    assert main(["--all"]) == 0
    out = capsys.readouterr().out
    assert hub.repo_ids() == before
    assert not [r for r in hub.requests if r[0] == "DELETE"]
    assert "Dry run: nothing was deleted. Re-run with --no-dry-run to delete 5." in out
    assert "Never touched: testuser/smoltrace-leaderboard, testuser/smoltrace-tasks" in out

    assert main(["--all", "--no-dry-run", "--yes"]) == 0
    assert "Deleted 5 dataset(s)." in capsys.readouterr().out
    assert hub.repo_ids() == sorted([*PROTECTED, "otheruser/smoltrace-results-20250101_000000"])


@pytest.mark.usefixtures("token_env")
def test_incomplete_only_keeps_untraced_runs_and_deletes_broken_ones(
    hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    put_run("20250101_000001", ("results", "metrics"), otel=False)  # untraced: complete
    put_run("20250101_000002", ("results", "traces", "metrics"), otel=True)  # complete
    put_run("20250101_000003", ("results", "metrics"), otel=True)  # lost its traces
    put_run("20250101_000004", ("metrics", "traces"))  # lost its results
    put_run("20250101_000005", ("results", "metrics"), trace_ids=[None, None])  # older, untraced
    put_run("20250101_000006", ("results", "metrics"), trace_ids=["ab" * 16, None])  # older, traced

    assert main(["--incomplete-only", "--no-dry-run", "--yes"]) == 0

    out = capsys.readouterr().out
    assert "20250101_000001  results, metrics  (not traced; complete)" in out
    assert "20250101_000003  results, metrics  (traced; incomplete: no traces)" in out
    assert "20250101_000004  traces, metrics  (traced; incomplete: no results)" in out
    assert run_ids(hub) == sorted(
        f"testuser/smoltrace-{kind}-{ts}"
        for ts, kinds in (
            ("20250101_000001", ("results", "metrics")),
            ("20250101_000002", ("results", "traces", "metrics")),
            ("20250101_000005", ("results", "metrics")),
        )
        for kind in kinds
    )


@pytest.mark.usefixtures("token_env")
def test_keep_recent_with_only_and_older_than(hub: Any, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now()
    old, older, recent = ((now - timedelta(days=d)).strftime("%Y%m%d_%H%M%S") for d in (40, 60, 5))
    for ts in (old, older, recent):
        put_run(ts, ("results", "metrics"), otel=False)

    assert main(["--keep-recent", "2", "--only", "results", "--no-dry-run", "--yes"]) == 0
    assert f"testuser/smoltrace-results-{older}" not in hub.repo_ids()
    assert f"testuser/smoltrace-metrics-{older}" in hub.repo_ids()

    capsys.readouterr()
    assert main(["--older-than", "30d"]) == 0  # dry run
    out = capsys.readouterr().out
    assert f"testuser/smoltrace-results-{old}" in out and f"smoltrace-results-{recent}" not in out
    assert main(["--older-than", "4w", "--no-dry-run", "-y"]) == 0
    assert run_ids(hub) == sorted(
        [f"testuser/smoltrace-results-{recent}", f"testuser/smoltrace-metrics-{recent}"]
    )


@pytest.mark.usefixtures("token_env")
def test_confirmation_and_failures(
    hub: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    put_run("20250101_000000", ("results", "metrics"), otel=False)
    answers = iter(["yes", "YES DELETE ALL", "DELETE"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))

    assert main(["--all", "--no-dry-run"]) == 1  # --all wants the literal "YES DELETE ALL"
    assert "Not confirmed: nothing was deleted." in capsys.readouterr().out
    assert len(run_ids(hub)) == 2

    hub.fail("DELETE", r"/api/repos/delete", 500)
    assert main(["--all", "--no-dry-run"]) == 1  # confirmed, but one deletion fails
    captured = capsys.readouterr()
    assert "FAILED testuser/smoltrace-" in captured.err and "HTTP 500" in captured.err
    assert "Deleted 1 dataset(s)." in captured.out
    assert len(run_ids(hub)) == 1

    assert main(["--keep-recent", "0", "--no-dry-run"]) == 0  # "DELETE"
    assert run_ids(hub) == []

    put_run("20250102_000000", ("results", "metrics"), otel=False)

    def no_terminal(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", no_terminal)
    assert main(["--keep-recent", "0", "--no-dry-run"]) == 1
    assert len(run_ids(hub)) == 2


def test_token_problems_are_exit_2(
    hub: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert main(["--all"]) == 2
    assert "no Hugging Face token" in capsys.readouterr().err
    assert main(["--all", "--token", "hf_wrong_token_0000"]) == 2
    err = capsys.readouterr().err
    assert "the Hugging Face token was rejected" in err and "--token is deprecated" in caplog.text
    assert "hf_wrong_token_0000" not in err + caplog.text
    assert main(["--older-than", "soon"]) == 2
    assert "invalid --older-than 'soon'" in capsys.readouterr().err


def test_filters_and_guards_without_a_hub() -> None:
    assert [parse_older_than(v) for v in ("7", "7d", " 2W ", "3m")] == [7, 7, 14, 90]
    runs = group_datasets_by_run(
        [
            "u/smoltrace-results-20250101_000000",
            "u/smoltrace-metrics-20250101_000000",
            "u/smoltrace-results-20251399_000000",  # impossible date: kept by --older-than
            "u/smoltrace-leaderboard",
        ]
    )
    assert [r.timestamp for r in runs] == ["20251399_000000", "20250101_000000"]
    to_delete, to_keep = filter_runs(runs, older_than_days=1)
    assert [r.timestamp for r in to_delete] == ["20250101_000000"]
    assert [r.timestamp for r in to_keep] == ["20251399_000000"]
    # publishing claims `_2`, `_3` names for runs started in the same second: each is a run
    claimed = group_datasets_by_run(
        [
            f"u/smoltrace-{kind}-20250101_000000{suffix}"
            for kind in ("results", "metrics")
            for suffix in ("", "_2", "_3")
        ]
        + ["u/smoltrace-results-20250101_000000_x"]  # not a claimed name
    )
    assert [(r.name, sorted(r.datasets.values())) for r in claimed] == [
        (
            f"20250101_000000{suffix}",
            [
                f"u/smoltrace-metrics-20250101_000000{suffix}",
                f"u/smoltrace-results-20250101_000000{suffix}",
            ],
        )
        for suffix in ("_3", "_2", "")
    ]
    assert all(r.missing() == [] for r in claimed)
    to_delete, _ = filter_runs(claimed, older_than_days=1)
    assert len(to_delete) == 3
    unknown = Run("20250101_000000", {"results": "r", "metrics": "m"}, traced=None)
    assert filter_runs([unknown], incomplete_only=True) == ([], [unknown])
    with pytest.raises(ValueError, match="never deleted: u/smoltrace-tasks"):
        delete_datasets(["u/smoltrace-results-20250101_000000", "u/smoltrace-tasks"])
