"""A tiny HTTP server on 127.0.0.1 for download tests: nothing touches the internet.

Fixtures: ``site`` (a running server) and ``home`` (an empty gpukeras home, no
Keras cache, no proxy). Import them into a test module to use them.

``serve()`` starts one on an ephemeral port in a daemon thread; ``files`` maps URL
paths to bytes, ``truncated`` paths send a Content-Length larger than the body and
close early (an interrupted download), anything else is a 404. ``hits`` counts
requests per path so tests can tell a cache hit from a download.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Handler(BaseHTTPRequestHandler):
    timeout = 10  # seconds: a stuck client cannot hold a handler thread forever

    def do_GET(self):  # noqa: N802 (http.server's name)
        site = self.server.site
        site.hits[self.path] += 1
        body = site.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        truncated = self.path in site.truncated
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) * 2 if truncated else len(body)))
        self.end_headers()
        self.wfile.write(body)
        if truncated:
            self.close_connection = True

    def log_message(self, format, *args):  # keep test output clean
        pass


class LocalSite:
    def __init__(self, server: ThreadingHTTPServer):
        self.files: dict[str, bytes] = {}
        self.truncated: set[str] = set()
        self.hits: collections.Counter = collections.Counter()
        self._server = server
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}"

    def add(self, path: str, body: bytes) -> str:
        """Serve ``body`` at ``path``; return its full URL."""
        self.files[path] = body
        return self.base_url + path

    def url(self, path: str) -> str:
        return self.base_url + path


@contextlib.contextmanager
def serve():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    site = LocalSite(server)
    server.site = site
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url(path: str = "/file.bin") -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting fails at once (offline)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty gpukeras home; no Keras cache; no proxy between us and 127.0.0.1."""
    home = tmp_path / "gpukeras-home"
    monkeypatch.setenv("GPUKERAS_HOME", str(home))
    monkeypatch.delenv("GPUKERAS_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def site():
    with serve() as site:
        yield site
