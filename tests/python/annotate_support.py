"""Shared by the annotator's tests: folders to annotate from the trained tiny model's validation
images (test_predict.py's `trained`: bright discs are its chickens), pre-filled LabelMe files, and
`chickenseg annotate` started on a free port of 127.0.0.1 and driven over HTTP."""
import json
import os
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from chickenseg_model.annotate_client import AnnotateServer
from conftest import chickenseg_bin

TOKEN = "test-token-0123456789abcdef"


def tool(*args, check=True):
    proc = subprocess.run([str(chickenseg_bin()), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "CHICKENSEG_QUIET": "1"})
    if check and proc.returncode != 0:
        raise AssertionError(f"chickenseg {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def val_images(trained):
    """The trained model's validation images (bright discs = chickens): file name -> the discs'
    boxes [x, y, w, h] (none for a negative)."""
    val = json.loads(Path(trained["dataset"]).read_text())
    boxes = {im["id"]: (im["file_name"], []) for im in val["images"]}
    for a in val["annotations"]:
        boxes[a["image_id"]][1].append(a["bbox"])
    return dict(sorted(boxes.values()))


def copy_images(trained, folder: Path, names, prefix=""):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(Path(trained["images"]) / name, folder / (prefix + name))
    return folder


def in_box(point, box):
    x, y = point
    return box[0] <= x + 0.5 <= box[0] + box[2] and box[1] <= y + 0.5 <= box[1] + box[3]


def square(x, y, size=6):
    return [x, y, x + size, y, x + size, y + size, x, y + size]


def write_prefill(path: Path, image_name: str, width: int, height: int, squares):
    """A pre-filled LabelMe file (what `chickenseg mine` writes) with one square mask per entry."""
    shapes = [{"label": "chicken", "points": [[p[k], p[k + 1]] for k in range(0, len(p), 2)], "group_id": None,
               "description": f"score 0.9{i}", "shape_type": "polygon", "flags": {}, "mask": None}
              for i, p in enumerate(squares)]
    path.write_text(json.dumps({"version": "5.11.4", "flags": {"unstable_mask": True}, "shapes": shapes,
                                "imagePath": image_name, "imageData": None, "imageHeight": height,
                                "imageWidth": width}))


def polygons_contain(polygons, x, y, width, height):
    """Whether pixel (x, y) is filled by the polygons, rasterised as COCO does."""
    rles = mask_utils.frPyObjects([list(map(float, p)) for p in polygons], height, width)
    mask = mask_utils.decode(mask_utils.merge(rles))
    return bool(mask[int(y), int(x)])


class Server(AnnotateServer):
    """`chickenseg --json annotate FOLDER --package PKG --port 0` with the tests' token (the shared
    client, python/chickenseg_model/annotate_client.py), plus what only the tests ask of it."""

    def __init__(self, folder, package, *extra):
        super().__init__(folder, package, *extra, tool=chickenseg_bin(), token=TOKEN)

    def best_candidate(self, file, avoid=()):
        """The highest-scoring candidate mask of `file` with a point inside it (from the server's
        own candidates, so a random tiny model still gives a point a click must answer)."""
        status, r = self.get("/api/candidates?file=" + urllib.parse.quote(file, safe=""))
        assert status == 200, r
        cands = [c for c in r["candidates"] if c["area"] >= 4 and tuple(c["point"]) not in avoid]
        assert cands, f"the model has no candidate mask in {file}: {r}"
        return max(cands, key=lambda c: (c["score"], -c["query"]))


def far_corners(point, width, height, size=6, count=2):
    """Up to `count` squares in the image's corners, away from `point` (pre-filled masks that a click
    on the point does not land on)."""
    px, py = point
    corners = [(1, 1), (width - size - 1, 1), (1, height - size - 1), (width - size - 1, height - size - 1)]
    corners.sort(key=lambda c: -np.hypot(c[0] + size / 2 - px, c[1] + size / 2 - py))
    return [square(x, y, size) for x, y in corners[:count]]
