"""The run folder as a user finds it: readable by others as the umask allows, a visible name for a
local model path, and a console that prints task ids and errors as text (`[/x]` is not markup).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, cli_env

from smoltrace.core import run_evaluation
from smoltrace.outputs.local import save_results_locally
from smoltrace.outputs.naming import make_run_folder


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_run_folder_files_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    results, traces, metrics, dataset, run_id = run_evaluation(
        "oracle", ["tool"], provider="mock", verbose=False
    )
    old = os.umask(umask)
    try:
        folder = Path(
            save_results_locally(
                results, traces, metrics, "oracle", "tool", dataset, str(tmp_path), run_id=run_id
            )
        )
    finally:
        os.umask(old)
    files = sorted(folder.iterdir())
    assert [p.name for p in files if p.name.endswith(".json")] == [
        "leaderboard_row.json",
        "metadata.json",
        "metrics.json",
        "results.json",
        "traces.json",
    ]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: mode for p in files}


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("./my-model", "my-model_tool_20250101_120000"),
        ("../models/llama", "models_llama_tool_20250101_120000"),
        ("/srv/models/qwen", "srv_models_qwen_tool_20250101_120000"),
        ("openai/gpt-4o-mini", "openai_gpt-4o-mini_tool_20250101_120000"),
        (".hidden", "hidden_tool_20250101_120000"),
    ],
)
def test_run_folder_name_is_never_hidden(tmp_path: Path, model: str, name: str) -> None:
    folder = make_run_folder(tmp_path, model, "tool", "20250101_120000")
    assert folder.name == name and folder.parent == tmp_path


def test_markup_characters_in_task_ids_are_printed_as_text(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        json.dumps({"id": "odd[/x]id[bold]", "prompt": "What's the weather in Paris, France?"})
        + "\n"
    )
    result = subprocess.run(
        [
            str(BIN / "smoltrace-eval"),
            "--provider",
            "mock",
            "--model",
            "oracle",
            "--agent-type",
            "tool",
            "--dataset-name",
            str(tasks),
            "--output-format",
            "json",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "odd[/x]id[bold]" in result.stdout
    assert "[SUCCESS]" in result.stdout
