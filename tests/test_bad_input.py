"""Bad input through the real CLI: exit code 2, one clean line on stderr, nothing written, no model call.

Every case runs `smoltrace-eval` in a subprocess against its own scripted model server (where a
provider is needed the CLI gets `--provider litellm --model openai/gpt-4o-mini --api-base <server>`),
so a case that wrongly went ahead would show up as a request to the server. The subprocesses are
started together by one module fixture because each costs seconds of interpreter start-up, but each
test waits only for its own case, so a slow machine stretches no single test past its time limit.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import BIN, cli_env
from fakes.llm_server import ScriptedLLMServer

SMOLTRACE = str(BIN / "smoltrace-eval")
API_BASE = "{api_base}"  # replaced by the case's own server address
LITELLM = ("--provider", "litellm", "--model", "openai/gpt-4o-mini", "--api-base", API_BASE)
GOOD_TASK = {
    "id": "ok_task",
    "prompt": "What is 2 + 2?",
    "difficulty": "easy",
    "agent_type": "tool",
}


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


# Input files, created in the module's folder; "{dir}" in a case's arguments is that folder.
FILES: dict[str, bytes] = {
    "latin1.jsonl": '{"id": "caf\xe9", "prompt": "Qu\'est-ce que le caf\xe9 ?"}\n'.encode(
        "latin-1"
    ),
    "broken.jsonl": jsonl(GOOD_TASK) + b"\n" + b'{"id": "t2", "prompt": "unterminated\n',
    "no_id.jsonl": jsonl({"prompt": "What is 2 + 2?", "difficulty": "easy", "agent_type": "tool"}),
    "no_prompt.jsonl": jsonl(
        GOOD_TASK, {"id": "silent", "difficulty": "easy", "agent_type": "tool"}
    ),
    "bad_difficulty.jsonl": jsonl({**GOOD_TASK, "id": "hardest", "difficulty": "extreme"}),
    "bad_agent_type.jsonl": jsonl({**GOOD_TASK, "id": "robotic", "agent_type": "robot"}),
    "calls_as_text.jsonl": jsonl(
        GOOD_TASK,
        {
            **GOOD_TASK,
            "id": "two_calls",
            "expected_tool": "get_weather",
            "expected_tool_calls": "two",
        },
    ),
    "keywords_as_text.jsonl": jsonl({**GOOD_TASK, "id": "kw_task", "expected_keywords": "x"}),
    "broken.yml": b"max_steps: 3\nsystem_prompt: [unclosed, list\nplanning: {}\n",
    "blank_prompt.jsonl": jsonl(GOOD_TASK, {**GOOD_TASK, "id": "blank", "prompt": "  \n "}),
    "empty.jsonl": b"",
    "zero_calls.jsonl": jsonl(
        {**GOOD_TASK, "id": "no_calls", "expected_tool": "calculator", "expected_tool_calls": 0}
    ),
    "imports_as_text.yml": b"additional_authorized_imports: 'os'\n",
    "template_syntax.yml": b'system_prompt: "You have tools {% if %} and more"\n',
    "template_undefined.yml": b'planning:\n  initial_plan: "Plan {{ task }} with {{ nosuch }}"\n',
    "a_file": b"not a folder",
}


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    expect: tuple[str, ...]  # substrings the one error line must contain
    output_format: str | None = "json"
    env: dict[str, str] = field(default_factory=dict)
    output_dir: str | None = None  # default: a fresh folder of the case's own


CASES = [
    # agents are built (imports, templates) before any model call, for every agent type of the run
    Case(
        "additional import not installed",
        (*LITELLM, "--agent-type", "both", "--additional-imports", "no_such_module"),
        ("code agent", "no_such_module", "not installed"),
    ),
    Case(
        "prompt imports as a string",
        (*LITELLM, "--agent-type", "both", "--prompt-yml", "{dir}/imports_as_text.yml"),
        ("imports_as_text.yml", "additional_authorized_imports", "list of module names"),
    ),
    Case(
        "template syntax error",
        (*LITELLM, "--agent-type", "both", "--prompt-yml", "{dir}/template_syntax.yml"),
        ("template_syntax.yml", "'system_prompt'", "line 1", "invalid template"),
    ),
    Case(
        "template undefined variable",
        (*LITELLM, "--agent-type", "both", "--prompt-yml", "{dir}/template_undefined.yml"),
        ("'planning.initial_plan'", "undefined variable(s) nosuch", "task"),
    ),
    Case(
        "expected_tool_calls zero",
        (*LITELLM, "--dataset-name", "{dir}/zero_calls.jsonl"),
        ("zero_calls.jsonl", "no_calls", "expected_tool_calls", "at least 1 (got 0)"),
    ),
    Case(
        "missing dataset file",
        (*LITELLM, "--dataset-name", "{dir}/missing.jsonl"),
        ("missing.jsonl", "not found", "existing .json/.jsonl file"),
    ),
    Case(
        "dataset path is a folder",
        (*LITELLM, "--dataset-name", "{dir}/folder.jsonl"),
        ("folder.jsonl", "is a folder; pass a .json or .jsonl file"),
    ),
    Case(
        "dataset not UTF-8",
        (*LITELLM, "--dataset-name", "{dir}/latin1.jsonl"),
        ("latin1.jsonl", "UTF-8"),
    ),
    Case(
        "malformed JSON line",
        (*LITELLM, "--dataset-name", "{dir}/broken.jsonl"),
        ("broken.jsonl", "line 3", "malformed JSON"),
    ),
    Case(
        "task missing id",
        (*LITELLM, "--dataset-name", "{dir}/no_id.jsonl"),
        ("no_id.jsonl", "line 1", "'id'"),
    ),
    Case(
        "task missing prompt",
        (*LITELLM, "--dataset-name", "{dir}/no_prompt.jsonl"),
        ("no_prompt.jsonl", "line 2", "'prompt'"),
    ),
    Case(
        "invalid difficulty",
        (*LITELLM, "--dataset-name", "{dir}/bad_difficulty.jsonl"),
        ("line 1", "hardest", "'extreme'", "easy, medium, hard"),
    ),
    Case(
        "invalid agent_type",
        (*LITELLM, "--dataset-name", "{dir}/bad_agent_type.jsonl"),
        ("line 1", "robotic", "'robot'", "tool, code, both"),
    ),
    Case(
        "expected_tool_calls is text",
        (*LITELLM, "--dataset-name", "{dir}/calls_as_text.jsonl"),
        ("calls_as_text.jsonl", "line 2", "two_calls", "expected_tool_calls", "integer"),
    ),
    Case(
        "expected_keywords is text",
        (*LITELLM, "--dataset-name", "{dir}/keywords_as_text.jsonl"),
        ("keywords_as_text.jsonl", "line 1", "kw_task", "expected_keywords", "list of strings"),
    ),
    Case(
        "unknown provider",
        ("--provider", "nope", "--model", "openai/gpt-4o-mini", "--api-base", API_BASE),
        ("'nope'", "litellm, inference, transformers, ollama, mock"),
    ),
    Case(
        "missing OpenAI key",
        ("--provider", "litellm", "--model", "openai/gpt-4o-mini"),
        ("OPENAI_API_KEY", "--api-base"),
        # were the key check skipped, litellm would send the request to this case's server
        env={"OPENAI_API_BASE": API_BASE},
    ),
    Case(
        "missing Anthropic key",
        ("--provider", "litellm", "--model", "anthropic/claude-3-5-sonnet-20240620"),
        ("ANTHROPIC_API_KEY",),
        env={"ANTHROPIC_API_BASE": API_BASE},
    ),
    Case(
        "malformed --model-args",
        (*LITELLM, "--model-args", "temperature"),
        ("--model-args", "'temperature'", "key=value"),
    ),
    Case(
        "missing --prompt-yml",
        (*LITELLM, "--prompt-yml", "{dir}/no-such-prompts.yml"),
        ("no-such-prompts.yml", "cannot read"),
    ),
    Case(
        "invalid YAML in --prompt-yml",
        (*LITELLM, "--prompt-yml", "{dir}/broken.yml"),
        ("broken.yml", "line 3", "invalid YAML"),
    ),
    Case(
        "unknown tool",
        (*LITELLM, "--enable-tools", "nope"),
        ("--enable-tools", "nope", "duckduckgo_search"),
    ),
    Case("run id with a path", (*LITELLM, "--run-id", "../x"), ("'../x'", "letters, digits")),
    Case("run id with a space", (*LITELLM, "--run-id", "a b"), ("'a b'", "letters, digits")),
    Case(
        "zero parallel workers",
        (*LITELLM, "--parallel-workers", "0"),
        ("--parallel-workers", "at least 1"),
    ),
    Case(
        "blank prompt",
        (*LITELLM, "--dataset-name", "{dir}/blank_prompt.jsonl"),
        ("blank_prompt.jsonl", "line 2", "blank", "'prompt'"),
    ),
    Case(
        "empty dataset file",
        (*LITELLM, "--dataset-name", "{dir}/empty.jsonl"),
        ("no tasks to run", "empty.jsonl has 0 task(s)"),
    ),
    Case(
        "no task matches the filters",
        (*LITELLM, "--agent-type", "code", "--difficulty", "hard"),
        ("no tasks to run", "smoltrace-tasks has 13 task(s)", "agent type code, difficulty hard"),
    ),
    Case(
        "invalid flag value",
        (*LITELLM, "--difficulty", "extreme"),
        ("--difficulty", "'extreme'", "(see smoltrace-eval --help)"),
    ),
    Case("missing --model", ("--provider", "mock"), ("required", "--model")),
    Case(
        "output dir below a file",
        LITELLM,
        ("--output-dir", "a_file is a file, not a folder"),
        output_dir="{dir}/a_file/runs",
    ),
    Case(
        "unknown litellm provider prefix",
        ("--provider", "litellm", "--model", "foo/bar", "--api-base", API_BASE),
        ("'foo/bar'", "openai/gpt-4o-mini"),
    ),
    Case(
        "unknown inference backend",
        (
            "--provider",
            "inference",
            "--model",
            "org/model",
            "--api-base",
            API_BASE,
            "--hf-inference-provider",
            "nosuch",
        ),
        ("--hf-inference-provider", "'nosuch'", "together"),
    ),
    Case(
        "model folder missing",
        ("--provider", "transformers", "--model", "{dir}/no-such-model", "--agent-type", "tool"),
        ("model folder not found", "no-such-model"),
        env={"HF_HUB_OFFLINE": "1"},
    ),
    Case(
        "hub output without a token",
        LITELLM,
        ("--output-format hub", "HF_TOKEN", "--hf-token-file"),
        output_format="hub",
        env={"HF_HOME": "{dir}/empty-hf-home"},
    ),
]


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    output_dir: Path
    requests: list[dict]
    unhandled: list[str]


def _fill(value: str, folder: Path, api_base: str) -> str:
    return value.replace("{dir}", str(folder)).replace(API_BASE, api_base)


def _run_case(case: Case, folder: Path) -> Outcome:
    server = ScriptedLLMServer().start()
    try:
        output_dir = (
            Path(_fill(case.output_dir, folder, ""))
            if case.output_dir
            else folder / "out" / case.name.replace(" ", "_").replace("/", "_")
        )
        args = [_fill(a, folder, server.openai_base) for a in case.args]
        if case.output_format:
            args += ["--output-format", case.output_format]
        env = cli_env(**{k: _fill(v, folder, server.openai_base) for k, v in case.env.items()})
        result = subprocess.run(
            [SMOLTRACE, *args, "--output-dir", str(output_dir)],
            capture_output=True,
            text=True,
            env=env,
            cwd=folder,
            timeout=120,
        )
        return Outcome(
            result.returncode,
            result.stdout,
            result.stderr,
            output_dir,
            server.requests,
            server.unhandled,
        )
    finally:
        server.stop()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Outcome]]]:
    """Every case started at once, in test order, on a small pool; tests wait for their own."""
    folder = tmp_path_factory.mktemp("bad-input")
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    (folder / "folder.jsonl").mkdir()
    (folder / "empty-hf-home").mkdir()
    pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
    try:
        yield {case.name: pool.submit(_run_case, case, folder) for case in CASES}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_cases_are_distinct() -> None:
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_clean_error_line(
    case: Case, outcomes: dict[str, Future[Outcome]]
) -> None:
    outcome = outcomes[case.name].result()
    shown = f"stdout:\n{outcome.stdout}\nstderr:\n{outcome.stderr}"
    assert outcome.returncode == 2, shown
    assert "Traceback" not in outcome.stdout + outcome.stderr, shown
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, shown
    assert lines[0].startswith("smoltrace-eval: error: "), shown
    for expected in case.expect:
        assert expected in lines[0], (expected, lines[0])
    assert outcome.stdout.strip() == "", shown
    assert not outcome.output_dir.exists() or not any(outcome.output_dir.iterdir())
    assert outcome.requests == [], "a model call was made"
    assert outcome.unhandled == []
