"""The failure policy's parts on their own: which errors are retried, back-off, the concurrency
limiter, task and tool limits that hold while a call hangs, run status counts, the journal."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from smoltrace.errors import ConfigError
from smoltrace.journal import read_journal
from smoltrace.limits import (
    RunControl,
    TaskGuard,
    TaskStopped,
    ToolTimeout,
    bound_tool,
    guarding,
    run_bounded,
)
from smoltrace.retry import ConcurrencyLimiter, RetryPolicy, call_with_retries, classify
from smoltrace.run_status import exit_code, run_status


class StatusError(Exception):
    def __init__(self, status: int, message: str = "", headers: dict | None = None) -> None:
        super().__init__(message or f"HTTP {status}")
        self.status_code = status
        self.litellm_response_headers = headers


def test_litellm_errors_are_classified_by_what_a_retry_can_fix() -> None:
    import litellm

    assert classify(StatusError(429)) == "rate_limit"
    assert classify(StatusError(503)) == "server"
    assert classify(StatusError(500, "OpenAIException - Connection error.")) == "connection"
    assert classify(StatusError(500, "error - Expecting value, Received response")) == "malformed"
    assert classify(litellm.Timeout("slow", model="m", llm_provider="openai")) == "timeout"
    assert classify(RuntimeError("Unexpected API response: model 'm' returned no choices")) == (
        "malformed"
    )
    assert classify(json.JSONDecodeError("x", "doc", 0)) == "malformed"
    for permanent in (StatusError(400), StatusError(401), StatusError(404), ValueError("bug")):
        assert classify(permanent) is None
    assert classify(TaskStopped("timeout")) is None


def test_backoff_doubles_with_jitter_and_retry_after_is_capped() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=10.0)
    assert policy.delay(1, None, 0.0) == 0.5 and policy.delay(1, None, 0.999) < 1.0
    assert policy.delay(3, None, 0.0) == 2.0
    assert policy.delay(10, None, 0.999) <= 10.0
    assert policy.delay(1, 3.0, 0.5) == 3.0
    assert policy.delay(1, 600.0, 0.5) == 10.0


def flaky(errors: list[BaseException]):
    calls = []

    def call() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "ok"

    return call, calls


def test_retries_count_on_the_task_and_stop_at_max_attempts_and_budget() -> None:
    policy = RetryPolicy(max_retries=3, task_budget=4, base_delay_s=0.001)
    guard = TaskGuard(RunControl())
    with guarding(guard):
        call, calls = flaky([StatusError(500), StatusError(429, headers={"retry-after": "0"})])
        assert call_with_retries(call, policy, None) == "ok"
        assert len(calls) == 3 and guard.retries == 2
        assert "429" in (guard.last_retry_error or "")
        call, calls = flaky([StatusError(500)] * 4)
        with pytest.raises(StatusError):  # only 2 left in the task's budget
            call_with_retries(call, policy, None)
        assert len(calls) == 3 and guard.retries == 4
    call, calls = flaky([StatusError(500)] * 5)
    with pytest.raises(StatusError):  # max attempts: 1 + 3 retries
        call_with_retries(call, policy, None)
    assert len(calls) == 4
    call, calls = flaky([StatusError(400)])
    with pytest.raises(StatusError):
        call_with_retries(call, policy, None)
    assert len(calls) == 1


def test_limiter_shrinks_on_429_and_grows_back_on_success() -> None:
    limiter = ConcurrencyLimiter(10)
    limiter.rate_limited()
    assert limiter.limit == 8
    limiter.rate_limited()
    assert limiter.limit == 6
    for _ in range(20):
        limiter.rate_limited()
    assert limiter.limit == 1 and limiter.lowest == 1
    for _ in range(1 + 2 + 3):
        limiter.succeeded()
    assert limiter.limit == 4
    assert limiter.summary() == {
        "max_connections": 10,
        "throttle_events": 22,
        "lowest_connections": 1,
    }


def test_limiter_holds_calls_beyond_its_limit() -> None:
    limiter = ConcurrencyLimiter(2)
    inside = threading.Semaphore(0)
    release = threading.Event()
    peak = []
    active = [0]
    lock = threading.Lock()

    def call() -> None:
        with limiter.slot(None):
            with lock:
                active[0] += 1
                peak.append(active[0])
            inside.release()
            release.wait()
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    inside.acquire()
    inside.acquire()
    assert not inside.acquire(timeout=0.3)  # a third call is held back
    release.set()
    for t in threads:
        t.join()
    assert max(peak) == 2


def test_a_hung_task_times_out_and_cannot_call_again() -> None:
    hang = threading.Event()
    guard = TaskGuard(RunControl(), timeout_s=0.2)

    def task() -> None:
        hang.wait()  # a call that never returns
        guard.check()

    finished, error = run_bounded(task, guard)
    assert (finished, error, guard.stop_reason) == (False, None, "timeout")
    with pytest.raises(TaskStopped):
        guard.check()
    hang.set()


def test_interrupt_gives_up_after_the_grace_or_at_the_second_stop() -> None:
    control = RunControl(grace_s=3600)
    guard = TaskGuard(control)
    started = threading.Event()
    hang = threading.Event()

    def task() -> None:
        started.set()
        hang.wait()

    refused = []

    def interrupt_twice() -> None:
        started.wait()
        control.request_stop("SIGINT")
        try:
            guard.check()
        except TaskStopped:  # no new model call starts after the signal
            refused.append(True)
        control.request_stop("SIGINT")

    threading.Thread(target=interrupt_twice).start()
    assert run_bounded(task, guard) == (False, None)
    assert refused == [True]
    assert guard.stop_reason == "interrupted" and control.exit_code == 130
    hang.set()
    term = RunControl(grace_s=0)
    term.request_stop("SIGTERM")
    assert term.give_up_now() and term.exit_code == 143


def test_tool_timeout_raises_to_the_agent_and_a_stopped_task_runs_no_tool() -> None:
    hang = threading.Event()
    tool = SimpleNamespace(name="slow", forward=lambda: hang.wait() or "late")
    bound_tool(tool, 0.2)
    with pytest.raises(ToolTimeout, match=r"--tool-timeout 0\.2 s"):
        tool.forward()
    hang.set()
    quick = bound_tool(SimpleNamespace(name="quick", forward=lambda x: x * 2), 5)
    assert quick.forward(21) == 42
    guard = TaskGuard(RunControl())
    guard.stop("timeout")
    with guarding(guard), pytest.raises(TaskStopped):
        quick.forward(1)


def record(uid: str, reason: str) -> dict:
    return {
        "test_case_uid": uid,
        "stop_reason": reason,
        "error": "x" if reason == "error" else None,
    }


def test_run_status_counts_and_exit_codes() -> None:
    records = [
        record("a", "final_answer"),
        record("b", "max_steps"),
        record("c", "error"),
        record("d", "timeout"),
        record("e", "interrupted"),
    ]
    status = run_status(records, planned=7)
    assert status == {
        "run_status": "partial",
        "planned_tests": 7,
        "completed_tests": 2,
        "errored_tests": 1,
        "timed_out_tests": 1,
        "max_steps_tests": 1,
        "interrupted_tests": 3,
    }
    assert exit_code(status, 0.0, 130) == 130
    complete = run_status(records[:4])
    assert complete["run_status"] == "completed"
    assert exit_code(complete, 0.0, None) == 3
    assert exit_code(complete, 0.5, None) == 0
    assert run_status(records[2:4])["run_status"] == "failed"
    assert exit_code(run_status(records[2:4]), 1.0, None) == 1


def test_journal_drops_a_torn_last_line_and_refuses_a_damaged_middle(tmp_path: Path) -> None:
    journal = tmp_path / "records.jsonl"
    good = [json.dumps(record(u, "final_answer")) for u in "ab"]
    journal.write_text(good[0] + "\n" + good[1] + "\n" + '{"test_case_uid": "c", "stop')
    assert [r["test_case_uid"] for r in read_journal(tmp_path)] == ["a", "b"]
    assert journal.read_text() == good[0] + "\n" + good[1] + "\n"  # cut at the line boundary
    journal.write_text(good[0] + "\n{broken\n" + good[1] + "\n")
    with pytest.raises(ConfigError, match=r"line 2 .* damaged"):
        read_journal(tmp_path)


def test_an_abandoned_task_frees_the_connection_slot_its_hung_call_holds() -> None:
    limiter = ConcurrencyLimiter(1)
    hang = threading.Event()
    guard = TaskGuard(RunControl(), timeout_s=0.2)

    def hung_call() -> None:
        with limiter.slot(guard):
            hang.wait()

    assert run_bounded(hung_call, guard) == (False, None)
    took = threading.Event()

    def next_call() -> None:
        with limiter.slot(None):
            took.set()

    threading.Thread(target=next_call, daemon=True).start()
    assert took.wait(30)  # without the release it would wait for the hung call forever
    hang.set()


def test_run_settings_keep_no_secret_and_a_resume_must_pass_it_again(tmp_path: Path) -> None:
    import argparse

    from smoltrace.journal import prepare_resume, write_settings

    secret = "s3cr3t-value-0123456789"
    args = argparse.Namespace(
        model="openai/m",
        api_base=f"http://user:{secret}@127.0.0.1:1/v1",
        model_args=[f"api_key={secret}", "temperature=0.2"],
        hf_token=secret,
        otlp_header=[f"Authorization=Bearer {secret}"],
        max_steps=6,
        resume=None,
    )
    write_settings(tmp_path, args, run_id="r1", timestamp="t", planned=["tool:a"])
    assert secret not in (tmp_path / "run_settings.json").read_text()

    def resume(explicit: set[str], **given: object) -> argparse.Namespace:
        again = argparse.Namespace(
            model=None, api_base=None, model_args=None, max_steps=6, resume=str(tmp_path)
        )
        vars(again).update(given)
        prepare_resume(again, explicit, retry_errors=False)
        return again

    with pytest.raises(ConfigError, match="--api-base holds a secret"):
        resume(set())
    with pytest.raises(ConfigError, match="not the value the run used"):
        resume({"api_base", "model_args"}, api_base="http://other", model_args=args.model_args)
    restored = resume(
        {"api_base", "model_args"}, api_base=args.api_base, model_args=args.model_args
    )
    assert restored.model == "openai/m" and restored.run_id == "r1"
