"""Helpers for module-scoped fixtures (pytest fixtures of session scope cannot be used there)."""
import shutil
import signal
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


def ctrl_c_as_in_a_terminal():
    # A job started in the background of a non-interactive shell (`pytest ... &` in a CI script)
    # inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler: the child
    # would shrug off the Ctrl-C below and finish with exit 0. A terminal's foreground job has
    # the default disposition, which is what this test is about.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
