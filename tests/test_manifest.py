"""The run manifest: a run folder records how the run was made, with no secret, the leaderboard row
carries its key fields, the Hub gets it (also with --push-only), and its command runs the same
evaluation again. Expected values are computed here from the inputs, not read from smoltrace.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import re
import shlex
import subprocess
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, cli_env
from fakes.llm_server import Reply, message_text, tool_call
from hubtest import TOKEN, hub_server, load_hub

from smoltrace.manifest import RunManifest
from smoltrace.outputs.hub import publish_run_folder

SECRET = "manifest-secret-0123456789"
TASKS = [
    {"id": f"weather_{i}", "prompt": f"Weather in Paris, France? (#{i})", "agent_type": "tool"}
    for i in range(3)
]
TIMING = ("evaluation_date", "start_time_unix_nano", "end_time_unix_nano", "execution_time_ms")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "smoltrace-eval"), *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=240,
    )


def only_folder(output_dir: Path) -> Path:
    [folder] = [p for p in output_dir.iterdir() if p.is_dir()]
    return folder


def load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text(encoding="utf-8"))


@pytest.fixture()
def recorded_run(tmp_path: Path, llm_server) -> dict[str, Any]:
    def respond(body: dict) -> Reply:
        # stateless, so that a rerun gets the same answers: weather first, then the answer
        if "Observation:" in message_text(body["messages"][-1]):
            return tool_call("final_answer", answer="22°C in Paris")
        return tool_call("get_weather", location="Paris, France")

    llm_server.set_responder(respond)
    dataset = tmp_path / "tasks.jsonl"
    dataset.write_text("".join(json.dumps(t) + "\n" for t in TASKS), encoding="utf-8")
    prompt = tmp_path / "prompt.yml"
    prompt.write_text("max_steps: 4\n", encoding="utf-8")
    port = llm_server.openai_base.split(":")[-1].split("/")[0]
    api_base = f"http://someone:{SECRET}@127.0.0.1:{port}/v1"
    started = time.perf_counter()
    result = run_cli(
        "--provider", "litellm", "--model", "openai/gpt-4o-mini", "--api-base", api_base,
        "--model-args", "temperature=0.2", f"api_key={SECRET}",
        "--agent-type", "tool", "--dataset-name", str(dataset), "--prompt-yml", str(prompt),
        "--parallel-workers", "2", "--keyword-match", "substring",
        "--output-format", "json", "--output-dir", str(tmp_path / "out"),
    )  # fmt: skip
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert result.returncode == 0, result.stdout + result.stderr
    folder = only_folder(tmp_path / "out")
    return {
        "folder": folder,
        "dataset": dataset,
        "prompt": prompt,
        "port": port,
        "elapsed_ms": elapsed_ms,
        "output": result.stdout + result.stderr,
    }


def test_the_manifest_records_every_effective_setting_and_no_secret(recorded_run) -> None:
    folder = recorded_run["folder"]
    manifest = load(folder, "metadata.json")["manifest"]
    assert set(manifest) == {f.name for f in fields(RunManifest)}
    expected_settings = {
        "model": "openai/gpt-4o-mini",
        "provider": "litellm",
        "api_base": f"http://127.0.0.1:{recorded_run['port']}/v1",  # no user, password, query
        "model_args": {"temperature": 0.2, "api_key": "[REDACTED]"},
        "max_steps": 4,  # the prompt file's, which wins over --max-steps
        "agent_types": ["tool"],
        "keyword_match": "substring",
        "parallel_workers": 2,
        "dataset_name": str(recorded_run["dataset"]),
        "split": "train",
        "dataset_revision": None,
        "difficulty": None,
        "task_count": 3,
        "tasks_run": {"tool": 3},
        "enabled_tools": [],
        "additional_imports": [],
        "prompt_file": str(recorded_run["prompt"].resolve()),
        "prompt_sha256": hashlib.sha256(recorded_run["prompt"].read_bytes()).hexdigest(),
        "enable_otel": False,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "manifest_version": 1,
    }
    assert {k: manifest[k] for k in expected_settings} == expected_settings
    assert {"get_weather", "calculator", "web_search"} <= set(manifest["tools"])
    for name in ("smolagents", "litellm", "genai-otel-instrument", "opentelemetry-sdk"):
        assert manifest["packages"][name] == importlib.metadata.version(name)
    assert "torch" not in manifest["packages"]  # only recorded when the run used it
    import genai_otel

    table = Path(genai_otel.__file__).parent / "llm_pricing.json"
    assert manifest["pricing_table"]["sha256"] == hashlib.sha256(table.read_bytes()).hexdigest()
    # the tasks' hash: canonical JSON of the validated tasks (defaults filled in)
    validated = [{**t, "difficulty": "easy"} for t in TASKS]
    canonical = json.dumps(validated, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert manifest["tasks_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert 0 < manifest["wall_time_ms"] < recorded_run["elapsed_ms"]
    # no secret anywhere in the folder or on the console
    for path in folder.iterdir():
        assert SECRET not in path.read_text(encoding="utf-8"), path.name
    assert SECRET not in recorded_run["output"]


def test_leaderboard_row_carries_the_manifests_key_fields(recorded_run) -> None:
    folder = recorded_run["folder"]
    manifest = load(folder, "metadata.json")["manifest"]
    row = load(folder, "leaderboard_row.json")
    rows = load(folder, "results.json")
    assert row["wall_time_ms"] == manifest["wall_time_ms"]
    assert row["keyword_match"] == "substring" and row["max_steps"] == 4
    assert row["tasks_sha256"] == manifest["tasks_sha256"]
    assert row["smoltrace_version"] == manifest["packages"]["smoltrace"]
    # the summed task durations stay beside the run's wall time
    assert row["total_duration_ms"] == round(sum(r["execution_time_ms"] for r in rows), 2)


def test_the_reproduce_command_runs_the_same_evaluation(recorded_run, tmp_path: Path) -> None:
    folder = recorded_run["folder"]
    command = shlex.split(load(folder, "metadata.json")["manifest"]["reproduce_command"])
    assert command[0] == "smoltrace-eval" and SECRET not in " ".join(command)
    result = run_cli(*command[1:], "--output-dir", str(tmp_path / "rerun"))
    assert result.returncode == 0, result.stdout + result.stderr
    rerun = only_folder(tmp_path / "rerun")

    def comparable(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in (*TIMING, "run_id")} for r in rows]

    first_rows = load(folder, "results.json")
    assert [r["tools_used"] for r in first_rows] == [["get_weather"]] * 3
    assert all(r["success"] for r in first_rows)
    assert comparable(load(rerun, "results.json")) == comparable(first_rows)
    first, again = (
        load(folder, "metadata.json")["manifest"],
        load(rerun, "metadata.json")["manifest"],
    )
    same = ("model_args", "max_steps", "keyword_match", "tasks_sha256", "prompt_sha256", "tools")
    assert {k: again[k] for k in same} == {
        **{k: first[k] for k in same},
        "model_args": {"temperature": 0.2},  # the key comes from the environment on a rerun
    }


def test_push_only_publishes_the_manifest(
    recorded_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import DatasetCard

    for hub in hub_server(tmp_path, monkeypatch):
        folder = recorded_run["folder"]
        metadata = load(folder, "metadata.json")
        pushed = publish_run_folder(folder, TOKEN)  # what --push-only runs
        card = DatasetCard(hub.files(pushed["results"])["README.md"].decode("utf-8"))
        assert card.data.to_dict()["smoltrace"]["manifest"] == metadata["manifest"]
        assert metadata["manifest"]["reproduce_command"] in card.text
        board = load_hub(pushed["leaderboard"], tmp_path).to_list()[0]
        assert board["keyword_match"] == "substring"
        assert board["wall_time_ms"] == metadata["manifest"]["wall_time_ms"]
        assert SECRET.encode() not in hub.all_bytes_received()


def test_manifest_fields_match_the_doc() -> None:
    doc = (Path(__file__).resolve().parent.parent / "smoltrace_dataset_structure.md").read_text()
    section = doc[doc.index("#### Run manifest") :]
    table = section[section.index("| field |") :].split("\n\n", 1)[0]
    documented = [
        name
        for line in table.splitlines()[2:]
        for name in re.findall(r"`([^`]+)`", line.split("|")[1])
    ]
    assert sorted(documented) == sorted(f.name for f in fields(RunManifest))
