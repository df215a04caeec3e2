"""The dashboard's Gradio Blocks: leaderboard, run, trace, compare and GPU-metrics views, wired.

Imported only after `app.configure_offline` ran, because importing gradio imports huggingface_hub,
which reads its offline and telemetry settings at import time.
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from MockTraceMind import compare, views
from MockTraceMind.data import DataError, DataStore, Run, find_trace

logger = logging.getLogger(__name__)

ALL_TASKS, FAILURES_ONLY = "All tasks", "Failures only"

CSS = """
.mt-cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; }
.mt-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 14px;
  background: var(--background-fill-secondary); }
.mt-card-title { font-size: 0.8rem; color: var(--body-text-color-subdued);
  text-transform: uppercase; letter-spacing: 0.04em; }
.mt-card-value { font-size: 1.45rem; font-weight: 600; margin: 2px 0; }
.mt-card-caption { font-size: 0.8rem; color: var(--body-text-color-subdued); }
.mt-notice { border-left: 4px solid #f59e0b; background: #fffbeb; color: #78350f;
  padding: 12px 16px; border-radius: 6px; }
.mt-hint { color: var(--body-text-color-subdued); padding: 8px 2px; }
.mt-problems { border-left: 4px solid #ef4444; background: #fef2f2; color: #7f1d1d;
  padding: 8px 14px; border-radius: 6px; }
.wf { font-size: 0.85rem; border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 6px 0; }
.wf-legend { display: flex; gap: 14px; padding: 2px 10px 8px; flex-wrap: wrap; }
.wf-legend-item i { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 4px; }
.wf-row { display: grid; grid-template-columns: minmax(220px, 30%) 1fr 190px; align-items: center;
  min-height: 26px; cursor: pointer; border-top: 1px solid var(--border-color-primary); }
.wf-row:hover { background: var(--background-fill-secondary); }
.wf-row.selected { background: #e0e7ff; }
.wf-head { cursor: default; font-weight: 600; border-top: none; }
.wf-head:hover { background: none; }
.wf-label { overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.wf-badge { color: white; font-size: 0.65rem; padding: 1px 5px; border-radius: 4px;
  margin-right: 6px; text-transform: uppercase; }
.wf-track { position: relative; height: 14px; margin: 0 10px; }
.wf-bar { position: absolute; top: 0; height: 14px; border-radius: 3px; min-width: 2px; }
.wf-axis { height: 18px; }
.wf-tick { position: absolute; transform: translateX(-50%); font-size: 0.7rem; white-space: nowrap;
  color: var(--body-text-color-subdued); }
.wf-tick:first-child { transform: none; }
.wf-tick:last-child { transform: translateX(-100%); }
.wf-meta { font-size: 0.75rem; color: var(--body-text-color-subdued); padding-right: 8px; }
.wf-error .wf-name { color: #b91c1c; font-weight: 600; }
"""

# Clicks anywhere in the waterfall bubble up to the component root, which outlives re-renders.
WATERFALL_JS = """
const pick = (row) => {
  element.querySelectorAll('.wf-row.selected').forEach((r) => r.classList.remove('selected'));
  row.classList.add('selected');
  trigger('click', {span_id: row.dataset.spanId});
};
element.addEventListener('click', (event) => {
  const row = event.target.closest('[data-span-id]');
  if (row) pick(row);
});
element.addEventListener('keydown', (event) => {
  const row = event.target.closest('[data-span-id]');
  if (row && (event.key === 'Enter' || event.key === ' ')) { event.preventDefault(); pick(row); }
});
"""


class GpuPanel:
    """Summary cards and one time-series plot per GPU metric; shared with the seed's GPU page."""

    def __init__(self, hint: str = "") -> None:
        self.info = gr.HTML(hint, elem_id="mt-gpu-info")
        self.plots: list[gr.Plot] = []
        for start in range(0, len(views.GPU_PANELS), 2):
            with gr.Row():
                for index in range(start, min(start + 2, len(views.GPU_PANELS))):
                    self.plots.append(gr.Plot(visible=False, elem_id=f"mt-plot-{index}"))

    @property
    def targets(self) -> list[Any]:
        return [self.info, *self.plots]

    def show(self, notice: str, rows: list[dict[str, Any]]) -> dict[Any, Any]:
        """Cards and plots for `rows`; with no GPU data, `notice` and no (empty) plots at all."""
        if not views.has_gpu_data(rows):
            return {self.info: notice, **{plot: gr.Plot(visible=False) for plot in self.plots}}
        shown = {
            plot: gr.Plot(value=views.gpu_figure(rows, column, title, unit), visible=True)
            for plot, (column, title, unit, _) in zip(self.plots, views.GPU_PANELS, strict=True)
        }
        return {self.info: views.gpu_cards(rows), **shown}


def build_app(store: DataStore) -> gr.Blocks:
    """The dashboard's Blocks; `store` must already be refreshed."""

    def runs(with_samples: bool) -> list[Run]:
        return store.view(with_samples).runs

    def run_choices(with_samples: bool) -> list[tuple[str, str]]:
        return [(run.label, run.key) for run in runs(with_samples)]

    with gr.Blocks(title="MockTraceMind", analytics_enabled=False, fill_width=True) as demo:
        with_samples = gr.State(False)
        with gr.Row(equal_height=False):
            gr.Markdown(
                "# MockTraceMind\nsmoltrace runs: leaderboard → run → trace, and GPU metrics.",
                elem_id="mt-title",
            )
            reload_button = gr.Button("Reload runs", size="sm", scale=0, min_width=120)
            sample_button = gr.Button(
                "Load Sample Data", variant="primary", size="sm", scale=0, min_width=170
            )
        status = gr.Markdown(elem_id="mt-status")
        with gr.Tabs(elem_id="mt-tabs") as tabs:
            with gr.Tab("Leaderboard", id="leaderboard"):
                with gr.Row():
                    model_filter = gr.Dropdown(
                        label="Model", multiselect=True, choices=[], elem_id="mt-model-filter"
                    )
                    provider_filter = gr.Dropdown(
                        label="Provider", multiselect=True, choices=[], elem_id="mt-provider-filter"
                    )
                    agent_filter = gr.Dropdown(
                        label="Agent type", multiselect=True, choices=[], elem_id="mt-agent-filter"
                    )
                    sort_by = gr.Dropdown(
                        label="Sort by", choices=list(views.SORT_CHOICES), value="Success %"
                    )
                    descending = gr.Checkbox(
                        label="Descending", value=True, elem_id="mt-descending"
                    )
                leaderboard = gr.Dataframe(
                    interactive=False,
                    elem_id="mt-leaderboard",
                    max_height=520,
                    wrap=True,
                    column_widths=[width for _, _, width in views.LEADERBOARD_COLUMNS],
                )
                gr.Markdown("Select a row to open the run.")
                success_plot = gr.Plot(elem_id="mt-success-plot")
            with gr.Tab("Run", id="run"):
                run_select = gr.Dropdown(label="Run", choices=[], elem_id="mt-run-select")
                run_title = gr.Markdown("Pick a run on the leaderboard.", elem_id="mt-run-title")
                run_cards = gr.HTML(elem_id="mt-run-cards")
                with gr.Row():
                    task_filter = gr.Radio(
                        [ALL_TASKS, FAILURES_ONLY],
                        value=ALL_TASKS,
                        label="Show",
                        scale=0,
                        min_width=320,
                        elem_id="mt-task-filter",
                    )
                    run_message = gr.Markdown(elem_id="mt-run-message")
                tasks = gr.Dataframe(
                    interactive=False,
                    elem_id="mt-tasks",
                    max_height=560,
                    wrap=True,
                    column_widths=[width for _, width in views.TASK_COLUMNS],
                )
                gr.Markdown("Select a task to open its trace.")
            with gr.Tab("Trace", id="trace"):
                trace_select = gr.Dropdown(label="Task", choices=[], elem_id="mt-trace-select")
                trace_title = gr.Markdown("Pick a task in the run view.", elem_id="mt-trace-title")
                waterfall = gr.HTML(elem_id="mt-waterfall", js_on_load=WATERFALL_JS)
                span_title = gr.Markdown(
                    "Click a span to see its attributes.", elem_id="mt-span-title"
                )
                span_json = gr.JSON(label="Span attributes", elem_id="mt-span-json", max_height=480)
            with gr.Tab("Compare", id="compare"):
                with gr.Row():
                    compare_a = gr.Dropdown(
                        label="Run A (baseline)", choices=[], elem_id="mt-compare-a"
                    )
                    compare_b = gr.Dropdown(
                        label="Run B (candidate)", choices=[], elem_id="mt-compare-b"
                    )
                compare_summary = gr.Markdown(
                    "Pick two runs to compare them task by task.", elem_id="mt-compare-summary"
                )
                compare_tasks = gr.Dataframe(
                    interactive=False, elem_id="mt-compare-tasks", max_height=480, wrap=True
                )
            with gr.Tab("GPU metrics", id="gpu") as gpu_tab:
                gpu_select = gr.Dropdown(label="Run", choices=[], elem_id="mt-gpu-select")
                gpu = GpuPanel(hint=views.gpu_hint())

        def shown_runs(
            samples: bool,
            models: list[str] | None,
            providers: list[str] | None,
            agents: list[str] | None,
            sort: str,
            desc: bool,
        ) -> list[Run]:
            chosen = views.filter_runs(runs(samples), models, providers, agents)
            return views.sort_runs(chosen, sort, desc)

        def leaderboard_value(*choices: Any) -> Any:
            return views.leaderboard_table(shown_runs(*choices))

        def success_plot_value(*choices: Any) -> Any:
            return views.success_figure(shown_runs(*choices))

        filters = [model_filter, provider_filter, agent_filter, sort_by, descending]

        def refresh_outputs(samples: bool, *filter_values: Any) -> dict[Any, Any]:
            present = runs(samples)
            choices = run_choices(samples)
            return {
                status: views.status_markdown(store.view(samples)),
                model_filter: gr.Dropdown(choices=views.distinct(present, "model")),
                provider_filter: gr.Dropdown(choices=views.distinct(present, "provider")),
                agent_filter: gr.Dropdown(choices=views.distinct(present, "agent_type")),
                leaderboard: leaderboard_value(samples, *filter_values),
                success_plot: success_plot_value(samples, *filter_values),
                run_select: gr.Dropdown(choices=choices),
                gpu_select: gr.Dropdown(choices=choices),
                compare_a: gr.Dropdown(choices=choices),
                compare_b: gr.Dropdown(choices=choices),
            }

        refresh_targets = [
            status,
            model_filter,
            provider_filter,
            agent_filter,
            leaderboard,
            success_plot,
            run_select,
            gpu_select,
            compare_a,
            compare_b,
        ]

        def compare_outputs(key_a: str | None, key_b: str | None) -> dict[Any, Any]:
            run_a, run_b = store.find(key_a), store.find(key_b)
            if run_a is None or run_b is None:
                return {
                    compare_summary: "Pick two runs to compare them task by task.",
                    compare_tasks: compare.task_table(None),
                }
            try:
                report = compare.compare_results(store.results(run_a), store.results(run_b))
            except DataError as exc:
                return {
                    compare_summary: f"**Error:** {exc}",
                    compare_tasks: compare.task_table(None),
                }
            return {
                compare_summary: compare.compare_markdown(run_a.label, run_b.label, report),
                compare_tasks: compare.task_table(report),
            }

        compare_targets = [compare_summary, compare_tasks]

        def gpu_outputs(key: str | None) -> dict[Any, Any]:
            run = store.find(key)
            if run is None:
                return gpu.show(views.gpu_hint(), [])
            try:
                rows = store.metric_rows(run)
            except DataError as exc:
                return gpu.show(views.problem_html(str(exc)), [])
            return gpu.show(views.no_gpu_message(run), rows)

        def run_outputs(key: str | None, task_mode: str) -> dict[Any, Any]:
            run = store.find(key)
            if run is None:
                return {run_message: f"Run `{key}` is not loaded."}
            out: dict[Any, Any] = {
                run_select: gr.Dropdown(value=run.key),
                run_title: views.run_header(run),
                run_cards: views.run_cards(run),
                gpu_select: gr.Dropdown(value=run.key),
            }
            try:
                results = store.results(run)
            except DataError as exc:
                out.update(
                    {
                        run_message: f"**Error:** {exc}",
                        tasks: views.task_table([], False),
                        trace_select: gr.Dropdown(choices=[], value=None),
                    }
                )
                return out
            failures = sum(1 for result in results if not result.get("success"))
            out.update(
                {
                    run_message: f"{len(results)} task(s), {failures} failed.",
                    tasks: views.task_table(results, task_mode == FAILURES_ONLY),
                    trace_select: gr.Dropdown(choices=views.task_choices(results), value=None),
                }
            )
            return out

        run_targets = [
            run_select,
            run_title,
            run_cards,
            run_message,
            tasks,
            trace_select,
            gpu_select,
        ]

        def trace_outputs(key: str | None, uid: str | None) -> dict[Any, Any]:
            blank = {span_title: "Click a span to see its attributes.", span_json: None}
            run = store.find(key)
            if run is None or not uid:
                return {trace_title: "Pick a task in the run view.", waterfall: "", **blank}
            try:
                results = store.results(run)
                traces = store.traces(run)
            except DataError as exc:
                return {trace_title: f"**Error:** {exc}", waterfall: "", **blank}
            result = next((r for r in results if r.get("test_case_uid") == uid), None)
            if result is None:
                return {trace_title: f"Task `{uid}` is not in this run.", waterfall: "", **blank}
            trace = find_trace(traces, result)
            if trace is None:
                why = (
                    "this run was not traced (run smoltrace-eval with --enable-otel)"
                    if not traces
                    else "no trace in this run carries its trace id"
                )
                return {
                    trace_select: gr.Dropdown(value=uid),
                    trace_title: f"**{uid}**: no trace to show; {why}.",
                    waterfall: "",
                    **blank,
                }
            focus = views.focus_span(trace)
            header, payload = views.span_detail(trace, focus) if focus else ("", None)
            return {
                trace_select: gr.Dropdown(value=uid),
                trace_title: views.trace_summary(trace, result),
                waterfall: views.waterfall_html(trace, selected=focus),
                span_title: header,
                span_json: payload,
            }

        trace_targets = [trace_select, trace_title, waterfall, span_title, span_json]

        def on_reload(samples: bool, *filter_values: Any) -> dict[Any, Any]:
            store.refresh()
            return refresh_outputs(samples, *filter_values)

        def first_gpu_run(candidates: list[Run]) -> Run | None:
            for run in candidates:
                try:
                    if views.has_gpu_data(store.metric_rows(run)):
                        return run
                except DataError:
                    continue
            return None

        def on_samples(*filter_values: Any) -> dict[Any, Any]:
            """Add the sample runs and, like the seed app, open the GPU view of the GPU sample."""
            sample_catalog = store.load_samples()
            out = {with_samples: True, **refresh_outputs(True, *filter_values)}
            gpu_run = first_gpu_run(sample_catalog.runs)
            if gpu_run is not None:
                out.update(gpu_outputs(gpu_run.key))
                out[gpu_select] = gr.Dropdown(choices=run_choices(True), value=gpu_run.key)
                out[tabs] = gr.Tabs(selected="gpu")
            return out

        def on_leaderboard_select(evt: gr.SelectData, task_mode: str) -> dict[Any, Any]:
            key = evt.row_value[-1] if evt.row_value else None
            return {**run_outputs(key, task_mode), tabs: gr.Tabs(selected="run")}

        def on_task_select(evt: gr.SelectData, key: str | None) -> dict[Any, Any]:
            uid = evt.row_value[-1] if evt.row_value else None
            return {**trace_outputs(key, uid), tabs: gr.Tabs(selected="trace")}

        def on_span_click(evt: gr.EventData, key: str | None, uid: str | None) -> dict[Any, Any]:
            span_id = getattr(evt, "span_id", None)
            run = store.find(key)
            if run is None or not uid or not span_id:
                return {span_title: "Click a span to see its attributes.", span_json: None}
            try:
                results, traces = store.results(run), store.traces(run)
            except DataError as exc:
                return {span_title: f"**Error:** {exc}", span_json: None}
            result = next((r for r in results if r.get("test_case_uid") == uid), None)
            trace = find_trace(traces, result) if result else None
            if trace is None:
                return {span_title: "No trace is open.", span_json: None}
            header, payload = views.span_detail(trace, span_id)
            return {span_title: header, span_json: payload}

        demo.load(refresh_outputs, [with_samples, *filters], refresh_targets)
        reload_button.click(on_reload, [with_samples, *filters], refresh_targets)
        sample_button.click(
            on_samples, filters, [with_samples, *refresh_targets, *gpu.targets, tabs]
        )
        for control in filters:
            control.change(leaderboard_value, [with_samples, *filters], leaderboard)
            control.change(success_plot_value, [with_samples, *filters], success_plot)
        leaderboard.select(on_leaderboard_select, [task_filter], [*run_targets, tabs])
        run_select.input(run_outputs, [run_select, task_filter], run_targets)
        task_filter.input(run_outputs, [run_select, task_filter], run_targets)
        tasks.select(on_task_select, [run_select], [*trace_targets, tabs])
        trace_select.input(trace_outputs, [run_select, trace_select], trace_targets)
        waterfall.click(on_span_click, [run_select, trace_select], [span_title, span_json])
        # Plots are drawn when the GPU tab is opened, not on every run change.
        gpu_tab.select(gpu_outputs, [gpu_select], gpu.targets)
        gpu_select.input(gpu_outputs, [gpu_select], gpu.targets)
        compare_a.input(compare_outputs, [compare_a, compare_b], compare_targets)
        compare_b.input(compare_outputs, [compare_a, compare_b], compare_targets)
    return demo


def launch(demo: gr.Blocks, host: str, port: int) -> None:
    """Serve on host:port with everything that could leave the machine switched off."""
    demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        footer_links=[],
        enable_monitoring=False,
        show_error=True,
        theme=gr.themes.Default(primary_hue="indigo"),
        css=CSS,
    )
