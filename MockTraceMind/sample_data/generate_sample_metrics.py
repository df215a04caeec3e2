"""Write the dashboard's sample runs: a GPU model with metrics and an API model without.

Run `python MockTraceMind/sample_data/generate_sample_metrics.py [--output-dir DIR]`. The output is
deterministic (fixed clock and random seed), so the committed files can be checked against a fresh
run. Per sample NAME (`llama31`, `gpt4`) it writes, following smoltrace_dataset_structure.md:

* `metrics_NAME.json`: `{run_id, resourceMetrics, aggregates}`. For llama31, 5 GPU metric types
  (utilization, memory used, temperature, power, cumulative CO2) × 12 points, 10 s apart, in OTel
  resourceMetrics form; for gpt4 (an API model) `resourceMetrics` is `[]`.
* `results_NAME.json`, `traces_NAME.json`, `leaderboard_NAME.json`: a results row per task, a
  trace per task, and the run's leaderboard row, so every dashboard view has data offline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NANOS = 1_000_000_000
POINTS = 12
INTERVAL_S = 10
GRID_G_PER_KWH = 475.0  # genai-otel-instrument's default GENAI_CARBON_INTENSITY


@dataclass(frozen=True)
class TaskSpec:
    task_id: str
    agent_type: str
    difficulty: str
    prompt: str
    tools: tuple[str, ...]
    answer: str


TASKS = (
    TaskSpec(
        "tool_weather_single",
        "tool",
        "easy",
        "What's the weather in Paris, France?",
        ("get_weather",),
        "It is 22°C and clear in Paris.",
    ),
    TaskSpec(
        "tool_calculator_single",
        "tool",
        "easy",
        "What is 234 multiplied by 67?",
        ("calculator",),
        "234 × 67 = 15678",
    ),
    TaskSpec(
        "tool_search_compare",
        "tool",
        "medium",
        "Search the population of Lyon and of Marseille and say which is larger.",
        ("web_search", "web_search"),
        "Marseille (about 870,000) is larger than Lyon.",
    ),
    TaskSpec("code_fibonacci", "code", "medium", "Compute the 20th Fibonacci number.", (), "6765"),
    TaskSpec(
        "code_weather_fahrenheit",
        "code",
        "medium",
        "Get the temperature in Tokyo and convert it to Fahrenheit.",
        ("get_weather",),
        "Tokyo is 18°C, which is 64.4°F.",
    ),
    TaskSpec(
        "code_trip_budget",
        "code",
        "hard",
        "Plan a 3-day trip budget: 3 nights at 120 EUR plus 45 EUR food per day; total?",
        ("calculator", "calculator"),
        "The trip costs 495 EUR.",
    ),
)
TOOL_SPAN_NAMES = {
    "get_weather": "WeatherTool",
    "calculator": "CalculatorTool",
    "web_search": "WebSearchTool",
}


@dataclass(frozen=True)
class SampleSpec:
    name: str
    run_id: str
    model: str
    provider: str
    model_class: str
    start: datetime
    task_seconds: tuple[float, ...]
    price_per_1k: tuple[float, float] | None  # (prompt, completion) USD per 1,000 tokens
    failures: dict[str, str | None]  # task_id -> error (None: wrong answer, no exception)
    gpu: bool


SAMPLES = (
    SampleSpec(
        name="llama31",
        run_id="sample-llama31-8b-instruct",
        model="meta-llama/Llama-3.1-8B-Instruct",
        provider="transformers",
        model_class="TransformersModel",
        start=datetime(2025, 10, 23, 12, 0, 0, tzinfo=timezone.utc),
        task_seconds=(14.2, 16.8, 24.5, 19.1, 21.7, 18.9),
        price_per_1k=None,
        failures={"tool_search_compare": None},
        gpu=True,
    ),
    SampleSpec(
        name="gpt4",
        run_id="sample-gpt4-api",
        model="openai/gpt-4",
        provider="litellm",
        model_class="LiteLLMModel",
        start=datetime(2025, 10, 23, 13, 0, 0, tzinfo=timezone.utc),
        task_seconds=(2.4, 1.9, 5.6, 3.1, 4.2, 6.3),
        price_per_1k=(0.03, 0.06),
        failures={
            "code_trip_budget": "RateLimitError: litellm.RateLimitError: OpenAIException - "
            "Rate limit reached for gpt-4 (retry after 20s)",
        },
        gpu=False,
    ),
)


def hex_id(*parts: object, digits: int = 16) -> str:
    """Deterministic span/trace ids, so regenerating gives identical files."""
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:digits]


def to_nanos(moment: datetime) -> int:
    return int(moment.timestamp()) * NANOS


def iso(nanos: int) -> str:
    return datetime.fromtimestamp(nanos / NANOS, tz=timezone.utc).isoformat()


def attr(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def gpu_metrics(spec: SampleSpec, rng: random.Random) -> list[dict[str, Any]]:
    """One resourceMetrics batch: 5 GPU metrics × POINTS points, INTERVAL_S apart."""
    if not spec.gpu:
        return []
    t0 = to_nanos(spec.start)
    gpu_attrs = [attr("gpu_id", "0"), attr("gpu_name", "NVIDIA A10G")]
    series: dict[str, list[tuple[int, float]]] = {
        name: [] for name in ("util", "mem", "temp", "power", "co2")
    }
    co2 = 0.0
    for i in range(POINTS):
        stamp = t0 + i * INTERVAL_S * NANOS
        load = 0.55 + 0.35 * (1 if i % 4 in (1, 2) else 0) + rng.uniform(-0.05, 0.05)
        util = round(min(99, 100 * load))
        power = round(70 + 220 * load + rng.uniform(-4, 4), 1)
        co2 += power * INTERVAL_S / 3600 / 1000 * GRID_G_PER_KWH
        series["util"].append((stamp, util))
        series["mem"].append((stamp, round(15200 + 40 * i + rng.uniform(0, 30))))
        series["temp"].append((stamp, round(46 + 2.2 * i + 6 * load, 1)))
        series["power"].append((stamp, power))
        series["co2"].append((stamp, round(co2, 6)))

    def points(name: str, attributes: list[dict[str, Any]], as_int: bool) -> list[dict[str, Any]]:
        return [
            {
                "attributes": attributes,
                "timeUnixNano": str(stamp),
                **({"asInt": str(int(value))} if as_int else {"asDouble": float(value)}),
            }
            for stamp, value in series[name]
        ]

    def gauge(name: str, unit: str, description: str, key: str, as_int: bool) -> dict[str, Any]:
        return {
            "name": name,
            "description": description,
            "unit": unit,
            "gauge": {"dataPoints": points(key, gpu_attrs, as_int)},
        }

    metrics = [
        gauge("gen_ai.gpu.utilization", "%", "GPU utilization", "util", True),
        gauge("gen_ai.gpu.memory.used", "MiB", "GPU memory used", "mem", True),
        gauge("gen_ai.gpu.temperature", "Cel", "GPU temperature", "temp", False),
        gauge("gen_ai.gpu.power", "W", "GPU power draw", "power", False),
        {
            "name": "gen_ai.co2.emissions",
            "description": "Cumulative CO2 emissions",
            "unit": "gCO2e",
            "sum": {
                "dataPoints": [
                    {**point, "startTimeUnixNano": str(t0)}
                    for point in points("co2", gpu_attrs, False)
                ],
                "aggregationTemporality": 2,
                "isMonotonic": True,
            },
        },
    ]
    return [
        {
            "resource": {
                "attributes": [attr("run.id", spec.run_id), attr("service.name", "smoltrace-eval")]
            },
            "scopeMetrics": [
                {"scope": {"name": "genai.gpu", "version": "1.0.0"}, "metrics": metrics}
            ],
        }
    ]


def build_task(
    spec: SampleSpec, task: TaskSpec, index: int, start: int, rng: random.Random
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(results row, trace document) for one task of a sample run."""
    uid = f"{task.agent_type}:{task.task_id}"
    trace_id = hex_id(spec.run_id, uid, digits=32)
    duration = int(spec.task_seconds[index] * NANOS)
    failed = task.task_id in spec.failures
    error = spec.failures.get(task.task_id)
    answer = task.answer if not failed else "I could not verify it; my best guess is Lyon."
    spans: list[dict[str, Any]] = []
    resource = {"attributes": {"service.name": "smoltrace-eval", "run.id": spec.run_id}}

    def span(
        name: str,
        parent: str | None,
        begin: int,
        end: int,
        kind: str,
        attributes: dict[str, Any],
        status: str = "OK",
        description: str | None = None,
    ) -> str:
        span_id = hex_id(trace_id, name, len(spans))
        spans.append(
            {
                "trace_id": trace_id,
                "span_id": span_id,
                "parent_span_id": parent,
                "name": name,
                "kind": kind,
                "start_time": begin,
                "end_time": end,
                "duration_ms": round((end - begin) / 1e6, 3),
                "attributes": attributes,
                "events": [],
                "status": {"code": status, "description": description},
                "resource": resource,
            }
        )
        return span_id

    agent_class = "ToolCallingAgent" if task.agent_type == "tool" else "CodeAgent"
    root = span(
        "test_evaluation",
        None,
        start,
        start + duration,
        "INTERNAL",
        {
            "test.id": task.task_id,
            "test.case_uid": uid,
            "agent.type": task.agent_type,
            "test.difficulty": task.difficulty,
        },
    )
    agent_start = start + duration // 200
    agent_end = start + duration - duration // 200
    agent_index = len(spans)
    agent = span(
        f"{agent_class}.run",
        root,
        agent_start,
        agent_end,
        "INTERNAL",
        {"openinference.span.kind": "AGENT", "input.value": task.prompt, "smolagents.max_steps": 6},
    )
    calls = [*task.tools, "final_answer"]
    if error:
        calls = calls[:1]
    step_length = (agent_end - agent_start) // len(calls)
    prompt_tokens = completion_tokens = 0
    used: list[str] = []
    for step, tool in enumerate(calls, start=1):
        s_begin = agent_start + (step - 1) * step_length
        s_end = s_begin + step_length - duration // 400
        step_id = span(
            f"Step {step}",
            agent,
            s_begin,
            s_end,
            "INTERNAL",
            {"openinference.span.kind": "CHAIN", "smolagents.step_number": step},
        )
        p_tok = 900 + 140 * step + rng.randint(0, 60)
        c_tok = 25 + rng.randint(0, 40)
        llm_end = s_begin + int((s_end - s_begin) * 0.78)
        llm_attrs: dict[str, Any] = {
            "openinference.span.kind": "LLM",
            "llm.model_name": spec.model,
            "llm.provider": spec.provider,
            "llm.token_count.prompt": p_tok,
            "llm.token_count.completion": c_tok,
            "llm.token_count.total": p_tok + c_tok,
        }
        if spec.price_per_1k:
            llm_attrs["gen_ai.usage.cost.total"] = round(
                p_tok / 1000 * spec.price_per_1k[0] + c_tok / 1000 * spec.price_per_1k[1], 6
            )
        if error:
            failed_call = {k: v for k, v in llm_attrs.items() if "token_count" not in k}
            failed_call.pop("gen_ai.usage.cost.total", None)
            span(
                f"{spec.model_class}.generate",
                step_id,
                s_begin,
                llm_end,
                "CLIENT",
                failed_call,
                "ERROR",
                error,
            )
            for failed_span in (spans[0], spans[agent_index]):
                failed_span["status"] = {"code": "ERROR", "description": error}
            break
        span(f"{spec.model_class}.generate", step_id, s_begin, llm_end, "CLIENT", llm_attrs)
        prompt_tokens += p_tok
        completion_tokens += c_tok
        tool_name = TOOL_SPAN_NAMES.get(tool, "FinalAnswerTool")
        output = answer if tool == "final_answer" else f"{tool} result #{step}"
        span(
            tool_name,
            step_id,
            llm_end + duration // 1000,
            s_end,
            "INTERNAL",
            {
                "openinference.span.kind": "TOOL",
                "tool.name": tool,
                "input.value": json.dumps({"step": step}),
                "output.value": output,
            },
        )
        if tool != "final_answer":
            used.append(tool)
    total_tokens = prompt_tokens + completion_tokens
    spans[0]["attributes"].update(
        {
            "prompt": task.prompt[:100],
            "smoltrace.model_id": spec.model,
            "smoltrace.provider": spec.provider,
            "tests.tool_calls": len(used),
            "tests.steps": len(calls),
        }
    )
    agent_attrs = spans[agent_index]["attributes"]
    agent_attrs.update(
        {
            "llm.token_count.prompt": prompt_tokens,
            "llm.token_count.completion": completion_tokens,
            "llm.token_count.total": total_tokens,
        }
    )
    response = None if error else answer
    if response:
        agent_attrs["output.value"] = response
    cost = None
    if spec.price_per_1k:
        cost = round(
            prompt_tokens / 1000 * spec.price_per_1k[0]
            + completion_tokens / 1000 * spec.price_per_1k[1],
            6,
        )
    correct_tool = len(used) >= len(task.tools) if task.tools else bool(used)
    success = not failed
    end = start + duration
    result = {
        "model": spec.model,
        "evaluation_date": iso(end),
        "task_id": task.task_id,
        "test_case_uid": uid,
        "test_index": index,
        "agent_type": task.agent_type,
        "difficulty": task.difficulty,
        "prompt": task.prompt,
        "success": success,
        "tool_called": bool(used),
        "correct_tool": correct_tool,
        "final_answer_called": response is not None,
        "response_correct": response is not None and not failed,
        "tools_used": used,
        "steps": len(calls),
        "planning_steps": 0,
        "model_calls": len(calls),
        "stop_reason": "error" if error else "final_answer",
        "attempt": 0,
        "retries": 0,
        "last_retry_error": None,
        "response": response,
        "error": error,
        "trace_id": trace_id,
        "span_id": root,
        "run_id": spec.run_id,
        "start_time_unix_nano": start,
        "end_time_unix_nano": end,
        "execution_time_ms": round(duration / 1e6, 3),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": total_tokens,
        "cost_usd": cost,
        "enhanced_trace_info": json.dumps(
            {
                "trace_id": trace_id,
                "root_span_id": root,
                "total_tokens": total_tokens,
                "duration_ms": round(duration / 1e6, 3),
                "cost_usd": cost,
                "span_count": len(spans),
            }
        ),
    }
    trace = {
        "trace_id": trace_id,
        "run_id": spec.run_id,
        "root_span_id": root,
        "test_ids": [task.task_id],
        "test_case_uids": [uid],
        "agent_type": task.agent_type,
        "spans": spans,
        "total_tokens": total_tokens,
        "total_duration_ms": round(duration / 1e6, 3),
        "total_cost_usd": cost,
    }
    return result, trace


def metric_values(resource_metrics: list[dict[str, Any]], name: str) -> list[float]:
    values = []
    for batch in resource_metrics:
        for scope in batch["scopeMetrics"]:
            for metric in scope["metrics"]:
                if metric["name"] == name:
                    for kind in ("gauge", "sum"):
                        for point in (metric.get(kind) or {}).get("dataPoints", []):
                            raw = point["asDouble"] if "asDouble" in point else point["asInt"]
                            values.append(float(raw))
    return values


def leaderboard_row(
    spec: SampleSpec,
    results: list[dict[str, Any]],
    resource_metrics: list[dict[str, Any]],
    finished: int,
) -> dict[str, Any]:
    """The run's leaderboard row, computed with the documented formulas."""
    total = len(results)
    passed = sum(1 for row in results if row["success"])
    durations = [row["execution_time_ms"] for row in results]
    tokens = sum(row["total_tokens"] for row in results)
    costs = [row["cost_usd"] for row in results if row["cost_usd"] is not None]
    total_cost = round(sum(costs), 6) if costs else None

    def avg(name: str, digits: int = 2) -> float | None:
        values = metric_values(resource_metrics, name)
        return round(sum(values) / len(values), digits) if values else None

    def peak(name: str) -> float | None:
        values = metric_values(resource_metrics, name)
        return round(max(values), 2) if values else None

    co2 = metric_values(resource_metrics, "gen_ai.co2.emissions")
    stamp = datetime.fromtimestamp(finished / NANOS, tz=timezone.utc)
    errored = sum(1 for row in results if row["stop_reason"] == "error")
    completed = total - errored
    local = spec.provider in ("transformers", "ollama")
    return {
        "run_id": spec.run_id,
        "model": spec.model,
        "agent_type": "both",
        "provider": spec.provider,
        "timestamp": stamp.isoformat(),
        "submitted_by": "local",
        "use_case": "sample-data",
        "team": None,
        "purpose": "selection",
        "suite_version": None,
        "results_dataset": f"local:results_{spec.name}.json",
        "traces_dataset": f"local:traces_{spec.name}.json",
        "metrics_dataset": f"local:metrics_{spec.name}.json",
        "dataset_used": "smoltrace-tasks",
        "dataset_revision": None,
        "total_tests": total,
        "successful_tests": passed,
        "failed_tests": total - passed,
        "success_rate": round(100 * passed / total, 2) if total else 0.0,
        "avg_steps": round(sum(row["steps"] for row in results) / total, 2),
        "avg_duration_ms": round(sum(durations) / total, 2),
        "total_duration_ms": round(sum(durations), 2),
        "total_tokens": tokens,
        "avg_tokens_per_test": round(tokens / total),
        "total_cost_usd": total_cost,
        "avg_cost_per_test_usd": round(total_cost / total, 6) if total_cost is not None else None,
        "co2_emissions_g": round(co2[-1], 4) if co2 else None,
        "power_cost_total_usd": None,
        "gpu_utilization_avg": avg("gen_ai.gpu.utilization"),
        "gpu_utilization_max": peak("gen_ai.gpu.utilization"),
        "gpu_memory_avg_mib": avg("gen_ai.gpu.memory.used"),
        "gpu_memory_max_mib": peak("gen_ai.gpu.memory.used"),
        "gpu_temperature_avg": avg("gen_ai.gpu.temperature"),
        "gpu_temperature_max": peak("gen_ai.gpu.temperature"),
        "gpu_power_avg_w": avg("gen_ai.gpu.power"),
        "notes": f"Evaluation on {stamp.date().isoformat()}; {total} tests",
        # run status (the samples ran every task to its end)
        "run_status": "completed",
        "planned_tests": total,
        "completed_tests": completed,
        "errored_tests": errored,
        "timed_out_tests": 0,
        "max_steps_tests": 0,
        "interrupted_tests": 0,
        "scored_success_rate": round(100 * passed / completed, 2) if completed else None,
        # how the run was made
        "wall_time_ms": round((finished - to_nanos(spec.start)) / 1e6, 3),
        "keyword_match": "word",
        "max_steps": 6,
        "tasks_sha256": None,
        "smoltrace_version": None,
        # the samples predate repeats and intervals: one attempt per task, no interval columns
        "repeats": 1,
        "total_tasks": total,
        "success_rate_se": None,
        "success_rate_ci_low": None,
        "success_rate_ci_high": None,
        "pass_at_1": round(passed / total, 4) if total else None,
        "pass_at_k": None,
        "pass_hat_k": None,
        "pass_rule": "success_boolean_mean_over_attempts",
        "avg_duration_ms_ci_low": None,
        "avg_duration_ms_ci_high": None,
        "avg_tokens_per_test_ci_low": None,
        "avg_tokens_per_test_ci_high": None,
        "avg_cost_per_test_usd_ci_low": None,
        "avg_cost_per_test_usd_ci_high": None,
        "generation_settings": None,
        "hardware": None,
        "hardware_detail": None,
        "hardware_scope": "local" if local else "hosted",
    }


def build_sample(spec: SampleSpec) -> dict[str, Any]:
    """All four documents of one sample run, keyed by file name."""
    rng = random.Random(f"smoltrace-sample-{spec.name}")
    resource_metrics = gpu_metrics(spec, rng)
    cursor = to_nanos(spec.start) + NANOS // 2
    results, traces = [], []
    for index, task in enumerate(TASKS):
        result, trace = build_task(spec, task, index, cursor, rng)
        results.append(result)
        traces.append(trace)
        cursor = result["end_time_unix_nano"] + NANOS // 4
    return {
        f"metrics_{spec.name}.json": {
            "run_id": spec.run_id,
            "resourceMetrics": resource_metrics,
            "aggregates": [],
        },
        f"results_{spec.name}.json": results,
        f"traces_{spec.name}.json": traces,
        f"leaderboard_{spec.name}.json": leaderboard_row(spec, results, resource_metrics, cursor),
    }


def write_samples(output_dir: Path) -> list[Path]:
    """Write every sample file into output_dir; returns the paths written."""
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in SAMPLES:
        for file_name, document in build_sample(spec).items():
            path = output_dir / file_name
            path.write_text(
                json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=HERE,
        help="where to write the sample files (default: beside this script)",
    )
    args = parser.parse_args(argv)
    for path in write_samples(args.output_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
