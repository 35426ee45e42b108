"""The Python model package, driven through the C++ tool as users drive it: tiny model
load, reference prediction on an SA-Co dataset, export of both formats, verification, and
refusal of a corrupted package."""
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest
import torch
from PIL import Image

from chickenseg_model.loading import load_model
from chickenseg_model.tiny import build_tiny_model
from conftest import chickenseg_bin
from tests_python_support import ctrl_c_as_in_a_terminal, package_with_flipped_byte


def test_tiny_model_is_reproducible():
    a, b, c = build_tiny_model(0), build_tiny_model(0), build_tiny_model(1)
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(pa, pb), name
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.state_dict().values(), c.state_dict().values()))


def test_info_through_the_tool(cs):
    r = cs("model", "info", "--model", "tiny", "--device", "cpu", check=True)
    info = json.loads(r.stdout)
    assert info["tiny"] is True and info["image_size"] == 224 and info["num_queries"] == 5
    assert info["parameters"] > 100_000


def _missing(p):
    return p / "nope"


def _original_checkpoint(p):
    (p / "sam3.pt").write_bytes(b"x")
    return p / "sam3.pt"


def _config_only(p):
    (p / "cfgonly").mkdir()
    (p / "cfgonly" / "config.json").write_text("{}")
    return p / "cfgonly"


@pytest.mark.parametrize("make, needle", [
    (_missing, "model folder not found"),
    (_original_checkpoint, "sam3.pt: not a readable PyTorch checkpoint"),   # converted if it were one
    (_config_only, "no model.safetensors"),
])
def test_missing_or_gated_checkpoint_explains(cs, tmp_path, make, needle):
    r = cs("model", "info", "--model", make(tmp_path), "--device", "cpu")
    assert r.returncode == 1
    assert needle in r.stderr and "facebook/sam3" in r.stderr


def test_build_tiny_folder_loads_back(cs, tmp_path):
    cs("model", "build-tiny", "--out", tmp_path / "tiny", "--seed", "3", check=True)
    assert (tmp_path / "tiny" / "config.json").exists()
    loaded = load_model(str(tmp_path / "tiny"), "cpu", "fp32")
    ref = build_tiny_model(3)
    for (k, v), (_, w) in zip(loaded.model.state_dict().items(), ref.state_dict().items()):
        assert torch.equal(v, w), k


def make_dataset(root, n=4):
    rng = np.random.default_rng(0)
    images, anns = [], []
    for i in range(n):
        h, w = 120 + 10 * i, 160
        arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        Image.fromarray(arr).save(root / f"img{i}.png")
        images.append({"id": i + 1, "file_name": f"img{i}.png", "width": w, "height": h,
                       "text_input": "chicken", "is_instance_exhaustive": 1})
        if i % 2 == 0:
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1,
                         "segmentation": [[10, 10, 60, 10, 60, 50, 10, 50]], "bbox": [10, 10, 50, 40],
                         "area": 2000, "iscrowd": 0})
    ds = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "chicken"}]}
    (root / "val.json").write_text(json.dumps(ds))
    return root / "val.json"


def test_predict_writes_coco_results_and_presence(cs, tmp_path):
    val = make_dataset(tmp_path)
    out = tmp_path / "pred.json"
    cs("model", "predict", "--model", "tiny", "--device", "cpu", "--dataset", val, "--out", out,
       "--min-score", "0", "--batch-size", "3", check=True)
    preds = json.loads(out.read_text())
    presence = json.loads((tmp_path / "pred.presence.json").read_text())
    assert presence["schema"] == "chickenseg.presence/1"
    assert set(presence["presence"]) == {"1", "2", "3", "4"}
    assert len(preds) == 4 * 5  # min-score 0 keeps every query of the tiny model
    from pycocotools import mask as mask_utils
    sizes = {im["id"]: (im["height"], im["width"]) for im in json.loads(val.read_text())["images"]}
    for p in preds:
        assert p["segmentation"]["size"] == list(sizes[p["image_id"]])
        mask_utils.decode(p["segmentation"])  # valid RLE
        s = p["score"]
        assert 0 <= s <= presence["presence"][str(p["image_id"])] + 1e-6  # score = query x presence


def test_predict_batch_size_does_not_change_results(cs, tmp_path):
    val = make_dataset(tmp_path)
    for b in (1, 4):
        cs("model", "predict", "--model", "tiny", "--device", "cpu", "--dataset", val,
           "--out", tmp_path / f"p{b}.json", "--min-score", "0", "--batch-size", b, check=True)
    p1 = json.loads((tmp_path / "p1.json").read_text())
    p4 = json.loads((tmp_path / "p4.json").read_text())
    assert len(p1) == len(p4) == 4 * 5  # every query of every image, on both sides
    assert [(a["image_id"], a["segmentation"]) for a in p1] == [(b["image_id"], b["segmentation"]) for b in p4]
    assert np.allclose([a["score"] for a in p1], [b["score"] for b in p4], atol=1e-6)


def test_predict_rejects_size_mismatch(cs, tmp_path):
    val = make_dataset(tmp_path)
    doc = json.loads(val.read_text())
    doc["images"][1]["width"] = 999
    val.write_text(json.dumps(doc))
    r = cs("model", "predict", "--model", "tiny", "--device", "cpu", "--dataset", val, "--out", tmp_path / "p.json")
    assert r.returncode == 1 and "img1.png" in r.stderr and "999" in r.stderr
    assert not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("which", ["out", "presence-out"])
def test_predict_checks_both_outputs_before_the_work_and_writes_neither_alone(cs, tmp_path, which):
    val = make_dataset(tmp_path)
    # A folder that is a file: no user, root included, can write below it.
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    out = blocker / "p.json" if which == "out" else tmp_path / "p.json"
    presence = tmp_path / "p.presence.json" if which == "out" else blocker / "q.json"
    r = cs("model", "predict", "--model", "tiny", "--device", "cpu", "--dataset", val, "--out", out,
           "--presence-out", presence)
    bad = out if which == "out" else presence
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"error: {bad}: cannot write: "), r.stderr
    assert "Traceback" not in r.stderr and "predict [" not in r.stderr  # refused before any image
    assert not out.exists() and not presence.exists()


def test_ctrl_c_is_one_line_and_the_tool_reaps_its_python(cs, tmp_path):
    # Work that outlasts the 6 s below on any machine (a fast one predicted 40 images in 0.7 s):
    # the 40 images listed 100 times over, under distinct ids.
    val = make_dataset(tmp_path, n=40)
    ds = json.loads(val.read_text())
    ds["images"] = [dict(im, id=k * 100 + im["id"]) for k in range(100) for im in ds["images"]]
    ds["annotations"] = []
    val.write_text(json.dumps(ds))
    proc = subprocess.Popen([str(chickenseg_bin()), "model", "predict", "--model", "tiny", "--device", "cpu",
                             "--dataset", str(val), "--out", str(tmp_path / "p.json"), "--batch-size", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=ctrl_c_as_in_a_terminal)
    time.sleep(6)  # Python and torch loading, or the images: either way the child is running
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted (Ctrl-C)"), err
    assert "Traceback" not in err
    with pytest.raises(ProcessLookupError):  # the group is gone: the tool waited for its child
        os.killpg(proc.pid, 0)


@pytest.mark.model
def test_export_writes_every_format_and_manifest(exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["schema"] == "chickenseg.package/2"
    assert manifest["prompts"] == ["chicken", "hen"]
    names = [f"{graph}{ext}" for graph in ("vision_encoder", "decoder", "mask_decoder")
             for ext in (".ts", ".pt2", ".onnx")] + ["text_embeddings.safetensors"]
    for name in names:
        assert name in manifest["files"], name
        assert (exported / name).exists()
    assert sorted(manifest["files"]) == sorted(names)
    assert manifest["input"]["mean"] == [0.5, 0.5, 0.5] and manifest["input"]["size"] == 224
    assert manifest["thresholds"] == {"score": 0.5, "mask": 0.5, "presence": 0.5}
    assert manifest["batch"] == {"max": 8}
    assert manifest["decoder"]["outputs"] == ["pred_logits", "pred_boxes", "presence_logits", "queries",
                                              "encoder_hidden"]
    assert manifest["mask_decoder"]["outputs"] == ["pred_masks"]


def test_export_refuses_bad_requests_before_loading(cs, tmp_path):
    r = cs("model", "export", "--model", "tiny", "--device", "cpu", "--out", tmp_path / "p", "--format", "tflite")
    assert r.returncode == 2 and "tflite" in r.stderr
    r = cs("model", "export", "--model", "tiny", "--device", "cpu", "--out", tmp_path / "p", "--max-batch", "0")
    assert r.returncode == 1 and "--max-batch 0: expected 1 to 1024" in r.stderr, r.stderr
    r = cs("model", "export", "--model", "tiny", "--device", "cpu", "--out", tmp_path / "p",
           "--presence-threshold", "1.5")
    assert r.returncode == 1 and "presence threshold 1.5" in r.stderr, r.stderr


@pytest.mark.model
def test_verify_passes_in_a_fresh_process(exported, cs):
    r = cs("model", "verify", exported, "--device", "cpu")
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(r.stdout)
    assert report["passed"]
    assert sorted(report["formats"]) == ["aoti", "onnx", "torchscript"]
    for fmt in ("onnx", "aoti", "torchscript"):
        assert report["formats"][fmt]["pred_logits"] <= 1e-4
        assert report["formats"][fmt]["mask_iou"] >= 0.99
    # The masks compared were not empty (two empty masks have IoU 1).
    assert min(row["mask_pixels"] for row in report["samples"]) > 0
    assert len(report["samples"]) == 3 * 2 * 2  # formats x prompts x samples


@pytest.mark.model
def test_corrupted_package_is_refused(exported, cs, tmp_path):
    bad = package_with_flipped_byte(exported, "mask_decoder.onnx", tmp_path / "bad")
    r = cs("model", "verify", bad, "--device", "cpu")
    assert r.returncode == 1
    assert "mask_decoder.onnx" in r.stderr and "SHA-256 mismatch" in r.stderr


def test_doctor_loads_a_configured_checkpoint(cs, tmp_path):
    cs("model", "build-tiny", "--out", tmp_path / "tiny", check=True)
    r = cs("--json", "doctor", "--checkpoint", tmp_path / "tiny", "--load", "--min-disk", "0")
    check = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "checkpoint")
    assert check["status"] == "ok" and check["value"] == "loaded", check
    assert check["data"]["loaded"] is True and check["data"]["parameters"] > 100_000

    # Files present but unloadable weights: the check fails and says why.
    (tmp_path / "tiny" / "model.safetensors").write_bytes(b"not safetensors at all")
    r = cs("--json", "doctor", "--checkpoint", tmp_path / "tiny", "--load", "--min-disk", "0")
    check = next(c for c in json.loads(r.stdout)["checks"] if c["name"] == "checkpoint")
    assert r.returncode == 1 and check["status"] == "fail" and check["value"] == "present, does not load"
    assert "cannot load SAM 3 weights" in check["detail"]
