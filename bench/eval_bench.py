#!/usr/bin/env python3
"""Benchmark: `chickenseg eval` against the same SA-Co evaluation done in Python
with pycocotools, two ways: the official evaluator's procedure (cgf1_eval.py:
COCO.loadRes and COCOeval per image, IoU of every prediction, then the score
filter), and a hand-tuned loop that is faster than it (json, the score filter
first, pycocotools.mask.iou of the kept predictions only, scipy's Hungarian).
On a generated set: N images of 1920x1080 with a few chicken-like
blob masks each (about 10% negatives) and P predictions per image (jittered copies
of the GT and random blobs, scores spread around the 0.5 threshold). The GT masks are
written twice: as RLE, and as polygons (what `chickenseg data convert` writes from LabelMe
and YOLO), which every path must rasterise; one table per GT form.

Every path starts from the JSON files on disk and ends with the metrics, so JSON
parsing is timed in all. The cgF1 values are compared as a correctness check.

Run with the project's virtualenv:
    .venv/bin/python bench/eval_bench.py [--images 5000] [--preds 20] [--gt rle,polygon]
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
from scipy.optimize import linear_sum_assignment

H, W = 1080, 1920
THRESHOLDS = np.linspace(0.5, 0.95, 10)


def blob_rle(rng, cx, cy, rx, ry):
    """A wobbly ellipse as COCO RLE, built run by run (one foreground run per column)."""
    x0, x1 = max(0, int(cx - rx)), min(W - 1, int(cx + rx))
    xs = np.arange(x0, x1 + 1)
    t = np.clip(1 - ((xs - cx) / rx) ** 2, 0, None)
    phase, freq = rng.uniform(0, 2 * math.pi), rng.uniform(2, 6)
    wobble = 1 + 0.12 * np.sin(freq * (xs - x0) / max(1, x1 - x0) * 2 * math.pi + phase)
    half = ry * np.sqrt(t) * wobble
    top = np.clip(np.round(cy - half), 0, H).astype(np.int64)
    bot = np.clip(np.round(cy + half), 0, H).astype(np.int64)
    bot = np.maximum(bot, top)
    counts = [int(x0 * H)]
    prev_end = None
    for a, b in zip(top, bot):
        if prev_end is None:
            counts[0] += int(a)
        else:
            counts.append(int(H - prev_end + a))
        counts.append(int(b - a))
        prev_end = b
    counts.append(int(H - prev_end + (W - 1 - x1) * H))
    # Merge zero-length foreground runs into the surrounding background runs.
    merged = [counts[0]]
    i = 1
    while i < len(counts):
        fg = counts[i]
        bg = counts[i + 1] if i + 1 < len(counts) else 0
        if fg == 0:
            merged[-1] += bg
        else:
            merged += [fg, bg]
        i += 2
    if len(merged) % 2 == 0 and merged[-1] == 0:
        merged.pop()
    rle = mask_utils.frPyObjects({"size": [H, W], "counts": merged}, H, W)
    return {"size": [H, W], "counts": rle["counts"].decode("ascii")}


def blob_polygon(rng, cx, cy, rx, ry, vertices=48):
    """A wobbly ellipse as one COCO polygon [x1, y1, x2, y2, ...] in pixels."""
    a = np.linspace(0, 2 * math.pi, vertices, endpoint=False)
    wobble = 1 + 0.12 * np.sin(rng.uniform(2, 6) * a + rng.uniform(0, 2 * math.pi))
    xs = np.clip(cx + rx * wobble * np.cos(a), 0, W)
    ys = np.clip(cy + ry * wobble * np.sin(a), 0, H)
    return [round(float(v), 2) for xy in zip(xs, ys) for v in xy]


def generate(n_images, n_preds, seed, out_dir, gt_form):
    rng = np.random.default_rng(seed)
    images, annotations, preds = [], [], []
    for i in range(n_images):
        image_id = i + 1
        images.append({"id": image_id, "file_name": f"frame_{i:05d}.jpg", "width": W, "height": H,
                       "text_input": "chicken", "is_instance_exhaustive": 1})
        n_gt = 0 if rng.random() < 0.1 else int(rng.integers(1, 6))
        blobs = []
        for _ in range(n_gt):
            b = (rng.uniform(150, W - 150), rng.uniform(120, H - 120), rng.uniform(60, 180), rng.uniform(50, 140))
            blobs.append(b)
            if gt_form == "polygon":
                seg = [blob_polygon(rng, *b)]
                bbox = [float(v) for v in mask_utils.toBbox(mask_utils.merge(mask_utils.frPyObjects(seg, H, W)))]
            else:
                seg = blob_rle(rng, *b)
                bbox = [float(v) for v in mask_utils.toBbox({"size": [H, W], "counts": seg["counts"].encode()})]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "segmentation": seg, "bbox": bbox, "area": 0.0, "iscrowd": 0})
        for k in range(n_preds):
            if blobs and k < 2 * len(blobs):
                cx, cy, rx, ry = blobs[k % len(blobs)]
                b = (cx + rng.normal(0, rx * 0.1), cy + rng.normal(0, ry * 0.1),
                     rx * rng.uniform(0.85, 1.15), ry * rng.uniform(0.85, 1.15))
                score = float(np.clip(rng.normal(0.75, 0.15), 0, 1))
            else:
                b = (rng.uniform(150, W - 150), rng.uniform(120, H - 120), rng.uniform(40, 160), rng.uniform(30, 120))
                score = float(np.clip(rng.normal(0.3, 0.15), 0, 1))
            seg = blob_rle(rng, *b)
            bbox = [float(v) for v in mask_utils.toBbox({"size": [H, W], "counts": seg["counts"].encode()})]
            preds.append({"image_id": image_id, "category_id": 1, "segmentation": seg, "bbox": bbox, "score": score})
    gt = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "chicken"}]}
    gt_path, pred_path = out_dir / f"gt_{gt_form}.json", out_dir / f"pred_{gt_form}.json"
    gt_path.write_text(json.dumps(gt))
    pred_path.write_text(json.dumps(preds))
    return gt_path, pred_path, len(annotations), len(preds)


def gt_rle(ann, image):
    """A GT annotation's mask as pycocotools RLE: polygons rasterised (as COCO.annToRLE does)."""
    seg = ann["segmentation"]
    if isinstance(seg, list):
        return mask_utils.merge(mask_utils.frPyObjects(seg, image["height"], image["width"]))
    return {"size": seg["size"], "counts": seg["counts"].encode()}


def python_eval(gt_path, pred_path):
    """The official formula (cgf1_eval.py, epsilon convention), segm only, done the fastest
    way pycocotools allows: predictions below the score threshold are dropped before any
    mask is touched (so their masks are never decoded or checked)."""
    gt = json.loads(Path(gt_path).read_text())
    preds = json.loads(Path(pred_path).read_text())
    gts, dts = {}, {}
    for a in gt["annotations"]:
        gts.setdefault(a["image_id"], []).append(a)
    for p in preds:
        dts.setdefault(p["image_id"], []).append(p)
    TP, FP, FN, PMFP = (np.zeros(10, dtype=np.int64) for _ in range(4))
    il_tp = il_fp = il_tn = il_fn = 0
    for im in gt["images"]:
        if not im["is_instance_exhaustive"]:
            continue
        g = [a for a in gts.get(im["id"], []) if not a["iscrowd"]]
        d = [p for p in dts.get(im["id"], []) if p["score"] >= 0.5]
        il_tp += bool(g) and bool(d)
        il_fn += bool(g) and not d
        il_fp += (not g) and bool(d)
        il_tn += (not g) and not d
        if not d:
            FN += len(g)
            continue
        if g:
            ious = mask_utils.iou([{"size": p["segmentation"]["size"], "counts": p["segmentation"]["counts"].encode()}
                                   for p in d], [gt_rle(a, im) for a in g], [0] * len(g))
            ious = np.asarray(ious).reshape(len(d), len(g))
            r, c = linear_sum_assignment(-ious)
            m = ious[r, c]
            tp = (m[None, :] >= THRESHOLDS[:, None]).sum(axis=1)
        else:
            tp = np.zeros(10, dtype=np.int64)
        TP += tp
        FP += len(d) - tp
        FN += len(g) - tp
        if g:
            PMFP += len(d) - tp
    pp = TP / (TP + PMFP + 1e-4)
    rec = TP / (TP + FN + 1e-4)
    pmf1 = 2 * pp * rec / (pp + rec + 1e-4)
    mcc = float(il_tp * il_tn - il_fp * il_fn) / (
        (float(il_tp + il_fp) * float(il_tp + il_fn) * float(il_tn + il_fp) * float(il_tn + il_fn)) ** 0.5 + 1e-6)
    return float(np.mean(pmf1 * mcc)), float(np.mean(pmf1)), mcc


def official_procedure_path(gt_path, pred_path):
    """The official evaluator's own procedure (sam3/eval/cgf1_eval.py, CGF1Evaluator.evaluate),
    step by step with pycocotools: one COCO for the GT; the predictions json-loaded and grouped
    by image; then per exhaustive image, COCO.loadRes of that image's predictions (all of them,
    whatever their score), COCOeval._prepare, maskUtils.iou of every prediction against every
    GT, and only then the rows of score >= 0.5 and the non-ignored GT columns, scipy's
    Hungarian and the same sums as python_eval. Written here from that description, not copied."""
    import contextlib
    import io
    from collections import defaultdict

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco_gt = COCO(str(gt_path))
        ev = COCOeval(coco_gt, iouType="segm")
    ev.params.useCats = False
    ev.params.areaRng = [[0, 1e10]]
    ev.params.maxDets = [1000000]
    by_image = defaultdict(list)
    for p in json.loads(Path(pred_path).read_text()):
        by_image[p["image_id"]].append(p)
    TP, FP, FN, PMFP = (np.zeros(10, dtype=np.int64) for _ in range(4))
    il = {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    for im in coco_gt.dataset["images"]:
        if not im["is_instance_exhaustive"]:
            continue
        results = by_image[im["id"]]
        with contextlib.redirect_stdout(io.StringIO()):
            ev.cocoDt = coco_gt.loadRes(results) if results else COCO()
        ev.params.imgIds = [im["id"]]
        ev._prepare()
        g_all = [a for c in ev.params.catIds for a in ev._gts[im["id"], c]]
        d_all = [a for c in ev.params.catIds for a in ev._dts[im["id"], c]]
        ious = []
        if g_all and d_all:
            ious = mask_utils.iou([d["segmentation"] for d in d_all], [g["segmentation"] for g in g_all],
                                  [int(g["iscrowd"]) for g in g_all])
        keep_g = np.array([not g["ignore"] for g in g_all], dtype=bool)
        keep_d = np.array([d["score"] >= 0.5 for d in d_all], dtype=bool)
        ng, nd = int(keep_g.sum()), int(keep_d.sum())
        il[("t" if (ng > 0) == (nd > 0) else "f") + ("p" if nd else "n")] += 1
        if nd == 0:
            FN += ng
            continue
        if ng:
            m = np.asarray(ious).reshape(len(d_all), len(g_all))[keep_d][:, keep_g]
            r, c = linear_sum_assignment(-m)
            tp = (m[r, c][None, :] >= THRESHOLDS[:, None]).sum(axis=1)
            PMFP += nd - tp
        else:
            tp = np.zeros(10, dtype=np.int64)
        TP += tp
        FP += nd - tp
        FN += ng - tp
    pp = TP / (TP + PMFP + 1e-4)
    rec = TP / (TP + FN + 1e-4)
    pmf1 = 2 * pp * rec / (pp + rec + 1e-4)
    mcc = float(il["tp"] * il["tn"] - il["fp"] * il["fn"]) / (
        (float(il["tp"] + il["fp"]) * float(il["tp"] + il["fn"]) * float(il["tn"] + il["fp"])
         * float(il["tn"] + il["fn"])) ** 0.5 + 1e-6)
    return float(np.mean(pmf1 * mcc)), float(np.mean(pmf1)), mcc


def run_form(args, form, out_dir):
    """Generates the set with GT of that form, times the three paths, prints the table;
    returns whether the metrics agree."""
    t0 = time.perf_counter()
    gt_path, pred_path, n_gt, n_pred = generate(args.images, args.preds, args.seed, out_dir, form)
    gen_s = time.perf_counter() - t0
    size_mb = (gt_path.stat().st_size + pred_path.stat().st_size) / 1e6
    print(f"GT as {form}: generated {args.images} images {W}x{H}, {n_gt} GT, {n_pred} predictions, {size_mb:.1f} MB JSON "
          f"in {gen_s:.1f}s; cores: {os.cpu_count()}", file=sys.stderr)

    # Wall time, and CPU time (user + system, all threads): on a shared machine the
    # CPU time is the steadier of the two.
    cpp_times, py_times, cpp_cpu, py_cpu, official_times, official_cpu = [], [], [], [], [], []
    metrics_path = out_dir / f"metrics_{form}.json"

    def children_cpu():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), children_cpu()
        subprocess.run([args.binary, "--quiet", "eval", "--gt", str(gt_path), "--pred", str(pred_path),
                        "--iou-type", "segm", "--out", str(metrics_path)], check=True, stdout=subprocess.DEVNULL)
        cpp_times.append(time.perf_counter() - t0)
        cpp_cpu.append(children_cpu() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        py_cgf1, py_pmf1, py_mcc = python_eval(gt_path, pred_path)
        py_times.append(time.perf_counter() - t0)
        py_cpu.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        official_cgf1, _, _ = official_procedure_path(gt_path, pred_path)
        official_times.append(time.perf_counter() - t0)
        official_cpu.append(time.process_time() - c0)
    m = json.loads(metrics_path.read_text())
    cpp_cgf1 = m["segm"]["cgF1"]
    agree = abs(cpp_cgf1 - py_cgf1) <= 1e-9 and abs(cpp_cgf1 - official_cgf1) <= 1e-9

    cpp, py = min(cpp_times), min(py_times)
    ccpu, pcpu = min(cpp_cpu), min(py_cpu)
    official, ocpu = min(official_times), min(official_cpu)
    print(f"\nGT masks as {form}")
    rows = [("path", "wall s (best of %d)" % args.repeat, "CPU s", "images/s (wall)", "cgF1 x100"),
            ("chickenseg eval (C++)", f"{cpp:.3f}", f"{ccpu:.3f}", f"{args.images / cpp:,.0f}", f"{cpp_cgf1 * 100:.4f}"),
            ("pycocotools.mask loop, hand-tuned", f"{py:.3f}", f"{pcpu:.3f}", f"{args.images / py:,.0f}",
             f"{py_cgf1 * 100:.4f}"),
            ("pycocotools, cgf1_eval.py's procedure", f"{official:.3f}", f"{ocpu:.3f}",
             f"{args.images / official:,.0f}", f"{official_cgf1 * 100:.4f}")]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"speed-up vs cgf1_eval.py's procedure: {official / cpp:.1f}x wall, {ocpu / ccpu:.1f}x CPU; "
          f"vs the hand-tuned pycocotools.mask loop: {py / cpp:.1f}x wall, {pcpu / ccpu:.1f}x CPU (target >= 10x); "
          f"load average at the end: {os.getloadavg()[0]:.1f}; metrics agree to 1e-9: {'yes' if agree else 'NO'}")
    return agree


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--preds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each path; the best time is reported")
    ap.add_argument("--binary", default=str(Path(__file__).resolve().parents[1] / "build" / "chickenseg"))
    ap.add_argument("--gt", default="rle,polygon", help="GT mask forms to time, comma-separated: rle, polygon")
    ap.add_argument("--workdir", help="keep the generated files here (default: a temporary folder)")
    args = ap.parse_args()

    tmp = None
    if args.workdir:
        out_dir = Path(args.workdir)
        out_dir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="eval_bench_")
        out_dir = Path(tmp.name)
    agree = True
    for form in args.gt.split(","):
        if form not in ("rle", "polygon"):
            ap.error(f"--gt: expected rle and/or polygon, found {form!r}")
        agree &= run_form(args, form, out_dir)
    if tmp:
        tmp.cleanup()
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
