"""Training config: defaults + YAML + key=value overrides, every key checked; errors name the
file (or the command line), the key and what was expected. Through the tool, as users run it."""
import json

import pytest

from chickenseg_model.train.config import SCHEMA, ConfigError, load_config


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_file_and_overrides_resolve_in_order(tmp_path):
    path = write(tmp_path, "train_json: t.json\noptimizer:\n  lr: 1e-4\nscheduler: constant\n")
    cfg = load_config(path, ["optimizer.lr=3e-4", "train.batch_size=8", "data.negative_ratio=null"])
    assert cfg["optimizer.lr"] == 3e-4 and cfg.sources["optimizer.lr"] == "command line"
    assert cfg["scheduler.name"] == "constant" and cfg.sources["scheduler.name"] == str(path)
    assert cfg["train.batch_size"] == 8 and cfg["data.negative_ratio"] is None
    assert cfg["loss.focal_loss_weight"] == 5.0 and cfg.sources["loss.focal_loss_weight"] == "default"
    assert cfg["model.backbone.freeze"] is True and cfg["checkpoint.save_top_k"] == 0  # no val_json: nothing to rank
    # The saved YAML reads back to the same config.
    again = load_config(write(tmp_path, cfg.to_yaml(), "resolved.yaml"))
    assert again.as_dict() == cfg.as_dict()


def test_issue_keys_have_the_named_defaults():
    expected = {"optimizer.lr": 1e-5, "loss.focal_loss_weight": 5.0, "model.backbone.freeze": True,
                "checkpoint.monitor": "val_loss", "checkpoint.save_top_k": 3, "scheduler.name": "cosine_with_warmup"}
    for key, value in expected.items():
        assert SCHEMA[key].default == value, key
    for key in ("train_json", "val_json", "img_dir", "use_text_prompts", "prompt_column",
                "model.use_gradient_checkpointing", "trainer.precision", "loss.dice_loss_weight",
                "loss.iou_loss_weight", "train.batch_size", "train.accumulate_grad_batches", "train.max_epochs",
                "data.negative_ratio", "model.checkpoint", "loss.presence_loss_weight", "loss.bbox_loss_weight",
                "matcher.cost_giou", "loss.class_loss_weight", "seed", "output_dir"):
        assert key in SCHEMA, key


@pytest.mark.parametrize("text, overrides, needle", [
    ("train_json: t.json\noptimizer:\n  lrr: 1\n", [], "unknown key `optimizer.lrr` (did you mean `optimizer.lr`?)"),
    ("train_json: t.json\n", ["trainer.precision=fp8"], "`trainer.precision`: expected one of bf16, fp16, fp32"),
    ("train_json: t.json\n", ["optimizer.lr=abc"], "`optimizer.lr`: expected a finite number, got 'abc'"),
    ("train_json: t.json\n", ["optimizer.lr=0"], "`optimizer.lr`: expected a number in (0.0, inf]"),
    ("train_json: t.json\n", ["data.negative_ratio=1.0"], "`data.negative_ratio`: expected a number in [0.0, 1.0)"),
    ("train_json: t.json\n", ["train.batch_size=2.5"], "`train.batch_size`: expected an integer"),
    ("train_json: t.json\n", ["model.backbone.freeze=maybe"], "`model.backbone.freeze`: expected true or false"),
    ("train_json: t.json\n", ["data.augment.scale_jitter=[1.2,0.8]"], "expected 0 < min <= max"),
    ("train_json: t.json\n", ["nonsense"], "expected key=value"),
    ("optimizer:\n  lr: 1e-4\n", [], "`train_json`: required"),
    ("train_json: t.json\nval_json: v.json\ncheckpoint:\n  monitor: IL_MCC\nval:\n  metrics: false\n", [],
     "needs val.metrics=true"),
])
def test_bad_config_is_rejected_with_key_and_expectation(tmp_path, text, overrides, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(path, overrides)
    assert needle in str(e.value)
    where = "command line" if overrides and "train_json" not in needle and "val.metrics" not in needle else None
    if where:
        assert str(e.value).startswith("command line")


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = write(tmp_path, "train_json: t.json\noptimizer:\n  lr: [1\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:\d+: malformed YAML"):
        load_config(path)


def test_tool_rejects_bad_key_and_prints_resolved_config(cs, tmp_path):
    path = write(tmp_path, "train_json: t.json\n")
    r = cs("train", "-c", path, "loss.dice_los_weight=2")
    assert r.returncode == 1
    assert "unknown key `loss.dice_los_weight` (did you mean `loss.dice_loss_weight`?)" in r.stderr
    r = cs("--json", "train", "-c", path, "loss.dice_loss_weight=2", "--print-config", check=True)
    doc = json.loads(r.stdout)
    assert doc["config"]["loss"]["dice_loss_weight"] == 2.0 and doc["sources"]["loss.dice_loss_weight"] == "command line"
    r = cs("train", "-c", tmp_path / "missing.yaml")
    assert r.returncode == 1 and "missing.yaml: config file not found" in r.stderr
    r = cs("train", "-c", path, "--num-gpus", "x")
    assert r.returncode == 2


def test_shipped_configs_resolve():
    from conftest import ROOT

    default = load_config(ROOT / "configs" / "train_default.yaml")
    assert all(default.sources[k] != "default" for k in SCHEMA)  # the default config lists every key
    assert default["model.backbone.freeze"] and default["trainer.precision"] == "bf16"
    tiny = load_config(ROOT / "configs" / "train_tiny.yaml")
    assert tiny["model.checkpoint"] == "tiny" and tiny["model.device"] == "cpu"
