"""OTLP/HTTP export to a collector: every span of traces.json arrives, secrets do not, and a failing
collector is counted in metadata.json without failing or stalling the run.

The collector is tests/fakes/otlp_receiver.py, which decodes the protobuf requests. The CLI cases
run `smoltrace-eval` in subprocesses started together (each costs about a second of start-up).
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import BIN, cli_env
from fakes.otlp_receiver import OtlpReceiver
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from test_telemetry_gpu import RUN_SECONDS, fake_gpu  # noqa: F401  (fixture)

from smoltrace.core import run_evaluation
from smoltrace.errors import ConfigError
from smoltrace.otel import finish_otel, setup_inmemory_otel
from smoltrace.redaction import REDACTED
from smoltrace.tasks import TaskSet, load_tasks, validate_task
from smoltrace.telemetry import extract_metrics
from smoltrace.telemetry.exporters import span_to_dict
from smoltrace.telemetry.otlp import SpanBatcher, otlp_config

SMOLTRACE = str(BIN / "smoltrace-eval")
ENV_SECRET = "tok-env-0123456789abcdef"
PROMPT_SECRET = "sk-prompt0123456789abcdefXYZ"
HEADER_SECRET = "hdr-secret-9876543210fedcba"
QUERY_SECRET = "qry-secret-5555555555aaaa"
LEAKY_TASK = {
    "id": "leaky",
    "prompt": f"What's the weather in Paris, France? (keys {ENV_SECRET} {PROMPT_SECRET})",
    "expected_tool": "get_weather",
    "agent_type": "both",
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def span_ids(traces: list[dict[str, Any]]) -> set[str]:
    return {s["span_id"] for d in traces for s in d["spans"]}


# -- the CLI against a good, a failing and a missing collector ---------------------------------


def _cli(tmp: Path, endpoint: str, *extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp / "runs"
    result = subprocess.run(
        [SMOLTRACE, "--provider", "mock", "--model", "oracle", "--output-format", "json",
         "--output-dir", str(out), "--dataset-name", str(tmp / "tasks.jsonl"),
         "--otlp-endpoint", endpoint, "--otlp-timeout", "1", *extra],
        capture_output=True, text=True, timeout=240,
        env=cli_env(EXAMPLE_SERVICE_TOKEN=ENV_SECRET),
    )  # fmt: skip
    folders = [p for p in out.iterdir() if p.is_dir()] if out.exists() else []
    assert len(folders) == 1, (result.stdout, result.stderr)
    return result, folders[0]


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tasks = [*load_tasks().tasks[:4], LEAKY_TASK]
    good, failing = OtlpReceiver().start(), OtlpReceiver(status=500).start()
    dirs = {name: tmp_path_factory.mktemp(name) for name in ("good", "failing", "closed")}
    for folder in dirs.values():
        (folder / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    calls = {
        "good": (
            f"{good.url}/v1/traces?api_key={QUERY_SECRET}",
            "--otlp-header", f"Authorization=Bearer {HEADER_SECRET}",
            "--otlp-header", "X-Team=evals",
            "--debug",  # debug logs show each request line (with its query): still no secret
        ),
        "failing": (failing.url,),
        "closed": (f"http://127.0.0.1:{closed_port()}",),
    }  # fmt: skip
    try:
        with ThreadPoolExecutor(len(calls)) as pool:
            futures = {n: pool.submit(_cli, dirs[n], *args) for n, args in calls.items()}
            runs = {n: f.result() for n, f in futures.items()}
        yield {"runs": runs, "good": good, "failing": failing}
    finally:
        good.stop()
        failing.stop()


def model_calls_of(folder: Path) -> list[int]:
    """One entry per model call of the run, from the task records."""
    lines = (folder / "records.jsonl").read_text().splitlines()
    return [1 for line in lines for _ in range(json.loads(line)["model_calls"])]


def _outputs(folder: Path) -> tuple[list[dict], dict]:
    traces = json.loads((folder / "traces.json").read_text())
    metadata = json.loads((folder / "metadata.json").read_text())
    return traces, metadata


def test_every_span_of_traces_json_reaches_the_collector_with_its_run_id(cli_runs) -> None:
    result, folder = cli_runs["runs"]["good"]
    assert result.returncode == 0, result.stderr
    traces, metadata = _outputs(folder)
    assert metadata["otel_enabled"] is True  # implied by --otlp-endpoint
    receiver: OtlpReceiver = cli_runs["good"]
    expected = {(s["trace_id"], s["span_id"]) for d in traces for s in d["spans"]}
    assert len(expected) > 5 * len(traces) > 0
    received = {(s.trace_id, s.span_id): s for s in receiver.spans}
    assert set(received) == expected  # each once: the batcher never re-sends a span
    assert len(receiver.spans) == len(expected)
    by_id = {s["span_id"]: s for d in traces for s in d["spans"]}
    for (_, span_id), span in received.items():
        mine = by_id[span_id]
        assert span.resource["run.id"] == metadata["run_id"]
        assert span.parent_span_id == mine["parent_span_id"]
        assert span.name == mine["name"]
        # the same redacted attributes as traces.json, its per-call cost included
        assert span.attributes == {k: v for k, v in mine["attributes"].items() if v is not None}
    priced = [s for s in receiver.spans if "gen_ai.usage.cost.total" in s.attributes]
    assert len(priced) == len(model_calls_of(folder)) > 0  # one priced span per model call
    kinds = {s.attributes.get("openinference.span.kind") for s in receiver.spans}
    assert {"AGENT", "LLM", "TOOL"} <= kinds  # the routed instrumentation spans, not just roots
    assert metadata["otlp"] == {
        "endpoint": receiver.url + "/v1/traces",
        "header_names": ["Authorization", "X-Team"],
        "spans_exported": len(expected),
        "spans_failed": 0,
        "spans_dropped": 0,
        "metric_exports": 0,  # the mock provider on a machine without GPU records no metrics
        "metric_exports_failed": 0,
    }


def test_headers_and_credentials_reach_the_collector_and_no_output(cli_runs) -> None:
    result, folder = cli_runs["runs"]["good"]
    receiver: OtlpReceiver = cli_runs["good"]
    traces_requests = [r for r in receiver.requests if r.path.startswith("/v1/traces")]
    assert traces_requests
    for request in traces_requests:
        assert request.headers["authorization"] == f"Bearer {HEADER_SECRET}"
        assert request.headers["x-team"] == "evals"
        assert request.path == f"/v1/traces?api_key={QUERY_SECRET}"
    written = result.stdout + result.stderr
    written += "".join(p.read_text() for p in folder.iterdir() if p.is_file())
    for secret in (HEADER_SECRET, QUERY_SECRET):
        assert secret not in written


def test_secrets_in_the_prompt_and_environment_never_reach_the_collector(cli_runs) -> None:
    receiver: OtlpReceiver = cli_runs["good"]
    bodies = b"".join(r.body for r in receiver.requests)
    assert b"Paris, France" in bodies  # the leaky task's prompt was exported ...
    for secret in (ENV_SECRET, PROMPT_SECRET):
        assert secret.encode() not in bodies  # ... with its secrets blanked out
    assert REDACTED.encode() in bodies


@pytest.mark.parametrize("case", ["failing", "closed"])
def test_a_failing_collector_is_counted_and_the_run_completes(cli_runs, case: str) -> None:
    result, folder = cli_runs["runs"][case]
    assert result.returncode == 0, result.stderr
    traces, metadata = _outputs(folder)
    assert traces and json.loads((folder / "results.json").read_text())
    report = metadata["otlp"]
    assert report["spans_exported"] == 0
    assert report["spans_failed"] + report["spans_dropped"] == len(span_ids(traces))
    assert report["spans_failed"] > 0
    assert "OTLP export to" in result.stderr + result.stdout  # said once, with the counts
    if case == "failing":
        assert cli_runs["failing"].requests  # it was asked, and answered 500


# -- in-process runs ---------------------------------------------------------------------------


def test_two_concurrent_runs_each_export_only_their_own_spans() -> None:
    tasks = TaskSet(load_tasks().tasks[:6], "smoltrace-tasks")
    receivers = {f"otlp-run-{i}": OtlpReceiver().start() for i in range(2)}
    outcomes: dict[str, Any] = {}

    def run(run_id: str) -> None:
        outcomes[run_id] = run_evaluation(
            "oracle", ["tool", "code"], provider="mock", verbose=False, run_id=run_id,
            task_set=tasks, parallel_workers=2, otlp_endpoint=receivers[run_id].url,
            on_otlp_report=lambda report, run_id=run_id: outcomes.update({run_id + "/r": report}),
        )  # fmt: skip

    try:
        threads = [threading.Thread(target=run, args=(rid,)) for rid in receivers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for run_id, receiver in receivers.items():
            traces = outcomes[run_id][1]
            assert receiver.span_ids() == span_ids(traces)
            assert {s.resource["run.id"] for s in receiver.spans} == {run_id}
            assert outcomes[run_id + "/r"]["spans_exported"] == len(span_ids(traces))
    finally:
        for receiver in receivers.values():
            receiver.stop()


def test_run_metrics_reach_the_collector_redacted(monkeypatch) -> None:
    secret = "gpu-name-secret-0123456789"
    monkeypatch.setenv("EXAMPLE_DEVICE_TOKEN", secret)
    with OtlpReceiver() as receiver:
        otel = setup_inmemory_otel(True, "svc", "otlp-metrics", otlp=otlp_config(receiver.url))
        otel[1].create_counter("smoltrace.test.count").add(3, {"device": f"card {secret}"})
        report = finish_otel(otel)
        assert report is not None and report["metric_exports"] == 1
        (batch,) = receiver.metrics
        assert batch["resource"]["run.id"] == "otlp-metrics"
        assert batch["names"] == ["smoltrace.test.count"]
        assert batch["points"] == [
            {
                "name": "smoltrace.test.count",
                "attributes": {"device": f"card {REDACTED}"},
                "value": 3,
            }
        ]
        assert secret.encode() not in b"".join(r.body for r in receiver.requests)
    with OtlpReceiver(status=500) as failing:
        otel = setup_inmemory_otel(True, "svc", "otlp-metrics-2", otlp=otlp_config(failing.url))
        otel[1].create_counter("smoltrace.test.count").add(1)
        report = finish_otel(otel)
        assert report["metric_exports"] == 0 and report["metric_exports_failed"] == 1


def test_gpu_metrics_reach_the_collector_as_in_metrics_json(fake_gpu) -> None:  # noqa: F811
    _, clock = fake_gpu
    with OtlpReceiver() as receiver:
        otel = setup_inmemory_otel(
            True, "smoltrace-eval", "otlp-gpu", enable_gpu_metrics=True,
            otlp=otlp_config(receiver.url),
        )  # fmt: skip
        clock.now += RUN_SECONDS
        report = finish_otel(otel)
    assert report["metric_exports"] == 1 and report["metric_exports_failed"] == 0
    (batch,) = extract_metrics(otel[3], otel[4], [], {}, "otlp-gpu")["resourceMetrics"]
    expected = sorted(
        (metric["name"], json.dumps(_plain_attributes(p["attributes"]), sort_keys=True), _value(p))
        for scope in batch["scopeMetrics"]
        for metric in scope["metrics"]
        for p in (metric.get("gauge") or metric.get("sum"))["dataPoints"]
    )
    (received,) = receiver.metrics
    assert received["resource"]["run.id"] == "otlp-gpu"
    assert (
        sorted(
            (p["name"], json.dumps(p["attributes"], sort_keys=True), p["value"])
            for p in received["points"]
        )
        == expected
    )
    assert {"gen_ai.gpu.utilization", "gen_ai.gpu.power", "gen_ai.co2.emissions"} <= {
        name for name, _, _ in expected
    }
    assert {gpu for _, attrs, _ in expected for gpu in [json.loads(attrs).get("gpu_id")]} >= {
        "0",
        "1",
    }


def _plain_attributes(encoded: list[dict[str, Any]]) -> dict[str, Any]:
    return {a["key"]: next(iter(a["value"].values())) for a in encoded}


def _value(point: dict[str, Any]) -> float | int:
    return point["asDouble"] if "asDouble" in point else int(point["asInt"])


def _traced_spans(otel: tuple, count: int) -> None:
    for i in range(count):
        with otel[0].start_as_current_span(f"task-{i}"):
            pass


def test_a_hung_collector_delays_the_end_of_the_run_by_one_timeout_at_most() -> None:
    with OtlpReceiver() as receiver:
        receiver.hold()  # takes each request and never answers (until the test ends)
        otel = setup_inmemory_otel(
            True, "svc", "otlp-hung", otlp=otlp_config(receiver.url, timeout_s=1)
        )
        _traced_spans(otel, 20)
        started = time.monotonic()
        report = finish_otel(otel)
        elapsed = time.monotonic() - started
        assert receiver.requests  # it was asked
    # one timeout for the request, one second to abort: far below the exporter's default of 10 s
    assert elapsed < 6
    assert report["spans_exported"] == 0
    assert report["spans_failed"] + report["spans_dropped"] == 20


def test_the_exported_resource_is_redacted(monkeypatch) -> None:
    secret = "res-secret-0123456789abcdef"
    monkeypatch.setenv("EXAMPLE_DEPLOY_TOKEN", secret)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"deploy.note={secret}")
    with OtlpReceiver() as receiver:
        otel = setup_inmemory_otel(True, "svc", "otlp-resource", otlp=otlp_config(receiver.url))
        _traced_spans(otel, 2)
        otel[1].create_counter("smoltrace.test.count").add(1)
        finish_otel(otel)
        assert len(receiver.spans) == 2 and len(receiver.metrics) == 1
        for resource in [s.resource for s in receiver.spans] + [receiver.metrics[0]["resource"]]:
            assert resource["deploy.note"] == REDACTED and resource["run.id"] == "otlp-resource"
        assert secret.encode() not in b"".join(r.body for r in receiver.requests)


# -- the batcher: never blocks the agent, bounded at the end, every span accounted for ---------


class BlockingExporter(SpanExporter):
    """Takes batches like a collector that hangs until `release` is set."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches: list[int] = []
        self.shutdowns = 0

    def export(self, spans):  # type: ignore[no-untyped-def]
        self.entered.set()
        self.release.wait()
        self.batches.append(len(spans))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.shutdowns += 1


def _finished_spans(count: int) -> list[tuple[Any, dict[str, Any]]]:
    provider = TracerProvider()
    tracer = provider.get_tracer("t")
    spans = []
    for i in range(count):
        span = tracer.start_span(f"s{i}")
        span.end()
        spans.append(span)
    return [(s, span_to_dict(s, None, lambda text: text)) for s in spans]


def test_a_full_queue_drops_spans_and_counts_them_without_blocking_the_agent() -> None:
    exporter = BlockingExporter()
    batcher = SpanBatcher(exporter, Resource.create({}), max_queue=4, batch_size=1, delay_s=0.01)
    spans = _finished_spans(11)
    batcher.offer(*spans[0])
    assert exporter.entered.wait(10)  # the worker is now stuck in the collector
    for span in spans[1:]:
        batcher.offer(*span)  # returns at once although the collector hangs
    assert batcher.counts() == {"spans_exported": 0, "spans_failed": 0, "spans_dropped": 10 - 4}
    exporter.release.set()
    batcher.close(30)
    assert batcher.counts() == {"spans_exported": 5, "spans_failed": 0, "spans_dropped": 6}
    assert exporter.batches == [1, 1, 1, 1, 1]
    assert exporter.shutdowns == 1


def test_the_final_flush_is_bounded_by_the_timeout_when_the_collector_hangs() -> None:
    exporter = BlockingExporter()
    batcher = SpanBatcher(exporter, Resource.create({}), batch_size=2, delay_s=0.01)
    spans = _finished_spans(5)
    batcher.offer(*spans[0])
    assert exporter.entered.wait(10)
    for span in spans[1:]:
        batcher.offer(*span)
    started = time.monotonic()
    batcher.close(0.2)
    elapsed = time.monotonic() - started
    assert elapsed < 10  # 0.2 s plus at most 1 s to abort; a hung collector never holds the run
    assert exporter.shutdowns == 1  # its retries are aborted (once: a second call only warns)
    # the batch stuck in the collector failed; the four never sent were dropped
    assert batcher.counts() == {"spans_exported": 0, "spans_failed": 1, "spans_dropped": 4}
    exporter.release.set()
    batcher._thread.join(10)
    assert not batcher._thread.is_alive()
    assert batcher.counts()["spans_exported"] == 0  # a late answer does not count twice


# -- options -----------------------------------------------------------------------------------


def test_the_collector_address_is_checked_and_never_echoes_a_secret() -> None:
    config = otlp_config(
        f"https://user:{HEADER_SECRET}@collector.example:4318/otlp/?token={QUERY_SECRET}#x",
        {"Authorization": "Bearer abc"},
    )
    assert config is not None
    assert config.display_endpoint == "https://collector.example:4318/otlp/"
    assert config.signal_url("/v1/metrics") == (
        f"https://user:{HEADER_SECRET}@collector.example:4318/otlp/v1/metrics?token={QUERY_SECRET}"
    )
    assert HEADER_SECRET not in repr(config) and QUERY_SECRET not in repr(config)
    assert otlp_config(None) is None
    bad = [
        (("ftp://collector:4318",), "http:// or https://"),
        (("http://collector:43x8",), "port"),
        (("http://collector:4318", [f"Authorization {HEADER_SECRET}"]), "NAME=VALUE"),
        (("http://collector:4318", [f"Bad Name={HEADER_SECRET}"]), "header name"),
        (("http://collector:4318", [f"Authorization: {HEADER_SECRET}=="]), "header name"),
        ((None, [f"Authorization={HEADER_SECRET}"]), "--otlp-endpoint"),
        (("http://collector:4318", None, 0), "--otlp-timeout"),
    ]
    for args, expected in bad:
        with pytest.raises(ConfigError) as error:
            otlp_config(*args)
        assert expected in str(error.value)
        assert HEADER_SECRET not in str(error.value)


def test_a_bad_collector_option_is_a_one_line_error_before_any_task(tmp_path: Path) -> None:
    result = subprocess.run(
        [SMOLTRACE, "--provider", "mock", "--model", "oracle", "--output-format", "json",
         "--output-dir", str(tmp_path / "runs"), "--otlp-endpoint", "collector:4318",
         "--otlp-header", f"Authorization={HEADER_SECRET}"],
        capture_output=True, text=True, timeout=120, env=cli_env(),
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--otlp-endpoint" in lines[0] and "http://" in lines[0]
    assert "Traceback" not in result.stderr and HEADER_SECRET not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_a_task_prompt_with_a_secret_is_redacted_for_the_collector(monkeypatch) -> None:
    """In process, with the secret only registered (as a token read from a file would be)."""
    from smoltrace.redaction import register_secret

    registered = "file-token-abcdefghijklmnop"
    register_secret(registered)
    task = validate_task({**LEAKY_TASK, "prompt": f"Weather in Paris? ({registered})"}, "t")
    with OtlpReceiver() as receiver:
        _, traces, *_ = run_evaluation(
            "oracle", ["tool"], provider="mock", verbose=False,
            task_set=TaskSet([task], "t"), otlp_endpoint=receiver.url,
        )  # fmt: skip
        assert receiver.span_ids() == span_ids(traces)
        assert registered.encode() not in b"".join(r.body for r in receiver.requests)
