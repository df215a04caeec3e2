"""0.2.12's run fields: generation flags reach the model server (its request log) and are recorded
as applied or not; hardware fields are present and null where unknown; the pass rule is named."""

from __future__ import annotations

import json
import subprocess
import types
from pathlib import Path

import pytest
from conftest import BIN, cli_env

from smoltrace.errors import ConfigError
from smoltrace.generation import apply_generation_settings, requested_settings
from smoltrace.hardware import detect_hardware, hardware_fields

SMOLTRACE = str(BIN / "smoltrace-eval")
TASK = {
    "id": "w",
    "prompt": "What's the weather in Paris, France?",
    "expected_tool": "get_weather",
    "expected_keywords": ["22"],
    "difficulty": "easy",
    "agent_type": "tool",
}
ALL_FLAGS = {
    "temperature": 0.3,
    "top_p": 0.9,
    "top_k": 20,
    "max_new_tokens": 64,
    "reasoning_effort": "low",
    "enable_thinking": False,
}


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(json.dumps(TASK) + "\n", encoding="utf-8")
    return subprocess.run(
        [SMOLTRACE, "--dataset-name", str(tasks), "--agent-type", "tool", "--output-format",
         "json", "--output-dir", str(tmp_path / "out"), *args],
        capture_output=True, text=True, env=cli_env(), timeout=240,
    )  # fmt: skip


def board(tmp_path: Path) -> dict:
    [folder] = (tmp_path / "out").iterdir()
    return json.loads((folder / "leaderboard_row.json").read_text())


def test_generation_flags_reach_the_server_and_are_recorded(tmp_path: Path, llm_server) -> None:
    result = run_cli(
        tmp_path,
        "--model", "openai/gpt-4o-mini", "--api-base", llm_server.openai_base,
        "--temperature", "0.3", "--top-p", "0.9", "--top-k", "20", "--max-new-tokens", "64",
        "--reasoning-effort", "low", "--enable-thinking", "false",
        "--hardware-label", "2x L4 (test rig)",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert llm_server.requests
    for body in llm_server.requests:
        assert body["temperature"] == 0.3 and body["top_p"] == 0.9 and body["max_tokens"] == 64
        assert body["top_k"] == 20 and body["reasoning_effort"] == "low"
        assert body["chat_template_kwargs"] == {"enable_thinking": False}
    row = board(tmp_path)
    settings = json.loads(row["generation_settings"])
    assert settings == {"requested": ALL_FLAGS, "applied": ALL_FLAGS, "not_applied": {}}
    assert row["hardware"] == "2x L4 (test rig)" and row["hardware_scope"] == "hosted"
    assert set(json.loads(row["hardware_detail"])) == {"gpu_names", "gpu_count", "cpu_model"}
    assert row["pass_rule"] == "success_boolean_mean_over_attempts"
    assert row["pass_at_1"] == row["success_rate"] / 100 == 0.0  # the scripted model skips the tool
    [folder] = (tmp_path / "out").iterdir()
    manifest = json.loads((folder / "metadata.json").read_text())["manifest"]
    assert manifest["generation_settings"] == settings
    assert (
        manifest["hardware_label"] == "2x L4 (test rig)" and manifest["hardware_scope"] == "hosted"
    )
    assert set(manifest["hardware_detail"]) == {"gpu_names", "gpu_count", "cpu_model"}
    command = manifest["reproduce_command"]
    assert "--temperature 0.3" in command and "--enable-thinking false" in command
    assert "--hardware-label '2x L4 (test rig)'" in command


def test_without_flags_the_fields_are_null_and_nothing_extra_is_sent(
    tmp_path: Path, llm_server
) -> None:
    result = run_cli(
        tmp_path, "--model", "openai/gpt-4o-mini", "--api-base", llm_server.openai_base
    )
    assert result.returncode == 0, result.stderr
    for body in llm_server.requests:
        assert not {"temperature", "top_k", "reasoning_effort", "chat_template_kwargs"} & set(body)
    row = board(tmp_path)
    assert row["generation_settings"] is None and row["hardware"] is None  # hosted, no label
    assert row["hardware_scope"] == "hosted"


def test_a_bad_flag_value_is_one_line_and_no_call(tmp_path: Path, llm_server) -> None:
    result = run_cli(
        tmp_path, "--model", "openai/gpt-4o-mini", "--api-base", llm_server.openai_base,
        "--temperature", "7",
    )  # fmt: skip
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "--temperature must be between 0 and 2" in line
    assert llm_server.requests == []


def test_settings_a_provider_lacks_are_dropped_with_the_reason() -> None:
    args, record = apply_generation_settings(
        requested_settings(ALL_FLAGS), {"seed": 7}, provider="litellm",
        model_id="openai/gpt-4o-mini", api_base=None,
    )  # fmt: skip
    assert args == {"seed": 7, "temperature": 0.3, "top_p": 0.9, "max_tokens": 64}
    assert record["applied"] == {"temperature": 0.3, "top_p": 0.9, "max_new_tokens": 64}
    assert set(record["not_applied"]) == {"top_k", "reasoning_effort", "enable_thinking"}
    assert "does not accept top_k" in record["not_applied"]["top_k"]
    args, record = apply_generation_settings(
        {"temperature": 0.5, "max_new_tokens": 9, "reasoning_effort": "high"}, {},
        provider="transformers", model_id="x", api_base=None,
    )  # fmt: skip
    assert args == {"temperature": 0.5, "max_new_tokens": 9}
    assert list(record["not_applied"]) == ["reasoning_effort"]
    _, record = apply_generation_settings(
        {"temperature": 0.5}, {}, provider="mock", model_id="oracle", api_base=None
    )
    assert record["applied"] == {} and "mock" in record["not_applied"]["temperature"]


def test_a_setting_given_twice_is_an_error() -> None:
    with pytest.raises(ConfigError, match="--max-new-tokens and --model-args max_tokens"):
        apply_generation_settings(
            {"max_new_tokens": 5}, {"max_tokens": 9}, provider="litellm",
            model_id="openai/gpt-4o-mini", api_base="http://127.0.0.1:9/v1",
        )  # fmt: skip


def fake_nvml(names: list[str] | None) -> types.SimpleNamespace:
    def init() -> None:
        if names is None:
            raise OSError("NVML Shared Library Not Found")

    return types.SimpleNamespace(
        nvmlInit=init,
        nvmlShutdown=lambda: None,
        nvmlDeviceGetCount=lambda: len(names or []),
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: (names or [])[h].encode(),
    )


def test_hardware_from_nvml_and_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\n", encoding="utf-8")
    detail = detect_hardware(fake_nvml(["NVIDIA H200", "NVIDIA H200"]), cpuinfo)
    assert detail == {
        "gpu_names": ["NVIDIA H200"] * 2,
        "gpu_count": 2,
        "cpu_model": "Test CPU 9000",
    }
    fields = hardware_fields("transformers", None, detail)
    assert fields["hardware"] == "2x NVIDIA H200" and fields["hardware_scope"] == "local"
    assert json.loads(fields["hardware_detail"]) == detail
    assert hardware_fields("litellm", None, detail)["hardware"] is None
    assert hardware_fields("ollama", " my box ", detail)["hardware"] == "my box"


def test_unknown_hardware_is_null_not_zero(tmp_path: Path) -> None:
    detail = detect_hardware(fake_nvml(None), tmp_path / "missing")
    assert detail["gpu_names"] is None and detail["gpu_count"] is None
    no_gpu = detect_hardware(fake_nvml([]), tmp_path / "missing")
    assert no_gpu["gpu_names"] == [] and no_gpu["gpu_count"] == 0
    unknown = {"gpu_names": None, "gpu_count": None, "cpu_model": None}
    assert hardware_fields("transformers", None, unknown)["hardware"] is None
