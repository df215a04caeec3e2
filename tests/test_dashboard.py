"""MockTraceMind's data layer and views, without a browser.

Runs come from real `smoltrace-eval --provider mock` runs, traced with `--enable-otel`; the GPU
metrics a machine without a GPU cannot record are added by `add_gpu_metrics`, written exactly as
smoltrace_dataset_structure.md documents them. The Hub path is exercised against the local fake
Hub with the real `datasets` client, in a subprocess with its own caches.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, REPO_ROOT, cli_env

from MockTraceMind import views
from MockTraceMind.data import (
    DataError,
    DataStore,
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


def run_mock_evaluation(output_dir: Path, tasks_file: Path, *extra: str) -> Path:
    """A real offline evaluation; returns its run folder."""
    tasks_file.write_text("".join(json.dumps(task) + "\n" for task in TASKS), encoding="utf-8")
    before = set(output_dir.iterdir()) if output_dir.exists() else set()
    subprocess.run(
        [
            str(BIN / "smoltrace-eval"),
            "--provider",
            "mock",
            "--model",
            "oracle",
            "--output-format",
            "json",
            "--output-dir",
            str(output_dir),
            "--dataset-name",
            str(tasks_file),
            "--quiet",
            *extra,
        ],
        check=True,
        env=cli_env(),
        capture_output=True,
        timeout=120,
    )
    (folder,) = set(output_dir.iterdir()) - before
    return folder


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
    assert empty.runs == []
    assert empty.problems == [
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
    frame = views.leaderboard_frame(views.sort_runs(runs, "Success %", descending=True))
    assert list(frame["Model"]) == ["meta-llama/Llama-3.1-8B-Instruct", "openai/gpt-4"]
    assert list(frame["Success %"]) == [83.33, 83.33]
    by_cost = views.sort_runs(runs, "Cost (USD)", descending=False)
    assert [run.row["model"] for run in by_cost] == [
        "openai/gpt-4",
        "meta-llama/Llama-3.1-8B-Instruct",
    ]
    by_gpu = views.leaderboard_frame(views.sort_runs(runs, "GPU util avg %", descending=True))
    assert by_gpu["GPU util avg %"].iloc[0] == 73.25 and by_gpu["GPU util avg %"].isna().iloc[1]
    assert [r.row["provider"] for r in views.filter_runs(runs, None, ["litellm"], None)] == [
        "litellm"
    ]
    assert views.filter_runs(runs, ["openai/gpt-4"], None, ["code"]) == []
    assert len(views.filter_runs(runs, [], [], ["both"])) == 2
    assert frame.columns[-1] == "Run id" and list(frame["Source"]) == ["sample", "sample"]


def test_task_table_and_failure_filter() -> None:
    run = sample_runs().get("sample-sample-gpt4-api")
    assert run is not None
    store = DataStore(None)
    results = store.results(run)
    everything = views.task_frame(results, failures_only=False)
    failures = views.task_frame(results, failures_only=True)
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
    assert "Problems found" in text and "press Load Sample Data" in text
    store.load_samples()
    assert "2 sample run(s)" in views.status_markdown(store.view(with_samples=True))


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
    run = sample_runs().get("sample-sample-gpt4-api")
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
    run = sample_runs().get("sample-sample-gpt4-api")
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
