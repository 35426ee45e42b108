#!/usr/bin/env python3
"""Training memory and step time of the real trainer step: SAM 3 (full-size architecture,
random weights, 1008 px by default), frozen backbone, bf16 autocast, AdamW, the real losses
(Hungarian matching, presence, classification, boxes, mask focal + dice with masks at GT
resolution), gradient clipping; batch 1, 2, 4, 8 x gradient checkpointing off / on.

Each configuration: a fresh optimizer, `--warmup` steps, then `--steps` timed steps (median,
CUDA-synchronised wall clock); peak memory = torch.cuda.max_memory_allocated over the timed
steps, weights and optimizer state included. An out-of-memory configuration is reported as
OOM and the next one runs. Target (issue 5): batch 8 with mask losses in <= 20 GiB. The
baseline, Hugging Face Sam3Model eager bf16 inference at batch 1, is timed first in the same
run; each step's time is also given in multiples of it ("x baseline").

    .venv/bin/python bench/gpu_train_bench.py                       # H100: full-random, cuda
    .venv/bin/python bench/gpu_train_bench.py --model tiny --device cpu --batch-sizes 1,2 --steps 1
"""
import argparse
import gc
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from chickenseg_model.loading import load_model  # noqa: E402
from chickenseg_model.train.detector import (Detector, TextCache, count_parameters,  # noqa: E402
                                             enable_gradient_checkpointing, set_trainable)
from chickenseg_model.train.losses import LossParams, compute_losses  # noqa: E402

GIB = 1024 ** 3


def synthetic_batch(batch_size: int, size: int, gt_per_image: int, generator: torch.Generator) -> dict:
    """Random pixels; every image positive with gt_per_image rectangles (boxes + GT masks at the
    model's input size, i.e. GT resolution)."""
    boxes, masks = [], []
    for _ in range(batch_size):
        xy = torch.rand(gt_per_image, 2, generator=generator) * 0.7
        wh = 0.05 + torch.rand(gt_per_image, 2, generator=generator) * 0.25
        b = torch.cat([xy, (xy + wh).clamp(max=1.0)], dim=1)
        m = torch.zeros(gt_per_image, size, size, dtype=torch.bool)
        for k, (x0, y0, x1, y1) in enumerate((b * size).long().tolist()):
            m[k, y0:y1, x0:x1] = True
        boxes.append(b)
        masks.append(m)
    return {"pixel_values": torch.randn(batch_size, 3, size, size, generator=generator), "boxes": boxes,
            "masks": masks, "present": torch.ones(batch_size), "has_crowd": [False] * batch_size,
            "prompts": ["chicken"] * batch_size, "image_ids": list(range(batch_size))}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_config(args, checkpointing: bool, batch_size: int, device) -> dict:
    loaded = load_model(args.model, str(device), "fp32")
    model = loaded.model
    set_trainable(model, freeze_backbone=True)
    if checkpointing:
        enable_gradient_checkpointing(model, freeze_backbone=True)
    detector = Detector(model, freeze_backbone=True).train()
    text = TextCache(model, loaded.tokenizer, device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-5, weight_decay=0.1)
    params = LossParams(mask_resolution=args.mask_resolution)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(args.precision)
    gen = torch.Generator().manual_seed(0)
    batch = synthetic_batch(batch_size, loaded.image_size, args.gt_per_image, gen)
    pixels = batch["pixel_values"].to(device)
    hidden, mask = text.hidden(batch["prompts"])
    times = []
    row = {"batch": batch_size, "checkpointing": checkpointing, "image_size": loaded.image_size,
           "trainable_params": count_parameters(model)["trainable"]}
    try:
        for step in range(args.warmup + args.steps):
            if step == args.warmup and device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            sync(device)
            t0 = time.perf_counter()
            if dtype is None:
                outputs = detector(pixels, mask, text_hidden=hidden)
            else:
                with torch.autocast(device_type=device.type, dtype=dtype):
                    outputs = detector(pixels, mask, text_hidden=hidden)
            terms = compute_losses(outputs, batch, params)
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(trainable, 0.1)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            sync(device)
            if step >= args.warmup:
                times.append(time.perf_counter() - t0)
        row["ms_per_step"] = round(statistics.median(times) * 1000, 1)
        row["images_per_s"] = round(batch_size / statistics.median(times), 2)
        row["loss"] = round(float(terms["loss"]), 4)
        if device.type == "cuda":
            row["peak_alloc_gib"] = round(torch.cuda.max_memory_allocated(device) / GIB, 2)
            row["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved(device) / GIB, 2)
        row["status"] = "ok"
    except torch.cuda.OutOfMemoryError:
        row["status"] = "OOM"
    finally:
        outputs = terms = None  # noqa: F841  (free the activations before the next configuration)
        del detector, model, loaded, optimizer, text
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return row


def baseline_forward_ms(args, device) -> float:
    """The anchor every speed figure of this project is timed against, in the same run:
    Hugging Face Sam3Model, eager, bf16 weights (fp32 on CPU, which has no fast bf16),
    batch 1, inference (no gradients), median of `--steps` after `--warmup` calls."""
    loaded = load_model(args.model, str(device), "fp32")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    model = loaded.model.to(dtype).eval()
    tokens = loaded.tokenizer(["chicken"])
    ids, mask = tokens["input_ids"].to(device), tokens["attention_mask"].to(device)
    pixels = torch.randn(1, 3, loaded.image_size, loaded.image_size, device=device, dtype=dtype)
    times = []
    with torch.no_grad():
        for step in range(args.warmup + max(args.steps, 3)):
            sync(device)
            t0 = time.perf_counter()
            model(pixel_values=pixels, input_ids=ids, attention_mask=mask)
            sync(device)
            if step >= args.warmup:
                times.append(time.perf_counter() - t0)
    del model, loaded
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return round(statistics.median(times) * 1000, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="full-random", help="full-random (default), tiny, or a SAM 3 folder")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batch-sizes", default="1,2,4,8")
    ap.add_argument("--checkpointing", default="off,on", help="off,on | off | on")
    ap.add_argument("--precision", default="bf16", choices=["bf16", "fp16", "fp32"])
    ap.add_argument("--mask-resolution", default="gt", choices=["gt", "logits"])
    ap.add_argument("--gt-per-image", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--out", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: CUDA is not available (use --model tiny --device cpu for a smoke test)")
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    modes = [m == "on" for m in args.checkpointing.split(",")]
    env = {"torch": torch.__version__, "python": platform.python_version(), "device": str(device),
           "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
           "model": args.model, "precision": args.precision, "mask_resolution": args.mask_resolution,
           "gt_per_image": args.gt_per_image, "steps": args.steps, "warmup": args.warmup}
    print(" ".join(f"{k}={v}" for k, v in env.items()), flush=True)
    baseline_ms = baseline_forward_ms(args, device)
    env["baseline_hf_sam3model_eager_forward_ms"] = baseline_ms
    print(f"baseline: Hugging Face Sam3Model eager {'bf16' if device.type == 'cuda' else 'fp32'} forward, "
          f"batch 1, no gradients: {baseline_ms:.1f} ms", flush=True)
    rows = []
    header = (f"{'batch':>5} {'ckpt':>4} {'ms/step':>8} {'img/s':>7} {'x baseline':>10} {'peak alloc GiB':>15} "
              f"{'peak reserved GiB':>18} status")
    print(header, flush=True)
    for ckpt in modes:
        for bs in batch_sizes:
            row = run_config(args, ckpt, bs, device)
            if "ms_per_step" in row:  # a training step's time in baseline forwards
                row["x_baseline"] = round(row["ms_per_step"] / baseline_ms, 2)
            rows.append(row)
            cell = lambda k, spec: format(row[k], spec) if k in row else "n/a"
            print(f"{bs:>5} {'on' if ckpt else 'off':>4} {cell('ms_per_step', '>8.1f'):>8} "
                  f"{cell('images_per_s', '>7.2f'):>7} {cell('x_baseline', '>10.2f'):>10} "
                  f"{cell('peak_alloc_gib', '>15.2f'):>15} "
                  f"{cell('peak_reserved_gib', '>18.2f'):>18} {row['status']}", flush=True)
    target = [r for r in rows if r["batch"] == 8 and r.get("peak_alloc_gib") is not None]
    if target:
        best = min(target, key=lambda r: r["peak_alloc_gib"])
        verdict = "meets" if best["peak_alloc_gib"] <= 20 else "misses"
        print(f"batch 8 with mask losses: {best['peak_alloc_gib']} GiB peak "
              f"(checkpointing {'on' if best['checkpointing'] else 'off'}): {verdict} the <= 20 GiB target")
    if args.out:
        args.out.write_text(json.dumps({"environment": env, "rows": rows}, indent=2) + "\n")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
