"""MCP servers as tool sources, against real `mcp` SDK servers on 127.0.0.1 (streamable HTTP and SSE).

Real agents call the scripted model server through litellm; the model's tool calls reach the MCP
server (its call log is checked), the results reach the model (its request log is checked), and
every failure to set the servers up is an error before the first model request.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import BIN, cli_env
from fakes.llm_server import code, message_text, sequence, task_text, text, tool_call
from fakes.mcp_server import MCPTestServer, free_port_url

from smoltrace.core import run_evaluation
from smoltrace.errors import ConfigError
from smoltrace.tools.mcp import parse_mcp_servers

SMOLTRACE = str(BIN / "smoltrace-eval")
MODEL = "openai/gpt-4o-mini"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


def task(task_id: str, prompt: str, tool: str, keyword: str, agent_type: str = "both") -> dict:
    return {
        "id": task_id,
        "prompt": prompt,
        "expected_tool": tool,
        "expected_keywords": [keyword],
        "difficulty": "easy",
        "agent_type": agent_type,
    }


def write_tasks(path: Path, tasks: list[dict]) -> str:
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    return str(path)


@pytest.fixture()
def calc_server():
    with MCPTestServer("calc", {"add": add}) as server:
        yield server


@pytest.fixture()
def text_server():
    with MCPTestServer("text", {"shout": shout}) as server:
        yield server


def mcp_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "smoltrace-mcp"]


# --- parsing ---------------------------------------------------------------------------------------


def test_specs_parse_names_prefixes_and_transports() -> None:
    servers = parse_mcp_servers(
        ["http://h:1/mcp", "My-Calc=http://h:2/sse/", "t=https://h/x?key=secret"], "auto"
    )
    assert [(s.prefix, s.transport) for s in servers] == [
        (None, "streamable-http"),
        ("my_calc", "sse"),
        ("t", "streamable-http"),
    ]
    assert servers[2].record() == {
        "url": "https://h/x",
        "transport": "streamable-http",
        "prefix": "t",
    }
    assert parse_mcp_servers("http://h/sse", "streamable-http")[0].transport == "streamable-http"
    assert parse_mcp_servers(None) == []


@pytest.mark.parametrize(
    "specs, transport, message",
    [
        (["ftp://h/mcp"], "auto", r"not an http\(s\) URL"),
        (["1bad=http://h/mcp"], "auto", "must start with a letter"),
        (["a=http://h/1", "a=http://h/2"], "auto", "more than one server"),
        (["http://h/mcp"], "websocket", "unknown --mcp-transport"),
    ],
)
def test_bad_specs_are_config_errors(specs: list[str], transport: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_mcp_servers(specs, transport)


# --- agents calling MCP tools ----------------------------------------------------------------------


def run_api(tmp_path: Path, llm_server, agent_type: str, tasks: list[dict], servers, **kw):
    all_results, traces, *_ = run_evaluation(
        MODEL,
        [agent_type],
        dataset_name=write_tasks(tmp_path / "tasks.jsonl", tasks),
        api_base=llm_server.openai_base,
        mcp_server_url=servers,
        verbose=False,
        **kw,
    )
    return all_results[agent_type], traces


def test_tool_agent_calls_a_named_server_over_streamable_http(
    tmp_path: Path, llm_server, calc_server
) -> None:
    llm_server.set_responder(
        sequence(tool_call("calc_add", a=2, b=3), tool_call("final_answer", answer="It is 5"))
    )
    [record], traces = run_api(
        tmp_path,
        llm_server,
        "tool",
        [task("sum", "Add 2 and 3", "calc_add", "5")],
        [f"calc={calc_server.http_url}"],
        enable_otel=True,
    )
    assert calc_server.calls == [("add", {"a": 2, "b": 3})]
    assert record["tools_used"] == ["calc_add"] and record["correct_tool"] is True
    assert record["success"] is True, record
    offered = {t["function"]["name"] for t in llm_server.requests[0]["tools"]}
    assert {"calc_add", "get_weather", "final_answer"} <= offered
    observation = message_text(llm_server.requests[1]["messages"][-1])
    assert observation.startswith("Observation:") and "5" in observation
    spans = [s for t in traces for s in t["spans"]]
    assert any("calc_add" in json.dumps(s.get("attributes", {})) for s in spans)
    assert mcp_threads() == []  # the session was closed at the end of the run


def test_code_agent_calls_an_unnamed_server_over_sse(
    tmp_path: Path, llm_server, text_server
) -> None:
    llm_server.set_responder(lambda body: code("loud = shout(text='hello')\nfinal_answer(loud)"))
    [record], _ = run_api(
        tmp_path,
        llm_server,
        "code",
        [task("loud", "Shout hello", "shout", "HELLO")],
        text_server.sse_url,
    )
    assert text_server.calls == [("shout", {"text": "hello"})]
    assert record["tools_used"] == ["shout"] and record["success"] is True, record
    assert "shout(" in message_text(llm_server.requests[0]["messages"][0])  # in the system prompt
    assert mcp_threads() == []


def test_two_servers_both_agents_and_parallel_workers_through_the_cli(
    tmp_path: Path, llm_server, calc_server, text_server
) -> None:
    tasks = [
        task("sum", "Add 2 and 3", "calc_add", "5"),
        task("sum2", "Add 4 and 5", "calc_add", "9"),
        task("loud", "Shout hello", "txt_shout", "HELLO"),
        task("loud2", "Shout bye", "txt_shout", "BYE"),
    ]
    plans = {
        "Add 2 and 3": (tool_call("calc_add", a=2, b=3), "calc_add(a=2, b=3)"),
        "Add 4 and 5": (tool_call("calc_add", a=4, b=5), "calc_add(a=4, b=5)"),
        "Shout hello": (tool_call("txt_shout", text="hello"), "txt_shout(text='hello')"),
        "Shout bye": (tool_call("txt_shout", text="bye"), "txt_shout(text='bye')"),
    }
    seen: dict[tuple[str, bool], int] = {}
    lock = threading.Lock()

    def respond(body: dict):
        prompt = next(p for p in plans if p in task_text(body))
        call, source = plans[prompt]
        key = (prompt, bool(body.get("tools")))
        with lock:
            step = seen.get(key, 0)
            seen[key] = step + 1
        if body.get("tools"):  # tool agent: call, then answer with what came back
            if step == 0:
                return call
            result = message_text(body["messages"][-1])
            return tool_call("final_answer", answer=result)
        return code(f"final_answer(str({source}))")

    llm_server.set_responder(respond)
    out = tmp_path / "out"
    result = subprocess.run(
        [
            SMOLTRACE, "--model", MODEL, "--api-base", llm_server.openai_base,
            "--dataset-name", write_tasks(tmp_path / "tasks.jsonl", tasks),
            "--mcp-server-url", f"calc={calc_server.http_url}",
            "--mcp-server-url", f"txt={text_server.sse_url}",
            "--parallel-workers", "2", "--output-format", "json", "--output-dir", str(out),
        ],
        capture_output=True, text=True, env=cli_env(), timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [folder] = out.iterdir()
    rows = json.loads((folder / "results.json").read_text())
    assert len(rows) == 8
    assert all(r["success"] for r in rows), [(r["test_case_uid"], r["error"]) for r in rows]
    assert {(r["task_id"], tuple(r["tools_used"])) for r in rows} == {
        ("sum", ("calc_add",)),
        ("sum2", ("calc_add",)),
        ("loud", ("txt_shout",)),
        ("loud2", ("txt_shout",)),
    }
    assert sorted(json.dumps(c) for c in calc_server.calls) == sorted(
        json.dumps(c) for c in [("add", {"a": 2, "b": 3}), ("add", {"a": 4, "b": 5})] * 2
    )
    assert len(text_server.calls) == 4
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["manifest"]["mcp_servers"] == meta["mcp_servers"]
    assert f"--mcp-server-url calc={calc_server.http_url}" in meta["manifest"]["reproduce_command"]
    assert meta["mcp_servers"] == [
        {"url": calc_server.http_url, "transport": "streamable-http", "prefix": "calc"},
        {"url": text_server.sse_url, "transport": "sse", "prefix": "txt"},
    ]


# --- failing closed before any model call ----------------------------------------------------------


def test_tool_name_collision_is_an_error_before_any_model_call(
    tmp_path: Path, llm_server, calc_server
) -> None:
    with (
        MCPTestServer("calc2", {"add": add}) as twin,
        pytest.raises(ConfigError, match=r"MCP tool name 'add'.*name=URL"),
    ):
        run_api(
            tmp_path,
            llm_server,
            "tool",
            [task("sum", "Add", "add", "5")],
            [calc_server.http_url, twin.sse_url],
        )
    assert llm_server.requests == [] and mcp_threads() == []


def test_clash_with_a_built_in_tool_is_an_error(tmp_path: Path, llm_server) -> None:
    def get_weather(location: str) -> str:
        """Fake weather."""
        return "sunny"

    with (
        MCPTestServer("w", {"get_weather": get_weather}) as server,
        pytest.raises(ConfigError, match=r"'get_weather'.*built-in tool"),
    ):
        run_api(tmp_path, llm_server, "code", [task("w", "W", "x", "y")], server.http_url)
    assert llm_server.requests == [] and mcp_threads() == []


def test_server_without_tools_is_an_error(tmp_path: Path, llm_server) -> None:
    with (
        MCPTestServer("empty", {}) as server,
        pytest.raises(ConfigError, match="lists no tools"),
    ):
        run_api(tmp_path, llm_server, "tool", [task("w", "W", "x", "y")], f"e={server.http_url}")
    assert llm_server.requests == [] and mcp_threads() == []


def test_unreachable_server_is_retried_then_one_line_error_and_no_model_call(
    tmp_path: Path, llm_server
) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [
            SMOLTRACE, "--model", MODEL, "--api-base", llm_server.openai_base,
            "--dataset-name", write_tasks(tmp_path / "t.jsonl", [task("w", "W", "x", "y")]),
            "--mcp-server-url", f"gone={free_port_url('/mcp')}?token=hunter2secret",
            "--output-format", "json", "--output-dir", str(out),
        ],
        capture_output=True, text=True, env=cli_env(), timeout=300,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    error = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(error) == 1 and "could not be reached after 3 attempts" in error[0], result.stderr
    assert result.stderr.count("retrying in") == 2  # the two retries were announced
    assert "hunter2secret" not in result.stderr + result.stdout
    assert llm_server.requests == []
    assert not out.exists() or not any(out.iterdir())


def test_tool_error_is_an_answer_the_agent_sees(tmp_path: Path, llm_server) -> None:
    def divide(a: float, b: float) -> float:
        """Divide a by b."""
        return a / b

    with MCPTestServer("m", {"divide": divide}) as server:
        llm_server.set_responder(sequence(tool_call("m_divide", a=1, b=0), text("cannot divide")))
        [record], _ = run_api(
            tmp_path, llm_server, "tool", [task("d", "1/0", "m_divide", "cannot")],
            f"m={server.http_url}", max_steps=2,
        )  # fmt: skip
    observation = message_text(llm_server.requests[1]["messages"][-1])
    assert observation == "Observation:\nError: Error executing tool divide"
    assert record["tools_used"] == ["m_divide"]
    # the tool's failure was an observation, not the task's error: the run went on to max steps
    # (the plain-text reply is no tool call), and `error` says that, not the tool error
    assert record["stop_reason"] == "max_steps"
    assert record["error"].startswith("AgentMaxStepsError") and "divide" not in record["error"]
