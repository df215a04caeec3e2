"""The system tools: ps, kill, env, which, curl and ping, in normal use and against abuse.

Network tests talk only to a server on 127.0.0.1 started here (and a fake `ping` program); a
resolver stub stands in for DNS where a test needs a host name. Processes started here are stopped
by their PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest

from smoltrace.tools import build_tools
from smoltrace.tools import network as network_module
from smoltrace.tools.network import MAX_BODY_BYTES, CurlTool, PingTool, checked_addresses
from smoltrace.tools.sandbox import MAX_OUTPUT_CHARS, ToolRefusal
from smoltrace.tools.system import EnvTool, KillTool, PsTool, WhichTool, killable


def refused(result: str, *needles: str) -> bool:
    return result.startswith("Error: ") and all(n in result for n in needles)


# --- processes -----------------------------------------------------------------------------------


def _orphan(cwd: Path) -> int:
    """A `sleep` whose parent has exited: not a descendant of the test process (the harness here)."""
    shell = subprocess.run(
        ["sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(shell.stdout.strip())


def _stop(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture()
def box(tmp_path: Path) -> Path:
    root = tmp_path / "box"
    root.mkdir()
    return root


@pytest.fixture()
def kill(box: Path) -> KillTool:
    return {t.name: t for t in build_tools(["kill"], working_directory=str(box))}["kill"]


def test_ps_lists_processes_without_command_lines() -> None:
    secret = "hf_commandlinesecret1234567890"
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()", secret], stdin=subprocess.PIPE
    )
    try:
        everything = PsTool()(limit=200, sort_by="pid")
        mine = PsTool()(filter_name=psutil.Process().name(), sort_by="pid", limit=200)
    finally:
        child.kill()
        child.wait()
    assert everything.splitlines()[0].split() == [
        "PID",
        "PPID",
        "USER",
        "CPU%",
        "MEM%",
        "STATUS",
        "NAME",
    ]
    assert any(line.split()[0] == str(os.getpid()) for line in mine.splitlines()[1:-1])
    assert secret not in everything and secret not in mine
    pids = [int(line.split()[0]) for line in everything.splitlines()[1:-1]]
    assert pids == sorted(pids)
    assert refused(PsTool()(sort_by="size"), "unknown sort_by")


def test_kill_never_touches_the_harness_its_parents_or_its_children(
    kill: KillTool, box: Path
) -> None:
    assert refused(kill(pid=os.getpid()), "harness itself")
    assert refused(kill(pid=os.getppid(), force=True), "started the evaluation harness")
    child = subprocess.Popen(["sleep", "600"], cwd=box)  # in the sandbox, but the harness's own
    try:
        assert refused(kill(pid=child.pid, force=True), "belongs to the evaluation harness")
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()
    assert refused(kill(pid=1), "system process")
    assert refused(kill(pid=0), "system process")
    assert os.getpid() and psutil.Process().is_running()


def test_kill_only_stops_processes_started_in_the_working_directory(
    kill: KillTool, box: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    outside = _orphan(elsewhere)
    inside = _orphan(box)
    try:
        assert refused(kill(pid=outside), "not started in the working directory")
        assert not _gone(outside)
        result = kill(pid=inside)
        assert result.startswith(f"Sent SIGTERM to {inside} (sleep)") and result.endswith("exited")
        assert _gone(inside)
        assert refused(kill(pid=inside), "no process") or refused(kill(pid=inside), "not started")
    finally:
        _stop(outside)
        _stop(inside)


def test_kill_refuses_the_filesystem_root_as_its_sandbox() -> None:
    with pytest.raises(ToolRefusal, match="filesystem root"):
        killable(os.getppid(), "/")


# --- env -----------------------------------------------------------------------------------------


def test_env_never_shows_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-live-abcdefghijklmnop1234"
    monkeypatch.setenv("ACME_API_KEY", key)
    monkeypatch.setenv("ACME_DATABASE_URL", "postgres://app:pw12345678@db/shop")
    monkeypatch.setenv("ACME_UPSTREAM", "https://bob:hunter2hunter2@example.com/x")
    monkeypatch.setenv("ACME_CURL_OPTS", f"--header x-key:{key}")
    monkeypatch.setenv("ACME_REGION", "eu-west-1")
    env = EnvTool()
    assert env(action="get", name="ACME_REGION") == "ACME_REGION=eu-west-1"
    assert refused(env(action="get", name="ACME_API_KEY"), "looks like a secret")
    assert refused(env(action="get", name="ACME_DATABASE_URL"), "looks like a secret")
    assert (
        env(action="get", name="ACME_UPSTREAM") == "ACME_UPSTREAM=https://[REDACTED]@example.com/x"
    )
    listing = env(action="list", filter_pattern="acme_")
    assert listing.splitlines() == [
        "ACME_CURL_OPTS=--header x-key:[REDACTED]",
        "ACME_REGION=eu-west-1",
        "ACME_UPSTREAM=https://[REDACTED]@example.com/x",
        "(2 secret-looking variable(s) hidden)",
    ]
    everything = env()
    for secret in (key, "pw12345678", "hunter2hunter2"):
        assert secret not in everything and secret not in listing
    assert refused(env(action="set", name="HTTP_PROXY"), "not allowed")
    assert env(action="get", name="ACME_NOT_SET") == "ACME_NOT_SET is not set"
    assert refused(env(action="delete"), "unknown action")


def test_which() -> None:
    which = WhichTool()
    found = which(command="sh")
    assert Path(found).name == "sh" and os.access(found, os.X_OK)
    assert found in which(command="sh", all_matches=True).splitlines()
    assert which(command="no-such-program-xyz") == "no-such-program-xyz not found on PATH"
    assert refused(which(command="/bin/sh"), "bare program name")
    assert refused(which(command="sh; rm -rf /"), "bare program name")


# --- curl ----------------------------------------------------------------------------------------


class LocalServer:
    """An HTTP server on 127.0.0.1 that logs every request it gets."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        log = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                log.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length).decode() if length else "",
                    }
                )
                if self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", self.path.split("to=", 1)[1])
                    self.end_headers()
                    return
                body = b"z" * (MAX_BODY_BYTES * 2) if self.path == "/big" else b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = do_PUT = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture()
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    local.thread.start()
    try:
        yield local
    finally:
        local.server.shutdown()
        local.server.server_close()
        local.thread.join()


def test_curl_refuses_loopback_without_the_flag(server: LocalServer) -> None:
    curl = {t.name: t for t in build_tools(["curl"])}["curl"]
    for url in (
        server.url("/"),
        f"http://localhost:{server.port}/",
        f"http://[::1]:{server.port}/",
    ):
        assert refused(curl(url=url), "local or private address", "--allow-local-network"), url
    assert server.requests == []  # nothing was sent


def test_curl_with_the_flag_reaches_the_local_server(server: LocalServer) -> None:
    curl = {t.name: t for t in build_tools(["curl"], allow_local_network=True)}["curl"]
    got = curl(url=server.url("/status?x=1"))
    assert got.startswith("HTTP 200 OK\n") and got.endswith('\n\n{"ok": true}')
    assert "Content-Type: application/json" in got.splitlines()
    posted = curl(
        url=server.url("/items"),
        method="post",
        body='{"name": "a"}',
        headers='{"X-Trace": "t1"}',
    )
    assert posted.startswith("HTTP 200")
    request = server.requests[-1]
    assert request["method"] == "POST" and request["body"] == '{"name": "a"}'
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Trace"] == "t1"
    assert server.requests[0]["path"] == "/status?x=1"

    big = curl(url=server.url("/big"))
    assert f"[body truncated at {MAX_BODY_BYTES} bytes]" in big
    assert big.endswith("\n\n" + "z" * MAX_BODY_BYTES) and len(big) < MAX_OUTPUT_CHARS

    followed = curl(url=server.url(f"/redirect?to={server.url('/final')}"))
    assert followed.startswith("HTTP 200") and server.requests[-1]["path"] == "/final"
    not_followed = curl(url=server.url("/redirect?to=/final"), follow_redirects=False)
    assert not_followed.startswith("HTTP 302") and "Location: /final" in not_followed


def test_curl_refuses_other_schemes_credentials_and_header_tricks(server: LocalServer) -> None:
    curl = CurlTool(allow_local_network=True)
    assert refused(curl(url="file:///etc/passwd"), "only http and https")
    assert refused(curl(url="ftp://127.0.0.1/"), "only http and https")
    assert refused(curl(url=f"http://u:p@127.0.0.1:{server.port}/"), "user name or password")
    assert refused(curl(url=server.url("/"), headers='{"Host": "evil"}'), "Host header")
    assert refused(curl(url=server.url("/"), headers='{"X": "a\\r\\nB: c"}'), "line breaks")
    assert refused(curl(url=server.url("/"), headers="not json"), "JSON object")
    assert refused(curl(url=server.url("/"), method="TRACE"), "unsupported method")
    assert refused(curl(url="http://127.0.0.1:1/"), "cannot connect")  # a closed port
    assert server.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.5.4",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(ToolRefusal):
        checked_addresses(address, 80, allow_local=False)


def test_public_addresses_pass_and_every_resolved_address_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert checked_addresses("8.8.8.8", 80, allow_local=False) == ["8.8.8.8"]  # a literal: no DNS

    def two_answers(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(network_module.socket, "getaddrinfo", two_answers)
    with pytest.raises(ToolRefusal, match=r"127\.0\.0\.1"):
        checked_addresses("mixed.test", 80, allow_local=False)


def test_curl_connects_to_the_checked_address_without_a_second_lookup(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a second lookup could answer differently; there is none."""
    lookups: list[str] = []

    def resolver(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(network_module.socket, "getaddrinfo", resolver)
    curl = CurlTool(allow_local_network=True)
    assert curl(url=f"http://svc.test:{server.port}/hello").startswith("HTTP 200")
    assert lookups == ["svc.test"]
    assert server.requests[-1]["headers"]["Host"] == f"svc.test:{server.port}"


def test_a_redirect_to_a_local_address_is_checked_again(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = network_module.checked_addresses
    seen: list[str] = []

    def public_first_hop(host: str, port: int, *, allow_local: bool) -> list[str]:
        seen.append(host)
        if host == "public.test":  # stands for a public server that redirects inward
            return ["127.0.0.1"]
        return real(host, port, allow_local=allow_local)

    monkeypatch.setattr(network_module, "checked_addresses", public_first_hop)
    curl = CurlTool(allow_local_network=False)
    inner = server.url("/secret")
    result = curl(url=f"http://public.test:{server.port}/redirect?to={inner}")
    assert refused(result, "local or private address"), result
    assert seen == ["public.test", "127.0.0.1"]
    assert [r["path"] for r in server.requests] == [f"/redirect?to={inner}"]  # /secret never asked


# --- ping ----------------------------------------------------------------------------------------

FAKE_PING = """#!/bin/sh
printf '%s\\n' "$@" > "{log}"
echo "PING $6 ($6) 56(84) bytes of data."
echo "2 packets transmitted, 2 received, 0% packet loss, time 1001ms"
echo "rtt min/avg/max/mdev = 0.030/0.045/0.060/0.015 ms"
"""


@pytest.fixture()
def fake_ping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "ping-argv.txt"
    program = folder / "ping"
    program.write_text(FAKE_PING.format(log=log))
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


def test_ping_runs_the_program_with_a_checked_address_and_bounded_counts(fake_ping: Path) -> None:
    ping = PingTool(allow_local_network=True)
    result = ping(host="localhost", count=1000, timeout=99)
    assert result.startswith("PING localhost (")
    assert "packet loss: 0%" in result and "rtt min/avg/max: 0.030/0.045/0.060 ms" in result
    argv = fake_ping.read_text().split()
    assert argv[:5] == ["-n", "-c", "10", "-W", "10"]  # capped
    assert argv[5] in ("127.0.0.1", "::1")  # the resolved address, never the name again


def test_ping_refuses_local_addresses_options_and_junk(fake_ping: Path) -> None:
    ping = {t.name: t for t in build_tools(["ping"])}["ping"]
    assert refused(ping(host="127.0.0.1"), "local or private address")
    assert refused(ping(host="-f"), "not a host name")
    assert refused(ping(host="8.8.8.8; rm -rf /"), "not a host name")
    assert refused(ping(host="$(reboot)"), "not a host name")
    assert not fake_ping.exists()  # the program never ran


def test_ping_without_the_program(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert refused(PingTool(allow_local_network=True)(host="127.0.0.1"), "not installed")


def test_tool_errors_are_results_not_exceptions(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(network_module.socket, "getaddrinfo", broken)
    result = CurlTool(allow_local_network=True)(url="http://anything.test/")
    assert result == "Error: OSError: Input/output error"

    def unexpected(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("resolver exploded")

    monkeypatch.setattr(network_module.socket, "getaddrinfo", unexpected)
    assert CurlTool()(url="http://anything.test/") == "Error: RuntimeError: resolver exploded"
