"""System tools: list processes, stop one the agent may stop, read environment variables, find programs.

Each is narrower than its Unix namesake on purpose, because the agent runs inside the harness:
- `ps` shows names, never command lines (a command line can hold a token);
- `kill` only signals processes whose working folder is inside the sandbox, owned by the harness's
  user, and neither the harness, one of its ancestors, nor one of its own child processes (workers,
  model servers it started); PID 1 and kernel threads never;
- `env` reads, never sets (a variable set here would change the harness itself: proxies, library paths),
  never shows a secret-looking variable, and blanks credentials inside values (URLs with passwords, keys);
- `which` takes a bare program name.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
from typing import Any

from ..redaction import REDACTED, SECRET_NAME, secret_redactor
from .files import SandboxedTool
from .sandbox import SafeTool, ToolRefusal, bounded

__all__ = ["EnvTool", "KillTool", "PsTool", "WhichTool", "is_secret_name", "killable"]

MAX_PS_ROWS = 200
MAX_ENV_VALUE_CHARS = 200
# Beyond the redaction module's names: connection strings and other values that embed credentials.
_MORE_SECRET_NAMES = re.compile(
    r"PASS|_PWD$|DSN|DATABASE_URL|_URI$|CONN|PRIVATE|SESSION|SIGNATURE|CERT|SALT|WEBHOOK",
    re.IGNORECASE,
)
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_PROGRAM = re.compile(r"^[A-Za-z0-9._+-]{1,100}$")


def _psutil() -> Any:
    try:
        import psutil
    except ImportError:  # declared as a dependency; a broken install still gets a clear answer
        raise ToolRefusal("this tool needs the psutil package (pip install psutil)") from None
    return psutil


class PsTool(SafeTool):
    name = "ps"
    description = (
        "Lists running processes: pid, parent pid, user, cpu %, memory %, status and name "
        "(command lines are not shown)."
    )
    inputs = {
        "filter_name": {
            "type": "string",
            "description": "Only processes whose name contains this text",
            "nullable": True,
        },
        "sort_by": {
            "type": "string",
            "description": "cpu (default), memory, pid or name",
            "nullable": True,
        },
        "limit": {
            "type": "integer",
            "description": f"At most this many rows (default 50, at most {MAX_PS_ROWS})",
            "nullable": True,
        },
    }
    output_type = "string"

    def forward(
        self, filter_name: str | None = None, sort_by: str | None = "cpu", limit: int | None = 50
    ) -> str:
        psutil = _psutil()
        sort_by = sort_by or "cpu"
        keys = {"cpu": "cpu_percent", "memory": "memory_percent", "pid": "pid", "name": "name"}
        if sort_by not in keys:
            raise ToolRefusal(f"unknown sort_by '{sort_by}'; use cpu, memory, pid or name")
        fields = ["pid", "ppid", "name", "username", "cpu_percent", "memory_percent", "status"]
        rows = []
        for proc in psutil.process_iter(fields):
            info = proc.info
            name = info.get("name") or ""
            if filter_name and filter_name.lower() not in name.lower():
                continue
            rows.append(info)
        key = keys[sort_by]
        rows.sort(
            key=lambda r: (r.get(key) or 0) if key != "name" else (r.get("name") or "").lower(),
            reverse=sort_by in ("cpu", "memory"),
        )
        count = max(1, min(int(limit or 50), MAX_PS_ROWS))
        lines = [f"{'PID':>7} {'PPID':>7} {'USER':<12} {'CPU%':>5} {'MEM%':>5} {'STATUS':<9} NAME"]
        for r in rows[:count]:
            lines.append(
                f"{r['pid']:>7} {r.get('ppid') or 0:>7} {(r.get('username') or '?')[:12]:<12} "
                f"{r.get('cpu_percent') or 0:>5.1f} {r.get('memory_percent') or 0:>5.1f} "
                f"{(r.get('status') or '?')[:9]:<9} {r.get('name') or '?'}"
            )
        lines.append(
            f"{len(rows)} process(es){f', first {count} shown' if len(rows) > count else ''}"
        )
        return bounded("\n".join(lines))


def killable(pid: int, root: str) -> Any:
    """The psutil.Process for `pid` if the kill rule allows signalling it, else a ToolRefusal."""
    psutil = _psutil()
    if pid <= 1:
        raise ToolRefusal(f"PID {pid} is a system process; it is never signalled")
    if os.path.realpath(root) == os.path.realpath(os.sep):
        raise ToolRefusal("kill needs a working directory other than the filesystem root")
    me = psutil.Process()
    if pid == me.pid:
        raise ToolRefusal("that is the evaluation harness itself; it is never signalled")
    if pid in {p.pid for p in me.parents()}:
        raise ToolRefusal(f"PID {pid} started the evaluation harness; it is never signalled")
    if pid in {p.pid for p in me.children(recursive=True)}:
        raise ToolRefusal(f"PID {pid} belongs to the evaluation harness; it is never signalled")
    try:
        target = psutil.Process(pid)
        if target.pid == 2 or target.ppid() == 2:
            raise ToolRefusal(f"PID {pid} is a kernel thread; it is never signalled")
        if target.uids().real != os.getuid():
            raise ToolRefusal(f"PID {pid} belongs to another user")
        cwd = os.path.realpath(target.cwd())
    except psutil.NoSuchProcess:
        raise ToolRefusal(f"no process with PID {pid}") from None
    except psutil.AccessDenied:
        raise ToolRefusal(f"PID {pid} cannot be inspected, so it is not signalled") from None
    base = os.path.realpath(root)
    if cwd != base and not cwd.startswith(base.rstrip(os.sep) + os.sep):
        raise ToolRefusal(
            f"PID {pid} was not started in the working directory; only those processes may be stopped"
        )
    return target


class KillTool(SandboxedTool):
    name = "kill"
    description = (
        "Stops a process started in the working directory (SIGTERM, or SIGKILL with force=true) and "
        "waits up to 2 seconds for it to end. Other processes, and the harness itself, are refused."
    )
    inputs = {
        "pid": {"type": "integer", "description": "Process id"},
        "force": {"type": "boolean", "description": "SIGKILL instead of SIGTERM", "nullable": True},
    }
    output_type = "string"

    def forward(self, pid: int, force: bool | None = False) -> str:
        psutil = _psutil()
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise ToolRefusal("pid must be an integer")
        target = killable(pid, str(self.sandbox.root))
        sig = signal.SIGKILL if force else signal.SIGTERM
        name = target.name()
        try:
            target.send_signal(sig)  # psutil refuses if the PID was reused since the check
            target.wait(timeout=2)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            if _status(target) != psutil.STATUS_ZOMBIE:  # a zombie has exited; its parent reaps it
                return f"Sent {sig.name} to {pid} ({name}); it is still running after 2 s"
        return f"Sent {sig.name} to {pid} ({name}); it has exited"


def _status(process: Any) -> str | None:
    try:
        return process.status()
    except Exception:  # gone meanwhile
        return None


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says its value is a credential."""
    return bool(SECRET_NAME.search(name) or _MORE_SECRET_NAMES.search(name))


class EnvTool(SafeTool):
    name = "env"
    description = (
        "Reads environment variables: action 'get' with a name, or 'list' (optionally filtered by a "
        "text in the name). Secret-looking variables (tokens, keys, passwords...) are never shown."
    )
    inputs = {
        "action": {"type": "string", "description": "'list' (default) or 'get'", "nullable": True},
        "name": {"type": "string", "description": "Variable name for 'get'", "nullable": True},
        "filter_pattern": {
            "type": "string",
            "description": "For 'list': only names containing this text",
            "nullable": True,
        },
    }
    output_type = "string"

    def forward(
        self,
        action: str | None = "list",
        name: str | None = None,
        filter_pattern: str | None = None,
    ) -> str:
        action = action or "list"
        redact = secret_redactor()

        def shown(value: str) -> str:
            value = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", redact(value))
            if len(value) > MAX_ENV_VALUE_CHARS:
                return value[:MAX_ENV_VALUE_CHARS] + "...[truncated]"
            return value

        if action == "set":
            raise ToolRefusal(
                "setting environment variables is not allowed (it would change the harness)"
            )
        if action == "get":
            if not name:
                raise ToolRefusal("'get' needs a variable name")
            if is_secret_name(name):
                raise ToolRefusal(f"{name} looks like a secret; its value is not shown")
            if name not in os.environ:
                return f"{name} is not set"
            return f"{name}={shown(os.environ[name])}"
        if action != "list":
            raise ToolRefusal(f"unknown action '{action}'; use 'get' or 'list'")
        names = sorted(
            n for n in os.environ if (not filter_pattern or filter_pattern.lower() in n.lower())
        )
        visible = [n for n in names if not is_secret_name(n)]
        lines = [f"{n}={shown(os.environ[n])}" for n in visible]
        hidden = len(names) - len(visible)
        if hidden:
            lines.append(f"({hidden} secret-looking variable(s) hidden)")
        return bounded("\n".join(lines) or "no matching variables")


class WhichTool(SafeTool):
    name = "which"
    description = "Finds where a program is installed on PATH (all_matches: every match, in order)."
    inputs = {
        "command": {"type": "string", "description": "Program name, e.g. 'python3'"},
        "all_matches": {
            "type": "boolean",
            "description": "Every match on PATH, not just the first",
            "nullable": True,
        },
    }
    output_type = "string"

    def forward(self, command: str, all_matches: bool | None = False) -> str:
        if not _PROGRAM.match(command or ""):
            raise ToolRefusal("give a bare program name (letters, digits, . _ + -), not a path")
        found = []
        for folder in os.environ.get("PATH", "").split(os.pathsep):
            hit = shutil.which(command, path=folder) if folder else None
            if hit and hit not in found:
                found.append(hit)
                if not all_matches:
                    break
        if not found:
            return f"{command} not found on PATH"
        return "\n".join(found)
