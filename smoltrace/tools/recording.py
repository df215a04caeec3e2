"""Recording which tools actually ran, for scoring tool use."""

from __future__ import annotations

from typing import Any

from smolagents import Tool

__all__ = ["record_tool_calls"]


def record_tool_calls(tool: Tool, log: list[str]) -> Tool:
    """Wrap `tool.forward` so each execution appends the tool's name to `log`.

    This is how code agents get real tool detection: the names come from what the executor ran, not
    from guessing at the code text. The log belongs to one agent (one worker thread), because the
    code executor may call tools from a thread of its own.
    """
    forward = tool.forward

    def recording_forward(*args: Any, **kwargs: Any) -> Any:
        log.append(tool.name)
        return forward(*args, **kwargs)

    tool.forward = recording_forward  # type: ignore[method-assign]
    return tool
