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
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
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
# Documented types, as the words a problem message uses for them.
STRING, INTEGER, NUMBER, BOOLEAN = "text", "an integer", "a number", "true or false"
STRINGS, OBJECT, LIST = "a list of text", "an object", "a list"
# Leaderboard fields without which a row cannot be shown or linked to its run.
REQUIRED_ROW_FIELDS = ("run_id", "model", "agent_type", "provider", "total_tests", "success_rate")
# Types of the leaderboard fields the dashboard shows, sorts or follows; null is allowed unless the
# field is required. Columns it never reads are not checked, so newer smoltrace versions still open.
ROW_FIELD_TYPES: dict[str, str] = {
    "run_id": STRING,
    "model": STRING,
    "agent_type": STRING,
    "provider": STRING,
    "timestamp": STRING,
    "dataset_used": STRING,
    "results_dataset": STRING,
    "traces_dataset": STRING,
    "metrics_dataset": STRING,
    "total_tests": INTEGER,
    "successful_tests": INTEGER,
    "failed_tests": INTEGER,
    "total_tokens": INTEGER,
    "success_rate": NUMBER,
    "avg_steps": NUMBER,
    "total_duration_ms": NUMBER,
    "total_cost_usd": NUMBER,
    "co2_emissions_g": NUMBER,
    "gpu_utilization_avg": NUMBER,
    "gpu_utilization_max": NUMBER,
    "gpu_memory_max_mib": NUMBER,
    "gpu_power_avg_w": NUMBER,
    "success_rate_ci_low": NUMBER,
    "success_rate_ci_high": NUMBER,
    "repeats": INTEGER,
    "pass_at_k": NUMBER,
    "pass_hat_k": NUMBER,
}
REQUIRED_RESULT_FIELDS = ("task_id", "test_case_uid", "agent_type", "success")
RESULT_FIELD_TYPES: dict[str, str] = {
    "task_id": STRING,
    "test_case_uid": STRING,
    "agent_type": STRING,
    "success": BOOLEAN,
    "test_index": INTEGER,
    "difficulty": STRING,
    "prompt": STRING,
    "tools_used": STRINGS,
    "steps": INTEGER,
    "total_tokens": INTEGER,
    "cost_usd": NUMBER,
    "execution_time_ms": NUMBER,
    "error": STRING,
    "trace_id": STRING,
}
TRACE_FIELD_TYPES: dict[str, str] = {
    "trace_id": STRING,
    "root_span_id": STRING,
    "test_case_uids": STRINGS,
    "total_tokens": INTEGER,
    "total_duration_ms": NUMBER,
    "total_cost_usd": NUMBER,
}
SPAN_FIELD_TYPES: dict[str, str] = {
    "span_id": STRING,
    "parent_span_id": STRING,
    "name": STRING,
    "kind": STRING,
    "status": OBJECT,
}
METRIC_ROW_TYPES: dict[str, str] = {
    "gpu_id": STRING,
    "gpu_name": STRING,
    **dict.fromkeys(GPU_METRIC_COLUMNS.values(), NUMBER),
}


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
    # Tells apart runs that share a run_id (the folder name of a local run); "" when unique.
    alias: str = ""

    @property
    def label(self) -> str:
        """Short human name used in dropdowns: model, agent type and (the start of) the run id."""
        run_id = str(self.row.get("run_id"))
        short = run_id if len(run_id) <= 28 else run_id[:8]
        alias = f" · {self.alias}" if self.alias else ""
        tag = " (sample)" if self.origin == "sample" else ""
        return f"{self.row.get('model')} · {self.row.get('agent_type')} · {short}{alias}{tag}"


@dataclass
class Catalog:
    """All runs found, plus one message per place that was looked at and per problem met."""

    runs: list[Run] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # What to do next when nothing was found; not a problem, and moot once any run is shown.
    hints: list[str] = field(default_factory=list)

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


def has_type(value: Any, expected: str) -> bool:
    """Whether a non-null JSON value is of a documented type (a bool is not a number)."""
    if isinstance(value, bool):
        return expected == BOOLEAN
    if expected == INTEGER:
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if expected == NUMBER:
        return isinstance(value, (int, float))
    if expected == STRINGS:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    kinds: dict[str, type] = {STRING: str, OBJECT: dict, LIST: list}
    return expected in kinds and isinstance(value, kinds[expected])


def describe_value(value: Any) -> str:
    """A wrong value as a problem message quotes it: its JSON kind and (the start of) its text."""
    kind = {
        bool: "true/false",
        str: "text",
        int: "the number",
        float: "the number",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
    shown = json.dumps(value, default=str)
    return f"{kind} {shown if len(shown) <= 40 else shown[:37] + '...'}"


def check_fields(
    record: Mapping[str, Any],
    types: Mapping[str, str],
    required: Iterable[str],
    where: str,
    what: str,
) -> None:
    """Required fields must be present and non-null, every typed field null or of its type.

    The message names `where` (the file) and each offending field, so one bad file is one clear
    problem line instead of a failure later, far from its cause (e.g. sorting text among numbers).
    """
    missing = [name for name in required if record.get(name) is None]
    if missing:
        raise DataError(f"{where}: {what} lacks {', '.join(missing)}")
    wrong = [
        f"field {name!r} must be {expected}, got {describe_value(record[name])}"
        for name, expected in types.items()
        if record.get(name) is not None and not has_type(record[name], expected)
    ]
    if wrong:
        raise DataError(f"{where}: {what}: {'; '.join(wrong)}")


def check_row(row: Any, where: str) -> dict[str, Any]:
    """A leaderboard row must be an object whose shown, sorted and joined fields are well typed."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: a leaderboard row must be a JSON object")
    check_fields(row, ROW_FIELD_TYPES, REQUIRED_ROW_FIELDS, where, "leaderboard row")
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

    return Run(
        key=str(row["run_id"]),
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
    found: list[tuple[Run, Path]] = []
    for folder in candidate_folders(results_dir):
        if not (folder / "metadata.json").is_file():
            catalog.problems.append(
                f"{folder}: incomplete run (no metadata.json; the run was interrupted or is "
                "still going)."
            )
            continue
        row_file = folder / "leaderboard_row.json"
        try:
            metadata = read_json(folder / "metadata.json")
            if not isinstance(metadata, dict) or not metadata.get("run_id"):
                raise DataError(f"{folder / 'metadata.json'}: no run_id")
            row = check_row(read_json(row_file), str(row_file))
            run = run_from_row(row, "local", folder)
        except DataError as exc:
            catalog.problems.append(str(exc))
            continue
        except Exception as exc:  # one unreadable folder must not hide the others
            logger.exception("Cannot read run folder %s", folder)
            catalog.problems.append(f"{folder}: cannot be read ({type(exc).__name__}: {exc})")
            continue
        found.append((run, folder))
    catalog.problems.extend(tell_apart_shared_run_ids(found))
    catalog.runs.extend(run for run, _ in found)
    catalog.sources.append(f"{len(catalog.runs)} run(s) in {results_dir}")
    if not catalog.runs and not catalog.problems:
        catalog.hints.append(
            f"No runs in {results_dir}. Run `smoltrace-eval --output-format json "
            f"--output-dir {results_dir} ...` first, or press Load Sample Data."
        )
    return catalog


def tell_apart_shared_run_ids(found: list[tuple[Run, Path]]) -> list[str]:
    """Local run folders that share a run_id (e.g. `--run-id nightly` twice) all stay listed.

    Each gets its folder name in its key and label, so every one can be opened; the returned
    problem lines say so, since the Hub leaderboard, keyed by run_id, would keep only one of them.
    """
    by_id: dict[str, list[tuple[Run, Path]]] = defaultdict(list)
    for run, folder in found:
        by_id[run.key].append((run, folder))
    problems = []
    for run_id, group in by_id.items():
        if len(group) < 2:
            continue
        for run, folder in group:
            run.alias = folder.name
            run.key = f"{run_id} [{folder.name}]"
        problems.append(
            f"{len(group)} run folders share run_id {run_id!r} "
            f"({', '.join(folder.name for _, folder in group)}); each is listed with its folder "
            "name, but on the Hub leaderboard the last one pushed would replace the others."
        )
    return problems


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
            path = SAMPLE_DIR / f"leaderboard_{name}.json"
            row = check_row(read_json(path), str(path))
        except DataError as exc:
            catalog.problems.append(str(exc))
            continue
        run = run_from_row(row, "sample", None)
        run.results = Source("file", str(SAMPLE_DIR / f"results_{name}.json"))
        run.traces = Source("file", str(SAMPLE_DIR / f"traces_{name}.json"))
        run.metrics = Source("file", str(SAMPLE_DIR / f"metrics_{name}.json"))
        catalog.runs.append(run)
    catalog.sources.append(f"{len(catalog.runs)} sample run(s) loaded by Load Sample Data")
    return catalog


def merge(catalogs: Iterable[Catalog]) -> Catalog:
    """Join catalogs, keeping every run under a key of its own.

    Only a Hub leaderboard row whose run_id is also a local run folder's is dropped: it is that
    local run, pushed. Any other clash of keys (a sample or Hub run named like a local one) gets
    the run's origin added to its key, so each stays reachable.
    """
    merged = Catalog()
    local_ids: set[str] = set()
    keys: set[str] = set()
    for catalog in catalogs:
        merged.sources.extend(catalog.sources)
        merged.problems.extend(catalog.problems)
        merged.hints.extend(catalog.hints)
        for run in catalog.runs:
            run_id = str(run.row.get("run_id"))
            if run.origin == "hub" and run_id in local_ids:
                logger.debug("Hub row of run %s is the local run of that id", run_id)
                continue
            if run.origin == "local":
                local_ids.add(run_id)
            if run.key in keys:
                key, number = f"{run.key} ({run.origin})", 2
                while key in keys:
                    key, number = f"{run.key} ({run.origin} {number})", number + 1
                run = replace(run, key=key)
            keys.add(run.key)
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
    check_fields(span, SPAN_FIELD_TYPES, required, where, "span")
    status = span.get("status") or {}
    check_fields(status, {"code": STRING, "description": STRING}, (), where, "span status")
    attributes = from_json_text(span.get("attributes"), dict, "attributes", where)
    return {
        **span,
        "start_time": nanos(span["start_time"], "start_time", where),
        "end_time": nanos(span["end_time"], "end_time", where),
        "attributes": {k: v for k, v in attributes.items() if v is not None},
        "events": from_json_text(span.get("events"), list, "events", where),
        "resource": from_json_text(span.get("resource"), dict, "resource", where),
        "status": span.get("status") or {"code": "UNSET", "description": None},
    }


def as_nanos(value: Any) -> int | None:
    """A time in ns: an integer, or integer text as OTLP JSON writes int64 values; else None."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return int(value) if has_type(value, INTEGER) else None


def nanos(value: Any, name: str, where: str) -> int:
    """A span time in ns, or a DataError naming the field."""
    stamp = as_nanos(value)
    if stamp is None:
        raise DataError(
            f"{where}: span: field {name!r} must be {INTEGER} (ns since the epoch), "
            f"got {describe_value(value)}"
        )
    return stamp


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
        """The run of a key shown by `view` (keys of samples may be made unique by the merge)."""
        return self.view(with_samples=True).get(key)

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
        try:
            value = parse(raw, source.describe())
        except DataError:
            raise
        except Exception as exc:  # a case the checks missed: still a message naming the file
            logger.exception("Cannot parse %s", source.describe())
            raise DataError(
                f"{source.describe()}: unexpected content ({type(exc).__name__}: {exc})"
            ) from exc
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
        check_fields(row, RESULT_FIELD_TYPES, REQUIRED_RESULT_FIELDS, where, f"row {index}")
    return sorted(raw, key=lambda row: row.get("test_index") or 0)


def parse_traces(raw: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise DataError(f"{where}: expected a list of trace documents")
    traces = []
    for index, trace in enumerate(raw):
        if not isinstance(trace, dict) or not isinstance(trace.get("spans"), list):
            raise DataError(f"{where}: trace {index} has no spans list")
        check_fields(trace, TRACE_FIELD_TYPES, (), where, f"trace {index}")
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
    for index, row in enumerate(raw):
        if not isinstance(row, dict) or row.get("timestamp_unix_nano") is None:
            raise DataError(f"{where}: a metrics row lacks timestamp_unix_nano")
        check_fields(row, METRIC_ROW_TYPES, (), where, f"metrics row {index}")
        stamp = as_nanos(row["timestamp_unix_nano"])
        if stamp is None:
            raise DataError(
                f"{where}: metrics row {index}: field 'timestamp_unix_nano' must be "
                f"ns since the epoch, got {describe_value(row['timestamp_unix_nano'])}"
            )
        kept = {name: row.get(name) for name in METRIC_ROW_COLUMNS}
        rows.append({**kept, "timestamp_unix_nano": str(stamp)})
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
