"""The journal is the run: reading a run folder back for `--resume` and `--retry-errors`.

A run writes `run_settings.json` when it starts and appends one record per finished task to
`records.jsonl` (flushed at once). Whatever stopped it (Ctrl-C, SIGTERM, `kill -9`, a power cut),
the folder says which tasks have a result; a resumed run runs only the others, in the same folder
with the same run_id, so its outputs are those of one run. Settings that change results must
match the folder's; a resume that differs is refused, naming the differences.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .outputs.local import JOURNAL, SETTINGS, write_json_atomic
from .redaction import SECRET_NAME, secret_redactor
from .run_status import RERUN_ON_RESUME, RERUN_ON_RETRY_ERRORS, stop_reason_of

logger = logging.getLogger(__name__)

__all__ = [
    "SETTINGS_FILE",
    "Resumed",
    "prepare_resume",
    "read_journal",
    "write_settings",
]

SETTINGS_FILE = SETTINGS
# Flags that change what a task's result is: a resumed run must use the folder's values.
OUTCOME_FLAGS = (
    "model",
    "provider",
    "api_base",
    "model_args",
    "hf_inference_provider",
    "trust_remote_code",
    "agent_type",
    "max_steps",
    "prompt_yml",
    "enable_tools",
    "search_provider",
    "additional_imports",
    "working_directory",
    "mcp_server_url",
    "dataset_name",
    "dataset_revision",
    "split",
    "difficulty",
    "enable_otel",
    "disable_gpu_metrics",
    "request_timeout",
    "task_timeout",
    "tool_timeout",
    "allow_host_access",
    "allow_local_network",
    "mcp_transport",
    "repeats",
    "seed",
    "temperature",
    "top_p",
    "top_k",
    "max_new_tokens",
    "reasoning_effort",
    "enable_thinking",
    "keyword_match",
)
# Never stored: secrets, and the flags that say what this invocation does.
NOT_STORED = ("hf_token", "otlp_header", "resume", "retry_errors", "push_only", "explicit_flags")
_URL_SECRET = re.compile(r"//[^/@\s]+@|[?&][^=&]*(?:key|token|secret|auth|password)[^=&]*=", re.I)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _holds_secret(value: Any) -> bool:
    """A flag value with a credential in it: a known secret, URL credentials, `api_key=...`."""
    text = json.dumps(value)
    if secret_redactor()(text) != text:
        return True
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, str):
            continue
        name = item.partition("=")[0].strip() if "=" in item else ""
        if _URL_SECRET.search(item) or (
            SECRET_NAME.search(name) and not name.lower().endswith("tokens")  # max_tokens
        ):
            return True
    return False


def _stored_form(value: Any) -> Any:
    """The value, or only its hash when it holds a secret (a resume must pass it again)."""
    return {"secret_sha256": _digest(value)} if _holds_secret(value) else value


def _is_secret_form(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secret_sha256"}


def _file_digest(path: str | None) -> str | None:
    if not path or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _input_digests(settings: dict[str, Any]) -> dict[str, str | None]:
    """Content hashes of the local files a run reads (a changed file changes its results)."""
    return {
        "prompt_yml": _file_digest(settings.get("prompt_yml")),
        "dataset_name": _file_digest(settings.get("dataset_name")),
    }


def write_settings(
    folder: Path,
    args: argparse.Namespace,
    *,
    run_id: str,
    timestamp: str,
    planned: list[str],
) -> None:
    """Record, before the first task, how the run was asked for and which tasks it plans."""
    flags = {k: _stored_form(v) for k, v in vars(args).items() if k not in NOT_STORED}
    write_json_atomic(
        folder / SETTINGS_FILE,
        {
            "run_id": run_id,
            "timestamp": timestamp,
            "flags": flags,
            "input_sha256": _input_digests(flags),
            "planned": planned,
        },
    )


def read_journal(folder: Path) -> list[dict[str, Any]]:
    """The records of `records.jsonl`. A torn last line (the process died mid-write) is dropped
    with a warning and cut from the file, so appending goes on at a line boundary."""
    path = folder / JOURNAL
    if not path.exists():
        return []
    data = path.read_bytes()
    records: list[dict[str, Any]] = []
    offset = 0
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        end = offset + len(line) + 1
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if any(rest.strip() for rest in lines[number:]):
                    raise ConfigError(
                        f"{path} line {number} is not a JSON record and is not the last line; "
                        "the journal is damaged, so this run cannot be resumed"
                    ) from None
                logger.warning(
                    "%s: ignoring a torn last line (the run was killed while writing it); "
                    "that task runs again",
                    path,
                )
                with path.open("r+b") as handle:
                    handle.truncate(offset)
                break
        offset = end
    return records


@dataclass
class Resumed:
    """What a resumed run continues from."""

    folder: Path
    run_id: str
    timestamp: str
    planned: list[str]
    done: dict[str, dict[str, Any]]  # test_case_uid -> the record that stands
    rerun: list[str]  # uids with an earlier record that run again


def prepare_resume(args: argparse.Namespace, explicit: set[str], *, retry_errors: bool) -> Resumed:
    """Fill `args` from the folder's settings; refuse flags that would change results.

    `explicit` names the flags (dest names) given on this command line; the others take the
    folder's values.
    """
    folder = Path(args.retry_errors if retry_errors else args.resume)
    flag = "--retry-errors" if retry_errors else "--resume"
    settings_path = folder / SETTINGS_FILE
    if not settings_path.is_file():
        raise ConfigError(
            f"{flag} {folder}: no {SETTINGS_FILE} there; pass the folder of a smoltrace run"
        )
    try:
        settings = json.loads(settings_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{flag} {folder}: cannot read {SETTINGS_FILE} ({exc})") from None
    stored: dict[str, Any] = settings.get("flags") or {}
    differences = []
    for key, value in vars(args).items():
        if key in NOT_STORED or key not in stored:
            continue
        given = key in explicit
        option = f"--{key.replace('_', '-')}"
        if _is_secret_form(stored[key]):
            if not given:
                raise ConfigError(
                    f"{flag} {folder}: the run's {option} holds a secret, which "
                    f"{SETTINGS_FILE} does not keep; pass the same {option} again"
                )
            if _digest(value) != stored[key]["secret_sha256"]:
                differences.append(f"{option} (not the value the run used)")
        elif given and key in OUTCOME_FLAGS and value != stored[key]:
            differences.append(f"{option} {value!r} (the run used {stored[key]!r})")
        elif not given:
            setattr(args, key, stored[key])
    digests = _input_digests(stored)
    for key, digest in (settings.get("input_sha256") or {}).items():
        if digest is not None and digests.get(key) != digest:
            differences.append(f"--{key.replace('_', '-')} file {stored.get(key)} has changed")
    if differences:
        raise ConfigError(
            f"{flag} {folder}: settings differ from the run's: {'; '.join(differences)}; "
            "drop these flags (or start a new run)"
        )
    args.run_id = settings["run_id"]
    rerun_reasons = RERUN_ON_RETRY_ERRORS if retry_errors else RERUN_ON_RESUME
    latest: dict[str, dict[str, Any]] = {}
    for record in read_journal(folder):
        latest[record["test_case_uid"]] = record
    done = {uid: r for uid, r in latest.items() if stop_reason_of(r) not in rerun_reasons}
    rerun = [uid for uid in latest if uid not in done]
    return Resumed(
        folder, settings["run_id"], settings["timestamp"], list(settings["planned"]), done, rerun
    )
