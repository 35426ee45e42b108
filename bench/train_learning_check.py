#!/usr/bin/env python3
"""Learning check of the trainer (a script, not a unit test): on a synthetic SA-Co set where
presence is learnable (bright discs = chicken present, none = absent), does IL_MCC on the val
set, computed by `chickenseg eval`, rise from the untrained model's value to >= 0.8 within a
CPU budget of 10 minutes? The tiny SAM 3 has no pretraining, so its backbone trains too
(model.backbone.freeze=false) and the lr is far above the fine-tuning default. Per-query focal
alpha is 0.9: in so few steps the queries of a random model do not yet localise (their logits
are nearly the same on every image), and alpha 0.9 keeps the matched-query rate's equilibrium
score above 0.5, so the kept predictions, and IL_MCC, follow the learned presence.

Runs the real tool: `chickenseg train -c configs/train_tiny.yaml` with overrides, validation
(prediction + `chickenseg eval`) after every epoch; prints the curve from RUN/metrics.jsonl
and exits 0 when IL_MCC >= 0.8 was reached within the budget, else 1.

    .venv/bin/python bench/train_learning_check.py [--out DIR] [--epochs 14] [--budget-s 600]
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from chickenseg_model.train.synthetic import make_synthetic_dataset  # noqa: E402


def tool() -> Path:
    return Path(os.environ.get("CHICKENSEG_BIN", ROOT / "build" / "chickenseg"))


def run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def untrained_metrics(data: Path, out: Path, seed: int) -> dict:
    pred = out / "untrained_predictions.json"
    run([tool(), "model", "predict", "--model", f"tiny:{seed}", "--device", "cpu", "--dataset", data / "val.json",
         "--out", pred, "--presence-out", out / "untrained_presence.json"], env={**os.environ, "CHICKENSEG_QUIET": "1"})
    doc = json.loads(run([tool(), "--json", "eval", "--gt", data / "val.json", "--pred", pred,
                          "--presence", out / "untrained_presence.json", "--iou-type", "segm"]))
    return {"IL_MCC": doc["image_level"]["IL_MCC"], "cgF1": doc["segm"]["cgF1"], "pmF1": doc["segm"]["pmF1"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("/tmp/chickenseg_learning_check"))
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--budget-s", type=float, default=600.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not tool().exists():
        sys.exit(f"{tool()}: chickenseg binary not found (build it, or set CHICKENSEG_BIN)")
    data, run_dir = args.out / "data", args.out / "run"
    args.out.mkdir(parents=True, exist_ok=True)
    info = make_synthetic_dataset(data, train=48, val=24, size=96, negative_share=0.5, seed=args.seed)
    print(f"data: {info['train']['images']} train ({info['train']['negatives']} negative), "
          f"{info['val']['images']} val ({info['val']['negatives']} negative) in {data}")
    before = untrained_metrics(data, args.out, args.seed)
    overrides = [f"train_json={data / 'train.json'}", f"val_json={data / 'val.json'}", f"output_dir={run_dir}",
                 "img_dir=null", "resume=null", f"seed={args.seed}", f"model.checkpoint=tiny:{args.seed}",
                 "model.backbone.freeze=false", "optimizer.lr=2e-2", "trainer.gradient_clip_val=1.0",
                 "loss.presence_loss=bce", "loss.class_focal_alpha=0.9", f"train.max_epochs={args.epochs}", "train.batch_size=4",
                 "data.negative_ratio=0.5", "data.augment.scale_jitter=[1.0,1.0]", "val.every_n_epochs=1",
                 "val.num_overlays=2", "checkpoint.monitor=IL_MCC", "checkpoint.save_top_k=1"]
    started = time.time()
    subprocess.run([str(tool()), "train", "-c", ROOT / "configs" / "train_tiny.yaml", *overrides], check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.time() - started
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in records if r["split"] == "val"]
    print(f"\n{'epoch':>5} {'step':>5} {'time s':>7} {'val_loss':>9} {'presence':>9} {'IL_MCC':>7} {'cgF1':>6} {'pmF1':>6}")
    fmt = lambda v, spec: format(v, spec) if isinstance(v, (int, float)) else f"{'n/a':>{spec.split('.')[0]}}"
    print(f"{0:>5} {0:>5} {0.0:>7.1f} {'':>9} {'':>9} {fmt(before['IL_MCC'], '7.3f')} "
          f"{fmt(before['cgF1'] * 100 if before['cgF1'] is not None else None, '6.2f')} "
          f"{fmt(before['pmF1'] * 100 if before['pmF1'] is not None else None, '6.2f')}   (untrained)")
    reached = None
    for r in val:
        print(f"{r['epoch']:>5} {r['step']:>5} {r['elapsed_s']:>7.1f} {r['val_loss']:>9.4f} "
              f"{r['val_loss_presence']:>9.4f} {fmt(r['IL_MCC'], '7.3f')} "
              f"{fmt(r['cgF1'] * 100 if r['cgF1'] is not None else None, '6.2f')} "
              f"{fmt(r['pmF1'] * 100 if r['pmF1'] is not None else None, '6.2f')}")
        if reached is None and r["IL_MCC"] is not None and r["IL_MCC"] >= 0.8:
            reached = r
    print(f"\nwall time {wall:.0f} s (training + validation; budget {args.budget_s:.0f} s)")
    if reached and reached["elapsed_s"] <= args.budget_s:
        print(f"PASS: IL_MCC {before['IL_MCC']:.3f} (untrained) -> {reached['IL_MCC']:.3f} at epoch "
              f"{reached['epoch']} ({reached['elapsed_s']:.0f} s)")
        return 0
    print("FAIL: IL_MCC did not reach 0.8 within the budget")
    return 1


if __name__ == "__main__":
    sys.exit(main())
