#!/usr/bin/env python3
"""Probe: does an AOTInductor package of the full-size SAM 3 vision encoder load and run in a
fresh process? Compiles it with the weights inside the shared library (the default) or outside
it (`aot_inductor.package_constants_in_so = False`), then loads each in a new process with
faulthandler on, so a crash shows where it happened.

    PYTHONPATH=python python3 bench/aoti_load_probe.py --out results/ [--model full-random]
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

LOAD = r'''
import faulthandler, sys, time, json, torch
faulthandler.enable()
t = time.time()
m = torch._inductor.aoti_load_package(sys.argv[1])
load_s = time.time() - t
x = torch.randn(1, 3, int(sys.argv[2]), int(sys.argv[2]), device=sys.argv[3])
with torch.no_grad():
    out = m(x)
    if sys.argv[3] == "cuda":
        torch.cuda.synchronize()
print(json.dumps({"load_seconds": round(load_s, 1), "outputs": [list(o.shape) for o in out]}))
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", default="full-random")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--work", default="/tmp/chickenseg_aoti_probe")
    ap.add_argument("--variants", default="constants_outside_so")
    args = ap.parse_args()
    from chickenseg_model.loading import load_model
    from chickenseg_model.split_model import VisionEncoder

    loaded = load_model(args.model, args.device, "fp32")
    vision = VisionEncoder(loaded.model).eval()
    size = loaded.image_size
    pixels = torch.randn(1, 3, size, size, device=args.device)
    results = {}
    args.out.mkdir(parents=True, exist_ok=True)
    for variant in args.variants.split(","):
        configs = {"aot_inductor.package_constants_in_so": variant != "constants_outside_so"}
        path = Path(args.work) / f"vision_{variant}.pt2"
        path.parent.mkdir(parents=True, exist_ok=True)
        t = time.time()
        with torch.no_grad():
            program = torch.export.export(vision, (pixels,), strict=False)
            torch._inductor.aoti_compile_and_package(program, package_path=str(path), inductor_configs=configs)
        entry = {"compile_seconds": round(time.time() - t, 1), "mb": round(path.stat().st_size / 1e6, 1)}
        proc = subprocess.run([sys.executable, "-c", LOAD, str(path), str(size), args.device],
                              capture_output=True, text=True)
        entry["exit_code"] = proc.returncode
        entry["stdout"] = proc.stdout[-500:]
        entry["stderr_tail"] = proc.stderr[-2500:]
        results[variant] = entry
        (args.out / "aoti_probe.json").write_text(json.dumps(results, indent=2) + "\n")
        print(variant, json.dumps(entry)[:1500], flush=True)


if __name__ == "__main__":
    main()
