"""`chickenseg data convert` on the real Label Studio YOLO export (../shared/datasets/chicken-egg-yolo,
read in place), checked against pycocotools and PIL."""
import json

import numpy as np
import pytest
from PIL import Image, ImageOps
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from conftest import load_json


@pytest.fixture(scope="module")
def converted(cs, chicken_egg_yolo, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("convert_real")
    label_map = out_dir / "label_map.yaml"
    label_map.write_text("concept: chicken\nbackground: [Egg]\n")
    out = out_dir / "chicken.json"
    proc = cs("--json", "data", "convert", chicken_egg_yolo, "--out", out, "--label-map", label_map, check=True)
    return out, json.loads(proc.stdout)


def label_rectangles(label_file, width, height, class_id=0):
    """The pixel rectangles [x0, y0, x1, y1] of one class in a YOLO label file (4-corner polygons)."""
    rects = []
    for line in label_file.read_text().splitlines():
        fields = line.split()
        if not fields or int(fields[0]) != class_id:
            continue
        xs = [float(v) for v in fields[1::2]]
        ys = [float(v) for v in fields[2::2]]
        rects.append([min(xs) * width, min(ys) * height, max(xs) * width, max(ys) * height])
    return rects


def test_counts(converted):
    out, summary = converted
    assert summary["images"] == 270
    assert summary["positives"] == 188
    assert summary["negatives"] == 82
    assert summary["annotations"] == 300
    assert summary["error_count"] == 0
    assert summary["written"] is True
    labels = {entry["label"]: entry for entry in summary["labels"]}
    assert labels["Chicken"]["mapped_to"] == "chicken"
    assert labels["Chicken"]["objects"] == 300
    assert labels["Egg"]["mapped_to"] == "background"
    assert labels["Egg"]["objects"] == 169
    doc = load_json(out)
    assert len(doc["images"]) == 270
    assert len(doc["annotations"]) == 300
    annotated = {a["image_id"] for a in doc["annotations"]}
    assert len(annotated) == 188
    assert doc["chickenseg"] == {"schema": "chickenseg.saco/1", "concept": "chicken", "source_format": "yolo"}


def test_plain_coco_fields_for_the_sam3_loader(converted):
    doc = load_json(converted[0])
    assert doc["categories"] == [{"id": 1, "name": "chicken"}]
    ids = [im["id"] for im in doc["images"]]
    assert ids == list(range(1, 271))
    names = [im["file_name"] for im in doc["images"]]
    assert names == sorted(names)
    for im in doc["images"]:
        assert isinstance(im["width"], int) and isinstance(im["height"], int)
        assert im["text_input"] == "chicken"
        assert im["is_instance_exhaustive"] == 1
        assert im["source"] == "yolo"
        assert im["file_name"].startswith("images/")
    for i, a in enumerate(doc["annotations"], start=1):
        assert a["id"] == i
        assert a["category_id"] == 1
        assert a["iscrowd"] == 0
        assert len(a["bbox"]) == 4 and a["bbox"][2] > 1 and a["bbox"][3] > 1  # pixels, not normalised
        assert isinstance(a["segmentation"], list) and len(a["segmentation"][0]) == 8


def test_masks_equal_the_source_rectangles(converted, chicken_egg_yolo):
    out = converted[0]
    coco = COCO(str(out))
    checked = 0
    for image_id, im in coco.imgs.items():
        stem = im["file_name"].rsplit("/", 1)[1].rsplit(".", 1)[0]
        rects = label_rectangles(chicken_egg_yolo / "labels" / f"{stem}.txt", im["width"], im["height"])
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        assert len(anns) == len(rects), im["file_name"]
        for ann, (x0, y0, x1, y1) in zip(anns, rects):
            rect = [x0, y0, x1, y0, x1, y1, x0, y1]
            expected = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([rect], im["height"], im["width"])))
            got = coco.annToMask(ann)
            assert np.array_equal(got, expected), (im["file_name"], ann["id"])
            assert ann["area"] == int(expected.sum())
            assert ann["bbox"] == pytest.approx([x0, y0, x1 - x0, y1 - y0], abs=1e-9)
            checked += 1
    assert checked == 300


def test_sizes_match_pil_including_png_files_holding_jpeg(converted, chicken_egg_yolo):
    doc = load_json(converted[0])
    png_with_jpeg = 0
    for im in doc["images"]:
        path = chicken_egg_yolo / im["file_name"]
        with Image.open(path) as pil:
            if path.suffix == ".png" and pil.format == "JPEG":
                png_with_jpeg += 1
            w, h = ImageOps.exif_transpose(pil).size
        assert (im["width"], im["height"]) == (w, h), im["file_name"]
    assert png_with_jpeg > 0


def test_same_input_same_bytes(cs, chicken_egg_yolo, converted, tmp_path):
    out = tmp_path / "again.json"
    cs("-q", "data", "convert", chicken_egg_yolo, "--out", out, "--unknown-labels", "background", check=True)
    assert out.read_bytes() == converted[0].read_bytes()


def test_unknown_egg_label_is_an_error_and_writes_nothing(cs, chicken_egg_yolo, tmp_path):
    out = tmp_path / "never.json"
    proc = cs("-q", "data", "convert", chicken_egg_yolo, "--out", out)
    assert proc.returncode == 1
    assert 'unknown label "Egg": 169 object(s) in' in proc.stderr
    assert "--unknown-labels" in proc.stderr
    assert not out.exists()
