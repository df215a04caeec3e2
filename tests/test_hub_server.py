"""The fake Hub against the real ``huggingface_hub`` and ``datasets`` clients, fully offline.

The clients freeze ``HF_ENDPOINT`` at import, so this module picks the hub's port and exports the
environment before importing them; ``point_clients_at`` re-points them anyway in case another test
module imported them first with other settings.
"""
# ruff: noqa: E402  (the clients must be imported after the environment is set)

import os
import shutil
import tempfile
import uuid

from fakes.hub_server import FakeHub, free_port, hub_env, point_clients_at

TOKEN = "hf_test_token_123456"
OTHER_TOKEN = "hf_other_token_654321"
_HUB = FakeHub(tokens={TOKEN: "testuser", OTHER_TOKEN: "otheruser"}, port=free_port())
# Created by the clients on first use and removed at teardown: nothing is left if tests are skipped.
_HF_HOME = os.path.join(tempfile.gettempdir(), f"fake-hub-hf-home-{uuid.uuid4().hex}")
_CLIENT_ENV = {
    "HF_ENDPOINT": _HUB.url,
    "HF_HUB_DISABLE_XET": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_UPDATE_DOWNLOAD_COUNTS": "0",
    "HF_HOME": _HF_HOME,
    "HF_DATASETS_CACHE": os.path.join(_HF_HOME, "datasets"),
}
_SAVED_ENV = {name: os.environ.get(name) for name in _CLIENT_ENV}
os.environ.update(_CLIENT_ENV)

import base64
import hashlib
import http.client
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import datasets
import pytest
from datasets.exceptions import DatasetNotFoundError
from huggingface_hub import HfApi, RepoFile, RepoFolder, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
)
from huggingface_hub.utils import _http as hf_http

ROWS_V1 = [
    {
        "task_id": "t1",
        "success": True,
        "score": 0.1,
        "tokens": 12,
        "answer": None,
        "tools": ["search", "calc"],
        "meta": {"model": "m", "temperature": 0.5, "seed": None},
        "steps": [{"name": "search", "args": {"query": "weather in Paris"}}],
    },
    {
        "task_id": "t2",
        "success": False,
        "score": -2.5e-7,
        "tokens": 0,
        "answer": "42",
        "tools": [],
        "meta": {"model": "m2", "temperature": 1.0, "seed": 7},
        "steps": [],
    },
]
# Same schema as v1: datasets keeps a split's README features when the split is pushed again.
ROWS_V2 = [
    {
        "task_id": "t9",
        "success": True,
        "score": 1.5,
        "tokens": 3,
        "answer": "yes",
        "tools": ["final_answer"],
        "meta": {"model": "m3", "temperature": 0.0, "seed": 1},
        "steps": [{"name": "final_answer", "args": {"query": ""}}],
    }
]


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    _HUB.start()
    point_clients_at(_HUB)
    yield _HUB
    _HUB.stop()
    for name, value in _SAVED_ENV.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(_HF_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def _every_route_is_implemented(hub: FakeHub) -> Iterator[None]:
    yield
    assert hub.unhandled == []


@pytest.fixture
def api(hub: FakeHub) -> HfApi:
    return HfApi(endpoint=hub.url, token=TOKEN)


def assert_same_values(actual: Any, expected: Any, where: str = "row") -> None:
    """Equal value by value *and* type by type (``1 == 1.0 == True`` would hide a lossy trip)."""
    assert type(actual) is type(expected), f"{where}: {actual!r} is not {expected!r}"
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for key in expected:
            assert_same_values(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for i, (got, want) in enumerate(zip(actual, expected, strict=True)):
            assert_same_values(got, want, f"{where}[{i}]")
    else:
        assert actual == expected, where


def load_rows(repo_id: str, **kwargs: Any) -> list[dict]:
    return datasets.load_dataset(repo_id, split="train", token=TOKEN, **kwargs).to_list()


def raw_request(
    hub: FakeHub, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """One request with http.client, for protocol details the clients do not expose."""
    conn = http.client.HTTPConnection(urlsplit(hub.url).netloc, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_whoami_accepts_known_token_and_rejects_bad_one(hub: FakeHub) -> None:
    assert HfApi(endpoint=hub.url).whoami(token=TOKEN)["name"] == "testuser"
    assert HfApi(endpoint=hub.url).whoami(token=OTHER_TOKEN)["name"] == "otheruser"
    with pytest.raises(HfHubHTTPError, match="Invalid user token") as excinfo:
        HfApi(endpoint=hub.url).whoami(token="hf_not_a_real_token")
    assert excinfo.value.response.status_code == 401


def test_create_repo_exist_ok_conflict_and_delete(hub: FakeHub, api: HfApi) -> None:
    repo_id = "testuser/create-delete"
    url = api.create_repo(repo_id, repo_type="dataset", private=True)
    assert url.repo_id == repo_id
    assert repo_id in hub.repo_ids() and hub.repo_private(repo_id)
    assert api.create_repo(repo_id, repo_type="dataset", exist_ok=True).repo_id == repo_id
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_repo(repo_id, repo_type="dataset")
    assert excinfo.value.response.status_code == 409
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_repo("otheruser/not-mine", repo_type="dataset")
    assert excinfo.value.response.status_code == 403

    api.delete_repo(repo_id, repo_type="dataset")
    assert repo_id not in hub.repo_ids()
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo(repo_id, repo_type="dataset")
    api.delete_repo(repo_id, repo_type="dataset", missing_ok=True)


def test_push_to_hub_and_load_dataset_round_trip_with_revisions(hub: FakeHub, api: HfApi) -> None:
    repo_id = "testuser/round-trip"
    first = datasets.Dataset.from_list(ROWS_V1).push_to_hub(repo_id, private=True, token=TOKEN)
    assert hub.repo_private(repo_id)
    parquet = "data/train-00000-of-00001.parquet"
    assert {".gitattributes", "README.md", parquet} <= set(hub.files(repo_id))
    assert hub.files(repo_id)[parquet].startswith(b"PAR1")
    assert any(m == "PUT" and "/lfs-upload/" in p and s == 200 for m, p, s in hub.requests)
    tree = {e.path: e for e in api.list_repo_tree(repo_id, "data", repo_type="dataset")}
    assert tree[parquet].lfs is not None  # parquet went through LFS, as on the Hub
    siblings = {s.rfilename: s for s in api.dataset_info(repo_id, files_metadata=True).siblings}
    assert siblings[parquet].lfs.sha256 == hashlib.sha256(hub.files(repo_id)[parquet]).hexdigest()
    assert siblings["README.md"].lfs is None

    assert_same_values(load_rows(repo_id), ROWS_V1)

    second = datasets.Dataset.from_list(ROWS_V2).push_to_hub(repo_id, token=TOKEN)
    assert [c["oid"] for c in hub.commits(repo_id)][-2:] == [first.oid, second.oid]
    assert_same_values(load_rows(repo_id), ROWS_V2)
    assert_same_values(load_rows(repo_id, revision=first.oid), ROWS_V1)
    assert api.dataset_info(repo_id, revision=first.oid).sha == first.oid


def test_upload_file_list_repo_files_and_list_datasets(hub: FakeHub, api: HfApi) -> None:
    repo_id = "testuser/readme-only"
    api.create_repo(repo_id, repo_type="dataset")
    readme = b"---\nlicense: mit\n---\n# Results\n"
    api.upload_file(
        path_or_fileobj=readme, path_in_repo="README.md", repo_id=repo_id, repo_type="dataset"
    )
    api.upload_file(
        path_or_fileobj=b'{"a": 1}\n',
        path_in_repo="runs/r1/results.json",
        repo_id=repo_id,
        repo_type="dataset",
    )

    files = api.list_repo_files(repo_id, repo_type="dataset")
    assert sorted(files) == [".gitattributes", "README.md", "runs/r1/results.json"]
    assert hub.files(repo_id)["README.md"] == readme
    listed = [d.id for d in api.list_datasets(author="testuser")]
    assert repo_id in listed and all(i.startswith("testuser/") for i in listed)

    downloaded = hf_hub_download(repo_id, "README.md", repo_type="dataset", token=TOKEN)
    assert Path(downloaded).read_bytes() == readme
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "missing.txt", repo_type="dataset", token=TOKEN)


def test_tree_and_paths_info(hub: FakeHub, api: HfApi) -> None:
    repo_id = "testuser/tree"
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"x", path_in_repo="a/b/c.txt", repo_id=repo_id, repo_type="dataset"
    )

    top = {e.path: type(e) for e in api.list_repo_tree(repo_id, repo_type="dataset")}
    assert top == {".gitattributes": RepoFile, "a": RepoFolder}
    deep = {e.path for e in api.list_repo_tree(repo_id, repo_type="dataset", recursive=True)}
    assert deep == {".gitattributes", "a", "a/b", "a/b/c.txt"}
    assert [e.path for e in api.list_repo_tree(repo_id, "a/b", repo_type="dataset")] == [
        "a/b/c.txt"
    ]
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(repo_id, "nope", repo_type="dataset"))

    infos = api.get_paths_info(repo_id, ["a", "a/b/c.txt", "missing"], repo_type="dataset")
    assert {(e.path, type(e)) for e in infos} == {("a", RepoFolder), ("a/b/c.txt", RepoFile)}


def test_commit_deletes_and_rejects_stale_parent(hub: FakeHub, api: HfApi) -> None:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    repo_id = "testuser/commits"
    api.create_repo(repo_id, repo_type="dataset")
    parent = api.dataset_info(repo_id).sha
    api.create_commit(
        repo_id,
        [CommitOperationAdd(f"d/{n}.txt", n.encode()) for n in ("x", "y")],
        commit_message="add two",
        repo_type="dataset",
        parent_commit=parent,
    )
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.create_commit(
            repo_id,
            [CommitOperationAdd("z.txt", b"z")],
            commit_message="stale",
            repo_type="dataset",
            parent_commit=parent,
        )
    assert excinfo.value.response.status_code == 412
    api.create_commit(
        repo_id,
        [CommitOperationDelete("d/x.txt")],
        commit_message="drop x",
        repo_type="dataset",
    )
    assert set(hub.files(repo_id)) == {".gitattributes", "d/y.txt"}
    api.create_commit(
        repo_id, [CommitOperationDelete("d/")], commit_message="drop d", repo_type="dataset"
    )
    assert set(hub.files(repo_id)) == {".gitattributes"}
    with pytest.raises(EntryNotFoundError):
        api.create_commit(
            repo_id, [CommitOperationDelete("d/y.txt")], commit_message="gone", repo_type="dataset"
        )
    summaries = [c["summary"] for c in hub.commits(repo_id)]
    assert summaries == ["initial commit", "add two", "drop x", "drop d"]
    assert set(hub.files(repo_id, revision=hub.commits(repo_id)[1]["oid"])) == {
        ".gitattributes",
        "d/x.txt",
        "d/y.txt",
    }


def test_private_repo_is_invisible_to_others_and_to_anonymous(hub: FakeHub, api: HfApi) -> None:
    repo_id = "testuser/secret"
    api.create_repo(repo_id, repo_type="dataset", private=True)
    api.upload_file(
        path_or_fileobj=b"s", path_in_repo="s.txt", repo_id=repo_id, repo_type="dataset"
    )
    public_id = "testuser/open"
    api.create_repo(public_id, repo_type="dataset")
    other = HfApi(endpoint=hub.url, token=OTHER_TOKEN)
    anonymous = HfApi(endpoint=hub.url, token=False)

    with pytest.raises(RepositoryNotFoundError) as excinfo:
        other.dataset_info(repo_id)
    assert excinfo.value.response.status_code == 404
    with pytest.raises(RepositoryNotFoundError) as excinfo:
        anonymous.dataset_info(repo_id)
    assert excinfo.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(repo_id, "s.txt", repo_type="dataset", token=OTHER_TOKEN)
    with pytest.raises(DatasetNotFoundError):
        datasets.load_dataset(repo_id, token=OTHER_TOKEN)

    seen_by_other = {d.id for d in other.list_datasets(author="testuser")}
    assert public_id in seen_by_other and repo_id not in seen_by_other
    assert repo_id in {d.id for d in api.list_datasets(author="testuser")}
    with pytest.raises(HfHubHTTPError) as excinfo:
        other.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=public_id, repo_type="dataset"
        )
    assert excinfo.value.response.status_code == 403


def test_injected_failures_surface_and_a_retry_succeeds(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # huggingface_hub backs off 1+2+4+8+8 s between its 5 retries of a 5xx; don't wait for real.
    monkeypatch.setattr(hf_http.time, "sleep", lambda seconds: None)
    repo_id = "testuser/flaky"
    dataset = datasets.Dataset.from_list(ROWS_V1)
    dataset.push_to_hub(repo_id, private=True, token=TOKEN)
    commits_before = len(hub.commits(repo_id))
    lfs_put = r"^/lfs-upload/"
    rows = [{**row, "task_id": row["task_id"] + "-v2"} for row in ROWS_V1]  # a new parquet blob

    hub.fail("PUT", lfs_put, 500, times=1)  # transient: the client retries by itself
    datasets.Dataset.from_list(rows).push_to_hub(repo_id, token=TOKEN)
    puts = [s for m, p, s in hub.requests if m == "PUT"]
    assert puts[-2:] == [500, 200]
    assert len(hub.commits(repo_id)) == commits_before + 1

    rows[0]["score"] = 0.25
    hub.fail("PUT", lfs_put, 500, times=6)  # outlasts all retries
    with pytest.raises(RuntimeError, match="Error while uploading") as excinfo:
        datasets.Dataset.from_list(rows).push_to_hub(repo_id, token=TOKEN)
    assert isinstance(excinfo.value.__cause__, HfHubHTTPError)
    assert excinfo.value.__cause__.response.status_code == 500

    hub.fail("POST", r"/commit/main", 401)
    with pytest.raises(HfHubHTTPError) as excinfo:
        datasets.Dataset.from_list(rows).push_to_hub(repo_id, token=TOKEN)
    assert excinfo.value.response.status_code == 401
    assert len(hub.commits(repo_id)) == commits_before + 1

    datasets.Dataset.from_list(rows).push_to_hub(repo_id, token=TOKEN)
    assert len(hub.commits(repo_id)) == commits_before + 2
    assert_same_values(load_rows(repo_id), rows)


def test_lfs_upload_protocol_and_resolve_headers(hub: FakeHub, api: HfApi) -> None:
    repo_id = "testuser/lfs-raw"
    api.create_repo(repo_id, repo_type="dataset")
    content = bytes(range(256)) * 40
    oid = hashlib.sha256(content).hexdigest()
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    batch = json.dumps(
        {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": 10240}]}
    ).encode()
    status, _, body = raw_request(
        hub, "POST", f"/datasets/{repo_id}.git/info/lfs/objects/batch", batch, **auth
    )
    assert status == 200
    href = urlsplit(json.loads(body)["objects"][0]["actions"]["upload"]["href"]).path
    assert raw_request(hub, "PUT", href, b"not the announced bytes")[0] == 400
    assert raw_request(hub, "PUT", href.replace(oid, "0" * 64), content)[0] == 403

    conn = http.client.HTTPConnection(urlsplit(hub.url).netloc, timeout=10)
    conn.request("PUT", href, body=iter([content[:1000], content[1000:]]), encode_chunked=True)
    assert conn.getresponse().status == 200
    conn.close()
    status, _, body = raw_request(
        hub, "POST", f"/datasets/{repo_id}.git/info/lfs/objects/batch", batch, **auth
    )
    assert "actions" not in json.loads(body)["objects"][0]  # already stored: nothing to upload

    ndjson = b"\n".join(
        json.dumps(line).encode()
        for line in (
            {"key": "header", "value": {"summary": "raw lfs"}},
            {"key": "lfsFile", "value": {"path": "blob.bin", "algo": "sha256", "oid": oid}},
            {
                "key": "file",
                "value": {"path": "t.txt", "content": base64.b64encode(b"hi").decode()},
            },
        )
    )
    status, _, body = raw_request(
        hub, "POST", f"/api/datasets/{repo_id}/commit/main", ndjson, **auth
    )
    assert status == 200
    commit_oid = json.loads(body)["commitOid"]

    resolve = f"/datasets/{repo_id}/resolve/main/blob.bin"
    status, headers, body = raw_request(hub, "HEAD", resolve, Authorization=f"Bearer {TOKEN}")
    assert (status, body) == (200, b"")
    assert headers["X-Repo-Commit"] == commit_oid
    assert headers["X-Linked-Etag"] == f'"{oid}"' and headers["X-Linked-Size"] == "10240"
    status, headers, body = raw_request(hub, "GET", resolve, Range="bytes=10-19")
    assert (status, body) == (206, content[10:20])
    assert headers["Content-Range"] == "bytes 10-19/10240"
    assert raw_request(hub, "GET", resolve, Range="bytes=-5")[2] == content[-5:]
    assert raw_request(hub, "GET", resolve, Range="bytes=99999-")[0] == 416
    status, headers, _ = raw_request(hub, "GET", f"/datasets/{repo_id}/resolve/main/none.txt")
    assert (status, headers["X-Error-Code"]) == (404, "EntryNotFound")
    assert hub.files(repo_id)["blob.bin"] == content and hub.files(repo_id)["t.txt"] == b"hi"


def test_unknown_routes_bad_tokens_and_injections_on_a_private_hub() -> None:
    with FakeHub() as private_hub:
        kept_alive = http.client.HTTPConnection(urlsplit(private_hub.url).netloc, timeout=10)
        kept_alive.request("POST", "/api/validate-yaml", body=b"{}")
        assert kept_alive.getresponse().read() == b'{"errors": [], "warnings": []}'
        assert raw_request(private_hub, "GET", "/api/datasets/a/b/discussions")[0] == 501
        assert private_hub.unhandled == [("GET", "/api/datasets/a/b/discussions")]
        bad = {"Authorization": "Bearer hf_wrong"}
        assert raw_request(private_hub, "GET", "/api/datasets/a/b", **bad)[0] == 401
        private_hub.fail("GET", r"^/api/whoami-v2$", 503, times=2)
        good = {"Authorization": "Bearer hf_test_token_123456"}
        statuses = [raw_request(private_hub, "GET", "/api/whoami-v2", **good)[0] for _ in range(3)]
        assert statuses == [503, 503, 200]
        assert private_hub.requests[-1] == ("GET", "/api/whoami-v2", 200)
        assert raw_request(private_hub, "POST", "/api/validate-yaml", b"secret-body")[0] == 200
        assert b"secret-body" in private_hub.all_bytes_received()
    with pytest.raises(OSError):
        raw_request(private_hub, "GET", "/api/whoami-v2")
    with pytest.raises(OSError):  # stop() also dropped the kept-alive connection
        kept_alive.request("POST", "/api/validate-yaml", body=b"{}")
        kept_alive.getresponse()
    kept_alive.close()


def test_subprocess_uses_hub_env(hub: FakeHub, tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import json, os, sys
        import datasets
        rows = json.loads(sys.argv[1])
        token = os.environ["HF_TOKEN"]
        datasets.Dataset.from_list(rows).push_to_hub("testuser/from-subprocess", token=token)
        loaded = datasets.load_dataset("testuser/from-subprocess", split="train")
        print(json.dumps(loaded.to_list()))
        """
    )
    env = {**os.environ, **hub_env(hub, tmp_path), "HF_TOKEN": TOKEN}
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(ROWS_V1)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert_same_values(json.loads(done.stdout.strip().splitlines()[-1]), ROWS_V1)
    assert (tmp_path / "hf_datasets_cache").is_dir()
    assert any("datasets-server." in path and status == 404 for _, path, status in hub.requests)
    assert TOKEN.encode() not in hub.all_bytes_received()


def test_point_clients_at_rescues_clients_imported_with_another_endpoint(tmp_path: Path) -> None:
    """Clients imported with a dead endpoint, Xet on and no env tweaks still reach only the hub."""
    script = textwrap.dedent(
        """
        import json, socket, sys
        looked_up = []
        real_getaddrinfo = socket.getaddrinfo

        def loopback_only(host, *args, **kwargs):
            if host not in ("127.0.0.1", "localhost"):
                looked_up.append(host)
                raise socket.gaierror(f"test blocks the lookup of {host}")
            return real_getaddrinfo(host, *args, **kwargs)

        socket.getaddrinfo = loopback_only
        import datasets, huggingface_hub
        from fakes.hub_server import FakeHub, point_clients_at

        with FakeHub() as hub:
            point_clients_at(hub)
            token, repo = "hf_test_token_123456", "testuser/late"
            rows = json.loads(sys.argv[1])
            datasets.Dataset.from_list(rows).push_to_hub(repo, token=token)
            loaded = datasets.load_dataset(repo, split="train", token=token).to_list()
            readme = huggingface_hub.hf_hub_download(
                repo, "README.md", repo_type="dataset", token=token
            )
            print(json.dumps({
                "rows": loaded,
                "whoami": huggingface_hub.whoami(token=token)["name"],
                "files": huggingface_hub.HfApi().list_repo_files(repo, repo_type="dataset"),
                "fs_ls": huggingface_hub.HfFileSystem().ls("datasets/testuser/late", detail=False),
                "readme_ok": open(readme, "rb").read() == hub.files(repo)["README.md"],
                "unhandled": hub.unhandled,
                "looked_up": looked_up,
            }))
        """
    )
    env = {
        **os.environ,
        "HF_ENDPOINT": "http://stale-endpoint.invalid",  # any request left behind is looked up
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_DATASETS_CACHE": str(tmp_path / "hf_datasets_cache"),
        "PYTHONPATH": str(Path(__file__).parent),
    }
    for name in ("HF_HUB_DISABLE_XET", "HF_UPDATE_DOWNLOAD_COUNTS", "HF_HUB_DISABLE_TELEMETRY"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(ROWS_V1)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert_same_values(report["rows"], ROWS_V1)
    assert report["whoami"] == "testuser" and report["readme_ok"]
    assert "README.md" in report["files"]
    assert "datasets/testuser/late/README.md" in report["fs_ls"]
    assert report["unhandled"] == [] and report["looked_up"] == []
