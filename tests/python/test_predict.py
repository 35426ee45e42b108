"""`chickenseg predict` (the C++ engine) against `chickenseg model predict` (the PyTorch
reference) on the same model and data, its outputs (COCO results + presence, JSONL with
--resume, LabelMe files the real `labelme` package opens, overlays), presence gating, and every
bad input the issue lists."""
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pycocotools import mask as mask_utils

from chickenseg_model.loading import load_model, save_model
from conftest import chickenseg_bin
from tests_python_support import package_with_flipped_byte

pytestmark = pytest.mark.model


def tool(*args, env=None, check=True, **kw):
    proc = subprocess.run([str(chickenseg_bin()), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"chickenseg {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample generator's barn scenes (PNG and JPEG, negatives included) as an SA-Co set."""
    root = tmp_path_factory.mktemp("sample")
    tool("data", "sample", "--out", root / "raw", "--count", "16", "--size", "320x240", "--seed", "3")
    tool("data", "convert", root / "raw" / "labelme", "--label-map", root / "raw" / "label_map.yaml",
         "--out", root / "all.json")
    return {"dataset": root / "all.json", "images": root / "raw" / "labelme", "root": root}


def export_torchscript(model_dir_or_spec, out, *extra):
    tool("model", "export", "--model", model_dir_or_spec, "--device", "cpu", "--out", out, "--prompt", "chicken",
         "--format", "torchscript", *extra, env={"CHICKENSEG_QUIET": "1"})
    return out


def forced_presence_package(tmp_path_factory, logit: float, name: str):
    """The tiny model with its presence head answering `logit` on every image (last layer's
    weights zero), and its mask embedding scaled up so that masks are clear blobs."""
    loaded = load_model("tiny:0", "cpu", "fp32")
    with torch.no_grad():
        head = loaded.model.detr_decoder.presence_head.layer3
        head.weight.zero_()
        head.bias.fill_(logit)
        for p in loaded.model.mask_decoder.mask_embedder.parameters():
            p.mul_(40.0)
    folder = tmp_path_factory.mktemp(name)
    save_model(loaded, folder / "model")
    return folder / "model", export_torchscript(folder / "model", folder / "package")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model fine-tuned the way bench/train_learning_check.py does it, so that its presence
    and scores vary from image to image (bright discs = chicken): the parity of kept detections
    and of IL_MCC is then not a comparison of two empty files."""
    from chickenseg_model.train.synthetic import make_synthetic_dataset

    root = tmp_path_factory.mktemp("trained")
    make_synthetic_dataset(root / "data", train=48, val=24, size=96, negative_share=0.5, seed=0)
    data = root / "data"
    tool("train", "-c", Path(__file__).resolve().parents[2] / "configs" / "train_tiny.yaml",
         f"train_json={data / 'train.json'}", f"val_json={data / 'val.json'}", f"output_dir={root / 'run'}",
         "img_dir=null", "resume=null", "seed=0", "model.checkpoint=tiny:0", "model.backbone.freeze=false",
         "optimizer.lr=2e-2", "trainer.gradient_clip_val=1.0", "loss.presence_loss=bce", "loss.class_focal_alpha=0.9",
         "train.max_epochs=5", "train.batch_size=4", "data.negative_ratio=0.5",
         "data.augment.scale_jitter=[1.0,1.0]", "val.every_n_epochs=5", "val.num_overlays=0",
         "checkpoint.save_top_k=1", "logging.wandb=disabled",
         env={"CHICKENSEG_QUIET": "1"})
    model = root / "run" / "last"
    return {"model": model, "package": export_torchscript(model, root / "package"), "dataset": data / "val.json",
            "images": data}


@pytest.fixture(scope="module")
def present(tmp_path_factory):
    return forced_presence_package(tmp_path_factory, 8.0, "present")


@pytest.fixture(scope="module")
def absent(tmp_path_factory):
    return forced_presence_package(tmp_path_factory, -8.0, "absent")


def reference(model, dataset, image_root, out, *extra):
    tool("model", "predict", "--model", model, "--device", "cpu", "--dataset", dataset, "--image-root", image_root,
         "--out", out, "--presence-out", out.with_suffix(".presence.json"), *extra, env={"CHICKENSEG_QUIET": "1"})
    return out


def runtime(package, dataset, image_root, out, *extra, check=True, env=None):
    return tool("--json", "predict", "--package", package, "--dataset", dataset, "--image-root", image_root,
                "--out", out, *extra, check=check, env=env)


def by_image(results):
    out = {}
    for r in results:
        out.setdefault(r["image_id"], []).append(r)
    return out


def mask_iou(a, b):
    return float(mask_utils.iou([a], [b], [0])[0][0])


def assert_same_detections(ref_path, got_path, min_detections=1):
    """Same count per image, scores within 1e-5, boxes within 0.01 px, mask IoU >= 0.999 per
    pair (pairs matched by score, then box, so that near-ties cannot swap them)."""
    ref, got = json.loads(Path(ref_path).read_text()), json.loads(Path(got_path).read_text())
    assert len(ref) >= min_detections and len(got) == len(ref), (len(ref), len(got))
    ref, got = by_image(ref), by_image(got)
    assert sorted(ref) == sorted(got)
    worst = {"score": 0.0, "box": 0.0, "iou": 1.0}
    for image_id, want in ref.items():
        have = list(got[image_id])
        assert len(have) == len(want), image_id
        for w in want:
            cost = [abs(h["score"] - w["score"]) * 1e3 + float(np.abs(np.subtract(h["bbox"], w["bbox"])).max())
                    for h in have]
            h = have.pop(int(np.argmin(cost)))
            worst["score"] = max(worst["score"], abs(h["score"] - w["score"]))
            worst["box"] = max(worst["box"], float(np.abs(np.subtract(h["bbox"], w["bbox"])).max()))
            assert h["segmentation"]["size"] == w["segmentation"]["size"]
            if mask_utils.area(w["segmentation"]) or mask_utils.area(h["segmentation"]):
                worst["iou"] = min(worst["iou"], mask_iou(h["segmentation"], w["segmentation"]))
    assert worst["score"] <= 1e-5 and worst["box"] <= 0.01 and worst["iou"] >= 0.999, worst
    return worst


def presence_map(path):
    return json.loads(Path(path).read_text())["presence"]


def metrics(gt, pred, presence):
    doc = json.loads(tool("--json", "eval", "--gt", gt, "--pred", pred, "--presence", presence).stdout)
    return {"segm": doc["segm"], "bbox": doc["bbox"], "image_level": doc["image_level"]}


# --- parity with the PyTorch reference ------------------------------------------------------

@pytest.mark.parametrize("backend", ["torchscript", "aoti"])
def test_predict_equals_the_reference_on_the_sample_data(exported, sample, tmp_path, backend):
    ref = reference("tiny:0", sample["dataset"], sample["images"], tmp_path / "ref.json", "--min-score", "0")
    r = runtime(exported, sample["dataset"], sample["images"], tmp_path / "got.json", "--min-score", "0",
                "--presence-threshold", "0", "--backend", backend, "--batch-size", "3")
    summary = json.loads(r.stdout)
    assert summary["backend"] == backend and summary["failed"] == 0 and summary["gated"] == 0
    images = json.loads(sample["dataset"].read_text())["images"]
    assert summary["predicted"] == len(images) > 0
    # Every query kept on both sides (the tiny random model scores every query near 0.25).
    assert_same_detections(ref, tmp_path / "got.json", min_detections=5 * len(images))
    want, got = presence_map(ref.with_suffix(".presence.json")), presence_map(tmp_path / "got.presence.json")
    assert sorted(want) == sorted(got) and len(want) == len(images)
    assert max(abs(want[k] - got[k]) for k in want) <= 1e-6
    assert metrics(sample["dataset"], ref, ref.with_suffix(".presence.json")) == \
        metrics(sample["dataset"], tmp_path / "got.json", tmp_path / "got.presence.json")


def test_trained_model_keeps_the_same_detections_and_il_mcc(trained, tmp_path):
    ds, images = trained["dataset"], trained["images"]
    # Every query, gating off: the full parity check.
    ref = reference(trained["model"], ds, images, tmp_path / "ref0.json", "--min-score", "0")
    runtime(trained["package"], ds, images, tmp_path / "got0.json", "--min-score", "0", "--presence-threshold", "0")
    assert_same_detections(ref, tmp_path / "got0.json", min_detections=5 * 24)
    # The package's thresholds (score 0.5, gating at 0.5): detections are kept, and the same.
    ref = reference(trained["model"], ds, images, tmp_path / "ref.json", "--min-score", "0.5")
    r = runtime(trained["package"], ds, images, tmp_path / "got.json")
    summary = json.loads(r.stdout)
    assert 0 < summary["gated"] < summary["predicted"]  # presence varies: some images gated, some not
    assert_same_detections(ref, tmp_path / "got.json", min_detections=1)
    presence = presence_map(tmp_path / "got.presence.json")
    assert min(presence.values()) < 0.1 and max(presence.values()) > 0.9
    want = metrics(ds, ref, ref.with_suffix(".presence.json"))
    got = metrics(ds, tmp_path / "got.json", tmp_path / "got.presence.json")
    assert want["image_level"]["IL_MCC"] > 0 and got == want


def test_batch_size_and_threads_do_not_change_the_results(present, sample, tmp_path):
    _, package = present
    runtime(package, sample["dataset"], sample["images"], tmp_path / "b1.json", "--min-score", "0",
            "--batch-size", "1", "--threads", "1")
    runtime(package, sample["dataset"], sample["images"], tmp_path / "b4.json", "--min-score", "0",
            "--batch-size", "4", "--threads", "3")
    # A batch of 4 runs other kernels than 4 batches of 1 (as in PyTorch): the same detections,
    # scores within float rounding.
    assert_same_detections(tmp_path / "b1.json", tmp_path / "b4.json", min_detections=5)
    p1, p4 = presence_map(tmp_path / "b1.presence.json"), presence_map(tmp_path / "b4.presence.json")
    assert sorted(p1) == sorted(p4) and max(abs(p1[k] - p4[k]) for k in p1) <= 1e-6


def test_a_blas_loaded_before_libtorch_is_named_and_none_is_by_default(present, sample, tmp_path):
    # A BLAS in the process's global scope takes LibTorch's sgemm_ calls: FFmpeg's libavdevice
    # once brought Debian's reference BLAS into the tool and made the model several times slower.
    # By default nothing may bring one; one that is there anyway (LD_PRELOAD here) is named.
    _, package = present
    clean = runtime(package, sample["dataset"], sample["images"], tmp_path / "a.json", "--min-score", "0")
    assert "BLAS" not in clean.stderr, clean.stderr
    blas = Path("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    if not blas.exists():
        pytest.skip(f"{blas} is not installed (Debian's libblas3)")
    loaded = runtime(package, sample["dataset"], sample["images"], tmp_path / "b.json", "--min-score", "0",
                     env={"LD_PRELOAD": str(blas)})
    warnings = [line for line in loaded.stderr.splitlines() if "BLAS" in line]
    assert len(warnings) == 1 and warnings[0].startswith(f"warning: {blas}"), loaded.stderr
    # Only slower: the same detections (another summation order: scores within float rounding).
    assert_same_detections(tmp_path / "a.json", tmp_path / "b.json", min_detections=5)


def cpu_flags():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def test_mkl_runs_its_avx2_kernels_on_any_cpu_that_has_them(present, sample, tmp_path):
    # MKL (LibTorch's BLAS) takes its vendor-neutral SSE kernels on a CPU that is not Intel's,
    # AVX2 or not; the plugin answers MKL's vendor question (src/runtime/torch/mkl_dispatch.cpp).
    # The summary names the kernels MKL dispatched to; they must be AVX2's (or wider) wherever
    # the CPU has AVX2 and FMA, this project's AMD EPYC machine included.
    _, package = present
    r = runtime(package, sample["dataset"], sample["images"], tmp_path / "a.json", "--min-score", "0")
    described = json.loads(r.stdout)["runtime"]
    assert "MKL " in described, described  # the wheel's LibTorch carries MKL on x86-64
    if {"avx2", "fma"} <= cpu_flags():
        assert "MKL AVX2 kernels" in described or "MKL AVX-512 kernels" in described, described
    else:
        assert "AVX2" not in described, described


def test_cuda_graphs_on_a_cpu_package_are_refused_before_any_work(present, sample, tmp_path):
    # CUDA graphs are measured on a GPU (bench/gpu_runtime.sh); here: the refusal, one line.
    _, package = present
    r = runtime(package, sample["dataset"], sample["images"], tmp_path / "p.json", "--cuda-graphs", check=False)
    assert r.returncode == 1 and r.stderr.strip() == "error: --cuda-graphs needs a CUDA device, not cpu", r.stderr
    assert not (tmp_path / "p.json").exists()


def test_predict_equals_the_reference_on_real_photos(exported, chicken_egg_yolo, tmp_path):
    """The shared chicken-egg-yolo photos: all JPEG bytes (173 of 270 named .png), odd sizes,
    decoded by libjpeg-turbo with Pillow's settings on both sides."""
    data = tmp_path / "real.json"
    (tmp_path / "labels.yaml").write_text("concept: chicken\nbackground: [Egg]\n")
    tool("data", "convert", chicken_egg_yolo, "--label-map", tmp_path / "labels.yaml", "--out", data)
    doc = json.loads(data.read_text())
    root = chicken_egg_yolo
    assert len(doc["images"]) == 270
    ref = reference("tiny:0", data, root, tmp_path / "ref.json", "--min-score", "0")
    runtime(exported, data, root, tmp_path / "got.json", "--min-score", "0", "--presence-threshold", "0",
            "--batch-size", "4")
    assert_same_detections(ref, tmp_path / "got.json", min_detections=5 * 270)
    assert metrics(data, ref, ref.with_suffix(".presence.json")) == \
        metrics(data, tmp_path / "got.json", tmp_path / "got.presence.json")


# --- presence gating ------------------------------------------------------------------------

def test_gating_with_presence_forced_low_skips_every_image(absent, sample, tmp_path):
    _, package = absent
    r = runtime(package, sample["dataset"], sample["images"], tmp_path / "p.json", "--min-score", "0",
                "--jsonl", tmp_path / "p.jsonl")
    summary = json.loads(r.stdout)
    n = summary["predicted"]
    assert n > 0 and summary["gated"] == n and summary["detections"] == 0
    assert summary["stage_ms"]["mask_decoder"] == 0  # the mask head never ran
    assert json.loads((tmp_path / "p.json").read_text()) == []
    presence = presence_map(tmp_path / "p.presence.json")
    assert len(presence) == n and max(presence.values()) < 0.001
    lines = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(lines) == n and all(p["gated"] and p["detections"] == [] for line in lines for p in line["pairs"])
    # Gating off: the same package keeps every query again (what the reference would give).
    r = runtime(package, sample["dataset"], sample["images"], tmp_path / "off.json", "--min-score", "0",
                "--presence-threshold", "0")
    assert json.loads(r.stdout)["gated"] == 0
    assert len(json.loads((tmp_path / "off.json").read_text())) == 5 * n


def test_gating_with_presence_forced_high_changes_nothing(present, sample, tmp_path):
    model, package = present
    ref = reference(model, sample["dataset"], sample["images"], tmp_path / "ref.json", "--min-score", "0")
    r = runtime(package, sample["dataset"], sample["images"], tmp_path / "got.json", "--min-score", "0")
    assert json.loads(r.stdout)["gated"] == 0
    assert_same_detections(ref, tmp_path / "got.json", min_detections=5)


# --- outputs --------------------------------------------------------------------------------

def test_folder_input_with_two_prompts_lists_its_pairs(exported, sample, tmp_path):
    r = tool("--json", "predict", "--package", exported, "--images", sample["images"], "--prompt", "chicken",
             "--prompt", "hen", "--out", tmp_path / "p.json", "--min-score", "0", "--presence-threshold", "0")
    summary = json.loads(r.stdout)
    files = sorted(p.relative_to(sample["images"]).as_posix() for p in sample["images"].rglob("*")
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    assert summary["predicted"] == len(files) > 0 and summary["pairs"] == 2 * len(files)
    doc = json.loads((tmp_path / "p.presence.json").read_text())
    assert [im["file_name"] for im in doc["images"][::2]] == files
    assert [im["text_input"] for im in doc["images"][:2]] == ["chicken", "hen"]
    assert [im["id"] for im in doc["images"]] == list(range(1, 2 * len(files) + 1))
    ids = {r["image_id"] for r in json.loads((tmp_path / "p.json").read_text())}
    assert ids == set(range(1, 2 * len(files) + 1))
    r = tool("predict", "--package", exported, "--images", sample["images"], "--prompt", "duck",
             "--out", tmp_path / "d.json", check=False)
    assert r.returncode == 1 and 'prompt "duck" is not one of the package\'s prompts (chicken, hen)' in r.stderr


def test_list_input_and_overlays(present, sample, tmp_path):
    _, package = present
    names = sorted(p.name for p in sample["images"].iterdir() if p.suffix in (".png", ".jpg"))[:3]
    (tmp_path / "list.txt").write_text("# three of them\n" + "".join(f"{sample['images'] / n}\n" for n in names) + "\n")
    tool("predict", "--package", package, "--list", tmp_path / "list.txt", "--overlay", tmp_path / "overlays",
         "--min-score", "0")
    made = sorted(p.name for p in (tmp_path / "overlays").rglob("*.jpg"))
    assert len(made) == 3
    for p in (tmp_path / "overlays").rglob("*.jpg"):
        with Image.open(p) as im:
            assert im.format == "JPEG" and im.width > 0
            assert np.asarray(im).std() > 1  # a picture, not a blank


def test_jsonl_resume_after_a_kill_gives_the_uninterrupted_result(present, sample, tmp_path):
    _, package = present
    args = ("--min-score", "0")
    runtime(package, sample["dataset"], sample["images"], tmp_path / "full.json", *args, "--jsonl", tmp_path / "full.jsonl")
    lines = (tmp_path / "full.jsonl").read_text().splitlines(keepends=True)
    assert len(lines) > 4
    # What a kill leaves: some complete lines and half of the next.
    (tmp_path / "cut.jsonl").write_text("".join(lines[:4]) + lines[4][: len(lines[4]) // 2])
    r = runtime(package, sample["dataset"], sample["images"], tmp_path / "cut.json", *args, "--jsonl",
                tmp_path / "cut.jsonl", "--resume")
    summary = json.loads(r.stdout)
    assert summary["resumed"] == 4 and summary["predicted"] == len(lines) - 4
    assert (tmp_path / "cut.json").read_bytes() == (tmp_path / "full.json").read_bytes()
    assert (tmp_path / "cut.presence.json").read_bytes() == (tmp_path / "full.presence.json").read_bytes()
    assert sorted((tmp_path / "cut.jsonl").read_text().splitlines()) == sorted(x.rstrip("\n") for x in lines)


def union_mask(segmentation, height, width):
    rles = mask_utils.frPyObjects(segmentation, height, width)
    return mask_utils.merge(rles) if isinstance(rles, list) else rles


def test_labelme_output_opens_in_labelme_and_converts_back(trained, tmp_path):
    from labelme import LabelFile  # the real package (PyPI), as annotators use it

    images = tmp_path / "images"
    images.mkdir()
    for p in trained["images"].glob("val_*.png"):
        shutil.copy(p, images / p.name)
    r = tool("--json", "predict", "--package", trained["package"], "--images", images, "--labelme", images,
             "--out", tmp_path / "p.json")
    summary = json.loads(r.stdout)
    results = by_image(json.loads((tmp_path / "p.json").read_text()))
    presence = json.loads((tmp_path / "p.presence.json").read_text())
    assert summary["detections"] > 0 and summary["predicted"] == len(list(images.glob("*.png")))
    files = sorted(images.glob("*.json"))
    assert len(files) == summary["predicted"]
    shapes = 0
    for f in files:
        lf = LabelFile(filename=str(f))  # labelme's own loader validates the file
        assert (f.parent / lf.imagePath).resolve() == (images / (f.stem + ".png")).resolve()
        for shape in lf.shapes:
            assert shape["label"] == "chicken" and shape["shape_type"] == "polygon"
            assert shape["description"].startswith("score ")
            shapes += 1
    assert shapes > 0
    # Back through chickenseg's own LabelMe reader: the same instances.
    (tmp_path / "labels.yaml").write_text("concept: chicken\n")
    tool("data", "convert", images, "--label-map", tmp_path / "labels.yaml", "--out", tmp_path / "back.json")
    back = json.loads((tmp_path / "back.json").read_text())
    back_id = {im["file_name"]: im for im in back["images"]}
    anns = {}
    for a in back["annotations"]:
        anns.setdefault(a["image_id"], []).append(a)
    positives = 0
    for im in presence["images"]:
        mine = results.get(im["id"], [])
        theirs = anns.get(back_id[im["file_name"]]["id"], [])
        assert len(theirs) == len(mine), im["file_name"]
        positives += bool(mine)
        h, w = im["height"], im["width"]
        for d in mine:  # each detection has its own instance back, IoU >= 0.95
            best = max(mask_iou(d["segmentation"], union_mask(t["segmentation"], h, w)) for t in theirs)
            assert best >= 0.95, (im["file_name"], best)
    assert positives > 0


# --- bad inputs -----------------------------------------------------------------------------

def bad_images(folder):
    folder.mkdir()
    Image.fromarray(np.full((40, 60, 3), 120, np.uint8)).save(folder / "good.png")
    jpeg = folder / "truncated.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 80, 3), np.uint8)).save(jpeg, quality=90)
    jpeg.write_bytes(jpeg.read_bytes()[:400])
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is not an image\n")
    # A 20000 x 20000 PNG: a valid header (and an IDAT of nothing) that must be refused before decoding.
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    (folder / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
                                      + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return {"truncated.jpg", "empty.png", "notes.jpg", "huge.png"}


def test_bad_images_are_reported_and_the_run_goes_on(exported, tmp_path):
    bad = bad_images(tmp_path / "in")
    r = tool("--json", "predict", "--package", exported, "--images", tmp_path / "in", "--out", tmp_path / "p.json",
             "--jsonl", tmp_path / "p.jsonl", check=False)
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout)
    assert summary["failed"] == len(bad) and summary["predicted"] == 1
    assert {e["file"] for e in summary["errors"]} == bad
    assert f"{len(bad)} of {len(bad) + 1} images failed" in r.stderr
    for name in bad:
        assert str(tmp_path / "in" / name) in r.stderr, name
    assert "20000x20000" in r.stderr
    # The good image is still predicted and written.
    presence = json.loads((tmp_path / "p.presence.json").read_text())
    assert [im["file_name"] for im in presence["images"]] == ["good.png", "good.png"]
    lines = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert sorted(x["file"] for x in lines if "error" in x) == sorted(bad)


def test_a_file_name_labelme_cannot_hold_fails_that_image_only(exported, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in (b"caf\xe9.png", b"ok.png"):  # Latin-1, not UTF-8: JSON cannot name it
        Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(os.fsdecode(bytes(folder) + b"/" + name))
    r = tool("--json", "predict", "--package", exported, "--images", folder, "--labelme", tmp_path / "lm",
             "--jsonl", tmp_path / "p.jsonl", "--out", tmp_path / "p.json", check=False)
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout)  # printed, with the name made printable
    assert summary["predicted"] == 1 and summary["failed"] == 1
    assert "cannot write the JSON" in r.stderr and "1 of 2 images failed" in r.stderr
    assert (tmp_path / "lm" / "ok.json").exists()


def test_on_error_stop_ends_at_the_first_bad_image(exported, tmp_path):
    bad_images(tmp_path / "in")
    r = tool("predict", "--package", exported, "--images", tmp_path / "in", "--out", tmp_path / "p.json",
             "--on-error", "stop", check=False)
    assert r.returncode == 1 and "--on-error stop" in r.stderr
    assert not (tmp_path / "p.json").exists() and not (tmp_path / "p.presence.json").exists()


def test_dataset_size_mismatch_names_the_image(exported, sample, tmp_path):
    doc = json.loads(sample["dataset"].read_text())
    doc["images"][0]["width"] += 1
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    r = runtime(exported, tmp_path / "bad.json", sample["images"], tmp_path / "p.json", check=False)
    assert r.returncode == 1
    assert doc["images"][0]["file_name"] in r.stderr and "but the dataset says" in r.stderr, r.stderr


def test_tampered_package_and_other_device_are_refused_before_any_output(exported, sample, tmp_path):
    bad = package_with_flipped_byte(exported, "vision_encoder.ts", tmp_path / "bad")
    r = runtime(bad, sample["dataset"], sample["images"], tmp_path / "p.json", check=False)
    assert r.returncode == 1 and "vision_encoder.ts" in r.stderr and "SHA-256 mismatch" in r.stderr
    assert not (tmp_path / "p.json").exists()
    r = runtime(exported, sample["dataset"], sample["images"], tmp_path / "p.json", "--device", "cuda", check=False)
    assert r.returncode == 1 and "exported for cpu" in r.stderr and "--device cuda" in r.stderr, r.stderr
    assert not (tmp_path / "p.json").exists()
    r = tool("predict", "--package", exported, "--images", sample["images"], check=False)
    assert r.returncode == 1 and "no output asked for" in r.stderr


def as_nobody(args):
    """argv that runs as an unprivileged user (CI runs as root, which ignores permission bits)."""
    if os.geteuid() != 0:
        return args
    if not shutil.which("setpriv"):
        pytest.fail("setpriv (util-linux) is needed to test permissions as root")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *args]


def test_unwritable_output_is_refused_before_any_work(exported, sample, tmp_path_factory):
    # A world-readable place (pytest's tmp folders are private to their owner).
    base = Path("/tmp") / f"chickenseg_perm_{os.getpid()}"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(mode=0o755)
    try:
        pkg, images = base / "pkg", base / "images"
        shutil.copytree(exported, pkg)
        shutil.copytree(sample["images"], images)
        locked = base / "locked"
        locked.mkdir()
        locked.chmod(0o555)  # nobody (and, as non-root, this user) cannot write here
        for p in (base, pkg, images):
            for q in [p, *p.rglob("*")]:
                q.chmod(q.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if q.is_dir() else 0))
        for output in (["--out", locked / "p.json"], ["--jsonl", locked / "p.jsonl"], ["--labelme", locked / "lm"],
                       ["--overlay", locked / "ov"]):
            r = subprocess.run(as_nobody([str(chickenseg_bin()), "predict", "--package", str(pkg), "--images",
                                          str(images), *map(str, output)]), capture_output=True, text=True)
            assert r.returncode == 1, (output, r.stderr)
            assert str(locked) in r.stderr and ("cannot write" in r.stderr or "cannot create" in r.stderr), r.stderr
            assert "predict [" not in r.stderr  # refused before any image was run
        assert list(locked.iterdir()) == []
    finally:
        for q in base.rglob("*"):
            if q.is_dir():
                q.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)
