"""`smoltrace-view`: a local dashboard for smoltrace runs (leaderboard, run, trace, GPU metrics).

Start it with `smoltrace-view [--results-dir DIR] [--hub-user USER] [--port N]` or
`python MockTraceMind/app.py`. It binds to 127.0.0.1 and makes no outside calls: Gradio's
analytics and version check are off, and the Hub is only contacted with `--hub-user`.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import socket
import sys
from pathlib import Path

if __package__ in (None, ""):  # `python MockTraceMind/app.py`: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from MockTraceMind.data import DataStore

DEFAULT_RESULTS_DIR = "./smoltrace_results"
DEFAULT_PORT = 7860


def configure_offline(hub: bool) -> None:
    """No telemetry from Gradio or huggingface_hub; without Hub mode, no Hub access at all."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["DO_NOT_TRACK"] = "1"
    if not hub:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"


def hub_token() -> str | None:
    """HF_TOKEN, else the token saved by `hf auth login` (private leaderboards need one)."""
    from huggingface_hub import get_token

    return get_token()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smoltrace-view",
        description="Local dashboard for smoltrace runs: leaderboard, run and trace detail, GPU "
        "metrics. Offline unless --hub-user is given.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--results-dir",
        default=DEFAULT_RESULTS_DIR,
        help="smoltrace-eval --output-dir to scan for run folders (or one run folder)",
    )
    parser.add_argument(
        "--hub-user",
        default=None,
        help="also show {USER}/smoltrace-leaderboard from the Hub (token from HF_TOKEN or "
        "`hf auth login`)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to serve on")
    return parser


def missing_extra() -> str | None:
    """The first dashboard package that cannot be imported, or None when the extra is installed."""
    try:
        import gradio  # noqa: F401
        import pandas  # noqa: F401
        import plotly.graph_objects  # noqa: F401
    except ImportError as exc:
        return exc.name or "gradio"
    return None


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port (Gradio would only print a traceback)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    missing = missing_extra()
    if missing:
        print(
            f"smoltrace-view: the dashboard needs packages that are not installed ({missing}); "
            "install them with: pip install 'smoltrace[dashboard]'",
            file=sys.stderr,
        )
        return 2
    if port_in_use(args.host, args.port):
        print(
            f"smoltrace-view: port {args.port} on {args.host} is already in use; "
            "choose another with --port N",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    configure_offline(hub=bool(args.hub_user))
    store = DataStore(
        Path(args.results_dir).expanduser(),
        hub_user=args.hub_user,
        token=hub_token() if args.hub_user else None,
    )
    store.refresh()
    from MockTraceMind.ui import build_app, launch

    launch(build_app(store), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
