"""Cross-check of chickenseg's RLE core against pycocotools, and of its optimal
assignment against scipy.optimize.linear_sum_assignment, through the rle_tool
oracle (tests/cpp/tools/rle_tool.cpp: JSON request on stdin, results on stdout).

Every comparison is exact: the same compressed strings, masks, areas, boxes and
IoU doubles to the last bit, and the same assignment pairs (ties included).
"""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pycocotools import _mask
from pycocotools import mask as mask_utils
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[2]

# pycocotools' decode trips a NumPy 2 deprecation inside its own code; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def rle_tool_path() -> Path:
    if os.environ.get("CHICKENSEG_RLE_TOOL"):
        return Path(os.environ["CHICKENSEG_RLE_TOOL"])
    binary = Path(os.environ["CHICKENSEG_BIN"]) if os.environ.get("CHICKENSEG_BIN") else ROOT / "build" / "chickenseg"
    return binary.parent / "tests" / "cpp" / "rle_tool"


@pytest.fixture(scope="module")
def tool():
    path = rle_tool_path()
    if not path.exists():
        pytest.fail(f"rle_tool not found at {path}: build the rle_tool target "
                    "(or set CHICKENSEG_RLE_TOOL / CHICKENSEG_BIN)")

    def run(ops):
        proc = subprocess.run([str(path)], input=json.dumps({"ops": ops}), capture_output=True, text=True)
        assert proc.returncode == 0, f"rle_tool exited {proc.returncode}: {proc.stderr}"
        results = json.loads(proc.stdout)["results"]
        assert len(results) == len(ops)
        return results

    return run


def ok(results):
    for r in results:
        assert r["ok"], r.get("error")
    return results


def coco_rle(mask_hw: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask_hw.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode()}


def as_pyco(rle: dict) -> dict:
    return {"size": rle["size"], "counts": rle["counts"].encode()}


def random_masks(rng, count):
    """Masks of many shapes: empty, full, single pixels, noise, blocks, stripes."""
    out = []
    for i in range(count):
        h, w = int(rng.integers(1, 41)), int(rng.integers(1, 41))
        kind = i % 6
        if kind == 0:
            m = np.zeros((h, w), np.uint8)
        elif kind == 1:
            m = np.ones((h, w), np.uint8)
        elif kind == 2:
            m = np.zeros((h, w), np.uint8)
            m[rng.integers(h), rng.integers(w)] = 1
        elif kind == 3:
            m = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        elif kind == 4:
            m = np.zeros((h, w), np.uint8)
            for _ in range(int(rng.integers(1, 4))):
                y0, x0 = rng.integers(h), rng.integers(w)
                m[y0:y0 + rng.integers(1, h + 1), x0:x0 + rng.integers(1, w + 1)] = 1
        else:
            m = np.zeros((h, w), np.uint8)
            m[:, :: int(rng.integers(1, 4))] = 1
            m[:: int(rng.integers(1, 4)), :] ^= 1
        out.append(m)
    return out


def random_polygon(rng, h, w, kind):
    """One polygon as a flat list; kinds cover the rasteriser's corner cases."""
    k = int(rng.integers(3, 13))
    if kind == "random":  # self-intersecting and concave
        xs, ys = rng.uniform(-0.2 * w, 1.2 * w, k), rng.uniform(-0.2 * h, 1.2 * h, k)
    elif kind == "star":  # concave, simple
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        radii = rng.uniform(0.1, 0.6, k) * min(h, w)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        xs, ys = cx + radii * np.cos(angles), cy + radii * np.sin(angles)
    elif kind == "tiny":
        cx, cy = rng.uniform(-1, w + 1), rng.uniform(-1, h + 1)
        xs, ys = cx + rng.uniform(-0.6, 0.6, k), cy + rng.uniform(-0.6, 0.6, k)
    elif kind == "grid":  # multiples of 0.1 / 0.5: the +0.5 rounding of maskApi is exercised
        step = float(rng.choice([0.1, 0.5, 1.0]))
        xs = np.round(rng.uniform(-2, w + 2, k) / step) * step
        ys = np.round(rng.uniform(-2, h + 2, k) / step) * step
    elif kind == "negative":  # truncation toward zero differs from floor here
        xs, ys = rng.uniform(-3, 2, k), rng.uniform(-3, 2, k)
    elif kind == "outside":
        xs = rng.uniform(w + 1, 3 * w + 5, k) * rng.choice([-1, 1])
        ys = rng.uniform(-h, 2 * h, k)
    elif kind == "degenerate":  # repeated and collinear vertices
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        dx, dy = rng.uniform(-3, 3), rng.uniform(-3, 3)
        t = rng.choice([0.0, 0.0, 1.0, 2.0, 0.5], k)
        xs, ys = x0 + dx * t, y0 + dy * t
    elif kind == "huge":  # edges far beyond the image; pycocotools walks every upsampled step
        xs = rng.uniform(-0.2 * w, 1.2 * w, k)
        ys = rng.uniform(-0.2 * h, 1.2 * h, k)
        j = int(rng.integers(k))
        xs[j] = float(rng.choice([-1, 1])) * 10 ** rng.uniform(3, 5.3)
        ys[j] = float(rng.choice([-1, 1])) * 10 ** rng.uniform(3, 5.3)
    else:
        raise ValueError(kind)
    return [float(v) for pair in zip(xs, ys) for v in pair]


# "huge" is rare: both rasterisers walk every upsampled step of an edge, also outside the image.
POLY_KINDS = ["random", "star", "tiny", "grid", "negative", "outside", "degenerate"] * 4 + ["huge"]


def random_size(rng):
    if rng.random() < 0.1:
        return int(rng.integers(100, 700)), int(rng.integers(100, 700))
    return int(rng.integers(1, 65)), int(rng.integers(1, 65))


def test_encode_decode_area_bbox(tool):
    rng = np.random.default_rng(1)
    masks = random_masks(rng, 2400)
    ops = []
    for m in masks:
        h, w = m.shape
        ops.append({"op": "encode", "h": h, "w": w, "mask": m.flatten(order="F").tolist()})
    results = ok(tool(ops))
    expected = [coco_rle(m) for m in masks]
    assert [r["counts"] for r in results] == [e["counts"] for e in expected]

    ops = []
    for e in expected:
        ops += [{"op": "decode", "rle": e}, {"op": "area", "rle": e}, {"op": "bbox", "rle": e}]
    results = ok(tool(ops))
    for i, (m, e) in enumerate(zip(masks, expected)):
        dec, area, bbox = results[3 * i: 3 * i + 3]
        assert dec["mask"] == mask_utils.decode(as_pyco(e)).flatten(order="F").tolist()
        assert area["area"] == int(mask_utils.area(as_pyco(e)))
        assert bbox["bbox"] == mask_utils.toBbox(as_pyco(e)).tolist()


def test_polygons_single(tool):
    """One polygon at a time, against the raw rasteriser (_mask.frPoly), 2-point ones included."""
    rng = np.random.default_rng(2)
    ops, expected = [], []
    for i in range(4000):
        h, w = random_size(rng)
        kind = POLY_KINDS[i % len(POLY_KINDS)]
        poly = random_polygon(rng, h, w, kind)
        if i % 50 == 0:
            poly = poly[:4]  # 2 points
        if i % 75 == 0:
            poly = poly[:2]  # 1 point
        ops.append({"op": "from_polygon", "h": h, "w": w, "polygon": poly})
        expected.append(_mask.frPoly([poly], h, w)[0]["counts"].decode())
    results = ok(tool(ops))
    mismatches = [(ops[i], r["counts"], e) for i, (r, e) in enumerate(zip(results, expected)) if r["counts"] != e]
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[0]}"


def test_polygons_merged_like_ann_to_rle(tool):
    """Lists of polygons, as annToRLE: frPyObjects then merge."""
    rng = np.random.default_rng(3)
    ops, expected = [], []
    for i in range(1500):
        h, w = random_size(rng)
        polys = [random_polygon(rng, h, w, POLY_KINDS[int(rng.integers(len(POLY_KINDS)))])
                 for _ in range(int(rng.integers(1, 5)))]
        ops.append({"op": "from_polygons", "h": h, "w": w, "polygons": polys})
        merged = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
        expected.append(merged["counts"].decode())
    results = ok(tool(ops))
    assert [r["counts"] for r in results] == expected


def test_boxes_rasterised(tool):
    rng = np.random.default_rng(4)
    ops, boxes, sizes = [], [], []
    for i in range(2000):
        h, w = random_size(rng)
        x, y = rng.uniform(-0.3 * w, 1.1 * w), rng.uniform(-0.3 * h, 1.1 * h)
        bw, bh = rng.uniform(-2, 0.8 * w), rng.uniform(-2, 0.8 * h)
        box = [x, y, bw, bh]
        if i % 4 == 0:
            box = [float(round(v)) for v in box]
        if i % 7 == 0:
            box = [float(round(v * 2) / 2) for v in box]
        ops.append({"op": "from_bbox", "h": h, "w": w, "bbox": box})
        boxes.append(box)
        sizes.append((h, w))
    results = ok(tool(ops))
    for r, box, (h, w) in zip(results, boxes, sizes):
        want = mask_utils.frPyObjects(np.array([box], dtype=np.float64), h, w)[0]["counts"].decode()
        assert r["counts"] == want, (box, h, w)


def test_merge_union_and_intersection(tool):
    rng = np.random.default_rng(5)
    ops, expected = [], []
    for i in range(1500):
        h, w = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        n = int(rng.integers(1, 6))
        rles = []
        for m in random_masks(rng, n):
            m = np.resize(m, (h, w)) if i % 3 else (rng.random((h, w)) < 0.5).astype(np.uint8)
            rles.append(coco_rle(m))
        intersect = bool(i % 2)
        ops.append({"op": "merge", "rles": rles, "intersect": intersect})
        merged = mask_utils.merge([as_pyco(r) for r in rles], intersect=intersect)
        expected.append({"size": [int(v) for v in merged["size"]], "counts": merged["counts"].decode()})
    results = ok(tool(ops))
    assert [r["rle"] for r in results] == expected


def test_mask_iou_with_crowd(tool):
    rng = np.random.default_rng(6)
    ops, expected = [], []
    for i in range(800):
        h, w = random_size(rng) if i % 2 else (int(rng.integers(5, 40)), int(rng.integers(5, 40)))
        def one():
            if rng.random() < 0.6:
                return coco_rle_from_polys(rng, h, w)
            return coco_rle((rng.random((h, w)) < rng.random()).astype(np.uint8))
        dt = [one() for _ in range(int(rng.integers(1, 6)))]
        gt = [one() for _ in range(int(rng.integers(1, 6)))]
        crowd = [int(rng.random() < 0.3) for _ in gt]
        ops.append({"op": "iou", "dt": dt, "gt": gt, "iscrowd": crowd})
        iou = mask_utils.iou([as_pyco(r) for r in dt], [as_pyco(r) for r in gt], crowd)
        expected.append(np.asarray(iou, dtype=np.float64).reshape(len(dt), len(gt)).flatten().tolist())
    results = ok(tool(ops))
    nonzero = 0
    for r, e in zip(results, expected):
        assert r["iou"] == e  # exact doubles
        nonzero += sum(1 for v in e if v > 0)
    assert nonzero > 500  # the cases really overlap


def coco_rle_from_polys(rng, h, w):
    polys = [random_polygon(rng, h, w, "star") for _ in range(int(rng.integers(1, 3)))]
    rle = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode()}


def test_box_iou_with_crowd(tool):
    rng = np.random.default_rng(7)
    ops, expected = [], []
    for i in range(1500):
        def boxes(n):
            b = np.column_stack([rng.uniform(-10, 100, n), rng.uniform(-10, 100, n),
                                 rng.uniform(0, 60, n), rng.uniform(0, 60, n)])
            return np.round(b) if i % 3 == 0 else b
        dt, gt = boxes(int(rng.integers(1, 6))), boxes(int(rng.integers(1, 6)))
        crowd = [int(rng.random() < 0.3) for _ in range(len(gt))]
        ops.append({"op": "bbox_iou", "dt": dt.tolist(), "gt": gt.tolist(), "iscrowd": crowd})
        expected.append(np.asarray(mask_utils.iou(dt, gt, crowd)).reshape(len(dt), len(gt)).flatten().tolist())
    results = ok(tool(ops))
    assert [r["iou"] for r in results] == expected


def test_string_codec_round_trip(tool):
    """Uncompressed counts (large values, zero runs) -> pycocotools' string -> back."""
    rng = np.random.default_rng(8)
    ops, cases = [], []
    for i in range(2000):
        n = int(rng.integers(1, 12))
        # Below 2^24: maskApi's rleToString allocates 6 bytes per run and writes its final
        # NUL one past the end when every run takes 6 characters (heap corruption).
        scale = [3, 40, 5000, 10 ** 6, 2 ** 23][i % 5]
        counts = rng.integers(0, scale, n).tolist()
        if i % 4:
            counts = [counts[0]] + [max(1, c) for c in counts[1:]]
        total = sum(counts)
        h = 1
        for d in (7, 5, 3, 2):  # any factorisation h*w = total works
            if total % d == 0 and total > d:
                h = d
                break
        w = total // h if total else 0
        if total == 0:
            h, w = 0, 0
        cases.append((h, w, counts))
        ops.append({"op": "to_string", "h": h, "w": w, "counts": counts})
    results = ok(tool(ops))
    back_ops = []
    for r, (h, w, counts) in zip(results, cases):
        want = mask_utils.frPyObjects([{"size": [h, w], "counts": counts}], h, w)[0]["counts"].decode()
        assert r["counts"] == want, counts
        back_ops.append({"op": "from_string", "h": h, "w": w, "bytes": list(want.encode())})
    back = ok(tool(back_ops))
    assert [b["counts"] for b in back] == [c for _, _, c in cases]


def test_from_string_fuzz_never_crashes(tool):
    """Random and mutated byte strings: a clean error or a valid mask equal to pycocotools' decode."""
    rng = np.random.default_rng(9)
    valid = [coco_rle(m) for m in random_masks(rng, 300)]
    ops = []
    for i in range(6000):
        if i % 4 == 3:  # intact strings: the accepting path is checked against pycocotools too
            base = valid[int(rng.integers(len(valid)))]
            data, (h, w) = list(base["counts"].encode()), base["size"]
        elif i % 3 == 0:
            data = rng.integers(0, 256, int(rng.integers(0, 16))).tolist()
            h, w = int(rng.integers(0, 30)), int(rng.integers(0, 30))
        elif i % 3 == 1:
            data = rng.integers(48, 112, int(rng.integers(0, 16))).tolist()
            h, w = int(rng.integers(0, 30)), int(rng.integers(0, 30))
        else:
            base = valid[int(rng.integers(len(valid)))]
            data = list(base["counts"].encode())
            h, w = base["size"]
            for _ in range(int(rng.integers(1, 3))):
                op = rng.integers(4)
                pos = int(rng.integers(len(data) + 1))
                if op == 0 and data:
                    del data[min(pos, len(data) - 1)]
                elif op == 1:
                    data.insert(pos, int(rng.integers(0, 256)))
                elif op == 2 and data:
                    data[min(pos, len(data) - 1)] ^= 1 << int(rng.integers(8))
                else:
                    data = data[:pos]
        ops.append({"op": "from_string", "h": h, "w": w, "bytes": data})
    results = tool(ops)  # the process must survive every input
    accepted = rejected = 0
    decode_ops = []
    for op, r in zip(ops, results):
        if not r["ok"]:
            assert r["error"].startswith("malformed RLE counts: "), r["error"]
            rejected += 1
            continue
        accepted += 1
        assert sum(r["counts"]) == op["h"] * op["w"]
        assert all(48 <= b <= 111 for b in op["bytes"])
        if op["h"] and op["w"]:
            decode_ops.append(op)
    assert accepted > 1500 and rejected > 2000
    rles = [{"size": [o["h"], o["w"]], "counts": bytes(o["bytes"]).decode()} for o in decode_ops]
    decoded = ok(tool([{"op": "decode", "rle": r} for r in rles]))
    for d, r in zip(decoded, rles):
        assert d["mask"] == mask_utils.decode(as_pyco(r)).flatten(order="F").tolist()


def test_assignment_matches_scipy(tool):
    """Pairs equal to linear_sum_assignment's, including on tie-heavy matrices."""
    rng = np.random.default_rng(10)
    ops, expected = [], []
    for i in range(3000):
        rows, cols = int(rng.integers(0, 9)), int(rng.integers(0, 9))
        if i % 100 == 0:
            rows, cols = int(rng.integers(20, 60)), int(rng.integers(20, 60))
        kind = i % 4
        if kind == 0:
            m = rng.integers(0, 3, (rows, cols)).astype(np.float64)  # many ties
        elif kind == 1:
            m = rng.random((rows, cols))
        elif kind == 2:  # IoU-like: mostly zero, some overlaps, exact repeats
            m = np.where(rng.random((rows, cols)) < 0.3, np.round(rng.random((rows, cols)), 2), 0.0)
        else:
            m = rng.integers(-50, 50, (rows, cols)).astype(np.float64)
        maximize = bool(i % 2)
        ops.append({"op": "assign", "rows": rows, "cols": cols, "matrix": m.flatten().tolist(),
                    "maximize": maximize})
        r, c = linear_sum_assignment(m, maximize=maximize)
        expected.append([[int(a), int(b)] for a, b in zip(r, c)])
    results = ok(tool(ops))
    assert [r["pairs"] for r in results] == expected
