"""Training checkpoints: what is saved, where, and how a run resumes from one.

A checkpoint (`*.pt`, torch.save, written to a temporary file and renamed) holds the trained
parameters only (requires_grad; the frozen backbone is re-read from `model.checkpoint`, so a
full-size checkpoint is ~130 MB, not 3.4 GB), the optimizer, scheduler and fp16 grad-scaler
states, every rank's RNG states (torch CPU + CUDA, numpy, python), the position (next epoch,
next batch in that epoch, optimizer steps done), the top-k table and the best value, the
resolved config and the dataset version. Data order and augmentation are pure functions of
(seed, epoch, position), so resuming continues with the same batches: bit for bit on the same
machine and software, from an epoch end or from the middle of an epoch. Mid-epoch checkpoints
(checkpoint.every_n_steps, the train.max_steps stop) are written after optimizer steps only,
so never inside a gradient-accumulation group; the trainer sets the RNG states last in its
set-up (tests/python/test_train_resume.py; docs/train.md, "Checkpoints and resume").

Files in the run folder:
- checkpoints/epoch=E-step=S-<monitor>=V.pt: the top-k by the monitored value;
- last.pt (every epoch end, and every checkpoint.every_n_steps), best.pt (the best so far);
- last/ and best/: Hugging Face folders (config.json + model.safetensors + tokenizer) that
  `load_model` and `chickenseg model predict --model RUN/best` read, each with
  training.json (epoch, step, metrics, dataset version) and config.yaml beside the weights.
"""
import os
import random
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from chickenseg_model.errors import ModelError
from chickenseg_model.io import write_json_atomic

CHECKPOINT_SCHEMA = "chickenseg.train-checkpoint/1"


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state(model: torch.nn.Module) -> dict:
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}


def save_atomic(obj, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".tmp.")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def copy_atomic(src: Path, dst: Path) -> None:
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=Path(dst).parent, prefix=Path(dst).name + ".tmp.")
    os.close(fd)
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint not found (resume=PATH expects a .pt written by chickenseg train)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise ModelError(f"{path}: cannot read checkpoint: {e}") from e
    if not isinstance(ckpt, dict) or ckpt.get("schema") != CHECKPOINT_SCHEMA:
        raise ModelError(f"{path}: not a chickenseg training checkpoint (expected schema {CHECKPOINT_SCHEMA})")
    return ckpt


def restore_trainable(model: torch.nn.Module, state: dict, path: Path) -> None:
    params = dict(model.named_parameters())
    trainable = {n for n, p in params.items() if p.requires_grad}
    if set(state) != trainable:
        missing, extra = sorted(trainable - set(state)), sorted(set(state) - trainable)
        raise ModelError(f"{path}: trained parameters differ from this config's (model.backbone.freeze or the "
                         f"model changed): missing {missing[:3]}, unexpected {extra[:3]}")
    with torch.no_grad():
        for name, value in state.items():
            if params[name].shape != value.shape:
                raise ModelError(f"{path}: {name}: shape {tuple(value.shape)}, the model has "
                                 f"{tuple(params[name].shape)} (another model.checkpoint?)")
            params[name].copy_(value)


class TopK:
    """The k best epoch checkpoints by the monitored value; files beyond k are deleted."""

    def __init__(self, k: int, mode: str, entries: list | None = None):
        self.k, self.mode = k, mode
        self.entries = list(entries or [])  # dicts: path, value, epoch, step

    def _key(self, entry):
        # Ties: the earlier checkpoint ranks first (stable, deterministic).
        return (entry["value"] if self.mode == "min" else -entry["value"], entry["step"])

    def would_keep(self, value: float | None, step: int) -> bool:
        if self.k == 0 or value is None:
            return False
        if len(self.entries) < self.k:
            return True
        return self._key({"value": value, "step": step}) < self._key(max(self.entries, key=self._key))

    def add(self, entry: dict) -> list[str]:
        """Adds entry; returns the paths that fell out (already deleted)."""
        self.entries.append(entry)
        self.entries.sort(key=self._key)
        dropped = self.entries[self.k:]
        self.entries = self.entries[:self.k]
        for d in dropped:
            Path(d["path"]).unlink(missing_ok=True)
        return [d["path"] for d in dropped]


def is_better(value, best, mode) -> bool:
    if value is None:
        return False
    if best is None:
        return True
    return value < best if mode == "min" else value > best


def save_hf_folder(loaded_like, folder: Path, info: dict, config_yaml: str) -> None:
    """Writes a load_model-readable folder next to a temporary name, then swaps it in."""
    from chickenseg_model.loading import save_model

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    old = folder.with_name(folder.name + ".old")
    for p in (tmp, old):
        if p.exists():
            shutil.rmtree(p)
    save_model(loaded_like, tmp)
    write_json_atomic(tmp / "training.json", info, indent=2)
    (tmp / "config.yaml").write_text(config_yaml)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    if old.exists():
        shutil.rmtree(old)


def checkpoint_name(epoch: int, step: int, monitor: str, value) -> str:
    shown = "none" if value is None else f"{value:.4f}"
    return f"epoch={epoch:03d}-step={step:06d}-{monitor}={shown}.pt"
