#!/usr/bin/env python3
"""Writes the seed inputs of fuzz/corpus/ (a few small, valid files per target).

Run from the repository root with the project's venv (Pillow, pycocotools) and a built tool:
    .venv/bin/python fuzz/seed_corpus.py build/chickenseg
The sample generator's LabelMe/YOLO output (64x64, 4 scenes) and its converted SA-Co file are
the real inputs; the rest is written here. Regression inputs (crash-*) are kept by hand.
"""
import base64
import io
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image
from pycocotools import mask as mask_util

ROOT = pathlib.Path("fuzz/corpus")


def put(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def rle(mask):
    r = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": list(r["size"]), "counts": r["counts"].decode()}


def main():
    tool = sys.argv[1] if len(sys.argv) > 1 else "build/chickenseg"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        subprocess.run([tool, "-q", "data", "sample", "--out", tmp / "s", "--count", "4", "--size", "64x64",
                        "--seed", "3"], check=True, capture_output=True)
        subprocess.run([tool, "-q", "data", "convert", tmp / "s/labelme", "--label-map",
                        tmp / "s/label_map.yaml", "--out", tmp / "all.json"], check=True, capture_output=True)
        for p in sorted((tmp / "s/labelme").glob("*.json")):
            put("labelme", "sample_" + p.stem + ".json", compact(json.loads(p.read_text())))
        # yolo: the first byte picks the parser ('0' classes.txt, '1' data.yaml, '2' labels).
        put("yolo", "classes.txt", "0" + (tmp / "s/yolo/classes.txt").read_text())
        for p in sorted((tmp / "s/yolo/labels").glob("*.txt")):
            put("yolo", "labels_" + p.name, "2" + p.read_text())
        saco = json.loads((tmp / "all.json").read_text())
        put("saco", "sample_all.json", compact(saco))
        sample_jpg = (tmp / "s/labelme/barn_0003.jpg").read_bytes()

    # labelme: the other shape types, a mask shape (base64 PNG), LabelMe 3's null shape_type.
    m = Image.new("1", (4, 3), 1)
    buf = io.BytesIO()
    m.save(buf, "PNG")
    shapes = [
        {"label": "chicken", "points": [[1, 1], [10, 12]], "shape_type": "rectangle", "group_id": 1},
        {"label": "chicken", "points": [[20, 20], [25, 20]], "shape_type": "circle", "group_id": 1},
        {"label": "hen", "points": [[30, 5], [33.5, 8]], "shape_type": "mask",
         "mask": base64.b64encode(buf.getvalue()).decode()},
        {"label": "egg", "points": [[2, 40], [9, 41], [5, 47]], "shape_type": None},
        {"label": "feeder", "points": [[0, 0], [5, 5]], "shape_type": "line"},
        {"label": "x", "points": [[3, 3]], "shape_type": "point"},
    ]
    put("labelme", "shapes.json", compact({"version": "5.4.1", "shapes": shapes, "imagePath": "a.png",
                                          "imageData": None, "imageHeight": 48, "imageWidth": 64}))
    put("yolo", "data.yaml", "1names:\n  0: chicken\n  1: egg\npath: .\ntrain: images\n")
    put("yolo", "data_list.yaml", "1names: [chicken, egg]\nnc: 2\n")
    put("yolo", "labels_box.txt", "20 0.5 0.5 0.25 0.5\n1 0.1 0.1 0.2 0.2\n")

    # coco: polygons, an uncompressed crowd RLE, a compressed RLE, two categories.
    mk = np.zeros((6, 8), np.uint8)
    mk[1:4, 2:6] = 1
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 6},
                   {"id": 2, "file_name": "b.jpg", "width": 8, "height": 6}],
        "categories": [{"id": 1, "name": "chicken"}, {"id": 3, "name": "egg", "supercategory": "x"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 6.0, "bbox": [1, 1, 3, 2],
             "segmentation": [[1, 1, 4, 1, 4, 3, 1, 3]]},
            {"id": 2, "image_id": 1, "category_id": 3, "iscrowd": 1, "area": 12, "bbox": [2, 1, 4, 3],
             "segmentation": {"size": [6, 8], "counts": [13, 3, 3, 3, 3, 3, 3, 3, 15]}},
            {"id": 5, "image_id": 2, "category_id": 1, "iscrowd": 0, "area": 12, "bbox": [2, 1, 4, 3],
             "segmentation": rle(mk)},
        ],
    }
    put("coco", "small.json", compact(coco))

    # saco: a hand-written file beside the sample's (a negative, an RLE object).
    saco_small = {
        "info": {"description": "fuzz seed"},
        "images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 6, "text_input": "chicken",
                    "is_instance_exhaustive": 1},
                   {"id": 2, "file_name": "b.png", "width": 8, "height": 6, "text_input": "chicken"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 12,
                         "bbox": [2, 1, 4, 3], "segmentation": rle(mk)}],
        "categories": [{"id": 1, "name": "chicken"}],
    }
    put("saco", "small.json", compact(saco_small))

    # predictions: byte 0 = flags (1 fast path, 2 masks required, 4 presence file); the ground
    # truth is images 1, 2, 7 of 8x6 (fuzz_predictions.cpp).
    preds = [
        {"image_id": 1, "category_id": 1, "segmentation": rle(mk), "score": 0.9, "bbox": [2, 1, 4, 3]},
        {"image_id": 7, "category_id": 1, "segmentation": [[0, 0, 3, 0, 3, 2]], "score": 0.25},
        {"image_id": 2, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.5},
    ]
    put("predictions", "fast.json", "\x01" + json.dumps(preds[:2]))
    put("predictions", "general.json", "\x00" + json.dumps(preds, indent=1))
    put("predictions", "masks.json", "\x03" + compact(preds[:2]))
    put("predictions", "presence.json",
        "\x04" + compact({"schema": "chickenseg.presence/1", "presence": {"1": 0.8, "2": 0.01, "7": 0}}))

    # rle_string: bytes 0, 1 = height - 1, width - 1 (mod 64); then the counts string.
    for name, (h, w, mask) in {
        "box": (6, 8, mk),
        "empty": (5, 5, np.zeros((5, 5), np.uint8)),
        "full": (3, 7, np.ones((3, 7), np.uint8)),
        "stripes": (16, 16, (np.indices((16, 16))[1] % 3 == 0)),
    }.items():
        put("rle_string", name, bytes([h - 1, w - 1]) + rle(mask)["counts"].encode())

    # image_header: one small image per format the reader knows.
    img = Image.new("RGB", (7, 5), (200, 120, 40))
    img.putpixel((1, 1), (0, 0, 255))
    for fmt, ext, kw in [("PNG", "png", {}), ("JPEG", "jpg", {"quality": 80}), ("BMP", "bmp", {}),
                         ("GIF", "gif", {}), ("WEBP", "webp", {"lossless": True}),
                         ("WEBP", "lossy.webp", {"quality": 50}), ("TIFF", "tif", {})]:
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        put("image_header", "small." + ext, buf.getvalue())
    buf = io.BytesIO()
    img.convert("LA").save(buf, "PNG")
    put("image_header", "gray_alpha.png", buf.getvalue())
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    put("image_header", "exif_rotated.jpg", buf.getvalue())
    put("image_header", "sample.jpg", sample_jpg)


if __name__ == "__main__":
    main()
