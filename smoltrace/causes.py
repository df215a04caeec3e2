"""Error text that keeps the cause: the exception chain, outermost first, root cause last.

A wrapper alone says little (`AgentGenerationError: Error while generating output:`); the useful part
is what it wraps (`ConnectError: [Errno 111] Connection refused`) and what the server answered
(`{"detail": "..."}` on a 400). `describe_error` joins the links of the chain with `CAUSE_SEPARATOR`,
drops links that only repeat a message already shown, adds the server's error body once, and bounds
each link and the number of links. Redaction is the caller's job (it runs on the whole text).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["CAUSE_SEPARATOR", "describe_error", "root_cause", "short_error"]

CAUSE_SEPARATOR = " <- "
MAX_LINKS = 6
MAX_LINK_CHARS = 600
MAX_BODY_CHARS = 1000
ELLIPSIS = "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def _chain(exc: BaseException) -> list[BaseException]:
    links: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in links):
        links.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return links


def _server_body(exc: BaseException) -> tuple[int | None, str] | None:
    """(HTTP status, body text) of an HTTP error that carries the server's answer."""
    body: Any = getattr(exc, "body", None)
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(exc, "status_code", None)
    if body is None and response is not None:
        try:
            body = response.text
        except Exception:  # a streamed or closed response has no readable text
            body = None
    if body in (None, "", b""):
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    return (status if isinstance(status, int) else None), _one_line(text)


def describe_error(exc: BaseException) -> str:
    """`Type: message <- CauseType: message <- ... <- server response (HTTP n): body`."""
    parts: list[str] = []
    shown: list[str] = []
    body: tuple[int | None, str] | None = None
    for link in _chain(exc):
        message = _one_line(str(link))
        body = body or _server_body(link)
        if parts and (not message or any(message in earlier for earlier in shown)):
            continue  # a link that only repeats what an outer one already said
        shown.append(message)
        name = type(link).__name__
        parts.append(_cap(f"{name}: {message}" if message else name, MAX_LINK_CHARS))
    if body is not None and all(body[1] not in earlier for earlier in shown):
        status = f" (HTTP {body[0]})" if body[0] else ""
        parts.append(f"server response{status}: {_cap(body[1], MAX_BODY_CHARS)}")
    if len(parts) > MAX_LINKS:  # keep the outermost and the innermost links
        parts = [*parts[:2], ELLIPSIS, *parts[-(MAX_LINKS - 2) :]]
    return CAUSE_SEPARATOR.join(parts)


def root_cause(error: str) -> str:
    """The innermost link of an error text made by `describe_error`."""
    return error.rsplit(CAUSE_SEPARATOR, 1)[-1]


def short_error(error: str, limit: int = 200) -> str:
    """`error` if it fits in `limit`; else its outermost type and its whole root cause.

    For one-line displays: a cause is shown whole or not at all, never cut in the middle.
    """
    error = _one_line(error)
    if len(error) <= limit or CAUSE_SEPARATOR not in error:
        return error
    outer = error.split(CAUSE_SEPARATOR, 1)[0].split(":", 1)[0]
    return f"{outer}{CAUSE_SEPARATOR}{ELLIPSIS}{CAUSE_SEPARATOR}{root_cause(error)}"
