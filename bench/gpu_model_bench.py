#!/usr/bin/env python3
"""Model workbench benchmark on a GPU: reference-inference latency (Hugging Face Sam3Model
eager, the baseline, vs chickenseg's split vision-encoder + prompt-decoder path, fp32 and
bf16), export times (torch.export, AOTInductor, ONNX) and the exported artefacts' latency,
then `chickenseg_model verify` of the package in a fresh process.

Full-size architecture, random weights (speed does not depend on weight values), batch 1,
1008x1008, CUDA-event medians. Writes results JSON under --out as each phase finishes (a
time-out still leaves the earlier phases) and prints a table last.

    PYTHONPATH=python python3 bench/gpu_model_bench.py --out results/ [--model full-random]
    (CPU smoke run: --model tiny --device cpu)
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from transformers.modeling_outputs import BaseModelOutputWithPooling

from chickenseg_model.export import export_package
from chickenseg_model.loading import load_model
from chickenseg_model.predict import encode_text
from chickenseg_model.split_model import PromptDecoder, VisionEncoder


def time_ms(fn, runs, warmup, device):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", default="full-random")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--phases", default="latency,export,verify")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    phases = args.phases.split(",")
    results = {"model": args.model, "device": args.device, "torch": torch.__version__}
    if torch.cuda.is_available():
        results["gpu"] = torch.cuda.get_device_name(0)

    def save():
        (args.out / "model_bench.json").write_text(json.dumps(results, indent=2) + "\n")

    t = time.time()
    loaded = load_model(args.model, args.device, "fp32")
    device = torch.device(args.device)
    results["load_seconds"] = round(time.time() - t, 1)
    results["parameters_m"] = round(sum(p.numel() for p in loaded.model.parameters()) / 1e6, 1)
    size = loaded.image_size
    tokens = loaded.tokenizer(["chicken"])
    ids, mask = tokens["input_ids"].to(device), tokens["attention_mask"].to(device)
    save()

    if "latency" in phases:
        lat = {}
        for dtype_name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            model = loaded.model.to(dtype)
            pixels = torch.randn(1, 3, size, size, device=device, dtype=dtype)
            text = encode_text(loaded, "chicken")[0].to(dtype)
            vision, decoder = VisionEncoder(model).eval(), PromptDecoder(model).eval()
            with torch.no_grad():
                feats = vision(pixels)
                lat[f"hf_end_to_end_{dtype_name}"] = time_ms(
                    lambda: model(pixel_values=pixels, input_ids=ids, attention_mask=mask), args.runs, 3, device)
                lat[f"hf_cached_text_{dtype_name}"] = time_ms(
                    lambda: model(pixel_values=pixels, text_embeds=BaseModelOutputWithPooling(pooler_output=text),
                                  attention_mask=mask), args.runs, 3, device)
                lat[f"split_end_to_end_{dtype_name}"] = time_ms(
                    lambda: decoder(*vision(pixels), text, mask), args.runs, 3, device)
                lat[f"vision_encoder_{dtype_name}"] = time_ms(lambda: vision(pixels), args.runs, 3, device)
                lat[f"decoder_cached_backbone_{dtype_name}"] = time_ms(
                    lambda: decoder(*feats, text, mask), args.runs, 3, device)
            results["latency_ms"] = lat
            save()
        loaded.model.to(torch.float32)
        if device.type == "cuda":
            torch.cuda.empty_cache()

    pkg = args.out.parent / "package_tmp" if args.out.name else Path("package_tmp")
    if "export" in phases:
        t = time.time()
        manifest = export_package(loaded, pkg, ["chicken"], ["aoti", "onnx"])
        results["export"] = {"total_seconds": round(time.time() - t, 1), **manifest["export_timings"],
                             "files_mb": {n: round((pkg / n).stat().st_size / 1e6, 1)
                                          for n in manifest["files"]}}
        save()

    if "verify" in phases and (pkg / "manifest.json").exists():
        del loaded
        if device.type == "cuda":
            torch.cuda.empty_cache()
        t = time.time()
        proc = subprocess.run([sys.executable, "-m", "chickenseg_model", "verify", str(pkg), "--device", args.device,
                               "--samples", "1"], capture_output=True, text=True)
        results["verify"] = {"exit_code": proc.returncode, "seconds": round(time.time() - t, 1)}
        try:
            report = json.loads(proc.stdout)
            results["verify"]["formats"] = report["formats"]
        except json.JSONDecodeError:
            results["verify"]["stderr_tail"] = proc.stderr[-3000:]
        save()
        # Latency of the AOTInductor artefacts, loaded in this (non-compiling) process.
        if (pkg / "vision_encoder.pt2").exists():
            v = torch._inductor.aoti_load_package(str(pkg / "vision_encoder.pt2"))
            d = torch._inductor.aoti_load_package(str(pkg / "decoder.pt2"))
            from safetensors.torch import load_file
            emb = load_file(str(pkg / "text_embeddings.safetensors"))
            text, tmask = emb["prompt_0.features"].to(device), emb["prompt_0.mask"].to(device)
            pixels = torch.randn(1, 3, size, size, device=device)
            with torch.no_grad():
                feats = v(pixels)
                results.setdefault("latency_ms", {})["aoti_vision_fp32"] = time_ms(lambda: v(pixels), args.runs, 3, device)
                results["latency_ms"]["aoti_decoder_cached_backbone_fp32"] = time_ms(
                    lambda: d(*feats, text, tmask), args.runs, 3, device)
                results["latency_ms"]["aoti_end_to_end_fp32"] = time_ms(
                    lambda: d(*v(pixels), text, tmask), args.runs, 3, device)
            save()

    print(f"\nchickenseg model bench: {results.get('gpu', args.device)}, torch {torch.__version__}, "
          f"{args.model} ({results['parameters_m']}M params), {size}x{size}, batch 1, median of {args.runs}")
    print(f"{'what':45s} {'ms':>10s}")
    for k, v in results.get("latency_ms", {}).items():
        print(f"{k:45s} {v:10.2f}")
    lat = results.get("latency_ms", {})
    for ours in ("split_end_to_end_bf16", "aoti_end_to_end_fp32"):
        if "hf_end_to_end_bf16" in lat and ours in lat:
            print(f"{'baseline hf bf16 / ' + ours:45s} {lat['hf_end_to_end_bf16'] / lat[ours]:10.2f}x")
    for k, v in results.get("export", {}).items():
        if k != "files_mb":
            print(f"{'export ' + k:45s} {v:>10}")
    if "verify" in results:
        print(json.dumps(results["verify"], indent=1)[:3000])


if __name__ == "__main__":
    main()
