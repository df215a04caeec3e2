"""Dataset cards: what a published dataset is, the schema actually pushed, and how to load it.

A card's schema table is generated from the `datasets.Features` that were pushed, so it cannot
drift from the data. Run datasets also carry a `smoltrace:` block in their YAML front matter
(run id, model, whether the run was traced, the sibling datasets); `smoltrace-cleanup` reads it to
tell a run without OpenTelemetry (complete without a traces dataset) from a broken one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasets import Dataset, Features

LICENSE = "apache-2.0"
BASE_TAGS = ["smoltrace", "smolagents", "evaluation", "agents"]

RESULTS_MEANINGS = {
    "model": "model id",
    "evaluation_date": "ISO 8601 UTC time at which the task finished",
    "task_id": "the task's id",
    "test_case_uid": "`{agent_type}:{task_id}` (`#{attempt}` appended with `--repeats`), unique within the run",
    "test_index": "0..n-1 over all rows of the run (tool rows first)",
    "attempt": "0..K-1: which of the task's `--repeats K` attempts this row is",
    "agent_type": "`tool` or `code`",
    "difficulty": "`easy`, `medium` or `hard`",
    "prompt": "the task text given to the agent",
    "success": "tool, final answer and keyword checks all passed",
    "tool_called": "at least one tool other than `final_answer` was called",
    "correct_tool": "the expected tool was called (enough times)",
    "final_answer_called": "the agent produced a final answer",
    "response_correct": "the expected keywords check passed (true when the task has none)",
    "tools_used": "tool names called, in call order, `final_answer` excluded",
    "steps": "agent action steps, counted as smolagents numbers them (planning steps apart)",
    "planning_steps": "planning steps (with a planning interval); 0 otherwise",
    "model_calls": "model requests of the task: actions, planning, the max-steps summary",
    "stop_reason": "`final_answer`, `max_steps` or `error`: why the agent run ended",
    "response": "the final answer as text; null when there is none",
    "error": "why the task failed (root cause chain; the last step error at max steps); null otherwise",
    "trace_id": "32 hex digits of the task's trace; null without OpenTelemetry",
    "span_id": "16 hex digits of the task's root span; null without OpenTelemetry",
    "run_id": "the run identifier",
    "start_time_unix_nano": "task start, ns since the epoch",
    "end_time_unix_nano": "task end, ns since the epoch",
    "execution_time_ms": "wall-clock time of the task",
    "prompt_tokens": "input tokens over all model calls of the task",
    "completion_tokens": "output tokens over all model calls of the task",
    "total_tokens": "`prompt_tokens + completion_tokens`",
    "cost_usd": "price of the task's model calls; null when the model's price is unknown",
    "enhanced_trace_info": "JSON text summarising the task's trace; `{}` without OpenTelemetry",
}
TRACES_MEANINGS = {
    "trace_id": "32 hex digits",
    "run_id": "the run identifier",
    "root_span_id": "16 hex digits of the root (task) span",
    "test_ids": "task ids seen in the trace",
    "test_case_uids": "`agent_type:task_id` values seen in the trace",
    "agent_type": "`tool` or `code`",
    "spans": "the trace's spans, ordered by start time (fields below)",
    "total_tokens": "tokens of the LLM spans, each model call counted once",
    "total_duration_ms": "wall time of the root span",
    "total_cost_usd": "cost of the LLM spans; null when unpriced",
}
SPAN_MEANINGS = {
    "trace_id": "32 hex digits",
    "span_id": "16 hex digits",
    "parent_span_id": "parent span; null for the root",
    "name": "span name, e.g. `test_evaluation`, `Step 1`, `LiteLLMModel.generate`",
    "kind": "`INTERNAL`, `CLIENT`, `SERVER`, `PRODUCER` or `CONSUMER`",
    "start_time": "ns since the epoch",
    "end_time": "ns since the epoch",
    "duration_ms": "`(end_time - start_time) / 1e6`",
    "attributes": "JSON text of the span attributes (secrets redacted)",
    "events": "JSON text of the list of `{name, timestamp, attributes}`",
    "status": "`code` (`UNSET`, `OK`, `ERROR`) and `description`",
    "resource": "JSON text of `{attributes: {service.name, run.id, ...}}`",
}
METRICS_MEANINGS = {
    "run_id": "the run identifier",
    "service_name": "resource `service.name`",
    "timestamp": "ISO 8601 UTC of the data point",
    "timestamp_unix_nano": "ns since the epoch (text)",
    "gpu_id": "GPU index; null for run-wide metrics",
    "gpu_name": "GPU model name",
    "co2_emissions_gco2e": "`gen_ai.co2.emissions`, cumulative gCO2e",
    "power_cost_usd": "`gen_ai.power.cost`, cumulative USD",
    "gpu_utilization_percent": "`gen_ai.gpu.utilization`",
    "gpu_memory_used_mib": "`gen_ai.gpu.memory.used`",
    "gpu_memory_total_mib": "`gen_ai.gpu.memory.total`",
    "gpu_temperature_celsius": "`gen_ai.gpu.temperature`",
    "gpu_power_watts": "`gen_ai.gpu.power`",
}
LEADERBOARD_MEANINGS = {
    "run_id": "the run identifier",
    "model": "model id",
    "agent_type": "`tool`, `code` or `both`",
    "provider": "model provider",
    "timestamp": "ISO 8601 UTC time the run finished",
    "submitted_by": "Hub user name",
    "use_case": "grouping (`--use-case`)",
    "team": "grouping (`--team`)",
    "purpose": "`selection`, `regression` or `monitoring`",
    "suite_version": "grouping (`--suite-version`)",
    "results_dataset": "results dataset id",
    "traces_dataset": "traces dataset id; null when the run was not traced",
    "metrics_dataset": "metrics dataset id",
    "dataset_used": "the task dataset",
    "dataset_revision": "resolved revision of a Hub task dataset",
    "total_tests": "results rows",
    "successful_tests": "rows with `success`",
    "failed_tests": "`total_tests - successful_tests`",
    "success_rate": "percent of successful rows",
    "avg_steps": "mean `steps`",
    "avg_duration_ms": "mean `execution_time_ms`",
    "total_duration_ms": "sum of `execution_time_ms`",
    "total_tokens": "sum of `total_tokens`",
    "avg_tokens_per_test": "`total_tokens / total_tests`, rounded",
    "total_cost_usd": "sum of `cost_usd`; null when no row has a cost",
    "avg_cost_per_test_usd": "`total_cost_usd / total_tests`",
    "co2_emissions_g": "CO2 of the run in g; null when not measured",
    "power_cost_total_usd": "power cost of the run; null when not measured",
    "gpu_utilization_avg": "mean GPU utilization (%); null without GPU data",
    "gpu_utilization_max": "max GPU utilization (%)",
    "gpu_memory_avg_mib": "mean GPU memory used (MiB)",
    "gpu_memory_max_mib": "max GPU memory used (MiB)",
    "gpu_temperature_avg": "mean GPU temperature (Celsius)",
    "gpu_temperature_max": "max GPU temperature (Celsius)",
    "gpu_power_avg_w": "mean GPU power (W)",
    "wall_time_ms": "wall-clock time of the whole run (tasks overlap with parallel workers)",
    "keyword_match": "keyword rule of `response_correct`: `word` or `substring`",
    "max_steps": "the agents' step limit",
    "tasks_sha256": "SHA-256 of the task dataset the run loaded (same hash, same tasks)",
    "smoltrace_version": "smoltrace version that made the run",
    "notes": "`Evaluation on YYYY-MM-DD; N tests`",
    "repeats": "K, attempts per task (`--repeats`)",
    "total_tasks": "task executions (agent type + task id)",
    "success_rate_se": "task-clustered standard error of `success_rate` (points)",
    "success_rate_ci_low": "lower end of the 95% interval of `success_rate` (Wilson, task-clustered)",
    "success_rate_ci_high": "upper end of the same",
    "pass_at_1": "mean over tasks of c/n",
    "pass_at_k": "mean over tasks of pass@K = 1 - C(n-c,K)/C(n,K)",
    "pass_hat_k": "mean over tasks of pass^K = C(c,K)/C(n,K)",
    "avg_duration_ms_ci_low": "lower end of the 95% interval of `avg_duration_ms`",
    "avg_duration_ms_ci_high": "upper end of the same",
    "avg_tokens_per_test_ci_low": "lower end of the 95% interval of the mean tokens per attempt",
    "avg_tokens_per_test_ci_high": "upper end of the same",
    "avg_cost_per_test_usd_ci_low": "lower end of the 95% interval of the mean cost per attempt",
    "avg_cost_per_test_usd_ci_high": "upper end of the same",
}
TASK_MEANINGS = {
    "id": "unique task id",
    "prompt": "the task text given to the agent",
    "expected_tool": "tool the agent must call (`multiple`: any tools); null when none is expected",
    "expected_tool_calls": "how many times it must be called; null means once",
    "expected_keywords": "any of them in the answer counts as correct; null when not checked",
    "difficulty": "`easy`, `medium` or `hard`",
    "agent_type": "`tool`, `code` or `both`",
    "category": "topic of the task",
}


@dataclass(frozen=True)
class Card:
    """A dataset card before the datasets metadata (features, splits, data files) is added."""

    title: str
    metadata: dict[str, Any]
    body: str


def type_name(feature: Any) -> str:
    """A readable type for a schema table: string, int64, list of string, list of struct..."""
    from datasets import List, Value

    if isinstance(feature, Value):
        return feature.dtype
    if isinstance(feature, List):
        inner = feature.feature
        return f"list of {'struct' if isinstance(inner, dict) else type_name(inner)}"
    if isinstance(feature, dict):
        return "struct"
    return type(feature).__name__


def schema_table(features: Features | dict[str, Any], meanings: dict[str, str]) -> str:
    """Markdown table of the pushed columns; columns from other versions get a note."""
    lines = ["| column | type | meaning |", "|---|---|---|"]
    for column, feature in features.items():
        meaning = meanings.get(column, "column kept from another smoltrace version")
        lines.append(f"| `{column}` | {type_name(feature)} | {meaning} |")
    return "\n".join(lines)


def _run_block(run: dict[str, Any], kind: str) -> dict[str, Any]:
    """The `smoltrace:` YAML block of a run dataset (read back by smoltrace-cleanup)."""
    return {
        "dataset_kind": kind,
        "run_id": run.get("run_id"),
        "model": run.get("model"),
        "provider": run.get("provider"),
        "agent_type": run.get("agent_type"),
        "timestamp": run.get("timestamp"),
        "otel_enabled": bool(run.get("otel_enabled")),
        "gpu_metrics_enabled": bool(run.get("gpu_metrics_enabled")),
        "dataset_used": run.get("dataset_used"),
        "dataset_revision": run.get("dataset_revision"),
        "smoltrace_version": run.get("smoltrace_version"),
        "datasets": dict(run.get("hub") or {}),
        # how the run was made (smoltrace.manifest): on the results card, the run's main record
        **({"manifest": run.get("manifest")} if kind == "results" else {}),
    }


def _metadata(
    pretty_name: str, tags: list[str], smoltrace: dict[str, Any] | None = None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "license": LICENSE,
        "pretty_name": pretty_name,
        "tags": [*BASE_TAGS, *tags],
    }
    if smoltrace is not None:
        metadata["smoltrace"] = smoltrace
    return metadata


def _run_table(run: dict[str, Any]) -> str:
    revision = f" @ `{run['dataset_revision']}`" if run.get("dataset_revision") else ""
    traced = (
        "yes"
        if run.get("otel_enabled")
        else "no (`trace_id`/`span_id` are null; no traces dataset)"
    )
    rows = [
        ("Model", f"`{run.get('model')}`"),
        ("Provider", run.get("provider") or "not recorded"),
        ("Agent type", run.get("agent_type")),
        ("Run id", f"`{run.get('run_id')}`"),
        ("Task dataset", f"`{run.get('dataset_used')}`{revision}"),
        ("Started (UTC)", run.get("started_at") or "not recorded"),
        ("Finished (UTC)", run.get("finished_at") or "not recorded"),
        ("Traced (OpenTelemetry)", traced),
        ("smoltrace version", run.get("smoltrace_version") or "not recorded"),
    ]
    return "\n".join(["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def _how_made(run: dict[str, Any]) -> str:
    """The manifest's key settings and the command that runs the same evaluation again."""
    manifest = run.get("manifest")
    if not manifest:
        return "## How this run was made\n\nNot recorded (no run manifest)."
    settings = ", ".join(
        f"{key} `{manifest.get(key)}`"
        for key in ("keyword_match", "max_steps", "parallel_workers", "tasks_sha256")
    )
    return (
        "## How this run was made\n\n"
        f"Settings: {settings}. The full manifest (versions, tools, prompt file hash, price "
        "table) is the `smoltrace.manifest` block of this card's YAML header. "
        "To run the same evaluation again:\n\n"
        f"```bash\n{manifest.get('reproduce_command')}\n```"
    )


def _related(run: dict[str, Any]) -> str:
    names = run.get("hub") or {}
    labels = {
        "results": "Results",
        "traces": "Traces",
        "metrics": "Metrics",
        "leaderboard": "Leaderboard",
    }
    lines = []
    for kind, label in labels.items():
        repo = names.get(kind)
        lines.append(
            f"- {label}: `{repo}`" if repo else f"- {label}: none (the run was not traced)"
        )
    lines.append("\nEvery row of the run's datasets carries `run_id`, to join them.")
    return "\n".join(lines)


def _load_snippet(repo_id: str, extra: str = "") -> str:
    return (
        "```python\n"
        "from datasets import load_dataset\n\n"
        f'ds = load_dataset("{repo_id}", split="train")  # private: log in or set HF_TOKEN\n'
        f"{extra}"
        "```"
    )


def _footer() -> str:
    """No date: a card must be the same bytes when the same data is pushed again (a retried
    upload then makes no new commit)."""
    from .. import __version__

    return f"Generated by smoltrace {__version__}."


def results_card(run: dict[str, Any], repo_id: str, dataset: Dataset) -> Card:
    total = len(dataset)
    passed = sum(1 for value in dataset["success"] if value)
    rate = f"{100 * passed / total:.1f}%" if total else "n/a"
    body = "\n\n".join(
        [
            f"Results of one smoltrace evaluation of `{run.get('model')}`: one row per task "
            f"execution ({total} rows, {passed} successful, {rate}). A task run by both agent "
            "types gives a tool row and a code row.",
            _run_table(run),
            "## Related datasets\n\n" + _related(run),
            _how_made(run),
            "## Schema\n\n" + schema_table(dataset.features, RESULTS_MEANINGS),
            "## Load it\n\n"
            + _load_snippet(
                repo_id,
                'failed = ds.filter(lambda row: not row["success"])\n'
                "# join with the traces dataset on trace_id (runs with --enable-otel)\n",
            ),
            _footer(),
        ]
    )
    return Card(
        f"smoltrace results: {run.get('model')}",
        _metadata(
            f"smoltrace results {run.get('run_id')}", ["results"], _run_block(run, "results")
        ),
        body,
    )


def traces_card(run: dict[str, Any], repo_id: str, dataset: Dataset) -> Card:
    spans = dataset.features["spans"].feature
    body = "\n\n".join(
        [
            f"OpenTelemetry traces of one smoltrace evaluation of `{run.get('model')}`: one row "
            f"per task trace ({len(dataset)} traces). A result row links to its trace by "
            "`trace_id`.",
            _run_table(run),
            "## Related datasets\n\n" + _related(run),
            "## Schema\n\n" + schema_table(dataset.features, TRACES_MEANINGS),
            "Span fields:\n\n" + schema_table(spans, SPAN_MEANINGS),
            "Span `attributes`, `events` and `resource` are JSON text: their keys and value types "
            "vary from span to span, which a columnar schema cannot hold. `json.loads` gives back "
            "the objects of the run folder's `traces.json`.",
            "## Load it\n\n"
            + _load_snippet(
                repo_id,
                "import json\n\n"
                'span = ds[0]["spans"][0]\n'
                'attributes = json.loads(span["attributes"])\n',
            ),
            _footer(),
        ]
    )
    return Card(
        f"smoltrace traces: {run.get('model')}",
        _metadata(
            f"smoltrace traces {run.get('run_id')}",
            ["traces", "opentelemetry"],
            _run_block(run, "traces"),
        ),
        body,
    )


def metrics_card(run: dict[str, Any], repo_id: str, dataset: Dataset, *, measured: bool) -> Card:
    if measured:
        summary = f"{len(dataset)} rows, one per (timestamp, GPU)."
    else:
        summary = (
            "This run recorded no GPU metrics (an API model, or GPU metrics were off), so the "
            "dataset holds one run-wide row (`gpu_id` null) whose metric columns are all null: "
            "`datasets` cannot load a dataset without rows."
        )
    body = "\n\n".join(
        [
            "GPU, energy and cost time series of one smoltrace evaluation of "
            f"`{run.get('model')}`. {summary} A metric absent at a point is null, never 0.",
            _run_table(run),
            "## Related datasets\n\n" + _related(run),
            "## Schema\n\n" + schema_table(dataset.features, METRICS_MEANINGS),
            "## Load it\n\n" + _load_snippet(repo_id),
            _footer(),
        ]
    )
    return Card(
        f"smoltrace metrics: {run.get('model')}",
        _metadata(
            f"smoltrace metrics {run.get('run_id')}", ["metrics", "gpu"], _run_block(run, "metrics")
        ),
        body,
    )


def leaderboard_card(owner: str, repo_id: str, dataset: Dataset) -> Card:
    models = sorted({m for m in dataset["model"] if m}) if "model" in dataset.column_names else []
    body = "\n\n".join(
        [
            f"One row per smoltrace evaluation run published by `{owner}` ({len(dataset)} runs, "
            f"{len(models)} models). Each run appends its row; earlier rows and columns are kept, "
            "and a row that predates a column reads it as null. The `*_dataset` columns name each "
            "run's results, traces and metrics datasets.",
            "## Schema\n\n" + schema_table(dataset.features, LEADERBOARD_MEANINGS),
            "## Load it\n\n"
            + _load_snippet(
                repo_id,
                'best = ds.sort("success_rate", reverse=True)\n'
                'regressions = ds.filter(lambda row: row["purpose"] == "regression")\n',
            ),
            _footer(),
        ]
    )
    return Card(
        "smoltrace leaderboard",
        _metadata(f"smoltrace leaderboard of {owner}", ["leaderboard"]),
        body,
    )


def tasks_card(repo_id: str, suite: str, dataset: Dataset, version: str) -> Card:
    """Card of a built-in task suite copied to the Hub by smoltrace-copy-datasets."""
    total = len(dataset)
    counts: dict[str, dict[str, int]] = {"difficulty": {}, "agent_type": {}}
    for column, tally in counts.items():
        for value in dataset[column]:
            tally[value] = tally.get(value, 0) + 1
    mix = "; ".join(
        f"{column}: " + ", ".join(f"{value} {n}" for value, n in sorted(tally.items()))
        for column, tally in counts.items()
    )
    body = "\n\n".join(
        [
            f"The `{suite}` task suite shipped with smoltrace {version}: {total} tasks ({mix}). "
            "Copied from the package data by `smoltrace-copy-datasets`, so it is exactly what "
            f"`--dataset-name {suite}` runs.",
            "## Schema\n\n" + schema_table(dataset.features, TASK_MEANINGS),
            "## Use it\n\n"
            "Pin the commit you evaluate against, so later edits cannot change your results:\n\n"
            "```bash\n"
            f"smoltrace-eval --model openai/gpt-4o-mini --dataset-name {repo_id} "
            "--dataset-revision <commit sha>\n"
            "```\n\n" + _load_snippet(repo_id),
            _footer(),
        ]
    )
    return Card(
        f"smoltrace tasks: {suite}",
        _metadata(
            f"smoltrace {suite}", ["tasks", "benchmark"], {"dataset_kind": "tasks", "suite": suite}
        ),
        body,
    )


def render_card(card: Card, dataset: Dataset, download_size: int) -> str:
    """README.md text: YAML front matter (card metadata plus the datasets features, split sizes
    and data files, which `load_dataset` reads) followed by the card body."""
    from datasets import DatasetInfo
    from datasets.info import DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    data = DatasetCardData(**card.metadata)
    size = dataset.data.nbytes
    splits = SplitDict()
    splits.add(SplitInfo(name="train", num_bytes=size, num_examples=len(dataset)))
    info = DatasetInfo(
        features=dataset.features, splits=splits, download_size=download_size, dataset_size=size
    )
    DatasetInfosDict({"default": info}).to_dataset_card_data(data)
    MetadataConfigs(
        {"default": {"data_files": [{"split": "train", "path": "data/train-*"}]}}
    ).to_dataset_card_data(data)
    return f"---\n{data.to_yaml()}\n---\n\n# {card.title}\n\n{card.body}\n"
