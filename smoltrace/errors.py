"""Errors that mean "the user asked for something we cannot do".

The CLI turns a :class:`ConfigError` into one line on stderr and exit code 2, with no traceback: these
are mistakes in flags, files or environment that the user fixes, not bugs in smoltrace.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """Bad user input, found before any model call is made. The message names the problem and the fix."""


class PublishError(RuntimeError):
    """A Hub upload failed. The local run folder is complete; the message says how to retry."""


GATE_FAILED = 4
"""Exit code of a failed quality gate (`smoltrace-eval --min-success-rate`, `smoltrace-compare
--max-regression`): distinct from 1 (a run or upload failed), 2 (bad input) and 3 (more tasks
errored than `--max-error-rate` allows), so a CI job can tell a worse model from a broken run."""
