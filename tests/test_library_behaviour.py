"""Importing the library leaves the process as it was: no environment variables, no log handlers."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO_ROOT, cli_env

CHECK = (
    "import logging, os\n"
    "before = dict(os.environ)\n"
    "handlers = list(logging.getLogger().handlers)\n"
    "import smoltrace.core, smoltrace.main, smoltrace.utils, smoltrace.otel\n"
    "changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))\n"
    "print(changed, logging.getLogger().handlers == handlers)\n"
)


def test_import_sets_no_environment_variable_and_no_log_handler() -> None:
    env = cli_env()
    env.pop("LITELLM_LOCAL_MODEL_COST_MAP", None)
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "[] True"
