"""Where training scalars and images go: a JSONL file always (RUN/metrics.jsonl, one object
per line: {"step", "epoch", "split", name: value, ...}), TensorBoard (RUN/tensorboard) and
Weights & Biases (RUN/wandb).

W&B mode `auto` is online when the user is logged in (WANDB_API_KEY set, or an
api.wandb.ai entry in ~/.netrc, which `wandb login` writes) and offline otherwise (sync later
with `wandb sync RUN/wandb/offline-run-*`). The W&B run id is kept in RUN/wandb_id.txt, so a
resumed run continues the same W&B run. A missing package (tensorboard or wandb not
installed) is reported once on stderr and that sink is skipped; the JSONL file is always there.
(The module is not called logging.py so that it can never shadow the standard library's.)
"""
import json
import netrc
import os
import sys
import uuid
from pathlib import Path

import numpy as np


def wandb_logged_in() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def resolve_wandb_mode(mode: str) -> str:
    if mode == "auto":
        return "online" if wandb_logged_in() else "offline"
    return mode


class Tracker:
    def __init__(self, run_dir: Path, cfg, resume_step: int | None, enabled: bool = True):
        self.run_dir, self.enabled = Path(run_dir), enabled
        self.jsonl_path = self.run_dir / "metrics.jsonl"
        self.tb = self.wandb = None
        self.wandb_mode = "disabled"
        if not enabled:  # DDP ranks other than 0
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._trim_jsonl(resume_step)
        if cfg["logging.tensorboard"]:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=resume_step)
            except ImportError as e:
                print(f"warning: TensorBoard logging off ({e}); pip install tensorboard", file=sys.stderr)
        mode = resolve_wandb_mode(cfg["logging.wandb"])
        if mode != "disabled":
            try:
                import wandb
            except ImportError as e:
                print(f"warning: Weights & Biases logging off ({e}); pip install wandb", file=sys.stderr)
            else:
                id_file = self.run_dir / "wandb_id.txt"
                run_id = id_file.read_text().strip() if id_file.exists() else uuid.uuid4().hex[:8]
                id_file.write_text(run_id + "\n")
                self.wandb = wandb.init(project=cfg["logging.wandb_project"], dir=str(self.run_dir), mode=mode,
                                        id=run_id, resume="allow", config=cfg.nested(),
                                        name=self.run_dir.name, settings=wandb.Settings(silent=True))
                self.wandb_mode = mode

    def _trim_jsonl(self, resume_step: int | None) -> None:
        # A resumed run rewrites the steps after its checkpoint: drop the old ones.
        if not self.jsonl_path.exists():
            return
        if resume_step is None:
            self.jsonl_path.unlink()
            return
        kept = [line for line in self.jsonl_path.read_text().splitlines()
                if line.strip() and json.loads(line).get("step", 0) <= resume_step]
        self.jsonl_path.write_text("".join(line + "\n" for line in kept))

    def log_scalars(self, values: dict, step: int, epoch: int, split: str) -> None:
        if not self.enabled:
            return
        record = {"step": step, "epoch": epoch, "split": split, **values}
        with open(self.jsonl_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for name, value in values.items():
                if isinstance(value, (int, float)) and value is not None:
                    self.tb.add_scalar(f"{split}/{name}", value, step)
        if self.wandb is not None:
            self.wandb.log({f"{split}/{k}": v for k, v in values.items() if v is not None}, step=step)

    def log_images(self, tag: str, images: list[tuple[str, np.ndarray]], step: int) -> None:
        """images: (caption, HxWx3 uint8)."""
        if not self.enabled or not images:
            return
        if self.tb is not None:
            for caption, arr in images:
                self.tb.add_image(f"{tag}/{caption}", arr, step, dataformats="HWC")
        if self.wandb is not None:
            import wandb

            self.wandb.log({tag: [wandb.Image(arr, caption=caption) for caption, arr in images]}, step=step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
        if self.wandb is not None:
            self.wandb.finish()
