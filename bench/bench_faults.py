"""What faults cost: wall time of a 100-task run at 100 ms model latency, fault-free and with 20%
injected faults of each kind, the worst 429 burst, and peak RSS at 100 and 1,000 tasks.

Each run goes through `run_evaluation` with smoltrace's default retry policy (back-off from 0.5 s),
8 workers, and litellm against the scripted server. Hangs are cut by `--request-timeout 1` here
(the default 120 s would make each hang cost two minutes). Peak RSS is measured in a fresh process
per size (mock provider, no OTel), so one size cannot inherit the other's heap.

Usage: .venv/bin/python bench/bench_faults.py [--tasks 100] [--workers 8]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.llm_server import (
    Fault,
    ScriptedLLMServer,
    connection_reset,
    fault_rate,
    first_requests,
    hang,
    malformed,
    rate_limited,
    sequence,
    server_error,
    tool_call,
)

from smoltrace.core import run_evaluation
from smoltrace.tasks import TaskSet

KINDS: dict[str, Fault] = {
    "500": server_error(500),
    "429 (Retry-After 0.1 s)": rate_limited(0.1),
    "malformed 200": malformed(),
    "connection reset": connection_reset(),
    "hang (cut at 1 s)": hang(),
}


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


def one_run(plan, n: int, workers: int) -> tuple[float, int, int, int]:
    """(wall s, passed, retries, faults injected) of one run on a fresh server."""
    script = sequence(
        tool_call("get_weather", location="Paris, France"), tool_call("final_answer", answer="22")
    )
    with ScriptedLLMServer(script, latency_s=0.1) as server:
        server.set_faults(plan)
        started = time.perf_counter()
        results, *_ = run_evaluation(
            model_name="openai/gpt-4o-mini",
            agent_types=["tool"],
            provider="litellm",
            api_base=server.openai_base,
            parallel_workers=workers,
            task_set=tasks(n),
            verbose=False,
            request_timeout=1.0,
        )
        wall = time.perf_counter() - started
        faults = len(server.faults_sent)
    rows = results["tool"]
    return wall, sum(r["success"] for r in rows), sum(r["retries"] for r in rows), faults


def peak_rss_mib(n: int) -> float:
    """Peak RSS of a fresh process running `n` mock tasks with 4 workers."""
    code = (
        "import resource, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "from bench_faults import tasks\n"
        "from smoltrace.core import run_evaluation\n"
        f"run_evaluation(model_name='oracle', agent_types=['tool'], provider='mock', "
        f"parallel_workers=4, task_set=tasks({n}), verbose=False)\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--rss-only", action="store_true")
    options = parser.parse_args()
    n, workers = options.tasks, options.workers
    if options.rss_only:
        small, large = peak_rss_mib(100), peak_rss_mib(1000)
        print(
            f"peak RSS, mock, 100 tasks {small:.1f} MiB; 1,000 tasks {large:.1f} MiB (x{large / small:.2f})"
        )
        return
    import litellm  # noqa: F401  (imported once, outside the timings)

    base, passed, _, _ = one_run(None, n, workers)
    print(f"{'fault-free':<34} {base:7.2f} s  passed {passed}/{n}")
    runs = {f"20% {label}": fault_rate(fault, 0.2, seed=7) for label, fault in KINDS.items()}
    # the worst burst the policy absorbs: every task's first call meets five 429s in a row
    runs["429 burst x5, no Retry-After"] = first_requests(rate_limited(None), 5)
    for label, plan in runs.items():
        wall, passed, retries, faults = one_run(plan, n, workers)
        print(
            f"{label:<34} {wall:7.2f} s  x{wall / base:4.2f}  passed {passed}/{n}  "
            f"faults {faults}  retries {retries}"
        )
    if not options.skip_rss:
        small, large = peak_rss_mib(100), peak_rss_mib(1000)
        print(
            f"peak RSS, mock, 100 tasks {small:.1f} MiB; 1,000 tasks {large:.1f} MiB (x{large / small:.2f})"
        )
    print(
        f"(this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB)"
    )


if __name__ == "__main__":
    main()
