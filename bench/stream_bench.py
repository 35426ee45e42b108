#!/usr/bin/env python3
"""Benchmark of `chickenseg stream` on this machine: frames per second and the milliseconds per
frame of each stage (decode, detect, track, JSONL, draw, encode) for a video file at 640x480 and
1920x1080, with detection on every frame (N = 1) and every 5th (N = 5), overlay MP4 and JSONL on.

Run with the project's Python:
  .venv/bin/python bench/stream_bench.py --package PKG [--binary build/chickenseg] [--seconds 10]
A package: `chickenseg model export --model tiny --device cpu --out PKG --format torchscript`
(the tiny model on a CPU), or a real one on a GPU machine (bench/gpu_runtime.sh). Prints a table.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = [(640, 480), (1920, 1080)]
EVERY = [1, 5]
STAGES = ["decode", "detect", "track", "jsonl", "draw", "encode"]


def make_video(path, size, seconds, fps=25):
    """Moving test patterns (FFmpeg's testsrc2), H.264: decoding costs what a camera's stream costs."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size[0]}x{size[1]}:rate={fps}",
                    "-t", str(seconds), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", required=True)
    ap.add_argument("--binary", default=str(ROOT / "build" / "chickenseg"))
    ap.add_argument("--seconds", type=int, default=10, help="video length (25 fps)")
    ap.add_argument("--device", default="")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for size in SIZES:
            video = tmp / f"v{size[0]}.mp4"
            make_video(video, size, args.seconds)
            for every in EVERY:
                cmd = [args.binary, "--json", "stream", "--package", args.package, "--input", str(video),
                       "--out", str(tmp / "e.jsonl"), "--video-out", str(tmp / "o.mp4"),
                       "--detect-every", str(every)]
                if args.device:
                    cmd += ["--device", args.device]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"stream failed: {r.stderr.strip()}")
                rows.append((size, every, json.loads(r.stdout)))
    print(f"{'size':>10} {'N':>3} {'fps':>7} {'detect/run':>11} " + " ".join(f"{s:>7}" for s in STAGES)
          + "   (ms per frame; codec)")
    for size, every, s in rows:
        ms = s["ms_per_frame"]
        print(f"{size[0]:>4}x{size[1]:<5} {every:>3} {s['fps']:7.1f} {s['ms_per_detection']:9.1f}ms "
              + " ".join(f"{ms[k]:7.2f}" for k in STAGES) + f"   {s['video_codec']}")


if __name__ == "__main__":
    main()
