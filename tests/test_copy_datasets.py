"""`smoltrace-copy-datasets` against a local Hub: the shipped suites round-trip through the Hub."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.hub_server import FakeHub
from hubtest import TOKEN, hub_server

from smoltrace.copy_datasets import main
from smoltrace.tasks import load_tasks


@pytest.fixture()
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    yield from hub_server(tmp_path, monkeypatch)


def commit_of(out: str, repo_id: str) -> str:
    match = re.search(rf"Copied \S+ to {repo_id} at commit ([0-9a-f]{{40}})", out)
    assert match, out
    return match[1]


def test_copies_every_built_in_suite_loadable_as_a_pinned_task_dataset(
    hub: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--yes"]) == 0

    out = capsys.readouterr().out
    assert hub.repo_ids() == [
        "testuser/smoltrace-fallback",
        "testuser/smoltrace-ops-benchmark",
        "testuser/smoltrace-tasks",
    ]
    assert not any(hub.repo_private(repo) for repo in hub.repo_ids())  # public by default
    for suite in ("smoltrace-tasks", "smoltrace-fallback", "smoltrace-ops-benchmark"):
        repo = f"testuser/{suite}"
        sha = commit_of(out, repo)
        assert f"smoltrace-eval --dataset-name {repo} --dataset-revision {sha}" in out
        shipped = load_tasks(suite)
        copied = load_tasks(repo, revision=sha)  # the way smoltrace-eval reads it
        assert copied.revision == sha and len(copied.tasks) == len(shipped.tasks) > 0
        for got, want in zip(copied.tasks, shipped.tasks, strict=True):
            assert got == {key: want.get(key) for key in got}  # absent fields read as null
            assert {k for k, v in got.items() if v is not None} == set(want)
        card = hub.files(repo)["README.md"].decode()
        assert f"The `{suite}` task suite" in card and "| `prompt` | string |" in card
        summary = hub.commits(repo)[-1]["summary"]
        assert summary.startswith(f"Copy the built-in {suite} suite ({len(shipped.tasks)} tasks)")


def test_only_private_and_existing_copies(hub: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--only", "tasks", "--private", "-y"]) == 0
    assert hub.repo_ids() == ["testuser/smoltrace-tasks"]
    assert hub.repo_private("testuser/smoltrace-tasks")
    assert "smoltrace-tasks -> testuser/smoltrace-tasks (new)" in capsys.readouterr().out

    first = hub.files("testuser/smoltrace-tasks")
    assert main(["--only", "tasks", "-y"]) == 0  # replaced (identical data), still private
    out = capsys.readouterr().out
    assert "(exists: replaced by a new commit" in out
    assert (
        commit_of(out, "testuser/smoltrace-tasks")
        == hub.commits("testuser/smoltrace-tasks")[-1]["oid"]
    )
    assert hub.repo_private("testuser/smoltrace-tasks")
    files = hub.files("testuser/smoltrace-tasks")
    assert sorted(files) == [".gitattributes", "README.md", "data/train-00000-of-00001.parquet"]
    assert files["data/train-00000-of-00001.parquet"] == first["data/train-00000-of-00001.parquet"]


def test_confirmation_failures_and_token(
    hub: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    assert main([]) == 1
    assert "Not confirmed: nothing was copied." in capsys.readouterr().out
    assert hub.repo_ids() == []

    monkeypatch.setattr("builtins.input", lambda prompt: "COPY")
    hub.fail("POST", r"smoltrace-fallback/commit/", 500)
    assert main([]) == 1
    captured = capsys.readouterr()
    assert "FAILED smoltrace-fallback -> testuser/smoltrace-fallback: HTTP 500" in captured.err
    assert "Copied smoltrace-tasks to testuser/smoltrace-tasks" in captured.out

    monkeypatch.delenv("HF_TOKEN")
    assert main(["--yes"]) == 2
    assert "no Hugging Face token" in capsys.readouterr().err
