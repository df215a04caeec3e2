"""Publishing run folders to a local Hub, loaded back with `datasets.load_dataset` value by value."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fakes.hub_server import FakeHub
from hubtest import (
    OTHER_TOKEN,
    TOKEN,
    gpu_metric_data,
    hub_server,
    load,
    load_hub,
    make_run_folder,
)

from smoltrace.errors import ConfigError, PublishError
from smoltrace.outputs import hub as hub_mod
from smoltrace.outputs.hub import publish_run_folder, push_results_to_hf, update_leaderboard
from smoltrace.outputs.leaderboard import LEADERBOARD_COLUMNS
from smoltrace.outputs.results import RESULTS_COLUMNS
from smoltrace.telemetry import METRICS_COLUMNS, flatten_metrics_for_hf

TS = "20250101_120000"
RESULTS = f"testuser/smoltrace-results-{TS}"
TRACES = f"testuser/smoltrace-traces-{TS}"
METRICS = f"testuser/smoltrace-metrics-{TS}"
BOARD = "testuser/smoltrace-leaderboard"


@pytest.fixture()
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    yield from hub_server(tmp_path, monkeypatch)


def folder_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def readme(hub: Any, repo_id: str) -> str:
    return hub.files(repo_id)["README.md"].decode("utf-8")


def card_block(hub: Any, repo_id: str) -> dict[str, Any]:
    from huggingface_hub import DatasetCard

    return DatasetCard(readme(hub, repo_id)).data.to_dict()["smoltrace"]


def span_objects(span: dict[str, Any]) -> dict[str, Any]:
    """A span loaded from the Hub with its JSON-text fields parsed back."""
    return {**span, **{key: json.loads(span[key]) for key in ("attributes", "events", "resource")}}


def test_untraced_run_round_trips_with_exactly_the_documented_columns(
    hub: Any, tmp_path: Path
) -> None:
    folder = make_run_folder(tmp_path / "out")
    before = folder_digest(folder)

    pushed = publish_run_folder(folder, TOKEN)

    assert pushed == {"results": RESULTS, "metrics": METRICS, "leaderboard": BOARD}
    assert hub.repo_ids() == sorted(pushed.values())  # no traces dataset for an untraced run
    assert all(hub.repo_private(repo) for repo in pushed.values())
    results = load_hub(RESULTS, tmp_path)
    assert results.column_names == list(RESULTS_COLUMNS)
    assert results.to_list() == load(folder, "results.json")
    assert results.features["cost_usd"].dtype == "float64"
    assert results.features["trace_id"].dtype == "string"  # all null, still typed
    metrics = load_hub(METRICS, tmp_path)
    assert metrics.column_names == list(METRICS_COLUMNS)
    finished = load(folder, "metadata.json")["finished_at"]
    (no_gpu,) = metrics.to_list()  # one run-wide row, every metric null: not measured, not 0
    assert no_gpu == {
        **dict.fromkeys(METRICS_COLUMNS),
        "run_id": load(folder, "metadata.json")["run_id"],
        "timestamp": datetime.fromisoformat(finished).isoformat(),
        "timestamp_unix_nano": str(
            round(datetime.fromisoformat(finished).timestamp() * 1e6) * 1000
        ),
    }
    board = load_hub(BOARD, tmp_path)
    assert board.to_list() == [load(folder, "leaderboard_row.json")]
    assert board.column_names == list(LEADERBOARD_COLUMNS)
    assert folder_digest(folder) == before  # publishing only reads the folder

    run_id = load(folder, "metadata.json")["run_id"]
    summaries = {repo: [c["summary"] for c in hub.commits(repo)] for repo in pushed.values()}
    assert summaries[RESULTS][-1] == f"Eval results for oracle (run_id: {run_id})"
    assert summaries[METRICS][-1] == f"No GPU metrics for oracle (run_id: {run_id})"
    assert summaries[BOARD][-1] == f"Update: oracle both (run_id: {run_id})"
    assert all(len(s) == 2 for s in summaries.values())  # repo creation + one commit with the card
    block = card_block(hub, RESULTS)
    assert block["otel_enabled"] is False and block["run_id"] == run_id
    assert block["datasets"] == {
        "results": RESULTS,
        "traces": None,
        "metrics": METRICS,
        "leaderboard": BOARD,
    }
    card = readme(hub, RESULTS)
    assert all(f"| `{column}` |" in card for column in RESULTS_COLUMNS)
    assert f'load_dataset("{RESULTS}", split="train")' in card
    assert "15 rows, 15 successful" in card
    assert "no GPU metrics" in readme(hub, METRICS)


def test_traced_run_with_gpu_metrics_round_trips_value_by_value(
    hub: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    folder = make_run_folder(tmp_path / "out", enable_otel=True, metric_data=gpu_metric_data())

    pushed = publish_run_folder(folder, TOKEN)

    assert pushed["traces"] == TRACES
    assert load_hub(RESULTS, tmp_path).to_list() == load(folder, "results.json")
    local_traces = load(folder, "traces.json")
    hub_traces = load_hub(TRACES, tmp_path).to_list()
    assert len(hub_traces) == len(local_traces) > 0
    for got, want in zip(hub_traces, local_traces, strict=True):
        assert [span_objects(s) for s in got["spans"]] == want["spans"]
        assert {k: v for k, v in got.items() if k != "spans"} == {
            k: v for k, v in want.items() if k != "spans"
        }
    expected_metrics = flatten_metrics_for_hf(load(folder, "metrics.json"))
    hub_metrics = load_hub(METRICS, tmp_path).to_list()
    assert hub_metrics == expected_metrics and len(hub_metrics) == 5
    assert (
        hub_metrics[-1]["gpu_id"] is None and hub_metrics[-1]["co2_emissions_gco2e"] == 0.123456789
    )
    board = load_hub(BOARD, tmp_path).to_list()
    assert board == [load(folder, "leaderboard_row.json")]
    assert board[0]["gpu_utilization_max"] == 71.25 and board[0]["traces_dataset"] == TRACES
    assert card_block(hub, RESULTS)["otel_enabled"] is True
    assert 'json.loads(span["attributes"])' in readme(hub, TRACES)

    written = b"".join(p.read_bytes() for p in folder.iterdir())
    cards = "".join(readme(hub, repo) for repo in pushed.values())
    for haystack in (written, hub.all_bytes_received(), cards.encode(), caplog.text.encode()):
        assert TOKEN.encode() not in haystack


def test_public_run_and_a_local_json_folder_get_hub_names_from_the_token(
    hub: Any, tmp_path: Path
) -> None:
    folder = make_run_folder(tmp_path / "out", user=None)  # saved as local JSON
    assert load(folder, "metadata.json")["hub"] is None

    pushed = publish_run_folder(folder, TOKEN, private=False)

    assert pushed == {"results": RESULTS, "metrics": METRICS, "leaderboard": BOARD}
    assert not any(hub.repo_private(repo) for repo in pushed.values())
    row = load_hub(BOARD, tmp_path).to_list()[0]
    local_row = load(folder, "leaderboard_row.json")
    assert local_row["results_dataset"].startswith("local:")  # the folder is not rewritten
    assert row == {
        **local_row,
        "results_dataset": RESULTS,
        "traces_dataset": None,
        "metrics_dataset": METRICS,
        "submitted_by": "testuser",
    }


def test_leaderboard_appends_keeps_older_rows_and_replaces_a_retried_run(
    hub: Any, tmp_path: Path
) -> None:
    first = make_run_folder(tmp_path / "a", timestamp="20250101_100000")
    second = make_run_folder(tmp_path / "b", timestamp="20250102_100000")
    newer = make_run_folder(
        tmp_path / "c", timestamp="20250103_100000", extra_columns={"pass_at_3": 0.75}
    )
    for folder in (first, second, newer):
        publish_run_folder(folder, TOKEN)
    publish_run_folder(newer, TOKEN)  # a retry must not add a second row

    board = load_hub(BOARD, tmp_path)
    rows = board.to_list()
    assert [r["run_id"] for r in rows] == [
        load(f, "metadata.json")["run_id"] for f in (first, second, newer)
    ]
    assert board.column_names == [*LEADERBOARD_COLUMNS, "pass_at_3"]
    assert board.features["pass_at_3"].dtype == "float64"
    assert rows[0] == {**load(first, "leaderboard_row.json"), "pass_at_3": None}
    assert rows[1] == {**load(second, "leaderboard_row.json"), "pass_at_3": None}
    assert rows[2] == load(newer, "leaderboard_row.json")
    assert "| `pass_at_3` | float64 |" in readme(hub, BOARD)
    assert "3 runs" in readme(hub, BOARD)


def test_runs_started_in_the_same_second_get_datasets_of_their_own(
    hub: Any, tmp_path: Path
) -> None:
    first = make_run_folder(tmp_path / "a", timestamp=TS)
    second = make_run_folder(tmp_path / "b", timestamp=TS)  # same names planned for both
    assert load(first, "metadata.json")["hub"] == load(second, "metadata.json")["hub"]

    assert publish_run_folder(first, TOKEN)["results"] == RESULTS
    pushed = publish_run_folder(second, TOKEN)
    assert pushed == {
        "results": f"{RESULTS}_2",
        "metrics": f"{METRICS}_2",
        "leaderboard": BOARD,
    }
    assert publish_run_folder(second, TOKEN) == pushed  # a retry finds its own datasets again

    for folder, results_repo in ((first, RESULTS), (second, f"{RESULTS}_2")):
        run_id = load(folder, "metadata.json")["run_id"]
        assert {r["run_id"] for r in load_hub(results_repo, tmp_path)} == {run_id}
        assert card_block(hub, results_repo)["run_id"] == run_id
    rows = load_hub(BOARD, tmp_path).to_list()
    assert [(r["run_id"], r["results_dataset"], r["metrics_dataset"]) for r in rows] == [
        (load(first, "metadata.json")["run_id"], RESULTS, METRICS),
        (load(second, "metadata.json")["run_id"], f"{RESULTS}_2", f"{METRICS}_2"),
    ]


def test_leaderboard_keeps_columns_of_an_older_smoltrace(hub: Any, tmp_path: Path) -> None:
    legacy = {
        "run_id": "old-run",
        "model": "gpt-4",
        "evaluation_date": "2025-10-01",
        "num_tests": 5,
    }
    update_leaderboard(BOARD, legacy, TOKEN)  # a leaderboard written by another version
    folder = make_run_folder(tmp_path / "out")
    publish_run_folder(folder, TOKEN)

    board = load_hub(BOARD, tmp_path)
    new_columns = [c for c in LEADERBOARD_COLUMNS if c not in legacy]
    assert board.column_names == [*legacy, *new_columns]
    old, new = board.to_list()
    assert old == {**legacy, **dict.fromkeys(new_columns)}
    assert new == {
        **load(folder, "leaderboard_row.json"),
        "evaluation_date": None,
        "num_tests": None,
    }


def test_leaderboard_update_racing_another_run_keeps_both_rows(
    hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = hub_mod._read_leaderboard
    calls = []

    def read_then_someone_else_commits(*args: Any) -> Any:
        state = read(*args)
        calls.append(1)
        if len(calls) == 1:  # between our read and our commit, another run adds its row
            update_leaderboard(BOARD, {"run_id": "other", "model": "b"}, TOKEN)
        return state

    update_leaderboard(BOARD, {"run_id": "first", "model": "a"}, TOKEN)
    monkeypatch.setattr(hub_mod, "_read_leaderboard", read_then_someone_else_commits)
    update_leaderboard(BOARD, {"run_id": "mine", "model": "c"}, TOKEN)

    assert [r for r in hub.requests if r[0] == "POST" and "/commit/" in r[1] and r[2] == 412]
    monkeypatch.undo()
    _, rows = hub_mod._read_leaderboard(TOKEN, BOARD, "main")
    assert [r["run_id"] for r in rows] == ["first", "other", "mine"]


def test_401_on_commit_keeps_the_folder_and_the_retry_completes(hub: Any, tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path / "out", enable_otel=True)
    before = folder_digest(folder)
    hub.fail("POST", r"smoltrace-traces-.*/commit/", 401)

    with pytest.raises(PublishError) as failure:
        publish_run_folder(folder, TOKEN)

    message = str(failure.value)
    assert f"traces dataset {TRACES}" in message and "HTTP 401" in message
    assert f"Uploaded before the failure: results ({RESULTS})" in message
    assert f"complete run is in {folder}" in message
    assert message.endswith(f"Retry the upload with: smoltrace-eval --push-only {folder}")
    assert TOKEN not in message
    assert folder_digest(folder) == before
    assert BOARD not in hub.repo_ids()

    assert publish_run_folder(folder, TOKEN)["leaderboard"] == BOARD
    assert load_hub(RESULTS, tmp_path).to_list() == load(folder, "results.json")
    assert len(load_hub(TRACES, tmp_path)) == len(load(folder, "traces.json"))
    assert len(load_hub(BOARD, tmp_path)) == 1


@pytest.fixture()
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub retries 5xx answers with 1-8 s sleeps; tests need not wait for them."""
    import time

    from huggingface_hub.utils import _http

    monkeypatch.setattr(_http, "time", SimpleNamespace(sleep=lambda _: None, time=time.time))


@pytest.mark.usefixtures("no_backoff_sleep")
def test_500_on_lfs_upload_fails_after_the_client_retries_then_succeeds(
    hub: Any, tmp_path: Path
) -> None:
    folder = make_run_folder(tmp_path / "out")
    hub.fail("PUT", r"/lfs-upload/datasets/testuser/smoltrace-metrics-", 500, times=6)

    with pytest.raises(PublishError) as failure:
        publish_run_folder(folder, TOKEN, private=False)

    assert f"metrics dataset {METRICS}: HTTP 500" in str(failure.value)
    assert str(failure.value).endswith(f"smoltrace-eval --push-only {folder} --public")
    puts = [r for r in hub.requests if r[0] == "PUT" and "smoltrace-metrics-" in r[1]]
    assert [status for *_, status in puts] == [500] * 6

    publish_run_folder(folder, TOKEN, private=False)
    assert load_hub(METRICS, tmp_path)[0]["gpu_utilization_percent"] is None
    assert load_hub(BOARD, tmp_path).to_list() == [load(folder, "leaderboard_row.json")]


@pytest.mark.usefixtures("no_backoff_sleep")
def test_a_single_5xx_is_retried_by_the_client(hub: Any, tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path / "out")
    hub.fail("PUT", r"/lfs-upload/datasets/testuser/smoltrace-results-", 503)
    assert publish_run_folder(folder, TOKEN)["results"] == RESULTS
    assert load_hub(RESULTS, tmp_path).to_list() == load(folder, "results.json")


def test_403_for_another_users_namespace_and_an_unreachable_hub(hub: Any, tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path / "out")
    with pytest.raises(PublishError, match=r"results dataset testuser/.*HTTP 403"):
        publish_run_folder(folder, OTHER_TOKEN)
    assert hub.repo_ids() == []
    hub.stop()
    with pytest.raises(PublishError, match="ConnectError") as failure:
        publish_run_folder(folder, TOKEN)
    assert "cannot check the Hub for free dataset names" in str(failure.value)
    assert f"Nothing is lost: the complete run is in {folder}" in str(failure.value)
    assert f"smoltrace-eval --push-only {folder}" in str(failure.value)
    hub.start()  # the fixture stops it again


def test_incomplete_or_malformed_folders_are_config_errors(hub: Any, tmp_path: Path) -> None:
    folder = make_run_folder(tmp_path / "out")
    (folder / "metadata.json").unlink()
    with pytest.raises(ConfigError, match=r"metadata\.json is missing"):
        publish_run_folder(folder, TOKEN)
    other = make_run_folder(tmp_path / "other", timestamp="20250102_000000")
    rows = load(other, "results.json")
    rows[0]["steps"] = 2.5  # would be silently truncated to 2 by an int64 column
    (other / "results.json").write_text(json.dumps(rows))
    with pytest.raises(PublishError, match=r"results\[0\]\.steps should be int"):
        publish_run_folder(other, TOKEN)
    assert hub.repo_ids() == []  # checked before any upload


def test_seed_api_push_results_to_hf(hub: Any, tmp_path: Path) -> None:
    from hubtest import mock_evaluation

    from smoltrace.outputs.results import flatten_results_for_hf

    all_results, traces, metrics, dataset_used, run_id = mock_evaluation(True, "seed-run")
    push_results_to_hf(
        all_results, traces, metrics, RESULTS, TRACES, METRICS, "oracle", TOKEN, run_id=run_id,
        dataset_used=dataset_used,
    )  # fmt: skip
    assert hub.repo_ids() == [METRICS, RESULTS, TRACES]
    assert all(hub.repo_private(r) for r in hub.repo_ids())
    assert load_hub(RESULTS, tmp_path).to_list() == flatten_results_for_hf(all_results, "oracle")
    assert len(load_hub(TRACES, tmp_path)) == len(traces)
    block = card_block(hub, RESULTS)
    assert block["run_id"] == "seed-run" and block["otel_enabled"] is True
