"""Secrets never reach an output: rows (prompt, response, error), the journal, the console with
--debug, log records with tracebacks, and the Hub datasets. Each redaction path is observed in a
real output, so removing it fails a test.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, cli_env
from fakes.llm_server import Reply, task_text, tool_call
from hubtest import TOKEN, hub_server

from smoltrace.core import run_evaluation
from smoltrace.outputs.hub import publish_run_folder
from smoltrace.redaction import REDACTED, RedactingFilter, RedactingStream, register_secret
from smoltrace.tasks import TaskSet

ENV_KEY = "env-api-key-0123456789abcdef"  # the provider key, from the environment
FILE_TOKEN = "file-token-abcdef0123456789"  # read from --hf-token-file: registered, not in env


def echo_responder(secret: str):
    """An agent that echoes `secret` in its answer; the 'fail' task gets a 401 echoing it."""

    def respond(body: dict) -> Reply:
        if "fail" in task_text(body):
            raise LookupError(f"Incorrect API key provided: {secret}")  # the server's 400 body
        return tool_call("final_answer", answer=f"the key is {secret}")

    return respond


def test_registered_secret_is_redacted_in_prompt_response_and_error(llm_server) -> None:
    secret = "registered-secret-9876543210"
    register_secret(secret)
    llm_server.set_responder(echo_responder(secret))
    tasks = TaskSet(
        [
            {"id": "echo", "prompt": f"Repeat {secret} please", "agent_type": "tool"},
            {"id": "fail", "prompt": "This one will fail", "agent_type": "tool"},
        ],
        "inline",
    )
    results, *_ = run_evaluation(
        "openai/gpt-4o-mini",
        ["tool"],
        provider="litellm",
        api_base=llm_server.openai_base,
        task_set=tasks,
        verbose=False,
        model_args={"num_retries": 0},
    )
    echo, fail = results["tool"]
    assert echo["prompt"] == f"Repeat {REDACTED} please"
    assert echo["response"] == f"the key is {REDACTED}"
    assert fail["stop_reason"] == "error" and REDACTED in fail["error"]
    assert secret not in json.dumps(results)


def test_cli_outputs_console_and_hub_hold_no_echoed_secret(
    tmp_path: Path, llm_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_server.set_responder(echo_responder(ENV_KEY))
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        json.dumps({"id": "echo", "prompt": f"Echo {FILE_TOKEN}", "agent_type": "tool"})
        + "\n"
        + json.dumps({"id": "fail", "prompt": "Please fail", "agent_type": "tool"})
        + "\n"
    )
    token_file = tmp_path / "token.txt"
    token_file.write_text(FILE_TOKEN)
    result = subprocess.run(
        [
            str(BIN / "smoltrace-eval"),
            "--provider",
            "litellm",
            "--model",
            "openai/gpt-4o-mini",
            "--api-base",
            llm_server.openai_base,
            "--model-args",
            "num_retries=0",
            "--agent-type",
            "tool",
            "--dataset-name",
            str(tasks),
            "--hf-token-file",
            str(token_file),
            "--debug",
            "--max-error-rate",
            "0.5",  # one task fails on purpose
            "--output-format",
            "json",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=cli_env(OPENAI_API_KEY=ENV_KEY),
        timeout=240,
    )
    console = result.stdout + result.stderr
    assert result.returncode == 0, console
    assert "Traceback" in console or "task tool:fail failed" in console  # --debug did log it
    [folder] = [p for p in (tmp_path / "out").iterdir() if p.is_dir()]
    rows = json.loads((folder / "results.json").read_text())
    assert rows[0]["response"] == f"the key is {REDACTED}"
    assert rows[0]["prompt"] == f"Echo {REDACTED}"
    assert REDACTED in rows[1]["error"]
    for secret in (ENV_KEY, FILE_TOKEN):
        assert secret not in console
        for path in folder.iterdir():
            assert secret not in path.read_text(encoding="utf-8"), path.name

    for hub in hub_server(tmp_path, monkeypatch):
        publish_run_folder(folder, TOKEN)
        received = hub.all_bytes_received()
        assert ENV_KEY.encode() not in received and FILE_TOKEN.encode() not in received


def test_log_filter_redacts_message_arguments_and_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-value-0123456789")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("smoltrace.test_secrets")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise RuntimeError("server said: bad key tok-value-0123456789")
        except RuntimeError:
            log.error("call failed with %s", "tok-value-0123456789", exc_info=True)
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "tok-value-0123456789" not in text
    assert text.startswith(f"call failed with {REDACTED}\nTraceback")  # the traceback is kept
    assert f"RuntimeError: server said: bad key {REDACTED}" in text


def test_agent_console_stream_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_API_KEY", "agent-console-key-0123")
    sink: Any = io.StringIO()
    RedactingStream(sink).write("Error: key agent-console-key-0123 refused\n")
    assert sink.getvalue() == f"Error: key {REDACTED} refused\n"
