"""Reference inference over an SA-Co dataset: the PyTorch path the C++ runtime is checked
against, and the zero-shot baseline.

Per image: score of a query = sigmoid(query logit) x sigmoid(presence logit); masks are
sigmoid, bilinear-resized to the image size, > 0.5, written as COCO RLE; the image-level
presence score sigmoid(presence logit) goes to a separate presence JSON
({"schema": "chickenseg.presence/1", "presence": {"<image_id>": score}}), which COCO
results cannot hold. No NMS (SAM 3 image mode has none).
"""
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers.modeling_outputs import BaseModelOutputWithPooling

from chickenseg_model.errors import ModelError
from chickenseg_model.images import load_rgb, preprocess
from chickenseg_model.io import check_writable, json_bytes, read_json, write_files_atomic
from chickenseg_model.progress import Progress

PRESENCE_SCHEMA = "chickenseg.presence/1"


def encode_text(loaded, prompt: str):
    tokens = loaded.tokenizer([prompt])
    device = next(loaded.model.parameters()).device
    ids = tokens["input_ids"].to(device)
    mask = tokens["attention_mask"].to(device)
    with torch.no_grad():
        out = loaded.model.get_text_features(input_ids=ids, attention_mask=mask)
    return out.pooler_output, mask


def read_dataset_images(dataset: Path):
    doc = read_json(dataset, "dataset file")
    images = doc.get("images") if isinstance(doc, dict) else None
    if not isinstance(images, list):
        raise ModelError(f"{dataset}: expected an SA-Co dataset with an `images` list "
                         "(run `chickenseg data validate`)")
    for i, im in enumerate(images):
        for key in ("id", "file_name", "width", "height"):
            if key not in im:
                raise ModelError(f"{dataset}: images[{i}].{key}: missing")
    return images


def outputs_to_records(outputs, image_ids, sizes, min_score: float):
    """Turns a batch of model outputs into COCO result records and presence scores."""
    from pycocotools import mask as mask_utils  # imported here: export/verify do not need it

    logits = outputs.pred_logits.float()
    presence = outputs.presence_logits.float().sigmoid().squeeze(-1)      # (B,)
    scores = logits.sigmoid() * presence[:, None]                          # (B, Q)
    boxes = outputs.pred_boxes.float()                                     # (B, Q, 4) xyxy in [0, 1]
    records, presence_out = [], {}
    for b, image_id in enumerate(image_ids):
        height, width = sizes[b]
        presence_out[str(image_id)] = float(presence[b])
        keep = torch.nonzero(scores[b] >= min_score).flatten()
        if keep.numel() == 0:
            continue
        masks = outputs.pred_masks[b, keep].float().sigmoid()[None]
        masks = F.interpolate(masks, size=(height, width), mode="bilinear", align_corners=False)[0]
        binary = (masks > 0.5).cpu().numpy().astype(np.uint8)
        for k, q in enumerate(keep.tolist()):
            rle = mask_utils.encode(np.asfortranarray(binary[k]))
            x0, y0, x1, y1 = boxes[b, q].tolist()
            records.append({
                "image_id": image_id,
                "category_id": 1,
                "segmentation": {"size": [height, width], "counts": rle["counts"].decode("ascii")},
                "bbox": [x0 * width, y0 * height, (x1 - x0) * width, (y1 - y0) * height],
                "score": float(scores[b, q]),
            })
    return records, presence_out


def predict_dataset(loaded, dataset: Path, image_root: Path, out: Path, presence_out: Path,
                    batch_size: int = 4, min_score: float = 0.05, prompt: str | None = None,
                    quiet: bool = False) -> dict:
    images = read_dataset_images(dataset)
    check_writable(out, presence_out)
    model = loaded.model
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    by_prompt = defaultdict(list)
    for im in images:
        by_prompt[prompt or im.get("text_input") or "chicken"].append(im)

    records, presence = [], {}
    done, start = 0, time.time()
    progress = Progress("predict", len(images))
    for text, group in sorted(by_prompt.items()):
        text_features, text_mask = encode_text(loaded, text)
        for i in range(0, len(group), batch_size):
            batch = group[i:i + batch_size]
            pixels, sizes = [], []
            for im in batch:
                rgb = load_rgb(image_root / im["file_name"])
                if rgb.size != (im["width"], im["height"]):
                    raise ModelError(f"{image_root / im['file_name']}: image is {rgb.size[0]}x{rgb.size[1]} "
                                     f"but {dataset} says {im['width']}x{im['height']} (image id {im['id']})")
                pixels.append(preprocess(rgb, loaded.image_size))
                sizes.append((im["height"], im["width"]))
            pixel_values = torch.stack(pixels).to(device=device, dtype=dtype)
            n = len(batch)
            text_embeds = BaseModelOutputWithPooling(pooler_output=text_features.expand(n, -1, -1))
            with torch.no_grad():
                outputs = model(pixel_values=pixel_values, text_embeds=text_embeds,
                                attention_mask=text_mask.expand(n, -1))
            recs, pres = outputs_to_records(outputs, [im["id"] for im in batch], sizes, min_score)
            records += recs
            presence.update(pres)
            done += n
            if not quiet:
                progress.update(done)
    if not quiet:
        progress.finish()
    records.sort(key=lambda r: (r["image_id"], -r["score"]))
    presence_doc = {"schema": PRESENCE_SCHEMA, "model": loaded.source,
                    "presence": dict(sorted(presence.items(), key=lambda kv: int(kv[0])))}
    # Both or neither: a results file without its presence file would be evaluated wrongly.
    write_files_atomic({out: json_bytes(records), presence_out: json_bytes(presence_doc)})
    return {"images": len(images), "predictions": len(records), "seconds": round(time.time() - start, 3),
            "predictions_path": str(out), "presence_path": str(presence_out)}
