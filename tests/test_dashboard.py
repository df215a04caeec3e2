"""MockTraceMind's data layer and views, without a browser.

Runs come from real `smoltrace-eval --provider mock` runs, traced with `--enable-otel`, and from a
real traced `--provider litellm` run against the scripted LLM server (tests/fakes/llm_server.py);
the GPU metrics a machine without a GPU cannot record are added by `add_gpu_metrics`, written
exactly as smoltrace_dataset_structure.md documents them. The Hub path is exercised against the
local fake Hub with the real `datasets` client, in a subprocess with its own caches.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import BIN, REPO_ROOT, cli_env
from fakes.llm_server import Reply, ScriptedLLMServer, task_text, tool_call

from MockTraceMind import views
from MockTraceMind.data import (
    DataError,
    DataStore,
    Source,
    discover_hub_runs,
    discover_local_runs,
    find_trace,
    flatten_metrics,
    otel_attributes,
    parse_metric_rows,
    parse_traces,
    sample_runs,
)

TASKS = [
    {
        "id": "weather_paris",
        "prompt": "What's the weather in Paris, France?",
        "expected_tool": "get_weather",
        "expected_tool_calls": 1,
        "expected_keywords": ["22"],
        "difficulty": "easy",
        "agent_type": "both",
    },
    {
        "id": "multiply",
        "prompt": "What is 234 multiplied by 67?",
        "expected_tool": "calculator",
        "expected_tool_calls": 1,
        "expected_keywords": ["15678"],
        "difficulty": "easy",
        "agent_type": "tool",
    },
    {  # no agent has a translate tool: the oracle cannot call it, so this task fails
        "id": "translate_greeting",
        "prompt": "Translate 'good morning' into French.",
        "expected_tool": "translate_text",
        "expected_tool_calls": 1,
        "expected_keywords": ["bonjour"],
        "difficulty": "medium",
        "agent_type": "tool",
    },
]
NANOS = 1_000_000_000
GPU_POINTS = 6
HUB_TOKEN = "hf_test_token_123456"


LITELLM_TASKS = [
    {
        "id": "weather_paris",
        "prompt": "What's the weather in Paris, France?",
        "expected_tool": "get_weather",
        "expected_keywords": ["22"],
        "difficulty": "easy",
        "agent_type": "tool",
    },
    {  # the scripted model crashes on this task's second call: a failed task and LLM span
        "id": "weather_tokyo",
        "prompt": "What's the weather in Tokyo, Japan?",
        "expected_tool": "get_weather",
        "difficulty": "medium",
        "agent_type": "tool",
    },
]
LITELLM_MODEL = "openai/gpt-4o-mini"  # priced by the bundled table, so costs are real and > 0
# A cost as the dashboard shows it: cents from a dollar up, else at most 4 significant digits.
COST_TEXT = re.compile(r"\$(?:[\d,]+\.\d\d|0\.0*[1-9]\d{0,3}|[1-9](?:\.\d{1,3})?e-\d\d)")


def evaluate(output_dir: Path, tasks_file: Path, tasks: list[dict[str, Any]], *args: str) -> Path:
    """Run `smoltrace-eval` with json output on `tasks`; returns the new run folder."""
    tasks_file.write_text("".join(json.dumps(task) + "\n" for task in tasks), encoding="utf-8")
    before = set(output_dir.iterdir()) if output_dir.exists() else set()
    done = subprocess.run(
        [
            str(BIN / "smoltrace-eval"),
            *args,
            "--output-format",
            "json",
            "--output-dir",
            str(output_dir),
            "--dataset-name",
            str(tasks_file),
            "--quiet",
        ],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = set(output_dir.iterdir()) - before
    return folder


def run_mock_evaluation(output_dir: Path, tasks_file: Path, *extra: str) -> Path:
    """A real offline evaluation; returns its run folder."""
    return evaluate(
        output_dir, tasks_file, TASKS, "--provider", "mock", "--model", "oracle", *extra
    )


def litellm_reply(body: dict[str, Any]) -> Reply:
    """The scripted model: Paris is a weather call then the answer; Tokyo's second call crashes
    the model (the server answers HTTP 400), so that task fails with an error on its LLM span."""
    step = sum(1 for message in body["messages"] if message.get("role") == "assistant")
    if "Tokyo" in task_text(body):
        if step:
            raise RuntimeError("the model crashed")
        return tool_call("get_weather", location="Tokyo, Japan")
    if step == 0:
        return tool_call("get_weather", location="Paris, France")
    return tool_call("final_answer", answer="22°C and sunny in Paris")


def run_litellm_evaluation(output_dir: Path, tasks_file: Path) -> Path:
    """A real traced litellm run of a tool agent against the scripted LLM server, started here
    (not the function-scoped `llm_server` fixture) so module-scoped fixtures can share the run."""
    with ScriptedLLMServer(litellm_reply) as server:
        folder = evaluate(
            output_dir,
            tasks_file,
            LITELLM_TASKS,
            "--provider",
            "litellm",
            "--model",
            LITELLM_MODEL,
            "--api-base",
            server.openai_base,
            "--agent-type",
            "tool",
            "--enable-otel",
            # one of the two tasks fails on purpose (the crashed model call): not a CI failure
            "--max-error-rate",
            "0.5",
        )
        assert server.unhandled == []
        assert server.responder_errors == ["responder failed: RuntimeError: the model crashed"]
    return folder


def as_frame(table: dict[str, Any]) -> pd.DataFrame:
    """A dashboard table value (raw cells + display text) as a DataFrame of its raw cells."""
    return pd.DataFrame(table["data"], columns=table["headers"])


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def gpu_metrics(run_id: str, start: int, gpus: int) -> dict[str, Any]:
    """metrics.json with `gpus` GPUs × 5 metrics × GPU_POINTS points, 10 s apart."""

    def points(gpu: int | None, base: float, step: float, as_int: bool) -> list[dict[str, Any]]:
        attrs = (
            []
            if gpu is None
            else [
                {"key": "gpu_id", "value": {"stringValue": str(gpu)}},
                {"key": "gpu_name", "value": {"stringValue": "NVIDIA H100"}},
            ]
        )
        out = []
        for i in range(GPU_POINTS):
            value = base + step * i + (gpu or 0) * 5
            number = {"asInt": str(int(value))} if as_int else {"asDouble": float(value)}
            out.append({"attributes": attrs, "timeUnixNano": str(start + i * 10 * NANOS), **number})
        return out

    def gauge(name: str, unit: str, base: float, step: float, as_int: bool) -> dict[str, Any]:
        data = [p for gpu in range(gpus) for p in points(gpu, base, step, as_int)]
        return {"name": name, "description": name, "unit": unit, "gauge": {"dataPoints": data}}

    metrics = [
        gauge("gen_ai.gpu.utilization", "%", 40, 10, True),
        gauge("gen_ai.gpu.memory.used", "MiB", 30000, 100, True),
        gauge("gen_ai.gpu.memory.total", "MiB", 81559, 0, True),
        gauge("gen_ai.gpu.temperature", "Cel", 50, 2.5, False),
        gauge("gen_ai.gpu.power", "W", 300, 20, False),
        {
            "name": "gen_ai.co2.emissions",
            "description": "co2",
            "unit": "gCO2e",
            "sum": {
                "dataPoints": points(None, 0.5, 0.5, False),
                "aggregationTemporality": 2,
                "isMonotonic": True,
            },
        },
    ]
    resource = {"attributes": [{"key": "run.id", "value": {"stringValue": run_id}}]}
    return {
        "run_id": run_id,
        "resourceMetrics": [
            {
                "resource": resource,
                "scopeMetrics": [{"scope": {"name": "genai.gpu"}, "metrics": metrics}],
            }
        ],
        "aggregates": [],
    }


def add_gpu_metrics(folder: Path, gpus: int = 2) -> None:
    """Give a real run folder the GPU metrics (and leaderboard GPU fields) of a `gpus`-GPU box."""
    results = json.loads((folder / "results.json").read_text())
    leaderboard = json.loads((folder / "leaderboard_row.json").read_text())
    metadata = json.loads((folder / "metadata.json").read_text())
    metrics = gpu_metrics(leaderboard["run_id"], results[0]["start_time_unix_nano"], gpus)
    leaderboard.update(
        gpu_utilization_avg=67.5,
        gpu_utilization_max=95.0,
        gpu_memory_max_mib=30505.0,
        gpu_power_avg_w=355.0,
        co2_emissions_g=3.0,
    )
    metadata.update(gpu_metrics_enabled=True, num_metric_points=GPU_POINTS * (4 * gpus + 1))
    write_json(folder / "metrics.json", metrics)
    write_json(folder / "leaderboard_row.json", leaderboard)
    write_json(folder / "metadata.json", metadata)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dashboard-runs")
    return run_mock_evaluation(root / "out", root / "tasks.jsonl")


@pytest.fixture(scope="module")
def traced_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dashboard-traced")
    return run_mock_evaluation(root / "out", root / "tasks.jsonl", "--enable-otel")


@pytest.fixture(scope="module")
def litellm_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dashboard-litellm")
    return run_litellm_evaluation(root / "out", root / "tasks.jsonl")


@pytest.fixture()
def results_dir(real_run: Path, tmp_path: Path) -> Path:
    """A copy of the untraced run's output folder, free to be edited by one test."""
    target = tmp_path / "out"
    shutil.copytree(real_run.parent, target)
    return target


@pytest.fixture()
def traced_dir(traced_run: Path, tmp_path: Path) -> Path:
    """A copy of the traced run's output folder, given 2-GPU metrics."""
    target = tmp_path / "traced"
    shutil.copytree(traced_run.parent, target)
    add_gpu_metrics(next(target.iterdir()), gpus=2)
    return target


def test_real_run_is_found_with_its_files(results_dir: Path) -> None:
    catalog = discover_local_runs(results_dir)
    assert catalog.problems == []
    (run,) = catalog.runs
    folder = next(results_dir.iterdir())
    assert run.origin == "local"
    assert run.row["model"] == "oracle" and run.row["provider"] == "mock"
    assert run.results is not None and run.results.location == str(folder / "results.json")
    assert run.metrics is not None and run.metrics.location == str(folder / "metrics.json")
    store = DataStore(results_dir)
    store.refresh()
    results = store.results(run)
    assert [r["test_case_uid"] for r in results] == [
        "tool:weather_paris",
        "tool:multiply",
        "tool:translate_greeting",
        "code:weather_paris",
    ]
    assert [r["success"] for r in results] == [True, True, False, True]
    assert store.traces(run) == []
    assert store.metric_rows(run) == []
    assert run.row["success_rate"] == 75.0


def test_run_folder_itself_can_be_the_results_dir(results_dir: Path) -> None:
    folder = next(results_dir.iterdir())
    catalog = discover_local_runs(folder)
    assert [run.row["model"] for run in catalog.runs] == ["oracle"]


def test_moved_run_folder_reads_the_files_beside_its_row(results_dir: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    shutil.move(str(results_dir), moved)
    (run,) = discover_local_runs(moved).runs
    assert run.results is not None and run.results.location.startswith(str(moved))
    store = DataStore(moved)
    assert len(store.results(run)) == 4


def test_incomplete_and_malformed_runs_become_clear_problems(results_dir: Path) -> None:
    good = next(results_dir.iterdir())
    broken = results_dir / "oracle_tool_20250101_000000"
    shutil.copytree(good, broken)
    (broken / "leaderboard_row.json").write_text('{"run_id": "x", "model": ', encoding="utf-8")
    unfinished = results_dir / "oracle_tool_20250102_000000"
    unfinished.mkdir()
    (unfinished / "records.jsonl").write_text("{}\n", encoding="utf-8")
    lacking = results_dir / "oracle_tool_20250103_000000"
    shutil.copytree(good, lacking)
    write_json(lacking / "leaderboard_row.json", {"run_id": "y", "model": "m"})
    catalog = discover_local_runs(results_dir)
    assert len(catalog.runs) == 1
    problems = "\n".join(catalog.problems)
    assert f"{broken / 'leaderboard_row.json'}: not valid JSON (line 1:" in problems
    assert f"{unfinished}: incomplete run (no metadata.json" in problems
    assert "leaderboard row lacks agent_type, provider, total_tests, success_rate" in problems
    assert len(catalog.problems) == 3


def test_malformed_results_file_is_a_data_error(results_dir: Path) -> None:
    folder = next(results_dir.iterdir())
    (folder / "results.json").write_text("[{]", encoding="utf-8")
    store = DataStore(results_dir)
    store.refresh()
    with pytest.raises(DataError, match=r"results.json: not valid JSON \(line 1"):
        store.results(store.catalog.runs[0])
    write_json(folder / "results.json", [{"task_id": "t"}])
    with pytest.raises(DataError, match="row 0 lacks test_case_uid, agent_type, success"):
        store.results(store.catalog.runs[0])


def test_empty_and_missing_folders_say_what_to_do(tmp_path: Path) -> None:
    empty = discover_local_runs(tmp_path)
    assert empty.runs == [] and empty.problems == []
    assert empty.hints == [
        f"No runs in {tmp_path}. Run `smoltrace-eval --output-format json --output-dir {tmp_path} "
        "...` first, or press Load Sample Data."
    ]
    missing = discover_local_runs(tmp_path / "nope")
    assert missing.problems == [f"Results folder {tmp_path / 'nope'} does not exist."]


def test_traced_gpu_run_links_results_traces_and_metrics(traced_dir: Path) -> None:
    store = DataStore(traced_dir)
    (run,) = store.refresh().runs
    results, traces = store.results(run), store.traces(run)
    assert len(traces) == 4
    for result in results:
        trace = find_trace(traces, result)
        assert trace is not None and trace["test_case_uids"] == [result["test_case_uid"]]
        assert trace["root_span_id"] == result["span_id"]
    rows = store.metric_rows(run)
    # per timestamp: one row per GPU plus the run-wide CO2 row
    assert len(rows) == GPU_POINTS * 3
    assert {row["gpu_id"] for row in rows} == {"0", "1", None}
    gpu1 = [row for row in rows if row["gpu_id"] == "1"]
    assert [row["gpu_utilization_percent"] for row in gpu1] == [45.0, 55.0, 65.0, 75.0, 85.0, 95.0]
    assert all(row["gpu_name"] == "NVIDIA H100" for row in gpu1)
    assert all(row["co2_emissions_gco2e"] is None for row in gpu1)
    co2 = [row["co2_emissions_gco2e"] for row in rows if row["gpu_id"] is None]
    assert co2 == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert all(row["run_id"] == run.row["run_id"] for row in rows)


def test_trace_lookup_falls_back_to_test_case_uid() -> None:
    traces = [{"trace_id": "a" * 32, "test_case_uids": ["tool:t1"], "spans": []}]
    assert find_trace(traces, {"trace_id": None, "test_case_uid": "tool:t1"}) is traces[0]
    assert find_trace(traces, {"trace_id": "b" * 32, "test_case_uid": "tool:t2"}) is None


def test_hub_style_span_attributes_are_normalized() -> None:
    raw = [
        {
            "spans": [
                {
                    "span_id": "2",
                    "name": "b",
                    "start_time": "20",
                    "end_time": 30,
                    "attributes": '{"k": 1}',
                },
                {
                    "span_id": "1",
                    "name": "a",
                    "start_time": 10,
                    "end_time": 40,
                    "attributes": {"x": None, "y": "z"},
                },
            ]
        }
    ]
    (trace,) = parse_traces(raw, "hub")
    assert [s["span_id"] for s in trace["spans"]] == ["1", "2"]
    assert trace["spans"][0]["attributes"] == {"y": "z"}
    assert trace["spans"][1]["attributes"] == {"k": 1}
    assert trace["spans"][1]["start_time"] == 20
    with pytest.raises(DataError, match="span lacks start_time"):
        parse_traces([{"spans": [{"span_id": "1", "name": "a", "end_time": 1}]}], "f")


def test_hub_metrics_of_an_api_run_have_no_gpu_data() -> None:
    """On the Hub an API run's metrics dataset is one run-wide row of nulls."""
    row = {"run_id": "r", "timestamp": "2025-01-01T00:00:00+00:00", "timestamp_unix_nano": "1"}
    rows = parse_metric_rows([row], "hub")
    assert rows[0]["gpu_utilization_percent"] is None and rows[0]["gpu_id"] is None
    assert not views.has_gpu_data(rows)


def test_otel_attribute_values_of_every_documented_kind() -> None:
    items = [
        {"key": "s", "value": {"stringValue": "x"}},
        {"key": "i", "value": {"intValue": "7"}},
        {"key": "d", "value": {"doubleValue": 0.5}},
        {"key": "b", "value": {"boolValue": True}},
        {
            "key": "a",
            "value": {"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "y"}]}},
        },
    ]
    assert otel_attributes(items) == {"s": "x", "i": 7, "d": 0.5, "b": True, "a": [1, "y"]}


def test_malformed_metric_point_is_a_data_error() -> None:
    document = gpu_metrics("r", 10 * NANOS, 1)
    del document["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"][2][
        "asInt"
    ]
    with pytest.raises(DataError, match=r"metrics\.json: malformed metric data point"):
        flatten_metrics(document, "metrics.json")
    with pytest.raises(DataError, match="expected an object with a resourceMetrics list"):
        flatten_metrics({"run_id": "r"}, "metrics.json")


def test_leaderboard_filter_and_sort() -> None:
    catalog = sample_runs()
    assert catalog.problems == []
    runs = catalog.runs
    frame = as_frame(views.leaderboard_table(views.sort_runs(runs, "Success %", descending=True)))
    assert list(frame["Model"]) == ["meta-llama/Llama-3.1-8B-Instruct", "openai/gpt-4"]
    assert list(frame["Success %"]) == [83.33, 83.33]
    by_cost = views.sort_runs(runs, "Cost", descending=False)
    assert [run.row["model"] for run in by_cost] == [
        "openai/gpt-4",
        "meta-llama/Llama-3.1-8B-Instruct",
    ]
    by_gpu = as_frame(
        views.leaderboard_table(views.sort_runs(runs, "GPU util avg %", descending=True))
    )
    assert by_gpu["GPU util avg %"].iloc[0] == 73.25 and by_gpu["GPU util avg %"].isna().iloc[1]
    assert [r.row["provider"] for r in views.filter_runs(runs, None, ["litellm"], None)] == [
        "litellm"
    ]
    assert views.filter_runs(runs, ["openai/gpt-4"], None, ["code"]) == []
    assert len(views.filter_runs(runs, [], [], ["both"])) == 2
    assert frame.columns[-1] == "Run id" and list(frame["Source"]) == ["sample", "sample"]


def test_task_table_and_failure_filter() -> None:
    run = sample_runs().get("sample-gpt4-api")
    assert run is not None
    store = DataStore(None)
    results = store.results(run)
    everything = as_frame(views.task_table(results, failures_only=False))
    failures = as_frame(views.task_table(results, failures_only=True))
    assert len(everything) == 6 and len(failures) == 1
    assert failures["Result"].tolist() == ["✗ fail"]
    assert failures["Error"].iloc[0].startswith("RateLimitError")
    assert failures["Case"].iloc[0] == "code:code_trip_budget"


def test_waterfall_of_a_real_trace_has_one_row_per_span_in_tree_order(traced_dir: Path) -> None:
    store = DataStore(traced_dir)
    (run,) = store.refresh().runs
    failed = next(r for r in store.results(run) if not r["success"])
    trace = find_trace(store.traces(run), failed)
    assert trace is not None
    page = views.waterfall_html(trace, selected=views.focus_span(trace))
    names = ["test_evaluation", "ToolCallingAgent.run", "Step 1", "OracleModel.generate"]
    names.append("FinalAnswerTool")
    assert page.count("data-span-id=") == len(trace["spans"]) == len(names)
    positions = [page.index(f'<span class="wf-name">{name}</span>') for name in names]
    assert positions == sorted(positions)
    badges = [f'">{category}</span>' for category in ("task", "agent", "step", "llm", "tool")]
    assert all(page.count(badge) == 1 for badge in badges)
    assert "wf-error" not in page  # the task failed its check, no span failed
    assert page.count(" selected") == 1 and views.focus_span(trace) == trace["root_span_id"]
    llm = next(s for s in trace["spans"] if s["name"] == "OracleModel.generate")
    header, payload = views.span_detail(trace, llm["span_id"])
    assert header.startswith("**OracleModel.generate** (llm, INTERNAL) · starts at +")
    assert payload["attributes"]["llm.model_name"] == "oracle"
    assert payload["attributes"]["llm.token_count.total"] == failed["total_tokens"]


def test_span_categories_from_attributes_or_names() -> None:
    def category(name: str, attrs: dict[str, Any], root: bool = False) -> str:
        return views.span_category({"name": name, "attributes": attrs}, root)

    assert category("x", {"openinference.span.kind": "TOOL"}) == "tool"
    assert category("x", {"gen_ai.operation.name": "chat"}) == "llm"
    assert category("test_evaluation", {}, root=True) == "task"
    assert category("CodeAgent.run", {}) == "agent"
    assert category("Step 3", {}) == "step"
    assert category("litellm.completion", {}) == "llm"
    assert category("WeatherTool", {}) == "tool"
    assert category("something", {}) == "other"


def test_gpu_cards_and_figures_show_one_line_per_gpu(traced_dir: Path) -> None:
    store = DataStore(traced_dir)
    (run,) = store.refresh().runs
    rows = store.metric_rows(run)
    assert views.has_gpu_data(rows)
    figure = views.gpu_figure(rows, "gpu_utilization_percent", "GPU utilization", "%")
    assert [trace.name for trace in figure.data] == ["GPU 0 (NVIDIA H100)", "GPU 1 (NVIDIA H100)"]
    assert list(figure.data[0].x) == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    co2 = views.gpu_figure(rows, "co2_emissions_gco2e", "CO2", "gCO2e")
    assert [trace.name for trace in co2.data] == ["all GPUs"]
    cards = views.gpu_cards(rows)
    assert "90 · 95 %" in cards  # latest utilization of GPU 0 and GPU 1
    assert "peak 95 % on GPU 1 (NVIDIA H100)" in cards
    assert "of 81,564 MiB" in cards
    assert "3.0000 gCO2e" in cards and "total at the last sample" in cards


def test_api_run_has_no_gpu_data_and_says_so(real_run: Path) -> None:
    store = DataStore(real_run.parent)
    (run,) = store.refresh().runs
    assert not views.has_gpu_data(store.metric_rows(run))
    assert "No GPU metrics for this run." in views.no_gpu_message(run)


def test_status_lists_sources_and_problems(tmp_path: Path) -> None:
    store = DataStore(tmp_path)
    store.refresh()
    text = views.status_markdown(store.view(with_samples=False))
    assert text.startswith(f"Showing 0 run(s) in {tmp_path}.")
    assert f"No runs in {tmp_path}" in text and "press Load Sample Data" in text
    assert "Problems found" not in text  # an empty folder is not a problem, just a start
    (tmp_path / "half_done").mkdir()
    (tmp_path / "half_done" / "records.jsonl").write_text("{}\n", encoding="utf-8")
    store.refresh()
    text = views.status_markdown(store.view(with_samples=False))
    assert "Problems found" in text and "incomplete run" in text


def test_status_after_load_sample_data_says_samples_are_shown(tmp_path: Path) -> None:
    store = DataStore(tmp_path)
    store.refresh()
    store.load_samples()
    text = views.status_markdown(store.view(with_samples=True))
    assert text == (f"Showing 0 run(s) in {tmp_path}; 2 sample run(s) loaded by Load Sample Data.")


def test_cli_defaults_are_local_and_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    from MockTraceMind import app

    args = app.build_parser().parse_args([])
    assert (args.host, args.port, args.results_dir, args.hub_user) == (
        "127.0.0.1",
        7860,
        "./smoltrace_results",
        None,
    )
    # a private copy of the environment: configure_offline must not leak into later tests
    monkeypatch.setattr(os, "environ", {"GRADIO_ANALYTICS_ENABLED": "True"})
    app.configure_offline(hub=True)
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert os.environ["HF_HUB_DISABLE_TELEMETRY"] == "1"
    assert "HF_HUB_OFFLINE" not in os.environ
    app.configure_offline(hub=False)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["HF_DATASETS_OFFLINE"] == "1"


HUB_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import datasets
    from MockTraceMind.data import DataStore, flatten_metrics

    token, folder = sys.argv[1], Path(sys.argv[2])
    row = json.loads((folder / "leaderboard_row.json").read_text())
    results = json.loads((folder / "results.json").read_text())
    traces = json.loads((folder / "traces.json").read_text())
    metrics = flatten_metrics(json.loads((folder / "metrics.json").read_text()), "metrics.json")
    for trace in traces:  # the documented Hub form: free-form span fields as JSON text
        for span in trace["spans"]:
            for field in ("attributes", "events", "resource"):
                span[field] = json.dumps(span[field])
    names = {kind: f"testuser/smoltrace-{kind}-20250101_000000" for kind in ("results", "traces", "metrics")}
    row.update(results_dataset=names["results"], traces_dataset=names["traces"], metrics_dataset=names["metrics"])
    datasets.Dataset.from_list([row]).push_to_hub("testuser/smoltrace-leaderboard", token=token)
    datasets.Dataset.from_list(results).push_to_hub(names["results"], token=token)
    datasets.Dataset.from_list(traces).push_to_hub(names["traces"], token=token)
    datasets.Dataset.from_list(metrics).push_to_hub(names["metrics"], token=token)

    store = DataStore(None, hub_user="testuser", token=token)
    catalog = store.refresh()
    (run,) = catalog.runs
    rows = store.metric_rows(run)
    traces = store.traces(run)
    print(json.dumps({
        "problems": catalog.problems,
        "sources": catalog.sources,
        "origin": run.origin,
        "model": run.row["model"],
        "results": [r["test_case_uid"] for r in store.results(run)],
        "traces": len(traces),
        "span_attributes": traces[0]["spans"][2]["attributes"],
        "span_resource": traces[0]["spans"][2]["resource"],
        "metric_rows": len(rows),
        "gpu_ids": sorted({str(r["gpu_id"]) for r in rows}),
    }))
    """
)


def test_hub_leaderboard_and_run_datasets_load_via_datasets(
    traced_dir: Path, tmp_path: Path
) -> None:
    from fakes.hub_server import FakeHub, hub_env

    folder = next(traced_dir.iterdir())
    with FakeHub() as hub:
        env = cli_env(**hub_env(hub, tmp_path))
        env["PYTHONPATH"] = str(REPO_ROOT)
        done = subprocess.run(
            [sys.executable, "-c", HUB_SCRIPT, HUB_TOKEN, str(folder)],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert hub.unhandled == []
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["problems"] == []
    assert report["sources"] == ["1 run(s) in Hub dataset testuser/smoltrace-leaderboard"]
    assert report["origin"] == "hub" and report["model"] == "oracle"
    assert report["results"] == [
        "tool:weather_paris",
        "tool:multiply",
        "tool:translate_greeting",
        "code:weather_paris",
    ]
    assert report["traces"] == 4
    assert report["span_attributes"]["openinference.span.kind"] == "CHAIN"
    resource = report["span_resource"]["attributes"]
    assert resource["service.name"] == "smoltrace-eval"
    assert resource["run.id"] == json.loads((folder / "metadata.json").read_text())["run_id"]
    assert report["metric_rows"] == GPU_POINTS * 3
    assert report["gpu_ids"] == ["0", "1", "None"]


def test_hub_problems_are_reported_not_raised() -> None:
    def failing(repo_id: str, token: str | None) -> list[dict[str, Any]]:
        raise DataError(f"Hub dataset {repo_id}: RepositoryNotFoundError: 404")

    store = DataStore(None, hub_user="someone", hub_loader=failing)
    catalog = store.refresh()
    assert catalog.runs == []
    assert catalog.problems == [
        "Hub dataset someone/smoltrace-leaderboard: RepositoryNotFoundError: 404"
    ]


def test_sample_trace_shows_per_call_cost_and_failed_call() -> None:
    run = sample_runs().get("sample-gpt4-api")
    assert run is not None
    store = DataStore(None)
    traces = store.traces(run)
    passed = next(t for t in traces if t["test_case_uids"] == ["tool:tool_weather_single"])
    page = views.waterfall_html(passed)
    assert page.count(" tok · $0.0") == 2  # two priced model calls, sub-cent each
    failed = next(t for t in traces if t["test_case_uids"] == ["code:code_trip_budget"])
    assert views.waterfall_html(failed).count("wf-row wf-error") == 3
    header, _ = views.span_detail(failed, failed["spans"][-1]["span_id"])
    assert "status ERROR: RateLimitError" in header


def test_trace_opens_on_the_deepest_failed_span_or_the_root() -> None:
    run = sample_runs().get("sample-gpt4-api")
    assert run is not None
    traces = DataStore(None).traces(run)
    failed = next(t for t in traces if t["test_case_uids"] == ["code:code_trip_budget"])
    llm = next(s for s in failed["spans"] if s["name"] == "LiteLLMModel.generate")
    assert views.focus_span(failed) == llm["span_id"]
    page = views.waterfall_html(failed, selected=views.focus_span(failed))
    assert page.count(" selected") == 1
    assert f'selected" role="button" tabindex="0" data-span-id="{llm["span_id"]}"' in page
    passed = traces[0]
    assert views.focus_span(passed) == passed["root_span_id"]
    assert views.focus_span({"spans": []}) is None


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "smoltrace-view")],
        [sys.executable, "MockTraceMind/app.py"],
        [sys.executable, "MockTraceMind/gpu_metrics_with_time_series.py"],
    ],
    ids=["smoltrace-view", "app.py", "seed-gpu-page"],
)
def test_entry_points_answer_help_without_loading_gradio(command: list[str]) -> None:
    done = subprocess.run(
        [*command, "--help"],
        cwd=REPO_ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--port" in done.stdout and "--host" in done.stdout


def edit_json(path: Path, **changes: Any) -> None:
    write_json(path, {**json.loads(path.read_text()), **changes})


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("success_rate", "66.7%", "field 'success_rate' must be a number, got text \"66.7%\""),
        ("total_tests", "3", "field 'total_tests' must be an integer, got text \"3\""),
        ("total_cost_usd", True, "field 'total_cost_usd' must be a number, got true/false true"),
        ("model", 42, "field 'model' must be text, got the number 42"),
    ],
)
def test_badly_typed_leaderboard_row_is_a_problem_naming_file_and_field(
    results_dir: Path, field: str, value: Any, expected: str
) -> None:
    """One run's bad leaderboard_row.json is one problem line; every other run still shows."""
    good = next(results_dir.iterdir())
    typo = results_dir / "typo_run"
    shutil.copytree(good, typo)
    edit_json(typo / "leaderboard_row.json", **{field: value})
    store = DataStore(results_dir)
    catalog = store.refresh()
    assert [run.results.location for run in catalog.runs if run.results] == [
        str(good / "results.json")
    ]
    assert catalog.problems == [f"{typo / 'leaderboard_row.json'}: leaderboard row: {expected}"]
    for sort in views.SORT_CHOICES:
        assert len(views.sort_runs(catalog.runs, sort, descending=True)) == 1
    assert str(typo / "leaderboard_row.json") in views.status_markdown(catalog)


def test_badly_typed_hub_row_is_a_problem_and_the_other_rows_show(real_run: Path) -> None:
    row = json.loads((real_run / "leaderboard_row.json").read_text())
    rows = [row, {**row, "run_id": "r2", "success_rate": "66.7%"}, {**row, "run_id": "r3"}]
    catalog = discover_hub_runs("someone", None, lambda repo, token: rows)
    assert [run.key for run in catalog.runs] == [row["run_id"], "r3"]
    assert catalog.problems == [
        "someone/smoltrace-leaderboard row 1: leaderboard row: field 'success_rate' must be a "
        'number, got text "66.7%"'
    ]


def test_mixed_types_never_break_the_leaderboard_sort(real_run: Path) -> None:
    """Defence in depth behind check_row: a number among text sorts instead of raising."""
    (run,) = discover_local_runs(real_run.parent).runs
    odd = sample_runs().runs[0]
    odd.row = {**odd.row, "success_rate": "n/a"}
    ordered = views.sort_runs([odd, run], "Success %", descending=False)
    assert ordered == [run, odd]


def break_results(folder: Path) -> None:
    rows = json.loads((folder / "results.json").read_text())
    rows[1]["test_index"] = "1"  # text among ints: sorting the rows would raise TypeError
    write_json(folder / "results.json", rows)


def break_span_time(folder: Path) -> None:
    traces = json.loads((folder / "traces.json").read_text())
    traces[0]["spans"][1]["start_time"] = "soon"  # int("soon") would raise ValueError
    write_json(folder / "traces.json", traces)


def break_span_status(folder: Path) -> None:
    traces = json.loads((folder / "traces.json").read_text())
    traces[2]["spans"][0]["status"] = "ERROR"
    write_json(folder / "traces.json", traces)


def break_trace_duration(folder: Path) -> None:
    traces = json.loads((folder / "traces.json").read_text())
    traces[1]["total_duration_ms"] = "slow"
    write_json(folder / "traces.json", traces)


@pytest.mark.parametrize(
    ("breaks", "load", "file", "expected"),
    [
        (
            break_results,
            "results",
            "results.json",
            "row 1: field 'test_index' must be an integer, got text \"1\"",
        ),
        (
            break_span_time,
            "traces",
            "traces.json",
            "trace 0: span: field 'start_time' must be an integer (ns since the epoch), got "
            'text "soon"',
        ),
        (
            break_span_status,
            "traces",
            "traces.json",
            "trace 2: span: field 'status' must be an object, got text \"ERROR\"",
        ),
        (
            break_trace_duration,
            "traces",
            "traces.json",
            "trace 1: field 'total_duration_ms' must be a number, got text \"slow\"",
        ),
    ],
    ids=["test_index", "span_start_time", "span_status", "trace_duration"],
)
def test_badly_typed_results_and_traces_are_data_errors_naming_file_and_field(
    traced_dir: Path, breaks: Any, load: str, file: str, expected: str
) -> None:
    """The run view shows DataError messages; anything else would reach the user as a toast."""
    folder = next(traced_dir.iterdir())
    breaks(folder)
    store = DataStore(traced_dir)
    (run,) = store.refresh().runs
    with pytest.raises(DataError) as caught:
        getattr(store, load)(run)
    assert str(caught.value) == f"{folder / file}: {expected}"


def test_badly_typed_hub_metric_rows_are_data_errors() -> None:
    row = {"run_id": "r", "timestamp_unix_nano": "1", "gpu_utilization_percent": 50.0}
    assert parse_metric_rows([row], "hub")[0]["gpu_utilization_percent"] == 50.0
    with pytest.raises(DataError, match="field 'gpu_utilization_percent' must be a number"):
        parse_metric_rows([{**row, "gpu_utilization_percent": "95%"}], "hub")
    with pytest.raises(DataError, match="field 'timestamp_unix_nano' must be ns since the epoch"):
        parse_metric_rows([{**row, "timestamp_unix_nano": "later"}], "hub")


def test_a_parse_failure_the_checks_missed_still_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    write_json(path, {"unexpected": "shape"})

    def fragile(raw: Any, where: str) -> Any:
        return raw["rows"]

    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: unexpected content \(KeyError"):
        DataStore(None)._cached(Source("file", str(path)), fragile)


def test_runs_sharing_a_run_id_are_all_listed_and_each_opens(tmp_path: Path) -> None:
    """`--run-id nightly` twice: two run folders, two runs with their own keys and labels."""
    out = tmp_path / "out"
    args = ("--agent-type", "tool", "--run-id", "nightly")
    first = run_mock_evaluation(out, tmp_path / "tasks.jsonl", *args)
    second = run_mock_evaluation(out, tmp_path / "tasks.jsonl", *args)
    store = DataStore(out)
    catalog = store.refresh()
    keys = [f"nightly [{first.name}]", f"nightly [{second.name}]"]
    assert sorted(run.key for run in catalog.runs) == sorted(keys)
    labels = {run.label for run in catalog.runs}
    assert labels == {f"oracle · tool · nightly · {folder.name}" for folder in (first, second)}
    assert sorted(as_frame(views.leaderboard_table(catalog.runs))["Run id"]) == sorted(keys)
    for key, folder in zip(keys, (first, second), strict=True):
        run = store.find(key)
        assert run is not None and run.results is not None
        assert run.results.location == str(folder / "results.json")
        assert len(store.results(run)) == 3
    (problem,) = catalog.problems
    assert problem.startswith("2 run folders share run_id 'nightly' (")


def test_hub_row_of_a_local_run_is_shown_once_and_clashing_keys_stay_apart(
    results_dir: Path,
) -> None:
    """merge drops only the Hub copy of a local run; a sample named like a local run stays too."""
    folder = next(results_dir.iterdir())
    row = json.loads((folder / "leaderboard_row.json").read_text())
    hub_rows = [dict(row), {**row, "run_id": "hub-only"}]
    store = DataStore(results_dir, hub_user="someone", hub_loader=lambda repo, token: hub_rows)
    catalog = store.refresh()
    assert [(run.origin, run.key) for run in catalog.runs] == [
        ("local", row["run_id"]),
        ("hub", "hub-only"),
    ]
    edit_json(folder / "leaderboard_row.json", run_id="sample-gpt4-api")
    store.refresh()
    store.load_samples()
    keys = [run.key for run in store.view(with_samples=True).runs]
    assert keys == [  # the local run, the Hub rows (no longer a local run's), the samples
        "sample-gpt4-api",
        row["run_id"],
        "hub-only",
        "sample-llama31-8b-instruct",
        "sample-gpt4-api (sample)",
    ]
    found = store.find("sample-gpt4-api (sample)")
    assert found is not None and found.origin == "sample"
    assert store.find("sample-gpt4-api").origin == "local"  # type: ignore[union-attr]


def test_sample_runs_keep_their_own_run_ids() -> None:
    runs = sample_runs().runs
    assert [run.key for run in runs] == ["sample-llama31-8b-instruct", "sample-gpt4-api"]
    assert runs[1].label == "openai/gpt-4 · both · sample-gpt4-api (sample)"
    assert "Run `sample-gpt4-api`" in views.run_header(runs[1])
    assert list(as_frame(views.leaderboard_table(runs))["Run id"]) == [run.key for run in runs]


def test_costs_are_formatted_and_a_null_cost_is_not_zero() -> None:
    assert views.fmt_cost(0.00004394999999999999) == "$4.395e-05"
    assert views.fmt_cost(0.000183) == "$0.000183"
    assert views.fmt_cost(0.36915) == "$0.3691"
    assert views.fmt_cost(1234.5) == "$1,234.50"
    assert views.fmt_cost(0.0) == "$0.00"
    assert views.fmt_cost(None) == "n/a"
    common = {"task_id": "t", "agent_type": "tool", "success": True}
    results = [
        {**common, "test_index": 0, "test_case_uid": "tool:a", "cost_usd": 0.00004394999999999999},
        {**common, "test_index": 1, "test_case_uid": "tool:b", "cost_usd": None},
    ]
    table = views.task_table(results, failures_only=False)
    cost = table["headers"].index("Cost")
    assert [row[cost] for row in table["metadata"]["display_value"]] == ["$4.395e-05", "n/a"]
    assert [row[cost] for row in table["data"]] == [0.00004394999999999999, None]  # sorts
    runs = sample_runs().runs
    board = views.leaderboard_table(runs)
    cost = board["headers"].index("Cost")
    assert [row[cost] for row in board["metadata"]["display_value"]] == ["n/a", "$0.3691"]
    assert "$0.3691" in views.run_cards(runs[1]) and "n/a" in views.run_cards(runs[0])
    success = board["headers"].index("Success %")
    assert [row[success] for row in board["metadata"]["display_value"]] == ["83.33", "83.33"]


def test_real_litellm_run_shows_priced_calls_and_its_failed_call(litellm_run: Path) -> None:
    store = DataStore(litellm_run.parent)
    (run,) = store.refresh().runs
    assert (run.row["provider"], run.row["model"], run.row["success_rate"]) == (
        "litellm",
        LITELLM_MODEL,
        50.0,
    )
    board = views.leaderboard_table([run])
    cost = board["metadata"]["display_value"][0][board["headers"].index("Cost")]
    assert COST_TEXT.fullmatch(cost) and run.row["total_cost_usd"] > 0
    results = store.results(run)
    table = views.task_table(results, failures_only=False)
    costs = [row[table["headers"].index("Cost")] for row in table["metadata"]["display_value"]]
    assert all(COST_TEXT.fullmatch(text) for text in costs), costs
    failures = as_frame(views.task_table(results, failures_only=True))
    assert failures["Task"].tolist() == ["weather_tokyo"]
    assert "BadRequestError" in failures["Error"].iloc[0]
    failed = next(result for result in results if not result["success"])
    trace = find_trace(store.traces(run), failed)
    assert trace is not None
    page = views.waterfall_html(trace, selected=views.focus_span(trace))
    assert page.count('<span class="wf-name">LiteLLMModel.generate</span>') == 2
    assert page.count("wf-row wf-error") == 3  # the task, its second step and that step's call
    (priced,) = re.findall(r" tok · (\$[^<]+)<", page)  # the first call; the failed one has none
    assert COST_TEXT.fullmatch(priced) and priced != "$0.00"
    focus = next(s for s in trace["spans"] if s["span_id"] == views.focus_span(trace))
    assert focus["name"] == "LiteLLMModel.generate" and focus["status"]["code"] == "ERROR"


# -- uncertainty and the compare view ------------------------------------------------------------


def wilson_text(successes: int, n: int, z: float = 1.959963984540054) -> str:
    p = successes / n
    centre, spread = p + z * z / (2 * n), z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    low, high = (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)
    return f"{100 * low:.2f}–{100 * high:.2f}"


def test_leaderboard_and_run_cards_show_the_interval(results_dir: Path) -> None:
    store = DataStore(results_dir)
    (run,) = store.refresh().runs
    # the oracle passes 3 of the 4 task executions (no agent has the translate tool)
    assert (run.row["successful_tests"], run.row["total_tests"]) == (3, 4)
    frame = as_frame(views.leaderboard_table([run]))
    assert frame["95% CI"].tolist() == [wilson_text(3, 4)]
    assert f"95% CI {wilson_text(3, 4)}%" in views.run_cards(run)
    # rows from before intervals existed (the samples) show a blank cell and the old caption
    old = sample_runs().runs
    assert as_frame(views.leaderboard_table(old))["95% CI"].tolist() == ["", ""]
    assert "of all tasks" in views.run_cards(old[0])


def test_run_card_shows_pass_at_k_for_repeated_runs() -> None:
    run = sample_runs().runs[0]
    row = {**run.row, "repeats": 5, "pass_at_k": 0.9, "pass_hat_k": 0.41234}
    row.update(success_rate_ci_low=60.0, success_rate_ci_high=80.25)
    caption = views.success_caption(row)
    assert caption == "95% CI 60.00–80.25%; pass@5 0.900, pass^5 0.412"


def test_success_figure_draws_the_interval_as_error_bars(results_dir: Path) -> None:
    (run,) = DataStore(results_dir).refresh().runs
    old = sample_runs().runs[0]
    figure = views.success_figure([run, old])
    (trace,) = figure.data
    rate, low, high = (
        run.row[k] for k in ("success_rate", "success_rate_ci_low", "success_rate_ci_high")
    )
    assert list(trace.x) == [rate, old.row["success_rate"]]
    assert list(trace.error_x.array) == pytest.approx([high - rate, 0.0])
    assert list(trace.error_x.arrayminus) == pytest.approx([rate - low, 0.0])
    assert trace.error_x.symmetric is False
    assert list(trace.y) == [run.label, old.label]


def test_compare_view_of_the_two_sample_runs() -> None:
    from MockTraceMind import compare

    store = DataStore(None)
    gpt4, llama = (
        store.results(sample_runs().get(k))
        for k in ("sample-gpt4-api", "sample-llama31-8b-instruct")
    )
    report = compare.compare_results(gpt4, llama)
    assert report is not None
    # llama loses tool_search_compare and wins code_trip_budget: 1 win, 1 loss, 4 ties
    assert (report["wins"], report["losses"], report["ties"]) == (1, 1, 4)
    assert report["difference"] == 0.0 and report["p_value"] == 1.0  # 2 * (1 + 2) / 4, capped
    assert report["rate_a"] == pytest.approx(500 / 6) and report["ci_low"] < 0 < report["ci_high"]
    outcomes = {task: outcome for task, _, _, _, outcome in report["tasks"]}
    assert (
        outcomes["tool_search_compare"] == "B worse" and outcomes["code_trip_budget"] == "B better"
    )
    text = compare.compare_markdown("GPT-4", "Llama", report)
    assert "No detectable difference" in text and "Paired tasks: 6 (dropped: 0 only in A" in text
    table = as_frame(compare.task_table(report))
    assert table["Outcome"].tolist()[:2] == ["B worse", "B better"]  # changed tasks first
    assert compare.compare_results(gpt4, [{**r, "task_id": "x"} for r in llama]) is None
    assert "share no task" in compare.compare_markdown("a", "b", None)


def test_compare_view_agrees_with_smoltrace_compare(litellm_run: Path, tmp_path: Path) -> None:
    """The dashboard computes the comparison itself (it imports nothing from smoltrace); on the
    same rows it must give smoltrace-compare's figures."""
    from MockTraceMind import compare
    from smoltrace.comparison import RunRows, compare_runs

    rows_a = json.loads((litellm_run / "results.json").read_text())
    rows_b = [
        {**r, "success": not r["success"], "total_tokens": 2 * r["total_tokens"]} for r in rows_a
    ]
    rows_b += [{**rows_a[0], "task_id": "extra"}]
    mine = compare.compare_results(rows_a, rows_b, iterations=2000, seed=4)
    theirs = compare_runs(RunRows("a", rows_a), RunRows("b", rows_b), iterations=2000, seed=4)
    assert mine is not None
    assert mine["paired_tasks"] == theirs["paired_tasks"] == 2
    assert (mine["only_in_a"], mine["only_in_b"]) == (0, 1) == tuple(theirs["dropped"].values())
    for key in ("a", "b", "difference", "ci_low", "ci_high"):
        assert mine["rate_" + key if key in "ab" else key] == pytest.approx(
            theirs["success_rate"][key]
        )
    assert mine["p_value"] == theirs["mcnemar"]["p_value"]
    assert mine["metrics"]["total_tokens"]["difference"] == pytest.approx(
        theirs["tokens"]["difference"]
    )
    assert mine["metrics"]["cost_usd"]["a"] == pytest.approx(theirs["cost_usd"]["a"])


def test_dashboard_imports_nothing_from_smoltrace() -> None:
    for path in (REPO_ROOT / "MockTraceMind").glob("*.py"):
        source = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+smoltrace\b", source, re.M), path.name
