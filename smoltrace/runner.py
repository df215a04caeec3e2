"""The run loop: each task executed once, isolated, timed and accounted, on one or more workers.

Per task the agent runs once (streamed), and everything a results row needs is read from that single
run: the steps and token usage from the agent's memory, the tools from the model's tool calls (tool
agents) or from the tools the code really executed (code agents), the answer from the final step.
A task that raises becomes that task's `error`; the run goes on. Each task runs in its own copy of the
context so a span left open by a failing agent cannot swallow the next task.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from typing import Any

from . import pricing
from .redaction import secret_redactor
from .scoring import score

logger = logging.getLogger(__name__)

TaskRecord = dict[str, Any]
AgentFactory = Callable[[], Any]
RecordCallback = Callable[[TaskRecord], None]
PROMPT_ATTRIBUTE_CHARS = 100


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


def _observe(
    agent: Any, agent_type: str, executed: list[str], reached_final: bool
) -> dict[str, Any]:
    """Steps, tokens, tools and final-answer flag from the agent's memory of this run."""
    from smolagents.memory import ActionStep, PlanningStep

    steps = [s for s in agent.memory.steps if isinstance(s, (ActionStep, PlanningStep))]
    prompt_tokens = sum(s.token_usage.input_tokens for s in steps if s.token_usage)
    completion_tokens = sum(s.token_usage.output_tokens for s in steps if s.token_usage)
    actions = [s for s in steps if isinstance(s, ActionStep)]
    if agent_type == "code":
        tools_used = [name for name in executed if name != "final_answer"]
    else:
        tools_used = [
            call.name
            for s in actions
            for call in (s.tool_calls or [])
            if call.name != "final_answer"
        ]
    return {
        "steps": len(steps) + (1 if reached_final else 0),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "tools_used": tools_used,
        "final_answer_called": any(s.is_final_answer for s in actions),
        "model_calls": sum(1 for s in steps if s.token_usage is not None),
    }


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
) -> TaskRecord:
    """Run one task once and build its record. Never raises for agent or model failures.

    `attempt` numbers a repeated task's executions (0..K-1; None when the run has no repeats).
    """
    return contextvars.copy_context().run(
        _execute, agent, task, agent_type, run_id, test_index, model_id, provider, tracer, attempt
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
) -> TaskRecord:
    from smolagents.memory import FinalAnswerStep

    uid = test_case_uid(agent_type, task["id"], attempt)
    executed: list[str] = getattr(agent, "smoltrace_tool_log", [])
    executed.clear()
    response: Any = None
    reached_final = False
    error: str | None = None
    start_ns = time.time_ns()
    started = time.perf_counter()
    with _task_span(tracer, task, agent_type, uid, model_id, provider, attempt or 0) as span:
        trace_id, span_id = _hex_ids(span)
        try:
            # OpenInference reads `agent.task` for the agent span before run() sets it: without
            # this the span would carry the previous task's prompt.
            agent.task = task["prompt"]
            for event in agent.run(task["prompt"], stream=True, reset=True):
                if isinstance(event, FinalAnswerStep):
                    reached_final, response = True, event.output
        except Exception as exc:
            error = secret_redactor()(f"{type(exc).__name__}: {exc}".strip())
            logger.debug("task %s failed", uid, exc_info=True)
        observed = _observe(agent, agent_type, executed, reached_final)
        if span is not None:
            span.set_attribute("tests.tool_calls", len(observed["tools_used"]))
            span.set_attribute("tests.steps", observed["steps"])
            if error:
                from opentelemetry.trace import Status, StatusCode

                span.set_status(Status(StatusCode.ERROR, error[:500]))
    elapsed_ms = (time.perf_counter() - started) * 1000
    end_ns = start_ns + int(elapsed_ms * 1e6)
    text = None if response is None else str(response)
    scores = score(task, observed["tools_used"], observed["final_answer_called"], text)
    if error:
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
        "prompt": task["prompt"],
        "expected_tool": task.get("expected_tool"),
        "expected_tool_calls": task.get("expected_tool_calls"),
        **scores,
        "error": error,
        "response": text,
        "tools_used": observed["tools_used"],
        "steps": observed["steps"],
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
        "model_calls": observed["model_calls"],
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
) -> list[TaskRecord]:
    """Run `tasks` with one agent per worker thread; records come back in dataset order.

    `on_record` is called as each task finishes (from the worker thread), so a caller can persist it
    at once and an interrupted run keeps what finished.
    """
    local = threading.local()

    def run_one(position: int) -> TaskRecord:
        if not hasattr(local, "agent"):
            local.agent = make_agent()
        record = execute_task(
            local.agent,
            tasks[position],
            agent_type,
            run_id=run_id,
            test_index=index_offset + position,
            model_id=model_id,
            provider=provider,
            tracer=tracer,
            attempt=attempt,
        )
        if on_record is not None:
            on_record(record)
        return record

    if workers <= 1 or len(tasks) <= 1:
        return [run_one(i) for i in range(len(tasks))]
    records: list[TaskRecord | None] = [None] * len(tasks)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smoltrace-worker") as pool:
        futures = {pool.submit(run_one, i): i for i in range(len(tasks))}
        for future in as_completed(futures):
            records[futures[future]] = future.result()
    return [r for r in records if r is not None]
