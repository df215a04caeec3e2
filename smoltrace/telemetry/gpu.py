"""GPU, energy and CO2 metrics of one run: genai-otel's NVML collector driven on the run's meter.

genai-otel's `GPUMetricsCollector` registers the `gen_ai.gpu.*` observable gauges (read from NVML
at each metric export) and, in a background thread, integrates whole-board power into the
cumulative `gen_ai.co2.emissions` and `gen_ai.power.cost` counters. smoltrace builds one collector
per run on that run's own MeterProvider, so each run's counters start at zero, and takes one last
energy sample when the run ends so that a run shorter than the sampling interval is measured too.

Import this module only when GPU metrics are wanted: it imports genai-otel's collector.
"""

from __future__ import annotations

import logging
from typing import Any

from genai_otel import gpu_metrics
from genai_otel.config import OTelConfig
from opentelemetry.metrics import Meter

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0


class _OneTick:
    """Stands in for the collector's stop event so that its sampling loop runs exactly once."""

    def __init__(self) -> None:
        self._ticks = 0

    def wait(self, timeout: float | None = None) -> bool:
        self._ticks += 1
        return self._ticks > 1


class RunGPUCollector(gpu_metrics.GPUMetricsCollector):
    """genai-otel's collector whose `stop()` first counts the energy since the last sample."""

    def stop(self) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)
        stop_event = self._stop_event
        self._stop_event = _OneTick()
        try:
            self._collect_loop()  # the library's own sampling step, run once more
        finally:
            self._stop_event = stop_event
        super().stop()


def nvidia_gpu_count() -> int:
    """Number of GPUs NVML reports; 0 (with a warning) when there is no driver, library or device.

    Only called when GPU metrics were asked for, so their absence is worth telling the user.
    """
    if not gpu_metrics.NVML_AVAILABLE:
        logger.warning("GPU metrics: nvidia-ml-py is not installed; the GPU fields will be null")
        return 0
    nvml: Any = gpu_metrics.pynvml
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVML raises its own error family; any of them means "no GPU"
        logger.warning(
            "GPU metrics: no NVIDIA GPU available (%s); the GPU fields will be null", exc
        )
        return 0
    try:
        return int(nvml.nvmlDeviceGetCount())
    finally:
        nvml.nvmlShutdown()


def start_gpu_metrics(meter: Meter, service_name: str) -> RunGPUCollector | None:
    """Start collecting GPU, power-cost and CO2 metrics on `meter`; None when there is no GPU.

    Carbon intensity, electricity price and the sampling interval come from genai-otel's settings
    (`GENAI_CARBON_INTENSITY`, `GENAI_POWER_COST_PER_KWH`, `GENAI_GPU_COLLECTION_INTERVAL`).
    """
    count = nvidia_gpu_count()
    if count == 0:
        return None
    config = OTelConfig(
        service_name=service_name,
        endpoint="",
        enabled_instrumentors=[],
        enable_gpu_metrics=True,
        enable_co2_tracking=True,
    )
    collector = RunGPUCollector(meter, config, interval=config.gpu_collection_interval)
    collector.start()
    logger.info("Collecting GPU metrics from %d GPU(s)", count)
    return collector
