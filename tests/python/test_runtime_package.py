"""The C++ runtime's engine on an exported package: run-package (the engine with the LibTorch
backend plugin, its own process) on each LibTorch backend (TorchScript, AOTInductor) against the
PyTorch reference (the unsplit Sam3Model, and the VisionEncoder wrapper for the features), and
its refusals: a changed byte in the package, a truncated or misshapen input, a package for
another device, a package without runnable artefacts."""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from chickenseg_model.images import load_rgb, preprocess
from chickenseg_model.loading import load_model
from tests_python_support import package_with_flipped_byte
from chickenseg_model.split_model import VisionEncoder
from chickenseg_model.verify import compare, reference_outputs
from conftest import run_package_bin

pytestmark = pytest.mark.model

# fp32, as verify's tolerances (docs/model.md).
TOL = {"pred_logits": 1e-4, "pred_boxes": 1e-4, "presence_logits": 1e-4, "mask_iou": 0.99, "features": 1e-4}


# Session scope and first in every test's arguments: a build without LibTorch skips before the
# (slow) export fixture runs.
@pytest.fixture(scope="session")
def run_package():
    binary = run_package_bin()

    def run(*args):
        return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)

    return run


@pytest.fixture(scope="module")
def reference(exported):
    manifest = json.loads((exported / "manifest.json").read_text())
    loaded = load_model(manifest["model_source"], "cpu", "fp32")
    return loaded.model.eval(), load_file(str(exported / "text_embeddings.safetensors")), manifest


def write_pixels(path, seed, size=224):
    pixels = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed))
    save_file({"pixel_values": pixels}, str(path))
    return pixels


@pytest.mark.parametrize("backend", ["torchscript", "aoti"])
@pytest.mark.parametrize("prompt_index, seed", [(0, 0), (1, 1)])
def test_run_package_matches_pytorch(run_package, exported, reference, tmp_path, prompt_index, seed, backend):
    model, embeddings, manifest = reference
    pixels = write_pixels(tmp_path / "in.safetensors", seed)
    r = run_package(exported, "--pixels", tmp_path / "in.safetensors", "--out", tmp_path / "out.safetensors",
                    "--prompt-index", prompt_index, "--backend", backend)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"backend  {backend} on LibTorch" in r.stdout, r.stdout
    got = load_file(str(tmp_path / "out.safetensors"))  # Python's safetensors reads the C++ writer's file

    features = embeddings[f"prompt_{prompt_index}.features"]
    mask = embeddings[f"prompt_{prompt_index}.mask"]
    ref = reference_outputs(model, pixels, features, mask)
    assert all(got[k].numel() > 0 and got[k].shape == ref[k].shape for k in ref), {k: got[k].shape for k in ref}
    diff = compare(ref, {k: got[k].numpy() for k in ref})
    for k in ("pred_logits", "pred_boxes", "presence_logits"):
        assert diff[k] <= TOL[k], (k, diff)
    assert diff["mask_iou"] >= TOL["mask_iou"], diff

    with torch.no_grad():
        ref_features = VisionEncoder(model).eval()(pixels)
    names = manifest["vision_encoder"]["outputs"]
    assert len(ref_features) == len(names)
    for name, want in zip(names, ref_features):
        assert tuple(got[name].shape) == tuple(want.shape), name
        assert float((got[name] - want).abs().max()) <= TOL["features"], name

    # The summary agrees with the outputs: presence probability, queries scoring >= 0.5.
    presence = torch.sigmoid(got["presence_logits"].double()).item()
    scores = torch.sigmoid(got["pred_logits"].double()) * presence
    above = int((scores >= manifest["thresholds"]["score"]).sum())
    prompt = manifest["prompts"][prompt_index]
    assert f'prompt   {prompt_index} "{prompt}": presence {presence:.4f}, {above} of {scores.numel()} queries' in r.stdout
    for line in ("verify   ", "load     ", "encoder  ", "decoders "):
        assert line in r.stdout and " ms" in r.stdout


# Sizes that take each of Pillow 13's two pass orders (horizontal first; vertical first when
# the height shrinks by more than twice as many pixels as the width), upscaling, a 1-pixel
# image, and the model's own size (no resize).
@pytest.mark.parametrize("width, height", [(300, 200), (100, 500), (270, 480), (150, 120), (1, 1), (224, 224)])
def test_image_mode_preprocesses_exactly_like_the_python_reference(run_package, exported, reference, tmp_path,
                                                                  width, height):
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(width).integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    r = run_package(exported, "--image", path, "--out", tmp_path / "out.safetensors", "--prompt-index", 1)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"image    {path} {width}x{height}: decoded" in r.stdout
    got = load_file(str(tmp_path / "out.safetensors"))
    want = preprocess(load_rgb(path), 224).unsqueeze(0)
    assert torch.equal(got["pixel_values"], want)  # bit for bit: PNG decode, Pillow's resize, float32 maths

    model, embeddings, _ = reference
    ref = reference_outputs(model, want, embeddings["prompt_1.features"], embeddings["prompt_1.mask"])
    diff = compare(ref, {k: got[k].numpy() for k in ref})
    assert max(diff[k] for k in ("pred_logits", "pred_boxes", "presence_logits")) <= 1e-4, diff
    assert diff["mask_iou"] >= TOL["mask_iou"], diff


def test_image_mode_applies_the_exif_orientation(run_package, exported, tmp_path):
    # A smooth picture (JPEG keeps it close) stored 160x90 and displayed rotated (orientation 6).
    y, x = np.mgrid[0:90, 0:160]
    stored = np.stack([x * 255 // 159, y * 255 // 89, (x + y) * 255 // 248], -1).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    r = run_package(exported, "--image", path, "--out", tmp_path / "out.safetensors")
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"{path} 90x160: decoded" in r.stdout  # as displayed
    got = load_file(str(tmp_path / "out.safetensors"))["pixel_values"]
    want = preprocess(load_rgb(path), 224).unsqueeze(0)
    # libjpeg-turbo with Pillow's settings: the same pixels as PIL, so the same pixel values.
    assert torch.equal(got, want)
    unrotated = preprocess(Image.fromarray(stored), 224).unsqueeze(0)
    assert float((got - unrotated).abs().mean()) > 0.05


def test_image_mode_errors_name_the_file(run_package, exported, tmp_path):
    (tmp_path / "not.jpg").write_bytes(b"hello")
    r = run_package(exported, "--image", tmp_path / "not.jpg", "--out", tmp_path / "o.safetensors")
    assert r.returncode == 1 and str(tmp_path / "not.jpg") in r.stderr and "not an image" in r.stderr, r.stderr
    r = run_package(exported, "--image", tmp_path / "a.png", "--pixels", tmp_path / "b.safetensors",
                    "--out", tmp_path / "o.safetensors")
    assert r.returncode == 2, r.stderr


def test_changed_byte_in_the_package_is_refused(run_package, exported, tmp_path):
    bad = package_with_flipped_byte(exported, "mask_decoder.ts", tmp_path / "bad")
    write_pixels(tmp_path / "in.safetensors", 0)
    r = run_package(bad, "--pixels", tmp_path / "in.safetensors", "--out", tmp_path / "out.safetensors")
    assert r.returncode == 1
    assert str(bad / "mask_decoder.ts") in r.stderr and "SHA-256 mismatch" in r.stderr, r.stderr
    assert not (tmp_path / "out.safetensors").exists()


def test_truncated_pixels_file_is_a_clear_error(run_package, exported, tmp_path):
    path = tmp_path / "in.safetensors"
    write_pixels(path, 0)
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    r = run_package(exported, "--pixels", path, "--out", tmp_path / "out.safetensors")
    assert r.returncode == 1
    assert str(path) in r.stderr and "truncated: the tensors need" in r.stderr, r.stderr
    assert f"expected {len(data)})" in r.stderr, r.stderr


def test_wrong_pixel_shape_names_the_expected_shape(run_package, exported, tmp_path):
    write_pixels(tmp_path / "in.safetensors", 0, size=100)
    r = run_package(exported, "--pixels", tmp_path / "in.safetensors", "--out", tmp_path / "out.safetensors")
    assert r.returncode == 1
    assert "pixel_values: image 0 of the batch: expected F32 (1, 3, 224, 224)" in r.stderr, r.stderr
    assert "found F32 (1, 3, 100, 100)" in r.stderr and str(tmp_path / "in.safetensors") in r.stderr


def test_missing_pixel_tensor_and_bad_prompt_index(run_package, exported, tmp_path):
    save_file({"image": torch.zeros(1, 3, 224, 224)}, str(tmp_path / "named.safetensors"))
    r = run_package(exported, "--pixels", tmp_path / "named.safetensors", "--out", tmp_path / "o.safetensors")
    assert r.returncode == 1 and 'no tensor named "pixel_values" (the file holds: image)' in r.stderr, r.stderr

    write_pixels(tmp_path / "in.safetensors", 0)
    r = run_package(exported, "--pixels", tmp_path / "in.safetensors", "--out", tmp_path / "o.safetensors",
                    "--prompt-index", 2)
    assert r.returncode == 1 and "prompt index 2: the package has 2 prompts" in r.stderr, r.stderr


def test_device_the_package_was_not_compiled_for_is_refused(run_package, exported, tmp_path):
    write_pixels(tmp_path / "in.safetensors", 0)
    args = ("--pixels", tmp_path / "in.safetensors", "--out", tmp_path / "o.safetensors")
    r = run_package(exported, *args, "--device", "tpu:x")
    assert r.returncode == 1 and 'device "tpu:x": expected cpu, cuda or cuda:N' in r.stderr, r.stderr
    # A CPU package on CUDA: refused before loading, on a machine with a GPU or without one,
    # with what to do.
    for backend in ("auto", "torchscript", "aoti"):
        r = run_package(exported, *args, "--device", "cuda", "--backend", backend)
        assert r.returncode == 1, r.stderr
        assert "the package was exported for cpu" in r.stderr and "asked to run on cuda" in r.stderr, r.stderr
        assert "--device cuda" in r.stderr and str(exported / "manifest.json") in r.stderr, r.stderr
    assert not (tmp_path / "o.safetensors").exists()


def test_aoti_of_another_torch_version_is_refused_torchscript_still_runs(run_package, exported, tmp_path):
    pkg = tmp_path / "old_torch"
    shutil.copytree(exported, pkg)
    manifest = json.loads((pkg / "manifest.json").read_text())
    manifest["versions"]["torch"] = "2.11.0+cu130"
    (pkg / "manifest.json").write_text(json.dumps(manifest))
    write_pixels(tmp_path / "in.safetensors", 0)
    args = ("--pixels", tmp_path / "in.safetensors", "--out", tmp_path / "o.safetensors")
    r = run_package(pkg, *args, "--backend", "aoti")
    assert r.returncode == 1, r.stderr
    assert "compiled by torch 2.11.0+cu130 and run only with that release" in r.stderr, r.stderr
    assert "use --backend torchscript" in r.stderr, r.stderr
    r = run_package(pkg, *args)  # auto falls back to TorchScript, which loads files of other versions
    assert r.returncode == 0, r.stderr
    assert "backend  torchscript" in r.stdout


def test_usage_errors_exit_2(run_package, tmp_path):
    r = run_package(tmp_path, "--pixels", "x.safetensors")
    assert r.returncode == 2 and "--out" in r.stderr
    r = run_package(tmp_path, "--out", "o.safetensors")
    assert r.returncode == 2


def test_onnx_only_package_is_refused(run_package, exported, tmp_path):
    pkg = tmp_path / "onnx_only"
    shutil.copytree(exported, pkg)
    manifest = json.loads((pkg / "manifest.json").read_text())
    manifest["formats"] = ["onnx"]
    for name in list(manifest["files"]):
        if name.endswith((".pt2", ".ts")):
            del manifest["files"][name]
            (pkg / name).unlink()
    (pkg / "manifest.json").write_text(json.dumps(manifest))
    write_pixels(tmp_path / "in.safetensors", 0)
    r = run_package(pkg, "--pixels", tmp_path / "in.safetensors", "--out", tmp_path / "o.safetensors")
    assert r.returncode == 1
    assert "no artefact the runtime can run (formats: onnx)" in r.stderr, r.stderr
    assert "chickenseg model export --model MODEL --format torchscript --device cpu" in r.stderr, r.stderr
    r = run_package(pkg, "--pixels", tmp_path / "in.safetensors", "--out", tmp_path / "o.safetensors",
                    "--backend", "aoti")
    assert r.returncode == 1 and "no aoti artefacts (formats: onnx)" in r.stderr, r.stderr


def test_one_engine_serves_concurrent_callers(exported, tmp_path):
    tool = run_package_bin().parent / "tests" / "cpp" / "engine_tool"
    images = []
    for i, (w, h) in enumerate([(320, 240), (97, 211), (640, 480), (224, 224)]):
        path = tmp_path / f"im{i}.png"
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        images.append(path)
    env = {**os.environ, "CHICKENSEG_PLUGIN_DIR": str(run_package_bin().parent)}  # the tool is not beside the plugin
    r = subprocess.run([str(tool), str(exported), "--threads", "4", *map(str, images)], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("identical: 20 detections, 4 threads"), r.stdout  # 4 images x 5 queries
