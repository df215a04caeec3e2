"""Blanking secrets out of text before it is written, logged or published.

Used for trace attributes, task errors and log records alike, so an API key or HF token that ends up
in an exception message or a prompt never reaches a file, a dataset or the terminal.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping

MAX_STRING_CHARS = 8192
TRUNCATED_SUFFIX = "...[TRUNCATED]"
REDACTED = "[REDACTED]"
MIN_SECRET_CHARS = 8
# Environment variables whose values are secrets wherever they show up (API keys, HF tokens, ...).
SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE", re.IGNORECASE)
# Secrets recognisable by their shape even when they are not in the environment.
SECRET_SHAPES = re.compile(
    r"(?P<keep>\b(?i:bearer)\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|\bhf_[A-Za-z0-9]{16,}|\bsk-[A-Za-z0-9_-]{16,}"
)

Redact = Callable[[str], str]
_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Treat `value` (a token read from a file or a flag, not the environment) as a secret too."""
    if value and len(value) >= MIN_SECRET_CHARS:
        _registered.add(value)


def secret_redactor(environ: Mapping[str, str] | None = None) -> Redact:
    """A function that blanks secrets out of a string and caps its length.

    Built from a snapshot of the environment: the value of every variable whose name looks like a
    credential (8+ characters) and every registered secret is replaced wherever it appears, as
    are bearer tokens and `hf_` / `sk-` keys.
    """
    env = os.environ if environ is None else environ
    values = sorted(
        {v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_CHARS}
        | _registered,
        key=len,
        reverse=True,
    )
    from_env = re.compile("|".join(map(re.escape, values))) if values else None

    def redact(text: str) -> str:
        if from_env is not None:
            text = from_env.sub(REDACTED, text)
        text = SECRET_SHAPES.sub(lambda m: (m.group("keep") or "") + REDACTED, text)
        if len(text) > MAX_STRING_CHARS:
            text = text[:MAX_STRING_CHARS] + TRUNCATED_SUFFIX
        return text

    return redact


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's final message (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = secret_redactor()(message)  # built per record: secrets may be registered late
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
