"""The active-learning cycle of docs/active_learning.md as one sequence, on the sample data, with a
simulated annotator (the sample's own LabelMe files are the truth): `mine` an inbox -> correct
every mined image through `chickenseg annotate`'s HTTP API -> `data convert` (only reviewed files)
-> `data merge --on-duplicate replace` -> `data version --tag v1.1` in a git repository -> `train`
from that version -> `eval` both models -> `compare`. The previous model is test_predict.py's
`trained` tiny model. Also: `data convert`'s rule for files that were never reviewed."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from annotate_support import Server
from chickenseg_model.annotate_client import Labels, annotate_like_the_truth
from conftest import ROOT
from test_predict import tool, trained  # noqa: F401 (trained: a fixture, built once here)

GIT_ENV = {"GIT_AUTHOR_NAME": "cycle", "GIT_AUTHOR_EMAIL": "cycle@example.org", "GIT_COMMITTER_NAME": "cycle",
           "GIT_COMMITTER_EMAIL": "cycle@example.org", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
QUIET = {"CHICKENSEG_QUIET": "1"}


def cs(*args, check=True, env=None):
    return tool(*args, check=check, env={**QUIET, **(env or {})})


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}).stdout.strip()


def annotations_of(ds, file_name):
    ids = [im["id"] for im in ds["images"] if im["file_name"] == file_name]
    assert len(ids) == 1, (file_name, ids)
    return ids[0], [a for a in ds["annotations"] if a["image_id"] == ids[0]]


def metrics(model, val, root, out: Path):
    cs("model", "predict", "--model", model, "--device", "cpu", "--dataset", val, "--image-root", root,
       "--out", out / "pred.json", "--presence-out", out / "pred.presence.json")
    cs("eval", "--gt", val, "--pred", out / "pred.json", "--presence", out / "pred.presence.json",
       "--out", out / "metrics.json")
    return out / "metrics.json"


@pytest.mark.model
def test_the_cycle_mine_annotate_merge_version_train_compare(trained, tmp_path):  # noqa: F811
    root = tmp_path / "farm"  # the git repository
    data = root / "data"      # the image root of every dataset
    cs("data", "sample", "--out", tmp_path / "raw", "--count", "24", "--size", "160x120", "--seed", "5")
    raw = tmp_path / "raw" / "labelme"
    label_map = tmp_path / "raw" / "label_map.yaml"
    scenes = json.loads((tmp_path / "raw" / "sample.json").read_text())["scenes"]
    positives = [s["file_name"] for s in scenes if s["kind"] == "positive"]
    negatives = [s["file_name"] for s in scenes if s["kind"] == "hard_negative"]
    assert len(positives) >= 10 and len(negatives) >= 4, scenes

    def place(names, folder):
        folder.mkdir(parents=True, exist_ok=True)
        for n in names:
            shutil.copy(raw / n, folder / n)
            if (raw / (Path(n).stem + ".json")).exists():
                shutil.copy(raw / (Path(n).stem + ".json"), folder / (Path(n).stem + ".json"))

    base_names = positives[:5] + negatives[:2]
    val_names = positives[5:8] + negatives[2:3]
    new_names = positives[8:10] + negatives[3:4]
    place(base_names, data / "base")
    place(val_names, data / "val")
    cs("data", "convert", data / "base", "--label-map", label_map, "--image-root", data, "--out", data / "base.json")
    cs("data", "convert", data / "val", "--label-map", label_map, "--image-root", data, "--out", data / "val.json")
    # An earlier annotation mistake: the first base image's chickens were missed. Its correction
    # must replace the record, not add a second one.
    wrong = base_names[0]
    base = json.loads((data / "base.json").read_text())
    wrong_id, wrong_anns = annotations_of(base, "base/" + wrong)
    assert wrong_anns
    base["annotations"] = [a for a in base["annotations"] if a["image_id"] != wrong_id]
    (data / "base.json").write_text(json.dumps(base))

    # 1. mine: the inbox holds new images and the mislabelled one (every image a candidate).
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in new_names + [wrong]:
        shutil.copy(raw / n, inbox / n)
    mined = data / "to_annotate"
    r = cs("--json", "mine", "--package", trained["package"], "--images", inbox, "--out", mined,
           "--presence-band", "0,1", "--no-dedup", "--limit", "0")
    chosen = [c["file"] for c in json.loads((mined / "mining.json").read_text())["chosen"]]
    n = len(chosen)
    assert n >= 1 and json.loads(r.stdout)["chosen"] == n
    assert set(chosen) == set(new_names + [wrong])

    # Before review, the pre-filled files count for nothing (a folder mine wrote).
    r = cs("--json", "data", "convert", mined, "--label-map", label_map, "--image-root", data, "--dry-run")
    before = json.loads(r.stdout)
    assert before["reviewed_only"] and before["images"] == 0 and before["excluded"] == {"not_reviewed": n}

    # 2. annotate: every mined image corrected through the HTTP API (the shared simulated
    #    annotator: python/chickenseg_model/annotate_client.py).
    server = Server(mined, trained["package"])
    try:
        saved, skipped = annotate_like_the_truth(server, raw, Labels(label_map))
        status, listing = server.get("/api/images")
    finally:
        code, err = server.stop()
    assert code == 0, err
    assert skipped == [] and listing["done"] == listing["total"] == len(saved)
    assert set(saved) == set(chosen)
    assert all(json.loads((mined / (Path(f).stem + ".json")).read_text())["flags"]["reviewed"] for f in chosen)

    # 3. convert the corrected folder: every reviewed image, the corrections as annotations.
    r = cs("--json", "data", "convert", mined, "--label-map", label_map, "--image-root", data,
           "--out", data / "corrected.json")
    summary = json.loads(r.stdout)
    assert summary["reviewed_only"] and summary["images"] == n and summary["excluded"] == {}
    corrected = json.loads((data / "corrected.json").read_text())
    cs("data", "convert", raw, "--label-map", label_map, "--out", tmp_path / "truth.json")
    truth = json.loads((tmp_path / "truth.json").read_text())
    for f in chosen:
        _, got = annotations_of(corrected, "to_annotate/" + f)
        _, want = annotations_of(truth, f)
        assert len(got) == len(want), f

    # 4. merge with replace: base + N - 1 images (the re-annotated one replaced in place).
    r = cs("--json", "data", "merge", "--base", data / "base.json", "--add", data / "corrected.json",
           "--out", data / "train.json", "--image-root", data, "--on-duplicate", "replace")
    merge = json.loads(r.stdout)
    assert merge["replaced"]["images"] == 1 and merge["added"]["images"] == n - 1
    merged = json.loads((data / "train.json").read_text())
    assert len(merged["images"]) == len(base["images"]) + n - 1
    assert {im["file_name"] for im in merged["images"]} == \
        {"base/" + b for b in base_names} | {"to_annotate/" + f for f in chosen if f != wrong}
    rid, replaced = annotations_of(merged, "base/" + wrong)
    _, fix = annotations_of(corrected, "to_annotate/" + wrong)
    assert rid == wrong_id and replaced and len(replaced) == len(fix)
    assert sorted(a["area"] for a in replaced) == sorted(a["area"] for a in fix)
    assert sorted(json.dumps(a["segmentation"]) for a in replaced) == sorted(json.dumps(a["segmentation"]) for a in fix)

    # 5. version v1.1 in a git repository: a real tag on the commit of the version's files.
    git(root, "init", "-q")
    r = cs("--json", "data", "version", "--dataset", data / "train.json", "--dataset", data / "val.json",
           "--image-root", data, "--no-dvc", "--tag", "v1.1", env=GIT_ENV)
    version = json.loads(r.stdout)
    assert version["tag"] == "v1.1" and len(version["version_id"]) == 64
    assert git(root, "rev-parse", "v1.1^{commit}") == version["git_commit"]
    assert "data/train.version.json" in git(root, "show", "--name-only", "--format=", "v1.1").splitlines()

    # 6. train from that version, starting from the previous model (one short epoch).
    run = tmp_path / "run"
    cs("train", "-c", ROOT / "configs" / "train_tiny.yaml", f"train_json={data / 'train.json'}",
       f"val_json={data / 'val.json'}", f"img_dir={data}", f"output_dir={run}", "resume=null", "seed=0",
       f"model.checkpoint={trained['model']}", "train.max_epochs=1", "train.batch_size=4", "val.num_overlays=0",
       "checkpoint.save_top_k=1", "logging.wandb=disabled")
    recorded = json.loads((run / "dataset_version.json").read_text())
    for side in ("train", "val"):
        assert recorded[side]["tag"] == "v1.1" and recorded[side]["version_id"] == version["version_id"], recorded

    # 7. compare the previous model (baseline) with the new one on the validation set.
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = metrics(trained["model"], data / "val.json", data, tmp_path / "old")
    new = metrics(run / "last", data / "val.json", data, tmp_path / "new")
    r = cs("compare", old, new, "--improvement", "absolute", check=False)
    assert r.returncode in (0, 1), r.stderr
    assert "decision: PROMOTE" in r.stdout or "decision: REJECT" in r.stdout, r.stdout
    r = cs("--json", "compare", old, new, "--improvement", "absolute", check=False)
    decision = json.loads(r.stdout)
    assert decision["decision"] in ("promote", "reject")
    assert Path(decision["baseline"]["file"]).resolve() == old.resolve()
    assert Path(decision["candidate"]["file"]).resolve() == new.resolve()
    assert all(m["baseline"] is not None or m["candidate"] is not None for m in decision["metrics"])


def write_labelme(path: Path, image: str, shapes, flags):
    path.write_text(json.dumps({"version": "5.11.4", "flags": flags, "shapes": shapes, "imagePath": image,
                                "imageData": None, "imageHeight": 120, "imageWidth": 160}))


def square_shape(x, y):
    return {"label": "chicken", "points": [[x, y], [x + 20, y], [x + 20, y + 20], [x, y + 20]], "group_id": None,
            "description": "score 0.90", "shape_type": "polygon", "flags": {}, "mask": None}


def test_convert_takes_only_reviewed_files_from_a_mined_folder(tmp_path):
    """The rule: in a folder `mine` wrote (it has mined.jsonl), an image counts only when its
    LabelMe file has `reviewed: true`; pre-filled files never saved and images without a file are
    left out, listed. `--reviewed any` takes them all; `--reviewed only` applies it anywhere."""
    cs("data", "sample", "--out", tmp_path / "raw", "--count", "4", "--size", "160x120", "--seed", "1")
    folder = tmp_path / "mined"
    folder.mkdir()
    names = sorted(p.name for p in (tmp_path / "raw" / "labelme").iterdir() if p.suffix != ".json")[:4]
    for name in names:
        shutil.copy(tmp_path / "raw" / "labelme" / name, folder / name)
    a, b, c, d = names
    write_labelme(folder / (Path(a).stem + ".json"), a, [square_shape(5, 5)], {"unstable_mask": True, "reviewed": True})
    write_labelme(folder / (Path(b).stem + ".json"), b, [square_shape(5, 5)], {"unstable_mask": True})  # pre-filled
    write_labelme(folder / (Path(c).stem + ".json"), c, [], {"confirmed_negative": True, "reviewed": True})
    # d: no LabelMe file at all. mine's own files sit beside them.
    (folder / "mined.jsonl").write_text(json.dumps({"file": a}) + "\n")
    (folder / "mining.json").write_text(json.dumps({"chosen": []}))

    r = cs("--json", "data", "convert", folder, "--out", tmp_path / "ds.json")
    s = json.loads(r.stdout)
    assert s["reviewed_only"] and s["images"] == 2 and s["positives"] == 1 and s["negatives"] == 1
    assert s["excluded"] == {"not_reviewed": 2}
    assert {e["file_name"] for e in s["excluded_images"]} == {b, d}
    ds = json.loads((tmp_path / "ds.json").read_text())
    assert sorted(im["file_name"] for im in ds["images"]) == [a, c]
    r = cs("data", "convert", folder, "--out", tmp_path / "ds2.json")  # the table says so too
    assert "2 not reviewed left out" in r.stdout

    r = cs("--json", "data", "convert", folder, "--out", tmp_path / "all.json", "--reviewed", "any")
    s = json.loads(r.stdout)
    assert not s["reviewed_only"] and s["images"] == 4 and s["excluded"] == {}

    # Elsewhere (no mined.jsonl) every file counts unless --reviewed only is asked for.
    (folder / "mined.jsonl").unlink()
    (folder / "mining.json").unlink()
    s = json.loads(cs("--json", "data", "convert", folder, "--dry-run").stdout)
    assert not s["reviewed_only"] and s["images"] == 4
    s = json.loads(cs("--json", "data", "convert", folder, "--dry-run", "--reviewed", "only").stdout)
    assert s["reviewed_only"] and s["images"] == 2

    # Bad uses: one line, no traceback.
    r = cs("data", "convert", folder, "--dry-run", "--reviewed", "maybe", check=False)
    assert r.returncode == 2 and "--reviewed" in r.stderr
    coco = tmp_path / "coco.json"
    shutil.copy(tmp_path / "ds.json", coco)
    r = cs("data", "convert", coco, "--dry-run", "--reviewed", "only", "--image-root", folder, check=False)
    assert r.returncode == 1 and "only applies to LabelMe" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr

