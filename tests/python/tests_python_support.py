"""Helpers for module-scoped fixtures (pytest fixtures of session scope cannot be used there)."""
import subprocess

from conftest import chickenseg_bin


def run_tool(*args):
    return subprocess.run([str(chickenseg_bin()), *map(str, args)], capture_output=True, text=True)
