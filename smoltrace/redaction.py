"""Blanking secrets out of text before it is written, logged or published.

Used for trace attributes, task errors and log records alike, so an API key or HF token that ends up
in an exception message or a prompt never reaches a file, a dataset or the terminal.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import TextIO

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


def secret_redactor(
    environ: Mapping[str, str] | None = None, max_chars: int | None = MAX_STRING_CHARS
) -> Redact:
    """A function that blanks secrets out of a string and caps its length at `max_chars`.

    Built from a snapshot of the environment: the value of every variable whose name looks like a
    credential (8+ characters) and every registered secret is replaced wherever it appears, as
    are bearer tokens and `hf_` / `sk-` keys. `max_chars=None` keeps the length.
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
        if max_chars is not None and len(text) > max_chars:
            text = text[:max_chars] + TRUNCATED_SUFFIX
        return text

    return redact


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's final text: message, arguments, traceback.

    A traceback (`exc_info`, `--debug`) repeats exception messages, which can echo a key sent to a
    provider; it is formatted here and redacted with the message, so no handler formats it raw.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        extra = [
            text
            for text in (
                logging.Formatter().formatException(record.exc_info) if record.exc_info else None,
                record.exc_text,
                record.stack_info,
            )
            if text
        ]
        full = "\n".join([message, *dict.fromkeys(extra)])
        # built per record: secrets may be registered late
        cleaned = secret_redactor(max_chars=None)(full)
        if cleaned != message:
            record.msg, record.args = cleaned, None
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what is written before passing it on (an agent's own console)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(secret_redactor(max_chars=None)(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def writable(self) -> bool:
        return True
