"""The training loop: one process, or one per GPU under torchrun (DDP).

Per optimizer step: `train.accumulate_grad_batches` batches (a short last group at an epoch's
end is averaged over its own size), forward under bf16/fp16 autocast, the losses (fp32),
backward (fp16 through a GradScaler), the global grad norm clipped to
`trainer.gradient_clip_val`, AdamW, then the lr schedule. Logged every
`trainer.log_every_n_steps`: every loss term (group means), grad_norm (before clipping) and
lr. After each `val.every_n_epochs` epochs (and the last) rank 0 validates: val_loss, then
prediction + `chickenseg eval` (cgF1, pmF1, IL_MCC) and overlay images; then checkpoints.

Out of memory (CUDA) stops the run with advice: lower train.batch_size (raise
train.accumulate_grad_batches to keep the effective batch), model.use_gradient_checkpointing
=true, loss.mask_loss_resolution=logits, trainer.precision=bf16; the stack trace follows.
"""
import math
import os
import random
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from chickenseg_model.errors import ModelError
from chickenseg_model.io import write_json_atomic
from chickenseg_model.loading import LoadedModel, load_model, pick_device
from chickenseg_model.train import checkpoint as ckpt_io
from chickenseg_model.train.config import Config, monitor_mode
from chickenseg_model.train.data import Augment, SacoTrainSet, check_images, collate, read_saco, worker_init
from chickenseg_model.train.dataset_version import dataset_version
from chickenseg_model.train.detector import (Detector, TextCache, count_parameters, enable_gradient_checkpointing,
                                             set_trainable)
from chickenseg_model.train.losses import LOSS_NAMES, LossParams, compute_losses
from chickenseg_model.train.optim import build_optimizer, build_scheduler
from chickenseg_model.train.sampler import epoch_batches
from chickenseg_model.train.tracking import Tracker
from chickenseg_model.train.validation import (check_chickenseg_binary, draw_overlays, forward_batch,
                                               predict_and_eval, validation_loss)

OOM_ADVICE = ("out of memory. Try, in this order: trainer.precision=bf16; model.use_gradient_checkpointing=true; "
              "a lower train.batch_size with a higher train.accumulate_grad_batches (same effective batch); "
              "loss.mask_loss_resolution=logits; model.backbone.freeze=true.")


class OutOfMemory(ModelError):
    """CUDA ran out of memory; the message carries the advice and the stack trace."""


def _is_oom(e: BaseException) -> bool:
    return isinstance(e, torch.cuda.OutOfMemoryError) or (isinstance(e, RuntimeError) and "out of memory" in str(e))


class DistInfo:
    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _group_sizes(num_batches: int, accumulate: int) -> list[int]:
    """Size of the accumulation group each batch belongs to."""
    return [min(accumulate, num_batches - (i // accumulate) * accumulate) for i in range(num_batches)]


def _resolve_resume(cfg: Config, run_dir: Path) -> Path | None:
    resume = cfg["resume"]
    if resume is None:
        return None
    if resume == "auto":
        last = run_dir / "last.pt"
        return last if last.exists() else None
    return Path(resume)


class Trainer:
    def __init__(self, cfg: Config, quiet: bool = False):
        self.cfg, self.quiet = cfg, quiet
        self.dist = DistInfo()
        self.run_dir = Path(cfg["output_dir"])

    def log(self, text: str) -> None:
        if not self.quiet and self.dist.main:
            print(text, file=sys.stderr, flush=True)

    # ---- set-up -------------------------------------------------------------------------
    def _setup(self) -> None:
        cfg, d = self.cfg, self.dist
        if d.enabled and not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() and cfg["model.device"] != "cpu" else "gloo"
            dist.init_process_group(backend=backend)
        if d.enabled and torch.cuda.is_available() and cfg["model.device"] != "cpu":
            torch.cuda.set_device(d.local_rank)
            self.device = torch.device("cuda", d.local_rank)
        else:
            self.device = pick_device(cfg["model.device"])
        _seed_everything(cfg["seed"])
        self.freeze = cfg["model.backbone.freeze"]
        self.precision = cfg["trainer.precision"]
        self.with_masks = cfg["loss.mask_losses"]
        self.loss_params = LossParams.from_config(cfg)
        self.mode = monitor_mode(cfg)

        self.train_records = read_saco(Path(cfg["train_json"]), cfg["img_dir"], cfg["use_text_prompts"],
                                       cfg["prompt_column"], cfg["prompt"])
        if not self.train_records:
            raise ModelError(f"{cfg['train_json']}: images: the training set is empty")
        self.val_records = read_saco(Path(cfg["val_json"]), cfg["img_dir"], cfg["use_text_prompts"],
                                     cfg["prompt_column"], cfg["prompt"]) if cfg["val_json"] else []
        self.val_img_dir = Path(cfg["img_dir"]) if cfg["img_dir"] else (
            Path(cfg["val_json"]).parent if cfg["val_json"] else None)
        if cfg["val_json"] and cfg["val.metrics"]:
            check_chickenseg_binary()  # fail now, not after the first epoch
        if cfg["data.check_images"]:  # a corrupt image fails now, not after an epoch
            check_images(self.train_records + self.val_records, d.rank, d.world)

        self.loaded = load_model(cfg["model.checkpoint"], str(self.device), "fp32")
        model = self.loaded.model
        set_trainable(model, self.freeze)
        if cfg["model.use_gradient_checkpointing"]:
            enable_gradient_checkpointing(model, self.freeze)
        self.detector = Detector(model, self.freeze).to(self.device).train()
        self.text_cache = TextCache(model, self.loaded.tokenizer, self.device)
        self.params = count_parameters(model)

        self.dataset = SacoTrainSet(self.train_records, self.loaded.image_size,
                                    Augment(cfg["data.augment.hflip_prob"], *cfg["data.augment.scale_jitter"]),
                                    self.with_masks)
        self.negative_flags = [r.is_negative for r in self.train_records]
        self.batches_per_epoch = len(self._batches(0))
        if self.batches_per_epoch == 0:
            raise ModelError(f"{cfg['train_json']}: {len(self.train_records)} images give no batch per process "
                             f"with {d.world} processes and train.batch_size={cfg['train.batch_size']}")
        accumulate = cfg["train.accumulate_grad_batches"]
        self.steps_per_epoch = math.ceil(self.batches_per_epoch / accumulate)
        total = cfg["train.max_epochs"] * self.steps_per_epoch
        self.total_steps = min(total, cfg["train.max_steps"]) if cfg["train.max_steps"] else total

        self.optimizer = build_optimizer(model, cfg)
        self.scheduler = build_scheduler(self.optimizer, cfg, self.total_steps)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.trainable = [p for p in model.parameters() if p.requires_grad]

        self.epoch, self.batch_in_epoch, self.global_step = 0, 0, 0
        self.topk = ckpt_io.TopK(cfg["checkpoint.save_top_k"], self.mode)
        self.best_value, self.best_epoch = None, None
        self.last_val: dict = {}
        resume = _resolve_resume(cfg, self.run_dir)
        resumed_rng = self._resume(resume) if resume is not None else None

        self.model_for_ddp = self.detector
        if d.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            # Unused by design: the last FPN level (dropped by Sam3Model), the semantic head, the
            # pixel decoder's spare stage; find_unused_parameters lets DDP skip them.
            self.model_for_ddp = DDP(self.detector, device_ids=[d.local_rank] if self.device.type == "cuda" else None,
                                     find_unused_parameters=True)

        if d.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.config_yaml = cfg.to_yaml()
            (self.run_dir / "config.yaml").write_text(self.config_yaml)
            self.version = dataset_version(Path(cfg["train_json"]), Path(cfg["val_json"]) if cfg["val_json"] else None)
            write_json_atomic(self.run_dir / "dataset_version.json", self.version, indent=2)
        self.tracker = Tracker(self.run_dir, cfg, self.global_step if resume else None, enabled=d.main)
        if resumed_rng is not None:
            # Last, so that nothing in the set-up above (DDP, TensorBoard, W&B) can draw from the
            # restored streams: the next dropout mask is the one the interrupted run would have drawn.
            ckpt_io.set_rng_state(resumed_rng)

    def _batches(self, epoch: int):
        cfg = self.cfg
        return epoch_batches(self.negative_flags, cfg["train.batch_size"], cfg["data.negative_ratio"], cfg["seed"],
                             epoch, self.dist.world, self.dist.rank)

    def _resume(self, path: Path) -> dict:
        """Restores everything but the RNG states, which it returns (_setup sets them last)."""
        ck = ckpt_io.load_checkpoint(path)
        if ck["model_checkpoint"] != self.cfg["model.checkpoint"]:
            raise ModelError(f"{path}: trained from model.checkpoint={ck['model_checkpoint']}, this config says "
                             f"{self.cfg['model.checkpoint']}")
        if ck["world_size"] != self.dist.world:
            raise ModelError(f"{path}: written by {ck['world_size']} processes, resumed with {self.dist.world}: "
                             "the data order would differ; resume with the same --num-gpus")
        ckpt_io.restore_trainable(self.loaded.model, ck["trainable"], path)
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        self.scaler.load_state_dict(ck["scaler"])
        self.epoch, self.batch_in_epoch, self.global_step = ck["epoch"], ck["batch_in_epoch"], ck["global_step"]
        self.topk = ckpt_io.TopK(self.cfg["checkpoint.save_top_k"], self.mode,
                                 [e for e in ck["top_k"] if Path(e["path"]).exists()])
        self.best_value, self.best_epoch = ck["best_value"], ck["best_epoch"]
        self.last_val = ck.get("val") or {}
        differing = sorted(k for k, v in ck["config"].items()
                           if k not in ("resume", "output_dir") and self.cfg.as_dict().get(k) != v)
        if differing:
            self.log(f"warning: resuming {path} with a changed config: {', '.join(differing)}")
        self.log(f"resumed {path}: step {self.global_step}, epoch {self.epoch + 1} from batch {self.batch_in_epoch}")
        return ck["rng"][self.dist.rank]

    # ---- checkpoints ----------------------------------------------------------------------
    def _state(self, epoch: int, batch_in_epoch: int) -> dict:
        rng = ckpt_io.rng_state()
        if self.dist.enabled:
            gathered = [None] * self.dist.world
            dist.all_gather_object(gathered, rng)
            rng = gathered
        else:
            rng = [rng]
        return {"schema": ckpt_io.CHECKPOINT_SCHEMA, "model_checkpoint": self.cfg["model.checkpoint"],
                "trainable": ckpt_io.trainable_state(self.loaded.model), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(), "rng": rng,
                "epoch": epoch, "batch_in_epoch": batch_in_epoch, "global_step": self.global_step,
                "world_size": self.dist.world, "top_k": self.topk.entries, "best_value": self.best_value,
                "best_epoch": self.best_epoch, "val": self.last_val, "config": self.cfg.as_dict(),
                "dataset_version": getattr(self, "version", None)}

    def _save_mid_epoch(self, next_batch: int) -> None:
        state = self._state(self.epoch, next_batch)  # every rank joins the RNG gather
        if self.dist.main:
            ckpt_io.save_atomic(state, self.run_dir / "last.pt")

    def _save_epoch_end(self, epoch: int, val: dict) -> None:
        cfg = self.cfg
        monitor = cfg["checkpoint.monitor"]
        value = val.get(monitor)
        improved = ckpt_io.is_better(value, self.best_value, self.mode)
        if improved:
            self.best_value, self.best_epoch = value, epoch + 1
        keep = self.topk.would_keep(value, self.global_step)
        path = self.run_dir / "checkpoints" / ckpt_io.checkpoint_name(epoch + 1, self.global_step, monitor, value)
        if keep:
            # The entry is in the table before the state is taken, so the file lists itself.
            self.topk.add({"path": str(path), "value": value, "epoch": epoch + 1, "step": self.global_step})
        state = self._state(epoch + 1, 0)
        if not self.dist.main:
            return
        ckpt_io.save_atomic(state, self.run_dir / "last.pt")
        if keep:
            ckpt_io.copy_atomic(self.run_dir / "last.pt", path)
        if improved:
            ckpt_io.copy_atomic(self.run_dir / "last.pt", self.run_dir / "best.pt")
        if cfg["checkpoint.save_hf"]:
            info = {"schema": "chickenseg.train-info/1", "epoch": epoch + 1, "global_step": self.global_step,
                    "val": val, "monitor": monitor, "base_model": cfg["model.checkpoint"],
                    "dataset_version": self.version}
            loaded = LoadedModel(self.loaded.model, self.loaded.tokenizer, self.loaded.image_size,
                                 str(self.run_dir / "last"), self.loaded.is_tiny)
            ckpt_io.save_hf_folder(loaded, self.run_dir / "last", info, self.config_yaml)
            if improved or not (self.run_dir / "best").exists():
                ckpt_io.save_hf_folder(loaded, self.run_dir / "best", info, self.config_yaml)

    # ---- the loop -------------------------------------------------------------------------
    def _validate(self, epoch: int) -> dict:
        # Validation leaves training exactly as it found it: the RNG streams untouched (so a run
        # that validated at a max_steps stop resumes like one that did not) and the train/eval
        # modes reset (predict's model.train() would put the frozen encoders in train mode).
        rng = ckpt_io.rng_state()
        try:
            return self._validate_inner(epoch)
        finally:
            ckpt_io.set_rng_state(rng)
            self.detector.train()

    def _validate_inner(self, epoch: int) -> dict:
        cfg = self.cfg
        val = validation_loss(self.detector, self.text_cache, self.val_records, self.loaded.image_size,
                              cfg["val.batch_size"], self.loss_params, self.device, self.precision,
                              self.with_masks, self.freeze)
        if cfg["val.metrics"]:
            out_dir = self.run_dir / "val" / f"epoch_{epoch + 1:03d}"
            metrics, pred = predict_and_eval(self.loaded.model, self.loaded.tokenizer, self.loaded.image_size,
                                             f"{self.run_dir} epoch {epoch + 1}", Path(cfg["val_json"]),
                                             self.val_img_dir, out_dir, cfg, self.device, self.precision)
            val.update(metrics)
            if cfg["val.num_overlays"]:
                images = draw_overlays(self.val_records, pred, pred.with_name("predictions.presence.json"),
                                       cfg["val.num_overlays"])
                self.tracker.log_images("val/overlays", images, self.global_step)
        return val

    def _max_steps_reached(self) -> bool:
        return bool(self.cfg["train.max_steps"]) and self.global_step >= self.cfg["train.max_steps"]

    def _train_epoch(self, epoch: int) -> bool:
        """Runs the epoch from batch self.batch_in_epoch; returns whether it finished (False when
        train.max_steps stopped it in the middle; self.batch_in_epoch is then the next batch)."""
        cfg = self.cfg
        batches = self._batches(epoch)
        groups = _group_sizes(len(batches), cfg["train.accumulate_grad_batches"])
        start = self.batch_in_epoch
        # Its own generator: a DataLoader otherwise draws its base seed from the global RNG, and a
        # loader made mid-epoch on resume would shift every later dropout mask.
        loader = torch.utils.data.DataLoader(self.dataset, batch_sampler=batches[start:], collate_fn=collate,
                                             num_workers=cfg["data.num_workers"], worker_init_fn=worker_init,
                                             generator=torch.Generator().manual_seed(cfg["seed"] + epoch))
        sums: dict = {}
        clip = cfg["trainer.gradient_clip_val"]
        t0 = time.time()
        for i, batch in enumerate(loader, start=start):
            outputs = forward_batch(self.model_for_ddp, self.text_cache, batch, self.device, self.precision,
                                    self.freeze)
            terms = compute_losses(outputs, batch, self.loss_params)
            loss = terms["loss"]
            if not torch.isfinite(loss):
                raise ModelError(f"epoch {epoch + 1} batch {i}: the loss is {float(loss)} "
                                 f"(images {batch['image_ids']}); lower optimizer.lr or use trainer.precision=fp32")
            self.scaler.scale(loss / groups[i]).backward()
            for k in ("loss", *LOSS_NAMES):
                sums[k] = sums.get(k, 0.0) + float(terms[k].detach()) / groups[i]
            last_of_group = (i + 1) % cfg["train.accumulate_grad_batches"] == 0 or i + 1 == len(batches)
            if not last_of_group:
                continue
            self.scaler.unscale_(self.optimizer)
            grad_norm = torch.nn.utils.clip_grad_norm_(self.trainable, clip if clip > 0 else float("inf"))
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)
            lr = self.optimizer.param_groups[0]["lr"]  # the heads' group
            self.scheduler.step()
            self.global_step += 1
            if self.global_step % cfg["trainer.log_every_n_steps"] == 0:
                self.tracker.log_scalars({**sums, "grad_norm": float(grad_norm), "lr": lr,
                                          "images_per_s": len(batch["image_ids"]) * groups[i] / (time.time() - t0)},
                                         self.global_step, epoch + 1, "train")
                self.log(f"epoch {epoch + 1} step {self.global_step}/{self.total_steps} loss {sums['loss']:.4f} "
                         f"presence {sums['loss_presence']:.4f} grad_norm {float(grad_norm):.3f} lr {lr:.2e}")
            sums, t0 = {}, time.time()
            every = cfg["checkpoint.every_n_steps"]
            if every and self.global_step % every == 0 and i + 1 < len(batches):
                self._save_mid_epoch(i + 1)
            if self._max_steps_reached() and i + 1 < len(batches):
                self.batch_in_epoch = i + 1
                return False
        self.batch_in_epoch = 0
        return True

    def fit(self) -> dict:
        self._setup()
        cfg = self.cfg
        self.log(f"training {self.params['trainable']:,} of {self.params['total']:,} parameters on {self.device}"
                 f"{f' x {self.dist.world} processes' if self.dist.enabled else ''}; {self.batches_per_epoch} "
                 f"batches per epoch per process, {self.total_steps} optimizer steps; run folder {self.run_dir}")
        started = time.time()
        try:
            # A checkpoint written at the max_steps stop resumes to nothing more (no extra step).
            while self.epoch < cfg["train.max_epochs"] and not self._max_steps_reached():
                epoch = self.epoch
                finished = self._train_epoch(epoch)
                last_epoch = epoch + 1 == cfg["train.max_epochs"] or self._max_steps_reached()
                val = {}
                if (self.val_records and self.dist.main and
                        ((epoch + 1) % cfg["val.every_n_epochs"] == 0 or last_epoch)):
                    val = self._validate(epoch)
                    self.last_val = val
                    self.tracker.log_scalars({**val, "elapsed_s": round(time.time() - started, 2)},
                                             self.global_step, epoch + 1, "val")
                    self.log(f"epoch {epoch + 1} validation: " +
                             ", ".join(f"{k} {v:.4f}" for k, v in val.items() if isinstance(v, float)))
                if self.dist.enabled:
                    dist.barrier()
                if finished:
                    self._save_epoch_end(epoch, val)
                    self.epoch += 1
                else:
                    self._save_mid_epoch(self.batch_in_epoch)
                    break
        except BaseException as e:
            if _is_oom(e):
                raise OutOfMemory(f"{self.device}: {OOM_ADVICE}\n{traceback.format_exc()}") from e
            raise
        finally:
            if hasattr(self, "tracker"):
                self.tracker.close()
        summary = {"run_dir": str(self.run_dir), "epochs": self.epoch, "global_step": self.global_step,
                   "parameters": self.params, "device": str(self.device), "world_size": self.dist.world,
                   "monitor": cfg["checkpoint.monitor"], "best_value": self.best_value, "best_epoch": self.best_epoch,
                   "val": self.last_val, "top_k": [e["path"] for e in self.topk.entries],
                   "wandb_mode": self.tracker.wandb_mode, "seconds": round(time.time() - started, 3)}
        if self.dist.main:
            write_json_atomic(self.run_dir / "summary.json", summary, indent=2)
        if self.dist.enabled:
            dist.destroy_process_group()
        return summary


def train(cfg: Config, quiet: bool = False) -> dict:
    return Trainer(cfg, quiet).fit()
