#!/usr/bin/env python3
"""Benchmark of `chickenseg stream`: frames per second, the milliseconds per frame of each stage
(decode, detect, track, JSONL, draw, encode) and the end-to-end latency (p50/p95: frame out of
the decoder to its JSONL line and overlay done) for a video file per size and detection interval
N, overlay MP4 and JSONL on; optionally how many streams at once hold the frame rate, and the
GPU's memory over each run (nvidia-smi, when there is one).

Run with the project's Python:
  .venv/bin/python bench/stream_bench.py --package PKG [--binary build/chickenseg] [--seconds 10]
  bench/stream_bench.py --package PKG --barn --sizes 1920x1080 --every 1,5,25 --realtime --max-streams 8
A package: `chickenseg model export --model tiny --device cpu --out PKG --format torchscript`
(the tiny model on a CPU), or a real one on a GPU machine (bench/gpu_runtime.sh). Prints a table
(and --json-out FILE: every run's summary).

The video: FFmpeg's testsrc2 (moving test patterns), or with --barn the sample generator's animated
barn (`chickenseg data sample --video`: chickens walking, entering, leaving, overlapping), made an
H.264 MP4 with the ffmpeg tool; without that tool (a bare GPU machine) the generator's JPEG frames
are the input. A chickenseg built without FFmpeg (asked once at the start) reads only image
sequences and writes no MP4: the input is then the barn's JPEG frames (decoded with the project's
libjpeg-turbo decoder), the runs have no --video-out, and the table says so. --realtime reads the
file at its frame rate, as a camera would deliver it: the latency is then what a camera's viewer
sees, and frames the model cannot keep up with are dropped.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["decode", "detect", "track", "jsonl", "draw", "encode"]
# A stream "holds" the rate when at most this share of its frames was dropped (a paced file),
# counted after the first seconds: the engine's first calls (warm-up, autotuning) are slow.
HOLD_DROPPED = 0.01
WARMUP_SECONDS = 2.0
# The most seconds of the barn drawn as JPEG frames; longer runs loop them (make_barn).
FRAMES_SECONDS = 10


def parse_size(text):
    w, h = text.lower().split("x")
    return int(w), int(h)


def make_testsrc(path, size, seconds, fps):
    """Moving test patterns (FFmpeg's testsrc2), H.264: decoding costs what a camera's stream costs."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size[0]}x{size[1]}:rate={fps}",
                    "-t", str(seconds), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def writes_video(binary, package):
    """Whether this chickenseg has FFmpeg: without it, --video-out is refused before any input is
    opened, so a missing input tells the two builds apart at once."""
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([binary, "stream", "--package", package, "--input", str(Path(tmp) / "missing.mp4"),
                            "--out", str(Path(tmp) / "e.jsonl"), "--video-out", str(Path(tmp) / "v.mp4")],
                           capture_output=True, text=True)
    return "built without FFmpeg" not in r.stdout + r.stderr


def make_barn(binary, folder, size, seconds, fps, frames=False):
    """The animated barn: an H.264 MP4 when the ffmpeg tool is there (and `frames` is false), else
    its JPEG frames. As frames, at most FRAMES_SECONDS are drawn and the rest are hard links to
    them, in a loop: the generator draws a 1080p frame far slower than real time, so a minute of
    drawn frames would not fit the GPU step's time limit (the loop's seam is one scene cut)."""
    as_frames = frames or not shutil.which("ffmpeg")
    total = seconds * fps
    drawn = min(total, FRAMES_SECONDS * fps) if as_frames else total
    subprocess.run([binary, "-q", "data", "sample", "--video", "--out", str(folder), "--frames", str(drawn),
                    "--fps", str(fps), "--size", f"{size[0]}x{size[1]}", "--seed", "0"], check=True,
                   stdout=subprocess.DEVNULL)
    img1 = folder / "img1"
    if as_frames:
        for i in range(drawn, total):  # MOTChallenge's numbers from 1, as the generator writes them
            (img1 / f"{i + 1:06d}.jpg").hardlink_to(img1 / f"{i % drawn + 1:06d}.jpg")
        looped = f", {drawn} drawn, looped" if drawn < total else ""
        print(f"the input is {img1} (JPEG frames{looped}; an image sequence is read at 25 fps)", file=sys.stderr)
        return img1
    video = folder.with_suffix(".mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-framerate", str(fps), "-i", str(img1 / "%06d.jpg"),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", str(2 * fps), str(video)], check=True)
    shutil.rmtree(img1)
    return video


class GpuMemory:
    """Samples the GPU's used memory (MiB) once a second with nvidia-smi while it runs."""

    def __init__(self):
        self.samples, self._stop = [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True) if shutil.which("nvidia-smi") else None

    def _run(self):
        while not self._stop.is_set():
            r = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                               capture_output=True, text=True)
            if r.returncode == 0 and r.stdout.strip():
                self.samples.append(int(r.stdout.split()[0]))
            self._stop.wait(1.0)

    def __enter__(self):
        if self._thread:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread:
            self._thread.join()

    def text(self):
        s = self.samples
        return f"{s[0]}->{s[-1]} (max {max(s)})" if s else "-"


def stream_cmd(args, video, every, out_dir, tag):
    cmd = [args.binary, "--json", "stream", "--package", args.package, "--input", str(video),
           "--out", str(out_dir / f"{tag}.jsonl"), "--detect-every", str(every), "--hwaccel", args.hwaccel]
    if args.video_out:
        cmd += ["--video-out", str(out_dir / f"{tag}.mp4")]
    if args.device:
        cmd += ["--device", args.device]
    if args.realtime:
        cmd += ["--realtime"]
    return cmd


def run_streams(args, video, every, out_dir, count):
    """`count` streams at once on the same video; their summaries and the GPU memory seen."""
    with GpuMemory() as memory:
        procs = [subprocess.Popen(stream_cmd(args, video, every, out_dir, f"s{k}"), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for k in range(count)]
        results = [p.communicate() for p in procs]
    summaries = []
    for k, (p, (stdout, stderr)) in enumerate(zip(procs, results)):
        if p.returncode != 0:
            sys.exit(f"stream failed ({p.returncode}): {stderr.strip()[-2000:]}")
        summary = json.loads(stdout)
        # Frames dropped after the warm-up, from the JSONL lines (each says how many went before it).
        lines = [json.loads(line) for line in (out_dir / f"s{k}.jsonl").read_text().splitlines()]
        late = [line for line in lines if line["time"] >= WARMUP_SECONDS]
        summary["late_frames"] = len(late) + sum(line.get("dropped_before", 0) for line in late)
        summary["late_dropped"] = sum(line.get("dropped_before", 0) for line in late)
        summaries.append(summary)
    return summaries, memory.text()


def holds(summary):
    return summary["late_dropped"] <= HOLD_DROPPED * max(summary["late_frames"], 1)


def print_table(rows):
    print(f"{'size':>10} {'N':>3} {'fps':>7} {'detect/run':>11} {'lat p50':>8} {'p95':>8} "
          + " ".join(f"{s:>7}" for s in STAGES) + "  dropped  gpu MiB   (ms per frame; codec)")
    for size, every, s, memory in rows:
        ms, lat = s["ms_per_frame"], s["latency_ms"]
        print(f"{size[0]:>4}x{size[1]:<5} {every:>3} {s['fps']:7.1f} {s['ms_per_detection']:9.1f}ms "
              f"{lat['p50']:6.1f}ms {lat['p95']:6.1f}ms " + " ".join(f"{ms[k]:7.2f}" for k in STAGES)
              + f"  {s['dropped']:>7}  {memory}   {s.get('video_codec') or 'no MP4'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", required=True)
    ap.add_argument("--binary", default=str(ROOT / "build" / "chickenseg"))
    ap.add_argument("--seconds", type=int, default=10, help="video length")
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--sizes", default="640x480,1920x1080", help="comma-separated WxH")
    ap.add_argument("--every", default="1,5", help="detection intervals N, comma-separated")
    ap.add_argument("--barn", action="store_true", help="the sample generator's animated barn, not testsrc2")
    ap.add_argument("--realtime", action="store_true", help="read the file at its frame rate, as a camera")
    ap.add_argument("--max-streams", type=int, default=0,
                    help="then run 1, 2, 4 ... up to this many streams at once (paced, at the largest size and "
                         "the last N) and report how many hold the frame rate")
    ap.add_argument("--device", default="")
    ap.add_argument("--hwaccel", default="none", help="passed to chickenseg stream (none, auto, cuda...)")
    ap.add_argument("--json-out", help="write every run's summary here")
    args = ap.parse_args()
    args.video_out = writes_video(args.binary, args.package)
    if not args.video_out:
        args.barn = True  # testsrc2 would be an MP4, which this build cannot read
        print("chickenseg has no FFmpeg: decode is the barn's JPEG frames (image sequence, libjpeg-turbo), "
              "no MP4 is written (encode and draw 0)")
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    everies = [int(n) for n in args.every.split(",")]
    rows, record = [], {"runs": [], "streams": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for size in sizes:
            name = f"v{size[0]}x{size[1]}"
            if args.barn:
                video = make_barn(args.binary, tmp / name, size, args.seconds, args.fps, frames=not args.video_out)
            else:
                video = make_testsrc(tmp / f"{name}.mp4", size, args.seconds, args.fps)
            for every in everies:
                (summary,), memory = run_streams(args, video, every, tmp, 1)
                rows.append((size, every, summary, memory))
                record["runs"].append({"size": list(size), "every": every, "gpu_memory_mib": memory, **summary})
        print_table(rows)
        if args.max_streams > 0:
            args.realtime = True  # "holds 25 fps" is about a camera's pace
            print(f"\nstreams at once ({sizes[-1][0]}x{sizes[-1][1]}, N = {everies[-1]}, paced at {args.fps} fps; "
                  f"a stream holds when it drops at most {HOLD_DROPPED:.0%} of its frames after the first "
                  f"{WARMUP_SECONDS:g} s)")
            count, held = 1, 0
            while count <= args.max_streams:
                started = time.time()
                summaries, memory = run_streams(args, video, everies[-1], tmp, count)
                ok = all(holds(s) for s in summaries)
                fps = [round(s["fps"], 1) for s in summaries]
                p95 = max(s["latency_ms"]["p95"] for s in summaries)
                print(f"  {count:>3} streams: fps {fps}, dropped {[s['dropped'] for s in summaries]} "
                      f"({[s['late_dropped'] for s in summaries]} after the warm-up), "
                      f"latency p95 {p95:.1f} ms, gpu MiB {memory}, {time.time() - started:.0f} s: "
                      + ("hold" if ok else "do not hold"))
                record["streams"].append({"count": count, "hold": ok, "gpu_memory_mib": memory,
                                          "summaries": summaries})
                if not ok:
                    break
                held, count = count, count * 2
            print(f"  {held} stream(s) at once hold {args.fps} fps"
                  + (f" (every count tried up to {args.max_streams} held)" if count > args.max_streams else ""))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
