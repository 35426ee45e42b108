"""AdamW over the trainable parameters only, and the learning-rate schedule.

Groups: decayed weights, non-decayed biases and norm weights (1-D parameters), and, when the
backbone trains, the vision/text encoder parameters at lr x backbone_lr_multiplier (same
decay split). Frozen parameters are not in any group, so they hold no optimizer state.

cosine_with_warmup: lr rises linearly from 0 to the peak over the warm-up steps, then follows
a half cosine down to min_lr_ratio x peak at the last step; constant: the peak throughout
(after the same warm-up). A LambdaLR, so its state resumes exactly.
"""
import math

import torch

from chickenseg_model.train.detector import BACKBONE_PREFIXES


def build_optimizer(model: torch.nn.Module, cfg) -> torch.optim.Optimizer:
    lr, wd = cfg["optimizer.lr"], cfg["optimizer.weight_decay"]
    groups: dict[tuple[bool, bool], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        backbone = name.startswith(BACKBONE_PREFIXES)
        decay = param.ndim > 1
        groups.setdefault((backbone, decay), []).append(param)
    param_groups = []
    for (backbone, decay), params in sorted(groups.items()):
        param_groups.append({"params": params, "weight_decay": wd if decay else 0.0,
                             "lr": lr * (cfg["optimizer.backbone_lr_multiplier"] if backbone else 1.0),
                             "name": f"{'backbone' if backbone else 'heads'}_{'decay' if decay else 'no_decay'}"})
    return torch.optim.AdamW(param_groups, lr=lr, betas=tuple(cfg["optimizer.betas"]), eps=cfg["optimizer.eps"])


def lr_factor(step: int, total_steps: int, warmup_steps: int, name: str, min_ratio: float) -> float:
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if name == "constant":
        return 1.0
    span = max(total_steps - warmup_steps, 1)
    progress = min(max(step - warmup_steps, 0) / span, 1.0)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def warmup_steps_for(cfg, total_steps: int) -> int:
    if cfg["scheduler.warmup_steps"] is not None:
        return cfg["scheduler.warmup_steps"]
    return int(round(cfg["scheduler.warmup_ratio"] * total_steps))


def build_scheduler(optimizer, cfg, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = warmup_steps_for(cfg, total_steps)
    name, min_ratio = cfg["scheduler.name"], cfg["scheduler.min_lr_ratio"]
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total_steps, warmup, name, min_ratio))
