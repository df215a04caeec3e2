"""Test-session setup: an offline, deterministic environment for every test.

Environment variables that libraries read at import time are set here, before any test module
imports litellm, huggingface_hub or gradio. HF_ENDPOINT points at a closed loopback port so a test that
forgot to start the local Hub fails fast instead of reaching the internet.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_XET": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_ENDPOINT": "http://127.0.0.1:9",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "OTEL_SDK_DISABLED": "false",
}
SECRET_VARS = (
    "HF_TOKEN",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "TOGETHER_API_KEY",
    "LITELLM_API_KEY",
    "OLLAMA_HOST",
    "SERPER_API_KEY",
    "BRAVE_API_KEY",
    "TAVILY_API_KEY",
)
# Hub "offline mode" would stop the clients from talking to the local Hub server the tests start;
# the network is kept away by HF_ENDPOINT instead. Tests that want offline mode pass it explicitly.
HUB_OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
for key, value in OFFLINE_ENV.items():
    os.environ.setdefault(key, value)
for key in (*SECRET_VARS, *HUB_OFFLINE_VARS):
    os.environ.pop(key, None)

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for a `smoltrace-eval` subprocess: offline, no inherited secrets."""
    env = {k: v for k, v in os.environ.items() if k not in (*SECRET_VARS, *HUB_OFFLINE_VARS)}
    env.update(OFFLINE_ENV)
    env["HF_HOME"] = env.get(
        "HF_HOME_FOR_TESTS", env.get("HF_HOME", str(REPO_ROOT / ".pytest_cache" / "hf"))
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama built once per session (about 10 s)."""
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture()
def llm_server():
    """A scripted OpenAI-compatible / Ollama server on 127.0.0.1, stopped after the test."""
    from fakes.llm_server import ScriptedLLMServer

    server = ScriptedLLMServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Each test starts from the same logging set-up and registered secrets: an in-process CLI run (its console sets the
    root handlers and logger levels) must not change what a later test's `caplog` sees. pytest's
    own capture handlers come and go per test phase and are left to pytest."""

    def ours(handlers: list[logging.Handler]) -> list[logging.Handler]:
        return [h for h in handlers if not type(h).__module__.startswith("_pytest")]

    from smoltrace import redaction

    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict))]
    saved = [(lg, lg.level, lg.propagate, lg.disabled, ours(lg.handlers)) for lg in loggers]
    # secrets registered by one test (a token file, an OTLP header) must not redact another's text
    secrets = set(redaction._registered)
    yield
    redaction._registered.clear()
    redaction._registered.update(secrets)
    for lg, level, propagate, disabled, handlers in saved:
        lg.setLevel(level)
        lg.propagate, lg.disabled = propagate, disabled
        lg.handlers[:] = [h for h in lg.handlers if h not in ours(lg.handlers)] + handlers
