"""Generation flags (`--temperature --top-p --top-k --max-new-tokens --reasoning-effort
--enable-thinking`): sugar over `--model-args`, with a record of what each provider really got.

A provider that has no such parameter would either reject every request (litellm raises
`UnsupportedParamsError`) or silently ignore it; so each requested setting is either *applied*
(sent with every model request, under the provider's own name) or *not applied* with the reason,
and both are recorded on the leaderboard row (`generation_settings`). An OpenAI-compatible
`--api-base` server gets `top_k` and the chat-template `enable_thinking` switch in the request
body (the vLLM / SGLang convention).
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ConfigError

__all__ = ["GENERATION_FLAGS", "apply_generation_settings", "requested_settings"]

# setting -> CLI flag
GENERATION_FLAGS = {
    "temperature": "--temperature",
    "top_p": "--top-p",
    "top_k": "--top-k",
    "max_new_tokens": "--max-new-tokens",
    "reasoning_effort": "--reasoning-effort",
    "enable_thinking": "--enable-thinking",
}
REASONING_EFFORTS = ("minimal", "low", "medium", "high")
# the litellm / OpenAI request name of each setting
_OPENAI_NAMES = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_new_tokens": "max_tokens",
    "reasoning_effort": "reasoning_effort",
}


def requested_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The flags that were given, checked; `values` maps setting names to flag values or None."""
    settings = {k: v for k, v in values.items() if k in GENERATION_FLAGS and v is not None}
    checks = (
        ("temperature", lambda v: 0 <= v <= 2, "between 0 and 2"),
        ("top_p", lambda v: 0 < v <= 1, "above 0 and at most 1"),
        ("top_k", lambda v: v >= 1, "at least 1"),
        ("max_new_tokens", lambda v: v >= 1, "at least 1"),
    )
    for key, ok, rule in checks:
        if key in settings and not ok(settings[key]):
            raise ConfigError(f"{GENERATION_FLAGS[key]} must be {rule}, got {settings[key]}")
    if "reasoning_effort" in settings and settings["reasoning_effort"] not in REASONING_EFFORTS:
        raise ConfigError(f"--reasoning-effort must be one of {', '.join(REASONING_EFFORTS)}")
    return settings


def _litellm_supported(model_id: str, provider: str) -> set[str]:
    from .models import quiet_litellm

    litellm = quiet_litellm()
    try:
        model, llm_provider, _, _ = litellm.get_llm_provider(model_id)
    except Exception:
        return set()
    if provider == "ollama":
        model, llm_provider = model_id.split("/", 1)[-1], "ollama_chat"
    return set(
        litellm.get_supported_openai_params(model=model, custom_llm_provider=llm_provider) or []
    )


def apply_generation_settings(
    requested: dict[str, Any],
    model_args: dict[str, Any],
    *,
    provider: str,
    model_id: str,
    api_base: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model_args with the applied settings merged in, the `generation_settings` record).

    A setting also given in `--model-args` is an error: one value must win visibly.
    """
    args = dict(model_args)
    applied: dict[str, Any] = {}
    not_applied: dict[str, str] = {}
    for key in requested:
        name = "max_new_tokens" if provider == "transformers" else _OPENAI_NAMES.get(key, key)
        if name in args or key in args:
            raise ConfigError(
                f"{GENERATION_FLAGS[key]} and --model-args {name}=... both set it; keep one"
            )
    extra_body: dict[str, Any] = dict(args.pop("extra_body", None) or {})
    uses_litellm = bool(requested) and provider in ("litellm", "ollama")
    supported = _litellm_supported(model_id, provider) if uses_litellm else set()
    for key, value in requested.items():
        reason = None
        if provider == "mock":
            reason = "the mock oracle generates nothing"
        elif provider == "transformers":
            if key in ("reasoning_effort", "enable_thinking"):
                reason = "transformers generate() has no such parameter"
            else:
                args["max_new_tokens" if key == "max_new_tokens" else key] = value
        elif provider == "inference":
            if key in ("temperature", "top_p", "max_new_tokens"):
                args[_OPENAI_NAMES[key]] = value
            else:
                reason = "Inference Providers' chat completion has no such parameter"
        elif key == "enable_thinking":
            if provider == "litellm" and api_base:
                kwargs = dict(extra_body.get("chat_template_kwargs") or {})
                kwargs["enable_thinking"] = value
                extra_body["chat_template_kwargs"] = kwargs
            else:
                reason = "only an OpenAI-compatible --api-base server takes a chat-template switch"
        elif _OPENAI_NAMES[key] in supported:
            args[_OPENAI_NAMES[key]] = value
        elif provider == "litellm" and api_base:
            extra_body[_OPENAI_NAMES[key]] = value  # a non-OpenAI field, in the request body
        else:
            reason = f"litellm says {model_id} does not accept {_OPENAI_NAMES[key]}"
        if reason:
            not_applied[key] = reason
        else:
            applied[key] = value
    if extra_body:
        args["extra_body"] = extra_body
    record = {"requested": requested, "applied": applied, "not_applied": not_applied}
    return args, record


def settings_column(record: dict[str, Any] | None) -> str | None:
    """The leaderboard's `generation_settings` value: the record as compact JSON, or None."""
    if not record or not record.get("requested"):
        return None
    return json.dumps(record, sort_keys=True, separators=(",", ":"))
