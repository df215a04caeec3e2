"""One retry policy for model calls, owned by smoltrace, and the adaptive concurrency limiter.

Libraries retry on their own terms (smolagents sleeps 60 s x 2^n after three 429s; the OpenAI SDK
inside litellm retries twice and never a malformed body), so their retries are switched off where
the model is built (`models.build_model`) and every model call goes through :func:`guard_model`:
429 (honouring Retry-After, capped), 5xx, connection errors, timeouts and malformed 200 responses
are retried with jittered exponential back-off, up to a number of attempts per call and a retry
budget per task. Each retry is counted on the task's :class:`~smoltrace.limits.TaskGuard` and shown
as a `smoltrace.retry` event in the trace.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .limits import TaskGuard, TaskStopped, current_guard
from .redaction import secret_redactor

logger = logging.getLogger(__name__)

__all__ = [
    "ConcurrencyLimiter",
    "RetryPolicy",
    "classify",
    "guard_model",
    "retry_after_s",
]

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
ERROR_CHARS = 300


@dataclass(frozen=True)
class RetryPolicy:
    """How failed model calls are retried (the CLI's --max-retries, --retry-budget, ...)."""

    max_retries: int = 5  # per model call, after the first attempt
    task_budget: int = 20  # retries per task, all its calls together
    base_delay_s: float = 0.5  # first back-off; doubles per attempt, with jitter
    max_delay_s: float = 30.0  # cap for the back-off and for a server's Retry-After

    def delay(self, attempt: int, retry_after: float | None, jitter: float) -> float:
        """Seconds to wait before retry number `attempt` (1-based); `jitter` is in [0, 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay_s)
        backoff = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return backoff * (0.5 + jitter / 2)

    def as_settings(self) -> dict[str, Any]:
        return {
            "max_retries": self.max_retries,
            "retry_budget": self.task_budget,
            "retry_base_delay_s": self.base_delay_s,
            "retry_max_delay_s": self.max_delay_s,
        }


def _status(exc: BaseException) -> int | None:
    for candidate in (exc, getattr(exc, "response", None)):
        code = getattr(candidate, "status_code", None)
        if isinstance(code, int):
            return code
    return None


def classify(exc: BaseException) -> str | None:
    """The retryable kind of a failed model call (rate_limit, timeout, connection, malformed,
    server), or None for an error a retry cannot fix (bad request, auth, a bug)."""
    if isinstance(exc, TaskStopped):
        return None
    names = {cls.__name__ for cls in type(exc).__mro__}
    text = str(exc)
    status = _status(exc)
    if status == 429 or "RateLimitError" in names:
        return "rate_limit"
    if names & {"Timeout", "APITimeoutError", "TimeoutException", "ReadTimeout"} or isinstance(
        exc, TimeoutError
    ):
        return "timeout"
    if names & {"APIConnectionError", "ConnectError", "RemoteProtocolError", "ConnectionError"}:
        return "connection"
    if isinstance(exc, json.JSONDecodeError) or (
        isinstance(exc, RuntimeError) and "Unexpected API response" in text
    ):
        return "malformed"
    if status is not None and status in RETRYABLE_STATUS:
        # litellm reports a reset connection and an unparsable 200 as a 500 as well
        if "Connection error" in text:
            return "connection"
        if "Received response" in text or "Expecting value" in text:
            return "malformed"
        return "server"
    return None


def retry_after_s(exc: BaseException) -> float | None:
    """A Retry-After (seconds form) sent with the failed response, if any."""
    for source in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "headers", None),
    ):
        if not source:
            continue
        with contextlib.suppress(Exception):
            value = source.get("retry-after") or source.get("Retry-After")
            if value is not None:
                seconds = float(value)
                if math.isfinite(seconds):
                    return seconds
    return None


class ConcurrencyLimiter:
    """Model calls in flight, adapted to the provider: x0.8 on a 429, +1 after as many successes
    in a row as the current limit, never above `maximum` (--max-connections) nor below 1."""

    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.lowest = self.maximum
        self.throttle_events = 0
        self._in_flight = 0
        self._successes = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def slot(self, guard: TaskGuard | None) -> Iterator[None]:
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait(0.1)
                if guard is not None:
                    guard.check()
            self._in_flight += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._cond:
                if not released:
                    released = True
                    self._in_flight -= 1
                    self._cond.notify()

        if guard is not None:
            guard.on_abandon(release)  # a hung call of an abandoned task frees its slot
        try:
            yield
        finally:
            release()

    def rate_limited(self) -> None:
        with self._cond:
            self.throttle_events += 1
            self._successes = 0
            self.limit = max(1, math.floor(self.limit * 0.8))
            self.lowest = min(self.lowest, self.limit)

    def succeeded(self) -> None:
        with self._cond:
            self._successes += 1
            if self._successes >= self.limit and self.limit < self.maximum:
                self.limit += 1
                self._successes = 0
                self._cond.notify()

    def summary(self) -> dict[str, Any]:
        """For metadata.json and the console: whether and how far the run was throttled."""
        return {
            "max_connections": self.maximum,
            "throttle_events": self.throttle_events,
            "lowest_connections": self.lowest,
        }


def _short(exc: BaseException) -> str:
    return secret_redactor()(f"{type(exc).__name__}: {exc}".strip())[:ERROR_CHARS]


def _trace_retry(attempt: int, kind: str, error: str, delay: float) -> None:
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(
            "smoltrace.retry",
            {"attempt": attempt, "error.kind": kind, "error.message": error, "delay_s": delay},
        )


def call_with_retries(
    call: Callable[[], Any],
    policy: RetryPolicy,
    limiter: ConcurrencyLimiter | None,
    jitter: Callable[[], float] = random.random,
) -> Any:
    """`call()` under the policy, the task's guard (deadline, interrupt, budget) and the limiter."""
    guard = current_guard()
    attempt = 0
    while True:
        if guard is not None:
            guard.check()
        try:
            with limiter.slot(guard) if limiter is not None else contextlib.nullcontext():
                if guard is not None:
                    guard.check()  # the wait for a slot may have outlived the task
                result = call()
        except Exception as exc:
            kind = classify(exc)
            if kind == "rate_limit" and limiter is not None:
                limiter.rate_limited()
            budget_left = guard is None or guard.retries < policy.task_budget
            if kind is None or attempt >= policy.max_retries or not budget_left:
                raise
            attempt += 1
            delay = policy.delay(attempt, retry_after_s(exc), jitter())
            error = _short(exc)
            if guard is not None:
                guard.retries += 1
                guard.last_retry_error = error
            logger.info("model call failed (%s); retry %d in %.2f s", kind, attempt, delay)
            _trace_retry(attempt, kind, error, delay)
            if guard is not None:
                guard.sleep(delay)
            else:
                threading.Event().wait(delay)
            continue
        if limiter is not None:
            limiter.succeeded()
        return result


def guard_model(
    model: Any, policy: RetryPolicy, limiter: ConcurrencyLimiter | None = None, seed: int = 0
) -> Any:
    """Route the model's `generate` (what agents call) through :func:`call_with_retries`.

    Set on the instance, over the class method that telemetry instruments, so every attempt is its
    own LLM span and the retries sit around them.
    """
    model_class = type(model)

    def generate(*args: Any, **kwargs: Any) -> Any:
        # looked up per call: telemetry instruments the class after the model is built
        return model_class.generate(model, *args, **kwargs)

    rng = random.Random(seed)
    rng_lock = threading.Lock()

    def jitter() -> float:
        with rng_lock:
            return rng.random()

    def generate_with_retries(*args: Any, **kwargs: Any) -> Any:
        return call_with_retries(lambda: generate(*args, **kwargs), policy, limiter, jitter)

    model.generate = generate_with_retries
    model.smoltrace_retry_policy = policy
    return model
