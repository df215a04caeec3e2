"""Cost of OTLP export per span: what the agent's thread pays, and the CPU of the whole process.

Spans like smoltrace's LLM spans (a few KB of redacted attributes) go through the run's in-memory
exporter, once alone and once also forwarded to an OTLP/HTTP receiver running in its own process
(tests/fakes/otlp_receiver.py), so the receiver's decoding is not counted. Then whole traced runs
of the mock oracle on the built-in suite, with and without the collector, interleaved. Usage:
    .venv/bin/python bench/bench_otlp_export.py [--spans N] [--repeats R]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


if __name__ == "__main__":
    main()
