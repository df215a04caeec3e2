"""`smoltrace-ops-data DIR`: write the sample files the `smoltrace-ops-benchmark` tasks read."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli import OneLineErrorParser
from .tasks.ops_samples import SAMPLE_FILES, write_ops_sample_data

PROG = "smoltrace-ops-data"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog=PROG,
        description=(
            "Write the sample logs, metrics, configuration and manifests of the "
            "smoltrace-ops-benchmark suite into DIR, the folder to pass as --working-directory."
        ),
        allow_abbrev=False,
    )
    parser.add_argument("dir", metavar="DIR", help="Folder to write into (created if missing)")
    parser.add_argument(
        "--force", action="store_true", help="Overwrite sample files that already exist in DIR"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; exit codes: 0 written, 2 bad input (DIR unusable, files would be overwritten)."""
    args = build_parser().parse_args(argv)
    root = Path(args.dir)
    if root.exists() and not root.is_dir():
        print(f"{PROG}: error: {root} is a file, not a folder; choose another DIR", file=sys.stderr)
        return 2
    existing = [name for name in SAMPLE_FILES if (root / name).exists()]
    if existing and not args.force:
        print(
            f"{PROG}: error: {root} already holds {len(existing)} sample file(s) (e.g. "
            f"{existing[0]}); pass --force to overwrite them or choose an empty folder",
            file=sys.stderr,
        )
        return 2
    try:
        written = write_ops_sample_data(root)
    except OSError as exc:
        print(f"{PROG}: error: cannot write into {root}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"Wrote {len(written)} sample files to {root}")
    print(
        "Run the suite: smoltrace-eval --dataset-name smoltrace-ops-benchmark "
        f"--enable-tools file_tools text_tools --working-directory {root} --model ..."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
