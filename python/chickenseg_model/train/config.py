"""The training config: a YAML file over built-in defaults, then `key=value` overrides
(dotted keys, values parsed as YAML scalars), every key checked against one schema.

A file may start with a Hydra-style defaults list, `defaults: [train_default, _self_]`: the
listed files (relative to the file's folder, `.yaml` optional) are composed in order, each with
its own defaults, the file itself where `_self_` stands (at the end when it is not listed, as
Hydra does for a primary config). The layers (built-in defaults, the composed files, the
command line) are merged with OmegaConf, which also resolves `${...}` interpolations
(`output_dir: runs/lr${optimizer.lr}`, `${oc.env:DATA}`) after the overrides are applied.

Every key the trainer reads is declared once in SCHEMA with its default, its check and a
one-line description (docs/train.md lists them). Each layer's keys are checked before the merge
and every resolved value after it, so an unknown key or a bad value is an error naming the file
that set it (or `command line`), the dotted key and what was expected. The resolved config
(defaults + files + overrides, interpolations resolved) is saved with every run, so a run can be
repeated from its folder alone.
"""
import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from chickenseg_model.errors import ModelError

CONFIG_SCHEMA = "chickenseg.train-config/1"


class ConfigError(ModelError):
    """A bad config file, key or value; the message names where and what was expected."""


# ---- value checks: each returns the normalised value or raises ValueError("expected ...")

def _bool(v):
    if isinstance(v, bool):
        return v
    raise ValueError("expected true or false")


def _int(lo=None, hi=None, optional=False):
    def check(v):
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError("expected an integer" + (" or null" if optional else ""))
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ValueError(f"expected an integer in [{lo if lo is not None else '-inf'}, "
                             f"{hi if hi is not None else 'inf'}]")
        return v
    return check


def _float(lo=None, hi=None, lo_open=False, hi_open=False, optional=False):
    def check(v):
        if v is None and optional:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError("expected a finite number" + (" or null" if optional else ""))
        v = float(v)
        bad = ((lo is not None and (v <= lo if lo_open else v < lo)) or
               (hi is not None and (v >= hi if hi_open else v > hi)))
        if bad:
            left = "(" if lo_open else "["
            right = ")" if hi_open else "]"
            raise ValueError(f"expected a number in {left}{lo if lo is not None else '-inf'}, "
                             f"{hi if hi is not None else 'inf'}{right}")
        return v
    return check


def _choice(*options):
    def check(v):
        if v not in options:
            raise ValueError("expected one of " + ", ".join(map(str, options)))
        return v
    return check


def _str(optional=False):
    def check(v):
        if v is None and optional:
            return None
        if not isinstance(v, str) or not v:
            raise ValueError("expected a non-empty string" + (" or null" if optional else ""))
        return v
    return check


def _range_pair(v):
    if (not isinstance(v, (list, tuple)) or len(v) != 2 or
            any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in v)):
        raise ValueError("expected a list of two numbers [min, max]")
    lo, hi = float(v[0]), float(v[1])
    if not (0 < lo <= hi):
        raise ValueError("expected 0 < min <= max")
    return [lo, hi]


def _betas(v):
    if (not isinstance(v, (list, tuple)) or len(v) != 2 or
            any(isinstance(x, bool) or not isinstance(x, (int, float)) or not 0 <= x < 1 for x in v)):
        raise ValueError("expected a list of two numbers in [0, 1)")
    return [float(v[0]), float(v[1])]


@dataclass(frozen=True)
class Key:
    default: Any
    check: Callable[[Any], Any]
    help: str


MONITORS = ("val_loss", "cgF1", "pmF1", "IL_MCC")

SCHEMA: dict[str, Key] = {
    # data
    "train_json": Key(None, _str(), "SA-Co training JSON (from `chickenseg data`)"),
    "val_json": Key(None, _str(optional=True), "SA-Co validation JSON; null = no validation"),
    "img_dir": Key(None, _str(optional=True),
                   "folder the file_names are relative to; null = each JSON's own folder"),
    "use_text_prompts": Key(True, _bool, "true: each image's prompt comes from `prompt_column`; "
                                          "false: every image uses `prompt`"),
    "prompt_column": Key("text_input", _str(), "image field holding the noun phrase"),
    "prompt": Key("chicken", _str(), "the prompt when use_text_prompts is false"),
    "data.negative_ratio": Key(0.5, _float(0.0, 1.0, hi_open=True, optional=True),
                               "share of negative images in every training batch; null = "
                               "the dataset's natural mix, shuffled"),
    "data.num_workers": Key(0, _int(0), "DataLoader worker processes (0 = in the main process)"),
    "data.check_images": Key(True, _bool, "decode every train and val image before the first step, so a "
                                          "corrupt or missing image fails now, not after an epoch"),
    "data.augment.hflip_prob": Key(0.5, _float(0.0, 1.0), "probability of a horizontal flip"),
    "data.augment.scale_jitter": Key([0.8, 1.2], _range_pair,
                                     "[min, max] scale of the square-resized image before it is "
                                     "cropped or padded back to the model size; [1, 1] = off"),
    "seed": Key(0, _int(0), "seed of data order, augmentation and initialisation"),
    "output_dir": Key("runs/train", _str(), "the run folder (checkpoints, logs, resolved config)"),
    "resume": Key(None, _str(optional=True), "checkpoint (.pt) to resume from, or `auto` = "
                                              "output_dir/last.pt when it exists"),
    # model
    "model.checkpoint": Key("tiny", _str(), "SAM 3 HF folder, tiny[:SEED] or full-random[:SEED]"),
    "model.device": Key("auto", _str(), "auto, cpu, cuda or cuda:N (DDP picks cuda:LOCAL_RANK)"),
    "model.use_gradient_checkpointing": Key(False, _bool,
                                            "recompute activations of the trained modules in "
                                            "backward (DETR encoder/decoder layers, pixel decoder; "
                                            "ViT/text layers too when the backbone trains)"),
    "model.backbone.freeze": Key(True, _bool, "freeze the vision and text encoders (no gradient, "
                                               "no optimizer state, text embedded once)"),
    # trainer
    "trainer.precision": Key("bf16", _choice("bf16", "fp16", "fp32"), "autocast precision"),
    "trainer.gradient_clip_val": Key(0.1, _float(0.0), "clip the global grad norm to this; 0 = off"),
    "trainer.log_every_n_steps": Key(1, _int(1), "log train scalars every N optimizer steps"),
    # optimizer / scheduler
    "optimizer.name": Key("adamw", _choice("adamw"), "optimizer"),
    "optimizer.lr": Key(1e-5, _float(0.0, lo_open=True), "peak learning rate"),
    "optimizer.weight_decay": Key(0.1, _float(0.0), "AdamW weight decay (not on biases and norms)"),
    "optimizer.betas": Key([0.9, 0.999], _betas, "AdamW betas"),
    "optimizer.eps": Key(1e-8, _float(0.0, lo_open=True), "AdamW epsilon"),
    "optimizer.backbone_lr_multiplier": Key(0.1, _float(0.0),
                                            "lr multiplier of the vision/text encoders when "
                                            "they train (model.backbone.freeze=false)"),
    "scheduler.name": Key("cosine_with_warmup", _choice("cosine_with_warmup", "constant"),
                          "lr schedule (`scheduler: NAME` is accepted as a shorthand)"),
    "scheduler.warmup_steps": Key(None, _int(0, optional=True),
                                  "linear warm-up steps; null = warmup_ratio x total steps"),
    "scheduler.warmup_ratio": Key(0.05, _float(0.0, 1.0), "warm-up share of the total steps"),
    "scheduler.min_lr_ratio": Key(0.0, _float(0.0, 1.0), "final lr as a share of the peak lr"),
    # loss
    "loss.presence_loss": Key("focal", _choice("focal", "bce"), "image-level presence loss"),
    "loss.presence_loss_weight": Key(20.0, _float(0.0), "weight of loss_presence"),
    "loss.presence_focal_alpha": Key(0.5, _float(0.0, 1.0), "presence focal alpha (positive weight)"),
    "loss.presence_focal_gamma": Key(2.0, _float(0.0), "presence focal gamma"),
    "loss.class_loss_weight": Key(2.0, _float(0.0), "weight of loss_class (per-query sigmoid focal, "
                                                     "only on images where the concept is present)"),
    "loss.class_focal_alpha": Key(0.25, _float(0.0, 1.0), "per-query focal alpha"),
    "loss.class_focal_gamma": Key(2.0, _float(0.0), "per-query focal gamma"),
    "loss.bbox_loss_weight": Key(5.0, _float(0.0), "weight of loss_bbox (L1 on cx,cy,w,h)"),
    "loss.iou_loss_weight": Key(2.0, _float(0.0), "weight of loss_iou (GIoU box loss)"),
    "loss.mask_losses": Key(True, _bool, "compute the mask losses (focal + dice)"),
    "loss.focal_loss_weight": Key(5.0, _float(0.0), "weight of loss_focal (mask sigmoid focal)"),
    "loss.mask_focal_alpha": Key(0.25, _float(0.0, 1.0), "mask focal alpha"),
    "loss.mask_focal_gamma": Key(2.0, _float(0.0), "mask focal gamma"),
    "loss.dice_loss_weight": Key(1.0, _float(0.0), "weight of loss_dice"),
    "loss.mask_loss_resolution": Key("gt", _choice("gt", "logits"),
                                     "gt: matched mask logits upsampled to the GT masks (model "
                                     "input size); logits: GT masks area-downsampled to the logits"),
    "matcher.cost_class": Key(2.0, _float(0.0), "Hungarian cost weight: focal class cost"),
    "matcher.cost_bbox": Key(5.0, _float(0.0), "Hungarian cost weight: L1 box distance"),
    "matcher.cost_giou": Key(2.0, _float(0.0), "Hungarian cost weight: -GIoU"),
    # loop
    "train.batch_size": Key(2, _int(1), "images per batch per process"),
    "train.accumulate_grad_batches": Key(1, _int(1), "batches per optimizer step"),
    "train.max_epochs": Key(20, _int(1), "epochs"),
    "train.max_steps": Key(None, _int(1, optional=True),
                             "stop after this many optimizer steps (last.pt is written there)"),
    "val.batch_size": Key(4, _int(1), "validation batch size (val_loss and prediction)"),
    "val.every_n_epochs": Key(1, _int(1), "validate every N epochs (and after the last)"),
    "val.metrics": Key(True, _bool, "run prediction + `chickenseg eval` for cgF1/pmF1/IL_MCC"),
    "val.min_score": Key(0.05, _float(0.0, 1.0), "lowest query score written by prediction"),
    "val.num_overlays": Key(4, _int(0), "validation images drawn with their predicted masks"),
    # checkpoints
    "checkpoint.monitor": Key("val_loss", _choice(*MONITORS), "value that ranks checkpoints"),
    "checkpoint.mode": Key("auto", _choice("auto", "min", "max"),
                           "auto = min for val_loss, max for the metrics"),
    "checkpoint.save_top_k": Key(3, _int(0), "keep the k best epoch checkpoints (0 = none)"),
    "checkpoint.every_n_steps": Key(None, _int(1, optional=True),
                                    "also write last.pt every N optimizer steps (mid-epoch resume, bit for bit)"),
    "checkpoint.save_hf": Key(True, _bool, "write best/ and last/ as Hugging Face folders "
                                            "(`chickenseg model predict --model RUN/best`)"),
    # tracking
    "logging.tensorboard": Key(True, _bool, "write TensorBoard events to RUN/tensorboard"),
    "logging.wandb": Key("auto", _choice("auto", "online", "offline", "disabled"),
                         "Weights & Biases: auto = online when logged in, else offline"),
    "logging.wandb_project": Key("chickenseg", _str(), "W&B project"),
    # SLURM (launch.py --use-cluster 1)
    "slurm.partition": Key(None, _str(optional=True), "SLURM partition"),
    "slurm.account": Key(None, _str(optional=True), "SLURM account"),
    "slurm.qos": Key(None, _str(optional=True), "SLURM QOS"),
    "slurm.timeout_min": Key(24 * 60, _int(1), "job time limit in minutes"),
    "slurm.cpus_per_task": Key(8, _int(1), "CPUs per GPU process"),
    "slurm.mem_gb": Key(None, _int(1, optional=True), "memory per node in GB; null = the default"),
}

# Sections that accept a bare string as a shorthand for their `name` (`scheduler: constant`).
_NAMED_SECTIONS = ("scheduler", "optimizer")


class Config:
    """The resolved config: a flat {dotted key: value} over SCHEMA; cfg["loss.dice_loss_weight"]."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str]):
        self._values = values
        self.sources = sources  # dotted key -> where its value came from (default / file / command line)

    def __getitem__(self, key: str):
        return self._values[key]

    def as_dict(self) -> dict:
        return dict(self._values)

    def nested(self) -> dict:
        out: dict = {}
        for key in SCHEMA:
            node = out
            parts = key.split(".")
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = self._values[key]
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump({"schema": CONFIG_SCHEMA, **self.nested()}, sort_keys=False)


def _flatten(node, prefix: str, where: str, out: dict) -> None:
    for k, v in node.items():
        if not isinstance(k, str):
            raise ConfigError(f"{where}: key {k!r}{' under ' + prefix if prefix else ''}: expected a string key")
        key = f"{prefix}.{k}" if prefix else k
        if key in _NAMED_SECTIONS and isinstance(v, str):
            v = {"name": v}
        if isinstance(v, dict) and key not in SCHEMA:
            _flatten(v, key, where, out)
        else:
            out[key] = v


def _unknown(key: str, where: str) -> ConfigError:
    close = difflib.get_close_matches(key, SCHEMA.keys(), n=1)
    hint = f" (did you mean `{close[0]}`?)" if close else ""
    return ConfigError(f"{where}: unknown key `{key}`{hint}; docs/train.md lists the keys")


def parse_override(text: str) -> tuple[str, Any]:
    """`a.b=value`; value parsed as a YAML scalar/list (`1e-5`, `true`, `null`, `[0.5, 1]`)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"command line: {text!r}: expected key=value (e.g. optimizer.lr=1e-4)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as e:
        raise ConfigError(f"command line: {key}: cannot parse value {raw!r}: {e}") from None
    return key, _fix_yaml_floats(value)


def _read_yaml(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file: {e.strerror}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: malformed YAML: {getattr(e, 'problem', e)}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a YAML mapping of config keys at the top level")
    doc.pop("schema", None)  # a saved resolved config carries it
    return doc


def _fix_yaml_floats(value):
    # PyYAML (YAML 1.1) reads `1e-5` as a string; the value users write for a learning rate.
    if isinstance(value, str):
        try:
            return float(value) if any(c in value.lower() for c in "e.") and value.strip() else value
        except ValueError:
            return value
    return value


# ---- composition: a layer is (where, {dotted key: value}); later layers win

_SELF = "_self_"


def _deferred(value) -> bool:
    """An interpolation or OmegaConf's `???` (must be set): checked once resolved."""
    if isinstance(value, list):
        return any(_deferred(v) for v in value)
    return isinstance(value, str) and ("${" in value or value.strip() == "???")


def _check_layer(flat: dict, where: str) -> dict:
    """Refuse unknown keys and bad values of one layer, naming it (the value is checked again
    once merged and resolved; interpolations only then)."""
    out = {}
    for key, value in flat.items():
        if key not in SCHEMA:
            raise _unknown(key, where)
        value = _fix_yaml_floats(value)
        if not _deferred(value):
            try:
                SCHEMA[key].check(value)
            except ValueError as e:
                raise ConfigError(f"{where}: `{key}`: {e}, got {value!r}") from None
        out[key] = value
    return out


def _base_path(path: Path, name: str) -> Path:
    base = Path(name).expanduser()
    if not base.is_absolute():
        base = path.parent / base
    if base.suffix not in (".yaml", ".yml"):
        base = Path(f"{base}.yaml")
    return base


def _compose(path: Path, chain: tuple[tuple[Path, str], ...] = ()) -> list[tuple[str, dict]]:
    """The layers of one file: its defaults list (Hydra's list semantics) around its own keys."""
    where = str(path)
    doc = _read_yaml(path)
    has_defaults = "defaults" in doc
    defaults = doc.pop("defaults", None)
    flat: dict = {}
    _flatten(doc, "", where, flat)
    own = (where, _check_layer(flat, where))
    if not has_defaults:
        return [own]
    if not isinstance(defaults, list):
        raise ConfigError(f"{where}: `defaults`: expected a list of config names "
                          f"(e.g. defaults: [train_default]), got {defaults!r}")
    if defaults.count(_SELF) > 1:
        raise ConfigError(f"{where}: `defaults`: {_SELF} is listed more than once")
    if _SELF not in defaults:
        defaults = [*defaults, _SELF]  # Hydra: the config itself overrides its defaults
    chain = (*chain, (path.resolve(), where))
    layers: list[tuple[str, dict]] = []
    for entry in defaults:
        if entry == _SELF:
            layers.append(own)
            continue
        if not isinstance(entry, str) or not entry.strip():
            raise ConfigError(f"{where}: `defaults`: expected a config file name (beside this file, "
                              f".yaml optional) or {_SELF}, got {entry!r}")
        base = _base_path(path, entry.strip())
        if any(base.resolve() == seen for seen, _ in chain):
            cycle = " -> ".join([w for _, w in chain] + [str(base)])
            raise ConfigError(f"{where}: `defaults`: cycle: {cycle}")
        if not base.is_file():
            raise ConfigError(f"{where}: `defaults`: {entry!r}: config file not found ({base})")
        layers += _compose(base, chain)
    return layers


def _nest(flat: dict) -> dict:
    out: dict = {}
    for key, value in flat.items():
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _resolve(layers: list[tuple[str, dict]], sources: dict) -> dict:
    """Merge the layers with OmegaConf and resolve the interpolations: {dotted key: value}."""
    trees = []
    for where, flat in layers:
        try:
            trees.append(OmegaConf.create(_nest(flat)))
        except OmegaConfBaseException as e:  # a malformed ${...}
            key = getattr(e, "full_key", None) or "?"
            raise ConfigError(f"{where}: `{key}`: bad interpolation "
                              f"{flat.get(key, '')!r}: {_first_line(e)}") from None
    merged = OmegaConf.merge(*trees)
    raw = {key: value for _, flat in layers for key, value in flat.items()}
    try:
        tree = OmegaConf.to_container(merged, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None) or "?"
        where = sources.get(key, "config")
        if isinstance(e, MissingMandatoryValue):
            raise ConfigError(f"{where}: `{key}`: no value (???): set it in a config file or as "
                              f"{key}=VALUE") from None
        raise ConfigError(f"{where}: `{key}`: bad interpolation {raw.get(key, '')!r}: "
                          f"{_first_line(e)}") from None
    out = {}
    for key in SCHEMA:
        node = tree
        for p in key.split("."):
            node = node[p]
        out[key] = node
    return out


def load_config(path: Path | None, overrides: list[str] = ()) -> Config:
    sources = {k: "default" for k in SCHEMA}
    layers: list[tuple[str, dict]] = [("default", {k: spec.default for k, spec in SCHEMA.items()})]
    if path is not None:
        layers += _compose(Path(path))
    cli: dict = {}
    for text in overrides:
        key, value = parse_override(text)
        if key in _NAMED_SECTIONS and isinstance(value, str):
            key = f"{key}.name"
        cli[key] = value
    layers.append(("command line", _check_layer(cli, "command line")))
    last: dict = {}
    for where, flat in layers:
        for key, value in flat.items():
            sources[key], last[key] = where, value
    for key, value in last.items():
        # `???` (OmegaConf's mandatory value) left unset by every later layer; OmegaConf's merge
        # would keep the value below it instead.
        if isinstance(value, str) and value.strip() == "???":
            raise ConfigError(f"{sources[key]}: `{key}`: no value (???): set it in a config file or "
                              f"as {key}=VALUE")

    values = {}
    for key, value in _resolve(layers, sources).items():
        if sources[key] == "default":  # the built-in defaults are not checked (train_json: required below)
            values[key] = value
            continue
        value = _fix_yaml_floats(value)
        try:
            values[key] = SCHEMA[key].check(value)
        except ValueError as e:
            raise ConfigError(f"{sources[key]}: `{key}`: {e}, got {value!r}") from None
    if values["train_json"] is None:
        raise ConfigError("config: `train_json`: required (the SA-Co training JSON); set it in the "
                          "file or as train_json=PATH")
    if values["checkpoint.monitor"] != "val_loss" and not values["val.metrics"]:
        raise ConfigError(f"config: `checkpoint.monitor`: {values['checkpoint.monitor']} needs "
                          "val.metrics=true (metrics come from `chickenseg eval`)")
    if values["val_json"] is None and values["checkpoint.save_top_k"] > 0:
        # Without validation there is nothing to rank: keep last.pt only.
        values["checkpoint.save_top_k"] = 0
        sources["checkpoint.save_top_k"] = "no val_json: nothing to rank"
    return Config(values, sources)


def monitor_mode(cfg: Config) -> str:
    mode = cfg["checkpoint.mode"]
    if mode != "auto":
        return mode
    return "min" if cfg["checkpoint.monitor"] == "val_loss" else "max"
