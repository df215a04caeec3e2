"""Scoring a task execution: the keyword matching rule (`matching`) and the success rule (`success`);
the statistics of a run and of two runs compared (`stats`: pass@k, intervals, paired tests).

Modules are named for the rule they hold; this package re-exports the scoring names (the
statistics are imported from `smoltrace.scoring.stats`).
"""

from __future__ import annotations

from .matching import (
    DEFAULT_KEYWORD_MATCH,
    KEYWORD_MATCH_RULES,
    KeywordMatch,
    any_keyword_matches,
    check_keyword_match,
    keyword_matches,
    numbers_in,
)
from .success import SCORE_FIELDS, correct_tool, keywords_in_prompt, response_correct, score

__all__ = [
    "DEFAULT_KEYWORD_MATCH",
    "KEYWORD_MATCH_RULES",
    "SCORE_FIELDS",
    "KeywordMatch",
    "any_keyword_matches",
    "check_keyword_match",
    "correct_tool",
    "keyword_matches",
    "keywords_in_prompt",
    "numbers_in",
    "response_correct",
    "score",
]
