#!/usr/bin/env python3
"""Benchmark of `chickenseg data convert`: generates N LabelMe files and N YOLO label files
(with small real JPEG/PNG images) in a temporary folder and times the conversion of each.

Run with the project's Python:  .venv/bin/python bench/convert_bench.py [--binary build/chickenseg] [-n 10000]
Target: under 5 s per format for 10,000 images on a 2-core machine (image headers are read,
pixels are not decoded). Prints a table.
"""
import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 5.0


def image_bytes(fmt, size, seed):
    """A small real image, encoded once per (format, size) and reused: convert reads only headers."""
    rng = random.Random(seed)
    im = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    im.save(buf, format=fmt, quality=85) if fmt == "JPEG" else im.save(buf, format=fmt)
    return buf.getvalue()


TEMPLATES = [("JPEG", (320, 240), ".jpg"), ("PNG", (300, 225), ".png"), ("JPEG", (640, 480), ".jpg")]


def make_labelme(root, n, rng):
    blobs = [(image_bytes(f, s, i), s, ext) for i, (f, s, ext) in enumerate(TEMPLATES)]
    for i in range(n):
        data, (w, h), ext = blobs[i % len(blobs)]
        sub = "chicken" if i % 4 else "not_chicken"
        name = f"img_{i:06d}"
        (root / "images" / sub / f"{name}{ext}").write_bytes(data)
        shapes = []
        if sub == "chicken":
            for _ in range(rng.randint(1, 3)):
                x0, y0 = rng.uniform(0, w / 2), rng.uniform(0, h / 2)
                x1, y1 = rng.uniform(x0 + 5, w), rng.uniform(y0 + 5, h)
                if rng.random() < 0.5:
                    shapes.append({"label": rng.choice(["chicken", "hen", "Chicken"]), "points": [[x0, y0], [x1, y1]],
                                   "group_id": None, "shape_type": "rectangle", "flags": {}})
                else:
                    pts = [[x0, y0], [x1, y0 + 3], [x1 - 2, y1], [(x0 + x1) / 2, y1 + 0.0], [x0, y1 - 4]]
                    shapes.append({"label": "chicken", "points": pts, "group_id": None, "shape_type": "polygon",
                                   "flags": {}})
            if rng.random() < 0.3:
                shapes.append({"label": "egg", "points": [[1, 1], [9, 9]], "group_id": None,
                               "shape_type": "rectangle", "flags": {}})
        doc = {"version": "5.4.1", "flags": {}, "shapes": shapes,
               "imagePath": f"../../images/{sub}/{name}{ext}", "imageData": None, "imageHeight": h, "imageWidth": w}
        (root / "labels" / sub / f"{name}.json").write_text(json.dumps(doc))
    (root / "label_map.yaml").write_text("concept: chicken\nsynonyms: [hen]\nbackground: [egg]\n")


def make_yolo(root, n, rng):
    blobs = [(image_bytes(f, s, i), ext) for i, (f, s, ext) in enumerate(TEMPLATES)]
    (root / "classes.txt").write_text("Chicken\nEgg\n")
    for i in range(n):
        data, ext = blobs[i % len(blobs)]
        name = f"img_{i:06d}"
        (root / "images" / f"{name}{ext}").write_bytes(data)
        lines = []
        for _ in range(rng.randint(0, 3)):
            cls = 0 if rng.random() < 0.7 else 1
            x0, y0 = rng.uniform(0, 0.5), rng.uniform(0, 0.5)
            x1, y1 = rng.uniform(x0 + 0.05, 1), rng.uniform(y0 + 0.05, 1)
            if rng.random() < 0.5:
                lines.append(f"{cls} {(x0 + x1) / 2:.6f} {(y0 + y1) / 2:.6f} {x1 - x0:.6f} {y1 - y0:.6f}")
            else:
                lines.append(f"{cls} {x0:.6f} {y0:.6f} {x1:.6f} {y0:.6f} {x1:.6f} {y1:.6f} {x0:.6f} {y1:.6f}")
        (root / "labels" / f"{name}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))


def run(binary, args, repeat):
    best, summary = None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([str(binary), "--json", "data", "convert", *map(str, args)], capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"convert failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        best = dt if best is None else min(best, dt)
        summary = json.loads(proc.stdout)
    return best, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.environ.get("CHICKENSEG_BIN", str(ROOT / "build" / "chickenseg")))
    ap.add_argument("-n", type=int, default=10000, help="images per format")
    ap.add_argument("--repeat", type=int, default=3, help="runs per format; the best time is reported")
    ap.add_argument("--keep", action="store_true", help="keep the generated folder")
    args = ap.parse_args()
    binary = Path(args.binary)
    if not binary.exists():
        sys.exit(f"chickenseg binary not found: {binary} (build it, or pass --binary)")

    tmp = Path(tempfile.mkdtemp(prefix="chickenseg_convert_bench_"))
    try:
        rng = random.Random(1)
        lm = tmp / "labelme"
        for d in ("images/chicken", "images/not_chicken", "labels/chicken", "labels/not_chicken"):
            (lm / d).mkdir(parents=True)
        yolo = tmp / "yolo"
        for d in ("images", "labels"):
            (yolo / d).mkdir(parents=True)
        t0 = time.perf_counter()
        make_labelme(lm, args.n, rng)
        make_yolo(yolo, args.n, rng)
        gen = time.perf_counter() - t0

        rows = []
        t, s = run(binary, [lm, "--out", tmp / "labelme.json", "--label-map", lm / "label_map.yaml"], args.repeat)
        rows.append(("labelme", s, t))
        t, s = run(binary, [yolo, "--out", tmp / "yolo.json", "--unknown-labels", "background"], args.repeat)
        rows.append(("yolo", s, t))

        print(f"generated {args.n} LabelMe + {args.n} YOLO files in {gen:.1f} s ({tmp}); "
              f"{os.cpu_count()} CPUs; best of {args.repeat}")
        print(f"{'format':<8} {'images':>7} {'positives':>9} {'annotations':>11} {'seconds':>8} {'images/s':>9} "
              f"{'target':>7}")
        ok = True
        for name, s, t in rows:
            passed = t < TARGET_S
            ok &= passed
            print(f"{name:<8} {s['images']:>7} {s['positives']:>9} {s['annotations']:>11} {t:>8.2f} "
                  f"{s['images'] / t:>9.0f} {'ok' if passed else 'SLOW':>7}")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
