"""Harness throughput: tasks per second through the real agent loop, with and without workers.

Runs the mock oracle (pure harness overhead) and litellm against the scripted server with a fixed
per-request latency (where workers pay off). Usage: .venv/bin/python bench/bench_run_loop.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.llm_server import ScriptedLLMServer, sequence, tool_call

from smoltrace.core import run_evaluation
from smoltrace.tasks import TaskSet


def tasks(n: int) -> TaskSet:
    return TaskSet(
        [
            {
                "id": f"t{i}",
                "prompt": f"What's the weather in Paris, France? (#{i})",
                "expected_tool": "get_weather",
                "difficulty": "easy",
                "agent_type": "tool",
            }
            for i in range(n)
        ],
        "bench",
    )


def timed(label: str, n: int, **kwargs) -> None:
    started = time.perf_counter()
    results, *_ = run_evaluation(task_set=tasks(n), agent_types=["tool"], **kwargs)
    elapsed = time.perf_counter() - started
    passed = sum(r["success"] for r in results["tool"])
    print(
        f"{label:<44} {n:>4} tasks  {elapsed:7.2f} s  {n / elapsed:7.1f} tasks/s  passed {passed}/{n}"
    )


def main() -> None:
    timed("mock oracle, 1 worker", 200, model_name="oracle", provider="mock")
    timed("mock oracle, 4 workers", 200, model_name="oracle", provider="mock", parallel_workers=4)
    import litellm  # noqa: F401  (import once, outside the timings: about 6 s on 2 cores)

    with ScriptedLLMServer(latency_s=0.2) as server:
        for workers in (1, 4, 8):
            server.set_responder(
                sequence(
                    tool_call("get_weather", location="Paris, France"),
                    tool_call("final_answer", answer="22"),
                )
            )
            timed(
                f"litellm + server (200 ms/call), {workers} worker(s)",
                24,
                model_name="openai/gpt-4o-mini",
                provider="litellm",
                api_base=server.openai_base,
                parallel_workers=workers,
            )


if __name__ == "__main__":
    main()
