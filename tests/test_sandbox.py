"""Nothing a user's input file says can run on the host: Jinja payloads in prompt YAMLs are refused
before smolagents renders them, and host-access imports need `--allow-host-access`.

Each payload here would really execute without the check (smolagents renders templates with a plain
`jinja2.Template`, the system prompt already while building the agent): the tests look for the file
the payload would create, and count the requests the scripted model server received.
"""

from __future__ import annotations

import importlib.resources
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import BIN, cli_env
from fakes.llm_server import code

from smoltrace.agents import build_agent, load_prompt_config
from smoltrace.core import run_evaluation
from smoltrace.errors import ConfigError
from smoltrace.sandbox import check_imports, check_prompt_templates, check_template
from smoltrace.sandbox.templates import MAX_LOOP_DEPTH

SMOLTRACE = str(BIN / "smoltrace-eval")
TASK = {
    "id": "sum",
    "prompt": "What is 2 + 3?",
    "expected_keywords": ["5"],
    "difficulty": "easy",
    "agent_type": "code",
}


def payload(marker: Path) -> str:
    """The classic Jinja escape: reach `os` through a global's `__init__.__globals__`."""
    return "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_tasks(path: Path) -> Path:
    path.write_text(json.dumps(TASK) + "\n", encoding="utf-8")
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SMOLTRACE, *args], capture_output=True, text=True, env=cli_env(), timeout=240
    )


def test_the_payload_is_real_unsandboxed_jinja_runs_it(tmp_path: Path) -> None:
    """Guards the premise: the payload executes when rendered the way smolagents renders."""
    from smolagents.agents import populate_template

    marker = tmp_path / "pwned"
    populate_template(payload(marker), {})
    assert marker.exists()


@pytest.mark.parametrize("section", ["system_prompt", "planning", "prompt_templates"])
def test_payload_in_a_prompt_yaml_is_refused_before_anything_runs(
    tmp_path: Path, llm_server, section: str
) -> None:
    marker = tmp_path / "pwned"
    sections: dict = {
        "system_prompt": payload(marker),
        "planning": {"initial_plan": "ok {{ task }}", "update_plan_pre_messages": payload(marker)},
        "prompt_templates": {"final_answer": {"pre_messages": payload(marker)}},
    }
    config = write_yaml(tmp_path / "prompts.yaml", {section: sections[section]})
    result = run_cli(
        "--provider", "litellm", "--model", "openai/gpt-4o-mini",
        "--api-base", llm_server.openai_base, "--agent-type", "both",
        "--dataset-name", str(write_tasks(tmp_path / "t.jsonl")),
        "--prompt-yml", str(config), "--output-format", "json",
        "--output-dir", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "calling 'system' is not allowed" in lines[0], result.stderr
    assert "--prompt-yml" in lines[0] and "line 1" in lines[0]
    assert not marker.exists()
    assert llm_server.requests == []
    assert not (tmp_path / "out").exists()


def test_payload_in_a_python_api_prompt_config_is_refused(tmp_path: Path, llm_server) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(ConfigError, match=r"'system_prompt'.*not allowed"):
        run_evaluation(
            "openai/gpt-4o-mini",
            ["code"],
            dataset_name=str(write_tasks(tmp_path / "t.jsonl")),
            prompt_config={"system_prompt": payload(marker)},
            api_base=llm_server.openai_base,
            verbose=False,
        )
    with pytest.raises(ConfigError):
        build_agent("tool", object(), prompt_config={"system_prompt": payload(marker)})
    assert not marker.exists()
    assert llm_server.requests == []


@pytest.mark.parametrize(
    "source, reason",
    [
        ("{{ self._TemplateReference__context }}", "private"),
        ("{{ tools['__class__'] }}", "private"),
        ("{{ tools[name] }}", "constant keys"),
        ("{{ x|attr('__class__') }}", "filter 'attr'"),
        ("{{ tools.values()|map(attribute='__class__') }}", "filter 'map'"),
        ("{{ lipsum() }}", "calling 'lipsum'"),
        ("{{ '{}'.format(tools) }}", "calling 'format'"),
        ("{% include 'x.txt' %}", "'include'"),
        ("{% import 'x' as y %}", "'import'"),
        ("{% macro m() %}{% endmacro %}", "'macro'"),
        ("{% set s = task ~ task %}{{ s }}", "'set'"),
        ("{{ 'a' * 100 }}", "'*'"),
        ("{{ 9 ** 9 }}", "'**'"),
        ("{{ '%0999d' % 1 }}", "'%'"),
        ("{{ task|indent(100000) }}", "numbers beyond"),
        ("{% for a in t %}{% for b in t %}{% for c in t %}{% endfor %}{% endfor %}{% endfor %}", "nested"),
        ("{% for a in t recursive %}{{ loop(a) }}{% endfor %}", "recursive"),
        ("{{ task", "invalid template"),
    ],
)  # fmt: skip
def test_template_outside_the_allow_list_is_refused(source: str, reason: str) -> None:
    with pytest.raises(ConfigError, match="T") as caught:
        check_template(source, "T")
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    "name", ["toolcalling_agent.yaml", "code_agent.yaml", "structured_code_agent.yaml"]
)
def test_smolagents_own_templates_pass(name: str) -> None:
    source = importlib.resources.files("smolagents.prompts").joinpath(name).read_text()
    check_prompt_templates(yaml.safe_load(source), name)


def test_allowed_template_renders_the_tools(tmp_path: Path) -> None:
    """Loops, branches, filters and the allowed method calls keep working (depth up to the limit)."""
    source = (
        "{% for tool in tools.values() %}{% for key in tool.inputs.keys() %}"
        "{{ tool.name|upper }}:{{ key }}{% if not loop.last %},{% endif %}{% endfor %}{% endfor %}"
        "{{ (custom_instructions or 'none')|trim }}"
    )
    assert source.count("{% for") == MAX_LOOP_DEPTH
    config = load_prompt_config(
        str(write_yaml(tmp_path / "p.yaml", {"system_prompt": source + " {{ tools|length }}"}))
    )
    from smoltrace.mock import OracleModel

    agent = build_agent("tool", OracleModel([TASK]), prompt_config=config)
    assert "GET_WEATHER:location" in agent.system_prompt
    assert agent.system_prompt.endswith(f"none {len(agent.tools)}")


# --- host-access imports ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module", ["os", "os.path", "subprocess", "sys", "shutil", "socket", "pathlib", "io",
               "builtins", "importlib", "ctypes", "multiprocessing", "*", "urllib.request"]
)  # fmt: skip
def test_host_access_import_needs_the_flag(module: str) -> None:
    with pytest.raises(ConfigError, match="--allow-host-access"):
        check_imports([module], None, allow_host_access=False)
    assert check_imports([module], None, allow_host_access=True) == [module]


def test_harmless_imports_pass_without_the_flag() -> None:
    assert check_imports(["numpy", "json", "collections.abc"], ["re"], False) == []


def test_cli_refuses_os_without_the_flag_before_any_call(tmp_path: Path, llm_server) -> None:
    tasks = str(write_tasks(tmp_path / "t.jsonl"))
    result = run_cli(
        "--model", "openai/gpt-4o-mini", "--api-base", llm_server.openai_base,
        "--dataset-name", tasks, "--agent-type", "code", "--additional-imports", "json", "os",
        "--output-format", "json", "--output-dir", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "importing os" in line and "--allow-host-access" in line
    assert llm_server.requests == []
    assert not (tmp_path / "out").exists()


def test_prompt_yaml_imports_are_checked_too(tmp_path: Path, llm_server) -> None:
    config = write_yaml(tmp_path / "p.yaml", {"additional_authorized_imports": ["subprocess"]})
    result = run_cli(
        "--model", "openai/gpt-4o-mini", "--api-base", llm_server.openai_base,
        "--dataset-name", str(write_tasks(tmp_path / "t.jsonl")), "--agent-type", "code",
        "--prompt-yml", str(config), "--output-format", "json",
        "--output-dir", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 2 and "importing subprocess" in result.stderr
    assert llm_server.requests == []
    with pytest.raises(ConfigError, match="importing subprocess"):
        run_evaluation(
            "openai/gpt-4o-mini",
            ["code"],
            dataset_name=str(write_tasks(tmp_path / "t.jsonl")),
            prompt_config={"additional_authorized_imports": ["subprocess"]},
            api_base=llm_server.openai_base,
            verbose=False,
        )
    assert llm_server.requests == []


def test_with_the_flag_the_grant_is_warned_about_and_recorded(tmp_path: Path, llm_server) -> None:
    llm_server.set_responder(lambda body: code("import os\nfinal_answer(str(2 + 3))"))
    result = run_cli(
        "--model", "openai/gpt-4o-mini", "--api-base", llm_server.openai_base,
        "--dataset-name", str(write_tasks(tmp_path / "t.jsonl")), "--agent-type", "code",
        "--additional-imports", "os", "--allow-host-access", "--output-format", "json",
        "--output-dir", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "--allow-host-access: the CodeAgent may import os" in result.stderr
    [folder] = (tmp_path / "out").iterdir()
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["sandbox"]["allow_host_access"] is True
    assert meta["sandbox"]["host_access_imports"] == ["os"]
    assert meta["manifest"]["allow_host_access"] is True
    assert meta["manifest"]["host_access_imports"] == ["os"]
    assert "--allow-host-access" in meta["manifest"]["reproduce_command"]
    [row] = json.loads((folder / "results.json").read_text())
    assert row["success"] is True and row["error"] is None


# --- code that is bounded in time ------------------------------------------------------------------

CODE_TASKS = [
    {"id": "slow", "prompt": "Sleep first", "expected_keywords": ["5"], "difficulty": "easy",
     "agent_type": "code"},
    {"id": "pow", "prompt": "Power first", "expected_keywords": ["5"], "difficulty": "easy",
     "agent_type": "code"},
    {"id": "add", "prompt": "Add 2 and 3", "expected_tool": "calculator",
     "expected_keywords": ["5"], "difficulty": "easy", "agent_type": "code"},
]  # fmt: skip


def test_code_past_its_limit_is_killed_and_ends_the_task(tmp_path: Path, llm_server) -> None:
    """`time.sleep(100)` and `9 ** 9 ** 8` (one GIL-holding C operation) are both stopped; the
    second reply, a correct final answer, is never requested, so the task cannot score a success.
    A later task on the same agent gets a fresh interpreter and its tool calls still work."""
    import time

    from fakes.llm_server import by_task

    llm_server.set_responder(
        by_task(
            {
                "Sleep first": [code("import time\ntime.sleep(100)"), code("final_answer('5')")],
                "Power first": [code("x = 9 ** 9 ** 8"), code("final_answer('5')")],
                "Add 2 and 3": [code("r = calculator(expression='2 + 3')\nfinal_answer(r)")],
            }
        )
    )
    dataset = tmp_path / "t.jsonl"
    dataset.write_text("".join(json.dumps(t) + "\n" for t in CODE_TASKS), encoding="utf-8")
    started = time.monotonic()
    all_results, *_ = run_evaluation(
        "openai/gpt-4o-mini",
        ["code"],
        dataset_name=str(dataset),
        api_base=llm_server.openai_base,
        verbose=False,
        tool_timeout=2,
    )
    elapsed = time.monotonic() - started
    slow, power, add = all_results["code"]
    for record in (slow, power):
        assert record["success"] is False
        assert record["error"].startswith("CodeLimitError: code execution stopped after 2 s")
        assert record["total_tokens"] > 0  # the step that overran is still accounted
    assert add["success"] is True and add["tools_used"] == ["calculator"], add
    assert len(llm_server.requests) == 3  # one per task: no second chance after an overrun
    assert elapsed < 100  # the sleep alone would take 100 s, the power far longer
    import multiprocessing

    # no code process outlives the run
    assert [p for p in multiprocessing.active_children() if p.name == "smoltrace-code"] == []


def test_process_executor_keeps_state_and_the_interpreter_rules() -> None:
    from smolagents.local_python_executor import InterpreterError

    from smoltrace.sandbox.executor import ProcessExecutor

    calls = []

    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    executor = ProcessExecutor([], timeout_s=30)
    try:
        executor.send_tools({"double": double})
        executor.send_variables({"start": 20})
        assert executor("y = double(start) + 2\nprint('got', y)\ny").output == 42
        out = executor("y + 1")
        assert out.output == 43 and out.is_final_answer is False
        assert calls == [20]
        with pytest.raises(InterpreterError, match="Import of os is not allowed"):
            executor("import os")
        with pytest.raises(InterpreterError, match="ValueError: bad"):
            executor("raise ValueError('bad')")
    finally:
        executor.cleanup()
    assert executor._process is None


def test_python_interpreter_tool_is_bounded_too() -> None:
    from smoltrace.sandbox.executor import CodeLimitError
    from smoltrace.tools import build_tools

    [tool] = [t for t in build_tools(["python_interpreter"]) if t.name == "python_interpreter"]
    assert tool(code="print('hi')\n1 + 2") == "Stdout:\nhi\n\nOutput: 3"  # as smolagents'
    tool.timeout_s = 1
    with pytest.raises(CodeLimitError, match="stopped after 1 s"):
        tool(code="x = 9 ** 9 ** 8")
