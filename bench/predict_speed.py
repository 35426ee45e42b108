#!/usr/bin/env python3
"""Speed of `chickenseg predict` (the C++ runtime) against `chickenseg model predict` (the
Python reference, Hugging Face Sam3Model eager) on the same model and the same SA-Co dataset,
in one run on one machine: the sample generator's barn scenes, and the real chicken-egg-yolo
photos in ../shared (full-size JPEGs, where decoding and resizing are a real part of the work).

Both sides do the same work: every query kept (--min-score 0) and no presence gating on the
runtime's side (--presence-threshold 0), so every mask is resized and RLE-encoded on both.
End to end is the whole command's wall time (start-up, model loading, all images, writing the
results); steady state is images per second over the prediction loop only, as each command
reports it (the runtime's "seconds" after the engine is loaded; the reference's "seconds" after
the model is loaded and the prompt encoded).

    .venv/bin/python bench/predict_speed.py [--images 120] [--repeat 3] [--real/--no-real]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets" / "chicken-egg-yolo"


def tool() -> Path:
    return Path(os.environ.get("CHICKENSEG_BIN", ROOT / "build" / "chickenseg"))


def run(*args, env=None):
    start = time.perf_counter()
    proc = subprocess.run([str(tool()), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "CHICKENSEG_QUIET": "1", **(env or {})})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): chickenseg {' '.join(map(str, args))}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout, wall


def measure(label, n_images, reference_args, runtime_args, repeat):
    rows = []
    for name, args in (("model predict (Python reference)", reference_args),) + tuple(runtime_args):
        walls, loops = [], []
        for _ in range(repeat):
            out, wall = run(*args)
            doc = json.loads(out)
            walls.append(wall)
            loops.append(doc["seconds"])
        rows.append((name, statistics.median(walls), n_images / statistics.median(loops)))
    ref_wall, ref_rate = rows[0][1], rows[0][2]
    print(f"\n{label}: {n_images} images, median of {repeat} runs")
    print(f"{'':38} {'end to end s':>12} {'x':>6} {'steady img/s':>13} {'x':>6}")
    for name, wall, rate in rows:
        print(f"{name:38} {wall:12.2f} {ref_wall / wall:6.1f} {rate:13.1f} {rate / ref_rate:6.1f}")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=120, help="sample scenes to generate")
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--real", action=argparse.BooleanOptionalAction, default=True,
                    help="also time the real chicken-egg-yolo photos")
    ap.add_argument("--out", type=Path, help="working folder (default: a temporary one)")
    args = ap.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="chickenseg_predict_speed_"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs; chickenseg {run('--version')[0].strip()}; working in {work}")

    run("data", "sample", "--out", work / "raw", "--count", args.images, "--size", args.size)
    run("data", "convert", work / "raw" / "labelme", "--label-map", work / "raw" / "label_map.yaml",
        "--out", work / "sample.json")
    package = work / "package"
    _, export_s = run("model", "export", "--model", "tiny:0", "--device", "cpu", "--out", package,
                      "--format", "torchscript", "--format", "aoti")
    print(f"export of the tiny model (torchscript + aoti): {export_s:.0f} s (not timed below)")

    def sets(label, dataset, root, n):
        reference = ("--json", "model", "predict", "--model", "tiny:0", "--device", "cpu", "--dataset", dataset,
                     "--image-root", root, "--out", work / "ref.json", "--min-score", "0")
        runtime = tuple((f"predict --backend {b}",
                         ("--json", "predict", "--package", package, "--backend", b, "--dataset", dataset,
                          "--image-root", root, "--out", work / f"{b}.json", "--min-score", "0",
                          "--presence-threshold", "0", "--batch-size", "4"))
                        for b in ("aoti", "torchscript"))
        return measure(label, n, reference, runtime, args.repeat)

    n = len(json.loads((work / "sample.json").read_text())["images"])
    sets(f"sample scenes {args.size} (PNG and JPEG)", work / "sample.json", work / "raw" / "labelme", n)
    if args.real:
        if not SHARED.is_dir():
            sys.exit(f"{SHARED}: the real photos are not there (--no-real to skip)")
        (work / "labels.yaml").write_text("concept: chicken\nbackground: [Egg]\n")
        run("data", "convert", SHARED, "--label-map", work / "labels.yaml", "--out", work / "real.json")
        n = len(json.loads((work / "real.json").read_text())["images"])
        sets("real photos (chicken-egg-yolo, JPEG)", work / "real.json", SHARED, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
