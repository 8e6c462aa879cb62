"""RemoteMonitor against a real HTTP server on 127.0.0.1 (an ephemeral port, in a thread)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import urllib.parse
import warnings

import numpy as np
import pytest

from gpukeras.callbacks import RemoteMonitor
from tests.callbacks_support import tiny_data, tiny_model


class Recorder(http.server.BaseHTTPRequestHandler):
    """Stores each POST (path, headers, body); answers with the server's ``status``."""

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.server.received.append((self.path, dict(self.headers), body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    httpd.received = []
    httpd.status = 200
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def root_of(httpd):
    host, port = httpd.server_address
    return f"http://{host}:{port}"


def test_form_post_per_epoch_from_fit(server):
    x, y = tiny_data(32)
    monitor = RemoteMonitor(root=root_of(server))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny_model().fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[monitor])
    assert len(server.received) == 2
    for epoch, (path, headers, body) in enumerate(server.received):
        assert path == "/publish/epoch/end/"
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        form = urllib.parse.parse_qs(body.decode())
        data = json.loads(form["data"][0])
        assert data["epoch"] == epoch
        assert sorted(data) == ["accuracy", "epoch", "loss", "val_accuracy", "val_loss"]
        assert isinstance(data["loss"], float)


def test_json_body_custom_field_path_headers(server):
    monitor = RemoteMonitor(
        root=root_of(server),
        path="/log",
        field="ignored_for_json",
        headers={"X-Run": "abc"},
        send_as_json=True,
    )
    monitor.on_epoch_end(3, {"loss": np.float32(0.5), "vec": np.array([1, 2])})
    path, headers, body = server.received[0]
    assert path == "/log"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Run"] == "abc"
    assert json.loads(body) == {"epoch": 3, "loss": 0.5, "vec": [1, 2]}


def test_custom_form_field(server):
    RemoteMonitor(root=root_of(server), field="payload").on_epoch_end(0, {"loss": 1.0})
    form = urllib.parse.parse_qs(server.received[0][2].decode())
    assert json.loads(form["payload"][0]) == {"epoch": 0, "loss": 1.0}


def test_http_error_warns(server):
    server.status = 500
    with pytest.warns(UserWarning, match="answered HTTP 500"):
        RemoteMonitor(root=root_of(server)).on_epoch_end(0, {"loss": 1.0})


def test_unreachable_server_warns_and_training_goes_on():
    # A port that was free a moment ago: nothing listens there.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = f"http://127.0.0.1:{port}"
    x, y = tiny_data(32)
    with pytest.warns(UserWarning, match=f"Could not reach RemoteMonitor root server at {root}"):
        history = tiny_model().fit(x, y, epochs=2, verbose=0, callbacks=[RemoteMonitor(root)])
    assert len(history.epoch) == 2


def test_malformed_url_warns():
    with pytest.warns(UserWarning, match="Could not reach"):
        RemoteMonitor(root="not a url").on_epoch_end(0, {})


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"root": 9000}, "Received: root=9000"),
        ({"path": None}, "Received: path=None"),
        ({"headers": [("a", "b")]}, r"Received: headers=\[\('a', 'b'\)\]"),
    ],
)
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(TypeError, match=pattern):
        RemoteMonitor(**kwargs)
