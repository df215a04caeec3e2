"""genai-otel's NVML collector driven by smoltrace, with an injected fake NVML module.

The fake behaves like nvidia-ml-py where it matters: init/shutdown are reference counted, device
calls fail outside init, unsupported queries raise. The collector's clock is faked too, so the
energy, CO2 and power-cost figures can be computed here exactly.
"""

from __future__ import annotations

from typing import Any

import pytest
from genai_otel import gpu_metrics

from smoltrace.core import run_evaluation
from smoltrace.otel import finish_otel, setup_inmemory_otel
from smoltrace.outputs.leaderboard import compute_leaderboard_row, gpu_leaderboard_fields
from smoltrace.telemetry import METRICS_COLUMNS, extract_metrics, flatten_metrics_for_hf
from smoltrace.telemetry.setup import run_telemetry

MIB = 1024**2
# gpu index -> (name, utilization %, memory used bytes, memory total bytes, temperature C, power mW)
DEVICES = {
    0: ("NVIDIA H100 80GB HBM3", 87, 30_000 * MIB, 81_559 * MIB, 64, 250_000),
    1: ("NVIDIA H100 80GB HBM3", 12, 2_048 * MIB, 81_559 * MIB, 41, 100_000),
}
CARBON_INTENSITY = 475.0  # gCO2e/kWh, genai-otel's default
POWER_PRICE = 0.12  # USD/kWh, genai-otel's default
RUN_SECONDS = 36.0


class FakeNVMLError(Exception):
    pass


class FakeNVML:
    """The part of the nvidia-ml-py API genai-otel's collector uses."""

    NVMLError = FakeNVMLError
    NVML_TEMPERATURE_GPU = 0

    def __init__(self) -> None:
        self.initialised = 0
        self.inits = 0

    def nvmlInit(self) -> None:
        self.initialised += 1
        self.inits += 1

    def nvmlShutdown(self) -> None:
        if self.initialised == 0:
            raise FakeNVMLError("Uninitialized")
        self.initialised -= 1

    def _device(self, handle: int) -> tuple:
        if self.initialised == 0:
            raise FakeNVMLError("Uninitialized")
        return DEVICES[handle]

    def nvmlDeviceGetCount(self) -> int:
        if self.initialised == 0:
            raise FakeNVMLError("Uninitialized")
        return len(DEVICES)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._device(index)
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        return self._device(handle)[0]

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        return type("Utilization", (), {"gpu": self._device(handle)[1], "memory": 5})()

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        _, _, used, total, _, _ = self._device(handle)
        return type("Memory", (), {"used": used, "total": total, "free": total - used})()

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        return self._device(handle)[4]

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        return self._device(handle)[5]

    def __getattr__(self, name: str) -> Any:
        """Every other query is unsupported on this fake board; constants are plain ints."""
        if name.startswith("nvml"):

            def unsupported(*args: Any) -> Any:
                raise FakeNVMLError(f"{name}: Not Supported")

            return unsupported
        if name.startswith("NVML_"):
            return 0
        raise AttributeError(name)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def fake_gpu(monkeypatch) -> tuple[FakeNVML, FakeClock]:
    nvml, clock = FakeNVML(), FakeClock()
    monkeypatch.setattr(gpu_metrics, "NVML_AVAILABLE", True)
    monkeypatch.setattr(gpu_metrics, "pynvml", nvml)
    monkeypatch.setattr(gpu_metrics, "time", clock)
    for name in ("GENAI_CARBON_INTENSITY", "GENAI_POWER_COST_PER_KWH", "GENAI_CO2_USE_MANUAL"):
        monkeypatch.delenv(name, raising=False)
    # the background sampler must not tick during the test: the final sample is what is checked
    monkeypatch.setenv("GENAI_GPU_COLLECTION_INTERVAL", "3600")
    return nvml, clock


def _expected_energy() -> dict[str, tuple[float, float]]:
    """gpu id -> (gCO2e, USD) for RUN_SECONDS at each board's power."""
    expected = {}
    for index, device in DEVICES.items():
        watt_hours = device[5] / 1000 * RUN_SECONDS / 3600
        expected[str(index)] = (
            watt_hours / 1000 * CARBON_INTENSITY,
            watt_hours / 1000 * POWER_PRICE,
        )
    return expected


def _metric(batch: dict, name: str) -> dict:
    return next(m for s in batch["scopeMetrics"] for m in s["metrics"] if m["name"] == name)


def _by_gpu(metric: dict) -> dict[str, dict]:
    body = metric.get("gauge") or metric.get("sum")
    return {
        next(a["value"]["stringValue"] for a in p["attributes"] if a["key"] == "gpu_id"): p
        for p in body["dataPoints"]
    }


def test_collector_exports_gpu_gauges_and_energy_counters(fake_gpu) -> None:
    nvml, clock = fake_gpu
    otel = setup_inmemory_otel(True, "smoltrace-eval", "gpu-run", enable_gpu_metrics=True)
    assert run_telemetry(otel).gpu is not None
    clock.now += RUN_SECONDS
    finish_otel(otel)
    assert nvml.initialised == 0  # every nvmlInit was matched by a shutdown

    metric_data = extract_metrics(otel[3], otel[4], [], {"tool": [], "code": []}, "gpu-run")
    (batch,) = metric_data["resourceMetrics"]  # the run was shorter than one export interval
    resource = {a["key"]: a["value"]["stringValue"] for a in batch["resource"]["attributes"]}
    assert resource["run.id"] == "gpu-run" and resource["service.name"] == "smoltrace-eval"

    gauges = {
        "gen_ai.gpu.utilization": ("%", 1, lambda v: str(v), "asInt"),
        "gen_ai.gpu.memory.used": ("MiB", 2, lambda v: v / MIB, "asDouble"),
        "gen_ai.gpu.memory.total": ("MiB", 3, lambda v: v / MIB, "asDouble"),
        "gen_ai.gpu.temperature": ("Cel", 4, lambda v: str(v), "asInt"),
        "gen_ai.gpu.power": ("W", 5, lambda v: v / 1000, "asDouble"),
    }
    for name, (unit, field, convert, encoding) in gauges.items():
        metric = _metric(batch, name)
        assert metric["unit"] == unit
        points = _by_gpu(metric)
        assert set(points) == {"0", "1"}
        for gpu, point in points.items():
            assert point[encoding] == convert(DEVICES[int(gpu)][field]), name
            names = {a["key"]: a["value"]["stringValue"] for a in point["attributes"]}
            assert names["gpu_name"] == DEVICES[int(gpu)][0]

    expected = _expected_energy()
    co2 = _by_gpu(_metric(batch, "gen_ai.co2.emissions"))
    cost = _by_gpu(_metric(batch, "gen_ai.power.cost"))
    for gpu, (grams, dollars) in expected.items():
        assert co2[gpu]["asDouble"] == pytest.approx(grams, rel=1e-12)
        assert cost[gpu]["asDouble"] == pytest.approx(dollars, rel=1e-12)
    # 250 W for 36 s = 2.5 Wh -> 1.1875 gCO2e and $0.0003; 100 W -> 0.475 g and $0.00012
    assert expected["0"] == pytest.approx((1.1875, 0.0003)) and expected["1"] == pytest.approx(
        (0.475, 0.00012)
    )

    rows = flatten_metrics_for_hf(metric_data)
    assert [r["gpu_id"] for r in rows] == ["0", "1"]
    for row in rows:
        device = DEVICES[int(row["gpu_id"])]
        assert tuple(row) == METRICS_COLUMNS
        assert row["run_id"] == "gpu-run" and row["service_name"] == "smoltrace-eval"
        assert row["gpu_name"] == device[0]
        assert row["gpu_utilization_percent"] == float(device[1])
        assert row["gpu_memory_used_mib"] == device[2] / MIB
        assert row["gpu_memory_total_mib"] == device[3] / MIB
        assert row["gpu_temperature_celsius"] == float(device[4])
        assert row["gpu_power_watts"] == device[5] / 1000
        grams, dollars = expected[row["gpu_id"]]
        assert row["co2_emissions_gco2e"] == pytest.approx(grams)
        assert row["power_cost_usd"] == pytest.approx(dollars)

    aggregates = gpu_leaderboard_fields(metric_data["resourceMetrics"])
    assert aggregates == pytest.approx(
        {
            "gpu_utilization_avg": 49.5,
            "gpu_utilization_max": 87.0,
            "gpu_memory_avg_mib": 16024.0,
            "gpu_memory_max_mib": 30000.0,
            "gpu_temperature_avg": 52.5,
            "gpu_temperature_max": 64.0,
            "gpu_power_avg_w": 175.0,
            "co2_total": 1.6625,
            "power_cost_total": 0.00042,
        }
    )
    # the seed's facade returns the seed's keys, with the same numbers
    from smoltrace.utils import aggregate_gpu_metrics

    assert aggregate_gpu_metrics(metric_data["resourceMetrics"]) == pytest.approx(
        {
            "utilization_avg": 49.5,
            "utilization_max": 87.0,
            "memory_avg": 16024.0,
            "memory_max": 30000.0,
            "temperature_avg": 52.5,
            "temperature_max": 64.0,
            "power_avg": 175.0,
            "co2_total": 1.6625,
            "power_cost_total": 0.00042,
        }
    )


@pytest.mark.usefixtures("fake_gpu")
def test_gpu_metrics_reach_the_run_outputs() -> None:
    """The mock provider run with GPU metrics on: resourceMetrics, flattened rows, leaderboard."""
    results, traces, metric_data, dataset, run_id = run_evaluation(
        "oracle",
        ["tool"],
        test_subset="easy",
        provider="mock",
        enable_otel=True,
        enable_gpu_metrics=True,
        verbose=False,
        run_id="mock-gpu-run",
    )
    points = [
        p
        for b in metric_data["resourceMetrics"]
        for s in b["scopeMetrics"]
        for m in s["metrics"]
        if m["name"].startswith("gen_ai.gpu.")
        for p in m["gauge"]["dataPoints"]
    ]
    assert points and len(points) % len(DEVICES) == 0
    rows = flatten_metrics_for_hf(metric_data)
    assert {r["gpu_id"] for r in rows} == {"0", "1"}
    assert all(r["run_id"] == "mock-gpu-run" for r in rows)
    row = compute_leaderboard_row(
        "oracle", results, traces, metric_data, dataset, "r", "t", "m", "tool", run_id, "mock"
    )
    assert row["gpu_utilization_avg"] == 49.5 and row["gpu_utilization_max"] == 87.0
    assert row["gpu_memory_max_mib"] == 30000.0 and row["gpu_power_avg_w"] == 175.0
    assert row["gpu_temperature_avg"] == 52.5 and row["gpu_temperature_max"] == 64.0
    # the fake clock did not move during the run: energy measured, and it is zero
    assert row["co2_emissions_g"] == 0.0 and row["power_cost_total_usd"] == 0.0
    assert len(traces) == len(results["tool"])


def test_disable_gpu_metrics_collects_nothing(fake_gpu) -> None:
    results, traces, metric_data, _, _ = run_evaluation(
        "oracle",
        ["tool"],
        test_subset="easy",
        provider="mock",
        enable_otel=True,
        enable_gpu_metrics=False,
        verbose=False,
    )
    nvml, _ = fake_gpu
    assert nvml.inits == 0
    assert metric_data["resourceMetrics"] == []
    assert flatten_metrics_for_hf(metric_data) == []
    row = compute_leaderboard_row(
        "oracle", results, traces, metric_data, "d", "r", "t", "m", "tool"
    )
    gpu_fields = [k for k in row if k.startswith("gpu_")] + [
        "co2_emissions_g",
        "power_cost_total_usd",
    ]
    assert len(gpu_fields) == 9
    assert all(row[k] is None for k in gpu_fields)
