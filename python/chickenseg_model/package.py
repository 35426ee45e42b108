"""The model package directory (DESIGN.md "Model package"): manifest.json + artefacts.

manifest.json (schema chickenseg.package/2) records the prompts, input size, mean/std,
thresholds, torch version and device the artefacts were made for, the model source, the
dataset version / config the model was trained from, and the SHA-256 of every file, which
`check_package` verifies before anything is loaded: a changed byte is refused.
"""
import hashlib
import json
from pathlib import Path

from chickenseg_model.errors import ModelError

SCHEMA = "chickenseg.package/2"
MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise ModelError(f"{folder}: not a model package ({MANIFEST} missing)")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ModelError(f"{path}:{e.lineno}: malformed JSON: {e.msg}") from None
    if manifest.get("schema") != SCHEMA:
        hint = (": exported by an earlier chickenseg; re-export it with `chickenseg model export`"
                if manifest.get("schema") == "chickenseg.package/1" else "")
        raise ModelError(f"{path}: schema: expected {SCHEMA!r}, found {manifest.get('schema')!r}{hint}")
    return manifest


def check_package(folder: Path) -> dict:
    """Verifies every file's SHA-256 against the manifest; returns the manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ModelError(f"{folder / MANIFEST}: files: expected a map of file name -> sha256")
    for name, expected in sorted(files.items()):
        path = folder / name
        if not path.exists():
            raise ModelError(f"{path}: listed in {MANIFEST} but missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelError(f"{path}: SHA-256 mismatch (manifest {expected[:16]}..., file {actual[:16]}...): "
                             "the package is corrupted or was modified; re-export it")
    return manifest
