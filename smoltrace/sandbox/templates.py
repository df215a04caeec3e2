"""Prompt templates that can only insert variables, loop and branch.

smolagents renders prompt templates with a plain `jinja2.Template`, whose expressions can reach any
Python object (`{{ cycler.__init__.__globals__.os.system(...) }}`), and it renders the system prompt
while the agent is built. So every template is checked here first, against an allow-list of Jinja
syntax: names, attribute and constant-key lookups that do not start with `_`, a few read-only
method calls (`tools.values()`, `tool.to_code_prompt()`, ...), harmless filters and tests, `if`,
`for` (nested at most two deep) and integer constants up to 10 000. Anything else (other calls,
`include`/`import`, macros, `set`, and `*`/`**`/`%` that could build huge strings) is refused with
the template's name and line.
A template that passes cannot execute anything when smolagents renders it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from ..errors import ConfigError

__all__ = ["ALLOWED_FILTERS", "ALLOWED_METHODS", "check_prompt_templates", "check_template"]

MAX_TEMPLATE_CHARS = 100_000
MAX_LOOP_DEPTH = 2
MAX_INTEGER = 10_000  # bounds e.g. indent(width) and truncate(length)
# Read-only methods smolagents' own templates call, plus a few string helpers.
ALLOWED_METHODS = frozenset(
    {
        "values",
        "keys",
        "items",
        "to_code_prompt",
        "to_tool_calling_prompt",
        "strip",
        "lower",
        "upper",
        "title",
        "startswith",
        "endswith",
        "split",
    }
)
ALLOWED_FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "count",
        "d",
        "default",
        "dictsort",
        "e",
        "escape",
        "first",
        "float",
        "indent",
        "int",
        "items",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "replace",
        "round",
        "safe",
        "string",
        "title",
        "tojson",
        "trim",
        "truncate",
        "upper",
    }
)
ALLOWED_TESTS = frozenset(
    {
        "boolean",
        "defined",
        "divisibleby",
        "eq",
        "equalto",
        "even",
        "false",
        "float",
        "ge",
        "gt",
        "in",
        "integer",
        "iterable",
        "le",
        "lt",
        "mapping",
        "ne",
        "none",
        "number",
        "odd",
        "sequence",
        "string",
        "true",
        "undefined",
    }
)
# Node types that only combine values already checked (their children are walked).
_PLAIN_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.Name,
    nodes.If,
    nodes.CondExpr,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
    nodes.Add,
    nodes.Sub,
    nodes.Neg,
    nodes.Pos,
    nodes.List,
    nodes.Tuple,
    nodes.Dict,
    nodes.Pair,
    nodes.Keyword,
    nodes.Slice,
)


class _Refused(Exception):
    def __init__(self, node: nodes.Node, reason: str) -> None:
        super().__init__(reason)
        self.lineno = getattr(node, "lineno", None)


def _walk(node: nodes.Node, loop_depth: int = 0) -> None:
    if isinstance(node, nodes.For):
        if node.recursive:
            raise _Refused(node, "recursive loops are not allowed")
        if loop_depth >= MAX_LOOP_DEPTH:
            raise _Refused(node, f"loops nested deeper than {MAX_LOOP_DEPTH} are not allowed")
        for child in node.iter_child_nodes():
            _walk(child, loop_depth + 1)
        return
    if isinstance(node, nodes.Const) and isinstance(node.value, (int, float)):
        if abs(node.value) > MAX_INTEGER:
            raise _Refused(node, f"numbers beyond {MAX_INTEGER} are not allowed")
    elif isinstance(node, nodes.Getattr):
        if node.attr.startswith("_"):
            raise _Refused(node, f"attribute '{node.attr}' is private and not allowed")
    elif isinstance(node, nodes.Getitem):
        key = node.arg
        if isinstance(key, nodes.Slice):
            pass
        elif not isinstance(key, nodes.Const) or not isinstance(key.value, (str, int)):
            raise _Refused(node, "only constant keys are allowed in [...] lookups")
        elif isinstance(key.value, str) and key.value.startswith("_"):
            raise _Refused(node, f"key '{key.value}' is private and not allowed")
    elif isinstance(node, nodes.Call):
        callee = node.node
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Refused(node, "*args and **kwargs in calls are not allowed")
        if not isinstance(callee, nodes.Getattr) or callee.attr not in ALLOWED_METHODS:
            name = callee.attr if isinstance(callee, nodes.Getattr) else _describe(callee)
            raise _Refused(
                node,
                f"calling '{name}' is not allowed (allowed: "
                f"{', '.join(f'{m}()' for m in sorted(ALLOWED_METHODS))})",
            )
    elif isinstance(node, nodes.Filter):
        if node.name not in ALLOWED_FILTERS:
            raise _Refused(node, f"filter '{node.name}' is not allowed")
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise _Refused(node, "*args and **kwargs in filters are not allowed")
    elif isinstance(node, nodes.Test):
        if node.name not in ALLOWED_TESTS:
            raise _Refused(node, f"test '{node.name}' is not allowed")
    elif not isinstance(node, _PLAIN_NODES):
        raise _Refused(node, f"'{_describe(node)}' is not allowed in prompt templates")
    for child in node.iter_child_nodes():
        _walk(child, loop_depth)


def _describe(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    labels = {
        "Include": "include",
        "Import": "import",
        "FromImport": "from ... import",
        "Extends": "extends",
        "Assign": "set",
        "AssignBlock": "set block",
        "Macro": "macro",
        "CallBlock": "call block",
        "FilterBlock": "filter block",
        "Pow": "**",
        "Mul": "*",
        "Mod": "%",
        "Div": "/",
        "FloorDiv": "//",
    }
    return labels.get(type(node).__name__, type(node).__name__)


def check_template(source: str, where: str) -> None:
    """Raise ConfigError (naming `where` and the line) unless `source` passes the allow-list."""
    if not isinstance(source, str):
        raise ConfigError(f"{where}: a template must be a string, got {type(source).__name__}")
    if len(source) > MAX_TEMPLATE_CHARS:
        raise ConfigError(f"{where}: template longer than {MAX_TEMPLATE_CHARS} characters")
    try:
        tree = SandboxedEnvironment().parse(source)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"{where} line {exc.lineno}: invalid template ({exc.message})") from None
    try:
        _walk(tree)
    except _Refused as exc:
        line = f" line {exc.lineno}" if exc.lineno else ""
        raise ConfigError(
            f"{where}{line}: {exc}; prompt templates may only insert variables, loop and branch"
        ) from None


def check_prompt_templates(templates: Mapping[str, Any], origin: str) -> None:
    """Check every template string in a (nested) prompt-templates mapping."""

    def visit(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                visit(item, f"{path}.{key}" if path else str(key))
        else:
            check_template(value, f"{origin}: template '{path}'")

    visit(templates, "")
