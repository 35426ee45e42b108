"""Atomic file writes: a temporary file in the target folder, then rename."""
import json
import os
import tempfile
from pathlib import Path


def _cannot_write(path: Path, e: OSError):
    from chickenseg_model.errors import ModelError

    return ModelError(f"{path}: cannot write: {e.strerror or e}")


def check_writable(*paths: Path) -> None:
    """Before a long run: each path's folder exists (created) and takes a new file, so that an
    output that cannot be written is an error at the start, not after all the work."""
    for path in map(Path, paths):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".tmp.")
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise _cannot_write(path, e) from None


def write_files_atomic(files: dict) -> None:
    """{path: bytes}: every file written to a temporary file beside it first, then all renamed,
    so that a failure leaves none of them changed (a results file is never left without its
    presence file). OSError becomes the project's one-line error naming the file."""
    written = []  # (tmp, path)
    try:
        for path, data in files.items():
            path = Path(path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".tmp.")
                written.append((tmp, path))
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, 0o644)
            except OSError as e:
                raise _cannot_write(path, e) from None
        for tmp, path in written:
            try:
                os.replace(tmp, path)
            except OSError as e:
                raise _cannot_write(path, e) from None
    except BaseException:
        for tmp, _ in written:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    write_files_atomic({Path(path): data})


def json_bytes(value, indent: int | None = None) -> bytes:
    return (json.dumps(value, indent=indent) + "\n").encode()


def write_json_atomic(path: Path, value, indent: int | None = None) -> None:
    write_bytes_atomic(path, json_bytes(value, indent))


def read_json(path: Path, what: str = "file"):
    """json.load with errors that name the file (and the line of a syntax error)."""
    from chickenseg_model.errors import ModelError

    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{path}: {what} not found") from None
    except json.JSONDecodeError as e:
        raise ModelError(f"{path}:{e.lineno}: malformed JSON: {e.msg}") from None
