"""Validation after an epoch: val_loss (the training loss on the val set, no augmentation,
fixed batches) and the SA-Co metrics, which are never computed here: the reference
prediction (predict.py) writes predictions + presence JSON for the val set, then
`chickenseg eval --gt VAL --pred P --presence Q --out M --json` computes cgF1, pmF1 and IL_MCC
(binary: $CHICKENSEG_BIN, which the chickenseg tool sets to itself; <repo>/build/chickenseg when
Python is run directly). Also draws a few val images with
their GT boxes (green) and kept predicted masks (score >= 0.5, red) for the media panel.
"""
import contextlib
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from chickenseg_model.errors import ModelError
from chickenseg_model.images import load_rgb
from chickenseg_model.loading import LoadedModel
from chickenseg_model.train.data import Augment, SacoTrainSet, collate
from chickenseg_model.train.losses import LOSS_NAMES, compute_losses

REPO_ROOT = Path(__file__).resolve().parents[3]


def chickenseg_binary() -> Path:
    env = os.environ.get("CHICKENSEG_BIN")
    return Path(env) if env else REPO_ROOT / "build" / "chickenseg"


def check_chickenseg_binary() -> Path:
    path = chickenseg_binary()
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ModelError(f"{path}: the chickenseg binary (validation metrics come from `chickenseg eval`) was not "
                         "found; build it (scripts/setup), set CHICKENSEG_BIN, or set val.metrics=false")
    return path


def autocast_context(device: torch.device, precision: str):
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


@torch.no_grad()
def validation_loss(detector, text_cache, records, image_size, batch_size, loss_params, device, precision,
                    with_masks, freeze_backbone) -> dict:
    dataset = SacoTrainSet(records, image_size, Augment(), with_masks)
    batches = [[(i, 0) for i in range(s, min(s + batch_size, len(records)))]
               for s in range(0, len(records), batch_size)]
    sums = {k: 0.0 for k in ("loss", *LOSS_NAMES)}
    count = 0
    was_training = detector.training
    detector.eval()
    try:
        for items in batches:
            batch = collate([dataset[it] for it in items])
            outputs = forward_batch(detector, text_cache, batch, device, precision, freeze_backbone)
            terms = compute_losses(outputs, batch, loss_params)
            n = len(items)
            for k in sums:
                sums[k] += float(terms[k]) * n
            count += n
    finally:
        detector.train(was_training)
    return {("val_loss" if k == "loss" else f"val_{k}"): v / max(count, 1) for k, v in sums.items()}


def forward_batch(detector, text_cache, batch, device, precision, freeze_backbone):
    pixels = batch["pixel_values"].to(device, non_blocking=True)
    with autocast_context(device, precision):
        if freeze_backbone:
            hidden, mask = text_cache.hidden(batch["prompts"])
            return detector(pixels, mask, text_hidden=hidden)
        ids, mask = text_cache.tokens(batch["prompts"])
        return detector(pixels, mask, input_ids=ids)


def _predict_input(val_json: Path, out_dir: Path, prompt_column: str, use_text_prompts: bool) -> Path:
    # predict.py reads `text_input`; another prompt column is copied into it for prediction.
    if not use_text_prompts or prompt_column == "text_input":
        return val_json
    doc = json.loads(Path(val_json).read_text())
    for im in doc["images"]:
        im["text_input"] = im[prompt_column]
    path = out_dir / "val_for_predict.json"
    path.write_text(json.dumps(doc))
    return path


def run_eval(binary: Path, gt: Path, pred: Path, presence: Path, out: Path) -> dict:
    cmd = [str(binary), "--json", "eval", "--gt", str(gt), "--pred", str(pred), "--presence", str(presence),
           "--iou-type", "segm", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ModelError(f"validation: `{' '.join(cmd)}` failed (exit {proc.returncode}): {proc.stderr.strip()}")
    doc = json.loads(proc.stdout)
    segm = doc.get("segm", {})
    return {"cgF1": segm.get("cgF1"), "pmF1": segm.get("pmF1"),
            "IL_MCC": doc.get("image_level", {}).get("IL_MCC"),
            "cgF1@0.5": segm.get("cgF1@0.5")}


def predict_and_eval(model, tokenizer, image_size, source, val_json: Path, img_dir: Path, out_dir: Path,
                     cfg, device, precision) -> tuple[dict, Path]:
    from chickenseg_model.predict import predict_dataset

    out_dir.mkdir(parents=True, exist_ok=True)
    loaded = LoadedModel(model, tokenizer, image_size, source, False)
    pred, presence = out_dir / "predictions.json", out_dir / "predictions.presence.json"
    gt = _predict_input(Path(val_json), out_dir, cfg["prompt_column"], cfg["use_text_prompts"])
    was_training = model.training
    model.eval()
    try:
        with autocast_context(device, precision):
            predict_dataset(loaded, gt, img_dir, pred, presence, batch_size=cfg["val.batch_size"],
                            min_score=cfg["val.min_score"], prompt=None if cfg["use_text_prompts"] else cfg["prompt"],
                            quiet=True)
    finally:
        model.train(was_training)
    metrics = run_eval(check_chickenseg_binary(), Path(val_json), pred, presence, out_dir / "metrics.json")
    return metrics, pred


def draw_overlays(records, predictions_path: Path, presence_path: Path, count: int, max_side: int = 384):
    """(caption, HxWx3 uint8) for the first `count` val images."""
    from pycocotools import mask as mask_utils

    preds = json.loads(predictions_path.read_text())
    presence = json.loads(presence_path.read_text())["presence"]
    by_image: dict[int, list] = {}
    for p in preds:
        if p["score"] >= 0.5:
            by_image.setdefault(p["image_id"], []).append(p)
    out = []
    for rec in records[:count]:
        image = load_rgb(rec.path)
        arr = np.asarray(image, dtype=np.float32)
        for p in by_image.get(rec.image_id, []):
            seg = dict(p["segmentation"])
            seg["counts"] = seg["counts"].encode("ascii")
            m = mask_utils.decode(seg).astype(bool)
            arr[m] = 0.5 * arr[m] + 0.5 * np.array([255, 0, 0], np.float32)
        canvas = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(canvas)
        for ann in rec.annotations:
            x, y, w, h = ann["bbox"]
            draw.rectangle([x, y, x + w, y + h], outline=(0, 255, 0), width=2)
        # Letterboxed into one square size: media panels want equal-sized images.
        scale = max_side / max(canvas.size)
        canvas = canvas.resize((max(1, round(canvas.size[0] * scale)), max(1, round(canvas.size[1] * scale))))
        square = Image.new("RGB", (max_side, max_side))
        square.paste(canvas, ((max_side - canvas.size[0]) // 2, (max_side - canvas.size[1]) // 2))
        canvas = square
        caption = (f"image {rec.image_id} presence {presence.get(str(rec.image_id), 0):.2f} "
                   f"kept {len(by_image.get(rec.image_id, []))} gt {len(rec.annotations)}")
        out.append((caption, np.asarray(canvas)))
    return out
