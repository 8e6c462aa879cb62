"""RemoteMonitor: POST every epoch's logs to a server (standard-library HTTP)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings
from typing import Any

import numpy

from gpukeras.callbacks._callback import Callback


def _json_ready(value: Any) -> Any:
    """NumPy scalars and arrays as Python numbers and lists (json cannot encode them)."""
    if isinstance(value, (numpy.ndarray, numpy.generic)):
        return value.tolist()
    return value


class RemoteMonitor(Callback):
    """Send ``{'epoch': e, **logs}`` as an HTTP POST to ``root + path`` after every epoch.

    By default the JSON text is sent as the form field ``field``
    (``application/x-www-form-urlencoded``); with ``send_as_json=True`` the
    body is the JSON itself (``application/json``). Uses :mod:`urllib` from
    the standard library (Keras needs ``requests``). A server that cannot be
    reached, times out (after :attr:`timeout` seconds) or answers with an HTTP
    error gives a warning, never an exception: training goes on.

    Args:
        root: Base URL of the server; default ``'http://localhost:9000'``.
        path: Path appended to ``root``; default ``'/publish/epoch/end/'``.
        field: Form field holding the JSON (form posts only); default ``'data'``.
        headers: Extra HTTP headers; default ``None``.
        send_as_json: Send the JSON as the request body; default ``False``.
    """

    timeout: float = 10.0
    """Seconds to wait for the server before warning and going on."""

    def __init__(
        self,
        root: str = "http://localhost:9000",
        path: str = "/publish/epoch/end/",
        field: str = "data",
        headers: dict[str, str] | None = None,
        send_as_json: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (("root", root), ("path", path), ("field", field)):
            if not isinstance(value, str):
                raise TypeError(f"`{name}` must be a string. Received: {name}={value!r}")
        if headers is not None and not isinstance(headers, dict):
            raise TypeError(f"`headers` must be a dict or None. Received: headers={headers!r}")
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = bool(send_as_json)

    def _request(self, send: dict[str, Any]) -> urllib.request.Request:
        text = json.dumps(send)
        if self.send_as_json:
            body, content_type = text.encode(), "application/json"
        else:
            body = urllib.parse.urlencode({self.field: text}).encode()
            content_type = "application/x-www-form-urlencoded"
        headers = {"Content-Type": content_type, **(self.headers or {})}
        return urllib.request.Request(
            self.root + self.path, data=body, headers=headers, method="POST"
        )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        send = {"epoch": epoch}
        send.update((key, _json_ready(value)) for key, value in (logs or {}).items())
        try:
            request = self._request(send)
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            warnings.warn(
                f"RemoteMonitor: the server at {self.root} answered HTTP {error.code} "
                f"({error.reason}) for {self.root + self.path}",
                stacklevel=2,
            )
        except (urllib.error.URLError, OSError, ValueError):
            # ValueError: a malformed URL; OSError covers timeouts and refused connections.
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)
