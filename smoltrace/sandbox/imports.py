"""Which extra imports a CodeAgent may get, and which ones need `--allow-host-access`.

smolagents' interpreter blocks dunder tricks and unlisted modules, but a listed module is fully
usable: `os` or `subprocess` in `--additional-imports` (or in a prompt YAML's
`additional_authorized_imports`) hands the model's code the files, processes and network of the
machine running the evaluation, including the `.env` with the API keys. Such modules are refused
unless the user says `--allow-host-access`; the grant is then warned about and recorded.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ConfigError

__all__ = ["HOST_ACCESS_MODULES", "check_imports", "host_access_imports"]

# Top-level modules whose public API reaches files, processes, the network or the interpreter.
HOST_ACCESS_MODULES = frozenset(
    {
        # processes, the operating system and the interpreter itself
        "os",
        "posix",
        "nt",
        "subprocess",
        "sys",
        "builtins",
        "importlib",
        "ctypes",
        "cffi",
        "multiprocessing",
        "concurrent",
        "threading",
        "_thread",
        "signal",
        "pty",
        "resource",
        "gc",
        "inspect",
        "code",
        "codeop",
        "runpy",
        "pdb",
        "atexit",
        "faulthandler",
        "sysconfig",
        "site",
        "pkgutil",
        "zipimport",
        "asyncio",
        "pickle",
        "marshal",
        "shelve",
        "dill",
        "cloudpickle",
        "joblib",
        # files
        "shutil",
        "pathlib",
        "io",
        "tempfile",
        "glob",
        "fileinput",
        "fcntl",
        "mmap",
        "zipfile",
        "tarfile",
        "sqlite3",
        "dbm",
        "logging",
        # the network
        "socket",
        "ssl",
        "select",
        "selectors",
        "urllib",
        "urllib3",
        "http",
        "ftplib",
        "smtplib",
        "telnetlib",
        "webbrowser",
        "requests",
        "httpx",
        "aiohttp",
    }
)


def host_access_imports(modules: Iterable[str]) -> list[str]:
    """The entries of `modules` that give host access: `*`, `os.*`, `os.path` count as `os`."""
    found = []
    for module in modules:
        name = str(module).strip()
        top = name.split(".", 1)[0]
        if name == "*" or top in HOST_ACCESS_MODULES:
            found.append(name)
    return sorted(set(found))


def check_imports(
    cli_imports: Iterable[str] | None,
    yaml_imports: Iterable[str] | None,
    allow_host_access: bool,
) -> list[str]:
    """Refuse host-access imports unless allowed; returns the ones granted (for the record)."""
    for origin, modules in (
        ("--additional-imports", cli_imports),
        ("additional_authorized_imports in --prompt-yml", yaml_imports),
    ):
        for module in modules or []:
            if not isinstance(module, str) or not module.strip():
                raise ConfigError(f"{origin}: '{module}' is not a module name")
    granted = host_access_imports([*(cli_imports or []), *(yaml_imports or [])])
    if granted and not allow_host_access:
        raise ConfigError(
            f"importing {', '.join(granted)} would give the agent's code access to this machine's "
            "files, processes or network; remove them, or pass --allow-host-access to accept that"
        )
    return granted
