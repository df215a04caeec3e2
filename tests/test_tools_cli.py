"""The optional tools through `smoltrace-eval`: flags reach the tools, refusals reach the agent.

A real ToolCallingAgent with litellm is driven by the scripted LLM server; it calls `curl` on a local
HTTP server and answers with what the tool returned, so the run's response shows what the agent saw.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, cli_env
from fakes.llm_server import Reply, message_text, tool_call
from test_system_tools import LocalServer

SMOLTRACE = str(BIN / "smoltrace-eval")


@pytest.fixture()
def web() -> Iterator[LocalServer]:
    local = LocalServer()
    local.thread.start()
    try:
        yield local
    finally:
        local.server.shutdown()
        local.server.server_close()
        local.thread.join()


def _echo_tool_result(url: str):
    """Call curl once, then answer with the tool's observation."""

    def respond(body: dict[str, Any]) -> Reply:
        last = message_text(body["messages"][-1])
        if "Observation" in last or body["messages"][-1]["role"] == "tool":
            return tool_call("final_answer", answer=last)
        return tool_call("curl", url=url)

    return respond


def _run(llm_server: Any, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        json.dumps(
            {
                "id": "status",
                "prompt": "Fetch the status page",
                "expected_tool": "curl",
                "agent_type": "tool",
            }
        )
        + "\n"
    )
    return subprocess.run(
        [
            SMOLTRACE,
            "--provider",
            "litellm",
            "--model",
            "openai/gpt-4o-mini",
            "--api-base",
            llm_server.openai_base,
            "--dataset-name",
            str(tasks),
            "--agent-type",
            "tool",
            "--output-format",
            "json",
            "--output-dir",
            str(tmp_path / "out"),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=cli_env(OPENAI_API_KEY="sk-test-not-a-real-key-000"),
        timeout=240,
        check=False,
    )


def _response(tmp_path: Path) -> str:
    (folder,) = (tmp_path / "out").iterdir()
    (row,) = json.loads((folder / "results.json").read_text())
    return row["response"]


def test_curl_to_loopback_is_refused_without_the_flag(
    llm_server: Any, web: LocalServer, tmp_path: Path
) -> None:
    llm_server.set_responder(_echo_tool_result(web.url("/status")))
    result = _run(llm_server, tmp_path, "--enable-tools", "curl")
    assert result.returncode == 0, result.stderr
    response = _response(tmp_path)
    assert "Error: '127.0.0.1' resolves to 127.0.0.1, a local or private address" in response
    assert "--allow-local-network" in response
    assert web.requests == []


def test_curl_reaches_loopback_with_the_flag(
    llm_server: Any, web: LocalServer, tmp_path: Path
) -> None:
    llm_server.set_responder(_echo_tool_result(web.url("/status")))
    result = _run(llm_server, tmp_path, "--enable-tools", "curl", "env", "--allow-local-network")
    assert result.returncode == 0, result.stderr
    assert "HTTP 200 OK" in _response(tmp_path) and '{"ok": true}' in _response(tmp_path)
    assert [r["path"] for r in web.requests] == ["/status"]
    (folder,) = (tmp_path / "out").iterdir()
    tools = json.loads((folder / "metadata.json").read_text())["tools"]
    assert tools == {
        "enabled": ["curl", "env"],
        "working_directory": None,
        "allow_local_network": True,
    }


def test_file_tools_without_a_working_directory_stop_before_any_model_call(
    llm_server: Any, tmp_path: Path
) -> None:
    result = _run(llm_server, tmp_path, "--enable-tools", "file_tools")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "--working-directory DIR" in result.stderr and "read_file" in result.stderr
    assert llm_server.requests == [] and not (tmp_path / "out").exists()


def test_a_working_directory_with_a_dot_env_is_pointed_out(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / ".env").write_text("NOTHING=here\n")

    def run(*tools: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                SMOLTRACE,
                "--provider",
                "mock",
                "--model",
                "oracle",
                "--dataset-name",
                "smoltrace-fallback",
                "--working-directory",
                str(folder),
                "--output-format",
                "json",
                "--output-dir",
                str(tmp_path / "out"),
                *tools,
            ],
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=240,
            check=False,
        )

    with_files = run("--enable-tools", "read_file")
    assert with_files.returncode == 0, with_files.stderr
    notice = " ".join(with_files.stderr.split())  # the console may wrap long lines
    assert "holds a .env file: the agent's file tools can read it" in notice
    without_files = run("--enable-tools", "curl")
    assert without_files.returncode == 0 and ".env" not in without_files.stderr
