"""OpenTelemetry wiring: one process-wide agent instrumentation, one set of exporters per run.

OpenTelemetry's global TracerProvider can be set only once per process, and the agent
instrumentation (OpenInference's smolagents instrumentor, installed by genai-otel-instrument)
binds to it once. So the first traced run installs a process-wide TracerProvider whose only
processor routes each finished span to the run that owns its trace. Each run gets its own
TracerProvider (for the task root spans, with the run's Resource) and its own MeterProvider
(10 s periodic reader plus a final collection, optional GPU collector). A run claims a trace when
its root span starts; the agent, step, LLM and tool spans under that root then reach the run's
exporter, which stamps them with the run's Resource. Two runs in one process, even concurrent
ones, therefore each get complete traces and metrics tagged with their own `run.id`.

Nothing is exported anywhere else unless the run names a collector (`otlp`): then the run's
exporter also forwards each span it keeps, routed ones included, to the run's OTLP export, and
the run's MeterProvider gets a second reader for it (see otlp.py). genai-otel gets `endpoint=""`
and its own providers never become global, so it exports nothing and touches no network.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from .exporters import InMemoryMetricExporter, InMemorySpanExporter
from .metrics import TraceMetricsAggregator

if TYPE_CHECKING:
    from .gpu import RunGPUCollector
    from .otlp import OtlpConfig, OtlpExport

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "agent-eval"
EXPORT_INTERVAL_MS = 10_000
# Only OpenInference's smolagents instrumentor: one LLM span per model call, so each call is
# priced once (adding the litellm instrumentor would nest a second, identically priced span).
INSTRUMENTORS = ["smolagents"]
OPENINFERENCE_SMOLAGENTS_SCOPE = "openinference.instrumentation.smolagents"

OtelTuple = tuple[Any, Any, Any, Any, Any, Any]


class SpanRouter(SpanProcessor):
    """Sends each finished span to the exporter of the run that claimed its trace."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[int, InMemorySpanExporter] = {}

    def claim(self, trace_id: int, exporter: InMemorySpanExporter) -> None:
        with self._lock:
            self._owners[trace_id] = exporter

    def release(self, exporter: InMemorySpanExporter) -> None:
        with self._lock:
            self._owners = {t: e for t, e in self._owners.items() if e is not exporter}

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            exporter = self._owners.get(span.context.trace_id)
        if exporter is None:
            logger.debug("span %r belongs to no traced run; dropped", span.name)
            return
        exporter.export((span,))


class _ClaimTraces(SpanProcessor):
    """On a run's provider: every trace the run starts is routed to the run's exporter."""

    def __init__(self, router: SpanRouter, exporter: InMemorySpanExporter) -> None:
        self._router = router
        self._exporter = exporter

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        self._router.claim(span.context.trace_id, self._exporter)


@dataclass
class RunTelemetry:
    """Everything one traced run owns; released by :func:`finish_otel`."""

    run_id: str
    resource: Resource
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    metric_reader: PeriodicExportingMetricReader
    span_exporter: InMemorySpanExporter
    metric_exporter: InMemoryMetricExporter
    gpu: RunGPUCollector | None  # None without GPU metrics or without a GPU
    otlp: OtlpExport | None = None  # None without a collector


_lock = threading.Lock()
_router: SpanRouter | None = None
_runs: dict[InMemorySpanExporter, RunTelemetry] = {}


@contextlib.contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Silence the SDK's 'overriding the global provider is not allowed' warnings we expect."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _process_router(service_name: str) -> SpanRouter:
    """The process-wide span router, installing providers and instrumentation on first use."""
    global _router
    with _lock:
        if _router is not None:
            return _router
        router = SpanRouter()
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(router)
        with _quiet("opentelemetry.trace", "opentelemetry.metrics"):
            trace.set_tracer_provider(provider)
            # A MeterProvider without readers: metrics recorded on the global meter (genai-otel's
            # server gauges) go nowhere instead of to genai-otel's console exporter.
            metrics.set_meter_provider(MeterProvider(resource=provider.resource))
        current = trace.get_tracer_provider()
        if current is not provider:
            if isinstance(current, TracerProvider):
                current.add_span_processor(router)
            else:
                logger.warning(
                    "A non-SDK tracer provider is already installed; agent spans will not be "
                    "captured, only the task root spans"
                )
        _instrument_agents(service_name)
        _router = router
        return router


def _instrument_agents(service_name: str) -> None:
    """genai-otel's instrumentation of smolagents, bound to the global provider set above.

    `setup_auto_instrumentation` is genai-otel's `instrument()` without its `.env` loading, which
    would read a `.env` found above the installed package into this process's environment.
    """
    from genai_otel.auto_instrument import setup_auto_instrumentation
    from genai_otel.config import OTelConfig

    config = OTelConfig(
        service_name=service_name,
        endpoint="",
        enabled_instrumentors=list(INSTRUMENTORS),
        enable_gpu_metrics=False,  # collected per run, on the run's own meter (see gpu.py)
        enable_cost_tracking=False,  # priced by smoltrace.pricing in extract_traces
        enable_mcp_instrumentation=False,
        enable_co2_tracking=False,
        flush_on_sigterm=False,
    )
    with _quiet("opentelemetry.trace", "opentelemetry.metrics"):
        setup_auto_instrumentation(config)
    _instrument_mock_model()


def _instrument_mock_model() -> None:
    """LLM spans for the mock provider's model, exactly as OpenInference makes them for others.

    OpenInference wraps `generate` of the Model classes smolagents exports; `OracleModel` is
    defined in smoltrace and overrides `generate`, so it is wrapped here with the same wrapper.
    """
    from openinference.instrumentation import OITracer, TraceConfig
    from openinference.instrumentation.smolagents._wrappers import _ModelWrapper
    from openinference.instrumentation.smolagents.version import __version__
    from wrapt import wrap_function_wrapper

    from ..mock import OracleModel

    tracer = OITracer(
        trace.get_tracer(OPENINFERENCE_SMOLAGENTS_SCOPE, __version__), config=TraceConfig()
    )
    wrap_function_wrapper(OracleModel, "generate", _ModelWrapper(tracer=tracer))


def setup_inmemory_otel(
    enable_otel: bool = False,
    service_name: str = DEFAULT_SERVICE_NAME,
    run_id: str | None = None,
    enable_gpu_metrics: bool = False,
    *,
    otlp: OtlpConfig | None = None,
) -> OtelTuple:
    """Tracing and metrics for one run.

    Returns `(tracer, meter, span_exporter, metric_exporter, trace_aggregator, run_id)`, or six
    Nones when `enable_otel` is false (then nothing is imported or installed). `run_id` defaults
    to a new UUID4; the run's Resource carries `service.name` and `run.id`. With `otlp` (from
    :func:`smoltrace.telemetry.otlp.otlp_config`) the run's spans and metrics also go to that
    collector. Call :func:`finish_otel` with the tuple when the run's tasks are done.
    """
    if not enable_otel:
        return None, None, None, None, None, None
    run_id = run_id or str(uuid.uuid4())
    router = _process_router(service_name)
    resource = Resource.create({"service.name": service_name, "run.id": run_id})

    export = None
    if otlp is not None:
        from .otlp import OtlpExport

        export = OtlpExport(otlp, resource, EXPORT_INTERVAL_MS)
    span_exporter = InMemorySpanExporter(resource, export.forward if export else None)
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    tracer_provider.add_span_processor(_ClaimTraces(router, span_exporter))
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))

    metric_exporter = InMemoryMetricExporter()
    reader = PeriodicExportingMetricReader(
        metric_exporter, export_interval_millis=EXPORT_INTERVAL_MS
    )
    readers = [reader] if export is None else [reader, export.metric_reader]
    meter_provider = MeterProvider(
        resource=resource, metric_readers=readers, shutdown_on_exit=False
    )
    gpu = None
    if enable_gpu_metrics:
        from .gpu import start_gpu_metrics

        gpu = start_gpu_metrics(meter_provider.get_meter("genai.gpu"), service_name)

    with _lock:
        _runs[span_exporter] = RunTelemetry(
            run_id,
            resource,
            tracer_provider,
            meter_provider,
            reader,
            span_exporter,
            metric_exporter,
            gpu,
            export,
        )
    logger.debug("OpenTelemetry set up for run %s (GPU metrics: %s)", run_id, gpu is not None)
    return (
        tracer_provider.get_tracer(service_name),
        meter_provider.get_meter(service_name),
        span_exporter,
        metric_exporter,
        TraceMetricsAggregator(),
        run_id,
    )


def run_telemetry(otel: OtelTuple) -> RunTelemetry | None:
    """The run behind a tuple from :func:`setup_inmemory_otel`; None if disabled or finished."""
    with _lock:
        return _runs.get(otel[2]) if otel[2] is not None else None


def finish_otel(otel: OtelTuple) -> dict[str, Any] | None:
    """End a run's telemetry: last GPU energy sample, final metric collection, spans released.

    After this the exporters hold the run's complete data. With a collector, returns its export
    report (the `otlp` block of metadata.json) once the last spans were sent or the export
    timeout passed; otherwise None. Safe to call twice and on the disabled tuple.
    """
    with _lock:
        run = _runs.pop(otel[2], None) if otel[2] is not None else None
    if run is None:
        return None
    if run.otlp is not None:
        run.otlp.begin_close()
    if run.gpu is not None:
        run.gpu.stop()
    run.meter_provider.shutdown()  # the periodic readers' final collection and export
    run.tracer_provider.shutdown()
    if _router is not None:
        _router.release(run.span_exporter)
    return run.otlp.close() if run.otlp is not None else None
