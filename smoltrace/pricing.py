"""Price of model calls, from genai-otel-instrument's bundled pricing table (USD per 1,000 tokens).

One function prices both the results rows and the trace spans, so the two can never disagree.
A model missing from the table is unpriced: the cost is None, never a made-up 0.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

FREE_PROVIDERS = ("mock",)
# Local models have no API price, even when their name matches a hosted model in the table.
UNPRICED_PROVIDERS = ("transformers", "ollama")
# Costs are kept to 10 decimals: exact for any real bill, free of float noise (4.395e-05, not
# 4.394999999999e-05), and a one-call cost of a cheap model keeps its significant digits.
COST_DIGITS = 10
_lock = threading.Lock()


@functools.cache
def _calculator() -> Any:
    from genai_otel.cost_calculator import CostCalculator

    return CostCalculator()


def is_priced(model_id: str) -> bool:
    """True when the pricing table knows this model (exactly or by a contained, longer-first key)."""
    with _lock:
        return _calculator().pricing_source(model_id) == "table"


def price(
    model_id: str, prompt_tokens: int, completion_tokens: int, provider: str = "litellm"
) -> float | None:
    """Cost in USD of `prompt_tokens` in and `completion_tokens` out, or None when unknown."""
    if provider in FREE_PROVIDERS:
        return 0.0
    if provider in UNPRICED_PROVIDERS or not is_priced(model_id):
        return None
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    with _lock:
        cost = _calculator().calculate_granular_cost(model=model_id, usage=usage, call_type="chat")
    return round(float(cost["total"]), COST_DIGITS)
