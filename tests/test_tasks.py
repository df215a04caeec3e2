"""Task loading: built-in suites, local JSON / JSONL files, validation and filtering.

Expected ids, prompts and counts come from the reference (anchor §5.2/§5.3: the 3 fallback tasks of
the original and the 13-task suite, 6 tool + 2 shared + 5 code), not from the package's data files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smoltrace.errors import ConfigError
from smoltrace.tasks import (
    DEFAULT_DATASET,
    fallback_tasks,
    filter_tasks,
    load_tasks,
    validate_task,
)

TOOL_SIDE_IDS = [
    "tool_weather_single",
    "tool_time_single",
    "tool_search_single",
    "tool_weather_compare",
    "tool_search_and_summarize",
    "tool_weather_time_combined",
    "shared_basic_weather",
    "shared_basic_search",
]
FALLBACK = [
    (
        "tool_weather_single",
        "What's the weather in Paris, France?",
        "get_weather",
        1,
        "easy",
        "tool",
    ),
    (
        "tool_weather_compare",
        "Compare the weather in Paris, France and London, UK. Which one is warmer?",
        "get_weather",
        2,
        "medium",
        "tool",
    ),
    ("code_calculator_single", "What is 234 multiplied by 67?", "calculator", 1, "easy", "code"),
]


def task(task_id: str, **fields) -> dict:
    return {"id": task_id, "prompt": f"Prompt of {task_id}", **fields}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# --- built-in suites ---------------------------------------------------------------------------


def test_builtin_suite_has_13_tasks_8_tool_side_and_7_code_side() -> None:
    suite = load_tasks()
    assert DEFAULT_DATASET == "smoltrace-tasks"
    assert suite.source == "smoltrace-tasks" and suite.revision is None
    ids = [t["id"] for t in suite.tasks]
    assert len(ids) == 13 and len(set(ids)) == 13
    tool_side = filter_tasks(suite.tasks, "tool", None)
    code_side = filter_tasks(suite.tasks, "code", None)
    assert [t["id"] for t in tool_side] == TOOL_SIDE_IDS
    assert len(code_side) == 7
    shared = {t["id"] for t in suite.tasks if t["agent_type"] == "both"}
    assert shared == {"shared_basic_weather", "shared_basic_search"}
    assert shared <= {t["id"] for t in code_side}
    assert "code_calculator_single" in {t["id"] for t in code_side}
    assert len(tool_side) + len(code_side) - len(shared) == 13


def test_builtin_suite_only_expects_tools_the_agents_have() -> None:
    from smoltrace.tools import DEFAULT_TOOL_CLASSES

    names = {cls.name for cls in DEFAULT_TOOL_CLASSES} | {"multiple", None}
    for t in load_tasks("smoltrace-tasks").tasks:
        assert t.get("expected_tool") in names, t["id"]
        assert t["difficulty"] in ("easy", "medium", "hard")
        assert isinstance(t.get("expected_keywords", []), list)


def test_builtin_suite_difficulty_filter_for_the_tool_agent() -> None:
    tasks = load_tasks().tasks
    by_level = {
        d: [t["id"] for t in filter_tasks(tasks, "tool", d)] for d in ("easy", "medium", "hard")
    }
    assert by_level == {
        "easy": [
            "tool_weather_single",
            "tool_time_single",
            "tool_search_single",
            "shared_basic_weather",
            "shared_basic_search",
        ],
        "medium": ["tool_weather_compare", "tool_search_and_summarize"],
        "hard": ["tool_weather_time_combined"],
    }


def test_fallback_suite_is_the_three_original_tasks() -> None:
    for tasks in (load_tasks("smoltrace-fallback").tasks, fallback_tasks()):
        got = [
            (
                t["id"],
                t["prompt"],
                t["expected_tool"],
                t["expected_tool_calls"],
                t["difficulty"],
                t["agent_type"],
            )
            for t in tasks
        ]
        assert got == FALLBACK


# --- local files -------------------------------------------------------------------------------


def test_json_list_file(tmp_path: Path) -> None:
    records = [task("a", difficulty="hard", agent_type="code", category="x"), task("b")]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    loaded = load_tasks(str(path))
    assert loaded.source == str(path) and loaded.revision is None
    assert [t["id"] for t in loaded.tasks] == ["a", "b"]
    assert loaded.tasks[0]["difficulty"] == "hard" and loaded.tasks[0]["agent_type"] == "code"
    assert loaded.tasks[0]["category"] == "x"  # extra fields are kept


def test_json_dict_keyed_by_split(tmp_path: Path) -> None:
    path = tmp_path / "splits.json"
    path.write_text(
        json.dumps({"train": [task("t1"), task("t2")], "test": [task("x1")]}), encoding="utf-8"
    )
    assert [t["id"] for t in load_tasks(str(path)).tasks] == ["t1", "t2"]
    assert [t["id"] for t in load_tasks(str(path), split="test").tasks] == ["x1"]
    with pytest.raises(ConfigError, match="'validation'"):
        load_tasks(str(path), split="validation")
    data_only = tmp_path / "data.json"
    data_only.write_text(json.dumps({"data": [task("d1")]}), encoding="utf-8")
    assert [t["id"] for t in load_tasks(str(data_only), split="test").tasks] == ["d1"]


def test_jsonl_with_blank_lines_and_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text(
        "\n" + json.dumps(task("a")) + "\n   \n\n" + json.dumps(task("b")) + "\n\n",
        encoding="utf-8",
    )
    assert [t["id"] for t in load_tasks(str(path)).tasks] == ["a", "b"]
    # line numbers count the blank lines: the bad record is on line 4
    path.write_text(
        json.dumps(task("a")) + "\n\n\n" + json.dumps(task("b", difficulty="extreme")) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"line 4 \(task 'b'\).*'extreme'"):
        load_tasks(str(path))


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_duplicate_ids_are_rejected(tmp_path: Path, suffix: str) -> None:
    records = [task("same"), task("other"), task("same")]
    path = tmp_path / f"dup{suffix}"
    if suffix == ".jsonl":
        write_jsonl(path, records)
    else:
        path.write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate task id 'same'"):
        load_tasks(str(path))


def test_malformed_json_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"id": "a", "prompt": "p"},\n  {"id": "b" "prompt": "q"}\n]\n')
    with pytest.raises(ConfigError, match="line 3: malformed JSON"):
        load_tasks(str(path))


def test_missing_or_unknown_dataset(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_tasks(str(tmp_path / "absent.jsonl"))
    with pytest.raises(ConfigError, match="unknown dataset 'no-such-suite'"):
        load_tasks("no-such-suite")
    not_utf8 = tmp_path / "latin1.jsonl"
    not_utf8.write_bytes('{"id": "caf\xe9", "prompt": "p"}\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_tasks(str(not_utf8))


# --- validation of one record ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"prompt": "p"}, "missing required field 'id'"),
        ({"id": "", "prompt": "p"}, "missing required field 'id'"),
        ({"id": "a"}, "missing required field 'prompt'"),
        ({"id": 7, "prompt": "p"}, "field 'id' must be a string"),
        ({"id": "a", "prompt": ["p"]}, "field 'prompt' must be a string"),
        ({"id": "a", "prompt": "p", "expected_tool": ["calculator"]}, "'expected_tool' must be"),
        ({"id": "a", "prompt": "p", "difficulty": "Easy"}, "invalid difficulty 'Easy'"),
        ({"id": "a", "prompt": "p", "agent_type": "agent"}, "invalid agent_type 'agent'"),
        ({"id": "a", "prompt": "p", "expected_tool_calls": "two"}, "expected_tool_calls must be"),
        ({"id": "a", "prompt": "p", "expected_tool_calls": -1}, "expected_tool_calls must be"),
        ({"id": "a", "prompt": "p", "expected_tool_calls": True}, "expected_tool_calls must be"),
        ({"id": "a", "prompt": "p", "expected_tool_calls": 1.5}, "expected_tool_calls must be"),
        # 0 used to be read as 1: "at least 0 calls" would accept anything, so it is refused
        (
            {"id": "a", "prompt": "p", "expected_tool": "calculator", "expected_tool_calls": 0},
            "expected_tool_calls must be an integer of at least 1 (got 0)",
        ),
        ({"id": "a", "prompt": "p", "expected_keywords": "x"}, "expected_keywords must be a list"),
        ({"id": "a", "prompt": "p", "expected_keywords": ["x", 3]}, "expected_keywords must be"),
        (["not", "an", "object"], "must be a JSON object, got list"),
    ],
)
def test_invalid_records_name_the_place(record: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_task(record, "tasks.jsonl line 9")
    assert message in str(info.value)
    assert str(info.value).startswith("tasks.jsonl line 9")
    if isinstance(record, dict) and "prompt" in record and record.get("id") not in (None, ""):
        assert f"(task '{record['id']}')" in str(info.value)


def test_valid_record_keeps_its_fields() -> None:
    record = task(
        "ok",
        difficulty="medium",
        agent_type="tool",
        expected_tool="get_weather",
        expected_tool_calls=2,
        expected_keywords=["Paris"],
        category="weather",
    )
    assert validate_task(record, "x") == record


def test_null_difficulty_and_agent_type_take_the_defaults() -> None:
    # what a Hub dataset column gives for a task that lacks the field
    record = task("hub_row", difficulty=None, agent_type=None, expected_tool=None)
    checked = validate_task(record, "hub row 1")
    assert checked["difficulty"] == "easy" and checked["agent_type"] == "both"


# --- filtering as in the original: own type or 'both', then exact difficulty -------------------


def test_filter_tasks_by_agent_type_and_difficulty() -> None:
    tasks = [
        validate_task(task(i, agent_type=a, difficulty=d), "x")
        for i, a, d in [
            ("t_easy", "tool", "easy"),
            ("c_easy", "code", "easy"),
            ("b_hard", "both", "hard"),
            ("t_med", "tool", "medium"),
            ("b_easy", "both", "easy"),
        ]
    ]

    def ids(agent_type: str, difficulty: str | None) -> list[str]:
        return [t["id"] for t in filter_tasks(tasks, agent_type, difficulty)]

    assert ids("tool", None) == ["t_easy", "b_hard", "t_med", "b_easy"]
    assert ids("code", None) == ["c_easy", "b_hard", "b_easy"]
    assert ids("tool", "easy") == ["t_easy", "b_easy"]
    assert ids("code", "hard") == ["b_hard"]
    assert ids("code", "medium") == []
