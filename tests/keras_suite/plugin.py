"""pytest plugin for the Keras suite: installs the keras->gpukeras shim and Keras's test markers.

The runner writes a conftest.py that star-imports this module next to the copied test files, so
``from conftest import skip_if_backend`` (used by one Keras test file) finds it here.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GPUKERAS_BACKEND", "numpy")

from tests.keras_suite import shim  # noqa: E402

shim.install()

KERAS_MARKERS = [
    "requires_trainable_backend: gpukeras trains, so these run",
    "multi_device: needs several devices (skipped)",
]


def pytest_configure(config: pytest.Config) -> None:
    for marker in KERAS_MARKERS:
        config.addinivalue_line("markers", marker)


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    for item in items:
        if item.get_closest_marker("multi_device"):
            item.add_marker(pytest.mark.skip(reason="Keras multi-device test: one device here"))


def skip_if_backend(given_backend: str, reason: str):
    """Keras's conftest helper: skip when running on ``given_backend`` (never gpukeras)."""
    return pytest.mark.skipif(given_backend == "gpukeras", reason=reason)
