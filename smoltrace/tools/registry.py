"""The `--enable-tools` registry: which optional tools exist, and building one agent's tool set."""

from __future__ import annotations

from smolagents import Tool

from ..errors import ConfigError
from .defaults import DEFAULT_TOOL_CLASSES

__all__ = ["OPTIONAL_TOOLS", "build_tools", "tool_names", "validate_tool_names"]


# name -> (smolagents.default_tools class name, needs network)
OPTIONAL_TOOLS: dict[str, str] = {
    "duckduckgo_search": "DuckDuckGoSearchTool",
    "visit_webpage": "VisitWebpageTool",
    "python_interpreter": "PythonInterpreterTool",
    "wikipedia_search": "WikipediaSearchTool",
    "google_search": "GoogleSearchTool",
}


def validate_tool_names(names: list[str] | None) -> list[str]:
    """Reject unknown `--enable-tools` names instead of silently ignoring them."""
    names = list(names or [])
    unknown = [n for n in names if n not in OPTIONAL_TOOLS]
    if unknown:
        raise ConfigError(
            f"unknown tool name(s) for --enable-tools: {', '.join(unknown)}; "
            f"available: {', '.join(OPTIONAL_TOOLS)}"
        )
    return names


def tool_names(enabled: list[str] | None = None) -> set[str]:
    """Names of the tools an agent of this run gets (without building them)."""
    from smolagents import default_tools

    # an optional tool's own name can differ from its --enable-tools name (both searches are
    # "web_search"), and that name is what agents call and tasks expect
    optional = {
        getattr(default_tools, OPTIONAL_TOOLS[n]).name for n in validate_tool_names(enabled)
    }
    return {cls.name for cls in DEFAULT_TOOL_CLASSES} | optional


def build_tools(
    enabled: list[str] | None = None,
    *,
    search_provider: str = "duckduckgo",
    additional_imports: list[str] | None = None,
) -> list[Tool]:
    """Fresh tool instances for one agent: the defaults plus the opt-in smolagents tools."""
    tools: dict[str, Tool] = {cls.name: cls() for cls in DEFAULT_TOOL_CLASSES}
    from smolagents import default_tools

    for name in validate_tool_names(enabled):
        cls = getattr(default_tools, OPTIONAL_TOOLS[name])
        if name == "python_interpreter":
            tool = cls(
                authorized_imports=sorted(
                    {"math", "statistics", "datetime", *(additional_imports or [])}
                )
            )
        elif name == "google_search":
            tool = cls(provider=search_provider)
        else:
            tool = cls()
        tools[tool.name] = tool  # a real web_search replaces the offline one
    return list(tools.values())
