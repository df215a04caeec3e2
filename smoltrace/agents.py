"""Agent construction: ToolCallingAgent or CodeAgent over a model and the tool set, from a prompt config.

A `--prompt-yml` file may be in smolagents' own template layout (top-level `system_prompt`,
`planning`, `managed_agent`, `final_answer`) or hold agent settings (`max_steps`, `planning_interval`,
...). Template sections are merged over the agent's default templates, so a partial file works.
"""

from __future__ import annotations

import copy
import importlib.resources
import logging
import re
import sys
from pathlib import Path
from typing import Any, TextIO, cast

import yaml

from .errors import ConfigError
from .redaction import RedactingStream
from .sandbox import check_imports, check_prompt_templates, check_template
from .sandbox.executor import DEFAULT_CODE_TIMEOUT_S, ProcessExecutor, stop_on_code_limit
from .tools import build_tools, record_tool_calls

logger = logging.getLogger(__name__)

AGENT_TYPES = ("tool", "code")
DEFAULT_MAX_STEPS = 6
# The CodeAgent's own default imports plus these; widen with --additional-imports.
BASE_AUTHORIZED_IMPORTS = ["math", "statistics", "datetime"]

TEMPLATE_KEYS = ("system_prompt", "planning", "managed_agent", "final_answer")
SETTING_KEYS = (
    "max_steps",
    "name",
    "description",
    "verbosity_level",
    "planning_interval",
    "additional_authorized_imports",
)
PROMPT_KEYS = (*TEMPLATE_KEYS, *SETTING_KEYS, "prompt_templates", "grammar")


def load_prompt_config(prompt_file: str | None) -> dict[str, Any] | None:
    """Read and check a prompt YAML; None when no file is given. Bad files are a ConfigError."""
    if not prompt_file:
        return None
    path = Path(prompt_file)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read --prompt-yml {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot read --prompt-yml {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"--prompt-yml {path}{where}: invalid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"--prompt-yml {path}: the top level must be a mapping of settings")
    unknown = sorted(set(data) - set(PROMPT_KEYS))
    if unknown:
        raise ConfigError(
            f"--prompt-yml {path}: unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(PROMPT_KEYS)}"
        )
    # planning_interval 0 would divide by zero inside smolagents on the second step
    for key, least in (("max_steps", 1), ("planning_interval", 1), ("verbosity_level", 0)):
        if key in data and (
            not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] < least
        ):
            raise ConfigError(f"--prompt-yml {path}: '{key}' must be an integer >= {least}")
    for key in ("planning", "managed_agent", "final_answer", "prompt_templates"):
        if key in data and not isinstance(data[key], dict):
            raise ConfigError(f"--prompt-yml {path}: '{key}' must be a mapping")
    if "system_prompt" in data and not isinstance(data["system_prompt"], str):
        raise ConfigError(f"--prompt-yml {path}: 'system_prompt' must be a string")
    imports = data.get("additional_authorized_imports")
    if imports is not None and (
        not isinstance(imports, list) or not all(isinstance(m, str) for m in imports)
    ):
        raise ConfigError(
            f"--prompt-yml {path}: 'additional_authorized_imports' must be a list of module names"
        )
    _check_templates(data, f"--prompt-yml {path}")
    return data


def _check_templates(config: dict[str, Any], origin: str) -> None:
    """Every template the config supplies must pass the sandbox allow-list (see sandbox.templates)."""
    if isinstance(config.get("prompt_templates"), dict):
        check_prompt_templates(config["prompt_templates"], origin)
    for key in TEMPLATE_KEYS:
        if key in config and isinstance(config[key], dict):
            check_prompt_templates({key: config[key]}, origin)
        elif key in config:
            check_template(config[key], f"{origin}: template '{key}'")


# The variables smolagents renders each template with (StrictUndefined: any other name fails).
TEMPLATE_VARIABLES: dict[tuple[str, ...], frozenset[str]] = {
    ("system_prompt",): frozenset(
        {
            "tools",
            "managed_agents",
            "custom_instructions",
            "authorized_imports",
            "code_block_opening_tag",
            "code_block_closing_tag",
        }
    ),
    ("planning", "initial_plan"): frozenset({"task", "tools", "managed_agents"}),
    ("planning", "update_plan_pre_messages"): frozenset({"task"}),
    ("planning", "update_plan_post_messages"): frozenset(
        {"task", "tools", "managed_agents", "remaining_steps"}
    ),
    ("final_answer", "pre_messages"): frozenset(),
    ("final_answer", "post_messages"): frozenset({"task"}),
    ("managed_agent", "task"): frozenset({"name", "task"}),
    ("managed_agent", "report"): frozenset({"name", "final_answer"}),
}


def check_template_variables(templates: dict[str, Any]) -> None:
    """Every template uses only the variables smolagents renders it with (after the sandbox check).

    smolagents renders most templates only when a task reaches them (planning, max steps) and with
    StrictUndefined, so a misspelt variable would otherwise fail mid-run, after paid model calls.
    """
    import jinja2
    from jinja2 import meta

    environment = jinja2.Environment()
    for keys, allowed in TEMPLATE_VARIABLES.items():
        value: Any = templates
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        name = ".".join(keys)
        if not isinstance(value, str):
            raise ConfigError(f"prompt template '{name}' must be a string")
        try:
            unknown = sorted(meta.find_undeclared_variables(environment.parse(value)) - allowed)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"prompt template '{name}' line {exc.lineno}: Jinja syntax error ({exc.message}); "
                "fix the template in --prompt-yml"
            ) from None
        if unknown:
            raise ConfigError(
                f"prompt template '{name}' uses undefined variable(s) {', '.join(unknown)}; "
                f"available: {', '.join(sorted(allowed)) or 'none'}"
            )


def _default_templates(agent_type: str) -> dict[str, Any]:
    name = "toolcalling_agent.yaml" if agent_type == "tool" else "code_agent.yaml"
    text = importlib.resources.files("smolagents.prompts").joinpath(name).read_text()
    return yaml.safe_load(text)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def agent_settings(prompt_config: dict[str, Any] | None, agent_type: str) -> dict[str, Any]:
    """Keyword arguments for the agent constructor from a loaded prompt config."""
    config = prompt_config or {}
    overrides = dict(config.get("prompt_templates") or {})
    overrides.update({k: config[k] for k in TEMPLATE_KEYS if k in config})
    settings: dict[str, Any] = {k: config[k] for k in SETTING_KEYS if k in config}
    if "grammar" in config:
        logger.warning(
            "--prompt-yml: 'grammar' is not supported by current smolagents and is ignored"
        )
    if overrides:
        settings["prompt_templates"] = _merge(_default_templates(agent_type), overrides)
        # smolagents renders these unsandboxed (the system prompt already while building the agent)
        check_prompt_templates(settings["prompt_templates"], "prompt config")
        check_template_variables(settings["prompt_templates"])
    if agent_type == "tool":
        settings.pop("additional_authorized_imports", None)
    return settings


def build_agent(
    agent_type: str,
    model: Any,
    *,
    prompt_config: dict[str, Any] | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    enabled_tools: list[str] | None = None,
    additional_imports: list[str] | None = None,
    search_provider: str = "duckduckgo",
    verbose_agent: bool = False,
    allow_host_access: bool = False,
    extra_tools: list[Any] | None = None,
    working_directory: str | None = None,
    allow_local_network: bool = False,
    code_timeout: float | None = DEFAULT_CODE_TIMEOUT_S,
) -> Any:
    """A fresh agent of `agent_type` ('tool' or 'code') with its own tool instances.

    A `max_steps` in the prompt config wins over the CLI default, as in the original. The agent's
    own console log is off unless `verbose_agent` (it would tear the progress display apart, and
    every step error it prints is kept in the record and the trace anyway). Host-access imports
    are refused here too unless `allow_host_access`, so no caller can skip that check.
    `extra_tools` (fresh MCP tools for this agent) join the built-in ones and are recorded alike.
    A CodeAgent's code runs in a child process killed after `code_timeout` seconds, which ends
    the task with that error (see sandbox.executor).
    """
    try:
        return _build_agent(
            agent_type,
            model,
            prompt_config=prompt_config,
            max_steps=max_steps,
            enabled_tools=enabled_tools,
            additional_imports=additional_imports,
            search_provider=search_provider,
            verbose_agent=verbose_agent,
            allow_host_access=allow_host_access,
            extra_tools=extra_tools,
            working_directory=working_directory,
            allow_local_network=allow_local_network,
            code_timeout=code_timeout,
        )
    except ConfigError:
        raise
    except Exception as exc:  # smolagents' own checks: imports, template rendering
        raise ConfigError(_construction_problem(agent_type, exc)) from None


def _construction_problem(agent_type: str, exc: Exception) -> str:
    message = " ".join(str(exc).split())
    missing = re.search(r"Non-installed authorized modules: (.+?)\. Please", message)
    if missing:
        return (
            f"the {agent_type} agent cannot import module(s) {missing.group(1)} "
            "(--additional-imports or additional_authorized_imports): they are not installed; "
            "install them or remove them"
        )
    if "jinja" in message.lower():
        return (
            f"the {agent_type} agent's prompt template does not render: {message}; "
            "fix the template in --prompt-yml"
        )
    return f"cannot build the {agent_type} agent: {type(exc).__name__}: {message}"


def check_agents(
    agent_types: list[str],
    *,
    prompt_config: dict[str, Any] | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    enabled_tools: list[str] | None = None,
    additional_imports: list[str] | None = None,
    search_provider: str = "duckduckgo",
    allow_host_access: bool = False,
    working_directory: str | None = None,
    allow_local_network: bool = False,
) -> None:
    """Build every agent type of the run once, before any model call: a ConfigError if one fails.

    Uses the offline oracle as a stand-in model, so nothing is loaded or called; what is checked
    is what the agent constructor checks (imports, the system prompt), plus every template. MCP
    tools are not built here (their servers are checked when the run connects, also before any
    model call).
    """
    if additional_imports is not None and (
        isinstance(additional_imports, str)
        or not all(isinstance(m, str) and m for m in additional_imports)
    ):
        raise ConfigError("additional_imports must be a list of module names, e.g. ['json']")
    if "code" in agent_types:
        wanted = [
            *(additional_imports or []),
            *(prompt_config or {}).get("additional_authorized_imports", []),
        ]
        missing = sorted({m for m in wanted if not _importable(m)})
        if missing:
            raise ConfigError(
                f"the code agent cannot import module(s) {', '.join(missing)} "
                "(--additional-imports or additional_authorized_imports): they are not installed; "
                "install them or remove them"
            )
    from .mock import OracleModel

    for agent_type in agent_types:
        build_agent(
            agent_type,
            OracleModel([]),
            prompt_config=prompt_config,
            max_steps=max_steps,
            enabled_tools=enabled_tools,
            additional_imports=additional_imports,
            search_provider=search_provider,
            allow_host_access=allow_host_access,
            working_directory=working_directory,
            allow_local_network=allow_local_network,
        )


def _importable(module: str) -> bool:
    """Whether an authorized-import entry names an installed module (`*` and `pkg.*` included)."""
    import importlib.util

    name = module.strip().removesuffix(".*")
    if name == "*":
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package missing, or a malformed name
        return False


def _build_agent(
    agent_type: str,
    model: Any,
    *,
    prompt_config: dict[str, Any] | None,
    max_steps: int,
    enabled_tools: list[str] | None,
    additional_imports: list[str] | None,
    search_provider: str,
    verbose_agent: bool,
    allow_host_access: bool,
    extra_tools: list[Any] | None,
    working_directory: str | None,
    allow_local_network: bool,
    code_timeout: float | None,
) -> Any:
    from smolagents import CodeAgent, ToolCallingAgent

    tool_log: list[str] = []
    tools = [
        record_tool_calls(t, tool_log)
        for t in [
            *build_tools(
                enabled_tools,
                search_provider=search_provider,
                additional_imports=additional_imports,
                working_directory=working_directory,
                allow_local_network=allow_local_network,
            ),
            *(extra_tools or []),
        ]
    ]
    check_imports(
        additional_imports,
        (prompt_config or {}).get("additional_authorized_imports"),
        allow_host_access,
    )
    settings = agent_settings(prompt_config, agent_type)
    settings.setdefault("max_steps", max_steps)
    settings.setdefault("verbosity_level", 1 if verbose_agent else -1)
    if settings["verbosity_level"] >= 0:
        # the agent prints model errors, which can echo a key: its console is redacted too
        from rich.console import Console
        from smolagents.monitoring import AgentLogger, LogLevel

        console = Console(file=cast(TextIO, RedactingStream(sys.stdout)), highlight=False)
        settings["logger"] = AgentLogger(LogLevel(settings.pop("verbosity_level")), console)
    if agent_type == "tool":
        agent = ToolCallingAgent(tools=tools, model=model, **settings)
    else:
        imports = sorted(
            {
                *BASE_AUTHORIZED_IMPORTS,
                *settings.pop("additional_authorized_imports", []),
                *(additional_imports or []),
            }
        )
        agent = CodeAgent(
            tools=tools,
            model=model,
            executor=ProcessExecutor(imports, timeout_s=code_timeout),
            additional_authorized_imports=imports,
            step_callbacks=[stop_on_code_limit],
            **settings,
        )
    agent.smoltrace_tool_log = tool_log  # read by the runner: the tools this agent's code executed
    return agent
