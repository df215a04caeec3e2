"""Parallel workers change nothing but timing: the records of `parallel_workers=3` equal those of 1
(same values, dataset order, test_index 0..n-1), with the offline oracle and with real agents
calling the scripted server through litellm. A task whose model call fails is that task's error.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

from fakes.llm_server import Reply, code, task_text, tool_call

from smoltrace.core import run_evaluation
from smoltrace.tasks import filter_tasks, load_tasks

TIMING_FIELDS = (
    "evaluation_date",
    "start_time_unix_nano",
    "end_time_unix_nano",
    "execution_time_ms",
)
CLOCK = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
MODEL = "openai/gpt-4o-mini"
CITIES = [
    "Paris, France",
    "London, UK",
    "Tokyo, Japan",
    "Oslo, Norway",
    "Lima, Peru",
    "Cairo, Egypt",
]


def without_timing(record: dict) -> dict:
    kept = {k: v for k, v in record.items() if k not in TIMING_FIELDS}
    if kept["response"] is not None:  # the clock tool's answer holds the time of the call
        kept["response"] = CLOCK.sub("<clock>", kept["response"])
    return kept


def check_same_records(serial: dict, parallel: dict, expected_ids: dict[str, list[str]]) -> None:
    index = 0
    for agent_type in ("tool", "code"):
        assert [r["test_id"] for r in serial[agent_type]] == expected_ids[agent_type]
        assert [r["test_id"] for r in parallel[agent_type]] == expected_ids[agent_type]
        for a, b in zip(serial[agent_type], parallel[agent_type], strict=True):
            assert a["test_index"] == b["test_index"] == index
            assert a["test_case_uid"] == f"{agent_type}:{a['test_id']}"
            assert without_timing(a) == without_timing(b)
            index += 1
    for records in (serial, parallel):
        for r in records["tool"] + records["code"]:
            assert set(TIMING_FIELDS) <= set(r)


def test_mock_provider_parallel_equals_serial() -> None:
    runs = {
        workers: run_evaluation(
            "oracle",
            ["tool", "code"],
            provider="mock",
            run_id="parallel-check",
            parallel_workers=workers,
            verbose=False,
        )
        for workers in (1, 3)
    }
    tasks = load_tasks().tasks
    expected = {a: [t["id"] for t in filter_tasks(tasks, a, None)] for a in ("tool", "code")}
    check_same_records(runs[1][0], runs[3][0], expected)
    assert runs[1][4] == runs[3][4] == "parallel-check"
    # the oracle scores every built-in task, on every worker
    assert all(r["success"] for r in runs[3][0]["tool"] + runs[3][0]["code"])


class WeatherScript:
    """Stateless replies (so a second run starts afresh): look the weather up, then answer.

    Token counts are fixed per step: the server's default counts include tool-call ids, which are
    numbered in arrival order and so differ between runs. Also records how many requests overlap;
    with `expect_company` the first request waits (at most 5 s) for a second one to arrive, so
    real concurrency is seen however slow the machine is.
    """

    def __init__(self, fail_city: str | None = None, expect_company: bool = False) -> None:
        self.fail_city = fail_city
        self.expect_company = expect_company
        self.changed = threading.Condition()
        self.active = 0
        self.max_active = 0

    def __call__(self, body: dict) -> Reply:
        with self.changed:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.changed.notify_all()
            if self.expect_company:
                self.expect_company = False
                self.changed.wait_for(lambda: self.max_active >= 2, timeout=5)
        try:
            time.sleep(0.01)
            return self.reply(body)
        finally:
            with self.changed:
                self.active -= 1

    def reply(self, body: dict) -> Reply:
        city = re.search(r"weather in (.+?)\?", task_text(body)).group(1)
        if city == self.fail_city:
            raise RuntimeError(f"scripted model crash for {city}")
        step = sum(1 for m in body["messages"] if m["role"] == "assistant")
        if body.get("tools"):
            reply = (
                tool_call("get_weather", location=city)
                if step == 0
                else tool_call("final_answer", answer=f"Checked the weather in {city}.")
            )
        else:
            reply = (
                code(f'print(get_weather(location="{city}"))')
                if step == 0
                else code(f'final_answer("Checked the weather in {city}.")')
            )
        reply.prompt_tokens, reply.completion_tokens = 100 + 10 * step, 20
        return reply


def weather_dataset(path: Path) -> Path:
    path.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"weather_{i}",
                    "prompt": f"What's the weather in {city}?",
                    "expected_tool": "get_weather",
                    "expected_keywords": [city.split(",")[0]],
                    "difficulty": "easy",
                    "agent_type": "both",
                }
            )
            + "\n"
            for i, city in enumerate(CITIES)
        ),
        encoding="utf-8",
    )
    return path


def run_litellm(server, dataset: Path, workers: int, agent_types=("tool", "code")) -> dict:
    all_results, *_ = run_evaluation(
        MODEL,
        list(agent_types),
        None,
        str(dataset),
        provider="litellm",
        run_id="parallel-check",
        api_base=server.openai_base,
        parallel_workers=workers,
        verbose=False,
    )
    return all_results


def test_litellm_parallel_equals_serial(tmp_path: Path, llm_server) -> None:
    dataset = weather_dataset(tmp_path / "weather.jsonl")
    scripts = {1: WeatherScript(), 3: WeatherScript(expect_company=True)}
    runs = {}
    for workers, script in scripts.items():
        llm_server.set_responder(script)
        runs[workers] = run_litellm(llm_server, dataset, workers)
    ids = [f"weather_{i}" for i in range(len(CITIES))]
    check_same_records(runs[1], runs[3], {"tool": ids, "code": ids})
    assert scripts[1].max_active == 1
    assert scripts[3].max_active >= 2  # the workers really ran side by side
    for record in runs[3]["tool"] + runs[3]["code"]:
        assert record["error"] is None and record["success"] is True
        assert record["tools_used"] == ["get_weather"]
        assert record["prompt_tokens"] == 210 and record["completion_tokens"] == 40
    # each run made 2 model calls per task and agent type
    assert len(llm_server.requests) == 2 * 2 * 2 * len(CITIES)


def test_failed_model_call_is_that_tasks_error(tmp_path: Path, llm_server) -> None:
    dataset = weather_dataset(tmp_path / "weather.jsonl")
    llm_server.set_responder(WeatherScript(fail_city="Oslo, Norway"))
    results = run_litellm(llm_server, dataset, workers=3)
    for agent_type in ("tool", "code"):
        records = results[agent_type]
        assert [r["test_id"] for r in records] == [f"weather_{i}" for i in range(len(CITIES))]
        for record in records:
            if record["test_id"] == "weather_3":
                assert record["success"] is False and record["final_answer_called"] is False
                assert "scripted model crash for Oslo, Norway" in record["error"]
                assert record["response"] is None
            else:
                assert record["error"] is None and record["success"] is True, record
    asked = {task_text(body) for body in llm_server.requests}
    assert all(any(city in t for t in asked) for city in CITIES)


def test_http_error_is_that_tasks_error_and_the_run_goes_on(tmp_path: Path, llm_server) -> None:
    dataset = weather_dataset(tmp_path / "weather.jsonl")
    llm_server.set_responder(WeatherScript())
    llm_server.fail_next(400)  # the first model call of the first task
    results = run_litellm(llm_server, dataset, workers=1, agent_types=("tool",))
    first, *rest = results["tool"]
    assert first["test_id"] == "weather_0" and first["success"] is False
    assert "HTTP 400" in first["error"]
    assert first["tools_used"] == [] and first["response"] is None
    assert [r["test_id"] for r in rest] == [f"weather_{i}" for i in range(1, len(CITIES))]
    assert all(r["success"] and r["error"] is None for r in rest)
    assert results["code"] == []
