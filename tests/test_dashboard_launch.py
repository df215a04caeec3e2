"""`smoltrace-view` start-up problems: one line naming the fix and exit 2, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys

from conftest import BIN, REPO_ROOT, cli_env

# Runs the real entry point with the dashboard packages made unimportable, as on a base install.
WITHOUT_EXTRA = (
    "import sys\n"
    "sys.modules['gradio'] = None\n"
    "from MockTraceMind.app import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO_ROOT, env=cli_env(), capture_output=True, text=True, timeout=120
    )


def test_missing_dashboard_extra_prints_the_install_command() -> None:
    done = run([sys.executable, "-c", WITHOUT_EXTRA, "--port", "0"])
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "smoltrace-view: the dashboard needs packages that are not installed (gradio); "
        "install them with: pip install 'smoltrace[dashboard]'"
    ]
    assert "Traceback" not in done.stderr + done.stdout


def test_busy_port_names_the_flag_to_use() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = run([str(BIN / "smoltrace-view"), "--port", str(port)])
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"smoltrace-view: port {port} on 127.0.0.1 is already in use; choose another with --port N"
    ]
    assert "Traceback" not in done.stderr + done.stdout
