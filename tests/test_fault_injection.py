"""The scripted server's fault injection: each kind reaches a plain HTTP client as it would from a
flaky provider, and a fault plan decides per request (conversation, position), not by arrival order."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fakes.llm_server import (
    Fault,
    ScriptedLLMServer,
    connection_reset,
    fault_rate,
    first_requests,
    hang,
    malformed,
    rate_limited,
    server_error,
)


def post(server: ScriptedLLMServer, task: str, timeout: float = 10) -> tuple[int, dict, bytes]:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": task}]})
        connection.request(
            "POST", "/v1/chat/completions", body, {"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture
def server():
    with ScriptedLLMServer() as srv:
        yield srv


def test_status_faults_and_retry_after(server: ScriptedLLMServer) -> None:
    server.set_faults(first_requests(server_error(503), 1, match="a"))
    assert post(server, "a")[0] == 503
    assert post(server, "a")[0] == 200  # position 1 of the same conversation answers
    server.set_faults(first_requests(rate_limited(2.5), 1, match="b"))
    status, headers, body = post(server, "b")
    assert status == 429 and headers["Retry-After"] == "2.5"
    assert "scripted failure" in json.loads(body)["error"]["message"]
    assert server.faults_sent == [("a", 0, "status"), ("b", 0, "status")]


def test_malformed_200_is_not_json(server: ScriptedLLMServer) -> None:
    server.set_faults(first_requests(malformed(), 1))
    status, _, body = post(server, "m")
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    assert json.loads(post(server, "m")[2])["choices"]


def test_connection_reset_gives_no_response(server: ScriptedLLMServer) -> None:
    server.set_faults(first_requests(connection_reset(), 1))
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, socket.error)):
        post(server, "r")
    assert post(server, "r")[0] == 200
    assert len(server.requests) == 2


def test_hang_holds_until_the_client_gives_up_and_stop_releases_it() -> None:
    server = ScriptedLLMServer().start()
    server.set_faults(first_requests(hang(), 1))
    with pytest.raises(TimeoutError):
        post(server, "h", timeout=0.5)
    assert server.faults_sent == [("h", 0, "hang")]
    # a request hanging while the server stops is released rather than keeping a thread alive
    errors: list[BaseException] = []
    arrived = threading.Event()

    def hanging_call() -> None:
        try:
            post(server, "h2", timeout=60)
        except Exception as exc:  # released by stop(): the connection drops
            errors.append(exc)

    def plan(conversation: str, position: int) -> Fault | None:
        arrived.set()  # the plan runs when the request arrives
        return hang()

    server.set_faults(plan)
    caller = threading.Thread(target=hanging_call)
    caller.start()
    assert arrived.wait(30)
    server.stop()
    caller.join(timeout=30)
    assert not caller.is_alive() and errors


def test_fault_rate_is_deterministic_per_request_not_per_arrival_order() -> None:
    plan = fault_rate(server_error(), 0.3, seed=4)
    conversations = [f"task {i}" for i in range(40)]
    expected = {(c, p) for c in conversations for p in range(3) if plan(c, p) is not None}
    assert 0.15 < len(expected) / 120 < 0.45  # roughly the asked rate
    for workers in (1, 8):
        with ScriptedLLMServer() as srv:
            srv.set_faults(plan)
            order = [c for c in conversations for _ in range(3)]
            if workers > 1:
                order.reverse()
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(lambda c: post(srv, c), order))
            assert {(c, p) for c, p, _ in srv.faults_sent} == expected


def test_bursts_fail_consecutive_requests_of_a_conversation() -> None:
    plan = fault_rate(rate_limited(0.1), 0.05, seed=1, burst=3)
    triggered = [p for p in range(400) if plan("x", p) is not None]
    assert triggered, "seed gives no burst"
    first = triggered[0]
    assert [plan("x", p) is not None for p in range(first, first + 3)] == [True, True, True]
    assert plan("x", first - 1) is None


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")
