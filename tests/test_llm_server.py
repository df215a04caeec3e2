"""The scripted LLM server against the real litellm client and real smolagents agents, offline."""

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # before litellm is imported: no GitHub fetch

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import litellm
import pytest
from fakes.llm_server import (
    Reply,
    ScriptedLLMServer,
    by_task,
    code,
    default_responder,
    sequence,
    text,
    tool_call,
)
from smolagents import CodeAgent, LiteLLMModel, ToolCallingAgent, tool
from smolagents.memory import ActionStep
from smolagents.models import ChatMessage, MessageRole

litellm.suppress_debug_info = True

WEATHER_TOOL_SCHEMA = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}


@tool
def get_weather(location: str) -> str:
    """Report the weather.

    Args:
        location: The city to report on.
    """
    return f"Sunny, 21C in {location}"


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as srv:
        yield srv


def user(content: str) -> list[dict]:
    return [{"role": "user", "content": content}]


def openai_completion(server: ScriptedLLMServer, messages: list[dict], **kwargs: object):
    return litellm.completion(
        model="openai/gpt-4o-mini",
        api_base=server.openai_base,
        api_key="sk-test",
        messages=messages,
        **kwargs,
    )


def usage_dict(usage: object) -> dict:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def step_usage_totals(agent: ToolCallingAgent | CodeAgent) -> dict:
    steps = [s for s in agent.memory.steps if isinstance(s, ActionStep)]
    assert all(s.token_usage is not None for s in steps)
    prompt = sum(s.token_usage.input_tokens for s in steps)
    completion = sum(s.token_usage.output_tokens for s in steps)
    return {"prompt_tokens": prompt, "completion_tokens": completion}


def server_usage_totals(server: ScriptedLLMServer) -> dict:
    return {
        "prompt_tokens": sum(u["prompt_tokens"] for u in server.usages),
        "completion_tokens": sum(u["completion_tokens"] for u in server.usages),
    }


def all_text(body: dict) -> str:
    return json.dumps(body["messages"])


# -- responders, no HTTP -----------------------------------------------------------------------


def test_sequence_is_per_conversation_and_repeats_last() -> None:
    first, second = text("one"), text("two")
    respond = sequence(first, second)
    task_a = {"messages": [{"role": "system", "content": "sys"}, *user("task A")]}
    task_b = {"messages": [{"role": "user", "content": [{"type": "text", "text": "task B"}]}]}
    assert respond(task_a) is first
    assert respond(task_b) is first
    assert respond(task_a) is second
    assert respond(task_a) is second


def test_by_task_picks_by_substring_and_rejects_unknown_tasks() -> None:
    weather = text("weather")
    respond = by_task({"weather": [weather], "math": lambda body: text("math")})
    assert respond({"messages": user("What is the weather in Paris?")}) is weather
    assert respond({"messages": user("Do some math")}).content == "math"
    with pytest.raises(LookupError):
        respond({"messages": user("something else")})
    fallback = by_task({"weather": [weather]}, default=default_responder)
    assert fallback({"messages": user("other"), "tools": [WEATHER_TOOL_SCHEMA]}).tool_calls == [
        {"name": "final_answer", "arguments": {"answer": "ok"}}
    ]
    assert 'final_answer("ok")' in fallback({"messages": user("other")}).content


# -- litellm, OpenAI protocol -------------------------------------------------------------------


def test_openai_text_and_tool_call_with_exact_usage(server: ScriptedLLMServer) -> None:
    server.set_responder(
        by_task(
            {
                "greeter": [text("hello")],
                "weather": [tool_call("get_weather", location="Paris")],
            }
        )
    )
    reply = openai_completion(server, user("Say hello to the greeter"))
    assert reply.choices[0].message.content == "hello"
    assert reply.choices[0].finish_reason == "stop"
    # 24 chars // 4 + 4 = 10 prompt; len('{"content": "hello", "tool_calls": null}') = 40 -> 11.
    assert usage_dict(reply.usage) == {
        "prompt_tokens": 10,
        "completion_tokens": 11,
        "total_tokens": 21,
    }

    called = openai_completion(server, user("What is the weather?"), tools=[WEATHER_TOOL_SCHEMA])
    calls = called.choices[0].message.tool_calls
    assert called.choices[0].finish_reason == "tool_calls"
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("call_1", "get_weather", {"location": "Paris"})
    ]
    assert server.usages == [usage_dict(reply.usage), usage_dict(called.usage)]
    assert server.requests[1]["tools"] == [WEATHER_TOOL_SCHEMA]
    assert server.unhandled == []


def test_fixed_token_counts_and_stop_sequences(server: ScriptedLLMServer) -> None:
    server.set_responder(
        lambda body: Reply(
            content="keep this Observation: drop", prompt_tokens=120, completion_tokens=30
        )
    )
    reply = openai_completion(server, user("hi"), stop=["Observation:"])
    assert reply.choices[0].message.content == "keep this "
    assert usage_dict(reply.usage) == {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "total_tokens": 150,
    }


def test_openai_streaming_text_and_tool_calls(server: ScriptedLLMServer) -> None:
    long_text = "streamed " * 8
    server.set_responder(
        by_task(
            {"story": [text(long_text)], "weather": [tool_call("get_weather", location="Rome")]}
        )
    )
    chunks = list(
        openai_completion(
            server, user("Tell a story"), stream=True, stream_options={"include_usage": True}
        )
    )
    assert (
        len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    )  # really streamed
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == long_text
    usages = [usage_dict(c.usage) for c in chunks if getattr(c, "usage", None)]
    assert usages == server.usages and len(usages) == 1

    chunks = list(
        openai_completion(
            server,
            user("What is the weather?"),
            tools=[WEATHER_TOOL_SCHEMA],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    built = litellm.stream_chunk_builder(chunks)
    call = built.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "call_1",
        "get_weather",
        {"location": "Rome"},
    )
    assert built.choices[0].finish_reason == "tool_calls"
    assert usage_dict(built.usage) == server.usages[-1]


def test_errors_retry_after_and_recovery(server: ScriptedLLMServer) -> None:
    server.fail_next(500, retry_after=0.01)
    reply = openai_completion(server, user("retry me"))  # the OpenAI SDK retries the 500
    assert reply.choices[0].message.content.startswith("Thought:")
    assert len(server.requests) == 2
    assert len(server.usages) == 1

    server.fail_next(400, body='{"error": {"message": "scripted bad request"}}')
    with pytest.raises(litellm.BadRequestError, match="scripted bad request"):
        openai_completion(server, user("bad"))
    assert len(server.requests) == 3  # a 400 is not retried

    server.fail_next(429, retry_after=7)
    request = urllib.request.Request(
        f"{server.openai_base}/chat/completions",
        data=json.dumps({"model": "m", "messages": user("x")}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    assert raised.value.code == 429
    assert raised.value.headers["Retry-After"] == "7"
    assert "scripted failure" in json.loads(raised.value.read())["error"]["message"]


def test_responder_error_reaches_the_client(server: ScriptedLLMServer) -> None:
    server.set_responder(by_task({"weather": [text("x")]}))
    with pytest.raises(litellm.BadRequestError, match="no scripted task matches"):
        openai_completion(server, user("a task nobody scripted"))
    assert len(server.responder_errors) == 1


def test_latency_is_applied(server: ScriptedLLMServer) -> None:
    server.latency_s = 0.3
    started = time.perf_counter()
    openai_completion(server, user("slow"))
    assert time.perf_counter() - started >= 0.3


def test_listing_routes_and_unknown_routes(server: ScriptedLLMServer) -> None:
    openai_completion(server, user("hi"))
    with urllib.request.urlopen(f"{server.openai_base}/models", timeout=5) as response:
        assert [m["id"] for m in json.loads(response.read())["data"]] == ["gpt-4o-mini"]
    with urllib.request.urlopen(f"{server.url}/api/tags", timeout=5) as response:
        assert [m["name"] for m in json.loads(response.read())["models"]] == ["gpt-4o-mini"]
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"{server.url}/v1/embeddings", timeout=5)
    assert raised.value.code == 404
    assert server.unhandled == ["GET /v1/embeddings"]


def test_stop_closes_the_port() -> None:
    srv = ScriptedLLMServer().start()
    url = srv.url
    threads_before = threading.active_count()
    srv.stop()
    assert threading.active_count() < threads_before
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/v1/models", timeout=2)
    srv.stop()  # idempotent


# -- smolagents agents, OpenAI protocol ---------------------------------------------------------


def openai_model(server: ScriptedLLMServer, **kwargs: object) -> LiteLLMModel:
    return LiteLLMModel(
        model_id="openai/gpt-4o-mini", api_base=server.openai_base, api_key="sk-test", **kwargs
    )


def test_tool_calling_agent_runs_and_token_usage_matches(server: ScriptedLLMServer) -> None:
    server.set_responder(
        sequence(
            tool_call("get_weather", location="Paris"),
            tool_call("final_answer", answer="Sunny in Paris"),
        )
    )
    agent = ToolCallingAgent(
        tools=[get_weather], model=openai_model(server), max_steps=4, verbosity_level=0
    )
    assert agent.run("What is the weather in Paris?") == "Sunny in Paris"
    requests = server.requests
    assert len(requests) == 2
    assert "Sunny, 21C in Paris" in all_text(requests[1])  # the tool really ran
    assert step_usage_totals(agent) == server_usage_totals(server)
    assert server.unhandled == []


def test_code_agent_runs_scripted_code(server: ScriptedLLMServer) -> None:
    server.set_responder(
        sequence(
            code('report = get_weather(location="Oslo")\nprint(report)'),
            code("final_answer(report)"),
        )
    )
    agent = CodeAgent(
        tools=[get_weather],
        model=openai_model(server),
        executor_type="local",
        max_steps=4,
        verbosity_level=0,
    )
    assert agent.run("Weather in Oslo?") == "Sunny, 21C in Oslo"
    requests = server.requests
    assert len(requests) == 2
    assert "</code>" in requests[0]["stop"]
    assert "Sunny, 21C in Oslo" in all_text(requests[1])  # the printed observation came back
    assert step_usage_totals(agent) == server_usage_totals(server)


def test_streaming_agent_usage_matches(server: ScriptedLLMServer) -> None:
    server.set_responder(sequence(tool_call("final_answer", answer="streamed ok")))
    agent = ToolCallingAgent(
        tools=[get_weather],
        model=openai_model(server),
        stream_outputs=True,
        max_steps=2,
        verbosity_level=0,
    )
    assert agent.run("Stream it") == "streamed ok"
    assert server.requests[0]["stream"] is True
    assert step_usage_totals(agent) == server_usage_totals(server)


def test_parallel_agents_follow_their_own_scripts() -> None:
    cities = ["Paris", "Rome", "Oslo", "Lima"]
    script = {
        city: [
            tool_call("get_weather", location=city),
            tool_call("final_answer", answer=f"done {city}"),
        ]
        for city in cities
    }
    with ScriptedLLMServer(by_task(script), latency_s=0.05) as srv:

        def run(city: str) -> str:
            agent = ToolCallingAgent(
                tools=[get_weather], model=openai_model(srv), max_steps=4, verbosity_level=0
            )
            return agent.run(f"Weather in {city}?")

        with ThreadPoolExecutor(max_workers=len(cities)) as pool:
            answers = list(pool.map(run, cities))
        assert answers == [f"done {city}" for city in cities]
        assert len(srv.requests) == 2 * len(cities)
        assert srv.responder_errors == []


def test_generation_params_reach_the_server(server: ScriptedLLMServer) -> None:
    model = openai_model(server, temperature=0.3, max_tokens=64, seed=7)
    message = model.generate(
        [ChatMessage(role=MessageRole.USER, content=[{"type": "text", "text": "hi"}])]
    )
    assert message.content.startswith("Thought:")
    body = server.requests[-1]
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.3, 64, 7)
    assert body["model"] == "gpt-4o-mini"


# -- Ollama protocol ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_name", ["llama3", "smoltrace-tiny:1b"]
)  # known / unknown to litellm
def test_ollama_chat_tool_calling_agent(server: ScriptedLLMServer, model_name: str) -> None:
    server.set_responder(
        sequence(
            tool_call("get_weather", location="Lima"),
            tool_call("final_answer", answer="Sunny in Lima"),
        )
    )
    model = LiteLLMModel(model_id=f"ollama_chat/{model_name}", api_base=server.url, temperature=0.2)
    agent = ToolCallingAgent(tools=[get_weather], model=model, max_steps=4, verbosity_level=0)
    assert agent.run("What is the weather in Lima?") == "Sunny in Lima"
    requests = server.requests
    assert len(requests) == 2
    assert requests[0]["model"] == model_name
    assert requests[0]["options"]["temperature"] == 0.2
    assert "Sunny, 21C in Lima" in all_text(requests[1])
    assert step_usage_totals(agent) == server_usage_totals(server)
    assert server.unhandled == []


@pytest.mark.parametrize("stream", [False, True])
def test_ollama_chat_and_generate_with_litellm(server: ScriptedLLMServer, stream: bool) -> None:
    answer = "an ollama answer long enough to stream"
    server.set_responder(sequence(text(answer)))
    for model in ("ollama_chat/llama3", "ollama/llama3"):
        response = litellm.completion(
            model=model, api_base=server.url, messages=user("Hi"), stream=stream
        )
        if stream:
            response = litellm.stream_chunk_builder(list(response))
        assert response.choices[0].message.content == answer
        assert usage_dict(response.usage) == server.usages[-1]
    assert "messages" in server.requests[0] and "prompt" in server.requests[1]
    assert server.unhandled == []
