"""`smoltrace-eval`: the command line. Parsing only; the work happens in `smoltrace.main`.

This module imports nothing heavy, so `smoltrace-eval --help` answers in a fraction of a second.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from . import __version__
from .scoring.matching import DEFAULT_KEYWORD_MATCH, KEYWORD_MATCH_RULES

DEFAULT_OUTPUT_DIR = "./smoltrace_results"


class OneLineErrorParser(argparse.ArgumentParser):
    """A parser whose usage errors are one line (problem + where to look), exit code 2.

    argparse's default prints the whole usage block first, which buries the actual problem.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default, except for switches, flags without one, and help that says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, True) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="smoltrace-eval",
        description=(
            "Evaluate a smolagents ToolCallingAgent and/or CodeAgent on a task dataset, with optional "
            "OpenTelemetry traces and GPU metrics, and save the results locally or to the Hugging Face Hub. "
            "Offline demo: smoltrace-eval --provider mock --model oracle --output-format json"
        ),
        formatter_class=DefaultsHelpFormatter,
        allow_abbrev=False,
    )
    add = parser.add_argument
    add("--version", action="version", version=f"smoltrace {__version__}")

    model = parser.add_argument_group("model")
    model.add_argument(
        "--model", help="Model id for the provider (e.g. openai/gpt-4o-mini; 'oracle' for mock)"
    )
    model.add_argument(
        "--provider",
        default="litellm",
        help="Model backend: litellm, inference, transformers, ollama, or mock (offline oracle, not a real model)",
    )
    model.add_argument(
        "--api-base", default=None, help="Base URL of an OpenAI-compatible or Ollama server"
    )
    model.add_argument(
        "--model-args",
        nargs="+",
        metavar="KEY=VALUE",
        default=None,
        help="Generation parameters sent to the model, e.g. temperature=0.2 max_tokens=512 seed=7 (JSON values)",
    )
    model.add_argument("--temperature", type=float, default=None, help="Sampling temperature")
    model.add_argument("--top-p", type=float, default=None, help="Nucleus sampling top_p")
    model.add_argument("--top-k", type=int, default=None, help="Top-k sampling")
    model.add_argument(
        "--max-new-tokens", type=int, default=None, help="Most tokens per model reply"
    )
    model.add_argument(
        "--reasoning-effort",
        default=None,
        choices=["minimal", "low", "medium", "high"],
        help="Reasoning effort for models that take one",
    )
    model.add_argument(
        "--enable-thinking",
        default=None,
        choices=["true", "false"],
        help="Chat-template thinking switch (Qwen3-style) for an OpenAI-compatible --api-base server",
    )
    model.add_argument(
        "--hardware-label",
        default=None,
        help="What the model ran on, for the leaderboard (e.g. '8x H100 (provider X)')",
    )
    model.add_argument(
        "--hf-inference-provider",
        default=None,
        help="Inference Providers backend for --provider inference",
    )
    model.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="Let --provider transformers run code shipped with the model repository",
    )

    agent = parser.add_argument_group("agents and tools")
    agent.add_argument(
        "--agent-type",
        default="both",
        choices=["tool", "code", "both"],
        help="Agent(s) to run; both = tool then code",
    )
    agent.add_argument("--max-steps", type=int, default=6, help="Maximum agent steps per task")
    agent.add_argument(
        "--prompt-yml",
        default=None,
        help="Prompt templates / agent settings YAML (smolagents layout)",
    )
    agent.add_argument(
        "--enable-tools",
        nargs="+",
        default=None,
        metavar="NAME",
        help=(
            "Optional tools: duckduckgo_search visit_webpage python_interpreter wikipedia_search "
            "google_search; file tools read_file write_file list_directory search_files; text tools "
            "grep sed sort head_tail; system tools ps kill env which curl ping; or the groups "
            "file_tools text_tools system_tools. File/text tools and kill need --working-directory"
        ),
    )
    agent.add_argument(
        "--search-provider",
        default="duckduckgo",
        choices=["serper", "brave", "tavily", "duckduckgo"],
        help="Backend of google_search (keys: SERPER_API_KEY, BRAVE_API_KEY, TAVILY_API_KEY)",
    )
    agent.add_argument(
        "--additional-imports",
        nargs="+",
        default=None,
        metavar="MODULE",
        help="Extra modules the CodeAgent may import (host-access ones such as os, subprocess, sys need --allow-host-access)",
    )
    agent.add_argument(
        "--allow-host-access",
        action="store_true",
        help="Allow --additional-imports (or a prompt YAML) to grant modules that reach this machine's files, processes or network; warned about and recorded",
    )
    agent.add_argument(
        "--working-directory",
        default=None,
        metavar="DIR",
        help="The folder file/text tools and kill are confined to (must exist; no default: never the current folder)",
    )
    agent.add_argument(
        "--allow-local-network",
        action="store_true",
        help="Let curl and ping reach loopback, private and link-local addresses (refused by default)",
    )
    agent.add_argument(
        "--mcp-server-url",
        action="append",
        default=None,
        metavar="URL|NAME=URL",
        help="MCP server whose tools the agents get (repeatable); with NAME= its tools are named NAME_tool",
    )
    agent.add_argument(
        "--mcp-transport",
        default="auto",
        choices=["auto", "streamable-http", "sse"],
        help="MCP transport; auto = sse when the URL path ends in /sse, else streamable-http",
    )

    data = parser.add_argument_group("tasks")
    data.add_argument(
        "--dataset-name",
        default="smoltrace-tasks",
        help="Built-in suite (smoltrace-tasks, smoltrace-fallback, smoltrace-ops-benchmark), a .json/.jsonl file, or a Hub dataset id",
    )
    data.add_argument(
        "--dataset-revision", default=None, help="Hub dataset revision (commit sha) to pin"
    )
    data.add_argument("--split", default="train", help="Dataset split")
    data.add_argument(
        "--difficulty",
        default=None,
        choices=["easy", "medium", "hard"],
        help="Only tasks of this difficulty",
    )
    data.add_argument(
        "--parallel-workers",
        type=int,
        default=1,
        help="Tasks run concurrently (each task gets a fresh agent)",
    )
    data.add_argument(
        "--keyword-match",
        default=DEFAULT_KEYWORD_MATCH,
        choices=list(KEYWORD_MATCH_RULES),
        help="How expected keywords match the answer: word = whole words, numbers as numbers "
        "(22 != 122); substring = the original harness's substring test",
    )

    limits = parser.add_argument_group(
        "limits, retries and resume (see README: When things go wrong)"
    )
    limits.add_argument(
        "--request-timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="Seconds one model HTTP request may take before it is abandoned (and retried)",
    )
    limits.add_argument(
        "--task-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="Seconds one task may take; then it ends with stop_reason timeout and the run goes on (0: no limit)",
    )
    limits.add_argument(
        "--tool-timeout",
        type=float,
        default=120.0,
        metavar="S",
        help="Seconds one tool call may take; then the agent gets a timeout error from that tool (0: no limit)",
    )
    limits.add_argument(
        "--max-retries",
        type=int,
        default=5,
        metavar="N",
        help="Retries of one failed model call (429, 5xx, connection errors, timeouts, malformed responses)",
    )
    limits.add_argument(
        "--retry-budget",
        type=int,
        default=20,
        metavar="N",
        help="Retries one task may spend over all its model calls",
    )
    limits.add_argument(
        "--retry-backoff",
        type=float,
        default=0.5,
        metavar="S",
        help="First retry delay; doubles per attempt with jitter",
    )
    limits.add_argument(
        "--retry-max-delay",
        type=float,
        default=30.0,
        metavar="S",
        help="Cap for one retry delay, also for a server's Retry-After",
    )
    limits.add_argument(
        "--max-connections",
        type=int,
        default=None,
        metavar="N",
        help="Most model calls in flight (default: --parallel-workers); shrinks on 429s, grows back on success",
    )
    limits.add_argument(
        "--max-error-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="Share of tasks (0-1) that may error or time out before the run exits with code 3",
    )
    limits.add_argument(
        "--resume",
        default=None,
        metavar="FOLDER",
        help="Continue an interrupted run from its folder: finished tasks are not run again",
    )
    limits.add_argument(
        "--retry-errors",
        default=None,
        metavar="FOLDER",
        help="Run again only the errored, timed-out and interrupted tasks of a run folder",
    )

    telemetry = parser.add_argument_group("telemetry")
    telemetry.add_argument(
        "--enable-otel", action="store_true", help="Record OpenTelemetry traces and metrics"
    )
    telemetry.add_argument(
        "--disable-gpu-metrics",
        action="store_true",
        help="No GPU metrics (on by default for transformers and ollama with --enable-otel)",
    )
    telemetry.add_argument("--run-id", default=None, help="Run identifier (default: a new UUID4)")
    telemetry.add_argument(
        "--otlp-endpoint",
        default=None,
        metavar="URL",
        help="Also send traces and metrics to this OTLP/HTTP collector (base URL, e.g. "
        "http://127.0.0.1:4318; implies --enable-otel)",
    )
    telemetry.add_argument(
        "--otlp-header",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="Header for every OTLP request, e.g. Authorization='Bearer ...' (repeatable; values are never logged)",
    )
    telemetry.add_argument(
        "--otlp-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="Limit of one OTLP export, and of the final flush when the run ends",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--output-format",
        default=None,
        choices=["hub", "json"],
        help="Where results go (default: hub when a token is found, else json)",
    )
    output.add_argument(
        "--output-dir", default=DEFAULT_OUTPUT_DIR, help="Folder for the local run folders"
    )
    visibility = output.add_mutually_exclusive_group()
    visibility.add_argument(
        "--private",
        dest="private",
        action="store_true",
        default=True,
        help="Hub datasets are private (the default)",
    )
    visibility.add_argument(
        "--public", dest="private", action="store_false", help="Publish Hub datasets publicly"
    )
    output.add_argument(
        "--hf-token-file", default=None, help="Read the Hugging Face token from this file"
    )
    output.add_argument(
        "--hf-token",
        default=None,
        help="Hugging Face token (deprecated: visible in the process list; use HF_TOKEN or --hf-token-file)",
    )
    output.add_argument(
        "--push-only",
        default=None,
        metavar="FOLDER",
        help="Upload an existing run folder to the Hub (retry a failed push) and exit",
    )

    grouping = parser.add_argument_group("leaderboard grouping")
    grouping.add_argument("--use-case", default=None, help="Use-case label")
    grouping.add_argument("--team", default=None, help="Team label")
    grouping.add_argument(
        "--purpose",
        default=None,
        choices=["selection", "regression", "monitoring"],
        help="Why the run was made",
    )
    grouping.add_argument("--suite-version", default=None, help="Task suite version label")

    gates = parser.add_argument_group("repeats and CI gates")
    gates.add_argument(
        "--repeats",
        type=int,
        default=1,
        metavar="K",
        help="Run every task K times, each attempt in a clean agent (adds pass@K, pass^K)",
    )
    gates.add_argument(
        "--seed",
        type=int,
        default=None,
        help="Base seed: attempt k sends seed N+k to the model (recorded in metadata.json)",
    )
    gates.add_argument(
        "--min-success-rate",
        type=float,
        default=None,
        metavar="PERCENT",
        help="Exit 3 when the run's success rate (0-100) is below PERCENT",
    )
    gates.add_argument(
        "--gate",
        default="point",
        choices=["point", "lower-bound"],
        help="What --min-success-rate compares: the success rate, or the lower end of its 95%% interval",
    )

    console = parser.add_argument_group("console")
    console.add_argument(
        "--quiet", action="store_true", help="Print only errors and the final line"
    )
    console.add_argument("--debug", action="store_true", help="Print debug detail")
    return parser


def explicit_flags(parser: argparse.ArgumentParser, argv: list[str] | None) -> set[str]:
    """Dest names of the flags given on the command line (not left at their defaults)."""
    probe = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for action in parser._actions:
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            kwargs: dict = {"dest": action.dest, "default": argparse.SUPPRESS}
            if action.nargs == 0:
                kwargs["action"] = "store_const"
                kwargs["const"] = True
            else:
                kwargs["nargs"] = action.nargs
            probe.add_argument(*action.option_strings, **kwargs)
    given, _ = probe.parse_known_args(argv)
    return set(vars(given))


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run, and turn user mistakes into one-line errors with exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.model and not (args.push_only or args.resume or args.retry_errors):
        parser.error("the following arguments are required: --model")
    if args.min_success_rate is not None and not 0 <= args.min_success_rate <= 100:
        parser.error(f"--min-success-rate {args.min_success_rate:g} is outside 0..100 (a percent)")
    if args.resume and args.retry_errors:
        parser.error("--resume and --retry-errors cannot be combined; pick one")
    args.explicit_flags = explicit_flags(parser, argv)
    from .main import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
