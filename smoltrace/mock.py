"""The `mock` provider: a scripted oracle that is NOT a real model.

`--provider mock --model oracle` runs the whole harness offline. The oracle knows each task's answer key
(expected tool, call count, keywords) and behaves like a perfect agent: it calls the expected tools
with arguments read from the prompt, then answers with the tool observations and the expected
keywords. On the built-in suite it must score 100% for both agent types, so a lower score means a task
record or the scorer is inconsistent: it doubles as a self-check of a task dataset.

Tasks with `required_tools` (the ops benchmark) get no such help: the oracle calls those file tools
with the files, folders and 'quoted' terms its prompt names, and its answer consists only of the tool
output lines that mention a keyword. It scores 100% there only if the sample files really hold the
answers and the file tools really deliver them.

It is a smolagents `Model`, so its calls go through the same agent loop, step accounting and
instrumentation as an API model; token counts are a deterministic estimate (characters / 4).
"""

from __future__ import annotations

import json
import re
from typing import Any

from smolagents.models import (
    ChatMessage,
    ChatMessageToolCall,
    ChatMessageToolCallFunction,
    MessageRole,
    Model,
)
from smolagents.monitoring import TokenUsage

MOCK_MODELS = ("oracle",)

_PLACE = re.compile(r"\b([A-Z][a-z]+(?: [A-Z][a-z]+)*, [A-Z][A-Za-z]+)")
_ARITHMETIC = re.compile(
    r"\d+(?:\.\d+)?(?:\s*(?:[-+*/%]|\*\*|multiplied by|times|plus|minus)\s*\d+(?:\.\d+)?)+"
)
_WORD_OPS = {"multiplied by": "*", "times": "*", "plus": "+", "minus": "-"}
_TOPIC = re.compile(r"\babout (?:the )?(?:latest news about )?(.+?)(?:\s+and\b|[.?!]|$)", re.I)
_TOOL_HINTS = (
    ("get_current_time", ("time",)),
    ("get_weather", ("weather", "temperature")),
    ("web_search", ("search", "news")),
    ("calculator", ("calculate", "compute", "multiplied", "sum")),
)


def _text(message: ChatMessage) -> str:
    content = message.content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def _tool_arguments(tool: str, prompt: str, index: int) -> dict[str, Any]:
    """Arguments for the `index`-th call of `tool`, read from the task prompt."""
    if tool == "get_weather":
        places = _PLACE.findall(prompt) or ["Paris, France"]
        return {"location": places[index % len(places)]}
    if tool == "get_current_time":
        return {"timezone": "UTC"}
    if tool == "calculator":
        expressions = _ARITHMETIC.findall(prompt) or ["1 + 1"]
        expression = expressions[index % len(expressions)]
        for words, symbol in _WORD_OPS.items():
            expression = expression.replace(words, symbol)
        return {"expression": expression}
    topic = _TOPIC.search(prompt)
    return {"query": topic.group(1) if topic else prompt}


# Files, folders and 'quoted' search terms an ops task's prompt names (see _file_tool_calls).
_FILE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)+[\w.-]*\.[\w-]+)")
_FOLDER = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)+)(?![\w.])")
_TERM = re.compile(r"'([^']+)'")
MAX_FINDINGS = 20


def _nearest_before(found: list[re.Match[str]], position: int, default: str) -> str:
    earlier = [m.group(1) for m in found if m.start() < position]
    return earlier[-1] if earlier else (found[0].group(1) if found else default)


def _file_tool_calls(task: dict[str, Any], available: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """Calls of the file tools in `required_tools`, with arguments read from the prompt.

    read_file reads every file the prompt names, list_directory lists every folder; each 'quoted'
    term is searched for (search_files, in the folder named last before it) or grepped (grep, in
    the file named last before it); head_tail and sort work on the first file.
    """
    prompt = task["prompt"]
    files = list(_FILE.finditer(prompt))
    folders = list(_FOLDER.finditer(prompt))
    terms = list(_TERM.finditer(prompt))
    calls: list[tuple[str, dict[str, Any]]] = []
    for tool in dict.fromkeys(task["required_tools"]):
        if tool not in available:
            continue
        if tool == "read_file":
            calls += [(tool, {"file_path": f}) for f in dict.fromkeys(m.group(1) for m in files)]
        elif tool == "list_directory":
            names = dict.fromkeys(m.group(1) for m in folders)
            calls += [(tool, {"directory_path": d}) for d in names]
        elif tool == "search_files":
            calls += [
                (
                    tool,
                    {
                        "pattern": t.group(1),
                        "directory": _nearest_before(folders, t.start(), "."),
                        "search_type": "content",
                    },
                )
                for t in terms
            ]
        elif tool == "grep" and files:
            calls += [
                (
                    tool,
                    {
                        "file_path": _nearest_before(files, t.start(), ""),
                        "pattern": t.group(1),
                        "case_insensitive": True,
                    },
                )
                for t in terms
            ]
        elif tool == "head_tail" and files:
            mode = "tail" if re.search(r"\b(last|tail)\b", prompt, re.I) else "head"
            calls.append((tool, {"file_path": files[0].group(1), "mode": mode, "lines": 20}))
        elif tool == "sort" and files:
            calls.append((tool, {"file_path": files[0].group(1), "numeric": True, "reverse": True}))
    return calls


def plan_calls(task: dict[str, Any], available: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls a perfect agent makes for `task`, limited to the tools it has."""
    if task.get("required_tools"):
        return _file_tool_calls(task, available)
    expected = task.get("expected_tool")
    count = task.get("expected_tool_calls") or (1 if expected else 0)
    prompt = task["prompt"]
    if expected == "multiple":
        lowered = prompt.lower()
        tools = [
            t for t, hints in _TOOL_HINTS if t in available and any(h in lowered for h in hints)
        ]
        tools = tools or sorted(available)[:1]
    elif expected in available:
        tools = [expected]
    else:
        tools = []
    if not tools:
        return []
    sequence = [tools[i % len(tools)] for i in range(max(count, len(tools)))]
    seen: dict[str, int] = {}
    calls = []
    for tool in sequence:
        calls.append((tool, _tool_arguments(tool, prompt, seen.get(tool, 0))))
        seen[tool] = seen.get(tool, 0) + 1
    return calls


def findings(keywords: list[str], texts: list[str]) -> list[str]:
    """The lines of `texts` that mention a keyword: what an ops answer quotes from the tool outputs."""
    found: list[str] = []
    for text in texts:
        for line in str(text).splitlines():
            if any(k.lower() in line.lower() for k in keywords) and line not in found:
                found.append(line)
    return found[:MAX_FINDINGS]


def _final_text(task: dict[str, Any] | None, observations: list[str]) -> str:
    parts = [o.removeprefix("Observation:").strip() for o in observations if o]
    keywords = (task or {}).get("expected_keywords") or []
    if task and task.get("required_tools"):  # the answer is only what the tools returned
        return "\n".join(findings(keywords, parts)) or "No finding in the tool outputs."
    if keywords:
        parts.append("Answer: " + ", ".join(keywords))
    return "\n".join(parts) or "I could not find an answer."


class OracleModel(Model):
    """Answers from the task's answer key; see the module docstring."""

    def __init__(
        self, tasks: list[dict[str, Any]], model_id: str = "oracle", **kwargs: Any
    ) -> None:
        super().__init__(model_id=model_id, **kwargs)
        # longest prompts first, so a prompt that contains another still finds its own task
        self._tasks = sorted(tasks, key=lambda t: len(t["prompt"]), reverse=True)

    def _find_task(self, messages: list[ChatMessage]) -> dict[str, Any] | None:
        first_user = next((_text(m) for m in messages if m.role == MessageRole.USER), "")
        return next((t for t in self._tasks if t["prompt"] in first_user), None)

    def generate(
        self,
        messages: list[ChatMessage],
        stop_sequences: list[str] | None = None,
        response_format: dict[str, str] | None = None,
        tools_to_call_from: list[Any] | None = None,
        **kwargs: Any,
    ) -> ChatMessage:
        task = self._find_task(messages)
        done = sum(1 for m in messages if m.role == MessageRole.TOOL_CALL)
        observations = [_text(m) for m in messages if m.role == MessageRole.TOOL_RESPONSE]
        if tools_to_call_from is not None:
            message = self._tool_calling_reply(task, tools_to_call_from, done, observations)
        else:
            message = self._code_reply(task, messages, done, observations)
        prompt_chars = sum(len(_text(m)) for m in messages)
        output_chars = len(message.content or "") + len(
            json.dumps(
                [
                    {"name": tc.function.name, "arguments": tc.function.arguments}
                    for tc in message.tool_calls or []
                ]
            )
        )
        message.token_usage = TokenUsage(
            input_tokens=prompt_chars // 4 + 1, output_tokens=output_chars // 4 + 1
        )
        return message

    def _tool_calling_reply(
        self, task: dict[str, Any] | None, tools: list[Any], done: int, observations: list[str]
    ) -> ChatMessage:
        plan = plan_calls(task, {t.name for t in tools}) if task else []
        if done < len(plan):
            name, arguments = plan[done]
        else:
            name, arguments = "final_answer", {"answer": _final_text(task, observations)}
        call = ChatMessageToolCall(
            id=f"call_{done}",
            type="function",
            function=ChatMessageToolCallFunction(name=name, arguments=arguments),
        )
        return ChatMessage(role=MessageRole.ASSISTANT, content=None, tool_calls=[call])

    def _code_reply(
        self,
        task: dict[str, Any] | None,
        messages: list[ChatMessage],
        done: int,
        observations: list[str],
    ) -> ChatMessage:
        system = _text(messages[0]) if messages else ""
        available = {name for name in re.findall(r"def (\w+)\(", system)}
        lines = []
        if task and done == 0:
            for i, (name, arguments) in enumerate(plan_calls(task, available)):
                args = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
                lines += [f"result_{i} = {name}({args})", f"print(result_{i})"]
        keywords = (task or {}).get("expected_keywords") or []
        names = [f"result_{i}" for i in range(len(lines) // 2)]
        if task and task.get("required_tools"):  # quote the tool outputs' lines that matter
            lines += [
                f"keywords = {keywords!r}",
                "found = []",
                f"for text in [{', '.join(names)}]:",
                "    for line in str(text).splitlines():",
                "        if any(k.lower() in line.lower() for k in keywords) and line not in found:",
                "            found.append(line)",
                f"final_answer('\\n'.join(found[:{MAX_FINDINGS}]) or 'No finding in the tool outputs.')",
            ]
        else:
            results = " + '\\n' + ".join(f"str({n})" for n in names) or "''"
            answer = "Answer: " + ", ".join(keywords) if keywords else "Done."
            lines.append(f"final_answer({results} + '\\n' + {answer!r})")
        code = "\n".join(lines)
        return ChatMessage(
            role=MessageRole.ASSISTANT,
            content=f"Thought: I will solve the task with the available tools.\n<code>\n{code}\n</code>",
        )
