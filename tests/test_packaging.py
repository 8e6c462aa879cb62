"""What a user meets first: a quiet, CuPy-free import, typing marker, README quick start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUBMODULES = (
    "models layers callbacks optimizers losses metrics utils datasets backend activations "
    "initializers regularizers"
).split()


def _run_python(code: str, extra_path: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GPUKERAS_BACKEND"}
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )


def test_import_prints_nothing():
    result = _run_python("import gpukeras")
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")


@pytest.fixture
def fake_cupy(tmp_path):
    """An importable `cupy` stand-in, so an eager import shows up even without a GPU."""
    package = tmp_path / "cupy"
    package.mkdir()
    (package / "__init__.py").write_text("FAKE = True\n")
    return tmp_path


def test_import_leaves_cupy_alone(fake_cupy):
    code = (
        "import sys, gpukeras\n"
        f"for name in {SUBMODULES!r}:\n"
        "    getattr(gpukeras, name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'cupy'))\n"
    )
    result = _run_python(code, extra_path=fake_cupy)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_keras_module_layout():
    result = _run_python(
        "import gpukeras as keras\n"
        "keras.models.Sequential, keras.layers.Dense, keras.callbacks.Callback\n"
        "keras.utils.to_categorical, keras.datasets.digits.load_data\n"
    )
    assert result.returncode == 0, result.stderr


def test_py_typed_marker_is_shipped():
    assert (ROOT / "gpukeras" / "py.typed").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"py.typed"' in pyproject


def test_shipped_data_matches_package_data_globs():
    import tomllib

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["gpukeras"]
    shipped = {p for g in globs for p in (ROOT / "gpukeras").glob(g)}
    data = ROOT / "gpukeras" / "datasets" / "data"
    assert {data / "digits.npz", data / "digits-ATTRIBUTION.txt"} <= shipped


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Quick start\n(.*?)(?=^## )", readme, re.M | re.S)
    assert section, "README.md has no '## Quick start' section"
    blocks = re.findall(r"```[a-z]*\n(.*?)```", section.group(1), re.S)
    assert len(blocks) == 1, "Quick start should hold exactly one fenced block"
    return [line for line in blocks[0].splitlines() if line.strip()]


def test_readme_quick_start_has_the_two_commands():
    run_job, run_tests = _quick_start_commands()
    assert "pip install" in run_job and "examples/mnist_mlp.py" in run_job
    assert "pip install -e '.[test,mpi]'" in run_tests and "pytest" in run_tests


def test_ci_runs_the_readme_test_command():
    _, run_tests = _quick_start_commands()
    pytest_part = run_tests.split("&&")[-1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert pytest_part in ci
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def _extras() -> dict:
    import tomllib  # Python 3.11+; the project supports 3.10, where this test skips

    with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["optional-dependencies"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
@pytest.mark.parametrize(("extra", "wheel"), [("gpu", "cupy-cuda12x"), ("cuda13", "cupy-cuda13x")])
def test_gpu_extras_bring_the_cuda_toolkit_wheels(extra, wheel):
    # Without [ctk], a machine with only the NVIDIA driver has no NVRTC, cuBLAS or cuRAND.
    assert any(requirement.startswith(f"{wheel}[ctk]") for requirement in _extras()[extra])


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_cuda_check_extra_brings_nvrtc_headers_and_bfloat16():
    names = " ".join(_extras()["cuda-check"])
    wheels = ("cupy-cuda12x", "nvidia-cuda-nvrtc-cu12", "nvidia-cuda-runtime-cu12", "ml_dtypes")
    for wheel in wheels:
        assert wheel in names


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_the_test_extra_brings_the_image_extra_so_ci_runs_the_image_tests():
    extras = _extras()
    assert {"scipy>=1.10", "pillow>=10"} == set(extras["image"])
    assert set(extras["image"]) <= set(extras["test"])
    assert set(extras["image"]) <= set(extras["dev"])
