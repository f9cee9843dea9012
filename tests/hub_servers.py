"""Hugging Face Hub stand-ins on 127.0.0.1 for the download and upload tests.

Downloads go to a real Hub-compatible server: ``olah`` (PyPI), serving plain git repos from a
folder, exactly as huggingface_hub talks to huggingface.co.

Uploads cannot: olah is read-only and no real Hub is reachable offline. ``CommitApiStandIn`` is
a small loopback stand-in of the Hub's documented commit protocol (``/api/repos/create``,
``/api/validate-yaml``, ``/api/models/<repo>/branch/<name>``, ``/preupload/<rev>``,
``/commit/<rev>`` with an NDJSON body) that writes each commit into a git repo in olah's
folder, so that what was pushed can be downloaded back through olah.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GIT_IDENTITY = ["-c", "user.name=popgen-hub tests", "-c", "user.email=tests@localhost"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_IDENTITY, "-C", str(repo), *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def git_repo(mirrors: Path, repo_id: str) -> Path:
    """The git repo olah serves as model ``repo_id`` (created empty on ``main`` if missing)."""
    repo = mirrors / "models" / repo_id
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "commit", "-q", "--allow-empty", "-m", "initial commit")
    return repo


def commit_folder(mirrors: Path, repo_id: str, folder: Path, message: str,
                  tag: str | None = None) -> str:
    """Commit the files of ``folder`` to the model repo on main; returns the commit id."""
    repo = git_repo(mirrors, repo_id)
    subprocess.run(["cp", "-r", f"{folder}/.", str(repo)], check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    if tag:
        git(repo, "tag", tag)
    return git(repo, "rev-parse", "HEAD")


class OlahServer:
    """``olah-cli`` serving the git repos under ``root/mirrors`` on a free loopback port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mirrors = root / "mirrors"
        self.mirrors.mkdir(parents=True, exist_ok=True)
        (root / "repos").mkdir(exist_ok=True)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> OlahServer:
        config = self.root / "olah.toml"
        config.write_text(
            f'[basic]\nhost = "127.0.0.1"\nport = {self.port}\n'
            f'repos-path = "{self.root / "repos"}"\nmirrors-path = ["{self.mirrors}"]\n'
            f'[accessibility]\noffline = true\n')
        olah = Path(sys.executable).with_name("olah-cli")
        self.process = subprocess.Popen([str(olah), "-c", str(config)], cwd=self.root,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"olah exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("olah did not start within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


class _CommitApi(BaseHTTPRequestHandler):
    server: _CommitServer

    def log_message(self, *args) -> None:  # keep the test output clean
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        try:
            self._post(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        except Exception as exc:  # a stand-in bug shows as a 500, not a dropped connection
            self._reply(500, {"error": f"{type(exc).__name__}: {exc}"})

    def _post(self, body: bytes) -> None:
        self.server.requests.append(self.path)
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return self._reply(401, {"error": "Invalid credentials in Authorization header"})
        endpoint = self.server.endpoint
        if self.path == "/api/validate-yaml":  # the Hub checks a card's front matter
            return self._reply(*_validate_card(json.loads(body)["content"]))
        if self.path == "/api/repos/create":
            request = json.loads(body)
            repo_id = f"{request['organization']}/{request['name']}"
            exists = (self.server.mirrors / "models" / repo_id).is_dir()
            git_repo(self.server.mirrors, repo_id)
            return self._reply(409 if exists else 200, {"url": f"{endpoint}/{repo_id}"})
        match = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit|branch)/([^/?]+).*",
                             self.path)
        if not match:
            return self._reply(404, {"error": f"{self.path} is not part of the stand-in"})
        repo_id, action, revision = match.groups()
        repo = git_repo(self.server.mirrors, repo_id)
        if action == "branch":
            git(repo, "branch", revision, "main")
            return self._reply(200, {})
        if action == "preupload":  # every file goes inline in the commit, as a regular blob
            files = json.loads(body)["files"]
            return self._reply(200, {"files": [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                 "oid": None} for f in files]})
        with self.server.lock:
            git(repo, "checkout", "-q", revision)
            summary = ""
            for line in body.decode().splitlines():
                entry = json.loads(line)
                if entry["key"] == "header":
                    summary = entry["value"]["summary"]
                elif entry["key"] == "file":
                    target = repo / entry["value"]["path"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(base64.b64decode(entry["value"]["content"]))
                else:
                    return self._reply(400, {"error": f"stand-in cannot do {entry['key']}"})
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "--allow-empty", "-m", summary)  # the Hub allows it too
            oid = git(repo, "rev-parse", "HEAD")
            git(repo, "checkout", "-q", "main")
        return self._reply(200, {"commitUrl": f"{endpoint}/{repo_id}/commit/{oid}",
                                 "commitOid": oid, "pullRequestUrl": None})


def _validate_card(content: str) -> tuple[int, dict]:
    """Like the Hub: 400 with messages for front matter that is not YAML or lacks a licence."""
    import yaml

    front = content.split("---\n")[1] if content.startswith("---\n") else ""
    try:
        metadata = yaml.safe_load(front) or {}
    except yaml.YAMLError as exc:
        return 400, {"errors": [{"message": f"invalid YAML: {exc}"}], "warnings": []}
    if "license" not in metadata:
        return 400, {"errors": [{"message": '"license" is required'}], "warnings": []}
    return 200, {"errors": [], "warnings": []}


class _CommitServer(ThreadingHTTPServer):
    def __init__(self, mirrors: Path) -> None:
        super().__init__(("127.0.0.1", 0), _CommitApi)
        self.mirrors = mirrors
        self.endpoint = f"http://127.0.0.1:{self.server_address[1]}"
        self.requests: list[str] = []
        self.lock = threading.Lock()


class CommitApiStandIn:
    """The loopback upload stand-in, committing into ``mirrors`` (olah's folder)."""

    def __init__(self, mirrors: Path) -> None:
        self.server = _CommitServer(mirrors)
        self.endpoint = self.server.endpoint
        self.requests = self.server.requests
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CommitApiStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
