"""`--search-provider tavily` (and brave): the key is checked before any model call, and the search
client speaks each API (checked against a local HTTP server), never showing the key to the agent."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import BIN, cli_env

from smoltrace.errors import ConfigError
from smoltrace.tools.search import HTTPSearchTool, check_search_provider

KEY = "tvly-test-key-1234567890"


class _SearchAPI(BaseHTTPRequestHandler):
    status = 200
    seen: list[dict] = []

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # Tavily
        length = int(self.headers["Content-Length"])
        self.seen.append(
            {"path": self.path, "auth": self.headers["Authorization"],
             "body": json.loads(self.rfile.read(length))}
        )  # fmt: skip
        self._answer({"results": [{"title": "T1", "url": "https://a.example", "content": "c1"}]})

    def do_GET(self) -> None:  # Brave
        self.seen.append({"path": self.path, "token": self.headers["X-Subscription-Token"]})
        self._answer(
            {"web": {"results": [{"title": "B1", "url": "https://b", "description": "d"}]}}
        )


@pytest.fixture()
def search_api():
    _SearchAPI.seen = []
    _SearchAPI.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SearchAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_tavily_request_and_result(search_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAVILY_API_KEY", KEY)
    tool = HTTPSearchTool("tavily", endpoint=f"{search_api}/search")
    assert tool(query="smolagents") == "- T1 - https://a.example: c1"
    [seen] = _SearchAPI.seen
    assert seen["auth"] == f"Bearer {KEY}" and seen["body"] == {
        "query": "smolagents",
        "max_results": 5,
    }


def test_brave_request_and_result(search_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAVE_API_KEY", KEY)
    tool = HTTPSearchTool("brave", endpoint=f"{search_api}/res/v1/web/search")
    assert tool(query="a b") == "- B1 - https://b: d"
    [seen] = _SearchAPI.seen
    assert seen["token"] == KEY and seen["path"].endswith("?q=a+b&count=5")


def test_an_api_error_is_an_answer_without_the_key(
    search_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAVILY_API_KEY", KEY)
    _SearchAPI.status = 401
    answer = HTTPSearchTool("tavily", endpoint=f"{search_api}/search")(query="x")
    assert answer == "Error: tavily search failed with HTTP 401" and KEY not in answer


@pytest.mark.parametrize("provider, var", [("tavily", "TAVILY_API_KEY"), ("brave", "BRAVE_API_KEY"),
                                            ("serper", "SERPER_API_KEY")])  # fmt: skip
def test_missing_key_is_a_config_error(provider: str, var: str, monkeypatch) -> None:
    monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match=var):
        check_search_provider(provider, ["google_search"])
    check_search_provider(provider, ["visit_webpage"])  # not needed without google_search
    monkeypatch.setenv(var, "k")
    check_search_provider(provider, ["google_search"])


def test_cli_checks_the_tavily_key_before_any_call(tmp_path: Path, llm_server) -> None:
    result = subprocess.run(
        [str(BIN / "smoltrace-eval"), "--model", "openai/gpt-4o-mini", "--api-base",
         llm_server.openai_base, "--enable-tools", "google_search", "--search-provider", "tavily",
         "--output-format", "json", "--output-dir", str(tmp_path / "out")],
        capture_output=True, text=True, env=cli_env(), timeout=240,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "needs TAVILY_API_KEY" in line
    assert llm_server.requests == [] and not (tmp_path / "out").exists()
