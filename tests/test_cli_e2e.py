"""End to end through the real CLI: offline oracle, litellm against the scripted server, Ollama,
a tiny transformers model, quiet mode, and an interrupted run. Expected figures are recomputed here
from what the server sent and from the pricing table file, not taken from smoltrace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import BIN, cli_env
from fakes.llm_server import code, hang, sequence, tool_call

SMOLTRACE = str(BIN / "smoltrace-eval")
DOC = Path(__file__).resolve().parent.parent / "smoltrace_dataset_structure.md"


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SMOLTRACE, *args], capture_output=True, text=True, env=env or cli_env(), timeout=timeout
    )


def only_run_folder(output_dir: Path) -> Path:
    folders = [p for p in output_dir.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def load(folder: Path, name: str):
    return json.loads((folder / name).read_text())


def write_tasks(path: Path, tasks: list[dict]) -> Path:
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    return path


def gpt4o_mini_price(prompt_tokens: int, completion_tokens: int) -> float:
    """gpt-4o-mini's price read straight from genai-otel's bundled table (USD per 1k tokens)."""
    import genai_otel

    table = json.loads((Path(genai_otel.__file__).parent / "llm_pricing.json").read_text())
    entry = table["chat"]["gpt-4o-mini"]
    return (
        prompt_tokens / 1000 * entry["promptPrice"]
        + completion_tokens / 1000 * entry["completionPrice"]
    )


def test_help_lists_every_flag_without_heavy_imports() -> None:
    flags = [
        "--model",
        "--provider",
        "--hf-token",
        "--agent-type",
        "--prompt-yml",
        "--mcp-server-url",
        "--difficulty",
        "--dataset-name",
        "--split",
        "--private",
        "--enable-otel",
        "--run-id",
        "--output-format",
        "--output-dir",
        "--quiet",
        "--debug",
        "--public",
        "--hf-token-file",
        "--dataset-revision",
        "--parallel-workers",
        "--model-args",
        "--enable-tools",
        "--working-directory",
        "--additional-imports",
        "--disable-gpu-metrics",
        "--hf-inference-provider",
        "--search-provider",
        "--mcp-transport",
        "--use-case",
        "--team",
        "--purpose",
        "--suite-version",
        "--api-base",
        "--max-steps",
    ]
    result = run_cli("--help")
    assert result.returncode == 0
    for flag in flags:
        assert flag in result.stdout, flag
    assert "(default: litellm)" in result.stdout and "(default: 6)" in result.stdout
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom smoltrace.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('litellm', 'torch', 'smolagents', 'transformers') if m in sys.modules]\n"
            "print('HEAVY', heavy)",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert "HEAVY []" in probe.stdout


def test_oracle_run_scores_100_percent_and_writes_complete_folder(tmp_path: Path) -> None:
    result = run_cli(
        "--provider",
        "mock",
        "--model",
        "oracle",
        "--output-format",
        "json",
        "--output-dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "TOOL SUMMARY" in result.stdout and "COMBINED SUMMARY" in result.stdout
    # Wilson lower bound at n of n successes: n / (n + z^2) = 8/11.84 and 7/10.84
    assert "TOOL: 8/8 (100.0%, 95% CI 67.6–100.0%)" in result.stdout
    assert "CODE: 7/7 (100.0%, 95% CI 64.6–100.0%)" in result.stdout
    assert "NOT a real model" in result.stderr
    folder = only_run_folder(tmp_path)
    assert folder.name.startswith("oracle_both_")
    for name in (
        "records.jsonl",
        "results.json",
        "traces.json",
        "metrics.json",
        "leaderboard_row.json",
        "metadata.json",
    ):
        assert (folder / name).is_file(), name
    rows = load(folder, "results.json")
    assert len(rows) == 15 and all(r["success"] is True for r in rows)
    assert [r["test_index"] for r in rows] == list(range(15))
    assert [r["agent_type"] for r in rows] == ["tool"] * 8 + ["code"] * 7
    assert len((folder / "records.jsonl").read_text().splitlines()) == 15
    run_id = rows[0]["run_id"]
    assert all(r["run_id"] == run_id for r in rows)
    assert load(folder, "traces.json") == []
    assert load(folder, "metrics.json") == {
        "run_id": run_id,
        "resourceMetrics": [],
        "aggregates": [],
    }
    meta = load(folder, "metadata.json")
    assert meta["run_id"] == run_id and meta["provider"] == "mock" and meta["num_results"] == 15
    assert meta["otel_enabled"] is False and meta["num_traces"] == 0
    row = load(folder, "leaderboard_row.json")
    assert row["run_id"] == run_id and row["provider"] == "mock" and row["agent_type"] == "both"
    assert (
        row["total_tests"] == 15 and row["successful_tests"] == 15 and row["success_rate"] == 100.0
    )
    assert row["total_tokens"] == sum(r["total_tokens"] for r in rows)
    assert row["avg_steps"] == round(sum(r["steps"] for r in rows) / 15, 2)
    assert row["total_duration_ms"] == round(sum(r["execution_time_ms"] for r in rows), 2)
    assert row["total_cost_usd"] == 0.0
    assert row["gpu_utilization_avg"] is None and row["co2_emissions_g"] is None
    code_rows = {r["task_id"]: r for r in rows if r["agent_type"] == "code"}
    assert code_rows["code_calculator_two_steps"]["tools_used"] == ["calculator", "calculator"]
    assert code_rows["code_weather_fahrenheit"]["tools_used"] == ["get_weather"]


def test_litellm_run_counts_tokens_and_cost_once_and_sends_model_args(
    tmp_path: Path, llm_server
) -> None:
    tasks = write_tasks(
        tmp_path / "tasks.jsonl",
        [
            {
                "id": "w1",
                "prompt": "Weather in Paris, France?",
                "expected_tool": "get_weather",
                "expected_keywords": ["22"],
                "difficulty": "easy",
                "agent_type": "tool",
            },
            {
                "id": "w2",
                "prompt": "Compare Paris, France and London, UK.",
                "expected_tool": "get_weather",
                "expected_tool_calls": 2,
                "difficulty": "medium",
                "agent_type": "tool",
            },
            {
                "id": "c1",
                "prompt": "What is 234 multiplied by 67?",
                "expected_tool": "calculator",
                "expected_keywords": ["15678"],
                "difficulty": "easy",
                "agent_type": "code",
            },
        ],
    )
    from fakes.llm_server import by_task

    llm_server.set_responder(
        by_task(
            {
                "Weather in Paris": [
                    tool_call("get_weather", location="Paris, France"),
                    tool_call("final_answer", answer="22°C in Paris"),
                ],
                "Compare Paris": sequence(
                    tool_call("get_weather", location="Paris, France"),
                    tool_call("get_weather", location="London, UK"),
                    tool_call("final_answer", answer="Paris is warmer"),
                ),
                "234 multiplied": [code('r = calculator(expression="234 * 67")\nfinal_answer(r)')],
            }
        )
    )
    out = tmp_path / "out"
    result = run_cli(
        "--provider",
        "litellm",
        "--model",
        "openai/gpt-4o-mini",
        "--api-base",
        llm_server.openai_base,
        "--dataset-name",
        str(tasks),
        "--output-format",
        "json",
        "--output-dir",
        str(out),
        "--model-args",
        "temperature=0.3",
        "seed=7",
        "max_tokens=256",
        "top_p=0.9",
    )
    assert result.returncode == 0, result.stderr
    rows = load(only_run_folder(out), "results.json")
    assert [(r["task_id"], r["agent_type"], r["success"]) for r in rows] == [
        ("w1", "tool", True),
        ("w2", "tool", True),
        ("c1", "code", True),
    ]
    assert rows[2]["tools_used"] == ["calculator"] and rows[1]["tools_used"] == ["get_weather"] * 2
    requests, usages = llm_server.requests, llm_server.usages
    assert len(requests) == len(usages) == 2 + 3 + 1
    for body in requests:
        assert (
            body["temperature"] == 0.3
            and body["seed"] == 7
            and body["max_tokens"] == 256
            and body["top_p"] == 0.9
        )
        # not smuggled into the task text, as the original did through smolagents' additional_args
        task_message = json.dumps(
            next(m for m in body["messages"] if m["role"] == "user")["content"]
        )
        assert "additional arguments" not in task_message and "0.3" not in task_message
    per_task: dict[str, list[dict]] = {"w1": [], "w2": [], "c1": []}
    for body, usage in zip(requests, usages, strict=True):
        first_user = next(m for m in body["messages"] if m["role"] == "user")
        text = json.dumps(first_user["content"])
        key = "w1" if "Weather in Paris" in text else "w2" if "Compare Paris" in text else "c1"
        per_task[key].append(usage)
    for row in rows:
        sent = per_task[row["task_id"]]
        prompt = sum(u["prompt_tokens"] for u in sent)
        completion = sum(u["completion_tokens"] for u in sent)
        assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (
            prompt,
            completion,
            prompt + completion,
        )
        assert row["cost_usd"] == pytest.approx(gpt4o_mini_price(prompt, completion), rel=1e-12)
    board = load(only_run_folder(out), "leaderboard_row.json")
    assert board["total_tokens"] == sum(u["total_tokens"] for u in usages)
    # 10 decimals: the figure keeps its significant digits (4 here), not the 6-decimal stub
    assert board["total_cost_usd"] == round(
        sum(gpt4o_mini_price(u["prompt_tokens"], u["completion_tokens"]) for u in usages), 10
    )


def run_three_tool_tasks(tmp_path: Path, llm_server, model: str) -> subprocess.CompletedProcess:
    """Run three plain tool tasks through litellm against the scripted server, JSON output."""
    tasks = write_tasks(
        tmp_path / "t.jsonl",
        [
            {
                "id": f"t{i}",
                "prompt": f"Task number {i}",
                "difficulty": "easy",
                "agent_type": "tool",
            }
            for i in range(3)
        ],
    )
    return run_cli(
        "--provider",
        "litellm",
        "--model",
        model,
        "--api-base",
        llm_server.openai_base,
        "--dataset-name",
        str(tasks),
        "--output-format",
        "json",
        "--output-dir",
        str(tmp_path / "out"),
        "--agent-type",
        "tool",
        "--max-error-rate",
        "0.5",
    )


def test_model_error_is_recorded_and_run_continues(tmp_path: Path, llm_server) -> None:
    llm_server.fail_next(400, times=1)
    result = run_three_tool_tasks(tmp_path, llm_server, "openai/gpt-4o-mini")
    assert result.returncode == 0, result.stderr
    folder = only_run_folder(tmp_path / "out")
    rows = load(folder, "results.json")
    assert rows[0]["success"] is False and "Error" in rows[0]["error"]
    assert [r["success"] for r in rows[1:]] == [True, True] and rows[1]["error"] is None
    # a priced model that made no call costs exactly 0; the run total is the other rows' sum
    assert rows[0]["total_tokens"] == 0 and rows[0]["cost_usd"] == 0.0
    expected = sum(gpt4o_mini_price(r["prompt_tokens"], r["completion_tokens"]) for r in rows)
    assert load(folder, "leaderboard_row.json")["total_cost_usd"] == pytest.approx(expected)


def test_unpriced_model_cost_stays_null_also_for_a_task_without_model_calls(
    tmp_path: Path, llm_server
) -> None:
    llm_server.fail_next(400, times=1)
    result = run_three_tool_tasks(tmp_path, llm_server, "openai/smoltrace-unpriced-model")
    assert result.returncode == 0, result.stderr
    folder = only_run_folder(tmp_path / "out")
    rows = load(folder, "results.json")
    assert rows[0]["total_tokens"] == 0 and rows[0]["error"]
    assert [r["cost_usd"] for r in rows] == [None, None, None]
    assert rows[1]["total_tokens"] > 0
    board = load(folder, "leaderboard_row.json")
    assert board["total_cost_usd"] is None and board["avg_cost_per_test_usd"] is None


def test_run_where_every_task_errored_exits_1_and_keeps_the_outputs(
    tmp_path: Path, llm_server
) -> None:
    llm_server.fail_next(401, times=1000, body='{"error": {"message": "invalid api key"}}')
    result = run_three_tool_tasks(tmp_path, llm_server, "openai/gpt-4o-mini")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "every task failed with an error" in result.stderr
    assert "[SUCCESS]" not in result.stdout
    folder = only_run_folder(tmp_path / "out")
    assert (folder / "metadata.json").is_file()
    assert all(r["error"] for r in load(folder, "results.json"))


def test_model_folder_that_does_not_load_is_one_error_and_leaves_no_run_folder(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    out = tmp_path / "out"
    result = run_cli(
        "--provider",
        "transformers",
        "--model",
        str(broken),
        "--agent-type",
        "tool",
        "--output-format",
        "json",
        "--output-dir",
        str(out),
        env=cli_env(HF_HUB_OFFLINE="1"),
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("smoltrace-eval: error: could not load model"), result.stderr
    assert str(broken) in last
    assert not out.exists() or list(out.iterdir()) == []


def test_task_expecting_a_tool_the_run_lacks_is_flagged_up_front(tmp_path: Path) -> None:
    tasks = write_tasks(
        tmp_path / "t.jsonl",
        [
            {
                "id": "needs_stock_tool",
                "prompt": "What is the ACME share price?",
                "expected_tool": "get_stock_price",
                "agent_type": "tool",
            }
        ],
    )
    result = run_cli(
        "--provider",
        "mock",
        "--model",
        "oracle",
        "--dataset-name",
        str(tasks),
        "--output-format",
        "json",
        "--output-dir",
        str(tmp_path / "out"),
    )
    assert result.returncode == 0, result.stderr
    assert "needs_stock_tool expects tool 'get_stock_price'" in result.stderr
    assert "cannot pass" in result.stderr


def test_ollama_provider_uses_api_base_and_ollama_host(tmp_path: Path, llm_server) -> None:
    tasks = write_tasks(
        tmp_path / "t.jsonl",
        [
            {
                "id": "tokyo",
                "prompt": "Use the weather tool for Tokyo, Japan.",
                "expected_tool": "get_weather",
                "expected_tool_calls": 1,
                "expected_keywords": ["18", "clear"],
                "difficulty": "easy",
                "agent_type": "tool",
            }
        ],
    )
    for how in ("flag", "env"):
        llm_server.set_responder(
            sequence(
                tool_call("get_weather", location="Tokyo, Japan"),
                tool_call("final_answer", answer="18°C and clear"),
            )
        )
        out = tmp_path / how
        extra = ["--api-base", llm_server.url] if how == "flag" else []
        env = (
            cli_env(OLLAMA_HOST=llm_server.url.removeprefix("http://"))
            if how == "env"
            else cli_env()
        )
        result = run_cli(
            "--provider",
            "ollama",
            "--model",
            "llama3",
            "--dataset-name",
            str(tasks),
            "--agent-type",
            "tool",
            "--output-format",
            "json",
            "--output-dir",
            str(out),
            *extra,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        row = load(only_run_folder(out), "results.json")[0]
        assert row["success"] is True and row["tools_used"] == ["get_weather"]
        assert row["total_tokens"] > 0
    assert llm_server.unhandled == []


def test_quiet_prints_only_the_final_line(tmp_path: Path) -> None:
    result = run_cli(
        "--provider",
        "mock",
        "--model",
        "oracle",
        "--agent-type",
        "tool",
        "--difficulty",
        "easy",
        "--output-format",
        "json",
        "--output-dir",
        str(tmp_path),
        "--quiet",
    )
    assert result.returncode == 0
    assert result.stdout.strip().splitlines() == [result.stdout.strip()]
    assert result.stdout.startswith("[SUCCESS] Evaluation complete: 5/5 passed (100.0%)")
    assert result.stderr == ""


def test_interrupted_run_keeps_finished_tasks(tmp_path: Path, llm_server) -> None:
    """Deterministic: the signal is sent when task 3's model call has reached the server (and
    hangs there), so tasks 0-2 are finished and journaled whatever the machine's speed."""
    tasks = write_tasks(
        tmp_path / "t.jsonl",
        [
            {
                "id": f"slow{i}",
                "prompt": f"Slow task {i}",
                "difficulty": "easy",
                "agent_type": "tool",
            }
            for i in range(20)
        ],
    )
    arrived = threading.Event()

    def hang_task_3(conversation: str, position: int):
        if "Slow task 3" in conversation:
            arrived.set()
            return hang()
        return None

    llm_server.set_faults(hang_task_3)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            SMOLTRACE,
            "--provider",
            "litellm",
            "--model",
            "openai/gpt-4o-mini",
            "--api-base",
            llm_server.openai_base,
            "--dataset-name",
            str(tasks),
            "--agent-type",
            "tool",
            "--output-format",
            "json",
            "--output-dir",
            str(out),
        ],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert arrived.wait(120), "task 3 never called the model"
        requests_at_signal = len(llm_server.requests)
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    assert len(llm_server.requests) == requests_at_signal  # no model call after the signal
    journal = only_run_folder(out) / "records.jsonl"
    kept = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [(r["test_id"], r["stop_reason"]) for r in kept] == [
        *((f"slow{i}", "final_answer") for i in range(3)),
        ("slow3", "interrupted"),
    ]
    assert kept[3]["error"] is None  # an interruption is not an error
    meta = json.loads((journal.parent / "metadata.json").read_text())
    assert meta["run_status"] == "partial" and meta["interrupted_tests"] == 17
    assert meta["completed_tests"] == 3 and meta["errored_tests"] == 0


@pytest.mark.slow
def test_transformers_tiny_model_pipeline_holds(tmp_path: Path, tiny_model_dir: Path) -> None:
    result = run_cli(
        "--provider",
        "transformers",
        "--model",
        str(tiny_model_dir),
        "--agent-type",
        "both",
        "--dataset-name",
        "smoltrace-fallback",
        "--max-steps",
        "1",
        "--parallel-workers",
        "2",
        "--model-args",
        "max_tokens=8",
        "do_sample=false",
        "--output-format",
        "json",
        "--output-dir",
        str(tmp_path),
        env=cli_env(HF_HUB_OFFLINE="1"),
    )
    assert result.returncode == 0, result.stderr
    assert "using 1 worker" in result.stderr
    # the garbage output makes every step fail; smolagents' own console log of that stays off
    # (it would tear the progress display apart), the summary is there and names the stop reason
    for agent_log in ("Reached max steps.", "━ Step 1 ━", "Final answer:"):
        assert agent_log not in result.stdout + result.stderr
    assert "stop=max_steps error: AgentMaxStepsError" in result.stdout
    assert "COMBINED SUMMARY" in result.stdout
    rows = load(only_run_folder(tmp_path), "results.json")
    assert [r["task_id"] for r in rows] == [
        "tool_weather_single",
        "tool_weather_compare",
        "code_calculator_single",
    ]
    for row in rows:
        assert isinstance(row["success"], bool)
        assert row["prompt_tokens"] > 0 and row["completion_tokens"] > 0
        assert row["cost_usd"] is None  # a local model has no API price
        assert row["steps"] >= 1


def test_run_evaluation_api_with_inference_provider(llm_server) -> None:
    """The Python API returns the seed's 5-tuple; the `inference` provider reaches the server."""
    from smoltrace.core import run_evaluation
    from smoltrace.tasks import TaskSet

    llm_server.set_responder(
        sequence(
            tool_call("get_weather", location="Tokyo, Japan"),
            tool_call("final_answer", answer="18 and clear"),
        )
    )
    tasks = TaskSet(
        [
            {
                "id": "t",
                "prompt": "Weather in Tokyo, Japan?",
                "expected_tool": "get_weather",
                "difficulty": "easy",
                "agent_type": "tool",
            }
        ],
        "inline",
    )
    all_results, traces, metrics, dataset, run_id = run_evaluation(
        "my-model",
        ["tool"],
        provider="inference",
        api_base=llm_server.openai_base,
        model_args={"temperature": 0.1},
        task_set=tasks,
        run_id="api-run-1",
    )
    assert set(all_results) == {"tool", "code"} and all_results["code"] == []
    assert traces == [] and metrics == {
        "run_id": "api-run-1",
        "resourceMetrics": [],
        "aggregates": [],
    }
    assert dataset == "inline" and run_id == "api-run-1"
    record = all_results["tool"][0]
    assert record["success"] is True and record["run_id"] == "api-run-1"
    assert record["total_tokens"] == sum(u["total_tokens"] for u in llm_server.usages)
    assert all(body["temperature"] == 0.1 for body in llm_server.requests)
