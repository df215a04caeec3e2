"""The CLI's main flow: validate everything, run, write the run folder, publish, report.

Order matters for the user's money and data: every input (flags, files, credentials, Hub token) is
checked before the first model call; the run folder is created only after that, so a bad invocation
leaves nothing behind; and the run folder is complete before any upload, so a failed push loses nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .causes import short_error
from .console import RunConsole
from .errors import GATE_FAILED, ConfigError, PublishError
from .redaction import register_secret
from .run_status import EXIT_ERROR_RATE, exit_code
from .runner import COMPLETED_STOP_REASONS
from .scoring import DEFAULT_KEYWORD_MATCH

logger = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    """What a finished CLI run produced."""

    run_id: str
    folder: Path
    all_results: dict[str, list[dict[str, Any]]]
    leaderboard_row: dict[str, Any]
    hub_datasets: dict[str, str] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    signal_exit: int | None = None  # 130 / 143 when a signal stopped the run


# Flags of the reliability group, for callers that build their own Namespace (seed API).
RELIABILITY_DEFAULTS: dict[str, Any] = {
    "request_timeout": 120.0,
    "task_timeout": 300.0,
    "tool_timeout": 120.0,
    "max_retries": 5,
    "retry_budget": 20,
    "retry_backoff": 0.5,
    "retry_max_delay": 30.0,
    "max_connections": None,
    "max_error_rate": 0.0,
    "resume": None,
    "retry_errors": None,
    "explicit_flags": set(),
}


def _check_limits(args: argparse.Namespace) -> None:
    for name in ("request_timeout", "task_timeout", "tool_timeout", "retry_backoff"):
        if getattr(args, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 0 seconds")
    if args.request_timeout == 0:
        raise ConfigError("--request-timeout must be more than 0 seconds")
    for name in ("max_retries", "retry_budget"):
        if getattr(args, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 0")
    if args.retry_max_delay <= 0:
        raise ConfigError("--retry-max-delay must be more than 0 seconds")
    if args.max_connections is not None and args.max_connections < 1:
        raise ConfigError("--max-connections must be at least 1")
    if not 0 <= args.max_error_rate <= 1:
        raise ConfigError("--max-error-rate must be between 0 and 1, e.g. 0.05")


@dataclass
class _Plan:
    output_format: str
    token: str | None
    run_id: str
    model_args: dict[str, Any]
    agent_types: list[str]
    prompt_config: dict[str, Any] | None
    task_set: Any
    selection: dict[str, list[dict[str, Any]]]
    enable_gpu_metrics: bool
    host_access_imports: list[str] = field(default_factory=list)
    mcp_servers: list[Any] = field(default_factory=list)
    generation: dict[str, Any] = field(default_factory=dict)


def _plan(args: argparse.Namespace, console: RunConsole) -> _Plan:
    """All checks that need no model call; raises ConfigError on the first problem."""
    from .agents import check_agents, load_prompt_config
    from .core import require_tasks, validate_inputs
    from .outputs.leaderboard import normalize_purpose
    from .tasks import filter_tasks, load_tasks
    from .telemetry.otlp import DEFAULT_TIMEOUT_S, otlp_config

    otlp_config(
        getattr(args, "otlp_endpoint", None),
        getattr(args, "otlp_header", None),
        getattr(args, "otlp_timeout", DEFAULT_TIMEOUT_S),
    )
    if getattr(args, "otlp_endpoint", None):
        args.enable_otel = True  # --otlp-endpoint implies --enable-otel
    agent_types = ["tool", "code"] if args.agent_type == "both" else [args.agent_type]
    _check_limits(args)
    run_id, model_args = validate_inputs(
        model_name=args.model,
        agent_types=agent_types,
        provider=args.provider,
        test_subset=args.difficulty,
        run_id=args.run_id,
        parallel_workers=args.parallel_workers,
        model_args=args.model_args,
        enable_tools=args.enable_tools,
        api_base=args.api_base,
        max_steps=args.max_steps,
        hf_inference_provider=args.hf_inference_provider,
        keyword_match=getattr(args, "keyword_match", DEFAULT_KEYWORD_MATCH),
    )
    model_args, generation = _generation_settings(args, model_args)
    from .tools.search import check_search_provider

    check_search_provider(args.search_provider, args.enable_tools)
    normalize_purpose(args.purpose)
    _check_output_dir(args.output_dir)
    from .tools import check_tool_config
    from .tools.mcp import parse_mcp_servers

    check_tool_config(args.enable_tools, args.working_directory)
    _warn_secret_files(args.enable_tools, args.working_directory, console)
    mcp_servers = parse_mcp_servers(args.mcp_server_url, args.mcp_transport)
    prompt_config = load_prompt_config(args.prompt_yml)
    from .sandbox import check_imports

    granted = check_imports(
        args.additional_imports,
        (prompt_config or {}).get("additional_authorized_imports"),
        args.allow_host_access,
    )
    output_format, token = _output_target(args, console)
    task_set = load_tasks(
        args.dataset_name, args.split, args.dataset_revision, token=token or _dataset_token(args)
    )
    selection = {a: filter_tasks(task_set.tasks, a, args.difficulty) for a in agent_types}
    require_tasks(selection, task_set, args.difficulty)
    check_agents(
        [a for a, selected in selection.items() if selected],
        prompt_config=prompt_config,
        max_steps=args.max_steps,
        enabled_tools=args.enable_tools,
        additional_imports=args.additional_imports,
        search_provider=args.search_provider,
        allow_host_access=args.allow_host_access,
        working_directory=args.working_directory,
        allow_local_network=getattr(args, "allow_local_network", False),
    )
    if not mcp_servers:  # MCP tool names are known only once connected (in run_evaluation)
        _warn_unreachable_tools(selection, args.enable_tools)
    from .models import LOCAL_PROVIDERS

    gpu = bool(
        args.enable_otel and args.provider in LOCAL_PROVIDERS and not args.disable_gpu_metrics
    )
    if args.disable_gpu_metrics:
        console.info("[INFO] GPU metrics disabled by user (--disable-gpu-metrics flag)")
    return _Plan(
        output_format,
        token,
        run_id,
        model_args,
        agent_types,
        prompt_config,
        task_set,
        selection,
        gpu,
        granted,
        mcp_servers,
        generation,
    )


def _generation_settings(
    args: argparse.Namespace, model_args: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The generation flags merged into the model args, and the record of what was applied."""
    from .generation import GENERATION_FLAGS, apply_generation_settings, requested_settings

    values = {key: getattr(args, key, None) for key in GENERATION_FLAGS}
    if values["enable_thinking"] is not None:
        values["enable_thinking"] = str(values["enable_thinking"]).lower() == "true"
    return apply_generation_settings(
        requested_settings(values),
        model_args,
        provider=args.provider,
        model_id=args.model,
        api_base=args.api_base,
    )


def _warn_secret_files(enabled: list[str] | None, folder: str | None, console: RunConsole) -> None:
    """The sandbox is whatever folder the user chose: say so when it holds a `.env` file."""
    from .tools import WORKING_DIRECTORY_TOOLS, validate_tool_names

    if not folder or not WORKING_DIRECTORY_TOOLS.intersection(validate_tool_names(enabled)):
        return
    if (Path(folder) / ".env").exists():
        console.notice(
            f"--working-directory {folder} holds a .env file: the agent's file tools can read it "
            "(and its content can reach the traces and results). Use a folder without secrets."
        )


def _warn_unreachable_tools(
    selection: dict[str, list[dict[str, Any]]], enabled: list[str] | None
) -> None:
    """A task expecting a tool this run does not provide can never pass: say so up front."""
    from .tools import tool_names

    available = tool_names(enabled)
    missing_required: dict[str, list[str]] = {}
    for task in {t["id"]: t for tasks in selection.values() for t in tasks}.values():
        expected = task.get("expected_tool")
        if expected and expected != "multiple" and expected not in available:
            logger.warning(
                "Task %s expects tool '%s', which this run does not provide (%s): it cannot pass",
                task["id"],
                expected,
                ", ".join(sorted(available)),
            )
        for tool in task.get("required_tools") or []:
            if tool not in available:
                missing_required.setdefault(tool, []).append(task["id"])
    if missing_required:
        logger.warning(
            "Tasks need tools this run does not provide, so they cannot pass: %s; add them with "
            "--enable-tools",
            ", ".join(f"{tool} ({len(ids)} tasks)" for tool, ids in missing_required.items()),
        )


def _tools_record(args: argparse.Namespace) -> dict[str, Any]:
    """The optional tools of the run and what they could reach (metadata.json `tools`)."""
    from .tools import validate_tool_names

    folder = args.working_directory
    return {
        "enabled": validate_tool_names(args.enable_tools),
        "working_directory": str(Path(folder).resolve()) if folder else None,
        "allow_local_network": bool(getattr(args, "allow_local_network", False)),
    }


def _token_option(args: argparse.Namespace) -> str:
    """The token flag a retry command needs to find the same token (never the token itself)."""
    return f" --hf-token-file {args.hf_token_file}" if args.hf_token_file else ""


def _dataset_token(args: argparse.Namespace) -> str | None:
    """With --output-format json a token file still serves to read a private task dataset."""
    if not args.hf_token_file:
        return None
    from .outputs.hub import resolve_token

    token = resolve_token(args.hf_token_file, None)
    register_secret(token)
    return token


def _check_output_dir(output_dir: str) -> None:
    """The run folder must be creatable there: its nearest existing ancestor is a writable folder."""
    path = Path(output_dir).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"--output-dir {output_dir}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--output-dir {output_dir}: {existing} is not writable; choose another")


def _output_target(args: argparse.Namespace, console: RunConsole) -> tuple[str, str | None]:
    """(output format, token): hub when asked or when a token is found, else local JSON."""
    if args.output_format == "json":
        return "json", None
    from .outputs.hub import resolve_token

    token = resolve_token(args.hf_token_file, args.hf_token)
    register_secret(token)
    if args.output_format == "hub" and not token:
        raise ConfigError(
            "--output-format hub needs a Hugging Face token: set HF_TOKEN or pass --hf-token-file FILE"
        )
    if token:
        return "hub", token
    console.notice(
        "No Hugging Face token found (HF_TOKEN, --hf-token-file): saving results locally as JSON."
    )
    return "json", None


def run_evaluation_flow(args: argparse.Namespace, console: RunConsole | None = None) -> RunOutcome:
    """Run one evaluation as the CLI describes it; the seed's entry point for programmatic CLI use."""
    console = console or RunConsole(
        quiet=getattr(args, "quiet", False), debug=getattr(args, "debug", False)
    )
    from .core import SINGLE_WORKER_PROVIDERS, run_evaluation
    from .hardware import hardware_fields
    from .journal import prepare_resume, write_settings
    from .limits import RunControl
    from .manifest import build_manifest
    from .outputs.leaderboard import compute_leaderboard_row
    from .outputs.local import RunFolder, build_metadata
    from .outputs.naming import generate_dataset_names, run_timestamp
    from .outputs.results import flatten_results_for_hf
    from .retry import ConcurrencyLimiter, RetryPolicy
    from .run_status import run_status
    from .runner import test_case_uid
    from .telemetry.otlp import DEFAULT_TIMEOUT_S

    for name, default in RELIABILITY_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    resumed = None
    if args.resume or args.retry_errors:
        resumed = prepare_resume(
            args, set(args.explicit_flags), retry_errors=bool(args.retry_errors)
        )
    plan = _plan(args, console)
    from .repeats import base_seed, repeats_record

    repeats = getattr(args, "repeats", 1)
    seed = base_seed(repeats, getattr(args, "seed", None), plan.model_args, args.provider)
    planned = [
        test_case_uid(agent_type, task["id"], attempt if repeats > 1 else None)
        for agent_type, tasks in plan.selection.items()
        for attempt in range(repeats)
        for task in tasks
    ]
    if resumed is not None and planned != resumed.planned:
        raise ConfigError(
            f"{resumed.folder}: the tasks differ from the run's ({len(planned)} planned now, "
            f"{len(resumed.planned)} then); the dataset or filters changed, so start a new run"
        )
    timestamp = resumed.timestamp if resumed else run_timestamp()
    user, hub_names = "local", {}
    if plan.output_format == "hub":
        from .outputs.hub import require_hf_user

        user = require_hf_user(
            plan.token, alternative=" (or --output-format json to save results locally)"
        )
        results_repo, traces_repo, metrics_repo, board_repo = generate_dataset_names(
            user, timestamp
        )
        hub_names = {
            "results": results_repo,
            "traces": traces_repo if args.enable_otel else None,
            "metrics": metrics_repo,
            "leaderboard": board_repo,
        }
        console.info(f"[OK] Logged in as: {user}")
        console.info(f"[RESULTS] Will be saved to: {results_repo}")
        if args.enable_otel:
            console.info(f"[TRACES] Will be saved to: {traces_repo}")
        console.info(f"[METRICS] Will be saved to: {metrics_repo}")
        console.info(f"[LEADERBOARD] Will be at: {board_repo}")
    if args.provider == "mock":
        console.notice(
            "Provider 'mock': a scripted oracle that knows the answers. It is NOT a real model."
        )
    if args.provider == "transformers" and args.parallel_workers > 1:
        console.notice("The transformers provider runs one local model: using 1 worker.")
    if plan.prompt_config:
        console.info(f"[CONFIG] Loaded prompt config from {args.prompt_yml}")

    if resumed is not None:
        folder = RunFolder(resumed.folder)
        started_at = _started_at(resumed.folder) or datetime.now(timezone.utc).isoformat()
        console.info(
            f"[RESUME] {resumed.folder}: {len(resumed.done)} of {len(planned)} tasks have a "
            f"result; running the other {len(planned) - len(resumed.done)}"
        )
    else:
        folder = RunFolder.create(args.output_dir, args.model, args.agent_type, timestamp)
        started_at = datetime.now(timezone.utc).isoformat()
        write_settings(folder.path, args, run_id=plan.run_id, timestamp=timestamp, planned=planned)
    started = time.perf_counter()
    console.info(f"[RUN ID] {plan.run_id}")
    done = resumed.done if resumed else {}
    console.start_progress(len(planned) - len(done))
    control = RunControl()
    limiter = ConcurrencyLimiter(
        min(args.max_connections or args.parallel_workers, args.parallel_workers)
    )
    policy = RetryPolicy(
        max_retries=args.max_retries,
        task_budget=args.retry_budget,
        base_delay_s=args.retry_backoff,
        max_delay_s=args.retry_max_delay,
    )

    def on_record(record: dict[str, Any]) -> None:
        folder.append_record(record)
        console.task_done(record)

    otlp_report: dict[str, Any] = {}

    try:
        with control.signals_handled():
            all_results, trace_data, metric_data, dataset_used, run_id = run_evaluation(
                args.model,
                plan.agent_types,
                args.difficulty,
                args.dataset_name,
                args.split,
                args.enable_otel,
                not args.quiet,
                args.debug,
                args.provider,
                plan.prompt_config,
                args.mcp_server_url,
                plan.run_id,
                plan.enable_gpu_metrics,
                api_base=args.api_base,
                parallel_workers=args.parallel_workers,
                model_args=plan.model_args,
                max_steps=args.max_steps,
                dataset_revision=args.dataset_revision,
                enable_tools=args.enable_tools,
                additional_imports=args.additional_imports,
                search_provider=args.search_provider,
                hf_inference_provider=args.hf_inference_provider,
                trust_remote_code=args.trust_remote_code,
                allow_host_access=args.allow_host_access,
                mcp_transport=args.mcp_transport,
                working_directory=args.working_directory,
                allow_local_network=getattr(args, "allow_local_network", False),
                task_set=plan.task_set,
                on_record=on_record,
                repeats=repeats,
                seed=getattr(args, "seed", None),
                otlp_endpoint=getattr(args, "otlp_endpoint", None),
                otlp_headers=getattr(args, "otlp_header", None),
                otlp_timeout=getattr(args, "otlp_timeout", DEFAULT_TIMEOUT_S),
                on_otlp_report=otlp_report.update,
                keyword_match=getattr(args, "keyword_match", DEFAULT_KEYWORD_MATCH),
                task_timeout=args.task_timeout or None,
                tool_timeout=args.tool_timeout or None,
                request_timeout=args.request_timeout,
                retry_policy=policy,
                limiter=limiter,
                control=control,
                skip=done.__contains__,
            )
    except ConfigError:  # e.g. the model would not load: nothing ran, so nothing is kept
        if resumed is None:
            folder.discard_if_empty()
        raise
    finally:
        console.stop_progress()

    wall_time_ms = (time.perf_counter() - started) * 1000
    if resumed is not None:
        all_results = _merge_resumed(all_results, done)
        trace_data = _prior_traces(folder.path, set(done)) + trace_data
    records = [r for agent_records in all_results.values() for r in agent_records]
    status = run_status(records, len(planned))
    rows = flatten_results_for_hf(all_results, args.model)
    finished_at = datetime.now(timezone.utc).isoformat()
    hardware = hardware_fields(args.provider, getattr(args, "hardware_label", None))
    manifest = build_manifest(
        args,
        run_id=run_id,
        model_args=plan.model_args,
        tasks=plan.task_set.tasks,
        dataset_revision=plan.task_set.revision,
        selection=plan.selection,
        prompt_config=plan.prompt_config,
        parallel_workers=1 if args.provider in SINGLE_WORKER_PROVIDERS else args.parallel_workers,
        gpu_metrics_enabled=plan.enable_gpu_metrics,
        started_at=started_at,
        finished_at=finished_at,
        wall_time_ms=wall_time_ms,
        host_access_imports=plan.host_access_imports,
        code_timeout_s=args.tool_timeout or None,
        mcp_servers=[server.record() for server in plan.mcp_servers],
        generation_settings=plan.generation,
        hardware=hardware,
    ).to_dict()
    refs = hub_names or {
        "results": folder.local_ref("results.json"),
        "traces": folder.local_ref("traces.json") if args.enable_otel else None,
        "metrics": folder.local_ref("metrics.json"),
    }
    row = compute_leaderboard_row(
        args.model,
        all_results,
        trace_data,
        metric_data,
        dataset_used,
        refs["results"],
        refs["traces"],
        refs["metrics"],
        args.agent_type,
        run_id,
        args.provider,
        use_case=args.use_case,
        team=args.team,
        purpose=args.purpose,
        suite_version=args.suite_version,
        submitted_by=user,
        dataset_revision=plan.task_set.revision,
        timestamp=finished_at,
        generation_settings=plan.generation,
        hardware=hardware,
        manifest=manifest,
        planned_tests=len(planned),
    )
    metadata = build_metadata(
        run_id=run_id,
        model=args.model,
        provider=args.provider,
        agent_type=args.agent_type,
        dataset_used=dataset_used,
        dataset_revision=plan.task_set.revision,
        timestamp=timestamp,
        started_at=started_at,
        finished_at=finished_at,
        num_results=len(rows),
        trace_data=trace_data,
        metric_data=metric_data,
        otel_enabled=bool(args.enable_otel),
        gpu_metrics_enabled=plan.enable_gpu_metrics,
        hub=hub_names or None,
        mcp_servers=[server.record() for server in plan.mcp_servers],
        sandbox={
            "allow_host_access": bool(args.allow_host_access),
            "host_access_imports": plan.host_access_imports,
            "code_timeout_s": args.tool_timeout or None,
        },
        otlp=otlp_report or None,
        tools=_tools_record(args),
        repeats=repeats_record(repeats, seed),
        manifest=manifest,
        status=status,
        reliability={
            "request_timeout_s": args.request_timeout,
            "task_timeout_s": args.task_timeout or None,
            "tool_timeout_s": args.tool_timeout or None,
            **policy.as_settings(),
            **limiter.summary(),
            "max_error_rate": args.max_error_rate,
            "retries": sum(int(r.get("retries") or 0) for r in records),
        },
    )
    folder.write_outputs(rows, trace_data, metric_data, row, metadata)
    console.summaries(all_results)
    outcome = RunOutcome(
        run_id, folder.path, all_results, row, status=status, signal_exit=control.exit_code
    )
    console.info(f"\n[SAVED] Run folder: {folder.path}")
    console.run_status(status, limiter.summary(), metadata["reliability"]["retries"])
    if control.exit_code is not None:
        console.error(
            f"interrupted by {control.signal_name}: {status['interrupted_tests']} of "
            f"{status['planned_tests']} tasks have no result; the run folder {folder.path} is "
            f"complete (run_status partial). Resume with: smoltrace-eval --resume {folder.path}"
        )
    if not args.enable_otel:
        console.info("[INFO] Tracing was off (--enable-otel not given): traces.json is empty.")
    if plan.output_format == "hub":
        from .outputs.hub import publish_run_folder

        outcome.hub_datasets = publish_run_folder(
            folder.path, plan.token, private=args.private, retry_options=_token_option(args)
        )
        for kind, repo in outcome.hub_datasets.items():
            console.info(
                f"[{kind.upper()}] {os.environ.get('HF_ENDPOINT', 'https://huggingface.co')}/datasets/{repo}"
            )
    return outcome


def _push_only(args: argparse.Namespace, console: RunConsole) -> int:
    from .outputs.hub import publish_run_folder, require_hf_user, resolve_token

    folder = Path(args.push_only)
    if not (folder / "metadata.json").is_file():
        raise ConfigError(f"--push-only {folder}: not a complete run folder (no metadata.json)")
    token = resolve_token(args.hf_token_file, args.hf_token)
    register_secret(token)
    require_hf_user(token)
    pushed = publish_run_folder(
        folder, token, private=args.private, retry_options=_token_option(args)
    )
    console.final(f"[SUCCESS] Uploaded {folder} to the Hub: {', '.join(pushed.values())}")
    return 0


def _started_at(folder: Path) -> str | None:
    """When the first part of a resumed run started (its earlier metadata, if it got that far)."""
    import json

    with contextlib.suppress(OSError, ValueError):
        return json.loads((folder / "metadata.json").read_text(encoding="utf-8"))["started_at"]
    return None


def _merge_resumed(
    new: dict[str, list[dict[str, Any]]], done: dict[str, dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Earlier parts' standing records plus this part's, per agent type in test_index order."""
    merged: dict[str, list[dict[str, Any]]] = {"tool": [], "code": []}
    for record in [*done.values(), *(r for records in new.values() for r in records)]:
        merged.setdefault(record["agent_type"], []).append(record)
    for records in merged.values():
        records.sort(key=lambda r: r["test_index"])
    return merged


def _prior_traces(folder: Path, keep: set[str]) -> list[dict[str, Any]]:
    """Traces an earlier part wrote (after a signal) for tasks whose records stand."""
    import json

    with contextlib.suppress(OSError, ValueError):
        traces = json.loads((folder / "traces.json").read_text(encoding="utf-8"))
        return [t for t in traces if set(t.get("test_case_uids") or []) & keep]
    return []


def run_cli(args: argparse.Namespace) -> int:
    """Run the CLI command; exit codes: 0 every task finished cleanly, 1 upload failed or every
    task errored, 2 bad input, 3 more errors than --max-error-rate or the --min-success-rate gate
    failed, 130 SIGINT, 143 SIGTERM."""
    console = RunConsole(quiet=args.quiet, debug=args.debug)
    try:
        if args.push_only:
            return _push_only(args, console)
        outcome = run_evaluation_flow(args, console)
    except ConfigError as exc:
        console.error(str(exc))
        return 2
    except PublishError as exc:
        console.error(str(exc))
        return 1
    except KeyboardInterrupt:
        console.error("interrupted: finished tasks are kept in the run folder's records.jsonl")
        return 130
    if outcome.signal_exit is not None:
        return outcome.signal_exit
    rows = [r for records in outcome.all_results.values() for r in records]
    passed = sum(1 for r in rows if r["success"])
    where = (
        ", ".join(outcome.hub_datasets.values()) if outcome.hub_datasets else str(outcome.folder)
    )
    code = exit_code(outcome.status, args.max_error_rate, None)
    if code == EXIT_ERROR_RATE:
        bad = outcome.status["errored_tests"] + outcome.status["timed_out_tests"]
        console.error(
            f"{bad} of {outcome.status['planned_tests']} tasks errored or timed out, more than "
            f"--max-error-rate {args.max_error_rate:g} allows; their rows say why. Outputs: "
            f"{where}; run them again with: smoltrace-eval --retry-errors {outcome.folder}"
        )
        return code
    if rows and all(r.get("stop_reason") not in COMPLETED_STOP_REASONS for r in rows):
        # Nothing was evaluated: a key, endpoint or model problem, not a 0% score.
        first = short_error(str(rows[0]["error"] or rows[0].get("stop_reason")), 300)
        console.error(
            f"every task failed with an error (first: {first}); "
            f"check the model, endpoint and key. Outputs: {where}"
        )
        return 1
    console.final(
        f"[SUCCESS] Evaluation complete: {passed}/{len(rows)} passed "
        f"({100 * passed / len(rows) if rows else 0:.1f}%); run {outcome.run_id}; results in {where}"
    )
    return _success_gate(args, outcome.leaderboard_row, console)


def _success_gate(args: argparse.Namespace, row: dict[str, Any], console: RunConsole) -> int:
    """`--min-success-rate`: exit 4 when the success rate (or its interval's lower end) is below."""
    threshold = getattr(args, "min_success_rate", None)
    if threshold is None:
        return 0
    lower = getattr(args, "gate", "point") == "lower-bound"
    value = row["success_rate_ci_low"] if lower else row["success_rate"]
    what = "lower end of the 95% interval of the success rate" if lower else "success rate"
    if value is None or value < threshold:
        console.error(f"gate failed: {what} {value}% is below --min-success-rate {threshold:g}%")
        return GATE_FAILED
    console.final(f"[GATE] passed: {what} {value}% >= {threshold:g}%")
    return 0
