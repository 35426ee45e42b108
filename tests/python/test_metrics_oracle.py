"""`chickenseg eval` against an independent Python implementation of SAM 3's
cgF1 formula (sam3/eval/cgf1_eval.py) built on pycocotools.mask.iou and
scipy.optimize.linear_sum_assignment, on randomly generated GT / prediction sets
(negatives, crowd GT, pairs without predictions, is_instance_exhaustive = 0,
scores around the 0.5 threshold, polygon and RLE masks). Every metric must agree
to 1e-9 under both epsilon conventions, and null (undefined) in the same places."""
import json
import math

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from scipy.optimize import linear_sum_assignment

THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
EPS_F1, EPS_IL = 1e-4, 1e-6


# ---------------------------------------------------------------- data generation

def blob_mask(rng, h, w, near=None):
    """A filled ellipse (optionally jittered around another ellipse's parameters)."""
    if near is None:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(2, w / 3), rng.uniform(2, h / 3)
    else:
        cx, cy, rx, ry = near
        cx += rng.normal(0, rx * 0.25)
        cy += rng.normal(0, ry * 0.25)
        rx *= rng.uniform(0.7, 1.3)
        ry *= rng.uniform(0.7, 1.3)
    yy, xx = np.mgrid[0:h, 0:w]
    m = (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1).astype(np.uint8)
    return m, (cx, cy, rx, ry)


def ellipse_polygon(params, n=12):
    cx, cy, rx, ry = params
    pts = []
    for k in range(n):
        a = 2 * math.pi * k / n
        pts += [cx + rx * math.cos(a), cy + ry * math.sin(a)]
    return [pts]


def encode(m):
    rle = mask_utils.encode(np.asfortranarray(m))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def as_rle(seg, h, w):
    """pycocotools' RLE object for a segmentation as stored in JSON (what COCO's annToRLE does)."""
    if isinstance(seg, list):
        return mask_utils.merge(mask_utils.frPyObjects(seg, h, w))
    if isinstance(seg["counts"], str):
        return {"size": seg["size"], "counts": seg["counts"].encode("ascii")}
    return mask_utils.frPyObjects(seg, h, w)


def score_near_half(rng):
    choice = rng.integers(0, 5)
    if choice == 0:
        return 0.5
    if choice == 1:
        return float(np.nextafter(0.5, 0.0))
    return float(np.clip(rng.normal(0.55, 0.2), 0.0, 1.0))


def make_case(seed):
    rng = np.random.default_rng(seed)
    images, annotations, preds = [], [], []
    ann_id = 1
    n_images = int(rng.integers(25, 45))
    for i in range(n_images):
        h, w = int(rng.integers(24, 48)), int(rng.integers(24, 56))
        image_id = 100 + i
        images.append({"id": image_id, "file_name": f"img{i}.jpg", "width": w, "height": h,
                       "text_input": "chicken", "is_instance_exhaustive": int(rng.random() > 0.1)})
        kind = rng.random()
        n_gt = 0 if kind < 0.35 else int(rng.integers(1, 5))
        params = []
        for _ in range(n_gt):
            m, p = blob_mask(rng, h, w)
            params.append(p)
            crowd = int(rng.random() < 0.12)
            seg = ellipse_polygon(p) if rng.random() < 0.5 and not crowd else encode(m)
            rle = as_rle(seg, h, w)
            bbox = [float(v) for v in mask_utils.toBbox(rle)]
            annotations.append({"id": ann_id, "image_id": image_id, "category_id": 1, "segmentation": seg,
                                "bbox": bbox, "area": float(mask_utils.area(rle)), "iscrowd": crowd})
            ann_id += 1
        if rng.random() < 0.2:
            continue  # no predictions at all for this image
        n_pred = int(rng.integers(0, 6))
        for _ in range(n_pred):
            if params and rng.random() < 0.7:
                m, p = blob_mask(rng, h, w, near=params[int(rng.integers(0, len(params)))])
            else:
                m, p = blob_mask(rng, h, w)
            if m.sum() == 0:
                m[0, 0] = 1
            seg = ellipse_polygon(p) if rng.random() < 0.15 else encode(m)
            bbox = [float(v) for v in mask_utils.toBbox(as_rle(seg, h, w))]
            if rng.random() < 0.3:
                bbox = [bbox[0] + float(rng.normal(0, 1)), bbox[1] + float(rng.normal(0, 1)), bbox[2], bbox[3]]
            preds.append({"image_id": image_id, "category_id": 1, "segmentation": seg, "bbox": bbox,
                          "score": score_near_half(rng)})
    # A duplicate prediction (ties in the assignment) on the first positive image.
    for p in list(preds):
        if any(a["image_id"] == p["image_id"] and not a["iscrowd"] for a in annotations):
            preds.append(dict(p))
            break
    gt = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "chicken"}]}
    return gt, preds


# ---------------------------------------------------------------- the oracle

def div(num, den, eps, exact, why):
    if not exact:
        return num / (den + eps)
    return None if den == 0 else num / den


def f1_counts(tp, fp, fn, exact):
    if not exact:
        p = tp / (tp + fp + EPS_F1)
        r = tp / (tp + fn + EPS_F1)
        return 2 * p * r / (p + r + EPS_F1)
    den = 2 * tp + fp + fn
    return None if den == 0 else 2 * tp / den


def oracle(gt, preds, iou_type, exact):
    sizes = {im["id"]: (im["height"], im["width"]) for im in gt["images"]}
    by_img_gt, by_img_dt = {}, {}
    for a in gt["annotations"]:
        by_img_gt.setdefault(a["image_id"], []).append(a)
    for p in preds:
        by_img_dt.setdefault(p["image_id"], []).append(p)
    T = len(THRESHOLDS)
    TP, FP, FN, PMFP = (np.zeros(T, dtype=np.int64) for _ in range(4))
    macro_sum, macro_n = np.zeros(T), 0
    il = dict(TP=0, FP=0, TN=0, FN=0)
    for im in gt["images"]:
        if not im["is_instance_exhaustive"]:
            continue
        h, w = sizes[im["id"]]
        g = [a for a in by_img_gt.get(im["id"], []) if not a["iscrowd"]]
        d = [p for p in by_img_dt.get(im["id"], []) if p["score"] >= 0.5]
        if g and d:
            il["TP"] += 1
        elif g:
            il["FN"] += 1
        elif d:
            il["FP"] += 1
        else:
            il["TN"] += 1
            continue
        if not d:
            FN += len(g)
            continue
        if iou_type == "segm":
            gr = [as_rle(a["segmentation"], h, w) for a in g]
            dr = [as_rle(p["segmentation"], h, w) for p in d]
            ious = mask_utils.iou(dr, gr, [0] * len(gr)) if gr else np.zeros((len(d), 0))
        else:
            ious = mask_utils.iou(np.array([p["bbox"] for p in d]), np.array([a["bbox"] for a in g]),
                                  [0] * len(g)) if g else np.zeros((len(d), 0))
        ious = np.asarray(ious).reshape(len(d), len(g))
        rows, cols = linear_sum_assignment(-ious)
        matched = ious[rows, cols]
        tp = np.array([(matched >= t).sum() for t in THRESHOLDS], dtype=np.int64)
        fp, fn = len(d) - tp, len(g) - tp
        TP += tp
        FP += fp
        FN += fn
        if g:
            PMFP += fp
            macro_sum += np.array([f1_counts(int(a), int(b), int(c), exact) for a, b, c in zip(tp, fp, fn)])
            macro_n += 1
    out = {"per": []}
    ILTP, ILFP, ILTN, ILFN = il["TP"], il["FP"], il["TN"], il["FN"]
    rec = div(ILTP, ILTP + ILFN, EPS_IL, exact, "")
    prec = div(ILTP, ILTP + ILFP, EPS_IL, exact, "")
    if exact:
        il_f1 = None if 2 * ILTP + ILFP + ILFN == 0 else 2 * ILTP / (2 * ILTP + ILFP + ILFN)
    else:
        il_f1 = 2 * prec * rec / (prec + rec + EPS_IL)
    fpr = div(ILFP, ILFP + ILTN, EPS_IL, exact, "")
    mden = (float(ILTP + ILFP) * float(ILTP + ILFN) * float(ILTN + ILFP) * float(ILTN + ILFN)) ** 0.5
    mnum = float(ILTP * ILTN - ILFP * ILFN)
    mcc = (mnum / (mden + EPS_IL)) if not exact else (None if mden == 0 else mnum / mden)
    out["image_level"] = {"TP": ILTP, "FP": ILFP, "TN": ILTN, "FN": ILFN, "IL_MCC": mcc, "IL_precision": prec,
                          "IL_recall": rec, "IL_F1": il_f1, "IL_FPR": fpr}
    for k in range(T):
        tp, fp, fn, pmfp = int(TP[k]), int(FP[k]), int(FN[k]), int(PMFP[k])
        p = div(tp, tp + fp, EPS_F1, exact, "")
        r = div(tp, tp + fn, EPS_F1, exact, "")
        pp = div(tp, tp + pmfp, EPS_F1, exact, "")
        if exact:
            f1 = f1_counts(tp, fp, fn, True)
            pmf1 = f1_counts(tp, pmfp, fn, True)
        else:
            f1 = 2 * p * r / (p + r + EPS_F1)
            pmf1 = 2 * pp * r / (pp + r + EPS_F1)
        macro = macro_sum[k] / macro_n if macro_n else None
        cg = None if pmf1 is None or mcc is None else pmf1 * mcc
        out["per"].append({"TP": tp, "FP": fp, "FN": fn, "pm_FP": pmfp, "precision": p, "recall": r, "F1": f1,
                           "pm_precision": pp, "pmF1": pmf1, "positive_macro_F1": macro, "cgF1": cg})

    def mean(key):
        vals = [e[key] for e in out["per"]]
        return None if any(v is None for v in vals) else sum(vals) / len(vals)

    out["means"] = {k: mean(src) for k, src in [("cgF1", "cgF1"), ("pmF1", "pmF1"), ("pm_precision", "pm_precision"),
                                                 ("precision", "precision"), ("recall", "recall"), ("F1", "F1"),
                                                 ("positive_macro_F1", "positive_macro_F1")]}
    out["means"]["cgF1@0.5"] = out["per"][0]["cgF1"]
    out["means"]["cgF1@0.75"] = out["per"][5]["cgF1"]
    out["means"]["pmF1@0.5"] = out["per"][0]["pmF1"]
    out["means"]["pmF1@0.75"] = out["per"][5]["pmF1"]
    return out


def negatives_oracle(gt, preds, presence=None, hallucination=0.5, max_mean=0.1, min_pass=0.9):
    """The hard-negative section, from its definition (docs/eval.md): per exhaustive image with
    no non-crowd GT, detections = predictions with score >= 0.5 and presence = the presence
    file's score, or else the highest score of any prediction on the image (0 when none)."""
    positive = {a["image_id"] for a in gt["annotations"] if not a["iscrowd"]}
    rows = []
    for im in gt["images"]:
        if not im["is_instance_exhaustive"] or im["id"] in positive:
            continue
        scores = [p["score"] for p in preds if p["image_id"] == im["id"]]
        kept = sum(s >= 0.5 for s in scores)
        pres = presence[im["id"]] if presence is not None else max(scores, default=0.0)
        rows.append((im["id"], kept, pres))
    if not rows:
        return None
    n = len(rows)
    pres = np.array([r[2] for r in rows], dtype=np.float64)
    kept = [r[1] for r in rows]
    mean = float(pres.mean())
    pass_rate = sum(k == 0 for k in kept) / n
    hall = sorted(((r[2], r[0], r[1]) for r in rows if r[2] > hallucination), key=lambda t: (-t[0], t[1]))
    mean_ok = mean < max_mean - 1e-9 * max(1.0, max_mean)
    return {"image_count": n, "pass_rate": pass_rate,
            "presence_source": "presence_file" if presence is not None else "max_prediction_score",
            "detections": {"total": sum(kept), "mean": sum(kept) / n, "max": max(kept),
                           "images_with_detections": sum(k > 0 for k in kept)},
            "presence": {"mean": mean, "p50": float(np.percentile(pres, 50)), "p95": float(np.percentile(pres, 95)),
                         "max": float(pres.max())},
            "hallucinations": {"count": len(hall),
                               "images": [{"image_id": i, "presence": p, "detections": k} for p, i, k in hall]},
            "mean_presence_ok": mean_ok, "pass_rate_ok": pass_rate >= min_pass - 1e-12,
            "passed": mean_ok and pass_rate >= min_pass - 1e-12}


def compare_negatives(metrics, gt, preds, presence=None):
    want = negatives_oracle(gt, preds, presence)
    if want is None:
        assert "negatives" not in metrics
        return
    got = metrics["negatives"]
    assert want["image_count"] > 0 and got["image_count"] == want["image_count"]
    for key in ("presence_source", "mean_presence_ok", "pass_rate_ok", "passed"):
        assert got[key] == want[key], key
    assert got["verdict"] == ("pass" if want["passed"] else "fail")
    assert_close(got["pass_rate"], want["pass_rate"], "negatives.pass_rate")
    for key, value in want["detections"].items():
        assert_close(got["detections"][key], value, f"negatives.detections.{key}")
    for key, value in want["presence"].items():
        assert_close(got["presence"][key], value, f"negatives.presence.{key}")
    assert got["hallucinations"]["count"] == want["hallucinations"]["count"]
    assert len(got["hallucinations"]["images"]) == len(want["hallucinations"]["images"])
    for g, w in zip(got["hallucinations"]["images"], want["hallucinations"]["images"]):
        assert g["image_id"] == w["image_id"] and g["detections"] == w["detections"], (g, w)
        assert_close(g["presence"], w["presence"], f"negatives.hallucinations[{w['image_id']}]")


def assert_close(got, want, what):
    if want is None:
        assert got is None, f"{what}: expected null, got {got}"
        return
    assert got is not None, f"{what}: expected {want}, got null"
    assert abs(got - want) <= 1e-9, f"{what}: {got} != {want}"


def compare(metrics, gt, preds, exact, presence=None):
    compare_negatives(metrics, gt, preds, presence)
    for iou_type in ("segm", "bbox"):
        want = oracle(gt, preds, iou_type, exact)
        for k, v in want["image_level"].items():
            assert_close(metrics["image_level"][k], v, f"image_level.{k}")
        got = metrics[iou_type]
        for k, v in want["means"].items():
            assert_close(got[k], v, f"{iou_type}.{k}")
        for t, (g, w) in enumerate(zip(got["per_threshold"], want["per"])):
            assert g["iou"] == THRESHOLDS[t]
            for k, v in w.items():
                assert_close(g[k], v, f"{iou_type}.per_threshold[{t}].{k}")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("epsilon", ["official", "none"])
def test_eval_matches_python_oracle(cs, tmp_path, seed, epsilon):
    gt, preds = make_case(seed)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "pred.json").write_text(json.dumps(preds))
    proc = cs("--json", "eval", "--gt", tmp_path / "gt.json", "--pred", tmp_path / "pred.json",
              "--epsilon", epsilon, "--out", tmp_path / "m.json", check=True)
    metrics = json.loads(proc.stdout)
    assert metrics == json.loads((tmp_path / "m.json").read_text())
    assert metrics["convention"]["epsilon"] == epsilon
    compare(metrics, gt, preds, epsilon == "none")


@pytest.mark.parametrize("epsilon", ["official", "none"])
def test_all_negative_and_all_positive_sets(cs, tmp_path, epsilon):
    """Degenerate sets: the undefined metrics must be null in the same places as the oracle."""
    gt, preds = make_case(11)
    neg_ids = {im["id"] for im in gt["images"]} - {a["image_id"] for a in gt["annotations"] if not a["iscrowd"]}
    for name, keep in [("neg", lambda i: i in neg_ids), ("pos", lambda i: i not in neg_ids)]:
        sub = dict(gt)
        sub["images"] = [im for im in gt["images"] if keep(im["id"])]
        ids = {im["id"] for im in sub["images"]}
        sub["annotations"] = [a for a in gt["annotations"] if a["image_id"] in ids]
        sub_preds = [p for p in preds if p["image_id"] in ids]
        (tmp_path / f"{name}.json").write_text(json.dumps(sub))
        (tmp_path / f"{name}_p.json").write_text(json.dumps(sub_preds))
        proc = cs("--json", "eval", "--gt", tmp_path / f"{name}.json", "--pred", tmp_path / f"{name}_p.json",
                  "--epsilon", epsilon, check=True)
        compare(json.loads(proc.stdout), sub, sub_preds, epsilon == "none")


def test_thread_count_does_not_change_output(cs, tmp_path):
    gt, preds = make_case(21)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "pred.json").write_text(json.dumps(preds))
    outs = []
    for threads in (1, 2, 7):
        out = tmp_path / f"m{threads}.json"
        cs("eval", "--gt", tmp_path / "gt.json", "--pred", tmp_path / "pred.json", "--per-image",
           "--threads", threads, "--out", out, check=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_negatives_section_with_a_presence_file(cs, tmp_path, seed):
    """With --presence the negatives' presence is the file's score, not the predictions' (the
    fallback): both the metrics and the verdict follow it."""
    gt, preds = make_case(seed)
    rng = np.random.default_rng(seed)
    presence = {im["id"]: float(rng.uniform(0.0, 0.3)) for im in gt["images"]}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "pred.json").write_text(json.dumps(preds))
    (tmp_path / "presence.json").write_text(json.dumps(
        {"schema": "chickenseg.presence/1", "presence": {str(k): v for k, v in presence.items()}}))
    proc = cs("--json", "eval", "--gt", tmp_path / "gt.json", "--pred", tmp_path / "pred.json",
              "--presence", tmp_path / "presence.json", check=True)
    metrics = json.loads(proc.stdout)
    assert metrics["negatives"]["presence_source"] == "presence_file"
    compare(metrics, gt, preds, False, presence)
    # The file decides, not the predictions: the proxy gives other numbers on these sets.
    assert negatives_oracle(gt, preds)["presence"] != negatives_oracle(gt, preds, presence)["presence"]
