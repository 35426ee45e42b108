"""Verify a model package: every file's SHA-256, then each exported artefact (ONNX through
onnxruntime, AOTInductor through torch._inductor.aoti_load_package) run on the same inputs
as the PyTorch model (the unsplit Sam3Model forward), reporting the largest differences.

Run it in a fresh process (the CLI does): an AOTInductor package loaded in the process that
compiled it crashed in an earlier probe.
"""
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from transformers.modeling_outputs import BaseModelOutputWithPooling

from chickenseg_model.errors import ModelError
from chickenseg_model.export import TEXT_EMBEDDINGS
from chickenseg_model.package import check_package
from chickenseg_model.split_model import OUTPUT_NAMES

# fp32 tolerances: logits as the issue asks; boxes are in [0, 1] units.
TOLERANCE = {"float32": {"pred_logits": 1e-4, "presence_logits": 1e-4, "pred_boxes": 1e-4, "mask_iou": 0.99},
             "bfloat16": {"pred_logits": 5e-2, "presence_logits": 5e-2, "pred_boxes": 2e-2, "mask_iou": 0.95}}


def reference_outputs(model, pixels, features, mask):
    n = pixels.shape[0]
    with torch.no_grad():
        out = model(pixel_values=pixels, text_embeds=BaseModelOutputWithPooling(pooler_output=features.expand(n, -1, -1)),
                    attention_mask=mask.expand(n, -1))
    return {k: getattr(out, k).float().cpu().numpy() for k in OUTPUT_NAMES}


def mask_iou(a_logits, b_logits):
    a, b = a_logits > 0, b_logits > 0
    inter = np.logical_and(a, b).sum(axis=(-1, -2))
    union = np.logical_or(a, b).sum(axis=(-1, -2))
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return float(iou.min())


def compare(ref: dict, got: dict) -> dict:
    row = {}
    for k in ("pred_logits", "pred_boxes", "presence_logits"):
        row[k] = float(np.abs(ref[k] - got[k]).max())
    row["mask_logits"] = float(np.abs(ref["pred_masks"] - got["pred_masks"]).max())
    row["mask_iou"] = mask_iou(ref["pred_masks"], got["pred_masks"])
    return row


def run_onnx(folder: Path, pixels: np.ndarray, features: np.ndarray, mask: np.ndarray) -> dict:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    vision = ort.InferenceSession(str(folder / "vision_encoder.onnx"), opts, providers=["CPUExecutionProvider"])
    decoder = ort.InferenceSession(str(folder / "decoder.onnx"), opts, providers=["CPUExecutionProvider"])
    feats = vision.run(None, {"pixel_values": pixels})
    names = [i.name for i in decoder.get_inputs()]
    outs = decoder.run(None, dict(zip(names, feats + [features, mask])))
    return dict(zip(OUTPUT_NAMES, outs))


def run_aoti(folder: Path, pixels, features, mask, device) -> dict:
    vision = torch._inductor.aoti_load_package(str(folder / "vision_encoder.pt2"))
    decoder = torch._inductor.aoti_load_package(str(folder / "decoder.pt2"))
    with torch.no_grad():
        feats = vision(pixels.to(device))
        outs = decoder(*feats, features.to(device), mask.to(device))
    return {k: v.float().cpu().numpy() for k, v in zip(OUTPUT_NAMES, outs)}


def verify_package(folder: Path, loaded, samples: int = 2, seed: int = 0) -> dict:
    folder = Path(folder)
    manifest = check_package(folder)
    dtype = manifest.get("dtype", "float32")
    tol = TOLERANCE.get(dtype, TOLERANCE["float32"])
    embeds = load_file(str(folder / TEXT_EMBEDDINGS))
    model = loaded.model
    device = next(model.parameters()).device
    model_dtype = next(model.parameters()).dtype
    size = manifest["input"]["size"]
    if size != loaded.image_size:
        raise ModelError(f"{folder}: package input size {size} but the reference model takes {loaded.image_size}")
    gen = torch.Generator().manual_seed(seed)
    results = []
    for p, prompt in enumerate(manifest["prompts"]):
        features = embeds[f"prompt_{p}.features"]
        mask = embeds[f"prompt_{p}.mask"]
        for s in range(samples):
            pixels = torch.randn(1, 3, size, size, generator=gen)
            ref = reference_outputs(model, pixels.to(device, model_dtype), features.to(device, model_dtype), mask.to(device))
            for fmt in manifest["formats"]:
                if fmt == "onnx":
                    got = run_onnx(folder, pixels.numpy(), features.numpy(), mask.numpy())
                else:
                    got = run_aoti(folder, pixels.to(model_dtype), features.to(model_dtype), mask, device)
                row = compare(ref, got)
                row.update({"format": fmt, "prompt": prompt, "sample": s})
                results.append(row)
    worst = {}
    for fmt in manifest["formats"]:
        rows = [r for r in results if r["format"] == fmt]
        w = {k: max(r[k] for r in rows) for k in ("pred_logits", "pred_boxes", "presence_logits", "mask_logits")}
        w["mask_iou"] = min(r["mask_iou"] for r in rows)
        failures = [f"{k} {w[k]:.3g} > {tol[k]:.3g}" for k in ("pred_logits", "pred_boxes", "presence_logits") if w[k] > tol[k]]
        if w["mask_iou"] < tol["mask_iou"]:
            failures.append(f"mask IoU {w['mask_iou']:.4f} < {tol['mask_iou']}")
        w["passed"] = not failures
        w["failures"] = failures
        worst[fmt] = w
    return {"package": str(folder), "dtype": dtype, "tolerance": tol, "formats": worst, "samples": results,
            "passed": all(w["passed"] for w in worst.values())}
