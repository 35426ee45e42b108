"""Which data a run trained on, stored beside its weights.

In order of preference, for the train and val JSON each:
1. `<dataset>.version.json` (written by `chickenseg data version`, DVC or manifest method):
   its method and version_id;
2. `<dataset>.manifest.json` (the content manifest alone): its version_id;
3. otherwise the SHA-256 of the JSON file itself (method "file-sha256"): the annotations are
   pinned, the image bytes are not (run `chickenseg data version` to pin them too).
"""
import hashlib
import json
from pathlib import Path

from chickenseg_model.errors import ModelError
from chickenseg_model.package import sha256_file




def _one(dataset: Path) -> dict:
    dataset = Path(dataset)
    for suffix, method_key in ((".version.json", "method"), (".manifest.json", None)):
        record = dataset.with_name(dataset.name + suffix)
        if record.exists():
            try:
                doc = json.loads(record.read_text())
            except json.JSONDecodeError as e:
                raise ModelError(f"{record}:{e.lineno}: malformed JSON: {e.msg}") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("version_id"), str):
                raise ModelError(f"{record}: version_id: expected a string (rewrite it with `chickenseg data version`)")
            return {"path": str(dataset), "method": doc.get(method_key) if method_key else "manifest",
                    "version_id": doc["version_id"], "record": str(record),
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
