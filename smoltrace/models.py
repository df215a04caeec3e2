"""Model providers: litellm (default), HF inference, local transformers, Ollama and the offline mock.

Credentials and arguments are checked by :func:`check_provider` before any model is built, so a
missing key costs nothing. Generation parameters from `--model-args` become model kwargs, which
smolagents sends with every completion request (the original appended them to the task text).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from .errors import ConfigError

logger = logging.getLogger(__name__)

PROVIDERS = ("litellm", "inference", "transformers", "ollama", "mock")
LOCAL_PROVIDERS = ("transformers", "ollama")
OLLAMA_DEFAULT_HOST = "http://localhost:11434"
DEFAULT_REQUEST_TIMEOUT_S = 120.0
# Placeholder key for OpenAI-compatible servers that need none (the openai client insists on one).
_NO_KEY = "sk-no-key-required"


def parse_model_args(items: list[str] | None) -> dict[str, Any]:
    """`key=value` strings to a dict; values are JSON (numbers, booleans, lists) or plain strings."""
    parsed: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            raise ConfigError(
                f"malformed --model-args item '{item}': use key=value, e.g. temperature=0.2"
            )
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            lowered = raw.lower()
            value = {"true": True, "false": False}.get(lowered, raw)
        parsed[key] = value
    return parsed


def ollama_base(api_base: str | None) -> str:
    """Ollama server address: `--api-base`, then `OLLAMA_HOST`, then localhost:11434."""
    base = api_base or os.environ.get("OLLAMA_HOST") or OLLAMA_DEFAULT_HOST
    if "://" not in base:
        base = f"http://{base}"
    return base.rstrip("/")


def check_provider(
    provider: str, model_id: str, api_base: str | None, hf_inference_provider: str | None = None
) -> None:
    """Fail fast on an unknown provider, model id or backend, or a missing credential."""
    if provider not in PROVIDERS:
        raise ConfigError(f"unknown provider '{provider}'; use one of {', '.join(PROVIDERS)}")
    if provider == "mock":
        from .mock import MOCK_MODELS

        if model_id not in MOCK_MODELS:
            raise ConfigError(
                f"unknown mock model '{model_id}'; the mock provider offers: {', '.join(MOCK_MODELS)}"
            )
    elif provider == "litellm":
        litellm = quiet_litellm()
        try:
            litellm.get_llm_provider(model_id, api_base=api_base)
        except Exception:  # litellm raises BadRequestError when it cannot tell the provider
            raise ConfigError(
                f"litellm cannot tell which provider serves model '{model_id}'; use a litellm "
                "model id such as openai/gpt-4o-mini or anthropic/claude-3-5-haiku-latest "
                "(openai/NAME for an OpenAI-compatible --api-base)"
            ) from None
        if api_base:
            return
        env = litellm.validate_environment(model=model_id)
        missing = env.get("missing_keys") or []
        if missing:
            raise ConfigError(
                f"model '{model_id}' needs {' and '.join(missing)} in the environment; set "
                f"{'it' if len(missing) == 1 else 'them'}, or pass --api-base for a server that "
                "needs no key"
            )
    elif provider == "transformers" and model_id.startswith(("/", ".", "~")):
        path = Path(model_id).expanduser()
        if not path.is_dir():
            raise ConfigError(
                f"model folder not found: {model_id}; pass a folder holding a transformers "
                "model (config.json, weights, tokenizer) or a Hub model id"
            )
    elif provider == "inference":
        check_inference_provider(hf_inference_provider)
        if not (os.environ.get("HF_TOKEN") or api_base):
            raise ConfigError(
                "the inference provider needs HF_TOKEN in the environment (a token allowed to "
                "call Inference Providers)"
            )


def check_inference_provider(name: str | None) -> None:
    """An unknown `--hf-inference-provider` would fail every task; say so before the run."""
    if name is None:
        return
    from huggingface_hub.inference._providers import PROVIDERS as HF_PROVIDERS

    known = sorted(["auto", *HF_PROVIDERS])
    if name not in known:
        raise ConfigError(
            f"unknown --hf-inference-provider '{name}'; use one of {', '.join(known)}"
        )


def quiet_litellm() -> Any:
    """litellm, told not to print its provider-list banner to stdout on every failed call."""
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def build_model(
    provider: str,
    model_id: str,
    *,
    api_base: str | None = None,
    model_args: dict[str, Any] | None = None,
    hf_inference_provider: str | None = None,
    trust_remote_code: bool = False,
    tasks: list[dict[str, Any]] | None = None,
    request_timeout: float | None = None,
) -> Any:
    """A smolagents Model for `provider`; `tasks` is the answer key the mock oracle needs.

    HTTP models get `request_timeout` on their client and every library retry switched off
    (smolagents' rate-limit sleeps, the OpenAI SDK's and litellm's retries): smoltrace's own
    policy (`smoltrace.retry`) is the only one that retries.
    """
    kwargs = dict(model_args or {})
    if provider == "mock":
        from .mock import OracleModel

        return OracleModel(tasks or [], model_id=model_id, **kwargs)
    if provider in ("litellm", "ollama"):
        quiet_litellm()
        kwargs.update(retry=False, max_retries=0, num_retries=0)
        if request_timeout:
            kwargs["timeout"] = request_timeout
    if provider == "litellm":
        from smolagents import LiteLLMModel

        if api_base:
            kwargs.setdefault("api_key", _api_key_for(model_id) or _NO_KEY)
        return LiteLLMModel(model_id=model_id, api_base=api_base, **kwargs)
    if provider == "ollama":
        from smolagents import LiteLLMModel

        name = model_id.removeprefix("ollama_chat/").removeprefix("ollama/")
        return LiteLLMModel(
            model_id=f"ollama_chat/{name}", api_base=ollama_base(api_base), **kwargs
        )
    if provider == "inference":
        from smolagents import InferenceClientModel

        kwargs["retry"] = False
        if request_timeout:
            kwargs["timeout"] = request_timeout
        if api_base:
            # A URL as the model makes the client post to it as-is: an OpenAI-compatible endpoint.
            url = f"{api_base.rstrip('/')}/chat/completions"
            return InferenceClientModel(
                model_id=url, api_key=os.environ.get("HF_TOKEN") or _NO_KEY, **kwargs
            )
        return InferenceClientModel(model_id=model_id, provider=hf_inference_provider, **kwargs)
    if provider == "transformers":
        try:
            from smolagents import TransformersModel
        except ImportError as exc:
            raise ConfigError(
                f"the transformers provider needs extra packages ({exc.name}); "
                "install them with: pip install 'smoltrace[transformers]'"
            ) from None
        if "max_tokens" in kwargs:
            kwargs["max_new_tokens"] = kwargs.pop("max_tokens")
        return TransformersModel(
            model_id=model_id,
            device_map="auto",
            torch_dtype="auto",
            trust_remote_code=trust_remote_code,
            **kwargs,
        )
    raise ConfigError(f"unknown provider '{provider}'; use one of {', '.join(PROVIDERS)}")


def _api_key_for(model_id: str) -> str | None:
    """The key litellm would use for this model, if the environment has one."""
    prefix = model_id.split("/", 1)[0].upper() if "/" in model_id else "OPENAI"
    return os.environ.get(f"{prefix}_API_KEY")
