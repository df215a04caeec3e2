"""Runs that survive the real world, through the real CLI against the scripted server with
injected faults: retries, Retry-After, throttling, timeouts that hold while a call hangs,
interrupts that keep everything, and resume without paying twice. Expected figures come from the
server's own request log and usage blocks, never from smoltrace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest
from conftest import BIN, cli_env
from fakes.llm_server import (
    Fault,
    ScriptedLLMServer,
    connection_reset,
    fault_rate,
    first_requests,
    hang,
    malformed,
    rate_limited,
    sequence,
    server_error,
    task_text,
    tool_call,
)

SMOLTRACE = str(BIN / "smoltrace-eval")
TIMING_FIELDS = {
    "evaluation_date",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "execution_time_ms",
}


def weather_tasks(path: Path, count: int, prefix: str = "Weather task") -> Path:
    tasks = [
        {
            "id": f"w{i}",
            "prompt": f"{prefix} {i}: weather in Paris, France?",
            "expected_tool": "get_weather",
            "expected_keywords": ["22"],
            "difficulty": "easy",
            "agent_type": "tool",
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    return path


def weather_script() -> object:
    return sequence(
        tool_call("get_weather", location="Paris, France"),
        tool_call("final_answer", answer="22°C and clear"),
    )


def cli_args(server: ScriptedLLMServer, tasks: Path, out: Path, *extra: str) -> list[str]:
    return [
        SMOLTRACE,
        "--provider",
        "litellm",
        "--model",
        "openai/gpt-4o-mini",
        "--api-base",
        server.openai_base,
        "--dataset-name",
        str(tasks),
        "--agent-type",
        "tool",
        "--output-format",
        "json",
        "--output-dir",
        str(out),
        "--retry-backoff",
        "0.05",
        *extra,
    ]


def run(args: list[str], timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=cli_env(), timeout=timeout)


def run_folder(out: Path) -> Path:
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def load(folder: Path, name: str):
    return json.loads((folder / name).read_text())


def for_task(counts: Counter, prompt: str) -> int:
    """Count of the conversations (keyed by their first user message) that hold `prompt`."""
    return sum(n for conversation, n in counts.items() if prompt in conversation)


def comparable(rows: list[dict]) -> list[dict]:
    """Rows without what differs between two runs of the same tasks (times, ids of the run)."""
    return [
        {
            k: v
            for k, v in row.items()
            if k not in TIMING_FIELDS | {"run_id", "retries", "last_retry_error"}
        }
        for row in rows
    ]


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The reference: 12 weather tasks with no faults (tests with fewer compare a prefix)."""
    base = tmp_path_factory.mktemp("fault-free")
    with ScriptedLLMServer(weather_script()) as server:
        result = run(cli_args(server, weather_tasks(base / "t.jsonl", 12), base / "out"))
        assert result.returncode == 0, result.stderr
        requests = Counter(task_text(body) for body in server.requests)
        return {"rows": load(run_folder(base / "out"), "results.json"), "requests": requests}


FAULTS: dict[str, Fault] = {
    "500": server_error(500),
    "429": rate_limited(0.05),
    "malformed": malformed(),
    "reset": connection_reset(),
    "hang": hang(),
}


@pytest.mark.parametrize("kind", list(FAULTS))
def test_each_fault_kind_at_20_percent_is_retried_and_scores_like_a_fault_free_run(
    kind: str, tmp_path: Path, fault_free: dict
) -> None:
    with ScriptedLLMServer(weather_script()) as server:
        server.set_faults(fault_rate(FAULTS[kind], 0.2, seed=3))
        args = cli_args(server, weather_tasks(tmp_path / "t.jsonl", 8), tmp_path / "out")
        result = run([*args, "--parallel-workers", "2", "--request-timeout", "1"])
        faults, usages, requests = server.faults_sent, server.usages, server.requests
    assert result.returncode == 0, result.stdout + result.stderr
    assert faults, "the seed injected no fault"
    folder = run_folder(tmp_path / "out")
    rows = load(folder, "results.json")
    assert comparable(rows) == comparable(fault_free["rows"][:8])  # every row, same scores
    assert {r["stop_reason"] for r in rows} == {"final_answer"}
    # each fault was retried once and recovered; the rows say so
    assert sum(r["retries"] for r in rows) == len(faults)
    retried = Counter(c for c, _, _ in faults)
    for row in rows:
        assert row["retries"] == for_task(retried, row["prompt"])
        assert (row["last_retry_error"] is not None) == (row["retries"] > 0)
    answered = sum(for_task(fault_free["requests"], r["prompt"]) for r in rows)
    assert len(requests) == answered + len(faults)
    # tokens: every answered call once, failed attempts never
    assert sum(r["total_tokens"] for r in rows) == sum(u["total_tokens"] for u in usages)
    meta = load(folder, "metadata.json")
    assert meta["run_status"] == "completed" and meta["reliability"]["retries"] == len(faults)
    assert f"{len(faults)} model-call retries" in result.stdout


def test_429_burst_honours_retry_after_is_traced_and_throttles(tmp_path: Path) -> None:
    with ScriptedLLMServer(weather_script()) as server:
        # four 429s in a row: smolagents would sleep 60 s x 2^n here; our policy waits Retry-After
        server.set_faults(first_requests(rate_limited(0.3), 4, match="task 0"))
        args = cli_args(server, weather_tasks(tmp_path / "t.jsonl", 2), tmp_path / "out")
        result = run([*args, "--enable-otel", "--parallel-workers", "2"], timeout=120)
        per_task = Counter(task_text(body) for body in server.requests)
    assert result.returncode == 0, result.stderr
    folder = run_folder(tmp_path / "out")
    rows = {r["task_id"]: r for r in load(folder, "results.json")}
    assert rows["w0"]["retries"] == 4 and rows["w1"]["retries"] == 0
    assert "RateLimitError" in rows["w0"]["last_retry_error"]
    assert for_task(per_task, rows["w0"]["prompt"]) == 4 + 2
    assert for_task(per_task, rows["w1"]["prompt"]) == 2
    trace = next(t for t in load(folder, "traces.json") if "tool:w0" in t["test_case_uids"])
    events = [e for s in trace["spans"] for e in s["events"] if e["name"] == "smoltrace.retry"]
    assert [e["attributes"]["attempt"] for e in events] == [1, 2, 3, 4]
    assert {e["attributes"]["delay_s"] for e in events} == {0.3}  # the server's Retry-After
    assert {e["attributes"]["error.kind"] for e in events} == {"rate_limit"}
    throttling = load(folder, "metadata.json")["reliability"]
    assert throttling["throttle_events"] == 4 and throttling["lowest_connections"] == 1
    assert "[THROTTLED]" in result.stdout


def test_a_bad_request_is_not_retried_and_counts_as_errored(tmp_path: Path) -> None:
    with ScriptedLLMServer(weather_script()) as server:
        server.set_faults(first_requests(Fault("status", status=400), 99, match="task 1"))
        args = cli_args(server, weather_tasks(tmp_path / "t.jsonl", 3), tmp_path / "out")
        result = run(args)
        per_task = Counter(task_text(body) for body in server.requests)
        # a new run, allowed one error in two
        again = run([*args, "--max-error-rate", "0.5", "--output-dir", str(tmp_path / "again")])
    assert result.returncode == 3, result.stdout + result.stderr
    assert "--max-error-rate" in result.stderr and "--retry-errors" in result.stderr
    folder = run_folder(tmp_path / "out")
    rows = {r["task_id"]: r for r in load(folder, "results.json")}
    assert rows["w1"]["stop_reason"] == "error" and rows["w1"]["retries"] == 0
    assert for_task(per_task, rows["w1"]["prompt"]) == 1
    board = load(folder, "leaderboard_row.json")
    assert board["run_status"] == "completed" and board["errored_tests"] == 1
    assert board["completed_tests"] == 2 and board["planned_tests"] == 3
    assert board["success_rate"] == pytest.approx(100 * 2 / 3, abs=0.01)  # over planned
    assert board["scored_success_rate"] == 100.0  # over scored: the error is not a wrong answer
    assert again.returncode == 0, again.stderr


def test_a_hang_longer_than_the_task_timeout_ends_that_task_only(tmp_path: Path) -> None:
    with ScriptedLLMServer(weather_script()) as server:
        server.set_faults(first_requests(hang(), 1, match="task 1"))
        args = cli_args(server, weather_tasks(tmp_path / "t.jsonl", 3), tmp_path / "out")
        result = run(
            [*args, "--task-timeout", "2", "--request-timeout", "600", "--max-error-rate", "0.5"],
            timeout=120,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    folder = run_folder(tmp_path / "out")
    rows = {r["task_id"]: r for r in load(folder, "results.json")}
    assert rows["w1"]["stop_reason"] == "timeout" and rows["w1"]["success"] is False
    assert "--task-timeout 2 s" in rows["w1"]["error"]
    assert [rows[t]["stop_reason"] for t in ("w0", "w2")] == ["final_answer"] * 2
    meta = load(folder, "metadata.json")
    assert meta["timed_out_tests"] == 1 and meta["completed_tests"] == 2
    assert meta["reliability"]["task_timeout_s"] == 2.0


class HangFrom:
    """Fault plan: every request of tasks `first`.. hangs; `arrived` counts them as they come."""

    def __init__(self, first: int) -> None:
        self.first = first
        self.lock = threading.Lock()
        self.hung: list[str] = []
        self.changed = threading.Condition(self.lock)

    def __call__(self, conversation: str, position: int) -> Fault | None:
        index = int(conversation.split("Weather task ", 1)[1].split(":", 1)[0])
        if index < self.first:
            return None
        with self.changed:
            self.hung.append(conversation)
            self.changed.notify_all()
        return hang()

    def wait_for(self, count: int, timeout: float = 180) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.hung) >= count, timeout), self.hung


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        args, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> str:
    try:
        _, stderr = proc.communicate(timeout=timeout)
        return stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def journal(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_run_keeps_everything_and_resume_pays_nothing_twice(
    signum: int, code: int, tmp_path: Path, fault_free: dict
) -> None:
    tasks, out = weather_tasks(tmp_path / "t.jsonl", 12), tmp_path / "out"
    plan = HangFrom(6)
    with ScriptedLLMServer(weather_script()) as server:
        server.set_faults(plan)
        proc = start([*cli_args(server, tasks, out), "--parallel-workers", "3"])
        plan.wait_for(3)  # tasks 0-5 are finished and journaled; 6-8 hang on all 3 workers
        before = Counter(task_text(body) for body in server.requests)
        os.kill(proc.pid, signum)
        stderr = finish(proc)
        assert proc.returncode == code, stderr
        assert Counter(task_text(body) for body in server.requests) == before  # no call after
        folder = run_folder(out)
        assert f"smoltrace-eval --resume {folder}" in stderr and "Traceback" not in stderr
        partial = load(folder, "metadata.json")
        assert partial["run_status"] == "partial" and partial["interrupted_tests"] == 6
        assert partial["completed_tests"] == 6 and partial["errored_tests"] == 0
        rows = load(folder, "results.json")
        assert [r["stop_reason"] for r in rows] == ["final_answer"] * 6 + ["interrupted"] * 3
        assert all(r["error"] is None for r in rows)  # nothing fabricated
        assert load(folder, "leaderboard_row.json")["run_status"] == "partial"

        server.set_faults(None)
        resumed = run([SMOLTRACE, "--resume", str(folder)])
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        after = Counter(task_text(body) for body in server.requests)
    finished = {r["prompt"] for r in rows if r["stop_reason"] == "final_answer"}
    for conversation in after:
        if any(prompt in conversation for prompt in finished):
            assert after[conversation] == before[conversation], conversation  # zero duplicates
    final = load(folder, "results.json")
    assert comparable(final) == comparable(fault_free["rows"])  # as if never interrupted
    assert {r["run_id"] for r in final} == {partial["run_id"]}
    meta = load(folder, "metadata.json")
    assert meta["run_id"] == partial["run_id"] and meta["run_status"] == "completed"
    assert meta["planned_tests"] == 12 and meta["completed_tests"] == 12
    assert len(journal(folder)) == 9 + 6  # the journal grew; the last record of a task stands


def test_kill_9_and_a_torn_journal_line_then_resume(tmp_path: Path, fault_free: dict) -> None:
    tasks, out = weather_tasks(tmp_path / "t.jsonl", 6), tmp_path / "out"
    plan = HangFrom(3)
    with ScriptedLLMServer(weather_script()) as server:
        server.set_faults(plan)
        proc = start(cli_args(server, tasks, out))
        plan.wait_for(1)
        proc.kill()  # SIGKILL: no handler runs, nothing is written after this
        finish(proc)
        folder = run_folder(out)
        assert not (folder / "metadata.json").exists()
        lines = (folder / "records.jsonl").read_text().splitlines()
        assert len(lines) == 3
        with (folder / "records.jsonl").open("a") as handle:  # died while writing record 4
            handle.write(lines[0][: len(lines[0]) // 2])
        before = Counter(task_text(body) for body in server.requests)
        server.set_faults(None)
        resumed = run([SMOLTRACE, "--resume", str(folder)])
        after = Counter(task_text(body) for body in server.requests)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "torn last line" in " ".join(resumed.stderr.split())  # rich may wrap the line
    done = [json.loads(line)["prompt"] for line in lines]
    for conversation in after:
        if any(prompt in conversation for prompt in done):
            assert after[conversation] == before[conversation]
    final = load(folder, "results.json")
    assert comparable(final) == comparable(fault_free["rows"][:6])
    assert load(folder, "metadata.json")["run_status"] == "completed"


def test_resume_refuses_settings_that_differ_and_names_them(tmp_path: Path) -> None:
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(json.dumps({"id": "a", "prompt": "What is 2+2?", "agent_type": "tool"}) + "\n")
    base = [SMOLTRACE, "--provider", "mock", "--model", "oracle", "--agent-type", "tool"]
    first = run([*base, "--dataset-name", str(tasks), "--output-dir", str(tmp_path / "out")])
    assert first.returncode == 0, first.stderr
    folder = run_folder(tmp_path / "out")
    refused = run([SMOLTRACE, "--resume", str(folder), "--max-steps", "3", "--task-timeout", "9"])
    assert refused.returncode == 2
    message = refused.stderr.strip().splitlines()[-1]
    assert "--max-steps 3 (the run used 6)" in message
    assert "--task-timeout 9.0 (the run used 300.0)" in message
    tasks.write_text(tasks.read_text().replace("2+2", "3+3"))
    changed = run([SMOLTRACE, "--resume", str(folder)])
    assert changed.returncode == 2 and "has changed" in changed.stderr
    missing = run([SMOLTRACE, "--resume", str(tmp_path)])
    assert missing.returncode == 2 and "run_settings.json" in missing.stderr
    assert "Traceback" not in refused.stderr + changed.stderr + missing.stderr


def test_retry_errors_reruns_only_the_errored_and_timed_out_tasks(
    tmp_path: Path, fault_free: dict
) -> None:
    tasks, out = weather_tasks(tmp_path / "t.jsonl", 4), tmp_path / "out"

    def plan(conversation: str, position: int) -> Fault | None:
        if "task 1:" in conversation:
            return Fault("status", status=400)
        return hang() if "task 2:" in conversation else None

    with ScriptedLLMServer(weather_script()) as server:
        server.set_faults(plan)
        first = run([*cli_args(server, tasks, out), "--task-timeout", "2"], timeout=120)
        assert first.returncode == 3, first.stdout + first.stderr
        folder = run_folder(out)
        assert [r["stop_reason"] for r in load(folder, "results.json")] == [
            "final_answer",
            "error",
            "timeout",
            "final_answer",
        ]
        before = Counter(task_text(body) for body in server.requests)
        server.set_faults(None)
        again = run([SMOLTRACE, "--retry-errors", str(folder)])
        after = Counter(task_text(body) for body in server.requests)
    assert again.returncode == 0, again.stdout + again.stderr
    rerun = {c for c in after if after[c] != before[c]}
    assert {c.split("Weather task ", 1)[1][:1] for c in rerun} == {"1", "2"}
    final = load(folder, "results.json")
    assert comparable(final) == comparable(fault_free["rows"][:4])
    assert load(folder, "metadata.json")["run_status"] == "completed"
