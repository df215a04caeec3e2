"""`google_search` over the `--search-provider` backends, with the key checked before the run.

smolagents' `GoogleSearchTool` knows SerpAPI and Serper only (any other provider name silently
falls back to Serper), so Brave and Tavily are served here by a small HTTP client. A missing key
is a ConfigError before the first model call, never a tool that fails on every task. The key is
sent only in a header and never appears in a result or an error the agent sees.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from smolagents import Tool

from ..errors import ConfigError

__all__ = ["SEARCH_KEYS", "HTTPSearchTool", "check_search_provider", "search_tool"]

SEARCH_PROVIDERS = ("serper", "brave", "tavily", "duckduckgo")
SEARCH_KEYS = {"serper": "SERPER_API_KEY", "brave": "BRAVE_API_KEY", "tavily": "TAVILY_API_KEY"}
ENDPOINTS = {
    "brave": "https://api.search.brave.com/res/v1/web/search",
    "tavily": "https://api.tavily.com/search",
}
MAX_RESULTS = 5
MAX_BODY_BYTES = 1_000_000
TIMEOUT_S = 30.0


def check_search_provider(provider: str, enabled_tools: list[str] | None) -> None:
    """Fail fast on an unknown provider, or a missing key when `google_search` is enabled."""
    if provider not in SEARCH_PROVIDERS:
        raise ConfigError(
            f"unknown --search-provider '{provider}'; use one of {', '.join(SEARCH_PROVIDERS)}"
        )
    if "google_search" not in (enabled_tools or []) or provider not in SEARCH_KEYS:
        return
    if not os.environ.get(SEARCH_KEYS[provider], "").strip():
        raise ConfigError(
            f"google_search with --search-provider {provider} needs {SEARCH_KEYS[provider]} in "
            "the environment; set it, or choose another --search-provider"
        )


class HTTPSearchTool(Tool):
    """Web search through the Brave or Tavily API; results as `title - url: snippet` lines."""

    name = "web_search"
    description = "Searches the web and returns the top results (title, URL and snippet)."
    inputs = {"query": {"type": "string", "description": "What to search for"}}
    output_type = "string"

    def __init__(self, provider: str, endpoint: str | None = None) -> None:
        super().__init__()
        if provider not in ENDPOINTS:
            raise ValueError(f"no HTTP search backend for {provider}")
        self.provider = provider
        self.endpoint = endpoint or ENDPOINTS[provider]

    def _request(self, query: str, key: str) -> urllib.request.Request:
        if self.provider == "tavily":
            body = json.dumps({"query": query, "max_results": MAX_RESULTS}).encode()
            return urllib.request.Request(
                self.endpoint,
                data=body,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
        url = f"{self.endpoint}?{urllib.parse.urlencode({'q': query, 'count': MAX_RESULTS})}"
        return urllib.request.Request(
            url, headers={"X-Subscription-Token": key, "Accept": "application/json"}
        )

    @staticmethod
    def _hits(provider: str, data: dict[str, Any]) -> list[tuple[str, str, str]]:
        if provider == "tavily":
            items = data.get("results") or []
            return [(i.get("title", ""), i.get("url", ""), i.get("content", "")) for i in items]
        items = (data.get("web") or {}).get("results") or []
        return [(i.get("title", ""), i.get("url", ""), i.get("description", "")) for i in items]

    def forward(self, query: str) -> str:
        key = os.environ.get(SEARCH_KEYS[self.provider], "").strip()
        if not key:
            return f"Error: {SEARCH_KEYS[self.provider]} is not set"
        try:
            with urllib.request.urlopen(self._request(query, key), timeout=TIMEOUT_S) as response:
                data = json.loads(response.read(MAX_BODY_BYTES))
        except urllib.error.HTTPError as exc:
            return f"Error: {self.provider} search failed with HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return f"Error: {self.provider} search failed ({type(exc).__name__})"
        hits = self._hits(self.provider, data if isinstance(data, dict) else {})[:MAX_RESULTS]
        if not hits:
            return f"No results found for '{query}'."
        return "\n".join(f"- {title} - {url}: {snippet}" for title, url, snippet in hits)


def search_tool(provider: str) -> Tool:
    """The `google_search` tool for `provider`."""
    if provider in ENDPOINTS:
        return HTTPSearchTool(provider)
    from smolagents import default_tools

    if provider == "duckduckgo":
        return default_tools.DuckDuckGoSearchTool()
    return default_tools.GoogleSearchTool(provider=provider)
