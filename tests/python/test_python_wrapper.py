"""The Python module `chickenseg` (Sam3Wrapper on the C++ engine) against `chickenseg predict` on
the same package and images, its input kinds, its results in the real Ultralytics and
supervision packages, bad input, threads, and torch in the same process (docs/python.md).

The tiny random model scores every query near 0.25 and its presence is 0.4999: comparisons run
with score_threshold=0 and presence_threshold=0 (every query kept) and first assert that there is
something to compare."""
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from conftest import chickenseg_bin
from tests_python_support import package_with_flipped_byte

# Ultralytics goes on line at import (settings sync, pip installs of what it misses) unless told
# not to; its settings file goes to a temporary folder, not the user's home.
os.environ["YOLO_OFFLINE"] = "true"
os.environ["YOLO_AUTOINSTALL"] = "false"

pytestmark = pytest.mark.model


def module_dir() -> Path:
    """The package folder the build assembled beside the tool under test (build/python)."""
    return chickenseg_bin().parent / "python"


def import_chickenseg():
    """The module built beside the tool under test. Skips only when CMake says the module was not
    meant to be built (no Python development files or nanobind); a build that should have made it
    and did not is a failure."""
    folder = module_dir()
    if (folder / "chickenseg").is_dir() and str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    try:
        import chickenseg
    except ImportError as e:
        cache = chickenseg_bin().parent / "CMakeCache.txt"
        if cache.exists() and "CHICKENSEG_PYTHON_ENABLED_RESULT:INTERNAL=OFF" in cache.read_text():
            pytest.skip(f"the Python module was not built: CMake found no Python development files or nanobind ({e})")
        raise
    return chickenseg


cs_py = import_chickenseg()


def tool(*args, check=True, env=None):
    proc = subprocess.run([str(chickenseg_bin()), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "CHICKENSEG_QUIET": "1", **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"chickenseg {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module", autouse=True)
def yolo_config(tmp_path_factory):
    os.environ["YOLO_CONFIG_DIR"] = str(tmp_path_factory.mktemp("ultralytics"))


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """The tiny model (tiny:0) as a TorchScript package with two prompts."""
    out = tmp_path_factory.mktemp("wrapper_pkg") / "package"
    tool("model", "export", "--model", "tiny:0", "--device", "cpu", "--out", out, "--prompt", "chicken",
         "--prompt", "hen", "--format", "torchscript")
    return out


@pytest.fixture(scope="module")
def present(tmp_path_factory):
    """The tiny model with its presence head answering 8 (presence ~1) and its mask embedding
    scaled up: scores near 0.5 and masks that are clear blobs (for trackers and polygons)."""
    import torch

    from chickenseg_model.loading import load_model, save_model

    loaded = load_model("tiny:0", "cpu", "fp32")
    with torch.no_grad():
        head = loaded.model.detr_decoder.presence_head.layer3
        head.weight.zero_()
        head.bias.fill_(8.0)
        for p in loaded.model.mask_decoder.mask_embedder.parameters():
            p.mul_(40.0)
    folder = tmp_path_factory.mktemp("wrapper_present")
    save_model(loaded, folder / "model")
    tool("model", "export", "--model", folder / "model", "--device", "cpu", "--out", folder / "package",
         "--prompt", "chicken", "--format", "torchscript")
    return folder / "package"


@pytest.fixture(scope="module")
def images(tmp_path_factory, chicken_egg_yolo):
    """Sample barn scenes (PNG and JPEG, two sizes) and real photos (PNG and JPEG)."""
    root = tmp_path_factory.mktemp("wrapper_images")
    tool("data", "sample", "--out", root / "a", "--count", "5", "--size", "320x240", "--seed", "3")
    tool("data", "sample", "--out", root / "b", "--count", "3", "--size", "200x150", "--seed", "4")
    files = sorted(p for d in ("a", "b") for p in (root / d / "labelme").iterdir()
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    real = sorted((chicken_egg_yolo / "images").iterdir())
    files += [next(p for p in real if p.suffix == ".png"), next(p for p in real if p.suffix == ".jpg")]
    assert {p.suffix for p in files} >= {".png", ".jpg"}, files
    return files


@pytest.fixture(scope="module")
def wrapper(package):
    return cs_py.Sam3Wrapper(package, score_threshold=0, presence_threshold=0)


def cli_predict(package, files, out_dir, *extra, presence=0):
    """`chickenseg predict` on `files` (in order) at the parity setting: per file, in order,
    {prompt: pair} from its JSONL lines."""
    out_dir.mkdir(parents=True, exist_ok=True)
    listing = out_dir / "list.txt"
    listing.write_text("".join(f"{f}\n" for f in files))
    tool("predict", "--package", package, "--list", listing, "--min-score", "0", "--presence-threshold", presence,
         "--out", out_dir / "results.json", "--jsonl", out_dir / "results.jsonl", *extra)
    records = []
    for line in (out_dir / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        assert "error" not in r, r
        records.append((r["file"], {p["prompt"]: p for p in r["pairs"]}))
    assert [f for f, _ in records] == [str(f) for f in files]
    return [pairs for _, pairs in records]


def assert_same_as_cli(result, pair):
    """Same detections as the tool's JSONL pair: masks exactly, scores within 1e-6, boxes 1e-4 px."""
    dets = pair["detections"]
    assert len(dets) >= 1, "nothing to compare: the tool found no detection"
    assert len(result) == len(dets)
    assert result.empty == pair["gated"]
    assert abs(result.presence - pair["presence"]) <= 1e-6
    np.testing.assert_allclose(result.scores, [d["score"] for d in dets], rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.boxes_xywh, [d["bbox"] for d in dets], rtol=0, atol=1e-4)
    xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in (d["bbox"] for d in dets)])
    np.testing.assert_allclose(result.boxes, xyxy, rtol=0, atol=1e-4)
    assert [r["counts"] for r in result.rle] == [d["segmentation"]["counts"] for d in dets]
    assert [r["size"] for r in result.rle] == [d["segmentation"]["size"] for d in dets]


def assert_same_result(a, b):
    assert len(a) >= 1 and len(a) == len(b)
    assert a.presence == b.presence and a.empty == b.empty and a.prompt == b.prompt
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    assert [r["counts"] for r in a.rle] == [r["counts"] for r in b.rle]


# --- the same detections as `chickenseg predict` -------------------------------------------------

def test_predict_equals_cli(wrapper, package, images, tmp_path):
    records = cli_predict(package, images, tmp_path / "cli")
    compared = 0
    for path, pairs in zip(images, records):
        for prompt in ("chicken", "hen"):
            result = wrapper.predict(path, prompt=prompt)
            assert result.width == Image.open(path).width and result.height == Image.open(path).height
            assert_same_as_cli(result, pairs[prompt])
            compared += len(result)
    assert compared >= 2 * len(images)


def test_predict_batch_equals_cli_batches(package, images, tmp_path):
    """predict_batch runs the encoder max_batch images at a time, as predict --batch-size does:
    the same batches give the same detections (batch composition changes float rounding only)."""
    wrapper = cs_py.Sam3Wrapper(package, score_threshold=0, presence_threshold=0)
    files = images + images[:3]  # more than one batch of 8
    assert len(files) > wrapper.max_batch
    records = cli_predict(package, files[:wrapper.max_batch], tmp_path / "b1", "--batch-size", wrapper.max_batch,
                          "--prompt", "hen")
    records += cli_predict(package, files[wrapper.max_batch:], tmp_path / "b2", "--batch-size",
                           wrapper.max_batch, "--prompt", "hen")
    results = wrapper.predict_batch(files, prompt="hen")
    assert len(results) == len(files)
    for path, result, pairs in zip(files, results, records):
        assert result.path == str(path)
        assert_same_as_cli(result, pairs["hen"])


def test_encode_detect_equals_predict(wrapper, images):
    encoded = wrapper.encode(images[0])
    assert (encoded.width, encoded.height) == Image.open(images[0]).size
    by_prompt = wrapper.detect_prompts(encoded, ["chicken", "hen"])
    for prompt in ("chicken", "hen"):
        assert_same_result(wrapper.detect(encoded, prompt), wrapper.predict(images[0], prompt=prompt))
        assert_same_result(by_prompt[prompt], wrapper.predict(images[0], prompt=prompt))
    assert wrapper.detect(encoded).prompt == "chicken"  # the package's first prompt by default
    t = wrapper.detect(encoded, "hen").timings
    assert t["encoder_ms"] == 0 and t["decoder_ms"] > 0  # detect reuses the features


def test_masks_decode_the_rle(wrapper, images):
    result = wrapper.predict(images[1])
    assert len(result) >= 1
    masks = result.masks
    assert masks.dtype == np.bool_ and masks.shape == (len(result), result.height, result.width)
    assert masks.flags.c_contiguous
    decoded = mask_utils.decode(result.rle)  # H x W x N, pycocotools reads our dicts as they are
    np.testing.assert_array_equal(masks, decoded.transpose(2, 0, 1).astype(bool))
    assert [int(a) for a in mask_utils.area(result.rle)] == [int(m.sum()) for m in masks]


def test_masks_false_skips_the_mask_decoder(wrapper, images):
    with_masks = wrapper.predict(images[0])
    result = wrapper.predict(images[0], masks=False)
    assert len(result) == len(with_masks) >= 1
    assert result.masks is None and result.rle is None
    np.testing.assert_array_equal(result.scores, with_masks.scores)
    assert result.timings["mask_decoder_ms"] == 0
    r = result.to_ultralytics()
    assert r.masks is None and len(r.boxes) == len(result)


def test_presence_gating(package, images, tmp_path):
    """The package's threshold (0.5) gates the tiny model's 0.4999 presence: "no chicken"."""
    gated = cs_py.Sam3Wrapper(package)
    assert gated.thresholds["presence"] == 0.5
    result = gated.predict(images[0])
    assert result.empty and len(result) == 0 and result.masks.shape == (0, result.height, result.width)
    assert result.boxes.shape == (0, 4) and result.rle == []
    assert 0.49 < result.presence < 0.5
    assert "NO chicken" in repr(result)
    pair = cli_predict(package, images[:1], tmp_path / "cli", "--prompt", "chicken", presence=0.5)[0]["chicken"]
    assert pair["gated"] and abs(pair["presence"] - result.presence) <= 1e-6
    # thresholds can be changed on the object
    gated.presence_threshold = 0
    gated.score_threshold = 0
    assert not gated.predict(images[0]).empty and len(gated.predict(images[0])) >= 1
    plot = result.to_ultralytics().plot()  # nothing drawn on an empty result
    np.testing.assert_array_equal(plot, result.image(bgr=True))


# --- every kind of input gives the same result ---------------------------------------------------

@pytest.mark.parametrize("which", [0, -1], ids=["png_or_sample", "real_jpeg"])
def test_input_kinds_agree(wrapper, images, which):
    path = images[which]
    reference = wrapper.predict(path)
    assert len(reference) >= 1
    rgb = np.asarray(Image.open(path).convert("RGB"))
    assert np.array_equal(rgb, cs_py.decode_image(path))  # the runtime's decoder equals PIL's
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    wide = np.zeros((rgb.shape[0], rgb.shape[1] * 2, 3), np.uint8)
    wide[:, ::2] = rgb
    strided = wide[:, ::2]  # not contiguous: every other column
    assert not strided.flags.c_contiguous
    readonly = rgb.copy()
    readonly.flags.writeable = False
    fortran = np.asfortranarray(rgb)
    inputs = {
        "str": str(path), "pathlike": Path(path), "rgb": rgb, "readonly": readonly, "fortran": fortran,
        "strided": strided, "channel_view": bgr[..., ::-1], "pil": Image.open(path),
        "pil_rgba": Image.open(path).convert("RGBA"), "bytes": Path(path).read_bytes(),
        "file": open(path, "rb"), "bytesio": io.BytesIO(Path(path).read_bytes()),
    }
    for name, image in inputs.items():
        try:
            assert_same_result(wrapper.predict(image), reference)
        except AssertionError as e:
            raise AssertionError(f"input kind {name}: {e}") from e
    assert_same_result(wrapper.predict(bgr, bgr=True), reference)
    assert_same_result(wrapper.predict(strided[..., ::-1], bgr=True), reference)
    inputs["file"].close()
    # bgr=True on an RGB picture swaps red and blue: another picture
    swapped = wrapper.predict(rgb, bgr=True)
    assert not np.array_equal(swapped.scores, reference.scores)


def test_image_and_path_kept(wrapper, images):
    path = images[0]
    rgb = np.asarray(Image.open(path).convert("RGB"))
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    r = wrapper.predict(bgr, bgr=True)
    assert r.image(bgr=True) is bgr  # the caller's array, not a copy
    np.testing.assert_array_equal(r.image(), rgb)
    p = wrapper.predict(str(path))
    assert p.path == str(path) and p.orig_shape == rgb.shape[:2]
    np.testing.assert_array_equal(p.image(), rgb)
    np.testing.assert_array_equal(p.image(bgr=True), bgr)
    np.testing.assert_array_equal(wrapper.predict(Path(path).read_bytes()).image(), rgb)


# --- Ultralytics and supervision -----------------------------------------------------------------

def test_to_ultralytics(wrapper, present, images, tmp_path):
    from ultralytics.engine.results import Results

    for model in (wrapper, cs_py.Sam3Wrapper(present)):
        result = model.predict(images[0])
        assert len(result) >= 1
        r = result.to_ultralytics()
        assert isinstance(r, Results)
        assert r.names == {0: "chicken"} and r.path == str(images[0]) and r.orig_shape == result.orig_shape
        np.testing.assert_array_equal(r.boxes.xyxy.numpy(), result.boxes)
        np.testing.assert_array_equal(r.boxes.conf.numpy(), result.scores)
        assert (r.boxes.cls.numpy() == 0).all()
        assert r.masks.data.shape == (len(result), result.height, result.width)
        np.testing.assert_array_equal(r.masks.data.numpy(), result.masks)
        polygons = r.masks.xy
        assert len(polygons) == len(result) and any(len(p) >= 3 for p in polygons)
        for poly in polygons:
            assert poly.ndim == 2 and poly.shape[1] == 2
            if len(poly):
                assert (poly[:, 0] <= result.width).all() and (poly[:, 1] <= result.height).all()
        drawn = r.plot()
        assert drawn.shape == r.orig_img.shape and drawn.dtype == np.uint8
        assert not np.array_equal(drawn, r.orig_img)
        txt = tmp_path / f"{id(model)}.txt"
        r.save_txt(txt, save_conf=True)
        lines = [line for line in txt.read_text().splitlines() if line.strip()]
        assert len(lines) == sum(1 for p in polygons if len(p))
        assert all(line.split()[0] == "0" for line in lines)
    assert r.speed["inference"] > 0


def test_ultralytics_tracker(present, images):
    """Ultralytics' ByteTrack follows the wrapper's detections over frames."""
    from ultralytics.trackers.byte_tracker import BYTETracker
    from ultralytics.utils import YAML, IterableSimpleNamespace
    import ultralytics

    cfg = IterableSimpleNamespace(**YAML.load(Path(ultralytics.__file__).parent / "cfg" / "trackers" / "bytetrack.yaml"))
    tracker = BYTETracker(cfg)
    model = cs_py.Sam3Wrapper(present)
    frame = np.asarray(Image.open(images[0]).convert("RGB"))[..., ::-1]
    tracks = None
    for _ in range(3):
        r = model.predict(frame, bgr=True).to_ultralytics()
        assert len(r.boxes) >= 1 and float(r.boxes.conf.min()) > cfg.new_track_thresh
        tracks = tracker.update(r.boxes.cpu().numpy(), r.orig_img)
    assert len(tracks) >= 1 and tracks.shape[1] == 8
    ids = set(tracks[:, 4].astype(int))
    assert len(ids) == len(tracks)


def test_to_supervision(wrapper, images):
    import supervision as sv

    result = wrapper.predict(images[0])
    assert len(result) >= 1
    d = result.to_supervision()
    assert isinstance(d, sv.Detections) and len(d) == len(result)
    np.testing.assert_array_equal(d.xyxy, result.boxes)
    np.testing.assert_array_equal(d.confidence, result.scores)
    np.testing.assert_array_equal(d.mask, result.masks)
    assert (d.class_id == 0).all() and list(d.data["class_name"]) == ["chicken"] * len(result)
    scene = result.image(bgr=True).copy()
    annotated = sv.MaskAnnotator().annotate(scene=scene.copy(), detections=d)
    assert annotated.shape == scene.shape and not np.array_equal(annotated, scene)
    boxed = sv.BoxAnnotator().annotate(scene=scene.copy(), detections=d)
    assert not np.array_equal(boxed, scene)
    no_masks = wrapper.predict(images[0], masks=False).to_supervision()
    assert no_masks.mask is None and len(no_masks) == len(result)


def test_missing_interop_packages_are_named(wrapper, images, monkeypatch):
    result = wrapper.predict(images[0])
    monkeypatch.setitem(sys.modules, "supervision", None)
    with pytest.raises(ImportError, match="pip install supervision"):
        result.to_supervision()
    monkeypatch.setitem(sys.modules, "ultralytics.engine.results", None)
    with pytest.raises(ImportError, match="pip install ultralytics.*YOLO_OFFLINE"):
        result.to_ultralytics()


# --- bad input -----------------------------------------------------------------------------------

def test_bad_arrays(wrapper):
    good = np.zeros((24, 32, 3), np.uint8)
    cases = [
        (good.astype(np.float32), TypeError, "uint8.*float32"),
        (good.astype(np.uint16), TypeError, "uint8"),
        (good.astype(bool), TypeError, "uint8"),
        (good[..., 0], ValueError, r"\(height, width, 3\).*\(24, 32\).*grey"),
        (np.zeros((24, 32, 4), np.uint8), ValueError, r"\(24, 32, 4\).*alpha"),
        (np.zeros((3, 24, 32), np.uint8), ValueError, r"channels first"),
        (np.zeros((0, 32, 3), np.uint8), ValueError, "empty image"),
        (np.zeros((24, 0, 3), np.uint8), ValueError, "empty image"),
        (np.zeros((0,), np.uint8), ValueError, r"\(height, width, 3\)"),
        (np.zeros((2, 24, 32, 3), np.uint8), ValueError, r"\(height, width, 3\)"),
    ]
    for array, error, message in cases:
        with pytest.raises(error, match=message):
            wrapper.predict(array)
        with pytest.raises(error, match="images\\[1\\]: .*" + message):
            wrapper.predict_batch([good, array])
    # 10^10 pixels that take 3 bytes of memory (zero strides): refused before any buffer is made
    huge = np.lib.stride_tricks.as_strided(np.zeros(3, np.uint8), shape=(100_000, 100_000, 3), strides=(0, 0, 1))
    with pytest.raises(cs_py.Error, match="100000 x 100000 pixels: more than the 178956970"):
        wrapper.predict(huge)
    assert len(wrapper.predict(good)) >= 1  # the engine still works


def test_bad_files(wrapper, images, tmp_path):
    with pytest.raises(FileNotFoundError, match="image file not found"):
        wrapper.predict(tmp_path / "missing.jpg")
    f = open(images[0], "rb")
    f.close()
    with pytest.raises(ValueError, match="is closed"):
        wrapper.predict(f)
    with open(images[0]) as text_mode:
        with pytest.raises(TypeError, match="text mode.*binary mode"):
            wrapper.predict(text_mode)
    with pytest.raises(cs_py.Error, match="is a folder"):
        wrapper.predict(tmp_path)
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("not a picture")
    with pytest.raises(cs_py.Error, match="notes.jpg.*not an image"):
        wrapper.predict(not_image)
    cut = tmp_path / "cut.png"
    data = Path(next(p for p in images if p.suffix == ".png")).read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(cs_py.Error, match="cut.png.*truncated"):
        wrapper.predict(cut)
    with pytest.raises(cs_py.Error, match="<bytes>"):
        wrapper.predict(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(cs_py.Error, match=r"images\[2\]: .*cut.png"):
        wrapper.predict_batch([images[0], images[1], cut])
    for wrong in (123, None, [images[0]], {"a": 1}):
        with pytest.raises(TypeError):
            wrapper.predict(wrong)
    with pytest.raises(TypeError, match="list of images"):
        wrapper.predict_batch(str(images[0]))
    assert wrapper.predict_batch([]) == []


def test_bad_packages_and_arguments(package, tmp_path):
    tampered = package_with_flipped_byte(package, "decoder.ts", tmp_path / "tampered")
    with pytest.raises(cs_py.Error, match="decoder.ts.*SHA-256"):
        cs_py.Sam3Wrapper(tampered)
    assert isinstance(cs_py.Error("x"), RuntimeError)
    with pytest.raises(cs_py.Error, match="nothing: model package folder not found"):
        cs_py.Sam3Wrapper(tmp_path / "nothing")
    with pytest.raises(cs_py.Error, match='prompt "duck" is not one of the package\'s prompts \\(chicken, hen\\)'):
        cs_py.Sam3Wrapper(package, prompt="duck")
    w = cs_py.Sam3Wrapper(package)
    with pytest.raises(cs_py.Error, match='"duck"'):
        w.predict(np.zeros((8, 8, 3), np.uint8), prompt="duck")
    with pytest.raises(cs_py.Error, match="expected cpu, cuda or cuda:N"):
        cs_py.Sam3Wrapper(package, device="gpu")
    with pytest.raises(cs_py.Error, match="exported for cpu"):
        cs_py.Sam3Wrapper(package, device="cuda")
    with pytest.raises(cs_py.Error, match="backend \"tensorrt\""):
        cs_py.Sam3Wrapper(package, backend="tensorrt")
    with pytest.raises(ValueError, match="score_threshold=1.5"):
        cs_py.Sam3Wrapper(package, score_threshold=1.5)
    with pytest.raises(ValueError, match="presence_threshold=nan"):
        cs_py.Sam3Wrapper(package, presence_threshold=float("nan"))
    with pytest.raises(TypeError, match="mask_threshold: expected a number.*got str"):
        cs_py.Sam3Wrapper(package, mask_threshold="0.5")
    with pytest.raises(TypeError, match="device: expected a str"):
        cs_py.Sam3Wrapper(package, device=None)
    with pytest.raises(ValueError, match="threads=-1: expected"):
        cs_py.Sam3Wrapper(package, threads=-1)
    with pytest.raises(ValueError, match="threads=1000000000000: expected"):
        cs_py.Sam3Wrapper(package, threads=10**12)
    with pytest.raises(TypeError, match="threads: expected a whole number"):
        cs_py.Sam3Wrapper(package, threads=1.5)
    with pytest.raises(TypeError, match="prompt: expected a prompt as a str.*got int"):
        cs_py.Sam3Wrapper(package, prompt=0)
    with pytest.raises(TypeError, match="prompt: expected a prompt as a str.*got int"):
        w.predict(np.zeros((8, 8, 3), np.uint8), prompt=0)
    w.score_threshold = [0.5]
    with pytest.raises(TypeError, match="score_threshold: expected a number.*got list"):
        w.predict(np.zeros((8, 8, 3), np.uint8))
    w.score_threshold = None
    other = cs_py.Sam3Wrapper(package)
    encoded = other.encode(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="another Sam3Wrapper"):
        w.detect(encoded)
    with pytest.raises(TypeError, match="encode returns"):
        w.detect(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(TypeError, match="list of prompts"):
        other.detect_prompts(encoded, "chicken")


def run_python(code, env=None):
    """A fresh interpreter with the module under test importable."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(module_dir()),
                                                                            os.environ.get("PYTHONPATH", "")]),
                               **(env or {})})


def test_missing_plugin_is_an_error(package, tmp_path):
    proc = run_python(f"""
import chickenseg
try:
    chickenseg.Sam3Wrapper({str(package)!r})
except chickenseg.Error as e:
    print("ERROR", e)
""", env={"CHICKENSEG_PLUGIN_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" in proc.stdout and "libchickenseg-torch.so was not found" in proc.stdout
    assert str(tmp_path) in proc.stdout


# --- torch in the same process, threads ----------------------------------------------------------

@pytest.mark.parametrize("order", ["torch_first", "chickenseg_first"])
def test_torch_in_the_same_process(package, images, wrapper, order):
    """Ultralytics users import torch: both import orders load one LibTorch and give the same
    detections as this process."""
    imports = "import torch\nimport chickenseg" if order == "torch_first" else "import chickenseg"
    after = "" if order == "torch_first" else "import torch"
    proc = run_python(f"""
{imports}
w = chickenseg.Sam3Wrapper({str(package)!r}, score_threshold=0, presence_threshold=0)
r = w.predict({str(images[0])!r})
{after}
x = torch.nn.functional.conv2d(torch.ones(1, 3, 8, 8), torch.ones(2, 3, 3, 3))
assert float(x.sum()) == 2 * 36 * 27, float(x.sum())
r2 = w.predict({str(images[0])!r})
import json
libs = sorted(l.split()[-1] for l in open("/proc/self/maps") if "libtorch_cpu.so" in l)
print(json.dumps({{"counts": [m["counts"] for m in r.rle], "again": [m["counts"] for m in r2.rle],
                  "scores": r.scores.tolist(), "torch_libs": sorted(set(libs))}}))
""")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    reference = wrapper.predict(images[0])
    assert len(out["counts"]) >= 1
    assert out["counts"] == out["again"] == [m["counts"] for m in reference.rle]
    np.testing.assert_array_equal(np.float32(out["scores"]), reference.scores)
    assert len(out["torch_libs"]) == 1, out["torch_libs"]  # one LibTorch, the venv's torch wheel's


def test_threads_equal_serial(wrapper, images):
    inputs = [str(p) for p in images] + [np.asarray(Image.open(p).convert("RGB")) for p in images[:4]]
    serial = [wrapper.predict(x) for x in inputs]
    got = [[None] * len(inputs) for _ in range(4)]
    errors = []

    def work(t):
        try:
            order = list(range(len(inputs)))[t:] + list(range(len(inputs)))[:t]
            for i in order:
                got[t][i] = wrapper.predict(inputs[i])
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for t in range(4):
        for a, b in zip(serial, got[t]):
            assert_same_result(a, b)


def test_gil_released_while_the_engine_runs(wrapper):
    """Another Python thread runs while predict works: the middle of a call (decoding, the
    engine) sees it progress, which it cannot while a thread holds the GIL."""
    image = np.random.default_rng(0).integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    wrapper.predict(image)  # warm
    stamps = []
    stop = threading.Event()

    def spin():
        last = time.perf_counter()
        while not stop.is_set():
            now = time.perf_counter()
            if now - last > 0.001:
                stamps.append(now)
                last = now

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        start = time.perf_counter()
        r = wrapper.predict(image)
        end = time.perf_counter()
    finally:
        stop.set()
        t.join()
    assert len(r) >= 1
    margin = 0.25 * (end - start)
    inside = [s for s in stamps if start + margin <= s <= end - margin]
    assert end - start > 0.01 and inside, (end - start, len(stamps))
