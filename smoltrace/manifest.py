"""The run manifest: how a run was made, recorded in its folder so the run can be reproduced.

One typed record, built in one place (`build_manifest`) from the CLI's effective settings, the tasks
actually loaded and the installed packages. It is written into `metadata.json` (`manifest`), its key
fields reach the leaderboard row, and it is published with the run (the results card's YAML).
To record something new, add a field to `RunManifest` (with a default), fill it in
`build_manifest`, and add its row to the manifest table of smoltrace_dataset_structure.md; the
schema test checks the two agree. No secret may be in it: every string is redacted, and model
arguments whose name looks like a credential are dropped to `[REDACTED]`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .redaction import REDACTED, SECRET_NAME, secret_redactor

__all__ = [
    "MANIFEST_VERSION",
    "RunManifest",
    "build_manifest",
    "package_versions",
    "safe_api_base",
    "tasks_digest",
]

MANIFEST_VERSION = 1
# Distribution names whose versions change a run's behaviour; the local-model stack only when used.
CORE_PACKAGES = (
    "smoltrace",
    "smolagents",
    "litellm",
    "genai-otel-instrument",
    "opentelemetry-sdk",
)
LOCAL_MODEL_PACKAGES = ("transformers", "torch", "accelerate")


@dataclass
class RunManifest:
    """Every effective setting of a run, what it ran on, and when. Field meanings: see the doc."""

    run_id: str
    started_at: str
    finished_at: str
    wall_time_ms: float
    model: str
    provider: str
    api_base: str | None
    model_args: dict[str, Any]
    max_steps: int
    agent_types: list[str]
    keyword_match: str
    parallel_workers: int
    dataset_name: str
    split: str
    dataset_revision: str | None
    difficulty: str | None
    tasks_sha256: str
    task_count: int
    tasks_run: dict[str, int]
    tools: list[str]
    enabled_tools: list[str]
    additional_imports: list[str]
    search_provider: str
    hf_inference_provider: str | None
    prompt_file: str | None
    prompt_sha256: str | None
    enable_otel: bool
    gpu_metrics_enabled: bool
    python: str
    platform: str
    packages: dict[str, str | None]
    pricing_table: dict[str, str | None]
    reproduce_command: str
    manifest_version: int = MANIFEST_VERSION
    # what agent code may do (smoltrace.sandbox) and where the model ran (0.2.12's run fields)
    allow_host_access: bool = False
    host_access_imports: list[str] = field(default_factory=list)
    code_timeout_s: float | None = None
    mcp_servers: list[dict[str, Any]] = field(default_factory=list)
    generation_settings: dict[str, Any] | None = None
    hardware_label: str | None = None
    hardware_scope: str | None = None
    hardware_detail: dict[str, Any] | None = None
    # --repeats and the seed attempt k sent (base_seed + k)
    repeats: int = 1
    base_seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, every string redacted."""
        return _redacted(asdict(self))


def _redacted(value: Any) -> Any:
    redact = secret_redactor()
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def safe_api_base(url: str | None) -> str | None:
    """The API base without credentials: no user:password, no query string or fragment."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _safe_model_args(model_args: dict[str, Any]) -> dict[str, Any]:
    return {k: REDACTED if SECRET_NAME.search(k) else v for k, v in model_args.items()}


def tasks_digest(tasks: list[dict[str, Any]]) -> str:
    """SHA-256 of the validated tasks as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(tasks, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_digest(path: str | None) -> str | None:
    if not path:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def package_versions(provider: str) -> dict[str, str | None]:
    """Installed versions (None when not installed); the local-model stack for `transformers`."""
    names = [*CORE_PACKAGES, *(LOCAL_MODEL_PACKAGES if provider == "transformers" else ())]
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def pricing_table() -> dict[str, str | None]:
    """Which price table costed the run: genai-otel-instrument's bundled file and its SHA-256."""
    spec = importlib.util.find_spec("genai_otel")
    origin = Path(spec.origin).parent / "llm_pricing.json" if spec and spec.origin else None
    digest = (
        hashlib.sha256(origin.read_bytes()).hexdigest() if origin and origin.is_file() else None
    )
    try:
        version: str | None = importlib.metadata.version("genai-otel-instrument")
    except importlib.metadata.PackageNotFoundError:
        version = None
    return {
        "source": "genai-otel-instrument llm_pricing.json",
        "version": version,
        "sha256": digest,
    }


def _reproduce_command(args: argparse.Namespace, run_id: str, model_args: dict[str, Any]) -> str:
    """A `smoltrace-eval` command with this run's settings (no credentials; JSON output)."""
    import shlex

    words = ["smoltrace-eval", "--model", args.model, "--provider", args.provider]
    pairs = [
        ("--api-base", safe_api_base(args.api_base)),
        ("--agent-type", args.agent_type),
        ("--max-steps", args.max_steps),
        ("--dataset-name", args.dataset_name),
        ("--split", args.split),
        ("--dataset-revision", args.dataset_revision),
        ("--difficulty", args.difficulty),
        ("--prompt-yml", Path(args.prompt_yml).resolve() if args.prompt_yml else None),
        ("--parallel-workers", args.parallel_workers),
        ("--keyword-match", getattr(args, "keyword_match", None)),
        ("--hf-inference-provider", args.hf_inference_provider),
        ("--search-provider", args.search_provider),
        ("--mcp-transport", getattr(args, "mcp_transport", None)),
        ("--hardware-label", getattr(args, "hardware_label", None)),
        ("--repeats", getattr(args, "repeats", 1) if getattr(args, "repeats", 1) != 1 else None),
        ("--seed", getattr(args, "seed", None)),
    ]
    from .generation import GENERATION_FLAGS

    pairs += [(flag, getattr(args, key, None)) for key, flag in GENERATION_FLAGS.items()]
    for flag, value in pairs:
        if value is not None:
            words += [flag, str(value)]
    for flag, values in (
        # a credential is left out: the rerun reads it from the environment, as usual
        (
            "--model-args",
            [f"{k}={json.dumps(v)}" for k, v in model_args.items() if not SECRET_NAME.search(k)],
        ),
        ("--enable-tools", args.enable_tools or []),
        ("--additional-imports", args.additional_imports or []),
    ):
        if values:
            words += [flag, *values]
    for server in getattr(args, "mcp_server_url", None) or []:
        from .tools.mcp import parse_mcp_servers

        # without credentials or query string: the rerun adds them back if the server needs them
        words += ["--mcp-server-url", parse_mcp_servers([server])[0].label]
    if getattr(args, "allow_host_access", False):
        words.append("--allow-host-access")
    if args.enable_otel:
        words.append("--enable-otel")
    if args.disable_gpu_metrics:
        words.append("--disable-gpu-metrics")
    words += ["--output-format", "json", "--run-id", f"{run_id}-rerun"]
    return shlex.join(words)


def build_manifest(
    args: argparse.Namespace,
    *,
    run_id: str,
    model_args: dict[str, Any],
    tasks: list[dict[str, Any]],
    dataset_revision: str | None,
    selection: dict[str, list[dict[str, Any]]],
    prompt_config: dict[str, Any] | None,
    parallel_workers: int,
    gpu_metrics_enabled: bool,
    started_at: str,
    finished_at: str,
    wall_time_ms: float,
    host_access_imports: list[str] | None = None,
    code_timeout_s: float | None = None,
    mcp_servers: list[dict[str, Any]] | None = None,
    generation_settings: dict[str, Any] | None = None,
    hardware: dict[str, Any] | None = None,
) -> RunManifest:
    """The manifest of a CLI run from its parsed arguments and what the run really used."""
    from .repeats import base_seed
    from .tools import tool_names

    effective_max_steps = (prompt_config or {}).get("max_steps", args.max_steps)
    return RunManifest(
        run_id=run_id,
        started_at=started_at,
        finished_at=finished_at,
        wall_time_ms=round(wall_time_ms, 3),
        model=args.model,
        provider=args.provider,
        api_base=safe_api_base(args.api_base),
        model_args=_safe_model_args(model_args),
        max_steps=effective_max_steps,
        agent_types=list(selection),
        keyword_match=getattr(args, "keyword_match", "word"),
        parallel_workers=parallel_workers,
        dataset_name=args.dataset_name,
        split=args.split,
        dataset_revision=dataset_revision,
        difficulty=args.difficulty,
        tasks_sha256=tasks_digest(tasks),
        task_count=len(tasks),
        tasks_run={agent_type: len(selected) for agent_type, selected in selection.items()},
        tools=sorted(tool_names(args.enable_tools)),
        enabled_tools=list(args.enable_tools or []),
        additional_imports=list(args.additional_imports or []),
        search_provider=args.search_provider,
        hf_inference_provider=args.hf_inference_provider,
        prompt_file=str(Path(args.prompt_yml).resolve()) if args.prompt_yml else None,
        prompt_sha256=_file_digest(args.prompt_yml),
        enable_otel=bool(args.enable_otel),
        gpu_metrics_enabled=gpu_metrics_enabled,
        python=sys.version.split()[0],
        platform=platform.platform(),
        packages=package_versions(args.provider),
        pricing_table=pricing_table(),
        reproduce_command=_reproduce_command(args, run_id, model_args),
        allow_host_access=bool(getattr(args, "allow_host_access", False)),
        host_access_imports=list(host_access_imports or []),
        code_timeout_s=code_timeout_s,
        mcp_servers=list(mcp_servers or []),
        generation_settings=generation_settings or None,
        hardware_label=getattr(args, "hardware_label", None),
        hardware_scope=(hardware or {}).get("hardware_scope"),
        hardware_detail=json.loads(hardware["hardware_detail"])
        if hardware and hardware.get("hardware_detail")
        else None,
        repeats=getattr(args, "repeats", 1),
        base_seed=base_seed(
            getattr(args, "repeats", 1), getattr(args, "seed", None), model_args, args.provider
        ),
    )
