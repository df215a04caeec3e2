"""Limits that hold: task deadlines, tool timeouts and interrupts, enforced from outside the call.

A Python thread blocked in a socket read or a runaway tool cannot be stopped from inside, so a task
runs its agent on a thread of its own and the worker waits for it, its deadline, or the run's stop
switch, whichever comes first (:func:`run_bounded`). A task that is given up on keeps its
:class:`TaskGuard` cancelled: if its thread ever wakes, its next model call or tool call raises
:class:`TaskStopped` instead of spending money, and nothing it returns is recorded.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_INTERRUPT_GRACE_S",
    "DEFAULT_TASK_TIMEOUT_S",
    "DEFAULT_TOOL_TIMEOUT_S",
    "RunControl",
    "TaskGuard",
    "TaskStopped",
    "ToolTimeout",
    "bound_tool",
    "current_guard",
    "guarding",
    "run_bounded",
]

DEFAULT_TASK_TIMEOUT_S = 300.0
DEFAULT_TOOL_TIMEOUT_S = 120.0
# After the first signal, running tasks may finish within this many seconds (no new model call
# starts meanwhile); then they are recorded as interrupted.
DEFAULT_INTERRUPT_GRACE_S = 5.0
_POLL_S = 0.05
SIGNAL_EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


class TaskStopped(Exception):
    """Raised inside a task that hit its deadline or was interrupted; `reason` is its stop_reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"task stopped: {reason}")
        self.reason = reason


class ToolTimeout(TimeoutError):
    """A tool call did not return within --tool-timeout; the agent sees it as that tool's error."""


class RunControl:
    """The run's stop switch. First stop: no new task or model call starts; running tasks get
    `grace_s` to finish. Second stop: running tasks are given up at once."""

    def __init__(self, grace_s: float = DEFAULT_INTERRUPT_GRACE_S) -> None:
        self.grace_s = grace_s
        self.stopping = threading.Event()
        self.aborting = threading.Event()
        self.signal_name: str | None = None
        self.stopped_at: float | None = None

    def request_stop(self, signal_name: str = "stop") -> None:
        if self.stopping.is_set():
            self.aborting.set()
            return
        self.signal_name = signal_name
        self.stopped_at = time.monotonic()
        self.stopping.set()

    def give_up_now(self) -> bool:
        """True once running tasks should be abandoned (second signal, or grace spent)."""
        if self.aborting.is_set():
            return True
        return self.stopped_at is not None and time.monotonic() >= self.stopped_at + self.grace_s

    @property
    def exit_code(self) -> int | None:
        """130 after SIGINT, 143 after SIGTERM, None when the run was not stopped."""
        if not self.stopping.is_set():
            return None
        return SIGNAL_EXIT_CODES.get(self.signal_name or "", 130)

    @contextlib.contextmanager
    def signals_handled(self) -> Iterator[None]:
        """SIGINT/SIGTERM call :meth:`request_stop` while inside (main thread only); the third
        signal gets Python's default behaviour back."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def handler(signum: int, frame: Any) -> None:
            name = signal.Signals(signum).name
            second = self.stopping.is_set()
            self.request_stop(name)
            logger.warning("%s: %s", name, "stopping now" if second else "finishing running tasks")
            if second:
                for s, h in previous.items():
                    signal.signal(s, h)

        for s in previous:
            signal.signal(s, handler)
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


@dataclass
class TaskGuard:
    """One task's limits and retry ledger, reachable from any call it makes (`current_guard()`)."""

    control: RunControl = field(default_factory=RunControl)
    timeout_s: float | None = None
    started: float = field(default_factory=time.monotonic)
    stop_reason: str | None = None
    retries: int = 0
    last_retry_error: str | None = None
    _on_abandon: list[Callable[[], None]] = field(default_factory=list)

    def on_abandon(self, release: Callable[[], None]) -> None:
        """Call `release` if this task is given up on (a slot its hung call still holds)."""
        self._on_abandon.append(release)

    def abandon(self) -> None:
        for release in list(self._on_abandon):
            release()

    @property
    def deadline(self) -> float | None:
        return None if not self.timeout_s else self.started + self.timeout_s

    def remaining(self) -> float | None:
        deadline = self.deadline
        return None if deadline is None else deadline - time.monotonic()

    def stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    def check(self) -> None:
        """Raise TaskStopped when this task may not start another model or tool call."""
        if self.stop_reason is None:
            if self.control.stopping.is_set():
                self.stop("interrupted")
            elif (left := self.remaining()) is not None and left <= 0:
                self.stop("timeout")
        if self.stop_reason is not None:
            raise TaskStopped(self.stop_reason)

    def sleep(self, seconds: float) -> None:
        """Back-off that wakes up for a stop or the deadline, then re-checks."""
        left = self.remaining()
        if left is not None:
            seconds = min(seconds, max(left, 0.0))
        self.control.stopping.wait(seconds)
        self.check()


_current: contextvars.ContextVar[TaskGuard | None] = contextvars.ContextVar(
    "smoltrace_task_guard", default=None
)


def current_guard() -> TaskGuard | None:
    return _current.get()


@contextlib.contextmanager
def guarding(guard: TaskGuard) -> Iterator[TaskGuard]:
    token = _current.set(guard)
    try:
        yield guard
    finally:
        _current.reset(token)


def run_bounded(fn: Callable[[], Any], guard: TaskGuard) -> tuple[bool, BaseException | None]:
    """Run `fn` on its own thread (in a copy of this context) within the guard's limits.

    Returns (finished, exception raised by fn). When not finished, the guard's stop_reason says why
    (`timeout` or `interrupted`) and the thread is left behind, unable to make further calls.
    """
    done = threading.Event()
    outcome: list[BaseException | None] = [None]
    context = contextvars.copy_context()

    def target() -> None:
        try:
            context.run(fn)
        except BaseException as exc:  # handed to the caller, never lost in the thread
            outcome[0] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="smoltrace-task", daemon=True).start()
    while not done.wait(_POLL_S):
        left = guard.remaining()
        if left is not None and left <= 0:
            guard.stop("timeout")
        elif guard.control.give_up_now():
            guard.stop("interrupted")
        if guard.stop_reason is not None and not done.is_set():
            logger.debug("giving up on a task: %s", guard.stop_reason)
            guard.abandon()
            return False, None
    return True, outcome[0]


def bound_tool(tool: Any, timeout_s: float | None) -> Any:
    """Wrap `tool.forward`: refused for a stopped task, and a ToolTimeout after `timeout_s`."""
    forward = tool.forward

    def bounded_forward(*args: Any, **kwargs: Any) -> Any:
        guard = current_guard()
        if guard is not None:
            guard.check()
        if not timeout_s:
            return forward(*args, **kwargs)
        done = threading.Event()
        outcome: dict[str, Any] = {}
        context = contextvars.copy_context()

        def target() -> None:
            try:
                outcome["value"] = context.run(forward, *args, **kwargs)
            except BaseException as exc:
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=target, name=f"smoltrace-tool-{tool.name}", daemon=True).start()
        if not done.wait(timeout_s):
            raise ToolTimeout(
                f"tool '{tool.name}' did not return within --tool-timeout {timeout_s:g} s"
            )
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    tool.forward = bounded_forward
    return tool
