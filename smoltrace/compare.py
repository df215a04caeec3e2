"""`smoltrace-compare A B`: is run B better or worse than run A, beyond chance?

A and B are run folders, their results.json files, or Hub results datasets. Parsing and output
only; the pairing and the statistics live in `smoltrace.comparison` and `smoltrace.scoring.stats`.
Exit codes: 0 compared, 2 bad input, 4 the `--max-regression` gate failed.
"""

from __future__ import annotations

import argparse
import json
import sys

from .cli import DefaultsHelpFormatter, OneLineErrorParser
from .errors import GATE_FAILED, ConfigError
from .scoring.stats import BOOTSTRAP_ITERATIONS

PROG = "smoltrace-compare"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog=PROG,
        description=(
            "Compare two smoltrace runs on the tasks they share (paired by task id and agent "
            "type): success-rate difference B - A with a paired bootstrap 95% interval, McNemar's "
            "exact test, per-task wins and losses, and token, cost and latency differences. "
            "Exit codes: 0 compared, 2 bad input, 3 regression gate failed."
        ),
        formatter_class=DefaultsHelpFormatter,
        allow_abbrev=False,
    )
    add = parser.add_argument
    add("run_a", metavar="A", help="Baseline: run folder, results.json, or Hub results dataset id")
    add("run_b", metavar="B", help="Candidate, in the same forms")
    add("--format", choices=["table", "json"], default="table", help="Output format")
    add(
        "--max-regression",
        type=float,
        default=None,
        metavar="POINTS",
        help="Exit 3 when B's success rate is below A's by more than POINTS percentage points "
        "and the 95%% interval of the difference excludes 0",
    )
    add(
        "--bootstrap-iterations",
        type=int,
        default=BOOTSTRAP_ITERATIONS,
        help="Resamples for the paired bootstrap intervals",
    )
    add("--seed", type=int, default=0, help="Seed of the bootstrap (results are reproducible)")
    add("--hf-token-file", default=None, help="Read the Hugging Face token from this file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .comparison import compare_runs, format_report, load_run, regression_gate
    from .redaction import register_secret, secret_redactor

    try:
        if args.bootstrap_iterations < 1:
            raise ConfigError("--bootstrap-iterations must be at least 1")
        if args.max_regression is not None and not 0 <= args.max_regression <= 100:
            raise ConfigError(
                f"--max-regression {args.max_regression:g} is outside 0..100 percentage points"
            )
        token = None
        if args.hf_token_file or not all(_is_local(s) for s in (args.run_a, args.run_b)):
            from .outputs.hub import resolve_token

            token = resolve_token(args.hf_token_file, None)
            register_secret(token)
        run_a, run_b = load_run(args.run_a, token), load_run(args.run_b, token)
        report = compare_runs(run_a, run_b, iterations=args.bootstrap_iterations, seed=args.seed)
    except ConfigError as exc:
        print(f"{PROG}: error: {secret_redactor()(str(exc))}", file=sys.stderr)
        return 2
    if args.max_regression is not None:
        report["gate"] = regression_gate(report, args.max_regression)
    print(json.dumps(report, indent=2) if args.format == "json" else format_report(report))
    return GATE_FAILED if report.get("gate", {}).get("failed") else 0


def _is_local(source: str) -> bool:
    from pathlib import Path

    return Path(source).expanduser().exists()


if __name__ == "__main__":
    sys.exit(main())
