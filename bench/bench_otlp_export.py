"""Cost of OTLP export per span: what the agent's thread pays, and the CPU of the whole process.

Spans like smoltrace's LLM spans (a few KB of redacted attributes) go through the run's in-memory
exporter, once alone and once also forwarded to an OTLP/HTTP receiver running in its own process
(tests/fakes/otlp_receiver.py), so the receiver's decoding is not counted. Then whole traced runs,
with and without the collector, interleaved: the mock oracle on the built-in suite, and 40 tasks
through real litellm against the scripted server (100 ms per call, 8 workers). Usage:
    .venv/bin/python bench/bench_otlp_export.py [--spans N] [--repeats R]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from smoltrace.telemetry.exporters import InMemorySpanExporter
from smoltrace.telemetry.otlp import OtlpExport, otlp_config

RECEIVER = Path(__file__).resolve().parent.parent / "tests" / "fakes" / "otlp_receiver.py"
ATTRIBUTES = {
    "openinference.span.kind": "LLM",
    "llm.model_name": "openai/gpt-4o-mini",
    "llm.token_count.prompt": 1200,
    "llm.token_count.completion": 80,
    "input.value": "You are an expert assistant who can solve any task using tool calls. " * 30,
    "output.value": "Calling tools: get_weather(location='Paris, France')" * 4,
}


def one_pass(spans: int, endpoint: str | None) -> tuple[float, float, int]:
    """(agent-thread CPU µs per span, process CPU µs per span, spans exported)."""
    resource = Resource.create({"service.name": "bench", "run.id": "bench"})
    export = OtlpExport(otlp_config(endpoint), resource, 60_000) if endpoint else None
    meters = MeterProvider(metric_readers=[export.metric_reader]) if export else None
    exporter = InMemorySpanExporter(resource, export.forward if export else None)
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    process_start, thread_start = time.process_time(), time.thread_time()
    for _ in range(spans):
        with tracer.start_as_current_span("LiteLLMModel.generate", attributes=ATTRIBUTES):
            pass
    thread_cpu = time.thread_time() - thread_start
    exported = 0
    if export is not None:
        export.begin_close()
        meters.shutdown()  # type: ignore[union-attr]
        exported = export.close()["spans_exported"]
    process_cpu = time.process_time() - process_start
    return thread_cpu / spans * 1e6, process_cpu / spans * 1e6, exported


def one_run(endpoint: str | None) -> tuple[float, int]:
    """(process CPU seconds, spans) of one traced mock run of the built-in suite."""
    from smoltrace.core import run_evaluation

    started = time.process_time()
    _, traces, *_ = run_evaluation(
        "oracle", ["tool", "code"], provider="mock", enable_otel=True, verbose=False,
        otlp_endpoint=endpoint,
    )  # fmt: skip
    return time.process_time() - started, sum(len(d["spans"]) for d in traces)


def one_litellm_run(server: object, endpoint: str | None) -> tuple[float, float, int]:
    """(process CPU s, wall s, model calls) of 40 tasks, 8 workers, against the scripted server."""
    from fakes.llm_server import sequence, tool_call

    from smoltrace.core import run_evaluation
    from smoltrace.tasks import TaskSet

    prompt = "What's the weather in Paris, France? (#{})"
    tasks = TaskSet(
        [{"id": f"t{i}", "prompt": prompt.format(i), "expected_tool": "get_weather",
          "agent_type": "tool"} for i in range(40)],
        "bench",
    )  # fmt: skip

    server.set_responder(  # type: ignore[attr-defined]
        sequence(
            tool_call("get_weather", location="Paris, France"),
            tool_call("final_answer", answer="22"),
        )
    )
    cpu, wall = time.process_time(), time.perf_counter()
    results, *_ = run_evaluation(
        "openai/gpt-4o-mini", ["tool"], provider="litellm", enable_otel=True, verbose=False,
        api_base=server.openai_base, parallel_workers=8, task_set=tasks,  # type: ignore[attr-defined]
        otlp_endpoint=endpoint,
    )  # fmt: skip
    calls = sum(r["model_calls"] for r in results["tool"])
    return time.process_time() - cpu, time.perf_counter() - wall, calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    receiver = subprocess.Popen(
        [sys.executable, str(RECEIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        url = receiver.stdout.readline().strip()
        one_pass(200, url)  # warm-up: imports, connection
        base, otlp = [], []
        for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
            base.append(one_pass(args.spans, None))
            otlp.append(one_pass(args.spans, url))
            assert otlp[-1][2] == args.spans, otlp[-1]
        one_run(url)  # warm-up
        runs = [(one_run(None), one_run(url)) for _ in range(args.repeats)]
        sys.path.insert(0, str(RECEIVER.parent.parent))
        from fakes.llm_server import ScriptedLLMServer

        with ScriptedLLMServer(latency_s=0.1) as server:
            one_litellm_run(server, url)  # warm-up: litellm import and clients
            litellm_runs = [
                (one_litellm_run(server, None), one_litellm_run(server, url))
                for _ in range(args.repeats)
            ]
    finally:
        receiver.stdin.close()
        receiver.wait(10)
    for label, index in (("agent thread", 0), ("whole process", 1)):
        b = statistics.median(r[index] for r in base)
        o = statistics.median(r[index] for r in otlp)
        print(
            f"{label:14s} CPU per span: in-memory {b:7.1f} us, +OTLP {o:7.1f} us (+{o - b:.1f} us)"
        )
    spans = runs[0][0][1]
    b = statistics.median(r[0][0] for r in runs)
    o = statistics.median(r[1][0] for r in runs)
    print(
        f"mock run ({spans} spans): CPU {b:.2f} s, +OTLP {o:.2f} s "
        f"(+{(o - b) / spans * 1e6:.0f} us per span, x{o / b:.2f})"
    )
    calls = litellm_runs[0][0][2]
    for label, index in (("CPU", 0), ("wall", 1)):
        b = statistics.median(r[0][index] for r in litellm_runs)
        o = statistics.median(r[1][index] for r in litellm_runs)
        print(f"litellm run ({calls} model calls, 8 workers): {label} {b:.2f} s, +OTLP {o:.2f} s")


if __name__ == "__main__":
    main()
