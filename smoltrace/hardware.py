"""Where the model ran: `hardware`, `hardware_detail` and `hardware_scope` on the leaderboard row.

`hardware_scope` is `local` when the model ran on this machine's resources (transformers, Ollama,
the mock oracle) and `hosted` when a provider served it. `hardware_detail` describes this machine
(GPU names and count from NVML, CPU model), with null for whatever could not be read: no NVML
library means the GPUs are unknown, not absent. `hardware` is `--hardware-label` when given,
else a summary of the local hardware for a local model, else null (a provider's hardware is not
known here).
"""

from __future__ import annotations

import json
import logging
import platform
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["LOCAL_SCOPE_PROVIDERS", "detect_hardware", "hardware_fields"]

LOCAL_SCOPE_PROVIDERS = ("transformers", "ollama", "mock")


def _gpus(nvml: Any = None) -> list[str] | None:
    """GPU names from NVML, or None when NVML cannot be used here."""
    try:
        if nvml is None:
            import pynvml

            nvml = pynvml
        nvml.nvmlInit()
    except Exception:
        return None
    try:
        names = []
        for index in range(nvml.nvmlDeviceGetCount()):
            name = nvml.nvmlDeviceGetName(nvml.nvmlDeviceGetHandleByIndex(index))
            names.append(name.decode() if isinstance(name, bytes) else str(name))
        return names
    except Exception:
        logger.debug("NVML query failed", exc_info=True)
        return None
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:
            logger.debug("NVML shutdown failed", exc_info=True)


def _cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor().strip() or None


def detect_hardware(nvml: Any = None, cpuinfo: Path | None = None) -> dict[str, Any]:
    """`{gpu_names, gpu_count, cpu_model}` of this machine; None for what is unknown."""
    names = _gpus(nvml)
    return {
        "gpu_names": names,
        "gpu_count": None if names is None else len(names),
        "cpu_model": _cpu_model(cpuinfo) if cpuinfo else _cpu_model(),
    }


def _summary(detail: dict[str, Any]) -> str | None:
    names = detail.get("gpu_names")
    if names:
        counts: dict[str, int] = {}
        for name in names:
            counts[name] = counts.get(name, 0) + 1
        return ", ".join(f"{n}x {name}" for name, n in counts.items())
    return detail.get("cpu_model")


def hardware_fields(
    provider: str, label: str | None, detail: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The three leaderboard fields; `detail` defaults to :func:`detect_hardware`."""
    detail = detect_hardware() if detail is None else detail
    scope = "local" if provider in LOCAL_SCOPE_PROVIDERS else "hosted"
    hardware = (label or "").strip() or (_summary(detail) if scope == "local" else None)
    return {
        "hardware": hardware,
        "hardware_detail": json.dumps(detail, sort_keys=True),
        "hardware_scope": scope,
    }
