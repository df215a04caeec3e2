"""Tools the evaluated agents can call.

`defaults` holds the deterministic, offline tools every agent gets; `registry` the opt-in tools of
`--enable-tools` and how one agent's tool set is built; `sandbox` the folder the file tools are
confined to (`files`, `text`) and the guard that turns a tool's failure into a result; `system` and
`network` the process, environment and network tools; `recording` how the harness learns which tools
really ran.
"""

from .defaults import (
    DEFAULT_TOOL_CLASSES,
    CalculatorTool,
    OfflineSearchTool,
    TimeTool,
    WeatherTool,
    safe_arithmetic,
    weather_for,
)
from .recording import record_tool_calls
from .registry import (
    OPTIONAL_TOOLS,
    TOOL_GROUPS,
    WORKING_DIRECTORY_TOOLS,
    build_tools,
    check_tool_config,
    tool_names,
    validate_tool_names,
)
from .sandbox import Sandbox, ToolRefusal

__all__ = [
    "DEFAULT_TOOL_CLASSES",
    "OPTIONAL_TOOLS",
    "TOOL_GROUPS",
    "WORKING_DIRECTORY_TOOLS",
    "CalculatorTool",
    "OfflineSearchTool",
    "Sandbox",
    "TimeTool",
    "ToolRefusal",
    "WeatherTool",
    "build_tools",
    "check_tool_config",
    "record_tool_calls",
    "safe_arithmetic",
    "tool_names",
    "validate_tool_names",
    "weather_for",
]
