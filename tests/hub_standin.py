"""A stand-in Hugging Face hub on 127.0.0.1 that answers as the hub does for what huggingface_hub
asks of it (read in its source: `HfApi.repo_info` / `dataset_info`, `HfApi.list_repo_tree`,
`utils._pagination`, `hf_hub_download`, `snapshot_download`, `get_hf_file_metadata`,
`utils._http.hf_raise_for_status`):

- a branch names a commit (40 hex digits), and a commit never changes: a push (changing a
  branch's files here) makes a new commit while the old one still answers by its hash;
- `/api/datasets/OWNER/NAME/revision/REVISION` (`repo_info`): the commit `sha` and the
  `siblings`;
- the tree API (`/api/datasets/OWNER/NAME/tree/REVISION[/PATH]?recursive=...`) lists a page at a
  time, the next page's URL in a `Link: <...>; rel="next"` header, each file with its git `oid`,
  `size` and, stored in LFS (parquet and JSONL data), `lfs: {oid (SHA-256), size, pointerSize}`;
- `/datasets/OWNER/NAME/resolve/REVISION/PATH` answers an LFS file with a 302 to another host (the
  CDN, here `localhost` on another port) with `X-Repo-Commit`, `X-Linked-Etag` (the SHA-256) and
  `X-Linked-Size`, the CDN serving the bytes with HTTP Range; a small git file is served directly,
  with `X-Repo-Commit` and its git ETag;
- errors carry `X-Error-Code`: a gated repository's files without a token are 401 `GatedRepo`
  (its `repo_info` and listing are public), an unknown repository 401 `RepoNotFound` (the hub does
  not tell it from a private one without a token), a missing revision 404 `RevisionNotFound`, a
  missing file or folder 404 `EntryNotFound`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

PAGE = 2  # entries per listing page: every listing here takes several pages
_COMMIT = re.compile(r"[0-9a-f]{40}")


def commit_of(files: dict[str, bytes]) -> str:
    """A commit hash for a tree: the same files, the same commit."""
    tree = sorted((path, hashlib.sha1(data).hexdigest()) for path, data in files.items())
    return hashlib.sha1(json.dumps(tree).encode()).hexdigest()


def is_lfs(path: str) -> bool:
    return path.endswith((".parquet", ".jsonl"))


class StandInHub:
    """Repositories: {repo: {branch: {path: bytes}}} (change a branch's files to push); `gated`
    ones need a token."""

    def __init__(self, repos: dict[str, dict[str, dict[str, bytes]]]) -> None:
        self.repos = repos
        self.commits: dict[str, dict[str, dict[str, bytes]]] = {}  # {repo: {commit: files}}
        self.gated: set[str] = set()
        self.token = "hf_secret"
        self.cdn = ""  # the CDN's base URL (another host)
        self.gets: list[tuple[str, str | None]] = []  # CDN GETs: (path, Range)
        self.pages: list[str] = []  # tree listing URLs asked for
        self.requests: list[str] = []  # every path asked of the hub (not the CDN)
        self.cut_next: int | None = None  # bytes after which the next CDN GET is cut
        self.corrupt: set[str] = set()  # paths the CDN serves with one byte changed
        self.after_get: list[Callable[[], None]] = []  # run after a CDN GET, one per GET
        self.lock = threading.Lock()

    def push(self, repo: str, branch: str, files: dict[str, bytes]) -> str:
        """Replace `branch`'s files (a new commit); its hash."""
        self.repos[repo][branch] = dict(files)
        return self.revision(repo, branch)[0]  # type: ignore[index]

    def revision(self, repo: str, revision: str) -> tuple[str, dict[str, bytes]] | None:
        """(commit, files) of a branch or a commit hash of `repo`; None when there is none."""
        with self.lock:
            known = self.commits.setdefault(repo, {})
            files = self.repos[repo].get(revision)
            if files is not None:
                commit = commit_of(files)
                known.setdefault(commit, dict(files))
                return commit, known[commit]
            if _COMMIT.fullmatch(revision) and revision in known:
                return revision, known[revision]
        return None

    def blob(self, sha: str) -> bytes | None:
        with self.lock:  # other threads record commits meanwhile
            trees = [dict(files) for repo in self.commits.values() for files in repo.values()]
            trees += [dict(files) for repo in self.repos.values() for files in repo.values()]
        for files in trees:
            for data in files.values():
                if hashlib.sha256(data).hexdigest() == sha:
                    return data
        return None

    def handler(self, role: str) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:  # noqa: N802
                self._serve(body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                if role == "cdn":
                    return self._cdn(body)
                hub.requests.append(self.path)
                url = urlsplit(self.path)
                info = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/revision/([^/]+)", url.path)
                tree = re.fullmatch(r"/api/datasets/([^/]+/[^/]+)/tree/([^/]+)/?(.*)", url.path)
                resolve = re.fullmatch(r"/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", url.path)
                match = info or tree or resolve
                if match is None:
                    return self._send(404, b"no route", body)
                repo, revision = match.group(1), unquote(match.group(2))
                authorized = self.headers.get("Authorization") == f"Bearer {hub.token}"
                if repo not in hub.repos:
                    return self._error(401, "RepoNotFound", "Repository not found", body)
                if repo in hub.gated and not authorized and resolve:  # its listing is public
                    return self._error(401, "GatedRepo", f"Access to dataset {repo} is "
                                       "restricted. You must be authenticated.", body)  # fmt: skip
                found = hub.revision(repo, revision)
                if found is None:
                    return self._error(404, "RevisionNotFound", "Invalid rev id", body)
                commit, files = found
                if info:
                    about = {
                        "_id": hashlib.sha1(repo.encode()).hexdigest()[:24],
                        "id": repo,
                        "author": repo.split("/")[0],
                        "sha": commit,
                        "private": False,
                        "gated": "auto" if repo in hub.gated else False,
                        "disabled": False,
                        "siblings": [{"rfilename": path} for path in sorted(files)],
                    }
                    return self._send(200, json.dumps(about).encode(), body)
                if tree:
                    return self._tree(url, files, unquote(match.group(3)), body)
                path = unquote(match.group(3))
                data = files.get(path)
                if data is None:
                    return self._error(404, "EntryNotFound", "Entry not found", body)
                git_etag = f'"{hashlib.sha1(data).hexdigest()}"'
                if not is_lfs(path):  # a git file: served by the hub itself
                    headers = {"X-Repo-Commit": commit, "ETag": git_etag}
                    return self._send(200, data, body, headers)
                sha = hashlib.sha256(data).hexdigest()
                self.send_response(302)
                self.send_header("Location", f"{hub.cdn}/blobs/{sha}?filename={quote(path)}")
                self.send_header("X-Repo-Commit", commit)
                self.send_header("X-Linked-Etag", f'"{sha}"')
                self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("ETag", git_etag)  # the pointer's
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _tree(self, url, files: dict[str, bytes], folder: str, body: bool) -> None:
                hub.pages.append(self.path)
                listed = []
                folders = set()
                for path, data in sorted(files.items()):
                    if folder and not path.startswith(folder.rstrip("/") + "/"):
                        continue
                    parts = path.split("/")
                    for depth in range(1, len(parts)):
                        folders.add("/".join(parts[:depth]))
                    entry = {"type": "file", "oid": hashlib.sha1(data).hexdigest(),
                             "size": len(data), "path": path}  # fmt: skip
                    if is_lfs(path):
                        entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(),
                                        "size": len(data), "pointerSize": 134}  # fmt: skip
                    listed.append(entry)
                listed += [
                    {"type": "directory", "oid": "0" * 40, "size": 0, "path": f}
                    for f in sorted(folders) if f != folder.rstrip("/")
                ]  # fmt: skip
                if folder and not listed:
                    return self._error(404, "EntryNotFound", f"{folder} does not exist", body)
                query = parse_qs(url.query)
                start = int(query.get("cursor", ["0"])[0])
                page = listed[start : start + PAGE]
                headers = {}
                if start + PAGE < len(listed):
                    base = f"http://{self.headers['Host']}{url.path}"
                    following = f"{base}?recursive=true&cursor={start + PAGE}"
                    headers["Link"] = f'<{following}>; rel="next"'
                return self._send(200, json.dumps(page).encode(), body, headers)

            def _cdn(self, body: bool) -> None:
                url = urlsplit(self.path)
                if self.headers.get("Authorization"):  # a signed CDN URL: no token sent there
                    return self._send(400, b"unexpected Authorization header", body)
                sha = url.path.rsplit("/", 1)[-1]
                data = hub.blob(sha)
                if data is None:
                    return self._send(404, b"no such blob", body)
                path = parse_qs(url.query)["filename"][0]
                if path in hub.corrupt:
                    data = data[:-1] + bytes([data[-1] ^ 1])
                wanted = self.headers.get("Range")
                if body:
                    hub.gets.append((path, wanted))
                start = int(re.fullmatch(r"bytes=(\d+)-", wanted).group(1)) if wanted else 0
                headers = {}
                if start:
                    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                part = data[start:]
                if body and hub.cut_next is not None:
                    cut, hub.cut_next = hub.cut_next, None
                    self.send_response(206 if start else 200)
                    self.send_header("Content-Length", str(len(part)))
                    self.end_headers()
                    self.wfile.write(part[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                self._send(206 if start else 200, part, body, headers)
                if body and hub.after_get:
                    hub.after_get.pop(0)()
                return None

            def _error(self, code: int, kind: str, message: str, body: bool) -> None:
                headers = {"X-Error-Code": kind, "X-Error-Message": message}
                return self._send(code, json.dumps({"error": message}).encode(), body, headers)

            def _send(
                self, code: int, data: bytes, body: bool, headers: dict | None = None
            ) -> None:
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if body:
                    self.wfile.write(data)

        return Handler


def serve(stand_in: StandInHub) -> Iterator[str]:
    """Run the hub and its CDN on 127.0.0.1 (the CDN as `localhost`: another host); yields the
    hub's URL until closed."""
    servers = []
    for role in ("hub", "cdn"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), stand_in.handler(role))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    stand_in.cdn = f"http://localhost:{servers[1].server_address[1]}"
    try:
        yield f"http://127.0.0.1:{servers[0].server_address[1]}"
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def use_hub(monkeypatch: Any, url: str, cache: Path) -> None:
    """huggingface_hub pointed at `url` with the cache `cache`, online, as in a process started
    with HF_ENDPOINT and HF_HUB_CACHE set: it reads them once, into its `constants`, when first
    imported (the resolve URL template included), so both are set."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    go_online(monkeypatch)


def go_offline(monkeypatch: Any) -> None:
    """HF_HUB_OFFLINE=1, as huggingface_hub reads it: into `constants.HF_HUB_OFFLINE`."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def go_online(monkeypatch: Any) -> None:
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
