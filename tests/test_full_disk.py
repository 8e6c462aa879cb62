"""A full disk during fit: every file-writing callback raises one error that names it and the
file; no crash, the previous checkpoint survives and no temporary file is left.

Each disk is made full in a child process (tests/full_disk_job.py), in two ways:
a 1 MiB tmpfs when this runs as root and mounting is allowed, and always
``RLIMIT_FSIZE`` (a cap on file size), so one of the two runs everywhere.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="tmpfs and RLIMIT_FSIZE semantics are Linux's"
)

JOB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "full_disk_job.py")
ROOT = os.path.dirname(os.path.dirname(JOB))
SCENARIOS = [
    "ModelCheckpoint .h5",
    "ModelCheckpoint .weights.h5",
    "ModelCheckpoint .keras",
    "BackupAndRestore",
    "CSVLogger",
    "TensorBoard",
]


def _mount_tmpfs(folder: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    command = ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", folder]
    return subprocess.run(command, capture_output=True).returncode == 0


def _run_job(mode: str, folder: str) -> dict:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, JOB, mode, folder],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert done.returncode == 0, (
        f"the job died (returncode {done.returncode}; a negative one is a signal):\n"
        f"{done.stdout}\n{done.stderr[-4000:]}"
    )
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {result["scenario"]: result for result in results}


@pytest.fixture(scope="module", params=["tmpfs", "fsize"])
def full_disk_results(request, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp(f"disk_{request.param}"))
    if request.param == "tmpfs":
        if not _mount_tmpfs(folder):
            pytest.skip("no small tmpfs here (needs root and mount rights); RLIMIT_FSIZE runs")
        try:
            yield _run_job("tmpfs", folder)
        finally:
            subprocess.run(["umount", folder], check=False)
    else:
        yield _run_job("fsize", folder)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_full_disk_raises_one_error_naming_the_callback_and_the_file(full_disk_results, scenario):
    result = full_disk_results[scenario]
    assert result["error_type"] == "OSError", result
    assert result["errno"] in (errno.ENOSPC, errno.EFBIG), result
    callback = scenario.split()[0]
    assert callback in result["message"], result["message"]
    assert result["folder"] in result["message"], result["message"]
    # Raised once: no second identical error chained during clean-up.
    assert result["traceback"].count("[Errno") == 1, result["traceback"]
    assert "During handling" not in result["traceback"], result["traceback"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_full_disk_keeps_the_previous_file_and_leaves_no_temporary(full_disk_results, scenario):
    result = full_disk_results[scenario]
    assert result["kept_file_intact"], result
    assert not [name for name in result["files"] if name.endswith(".tmp")], result["files"]
