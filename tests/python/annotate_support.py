"""Shared by the annotator's tests: a tiny model package whose masks are clear blobs, a folder to
annotate, and `chickenseg annotate` started on a free port of 127.0.0.1 and driven over HTTP."""
import http.client
import json
import os
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from conftest import chickenseg_bin

TOKEN = "test-token-0123456789abcdef"


def tool(*args, check=True):
    proc = subprocess.run([str(chickenseg_bin()), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "CHICKENSEG_QUIET": "1"})
    if check and proc.returncode != 0:
        raise AssertionError(f"chickenseg {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def blob_package(tmp_path_factory):
    """The tiny model with presence forced high and its mask embedding scaled up, so that every
    query's mask is a clear blob (test_predict.py's `present` package)."""
    from test_predict import forced_presence_package

    return forced_presence_package(tmp_path_factory, 8.0, "annotate_pkg")[1]


def sample_folder(root: Path, count=3):
    """`count` sample barn images (PNG and JPEG) without their LabelMe files: a folder to annotate."""
    tool("data", "sample", "--out", root / "raw", "--images", "8", "--size", "160x120", "--seed", "5")
    folder = root / "to_annotate"
    folder.mkdir()
    images = sorted(p for p in (root / "raw" / "labelme").iterdir() if p.suffix in (".png", ".jpg"))[:count]
    for i, p in enumerate(images):
        shutil.copy(p, folder / f"img{i}{p.suffix}")
    return folder


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


class Server:
    """`chickenseg --json annotate FOLDER --package PKG --port 0`, stopped with SIGTERM."""

    def __init__(self, folder, package, *extra):
        self.proc = subprocess.Popen([str(chickenseg_bin()), "--json", "annotate", str(folder), "--package",
                                      str(package), "--port", "0", "--token", TOKEN, *map(str, extra)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"annotate did not start: {self.proc.stderr.read()}")
        self.info = json.loads(line)
        self.port = self.info["port"]
        self.url = self.info["url"]

    def request(self, method, path, body=None, token=TOKEN, raw_body=None, headers=None):
        """(status, parsed JSON or bytes); `path` is sent as given (no normalisation)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = dict(headers or {})
        if token is not None:
            h["X-Chickenseg-Token"] = token
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        payload = r.read()
        conn.close()
        if r.getheader("Content-Type", "").startswith("application/json"):
            return r.status, json.loads(payload)
        return r.status, payload

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def annotation(self, file):
        return self.get("/api/annotation?file=" + urllib.parse.quote(file, safe=""))

    def best_candidate(self, file, avoid=()):
        """The highest-scoring candidate mask of `file` with a point inside it (from the server's
        own candidates, so a random tiny model still gives a point a click must answer)."""
        status, r = self.get("/api/candidates?file=" + urllib.parse.quote(file, safe=""))
        assert status == 200, r
        cands = [c for c in r["candidates"] if c["area"] >= 4 and tuple(c["point"]) not in avoid]
        assert cands, f"the model has no candidate mask in {file}: {r}"
        return max(cands, key=lambda c: (c["score"], -c["query"]))

    def stop(self):
        self.proc.terminate()
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err


def far_corners(point, width, height, size=6, count=2):
    """Up to `count` squares in the image's corners, away from `point` (pre-filled masks that a click
    on the point does not land on)."""
    px, py = point
    corners = [(1, 1), (width - size - 1, 1), (1, height - size - 1), (width - size - 1, height - size - 1)]
    corners.sort(key=lambda c: -np.hypot(c[0] + size / 2 - px, c[1] + size / 2 - py))
    return [square(x, y, size) for x, y in corners[:count]]
