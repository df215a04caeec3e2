"""A failed row says why: the root cause chain with types and messages and the server's error body,
bounded; the console's per-task lines and the final line show the cause whole.

Real litellm calls fail against a closed port and against the scripted server answering 400.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from conftest import BIN, cli_env

from smoltrace.causes import (
    CAUSE_SEPARATOR,
    MAX_LINK_CHARS,
    MAX_LINKS,
    describe_error,
    root_cause,
    short_error,
)
from smoltrace.core import run_evaluation
from smoltrace.tasks import TaskSet

MODEL = "openai/gpt-4o-mini"
TASKS = TaskSet(
    [{"id": f"t{i}", "prompt": f"Task {i}", "agent_type": "tool"} for i in range(2)], "inline"
)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rows(api_base: str) -> list[dict]:
    results, *_ = run_evaluation(
        MODEL,
        ["tool"],
        provider="litellm",
        api_base=api_base,
        task_set=TASKS,
        verbose=False,
        model_args={"num_retries": 0},
    )
    return results["tool"]


def test_connection_refused_is_kept_below_the_wrapper() -> None:
    row = rows(f"http://127.0.0.1:{closed_port()}/v1")[0]
    assert row["stop_reason"] == "error" and row["success"] is False
    assert row["error"].startswith("AgentGenerationError: Error while generating output")
    assert root_cause(row["error"]).endswith("Connection refused")
    assert "ConnectError" in root_cause(row["error"])


def test_the_servers_error_body_is_kept(llm_server) -> None:
    llm_server.fail_next(400, body='{"detail": "model does not support tools"}')
    first, second = rows(llm_server.openai_base)
    assert root_cause(first["error"]) == (
        'server response (HTTP 400): {"detail": "model does not support tools"}'
    )
    assert "BadRequestError" in first["error"]
    assert second["error"] is None and second["stop_reason"] == "final_answer"


def _chain(depth: int, message: str) -> BaseException:
    """RuntimeError("wrapper {depth-1}") <- ... <- RuntimeError("wrapper 0") <- ConnectionError."""
    error: BaseException = ConnectionError(message)
    for level in range(depth):
        outer = RuntimeError(f"wrapper {level}")
        outer.__cause__ = error
        error = outer
    return error


def test_chain_text_is_bounded_and_keeps_both_ends() -> None:
    text = describe_error(_chain(10, "x" * 5000))
    parts = text.split(CAUSE_SEPARATOR)
    assert len(parts) == MAX_LINKS + 1  # the outermost two, "...", the innermost four
    assert parts[0] == "RuntimeError: wrapper 9" and parts[2] == "..."
    assert parts[-1].startswith("ConnectionError: xxx") and len(parts[-1]) == MAX_LINK_CHARS
    assert len(text) < MAX_LINKS * MAX_LINK_CHARS + 100


def test_repeated_messages_are_shown_once() -> None:
    try:
        try:
            raise OSError("[Errno 111] Connection refused")
        except OSError as exc:
            raise RuntimeError(f"Error while generating output:\n{exc}") from exc
    except RuntimeError as exc:
        assert describe_error(exc) == (
            "RuntimeError: Error while generating output: [Errno 111] Connection refused"
        )


def test_short_error_never_cuts_a_cause() -> None:
    long = describe_error(_chain(3, "the real reason " * 8))
    shown = short_error(long, limit=80)
    assert shown.startswith("RuntimeError")
    assert shown.endswith(root_cause(long)) and len(root_cause(long)) > 80
    assert short_error("ValueError: short", limit=80) == "ValueError: short"


def test_console_lines_show_the_cause(tmp_path: Path) -> None:
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(
        "".join(json.dumps({"id": f"t{i}", "prompt": f"Task {i}"}) + "\n" for i in range(2))
    )
    result = subprocess.run(
        [
            str(BIN / "smoltrace-eval"),
            "--provider",
            "litellm",
            "--model",
            MODEL,
            "--api-base",
            f"http://127.0.0.1:{closed_port()}/v1",
            "--model-args",
            "num_retries=0",
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
    assert result.returncode == 1, result.stdout + result.stderr
    final = [line for line in result.stderr.splitlines() if "every task failed" in line]
    assert len(final) == 1 and "Connection refused" in final[0], result.stderr
    failed = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert len(failed) == 2 and all("Connection refused" in line for line in failed), result.stdout
    assert all("stop=error" in line for line in failed)
