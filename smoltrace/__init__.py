"""smoltrace: evaluate smolagents agents with correct scores, full traces and GPU metrics.

`run_evaluation` is imported lazily so that `import smoltrace` (and `smoltrace-eval --help`) stays fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"
__all__ = ["__version__", "run_evaluation"]


def __getattr__(name: str) -> Any:
    if name == "run_evaluation":
        from .core import run_evaluation

        return run_evaluation
    raise AttributeError(f"module 'smoltrace' has no attribute {name!r}")
