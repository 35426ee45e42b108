#!/usr/bin/env python3
"""What the Python module (chickenseg.Sam3Wrapper) costs beyond the C++ engine, per image, against
`chickenseg predict` on the same package and images (docs/python.md).

Both sides do the same work: every query kept (score threshold 0) and no presence gating, so every
mask is resized and RLE-encoded.

1. One predict call at a time, per input kind (a path, a NumPy RGB array, a NumPy BGR array with
   bgr=True, a PIL image): the call's wall time is split with the call's own C++ timings into
   decoding (the file; for an array its copy into the engine's image), pre-processing (resize,
   normalise) and the engine's stages. "beyond" = wall - engine - pre-processing - file decoding:
   what the wrapper adds to what `chickenseg predict` does for the same image (argument checks, the
   GIL, the array's copy, PIL's conversion to an array, building the result). Target: < 1 ms.
2. The same image list end to end, wall time per image: `chickenseg predict --batch-size 1`
   against a loop of predict(path), and `--batch-size <max_batch>` against predict_batch(paths)
   (both decode on worker threads). The tool overlaps decoding with the engine; the loop of
   predict calls does not, so on a 2-core machine the two differ by more than the wrapper.
3. What a user asks for after predict: the masks as NumPy, the RLE dicts, the conversions.

    .venv/bin/python bench/python_wrapper_bench.py [--images 24] [--real 12] [--repeat 3]

CHICKENSEG_BIN names the tool (default build/chickenseg); the module built beside it
(<its folder>/python) is imported. Exit status 1 when the median "beyond" of an input kind is
1 ms or more.
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
os.environ.setdefault("YOLO_OFFLINE", "true")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")


def tool() -> Path:
    return Path(os.environ.get("CHICKENSEG_BIN", ROOT / "build" / "chickenseg"))


def run(*args):
    proc = subprocess.run([str(tool()), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "CHICKENSEG_QUIET": "1"})
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): chickenseg {' '.join(map(str, args))}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def engine_ms(t: dict) -> float:
    return t["upload_ms"] + t["encoder_ms"] + t["decoder_ms"] + t["mask_decoder_ms"] + t["postprocess_ms"]


def time_wrapper(model, inputs, repeat, bgr=False, file_decoding=False):
    """Per call: medians over every image and pass of the wall, decode, prepare and engine ms, and
    of "beyond" (wall - engine - prepare, minus decode when it decodes a file, as the tool does)."""
    model.predict(inputs[0], bgr=bgr)  # warm
    walls, decodes, prepares, engines = [], [], [], []
    for _ in range(repeat):
        for image in inputs:
            start = time.perf_counter()
            r = model.predict(image, bgr=bgr)
            walls.append((time.perf_counter() - start) * 1000)
            t = r.timings
            decodes.append(t["decode_ms"])
            prepares.append(t["prepare_ms"])
            engines.append(engine_ms(t))
    beyond = [w - p - e - (d if file_decoding else 0) for w, d, p, e in zip(walls, decodes, prepares, engines)]
    return {"wall": statistics.median(walls), "decode": statistics.median(decodes),
            "prepare": statistics.median(prepares), "engine": statistics.median(engines),
            "beyond": statistics.median(beyond), "beyond_mean": statistics.fmean(beyond),
            "beyond_max": max(beyond)}


def tool_wall_ms(package, listing, work, repeat, batch):
    """`chickenseg predict` on the list: its own wall time per image (package loading excluded),
    median over the passes."""
    walls = []
    for _ in range(repeat):
        doc = json.loads(run("--json", "predict", "--package", package, "--list", listing, "--min-score", "0",
                             "--presence-threshold", "0", "--batch-size", batch, "--out", work / "cli.json"))
        walls.append(doc["seconds"] * 1000 / doc["predicted"])
    return statistics.median(walls)


def wrapper_wall_ms(fn, paths, repeat):
    fn(paths[:1])  # warm
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(paths)
        walls.append((time.perf_counter() - start) * 1000 / len(paths))
    return statistics.median(walls)


def time_extra(model, paths, repeat):
    """ms per call of what a user asks for after predict: masks, RLE dicts, the conversions."""
    results = [model.predict(p) for p in paths]
    out = {}

    def each(name, fn):
        walls = []
        for _ in range(repeat):
            for r in results:
                fresh = type(r)(r._raw, r._source)  # nothing cached
                start = time.perf_counter()
                fn(fresh)
                walls.append((time.perf_counter() - start) * 1000)
        out[name] = statistics.median(walls)

    each("masks (N x H x W bool)", lambda r: r.masks)
    each("rle (pycocotools dicts)", lambda r: r.rle)
    try:
        import ultralytics  # noqa: F401
        results[0].to_ultralytics()  # the first import is not per call
        each("to_ultralytics()", lambda r: r.to_ultralytics())
    except ImportError:
        out["to_ultralytics()"] = None
    try:
        import supervision  # noqa: F401
        each("to_supervision()", lambda r: r.to_supervision())
    except ImportError:
        out["to_supervision()"] = None
    return out, statistics.median(len(r) for r in results)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=24, help="sample scenes to generate")
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--real", type=int, default=12, help="real chicken-egg-yolo photos to add")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, help="working folder (default: a temporary one)")
    args = ap.parse_args()

    sys.path.insert(0, str(tool().parent / "python"))
    import numpy as np
    from PIL import Image

    import chickenseg

    work = args.out or Path(tempfile.mkdtemp(prefix="chickenseg_python_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}; {run('--version').strip()}; module {chickenseg.__file__}")

    run("data", "sample", "--out", work / "raw", "--count", args.images, "--size", args.size)
    paths = sorted(p for p in (work / "raw" / "labelme").iterdir() if p.suffix.lower() in (".png", ".jpg"))
    if args.real and SHARED.is_dir():
        paths += sorted((SHARED / "images").iterdir())[: args.real]
    package = work / "package"
    if not package.exists():
        run("model", "export", "--model", "tiny:0", "--device", "cpu", "--out", package, "--format", "torchscript")
    listing = work / "list.txt"
    listing.write_text("".join(f"{p}\n" for p in paths))

    model = chickenseg.Sam3Wrapper(package, score_threshold=0, presence_threshold=0)
    rgb = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    bgr = [np.ascontiguousarray(a[..., ::-1]) for a in rgb]
    pil = [Image.open(p).convert("RGB") for p in paths]
    strs = [str(p) for p in paths]
    rows = [("path", time_wrapper(model, strs, args.repeat, file_decoding=True)),
            ("NumPy RGB", time_wrapper(model, rgb, args.repeat)),
            ("NumPy BGR, bgr=True", time_wrapper(model, bgr, args.repeat, bgr=True)),
            ("PIL image", time_wrapper(model, pil, args.repeat))]

    batch = model.max_batch
    ends = [("one image at a time", tool_wall_ms(package, listing, work, args.repeat, 1),
             "predict(path) in a loop", wrapper_wall_ms(lambda ps: [model.predict(p) for p in ps], strs, args.repeat)),
            (f"--batch-size {batch}", tool_wall_ms(package, listing, work, args.repeat, batch),
             "predict_batch(paths)", wrapper_wall_ms(model.predict_batch, strs, args.repeat))]
    extra, detections = time_extra(model, paths, args.repeat)
    load_after = os.getloadavg()

    sizes = sorted({(a.shape[1], a.shape[0]) for a in rgb})
    print(f"\n{len(paths)} images ({', '.join(f'{w}x{h}' for w, h in sizes)}), {detections:.0f} detections per image "
          f"(every query kept), median of {args.repeat} passes; {model.description}")
    print("\n1. one predict call at a time (ms per call, medians)")
    print(f"{'input':22} {'call':>7} {'decode':>7} {'prepare':>8} {'engine':>7} {'beyond':>7} {'(mean)':>7} {'(max)':>7}")
    for name, r in rows:
        print(f"{name:22} {r['wall']:7.2f} {r['decode']:7.2f} {r['prepare']:8.2f} {r['engine']:7.2f} "
              f"{r['beyond']:7.3f} {r['beyond_mean']:7.3f} {r['beyond_max']:7.2f}")
    print("beyond = call - engine - prepare (- decode for a file, which the tool decodes too): the wrapper's "
          "own cost, with an array's copy; target < 1 ms per image")
    print("\n2. the same images end to end against `chickenseg predict` (ms per image, wall)")
    print(f"{'':22} {'chickenseg predict':>19}   {'wrapper':24} {'ms':>7} {'difference':>11}")
    for name, tool_ms, what, ours in ends:
        print(f"{name:22} {tool_ms:19.2f}   {what:24} {ours:7.2f} {ours - tool_ms:+11.2f}")
    print("\n3. after predict, on request (ms per call):")
    for name, ms in extra.items():
        print(f"  {name:26} {'not installed' if ms is None else f'{ms:.2f}'}")
    print(f"\nload average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    worst = max(r["beyond"] for _, r in rows)
    return 0 if worst < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
