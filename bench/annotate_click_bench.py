#!/usr/bin/env python3
"""Benchmark of the annotator's click-to-mask (`chickenseg annotate`, POST /api/click): exports the
tiny model (TorchScript, CPU), generates sample barn images, starts the server on 127.0.0.1 and
times clicks as the page makes them: the first click on an image (cold: decode + vision encoder +
decoder + every query's mask) and the following ones (warm: the image's features are cached, the
decoder and the masks run again).

Run with the project's Python:
  CHICKENSEG_PLUGIN_DIR=build .venv/bin/python bench/annotate_click_bench.py [--binary build/chickenseg] [-n 8]
Target: a warm click answered in <= 150 ms on this project's 2-core CPU machine with the tiny model.
Prints a table (milliseconds, round trip as the client sees it, and the server's own split).
"""
import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 150.0
TOKEN = "bench-token-0123456789abcdef"


def run(binary, *args):
    r = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                       env={**os.environ, "CHICKENSEG_QUIET": "1"})
    if r.returncode != 0:
        sys.exit(f"chickenseg {' '.join(map(str, args))} failed:\n{r.stderr}")


def click(port, file, x, y):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    conn.request("POST", "/api/click", body=json.dumps({"file": file, "x": x, "y": y}),
                 headers={"X-Chickenseg-Token": TOKEN, "Content-Type": "application/json"})
    r = conn.getresponse()
    body = json.loads(r.read())
    ms = (time.perf_counter() - start) * 1000
    conn.close()
    if r.status != 200:
        sys.exit(f"click failed ({r.status}): {body}")
    return ms, body


def summary(values):
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return statistics.median(values), p90, values[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=str(ROOT / "build" / "chickenseg"))
    ap.add_argument("-n", "--images", type=int, default=8, help="images (one cold click each)")
    ap.add_argument("--warm", type=int, default=10, help="warm clicks per image")
    ap.add_argument("--size", default="320x240", help="image size WxH")
    args = ap.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run(args.binary, "model", "export", "--model", "tiny", "--device", "cpu", "--out", tmp / "pkg",
            "--prompt", "chicken", "--format", "torchscript")
        run(args.binary, "data", "sample", "--out", tmp / "raw", "--count", args.images, "--size", args.size,
            "--seed", "1")
        folder = tmp / "to_annotate"
        folder.mkdir()
        images = sorted(p for p in (tmp / "raw" / "labelme").iterdir() if p.suffix in (".png", ".jpg"))
        for p in images:
            (folder / p.name).write_bytes(p.read_bytes())
        proc = subprocess.Popen([args.binary, "--json", "annotate", folder, "--package", tmp / "pkg", "--port", "0",
                                 "--token", TOKEN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            port = json.loads(proc.stdout.readline())["port"]
            w, h = map(int, args.size.split("x"))
            cold, warm, cold_encode, warm_decode = [], [], [], []
            for p in images:
                ms, body = click(port, p.name, w / 2, h / 2)
                assert not body["cached"]
                cold.append(ms)
                cold_encode.append(body["encode_ms"])
                for _ in range(args.warm):
                    ms, body = click(port, p.name, rng.uniform(0, w - 1), rng.uniform(0, h - 1))
                    assert body["cached"]
                    warm.append(ms)
                    warm_decode.append(body["decode_ms"])
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    rows = [("cold click (first on an image)", cold), ("warm click (features cached)", warm),
            ("  server: encoder, cold", cold_encode), ("  server: decoder + masks, warm", warm_decode)]
    print(f"annotate click latency, tiny model, TorchScript on CPU, {len(images)} images {args.size}, "
          f"{args.warm} warm clicks each; load: {os.getloadavg()[0]:.2f}")
    print(f"{'':34} {'median ms':>10} {'p90 ms':>8} {'max ms':>8}")
    for name, values in rows:
        med, p90, mx = summary(values)
        print(f"{name:34} {med:10.1f} {p90:8.1f} {mx:8.1f}")
    med = summary(warm)[0]
    print(f"target: warm click <= {TARGET_MS:.0f} ms: {'met' if med <= TARGET_MS else 'NOT met'} (median {med:.1f} ms)")


if __name__ == "__main__":
    main()
