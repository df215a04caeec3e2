"""Cost of OTLP export per span: what the agent's thread pays, and the CPU of the whole process.

Spans like smoltrace's LLM spans (a few KB of redacted attributes) go through the run's in-memory
exporter, once alone and once also forwarded to an OTLP/HTTP receiver running in its own process
(tests/fakes/otlp_receiver.py), so the receiver's decoding is not counted. Usage:
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
    finally:
        receiver.stdin.close()
        receiver.wait(10)
    for label, index in (("agent thread", 0), ("whole process", 1)):
        b = statistics.median(r[index] for r in base)
        o = statistics.median(r[index] for r in otlp)
        print(
            f"{label:14s} CPU per span: in-memory {b:7.1f} us, +OTLP {o:7.1f} us (+{o - b:.1f} us)"
        )


if __name__ == "__main__":
    main()
