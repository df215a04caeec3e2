"""`setup_inmemory_otel` / `finish_otel`: the seed's setup checks and the disabled path."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import types
import uuid
from pathlib import Path

import pytest
from genai_otel import gpu_metrics
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

from smoltrace.otel import (
    InMemoryMetricExporter,
    InMemorySpanExporter,
    TraceMetricsAggregator,
    finish_otel,
    setup_inmemory_otel,
)
from smoltrace.outputs.leaderboard import gpu_leaderboard_fields
from smoltrace.telemetry import extract_metrics, flatten_metrics_for_hf
from smoltrace.telemetry.setup import EXPORT_INTERVAL_MS, run_telemetry

REPO = Path(__file__).resolve().parents[1]


def _resource(otel) -> dict:
    return dict(run_telemetry(otel).resource.attributes)


def test_disabled_returns_six_nones() -> None:
    assert setup_inmemory_otel(False) == (None,) * 6
    assert setup_inmemory_otel(False, "svc", "run-1", True) == (None,) * 6
    finish_otel((None,) * 6)  # a no-op


def test_setup_with_given_run_id() -> None:
    otel = setup_inmemory_otel(True, "smoltrace-eval", "given-run-1")
    try:
        tracer, meter, span_exporter, metric_exporter, aggregator, run_id = otel
        assert run_id == "given-run-1"
        assert isinstance(span_exporter, InMemorySpanExporter)
        assert isinstance(metric_exporter, InMemoryMetricExporter)
        assert isinstance(aggregator, TraceMetricsAggregator)
        assert _resource(otel)["service.name"] == "smoltrace-eval"
        assert _resource(otel)["run.id"] == "given-run-1"
        with tracer.start_as_current_span("test_evaluation"):
            pass
        gauge_values = iter([7, 9])
        meter.create_observable_gauge(
            "smoltrace.test.gauge", callbacks=[lambda _: [Observation(next(gauge_values))]]
        )
    finally:
        finish_otel(otel)
    (span,) = span_exporter.get_finished_spans()
    assert span["resource"]["attributes"]["run.id"] == "given-run-1"
    # a run far shorter than the 10 s export interval still gets its points (final collection)
    (batch,) = metric_exporter.get_metrics_data()
    resource = {a["key"]: a["value"]["stringValue"] for a in batch["resource"]["attributes"]}
    assert resource["run.id"] == "given-run-1" and resource["service.name"] == "smoltrace-eval"
    (point,) = batch["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"]
    assert point["asInt"] == "7"
    assert EXPORT_INTERVAL_MS == 10_000
    assert run_telemetry(otel) is None
    finish_otel(otel)  # finishing twice is harmless


def test_metrics_use_a_periodic_reader_at_the_export_interval() -> None:
    otel = setup_inmemory_otel(True, "svc", "reader-run")
    try:
        reader = run_telemetry(otel).metric_reader
        assert isinstance(reader, PeriodicExportingMetricReader)
        assert reader._export_interval_millis == EXPORT_INTERVAL_MS
        assert reader._exporter is otel[3]
    finally:
        finish_otel(otel)


def test_setup_with_auto_run_id() -> None:
    otel = setup_inmemory_otel(True, "svc")
    finish_otel(otel)
    assert uuid.UUID(otel[5]).version == 4
    other = setup_inmemory_otel(True, "svc")
    finish_otel(other)
    assert other[5] != otel[5]


def test_setup_with_gpu_metrics_enabled_on_a_machine_without_gpu(monkeypatch, caplog) -> None:
    class NVMLLibraryNotFound(Exception):
        pass

    def init() -> None:
        raise NVMLLibraryNotFound("NVML Shared Library Not Found")

    monkeypatch.setattr(gpu_metrics, "NVML_AVAILABLE", True)
    monkeypatch.setattr(gpu_metrics, "pynvml", types.SimpleNamespace(nvmlInit=init))
    with caplog.at_level(logging.WARNING, logger="smoltrace"):
        otel = setup_inmemory_otel(True, "svc", "no-gpu-run", enable_gpu_metrics=True)
    assert otel[5] == "no-gpu-run"
    assert run_telemetry(otel).gpu is None
    assert "no NVIDIA GPU available (NVML Shared Library Not Found)" in caplog.text
    finish_otel(otel)
    metric_data = extract_metrics(otel[3], otel[4], [], {"tool": [], "code": []}, otel[5])
    assert metric_data == {"run_id": "no-gpu-run", "resourceMetrics": [], "aggregates": []}
    assert flatten_metrics_for_hf(metric_data) == []
    assert all(v is None for v in gpu_leaderboard_fields(metric_data["resourceMetrics"]).values())


def test_metrics_output_exists_with_empty_resource_metrics() -> None:
    exporter = InMemoryMetricExporter()
    results = {"tool": [], "code": []}
    assert extract_metrics(exporter, TraceMetricsAggregator(), [], results, "api-run") == {
        "run_id": "api-run",
        "resourceMetrics": [],
        "aggregates": [],
    }
    assert extract_metrics(None, None, [], results, "off-run") == {
        "run_id": "off-run",
        "resourceMetrics": [],
        "aggregates": [],
    }


DISABLED_RUN = """
import json, sys
from opentelemetry import trace, metrics
from smoltrace.core import run_evaluation
results, traces, metric_data, _, run_id = run_evaluation(
    "oracle", ["tool", "code"], provider="mock", verbose=False, enable_gpu_metrics=True
)
records = results["tool"] + results["code"]
print(json.dumps({
    "loaded": sorted(m for m in sys.modules if m.startswith(("genai_otel", "openinference"))),
    "tracer_provider": type(trace.get_tracer_provider()).__name__,
    "meter_provider": type(metrics.get_meter_provider()).__name__,
    "traces": traces,
    "metric_data": metric_data,
    "run_id": run_id,
    "records": len(records),
    "ids": sorted({(r["trace_id"], r["span_id"]) for r in records}),
    "info": sorted({json.dumps(r["enhanced_trace_info"]) for r in records}),
}))
"""


def test_without_enable_otel_no_otel_work_is_done() -> None:
    """In a fresh process: nothing imported or installed, and the outputs say 'not traced'."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_DISABLE_TELEMETRY": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", DISABLED_RUN],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert time.monotonic() - started < 60
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []
    assert report["tracer_provider"] == "ProxyTracerProvider"
    assert report["meter_provider"] == "_ProxyMeterProvider"
    assert report["traces"] == []
    assert report["metric_data"] == {
        "run_id": report["run_id"],
        "resourceMetrics": [],
        "aggregates": [],
    }
    assert report["records"] == 15
    assert report["ids"] == [[None, None]]
    assert report["info"] == ["{}"]


@pytest.mark.parametrize("service_name", ["smoltrace-eval", "agent-eval"])
def test_resource_carries_service_name_and_run_id(service_name: str) -> None:
    otel = setup_inmemory_otel(True, service_name, f"run-{service_name}")
    try:
        assert _resource(otel)["service.name"] == service_name
        assert _resource(otel)["run.id"] == f"run-{service_name}"
    finally:
        finish_otel(otel)


TRACED_RUN_AUDITED = """
import json, socket, sys
local = {socket.gethostname(), "localhost", "127.0.0.1", "::1", None}
events = []

def audit(event, args):
    # a Unix socket (the code sandbox's forkserver) is local IPC, not network traffic
    if event == "socket.connect" and args[0].family != socket.AF_UNIX:
        events.append(["connect", repr(args[1])])
    elif event == "socket.getaddrinfo" and args[0] not in local:
        events.append(["resolve", repr(args[0])])
    elif event == "urllib.Request":
        events.append(["request", args[0]])

sys.addaudithook(audit)
from smoltrace.core import run_evaluation
results, traces, metric_data, _, _ = run_evaluation(
    "oracle", ["tool", "code"], provider="mock", verbose=False, enable_otel=True,
    enable_gpu_metrics=True,
)
print(json.dumps({"events": events, "traces": len(traces)}))
"""


def test_a_traced_run_touches_no_network() -> None:
    """genai-otel gets no endpoint and its providers stay inert: no OTLP, console or DNS traffic."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = subprocess.run(
        [sys.executable, "-c", TRACED_RUN_AUDITED],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"events": [], "traces": 15}
    assert "Overriding of current" not in done.stderr
