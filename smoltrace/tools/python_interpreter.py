"""`python_interpreter` (`--enable-tools`) with the same time limit that holds as a CodeAgent's code.

smolagents' `PythonInterpreterTool` evaluates in the harness's process with a thread timeout that
cannot stop the code; this one runs each snippet in a fresh child process (sandbox.executor) that is
killed at the limit. Same name, inputs and output format, so tasks and prompts do not change.
"""

from __future__ import annotations

from smolagents.default_tools import PythonInterpreterTool

from ..sandbox.executor import DEFAULT_CODE_TIMEOUT_S, ProcessExecutor

__all__ = ["BoundedPythonInterpreterTool"]


class BoundedPythonInterpreterTool(PythonInterpreterTool):
    def __init__(
        self, authorized_imports: list[str] | None = None, timeout_s: float | None = None
    ) -> None:
        super().__init__(authorized_imports=authorized_imports)
        self.timeout_s = DEFAULT_CODE_TIMEOUT_S if timeout_s is None else timeout_s

    def forward(self, code: str) -> str:
        executor = ProcessExecutor(
            list(self.authorized_imports), timeout_s=self.timeout_s
        )  # a fresh interpreter per call, as smolagents' tool has
        try:
            executor.send_tools({})
            result = executor(code)
        finally:
            executor.cleanup()
        return f"Stdout:\n{result.logs}\nOutput: {result.output}"
