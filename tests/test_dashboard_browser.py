"""MockTraceMind in a real browser: Debian's Chromium driven by Playwright against `smoltrace-view`.

One dashboard server per module, on 127.0.0.1, over real runs: an untraced mock-provider run and
a copy of its folder (same run_id), a traced mock run given 2-GPU metrics, a real traced
`--provider litellm` run against the scripted LLM server with one failed task, a folder with
invalid JSON and one with a badly typed leaderboard field. Each test opens a fresh page.
Screenshots of every view go to test-artifacts/screenshots/ for review.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import REPO_ROOT, cli_env
from playwright.sync_api import Browser, Page, expect, sync_playwright
from test_dashboard import COST_TEXT, add_gpu_metrics, run_litellm_evaluation, run_mock_evaluation

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three real runs (a mock one traced, given 2-GPU metrics; a traced litellm one), a copy of
    the untraced run's folder, and two folders with a malformed leaderboard row."""
    root = tmp_path_factory.mktemp("dashboard-browser")
    out = root / "out"
    untraced = run_mock_evaluation(out, root / "tasks.jsonl")
    traced = run_mock_evaluation(
        out, root / "tasks-tool.jsonl", "--agent-type", "tool", "--enable-otel"
    )
    add_gpu_metrics(traced, gpus=2)
    run_litellm_evaluation(out, root / "tasks-litellm.jsonl")
    shutil.copytree(untraced, out / "untraced_copy")  # a second folder with the same run_id
    broken = out / "broken_run"
    shutil.copytree(untraced, broken)
    (broken / "leaderboard_row.json").write_text('{"run_id": ', encoding="utf-8")
    typo = out / "typo_run"
    shutil.copytree(traced, typo)
    row = json.loads((typo / "leaderboard_row.json").read_text())
    row.update(run_id="typo-run", success_rate="66.7%")  # the reviewer's repro
    (typo / "leaderboard_row.json").write_text(json.dumps(row), encoding="utf-8")
    return out


class Server:
    """A dashboard command started with `--port` on a free port; `url` waits until it answers."""

    def __init__(self, command: list[str], log_path: Path) -> None:
        self.command = command
        self.log_path = log_path
        self.port = free_port()
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            cwd=REPO_ROOT,
            env=cli_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._ready = False

    @property
    def url(self) -> str:
        url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 90
        while not self._ready:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    self._ready = response.status == 200
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self._log.flush()
                    message = f"{self.command} did not start:\n{self.log_path.read_text()}"
                    raise RuntimeError(message) from None
                time.sleep(0.5)
        return url

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="module", autouse=True)
def seed_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The seed's standalone GPU page; started first so it boots while the runs are made."""
    log = tmp_path_factory.mktemp("seed-page") / "gpu-page.log"
    server = Server([sys.executable, "MockTraceMind/gpu_metrics_with_time_series.py"], log)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dashboard(results_dir: Path) -> Iterator[str]:
    """The dashboard started the documented second way, `python MockTraceMind/app.py`."""
    command = [sys.executable, "MockTraceMind/app.py", "--results-dir", str(results_dir)]
    server = Server(command, results_dir.parent / "dashboard.log")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Browser, dashboard: str) -> Iterator[Page]:
    """A fresh page on the leaderboard, with every request URL recorded in `page.requested`."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.requested = requested  # type: ignore[attr-defined]
    page.goto(dashboard, wait_until="load")
    expect(page.locator("#mt-leaderboard .virtual-row")).not_to_have_count(0)
    yield page
    context.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)  # let plots and transitions settle
    page.screenshot(path=str(SHOTS / name), full_page=True)


def rows(page: Page, table: str) -> list[list[str]]:
    """The visible rows of a Dataframe as lists of cell texts."""
    out = []
    for row in page.locator(f"#{table} .virtual-row").all():
        out.append([cell.inner_text().strip() for cell in row.locator("[role=gridcell]").all()])
    return out


def click_row(page: Page, table: str, column: int, text: str) -> None:
    """Select the first row whose cell in `column` reads `text`."""
    for index, row in enumerate(rows(page, table)):
        if row[column] == text:
            page.locator(f"#{table} [data-testid=cell-{index}-0]").click()
            return
    raise AssertionError(f"no row with {text!r} in column {column} of {table}")


def headers(page: Page, table: str) -> list[str]:
    return [text.strip() for text in page.locator(f"#{table} th").all_inner_texts()]


def click_run(page: Page, provider: str, agent: str, key: str | None = None) -> None:
    """Open the first leaderboard run of `provider` and agent type (with run id `key`, if given)."""
    for index, row in enumerate(rows(page, "mt-leaderboard")):
        if row[1] == provider and row[2] == agent and key in (None, row[-1]):
            page.locator(f"#mt-leaderboard [data-testid=cell-{index}-0]").click()
            return
    raise AssertionError(f"no {provider} {agent} run {key or ''} on the leaderboard")


def choose(page: Page, dropdown: str, option: str) -> None:
    page.locator(f"#{dropdown} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_leaderboard_lists_filters_sorts_and_stays_local(page: Page, results_dir: Path) -> None:
    expect(page.locator("#mt-leaderboard .virtual-row")).to_have_count(4)
    table = rows(page, "mt-leaderboard")
    names = headers(page, "mt-leaderboard")
    assert names[:4] == ["Model", "Provider", "Agent", "Success %"]
    assert [row[:4] for row in table] == [
        ["oracle", "mock", "both", "75"],
        ["oracle", "mock", "both", "75"],
        ["oracle", "mock", "tool", "66.67"],
        ["openai/gpt-4o-mini", "litellm", "tool", "50"],
    ]
    assert [row[names.index("GPU util avg %")] for row in table] == ["", "", "67.5", ""]
    costs = [row[names.index("Cost")] for row in table]
    assert costs[:3] == ["$0.00"] * 3 and COST_TEXT.fullmatch(costs[3]), costs
    status = page.locator("#mt-status").inner_text()
    assert f"Showing 4 run(s) in {results_dir}." in status
    assert "Problems found" in status
    assert f"{results_dir / 'broken_run' / 'leaderboard_row.json'}: not valid JSON" in status
    assert (
        f"{results_dir / 'typo_run' / 'leaderboard_row.json'}: leaderboard row: field "
        "'success_rate' must be a number, got text \"66.7%\""
    ) in status
    assert "2 run folders share run_id" in status
    assert page.get_by_test_id("toast-body").count() == 0  # no raw exception toast
    shot(page, "01-leaderboard.png")

    choose(page, "mt-agent-filter", "tool")
    expect(page.locator("#mt-leaderboard .virtual-row")).to_have_count(2)
    assert [row[2] for row in rows(page, "mt-leaderboard")] == ["tool", "tool"]
    choose(page, "mt-provider-filter", "litellm")
    expect(page.locator("#mt-leaderboard .virtual-row")).to_have_count(1)
    assert rows(page, "mt-leaderboard")[0][:2] == ["openai/gpt-4o-mini", "litellm"]
    page.locator("#mt-provider-filter [title=Clear]").click()
    page.locator("#mt-agent-filter [title=Clear]").click()
    expect(page.locator("#mt-leaderboard .virtual-row")).to_have_count(4)
    page.locator("#mt-descending input").uncheck()
    expect(page.locator("#mt-leaderboard [data-testid=cell-0-3]")).to_have_text("50")
    hosts = {urlsplit(url).hostname for url in page.requested}  # type: ignore[attr-defined]
    assert hosts == {"127.0.0.1"}


def test_runs_sharing_a_run_id_each_open(page: Page, results_dir: Path) -> None:
    """The untraced run and its copied folder share a run_id; each row opens its own run."""
    table = rows(page, "mt-leaderboard")
    keys = [row[-1] for row in table if row[2] == "both"]
    assert len(set(keys)) == 2 and any(key.endswith("[untraced_copy]") for key in keys)
    for key in keys:
        run_id, folder = key[: key.rindex(" [")], key[key.rindex("[") + 1 : -1]
        page.get_by_role("tab", name="Leaderboard").click()
        click_run(page, "mock", "both", key)
        expect(page.locator("#mt-run-title")).to_contain_text(f"Run {key} ·")
        label = f"oracle · both · {run_id[:8]} · {folder}"  # a long run id shows its start
        expect(page.locator("#mt-run-select input")).to_have_value(label)
        expect(page.locator("#mt-tasks .virtual-row")).to_have_count(4)
        assert (results_dir / folder / "results.json").is_file()


def test_navigation_leaderboard_to_run_to_trace(page: Page) -> None:
    click_run(page, "mock", "tool")
    expect(page.locator("#mt-run-message")).to_have_text("3 task(s), 1 failed.")
    expect(page.locator("#mt-tasks .virtual-row")).to_have_count(3)
    assert [row[1] for row in rows(page, "mt-tasks")] == [
        "weather_paris",
        "multiply",
        "translate_greeting",
    ]
    assert "oracle · mock · tool agent" in page.locator("#mt-run-title").inner_text()
    shot(page, "02-run.png")
    page.get_by_label("Failures only").check()
    expect(page.locator("#mt-tasks .virtual-row")).to_have_count(1)
    failure = rows(page, "mt-tasks")[0]
    assert failure[1] == "translate_greeting" and failure[4] == "✗ fail"
    click_row(page, "mt-tasks", 1, "translate_greeting")
    title = page.locator("#mt-trace-title")
    expect(title).to_contain_text("tool:translate_greeting · ✗ failed")
    expect(title).to_contain_text("5 spans")
    spans = page.locator("#mt-waterfall .wf-row[data-span-id]")
    expect(spans).to_have_count(5)
    assert page.locator("#mt-waterfall .wf-row.wf-error").count() == 0
    names = page.locator("#mt-waterfall .wf-name").all_inner_texts()
    assert names == [
        "test_evaluation",
        "ToolCallingAgent.run",
        "Step 1",
        "OracleModel.generate",
        "FinalAnswerTool",
    ]
    # no span failed, so the trace opens on its root span
    span_title = page.locator("#mt-span-title")
    expect(span_title).to_contain_text("test_evaluation (task, INTERNAL)")
    expect(page.locator("#mt-span-json")).to_contain_text('"test.case_uid"')
    selected = page.locator("#mt-waterfall .wf-row.selected .wf-name")
    expect(selected).to_have_text("test_evaluation")
    spans.nth(3).click()
    expect(span_title).to_contain_text("OracleModel.generate (llm, INTERNAL)")
    expect(page.locator("#mt-span-json")).to_contain_text('"llm.token_count.total"')
    expect(selected).to_have_text("OracleModel.generate")
    spans.nth(4).click()
    expect(span_title).to_contain_text("FinalAnswerTool (tool, INTERNAL)")
    expect(page.locator("#mt-span-json")).to_contain_text('"tool.name"')
    expect(selected).to_have_text("FinalAnswerTool")
    spans.nth(3).click()
    shot(page, "03-trace.png")


def test_gpu_metrics_plot_one_line_per_gpu(page: Page) -> None:
    click_run(page, "mock", "tool")
    expect(page.locator("#mt-tasks .virtual-row")).to_have_count(3)
    page.get_by_role("tab", name="GPU metrics").click()
    for index in range(5):
        expect(page.locator(f"#mt-plot-{index} .js-plotly-plot")).to_have_count(1)
    lines = [page.locator(f"#mt-plot-{index} .scatterlayer .trace").count() for index in range(5)]
    assert lines == [2, 2, 2, 2, 1]  # GPU 0 and GPU 1; CO2 is run-wide
    legend = page.locator("#mt-plot-0 .legend").text_content() or ""
    assert "GPU 0 (NVIDIA H100)" in legend and "GPU 1 (NVIDIA H100)" in legend
    cards = page.locator("#mt-gpu-info .mt-card")
    expect(cards).to_have_count(5)
    assert "90 · 95 %" in cards.nth(0).inner_text()
    assert "peak 95 % on GPU 1" in cards.nth(0).inner_text()
    shot(page, "04-gpu.png")


def test_untraced_api_style_run_explains_missing_trace_and_gpu(page: Page) -> None:
    click_run(page, "mock", "both")
    expect(page.locator("#mt-tasks .virtual-row")).to_have_count(4)
    click_row(page, "mt-tasks", 1, "weather_paris")
    expect(page.locator("#mt-trace-title")).to_contain_text(
        "this run was not traced (run smoltrace-eval with --enable-otel)"
    )
    assert page.locator("#mt-waterfall .wf-row").count() == 0
    page.get_by_role("tab", name="GPU metrics").click()
    expect(page.locator("#mt-gpu-info")).to_contain_text("No GPU metrics for this run.")
    assert page.locator("#mt-gpu-info").inner_text().count("oracle (mock)") == 1
    assert page.locator("[id^=mt-plot-] .js-plotly-plot").count() == 0
    shot(page, "05-gpu-none.png")


def test_load_sample_data(page: Page) -> None:
    page.get_by_role("button", name="Load Sample Data").click()
    expect(page.locator("#mt-gpu-info .mt-card")).to_have_count(5)
    for index in range(5):
        expect(page.locator(f"#mt-plot-{index} .scatterlayer .trace")).to_have_count(1)
    assert "Llama-3.1-8B-Instruct" in page.locator("#mt-gpu-select input").input_value()
    cards = page.locator("#mt-gpu-info").inner_text()
    assert "peak 94 %" in cards and "3.6433 gCO2e" in cards
    points = page.locator("#mt-plot-0 .scatterlayer .trace .point")
    assert points.count() == 12
    shot(page, "06-sample-gpu.png")
    choose(page, "mt-gpu-select", "openai/gpt-4 · both · sample-gpt4-api (sample)")
    expect(page.locator("#mt-gpu-info")).to_contain_text("No GPU metrics for this run.")
    expect(page.locator("[id^=mt-plot-] .js-plotly-plot")).to_have_count(0)
    shot(page, "07-sample-api-no-gpu.png")
    page.get_by_role("tab", name="Leaderboard").click()
    expect(page.locator("#mt-leaderboard .virtual-row")).to_have_count(6)
    assert "2 sample run(s) loaded by Load Sample Data" in page.locator("#mt-status").inner_text()
    sample_keys = [row[-1] for row in rows(page, "mt-leaderboard") if row[-2] == "sample"]
    assert sorted(sample_keys) == ["sample-gpt4-api", "sample-llama31-8b-instruct"]
    click_row(page, "mt-leaderboard", 0, "openai/gpt-4")
    expect(page.locator("#mt-run-message")).to_have_text("6 task(s), 1 failed.")
    click_row(page, "mt-tasks", 1, "code_trip_budget")
    expect(page.locator("#mt-waterfall .wf-row[data-span-id]")).to_have_count(4)
    expect(page.locator("#mt-waterfall .wf-row.wf-error")).to_have_count(3)
    shot(page, "08-sample-trace.png")


def test_gpu_tab_before_choosing_a_run_shows_a_hint(page: Page) -> None:
    page.get_by_role("tab", name="GPU metrics").click()
    expect(page.locator("#mt-gpu-info")).to_have_text(
        "Choose a run above, or open one from the leaderboard, to see its GPU metrics."
    )
    assert page.locator("[id^=mt-plot-] .js-plotly-plot").count() == 0


def test_litellm_run_leaderboard_run_table_and_trace(page: Page) -> None:
    """The real litellm run: priced calls, a failed task and its failed LLM span."""
    names = headers(page, "mt-leaderboard")
    (row,) = [row for row in rows(page, "mt-leaderboard") if row[1] == "litellm"]
    assert row[:4] == ["openai/gpt-4o-mini", "litellm", "tool", "50"]
    assert row[names.index("Passed")] == "1" and row[names.index("Tests")] == "2"
    assert int(row[names.index("Tokens")]) > 0
    assert COST_TEXT.fullmatch(row[names.index("Cost")]) and row[names.index("Cost")] != "$0.00"

    click_run(page, "litellm", "tool")
    expect(page.locator("#mt-run-message")).to_have_text("2 task(s), 1 failed.")
    expect(page.locator("#mt-tasks .virtual-row")).to_have_count(2)
    expect(page.locator("#mt-run-title")).to_contain_text("openai/gpt-4o-mini · litellm · tool")
    task_names = headers(page, "mt-tasks")
    tasks = rows(page, "mt-tasks")
    assert [task[1] for task in tasks] == ["weather_paris", "weather_tokyo"]
    assert [task[4] for task in tasks] == ["✓ pass", "✗ fail"]
    costs = [task[task_names.index("Cost")] for task in tasks]
    assert all(COST_TEXT.fullmatch(cost) and cost != "$0.00" for cost in costs), costs
    card = page.locator("#mt-run-cards .mt-card").nth(3)
    assert card.locator(".mt-card-title").inner_text().strip().lower() == "cost"
    assert COST_TEXT.fullmatch(card.locator(".mt-card-value").inner_text().strip())

    page.get_by_label("Failures only").check()
    expect(page.locator("#mt-tasks .virtual-row")).to_have_count(1)
    failure = rows(page, "mt-tasks")[0]
    assert failure[1] == "weather_tokyo" and failure[4] == "✗ fail"
    assert "BadRequestError" in failure[task_names.index("Error")]
    click_row(page, "mt-tasks", 1, "weather_tokyo")
    title = page.locator("#mt-trace-title")
    expect(title).to_contain_text("tool:weather_tokyo · ✗ failed")
    expect(title).to_contain_text("7 spans")
    expect(page.locator("#mt-waterfall .wf-row[data-span-id]")).to_have_count(7)
    assert page.locator("#mt-waterfall .wf-name").all_inner_texts() == [
        "test_evaluation",
        "ToolCallingAgent.run",
        "Step 1",
        "LiteLLMModel.generate",
        "WeatherTool",
        "Step 2",
        "LiteLLMModel.generate",
    ]
    failed = page.locator("#mt-waterfall .wf-row.wf-error .wf-name").all_inner_texts()
    assert failed == ["test_evaluation", "Step 2", "LiteLLMModel.generate"]
    llm_meta = page.locator("#mt-waterfall .wf-row[data-span-id]").nth(3).locator(".wf-meta")
    priced = llm_meta.inner_text().rsplit(" · ", 1)[-1]
    assert COST_TEXT.fullmatch(priced), priced
    # the trace opens on the failed model call, the deepest failed span
    selected = page.locator("#mt-waterfall .wf-row.selected")
    expect(selected).to_have_count(1)
    expect(selected.locator(".wf-name")).to_have_text("LiteLLMModel.generate")
    expect(selected).to_have_class("wf-row wf-error selected")
    span_title = page.locator("#mt-span-title")
    expect(span_title).to_contain_text("LiteLLMModel.generate (llm,")
    expect(span_title).to_contain_text("status ERROR")
    span_json = page.locator("#mt-span-json")
    expect(span_json).to_contain_text('"openinference.span.kind": "LLM"')
    expect(span_json).to_contain_text("BadRequestError")  # the exception event of the call
    shot(page, "10-litellm-trace.png")


def test_seed_gpu_page_loads_samples(browser: Browser, seed_page: Server) -> None:
    """The seed's standalone page, `python MockTraceMind/gpu_metrics_with_time_series.py`."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(seed_page.url, wait_until="load")
    page.get_by_role("button", name="Load Sample Data").click()
    expect(page.locator("#mt-gpu-info .mt-card")).to_have_count(5)
    for index in range(5):
        expect(page.locator(f"#mt-plot-{index} .scatterlayer .trace")).to_have_count(1)
    assert "peak 94 %" in page.locator("#mt-gpu-info").inner_text()
    shot(page, "09-seed-gpu-page.png")
    choose(page, "mt-sample-select", "GPT-4 via API")
    page.get_by_role("button", name="Load Sample Data").click()
    expect(page.locator("#mt-gpu-info")).to_contain_text("No GPU metrics for this run.")
    expect(page.locator("[id^=mt-plot-] .js-plotly-plot")).to_have_count(0)
    context.close()


def test_error_bars_and_compare_view(page: Page) -> None:
    """The leaderboard plots each success rate with its interval; the compare tab pairs two runs."""
    names = headers(page, "mt-leaderboard")
    intervals = [row[names.index("95% CI")] for row in rows(page, "mt-leaderboard")]
    # Wilson 95% of 3/4, 3/4, 2/3 and 1/2 (the mock runs, then the litellm run)
    assert intervals == ["30.06–95.44", "30.06–95.44", "20.77–93.85", "9.45–90.55"]
    expect(page.locator("#mt-success-plot .js-plotly-plot")).to_be_visible()
    # one row per run, also for the two runs that share a run id
    expect(page.locator("#mt-success-plot .yaxislayer-above .ytick")).to_have_count(4)
    page.get_by_role("tab", name="Compare").click()
    page.locator("#mt-compare-a input").click()
    page.get_by_role("option", name=re.compile(r"^oracle · both · .*untraced_copy$")).click()
    expect(page.get_by_role("option")).to_have_count(0)  # A's list closed before B's opens
    page.locator("#mt-compare-b input").click()
    page.get_by_role("option", name=re.compile(r"^oracle · tool · ")).click()
    summary = page.locator("#mt-compare-summary")
    expect(summary).to_contain_text("Paired tasks: 3 (dropped: 1 only in A, 0 only in B)")
    expect(summary).to_contain_text("No detectable difference")
    expect(summary).to_contain_text("McNemar exact p = 1")
    expect(page.locator("#mt-compare-tasks .virtual-row")).to_have_count(3)
    assert {row[4] for row in rows(page, "mt-compare-tasks")} == {"same"}
    shot(page, "11-compare.png")
