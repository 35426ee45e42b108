"""A client of `chickenseg annotate`'s HTTP API (docs/annotate.md), and a simulated annotator on
it that answers with a known truth: the LabelMe files `chickenseg data sample` wrote for the same
images. The demo's active-learning round, tests/python/test_active_learning_cycle.py and
bench/al_uncertainty_vs_random.py review mined folders with it, so the round runs without a
person and every step after the review sees exactly what a person's saves would give it.

    python -m chickenseg_model.annotate_client FOLDER --package PKG --truth SAMPLE/labelme \\
        --label-map SAMPLE/label_map.yaml [--tool build/chickenseg] [--json]

Needs pycocotools (mask IoU), no PyTorch.
"""
import argparse
import http.client
import json
import math
import os
import secrets
import subprocess
import sys
import urllib.parse
from pathlib import Path

# The IoU with a true chicken above which the annotator keeps a pre-filled mask as it is (a
# person accepts a mask that covers the bird; a looser one is redrawn).
KEEP_IOU = 0.5
# The truth's group ids are moved by this much, clear of the model's, so that an added chicken
# never joins a kept mask's group (one object).
TRUTH_GROUP_OFFSET = 10000


def default_tool() -> Path:
    return Path(os.environ.get("CHICKENSEG_BIN", Path(__file__).resolve().parents[2] / "build" / "chickenseg"))


class AnnotateServer:
    """`chickenseg --json annotate FOLDER --package PKG --port 0 --token T` on 127.0.0.1, driven over
    HTTP; `stop()` ends it with SIGTERM (the server finishes its saves) and returns (exit code,
    stderr)."""

    def __init__(self, folder, package, *extra, tool=None, token=None):
        self.token = token or secrets.token_hex(16)
        self.proc = subprocess.Popen([str(tool or default_tool()), "--json", "annotate", str(folder), "--package",
                                      str(package), "--port", "0", "--token", self.token, *map(str, extra)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # the server prints its address once it listens
        if not line:
            raise RuntimeError(f"annotate did not start: {self.proc.stderr.read()}")
        self.info = json.loads(line)
        self.port = self.info["port"]
        self.url = self.info["url"]

    def request(self, method, path, body=None, token=..., raw_body=None, headers=None):
        """(status, parsed JSON or bytes); `path` is sent as given (no normalisation). token=None
        sends no token (the tests of the server's refusals)."""
        token = self.token if token is ... else token
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

    def stop(self):
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        code, err = self.stop()
        if code != 0 and exc[0] is None:
            raise RuntimeError(f"annotate exited {code}: {err}")


class Labels:
    """What a sample's label map says about raw labels: `chicken` and its synonyms are the concept;
    an `ambiguous` label ("unknown bird") makes the image one a person would skip."""

    def __init__(self, label_map: Path):
        import yaml  # the label map is YAML; imported here so that the HTTP client alone needs no yaml

        doc = yaml.safe_load(Path(label_map).read_text())
        self.chicken = {doc.get("concept", "chicken"), *doc.get("synonyms", [])}
        self.ambiguous = set(doc.get("ambiguous", []))


def is_ambiguous(labelme: Path, labels: Labels) -> bool:
    if not labelme.exists():
        return False
    return any(s["label"].strip() in labels.ambiguous for s in json.loads(labelme.read_text())["shapes"])


def truth_shapes(labelme: Path, synonyms):
    """The chickens of a sample LabelMe file as the annotate API's shapes (polygons; rectangles as
    4 corners, circles as 32-gons), clamped to the image. ([], None, None) when the sample wrote
    no file (some negatives)."""
    if not labelme.exists():
        return [], None, None
    doc = json.loads(labelme.read_text())
    w, h = doc["imageWidth"], doc["imageHeight"]
    shapes = []
    for s in doc["shapes"]:
        if s["label"].strip() not in synonyms:
            continue
        pts = s["points"]
        if s.get("shape_type") == "rectangle":
            (x0, y0), (x1, y1) = pts
            pts = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
        elif s.get("shape_type") == "circle":
            (cx, cy), (rx, ry) = pts
            r = math.hypot(rx - cx, ry - cy)
            pts = [[cx + r * math.cos(2 * math.pi * k / 32), cy + r * math.sin(2 * math.pi * k / 32)]
                   for k in range(32)]
        flat = [min(max(c, 0.0), float(lim)) for x, y in pts for c, lim in ((x, w), (y, h))]
        shapes.append({"label": "chicken", "group_id": s.get("group_id"), "description": "truth", "flags": {},
                       "polygons": [flat]})
    return shapes, w, h


def polygon_iou(poly_a, poly_b, w, h):
    from pycocotools import mask as mask_utils

    a = mask_utils.merge(mask_utils.frPyObjects([list(map(float, p)) for p in poly_a], h, w))
    b = mask_utils.merge(mask_utils.frPyObjects([list(map(float, p)) for p in poly_b], h, w))
    return float(mask_utils.iou([a], [b], [0])[0][0])


def correction(ann, truth, w, h):
    """What the annotator saves for one image, given the server's annotation (`ann`) and the true
    chickens: a pre-filled mask that overlaps a true chicken (IoU >= KEEP_IOU, each chicken once)
    is kept, every other one deleted; true chickens no kept mask covers are added; an image
    without chickens is marked "no chicken" (a confirmed negative). Returns (shapes, flags,
    counts)."""
    if not truth:
        return [], {**ann["flags"], "confirmed_negative": True}, {"kept": 0, "deleted": len(ann["shapes"]), "added": 0}
    kept, covered = [], set()
    for s in ann["shapes"]:
        ious = [polygon_iou(s["polygons"], t["polygons"], w, h) for t in truth]
        best = max(range(len(truth)), key=lambda i: ious[i])
        if best not in covered and ious[best] >= KEEP_IOU:
            covered.add(best)
            kept.append(s)
    added = [{**t, "group_id": None if t["group_id"] is None else TRUTH_GROUP_OFFSET + t["group_id"]}
             for i, t in enumerate(truth) if i not in covered]
    counts = {"kept": len(kept), "deleted": len(ann["shapes"]) - len(kept), "added": len(added)}
    return kept + added, ann["flags"], counts


def annotate_like_the_truth(server, truth_dir: Path, labels: Labels):
    """Reviews every image of the server's folder through the HTTP API only (`correction` above),
    the truth read from `truth_dir/<stem>.json`. An image the truth calls ambiguous is skipped (a
    person leaves it unsaved, so `data convert` leaves it out as not reviewed). Returns file ->
    {"body": what was saved, "counts": kept / deleted / added} and the skipped files. Raises on
    any refused request."""
    status, listing = server.get("/api/images")
    if status != 200:
        raise RuntimeError(f"GET /api/images: {status} {listing}")
    saved, skipped = {}, []
    for im in listing["images"]:
        file = im["file"]
        labelme = Path(truth_dir) / (Path(file).stem + ".json")
        if is_ambiguous(labelme, labels):
            skipped.append(file)
            continue
        status, ann = server.annotation(file)
        if status != 200:
            raise RuntimeError(f"GET /api/annotation {file}: {status} {ann}")
        truth, w, h = truth_shapes(labelme, labels.chicken)
        shapes, flags, counts = correction(ann, truth, w, h)
        body = {"file": file, "shapes": shapes, "flags": flags}
        status, r = server.post("/api/save", body)
        if status != 200 or not r.get("reviewed"):
            raise RuntimeError(f"POST /api/save {file}: {status} {r}")
        saved[file] = {"body": body, "counts": counts}
    return saved, skipped


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="a folder `chickenseg mine` wrote")
    ap.add_argument("--package", type=Path, required=True, help="the model package annotate loads")
    ap.add_argument("--truth", type=Path, required=True, help="the sample's LabelMe folder (the truth)")
    ap.add_argument("--label-map", type=Path, required=True, help="the sample's label map (chicken synonyms)")
    ap.add_argument("--tool", type=Path, default=None, help="the chickenseg binary (default $CHICKENSEG_BIN)")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = ap.parse_args(argv)
    with AnnotateServer(args.folder, args.package, tool=args.tool) as server:
        saved, skipped = annotate_like_the_truth(server, args.truth, Labels(args.label_map))
        status, listing = server.get("/api/images")
    totals = {k: sum(s["counts"][k] for s in saved.values()) for k in ("kept", "deleted", "added")}
    negatives = sum(1 for s in saved.values() if s["body"]["flags"].get("confirmed_negative"))
    summary = {"reviewed": len(saved), "skipped_ambiguous": len(skipped), "done": listing["done"],
               "total": listing["total"], "confirmed_negatives": negatives, "masks": totals}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"reviewed {len(saved)} images through {server.url} ({listing['done']}/{listing['total']} done): "
              f"{negatives} marked no chicken, {len(skipped)} ambiguous left unreviewed; the model's masks: "
              f"{totals['kept']} kept, {totals['deleted']} deleted; {totals['added']} missed chickens added "
              "from the truth")
    return 0 if listing["done"] == len(saved) and listing["total"] == len(saved) + len(skipped) else 1


if __name__ == "__main__":
    sys.exit(main())
