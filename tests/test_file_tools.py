"""The file and text tools and their sandbox: normal use, and every way out of the sandbox refused.

Tools are called through smolagents' `Tool.__call__`, as agents call them; a refusal must be an
`Error: ...` string (a result the agent sees), never an exception.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smoltrace.errors import ConfigError
from smoltrace.tools import build_tools, check_tool_config, validate_tool_names
from smoltrace.tools.sandbox import MAX_OUTPUT_CHARS, MAX_READ_BYTES, MAX_WRITE_BYTES
from smoltrace.tools.text import REGEX_BUDGET_S, parse_sed

FILE_AND_TEXT = ["file_tools", "text_tools"]


@pytest.fixture()
def box(tmp_path: Path) -> Path:
    root = tmp_path / "box"
    (root / "logs").mkdir(parents=True)
    (root / "logs" / "app.log").write_text(
        "10 INFO start\n30 ERROR disk full\n2 WARN slow\n30 ERROR disk full\n5 info done\n"
    )
    (root / "notes.txt").write_text("alpha\nBeta\ngamma\n")
    return root


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / ".env"
    secret.parent.mkdir()
    secret.write_text("HF_TOKEN=hf_outside_secret_value_123\n")
    return secret


@pytest.fixture()
def tools(box: Path) -> dict:
    return {t.name: t for t in build_tools(FILE_AND_TEXT, working_directory=str(box))}


def refused(result: str, *needles: str) -> bool:
    return result.startswith("Error: ") and all(n in result for n in needles)


# --- configuration -------------------------------------------------------------------------------


def test_groups_expand_and_file_tools_need_a_working_directory(tmp_path: Path) -> None:
    assert validate_tool_names(["file_tools"]) == [
        "read_file",
        "write_file",
        "list_directory",
        "search_files",
    ]
    assert validate_tool_names(["text_tools", "grep"]) == ["grep", "sed", "sort", "head_tail"]
    for names in (["read_file"], ["grep"], ["kill"]):
        with pytest.raises(ConfigError, match="--working-directory DIR"):
            check_tool_config(names, None)
        with pytest.raises(ConfigError, match="--working-directory DIR"):
            build_tools(names)  # the same rule when tools are built directly
    with pytest.raises(ConfigError, match="not an existing folder"):
        check_tool_config(["read_file"], tmp_path / "missing")
    check_tool_config(["ps", "env", "which", "curl", "ping"], None)  # these need no folder
    check_tool_config(["read_file"], tmp_path)


def test_every_sandboxed_tool_shares_one_root(tools: dict, box: Path) -> None:
    sandboxes = {id(t.sandbox) for t in tools.values() if hasattr(t, "sandbox")}
    assert len(sandboxes) == 1
    assert next(t.sandbox for t in tools.values() if hasattr(t, "sandbox")).root == box.resolve()


# --- normal use ----------------------------------------------------------------------------------


def test_read_write_list_and_search(tools: dict, box: Path) -> None:
    read = tools["read_file"](file_path="logs/app.log")
    size = (box / "logs" / "app.log").stat().st_size
    assert read.startswith(f"File: logs/app.log\nSize: {size} bytes\n\n10 INFO start")
    assert tools["read_file"](file_path=str(box / "notes.txt")).endswith(
        "gamma\n"
    )  # absolute inside

    assert tools["write_file"](file_path="out/report.md", content="line 1\n") == (
        "Wrote 7 bytes to out/report.md"
    )
    assert tools["write_file"](file_path="out/report.md", content="line 2\n", mode="append")
    assert (box / "out" / "report.md").read_text() == "line 1\nline 2\n"
    assert tools["write_file"](file_path="out/report.md", content="new\n").startswith("Wrote")
    assert (box / "out" / "report.md").read_text() == "new\n"  # write replaces

    listing = tools["list_directory"]().splitlines()
    assert listing == [
        "Directory: .",
        "[DIR]  logs/",
        "[DIR]  out/",
        "[FILE] notes.txt (17 bytes)",
    ]
    assert tools["list_directory"](directory_path="logs", pattern="*.txt").endswith(
        "(no entries match '*.txt')"
    )

    names = tools["search_files"](pattern="*.log")
    assert names == "1 match(es) for '*.log':\nlogs/app.log"
    content = tools["search_files"](pattern="disk FULL", search_type="content")
    assert content.splitlines()[1:] == [
        "logs/app.log:2: 30 ERROR disk full",
        "logs/app.log:4: 30 ERROR disk full",
    ]
    capped = tools["search_files"](pattern="a", search_type="content", max_results=2)
    assert capped.count("\n") == 3 and "stopped at 2 results" in capped
    assert tools["search_files"](pattern="zzz", search_type="content") == "No matches for 'zzz'."


def test_grep(tools: dict) -> None:
    assert tools["grep"](file_path="logs/app.log", pattern="ERROR") == (
        "2:30 ERROR disk full\n4:30 ERROR disk full"
    )
    assert (
        tools["grep"](
            file_path="logs/app.log", pattern="info", case_insensitive=True, line_numbers=False
        )
        == "10 INFO start\n5 info done"
    )
    assert tools["grep"](file_path="logs/app.log", pattern="ERROR", count_only=True) == (
        "2 matching line(s) in logs/app.log"
    )
    assert tools["grep"](
        file_path="logs/app.log", pattern="ERROR", invert_match=True
    ).splitlines() == [
        "1:10 INFO start",
        "3:2 WARN slow",
        "5:5 info done",
    ]
    assert tools["grep"](file_path="logs/app.log", pattern="start|done", context_after=1) == (
        "1:10 INFO start\n2-30 ERROR disk full\n--\n5:5 info done"
    )
    assert refused(tools["grep"](file_path="logs/app.log", pattern="(unclosed"), "invalid regular")


def test_sed_is_parsed_and_run_in_python(tools: dict, box: Path) -> None:
    sed = tools["sed"]
    assert sed(file_path="notes.txt", command="s/a/A/") == "Alpha\nBetA\ngAmma"
    assert sed(file_path="notes.txt", command="s/a/A/g") == "AlphA\nBetA\ngAmmA"
    assert sed(file_path="notes.txt", command="s/a/A/", global_replace=True) == "AlphA\nBetA\ngAmmA"
    assert sed(file_path="notes.txt", command="s/BETA/[&]/i") == "alpha\n[Beta]\ngamma"
    assert sed(file_path="notes.txt", command=r"s/(g)(a)/\2\1/") == "alpha\nBeta\nagmma"
    assert sed(file_path="notes.txt", command="s|a|/|g") == "/lph/\nBet/\ng/mm/"
    assert sed(file_path="notes.txt", command="2,3s/a/_/") == "alpha\nBet_\ng_mma"
    assert sed(file_path="notes.txt", command="/eta/d") == "alpha\ngamma"
    assert sed(file_path="notes.txt", command="/eta/s/e/E/") == "alpha\nBEta\ngamma"
    assert sed(file_path="notes.txt", command="2p") == "Beta"
    assert sed(file_path="notes.txt", command="2,$p") == "Beta\ngamma"
    assert sed(file_path="notes.txt", command="1,2d") == "gamma"
    # a shell would run this; here it is an unknown command
    assert refused(sed(file_path="notes.txt", command="e touch pwned"), "unsupported command")
    assert refused(sed(file_path="notes.txt", command="s/a/b/e"), "unsupported flag")
    assert refused(sed(file_path="notes.txt", command="s/a/b"), "unterminated")
    assert not (box / "pwned").exists()
    # never edits in place; output_file writes inside the sandbox
    assert sed(file_path="notes.txt", command="s/a/4/g", output_file="copy.txt").endswith(
        "wrote 3 line(s) to copy.txt"
    )
    assert (box / "copy.txt").read_text() == "4lph4\nBet4\ng4mm4\n"
    assert (box / "notes.txt").read_text() == "alpha\nBeta\ngamma\n"
    assert refused(sed(file_path="notes.txt", command="p", output_file="../x.txt"), "'..'")


def test_sed_replacement_syntax() -> None:
    script = parse_sed(r"s/(\w+)@(\w+)/\2 at \1 \& \\ \n/")
    assert script.run(["me@home"]) == ["home at me & \\ \n"]


def test_sort_and_head_tail(tools: dict, box: Path) -> None:
    sort = tools["sort"]
    assert sort(file_path="notes.txt") == "Beta\nalpha\ngamma"
    assert sort(file_path="notes.txt", case_insensitive=True) == "alpha\nBeta\ngamma"
    assert sort(file_path="logs/app.log", numeric=True, reverse=True, unique=True).splitlines() == [
        "30 ERROR disk full",
        "10 INFO start",
        "5 info done",
        "2 WARN slow",
    ]
    assert sort(file_path="logs/app.log", field=2).splitlines()[0] == "30 ERROR disk full"
    assert sort(file_path="notes.txt", output_file="sorted.txt").endswith("to sorted.txt")
    assert (box / "sorted.txt").read_text() == "Beta\nalpha\ngamma\n"
    assert refused(sort(file_path="notes.txt", field=0), "start at 1")

    head_tail = tools["head_tail"]
    assert head_tail(file_path="logs/app.log", lines=2) == "10 INFO start\n30 ERROR disk full"
    assert (
        head_tail(file_path="logs/app.log", mode="tail", lines=2)
        == "30 ERROR disk full\n5 info done"
    )
    assert refused(head_tail(file_path="logs/app.log", lines=0), "at least 1")
    assert refused(head_tail(file_path="logs/app.log", mode="middle"), "'head' or 'tail'")


# --- escapes and abuse -----------------------------------------------------------------------------


def test_path_traversal_is_refused(tools: dict, box: Path, outside: Path) -> None:
    for path in ("../outside/.env", "logs/../../outside/.env", "logs/../notes.txt"):
        assert refused(tools["read_file"](file_path=path), "'..' is not allowed"), path
    assert refused(tools["write_file"](file_path="../evil.txt", content="x"), "'..'")
    assert not (box.parent / "evil.txt").exists()
    assert refused(tools["list_directory"](directory_path=".."), "'..'")
    assert refused(tools["search_files"](pattern="*", directory=".."), "'..'")
    assert refused(tools["grep"](file_path="../outside/.env", pattern="HF"), "'..'")


def test_absolute_paths_outside_are_refused(tools: dict, outside: Path) -> None:
    for path in (str(outside), "/etc/passwd", "/proc/self/environ", "/dev/zero"):
        result = tools["read_file"](file_path=path)
        assert refused(result, "outside the working directory"), (path, result)
    assert refused(tools["write_file"](file_path="/tmp/smoltrace-evil", content="x"), "outside")
    assert not Path("/tmp/smoltrace-evil").exists()
    assert refused(tools["list_directory"](directory_path="/"), "outside")
    assert refused(tools["head_tail"](file_path=str(outside)), "outside")
    assert "hf_outside" not in "".join(
        t(file_path=str(outside)) for t in (tools["read_file"], tools["head_tail"], tools["sort"])
    )


def test_symlinks_pointing_outside_are_refused(tools: dict, box: Path, outside: Path) -> None:
    (box / "env-link").symlink_to(outside)
    (box / "dir-link").symlink_to(outside.parent, target_is_directory=True)
    (box / "inside-link").symlink_to(box / "notes.txt")
    assert refused(tools["read_file"](file_path="env-link"), "symlink")
    assert refused(tools["read_file"](file_path="dir-link/.env"), "symlink")
    assert refused(tools["write_file"](file_path="env-link", content="x"), "symlink")
    assert refused(tools["write_file"](file_path="dir-link/new.txt", content="x"), "symlink")
    assert outside.read_text().startswith("HF_TOKEN") and not (outside.parent / "new.txt").exists()
    assert refused(tools["list_directory"](directory_path="dir-link"), "symlink")
    assert refused(tools["grep"](file_path="env-link", pattern="HF"), "symlink")
    # a link that stays inside resolves to its target
    assert tools["read_file"](file_path="inside-link").startswith("File: notes.txt")
    # searching and listing never follow links
    assert "[LINK] env-link (symlink, not followed)" in tools["list_directory"]()
    everything = tools["search_files"](pattern="HF_TOKEN", search_type="content")
    assert everything == "No matches for 'HF_TOKEN'."
    assert "env-link" not in tools["search_files"](pattern="*.env")


def test_hard_links_are_refused(tools: dict, box: Path, outside: Path) -> None:
    os.link(outside, box / "hard.txt")
    assert refused(tools["read_file"](file_path="hard.txt"), "hard link")
    assert refused(tools["grep"](file_path="hard.txt", pattern="HF"), "hard link")
    assert refused(tools["write_file"](file_path="hard.txt", content="x", mode="append"))
    assert outside.read_text() == "HF_TOKEN=hf_outside_secret_value_123\n"


def test_files_that_were_there_before_are_read_only(tools: dict, box: Path) -> None:
    before = (box / "logs" / "app.log").read_bytes()
    for result in (
        tools["write_file"](file_path="logs/app.log", content=""),
        tools["write_file"](file_path="logs/app.log", content="x", mode="append"),
        tools["sed"](file_path="logs/app.log", command="/ERROR/d", output_file="logs/app.log"),
        tools["sort"](file_path="logs/app.log", output_file="notes.txt"),
    ):
        assert refused(result, "already exists", "read-only"), result
    assert (box / "logs" / "app.log").read_bytes() == before
    assert (box / "notes.txt").read_text() == "alpha\nBeta\ngamma\n"
    # what the agent wrote itself it may change again
    assert tools["sed"](file_path="logs/app.log", command="/ERROR/d", output_file="clean.log")
    assert tools["sort"](file_path="clean.log", output_file="clean.log").endswith("to clean.log")
    assert (box / "clean.log").read_text() == "10 INFO start\n2 WARN slow\n5 info done\n"
    # another agent (another sandbox) may not change this agent's files
    other = {t.name: t for t in build_tools(["write_file"], working_directory=str(box))}
    assert refused(other["write_file"](file_path="clean.log", content=""), "read-only")


def test_fifos_and_special_files_are_refused_without_blocking(tools: dict, box: Path) -> None:
    os.mkfifo(box / "pipe")  # opened blocking, each call below would wait forever for a writer
    for result in (
        tools["read_file"](file_path="pipe"),
        tools["grep"](file_path="pipe", pattern="x"),
        tools["head_tail"](file_path="pipe"),
    ):
        assert refused(result, "FIFO"), result
    assert refused(tools["write_file"](file_path="pipe", content="x"), "read-only")
    assert "[OTHER] pipe (special file)" in tools["list_directory"]()
    assert tools["search_files"](pattern="x", search_type="content") == "No matches for 'x'."
    assert refused(tools["read_file"](file_path="logs"), "folder")


def test_oversize_files_and_writes_are_refused(tools: dict, box: Path) -> None:
    (box / "big.log").write_bytes(b"x" * (MAX_READ_BYTES + 1))
    assert refused(tools["read_file"](file_path="big.log"), "over the", "grep or head_tail")
    assert tools["head_tail"](file_path="big.log", lines=1) == (
        "x" * MAX_OUTPUT_CHARS
        + f"\n... [output truncated: {MAX_READ_BYTES + 1 - MAX_OUTPUT_CHARS} more characters]"
    )
    too_much = "y" * (MAX_WRITE_BYTES + 1)
    assert refused(tools["write_file"](file_path="w.txt", content=too_much), "over the")
    assert not (box / "w.txt").exists()
    half = "z" * (MAX_WRITE_BYTES // 2 + 1)
    assert tools["write_file"](file_path="w.txt", content=half).startswith("Wrote")
    assert refused(tools["write_file"](file_path="w.txt", content=half, mode="append"), "grow past")
    assert (box / "w.txt").stat().st_size == len(half)


def test_binary_and_undecodable_files(tools: dict, box: Path) -> None:
    (box / "blob.bin").write_bytes(b"\x00\x01\x02")
    (box / "latin.txt").write_bytes("café".encode("latin-1"))
    assert refused(tools["read_file"](file_path="blob.bin"), "binary")
    assert refused(tools["read_file"](file_path="latin.txt"), "not utf-8 text")
    assert tools["read_file"](file_path="latin.txt", encoding="latin-1").endswith("café")
    assert refused(tools["read_file"](file_path="latin.txt", encoding="nope"), "unknown encoding")


def test_catastrophic_regex_is_stopped(tools: dict, box: Path) -> None:
    (box / "aaa.txt").write_text("a" * 5000 + "!\n")
    result = tools["grep"](
        file_path="aaa.txt", pattern="(a|aa)+$"
    )  # hangs for ages without a budget
    assert refused(result, f"took over {REGEX_BUDGET_S} s", "simplify the pattern"), result
    assert refused(tools["sed"](file_path="aaa.txt", command="s/(a|aa)+$/x/"), "simplify")


def test_bad_arguments_are_results_not_crashes(tools: dict) -> None:
    assert refused(tools["read_file"](file_path=""), "no path")
    assert refused(tools["read_file"](file_path="nope.txt"), "does not exist")
    assert refused(tools["read_file"](file_path="a\x00b"), "NUL")
    assert refused(tools["write_file"](file_path="x", content="y", mode="truncate"), "unknown mode")
    assert refused(tools["write_file"](file_path=".", content="y"), "working directory itself")
    assert refused(tools["search_files"](pattern="x", search_type="regex"), "unknown search_type")
    assert refused(tools["list_directory"](directory_path="notes.txt"), "not a folder")
