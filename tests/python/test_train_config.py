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
    # The demo's config composes train_tiny and changes only what learning in a few CPU minutes needs.
    demo = load_config(ROOT / "configs" / "train_demo.yaml")
    assert demo["model.checkpoint"] == "tiny" and demo["model.device"] == "cpu" and not demo["model.backbone.freeze"]
    assert demo.sources["model.device"].endswith("train_tiny.yaml")
    assert demo["checkpoint.monitor"] == "IL_MCC" and demo["resume"] is None


# ---- composition (Hydra-style defaults lists, merged with OmegaConf) and interpolation

def test_defaults_list_composes_bases_in_order_and_the_file_wins(tmp_path):
    write(tmp_path, "train_json: base.json\noptimizer:\n  lr: 1e-4\n  eps: 1e-6\nscheduler: constant\n"
                    "data:\n  augment:\n    scale_jitter: [0.5, 2]\n", "base.yaml")
    write(tmp_path, "defaults: [base]\noptimizer:\n  lr: 2e-4\ntrain:\n  batch_size: 4\n", "mid.yaml")
    (tmp_path / "sub").mkdir()
    child = write(tmp_path, "defaults:\n  - ../mid.yaml\noptimizer:\n  weight_decay: 0.01\n"
                            "data:\n  augment:\n    scale_jitter: [1, 1]\nscheduler:\n  warmup_ratio: 0.1\n",
                  "sub/child.yaml")
    cfg = load_config(child, ["train.batch_size=6"])
    base, mid = str(tmp_path / "sub" / "../mid.yaml"), tmp_path / "sub" / "../mid.yaml"
    assert cfg["train_json"] == "base.json" and cfg.sources["train_json"] == str(mid.parent / "base.yaml")
    assert cfg["optimizer.eps"] == 1e-6  # two levels down
    assert cfg["optimizer.lr"] == 2e-4 and cfg.sources["optimizer.lr"] == base
    assert cfg["optimizer.weight_decay"] == 0.01 and cfg.sources["optimizer.weight_decay"] == str(child)
    assert cfg["data.augment.scale_jitter"] == [1.0, 1.0]  # a list is replaced, not merged
    # `scheduler: NAME` in a base and a section in the child merge.
    assert cfg["scheduler.name"] == "constant" and cfg["scheduler.warmup_ratio"] == 0.1
    assert cfg["train.batch_size"] == 6 and cfg.sources["train.batch_size"] == "command line"
    assert cfg["loss.dice_loss_weight"] == 1.0 and cfg.sources["loss.dice_loss_weight"] == "default"
    # The resolved config has no defaults list and reads back to the same values.
    assert "defaults" not in cfg.to_yaml()
    assert load_config(write(tmp_path, cfg.to_yaml(), "resolved.yaml")).as_dict() == cfg.as_dict()


def test_self_position_decides_who_wins(tmp_path):
    write(tmp_path, "train_json: t.json\ntrain:\n  batch_size: 3\n  max_epochs: 7\n", "base.yaml")
    first = load_config(write(tmp_path, "defaults: [_self_, base]\ntrain:\n  batch_size: 5\n", "a.yaml"))
    assert first["train.batch_size"] == 3 and first["train.max_epochs"] == 7
    last = load_config(write(tmp_path, "defaults: [base, _self_]\ntrain:\n  batch_size: 5\n", "b.yaml"))
    assert last["train.batch_size"] == 5 and last.sources["train.batch_size"] == str(tmp_path / "b.yaml")
    write(tmp_path, "train:\n  batch_size: 9\n", "other.yml")
    two = load_config(write(tmp_path, "defaults: [base, other.yml]\n", "c.yaml"))
    assert two["train.batch_size"] == 9 and two["train.max_epochs"] == 7
    assert load_config(write(tmp_path, "defaults: []\ntrain_json: x.json\n", "d.yaml"))["train_json"] == "x.json"


def test_interpolation_resolves_after_the_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("CHICKENSEG_TEST_DATA", "/data/set")
    write(tmp_path, "train_json: ${oc.env:CHICKENSEG_TEST_DATA}/train.json\n"
                    "output_dir: runs/lr${optimizer.lr}_bs${train.batch_size}\n", "base.yaml")
    path = write(tmp_path, "defaults: [base]\nval:\n  batch_size: ${train.batch_size}\n")
    cfg = load_config(path, ["train.batch_size=6"])
    assert cfg["train_json"] == "/data/set/train.json" and cfg["val.batch_size"] == 6
    assert cfg["output_dir"] == "runs/lr1e-05_bs6"
    assert cfg.sources["val.batch_size"] == str(path)  # where the interpolation was written
    listed = load_config(path, ["optimizer.betas=[0.8, '${optimizer.weight_decay}']", "optimizer.weight_decay=0.5"])
    assert listed["optimizer.betas"] == [0.8, 0.5]
    # An interpolation is checked once resolved, naming where it was written.
    path = write(tmp_path, "defaults: [base]\nval:\n  batch_size: ${seed}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: `val\.batch_size`: expected an integer in \[1, inf\], got 0"):
        load_config(path)


@pytest.mark.parametrize("files, overrides, needle", [
    # an unknown key in a base names the base file
    ({"base.yaml": "train_json: t.json\noptimizer:\n  lrr: 1\n", "c.yaml": "defaults: [base]\n"}, [],
     "base.yaml: unknown key `optimizer.lrr` (did you mean `optimizer.lr`?)"),
    ({"base.yaml": "trainer:\n  precision: fp8\n", "c.yaml": "defaults: [base]\ntrain_json: t.json\n"}, [],
     "base.yaml: `trainer.precision`: expected one of bf16, fp16, fp32, got 'fp8'"),
    ({"c.yaml": "defaults: [nowhere]\n"}, [], "c.yaml: `defaults`: 'nowhere': config file not found ("),
    ({"c.yaml": "defaults: base\n"}, [], "c.yaml: `defaults`: expected a list of config names"),
    ({"c.yaml": "defaults:\n  - model: sam3\n"}, [], "c.yaml: `defaults`: expected a config file name"),
    ({"c.yaml": "defaults: [_self_, _self_]\n"}, [], "_self_ is listed more than once"),
    ({"a.yaml": "defaults: [b]\n", "b.yaml": "defaults: [c.yaml]\n", "c.yaml": "defaults: [a]\n"}, [],
     "c.yaml: `defaults`: cycle: "),
    ({"c.yaml": "defaults: [c]\n"}, [], "c.yaml: `defaults`: cycle: "),
    ({"c.yaml": "train_json: ${nope}\n"}, [], "c.yaml: `train_json`: bad interpolation '${nope}': "
                                              "Interpolation key 'nope' not found"),
    ({"c.yaml": "train_json: t.json\noutput_dir: ${output_dir}x\n"}, [], "`output_dir`: bad interpolation"),
    ({"c.yaml": "train_json: t.json\n"}, ["output_dir=${oops"], "command line: `output_dir`: bad interpolation"),
    ({"c.yaml": "train_json: ???\n"}, [], "c.yaml: `train_json`: no value (???): set it"),
])
def test_bad_composition_is_rejected_naming_the_file(tmp_path, files, overrides, needle):
    for name, text in files.items():
        write(tmp_path, text, name)
    top = "a.yaml" if "a.yaml" in files else "c.yaml"
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / top, overrides)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_cycle_names_the_chain(tmp_path):
    write(tmp_path, "defaults: [b]\n", "a.yaml")
    write(tmp_path, "defaults: [a.yaml]\n", "b.yaml")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "a.yaml")
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert str(e.value) == f"{b}: `defaults`: cycle: {a} -> {b} -> {a}"


def test_tool_reports_composition_errors_on_one_line(cs, tmp_path):
    write(tmp_path, "train_json: t.json\nloss:\n  dice_los_weight: 2\n", "base.yaml")
    path = write(tmp_path, "defaults: [base]\n")
    r = cs("train", "-c", path, "--print-config")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "base.yaml: unknown key `loss.dice_los_weight` (did you mean `loss.dice_loss_weight`?)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")
    write(tmp_path, "defaults: [c]\n")
    r = cs("train", "-c", path)
    assert r.returncode == 1 and "cycle" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_shipped_composed_config_resolves():
    from conftest import ROOT

    default = load_config(ROOT / "configs" / "train_default.yaml")
    low = load_config(ROOT / "configs" / "train_lowmem.yaml")
    differ = {k for k in SCHEMA if low[k] != default[k]}
    assert differ == {"output_dir", "model.use_gradient_checkpointing", "train.batch_size",
                      "train.accumulate_grad_batches", "val.batch_size"}
    assert low["train.batch_size"] * low["train.accumulate_grad_batches"] == default["train.batch_size"]
    assert low.sources["optimizer.lr"].endswith("train_default.yaml")


def test_mandatory_value_in_a_base_is_filled_by_the_child(tmp_path):
    write(tmp_path, "train_json: ???\ntrain:\n  batch_size: 3\n", "base.yaml")
    cfg = load_config(write(tmp_path, "defaults: [base]\n"), ["train_json=t.json"])
    assert cfg["train_json"] == "t.json" and cfg["train.batch_size"] == 3
    with pytest.raises(ConfigError, match=r"base\.yaml: `train_json`: no value \(\?\?\?\)"):
        load_config(tmp_path / "c.yaml")
