"""The real commands against the local Hub: `smoltrace-eval --output-format hub` (scripted LLM
server through litellm), a failed upload retried with `--push-only`, a rejected token, and the
cleanup and copy entry points. Every dataset is loaded back and compared with the run folder."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, cli_env
from fakes.hub_server import FakeHub, hub_env
from fakes.llm_server import by_task, code, sequence, tool_call
from hubtest import READ_TOKEN, TOKEN, hub_server, load, load_hub

from smoltrace.telemetry import flatten_metrics_for_hf

TASKS = [
    {"id": "w1", "prompt": "Weather in Paris, France?", "expected_tool": "get_weather",
     "expected_keywords": ["22"], "difficulty": "easy", "agent_type": "tool"},
    {"id": "w2", "prompt": "Compare Paris, France and London, UK.", "expected_tool": "get_weather",
     "expected_tool_calls": 2, "difficulty": "medium", "agent_type": "tool"},
    {"id": "c1", "prompt": "What is 234 multiplied by 67?", "expected_tool": "calculator",
     "expected_keywords": ["15678"], "difficulty": "easy", "agent_type": "code"},
]  # fmt: skip


@pytest.fixture()
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    yield from hub_server(tmp_path, monkeypatch)


def run(command: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / command), *args], capture_output=True, text=True, env=env, timeout=300
    )


def env_for(hub: FakeHub, tmp_path: Path, **extra: str) -> dict[str, str]:
    return cli_env(**hub_env(hub, tmp_path), **extra)


def only_folder(output_dir: Path) -> Path:
    (folder,) = [p for p in output_dir.iterdir() if p.is_dir()]
    return folder


@pytest.mark.slow
def test_litellm_run_published_to_the_hub_round_trips(
    hub: FakeHub, tmp_path: Path, llm_server: Any
) -> None:
    llm_server.set_responder(
        by_task(
            {
                "Weather in Paris": [
                    tool_call("get_weather", location="Paris, France"),
                    tool_call("final_answer", answer="22°C in Paris"),
                ],
                "Compare Paris": sequence(
                    tool_call("get_weather", location="Paris, France"),
                    tool_call("get_weather", location="London, UK"),
                    tool_call("final_answer", answer="Paris is warmer"),
                ),
                "234 multiplied": [code('r = calculator(expression="234 * 67")\nfinal_answer(r)')],
            }
        )
    )
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    out = tmp_path / "out"
    result = run(
        "smoltrace-eval",
        *("--provider", "litellm", "--model", "openai/gpt-4o-mini"),
        *("--api-base", llm_server.openai_base, "--dataset-name", str(tasks)),
        *("--output-format", "hub", "--output-dir", str(out), "--enable-otel"),
        env=env_for(hub, tmp_path, HF_TOKEN=TOKEN),
    )
    assert result.returncode == 0, result.stderr
    folder = only_folder(out)
    metadata = load(folder, "metadata.json")
    names = metadata["hub"]
    ts = metadata["timestamp"]
    assert names == {
        "results": f"testuser/smoltrace-results-{ts}",
        "traces": f"testuser/smoltrace-traces-{ts}",
        "metrics": f"testuser/smoltrace-metrics-{ts}",
        "leaderboard": "testuser/smoltrace-leaderboard",
    }
    announced = result.stdout.index(f"[RESULTS] Will be saved to: {names['results']}")
    assert announced < result.stdout.index("[RUN ID]")  # names are printed before the run
    assert hub.repo_ids() == sorted(names.values())
    assert all(hub.repo_private(repo) for repo in names.values())
    rows = load(folder, "results.json")
    assert [(r["task_id"], r["success"]) for r in rows] == [
        ("w1", True),
        ("w2", True),
        ("c1", True),
    ]
    assert all(r["trace_id"] and r["cost_usd"] > 0 for r in rows)

    assert load_hub(names["results"], tmp_path).to_list() == rows
    metrics = load_hub(names["metrics"], tmp_path).to_list()
    assert flatten_metrics_for_hf(load(folder, "metrics.json")) == []  # an API model: no GPU
    assert len(metrics) == 1 and metrics[0]["gpu_utilization_percent"] is None
    assert metrics[0]["run_id"] == metadata["run_id"]
    assert load_hub(names["leaderboard"], tmp_path).to_list() == [
        load(folder, "leaderboard_row.json")
    ]
    traces = load_hub(names["traces"], tmp_path).to_list()
    local_traces = load(folder, "traces.json")
    assert len(traces) == len(local_traces) == 3
    for got, want in zip(traces, local_traces, strict=True):
        spans = [
            {**s, **{k: json.loads(s[k]) for k in ("attributes", "events", "resource")}}
            for s in got["spans"]
        ]
        assert {**got, "spans": spans} == want

    written = b"".join(p.read_bytes() for p in folder.iterdir())
    cards = b"".join(hub.files(repo)["README.md"] for repo in names.values())
    for haystack in (
        written,
        cards,
        hub.all_bytes_received(),
        (result.stdout + result.stderr).encode(),
    ):
        assert TOKEN.encode() not in haystack


@pytest.mark.slow
def test_failed_push_exits_1_and_push_only_completes_it(hub: FakeHub, tmp_path: Path) -> None:
    out = tmp_path / "out"
    token_file = tmp_path / "hf-token"
    token_file.write_text(TOKEN)
    env = env_for(hub, tmp_path)  # the token comes from the file only
    hub.fail("POST", r"smoltrace-metrics-.*/commit/", 401)
    result = run(
        "smoltrace-eval",
        *("--provider", "mock", "--model", "oracle", "--output-format", "hub"),
        *("--hf-token-file", str(token_file), "--output-dir", str(out)),
        env=env,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    folder = only_folder(out)
    error = " ".join(result.stderr.split())
    assert "metrics dataset testuser/smoltrace-metrics-" in error and "HTTP 401" in error
    retry_command = f"smoltrace-eval --push-only {folder} --hf-token-file {token_file}"
    assert retry_command in error  # names where the token is, so it works as printed
    assert (folder / "metadata.json").is_file()

    retry = run(*retry_command.split(), env=env)
    assert retry.returncode == 0, retry.stderr
    assert "[SUCCESS] Uploaded" in retry.stdout
    names = load(folder, "metadata.json")["hub"]
    assert load_hub(names["results"], tmp_path).to_list() == load(folder, "results.json")
    assert (
        load_hub(names["metrics"], tmp_path)[0]["run_id"] == load(folder, "metadata.json")["run_id"]
    )
    assert load_hub(names["leaderboard"], tmp_path).to_list() == [
        load(folder, "leaderboard_row.json")
    ]
    assert TOKEN not in result.stdout + result.stderr + retry.stdout + retry.stderr


@pytest.mark.parametrize(
    ("token", "message"),
    [("hf_not_a_valid_token_42", "token was rejected"), (READ_TOKEN, "is read-only")],
    ids=["invalid", "read-only"],
)
def test_unusable_token_stops_before_any_model_call(
    hub: FakeHub, tmp_path: Path, llm_server: Any, token: str, message: str
) -> None:
    out = tmp_path / "out"
    result = run(
        "smoltrace-eval",
        *("--provider", "litellm", "--model", "openai/gpt-4o-mini"),
        *("--api-base", llm_server.openai_base, "--output-dir", str(out)),
        env=env_for(hub, tmp_path, HF_TOKEN=token),
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert token not in result.stdout + result.stderr
    assert llm_server.requests == [] and not out.exists()


def test_cleanup_and_copy_entry_points(hub: FakeHub, tmp_path: Path) -> None:
    env = env_for(hub, tmp_path, HF_TOKEN=TOKEN)
    copied = run("smoltrace-copy-datasets", "--only", "tasks", "--yes", env=env)
    assert copied.returncode == 0, copied.stderr
    assert hub.repo_ids() == ["testuser/smoltrace-tasks"]
    cleanup = run("smoltrace-cleanup", "--all", "--no-dry-run", "--yes", "--token", TOKEN, env=env)
    assert cleanup.returncode == 0, cleanup.stderr
    assert "--token is deprecated" in cleanup.stderr and TOKEN not in cleanup.stderr
    assert "Nothing to delete." in cleanup.stdout
    assert hub.repo_ids() == ["testuser/smoltrace-tasks"]
    assert run("smoltrace-cleanup", env=env).returncode == 2  # one criterion is required
