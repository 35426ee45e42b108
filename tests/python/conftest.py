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
def chicken_egg_yolo() -> Path:
    path = SHARED / "datasets" / "chicken-egg-yolo"
    if not path.is_dir():
        pytest.fail(f"real test data missing: {path} (the project's tests read ../shared)")
    return path


def load_json(path):
    with open(path) as f:
        return json.load(f)
