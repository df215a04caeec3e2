"""What the CLI shows: a live progress bar, the run summaries and where the outputs went.

Library modules only log; this is the one place that writes to the terminal. `--quiet` keeps errors
and the final line; `--debug` lets DEBUG log records through.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .causes import short_error
from .redaction import RedactingFilter, secret_redactor


class RunConsole:
    def __init__(self, quiet: bool = False, debug: bool = False) -> None:
        self.quiet = quiet
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        level = logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING
        handler = RichHandler(console=self.err, show_time=False, show_path=debug, markup=False)
        handler.addFilter(RedactingFilter())
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(level)
        logging.getLogger("smoltrace").setLevel(level)
        # Third-party debug logs can echo request headers; they stay at WARNING even with --debug.
        for noisy in (
            "LiteLLM",
            "litellm",
            "httpx",
            "httpcore",
            "openai",
            "opentelemetry",
            "genai_otel",
            "smolagents",
        ):
            logging.getLogger(noisy).setLevel(logging.WARNING if debug else logging.ERROR)
        self._progress: Progress | None = None
        self._task_id: Any = None
        self._passed = 0
        self._lock = threading.Lock()

    def info(self, message: str) -> None:
        """A plain line: never read as Rich markup (paths and names may hold `[...]`)."""
        if not self.quiet:
            self.out.print(message, markup=False)

    def notice(self, message: str) -> None:
        """A warning the user should read even in a normal run."""
        if not self.quiet:
            self.err.print(f"[yellow]{escape(message)}[/yellow]")

    def error(self, message: str) -> None:
        self.err.print(
            f"[red]smoltrace-eval: error:[/red] {escape(secret_redactor()(message))}", markup=True
        )

    def final(self, message: str) -> None:
        self.out.print(message, markup=False)

    def start_progress(self, total: int) -> None:
        if self.quiet or total == 0:
            return
        self._progress = Progress(
            TextColumn("[bold]Evaluating"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("passed {task.fields[passed]}"),
            TimeElapsedColumn(),
            console=self.err,
            transient=False,
        )
        self._task_id = self._progress.add_task("run", total=total, passed=0)
        self._progress.start()

    def task_done(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._passed += 1 if record.get("success") else 0
            if self._progress is not None:
                self._progress.update(self._task_id, advance=1, passed=self._passed)

    def stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def summaries(self, all_results: dict[str, list[dict[str, Any]]]) -> None:
        """Per-agent summaries, then the combined one (`TOOL: 9/10 (90.0%, 95% CI 59.6–98.2%)`)."""
        if self.quiet:
            return
        ran = [(agent_type, records) for agent_type, records in all_results.items() if records]
        for agent_type, records in ran:
            passed = sum(1 for r in records if r.get("success"))
            self.out.print(f"\n--- {agent_type.upper()} SUMMARY ---")
            self.out.print(
                f"Total: {len(records)}, Success: {passed}/{len(records)} ({percent(passed, len(records))}%)"
            )
            for record in records:
                mark = "[green]PASS[/green]" if record.get("success") else "[red]FAIL[/red]"
                # task ids, tool names and errors are data: `[/x]` in them is text, not markup
                detail = (
                    f" stop={record.get('stop_reason')} error: {short_error(record['error'])}"
                    if record.get("error")
                    else ""
                )
                line = (
                    f"{record['test_id']} ({record['difficulty']}) tools={record['tools_used']} "
                    f"steps={record['steps']} tokens={record['total_tokens']}{detail}"
                )
                self.out.print(f"  {mark} {escape(line)}", markup=True)
            for line in task_estimate_lines(records):
                self.out.print(line)
        self.out.print("\n" + "=" * 60 + "\nCOMBINED SUMMARY\n" + "=" * 60)
        for agent_type, records in ran:
            self.out.print(summary_line(agent_type, records))

    def run_status(self, status: dict[str, Any], throttling: dict[str, Any], retries: int) -> None:
        """How the run ended: its status and counts, retries, and whether it was throttled."""
        if self.quiet:
            return
        self.out.print(
            f"[STATUS] {status['run_status']}: {status['completed_tests']} of "
            f"{status['planned_tests']} tasks scored, {status['errored_tests']} errored, "
            f"{status['timed_out_tests']} timed out, {status['max_steps_tests']} hit max steps, "
            f"{status['interrupted_tests']} interrupted; {retries} model-call retries"
        )
        if throttling["throttle_events"]:
            self.out.print(
                f"[THROTTLED] the provider rate-limited {throttling['throttle_events']} call(s): "
                f"model calls in flight went down to {throttling['lowest_connections']} of "
                f"{throttling['max_connections']}"
            )


def summary_line(agent_type: str, records: list[dict[str, Any]]) -> str:
    """`TOOL: 9/10 (90.0%, 95% CI 59.6–98.2%)`; with repeats also the tasks, pass@K and pass^K."""
    from .outputs.uncertainty import uncertainty_columns
    from .scoring.stats import success_rate, task_clusters

    passed = sum(1 for r in records if r.get("success"))
    stats = uncertainty_columns(records)
    rate = success_rate(task_clusters(records, lambda r: bool(r.get("success"))))
    line = (
        f"{agent_type.upper()}: {passed}/{len(records)} ({percent(passed, len(records))}%, "
        f"95% CI {100 * (rate.low or 0):.1f}–{100 * (rate.high or 0):.1f}%)"
    )
    repeats = stats["repeats"]
    if repeats > 1:
        line += (
            f"; {stats['total_tasks']} tasks × {repeats} attempts, "
            f"pass@{repeats} {stats['pass_at_k']:.3f}, pass^{repeats} {stats['pass_hat_k']:.3f}"
        )
    return line


def task_estimate_lines(records: list[dict[str, Any]]) -> list[str]:
    """With repeats, one line per task: successes over attempts, pass@k and pass^k for k = 1..n."""
    from .scoring.stats import task_estimates

    estimates = task_estimates(records)
    if max((e["attempts"] for e in estimates), default=0) < 2:
        return []
    lines = ["  per task: successes/attempts; pass@k and pass^k for k = 1..attempts"]
    for e in estimates:
        curve = " ".join(f"{v:.2f}" for v in e["pass_at_k"])
        hat = " ".join(f"{v:.2f}" for v in e["pass_hat_k"])
        lines.append(
            f"  {e['task_id']}: {e['successes']}/{e['attempts']}; pass@k {curve}; pass^k {hat}"
        )
    return lines


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "0.0"
