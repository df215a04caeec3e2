"""The seed's `smoltrace.utils` names, kept as a stable facade over the modules that hold them.

Names resolve lazily, so importing this module does not pull in the Hub or telemetry stacks.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "generate_dataset_names": "smoltrace.outputs.naming",
    "get_hf_user_info": "smoltrace.outputs.hub",
    "push_results_to_hf": "smoltrace.outputs.hub",
    "update_leaderboard": "smoltrace.outputs.hub",
    "load_prompt_config": "smoltrace.agents",
    "aggregate_gpu_metrics": "smoltrace.outputs.leaderboard",
    "compute_leaderboard_row": "smoltrace.outputs.leaderboard",
    "flatten_results_for_hf": "smoltrace.outputs.results",
    "flatten_metrics_for_hf": "smoltrace.telemetry",
    "save_results_locally": "smoltrace.outputs.local",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'smoltrace.utils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
