"""Resume from the middle of an epoch (issue 5): a run stopped after any optimizer step and
resumed from its checkpoint logs the same losses, bit for bit, as a run that was never stopped.

Run A trains 2 epochs uninterrupted. Run B trains the same config in five pieces, every piece
resuming from the previous one's RUN/last.pt (`resume=auto`, the SLURM requeue path), and its
metrics.jsonl must hold A's values exactly (float ==), its final checkpoint A's weights,
optimizer, scheduler, RNG states and top-k table.

Batches: 10 training images, 5 of them negative, batch 2 with negative_ratio 0.5 -> 5 batches
per epoch; train.accumulate_grad_batches 2 -> groups of 2, 2 and a short 1 -> 3 optimizer steps
per epoch, 6 in all. B stops after step 2 (epoch 1, 4 of 5 batches done) and after step 4
(epoch 2, 2 batches done: 7 batches in all, not a multiple of the accumulation), so a resume
must pick up the same shuffled order, augmentation, dropout stream, lr and accumulation groups.

The lr schedule is warm-up only (`constant` after 6 warm-up steps: a different lr at every step)
because `train.max_steps` sets the span of a cosine schedule, and B's first pieces stop with it.
The stop after step 4 is a simulated pre-emption: the process dies right after the
`checkpoint.every_n_steps` checkpoint (an exception from a patched save; a real kill is timing-
dependent). All runs are in this process (the hook needs it); the tiny model on the CPU.
"""
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT
from chickenseg_model.train import trainer as trainer_module
from chickenseg_model.train.config import load_config
from chickenseg_model.train.synthetic import make_synthetic_dataset

CONFIG = ROOT / "configs" / "train_tiny.yaml"
ACCUMULATE = 2
TIMING_KEYS = ("images_per_s", "elapsed_s")


class Preempted(Exception):
    """Stands for the process being killed."""


def train(data, out, monkeypatch, *, stop_at=None, **extra):
    """One in-process `chickenseg train`; returns (summary, [(step, epoch, next batch)] of every
    mid-epoch checkpoint written). stop_at: raise Preempted right after the every_n_steps
    checkpoint of that step."""
    values = {"train_json": data / "train.json", "val_json": data / "val.json", "img_dir": "null",
              "output_dir": out, "resume": "auto", "train.max_epochs": 2, "train.batch_size": 2,
              "train.accumulate_grad_batches": ACCUMULATE, "data.negative_ratio": 0.5,
              "scheduler.name": "constant", "scheduler.warmup_steps": 6, "checkpoint.every_n_steps": 1,
              "checkpoint.save_top_k": 1, "checkpoint.save_hf": "false", "val.metrics": "false",
              "val.batch_size": 4, "logging.wandb": "disabled", "logging.tensorboard": "true"}
    values.update(extra)
    cfg = load_config(CONFIG, [f"{k}={v}" for k, v in values.items()])
    saves = []
    original = trainer_module.Trainer._save_mid_epoch

    def save_mid_epoch(self, next_batch):
        original(self, next_batch)
        saves.append((self.global_step, self.epoch, next_batch))
        if self.global_step == stop_at:
            raise Preempted(stop_at)

    with monkeypatch.context() as m:
        m.setattr(trainer_module.Trainer, "_save_mid_epoch", save_mid_epoch)
        if stop_at is None:
            return trainer_module.train(cfg, quiet=True), saves
        with pytest.raises(Preempted):
            trainer_module.train(cfg, quiet=True)
        return None, saves


def records(run_dir):
    lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING_KEYS} for line in lines]


def train_steps(run_dir):
    return [r["step"] for r in records(run_dir) if r["split"] == "train"]


def checkpoint(path):
    return torch.load(path, map_location="cpu", weights_only=False)


def assert_identical(a, b, where="state"):
    """Exact equality of nested checkpoint contents (tensors, arrays, floats: no tolerance)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_identical(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def assert_same_as(a_records, b_dir, steps):
    """B's train records of these steps are A's, every value exactly (loss terms, grad_norm, lr)."""
    a = {r["step"]: r for r in a_records if r["split"] == "train"}
    b = {r["step"]: r for r in records(b_dir) if r["split"] == "train"}
    for step in steps:
        assert b[step] == a[step], (step, {k: (a[step][k], b[step].get(k)) for k in a[step]
                                           if b[step].get(k) != a[step][k]})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume_data")
    make_synthetic_dataset(root, train=10, val=4, size=64, negative_share=0.5, seed=1)
    return root


@pytest.fixture(scope="module")
def run_a(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("resume") / "a"
    with pytest.MonkeyPatch.context() as mp:
        summary, saves = train(data, out, mp)
    return out, summary, saves


def test_uninterrupted_run_and_where_step_checkpoints_fall(run_a):
    out, summary, saves = run_a
    assert summary["global_step"] == 6 and summary["epochs"] == 2
    train = [r for r in records(out) if r["split"] == "train"]
    assert [r["step"] for r in train] == [1, 2, 3, 4, 5, 6]
    assert all(math.isfinite(r["loss"]) for r in train)
    assert len({r["lr"] for r in train}) == 6  # every step its own lr: a wrong schedule position shows
    # every_n_steps=1 writes after every optimizer step, never inside an accumulation group, and
    # not at an epoch's last step (the epoch-end checkpoint is written there).
    assert saves == [(1, 0, 2), (2, 0, 4), (4, 1, 2), (5, 1, 4)]
    assert all(next_batch % ACCUMULATE == 0 for _, _, next_batch in saves)


def test_mid_epoch_resume_is_bit_for_bit(run_a, data, tmp_path, monkeypatch):
    a_dir, a_summary, _ = run_a
    a = records(a_dir)
    b = tmp_path / "b"

    # 1. train.max_steps stops after step 2, in the middle of epoch 1 (4 of 5 batches done).
    summary, _ = train(data, b, monkeypatch, **{"train.max_steps": 2})
    assert summary["global_step"] == 2
    ck = checkpoint(b / "last.pt")
    assert (ck["epoch"], ck["batch_in_epoch"], ck["global_step"]) == (0, 4, 2)
    assert_same_as(a, b, [1, 2])

    # 2. The same config again: nothing left to do, not one step more.
    summary, _ = train(data, b, monkeypatch, **{"train.max_steps": 2})
    assert summary["global_step"] == 2 and train_steps(b) == [1, 2]

    # 3. max_steps 3: the short accumulation group of one batch, which ends epoch 1. A stop at an
    #    epoch's end is that epoch's end: validation, top-k, last.pt at (epoch 2, batch 0).
    summary, _ = train(data, b, monkeypatch, **{"train.max_steps": 3})
    assert summary["global_step"] == 3 and summary["epochs"] == 1
    ck = checkpoint(b / "last.pt")
    assert (ck["epoch"], ck["batch_in_epoch"], ck["global_step"]) == (1, 0, 3)
    assert [Path(e["path"]).name for e in ck["top_k"]] == [p.name for p in (b / "checkpoints").glob("*.pt")]
    assert_same_as(a, b, [3])

    # 4. No max_steps: killed right after the step-4 checkpoint (epoch 2, 2 batches done).
    _, saves = train(data, b, monkeypatch, stop_at=4)
    assert saves == [(4, 1, 2)]
    ck = checkpoint(b / "last.pt")
    assert (ck["epoch"], ck["batch_in_epoch"], ck["global_step"]) == (1, 2, 4)
    assert_same_as(a, b, [4])

    # 5. The requeued job (resume=auto) finishes the run.
    summary, saves = train(data, b, monkeypatch)
    assert saves == [(5, 1, 4)]
    assert summary["global_step"] == 6 and summary["epochs"] == 2
    assert_same_as(a, b, [5, 6])

    # Every logged value is A's, in A's order, each step once (a resume rewinds metrics.jsonl to
    # its checkpoint); B's only extra record is the validation at its max_steps stop.
    extra_val = {"split": "val", "step": 2, "epoch": 1}
    b_records = [r for r in records(b) if {k: r[k] for k in extra_val} != extra_val]
    assert len(b_records) == len(records(b)) - 1
    assert b_records == a
    for key in ("best_value", "best_epoch", "val", "epochs", "global_step"):
        assert summary[key] == a_summary[key], key
    assert [Path(p).name for p in summary["top_k"]] == [Path(p).name for p in a_summary["top_k"]]

    # The final checkpoints agree in everything that is state: weights, AdamW moments, the
    # schedule, RNG streams, position, top-k (by name: the folders differ), best value.
    ck_a, ck_b = checkpoint(a_dir / "last.pt"), checkpoint(b / "last.pt")
    for key in ("trainable", "optimizer", "scheduler", "scaler", "rng", "epoch", "batch_in_epoch", "global_step",
                "best_value", "best_epoch", "val", "world_size", "schema"):
        assert_identical(ck_a[key], ck_b[key], key)
    assert ([(Path(e["path"]).name, e["value"], e["epoch"], e["step"]) for e in ck_a["top_k"]] ==
            [(Path(e["path"]).name, e["value"], e["epoch"], e["step"]) for e in ck_b["top_k"]])


def test_validation_leaves_training_state_alone(data, tmp_path):
    """Validation (val_loss, prediction + `chickenseg eval`, overlays) between steps neither draws
    from the RNG streams nor leaves a module in the wrong mode: predict's model.train() used to
    put the frozen encoders in train mode, which a resumed run (fresh, encoders in eval) would not
    repeat."""
    cfg = load_config(CONFIG, [f"{k}={v}" for k, v in {
        "train_json": data / "train.json", "val_json": data / "val.json", "img_dir": "null",
        "output_dir": tmp_path / "v", "resume": "null", "model.backbone.freeze": "true", "val.metrics": "true",
        "val.num_overlays": 1, "logging.wandb": "disabled", "logging.tensorboard": "false"}.items()])
    t = trainer_module.Trainer(cfg, quiet=True)
    t._setup()
    try:
        model = t.loaded.model
        torch.rand(3)  # some position in the streams, not the seed's
        before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
        val = t._validate(0)
        after = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
        # The metrics are numbers (not only keys), the ones `chickenseg eval` wrote for this validation.
        written = json.loads((t.run_dir / "val" / "epoch_001" / "metrics.json").read_text())
        assert isinstance(val["IL_MCC"], float) and -1.0 <= val["IL_MCC"] <= 1.0, val
        assert val["IL_MCC"] == written["image_level"]["IL_MCC"]
        assert isinstance(val["val_loss"], float) and math.isfinite(val["val_loss"]) and val["val_loss"] > 0
        assert_identical(before, after, "rng")
        assert not model.vision_encoder.training and not model.text_encoder.training
        assert model.detr_decoder.training and model.mask_decoder.training
    finally:
        t.tracker.close()
