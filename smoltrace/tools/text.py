"""Text tools: grep, sed, sort and head/tail over files inside the sandbox.

None of them runs a program: they are Python, reading files through the sandbox. Patterns are Python
regular expressions matched by the `regex` module with a time budget per call, so a pattern with
catastrophic backtracking (`(a|aa)+$` on a long line) ends with an error instead of hanging the task.
"""

from __future__ import annotations

import re
import time
from collections import deque
from typing import Any

from .files import SandboxedTool
from .sandbox import MAX_SCAN_BYTES, ToolRefusal, bounded

__all__ = ["GrepTool", "HeadTailTool", "SedTool", "SortTool", "compile_pattern", "parse_sed"]

MAX_PATTERN_CHARS = 500
MAX_LINE_CHARS = 10_000  # longer lines are matched on their first 10,000 characters
REGEX_BUDGET_S = (
    5.0  # all matching of one tool call together (generous: load must not change results)
)
MAX_CONTEXT_LINES = 10
MAX_MATCHES = 500
MAX_HEAD_TAIL_LINES = 1000


class Matcher:
    """A compiled pattern plus the time budget of one tool call."""

    def __init__(self, pattern: str, *, ignore_case: bool = False) -> None:
        self.regex = compile_pattern(pattern, ignore_case=ignore_case)
        self.deadline = time.monotonic() + REGEX_BUDGET_S

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ToolRefusal(
                f"pattern matching took over {REGEX_BUDGET_S} s; simplify the pattern"
            )
        return left

    def search(self, line: str) -> Any:
        try:
            return self.regex.search(line[:MAX_LINE_CHARS], timeout=self._left())
        except TimeoutError:
            raise ToolRefusal(
                f"pattern matching took over {REGEX_BUDGET_S} s; simplify the pattern"
            ) from None

    def sub(self, replace: Any, line: str, count: int) -> str:
        try:
            return self.regex.sub(replace, line[:MAX_LINE_CHARS], count=count, timeout=self._left())
        except TimeoutError:
            raise ToolRefusal(
                f"pattern matching took over {REGEX_BUDGET_S} s; simplify the pattern"
            ) from None


def compile_pattern(pattern: str, *, ignore_case: bool = False) -> Any:
    """A `regex` pattern object, or a ToolRefusal naming what is wrong with the pattern."""
    import regex

    if not pattern:
        raise ToolRefusal("empty pattern")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ToolRefusal(f"pattern longer than {MAX_PATTERN_CHARS} characters")
    try:
        return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except regex.error as exc:
        raise ToolRefusal(f"invalid regular expression '{pattern}': {exc}") from None


class TextFileTool(SandboxedTool):
    def lines(self, file_path: str) -> tuple[str, list[str]]:
        """(shown path, lines) of a text file inside the sandbox, up to the scan limit."""
        path, text = self.sandbox.read_text(file_path, limit=MAX_SCAN_BYTES)
        return self.sandbox.relative(path), text.splitlines()

    def emit(self, lines: list[str], output_file: str | None, what: str) -> str:
        """The result lines, or where they were written when `output_file` is given."""
        text = "\n".join(lines)
        if output_file:
            path = self.sandbox.write_text(output_file, text + ("\n" if lines else ""))
            return f"{what}: wrote {len(lines)} line(s) to {self.sandbox.relative(path)}"
        return bounded(text) if lines else f"{what}: no lines"


class GrepTool(TextFileTool):
    name = "grep"
    description = (
        "Finds the lines of a file that match a regular expression (Python syntax), like grep. "
        "Matching lines are 'N:text', context lines 'N-text', '--' separates groups."
    )
    inputs = {
        "file_path": {"type": "string", "description": "File to search"},
        "pattern": {"type": "string", "description": "Regular expression, e.g. 'ERROR|FATAL'"},
        "case_insensitive": {"type": "boolean", "description": "Ignore case", "nullable": True},
        "line_numbers": {
            "type": "boolean",
            "description": "Prefix line numbers (default true)",
            "nullable": True,
        },
        "context_before": {
            "type": "integer",
            "description": f"Lines of context before each match (at most {MAX_CONTEXT_LINES})",
            "nullable": True,
        },
        "context_after": {
            "type": "integer",
            "description": f"Lines of context after each match (at most {MAX_CONTEXT_LINES})",
            "nullable": True,
        },
        "invert_match": {
            "type": "boolean",
            "description": "Lines that do NOT match",
            "nullable": True,
        },
        "count_only": {
            "type": "boolean",
            "description": "Only the number of matching lines",
            "nullable": True,
        },
    }
    output_type = "string"

    def forward(
        self,
        file_path: str,
        pattern: str,
        case_insensitive: bool | None = False,
        line_numbers: bool | None = True,
        context_before: int | None = 0,
        context_after: int | None = 0,
        invert_match: bool | None = False,
        count_only: bool | None = False,
    ) -> str:
        matcher = Matcher(pattern, ignore_case=bool(case_insensitive))
        shown, lines = self.lines(file_path)
        hits = [
            i for i, line in enumerate(lines) if bool(matcher.search(line)) != bool(invert_match)
        ]
        if count_only:
            return f"{len(hits)} matching line(s) in {shown}"
        if not hits:
            return f"No lines match '{pattern}' in {shown}."
        before = max(0, min(int(context_before or 0), MAX_CONTEXT_LINES))
        after = max(0, min(int(context_after or 0), MAX_CONTEXT_LINES))
        numbered = line_numbers is not False
        out: list[str] = []
        last = -1
        matched = set(hits[:MAX_MATCHES])
        for i in hits[:MAX_MATCHES]:
            start = max(i - before, last + 1)
            if out and start > last + 1 and (before or after):
                out.append("--")
            for j in range(start, min(i + after, len(lines) - 1) + 1):
                mark = ":" if j in matched else "-"
                out.append(f"{j + 1}{mark}{lines[j]}" if numbered else lines[j])
                last = j
        if len(hits) > MAX_MATCHES:
            out.append(f"... {len(hits) - MAX_MATCHES} more matching lines not shown")
        return bounded("\n".join(out))


# --- sed --------------------------------------------------------------------------------------------


def _split_delimited(text: str, delimiter: str, parts: int) -> tuple[list[str], str]:
    """`parts` fields separated by an unescaped `delimiter`, and the rest of the text."""
    fields: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text) and len(fields) < parts:
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            current.append(nxt if nxt == delimiter else char + nxt)
            i += 2
            continue
        if char == delimiter:
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    if len(fields) < parts:
        raise ToolRefusal(f"unterminated sed expression (missing '{delimiter}')")
    return fields, text[i:]


def _replacement(template: str) -> list[str | int]:
    """sed's replacement syntax as literal pieces and group numbers: `&` is the match, `\\1`-`\\9`."""
    pieces: list[str | int] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char == "&":
            pieces.append(0)
        elif char == "\\" and i + 1 < len(template):
            nxt = template[i + 1]
            i += 1
            if nxt.isdigit():
                pieces.append(int(nxt))
            else:
                pieces.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
        else:
            pieces.append(char)
        i += 1
    return pieces


class SedScript:
    """One parsed sed command: an optional address, then `s`, `d` or `p`."""

    def __init__(self, command: str, *, global_replace: bool, ignore_case: bool) -> None:
        text = command.strip()
        if not text:
            raise ToolRefusal("empty sed command")
        self.first: int | None = None
        self.last: int | None = None
        self.matcher: Matcher | None = None
        text = self._address(text, ignore_case)
        if not text:
            raise ToolRefusal(f"sed command '{command}' has an address but no command (s, d or p)")
        self.action = text[0]
        if self.action == "s":
            if len(text) < 2 or text[1] in "\\\n":
                raise ToolRefusal("sed: s needs a delimiter, e.g. s/old/new/")
            (pattern, replacement), flags = _split_delimited(text[2:], text[1], 2)
            bad = set(flags.strip()) - set("gi")
            if bad:
                raise ToolRefusal(f"sed: unsupported flag(s) {''.join(sorted(bad))}; use g and i")
            self.pattern = Matcher(pattern, ignore_case=ignore_case or "i" in flags)
            self.pieces = _replacement(replacement)
            self.count = 0 if (global_replace or "g" in flags) else 1
        elif self.action in "dp":
            if text[1:].strip():
                raise ToolRefusal(f"sed: unexpected text after '{self.action}': '{text[1:]}'")
        else:
            raise ToolRefusal(
                f"sed: unsupported command '{self.action}'; use s/old/new/[g], /re/d, /re/p, Np or N,Md"
            )

    def _address(self, text: str, ignore_case: bool) -> str:
        if text[0] == "/":
            (pattern,), rest = _split_delimited(text[1:], "/", 1)
            self.matcher = Matcher(pattern, ignore_case=ignore_case)
            return rest.strip()
        digits = len(text) - len(text.lstrip("0123456789"))
        if digits:
            self.first = self.last = int(text[:digits])
            text = text[digits:]
            if text.startswith(","):
                rest = text[1:]
                more = len(rest) - len(rest.lstrip("0123456789"))
                if rest.startswith("$"):
                    self.last, text = None, rest[1:]
                elif more:
                    self.last, text = int(rest[:more]), rest[more:]
                else:
                    raise ToolRefusal("sed: a range needs an end line, e.g. 2,5p or 2,$p")
            if self.first < 1 or (self.last is not None and self.last < self.first):
                raise ToolRefusal(
                    "sed: line numbers start at 1 and a range must not end before it starts"
                )
        return text.strip()

    def selects(self, number: int, line: str) -> bool:
        if self.matcher is not None:
            return bool(self.matcher.search(line))
        if self.first is None:
            return True
        return number >= self.first and (self.last is None or number <= self.last)

    def _expand(self, match: Any) -> str:
        out = []
        for piece in self.pieces:
            out.append(piece if isinstance(piece, str) else (match.group(piece) or ""))
        return "".join(out)

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        for number, line in enumerate(lines, start=1):
            chosen = self.selects(number, line)
            if self.action == "p":
                if chosen:
                    out.append(line)
            elif self.action == "d":
                if not chosen:
                    out.append(line)
            else:
                out.append(self.pattern.sub(self._expand, line, self.count) if chosen else line)
        return out


def parse_sed(
    command: str, *, global_replace: bool = False, ignore_case: bool = False
) -> SedScript:
    try:
        return SedScript(command, global_replace=global_replace, ignore_case=ignore_case)
    except IndexError:
        raise ToolRefusal(f"cannot parse sed command '{command}'") from None


class SedTool(TextFileTool):
    name = "sed"
    description = (
        "Stream-edits a file like sed, without a shell and without changing the file: 's/old/new/' "
        "(flags g, i; & and \\1 in the replacement), '/regex/d', '/regex/p', 'Np', 'N,Mp', 'N,Md', "
        "optionally with an address before s (e.g. '3,10s/a/b/g'). Returns the result, or writes it "
        "to output_file."
    )
    inputs = {
        "file_path": {"type": "string", "description": "File to read"},
        "command": {"type": "string", "description": "One sed command, e.g. 's/ERROR/ERR/g'"},
        "global_replace": {
            "type": "boolean",
            "description": "Replace every match on a line (like the g flag)",
            "nullable": True,
        },
        "case_insensitive": {"type": "boolean", "description": "Ignore case", "nullable": True},
        "output_file": {
            "type": "string",
            "description": "Write the result to this file instead of returning it",
            "nullable": True,
        },
    }
    output_type = "string"

    def forward(
        self,
        file_path: str,
        command: str,
        global_replace: bool | None = False,
        case_insensitive: bool | None = False,
        output_file: str | None = None,
    ) -> str:
        script = parse_sed(
            command, global_replace=bool(global_replace), ignore_case=bool(case_insensitive)
        )
        _, lines = self.lines(file_path)
        return self.emit(script.run(lines), output_file, "sed")


# --- sort and head/tail -----------------------------------------------------------------------------


_LEADING_NUMBER = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


def _number(text: str) -> float | None:
    match = _LEADING_NUMBER.match(text)
    return float(match.group(1)) if match else None


class SortTool(TextFileTool):
    name = "sort"
    description = (
        "Sorts the lines of a file: by text, or numerically (numeric=true, by the leading number; "
        "lines without one come first); optionally by a whitespace-separated field (1 = first)."
    )
    inputs = {
        "file_path": {"type": "string", "description": "File to sort"},
        "numeric": {"type": "boolean", "description": "Sort by number", "nullable": True},
        "reverse": {"type": "boolean", "description": "Largest / last first", "nullable": True},
        "unique": {
            "type": "boolean",
            "description": "Drop repeated lines (the first is kept)",
            "nullable": True,
        },
        "case_insensitive": {"type": "boolean", "description": "Ignore case", "nullable": True},
        "field": {
            "type": "integer",
            "description": "Sort by this whitespace-separated field (1-based)",
            "nullable": True,
        },
        "output_file": {
            "type": "string",
            "description": "Write the result to this file instead of returning it",
            "nullable": True,
        },
    }
    output_type = "string"

    def forward(
        self,
        file_path: str,
        numeric: bool | None = False,
        reverse: bool | None = False,
        unique: bool | None = False,
        case_insensitive: bool | None = False,
        field: int | None = None,
        output_file: str | None = None,
    ) -> str:
        _, lines = self.lines(file_path)
        if unique:
            seen: set[str] = set()
            kept = []
            for line in lines:
                seen_as = line.lower() if case_insensitive else line
                if seen_as not in seen:
                    seen.add(seen_as)
                    kept.append(line)
            lines = kept
        if field is not None and int(field) < 1:
            raise ToolRefusal("field numbers start at 1")

        def part(line: str) -> str:
            if field is None:
                return line
            fields = line.split()
            return fields[int(field) - 1] if len(fields) >= int(field) else ""

        def sort_key(line: str) -> tuple[Any, ...]:
            text = part(line)
            text = text.lower() if case_insensitive else text
            if numeric:
                value = _number(text)
                return (value is not None, value if value is not None else 0.0, text)
            return (text,)

        return self.emit(sorted(lines, key=sort_key, reverse=bool(reverse)), output_file, "sort")


class HeadTailTool(TextFileTool):
    name = "head_tail"
    description = f"The first (head) or last (tail) lines of a file; at most {MAX_HEAD_TAIL_LINES}."
    inputs = {
        "file_path": {"type": "string", "description": "File to read"},
        "mode": {"type": "string", "description": "'head' (default) or 'tail'", "nullable": True},
        "lines": {
            "type": "integer",
            "description": "How many lines (default 10)",
            "nullable": True,
        },
    }
    output_type = "string"

    def forward(self, file_path: str, mode: str | None = "head", lines: int | None = 10) -> str:
        mode = mode or "head"
        if mode not in ("head", "tail"):
            raise ToolRefusal(f"unknown mode '{mode}'; use 'head' or 'tail'")
        count = int(lines if lines is not None else 10)
        if count < 1:
            raise ToolRefusal("lines must be at least 1")
        count = min(count, MAX_HEAD_TAIL_LINES)
        shown, content = self.lines(file_path)
        selected = content[:count] if mode == "head" else list(deque(content, maxlen=count))
        return bounded("\n".join(selected)) or f"{shown} is empty"
