"""Tools the evaluated agents can call.

`defaults` holds the deterministic, offline tools every agent gets; `registry` the opt-in tools of
`--enable-tools` and how one agent's tool set is built; `recording` how the harness learns which tools
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
from .registry import OPTIONAL_TOOLS, build_tools, tool_names, validate_tool_names

__all__ = [
    "DEFAULT_TOOL_CLASSES",
    "OPTIONAL_TOOLS",
    "CalculatorTool",
    "OfflineSearchTool",
    "TimeTool",
    "WeatherTool",
    "build_tools",
    "record_tool_calls",
    "safe_arithmetic",
    "tool_names",
    "validate_tool_names",
    "weather_for",
]
