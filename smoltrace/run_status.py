"""Run status: how a run ended, counted from its records, so errors are never read as scores.

A task that ended in an infrastructure failure (its model call failed after the retries, or it ran
out of time) is *errored* / *timed out*, not a wrong answer; an interrupted task has no result at
all. Only tasks that ran to an end (`final_answer` or `max_steps`) are *scored*.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_ERROR_RATE",
    "EXIT_FAILED",
    "EXIT_OK",
    "FINISHED_STOP_REASONS",
    "RERUN_ON_RESUME",
    "RERUN_ON_RETRY_ERRORS",
    "STATUS_FIELDS",
    "error_rate",
    "exit_code",
    "run_status",
    "stop_reason_of",
]

FINISHED_STOP_REASONS = ("final_answer", "max_steps")
# stop reasons whose task should run again on --resume (interrupted) or --retry-errors (all three)
RERUN_ON_RESUME = ("interrupted",)
RERUN_ON_RETRY_ERRORS = ("interrupted", "error", "timeout")
STATUS_FIELDS = (
    "run_status",
    "planned_tests",
    "completed_tests",
    "errored_tests",
    "timed_out_tests",
    "max_steps_tests",
    "interrupted_tests",
)
# documented exit codes of smoltrace-eval
EXIT_OK = 0
EXIT_FAILED = 1  # every task errored, or the Hub upload failed
EXIT_BAD_INPUT = 2
EXIT_ERROR_RATE = 3  # the run finished, but more tasks errored than --max-error-rate allows


def stop_reason_of(record: dict[str, Any]) -> str:
    """A record's stop_reason (records from before stop_reason existed: error or final_answer)."""
    reason = record.get("stop_reason")
    if reason:
        return str(reason)
    return "error" if record.get("error") else "final_answer"


def run_status(records: Iterable[dict[str, Any]], planned: int | None = None) -> dict[str, Any]:
    """`run_status` and the counts of STATUS_FIELDS for the records of one run.

    `planned` is the number of task executions the run set out to do (default: the records).
    `completed_tests` counts the scored ones; `interrupted_tests` every planned task without a
    result (cut off while running, or never started). Status: `partial` when some planned task has
    no result, else `failed` when none could be scored, else `completed`.
    """
    reasons = [stop_reason_of(r) for r in records]
    planned = len(reasons) if planned is None else planned
    counts = {
        "completed_tests": sum(1 for r in reasons if r in FINISHED_STOP_REASONS),
        "errored_tests": reasons.count("error"),
        "timed_out_tests": reasons.count("timeout"),
        "max_steps_tests": reasons.count("max_steps"),
    }
    with_result = len(reasons) - reasons.count("interrupted")
    interrupted = max(planned - with_result, 0)
    if interrupted:
        status = "partial"
    elif planned and not counts["completed_tests"]:
        status = "failed"
    else:
        status = "completed"
    return {
        "run_status": status,
        "planned_tests": planned,
        **counts,
        "interrupted_tests": interrupted,
    }


def error_rate(status: dict[str, Any]) -> float:
    """Share of planned tasks that errored or timed out."""
    planned = status["planned_tests"]
    bad = status["errored_tests"] + status["timed_out_tests"]
    return bad / planned if planned else 0.0


def exit_code(status: dict[str, Any], max_error_rate: float, signal_exit: int | None) -> int:
    """The CLI's exit code for a run that wrote its folder (see README, "When things go wrong")."""
    if signal_exit is not None:
        return signal_exit
    if status["run_status"] == "failed":
        return EXIT_FAILED
    if error_rate(status) > max_error_rate:
        return EXIT_ERROR_RATE
    return EXIT_OK
