"""A local, in-memory Hugging Face Hub that the real ``huggingface_hub`` and ``datasets`` talk to.

The Hub client libraries speak a private HTTP protocol (httpx2 underneath, so HTTP mocking
libraries do not intercept it), and pushing a dataset needs the full LFS upload dance. This server
implements exactly the routes those clients call, with the Hub's status codes and error headers,
so tests exercise the real push/load code paths without any network:

* ``GET /api/whoami-v2``; ``POST /api/repos/create`` (409 when it exists);
  ``DELETE /api/repos/delete`` (404 ``RepoNotFound``);
* ``GET /api/{type}s`` (``?author=``), ``GET /api/{type}s/{repo}[/revision/{rev}]``;
* ``POST .../preupload/{rev}`` (``lfs`` for data files, binary or big files);
* ``POST /{prefix}{repo}.git/info/lfs/objects/batch`` and the ``PUT`` upload it points to
  (sha256 and size verified, chunked bodies accepted);
* ``POST .../commit/{rev}`` (ndjson; 412 on a stale ``parentCommit``);
* ``GET .../tree/{rev}[/{path}]``, ``POST .../paths-info/{rev}``;
* ``HEAD``/``GET /{prefix}{repo}/resolve/{rev}/{path}`` (``X-Repo-Commit``, ``ETag``,
  ``X-Linked-Etag``/``X-Linked-Size`` for LFS files, single ``Range``);
* ``POST /api/validate-yaml``.

Every commit keeps a full snapshot, so any commit SHA is a valid revision. Private repos answer 401
without a token and 404 to other users, both with ``X-Error-Code: RepoNotFound``. Routes it does
not know answer 501 and are recorded in ``FakeHub.unhandled``; tests assert that list stays empty.

Pointing the clients at it. ``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT`` (and
``HF_HUB_DISABLE_XET``: Xet uploads cannot be faked) once, at import. So:

* subprocesses: start the hub, then pass ``env={**os.environ, **hub_env(hub, tmp_path)}``;
* in-process: fix the port up front (``url`` is then known before ``start()``), export the
  variables, import the clients, then start the hub::

      hub = FakeHub(port=free_port())
      os.environ.update(HF_ENDPOINT=hub.url, HF_HUB_DISABLE_XET="1")
      import datasets  # only now
      hub.start()
      point_clients_at(hub)

  ``point_clients_at`` rewrites the module globals that froze the endpoint, so it also rescues
  clients imported earlier (by another test module in the same pytest run) with other settings.
  Call it in every fixture that starts a hub; the last call wins.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_TOKENS = {"hf_test_token_123456": "testuser"}

_TYPE_BY_PLURAL = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
# The Hub stores these as LFS (its default .gitattributes); datasets relies on parquet being LFS.
# fmt: off
_LFS_SUFFIXES = (
    ".parquet", ".arrow", ".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".onnx", ".npy",
    ".npz", ".pkl", ".zip", ".gz", ".tar", ".zst", ".png", ".jpg", ".jpeg", ".wav", ".mp3", ".mp4",
)
# fmt: on
_LFS_MIN_SIZE = 10 * 1024 * 1024
_GITATTRIBUTES = "".join(
    f"*{suffix} filter=lfs diff=lfs merge=lfs -text\n" for suffix in _LFS_SUFFIXES
)
_REPO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REPO = r"(?P<ns>[^/]+)/(?P<name>[^/]+)"
_API_REPO = rf"/api/(?P<plural>models|datasets|spaces)/{_REPO}"
_PREFIXED_REPO = rf"/(?:(?P<plural>datasets|spaces)/)?{_REPO}"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _git_blob_oid(data: bytes) -> str:
    """Git's (and the Hub's) blob oid: sha1 over a ``blob <size>\\0`` header plus the data."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def free_port() -> int:
    """A free loopback port, to build ``FakeHub(port=...)`` before importing the clients."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class _Blob:
    """One file version; LFS files are listed through their pointer, as on the Hub."""

    content: bytes
    lfs: bool

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @cached_property
    def pointer(self) -> bytes:
        return (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\n"
            f"size {len(self.content)}\n"
        ).encode()

    @cached_property
    def oid(self) -> str:
        return _git_blob_oid(self.pointer if self.lfs else self.content)

    def remote_oid(self) -> str:
        """What preupload reports, matching the client's ``_local_oid`` (sha256 for LFS files)."""
        return self.sha256 if self.lfs else self.oid


@dataclass(frozen=True)
class _Commit:
    oid: str
    summary: str
    files: dict[str, _Blob]
    date: str


@dataclass
class _Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str
    commits: list[_Commit] = field(default_factory=list)
    branches: dict[str, str] = field(default_factory=dict)
    lfs_objects: dict[str, bytes] = field(default_factory=dict)
    pending_lfs: dict[str, int] = field(default_factory=dict)  # oid -> size, as "presigned"

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]

    def commit(self, revision: str) -> _Commit:
        """Resolve a branch name or a full commit SHA, like the Hub's ``/revision/{rev}``."""
        oid = self.branches.get(revision, revision if _FULL_SHA.fullmatch(revision) else None)
        for commit in self.commits:
            if commit.oid == oid:
                return commit
        raise _HttpError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


class _HttpError(Exception):
    """An error answer in the Hub's shape: JSON ``error`` body plus ``X-Error-*`` headers."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.headers = headers or {}


class _Unhandled(Exception):
    """A request this fake does not implement (recorded so tests notice)."""


@dataclass
class _Request:
    query: dict[str, list[str]]
    headers: Any
    body: bytes
    user: str | None

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise _HttpError(400, f"Invalid JSON body: {exc}") from exc

    def flag(self, name: str) -> bool:
        return self.query.get(name, ["false"])[-1].lower() in ("1", "true")


@dataclass
class _Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, **headers: str) -> _Response:
        return cls(
            status, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers}
        )


@dataclass
class _Injection:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int


class FakeHub:
    """The in-memory Hub; ``start()`` serves it on 127.0.0.1 from a background thread."""

    def __init__(
        self,
        tokens: dict[str, str] | None = None,
        port: int = 0,
        read_only_users: tuple[str, ...] = (),
    ) -> None:
        self._tokens = dict(DEFAULT_TOKENS if tokens is None else tokens)
        # users whose tokens have the "read" role: whoami says so and every write is a 403
        self._read_only = frozenset(read_only_users)
        self._port = port
        self._lock = threading.RLock()
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._injections: list[_Injection] = []
        self._bodies: list[bytes] = []
        self._oid_counter = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()  # open keep-alive connections, for stop()
        self._thread: threading.Thread | None = None
        # Known up front for a fixed port, so HF_ENDPOINT can be exported before the clients load.
        self.url = f"http://127.0.0.1:{port}" if port else ""
        self.requests: list[tuple[str, str, int]] = []
        self.unhandled: list[tuple[str, str]] = []
        self._routes = [
            ("GET", r"/api/whoami-v2", self._whoami),
            ("POST", r"/api/repos/create", self._create_repo),
            ("DELETE", r"/api/repos/delete", self._delete_repo),
            ("POST", r"/api/validate-yaml", self._validate_yaml),
            ("GET", r"/api/(?P<plural>models|datasets|spaces)", self._list_repos),
            ("GET", rf"{_API_REPO}(?:/revision/(?P<rev>[^/]+))?", self._repo_info),
            ("POST", rf"{_API_REPO}/preupload/(?P<rev>[^/]+)", self._preupload),
            ("POST", rf"{_API_REPO}/commit/(?P<rev>[^/]+)", self._commit),
            ("GET", rf"{_API_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.+))?", self._tree),
            ("POST", rf"{_API_REPO}/paths-info/(?P<rev>[^/]+)", self._paths_info),
            ("POST", rf"{_PREFIXED_REPO}\.git/info/lfs/objects/batch", self._lfs_batch),
            (
                "PUT",
                rf"/lfs-upload/(?P<plural>models|datasets|spaces)/{_REPO}/(?P<oid>[^/]+)",
                self._lfs_put,
            ),
            ("GET|HEAD", rf"{_PREFIXED_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", self._resolve),
        ]

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> FakeHub:
        """Bind 127.0.0.1 (the given port, or an ephemeral one) and serve in a daemon thread."""
        hub = self

        class Handler(_Handler):
            fake_hub = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and drop kept-alive client connections."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join()
            self._server = self._thread = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ test helpers
    def fail(self, method: str, path_regex: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests whose method and target (``re.search``) match with
        ``status``, before any routing or state change."""
        with self._lock:
            self._injections.append(
                _Injection(method.upper(), re.compile(path_regex), status, times)
            )

    def repo_ids(self, repo_type: str = "dataset") -> list[str]:
        with self._lock:
            return sorted(rid for rtype, rid in self._repos if rtype == repo_type)

    def files(
        self, repo_id: str, repo_type: str = "dataset", revision: str = "main"
    ) -> dict[str, bytes]:
        with self._lock:
            snapshot = self._repos[(repo_type, repo_id)].commit(revision).files
            return {path: blob.content for path, blob in snapshot.items()}

    def repo_private(self, repo_id: str, repo_type: str = "dataset") -> bool:
        with self._lock:
            return self._repos[(repo_type, repo_id)].private

    def commits(self, repo_id: str, repo_type: str = "dataset") -> list[dict]:
        with self._lock:
            return [
                {"oid": c.oid, "summary": c.summary}
                for c in self._repos[(repo_type, repo_id)].commits
            ]

    def all_bytes_received(self) -> bytes:
        """Every request body so far, concatenated (tests scan it for leaked secrets)."""
        with self._lock:
            return b"".join(self._bodies)

    # -------------------------------------------------------------- dispatching
    def _handle(self, method: str, target: str, headers: Any, body: bytes) -> _Response:
        """Route one request; never raises, so the handler always has something to send."""
        with self._lock:
            self._bodies.append(body)
            response = self._injected(method, target)
        if response is None:
            try:
                response = self._route(method, target, headers, body)
            except _HttpError as err:
                headers_out = {"X-Error-Message": err.message, **err.headers}
                if err.code:
                    headers_out["X-Error-Code"] = err.code
                response = _Response.json({"error": err.message}, err.status, **headers_out)
            except _Unhandled as exc:
                with self._lock:
                    self.unhandled.append((method, target))
                response = _Response.json({"error": f"Not implemented by FakeHub: {exc}"}, 501)
            except Exception as exc:  # a bug in the fake: make it as visible as a missing route
                with self._lock:
                    self.unhandled.append((method, f"{target} [crashed: {exc!r}]"))
                response = _Response.json({"error": f"FakeHub crashed: {exc!r}"}, 500)
        with self._lock:
            self.requests.append((method, target, response.status))
        return response

    def _injected(self, method: str, target: str) -> _Response | None:
        for rule in self._injections:
            if rule.remaining > 0 and rule.method == method and rule.pattern.search(target):
                rule.remaining -= 1
                message = f"Injected failure ({rule.status})"
                return _Response.json(
                    {"error": message}, rule.status, **{"X-Error-Message": message}
                )
        return None

    def _route(self, method: str, target: str, headers: Any, body: bytes) -> _Response:
        if target.startswith("http://"):
            return self._proxied(method, target)
        split = urlsplit(target)
        query, user = parse_qs(split.query), self._user(headers)
        for methods, pattern, endpoint in self._routes:
            match = re.fullmatch(pattern, split.path)
            if match and method in methods.split("|"):
                params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                request = _Request(query, headers, body, user)
                return endpoint(request, **params)
        raise _Unhandled(f"{method} {split.path}")

    def _proxied(self, method: str, target: str) -> _Response:
        """Plain-HTTP requests for other hosts arrive here when ``hub_env``'s proxy is in use.

        ``datasets`` asks ``datasets-server.<endpoint host>/info`` for a parquet export the fake
        never has; the viewer answers 404 for such datasets. Anything else leaving for the
        internet is a test bug and is recorded as unhandled.
        """
        split = urlsplit(target)
        if (
            method == "GET"
            and (split.hostname or "").startswith("datasets-server.")
            and (split.path == "/info")
        ):
            return _Response.json({"error": "No parquet export for this dataset"}, 404)
        raise _Unhandled(f"proxied request to {split.hostname}")

    def _user(self, headers: Any) -> str | None:
        """The token's user; an unknown token is refused everywhere, like the Hub does."""
        auth = headers.get("Authorization") or ""
        if not auth:
            return None
        token = auth.removeprefix("Bearer ").strip()
        if token not in self._tokens:
            raise _HttpError(401, "Invalid credentials in Authorization header")
        return self._tokens[token]

    # ------------------------------------------------------------ access rules
    def _readable(self, req: _Request, plural: str, ns: str, name: str) -> _Repo:
        repo = self._repos.get((_TYPE_BY_PLURAL[plural], f"{ns}/{name}"))
        if repo is not None and (not repo.private or req.user == repo.namespace):
            return repo
        if req.user is None:
            raise _HttpError(401, "Invalid username or password.", "RepoNotFound")
        raise _HttpError(404, "Repository not found", "RepoNotFound")

    def _writable(self, req: _Request, plural: str, ns: str, name: str) -> _Repo:
        repo = self._readable(req, plural, ns, name)
        if req.user is None:
            raise _HttpError(401, "You must be authenticated to write to this repository")
        if req.user != repo.namespace or req.user in self._read_only:
            raise _HttpError(403, f"You don't have the rights to write to {repo.repo_id}")
        return repo

    def _info(self, repo: _Repo, commit: _Commit, blobs: bool = False) -> dict:
        info: dict[str, Any] = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": repo.namespace,
            "sha": commit.oid,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "createdAt": repo.created_at,
            "lastModified": commit.date,
            "downloads": 0,
            "likes": 0,
            "tags": [],
        }
        info["siblings"] = [
            self._sibling(path, commit.files[path]) if blobs else {"rfilename": path}
            for path in sorted(commit.files)
        ]
        return info

    @staticmethod
    def _file_entry(path: str, blob: _Blob) -> dict:
        """A tree / paths-info file entry."""
        entry: dict[str, Any] = {
            "type": "file",
            "oid": blob.oid,
            "size": len(blob.content),
            "path": path,
        }
        if blob.lfs:
            entry["lfs"] = {
                "oid": blob.sha256,
                "size": len(blob.content),
                "pointerSize": len(blob.pointer),
            }
        return entry

    @staticmethod
    def _sibling(path: str, blob: _Blob) -> dict:
        """A repo-info ``siblings`` item with file metadata (``?blobs=true``)."""
        sibling: dict[str, Any] = {"rfilename": path, "size": len(blob.content), "blobId": blob.oid}
        if blob.lfs:
            sibling["lfs"] = {
                "sha256": blob.sha256,
                "size": len(blob.content),
                "pointerSize": len(blob.pointer),
            }
        return sibling

    @staticmethod
    def _dir_entry(path: str, files: dict[str, _Blob]) -> dict:
        below = sorted(p for p in files if p.startswith(path + "/"))
        oid = hashlib.sha1("\n".join(below).encode()).hexdigest()
        return {"type": "directory", "oid": oid, "size": 0, "path": path}

    def _url_for(self, repo: _Repo) -> str:
        return f"{self.url}/{_URL_PREFIX[repo.repo_type]}{repo.repo_id}"

    # ---------------------------------------------------------------- endpoints
    def _whoami(self, req: _Request) -> _Response:
        if req.user is None:
            raise _HttpError(401, "Invalid credentials in Authorization header")
        return _Response.json(
            {
                "type": "user",
                "id": hashlib.sha1(req.user.encode()).hexdigest()[:24],
                "name": req.user,
                "fullname": req.user,
                "email": f"{req.user}@example.invalid",
                "emailVerified": True,
                "isPro": False,
                "orgs": [],
                "auth": {
                    "type": "access_token",
                    "accessToken": {
                        "displayName": "fake",
                        "role": "read" if req.user in self._read_only else "write",
                    },
                },
            }
        )

    def _repo_target(self, req: _Request) -> tuple[str, str, dict]:
        """(repo_type, repo_id, body) of a create/delete call; namespace defaults to the user."""
        body = req.json() or {}
        if req.user is None:
            raise _HttpError(401, "You must be authenticated to manage repositories")
        if req.user in self._read_only:
            raise _HttpError(403, "This token has read access only")
        repo_type = body.get("type") or "model"
        name = body.get("name") or ""
        if repo_type not in _URL_PREFIX or not _REPO_NAME.fullmatch(name) or ".." in name:
            raise _HttpError(400, f"Invalid repo name or type: {name!r} ({repo_type!r})")
        return repo_type, f"{body.get('organization') or req.user}/{name}", body

    def _create_repo(self, req: _Request) -> _Response:
        repo_type, repo_id, body = self._repo_target(req)
        namespace = repo_id.split("/")[0]
        if namespace != req.user:
            raise _HttpError(403, f"You don't have the rights to create a repo under {namespace}")
        private = (
            body.get("visibility", "private" if body.get("private") else "public") == "private"
        )
        with self._lock:
            existing = self._repos.get((repo_type, repo_id))
            if existing is not None:
                return _Response.json(
                    {
                        "error": f"You already created this {repo_type} repo",
                        "url": self._url_for(existing),
                    },
                    409,
                )
            repo = _Repo(repo_type, repo_id, private, _now())
            self._add_commit(
                repo, "initial commit", {".gitattributes": _Blob(_GITATTRIBUTES.encode(), False)}
            )
            repo.branches["main"] = repo.commits[-1].oid
            self._repos[(repo_type, repo_id)] = repo
        return _Response.json({"url": self._url_for(repo), "name": repo_id, "id": repo_id})

    def _delete_repo(self, req: _Request) -> _Response:
        repo_type, repo_id, _ = self._repo_target(req)
        ns, name = repo_id.split("/")
        with self._lock:
            self._writable(req, f"{repo_type}s", ns, name)
            del self._repos[(repo_type, repo_id)]
        return _Response()

    def _validate_yaml(self, req: _Request) -> _Response:
        return _Response.json({"errors": [], "warnings": []})

    def _list_repos(self, req: _Request, plural: str) -> _Response:
        author = req.query.get("author", [None])[-1]
        with self._lock:
            repos = [
                repo
                for (rtype, _), repo in sorted(self._repos.items())
                if rtype == _TYPE_BY_PLURAL[plural]
                and (author is None or repo.namespace == author)
                and (not repo.private or repo.namespace == req.user)
            ]
            infos = [self._info(r, r.commit("main")) for r in repos]
        for info in infos:
            del info["siblings"]  # like the Hub's listing, which omits files
        return _Response.json(infos)

    def _repo_info(
        self, req: _Request, plural: str, ns: str, name: str, rev: str = "main"
    ) -> _Response:
        with self._lock:
            repo = self._readable(req, plural, ns, name)
            return _Response.json(self._info(repo, repo.commit(rev), blobs=req.flag("blobs")))

    def _preupload(self, req: _Request, plural: str, ns: str, name: str, rev: str) -> _Response:
        if req.flag("create_pr"):
            raise _Unhandled("pull requests")
        files = (req.json() or {}).get("files", [])
        with self._lock:
            snapshot = self._writable(req, plural, ns, name).commit(rev).files
        answers = []
        for item in files:
            path, size = item["path"], int(item["size"])
            sample = base64.b64decode(item.get("sample", ""))
            lfs = path.lower().endswith(_LFS_SUFFIXES) or size >= _LFS_MIN_SIZE or b"\0" in sample
            existing = snapshot.get(path)
            answers.append(
                {
                    "path": path,
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": False,
                    "oid": existing.remote_oid() if existing is not None else None,
                }
            )
        return _Response.json({"files": answers, "commitOid": None})

    def _lfs_batch(self, req: _Request, ns: str, name: str, plural: str | None = None) -> _Response:
        body = req.json() or {}
        if body.get("operation") != "upload":
            raise _Unhandled(f"LFS batch operation {body.get('operation')!r}")
        plural = plural or "models"
        objects = []
        with self._lock:
            repo = self._writable(req, plural, ns, name)
            for obj in body.get("objects", []):
                oid, size = obj.get("oid"), obj.get("size")
                if not (isinstance(oid, str) and _SHA256.fullmatch(oid) and isinstance(size, int)):
                    raise _HttpError(422, f"Invalid LFS object: {obj!r}")
                answer: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
                if oid not in repo.lfs_objects:
                    repo.pending_lfs[oid] = size
                    href = f"{self.url}/lfs-upload/{plural}/{ns}/{name}/{oid}"
                    answer["actions"] = {"upload": {"href": href, "expires_in": 3600}}
                objects.append(answer)
        return _Response.json(
            {"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
            **{"Content-Type": "application/vnd.git-lfs+json"},
        )

    def _lfs_put(self, req: _Request, plural: str, ns: str, name: str, oid: str) -> _Response:
        """The "presigned" storage URL: no auth, but only for objects announced through batch."""
        with self._lock:
            repo = self._repos.get((_TYPE_BY_PLURAL[plural], f"{ns}/{name}"))
            expected = repo.pending_lfs.get(oid) if repo is not None else None
            if repo is None or expected is None:
                raise _HttpError(403, "No upload was authorized for this object")
            if len(req.body) != expected or hashlib.sha256(req.body).hexdigest() != oid:
                raise _HttpError(400, "Uploaded content does not match the announced oid/size")
            repo.lfs_objects[oid] = req.body
            del repo.pending_lfs[oid]
        return _Response(headers={"ETag": f'"{hashlib.md5(req.body).hexdigest()}"'})

    def _commit(self, req: _Request, plural: str, ns: str, name: str, rev: str) -> _Response:
        if req.flag("create_pr"):
            raise _Unhandled("pull requests")
        try:
            lines = [json.loads(line) for line in req.body.splitlines() if line.strip()]
        except ValueError as exc:
            raise _HttpError(400, f"Invalid ndjson: {exc}") from exc
        if not lines or lines[0].get("key") != "header":
            raise _HttpError(400, "The first line of a commit must be its header")
        header = lines[0]["value"]
        with self._lock:
            repo = self._writable(req, plural, ns, name)
            if rev not in repo.branches:
                raise _HttpError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            head = repo.commit(rev)
            parent = header.get("parentCommit")
            if parent is not None and parent != head.oid:
                raise _HttpError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(head.files)
            for line in lines[1:]:
                self._apply(repo, files, line.get("key"), line.get("value") or {})
            commit = self._add_commit(repo, header.get("summary") or "", files)
            repo.branches[rev] = commit.oid
        url = f"{self._url_for(repo)}/commit/{commit.oid}"
        return _Response.json(
            {"success": True, "commitOid": commit.oid, "commitUrl": url, "hookOutput": ""}
        )

    def _apply(self, repo: _Repo, files: dict[str, _Blob], key: str | None, value: dict) -> None:
        path = (
            str(value.get("path", "")).strip("/")
            if key == "deletedFolder"
            else value.get("path", "")
        )
        if not path or path.startswith("/") or ".." in path.split("/"):
            raise _HttpError(400, f"Invalid path in commit: {path!r}")
        if key == "file":
            files[path] = _Blob(base64.b64decode(value.get("content", "")), lfs=False)
        elif key == "lfsFile":
            content = repo.lfs_objects.get(value.get("oid", ""))
            if content is None or value.get("size", len(content)) != len(content):
                raise _HttpError(
                    400, f"Your push was rejected: LFS object for {path} was never uploaded"
                )
            files[path] = _Blob(content, lfs=True)
        elif key == "deletedFile":
            if files.pop(path, None) is None:
                raise _HttpError(
                    404, f"A file with this name doesn't exist: {path}", "EntryNotFound"
                )
        elif key == "deletedFolder":
            doomed = [p for p in files if p.startswith(path + "/")]
            if not doomed:
                raise _HttpError(
                    404, f"A folder with this name doesn't exist: {path}", "EntryNotFound"
                )
            for doomed_path in doomed:
                del files[doomed_path]
        else:
            raise _Unhandled(f"commit operation {key!r}")

    def _add_commit(self, repo: _Repo, summary: str, files: dict[str, _Blob]) -> _Commit:
        seed = f"{repo.repo_type}/{repo.repo_id}\0{next(self._oid_counter)}\0{summary}"
        oid = hashlib.sha1(seed.encode()).hexdigest()
        commit = _Commit(oid, summary, files, _now())
        repo.commits.append(commit)
        return commit

    def _tree(
        self, req: _Request, plural: str, ns: str, name: str, rev: str, path: str = ""
    ) -> _Response:
        path = path.strip("/")
        with self._lock:
            repo = self._readable(req, plural, ns, name)
            commit = repo.commit(rev)
        files = commit.files
        prefix = f"{path}/" if path else ""
        below = sorted(p for p in files if p.startswith(prefix))
        if path and not below:
            raise _HttpError(
                404,
                f'{path} does not exist on "{rev}"',
                "EntryNotFound",
                {"X-Repo-Commit": commit.oid},
            )
        recursive = req.flag("recursive")
        entries: dict[str, dict] = {}
        for file_path in below:
            parts = file_path[len(prefix) :].split("/")
            depth = len(parts) if recursive else 1
            for i in range(1, min(depth, len(parts) - 1) + 1):
                dir_path = prefix + "/".join(parts[:i])
                entries.setdefault(dir_path, self._dir_entry(dir_path, files))
            if recursive or len(parts) == 1:
                entries[file_path] = self._file_entry(file_path, files[file_path])
        return _Response.json([entries[p] for p in sorted(entries)])

    def _paths_info(self, req: _Request, plural: str, ns: str, name: str, rev: str) -> _Response:
        if "json" in (req.headers.get("Content-Type") or ""):
            paths = (req.json() or {}).get("paths", [])
        else:
            paths = parse_qs(req.body.decode()).get("paths", [])
        with self._lock:
            files = self._readable(req, plural, ns, name).commit(rev).files
        found = []
        for path in (p.strip("/") for p in paths):
            if path in files:
                found.append(self._file_entry(path, files[path]))
            elif any(p.startswith(path + "/") for p in files):
                found.append(self._dir_entry(path, files))
        return _Response.json(found)

    def _resolve(
        self, req: _Request, ns: str, name: str, rev: str, path: str, plural: str | None = None
    ) -> _Response:
        with self._lock:
            commit = self._readable(req, plural or "models", ns, name).commit(rev)
        blob = commit.files.get(path)
        if blob is None:
            raise _HttpError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": commit.oid})
        headers = {
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "X-Repo-Commit": commit.oid,
            "ETag": f'"{blob.oid}"',
        }
        if blob.lfs:
            headers |= {
                "X-Linked-Etag": f'"{blob.sha256}"',
                "X-Linked-Size": str(len(blob.content)),
            }
        return _ranged(blob.content, req.headers.get("Range"), headers)


def _ranged(content: bytes, range_header: str | None, headers: dict[str, str]) -> _Response:
    """Serve one ``bytes=`` range (206/416); other Range forms are ignored, as HTTP allows."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (range_header or "").strip())
    if match is None or match.groups() == ("", ""):
        return _Response(200, content, headers)
    total = len(content)
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last), total - 1) if last else total - 1
    else:
        start, end = max(total - int(last), 0), total - 1
    if start >= total or start > end:
        raise _HttpError(
            416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{total}"}
        )
    headers = {**headers, "Content-Range": f"bytes {start}-{end}/{total}"}
    return _Response(206, content[start : end + 1], headers)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive plumbing around ``FakeHub._handle``."""

    protocol_version = "HTTP/1.1"
    fake_hub: FakeHub

    def setup(self) -> None:
        super().setup()
        with self.fake_hub._lock:
            self.fake_hub._connections.add(self.connection)

    def finish(self) -> None:
        with self.fake_hub._lock:
            self.fake_hub._connections.discard(self.connection)
        super().finish()

    def _serve(self) -> None:
        response = self.fake_hub._handle(self.command, self.path, self.headers, self._read_body())
        self.send_response(response.status)
        for name, value in response.headers.items():
            # Header values must be latin-1; error messages may quote non-ASCII paths.
            self.send_header(name, value.encode("ascii", "backslashreplace").decode())
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request stderr logging; ``FakeHub.requests`` has the log."""


def hub_env(hub: FakeHub, tmp_path: Path) -> dict[str, str]:
    """Environment for a subprocess that should use ``hub`` with fresh caches under ``tmp_path``.

    Besides the endpoint and caches: Xet off (not fakeable), telemetry and progress bars off,
    ``datasets`` download counting off (it HEADs an S3 URL), and plain-HTTP proxying to the hub
    with loopback exempt, so the ``datasets-server.<host>`` probe ``load_dataset`` makes (and
    any other stray plain-HTTP request) lands in the fake instead of DNS.
    """
    return {
        "HF_ENDPOINT": hub.url,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "HF_HOME": str(Path(tmp_path) / "hf_home"),
        "HF_DATASETS_CACHE": str(Path(tmp_path) / "hf_datasets_cache"),
        "http_proxy": hub.url,
        "HTTP_PROXY": hub.url,
        "no_proxy": "127.0.0.1,localhost,::1",
        "NO_PROXY": "127.0.0.1,localhost,::1",
    }


def point_clients_at(hub: FakeHub) -> None:
    """Re-point already-imported ``huggingface_hub``/``datasets`` at ``hub``, in this process.

    These module globals froze ``HF_ENDPOINT`` (or a related setting) at import time:
    ``huggingface_hub.constants.ENDPOINT`` (default of every new ``HfApi``/``HfFileSystem``),
    ``HUGGINGFACE_CO_URL_TEMPLATE`` (``hf_hub_url``, used by ``datasets``), ``HF_HUB_DISABLE_XET``
    and ``HF_HUB_DISABLE_TELEMETRY``; the module-level ``HfApi`` behind ``huggingface_hub.whoami``
    and friends; ``datasets.config.HF_ENDPOINT`` (``push_to_hub``/``load_dataset`` build their
    ``HfApi`` from it) and ``HUB_DATASETS_URL``. It also turns off ``datasets``' S3 download counter
    and its ``datasets-server`` parquet-export probe, which would leave 127.0.0.1. Not covered: the
    prebuilt ``huggingface_hub.hffs`` instance (build an ``HfFileSystem()`` instead).
    """
    import datasets.config
    from huggingface_hub import constants, hf_api

    constants.ENDPOINT = hub.url
    constants.HUGGINGFACE_CO_URL_TEMPLATE = hub.url + "/{repo_id}/resolve/{revision}/{filename}"
    constants.HF_HUB_DISABLE_XET = True
    constants.HF_HUB_DISABLE_TELEMETRY = True
    hf_api.api.endpoint = hub.url
    datasets.config.HF_ENDPOINT = hub.url
    datasets.config.HUB_DATASETS_URL = hub.url + "/datasets/{repo_id}/resolve/{revision}/{path}"
    datasets.config.HF_UPDATE_DOWNLOAD_COUNTS = False
    datasets.config.USE_PARQUET_EXPORT = False
