"""Which data a run trained on, stored beside its weights.

In order of preference, for the train and val JSON each:
1. `<stem>.version.json` (written by `chickenseg data version`, DVC or manifest method; for
   several datasets versioned together, named after the first and listing the others): its
   method, version_id and tag;
2. `<stem>.manifest.json` (the content manifest alone): its version_id;
3. otherwise the SHA-256 of the JSON file itself (method "file-sha256"): the annotations are
   pinned, the image bytes are not (run `chickenseg data version` to pin them too).
"""
import hashlib
import json
from pathlib import Path

from chickenseg_model.errors import ModelError
from chickenseg_model.package import sha256_file


def _load(record: Path) -> dict:
    try:
        doc = json.loads(record.read_text())
    except json.JSONDecodeError as e:
        raise ModelError(f"{record}:{e.lineno}: malformed JSON: {e.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("version_id"), str):
        raise ModelError(f"{record}: version_id: expected a string (rewrite it with `chickenseg data version`)")
    return doc


def _covers(record: Path, doc: dict, dataset: Path) -> bool:
    """Whether a version record lists `dataset` (its paths are relative to the record's folder)."""
    listed = doc.get("datasets")
    return isinstance(listed, list) and any(
        isinstance(d, str) and (record.parent / d).resolve() == dataset.resolve() for d in listed)


def _record_of(dataset: Path):
    """The record `chickenseg data version` wrote for `dataset`, and its method key: named after
    the dataset (`<stem>.version.json`, as the C++ tool names it), or, when several datasets were
    versioned together (train and val), the record named after the first that lists it."""
    for suffix, method_key in ((".version.json", "method"), (".manifest.json", None)):
        own = dataset.with_name(dataset.stem + suffix)
        if own.exists():
            return own, _load(own), method_key
    for record in sorted(dataset.parent.glob("*.version.json")):
        doc = _load(record)
        if _covers(record, doc, dataset):
            return record, doc, "method"
    return None, None, None


def _one(dataset: Path) -> dict:
    dataset = Path(dataset)
    record, doc, method_key = _record_of(dataset)
    if record is not None:
        return {"path": str(dataset), "method": doc.get(method_key) if method_key else "manifest",
                "version_id": doc["version_id"], "tag": doc.get("tag"), "record": str(record),
                "file_sha256": sha256_file(dataset)}
    return {"path": str(dataset), "method": "file-sha256", "version_id": sha256_file(dataset),
            "file_sha256": sha256_file(dataset)}


def dataset_version(train_json: Path, val_json: Path | None) -> dict:
    out = {"schema": "chickenseg.train-dataset-version/1", "train": _one(train_json)}
    if val_json:
        out["val"] = _one(val_json)
    # One id for the pair, for the model package manifest.
    joined = out["train"]["version_id"] + ("+" + out["val"]["version_id"] if val_json else "")
    out["version_id"] = hashlib.sha256(joined.encode()).hexdigest()
    return out
