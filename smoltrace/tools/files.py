"""File tools: read, write, list and search files inside the sandbox (`--working-directory`)."""

from __future__ import annotations

import fnmatch
import os
import stat

from .sandbox import MAX_READ_BYTES, SafeTool, Sandbox, ToolRefusal, bounded

__all__ = ["FileSearchTool", "ListDirectoryTool", "ReadFileTool", "WriteFileTool"]

MAX_LIST_ENTRIES = 500
MAX_SEARCH_RESULTS = 200
MAX_CONTENT_SEARCH_FILE = 1_000_000
MAX_PATTERN_CHARS = 200


class SandboxedTool(SafeTool):
    """A tool that works on files below one sandbox root."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__()


class ReadFileTool(SandboxedTool):
    name = "read_file"
    description = (
        "Reads a text file inside the working directory and returns its content. Paths are relative "
        f"to the working directory. Files over {MAX_READ_BYTES} bytes are refused (use grep or head_tail)."
    )
    inputs = {
        "file_path": {"type": "string", "description": "Path of the file, e.g. 'logs/app.log'"},
        "encoding": {
            "type": "string",
            "description": "Text encoding (default utf-8)",
            "nullable": True,
        },
    }
    output_type = "string"

    def forward(self, file_path: str, encoding: str | None = "utf-8") -> str:
        path, text = self.sandbox.read_text(file_path, encoding=encoding or "utf-8")
        size = len(text.encode(encoding or "utf-8", errors="replace"))
        return bounded(f"File: {self.sandbox.relative(path)}\nSize: {size} bytes\n\n{text}")


class WriteFileTool(SandboxedTool):
    name = "write_file"
    description = (
        "Writes or appends text to a file inside the working directory, creating parent folders. "
        "mode is 'write' (replace, the default) or 'append'."
    )
    inputs = {
        "file_path": {"type": "string", "description": "Path of the file to write"},
        "content": {"type": "string", "description": "Text to write"},
        "mode": {
            "type": "string",
            "description": "'write' (default) or 'append'",
            "nullable": True,
        },
    }
    output_type = "string"

    def forward(self, file_path: str, content: str, mode: str | None = "write") -> str:
        mode = mode or "write"
        if mode not in ("write", "append"):
            raise ToolRefusal(f"unknown mode '{mode}'; use 'write' or 'append'")
        path = self.sandbox.write_text(file_path, content, append=mode == "append")
        verb = "Appended" if mode == "append" else "Wrote"
        return f"{verb} {len(content.encode())} bytes to {self.sandbox.relative(path)}"


class ListDirectoryTool(SandboxedTool):
    name = "list_directory"
    description = (
        "Lists a folder inside the working directory: folders first, then files with their sizes. "
        "An optional glob pattern (e.g. '*.log') filters the names. Symlinks are shown, not followed."
    )
    inputs = {
        "directory_path": {
            "type": "string",
            "description": "Folder to list (default: the working directory itself, '.')",
            "nullable": True,
        },
        "pattern": {
            "type": "string",
            "description": "Glob on the names, e.g. '*.json'",
            "nullable": True,
        },
    }
    output_type = "string"

    def forward(self, directory_path: str | None = ".", pattern: str | None = None) -> str:
        folder = self.sandbox.resolve(directory_path, default=".")
        if not folder.is_dir():
            raise ToolRefusal(f"'{directory_path}' is not a folder")
        with os.scandir(folder) as scan:
            entries = [e for e in scan if not pattern or fnmatch.fnmatch(e.name, pattern)]
        entries.sort(key=lambda e: (not e.is_dir(follow_symlinks=False), e.name.lower()))
        lines = [f"Directory: {self.sandbox.relative(folder)}"]
        for entry in entries[:MAX_LIST_ENTRIES]:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                lines.append(f"[LINK] {entry.name} (symlink, not followed)")
            elif stat.S_ISDIR(info.st_mode):
                lines.append(f"[DIR]  {entry.name}/")
            elif stat.S_ISREG(info.st_mode):
                lines.append(f"[FILE] {entry.name} ({info.st_size} bytes)")
            else:
                lines.append(f"[OTHER] {entry.name} (special file)")
        if len(entries) > MAX_LIST_ENTRIES:
            lines.append(f"... {len(entries) - MAX_LIST_ENTRIES} more entries not shown")
        if len(lines) == 1:
            lines.append("(no entries)" if not pattern else f"(no entries match '{pattern}')")
        return bounded("\n".join(lines))


class FileSearchTool(SandboxedTool):
    name = "search_files"
    description = (
        "Searches below a folder of the working directory. search_type 'name' (default) matches file "
        "names against a glob such as '*.log'; 'content' finds lines containing the text (case-"
        "insensitive) and returns them as path:line: text."
    )
    inputs = {
        "pattern": {"type": "string", "description": "Glob (name) or text (content)"},
        "directory": {
            "type": "string",
            "description": "Folder to search (default '.')",
            "nullable": True,
        },
        "search_type": {
            "type": "string",
            "description": "'name' (default) or 'content'",
            "nullable": True,
        },
        "max_results": {
            "type": "integer",
            "description": f"At most this many results (default 100, at most {MAX_SEARCH_RESULTS})",
            "nullable": True,
        },
    }
    output_type = "string"

    def forward(
        self,
        pattern: str,
        directory: str | None = ".",
        search_type: str | None = "name",
        max_results: int | None = 100,
    ) -> str:
        search_type = search_type or "name"
        if search_type not in ("name", "content"):
            raise ToolRefusal(f"unknown search_type '{search_type}'; use 'name' or 'content'")
        if not pattern or len(pattern) > MAX_PATTERN_CHARS:
            raise ToolRefusal(f"the pattern must have 1 to {MAX_PATTERN_CHARS} characters")
        limit = max(1, min(int(max_results or 100), MAX_SEARCH_RESULTS))
        top = self.sandbox.resolve(directory, default=".")
        if not top.is_dir():
            raise ToolRefusal(f"'{directory}' is not a folder")
        results: list[str] = []
        needle = pattern.lower()
        for folder, names in self.sandbox.walk(top):
            for name in names:
                path = folder / name
                shown = self.sandbox.relative(path)
                if search_type == "name":
                    if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(shown, pattern):
                        results.append(shown)
                else:
                    results += self._matching_lines(path, shown, needle, limit - len(results))
                if len(results) >= limit:
                    return self._report(results, pattern, limit, truncated=True)
        return self._report(results, pattern, limit, truncated=False)

    def _matching_lines(
        self, path: os.PathLike[str], shown: str, needle: str, room: int
    ) -> list[str]:
        try:
            _, text = self.sandbox.read_text(shown, limit=MAX_CONTENT_SEARCH_FILE)
        except ToolRefusal:  # symlinks, special, binary or big files are skipped, not followed
            return []
        hits = []
        for number, line in enumerate(text.splitlines(), start=1):
            if needle in line.lower():
                hits.append(f"{shown}:{number}: {line[:300]}")
                if len(hits) >= room:
                    break
        return hits

    @staticmethod
    def _report(results: list[str], pattern: str, limit: int, *, truncated: bool) -> str:
        if not results:
            return f"No matches for '{pattern}'."
        tail = f"\n... stopped at {limit} results" if truncated else ""
        return bounded(f"{len(results)} match(es) for '{pattern}':\n" + "\n".join(results) + tail)
