"""The in-memory exporters under real SDK pipelines, and the metric data derived from them.

The metric tests drive a real MeterProvider + PeriodicExportingMetricReader with observable gauges
and counters named like genai-otel's GPU metrics (three GPUs, four export cycles) and check the
exported OTLP-JSON, the flattened rows and the leaderboard aggregates value by value against
values computed here from the scripted readings.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import Counter, MeterProvider, ObservableGauge
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from smoltrace.outputs.leaderboard import compute_leaderboard_row, gpu_leaderboard_fields
from smoltrace.telemetry import (
    METRICS_COLUMNS,
    InMemoryMetricExporter,
    InMemorySpanExporter,
    flatten_metrics_for_hf,
)
from smoltrace.telemetry.exporters import MAX_STRING_CHARS, REDACTED, TRUNCATED_SUFFIX

SCHEMA_DOC = Path(__file__).resolve().parents[1] / "smoltrace_dataset_structure.md"
NEVER = 3_600_000  # ms: the periodic reader must not tick on its own during a test

# Scripted readings per export cycle and GPU: (utilization %, memory used MiB, temperature C, power W)
GPU_NAMES = {"0": "Fake H100", "1": "Fake H100", "2": "Fake A10"}
READINGS = [
    {"0": (10, 1024.5, 40, 100.0), "1": (20, 2048.0, 45, 150.5), "2": (0, 512.25, 35, 50.0)},
    {"0": (90, 4096.0, 60, 300.0), "1": (55, 2048.5, 50, 200.0), "2": (5, 600.0, 36, 55.5)},
    {"0": (80, 4000.0, 65, 280.0), "1": (60, 3000.0, 52, 210.0), "2": (7, 700.0, 37, 60.0)},
    {"0": (30, 1500.0, 55, 120.0), "1": (25, 1000.0, 48, 110.0), "2": (1, 520.0, 35, 51.0)},
]
MEMORY_TOTAL = {"0": 81559.0, "1": 81559.0, "2": 23028.0}
# CO2 grams and power cost USD added per cycle per GPU (cumulative counters)
CO2_STEPS = {"0": [0.5, 1.25, 1.0, 0.25], "1": [0.1, 0.2, 0.3, 0.4], "2": [0.0, 0.05, 0.05, 0.0]}
COST_STEPS = {
    "0": [0.0001, 0.0003, 0.0002, 0.0001],
    "1": [0.00002] * 4,
    "2": [0.0, 0.00001, 0.0, 0.0],
}


def _attrs(encoded: list[dict]) -> dict:
    return {a["key"]: next(iter(a["value"].values())) for a in encoded}


def _points(batch: dict, name: str) -> tuple[dict, list[dict]]:
    metric = next(m for s in batch["scopeMetrics"] for m in s["metrics"] if m["name"] == name)
    body = metric.get("gauge") or metric.get("sum") or metric.get("histogram")
    return metric, body["dataPoints"]


class GPUPipeline:
    """A real MeterProvider whose periodic reader exports to InMemoryMetricExporter."""

    def __init__(self) -> None:
        self.cycle = 0
        self.exporter = InMemoryMetricExporter()
        reader = PeriodicExportingMetricReader(self.exporter, export_interval_millis=NEVER)
        resource = Resource.create({"service.name": "gpu-test", "run.id": "run-gpu"})
        self.provider = MeterProvider(resource=resource, metric_readers=[reader])
        meter = self.provider.get_meter("genai.gpu")
        for name, unit, index in (
            ("gen_ai.gpu.utilization", "%", 0),
            ("gen_ai.gpu.memory.used", "MiB", 1),
            ("gen_ai.gpu.temperature", "Cel", 2),
            ("gen_ai.gpu.power", "W", 3),
        ):
            meter.create_observable_gauge(name, callbacks=[self._reading(index)], unit=unit)
        meter.create_observable_gauge(
            "gen_ai.gpu.memory.total", callbacks=[self._memory_total], unit="MiB"
        )
        self.co2 = meter.create_counter("gen_ai.co2.emissions", unit="gCO2e")
        self.cost = meter.create_counter("gen_ai.power.cost", unit="USD")
        self.latency = meter.create_histogram("smoltrace.test.latency", unit="s")

    def _reading(self, index: int):
        def observe(options: CallbackOptions):
            for gpu, values in READINGS[self.cycle].items():
                yield Observation(values[index], {"gpu_id": gpu, "gpu_name": GPU_NAMES[gpu]})

        return observe

    def _memory_total(self, options: CallbackOptions):
        for gpu, total in MEMORY_TOTAL.items():
            yield Observation(total, {"gpu_id": gpu, "gpu_name": GPU_NAMES[gpu]})

    def run_cycles(self) -> list[dict]:
        """Four export cycles: three force-flushes and the final collection at shutdown."""
        for cycle in range(len(READINGS)):
            self.cycle = cycle
            for gpu in GPU_NAMES:
                self.co2.add(CO2_STEPS[gpu][cycle], {"gpu_id": gpu})
                self.cost.add(COST_STEPS[gpu][cycle], {"gpu_id": gpu, "gpu_name": GPU_NAMES[gpu]})
            self.latency.record(0.5 * (cycle + 1))
            if cycle < len(READINGS) - 1:
                self.provider.force_flush()
            else:
                self.provider.shutdown()
        return self.exporter.get_metrics_data()


@pytest.fixture(scope="module")
def gpu_batches() -> list[dict]:
    return GPUPipeline().run_cycles()


def test_metric_exporter_is_a_proper_metric_exporter() -> None:
    exporter = InMemoryMetricExporter()
    assert isinstance(exporter, MetricExporter)
    assert exporter._preferred_temporality[Counter] == AggregationTemporality.CUMULATIVE
    assert exporter._preferred_temporality[ObservableGauge] == AggregationTemporality.CUMULATIVE
    # the reader reads both preference maps from the base class; constructing it must work
    PeriodicExportingMetricReader(exporter, export_interval_millis=NEVER).shutdown()


def test_each_export_cycle_is_one_otlp_batch(gpu_batches: list[dict]) -> None:
    assert len(gpu_batches) == len(READINGS)
    for batch in gpu_batches:
        resource = _attrs(batch["resource"]["attributes"])
        assert resource["service.name"] == "gpu-test"
        assert resource["run.id"] == "run-gpu"
        assert [s["scope"]["name"] for s in batch["scopeMetrics"]] == ["genai.gpu"]
        times = {
            p["timeUnixNano"]
            for s in batch["scopeMetrics"]
            for m in s["metrics"]
            for p in (m.get("gauge") or m.get("sum") or m.get("histogram"))["dataPoints"]
        }
        assert len(times) == 1  # one collection, one timestamp
        assert all(isinstance(t, str) and t.isdigit() for t in times)
    stamps = [int(_points(b, "gen_ai.gpu.power")[1][0]["timeUnixNano"]) for b in gpu_batches]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_gauges_export_every_gpu_with_typed_values(gpu_batches: list[dict]) -> None:
    for cycle, batch in enumerate(gpu_batches):
        for name, index in (
            ("gen_ai.gpu.utilization", 0),
            ("gen_ai.gpu.memory.used", 1),
            ("gen_ai.gpu.temperature", 2),
            ("gen_ai.gpu.power", 3),
        ):
            metric, points = _points(batch, name)
            assert "gauge" in metric
            by_gpu = {_attrs(p["attributes"])["gpu_id"]: p for p in points}
            assert set(by_gpu) == set(GPU_NAMES)
            for gpu, point in by_gpu.items():
                expected = READINGS[cycle][gpu][index]
                assert _attrs(point["attributes"]) == {"gpu_id": gpu, "gpu_name": GPU_NAMES[gpu]}
                if isinstance(expected, int):
                    assert point["asInt"] == str(expected) and "asDouble" not in point
                else:
                    assert point["asDouble"] == expected and "asInt" not in point
    metric, _ = _points(gpu_batches[0], "gen_ai.gpu.utilization")
    assert metric["unit"] == "%"


def test_counters_are_cumulative_sums(gpu_batches: list[dict]) -> None:
    for cycle, batch in enumerate(gpu_batches):
        metric, points = _points(batch, "gen_ai.co2.emissions")
        assert metric["sum"]["aggregationTemporality"] == 2  # CUMULATIVE
        assert metric["sum"]["isMonotonic"] is True
        by_gpu = {_attrs(p["attributes"])["gpu_id"]: p for p in points}
        for gpu in GPU_NAMES:
            assert by_gpu[gpu]["asDouble"] == pytest.approx(sum(CO2_STEPS[gpu][: cycle + 1]))
            assert int(by_gpu[gpu]["startTimeUnixNano"]) <= int(by_gpu[gpu]["timeUnixNano"])


def test_histogram_points(gpu_batches: list[dict]) -> None:
    _, points = _points(gpu_batches[-1], "smoltrace.test.latency")
    (point,) = points
    recorded = [0.5, 1.0, 1.5, 2.0]
    assert point["count"] == str(len(recorded))
    assert point["sum"] == pytest.approx(sum(recorded))
    assert point["min"] == 0.5 and point["max"] == 2.0
    assert sum(int(c) for c in point["bucketCounts"]) == len(recorded)
    assert len(point["bucketCounts"]) == len(point["explicitBounds"]) + 1
    json.dumps(gpu_batches, allow_nan=False)  # plain JSON, no NaN or Infinity


def test_flattened_rows_one_per_timestamp_and_gpu(gpu_batches: list[dict]) -> None:
    rows = flatten_metrics_for_hf({"run_id": "run-gpu", "resourceMetrics": gpu_batches})
    assert len(rows) == len(READINGS) * len(GPU_NAMES)
    for index, row in enumerate(rows):
        cycle, gpu = divmod(index, len(GPU_NAMES))
        gpu_id = str(gpu)
        utilization, memory, temperature, power = READINGS[cycle][gpu_id]
        stamp = _points(gpu_batches[cycle], "gen_ai.gpu.power")[1][0]["timeUnixNano"]
        assert tuple(row) == METRICS_COLUMNS
        assert row["run_id"] == "run-gpu"
        assert row["service_name"] == "gpu-test"
        assert row["timestamp_unix_nano"] == stamp
        assert row["timestamp"].endswith("+00:00")
        assert row["gpu_id"] == gpu_id and row["gpu_name"] == GPU_NAMES[gpu_id]
        assert row["gpu_utilization_percent"] == float(utilization)
        assert row["gpu_memory_used_mib"] == memory
        assert row["gpu_memory_total_mib"] == MEMORY_TOTAL[gpu_id]
        assert row["gpu_temperature_celsius"] == float(temperature)
        assert row["gpu_power_watts"] == power
        assert row["co2_emissions_gco2e"] == pytest.approx(sum(CO2_STEPS[gpu_id][: cycle + 1]))
        assert row["power_cost_usd"] == pytest.approx(sum(COST_STEPS[gpu_id][: cycle + 1]))


def test_flattened_columns_match_the_schema_doc() -> None:
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    section = text.split("### Metrics dataset (flattened time series)", 1)[1].split("\n### ", 1)[0]
    documented = tuple(re.findall(r"^\| `([a-z_0-9]+)` \|", section, flags=re.MULTILINE))
    assert documented == METRICS_COLUMNS


def test_a_metric_absent_at_a_point_is_null_and_non_gpu_metrics_are_ignored() -> None:
    batch = {
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "s"}}]},
        "scopeMetrics": [
            {
                "scope": {"name": "x", "version": ""},
                "metrics": [
                    {
                        "name": "gen_ai.gpu.utilization",
                        "gauge": {
                            "dataPoints": [{"attributes": [], "timeUnixNano": "5", "asInt": "0"}]
                        },
                    },
                    {
                        "name": "gen_ai.server.requests.running",
                        "gauge": {
                            "dataPoints": [{"attributes": [], "timeUnixNano": "5", "asInt": "3"}]
                        },
                    },
                ],
            }
        ],
    }
    (row,) = flatten_metrics_for_hf({"run_id": "r", "resourceMetrics": [batch]})
    assert tuple(row) == METRICS_COLUMNS
    assert row["gpu_utilization_percent"] == 0.0  # a measured zero stays a zero
    assert row["gpu_id"] is None and row["gpu_name"] is None
    assert all(row[c] is None for c in METRICS_COLUMNS[6:] if c != "gpu_utilization_percent")
    assert flatten_metrics_for_hf({"run_id": "r", "resourceMetrics": []}) == []


def _expected_gpu_aggregates() -> dict[str, float]:
    values = [reading for cycle in READINGS for reading in cycle.values()]

    def avg(i: int) -> float:
        return round(sum(v[i] for v in values) / len(values), 2)

    def peak(i: int) -> float:
        return round(max(v[i] for v in values), 2)

    return {
        "gpu_utilization_avg": avg(0),
        "gpu_utilization_max": peak(0),
        "gpu_memory_avg_mib": avg(1),
        "gpu_memory_max_mib": peak(1),
        "gpu_temperature_avg": avg(2),
        "gpu_temperature_max": peak(2),
        "gpu_power_avg_w": avg(3),
        "co2_total": sum(sum(steps) for steps in CO2_STEPS.values()),
        "power_cost_total": sum(sum(steps) for steps in COST_STEPS.values()),
    }


def test_leaderboard_gpu_aggregates_value_by_value(gpu_batches: list[dict]) -> None:
    expected = _expected_gpu_aggregates()
    # 12 utilization points (4 cycles x 3 GPUs) summing to 383
    assert expected["gpu_utilization_avg"] == 31.92 and expected["gpu_utilization_max"] == 90
    got = gpu_leaderboard_fields(gpu_batches)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key

    metric_data = {"run_id": "run-gpu", "resourceMetrics": gpu_batches, "aggregates": []}
    row = compute_leaderboard_row(
        "m", {"tool": [], "code": []}, [], metric_data, "d", "r", None, "x", run_id="run-gpu"
    )
    for key in expected:
        if key.startswith("gpu_"):
            assert row[key] == expected[key], key
    assert row["co2_emissions_g"] == round(expected["co2_total"], 4) == 4.1
    assert row["power_cost_total_usd"] == round(expected["power_cost_total"], 10)
    assert row["power_cost_total_usd"] == pytest.approx(0.00079)


def test_no_gpu_data_gives_null_fields_never_zeros() -> None:
    got = gpu_leaderboard_fields([])
    assert got and all(v is None for v in got.values())


def test_metric_exporter_is_thread_safe() -> None:
    captured: list[MetricsData] = []

    class Capture(InMemoryMetricExporter):
        def export(self, metrics_data, timeout_millis=10_000, **kwargs):
            captured.append(metrics_data)
            return super().export(metrics_data, timeout_millis, **kwargs)

    provider = MeterProvider(
        metric_readers=[PeriodicExportingMetricReader(Capture(), export_interval_millis=NEVER)]
    )
    provider.get_meter("m").create_counter("c").add(1)
    provider.shutdown()
    (metrics_data,) = captured

    exporter = InMemoryMetricExporter()
    exporter.export(MetricsData(resource_metrics=[]))
    assert exporter.get_metrics_data() == []  # an empty export adds no batch

    def export_many() -> None:
        for _ in range(50):
            exporter.export(metrics_data)

    threads = [threading.Thread(target=export_many) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(exporter.get_metrics_data()) == 8 * 50
    exporter.clear()
    assert exporter.get_metrics_data() == []


# -- spans ---------------------------------------------------------------------------------------


def test_span_dicts_hex_ids_times_status_events_and_run_resource(monkeypatch) -> None:
    monkeypatch.setenv("MY_SERVICE_API_KEY", "s3cr3t-value-123")
    run_resource = Resource.create({"service.name": "svc", "run.id": "run-7"})
    exporter = InMemorySpanExporter(run_resource)
    provider = TracerProvider(resource=Resource.create({"service.name": "shared"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    long_text = "x" * (MAX_STRING_CHARS + 10)
    with (
        tracer.start_as_current_span("parent", attributes={"n": 3, "f": 0.5, "ok": True}) as parent,
        tracer.start_as_current_span("child", kind=SpanKind.CLIENT) as child,
    ):
        child.set_attribute("prompt", "use key s3cr3t-value-123 please")
        child.set_attribute("header", "Authorization: Bearer abcdefghijklmnop")
        child.set_attribute("hf", "token hf_abcdefghijklmnopqrstu here")
        child.set_attribute("long", long_text)
        child.set_attribute("names", ("a", "s3cr3t-value-123"))
        child.add_event("step", {"step_index": 1, "type": "ActionStep"})
        child.set_status(Status(StatusCode.ERROR, "failed with s3cr3t-value-123"))
    provider.shutdown()

    child_d, parent_d = exporter.get_finished_spans()
    assert child_d["name"] == "child" and parent_d["name"] == "parent"
    assert re.fullmatch(r"[0-9a-f]{32}", child_d["trace_id"])
    assert re.fullmatch(r"[0-9a-f]{16}", child_d["span_id"])
    assert (
        child_d["trace_id"] == parent_d["trace_id"] == f"{parent.get_span_context().trace_id:032x}"
    )
    assert child_d["parent_span_id"] == parent_d["span_id"]
    assert parent_d["parent_span_id"] is None
    assert child_d["kind"] == "CLIENT" and parent_d["kind"] == "INTERNAL"
    assert child_d["duration_ms"] == (child_d["end_time"] - child_d["start_time"]) / 1e6
    assert (
        parent_d["start_time"]
        <= child_d["start_time"]
        <= child_d["end_time"]
        <= parent_d["end_time"]
    )
    assert parent_d["attributes"] == {"n": 3, "f": 0.5, "ok": True}
    attributes = child_d["attributes"]
    assert attributes["prompt"] == f"use key {REDACTED} please"
    assert attributes["header"] == f"Authorization: Bearer {REDACTED}"
    assert attributes["hf"] == f"token {REDACTED} here"
    assert attributes["long"] == "x" * MAX_STRING_CHARS + TRUNCATED_SUFFIX
    assert attributes["names"] == ["a", REDACTED]
    assert child_d["events"] == [
        {
            "name": "step",
            "timestamp": child_d["events"][0]["timestamp"],
            "attributes": {"step_index": 1, "type": "ActionStep"},
        }
    ]
    assert child_d["status"] == {"code": "ERROR", "description": f"failed with {REDACTED}"}
    assert parent_d["status"] == {"code": "UNSET", "description": None}
    resource = child_d["resource"]["attributes"]
    assert resource["run.id"] == "run-7" and resource["service.name"] == "svc"
    assert "s3cr3t-value-123" not in json.dumps(exporter.get_finished_spans())
    exporter.clear()
    assert exporter.get_finished_spans() == []
