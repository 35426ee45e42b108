"""Verify a model package: every file's SHA-256, then each exported format (TorchScript
through torch.jit.load, AOTInductor through torch._inductor.aoti_load_package, ONNX through
onnxruntime), its three graphs chained as the runtime chains them (split_model.run_split), on
the same inputs as the PyTorch model (the unsplit Sam3Model forward), reporting the largest
differences.

Run it in a fresh process (the CLI does): an AOTInductor package loaded in the process that
compiled it crashed in an earlier probe.
"""
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from transformers.modeling_outputs import BaseModelOutputWithPooling

from chickenseg_model.errors import ModelError
from chickenseg_model.export import EXTENSIONS, GRAPHS, TEXT_EMBEDDINGS
from chickenseg_model.package import check_package
from chickenseg_model.split_model import OUTPUT_NAMES, run_split

# Tolerances against the fp32 PyTorch model (the unsplit Sam3Model, loaded in fp32 by verify's
# default --dtype); docs/model.md "Reduced precision" has the measurements behind them.
# fp32: absolute differences (logits as the issue asks; boxes in [0, 1] units), mask IoU.
# bf16/fp16: the vision encoder and decoder compute in 16 bits (attention softmax and RoPE in
# fp32), so outputs move by the format's rounding (2^-11 for fp16, 2^-8 for bf16) times what
# the network amplifies. Logit differences are relative to the largest |reference| of that
# output ("*_rel"): absolute logit tolerances fitted to the tiny model (logits ~0.02, mask
# logits ~2e-5) would be vacuous for it and meaningless for the real model. Each limit is
# 4-6x the largest difference measured on the tiny model (3 seeds, transformers' init and
# PyTorch's default init, 16 inputs each); the export bugs tried (text mask dropped, another
# prompt's embedding) move logits by 0.29-1.5 and mask logits by 0.16-0.37 of their scale.
# Masks: IoU over the pixels whose reference logit is at least MASK_MARGIN of the largest
# |reference logit| of that sample away from 0 (closer pixels may legitimately flip with
# rounding: the tiny model's masks sit within 2e-5 of 0, where plain IoU drops to 0.86 for a
# correct fp16 export); the plain IoU is reported too.
MASK_MARGIN = 0.01
TOLERANCE = {
    "float32": {"pred_logits": 1e-4, "presence_logits": 1e-4, "pred_boxes": 1e-4, "mask_iou": 0.99},
    "float16": {"pred_logits_rel": 1.5e-2, "presence_logits_rel": 1.5e-2, "pred_boxes": 5e-3,
                "mask_logits_rel": 1.5e-2, "mask_iou_margin": 0.99},
    "bfloat16": {"pred_logits_rel": 8e-2, "presence_logits_rel": 8e-2, "pred_boxes": 2.5e-2,
                 "mask_logits_rel": 8e-2, "mask_iou_margin": 0.99},
}

NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64}


def reference_outputs(model, pixels, features, mask):
    n = pixels.shape[0]
    with torch.no_grad():
        out = model(pixel_values=pixels, text_embeds=BaseModelOutputWithPooling(pooler_output=features.expand(n, -1, -1)),
                    attention_mask=mask.expand(n, -1))
    return {k: getattr(out, k).float().cpu().numpy() for k in OUTPUT_NAMES}


def mask_iou(a_logits, b_logits, margin: float = 0.0):
    """Smallest IoU over the masks (logit > 0); with a margin, only over the pixels whose
    reference logit (a) is at least margin x max|a| away from 0."""
    a, b = a_logits > 0, b_logits > 0
    if margin > 0:
        keep = np.abs(a_logits) >= margin * np.abs(a_logits).max()
        a, b = a & keep, b & keep
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
    # How many reference mask pixels there were: two empty masks have IoU 1, so an IoU says
    # something only when this is not 0.
    row["mask_pixels"] = int((ref["pred_masks"] > 0).sum())
    row["mask_iou_margin"] = mask_iou(ref["pred_masks"], got["pred_masks"], MASK_MARGIN)
    return row


def summarize(rows: list, scale: dict, tol: dict) -> dict:
    """The worst of each measure over the rows of one format, *_rel against the reference's
    largest magnitude, and what exceeds the tolerance."""
    w = {k: max(r[k] for r in rows) for k in ("pred_logits", "pred_boxes", "presence_logits", "mask_logits")}
    for k in ("pred_logits", "presence_logits", "mask_logits"):
        w[f"{k}_rel"] = w[k] / scale[k] if scale[k] > 0 else (0.0 if w[k] == 0 else float("inf"))
    w["mask_iou"] = min(r["mask_iou"] for r in rows)
    w["mask_iou_margin"] = min(r["mask_iou_margin"] for r in rows)
    failures = []
    for k, limit in tol.items():
        if k.startswith("mask_iou"):
            if not w[k] >= limit:
                failures.append(f"{k} {w[k]:.4f} < {limit}")
        elif not w[k] <= limit:   # also fails on NaN
            failures.append(f"{k} {w[k]:.3g} > {limit:.3g}")
    w["passed"] = not failures
    w["failures"] = failures
    return w


def onnx_session(path: Path):
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), ort.SessionOptions(), providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise ModelError(f"{path}: ONNX Runtime (CPU provider) cannot load it: {str(e).splitlines()[0]}") from e


def onnx_feed(session, values: list) -> dict:
    """Inputs by name, each cast to the dtype the graph declares (float32 pixels and text
    features in every package; the FPN features in the package's dtype)."""
    feed = {}
    for spec, v in zip(session.get_inputs(), values):
        if spec.type not in NUMPY_TYPES:
            raise ModelError(f"ONNX input {spec.name}: type {spec.type} is not supported by verify")
        feed[spec.name] = np.asarray(v).astype(NUMPY_TYPES[spec.type], copy=False)
    return feed


def onnx_graph(path: Path):
    session = onnx_session(path)

    def run(*values):
        outs = session.run(None, onnx_feed(session, [v.cpu().numpy() for v in values]))
        outs = [torch.from_numpy(o) for o in outs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    return run


def torch_graph(load, path: Path):
    module = load(str(path))

    def run(*values):
        with torch.no_grad():
            return module(*values)

    return run


def format_runner(folder: Path, fmt: str, device, io: dict):
    """pixels, text features, text mask -> the four outputs as float32 numpy arrays, through
    the format's three graphs."""
    if fmt == "onnx":
        graphs = [onnx_graph(folder / (g + EXTENSIONS[fmt])) for g in GRAPHS]
    elif fmt == "aoti":
        graphs = [torch_graph(torch._inductor.aoti_load_package, folder / (g + EXTENSIONS[fmt])) for g in GRAPHS]
    else:
        graphs = [torch_graph(lambda p: torch.jit.load(p, map_location=device), folder / (g + EXTENSIONS[fmt]))
                  for g in GRAPHS]

    def run(pixels: torch.Tensor, features: torch.Tensor, mask: torch.Tensor) -> dict:
        on_device = fmt != "onnx"
        outs = run_split(*graphs, pixels.to(device if on_device else "cpu", io["pixel_values"]),
                         features.to(device if on_device else "cpu", io["text_features"]),
                         mask.to(device if on_device else "cpu"))
        return {k: v.float().cpu().numpy() for k, v in zip(OUTPUT_NAMES, outs)}

    return run


def interface_dtypes(manifest: dict) -> dict:
    """The dtype of the graphs' float inputs: the manifest's precision.io; a package written
    before that field took every float tensor in the package dtype."""
    io = manifest.get("precision", {}).get("io")
    if io:
        return {name: getattr(torch, io[name]) for name in ("pixel_values", "text_features")}
    dtype = getattr(torch, manifest.get("dtype", "float32"))
    return {"pixel_values": dtype, "text_features": dtype}


def verify_package(folder: Path, loaded, samples: int = 2, seed: int = 0) -> dict:
    folder = Path(folder)
    manifest = check_package(folder)
    dtype = manifest.get("dtype", "float32")
    if dtype not in TOLERANCE:
        raise ModelError(f"{folder}: dtype {dtype!r}: expected one of {', '.join(TOLERANCE)}")
    tol = TOLERANCE[dtype]
    io = interface_dtypes(manifest)
    embeds = load_file(str(folder / TEXT_EMBEDDINGS))
    model = loaded.model
    device = next(model.parameters()).device
    model_dtype = next(model.parameters()).dtype
    size = manifest["input"]["size"]
    if size != loaded.image_size:
        raise ModelError(f"{folder}: package input size {size} but the reference model takes {loaded.image_size}")
    runners = {fmt: format_runner(folder, fmt, device, io) for fmt in manifest["formats"]}
    gen = torch.Generator().manual_seed(seed)
    results = []
    scale = {"pred_logits": 0.0, "presence_logits": 0.0, "mask_logits": 0.0}
    for p, prompt in enumerate(manifest["prompts"]):
        features = embeds[f"prompt_{p}.features"]
        mask = embeds[f"prompt_{p}.mask"]
        for s in range(samples):
            pixels = torch.randn(1, 3, size, size, generator=gen)
            ref = reference_outputs(model, pixels.to(device, model_dtype), features.to(device, model_dtype), mask.to(device))
            for k, name in (("pred_logits", "pred_logits"), ("presence_logits", "presence_logits"),
                            ("mask_logits", "pred_masks")):
                scale[k] = max(scale[k], float(np.abs(ref[name]).max()))
            for fmt, run in runners.items():
                row = compare(ref, run(pixels, features, mask))
                row.update({"format": fmt, "prompt": prompt, "sample": s})
                results.append(row)
    worst = {fmt: summarize([r for r in results if r["format"] == fmt], scale, tol) for fmt in runners}
    return {"package": str(folder), "dtype": dtype, "reference_dtype": str(model_dtype).replace("torch.", ""),
            "tolerance": tol, "reference_scale": scale, "formats": worst, "samples": results,
            "passed": all(w["passed"] for w in worst.values())}
