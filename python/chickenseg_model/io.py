"""Atomic file writes: a temporary file in the target folder, then rename."""
import json
import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".tmp.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path, value, indent: int | None = None) -> None:
    write_bytes_atomic(path, (json.dumps(value, indent=indent) + "\n").encode())


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
