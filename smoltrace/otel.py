"""OpenTelemetry setup (placeholder until the telemetry module lands: only the disabled path)."""

from __future__ import annotations

from typing import Any


def setup_inmemory_otel(
    enable_otel: bool = False,
    service_name: str = "agent-eval",
    run_id: str | None = None,
    enable_gpu_metrics: bool = False,
) -> tuple[Any, Any, Any, Any, Any, Any]:
    if not enable_otel:
        return None, None, None, None, None, None
    raise NotImplementedError("telemetry lands with the telemetry issue")
