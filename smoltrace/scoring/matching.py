"""The keyword matching rule behind `response_correct`.

Two rules, chosen with `--keyword-match` and recorded with the run:

- `word` (default): case-insensitive, whole words and phrases (`AI` is not in `said`, `machine
  learning` needs both words in order, any run of whitespace between them). A keyword that is a
  number is compared as a number with every number in the response: `22` is not in `122` nor in
  `1.22`, `22` equals `22.0`, `22°C` and `22C` contain 22, `15,678` is 15678.
- `substring`: the original harness's rule, a case-insensitive substring test (`22` is in `122`).
  It reproduces the original's numbers.

A task passes the keyword check when any of its keywords matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Literal

__all__ = [
    "DEFAULT_KEYWORD_MATCH",
    "KEYWORD_MATCH_RULES",
    "KeywordMatch",
    "any_keyword_matches",
    "check_keyword_match",
    "keyword_matches",
    "numbers_in",
]

KeywordMatch = Literal["word", "substring"]
KEYWORD_MATCH_RULES: tuple[KeywordMatch, ...] = ("word", "substring")
DEFAULT_KEYWORD_MATCH: KeywordMatch = "word"

# An integer with optional thousands separators, then an optional decimal part. A number glued to a
# letter, a digit or a decimal point on its left is part of something else (`CO2`, `1.22`, `x22`).
_NUMBER_BODY = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_NUMBER = re.compile(rf"(?<![\w.]){_NUMBER_BODY}(?![\d])")
_WHOLE_NUMBER = re.compile(rf"[+]?{_NUMBER_BODY}")


def check_keyword_match(rule: str) -> KeywordMatch:
    """`rule` if it is a known rule; ValueError naming the choices otherwise."""
    if rule not in KEYWORD_MATCH_RULES:
        raise ValueError(
            f"unknown keyword match rule '{rule}'; use one of {', '.join(KEYWORD_MATCH_RULES)}"
        )
    return rule  # type: ignore[return-value]


def _as_number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "").lstrip("+"))
    except InvalidOperation:
        return None


def numbers_in(text: str) -> list[Decimal]:
    """Every number of `text`, by the word rule's reading (`22°C` → 22, `15,678` → 15678)."""
    found = (_as_number(m.group(0)) for m in _NUMBER.finditer(text))
    return [n for n in found if n is not None]


def _phrase_pattern(keyword: str) -> re.Pattern[str]:
    words = keyword.split()
    body = r"\s+".join(map(re.escape, words))
    # a boundary only where the keyword itself starts/ends with a word character
    left = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    right = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    return re.compile(left + body + right, re.IGNORECASE)


def keyword_matches(keyword: str, text: str, rule: KeywordMatch = DEFAULT_KEYWORD_MATCH) -> bool:
    """Whether `keyword` occurs in `text` under `rule` (an empty keyword never matches)."""
    keyword = keyword.strip()
    if not keyword:
        return False
    if rule == "substring":
        return keyword.lower() in text.lower()
    check_keyword_match(rule)
    if _WHOLE_NUMBER.fullmatch(keyword):
        wanted = _as_number(keyword)
        return wanted is not None and wanted in numbers_in(text)
    return _phrase_pattern(keyword).search(text) is not None


def any_keyword_matches(
    keywords: Iterable[str], text: str, rule: KeywordMatch = DEFAULT_KEYWORD_MATCH
) -> bool:
    return any(keyword_matches(keyword, text, rule) for keyword in keywords)
