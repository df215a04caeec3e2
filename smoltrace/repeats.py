"""Repeated attempts (`--repeats K`) and the seed each attempt sends to the model.

Every attempt of a task runs in a clean agent (see runner). With a base seed, attempt k sends
`seed = base + k`, so attempts differ from each other yet a rerun with the same base repeats them;
the base comes from `--seed` or a `seed` in `--model-args` and is recorded in metadata.json.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError

__all__ = ["UNSEEDED_PROVIDERS", "apply_seed", "attempt_seeds", "base_seed", "repeats_record"]

# Providers whose generation parameters have no `seed` (transformers passes them to generate()).
UNSEEDED_PROVIDERS = ("transformers",)


def base_seed(
    repeats: int, seed: int | None, model_args: dict[str, Any], provider: str
) -> int | None:
    """The run's base seed (None: attempts send no seed); raises ConfigError on a bad combination."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"--repeats must be a whole number of at least 1, got {repeats!r}")
    if seed is not None and "seed" in model_args:
        raise ConfigError("the seed is given twice (--seed and --model-args seed=...); keep one")
    base = seed if seed is not None else model_args.get("seed")
    if base is None:
        return None
    if isinstance(base, bool) or not isinstance(base, int):
        raise ConfigError(f"the seed must be a whole number, got {base!r}")
    if provider in UNSEEDED_PROVIDERS:
        raise ConfigError(
            f"the {provider} provider takes no seed parameter; remove --seed / seed=... "
            "(its attempts differ only if sampling is on)"
        )
    return base


def attempt_seeds(repeats: int, base: int | None) -> list[int | None]:
    """The seed of each attempt 0..repeats-1: base + k, or None for every attempt without a base."""
    return [None if base is None else base + k for k in range(repeats)]


def repeats_record(repeats: int, base: int | None) -> dict[str, Any]:
    """metadata.json's `repeats`: how many attempts per task and the seed each one sent."""
    return {"count": repeats, "base_seed": base, "seeds": attempt_seeds(repeats, base)}


def apply_seed(model: Any, seed: int | None) -> Any:
    """Make `model` send `seed` with every request (smolagents models send `model.kwargs`)."""
    if seed is not None:
        model.kwargs["seed"] = seed
    return model
