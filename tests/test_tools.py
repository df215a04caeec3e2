"""The default tools: a safe calculator, a timezone-aware clock, deterministic weather and an offline
search corpus; plus tool-name validation and the recorder that tells which tools really ran.

Tools are called through smolagents' `Tool.__call__`, as agents call them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smoltrace.errors import ConfigError
from smoltrace.tools import (
    OPTIONAL_TOOLS,
    CalculatorTool,
    OfflineSearchTool,
    TimeTool,
    WeatherTool,
    build_tools,
    record_tool_calls,
    validate_tool_names,
)

CLOCK = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")

# --- calculator ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "shown"),
    [
        ("234 * 67", "15678"),
        ("  234*67  ", "15678"),
        ("2 + 3 * 4", "14"),
        ("(2 + 3) * 4", "20"),
        ("-3 ** 2", "-9"),  # ** binds tighter than unary minus
        ("2 ** 3 ** 2", "512"),  # ** is right-associative
        ("7 / 2", "3.5"),
        ("10 / 4 * 2", "5"),  # a whole float is shown as an integer
        ("17 // 5", "3"),
        ("17 % 5", "2"),
        ("100 - 58 + 0.5", "42.5"),
        ("2 ** 100", str(2**100)),
        ("2 ** -1", "0.5"),
        ("17 * 23 + 609", "1000"),
    ],
)
def test_calculator_arithmetic(expression: str, shown: str) -> None:
    assert CalculatorTool()(expression=expression) == f"Result: {shown}"


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("2 ** 101", "exponent larger than 100"),
        ("2 ** -101", "exponent larger than 100"),
        ("9 ** 9 ** 9", "exponent larger than 100"),  # refused before computing 9 ** 387420489
        ("10 ** 60 * 10 ** 60", "out of range"),
        ("1e308 * 10", "out of range"),
        ("1 + " * 100 + "1", "longer than 256"),
    ],
)
def test_calculator_limits(expression: str, reason: str) -> None:
    result = CalculatorTool()(expression=expression)
    assert result.startswith("Error calculating:") and reason in result


@pytest.mark.parametrize(
    ("expression", "element"),
    [
        ("__import__('os')", "Call"),
        ("__import__('os').system('echo hacked')", "Call"),
        ("a + 1", "Name"),
        ("(1).real", "Attribute"),
        ("[1, 2][0]", "Subscript"),
        ("'a' * 3", "Constant"),
        ("True + 1", "Constant"),
        ("(lambda: 1)()", "Call"),
        ("1 if 1 else 2", "IfExp"),
        ("1 < 2", "Compare"),
    ],
)
def test_calculator_rejects_anything_but_arithmetic(expression: str, element: str) -> None:
    result = CalculatorTool()(expression=expression)
    assert result == (
        f"Error calculating: unsupported element '{element}'; only arithmetic is allowed"
    )


def test_calculator_division_by_zero_and_syntax_errors() -> None:
    calculator = CalculatorTool()
    assert calculator(expression="1 / 0") == "Error calculating: division by zero"
    assert calculator(expression="5 % 0").startswith("Error calculating:")
    assert calculator(expression="2 +").startswith("Error calculating:")
    assert calculator(expression="").startswith("Error calculating:")


# --- clock ---------------------------------------------------------------------------------------


def shown_time(output: str) -> datetime:
    match = CLOCK.search(output)
    assert match, output
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/New_York", "Europe/Paris"])
def test_time_is_the_wall_clock_of_the_timezone(zone: str) -> None:
    output = TimeTool()(timezone=zone)
    assert output.startswith(f"Current time in {zone}: ")
    expected = datetime.now(ZoneInfo(zone)).replace(tzinfo=None)
    assert abs(shown_time(output) - expected) < timedelta(minutes=1)


def test_tokyo_is_nine_hours_ahead_of_utc() -> None:
    clock = TimeTool()
    tokyo, utc = shown_time(clock(timezone="Asia/Tokyo")), shown_time(clock(timezone="UTC"))
    assert abs((tokyo - utc) - timedelta(hours=9)) < timedelta(minutes=1)


def test_time_defaults_to_utc() -> None:
    clock = TimeTool()
    expected = datetime.now(ZoneInfo("UTC")).replace(tzinfo=None)
    for output in (clock(), clock(timezone=None), clock(timezone="")):
        assert output.startswith("Current time in UTC: ")
        assert abs(shown_time(output) - expected) < timedelta(minutes=1)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "Not a zone"])
def test_invalid_timezone_is_an_error_text(zone: str) -> None:
    output = TimeTool()(timezone=zone)
    assert output.startswith("Error: unknown timezone")
    assert zone in output and "IANA" in output
    assert not CLOCK.search(output)


# --- weather -------------------------------------------------------------------------------------


def test_weather_of_known_cities() -> None:
    weather = WeatherTool()
    assert weather(location="Paris, France") == "Weather in Paris, France: 22°C, Clear"
    assert weather(location="London, UK") == "Weather in London, UK: 15°C, Cloudy"
    assert weather(location="Tokyo, Japan") == "Weather in Tokyo, Japan: 18°C, Clear"
    assert weather(location="Sydney, Australia") == "Weather in Sydney, Australia: 25°C, Sunny"
    # the city decides, not its spelling or the country
    assert weather(location="  paris ").endswith(": 22°C, Clear")


def test_weather_is_deterministic_for_unknown_places() -> None:
    places = ["Reykjavik, Iceland", "Lima, Peru", "Ulaanbaatar, Mongolia"]
    first = [WeatherTool()(location=p) for p in places]
    assert first == [WeatherTool()(location=p) for p in places]
    for output in first:
        match = re.fullmatch(r"Weather in .+: (\d+)°C, (.+)", output)
        assert match, output
        assert 5 <= int(match.group(1)) <= 30
        assert match.group(2) in ("Clear", "Cloudy", "Rain", "Sunny", "Partly cloudy", "Windy")
    # the same on every machine and process (a value from Python's salted hash() would not be)
    assert first[0] == "Weather in Reykjavik, Iceland: 16°C, Sunny"


# --- offline search ------------------------------------------------------------------------------


def test_search_finds_corpus_topics() -> None:
    search = OfflineSearchTool()
    assert "Guido van Rossum" in search(query="Python programming language")
    assert "artificial intelligence" in search(query="information about Machine Learning")
    assert search(query="latest news about AI?").startswith("- AI news")
    both = search(query="python for machine learning")
    assert both.count("\n- ") == 1 and "Guido" in both and "patterns from data" in both


def test_search_without_a_match_says_so() -> None:
    search = OfflineSearchTool()
    assert search(query="quantum cooking") == "No results found for 'quantum cooking'."
    # 'ai' only as a word: not inside 'Thailand' or 'said'
    assert search(query="Thailand travel") == "No results found for 'Thailand travel'."
    assert search(query="what they said").startswith("No results found")


# --- tool names and the recorder -----------------------------------------------------------------


def test_validate_tool_names() -> None:
    assert validate_tool_names(None) == []
    assert validate_tool_names(["python_interpreter", "visit_webpage"]) == [
        "python_interpreter",
        "visit_webpage",
    ]
    with pytest.raises(ConfigError) as info:
        validate_tool_names(["python_interpreter", "nope", "web_serch"])
    message = str(info.value)
    assert "nope, web_serch" in message and "--enable-tools" in message
    for name in OPTIONAL_TOOLS:
        assert name in message


def test_build_tools_defaults_and_opt_in() -> None:
    names = [t.name for t in build_tools()]
    assert sorted(names) == ["calculator", "get_current_time", "get_weather", "web_search"]
    with_python = {
        t.name: t for t in build_tools(["python_interpreter"], additional_imports=["re"])
    }
    assert set(with_python) == {*names, "python_interpreter"}
    assert "re" in with_python["python_interpreter"].authorized_imports
    # each call builds fresh instances: agents on different workers never share a tool
    assert build_tools()[0] is not build_tools()[0]


def test_record_tool_calls_logs_each_execution_in_order() -> None:
    log: list[str] = []
    weather = record_tool_calls(WeatherTool(), log)
    calculator = record_tool_calls(CalculatorTool(), log)
    assert isinstance(weather, WeatherTool)
    assert weather(location="Paris, France") == "Weather in Paris, France: 22°C, Clear"
    assert calculator(expression="6 * 7") == "Result: 42"
    assert weather(location="London, UK").endswith("15°C, Cloudy")
    assert log == ["get_weather", "calculator", "get_weather"]
    assert calculator(expression="1 / 0").startswith("Error")  # a failing call still ran
    assert log[-1] == "calculator" and len(log) == 4


def test_agents_record_into_their_own_log() -> None:
    from smolagents.models import Model

    from smoltrace.agents import build_agent

    first, second = build_agent("code", Model()), build_agent("tool", Model())
    first.tools["calculator"](expression="1 + 1")
    first.tools["get_weather"](location="Paris, France")
    second.tools["web_search"](query="python")
    assert first.smoltrace_tool_log == ["calculator", "get_weather"]
    assert second.smoltrace_tool_log == ["web_search"]
