"""Reading smoltrace's published outputs (local run folders, Hub datasets, bundled samples).

Only what `smoltrace_dataset_structure.md` documents is read, and nothing is imported from the
`smoltrace` package: the dashboard must open runs written by any smoltrace version, copied from
another machine, or published to the Hub by someone else. Every problem with a file becomes a
`DataError` with a message that names the file, so the UI can show it instead of a traceback.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger(__name__)

SAMPLE_DIR = Path(__file__).resolve().parent / "sample_data"
SAMPLE_NAMES = ("llama31", "gpt4")
LEADERBOARD_REPO = "{user}/smoltrace-leaderboard"
LOCAL_PREFIX = "local:"

# Documented GPU metric names -> column of the flattened metrics dataset.
GPU_METRIC_COLUMNS: dict[str, str] = {
    "gen_ai.gpu.utilization": "gpu_utilization_percent",
    "gen_ai.gpu.memory.used": "gpu_memory_used_mib",
    "gen_ai.gpu.memory.total": "gpu_memory_total_mib",
    "gen_ai.gpu.temperature": "gpu_temperature_celsius",
    "gen_ai.gpu.power": "gpu_power_watts",
    "gen_ai.co2.emissions": "co2_emissions_gco2e",
    "gen_ai.power.cost": "power_cost_usd",
}
METRIC_ROW_COLUMNS = (
    "run_id",
    "service_name",
    "timestamp",
    "timestamp_unix_nano",
    "gpu_id",
    "gpu_name",
    *GPU_METRIC_COLUMNS.values(),
)
# Leaderboard fields without which a row cannot be shown or linked to its run.
REQUIRED_ROW_FIELDS = ("run_id", "model", "agent_type", "provider", "total_tests", "success_rate")
REQUIRED_RESULT_FIELDS = ("task_id", "test_case_uid", "agent_type", "success")


class DataError(Exception):
    """A file or dataset that is missing, unreadable or does not follow the published schema."""


@dataclass(frozen=True)
class Source:
    """Where one dataset of a run lives: a local JSON file or a Hub dataset id."""

    kind: Literal["file", "hub"]
    location: str

    def describe(self) -> str:
        return self.location if self.kind == "file" else f"Hub dataset {self.location}"


@dataclass
class Run:
    """One evaluation run: its leaderboard row and where its results, traces and metrics are."""

    key: str
    row: dict[str, Any]
    origin: Literal["local", "hub", "sample"]
    results: Source | None
    traces: Source | None
    metrics: Source | None

    @property
    def label(self) -> str:
        """Short human name used in dropdowns: model, agent type and (the start of) the run id."""
        run_id = str(self.row.get("run_id"))
        short = run_id if len(run_id) <= 28 else run_id[:8]
        tag = " (sample)" if self.origin == "sample" else ""
        return f"{self.row.get('model')} · {self.row.get('agent_type')} · {short}{tag}"


@dataclass
class Catalog:
    """All runs found, plus one message per place that was looked at and per problem met."""

    runs: list[Run] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def get(self, key: str | None) -> Run | None:
        return next((run for run in self.runs if run.key == key), None)


def read_json(path: Path) -> Any:
    """Parse a JSON file; any failure is a DataError naming the file and the position."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc


def check_row(row: Any, where: str) -> dict[str, Any]:
    """A leaderboard row must be an object with the fields the dashboard joins and shows."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: a leaderboard row must be a JSON object")
    missing = [name for name in REQUIRED_ROW_FIELDS if row.get(name) is None]
    if missing:
        raise DataError(f"{where}: leaderboard row lacks {', '.join(missing)}")
    return row


def resolve_reference(ref: Any, fallback: Path | None) -> Source | None:
    """Turn a leaderboard `*_dataset` value into a Source.

    A run folder that was moved keeps stale `local:` paths, so the file beside the leaderboard row
    (`fallback`) wins when it exists.
    """
    if fallback is not None and fallback.is_file():
        return Source("file", str(fallback))
    if not isinstance(ref, str) or not ref:
        return None
    if ref.startswith(LOCAL_PREFIX):
        path = Path(ref[len(LOCAL_PREFIX) :])
        return Source("file", str(path)) if path.is_file() else None
    return Source("hub", ref)


def run_from_row(
    row: dict[str, Any], origin: Literal["local", "hub", "sample"], folder: Path | None
) -> Run:
    def beside(name: str) -> Path | None:
        return folder / name if folder is not None else None

    key = str(row["run_id"]) if origin != "sample" else f"sample-{row['run_id']}"
    return Run(
        key=key,
        row=row,
        origin=origin,
        results=resolve_reference(row.get("results_dataset"), beside("results.json")),
        traces=resolve_reference(row.get("traces_dataset"), beside("traces.json")),
        metrics=resolve_reference(row.get("metrics_dataset"), beside("metrics.json")),
    )


def candidate_folders(results_dir: Path) -> list[Path]:
    """The run folders under `results_dir`, or `results_dir` itself when it is a run folder."""
    markers = ("metadata.json", "leaderboard_row.json", "records.jsonl")
    if any((results_dir / name).exists() for name in markers):
        return [results_dir]
    return sorted(
        child
        for child in results_dir.iterdir()
        if child.is_dir() and any((child / name).exists() for name in markers)
    )


def discover_local_runs(results_dir: Path) -> Catalog:
    """Scan a smoltrace output folder; complete runs become Runs, anything else a problem line."""
    catalog = Catalog()
    if not results_dir.is_dir():
        catalog.problems.append(f"Results folder {results_dir} does not exist.")
        return catalog
    for folder in candidate_folders(results_dir):
        if not (folder / "metadata.json").is_file():
            catalog.problems.append(
                f"{folder}: incomplete run (no metadata.json; the run was interrupted or is "
                "still going)."
            )
            continue
        try:
            metadata = read_json(folder / "metadata.json")
            if not isinstance(metadata, dict) or not metadata.get("run_id"):
                raise DataError(f"{folder / 'metadata.json'}: no run_id")
            row = check_row(read_json(folder / "leaderboard_row.json"), str(folder))
        except DataError as exc:
            catalog.problems.append(str(exc))
            continue
        catalog.runs.append(run_from_row(row, "local", folder))
    catalog.sources.append(f"{len(catalog.runs)} run(s) in {results_dir}")
    if not catalog.runs and not catalog.problems:
        catalog.problems.append(
            f"No runs in {results_dir}. Run `smoltrace-eval --output-format json "
            f"--output-dir {results_dir} ...` first, or press Load Sample Data."
        )
    return catalog


HubLoader = Callable[[str, str | None], list[dict[str, Any]]]


def load_hub_rows(repo_id: str, token: str | None) -> list[dict[str, Any]]:
    """All rows of a Hub dataset's train split, via `datasets.load_dataset`."""
    from datasets import load_dataset

    try:
        dataset = load_dataset(repo_id, split="train", token=token)
    except Exception as exc:  # datasets raises many unrelated types; all mean "not loadable"
        raise DataError(f"Hub dataset {repo_id}: {type(exc).__name__}: {exc}") from exc
    return [dict(row) for row in dataset]


def discover_hub_runs(user: str, token: str | None, loader: HubLoader = load_hub_rows) -> Catalog:
    """The runs of `{user}/smoltrace-leaderboard`; a bad row is a problem line, not a failure."""
    catalog = Catalog()
    repo_id = LEADERBOARD_REPO.format(user=user)
    try:
        rows = loader(repo_id, token)
    except DataError as exc:
        catalog.problems.append(str(exc))
        return catalog
    for index, row in enumerate(rows):
        try:
            catalog.runs.append(run_from_row(check_row(row, f"{repo_id} row {index}"), "hub", None))
        except DataError as exc:
            catalog.problems.append(str(exc))
    catalog.sources.append(f"{len(catalog.runs)} run(s) in Hub dataset {repo_id}")
    return catalog


def sample_runs() -> Catalog:
    """The bundled sample runs written by sample_data/generate_sample_metrics.py."""
    catalog = Catalog()
    for name in SAMPLE_NAMES:
        try:
            row = check_row(read_json(SAMPLE_DIR / f"leaderboard_{name}.json"), name)
        except DataError as exc:
            catalog.problems.append(str(exc))
            continue
        run = run_from_row(row, "sample", None)
        run.results = Source("file", str(SAMPLE_DIR / f"results_{name}.json"))
        run.traces = Source("file", str(SAMPLE_DIR / f"traces_{name}.json"))
        run.metrics = Source("file", str(SAMPLE_DIR / f"metrics_{name}.json"))
        catalog.runs.append(run)
    catalog.sources.append(f"{len(catalog.runs)} sample run(s)")
    return catalog


def merge(catalogs: Iterable[Catalog]) -> Catalog:
    """Join catalogs; a run id seen twice (a local run also pushed to the Hub) is kept once."""
    merged = Catalog()
    seen: set[str] = set()
    for catalog in catalogs:
        merged.sources.extend(catalog.sources)
        merged.problems.extend(catalog.problems)
        for run in catalog.runs:
            if run.key not in seen:
                seen.add(run.key)
                merged.runs.append(run)
    return merged


def any_value(value: dict[str, Any]) -> Any:
    """One OTLP-JSON AnyValue (`stringValue`, `intValue`, ..., `arrayValue`) as a plain value."""
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [any_value(item) for item in (value["arrayValue"] or {}).get("values") or []]
    return None


def otel_attributes(items: Any) -> dict[str, Any]:
    """OTel JSON attributes `[{key, value: AnyValue}]` -> plain dict."""
    return {
        item["key"]: any_value(item.get("value") or {})
        for item in items or []
        if isinstance(item, dict) and "key" in item
    }


def iso_utc(unix_nano: int) -> str:
    return datetime.fromtimestamp(unix_nano / 1e9, tz=timezone.utc).isoformat()


def flatten_metrics(document: Any, where: str) -> list[dict[str, Any]]:
    """`metrics.json` (OTel resourceMetrics) -> rows of the documented flattened metrics dataset.

    One row per (timestamp, GPU); a metric absent at a point stays None, never 0.
    """
    if not isinstance(document, dict) or not isinstance(document.get("resourceMetrics"), list):
        raise DataError(f"{where}: expected an object with a resourceMetrics list")
    rows: dict[tuple[int, str | None], dict[str, Any]] = {}
    try:
        for batch in document["resourceMetrics"]:
            resource = otel_attributes((batch.get("resource") or {}).get("attributes"))
            for scope in batch.get("scopeMetrics") or []:
                for metric in scope.get("metrics") or []:
                    column = GPU_METRIC_COLUMNS.get(metric.get("name"))
                    if column is None:
                        continue
                    points = [
                        point
                        for kind in ("gauge", "sum")
                        for point in (metric.get(kind) or {}).get("dataPoints") or []
                    ]
                    for point in points:
                        attrs = otel_attributes(point.get("attributes"))
                        stamp = int(point["timeUnixNano"])
                        gpu_id = attrs.get("gpu_id")
                        gpu_id = None if gpu_id is None else str(gpu_id)
                        row = rows.setdefault((stamp, gpu_id), new_metric_row(document, resource))
                        row.update(
                            timestamp=iso_utc(stamp), timestamp_unix_nano=str(stamp), gpu_id=gpu_id
                        )
                        if attrs.get("gpu_name"):
                            row["gpu_name"] = str(attrs["gpu_name"])
                        raw = point["asDouble"] if "asDouble" in point else point["asInt"]
                        row[column] = float(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(
            f"{where}: malformed metric data point ({type(exc).__name__}: {exc})"
        ) from exc
    return [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1] or ""))]


def new_metric_row(document: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(METRIC_ROW_COLUMNS)
    row["run_id"] = resource.get("run.id") or document.get("run_id")
    row["service_name"] = resource.get("service.name")
    return row


def from_json_text(value: Any, expected: type, field_name: str, where: str) -> Any:
    """On the Hub a span's attributes, events and resource are JSON text; locally, objects."""
    if value is None:
        return expected()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: span {field_name} is not valid JSON") from exc
    if not isinstance(value, expected):
        raise DataError(f"{where}: span {field_name} must be a JSON {expected.__name__}")
    return value


def normalize_span(span: Any, where: str) -> dict[str, Any]:
    """A documented span with `attributes`, `events` and `resource` as Python objects."""
    if not isinstance(span, dict):
        raise DataError(f"{where}: a span must be an object")
    required = ("span_id", "name", "start_time", "end_time")
    missing = [name for name in required if span.get(name) is None]
    if missing:
        raise DataError(f"{where}: span lacks {', '.join(missing)}")
    attributes = from_json_text(span.get("attributes"), dict, "attributes", where)
    return {
        **span,
        "start_time": int(span["start_time"]),
        "end_time": int(span["end_time"]),
        "attributes": {k: v for k, v in attributes.items() if v is not None},
        "events": from_json_text(span.get("events"), list, "events", where),
        "resource": from_json_text(span.get("resource"), dict, "resource", where),
        "status": span.get("status") or {"code": "UNSET", "description": None},
    }


class DataStore:
    """Finds runs and loads their datasets, caching each file or Hub dataset once per change."""

    def __init__(
        self,
        results_dir: Path | None,
        hub_user: str | None = None,
        token: str | None = None,
        hub_loader: HubLoader = load_hub_rows,
    ) -> None:
        self.results_dir = results_dir
        self.hub_user = hub_user
        self.token = token
        self.hub_loader = hub_loader
        self._cache: dict[tuple[Source, float], Any] = {}
        self._lock = threading.Lock()
        self.catalog = Catalog()
        self.samples = Catalog()

    def refresh(self) -> Catalog:
        """Rescan the results folder (and the Hub leaderboard) for runs."""
        parts = []
        if self.results_dir is not None:
            parts.append(discover_local_runs(self.results_dir))
        if self.hub_user:
            parts.append(discover_hub_runs(self.hub_user, self.token, self.hub_loader))
        self.catalog = merge(parts)
        logger.info("Found %d run(s): %s", len(self.catalog.runs), "; ".join(self.catalog.sources))
        return self.catalog

    def load_samples(self) -> Catalog:
        self.samples = sample_runs()
        return self.samples

    def view(self, with_samples: bool) -> Catalog:
        """The catalog a session sees: the scanned runs, plus the samples once it loaded them."""
        return merge([self.catalog, self.samples]) if with_samples else self.catalog

    def find(self, key: str | None) -> Run | None:
        return self.catalog.get(key) or self.samples.get(key)

    def _cached(self, source: Source, parse: Callable[[Any, str], Any]) -> Any:
        stamp = 0.0
        if source.kind == "file":
            try:
                stamp = Path(source.location).stat().st_mtime
            except OSError as exc:
                raise DataError(f"{source.location}: file not found") from exc
        key = (source, stamp)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        if source.kind == "file":
            raw = read_json(Path(source.location))
        else:
            raw = self.hub_loader(source.location, self.token)
        value = parse(raw, source.describe())
        with self._lock:
            self._cache[key] = value
        return value

    def results(self, run: Run) -> list[dict[str, Any]]:
        """The run's results rows, in test_index order."""
        if run.results is None:
            raise DataError(f"Run {run.key}: its results dataset is not available")
        return self._cached(run.results, parse_results)

    def traces(self, run: Run) -> list[dict[str, Any]]:
        """The run's trace documents; [] for a run that was not traced."""
        if run.traces is None:
            return []
        return self._cached(run.traces, parse_traces)

    def metric_rows(self, run: Run) -> list[dict[str, Any]]:
        """The run's GPU/CO2 time series as flattened metrics rows; [] when none was recorded."""
        if run.metrics is None:
            return []
        parse = parse_metrics_file if run.metrics.kind == "file" else parse_metric_rows
        return self._cached(run.metrics, parse)


def parse_results(raw: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise DataError(f"{where}: expected a list of results rows")
    for index, row in enumerate(raw):
        if not isinstance(row, dict):
            raise DataError(f"{where}: row {index} is not an object")
        missing = [name for name in REQUIRED_RESULT_FIELDS if name not in row]
        if missing:
            raise DataError(f"{where}: row {index} lacks {', '.join(missing)}")
    return sorted(raw, key=lambda row: row.get("test_index") or 0)


def parse_traces(raw: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise DataError(f"{where}: expected a list of trace documents")
    traces = []
    for index, trace in enumerate(raw):
        if not isinstance(trace, dict) or not isinstance(trace.get("spans"), list):
            raise DataError(f"{where}: trace {index} has no spans list")
        spans = [normalize_span(span, f"{where}: trace {index}") for span in trace["spans"]]
        traces.append({**trace, "spans": sorted(spans, key=lambda s: s["start_time"])})
    return traces


def parse_metrics_file(raw: Any, where: str) -> list[dict[str, Any]]:
    return flatten_metrics(raw, where)


def parse_metric_rows(raw: Any, where: str) -> list[dict[str, Any]]:
    """Hub metrics datasets are already flattened; keep the documented columns only."""
    if not isinstance(raw, list):
        raise DataError(f"{where}: expected metrics rows")
    rows = []
    for row in raw:
        if not isinstance(row, dict) or row.get("timestamp_unix_nano") is None:
            raise DataError(f"{where}: a metrics row lacks timestamp_unix_nano")
        rows.append({name: row.get(name) for name in METRIC_ROW_COLUMNS})
    return sorted(rows, key=lambda r: (int(r["timestamp_unix_nano"]), r["gpu_id"] or ""))


def find_trace(traces: list[dict[str, Any]], result: dict[str, Any]) -> dict[str, Any] | None:
    """The trace of one results row: by `trace_id`, else by its `test_case_uid`."""
    trace_id = result.get("trace_id")
    if trace_id:
        for trace in traces:
            if trace.get("trace_id") == trace_id:
                return trace
    uid = result.get("test_case_uid")
    for trace in traces:
        if uid in (trace.get("test_case_uids") or []):
            return trace
    return None
