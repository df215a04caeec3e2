"""The seed's standalone GPU metrics page: `python MockTraceMind/gpu_metrics_with_time_series.py`.

Kept so the seed's instructions still work; it shows the same cards and plots as the GPU tab of
`smoltrace-view`, for a bundled sample or any uploaded `metrics.json`. Offline, on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from MockTraceMind.app import DEFAULT_PORT, configure_offline
from MockTraceMind.data import SAMPLE_DIR, DataError, flatten_metrics, read_json

if TYPE_CHECKING:
    import gradio as gr

SAMPLES = {"Llama 3.1 8B on a GPU": "metrics_llama31.json", "GPT-4 via API": "metrics_gpt4.json"}


def metric_rows(path: Path) -> list[dict[str, Any]]:
    return flatten_metrics(read_json(path), str(path))


def build_gpu_app() -> gr.Blocks:
    """A page with a sample picker, a file upload, summary cards and the time-series plots."""
    import gradio as gr

    from MockTraceMind import views
    from MockTraceMind.ui import GpuPanel

    with gr.Blocks(title="MockTraceMind GPU metrics", analytics_enabled=False) as demo:
        gr.Markdown("# GPU metrics\nTime series from a smoltrace `metrics.json`, one line per GPU.")
        with gr.Row(equal_height=False):
            sample = gr.Dropdown(
                label="Sample",
                choices=list(SAMPLES),
                value=next(iter(SAMPLES)),
                elem_id="mt-sample-select",
            )
            load = gr.Button("Load Sample Data", variant="primary", scale=0, min_width=200)
            upload = gr.File(label="or open a metrics.json", file_types=[".json"], height=130)
        panel = GpuPanel()

        def show(path: Path) -> dict[Any, Any]:
            try:
                rows = metric_rows(path)
            except DataError as exc:
                return panel.show(views.problem_html(str(exc)), [])
            return panel.show(views.no_gpu_notice(path.name), rows)

        load.click(lambda name: show(SAMPLE_DIR / SAMPLES[name]), sample, panel.targets)
        upload.upload(lambda file: show(Path(file)), upload, panel.targets)
    return demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Standalone GPU metrics page (seed layout).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to serve on")
    args = parser.parse_args(argv)
    configure_offline(hub=False)
    from MockTraceMind.ui import launch

    launch(build_gpu_app(), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
