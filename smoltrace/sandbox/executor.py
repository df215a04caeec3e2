"""A CodeAgent's code, run in a child process that is killed when it overruns its time limit.

smolagents' `LocalPythonExecutor` runs the model's code in the harness's own process; its timeout
waits on a worker thread that cannot be stopped (and its `with ThreadPoolExecutor` then joins that
thread anyway), so `time.sleep(100)` took 100 s, and `9 ** 9 ** 8`, one C-level operation holding
the GIL, froze every thread of the run for two minutes and then scored a success. Here the same
interpreter (same authorized imports and rules) runs in a spawned child process. The tools stay in
the harness: a call from the code is sent back over a pipe and run here, so tool recording, tool
timeouts and MCP sessions work unchanged, and tool time does not count against the code's limit.
When the code overruns, the child is killed (a fresh one starts for the next action) and the agent
is stopped: the task ends with that error rather than a later answer.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import time
import weakref
from typing import Any

from smolagents.local_python_executor import CodeOutput, InterpreterError, PythonExecutor

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_CODE_TIMEOUT_S", "CodeLimitError", "ProcessExecutor", "stop_on_code_limit"]

DEFAULT_CODE_TIMEOUT_S = 120.0
_JOIN_S = 5.0
_STARTUP_S = 120.0  # starting a child (a first fork server, or a spawn) is not the code's time


class CodeLimitError(RuntimeError):
    """The agent's code ran past its limit and was killed; ends the task."""


def _portable(value: Any) -> Any:
    """`value` if it survives pickling, else its repr (a module, a generator, ...)."""
    try:
        pickle.dumps(value)
        return value
    except Exception:
        return repr(value)


class _ToolProxy:
    """Stands for one harness tool inside the child: each call is a round trip over the pipe."""

    def __init__(self, conn: Any, name: str) -> None:
        self._conn = conn
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            self._conn.send(("call", self._name, args, kwargs))
        except Exception as exc:  # arguments that cannot cross the process boundary
            raise TypeError(f"cannot pass these arguments to {self._name}: {exc}") from None
        kind, value = self._conn.recv()
        if kind == "ok":
            return value
        raise RuntimeError(value)


def _child_main(conn: Any, authorized_imports: list[str], max_print_chars: int | None) -> None:
    from smolagents.local_python_executor import LocalPythonExecutor

    executor = LocalPythonExecutor(
        authorized_imports, max_print_outputs_length=max_print_chars, timeout_seconds=None
    )
    conn.send(("ready",))
    while True:
        message = conn.recv()
        if message[0] == "stop":
            return
        _, code, tool_names, variables = message
        executor.send_tools({name: _ToolProxy(conn, name) for name in tool_names})
        if variables:
            executor.send_variables(variables)
        reply: tuple[Any, ...]
        try:
            output = executor(code)
            reply = ("done", _portable(output.output), output.logs, output.is_final_answer)
        except Exception as exc:
            logs = str(executor.state.get("_print_outputs", ""))
            reply = ("error", str(exc) or type(exc).__name__, logs)
        conn.send(reply)


def _kill(process: Any) -> None:
    if process.is_alive():
        process.kill()
    process.join(_JOIN_S)


def _context() -> Any:
    """Children forked from a clean fork server (fast: it has smolagents imported), else spawned.

    Never a plain fork: the harness has many threads (workers, exporters, MCP loops).
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


class ProcessExecutor(PythonExecutor):
    """smolagents' interpreter in a child process, with a time limit that holds."""

    def __init__(
        self,
        additional_authorized_imports: list[str],
        timeout_s: float | None = DEFAULT_CODE_TIMEOUT_S,
        max_print_outputs_length: int | None = None,
    ) -> None:
        from smolagents.utils import BASE_BUILTIN_MODULES

        self.additional_authorized_imports = list(additional_authorized_imports)
        self.authorized_imports = sorted({*BASE_BUILTIN_MODULES, *additional_authorized_imports})
        self.timeout_s = timeout_s
        self.max_print_outputs_length = max_print_outputs_length
        self.state: dict[str, Any] = {"_print_outputs": ""}  # read by CodeAgent on errors
        self.limit_error: str | None = None
        self._tools: dict[str, Any] = {}
        self._pending_variables: dict[str, Any] = {}
        self._process: Any = None
        self._conn: Any = None
        self._finalizer: Any = None

    def send_tools(self, tools: dict[str, Any]) -> None:
        self._tools = dict(tools)

    def send_variables(self, variables: dict[str, Any]) -> None:
        self._pending_variables.update({k: _portable(v) for k, v in variables.items()})

    def _start(self) -> None:
        context = _context()
        parent, child = context.Pipe()
        process = context.Process(
            target=_child_main,
            args=(child, self.authorized_imports, self.max_print_outputs_length),
            name="smoltrace-code",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self._finalizer = weakref.finalize(self, _kill, process)
        try:
            ready = parent.poll(_STARTUP_S) and parent.recv() == ("ready",)
        except EOFError:
            ready = False
        if not ready:
            self._discard()
            raise InterpreterError("the code interpreter's process did not start")

    def __call__(self, code_action: str) -> CodeOutput:
        if self._process is None or not self._process.is_alive():
            self._start()
        variables, self._pending_variables = self._pending_variables, {}
        self._conn.send(("run", code_action, sorted(self._tools), variables))
        deadline = None if self.timeout_s is None else time.monotonic() + self.timeout_s
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and (remaining <= 0 or not self._conn.poll(remaining)):
                self._overrun()
            try:
                message = self._conn.recv()
            except EOFError:  # the child died (e.g. out of memory)
                self._discard()
                raise InterpreterError("the code's process ended unexpectedly") from None
            kind = message[0]
            if kind == "call":
                started = time.monotonic()
                self._conn.send(self._run_tool(message[1], message[2], message[3]))
                if deadline is not None:  # tools have their own limit
                    deadline += time.monotonic() - started
                continue
            self.state["_print_outputs"] = message[2]
            if kind == "done":
                return CodeOutput(output=message[1], logs=message[2], is_final_answer=message[3])
            raise InterpreterError(message[1])

    def _run_tool(self, name: str, args: tuple, kwargs: dict) -> tuple[str, Any]:
        tool = self._tools.get(name)
        if tool is None:
            return "error", f"unknown tool {name}"
        try:
            return "ok", _portable(tool(*args, **kwargs))
        except Exception as exc:
            return "error", f"{type(exc).__name__}: {exc}"

    def _overrun(self) -> None:
        self._discard()
        self.limit_error = (
            f"code execution stopped after {self.timeout_s:g} s (the time limit for the "
            "agent's code); its process was killed"
        )
        self.state["_print_outputs"] = ""
        raise CodeLimitError(self.limit_error)

    def _discard(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # kills and joins the child
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = self._finalizer = None

    def cleanup(self) -> None:
        """Stop the child process (smolagents' `CodeAgent.cleanup` calls this)."""
        if self._process is not None and self._process.is_alive():
            try:
                self._conn.send(("stop",))
                self._process.join(_JOIN_S)
            except (OSError, EOFError):
                pass
        self._discard()


def stop_on_code_limit(step: Any, agent: Any = None) -> None:
    """Step callback: once the code overran its limit, end the run with that error.

    smolagents would otherwise hand the timeout to the model as an observation and go on. The
    step is appended here because raising from the callback skips smolagents' own append (which
    would lose the step's token usage).
    """
    executor = getattr(agent, "python_executor", None)
    message = getattr(executor, "limit_error", None)
    if executor is not None and message:
        executor.limit_error = None
        agent.memory.steps.append(step)
        raise CodeLimitError(message)
