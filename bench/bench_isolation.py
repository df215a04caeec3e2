"""What per-task isolation costs: a fresh agent per task against one agent reused per worker thread.

Reuse is what the harness did before isolation (and is wrong: a reused CodeAgent's executor keeps the
variables and imports of earlier tasks); it is timed here only as the baseline. Measured on the
mock oracle (pure harness overhead, the worst case for the relative cost) and on litellm against the
scripted server with 200 ms per model call (where workers pay off). A fresh CodeAgent also starts a
fresh code process (sandbox.executor) at its first action: that is most of its cost.
Usage: .venv/bin/python bench/bench_isolation.py
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.llm_server import Reply, ScriptedLLMServer, code, message_text, tool_call

from smoltrace.agents import build_agent
from smoltrace.models import build_model
from smoltrace.runner import run_tasks


def tasks(n: int, agent_type: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"t{i}",
            "prompt": f"What's the weather in Paris, France? (#{i})",
            "expected_tool": "get_weather",
            "difficulty": "easy",
            "agent_type": agent_type,
        }
        for i in range(n)
    ]


def factory(agent_type: str, model: Any, fresh: bool) -> Callable[[], Any]:
    local = threading.local()

    def make() -> Any:
        if fresh:
            return build_agent(agent_type, model)
        if not hasattr(local, "agent"):
            local.agent = build_agent(agent_type, model)
        return local.agent

    return make


def build_cost_ms(agent_type: str, model: Any, n: int = 50) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        build_agent(agent_type, model)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def timed(label: str, work: list[dict[str, Any]], agent_type: str, model: Any, **kw: Any) -> None:
    line = f"{label:<46} {len(work):>4} tasks"
    for fresh in (False, True):
        started = time.perf_counter()
        records = run_tasks(work, agent_type, factory(agent_type, model, fresh), run_id="b", **kw)
        elapsed = time.perf_counter() - started
        passed = sum(r["success"] for r in records)
        name = "fresh" if fresh else "reused"
        line += f"  {name}: {elapsed:6.2f} s ({len(work) / elapsed:6.1f}/s, {passed} passed)"
    print(line)


def main() -> None:
    for agent_type in ("tool", "code"):
        work = tasks(200, agent_type)
        model = build_model("mock", "oracle", tasks=work)
        print(f"build_agent({agent_type!r}): median {build_cost_ms(agent_type, model):.2f} ms")
        for workers in (1, 4):
            timed(
                f"mock oracle, {agent_type} agent, {workers} worker(s)",
                work,
                agent_type,
                model,
                model_id="oracle",
                provider="mock",
                workers=workers,
            )
    import litellm  # noqa: F401  (import once, outside the timings)

    def respond(body: dict) -> Reply:
        # stateless (the same conversation is run twice): look the weather up, then answer
        if not body.get("tools"):  # a CodeAgent: one action that calls the tool and answers
            return code('final_answer(get_weather(location="Paris, France"))')
        if "Observation:" in message_text(body["messages"][-1]):
            return tool_call("final_answer", answer="22")
        return tool_call("get_weather", location="Paris, France")

    with ScriptedLLMServer(latency_s=0.2) as server:
        server.set_responder(respond)
        model = build_model("litellm", "openai/gpt-4o-mini", api_base=server.openai_base)
        for agent_type in ("tool", "code"):
            for workers in (1, 4, 8):
                timed(
                    f"litellm + server (200 ms/call), {agent_type}, {workers} worker(s)",
                    tasks(24, agent_type),
                    agent_type,
                    model,
                    model_id="openai/gpt-4o-mini",
                    provider="litellm",
                    workers=workers,
                )


if __name__ == "__main__":
    main()
