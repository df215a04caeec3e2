"""`run_evaluation`: the seed's Python API, from validated inputs to records, traces and metrics.

Everything the user can get wrong is checked before the first model call (see `validate_inputs`);
then each agent type runs its tasks, telemetry is extracted and joined to the records by
`test_case_uid`, and the seed's 5-tuple is returned.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, cast

from .agents import AGENT_TYPES, DEFAULT_MAX_STEPS, build_agent, check_agents
from .errors import ConfigError
from .limits import DEFAULT_TASK_TIMEOUT_S, RunControl, bound_tool
from .models import DEFAULT_REQUEST_TIMEOUT_S, build_model, check_provider, parse_model_args
from .otel import setup_inmemory_otel
from .outputs.naming import RUN_ID_PATTERN
from .redaction import RedactingFilter
from .repeats import apply_seed, attempt_seeds, base_seed
from .retry import ConcurrencyLimiter, RetryPolicy, guard_model
from .runner import TaskRecord, run_tasks, test_case_uid
from .sandbox import check_imports
from .sandbox.executor import DEFAULT_CODE_TIMEOUT_S
from .scoring import DEFAULT_KEYWORD_MATCH, KEYWORD_MATCH_RULES, KeywordMatch, keywords_in_prompt
from .tasks import DEFAULT_DATASET, DIFFICULTIES, TaskSet, filter_tasks, load_tasks, validate_tasks
from .telemetry import extract_metrics, extract_traces, finish_otel, link_results_to_traces
from .telemetry.otlp import DEFAULT_TIMEOUT_S, otlp_config
from .tools import check_tool_config, tool_names, validate_tool_names
from .tools.mcp import MCPToolset, connect_mcp_servers, parse_mcp_servers
from .tools.search import check_search_provider

logger = logging.getLogger(__name__)

__all__ = [
    "build_test_case_uid",
    "extract_metrics",
    "extract_traces",
    "run_evaluation",
    "validate_inputs",
]

build_test_case_uid = test_case_uid
SINGLE_WORKER_PROVIDERS = ("transformers",)


def validate_run_id(run_id: str | None) -> str:
    """The given run id if it is safe in file and dataset names, else a fresh UUID4 when None."""
    if run_id is None:
        return str(uuid.uuid4())
    if not RUN_ID_PATTERN.match(run_id):
        raise ConfigError(
            f"--run-id '{run_id}' has characters unsafe for file and dataset names; use letters, "
            "digits, '.', '_' and '-' (at most 128, starting with a letter or digit)"
        )
    return run_id


def effective_workers(provider: str, requested: int, mcp_server_url: Any = None) -> int:
    """Workers to use; `mcp_server_url` is kept for callers (MCP sessions are shared by workers)."""
    if requested < 1:
        raise ConfigError(f"--parallel-workers must be at least 1, got {requested}")
    if requested > 1 and provider in SINGLE_WORKER_PROVIDERS:
        logger.warning(
            "The %s provider runs one model in-process: using 1 worker instead of %d",
            provider,
            requested,
        )
        return 1
    return requested


def normalize_agent_types(agent_types: str | list[str]) -> list[str]:
    """`"both"`, `"tool"`, `["tool", "code"]`, `["both"]` → the agent types to run, in order."""
    names = [agent_types] if isinstance(agent_types, str) else list(agent_types)
    expanded = [t for name in names for t in (("tool", "code") if name == "both" else (name,))]
    return list(dict.fromkeys(expanded))


def validate_inputs(
    *,
    model_name: str,
    agent_types: list[str],
    provider: str,
    test_subset: str | None,
    run_id: str | None,
    parallel_workers: int,
    model_args: dict[str, Any] | list[str] | None,
    enable_tools: list[str] | None,
    api_base: str | None,
    max_steps: int,
    hf_inference_provider: str | None = None,
    keyword_match: str = DEFAULT_KEYWORD_MATCH,
) -> tuple[str, dict[str, Any]]:
    """Check every input that needs no I/O; returns (run_id, model_args as a dict)."""
    if keyword_match not in KEYWORD_MATCH_RULES:
        raise ConfigError(
            f"invalid --keyword-match '{keyword_match}'; use one of {', '.join(KEYWORD_MATCH_RULES)}"
        )
    if not model_name:
        raise ConfigError("no model given; pass --model")
    bad = [a for a in agent_types if a not in AGENT_TYPES]
    if bad or not agent_types:
        raise ConfigError(
            f"invalid agent type(s) {', '.join(map(repr, bad)) or 'none given'}; "
            "use tool, code or both"
        )
    if test_subset is not None and test_subset not in DIFFICULTIES:
        raise ConfigError(
            f"invalid difficulty '{test_subset}'; use one of {', '.join(DIFFICULTIES)}"
        )
    if max_steps < 1:
        raise ConfigError(f"--max-steps must be at least 1, got {max_steps}")
    if parallel_workers < 1:
        raise ConfigError(f"--parallel-workers must be at least 1, got {parallel_workers}")
    validate_tool_names(enable_tools)
    args = model_args if isinstance(model_args, dict) else parse_model_args(model_args)
    check_provider(provider, model_name, api_base, hf_inference_provider)
    return validate_run_id(run_id), args


def run_evaluation(
    model_name: str,
    agent_types: list[str],
    test_subset: str | None = None,
    dataset_name: str = DEFAULT_DATASET,
    split: str = "train",
    enable_otel: bool = False,
    verbose: bool = True,
    debug: bool = False,
    provider: str = "litellm",
    prompt_config: dict[str, Any] | None = None,
    mcp_server_url: Any = None,
    run_id: str | None = None,
    enable_gpu_metrics: bool = False,
    *,
    api_base: str | None = None,
    parallel_workers: int = 1,
    model_args: dict[str, Any] | list[str] | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    dataset_revision: str | None = None,
    enable_tools: list[str] | None = None,
    additional_imports: list[str] | None = None,
    search_provider: str = "duckduckgo",
    hf_inference_provider: str | None = None,
    trust_remote_code: bool = False,
    allow_host_access: bool = False,
    mcp_transport: str = "auto",
    working_directory: str | None = None,
    allow_local_network: bool = False,
    tool_timeout: float | None = DEFAULT_CODE_TIMEOUT_S,
    task_set: TaskSet | None = None,
    on_record: Callable[[TaskRecord], None] | None = None,
    repeats: int = 1,
    seed: int | None = None,
    otlp_endpoint: str | None = None,
    otlp_headers: list[str] | dict[str, str] | None = None,
    otlp_timeout: float = DEFAULT_TIMEOUT_S,
    on_otlp_report: Callable[[dict[str, Any]], None] | None = None,
    keyword_match: str = DEFAULT_KEYWORD_MATCH,
    task_timeout: float | None = DEFAULT_TASK_TIMEOUT_S,
    request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT_S,
    retry_policy: RetryPolicy | None = None,
    limiter: ConcurrencyLimiter | None = None,
    control: RunControl | None = None,
    skip: Callable[[str], bool] | None = None,
) -> tuple[dict[str, list[TaskRecord]], list[dict[str, Any]], dict[str, Any], str, str]:
    """Evaluate `model_name` on the task dataset; returns (all_results, traces, metrics, dataset, run_id).

    `all_results` is `{"tool": [...], "code": [...]}` (both keys always present). Bad inputs raise
    :class:`ConfigError` before any model is called. `task_set` lets a caller that already loaded
    and validated the tasks skip loading them again. Imports that give the agent's code host
    access (`os`, `subprocess`, ...) are refused unless `allow_host_access`. `mcp_server_url`
    (a URL, `name=URL`, or a list of them) adds each MCP server's tools; a server that cannot be
    reached or lists no tools, or a clashing tool name, is a ConfigError before any model call.
    `working_directory` is the folder the file tools are confined to (required when they are
    enabled); `allow_local_network` lets `curl` and `ping` reach loopback and private addresses.
    A CodeAgent's code action is killed after `tool_timeout` seconds, ending its task with that
    error (None: no limit).

    `otlp_endpoint` (an OTLP/HTTP collector's base URL; implies `enable_otel`) also sends the
    run's spans and metrics there, with `otlp_headers` (`["K=V", ...]` or a dict) and at most
    `otlp_timeout` seconds per export; `on_otlp_report` then gets the export's counts (the `otlp`
    block of metadata.json). A collector's failure never fails the run.
    and validated the tasks skip loading them again. `keyword_match` is the rule of
    `response_correct` (`word` or `substring`, see smoltrace.scoring.matching).

    `repeats` runs every task that many times, each attempt in a clean agent, rows carrying
    `attempt` 0..repeats-1; with a `seed` (or a `seed` in `model_args`) attempt k sends seed + k.

    Model calls follow `retry_policy` and share `limiter` (in-flight calls, adapted to 429s); a
    task over `task_timeout` ends with stop_reason `timeout`, a tool call over `tool_timeout`
    raises to the agent; `control` is the stop switch an interrupt flips; `skip(test_case_uid)`
    leaves out tasks already done (a resumed run).
    """
    if debug:
        logging.getLogger("smoltrace").setLevel(logging.DEBUG)
    agent_types = normalize_agent_types(agent_types)
    run_id, args = validate_inputs(
        model_name=model_name,
        agent_types=agent_types,
        provider=provider,
        test_subset=test_subset,
        run_id=run_id,
        parallel_workers=parallel_workers,
        model_args=model_args,
        enable_tools=enable_tools,
        api_base=api_base,
        max_steps=max_steps,
        hf_inference_provider=hf_inference_provider,
        keyword_match=keyword_match,
    )
    seeds = attempt_seeds(repeats, base_seed(repeats, seed, args, provider))
    otlp = otlp_config(otlp_endpoint, otlp_headers, otlp_timeout)
    if otlp is not None:  # exported model-call spans are priced like traces.json
        otlp = dataclasses.replace(otlp, model_id=model_name, provider=provider)
    enable_otel = enable_otel or otlp is not None
    check_tool_config(enable_tools, working_directory)
    check_search_provider(search_provider, enable_tools)
    if task_set is not None:  # given by the caller: validate (cheap) rather than trust
        task_set = TaskSet(
            validate_tasks(task_set.tasks, task_set.source), task_set.source, task_set.revision
        )
    tasks = task_set or load_tasks(dataset_name, split, dataset_revision)
    granted = check_imports(
        additional_imports,
        (prompt_config or {}).get("additional_authorized_imports"),
        allow_host_access,
    )
    if granted:
        logger.warning(
            "--allow-host-access: the CodeAgent may import %s; the model's code can read and "
            "change this machine's files, processes and network",
            ", ".join(granted),
        )
    mcp_servers = parse_mcp_servers(mcp_server_url, mcp_transport)
    selection = {a: filter_tasks(tasks.tasks, a, test_subset) for a in agent_types}
    require_tasks(selection, tasks, test_subset)
    workers = effective_workers(provider, parallel_workers, mcp_server_url)
    warn_echoed_keywords(selection, keyword_match, verbose)
    # every agent type is built once now: a bad import or template fails before any model call
    check_agents(
        [a for a, selected in selection.items() if selected],
        prompt_config=prompt_config,
        max_steps=max_steps,
        enabled_tools=enable_tools,
        additional_imports=additional_imports,
        search_provider=search_provider,
        allow_host_access=allow_host_access,
        working_directory=working_directory,
        allow_local_network=allow_local_network,
    )
    policy = retry_policy or RetryPolicy()
    limiter = limiter or ConcurrencyLimiter(workers)
    control = control or RunControl()

    def _build_model() -> Any:
        model = build_model(
            provider,
            model_name,
            api_base=api_base,
            model_args=args,
            hf_inference_provider=hf_inference_provider,
            trust_remote_code=trust_remote_code,
            tasks=tasks.tasks,
            request_timeout=request_timeout,
        )
        return guard_model(model, policy, limiter)

    # Built now, so a model that cannot load is one clear error before any task runs. Models hold
    # no task state: each worker thread keeps one (the first thread gets this one) for all its
    # tasks and agent types, while every task gets a fresh agent (see runner).
    spare_models = [load_model(_build_model, provider, model_name)]
    spare_lock = threading.Lock()
    per_thread = threading.local()

    def make_model() -> Any:
        if not hasattr(per_thread, "model"):
            with spare_lock:
                spare = spare_models.pop() if spare_models else None
            per_thread.model = spare if spare is not None else _build_model()
        return per_thread.model

    otel = setup_inmemory_otel(enable_otel, "smoltrace-eval", run_id, enable_gpu_metrics, otlp=otlp)
    tracer = otel[0]
    record_done = _progress_reporter(
        repeats * sum(map(len, selection.values())), on_record, verbose
    )
    restore_logging = _show_progress_logs(verbose)

    all_results: dict[str, list[TaskRecord]] = {"tool": [], "code": []}
    offset = 0
    toolset: MCPToolset | None = None
    try:
        if mcp_servers:  # one session per server, shared by every agent and worker
            toolset = connect_mcp_servers(
                mcp_servers, reserved_names={*tool_names(enable_tools), "final_answer"}
            )
        for agent_type, selected in selection.items():
            logger.info(
                "Running %d %s-agent tasks with %d worker(s)%s",
                len(selected),
                agent_type,
                workers,
                f", {repeats} attempts each" if repeats > 1 else "",
            )

            def make_agent(agent_type: str = agent_type, seed: int | None = None) -> Any:
                agent = build_agent(
                    agent_type,
                    apply_seed(make_model(), seed),
                    prompt_config=prompt_config,
                    max_steps=max_steps,
                    enabled_tools=enable_tools,
                    additional_imports=additional_imports,
                    search_provider=search_provider,
                    verbose_agent=debug,
                    allow_host_access=allow_host_access,
                    extra_tools=toolset.make_tools() if toolset else None,
                    working_directory=working_directory,
                    allow_local_network=allow_local_network,
                    code_timeout=tool_timeout,
                )
                for tool in agent.tools.values():
                    bound_tool(tool, tool_timeout)
                return agent

            # attempt by attempt: every task's attempt 0, then attempt 1, ... (each a clean agent)
            for attempt, current_seed in enumerate(seeds):
                all_results[agent_type] += run_tasks(
                    selected,
                    agent_type,
                    functools.partial(make_agent, seed=current_seed),
                    run_id=run_id,
                    model_id=model_name,
                    provider=provider,
                    workers=workers,
                    index_offset=offset,
                    tracer=tracer,
                    on_record=record_done,
                    attempt=attempt if repeats > 1 else None,
                    keyword_match=cast(KeywordMatch, keyword_match),  # checked by validate_inputs
                    control=control,
                    task_timeout=task_timeout,
                    skip=skip,
                )
                offset += len(selected)
        for agent_type in agent_types:
            records = all_results[agent_type]
            passed = sum(1 for r in records if r["success"])
            percent = 100 * passed / len(records) if records else 0.0
            _report(
                verbose, "%s: %d/%d (%.1f%%)", agent_type.upper(), passed, len(records), percent
            )
    finally:
        if toolset is not None:
            toolset.close()
        otlp_report = finish_otel(otel)
        restore_logging()
    if otlp_report is not None and on_otlp_report is not None:
        on_otlp_report(otlp_report)
    span_exporter, metric_exporter, aggregator = otel[2], otel[3], otel[4]
    trace_data = extract_traces(span_exporter, run_id) if span_exporter is not None else []
    metric_data = extract_metrics(metric_exporter, aggregator, trace_data, all_results, run_id)
    link_results_to_traces(all_results, trace_data)
    return all_results, trace_data, metric_data, tasks.source, run_id


def warn_echoed_keywords(
    selection: dict[str, list[TaskRecord]], keyword_match: str, verbose: bool = True
) -> None:
    """One warning naming the tasks whose expected keyword is already in their own prompt
    (a DEBUG line when not `verbose`: a quiet caller asked for silence)."""
    tasks = {t["id"]: t for selected in selection.values() for t in selected}
    echoed = {
        task_id: found
        for task_id, task in tasks.items()
        if (found := keywords_in_prompt(task, cast(KeywordMatch, keyword_match)))
    }
    if echoed:
        listed = "; ".join(f"{task_id} ({', '.join(found)})" for task_id, found in echoed.items())
        logger.log(
            logging.WARNING if verbose else logging.DEBUG,
            "Expected keyword(s) already in the task's own prompt, so an answer that repeats the "
            "prompt passes the keyword check: %s",
            listed,
        )


def require_tasks(
    selection: dict[str, list[TaskRecord]], tasks: TaskSet, difficulty: str | None
) -> None:
    """An empty selection is a mistake (wrong file, filter or agent type), not a 0/0 success."""
    if any(selection.values()):
        return
    filters = f"agent type {' and '.join(selection)}" + (
        f", difficulty {difficulty}" if difficulty else ""
    )
    raise ConfigError(
        f"no tasks to run: {tasks.source} has {len(tasks.tasks)} task(s) and none match "
        f"{filters}; change the filters or the dataset"
    )


def load_model(build: Callable[[], Any], provider: str, model_name: str) -> Any:
    """`build()`, with a failure (missing path, unknown repo, no memory) as one ConfigError."""
    try:
        return build()
    except ConfigError:
        raise
    except Exception as exc:
        logger.debug("model load failed", exc_info=True)
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise ConfigError(
            f"could not load model '{model_name}' with provider {provider}: "
            f"{type(exc).__name__}: {first_line}"
        ) from None


def _report(verbose: bool, message: str, *args: Any) -> None:
    """Progress lines: INFO when `verbose`, DEBUG otherwise."""
    logger.log(logging.INFO if verbose else logging.DEBUG, message, *args)


def _show_progress_logs(verbose: bool) -> Callable[[], None]:
    """With `verbose` and no logging set up (a notebook, a script), show smoltrace's INFO lines.

    Where the application configured logging (the CLI does), its choice stands. Returns the undo.
    """
    package = logging.getLogger("smoltrace")
    if not verbose or logging.getLogger().handlers or package.handlers:
        return lambda: None
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter())
    level = package.level
    package.addHandler(handler)
    package.setLevel(logging.INFO if level in (logging.NOTSET, logging.WARNING) else level)

    def restore() -> None:
        package.removeHandler(handler)
        package.setLevel(level)

    return restore


def _progress_reporter(
    total: int, on_record: Callable[[TaskRecord], None] | None, verbose: bool
) -> Callable[[TaskRecord], None]:
    """The per-task callback: the caller's `on_record`, then a one-line progress log."""
    done = 0
    lock = threading.Lock()

    def record_done(record: TaskRecord) -> None:
        nonlocal done
        if on_record is not None:
            on_record(record)
        with lock:
            done += 1
            count = done
        outcome = "PASS" if record["success"] else "FAIL"
        _report(verbose, "[%d/%d] %s %s", count, total, outcome, record["test_case_uid"])

    return record_done
