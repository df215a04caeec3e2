"""Turning loaded runs into what the dashboard shows: tables, cards, the trace waterfall, plots.

Pure functions of plain data (no Gradio), so each view is unit-testable without a browser.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import plotly.graph_objects as go

from .data import Catalog, Run

# (header, leaderboard field, width in px); numbers stay numeric so sorting by header works.
LEADERBOARD_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("Model", "model", 230),
    ("Provider", "provider", 95),
    ("Agent", "agent_type", 70),
    ("Success %", "success_rate", 80),
    ("95% CI", "success_ci", 100),
    ("Passed", "successful_tests", 70),
    ("Tests", "total_tests", 60),
    ("Avg steps", "avg_steps", 70),
    ("Tokens", "total_tokens", 80),
    ("Cost", "total_cost_usd", 95),
    ("CO2 (g)", "co2_emissions_g", 70),
    ("Duration (s)", "total_duration_ms", 85),
    ("GPU util avg %", "gpu_utilization_avg", 80),
    ("GPU util max %", "gpu_utilization_max", 80),
    ("GPU mem max (MiB)", "gpu_memory_max_mib", 90),
    ("GPU power avg (W)", "gpu_power_avg_w", 90),
    ("Finished (UTC)", "timestamp", 165),
    ("Source", "origin", 75),
    ("Run id", "key", 300),
)
SORT_CHOICES: dict[str, str] = {
    "Success %": "success_rate",
    "Tokens": "total_tokens",
    "Cost": "total_cost_usd",
    "CO2 (g)": "co2_emissions_g",
    "Duration (s)": "total_duration_ms",
    "GPU util avg %": "gpu_utilization_avg",
    "Finished (UTC)": "timestamp",
    "Model": "model",
}
# (header, width in px) of the run view's task table; "Case" (test_case_uid) is the row key.
TASK_COLUMNS: tuple[tuple[str, int], ...] = (
    ("#", 45),
    ("Task", 210),
    ("Agent", 65),
    ("Difficulty", 100),
    ("Result", 80),
    ("Tools used", 170),
    ("Steps", 60),
    ("Tokens", 75),
    ("Cost", 90),
    ("Time (ms)", 90),
    ("Error", 260),
    ("Case", 230),
)
# (flattened metrics column, title, unit, decimals shown on the cards)
GPU_PANELS: tuple[tuple[str, str, str, int], ...] = (
    ("gpu_utilization_percent", "GPU utilization", "%", 0),
    ("gpu_memory_used_mib", "GPU memory used", "MiB", 0),
    ("gpu_temperature_celsius", "GPU temperature", "°C", 1),
    ("gpu_power_watts", "GPU power", "W", 1),
    ("co2_emissions_gco2e", "CO2 emissions (cumulative)", "gCO2e", 4),
)
CUMULATIVE_COLUMNS = ("co2_emissions_gco2e",)
SPAN_COLORS = {
    "task": "#64748b",
    "agent": "#6366f1",
    "step": "#0ea5e9",
    "llm": "#f59e0b",
    "tool": "#10b981",
    "other": "#94a3b8",
}
LINE_COLORS = ("#6366f1", "#f59e0b", "#10b981", "#ef4444", "#0ea5e9", "#a855f7", "#64748b")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt_number(value: Any, digits: int = 2, unit: str = "") -> str:
    """Human text for a metric; None stays visibly "n/a" rather than a fake 0."""
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}".rstrip()


def fmt_duration(nanos: float) -> str:
    """A span length in the unit a person reads best: ms below a second, else seconds."""
    millis = nanos / 1e6
    if millis == 0:
        return "0"
    if millis < 1000:
        return fmt_number(millis, 1 if millis >= 10 else 2, "ms")
    return fmt_number(millis / 1000, 2, "s")


def fmt_cost(value: Any) -> str:
    """USD a person can read: cents from $1 up, else 4 significant digits ($4.395e-05), so
    sub-cent API costs neither round to $0.00 nor show float noise. Null is unpriced: "n/a"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if value == 0:
        return "$0.00"
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.4g}"


def cell_text(value: Any) -> str:
    """A table cell's text: blank for null, whole floats without ".0", else 6 significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    return str(value)


def table_value(
    headers: Sequence[str], rows: list[list[Any]], formats: dict[str, Callable[[Any], str]]
) -> dict[str, Any]:
    """A Gradio Dataframe value whose cells keep their raw values (row selection reads the run
    key or task uid from them) but show formatted text: `formats` per column, else `cell_text`."""
    display = [
        [formats.get(header, cell_text)(value) for header, value in zip(headers, row, strict=True)]
        for row in rows
    ]
    return {
        "headers": list(headers),
        "data": rows,
        "metadata": {"display_value": display, "styling": None},
    }


def distinct(runs: Iterable[Run], field_name: str) -> list[str]:
    return sorted({str(run.row.get(field_name)) for run in runs if run.row.get(field_name)})


def filter_runs(
    runs: Iterable[Run],
    models: list[str] | None,
    providers: list[str] | None,
    agent_types: list[str] | None,
) -> list[Run]:
    """Runs whose model, provider and agent type are among the chosen ones (empty = all)."""

    def keep(run: Run, field_name: str, chosen: list[str] | None) -> bool:
        return not chosen or str(run.row.get(field_name)) in chosen

    return [
        run
        for run in runs
        if keep(run, "model", models)
        and keep(run, "provider", providers)
        and keep(run, "agent_type", agent_types)
    ]


def sort_runs(runs: list[Run], sort_by: str, descending: bool) -> list[Run]:
    """Sort on a leaderboard field; runs lacking the value (e.g. no GPU) always go last."""
    field_name = SORT_CHOICES.get(sort_by, "success_rate")
    present = [run for run in runs if run.row.get(field_name) is not None]
    absent = [run for run in runs if run.row.get(field_name) is None]
    present.sort(key=lambda run: sort_key(run.row[field_name]), reverse=descending)
    return present + absent


def sort_key(value: Any) -> tuple[int, float, str]:
    """Numbers by value, then anything else by its text: a stray type cannot break the sort."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def leaderboard_cell(run: Run, field_name: str) -> Any:
    if field_name == "origin":
        return run.origin
    if field_name == "key":
        return run.key
    if field_name == "success_ci":
        return success_interval(run.row)
    value = run.row.get(field_name)
    if field_name == "total_duration_ms" and value is not None:
        return round(float(value) / 1000, 3)
    if field_name == "timestamp" and isinstance(value, str):
        return value[:19].replace("T", " ")
    return value


def success_interval(row: dict[str, Any]) -> str:
    """`59.58–98.21`, the row's 95% interval as stored; blank for rows from before intervals."""
    low, high = row.get("success_rate_ci_low"), row.get("success_rate_ci_high")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
        return ""
    return f"{low:.2f}–{high:.2f}"


def success_figure(runs: list[Run]) -> go.Figure:
    """Success rate per run with its 95% interval as error bars (none for rows without one)."""
    labels, values, above, below = [], [], [], []
    for run in runs:
        rate = run.row.get("success_rate")
        if not isinstance(rate, (int, float)) or isinstance(rate, bool):
            continue
        low, high = run.row.get("success_rate_ci_low"), run.row.get("success_rate_ci_high")
        known = success_interval(run.row) != ""
        labels.append(run.label)  # unique: runs sharing a run id carry their folder name
        values.append(float(rate))
        above.append(float(high) - float(rate) if known else 0.0)
        below.append(float(rate) - float(low) if known else 0.0)
    figure = go.Figure(
        go.Scatter(
            x=values,
            y=labels,
            mode="markers",
            marker={"size": 10, "color": LINE_COLORS[0]},
            error_x={"type": "data", "symmetric": False, "array": above, "arrayminus": below},
            hovertemplate="%{x:.1f}%<extra>%{y}</extra>",
        )
    )
    figure.update_layout(
        title={
            "text": "Success rate with 95% confidence interval",
            "x": 0.02,
            "font": {"size": 15},
        },
        template="plotly_white",
        height=max(220, 70 + 34 * len(labels)),
        margin={"l": 20, "r": 20, "t": 45, "b": 45},
        xaxis={"title": "success rate (%)", "range": [0, 100.5]},
        yaxis={"automargin": True, "autorange": "reversed"},
    )
    return figure


LEADERBOARD_HEADERS = [header for header, _, _ in LEADERBOARD_COLUMNS]


def leaderboard_rows(runs: list[Run]) -> list[list[Any]]:
    return [[leaderboard_cell(run, name) for _, name, _ in LEADERBOARD_COLUMNS] for run in runs]


def leaderboard_table(runs: list[Run]) -> dict[str, Any]:
    """The leaderboard as the dashboard's Dataframe shows it (costs formatted, null cost n/a)."""
    return table_value(LEADERBOARD_HEADERS, leaderboard_rows(runs), {"Cost": fmt_cost})


def status_markdown(catalog: Catalog) -> str:
    """Where the runs came from, what to do when nothing was found, and every problem met."""
    text = "Showing " + ("; ".join(catalog.sources) or "no data source") + "."
    if catalog.hints and not catalog.runs:
        text += "\n\n" + "".join(
            f'<div class="mt-notice">{esc(hint)}</div>' for hint in catalog.hints
        )
    if catalog.problems:
        items = "".join(f"<li>{esc(problem)}</li>" for problem in catalog.problems)
        text += f'\n\n<div class="mt-problems"><b>Problems found</b><ul>{items}</ul></div>'
    return text


def stat_cards(cards: list[tuple[str, str, str]]) -> str:
    """A row of cards: (title, big value, small caption)."""
    items = "".join(
        f'<div class="mt-card"><div class="mt-card-title">{esc(title)}</div>'
        f'<div class="mt-card-value">{esc(value)}</div>'
        f'<div class="mt-card-caption">{esc(caption)}</div></div>'
        for title, value, caption in cards
    )
    return f'<div class="mt-cards">{items}</div>'


def run_header(run: Run) -> str:
    row = run.row
    return (
        f"### {row.get('model')} · {row.get('provider')} · {row.get('agent_type')} agent\n"
        f"Run `{run.key}` · tasks from `{row.get('dataset_used') or 'n/a'}` · "
        f"finished {leaderboard_cell(run, 'timestamp') or 'n/a'} UTC · source: {run.origin}"
    )


def run_cards(run: Run) -> str:
    row = run.row
    duration = row.get("total_duration_ms")
    return stat_cards(
        [
            ("Success rate", fmt_number(row.get("success_rate"), 1, "%"), success_caption(row)),
            (
                "Passed / failed",
                f"{row.get('successful_tests')} / {row.get('failed_tests')}",
                f"{row.get('total_tests')} tasks",
            ),
            ("Tokens", fmt_number(row.get("total_tokens")), "prompt + completion"),
            ("Cost", fmt_cost(row.get("total_cost_usd")), "model calls"),
            (
                "Duration",
                fmt_number(None if duration is None else duration / 1000, 2, "s"),
                f"avg {fmt_number(row.get('avg_steps'), 2)} steps per task",
            ),
            ("CO2", fmt_number(row.get("co2_emissions_g"), 4, "g"), "measured on GPU runs"),
        ]
    )


def success_caption(row: dict[str, Any]) -> str:
    """`95% CI 59.6–98.2%`, with pass@K and pass^K when tasks were repeated."""
    interval = success_interval(row)
    caption = f"95% CI {interval}%" if interval else "of all tasks"
    repeats = row.get("repeats")
    if isinstance(repeats, int) and repeats > 1:
        caption += (
            f"; pass@{repeats} {fmt_number(row.get('pass_at_k'), 3)}, "
            f"pass^{repeats} {fmt_number(row.get('pass_hat_k'), 3)}"
        )
    return caption


TASK_HEADERS = [header for header, _ in TASK_COLUMNS]


def task_table(results: list[dict[str, Any]], failures_only: bool) -> dict[str, Any]:
    """The run's task table as the dashboard shows it (costs formatted, null cost n/a)."""
    return table_value(TASK_HEADERS, task_rows(results, failures_only), {"Cost": fmt_cost})


def task_rows(results: list[dict[str, Any]], failures_only: bool) -> list[list[Any]]:
    rows = []
    for result in results:
        if failures_only and result.get("success"):
            continue
        rows.append(
            [
                result.get("test_index"),
                result.get("task_id"),
                result.get("agent_type"),
                result.get("difficulty"),
                "✓ pass" if result.get("success") else "✗ fail",
                ", ".join(result.get("tools_used") or []) or "—",
                result.get("steps"),
                result.get("total_tokens"),
                result.get("cost_usd"),
                result.get("execution_time_ms"),
                result.get("error") or "",
                result.get("test_case_uid"),
            ]
        )
    return rows


def task_choices(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Dropdown (label, value) pairs: one per results row, keyed by test_case_uid."""
    return [
        (
            f"{'✓' if result.get('success') else '✗'} {result.get('test_case_uid')}",
            str(result.get("test_case_uid")),
        )
        for result in results
    ]


def span_category(span: dict[str, Any], is_root: bool) -> str:
    """task / agent / step / llm / tool / other, from OpenInference or GenAI attributes, else the
    span name (span names are documented; attributes depend on the instrumentor)."""
    attrs = span.get("attributes") or {}
    kind = str(attrs.get("openinference.span.kind") or "").upper()
    by_kind = {"AGENT": "agent", "CHAIN": "step", "LLM": "llm", "TOOL": "tool"}
    if kind in by_kind:
        return by_kind[kind]
    operation = str(attrs.get("gen_ai.operation.name") or "")
    by_operation = {"invoke_agent": "agent", "chat": "llm", "execute_tool": "tool"}
    if operation in by_operation:
        return by_operation[operation]
    name = str(span.get("name") or "")
    if is_root:
        return "task"
    if name.endswith(".run"):
        return "agent"
    if name.startswith("Step"):
        return "step"
    if any(part in name.lower() for part in ("generate", "completion", "chat")):
        return "llm"
    if "tool" in name.lower() or "tool.name" in attrs:
        return "tool"
    return "other"


def ordered_spans(spans: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """Spans in tree order (each parent followed by its children by start time), with depth."""
    ids = {span["span_id"] for span in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans:
        parent = span.get("parent_span_id")
        children.setdefault(parent if parent in ids else None, []).append(span)
    ordered: list[tuple[dict[str, Any], int]] = []

    def visit(parent: str | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s["start_time"]):
            ordered.append((span, depth))
            visit(span["span_id"], depth + 1)

    visit(None, 0)
    return ordered


def span_tokens(span: dict[str, Any]) -> Any:
    attrs = span.get("attributes") or {}
    for key in ("llm.token_count.total", "gen_ai.usage.total_tokens"):
        if attrs.get(key) is not None:
            return attrs[key]
    return None


def focus_span(trace: dict[str, Any]) -> str | None:
    """The span shown first: the deepest failed span (where an error came from), else the root."""
    ordered = ordered_spans(trace.get("spans") or [])
    if not ordered:
        return None
    failed = [
        (depth, span["span_id"])
        for span, depth in ordered
        if (span.get("status") or {}).get("code") == "ERROR"
    ]
    if failed:
        return max(failed, key=lambda item: item[0])[1]
    return ordered[0][0]["span_id"]


def waterfall_html(trace: dict[str, Any], selected: str | None = None) -> str:
    """The trace as a waterfall: one row per span, a bar on a shared time axis, indented by depth.

    Rows carry `data-span-id`; the component's JS turns a click into a select event. The row of
    `selected` is highlighted.
    """
    spans = trace.get("spans") or []
    if not spans:
        return '<div class="wf-empty">This trace has no spans.</div>'
    start = min(span["start_time"] for span in spans)
    end = max(span["end_time"] for span in spans)
    total = max(end - start, 1)
    ticks = "".join(
        f'<span class="wf-tick" style="left:{pct}%">{fmt_duration(total * pct / 100)}</span>'
        for pct in (0, 25, 50, 75, 100)
    )
    rows = []
    for span, depth in ordered_spans(spans):
        category = span_category(span, depth == 0)
        left = 100 * (span["start_time"] - start) / total
        width = max(100 * (span["end_time"] - span["start_time"]) / total, 0.4)
        failed = (span.get("status") or {}).get("code") == "ERROR"
        tokens = span_tokens(span)
        meta = fmt_duration(span["end_time"] - span["start_time"])
        if tokens is not None:
            meta += f" · {fmt_number(tokens)} tok"
        cost = (span.get("attributes") or {}).get("gen_ai.usage.cost.total")
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            meta += " · " + fmt_cost(cost)
        rows.append(
            f'<div class="wf-row{" wf-error" if failed else ""}'
            f'{" selected" if span["span_id"] == selected else ""}" role="button" tabindex="0"'
            f' data-span-id="{esc(span["span_id"])}" title="{esc(span["name"])}">'
            f'<div class="wf-label" style="padding-left:{6 + depth * 16}px">'
            f'<span class="wf-badge" style="background:{SPAN_COLORS[category]}">{category}</span>'
            f'<span class="wf-name">{esc(span["name"])}</span></div>'
            f'<div class="wf-track"><div class="wf-bar" style="left:{left:.3f}%;width:{width:.3f}%;'
            f'background:{"#ef4444" if failed else SPAN_COLORS[category]}"></div></div>'
            f'<div class="wf-meta">{esc(meta)}</div></div>'
        )
    legend = "".join(
        f'<span class="wf-legend-item"><i style="background:{color}"></i>{name}</span>'
        for name, color in SPAN_COLORS.items()
    )
    return (
        f'<div class="wf"><div class="wf-legend">{legend}'
        '<span class="wf-legend-item"><i style="background:#ef4444"></i>error</span></div>'
        '<div class="wf-row wf-head"><div class="wf-label">Span</div>'
        f'<div class="wf-track wf-axis">{ticks}</div><div class="wf-meta">Duration</div></div>'
        f"{''.join(rows)}</div>"
    )


def trace_summary(trace: dict[str, Any], result: dict[str, Any]) -> str:
    cost = trace.get("total_cost_usd")
    return (
        f"**{esc(result.get('test_case_uid'))}** · "
        f"{'✓ passed' if result.get('success') else '✗ failed'}"
        f" · trace `{trace.get('trace_id')}` · {len(trace.get('spans') or [])} spans · "
        f"{fmt_duration((trace.get('total_duration_ms') or 0) * 1e6)} · "
        f"{fmt_number(trace.get('total_tokens'))} tokens · cost {fmt_cost(cost)}\n\n"
        f"Prompt: {esc(result.get('prompt') or '')}"
        + (f"\n\n**Error:** {esc(result['error'])}" if result.get("error") else "")
    )


def span_detail(trace: dict[str, Any], span_id: str) -> tuple[str, dict[str, Any]]:
    """(markdown header, JSON payload) for one span of a trace."""
    spans = trace.get("spans") or []
    span = next((s for s in spans if s.get("span_id") == span_id), None)
    if span is None:
        return f"Span `{span_id}` is not in this trace.", {}
    start = min(s["start_time"] for s in spans)
    status = span.get("status") or {}
    root_ids = {s["span_id"] for s in spans}
    is_root = span.get("parent_span_id") not in root_ids
    header = (
        f"**{esc(span['name'])}** ({span_category(span, is_root)}, {span.get('kind') or 'n/a'}) · "
        f"starts at +{fmt_duration(span['start_time'] - start)} · "
        f"lasts {fmt_duration(span['end_time'] - span['start_time'])} · "
        f"status {status.get('code') or 'UNSET'}"
        + (f": {esc(status['description'])}" if status.get("description") else "")
    )
    payload = {
        "span_id": span.get("span_id"),
        "parent_span_id": span.get("parent_span_id"),
        "attributes": span.get("attributes") or {},
        "events": span.get("events") or [],
        "resource": span.get("resource") or {},
    }
    return header, json.loads(json.dumps(payload, default=str))


def has_gpu_data(rows: list[dict[str, Any]]) -> bool:
    return any(row.get(column) is not None for row in rows for column, *_ in GPU_PANELS)


def series_label(row: dict[str, Any]) -> str:
    if row.get("gpu_id") is None:
        return "all GPUs"
    name = f" ({row['gpu_name']})" if row.get("gpu_name") else ""
    return f"GPU {row['gpu_id']}{name}"


def gpu_series(rows: list[dict[str, Any]], column: str) -> dict[str, list[tuple[float, float]]]:
    """label -> [(seconds since the first data point, value)] for one metric column."""
    if not rows:
        return {}
    first = min(int(row["timestamp_unix_nano"]) for row in rows)
    series: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        if row.get(column) is None:
            continue
        offset = (int(row["timestamp_unix_nano"]) - first) / 1e9
        series.setdefault(series_label(row), []).append((offset, float(row[column])))
    return series


def gpu_figure(rows: list[dict[str, Any]], column: str, title: str, unit: str) -> go.Figure:
    """One time-series plot, one line per GPU."""
    figure = go.Figure()
    for index, (label, points) in enumerate(sorted(gpu_series(rows, column).items())):
        figure.add_trace(
            go.Scatter(
                x=[x for x, _ in points],
                y=[y for _, y in points],
                mode="lines+markers",
                name=label,
                line={"color": LINE_COLORS[index % len(LINE_COLORS)], "width": 2},
                marker={"size": 5},
                hovertemplate=f"%{{y:.2f}} {unit}<br>t=%{{x:.0f}} s<extra>{esc(label)}</extra>",
            )
        )
    figure.update_layout(
        title={"text": f"{title} ({unit})", "x": 0.02, "font": {"size": 15}},
        template="plotly_white",
        height=290,
        margin={"l": 55, "r": 15, "t": 45, "b": 45},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        xaxis_title="seconds since first sample",
        yaxis_title=unit,
        showlegend=True,
    )
    return figure


def gpu_cards(rows: list[dict[str, Any]]) -> str:
    """Latest and peak value per metric; with several GPUs the latest reading of each GPU."""
    cards = []
    for column, title, unit, digits in GPU_PANELS:
        series = gpu_series(rows, column)
        if not series:
            cards.append((title, "n/a", "not recorded"))
            continue
        latest = [(label, points[-1][1]) for label, points in sorted(series.items())]
        if column in CUMULATIVE_COLUMNS:  # a running total per GPU: the run's total is their sum
            total = fmt_number(float(sum(v for _, v in latest)), digits, unit)
            parts = "; ".join(f"{label}: {fmt_number(float(v), digits)}" for label, v in latest)
            caption = "total at the last sample" + (f" ({parts})" if len(latest) > 1 else "")
            cards.append((title, total, caption))
            continue
        value = " · ".join(fmt_number(float(v), digits) for _, v in latest) + f" {unit}"
        peak_label, peak = max(
            ((label, v) for label, points in series.items() for _, v in points),
            key=lambda item: item[1],
        )
        per_gpu = " per GPU" if len(latest) > 1 else ""
        where = f" on {peak_label}" if len(series) > 1 else ""
        caption = f"latest{per_gpu}; peak {fmt_number(float(peak), digits)} {unit}{where}"
        if column == "gpu_memory_used_mib":
            totals = [
                row["gpu_memory_total_mib"] for row in rows if row.get("gpu_memory_total_mib")
            ]
            if totals:
                caption += f" of {fmt_number(float(max(totals)), 0)} MiB"
        cards.append((title, value, caption))
    return stat_cards(cards)


def gpu_hint() -> str:
    """Shown on the GPU tab until a run is chosen, instead of an empty panel."""
    return (
        '<div class="mt-hint">Choose a run above, or open one from the leaderboard, to see its '
        "GPU metrics.</div>"
    )


def no_gpu_message(run: Run) -> str:
    row = run.row
    return no_gpu_notice(f"{row.get('model')} ({row.get('provider')})")


def no_gpu_notice(subject: str) -> str:
    """Said instead of empty plots when a run has no GPU data (API models, untraced runs)."""
    return (
        f'<div class="mt-notice"><b>No GPU metrics for this run.</b> {esc(subject)} recorded '
        "no GPU or CO2 data: API models run on the provider's hardware, and local models record "
        "GPU metrics only with <code>--enable-otel</code> on a machine with an NVIDIA GPU.</div>"
    )


def problem_html(message: str) -> str:
    return f'<div class="mt-problems">{esc(message)}</div>'
