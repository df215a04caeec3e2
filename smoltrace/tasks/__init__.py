"""Task datasets: built-in suites, local JSON/JSONL files and Hub datasets, validated up front.

Every record is checked before any model is called, so a typo on line 40 of a task file fails in
milliseconds with the line number instead of after 39 paid agent runs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_DATASET = "smoltrace-tasks"
BUILTIN_SUITES = {
    "smoltrace-tasks": "smoltrace-tasks.jsonl",
    "smoltrace-fallback": "smoltrace-fallback.jsonl",
    "smoltrace-ops-benchmark": "smoltrace-ops-benchmark.jsonl",
}
DIFFICULTIES = ("easy", "medium", "hard")
TASK_AGENT_TYPES = ("tool", "code", "both")

_STR_FIELDS = ("id", "prompt", "difficulty", "agent_type", "expected_tool", "category")
_STR_LIST_FIELDS = ("expected_keywords", "required_tools")


@dataclass(frozen=True)
class TaskSet:
    """Validated tasks plus where they came from (recorded in the run's metadata)."""

    tasks: list[dict[str, Any]]
    source: str
    revision: str | None = None


def validate_task(record: Any, where: str) -> dict[str, Any]:
    """Check one task record; `where` ("line 3 of f.jsonl", "task 'x'") goes into the error."""
    if not isinstance(record, dict):
        raise ConfigError(f"{where}: a task must be a JSON object, got {type(record).__name__}")
    if record.get("id") in (None, ""):
        raise ConfigError(f"{where}: task is missing required field 'id'")
    prompt = record.get("prompt")
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
        raise ConfigError(
            f"{where} (task '{record['id']}'): task is missing required field 'prompt'"
        )
    label = f"{where} (task '{record['id']}')"
    for field in _STR_FIELDS:
        if record.get(field) is not None and not isinstance(record[field], str):
            raise ConfigError(f"{label}: field '{field}' must be a string")
    task = dict(record)
    # a Hub column gives null where a task lacks the field: that is "not set", so the default
    for field, default in (("difficulty", "easy"), ("agent_type", "both")):
        if task.get(field) is None:
            task[field] = default
    if task["difficulty"] not in DIFFICULTIES:
        raise ConfigError(
            f"{label}: invalid difficulty '{task['difficulty']}'; use one of {', '.join(DIFFICULTIES)}"
        )
    if task["agent_type"] not in TASK_AGENT_TYPES:
        raise ConfigError(
            f"{label}: invalid agent_type '{task['agent_type']}'; "
            f"use one of {', '.join(TASK_AGENT_TYPES)}"
        )
    calls = task.get("expected_tool_calls")
    if calls is not None and (isinstance(calls, bool) or not isinstance(calls, int) or calls < 1):
        raise ConfigError(
            f"{label}: expected_tool_calls must be an integer of at least 1 (got {calls!r}); "
            "leave it out (or null) for one call, and leave out expected_tool when no tool is needed"
        )
    for field in _STR_LIST_FIELDS:
        values = task.get(field)
        if values is not None and (
            not isinstance(values, list) or not all(isinstance(v, str) for v in values)
        ):
            raise ConfigError(f"{label}: {field} must be a list of strings")
    return task


def validate_tasks(records: list[Any], where: str) -> list[dict[str, Any]]:
    tasks = [validate_task(r, f"{where} record {i + 1}") for i, r in enumerate(records)]
    seen: set[str] = set()
    for task in tasks:
        if task["id"] in seen:
            raise ConfigError(f"{where}: duplicate task id '{task['id']}'; task ids must be unique")
        seen.add(task["id"])
    return tasks


def _read_jsonl(text: str, where: str) -> list[dict[str, Any]]:
    tasks = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{where} line {lineno}: malformed JSON ({exc.msg}); fix or remove that line"
            ) from None
        tasks.append(validate_task(record, f"{where} line {lineno}"))
    return validate_tasks(tasks, where)


def _read_local(path: Path, split: str) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read dataset file {path}: {exc.strerror}; check --dataset-name"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot read dataset file {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    if path.suffix == ".jsonl":
        return _read_jsonl(text, str(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} line {exc.lineno}: malformed JSON ({exc.msg})") from None
    if isinstance(data, dict):
        data = data.get(split, data.get("data"))
    if not isinstance(data, list):
        raise ConfigError(
            f"{path}: expected a list of tasks, or an object with a '{split}' (or 'data') list"
        )
    return validate_tasks(data, str(path))


def _read_hub(name: str, split: str, revision: str | None, token: str | None) -> TaskSet:
    if revision is None:
        logger.warning(
            "Task dataset %s is not pinned: results may change when it is updated. "
            "Pass --dataset-revision <commit sha> for reproducible runs.",
            name,
        )
    try:
        from huggingface_hub import HfApi

        # token None: huggingface_hub falls back to HF_TOKEN / the saved login, as usual
        info = HfApi(token=token).dataset_info(name, revision=revision)
        from datasets import load_dataset

        rows = load_dataset(name, split=split, revision=info.sha, token=token)
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise ConfigError(
            f"cannot load task dataset '{name}' (split '{split}'): {type(exc).__name__}: "
            f"{reason}; check --dataset-name, --split, --dataset-revision and, for a private "
            "dataset, the token (HF_TOKEN or --hf-token-file)"
        ) from None
    return TaskSet(validate_tasks(list(rows), name), name, info.sha)


def load_tasks(
    dataset_name: str = DEFAULT_DATASET,
    split: str = "train",
    revision: str | None = None,
    token: str | None = None,
) -> TaskSet:
    """Load and validate tasks from a built-in suite name, a local .json/.jsonl path or a Hub id.

    `token` reads a private Hub dataset; without it huggingface_hub's own lookup (HF_TOKEN) applies.
    """
    if dataset_name in BUILTIN_SUITES:
        text = (
            resources.files(__package__).joinpath("data", BUILTIN_SUITES[dataset_name]).read_text()
        )
        return TaskSet(_read_jsonl(text, dataset_name), dataset_name)
    path = Path(dataset_name).expanduser()
    if path.suffix in (".json", ".jsonl") or path.exists():
        if path.is_dir():
            raise ConfigError(f"dataset path {path} is a folder; pass a .json or .jsonl file")
        if not path.is_file():
            raise ConfigError(
                f"dataset file not found: {path}; pass an existing .json/.jsonl file, a Hub "
                f"dataset id, or a built-in suite ({', '.join(BUILTIN_SUITES)})"
            )
        return TaskSet(_read_local(path, split), str(path))
    if dataset_name.count("/") != 1:
        raise ConfigError(
            f"unknown dataset '{dataset_name}': not a built-in suite ({', '.join(BUILTIN_SUITES)}), "
            "a .json/.jsonl file, or a Hub id of the form owner/name"
        )
    return _read_hub(dataset_name, split, revision, token)


def filter_tasks(
    tasks: list[dict[str, Any]], agent_type: str, difficulty: str | None
) -> list[dict[str, Any]]:
    """Tasks an agent of `agent_type` runs: its own and the shared ones, at the chosen difficulty."""
    return [
        t
        for t in tasks
        if t["agent_type"] in (agent_type, "both")
        and (difficulty is None or t["difficulty"] == difficulty)
    ]


def fallback_tasks() -> list[dict[str, Any]]:
    """The 3 built-in fallback tasks of the original (`DEFAULT_TOOL_TESTS` + `DEFAULT_CODE_TESTS`)."""
    return load_tasks("smoltrace-fallback").tasks
