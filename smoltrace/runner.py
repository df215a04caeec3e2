"""The run loop: each task executed once, isolated, timed and accounted, on one or more workers.

Per task a fresh agent runs once (streamed), and everything a results row needs is read from that
single run: the steps, model calls and token usage from the agent's memory, the tools from the model's
tool calls (tool agents) or from the tools the code really executed (code agents), the answer from the
final step. A task that raises becomes that task's `error`; the run goes on.

Isolation: no agent is reused. smolagents' local Python executor keeps its variables and imports
across `run(reset=True)`, and `agent.state` survives a reset, so a reused agent could answer with a
value an earlier task computed, and with several workers the score would depend on scheduling. Each
task also runs in its own copy of the context so a span left open by a failing agent cannot swallow
the next task.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from typing import Any

from . import pricing
from .causes import describe_error
from .limits import RunControl, TaskGuard, guarding, run_bounded
from .redaction import secret_redactor
from .scoring import DEFAULT_KEYWORD_MATCH, KeywordMatch, score

logger = logging.getLogger(__name__)

TaskRecord = dict[str, Any]
AgentFactory = Callable[[], Any]
RecordCallback = Callable[[TaskRecord], None]
PROMPT_ATTRIBUTE_CHARS = 100
# Why an agent run ended; the reliability layer adds its own values (timeouts, interrupts).
STOP_FINAL_ANSWER, STOP_MAX_STEPS, STOP_ERROR = "final_answer", "max_steps", "error"
# stop reasons of a task that ran to its end: the model was evaluated, not the infrastructure
COMPLETED_STOP_REASONS = (STOP_FINAL_ANSWER, STOP_MAX_STEPS)


def test_case_uid(agent_type: str, task_id: str, attempt: int | None = None) -> str:
    """Unique key of one task execution in a run: a `both` task runs once per agent type, and with
    `--repeats` once per attempt (`tool:t1#2` is attempt 2; without repeats no suffix)."""
    uid = f"{agent_type}:{task_id}"
    return uid if attempt is None else f"{uid}#{attempt}"


def _hex_ids(span: Any) -> tuple[str | None, str | None]:
    context = span.get_span_context() if span is not None else None
    if context is None or not context.is_valid:
        return None, None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


@contextlib.contextmanager
def _task_span(
    tracer: Any,
    task: TaskRecord,
    agent_type: str,
    uid: str,
    model_id: str,
    provider: str,
    attempt: int = 0,
) -> Iterator[Any]:
    if tracer is None:
        yield None
        return
    attributes = {
        "test.id": task["id"],
        "test.case_uid": uid,
        "test.attempt": attempt,
        "test.difficulty": task["difficulty"],
        "agent.type": agent_type,
        "prompt": task["prompt"][:PROMPT_ATTRIBUTE_CHARS],
        # the trace's model calls are priced at these, like this task's results row
        "smoltrace.model_id": model_id,
        "smoltrace.provider": provider,
    }
    from opentelemetry.context import Context

    # a new trace per task, even when the caller has a span open: one trace is one task
    with tracer.start_as_current_span(
        "test_evaluation", context=Context(), attributes=attributes
    ) as span:
        yield span


def _observe(agent: Any, agent_type: str, executed: list[str]) -> dict[str, Any]:
    """Steps, model calls, tokens, tools and how the run ended, from the agent's memory of this run.

    Counted as smolagents counts: `steps` are its numbered action steps (a first-call answer is 1,
    a max-steps run is `max_steps`); the extra model call smolagents makes for a summary after the
    last step is a model call, not a step. Planning steps are counted apart. A model call is
    every request made: each planning step, each action step that sent its messages (even if the
    call failed), and the max-steps summary.
    """
    from smolagents.memory import ActionStep, PlanningStep
    from smolagents.utils import AgentMaxStepsError

    steps = [s for s in agent.memory.steps if isinstance(s, (ActionStep, PlanningStep))]
    planning = [s for s in steps if isinstance(s, PlanningStep)]
    actions = [s for s in steps if isinstance(s, ActionStep)]
    summary = [s for s in actions if isinstance(s.error, AgentMaxStepsError)]
    numbered = [s for s in actions if not isinstance(s.error, AgentMaxStepsError)]
    prompt_tokens = sum(s.token_usage.input_tokens for s in steps if s.token_usage)
    completion_tokens = sum(s.token_usage.output_tokens for s in steps if s.token_usage)
    if agent_type == "code":
        tools_used = [name for name in executed if name != "final_answer"]
    else:
        tools_used = [
            call.name
            for s in numbered
            for call in (s.tool_calls or [])
            if call.name != "final_answer"
        ]
    step_errors = [s.error for s in numbered if s.error is not None]
    return {
        "steps": len(numbered),
        "planning_steps": len(planning),
        "model_calls": len(planning)
        + len(summary)
        + sum(1 for s in numbered if s.model_input_messages is not None or s.token_usage),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "tools_used": tools_used,
        "final_answer_called": any(s.is_final_answer for s in numbered),
        "max_steps_reached": bool(summary),
        "last_step_error": step_errors[-1] if step_errors else None,
    }


def _max_steps_error(agent: Any, observed: dict[str, Any]) -> str:
    """Why a max-steps row failed: the limit, and the last error the agent saw, if any."""
    text = f"AgentMaxStepsError: reached max steps ({agent.max_steps}) without a final answer"
    last = observed["last_step_error"]
    if last is not None:
        text += f"; last step error: {describe_error(last)}"
    return text


def execute_task(
    agent: Any,
    task: TaskRecord,
    agent_type: str,
    *,
    run_id: str,
    test_index: int,
    model_id: str,
    provider: str,
    tracer: Any = None,
    attempt: int | None = None,
    keyword_match: KeywordMatch = DEFAULT_KEYWORD_MATCH,
    control: RunControl | None = None,
    task_timeout: float | None = None,
) -> TaskRecord:
    """Run one task once with `agent` (fresh: see the module doc) and build its record.

    Never raises for agent or model failures. `attempt` numbers a repeated task's executions
    (0..K-1; None when the run has no repeats). The agent runs on a thread of its own
    (`limits.run_bounded`): a task over `task_timeout`, or still running when `control` gives up
    after an interrupt, is recorded at once with stop_reason `timeout` / `interrupted` even while
    one of its calls hangs.
    """
    guard = TaskGuard(control or RunControl(), task_timeout)
    return contextvars.copy_context().run(
        _execute,
        agent,
        task,
        agent_type,
        run_id,
        test_index,
        model_id,
        provider,
        tracer,
        attempt,
        keyword_match,
        guard,
    )


def _execute(
    agent: Any,
    task: TaskRecord,
    agent_type: str,
    run_id: str,
    test_index: int,
    model_id: str,
    provider: str,
    tracer: Any,
    attempt: int | None,
    keyword_match: KeywordMatch,
    guard: TaskGuard,
) -> TaskRecord:
    from smolagents.memory import FinalAnswerStep

    uid = test_case_uid(agent_type, task["id"], attempt)
    executed: list[str] = getattr(agent, "smoltrace_tool_log", [])
    executed.clear()
    response: Any = None
    error: str | None = None
    start_ns = time.time_ns()
    started = time.perf_counter()
    with _task_span(tracer, task, agent_type, uid, model_id, provider, attempt or 0) as span:
        trace_id, span_id = _hex_ids(span)

        def drive() -> None:
            nonlocal response
            # OpenInference reads `agent.task` for the agent span before run() sets it: without
            # this the span would carry the previous task's prompt.
            agent.task = task["prompt"]
            for event in agent.run(task["prompt"], stream=True, reset=True):
                if isinstance(event, FinalAnswerStep):
                    response = event.output

        with guarding(guard):
            finished, exc = run_bounded(drive, guard)
        stopped = None if finished and exc is None else guard.stop_reason
        if stopped == "timeout":
            error = f"TaskTimeout: task exceeded --task-timeout {guard.timeout_s:g} s"
        elif exc is not None and stopped is None:
            error = describe_error(exc)
            logger.debug("task %s failed", uid, exc_info=exc)
        if stopped is not None:
            response = None  # a cut-off task has no answer, whatever its thread does later
        observed = _observe(agent, agent_type, executed)
        if stopped is not None:
            stop_reason = stopped
        elif error:
            stop_reason = STOP_ERROR
        elif observed["max_steps_reached"]:
            stop_reason = STOP_MAX_STEPS
            error = _max_steps_error(agent, observed)
        else:
            stop_reason = STOP_FINAL_ANSWER
        # every text a row carries is redacted: an agent may echo a secret in any of them
        redact = secret_redactor()
        error = None if error is None else redact(error)
        if span is not None:
            span.set_attribute("tests.tool_calls", len(observed["tools_used"]))
            span.set_attribute("tests.steps", observed["steps"])
            span.set_attribute("smoltrace.stop_reason", stop_reason)
            span.set_attribute("smoltrace.retries", guard.retries)
            if error:
                from opentelemetry.trace import Status, StatusCode

                span.set_status(Status(StatusCode.ERROR, error[:500]))
    elapsed_ms = (time.perf_counter() - started) * 1000
    end_ns = start_ns + int(elapsed_ms * 1e6)
    text = None if response is None else redact(str(response))
    scores = score(
        task,
        observed["tools_used"],
        observed["final_answer_called"],
        text,
        error=error,
        keyword_match=keyword_match,
    )
    if stopped is not None:  # timed out or interrupted: never a pass
        scores["success"] = False
    prompt_tokens, completion_tokens = observed["prompt_tokens"], observed["completion_tokens"]
    # No model call: 0.0 for a priced model, still None for an unpriced one (never a fake 0).
    cost = pricing.price(model_id, prompt_tokens, completion_tokens, provider)
    return {
        "test_id": task["id"],
        "test_case_uid": uid,
        "test_index": test_index,
        "attempt": attempt or 0,
        "agent_type": agent_type,
        "difficulty": task["difficulty"],
        "prompt": redact(task["prompt"]),
        "expected_tool": task.get("expected_tool"),
        "expected_tool_calls": task.get("expected_tool_calls"),
        **scores,
        "error": error,
        "response": text,
        "tools_used": observed["tools_used"],
        "steps": observed["steps"],
        "planning_steps": observed["planning_steps"],
        "model_calls": observed["model_calls"],
        "stop_reason": stop_reason,
        "retries": guard.retries,
        "last_retry_error": guard.last_retry_error,
        "trace_id": trace_id,
        "span_id": span_id,
        "enhanced_trace_info": {},
        "run_id": run_id,
        "evaluation_date": datetime.now(timezone.utc).isoformat(),
        "start_time_unix_nano": start_ns,
        "end_time_unix_nano": end_ns,
        "execution_time_ms": round(elapsed_ms, 3),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "cost_usd": cost,
    }


def run_tasks(
    tasks: list[TaskRecord],
    agent_type: str,
    make_agent: AgentFactory,
    *,
    run_id: str,
    model_id: str,
    provider: str,
    workers: int = 1,
    index_offset: int = 0,
    tracer: Any = None,
    on_record: RecordCallback | None = None,
    attempt: int | None = None,
    keyword_match: KeywordMatch = DEFAULT_KEYWORD_MATCH,
    control: RunControl | None = None,
    task_timeout: float | None = None,
    skip: Callable[[str], bool] | None = None,
) -> list[TaskRecord]:
    """Run `tasks` on `workers` threads, each task with a new agent from `make_agent()`.

    Records come back in dataset order. `make_agent` is called from the worker thread that runs
    the task (it may reuse a model per thread; it must not reuse an agent). `on_record` is called
    as each task finishes (from the worker thread), so a caller can persist it at once and an
    interrupted run keeps what finished. Once `control` is stopping, no further task starts (those
    tasks get no record); nor does a task for which `skip(test_case_uid)` holds (done in an
    earlier part of a resumed run). Test indices stay those of the full `tasks`.
    """
    control = control or RunControl()

    def run_one(position: int) -> TaskRecord | None:
        if control.stopping.is_set():
            return None
        if skip is not None and skip(test_case_uid(agent_type, tasks[position]["id"], attempt)):
            return None
        agent = make_agent()
        try:
            record = execute_task(
                agent,
                tasks[position],
                agent_type,
                run_id=run_id,
                test_index=index_offset + position,
                model_id=model_id,
                provider=provider,
                tracer=tracer,
                attempt=attempt,
                keyword_match=keyword_match,
                control=control,
                task_timeout=task_timeout,
            )
        finally:
            # a CodeAgent's code process ends with its task (smolagents' cleanup hook)
            cleanup = getattr(agent, "cleanup", None)
            if callable(cleanup):
                cleanup()
        if on_record is not None:
            on_record(record)
        return record

    if workers <= 1 or len(tasks) <= 1:
        return [r for r in map(run_one, range(len(tasks))) if r is not None]
    records: list[TaskRecord | None] = [None] * len(tasks)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smoltrace-worker") as pool:
        futures = {pool.submit(run_one, i): i for i in range(len(tasks))}
        for future in as_completed(futures):
            records[futures[future]] = future.result()
    return [r for r in records if r is not None]
