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
import copy
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
    ap.add_argument("--formats", default="aoti,onnx", help="export formats, in order")
    ap.add_argument("--work", default="/tmp/chickenseg_bench", help="where packages are written (large)")
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
            # bf16 runs on a copy: rounding the exported model's weights would make verify
            # compare it against different (fp32) weights.
            model = loaded.model if dtype == torch.float32 else copy.deepcopy(loaded.model).to(dtype)
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
            del model, vision, decoder, feats
        if device.type == "cuda":
            torch.cuda.empty_cache()

    # One package per format, AOTInductor first (the C++ runtime's path), each verified in a
    # fresh process right after its export, so a time-out loses the least.
    work = Path(args.work)
    for fmt in args.formats.split(","):
        if "export" not in phases:
            break
        pkg = work / f"package_{fmt}"
        t = time.time()
        manifest = export_package(loaded, pkg, ["chicken"], [fmt])
        results.setdefault("export", {})[fmt] = {
            "total_seconds": round(time.time() - t, 1), **manifest["export_timings"],
            "files_mb": {n: round((pkg / n).stat().st_size / 1e6, 1) for n in manifest["files"]}}
        save()
        if "verify" not in phases:
            continue
        if device.type == "cuda":
            torch.cuda.empty_cache()
        t = time.time()
        proc = subprocess.run([sys.executable, "-m", "chickenseg_model", "verify", str(pkg), "--device", args.device,
                               "--samples", "1"], capture_output=True, text=True)
        entry = {"exit_code": proc.returncode, "seconds": round(time.time() - t, 1)}
        try:
            entry.update(json.loads(proc.stdout)["formats"][fmt])
        except (json.JSONDecodeError, KeyError):
            entry["stderr_tail"] = proc.stderr[-3000:]
        results.setdefault("verify", {})[fmt] = entry
        save()
        if fmt == "aoti":
            # Latency of the AOTInductor artefacts, loaded in this (non-compiling) process.
            v = torch._inductor.aoti_load_package(str(pkg / "vision_encoder.pt2"))
            d = torch._inductor.aoti_load_package(str(pkg / "decoder.pt2"))
            from safetensors.torch import load_file
            emb = load_file(str(pkg / "text_embeddings.safetensors"))
            text, tmask = emb["prompt_0.features"].to(device), emb["prompt_0.mask"].to(device)
            pixels = torch.randn(1, 3, size, size, device=device)
            with torch.no_grad():
                feats = v(pixels)
                lat = results.setdefault("latency_ms", {})
                lat["aoti_vision_fp32"] = time_ms(lambda: v(pixels), args.runs, 3, device)
                lat["aoti_decoder_cached_backbone_fp32"] = time_ms(lambda: d(*feats, text, tmask), args.runs, 3, device)
                lat["aoti_end_to_end_fp32"] = time_ms(lambda: d(*v(pixels), text, tmask), args.runs, 3, device)
            del v, d, feats
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
    for fmt, e in results.get("export", {}).items():
        for k, v in e.items():
            if k != "files_mb":
                print(f"{'export ' + fmt + ' ' + k:45s} {v:>10}")
    for fmt, e in results.get("verify", {}).items():
        print(f"verify {fmt}: " + json.dumps(e)[:1500])


if __name__ == "__main__":
    main()
