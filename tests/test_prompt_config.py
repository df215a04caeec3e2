"""`--prompt-yml`: smolagents' own template layout works and reaches the model, agent settings apply,
mistakes are errors and `grammar` only warns.

Real agents call the scripted server through litellm, so what is checked is the system prompt the
model actually received.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import BIN, cli_env
from fakes.llm_server import message_text, text, tool_call

from smoltrace.agents import build_agent, load_prompt_config
from smoltrace.core import run_evaluation
from smoltrace.errors import ConfigError

MODEL = "openai/gpt-4o-mini"
MARKER = "HOUSE RULE 7: always answer in exactly one sentence."
TASK = {
    "id": "weather",
    "prompt": "What's the weather in Paris, France?",
    "expected_tool": "get_weather",
    "expected_keywords": ["22"],
    "difficulty": "easy",
    "agent_type": "both",
}


def smolagents_template(agent_type: str) -> dict:
    name = "toolcalling_agent.yaml" if agent_type == "tool" else "code_agent.yaml"
    source = importlib.resources.files("smolagents.prompts").joinpath(name).read_text()
    return yaml.safe_load(source)


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run(tmp_path: Path, server, agent_type: str, prompt_config, max_steps: int = 6) -> dict:
    dataset = tmp_path / "task.jsonl"
    dataset.write_text(json.dumps(TASK) + "\n", encoding="utf-8")
    all_results, *_ = run_evaluation(
        MODEL,
        [agent_type],
        None,
        str(dataset),
        provider="litellm",
        prompt_config=prompt_config,
        api_base=server.openai_base,
        max_steps=max_steps,
        verbose=False,
    )
    [record] = all_results[agent_type]
    return record


def system_prompt_sent(server) -> str:
    first = server.requests[0]["messages"][0]
    assert first["role"] == "system"
    return message_text(first)


@pytest.mark.parametrize("agent_type", ["tool", "code"])
def test_smolagents_template_file_reaches_the_model(
    tmp_path: Path, llm_server, agent_type: str
) -> None:
    template = smolagents_template(agent_type)
    assert {"system_prompt", "planning", "managed_agent", "final_answer"} <= set(template)
    template["system_prompt"] += f"\n{MARKER}"
    config = load_prompt_config(str(write_yaml(tmp_path / "prompts.yaml", template)))
    if agent_type == "tool":
        llm_server.set_responder(
            lambda body: (
                tool_call("final_answer", answer="It is 22°C in Paris.")
                if body.get("tools")
                else text("unexpected")
            )
        )
    else:
        llm_server.set_responder(lambda body: text('<code>\nfinal_answer("It is 22°C")\n</code>'))
    record = run(tmp_path, llm_server, agent_type, config)
    assert record["error"] is None and record["final_answer_called"] is True
    sent = system_prompt_sent(llm_server)
    assert sent.rstrip().endswith(MARKER)
    # the template's placeholders were rendered: tool descriptions in, no Jinja left
    assert "get_weather" in sent and "calculator" in sent
    assert "{{" not in sent and "{%" not in sent


def test_partial_template_keeps_the_other_defaults(tmp_path: Path, llm_server) -> None:
    path = tmp_path / "partial.yml"
    path.write_text(
        "system_prompt: |-\n"
        "  You are a weather bot. Tools:\n"
        "  {%- for tool in tools.values() %} {{ tool.name }}{%- endfor %}\n"
        f"  {MARKER}\n",
        encoding="utf-8",
    )
    llm_server.set_responder(lambda body: tool_call("final_answer", answer="22°C"))
    record = run(tmp_path, llm_server, "tool", load_prompt_config(str(path)))
    assert record["error"] is None and record["success"] is False  # no get_weather call
    sent = system_prompt_sent(llm_server)
    assert sent.startswith("You are a weather bot. Tools:")
    for name in ("get_weather", "calculator", "get_current_time", "web_search", "final_answer"):
        assert f" {name}" in sent
    assert sent.endswith(MARKER)


def test_max_steps_from_the_file_limits_the_agent(tmp_path: Path, llm_server) -> None:
    path = tmp_path / "steps.yml"
    path.write_text("max_steps: 2\n", encoding="utf-8")
    config = load_prompt_config(str(path))
    assert config == {"max_steps": 2}

    # a model that never stops calling the tool; without tools offered it can only answer in text
    def endless(body: dict):
        if body.get("tools"):
            return tool_call("get_weather", location="Paris, France")
        return text("I ran out of steps.")

    llm_server.set_responder(endless)
    record = run(tmp_path, llm_server, "tool", config, max_steps=5)  # the file wins over 5
    with_tools = [r for r in llm_server.requests if r.get("tools")]
    assert len(with_tools) == 2
    assert record["tools_used"] == ["get_weather", "get_weather"]
    assert record["final_answer_called"] is False and record["success"] is False

    # the same run without the file takes the 5 steps it is given
    before = len(llm_server.requests)
    record = run(tmp_path, llm_server, "tool", None, max_steps=5)
    assert len([r for r in llm_server.requests[before:] if r.get("tools")]) == 5
    assert record["tools_used"] == ["get_weather"] * 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("max_steps: 3\nsystem_promt: hi\n", "unknown key(s) system_promt"),
        ("tools: [calculator]\ntemperature: 0.2\n", "unknown key(s) temperature, tools"),
        ("max_steps: two\n", "'max_steps' must be an integer >= 1"),
        ("max_steps: 0\n", "'max_steps' must be an integer >= 1"),
        ("planning_interval: 0\n", "'planning_interval' must be an integer >= 1"),
        ("max_steps: true\n", "'max_steps' must be"),
        ("planning: just text\n", "'planning' must be a mapping"),
        ("system_prompt: [a, b]\n", "'system_prompt' must be a string"),
        ("- system_prompt\n", "top level must be a mapping"),
    ],
)
def test_invalid_files_are_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_prompt_config(str(path))
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_unreadable_files_are_errors(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes("system_prompt: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_prompt_config(str(latin1))
    with pytest.raises(ConfigError, match="cannot read --prompt-yml"):
        load_prompt_config(str(tmp_path / "absent.yml"))
    with pytest.raises(ConfigError, match="cannot read --prompt-yml"):
        load_prompt_config(str(tmp_path))  # a folder


def test_unknown_key_error_lists_the_allowed_keys(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("max_step: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"allowed: .*max_steps"):
        load_prompt_config(str(path))


def test_no_file_means_no_config() -> None:
    assert load_prompt_config(None) is None
    assert load_prompt_config("") is None


def test_empty_file_is_no_settings(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    assert load_prompt_config(str(path)) == {}


def test_grammar_only_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from smolagents.models import Model

    path = tmp_path / "grammar.yml"
    path.write_text("grammar:\n  type: regex\n  value: '.*'\nmax_steps: 3\n", encoding="utf-8")
    config = load_prompt_config(str(path))  # not an error
    caplog.set_level(logging.WARNING, logger="smoltrace.agents")
    agent = build_agent("tool", Model(), prompt_config=config)
    assert agent.max_steps == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "grammar" in warnings[0].getMessage()


def test_cli_runs_with_a_smolagents_template_file(tmp_path: Path) -> None:
    template = smolagents_template("tool")
    template["system_prompt"] += f"\n{MARKER}"
    prompts = write_yaml(tmp_path / "prompts.yaml", template)
    out = tmp_path / "out"
    result = subprocess.run(
        [
            str(BIN / "smoltrace-eval"),
            *("--provider", "mock", "--model", "oracle", "--agent-type", "tool"),
            *("--dataset-name", "smoltrace-fallback", "--prompt-yml", str(prompts)),
            *("--output-format", "json", "--output-dir", str(out), "--quiet"),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    [folder] = [p for p in out.iterdir() if p.is_dir()]
    rows = json.loads((folder / "results.json").read_text())
    assert [r["task_id"] for r in rows] == ["tool_weather_single", "tool_weather_compare"]
    assert all(r["success"] for r in rows)
