"""The `--enable-tools` registry: which optional tools exist, and building one agent's tool set.

Optional tools are smolagents' own (web search, webpage visits, a Python interpreter) and smoltrace's
file, text and system tools. The file and text tools, and `kill`, work inside `--working-directory`
only, and are refused when none is given: there is no implicit sandbox, and never the current folder
(which usually holds the `.env` with the user's keys). `curl` and `ping` reach public addresses only,
unless `--allow-local-network`.
"""

from __future__ import annotations

import os

from smolagents import Tool

from ..errors import ConfigError
from .defaults import DEFAULT_TOOL_CLASSES
from .files import FileSearchTool, ListDirectoryTool, ReadFileTool, WriteFileTool
from .network import CurlTool, PingTool
from .sandbox import Sandbox
from .system import EnvTool, KillTool, PsTool, WhichTool
from .text import GrepTool, HeadTailTool, SedTool, SortTool

__all__ = [
    "OPTIONAL_TOOLS",
    "TOOL_GROUPS",
    "WORKING_DIRECTORY_TOOLS",
    "build_tools",
    "check_tool_config",
    "tool_names",
    "validate_tool_names",
]

# --enable-tools name -> smolagents.default_tools class name
SMOLAGENTS_TOOLS: dict[str, str] = {
    "duckduckgo_search": "DuckDuckGoSearchTool",
    "visit_webpage": "VisitWebpageTool",
    "python_interpreter": "PythonInterpreterTool",
    "wikipedia_search": "WikipediaSearchTool",
    "google_search": "GoogleSearchTool",
}
SANDBOXED_TOOLS: dict[str, type[Tool]] = {
    cls.name: cls
    for cls in (
        ReadFileTool,
        WriteFileTool,
        ListDirectoryTool,
        FileSearchTool,
        GrepTool,
        SedTool,
        SortTool,
        HeadTailTool,
        KillTool,
    )
}
NETWORK_TOOLS: dict[str, type[Tool]] = {cls.name: cls for cls in (CurlTool, PingTool)}
PLAIN_TOOLS: dict[str, type[Tool]] = {cls.name: cls for cls in (PsTool, EnvTool, WhichTool)}
WORKING_DIRECTORY_TOOLS = frozenset(SANDBOXED_TOOLS)

# every --enable-tools name, with where it comes from
OPTIONAL_TOOLS: dict[str, str] = {
    **{name: "smolagents" for name in SMOLAGENTS_TOOLS},
    **{name: "file" for name in ("read_file", "write_file", "list_directory", "search_files")},
    **{name: "text" for name in ("grep", "sed", "sort", "head_tail")},
    **{name: "system" for name in ("ps", "kill", "env", "which", "curl", "ping")},
}
# group names accepted by --enable-tools as shorthand
TOOL_GROUPS: dict[str, tuple[str, ...]] = {
    f"{group}_tools": tuple(n for n, g in OPTIONAL_TOOLS.items() if g == group)
    for group in ("file", "text", "system")
}


def validate_tool_names(names: list[str] | None) -> list[str]:
    """The `--enable-tools` names with groups expanded; unknown names are an error, not ignored."""
    expanded: list[str] = []
    unknown = []
    for name in names or []:
        if name in TOOL_GROUPS:
            expanded += TOOL_GROUPS[name]
        elif name in OPTIONAL_TOOLS:
            expanded.append(name)
        else:
            unknown.append(name)
    if unknown:
        raise ConfigError(
            f"unknown tool name(s) for --enable-tools: {', '.join(unknown)}; "
            f"available: {', '.join(OPTIONAL_TOOLS)} (groups: {', '.join(TOOL_GROUPS)})"
        )
    return list(dict.fromkeys(expanded))


def check_tool_config(
    names: list[str] | None, working_directory: str | os.PathLike[str] | None
) -> None:
    """Tools that work on files need an explicit --working-directory that exists."""
    needing = [n for n in validate_tool_names(names) if n in WORKING_DIRECTORY_TOOLS]
    if needing and not working_directory:
        raise ConfigError(
            f"the tool(s) {' '.join(needing)} work only inside a sandbox folder: pass "
            "--working-directory DIR (there is no default, and never the current folder)"
        )
    if working_directory and not os.path.isdir(working_directory):
        raise ConfigError(f"--working-directory {working_directory} is not an existing folder")


def tool_names(enabled: list[str] | None = None) -> set[str]:
    """Names of the tools an agent of this run gets (without building them)."""
    from smolagents import default_tools

    # a smolagents tool's own name can differ from its --enable-tools name (both searches are
    # "web_search"), and that name is what agents call and tasks expect
    optional = {
        getattr(default_tools, SMOLAGENTS_TOOLS[n]).name if n in SMOLAGENTS_TOOLS else n
        for n in validate_tool_names(enabled)
    }
    return {cls.name for cls in DEFAULT_TOOL_CLASSES} | optional


def build_tools(
    enabled: list[str] | None = None,
    *,
    search_provider: str = "duckduckgo",
    additional_imports: list[str] | None = None,
    working_directory: str | os.PathLike[str] | None = None,
    allow_local_network: bool = False,
) -> list[Tool]:
    """Fresh tool instances for one agent: the defaults plus the opt-in tools.

    The sandboxed tools of one agent share one `Sandbox` (and so one write quota).
    """
    names = validate_tool_names(enabled)
    check_tool_config(names, working_directory)
    tools: dict[str, Tool] = {cls.name: cls() for cls in DEFAULT_TOOL_CLASSES}
    sandbox = Sandbox(working_directory) if working_directory else None
    for name in names:
        if name in SMOLAGENTS_TOOLS:
            tool = _smolagents_tool(name, search_provider, additional_imports)
        elif name in SANDBOXED_TOOLS:
            tool = SANDBOXED_TOOLS[name](sandbox)  # type: ignore[call-arg]
        elif name in NETWORK_TOOLS:
            tool = NETWORK_TOOLS[name](allow_local_network=allow_local_network)  # type: ignore[call-arg]
        else:
            tool = PLAIN_TOOLS[name]()
        tools[tool.name] = tool  # a real web_search replaces the offline one
    return list(tools.values())


def _smolagents_tool(name: str, search_provider: str, additional_imports: list[str] | None) -> Tool:
    from smolagents import default_tools

    cls = getattr(default_tools, SMOLAGENTS_TOOLS[name])
    if name == "python_interpreter":
        from .python_interpreter import BoundedPythonInterpreterTool

        return BoundedPythonInterpreterTool(
            authorized_imports=sorted(
                {"math", "statistics", "datetime", *(additional_imports or [])}
            )
        )
    if name == "google_search":
        from .search import search_tool

        return search_tool(search_provider)
    return cls()
