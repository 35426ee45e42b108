#!/usr/bin/env python3
"""On the sample data, at an equal annotation budget, does mining by uncertainty beat random
selection? (issue 12, "Beyond the plan"; a script, not a test: it trains several models.)

One seed model (configs/train_demo.yaml on a base set, from the demo's start) is exported to a
package. From one inbox of fresh scenes, each arm picks B images: `uncertainty` = `chickenseg mine --limit B`, `random` =
B images drawn uniformly with the seed. The picked images are annotated with the generator's own
LabelMe files (the truth; `data convert` applies the label map, so ambiguous scenes drop out in
both arms alike), merged into the base set, and the seed model is fine-tuned on the merge with
the same config, epochs and seed in both arms. Both are evaluated on one fixed held-out val
set (`chickenseg eval`: cgF1, IL_MCC, pmF1 of the last epoch). Repeated over seeds (the fine-tune
seed and the random draw; mine is deterministic, so its pick is the same each seed). When mine
finds fewer than B candidates, the random arm draws as many as mine chose: the budgets stay equal.

    .venv/bin/python bench/al_uncertainty_vs_random.py [--out DIR] [--seeds 0 1 2] [--budget 12]

Prints a table (seed, arm, images, cgF1, IL_MCC, pmF1) and each arm's mean +- sd; --json-out
writes the rows. Needs the tool (`$CHICKENSEG_BIN`), the LibTorch plugin for `mine`
(`$CHICKENSEG_PLUGIN_DIR`) and the project's Python (`$CHICKENSEG_PYTHON`).
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARMS = ("uncertainty", "random")


def tool() -> Path:
    return Path(os.environ.get("CHICKENSEG_BIN", ROOT / "build" / "chickenseg"))


def run(*cmd, quiet=True):
    env = {**os.environ, "CHICKENSEG_QUIET": "1"} if quiet else None
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def cs(*args):
    return run(tool(), *args)


def sample(root: Path, name: str, count: int, seed: int, size: str) -> Path:
    """`data sample` into root/name, converted to root/name.json (file_names relative to root)."""
    cs("data", "sample", "--out", root / name, "--count", count, "--seed", seed, "--size", size)
    cs("data", "convert", root / name / "labelme", "--label-map", root / name / "label_map.yaml",
       "--image-root", root, "--out", root / f"{name}.json")
    return root / name / "labelme"


def train(config: Path, train_json: Path, val_json: Path, image_root: Path, out: Path, checkpoint: str, seed: int,
          epochs: int) -> dict:
    """The last epoch's val metrics of a `chickenseg train` run (not the best: choosing a checkpoint
    by the val set would flatter both arms on the set they are compared on)."""
    cs("train", "-c", config, f"train_json={train_json}", f"val_json={val_json}", f"img_dir={image_root}",
       f"output_dir={out}", "resume=null", f"seed={seed}", f"model.checkpoint={checkpoint}",
       f"train.max_epochs={epochs}", "logging.wandb=disabled", "logging.tensorboard=false", "val.num_overlays=0")
    val = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in val if r["split"] == "val"][-1]
    return {k: last[k] for k in ("cgF1", "IL_MCC", "pmF1", "epoch", "elapsed_s")}


def annotate_with_truth(picked, inbox: Path, root: Path, folder: Path, label_map: Path) -> Path:
    """The picked inbox images with the generator's LabelMe files (the truth) in `folder`,
    converted to SA-Co (file_names relative to root)."""
    folder.mkdir(parents=True)
    for name in picked:
        shutil.copy(inbox / name, folder / name)
        truth = inbox / (Path(name).stem + ".json")
        if truth.exists():  # the sample writes no file for some negatives: an image without one is one
            shutil.copy(truth, folder / truth.name)
    out = folder.with_suffix(".json")
    cs("data", "convert", folder, "--label-map", label_map, "--image-root", root, "--out", out)
    return out


def fmt(v, spec="6.2f", scale=100.0):
    return format(v * scale, spec) if isinstance(v, (int, float)) else f"{'n/a':>6}"


def mean_sd(values, scale=100.0, digits=2):
    """Mean +- sample sd, in the table's units (cgF1 and pmF1 in %, IL_MCC as it is)."""
    values = [v * scale for v in values if isinstance(v, (int, float))]
    if not values:
        return "n/a"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} +- {sd:.{digits}f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("/tmp/chickenseg_al_bench"))
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "train_demo.yaml")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--budget", type=int, default=12, help="images each arm annotates")
    ap.add_argument("--base-count", type=int, default=120,
                    help="scenes of the seed model's training set (the demo's count: fewer did not learn)")
    ap.add_argument("--val-count", type=int, default=40, help="scenes of the fixed held-out val set")
    ap.add_argument("--inbox-count", type=int, default=60, help="scenes both arms pick from")
    ap.add_argument("--size", default="640x480", help="sample image size (the demo's)")
    ap.add_argument("--seed-epochs", type=int, default=None, help="seed model epochs (default: the config's)")
    ap.add_argument("--retrain-epochs", type=int, default=2, help="fine-tune epochs after the merge")
    ap.add_argument("--model", default=None, help="the seed model's start (default: the demo's, "
                    "`chickenseg model build-tiny --init pytorch`; or a HF folder, tiny[:SEED])")
    ap.add_argument("--json-out", type=Path, default=None)
    args = ap.parse_args()
    if not tool().exists():
        sys.exit(f"{tool()}: chickenseg binary not found (build it, or set CHICKENSEG_BIN)")
    if args.out.exists():
        shutil.rmtree(args.out)
    data = args.out / "data"  # the image root of every dataset here
    data.mkdir(parents=True)
    started = time.time()
    # Three generator seeds far apart: base, val and inbox never share a scene.
    sample(data, "base", args.base_count, 1000, args.size)
    sample(data, "val", args.val_count, 2000, args.size)
    inbox = sample(data, "inbox", args.inbox_count, 3000, args.size)
    label_map = data / "inbox" / "label_map.yaml"
    base_json, val_json = data / "base.json", data / "val.json"

    start = args.model
    if start is None:  # the demo's start (docs/train.md, "Measured": why not --model tiny)
        start = args.out / "tiny_model"
        run(tool(), "model", "build-tiny", "--out", start, "--init", "pytorch")
    seed_run = args.out / "seed_model"
    seed_epochs = args.seed_epochs if args.seed_epochs is not None else _config_epochs(args.config)
    seed_metrics = train(args.config, base_json, val_json, data, seed_run, str(start), 0, seed_epochs)
    package = args.out / "seed_package"
    run(tool(), "model", "export", "--model", seed_run / "last", "--out", package, "--prompt", "chicken",
        "--format", "torchscript", "--device", "cpu")
    print(f"seed model: {base_json.name} ({_images(base_json)} images), val {_images(val_json)} images: "
          f"cgF1 {fmt(seed_metrics['cgF1'])}  IL_MCC {fmt(seed_metrics['IL_MCC'], '6.3f', 1.0)}  "
          f"pmF1 {fmt(seed_metrics['pmF1'])}", flush=True)

    mined = args.out / "mined"
    cs("mine", "--package", package, "--images", inbox, "--out", mined, "--limit", args.budget, "--no-thumbnails")
    uncertain = [c["file"] for c in json.loads((mined / "mining.json").read_text())["chosen"]]
    budget = len(uncertain)
    print(f"mine chose {budget} of {args.inbox_count} inbox images (budget {args.budget})", flush=True)
    inbox_images = sorted(p.name for p in inbox.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))

    rows = []
    for seed in args.seeds:
        picks = {"uncertainty": uncertain, "random": random.Random(seed).sample(inbox_images, budget)}
        for arm in ARMS:
            tag = f"{arm}_s{seed}"
            batch = annotate_with_truth(picks[arm], inbox, data, data / f"picked_{tag}", label_map)
            merged = data / f"train_{tag}.json"
            cs("data", "merge", "--base", base_json, "--add", batch, "--out", merged, "--image-root", data,
               "--on-duplicate", "replace")
            m = train(args.config, merged, val_json, data, args.out / f"run_{tag}", str(seed_run / "last"), seed,
                      args.retrain_epochs)
            positives = sum(1 for n in picks[arm] if (inbox / (Path(n).stem + ".json")).exists()
                            and '"shapes": []' not in (inbox / (Path(n).stem + ".json")).read_text())
            rows.append({"seed": seed, "arm": arm, "picked": len(picks[arm]), "merged_images": _images(merged),
                         "picked_with_labels": positives, **m})
            print(f"seed {seed} {arm:<11} cgF1 {fmt(m['cgF1'])}  IL_MCC {fmt(m['IL_MCC'], '6.3f', 1.0)}  "
                  f"pmF1 {fmt(m['pmF1'])}  ({time.time() - started:.0f} s so far)", flush=True)

    print(f"\n{'seed':>4} {'arm':<11} {'picked':>6} {'train':>5} {'cgF1':>6} {'IL_MCC':>7} {'pmF1':>6}")
    for r in rows:
        print(f"{r['seed']:>4} {r['arm']:<11} {r['picked']:>6} {r['merged_images']:>5} {fmt(r['cgF1'])} "
              f"{fmt(r['IL_MCC'], '7.3f', 1.0)} {fmt(r['pmF1'])}")
    print(f"\nseed model (before the round): cgF1 {fmt(seed_metrics['cgF1'])}  "
          f"IL_MCC {fmt(seed_metrics['IL_MCC'], '6.3f', 1.0)}  pmF1 {fmt(seed_metrics['pmF1'])}")
    for arm in ARMS:
        mine_rows = [r for r in rows if r["arm"] == arm]
        print(f"{arm:<11} mean +- sd over {len(mine_rows)} seeds: cgF1 {mean_sd([r['cgF1'] for r in mine_rows])}  "
              f"IL_MCC {mean_sd([r['IL_MCC'] for r in mine_rows], 1.0, 3)}  pmF1 {mean_sd([r['pmF1'] for r in mine_rows])}")
    print(f"wall time {time.time() - started:.0f} s")
    if args.json_out:
        args.json_out.write_text(json.dumps({"seed_model": seed_metrics, "budget": budget, "rows": rows}, indent=1))
    return 0


def _images(dataset: Path) -> int:
    return len(json.loads(dataset.read_text())["images"])


def _config_epochs(config: Path) -> int:
    """train.max_epochs of the config as composed (its defaults list included)."""
    sys.path.insert(0, str(ROOT / "python"))
    from chickenseg_model.train.config import load_config

    return int(load_config(config)["train.max_epochs"])


if __name__ == "__main__":
    sys.exit(main())
