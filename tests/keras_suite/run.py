"""Run Keras 3's own callback and optimizer tests against gpukeras and print the pass counts.

    PYTHONPATH=$PWD python tests/keras_suite/run.py [callbacks] [optimizers] [metrics]
        [--min-pass N] [-- args]

``metrics`` (Keras's ``keras/src/metrics/*_test.py``) runs only when named. ``--min-pass N``
exits 1 when fewer than N tests pass: CI's floor, recorded in ``.ci/run``.

The Python running this needs keras 3.15 installed (its wheel holds the ``*_test.py`` files), plus
absl-py and pytest; ``nox -s keras-suite`` builds such an environment. The test files are copied
from the installed wheel into a temporary directory at run time: none of Keras's test code is in
this repository. Without a keras wheel it says so and exits 0.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

GROUPS = ("callbacks", "optimizers")  # issue 16's measure: what runs by default
# Run only when named: Keras's metric tests, a check of gpukeras.metrics outside that measure.
OPTIONAL_GROUPS = ("metrics",)
REPO_ROOT = Path(__file__).resolve().parents[2]
CONFTEST = "from tests.keras_suite.plugin import *  # noqa: F403\n"


def keras_source_dir() -> Path | None:
    """keras/src of the installed keras wheel, found without importing keras."""
    try:
        dist = importlib.metadata.distribution("keras")
    except importlib.metadata.PackageNotFoundError:
        return None
    src = Path(dist.locate_file("keras/src"))
    return src if src.is_dir() else None


def copy_tests(src: Path, group: str, dest: Path) -> Path:
    target = dest / group
    target.mkdir(parents=True)
    for test_file in sorted((src / group).glob("*_test.py")):
        shutil.copy(test_file, target / test_file.name)
    return target


def run_group(src: Path, group: str, workdir: Path, pytest_args: list[str]) -> tuple[int, int]:
    """(passed, total) for one group; total counts failures, errors and skips too."""
    tests_dir = copy_tests(src, group, workdir)
    report = workdir / f"{group}.xml"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(workdir)])}
    env.setdefault("GPUKERAS_BACKEND", "numpy")
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(workdir),
        "-c", os.devnull, "--continue-on-collection-errors", f"--junitxml={report}",
        str(tests_dir), *pytest_args,
    ]  # fmt: skip
    subprocess.run(command, cwd=workdir, env=env, check=False)
    return junit_counts(report)


def junit_counts(report: Path) -> tuple[int, int]:
    if not report.exists():
        return 0, 0
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(suite.get("tests", 0)) for suite in suites)
    not_passed = sum(
        int(suite.get(key, 0)) for suite in suites for key in ("failures", "errors", "skipped")
    )
    return total - not_passed, total


def main(argv: list[str]) -> int:
    pytest_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    named = argv[: argv.index("--")] if "--" in argv else argv
    floor, named = _min_pass(named)
    chosen = [arg for arg in named if arg in GROUPS + OPTIONAL_GROUPS]
    src = keras_source_dir()
    if src is None:
        print("keras-suite: skipped, no keras wheel is installed in this Python")
        return 0
    print(f"keras-suite: Keras {importlib.metadata.version('keras')} tests from {src}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="keras_suite_") as tmp:
        workdir = Path(tmp)
        (workdir / "conftest.py").write_text(CONFTEST)
        for group in chosen or GROUPS:
            results[group] = run_group(src, group, workdir, pytest_args)
    for group, (passed, total) in results.items():
        print(f"keras-suite {group}: {passed} of {total} pass")
    passed = sum(p for p, _ in results.values())
    total = sum(t for _, t in results.values())
    print(f"keras-suite total: {passed} of {total} pass")
    if floor is not None and passed < floor:
        print(f"keras-suite: {passed} pass, fewer than --min-pass {floor}: a regression")
        return 1
    return 0


def _min_pass(named: list[str]) -> tuple[int | None, list[str]]:
    """``--min-pass N`` (CI's floor: fewer passing tests fail the run) and the other names."""
    if "--min-pass" not in named:
        return None, named
    at = named.index("--min-pass")
    if at + 1 >= len(named) or not named[at + 1].isdigit():
        raise SystemExit(f"--min-pass needs a number. Received: {named[at + 1 : at + 2]}")
    return int(named[at + 1]), named[:at] + named[at + 2 :]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
