"""Shared fixtures: the chickenseg binary under test and the real data in ../shared."""
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"


def chickenseg_bin() -> Path:
    env = os.environ.get("CHICKENSEG_BIN")
    path = Path(env) if env else ROOT / "build" / "chickenseg"
    if not path.exists():
        raise RuntimeError(f"chickenseg binary not found at {path}: run scripts/setup first")
    return path


@pytest.fixture(scope="session")
def cs():
    """Runs `chickenseg ARGS...`; returns CompletedProcess (text). check=False."""
    binary = chickenseg_bin()

    def run(*args, check=False, **kw):
        proc = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, **kw)
        if check and proc.returncode != 0:
            raise AssertionError(f"chickenseg {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    return run


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """One export of the tiny model in every format, shared by every suite that needs a model
    package (AOTInductor compiles C++: the slow part of the model tests)."""
    out = tmp_path_factory.mktemp("pkg") / "package"
    r = subprocess.run([str(chickenseg_bin()), "model", "export", "--model", "tiny", "--device", "cpu",
                        "--out", str(out), "--prompt", "chicken", "--prompt", "hen",
                        "--format", "torchscript", "--format", "aoti", "--format", "onnx"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def run_package_bin() -> Path:
    """The run-package tool (built beside chickenseg when CMake found LibTorch). Skips only when
    the build says LibTorch was not found; a torch build without the binary is a failure."""
    env = os.environ.get("CHICKENSEG_RUN_PACKAGE")
    path = Path(env) if env else chickenseg_bin().parent / "run-package"
    if path.exists():
        return path
    cache = path.parent / "CMakeCache.txt"
    if cache.exists() and "CHICKENSEG_TORCH_ENABLED_RESULT:INTERNAL=OFF" in cache.read_text():
        pytest.skip(f"{path} not built: CMake did not find LibTorch in {path.parent} "
                    "(configure with -DCMAKE_PREFIX_PATH=<torch.utils.cmake_prefix_path>, as scripts/setup does)")
    raise RuntimeError(f"run-package not found at {path} (LibTorch was found, so it should have been built): "
                       "run scripts/setup, or set CHICKENSEG_RUN_PACKAGE")


@pytest.fixture(scope="session")
def chicken_egg_yolo() -> Path:
    path = SHARED / "datasets" / "chicken-egg-yolo"
    if not path.is_dir():
        pytest.fail(f"real test data missing: {path} (the project's tests read ../shared)")
    return path


def load_json(path):
    with open(path) as f:
        return json.load(f)
