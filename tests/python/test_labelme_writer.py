"""LabelMe files written by the C++ tool open in the real labelme package.

The runtime writes its detections (masks) as LabelMe 5 files for annotators
(core/mask_polygons.h, data/labelme_writer.h). Through the test helper
tests/cpp/tools/labelme_tool (masks in, files out) this checks, with labelme from PyPI
(python/requirements.txt) and pycocotools:

- labelme.LabelFile(filename=...) loads every file (it validates each shape's fields and
  opens the image from imagePath, relative to the file's folder) and gives back the labels,
  points, group_ids, descriptions and flags written;
- labelme's own grouping (utils.shapes_to_label: shapes with the same label and group_id are
  one instance) finds one instance per detection, also for masks cut into several parts;
- each instance filled back by pycocotools (the COCO convention the polygons are written in)
  has IoU >= 0.95 with its mask; filled by labelme's own rasteriser (PIL, which takes integer
  coordinates as pixel centres and adds the outline) it stays close too.

labelme imports PyQt5 but opens no window: no display is needed.
"""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from pycocotools import mask as mask_api

ROOT = Path(__file__).resolve().parents[2]


def labelme_tool_path() -> Path:
    env = os.environ.get("CHICKENSEG_LABELME_TOOL")
    if env:
        return Path(env)
    binary = Path(os.environ.get("CHICKENSEG_BIN", ROOT / "build" / "chickenseg"))
    return binary.parent / "tests" / "cpp" / "labelme_tool"


@pytest.fixture(scope="module")
def labelme():
    try:
        import labelme as module
        from labelme.utils import shape_to_mask, shapes_to_label  # noqa: F401
    except ImportError as e:
        pytest.fail(f"the labelme package is not installed ({e}): pip install -r python/requirements.txt")
    return module


@pytest.fixture(scope="module")
def write_files():
    """Runs labelme_tool on a list of file requests; returns its results."""
    path = labelme_tool_path()
    if not path.exists():
        pytest.fail(f"labelme_tool not found at {path}: build the labelme_tool target "
                    "(or set CHICKENSEG_LABELME_TOOL / CHICKENSEG_BIN)")

    def run(files, params=None):
        request = {"files": files}
        if params:
            request["params"] = params
        proc = subprocess.run([str(path)], input=json.dumps(request), capture_output=True, text=True)
        assert proc.returncode == 0, f"labelme_tool exited {proc.returncode}: {proc.stderr}"
        return json.loads(proc.stdout)["results"]

    return run


def label_file_class(labelme):
    # labelme 5.x exports LabelFile at the top (module labelme._label_file since 5.5);
    # older releases only as labelme.label_file.LabelFile.
    if hasattr(labelme, "LabelFile"):
        return labelme.LabelFile
    from labelme.label_file import LabelFile
    return LabelFile


def ellipses(h, w, shapes):
    """Boolean h x w mask of the pixels whose centres lie in any ellipse (cx, cy, rx, ry, angle)."""
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    out = np.zeros((h, w), bool)
    for cx, cy, rx, ry, angle in shapes:
        c, s = np.cos(angle), np.sin(angle)
        u = ((xx - cx) * c + (yy - cy) * s) / rx
        v = (-(xx - cx) * s + (yy - cy) * c) / ry
        out |= u * u + v * v <= 1
    return out


def counts(mask):
    return mask_api.encode(np.asfortranarray(mask.astype(np.uint8)))["counts"].decode()


def iou(a, b):
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def coco_fill(polygons, h, w):
    rles = mask_api.frPyObjects([[float(v) for xy in p for v in xy] for p in polygons], h, w)
    return mask_api.decode(mask_api.merge(rles)).astype(bool)


def random_scene(rng, h, w, count):
    """Chicken-like masks: a body, a head, sometimes a separate part (a cut-off leg)."""
    masks = []
    for _ in range(count):
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        rx, ry = rng.uniform(8, 0.18 * w), rng.uniform(6, 0.18 * h)
        shapes = [(cx, cy, rx, ry, rng.uniform(0, np.pi)),
                  (cx + 0.8 * rx, cy - 0.6 * ry, 0.35 * rx + 2, 0.35 * ry + 2, 0.0)]
        if rng.uniform() < 0.4:
            shapes.append((cx - 0.3 * rx, cy + ry + 6, 3, 5, 0.0))
        masks.append(ellipses(h, w, shapes))
    return masks


@pytest.mark.parametrize("seed", range(4))
def test_labelme_opens_the_written_files(tmp_path, labelme, write_files, seed):
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(120, 400)), int(rng.integers(120, 500))
    image_dir, label_dir = tmp_path / "images" / "pen 1", tmp_path / "labelme" / "pen 1"
    image_dir.mkdir(parents=True)
    image = image_dir / "frame.jpg"
    PIL.Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(image)
    masks = random_scene(rng, h, w, int(rng.integers(1, 6)))
    labels = [["chicken", "hen"][i % 2] for i in range(len(masks))]
    detections = [{"label": label, "counts": counts(m), "description": f"score 0.{90 - i}",
                   "flags": {"reviewed": False}}
                  for i, (label, m) in enumerate(zip(labels, masks))]
    json_path = label_dir / "frame.json"
    [result] = write_files([{"json_path": str(json_path), "image_path": str(image), "width": w, "height": h,
                             "flags": {"night": True}, "detections": detections}])
    assert result["ok"], result
    polygons = result["polygons"]

    lf = label_file_class(labelme)(filename=str(json_path))
    assert lf.imagePath == "../../images/pen 1/frame.jpg"
    assert lf.flags == {"night": True}
    assert lf.imageData is not None  # it found and read the image
    assert len(lf.shapes) == sum(len(p) for p in polygons)
    shapes_by_detection = []
    k = 0
    for i, detection_polygons in enumerate(polygons):
        shapes = lf.shapes[k:k + len(detection_polygons)]
        k += len(detection_polygons)
        shapes_by_detection.append(shapes)
        group_ids = {s["group_id"] for s in shapes}
        assert len(group_ids) == 1
        assert (None in group_ids) == (len(shapes) == 1)
        for s, p in zip(shapes, detection_polygons):
            assert s["label"] == labels[i]
            assert s["shape_type"] == "polygon"
            assert s["description"] == detections[i]["description"]
            assert s["flags"] == {"reviewed": False}
            assert s["mask"] is None
            assert len(s["points"]) == len(p) // 2 >= 3
            assert np.allclose(np.array(s["points"]).ravel(), p, atol=0.005)

    names = {"_background_": 0, "chicken": 1, "hen": 2}
    _, instances = labelme.utils.shapes_to_label((h, w), lf.shapes, names)
    assert instances.max() == len(masks)
    for i, (mask, shapes) in enumerate(zip(masks, shapes_by_detection)):
        ours = coco_fill([s["points"] for s in shapes], h, w)
        assert iou(ours, mask) >= 0.95, (i, mask.sum())
        theirs = np.zeros((h, w), bool)
        for s in shapes:
            theirs |= labelme.utils.shape_to_mask((h, w), s["points"], s["shape_type"])
        # PIL draws the outline too and puts pixel centres at integers: a thin band more.
        if mask.sum() >= 400:
            assert iou(theirs, mask) >= 0.9, (i, mask.sum())


def test_labelme_opens_a_file_without_shapes(tmp_path, labelme, write_files):
    image = tmp_path / "a.png"
    PIL.Image.new("RGB", (40, 30)).save(image)
    [result] = write_files([{"json_path": str(tmp_path / "a.json"), "image_path": str(image), "width": 40,
                             "height": 30, "detections": []}])
    assert result["ok"], result
    lf = label_file_class(labelme)(filename=str(tmp_path / "a.json"))
    assert lf.shapes == []
    assert lf.imagePath == "a.png"


def test_full_image_border_and_two_part_masks(tmp_path, labelme, write_files):
    h, w = 60, 90
    image = tmp_path / "a.png"
    PIL.Image.new("RGB", (w, h)).save(image)
    full = np.ones((h, w), bool)
    corner = ellipses(h, w, [(w, h, 40, 30, 0.0)])
    two = ellipses(h, w, [(20, 20, 12, 8, 0.3), (50, 40, 10, 6, 0.0)])
    [result] = write_files([{"json_path": str(tmp_path / "a.json"), "image_path": str(image), "width": w,
                             "height": h, "detections": [{"label": "chicken", "counts": counts(m)}
                                                         for m in (full, corner, two)]}])
    assert result["ok"], result
    assert result["polygons"][0] == [[0.0, 0.0, w, 0.0, w, h, 0.0, h]]
    assert len(result["polygons"][2]) == 2
    lf = label_file_class(labelme)(filename=str(tmp_path / "a.json"))
    assert len(lf.shapes) == 4
    for s in lf.shapes:
        pts = np.array(s["points"])
        assert (pts >= 0).all() and (pts[:, 0] <= w).all() and (pts[:, 1] <= h).all()
    assert iou(coco_fill([lf.shapes[0]["points"]], h, w), full) == 1.0
    assert iou(coco_fill([lf.shapes[1]["points"]], h, w), corner) >= 0.95
    assert lf.shapes[2]["group_id"] is not None and lf.shapes[2]["group_id"] == lf.shapes[3]["group_id"]
    assert iou(coco_fill([s["points"] for s in lf.shapes[2:]], h, w), two) >= 0.95
    _, instances = labelme.utils.shapes_to_label((h, w), lf.shapes, {"_background_": 0, "chicken": 1})
    assert instances.max() == 3
