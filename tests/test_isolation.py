"""Per-task isolation and the run accounting of a row (steps, planning steps, model calls, stop reason).

Real smolagents agents run through litellm against the scripted server. A task must never see a
variable, an import or memory of an earlier task: smolagents' local Python executor keeps its
namespace across `run(reset=True)`, so an agent reused between tasks could answer with a value an
earlier task computed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.llm_server import Reply, by_task, code, text, tool_call

from smoltrace.agents import build_agent
from smoltrace.core import run_evaluation
from smoltrace.models import build_model
from smoltrace.runner import run_tasks
from smoltrace.tasks import load_tasks

MODEL = "openai/gpt-4o-mini"


def evaluate(tmp_path: Path, server, agent_type: str, tasks: list[dict], **kwargs) -> list[dict]:
    dataset = tmp_path / "tasks.jsonl"
    dataset.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    all_results, *_ = run_evaluation(
        MODEL,
        [agent_type],
        None,
        str(dataset),
        provider="litellm",
        api_base=server.openai_base,
        verbose=False,
        **kwargs,
    )
    return all_results[agent_type]


LEAK_TASKS = [
    {"id": "set", "prompt": "Task one: store a value.", "agent_type": "code"},
    {
        "id": "read_variable",
        "prompt": "Task two: what value was stored?",
        "expected_keywords": ["4242"],
        "agent_type": "code",
    },
    {
        "id": "read_import",
        "prompt": "Task three: use the module.",
        "expected_keywords": ["4242"],
        "agent_type": "code",
    },
]
LEAK_SCRIPT = {
    "Task one": [code('leaked_value = 4242\nimport statistics\nfinal_answer("stored")')],
    "Task two": [code("final_answer(str(leaked_value))")],
    "Task three": [code("final_answer(str(statistics.mean([4240, 4244])))")],
}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_task_sees_no_variable_or_import_of_an_earlier_task(
    tmp_path: Path, llm_server, workers: int
) -> None:
    llm_server.set_responder(by_task(LEAK_SCRIPT))
    # with 2 workers and the first task alone on its worker, the others could share one agent
    tasks = [LEAK_TASKS[0], LEAK_TASKS[1], LEAK_TASKS[2]]
    records = {
        r["test_id"]: r
        for r in evaluate(
            tmp_path, llm_server, "code", tasks, max_steps=2, parallel_workers=workers
        )
    }
    assert records["set"]["success"] is True and records["set"]["response"] == "stored"
    for task_id, name in (("read_variable", "leaked_value"), ("read_import", "statistics")):
        row = records[task_id]
        assert row["success"] is False, row
        assert row["response_correct"] is False  # the max-steps summary is not the value
        assert row["stop_reason"] == "max_steps"
        assert name in row["error"]  # the executor's "is not defined" is the last step error


def test_every_task_gets_its_own_agent_for_any_worker_count() -> None:
    tasks = [t for t in load_tasks().tasks if t["agent_type"] in ("tool", "both")]
    model = build_model("mock", "oracle", tasks=tasks)
    for workers in (1, 3):
        agents: list = []

        def make_agent(agents: list = agents) -> object:
            agent = build_agent("tool", model)
            agents.append(agent)
            return agent

        records = run_tasks(
            tasks,
            "tool",
            make_agent,
            run_id="r",
            model_id="oracle",
            provider="mock",
            workers=workers,
        )
        assert [r["test_id"] for r in records] == [t["id"] for t in tasks]
        assert len(agents) == len(tasks) == len({id(a) for a in agents})
        # each agent ran exactly one task: its memory holds one task step
        assert all(
            len([s for s in a.memory.steps if type(s).__name__ == "TaskStep"]) == 1 for a in agents
        )


ANSWER_TASK = {
    "id": "answer",
    "prompt": "Say hello.",
    "expected_keywords": ["hello"],
    "agent_type": "tool",
}


def test_an_answer_on_the_first_call_is_one_step(tmp_path: Path, llm_server) -> None:
    llm_server.set_responder(lambda body: tool_call("final_answer", answer="hello"))
    [row] = evaluate(tmp_path, llm_server, "tool", [ANSWER_TASK])
    assert len(llm_server.requests) == 1
    assert (row["steps"], row["planning_steps"], row["model_calls"]) == (1, 0, 1)
    assert row["stop_reason"] == "final_answer" and row["error"] is None and row["success"]


def test_max_steps_counts_max_steps_and_says_why(tmp_path: Path, llm_server) -> None:
    # every output is plain text: no tool call can be parsed from it, until the limit
    llm_server.set_responder(lambda body: text("I am still thinking about it"))
    [row] = evaluate(tmp_path, llm_server, "tool", [ANSWER_TASK], max_steps=3)
    # 3 steps, then the summary call smolagents makes after the limit
    assert len(llm_server.requests) == 4
    assert (row["steps"], row["planning_steps"], row["model_calls"]) == (3, 0, 4)
    assert row["stop_reason"] == "max_steps"
    assert row["final_answer_called"] is False and row["success"] is False
    assert row["response"] == "I am still thinking about it"  # the summary, not a final answer
    assert row["error"].startswith("AgentMaxStepsError: reached max steps (3)")
    assert "last step error: AgentParsingError" in row["error"]
    assert row["prompt_tokens"] == sum(u["prompt_tokens"] for u in llm_server.usages)


def test_planning_steps_are_counted_apart_and_their_tokens_are_counted(
    tmp_path: Path, llm_server
) -> None:
    def respond(body: dict) -> Reply:
        if not body.get("tools"):  # the planning call offers no tools
            return Reply(content="1. answer hello", prompt_tokens=1000, completion_tokens=70)
        return Reply(
            tool_calls=[{"name": "final_answer", "arguments": {"answer": "hello"}}],
            prompt_tokens=300,
            completion_tokens=5,
        )

    llm_server.set_responder(respond)
    [row] = evaluate(
        tmp_path, llm_server, "tool", [ANSWER_TASK], prompt_config={"planning_interval": 3}
    )
    assert len(llm_server.requests) == 2
    assert (row["steps"], row["planning_steps"], row["model_calls"]) == (1, 1, 2)
    assert row["prompt_tokens"] == 1300 and row["completion_tokens"] == 75
    assert row["total_tokens"] == 1375 and row["success"] is True
