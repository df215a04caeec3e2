"""The folder the file and text tools are confined to, and the guard every optional tool runs under.

A path an agent gives is checked before anything is opened: `..` components, absolute paths outside the
root, symlinks that lead outside (anywhere on the way), and anything that is not a plain file (FIFOs,
sockets, devices) are refused. Files are opened with `O_NOFOLLOW | O_NONBLOCK` and checked again on the
open descriptor, so a FIFO never blocks the harness and a symlink swapped in after the check is not
followed. Hard-linked files (link count above 1) are refused too: a hard link inside the root may be
another name for a file outside it.

Writing creates new files only, and changes only files this sandbox created: what was in the folder
before the run is read-only, so no task can alter the inputs another task reads (nor destroy the
user's files), and `O_EXCL` makes sure a file appearing meanwhile is not taken over.

A refusal is a `ToolRefusal`; `SafeTool` turns it, and any other failure of a tool, into an
`Error: ...` string the agent sees, so a tool never crashes a task.
"""

from __future__ import annotations

import functools
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from smolagents import Tool

from ..errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_OUTPUT_CHARS",
    "MAX_READ_BYTES",
    "MAX_SCAN_BYTES",
    "MAX_WRITE_BYTES",
    "SafeTool",
    "Sandbox",
    "ToolRefusal",
    "bounded",
]

MAX_READ_BYTES = 1_000_000  # read_file returns a whole file; bigger ones need grep / head_tail
MAX_SCAN_BYTES = 10_000_000  # grep, sort, sed, head_tail and content search stream up to this
MAX_WRITE_BYTES = 1_000_000  # one write_file call, and the size a file may grow to by appending
MAX_SANDBOX_WRITE_BYTES = 20_000_000  # all writes of one agent together
MAX_OUTPUT_CHARS = 20_000  # what one tool call hands back to the model


class ToolRefusal(Exception):
    """A request a tool will not carry out; the message is shown to the agent."""


def bounded(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... [output truncated: {len(text) - limit} more characters]"


class SafeTool(Tool):
    """A tool whose failures are results: `Error: <reason>` instead of an exception.

    Subclasses write `forward` as usual; it is wrapped once per class, keeping its signature (smolagents
    checks it against `inputs`).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        forward = cls.__dict__.get("forward")
        if forward is None or getattr(forward, "_smoltrace_guarded", False):
            return

        @functools.wraps(forward)
        def guarded(self: SafeTool, *args: Any, **kw: Any) -> Any:
            try:
                return forward(self, *args, **kw)
            except ToolRefusal as exc:
                return f"Error: {exc}"
            except Exception as exc:  # any failure is the agent's to see, never the task's end
                logger.debug("tool %s failed", cls.name, exc_info=True)
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                return f"Error: {type(exc).__name__}: {reason}"

        guarded._smoltrace_guarded = True  # type: ignore[attr-defined]
        cls.forward = guarded  # type: ignore[method-assign]


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symlink"),
    ):
        if test(mode):
            return name
    return "not a regular file"


class Sandbox:
    """A root folder and the checks that keep a tool's paths inside it."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise ConfigError(f"--working-directory {root} is not an existing folder")
        self.root = Path(os.path.realpath(path))
        self.written = 0  # bytes written through this sandbox (one per agent)
        self.created: set[Path] = set()  # files this sandbox created: the only ones it may change

    # --- paths ------------------------------------------------------------------------------------

    def _inside(self, real: str) -> bool:
        root = str(self.root)
        return real == root or real.startswith(root.rstrip(os.sep) + os.sep)

    def resolve(self, user_path: str | None, *, default: str | None = None) -> Path:
        """The real path of `user_path` (relative to the root), or a ToolRefusal saying why not."""
        given = (user_path if user_path not in (None, "") else default) or ""
        if not isinstance(given, str) or not given.strip():
            raise ToolRefusal("no path given")
        if "\x00" in given:
            raise ToolRefusal("the path contains a NUL character")
        path = Path(given)
        if ".." in path.parts:
            raise ToolRefusal(
                f"'{given}': '..' is not allowed; paths stay inside the working directory"
            )
        candidate = path if path.is_absolute() else self.root / path
        if not self._inside(os.path.abspath(candidate)):
            raise ToolRefusal(f"'{given}' is outside the working directory")
        real = os.path.realpath(candidate)  # follows every symlink on the way
        if not self._inside(real):
            raise ToolRefusal(f"'{given}' leads outside the working directory (through a symlink)")
        return Path(real)

    def relative(self, path: str | os.PathLike[str]) -> str:
        """How a path is shown to the agent: relative to the root."""
        rel = os.path.relpath(path, self.root)
        return "." if rel == "." else rel

    # --- files ------------------------------------------------------------------------------------

    def _check_regular(self, fd: int, shown: str, limit: int | None) -> os.stat_result:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ToolRefusal(f"'{shown}' is {_kind(info.st_mode)}, not a regular file")
        if info.st_nlink > 1:
            raise ToolRefusal(f"'{shown}' is a hard link (it may be a file outside the sandbox)")
        if limit is not None and info.st_size > limit:
            raise ToolRefusal(
                f"'{shown}' is {info.st_size} bytes, over the {limit}-byte limit of this tool; "
                "use grep or head_tail for large files"
            )
        return info

    def _open(self, path: Path, flags: int, mode: int = 0o644) -> int:
        try:
            return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
        except OSError as exc:
            shown = self.relative(path)
            if exc.errno == getattr(os, "ELOOP", None) or os.path.islink(path):
                raise ToolRefusal(f"'{shown}' is a symlink; it is not followed") from None
            if isinstance(exc, FileNotFoundError):
                raise ToolRefusal(f"'{shown}' does not exist") from None
            if isinstance(exc, IsADirectoryError):
                raise ToolRefusal(f"'{shown}' is a folder, not a file") from None
            raise ToolRefusal(f"cannot open '{shown}': {exc.strerror}") from None

    def read_bytes(self, user_path: str, limit: int = MAX_READ_BYTES) -> tuple[Path, bytes]:
        """(real path, content) of a regular file inside the root of at most `limit` bytes."""
        path = self.resolve(user_path)
        fd = self._open(path, os.O_RDONLY)
        try:
            self._check_regular(fd, self.relative(path), limit)
            chunks, total = [], 0
            while chunk := os.read(fd, 1 << 16):
                total += len(chunk)
                if total > limit:  # grew since the check
                    raise ToolRefusal(f"'{self.relative(path)}' is over the {limit}-byte limit")
                chunks.append(chunk)
            return path, b"".join(chunks)
        finally:
            os.close(fd)

    def read_text(
        self, user_path: str, limit: int = MAX_READ_BYTES, encoding: str = "utf-8"
    ) -> tuple[Path, str]:
        path, data = self.read_bytes(user_path, limit)
        if b"\x00" in data[:8192]:
            raise ToolRefusal(f"'{self.relative(path)}' looks like a binary file")
        try:
            return path, data.decode(encoding)
        except LookupError:
            raise ToolRefusal(f"unknown encoding '{encoding}'") from None
        except UnicodeDecodeError as exc:
            raise ToolRefusal(
                f"'{self.relative(path)}' is not {encoding} text (byte {exc.start})"
            ) from None

    def write_text(self, user_path: str, content: str, *, append: bool = False) -> Path:
        """Write (or append) `content` to a file inside the root, creating parent folders."""
        data = content.encode("utf-8")
        if len(data) > MAX_WRITE_BYTES:
            raise ToolRefusal(
                f"content is {len(data)} bytes, over the {MAX_WRITE_BYTES}-byte limit"
            )
        if self.written + len(data) > MAX_SANDBOX_WRITE_BYTES:
            raise ToolRefusal(
                f"this agent already wrote {self.written} bytes; the limit is {MAX_SANDBOX_WRITE_BYTES}"
            )
        path = self.resolve(user_path)
        if path == self.root:
            raise ToolRefusal("cannot write to the working directory itself; give a file name")
        if os.path.lexists(path) and path not in self.created:
            raise ToolRefusal(
                f"'{self.relative(path)}' already exists and was not written by this agent; files "
                "that were there before are read-only (write a new file instead)"
            )
        parent = path.parent
        if not parent.exists():
            parent.mkdir(parents=True)
            if not self._inside(os.path.realpath(parent)):  # raced by a symlink
                raise ToolRefusal(f"'{user_path}' leads outside the working directory")
        flags = os.O_WRONLY | (os.O_APPEND if append else 0)
        new = path not in self.created
        fd = self._open(path, flags | (os.O_CREAT | os.O_EXCL if new else 0))
        if new:
            self.created.add(path)
        try:
            info = self._check_regular(fd, self.relative(path), None)
            if append and info.st_size + len(data) > MAX_WRITE_BYTES:
                raise ToolRefusal(
                    f"'{self.relative(path)}' would grow past the {MAX_WRITE_BYTES}-byte limit"
                )
            if not append:
                os.ftruncate(fd, 0)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self.written += len(data)
        return path

    def walk(self, top: Path, limit: int = 20_000) -> Iterator[tuple[Path, list[str]]]:
        """`os.walk` below `top` without following symlinks, visiting at most `limit` entries."""
        seen = 0
        for folder, dirs, files in os.walk(top, followlinks=False):
            dirs.sort()
            seen += len(dirs) + len(files)
            if seen > limit:
                raise ToolRefusal(
                    f"more than {limit} entries below '{self.relative(top)}'; narrow the search"
                )
            yield Path(folder), sorted(files)
