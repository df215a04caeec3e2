"""A real collector: `smoltrace-eval --otlp-endpoint` into Arize Phoenix started on 127.0.0.1.

Phoenix (`pip install -e '.[otlp-test]'`, which .ci/run does) takes about a minute to start here and
stores spans asynchronously, so the test waits for its "Uvicorn running" line, then polls its spans
REST API until the run's spans are all there. Phoenix shows no resource attributes; it files spans
under the project named by the `openinference.project.name` resource attribute, which smoltrace sets
to the run id, so finding the spans in the project named `run_id` shows the run's resource arrived.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, cli_env

from smoltrace.tasks import load_tasks

pytestmark = [pytest.mark.real_collector, pytest.mark.timeout(900)]

PHOENIX = BIN / "phoenix"
SECRET = "tok-phoenix-0123456789abcdef"
START_LIMIT_S = 300
INGEST_LIMIT_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Any:
    assert PHOENIX.exists(), "Arize Phoenix is not installed: pip install -e '.[otlp-test]'"
    port = free_port()
    env = cli_env(
        PHOENIX_HOST="127.0.0.1",
        PHOENIX_PORT=str(port),
        PHOENIX_GRPC_PORT=str(free_port()),
        PHOENIX_WORKING_DIR=str(tmp_path_factory.mktemp("phoenix")),
        PHOENIX_TELEMETRY_ENABLED="false",
    )
    process = subprocess.Popen(
        [str(PHOENIX), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, text=True, errors="replace",
    )  # fmt: skip
    ready = threading.Event()
    tail: deque[str] = deque(maxlen=40)

    def drain() -> None:  # read its log to the end, so its pipe never fills
        assert process.stdout is not None
        for line in process.stdout:
            tail.append(line)
            if "Uvicorn running on" in line:
                ready.set()
        ready.set()  # it exited

    threading.Thread(target=drain, daemon=True).start()
    try:
        assert ready.wait(START_LIMIT_S) and process.poll() is None, "".join(tail)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def phoenix_spans(base: str, project: str) -> list[dict[str, Any]]:
    """Every span Phoenix has stored in `project` ([] while the project does not exist yet)."""
    spans: list[dict[str, Any]] = []
    cursor = None
    while True:
        url = f"{base}/v1/projects/{project}/spans?limit=1000" + (
            f"&cursor={cursor}" if cursor else ""
        )
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                page = json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return []
            raise
        spans += page["data"]
        cursor = page.get("next_cursor")
        if not cursor:
            return spans


def test_every_span_of_the_run_reaches_phoenix_under_its_run_id(
    phoenix: str, tmp_path: Path
) -> None:
    tasks = [
        *load_tasks().tasks[:3],
        {"id": "leaky", "prompt": f"What's the weather in Paris, France? ({SECRET})",
         "expected_tool": "get_weather", "agent_type": "tool"},
    ]  # fmt: skip
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    result = subprocess.run(
        [str(BIN / "smoltrace-eval"), "--provider", "mock", "--model", "oracle",
         "--agent-type", "tool", "--output-format", "json", "--output-dir", str(tmp_path / "runs"),
         "--dataset-name", str(tmp_path / "tasks.jsonl"), "--otlp-endpoint", phoenix],
        capture_output=True, text=True, timeout=300, env=cli_env(EXAMPLE_SERVICE_TOKEN=SECRET),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    traces = json.loads((folder / "traces.json").read_text())
    metadata = json.loads((folder / "metadata.json").read_text())
    expected = {(s["trace_id"], s["span_id"]) for d in traces for s in d["spans"]}
    assert len(traces) == len(tasks) and len(expected) > 5 * len(tasks)
    assert metadata["otlp"]["spans_exported"] == len(expected)

    deadline = time.monotonic() + INGEST_LIMIT_S
    stored = phoenix_spans(phoenix, metadata["run_id"])
    while len(stored) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.5)  # Phoenix ingests in the background: poll until every span is stored
        stored = phoenix_spans(phoenix, metadata["run_id"])
    assert {(s["context"]["trace_id"], s["context"]["span_id"]) for s in stored} == expected
    assert len(stored) == len(expected)
    by_id = {s["span_id"]: s for d in traces for s in d["spans"]}
    for span in stored:
        mine = by_id[span["context"]["span_id"]]
        assert span["name"] == mine["name"] and span["parent_id"] == mine["parent_span_id"]
    assert {s["span_kind"] for s in stored} >= {"AGENT", "LLM", "TOOL", "CHAIN"}
    text = json.dumps(stored)
    assert "Paris, France" in text and SECRET not in text
