"""Task datasets from the Hub (the local Hub server): unpinned warning, pinned revision recorded."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, cli_env
from fakes.hub_server import FakeHub, hub_env, point_clients_at

TOKEN = "hf_test_token_123456"


@pytest.fixture()
def hub():
    server = FakeHub().start()
    point_clients_at(server)
    try:
        yield server
    finally:
        server.stop()


def push_tasks(hub: FakeHub, repo: str, tasks: list[dict], private: bool = False) -> str:
    from datasets import Dataset

    Dataset.from_list(tasks).push_to_hub(repo, token=TOKEN, private=private)
    return hub.commits(repo)[-1]["oid"]


def run(hub: FakeHub, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = cli_env(**hub_env(hub, tmp_path))
    return subprocess.run(
        [
            str(BIN / "smoltrace-eval"),
            "--provider",
            "mock",
            "--model",
            "oracle",
            "--agent-type",
            "tool",
            "--output-format",
            "json",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


def test_hub_task_dataset_unpinned_warns_and_pinned_revision_is_recorded(
    hub: FakeHub, tmp_path: Path
) -> None:
    first = [
        {
            "id": "w",
            "prompt": "What's the weather in Paris, France?",
            "expected_tool": "get_weather",
            "expected_tool_calls": 1,
            "expected_keywords": ["22"],
            "difficulty": "easy",
            "agent_type": "tool",
        }
    ]
    sha1 = push_tasks(hub, "testuser/my-tasks", first)
    second = [
        *first,
        {
            **first[0],
            "id": "w2",
            "prompt": "What's the weather in London, UK?",
            "expected_keywords": ["15"],
        },
    ]
    sha2 = push_tasks(hub, "testuser/my-tasks", second)

    out = tmp_path / "unpinned"
    result = run(hub, tmp_path, "--dataset-name", "testuser/my-tasks", "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    assert "not pinned" in result.stderr and "--dataset-revision" in result.stderr
    folder = next(out.iterdir())
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["dataset_used"] == "testuser/my-tasks" and meta["dataset_revision"] == sha2
    assert json.loads((folder / "leaderboard_row.json").read_text())["dataset_revision"] == sha2
    assert [r["task_id"] for r in json.loads((folder / "results.json").read_text())] == ["w", "w2"]

    out = tmp_path / "pinned"
    result = run(
        hub,
        tmp_path,
        "--dataset-name",
        "testuser/my-tasks",
        "--dataset-revision",
        sha1,
        "--output-dir",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "not pinned" not in result.stderr
    folder = next(out.iterdir())
    assert json.loads((folder / "metadata.json").read_text())["dataset_revision"] == sha1
    rows = json.loads((folder / "results.json").read_text())
    assert [r["task_id"] for r in rows] == ["w"] and rows[0]["success"] is True


def test_missing_hub_dataset_is_a_clean_error(hub: FakeHub, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(hub, tmp_path, "--dataset-name", "testuser/nope", "--output-dir", str(out))
    assert result.returncode == 2
    assert (
        "cannot load task dataset 'testuser/nope'" in result.stderr
        and "Traceback" not in result.stderr
    )
    assert not out.exists()
    assert hub.unhandled == []


def test_private_hub_task_dataset_is_read_with_the_token_file(hub: FakeHub, tmp_path: Path) -> None:
    task = {"id": "w", "prompt": "Weather in Paris, France?", "expected_tool": "get_weather"}
    sha = push_tasks(hub, "testuser/private-tasks", [task], private=True)
    token_file = tmp_path / "hf-token"
    token_file.write_text(TOKEN)
    common = ("--dataset-name", "testuser/private-tasks", "--dataset-revision", sha)

    denied = run(hub, tmp_path, *common, "--output-dir", str(tmp_path / "denied"))
    assert denied.returncode == 2
    lines = denied.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot load task dataset 'testuser/private-tasks'" in lines[0]
    assert "HF_TOKEN or --hf-token-file" in lines[0]

    out = tmp_path / "out"
    result = run(
        hub, tmp_path, *common, "--hf-token-file", str(token_file), "--output-dir", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "1/1 passed" in result.stdout
    assert TOKEN not in result.stdout + result.stderr
