"""The default tools every agent gets.

They are deterministic and offline on purpose: an evaluation measures whether the agent picks and uses
the right tool, so the tools must answer the same way on every run and machine.
"""

from __future__ import annotations

import ast
import hashlib
import operator
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smolagents import Tool

__all__ = [
    "DEFAULT_TOOL_CLASSES",
    "CalculatorTool",
    "OfflineSearchTool",
    "TimeTool",
    "WeatherTool",
    "safe_arithmetic",
    "weather_for",
]

_KNOWN_WEATHER = {
    "paris": (22, "Clear"),
    "london": (15, "Cloudy"),
    "tokyo": (18, "Clear"),
    "sydney": (25, "Sunny"),
    "new york": (19, "Partly cloudy"),
}
_CONDITIONS = ("Clear", "Cloudy", "Rain", "Sunny", "Partly cloudy", "Windy")


def weather_for(location: str) -> tuple[int, str]:
    """Deterministic (temperature °C, condition) for a location: fixed for known cities, hashed otherwise."""
    key = location.split(",")[0].strip().lower()
    if key in _KNOWN_WEATHER:
        return _KNOWN_WEATHER[key]
    digest = hashlib.sha256(key.encode()).digest()
    return 5 + digest[0] % 26, _CONDITIONS[digest[1] % len(_CONDITIONS)]


class WeatherTool(Tool):
    name = "get_weather"
    description = (
        "Gets the current weather for a location. Returns temperature in Celsius and conditions."
    )
    inputs = {
        "location": {"type": "string", "description": "City and country, e.g. 'Paris, France'"}
    }
    output_type = "string"

    def forward(self, location: str) -> str:
        temperature, condition = weather_for(location)
        return f"Weather in {location}: {temperature}°C, {condition}"


_BINARY_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY_OPS: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
MAX_EXPRESSION_CHARS = 256
MAX_EXPONENT = 100
MAX_MAGNITUDE = 1e100


def safe_arithmetic(expression: str) -> int | float:
    """Evaluate + - * / // % ** on numbers by walking the AST: no names, calls or attribute access."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")

    def walk(node: ast.AST) -> int | float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPS:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
                raise ValueError(f"exponent larger than {MAX_EXPONENT}")
            result = _BINARY_OPS[type(node.op)](left, right)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY_OPS:
            result = _UNARY_OPS[type(node.op)](walk(node.operand))
        else:
            raise ValueError(
                f"unsupported element '{type(node).__name__}'; only arithmetic is allowed"
            )
        if isinstance(result, complex) or abs(result) > MAX_MAGNITUDE:
            raise ValueError("result out of range")
        return result

    return walk(ast.parse(expression.strip(), mode="eval"))


class CalculatorTool(Tool):
    name = "calculator"
    description = "Evaluates an arithmetic expression with + - * / // % ** and parentheses."
    inputs = {
        "expression": {"type": "string", "description": "Arithmetic expression, e.g. '234 * 67'"}
    }
    output_type = "string"

    def forward(self, expression: str) -> str:
        try:
            value = safe_arithmetic(expression)
        except (ValueError, SyntaxError, ZeroDivisionError, OverflowError) as exc:
            return f"Error calculating: {exc}"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return f"Result: {value}"


class TimeTool(Tool):
    name = "get_current_time"
    description = "Gets the current date and time in a timezone (IANA name such as 'Europe/Paris'; default UTC)."
    inputs = {
        "timezone": {
            "type": "string",
            "description": "IANA timezone name, e.g. 'UTC' or 'Asia/Tokyo'",
            "nullable": True,
        }
    }
    output_type = "string"

    def forward(self, timezone: str | None = "UTC") -> str:
        name = timezone or "UTC"
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return f"Error: unknown timezone '{name}'; use an IANA name such as 'UTC' or 'Europe/Paris'"
        return f"Current time in {name}: {datetime.now(zone):%Y-%m-%d %H:%M:%S %Z}"


_CORPUS = {
    "python": "Python is a high-level, general-purpose programming language created by Guido van "
    "Rossum and first released in 1991. Its design emphasises code readability.",
    "machine learning": "Machine learning is a field of artificial intelligence in which systems learn "
    "patterns from data to make predictions or decisions without explicit rules.",
    "ai": "AI news: research labs keep releasing larger language models and agent frameworks; "
    "regulators discuss AI safety rules.",
}


class OfflineSearchTool(Tool):
    """A search over a small built-in corpus, so search tasks run offline and reproducibly."""

    name = "web_search"
    description = (
        "Searches a small offline reference corpus (Python, machine learning, AI news) and returns "
        "the matching snippets."
    )
    inputs = {"query": {"type": "string", "description": "What to search for"}}
    output_type = "string"

    def forward(self, query: str) -> str:
        lowered = query.lower()  # whole words only: 'ai' must not match 'Thailand' or 'said'
        hits = [t for topic, t in _CORPUS.items() if re.search(rf"\b{re.escape(topic)}\b", lowered)]
        if not hits:
            return f"No results found for '{query}'."
        return "\n".join(f"- {hit}" for hit in hits)


DEFAULT_TOOL_CLASSES: tuple[type[Tool], ...] = (
    WeatherTool,
    CalculatorTool,
    TimeTool,
    OfflineSearchTool,
)
