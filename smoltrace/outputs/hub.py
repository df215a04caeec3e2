"""Publishing a run to the Hugging Face Hub, from the files of its local run folder.

Each dataset is written in one commit that holds its parquet data and its card, made with
``HfApi.create_commit`` rather than ``Dataset.push_to_hub``, because:

- a dataset never exists on the Hub without the card that says what it is (push_to_hub would
  need a second commit for the card);
- push_to_hub keeps a split's old features in the README when the split is pushed again with new
  columns, which would make a grown leaderboard unloadable;
- the leaderboard is read at one commit and written with that commit as parent, so two runs that
  finish at the same time cannot drop each other's row (the Hub answers 412 and we read again).

Every dataset has explicit ``datasets.Features`` taken from smoltrace_dataset_structure.md, so a
column that is null in every row (no cost, no trace ids) keeps its documented type, and values are
checked against those types before anything is uploaded. The token is passed to every call: never
stored (no ``login()``), logged or written.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ConfigError, PublishError
from .cards import (
    Card,
    leaderboard_card,
    metrics_card,
    render_card,
    results_card,
    traces_card,
)
from .leaderboard import LEADERBOARD_COLUMNS
from .naming import generate_dataset_names
from .results import flatten_results_for_hf

if TYPE_CHECKING:
    from datasets import Dataset, Features
    from huggingface_hub import HfApi

logger = logging.getLogger(__name__)

DATA_FILE = "data/train-00000-of-00001.parquet"
LEADERBOARD_ATTEMPTS = 5

# Column types as documented; "json" is a nested object stored as JSON text (see traces), "spans"
# and "status" are the trace structs.
RESULTS_TYPES: dict[str, str] = {
    "model": "string",
    "evaluation_date": "string",
    "task_id": "string",
    "test_case_uid": "string",
    "test_index": "int",
    "attempt": "int",
    "agent_type": "string",
    "difficulty": "string",
    "prompt": "string",
    "success": "bool",
    "tool_called": "bool",
    "correct_tool": "bool",
    "final_answer_called": "bool",
    "response_correct": "bool",
    "tools_used": "list<string>",
    "steps": "int",
    "planning_steps": "int",
    "model_calls": "int",
    "stop_reason": "string",
    "response": "string",
    "error": "string",
    "retries": "int",
    "last_retry_error": "string",
    "trace_id": "string",
    "span_id": "string",
    "run_id": "string",
    "start_time_unix_nano": "int",
    "end_time_unix_nano": "int",
    "execution_time_ms": "float",
    "prompt_tokens": "int",
    "completion_tokens": "int",
    "total_tokens": "int",
    "cost_usd": "float",
    "enhanced_trace_info": "string",
}
TRACES_TYPES: dict[str, str] = {
    "trace_id": "string",
    "run_id": "string",
    "root_span_id": "string",
    "test_ids": "list<string>",
    "test_case_uids": "list<string>",
    "agent_type": "string",
    "spans": "spans",
    "total_tokens": "int",
    "total_duration_ms": "float",
    "total_cost_usd": "float",
}
SPAN_TYPES: dict[str, str] = {
    "trace_id": "string",
    "span_id": "string",
    "parent_span_id": "string",
    "name": "string",
    "kind": "string",
    "start_time": "int",
    "end_time": "int",
    "duration_ms": "float",
    "attributes": "json",
    "events": "json",
    "status": "status",
    "resource": "json",
}
METRICS_TYPES: dict[str, str] = {
    "run_id": "string",
    "service_name": "string",
    "timestamp": "string",
    "timestamp_unix_nano": "string",
    "gpu_id": "string",
    "gpu_name": "string",
    "co2_emissions_gco2e": "float",
    "power_cost_usd": "float",
    "gpu_utilization_percent": "float",
    "gpu_memory_used_mib": "float",
    "gpu_memory_total_mib": "float",
    "gpu_temperature_celsius": "float",
    "gpu_power_watts": "float",
}
_LEADERBOARD_INTS = {
    "max_steps",
    "planned_tests",
    "completed_tests",
    "errored_tests",
    "timed_out_tests",
    "max_steps_tests",
    "interrupted_tests",
    "total_tests",
    "successful_tests",
    "failed_tests",
    "total_tokens",
    "avg_tokens_per_test",
    "repeats",
    "total_tasks",
}
_LEADERBOARD_STRINGS = {
    "run_id", "model", "agent_type", "provider", "timestamp", "submitted_by", "use_case", "team",
    "run_status",
    "purpose", "suite_version", "results_dataset", "traces_dataset", "metrics_dataset",
    "dataset_used", "dataset_revision", "notes",
    "pass_rule", "generation_settings", "hardware", "hardware_detail", "hardware_scope",
    "keyword_match", "tasks_sha256", "smoltrace_version",
}  # fmt: skip
LEADERBOARD_TYPES: dict[str, str] = {
    column: "int"
    if column in _LEADERBOARD_INTS
    else ("string" if column in _LEADERBOARD_STRINGS else "float")
    for column in LEADERBOARD_COLUMNS
}


# --------------------------------------------------------------------------- token and user
def resolve_token(
    hf_token_file: str | None, hf_token_flag: str | None, *, flag_name: str = "--hf-token"
) -> str | None:
    """The Hub token from `--hf-token-file`, else HF_TOKEN, else the deprecated token flag.

    A token given on the command line is visible to other users in the process list, so using
    the flag logs a warning even when another source wins.
    """
    if hf_token_flag:
        logger.warning(
            "%s is deprecated: other users can read it in the process list. "
            "Use the HF_TOKEN environment variable or --hf-token-file FILE instead.",
            flag_name,
        )
    if hf_token_file:
        try:
            token = Path(hf_token_file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read --hf-token-file {hf_token_file}: {exc.strerror}"
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(f"--hf-token-file {hf_token_file} is not a text file") from None
        if not token:
            raise ConfigError(f"--hf-token-file {hf_token_file} is empty")
        return token
    env_token = os.environ.get("HF_TOKEN", "").strip()
    if env_token:
        return env_token
    return hf_token_flag.strip() if hf_token_flag and hf_token_flag.strip() else None


def hub_api(token: str) -> HfApi:
    from huggingface_hub import HfApi

    from .. import __version__

    return HfApi(token=token, library_name="smoltrace", library_version=__version__)


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def get_hf_user_info(token: str) -> dict[str, Any] | None:
    """whoami for `token`: `{username, type, fullname, email, avatar_url, isPro, canPay}`.

    None when the Hub rejects the token (401); network and other HTTP errors propagate, so the
    caller can tell "bad token" from "Hub unreachable".
    """
    from huggingface_hub.errors import HfHubHTTPError

    if not token:
        return None
    try:
        info = hub_api(token).whoami()
    except HfHubHTTPError as exc:
        if exc.response is not None and exc.response.status_code == 401:
            return None
        raise
    return {
        "username": info.get("name"),
        "type": info.get("type"),
        "fullname": info.get("fullname"),
        "email": info.get("email"),
        "avatar_url": info.get("avatarUrl"),
        "isPro": info.get("isPro"),
        "canPay": info.get("canPay"),
        "token_role": ((info.get("auth") or {}).get("accessToken") or {}).get("role"),
    }


def require_hf_user(token: str | None, *, write: bool = True, alternative: str = "") -> str:
    """The token's Hub user name; ConfigError with a one-line reason when it cannot be had.

    Called before any model call or deletion, so a token that could not publish (or delete,
    `write`) costs nothing. `alternative` ends the missing-token message (e.g. local JSON output).
    """
    if not token:
        raise ConfigError(
            f"no Hugging Face token: set HF_TOKEN or pass --hf-token-file FILE{alternative}"
        )
    try:
        info = get_hf_user_info(token)
    except Exception as exc:  # network, proxy or HTTP errors all mean "cannot check"
        raise ConfigError(
            f"cannot check the Hugging Face token with the Hub at {_endpoint()} "
            f"({describe_error(exc, token)}); check the network connection and HF_ENDPOINT"
        ) from None
    if info is None or not info.get("username"):
        raise ConfigError(
            f"the Hugging Face token was rejected by {_endpoint()} (401 invalid token); "
            "create a token with write access at https://huggingface.co/settings/tokens"
        )
    if write and info.get("token_role") == "read":
        raise ConfigError(
            f"the Hugging Face token of {info['username']} is read-only; smoltrace writes "
            "datasets: create a token with write access at https://huggingface.co/settings/tokens"
        )
    return str(info["username"])


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions it was raised from (huggingface_hub wraps upload errors)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def describe_error(exc: BaseException, token: str | None) -> str:
    """One-line reason for a failed Hub call, with the token (should it appear) masked."""
    from huggingface_hub.errors import HfHubHTTPError

    http = next((e for e in _chain(exc) if isinstance(e, HfHubHTTPError)), None)
    if http is not None and http.response is not None:
        detail = http.server_message or http.response.reason_phrase or ""
        text = f"HTTP {http.response.status_code} {detail}".strip()
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text.replace(token, "***") if token else text


def _status(exc: BaseException) -> int | None:
    from huggingface_hub.errors import HfHubHTTPError

    for err in _chain(exc):
        if isinstance(err, HfHubHTTPError) and err.response is not None:
            return err.response.status_code
    return None


# --------------------------------------------------------------------------- features and rows
_DTYPES = {"string": "string", "json": "string", "int": "int64", "float": "float64", "bool": "bool"}


def _feature(kind: str) -> Any:
    from datasets import List, Value

    if kind == "list<string>":
        return List(Value("string"))
    if kind == "spans":
        return List({name: _feature(sub) for name, sub in SPAN_TYPES.items()})
    if kind == "status":
        return {"code": Value("string"), "description": Value("string")}
    return Value(_DTYPES[kind])


def features_for(types: dict[str, str]) -> Features:
    """`datasets.Features` for one of the *_TYPES tables."""
    from datasets import Features

    return Features({column: _feature(kind) for column, kind in types.items()})


def _check(kind: str, value: Any, where: str) -> Any:
    """`value` converted for the Hub; raises ValueError when a cast would change it."""
    if value is None:
        return None
    ok = {
        "string": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "list<string>": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "spans": isinstance(value, list) and all(isinstance(v, dict) for v in value),
        "status": isinstance(value, dict),
        "json": True,
    }[kind]
    if not ok:
        raise ValueError(f"{where} should be {kind}, got {type(value).__name__} {value!r:.80}")
    if kind == "json":
        return json.dumps(value, ensure_ascii=False)
    if kind == "spans":
        return [_row(span, SPAN_TYPES, f"{where}[{i}]") for i, span in enumerate(value)]
    if kind == "status":
        return {
            key: _check("string", value.get(key), f"{where}.{key}")
            for key in ("code", "description")
        }
    return value


def _row(record: dict[str, Any], types: dict[str, str], where: str) -> dict[str, Any]:
    extra = set(record) - set(types)
    if extra:
        logger.warning(
            "%s: keys not in the published schema are left out: %s", where, ", ".join(sorted(extra))
        )
    return {
        column: _check(kind, record.get(column), f"{where}.{column}")
        for column, kind in types.items()
    }


def hub_rows(
    records: Iterable[dict[str, Any]], types: dict[str, str], name: str
) -> list[dict[str, Any]]:
    """Records as published: exactly the columns of `types`, nested objects as JSON text.

    Raises ValueError naming the row and column when a value does not have its documented type.
    """
    return [_row(record, types, f"{name}[{i}]") for i, record in enumerate(records)]


def build_dataset(rows: list[dict[str, Any]], features: Features) -> Dataset:
    """A Dataset with exactly `features`, also when `rows` is empty."""
    from datasets import Dataset

    return Dataset.from_dict(
        {column: [row.get(column) for row in rows] for column in features}, features=features
    )


# --------------------------------------------------------------------------- commits
def _parquet_bytes(dataset: Dataset) -> bytes:
    """The dataset as one parquet file whose schema metadata carries the features.

    An empty dataset gets a file without row groups: `load_dataset` fails on an empty row group.
    """
    import pyarrow.parquet as pq

    table = dataset.data.table
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, table.schema) as writer:
        if table.num_rows:
            writer.write_table(table)
    return buffer.getvalue()


def commit_dataset(
    token: str,
    repo_id: str,
    dataset: Dataset,
    card: Card,
    commit_message: str,
    *,
    private: bool,
    parent_commit: str | None = None,
) -> str:
    """Create the dataset repo if needed and commit data + card in one commit; returns its sha.

    Data files from an earlier push are deleted in the same commit; an existing repo keeps its
    visibility.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    api = hub_api(token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    data = _parquet_bytes(dataset)
    stale = [
        path
        for path in api.list_repo_files(repo_id, repo_type="dataset", revision=parent_commit)
        if path.startswith("data/") and path != DATA_FILE
    ]
    operations: list[Any] = [
        CommitOperationAdd(DATA_FILE, data),
        CommitOperationAdd("README.md", render_card(card, dataset, len(data)).encode("utf-8")),
        *(CommitOperationDelete(path) for path in stale),
    ]
    info = api.create_commit(
        repo_id,
        operations,
        commit_message=commit_message,
        repo_type="dataset",
        parent_commit=parent_commit,
    )
    logger.info("Committed %d rows to %s (%s)", len(dataset), repo_id, commit_message)
    return info.oid


# --------------------------------------------------------------------------- the run's datasets
class _Push(NamedTuple):
    """One dataset of a run, ready to commit."""

    kind: str
    repo: str
    dataset: Dataset
    card: Card
    message: str


def no_metrics_row(run: dict[str, Any]) -> dict[str, Any]:
    """The one metrics row of a run without metric data: run-wide (`gpu_id` null), every metric
    null, at the run's end.

    `datasets.load_dataset` cannot open a dataset without rows (datasets 5.x), and a null row
    says "not measured" where the original harness wrote zeros.
    """
    finished = run.get("finished_at")
    moment = datetime.fromisoformat(finished) if finished else datetime.now(timezone.utc)
    moment = moment.astimezone(timezone.utc)
    unix_nano = int(moment.replace(microsecond=0).timestamp()) * 10**9 + moment.microsecond * 1000
    return {
        **dict.fromkeys(METRICS_TYPES),
        "run_id": run.get("run_id"),
        "timestamp": moment.isoformat(),
        "timestamp_unix_nano": str(unix_nano),
    }


def _run_datasets(
    run: dict[str, Any],
    results_rows: list[dict[str, Any]],
    trace_data: list[dict[str, Any]],
    metric_data: dict[str, Any],
) -> list[_Push]:
    """The results, traces (when the run has a traces dataset name) and metrics datasets.

    Everything is converted and checked here, so a data problem stops before the first upload.
    """
    from ..telemetry import flatten_metrics_for_hf

    names, model, run_id = run["hub"], run["model"], run["run_id"]
    label = f"{model} (run_id: {run_id})"
    results = build_dataset(
        hub_rows(results_rows, RESULTS_TYPES, "results"), features_for(RESULTS_TYPES)
    )
    plan = [
        _Push(
            "results",
            names["results"],
            results,
            results_card(run, names["results"], results),
            f"Eval results for {label}",
        )
    ]
    if names.get("traces"):
        traces = build_dataset(
            hub_rows(trace_data, TRACES_TYPES, "traces"), features_for(TRACES_TYPES)
        )
        card = traces_card(run, names["traces"], traces)
        plan.append(_Push("traces", names["traces"], traces, card, f"Trace data for {label}"))
    metric_rows = hub_rows(flatten_metrics_for_hf(metric_data), METRICS_TYPES, "metrics")
    measured = bool(metric_rows)
    metrics = build_dataset(metric_rows or [no_metrics_row(run)], features_for(METRICS_TYPES))
    message = f"Metrics for {label}" if measured else f"No GPU metrics for {label}"
    card = metrics_card(run, names["metrics"], metrics, measured=measured)
    plan.append(_Push("metrics", names["metrics"], metrics, card, message))
    return plan


def push_results_to_hf(
    all_results: dict[str, list[dict[str, Any]]],
    trace_data: list[dict[str, Any]] | None,
    metric_data: dict[str, Any] | None,
    results_repo: str,
    traces_repo: str,
    metrics_repo: str,
    model_name: str,
    hf_token: str,
    private: bool = True,
    run_id: str | None = None,
    dataset_used: str | None = None,
    agent_type: str = "both",
) -> None:
    """Seed API: push the results, traces (when there are any) and metrics datasets of a run.

    Data errors raise ValueError before anything is uploaded; Hub errors propagate.
    """
    namespace = results_repo.split("/")[0]
    run = {
        "run_id": run_id,
        "model": model_name,
        "provider": None,
        "agent_type": agent_type,
        "dataset_used": dataset_used,
        "otel_enabled": bool(trace_data),
        "hub": {
            "results": results_repo,
            "traces": traces_repo if trace_data else None,
            "metrics": metrics_repo,
            "leaderboard": f"{namespace}/smoltrace-leaderboard",
        },
    }
    metric_data = metric_data or {"run_id": run_id, "resourceMetrics": [], "aggregates": []}
    rows = flatten_results_for_hf(all_results, model_name)
    for push in _run_datasets(run, rows, trace_data or [], metric_data):
        commit_dataset(hf_token, push.repo, push.dataset, push.card, push.message, private=private)


# --------------------------------------------------------------------------- leaderboard
def _read_leaderboard(
    token: str, repo_id: str, revision: str
) -> tuple[Features, list[dict[str, Any]]]:
    """Features and rows of the leaderboard's data files at `revision` (empty when it has none)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Features

    api = hub_api(token)
    paths = sorted(
        p
        for p in api.list_repo_files(repo_id, repo_type="dataset", revision=revision)
        if p.startswith("data/") and p.endswith(".parquet")
    )
    if not paths:
        return Features(), []
    # A throw-away cache: the files are read once, and a shared cache keyed by commit would be
    # wrong if two Hub endpoints (tests, mirrors) ever reuse a commit id.
    with tempfile.TemporaryDirectory(prefix="smoltrace-leaderboard-") as cache:
        tables = [
            pq.read_table(
                api.hf_hub_download(
                    repo_id, path, repo_type="dataset", revision=revision, cache_dir=cache
                )
            )
            for path in paths
        ]
    table = pa.concat_tables(tables, promote_options="default")
    return Features.from_arrow_schema(table.schema), table.to_pylist()


def _leaderboard_features(
    old: Features, new_row: dict[str, Any]
) -> tuple[Features, dict[str, str]]:
    """Union schema: earlier columns keep their type and order, new ones are appended.

    Returns the features and the type each new value must have (for the checks in `_check`).
    """
    from datasets import Features, Value

    canonical = features_for(LEADERBOARD_TYPES)
    types: dict[str, str] = {}
    merged: dict[str, Any] = {}
    for column in [*old, *(c for c in new_row if c not in old)]:
        feature = old.get(column)
        if feature is None or feature == Value("null"):
            feature = canonical.get(column) or _inferred_feature(new_row.get(column))
        merged[column] = feature
        types[column] = _kind_of(feature)
    return Features(merged), types


def _inferred_feature(value: Any) -> Any:
    import pyarrow as pa
    from datasets import Features, Value

    feature = Features.from_arrow_schema(pa.Table.from_pylist([{"v": value}]).schema)["v"]
    return Value("string") if feature == Value("null") else feature


def _kind_of(feature: Any) -> str:
    """The `_check` kind that guarantees a value is stored unchanged under `feature`."""
    from datasets import List, Value

    if isinstance(feature, Value):
        dtype = feature.dtype
        if dtype == "bool":
            return "bool"
        if dtype.startswith(("int", "uint")):
            return "int"
        if dtype.startswith("float"):
            return "float"
        if dtype in ("string", "large_string"):
            return "string"
    if isinstance(feature, List) and feature.feature == Value("string"):
        return "list<string>"
    raise ValueError(
        f"leaderboard column type {feature} is not supported by this smoltrace version"
    )


def update_leaderboard(
    leaderboard_repo: str, new_row: dict[str, Any], hf_token: str, *, private: bool = True
) -> None:
    """Add `new_row` to the leaderboard, keeping every earlier row and column.

    A row whose `run_id` is already there replaces it (a retried upload adds no duplicate). The
    leaderboard is read at a commit and written with it as parent; when another run committed in
    between, the Hub refuses (412) and the update starts again from the new state.
    """
    from huggingface_hub.errors import RepositoryNotFoundError

    api = hub_api(hf_token)
    for attempt in range(1, LEADERBOARD_ATTEMPTS + 1):
        try:
            parent = api.dataset_info(leaderboard_repo).sha
        except RepositoryNotFoundError:
            parent = None
        old_features, rows = (
            _read_leaderboard(hf_token, leaderboard_repo, parent) if parent else (None, [])
        )
        features, types = _leaderboard_features(old_features or {}, new_row)
        checked = _row(new_row, types, "leaderboard row")
        run_id = new_row.get("run_id")
        same = [
            i for i, row in enumerate(rows) if run_id is not None and row.get("run_id") == run_id
        ]
        if same:
            rows[same[0]] = checked
        else:
            rows.append(checked)
        dataset = build_dataset(rows, features)
        owner = leaderboard_repo.split("/")[0]
        message = f"Update: {new_row.get('model')} {new_row.get('agent_type')} (run_id: {run_id})"
        try:
            commit_dataset(
                hf_token,
                leaderboard_repo,
                dataset,
                leaderboard_card(owner, leaderboard_repo, dataset),
                message,
                private=private,
                parent_commit=parent,
            )
            return
        except Exception as exc:
            if _status(exc) != 412 or attempt == LEADERBOARD_ATTEMPTS:
                raise
            logger.info("The leaderboard changed while updating it; reading it again (%d)", attempt)


# --------------------------------------------------------------------------- run folders
def _read_json(folder: Path, name: str, kind: type) -> Any:
    path = folder / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{folder} is not a complete run folder: {name} is missing") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, kind):
        raise ConfigError(f"{path} should hold a JSON {kind.__name__}, not {type(data).__name__}")
    return data


def _hub_names(metadata: dict[str, Any], token: str) -> dict[str, str | None]:
    """The run's dataset ids: from metadata.json, or made now for a run saved as local JSON."""
    if metadata.get("hub"):
        return dict(metadata["hub"])
    user = require_hf_user(token)
    results, traces, metrics, leaderboard = generate_dataset_names(user, metadata["timestamp"])
    return {
        "results": results,
        "traces": traces if metadata.get("otel_enabled") else None,
        "metrics": metrics,
        "leaderboard": leaderboard,
    }


def read_smoltrace_block(
    api: HfApi, repo_id: str, files: list[str] | None = None
) -> dict[str, Any] | None:
    """The `smoltrace:` block of a dataset card's YAML; None when the card has none or is absent.

    `files`, the repo's file list when the caller already has it. Errors reading the repo
    propagate (the caller decides what "cannot tell" means).
    """
    from huggingface_hub import DatasetCard

    if files is None:
        files = api.list_repo_files(repo_id, repo_type="dataset")
    if "README.md" not in files:
        return None
    # A throw-away cache: the card is read once.
    with tempfile.TemporaryDirectory(prefix="smoltrace-card-") as cache:
        readme = api.hf_hub_download(repo_id, "README.md", repo_type="dataset", cache_dir=cache)
        block = DatasetCard.load(readme).data.to_dict().get("smoltrace")
    return block if isinstance(block, dict) else None


def claim_names(names: dict[str, str | None], run_id: str, token: str) -> dict[str, str | None]:
    """`names`, or `_2`, `_3`, ... variants when another run already holds its results dataset.

    Dataset names carry the start second only, so two runs started in the same second would
    otherwise overwrite each other's datasets. A results dataset that holds this very run (a
    retried push) is this run's own.
    """
    api = hub_api(token)
    for n in range(1, 100):
        candidate = {
            kind: repo if n == 1 or repo is None or kind == "leaderboard" else f"{repo}_{n}"
            for kind, repo in names.items()
        }
        repo = str(candidate["results"])
        if not api.repo_exists(repo, repo_type="dataset"):
            return candidate
        block = read_smoltrace_block(api, repo) or {}
        if block.get("run_id") == run_id:
            return candidate
        logger.info("%s holds run %s: trying the next free name", repo, block.get("run_id"))
    raise PublishError(f"no free dataset name for run {run_id} after {names['results']}_99")


def publish_run_folder(
    folder: str | Path, token: str, *, private: bool = True, retry_options: str = ""
) -> dict[str, str]:
    """Push a run folder's results, traces, metrics and leaderboard row; returns {kind: repo id}.

    The folder is only read, so it stays the complete copy whatever happens. A folder that is not
    complete raises ConfigError; a failed upload raises PublishError, which names what failed,
    what was already uploaded, and the command that retries (uploads are idempotent: datasets
    are replaced and the leaderboard row is matched by run_id).
    """
    folder = Path(folder)
    metadata = _read_json(folder, "metadata.json", dict)
    results_rows = _read_json(folder, "results.json", list)
    trace_data = _read_json(folder, "traces.json", list)
    metric_data = _read_json(folder, "metrics.json", dict)
    board_row = _read_json(folder, "leaderboard_row.json", dict)
    retry = f"smoltrace-eval --push-only {folder}{retry_options}" + ("" if private else " --public")
    try:
        names = claim_names(_hub_names(metadata, token), str(metadata.get("run_id")), token)
    except (ConfigError, PublishError):
        raise
    except Exception as exc:
        raise PublishError(
            f"cannot check the Hub for free dataset names: {describe_error(exc, token)}. Nothing "
            f"is lost: the complete run is in {folder}. Retry the upload with: {retry}"
        ) from exc
    board_row.update(
        results_dataset=names["results"],
        traces_dataset=names["traces"],
        metrics_dataset=names["metrics"],
    )
    if not metadata.get("hub"):
        board_row["submitted_by"] = str(names["results"]).split("/")[0]
    run = {**metadata, "hub": names}
    try:
        plan = _run_datasets(run, results_rows, trace_data, metric_data)
        for column, kind in LEADERBOARD_TYPES.items():
            _check(kind, board_row.get(column), f"leaderboard_row.json.{column}")
    except ValueError as exc:
        raise PublishError(f"cannot publish {folder}: {exc}") from exc

    pushed: dict[str, str] = {}

    def failure(kind: str, repo: str, exc: Exception) -> PublishError:
        logger.debug("Upload of %s failed", repo, exc_info=True)
        done = ", ".join(f"{k} ({r})" for k, r in pushed.items()) or "nothing"
        return PublishError(
            f"Hub upload failed while pushing the {kind} dataset {repo}: "
            f"{describe_error(exc, token)}. "
            f"Uploaded before the failure: {done}. Nothing is lost: the complete run is in "
            f"{folder}. Retry the upload with: {retry}"
        )

    for push in plan:
        try:
            commit_dataset(token, push.repo, push.dataset, push.card, push.message, private=private)
        except Exception as exc:
            raise failure(push.kind, push.repo, exc) from exc
        pushed[push.kind] = push.repo
    board = names["leaderboard"]
    try:
        update_leaderboard(board, board_row, token, private=private)
    except Exception as exc:
        raise failure("leaderboard", board, exc) from exc
    pushed["leaderboard"] = board
    return pushed
