"""`smoltrace-copy-datasets`: publish the built-in task suites to your Hugging Face namespace.

The suites come from the package data (the same files `--dataset-name smoltrace-tasks` runs), so
the copy needs no source dataset on the Hub and works wherever smoltrace is installed. A copy is
useful to edit tasks on the Hub, share them, or pin a suite by commit with `--dataset-revision`.
Each suite is one commit with its card; an existing copy is replaced by a new commit (its history
keeps the old version). `{user}/smoltrace-tasks` is protected from `smoltrace-cleanup`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from .cli import OneLineErrorParser
from .errors import ConfigError

logger = logging.getLogger(__name__)

# Types of the documented task fields; other fields get a type inferred from their values.
TASK_TYPES = {
    "id": "string",
    "prompt": "string",
    "expected_tool": "string",
    "expected_tool_calls": "int",
    "expected_keywords": "list<string>",
    "difficulty": "string",
    "agent_type": "string",
    "category": "string",
    "required_tools": "list<string>",
}


def suite_choices() -> dict[str, str]:
    """`--only` names (`tasks`, `fallback`) of the built-in suites (`smoltrace-tasks`, ...)."""
    from .tasks import BUILTIN_SUITES

    return {name.removeprefix("smoltrace-"): name for name in BUILTIN_SUITES}


def _inferred_kind(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    checks = (
        ("bool", lambda v: isinstance(v, bool)),
        ("int", lambda v: isinstance(v, int) and not isinstance(v, bool)),
        ("float", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
        ("string", lambda v: isinstance(v, str)),
        ("list<string>", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
    )
    for kind, check in checks:
        if present and all(check(v) for v in present):
            return kind
    return "json" if present else "string"


def task_types(tasks: list[dict[str, Any]]) -> dict[str, str]:
    """Column types of a suite: its fields in first-seen order, documented ones typed as such."""
    columns = list(dict.fromkeys(key for task in tasks for key in task))
    return {
        column: TASK_TYPES.get(column) or _inferred_kind([task.get(column) for task in tasks])
        for column in columns
    }


def copy_suite(token: str, suite: str, repo_id: str, *, private: bool) -> str:
    """Push built-in `suite` to `repo_id` with its card; returns the commit sha to pin."""
    from . import __version__
    from .outputs.cards import tasks_card
    from .outputs.hub import build_dataset, commit_dataset, features_for, hub_rows
    from .tasks import load_tasks

    tasks = load_tasks(suite).tasks
    types = task_types(tasks)
    dataset = build_dataset(hub_rows(tasks, types, suite), features_for(types))
    card = tasks_card(repo_id, suite, dataset, __version__)
    message = f"Copy the built-in {suite} suite ({len(tasks)} tasks) from smoltrace {__version__}"
    return commit_dataset(token, repo_id, dataset, card, message, private=private)


def build_parser() -> argparse.ArgumentParser:
    choices = suite_choices()
    parser = OneLineErrorParser(
        prog="smoltrace-copy-datasets",
        description=(
            "Copy smoltrace's built-in task suites ("
            + ", ".join(choices.values())
            + ") to {your user}/{suite name} on the Hugging Face Hub, with dataset cards."
        ),
        allow_abbrev=False,
    )
    parser.add_argument("--only", choices=sorted(choices), help="copy only this suite")
    parser.add_argument(
        "--private", action="store_true", help="make new copies private (default: public)"
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--hf-token-file", help="read the Hugging Face token from this file")
    parser.add_argument(
        "--token", help="Hugging Face token (deprecated: visible in the process list; use HF_TOKEN)"
    )
    return parser


def copy_datasets(args: argparse.Namespace) -> int:
    """The command: plan, confirm, copy; exit code 1 when a copy failed or was not confirmed."""
    from .outputs.hub import describe_error, hub_api, require_hf_user, resolve_token

    token = resolve_token(args.hf_token_file, args.token, flag_name="--token") or ""
    user = require_hf_user(token)
    choices = suite_choices()
    suites = [choices[args.only]] if args.only else list(choices.values())
    api = hub_api(token)
    visibility = "private" if args.private else "public"
    print(f"Logged in as {user}. Copies ({visibility} when new):")
    for suite in suites:
        repo_id = f"{user}/{suite}"
        exists = api.repo_exists(repo_id, repo_type="dataset")
        note = "exists: replaced by a new commit, keeping its visibility" if exists else "new"
        print(f"  {suite} -> {repo_id} ({note})")
    if not args.yes:
        try:
            confirmed = input("Type COPY to continue: ").strip() == "COPY"
        except EOFError:
            confirmed = False
        if not confirmed:
            print("Not confirmed: nothing was copied.")
            return 1
    failed = 0
    for suite in suites:
        repo_id = f"{user}/{suite}"
        try:
            sha = copy_suite(token, suite, repo_id, private=args.private)
        except Exception as exc:
            failed += 1
            print(f"FAILED {suite} -> {repo_id}: {describe_error(exc, token)}", file=sys.stderr)
            continue
        print(f"Copied {suite} to {repo_id} at commit {sha}")
        print(f"  run it: smoltrace-eval --dataset-name {repo_id} --dataset-revision {sha} ...")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit codes: 0 done, 1 a copy failed or was not confirmed, 2 bad input."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="smoltrace-copy-datasets: %(levelname)s: %(message)s")
    try:
        return copy_datasets(args)
    except ConfigError as exc:
        print(f"smoltrace-copy-datasets: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
