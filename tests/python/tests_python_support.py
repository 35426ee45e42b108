"""Helpers for module-scoped fixtures (pytest fixtures of session scope cannot be used there)."""
import shutil
import subprocess

from conftest import chickenseg_bin


def run_tool(*args):
    return subprocess.run([str(chickenseg_bin()), *map(str, args)], capture_output=True, text=True)


def package_with_flipped_byte(package, file_name, dest):
    """A copy of a model package at `dest` with one byte of `file_name` changed (its middle
    byte, bit 0): what a corrupted download or disk looks like to the SHA-256 check."""
    shutil.copytree(package, dest)
    data = bytearray((dest / file_name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (dest / file_name).write_bytes(bytes(data))
    return dest
