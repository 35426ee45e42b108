"""`chickenseg train` end to end on the CPU with the tiny SAM 3 and a small synthetic SA-Co set
(bright discs = chicken; half the images negative): epochs run, the loss is finite and goes
down, top-k keeps k, a checkpoint resumes bit for bit, the weights load back for prediction,
validation metrics come from `chickenseg eval`, DDP (torchrun, 2 CPU processes) and the
submitit path run, and out-of-memory gives advice."""
import json
import math
import os
import signal
import subprocess

import pytest
import torch

from conftest import ROOT, chickenseg_bin
from tests_python_support import ctrl_c_as_in_a_terminal, run_tool
from chickenseg_model.train.synthetic import make_synthetic_dataset

CONFIG = ROOT / "configs" / "train_tiny.yaml"


def overrides(data, out, **extra):
    base = {"train_json": data / "train.json", "val_json": data / "val.json", "img_dir": "null",
            "output_dir": out, "resume": "null", "train.max_epochs": 3, "train.batch_size": 4,
            "checkpoint.save_top_k": 2, "val.batch_size": 6, "val.num_overlays": 1, "logging.wandb": "offline",
            "data.augment.scale_jitter": "[0.8,1.2]"}
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]


def records(run_dir, split):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["split"] == split]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_data")
    make_synthetic_dataset(root, train=12, val=6, size=80, negative_share=0.5, seed=1)
    return root


@pytest.fixture(scope="module")
def run_a(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "a"
    r = run_tool("--json", "train", "-c", CONFIG, *overrides(data, out))
    assert r.returncode == 0, r.stderr
    return out, json.loads(r.stdout)


def test_epochs_run_and_the_run_folder_is_complete(run_a, data):
    out, summary = run_a
    assert summary["epochs"] == 3 and summary["global_step"] == 9  # 6 positives / 2 per batch = 3 batches
    for name in ("config.yaml", "dataset_version.json", "metrics.jsonl", "last.pt", "best.pt", "summary.json",
                 "best/config.json", "best/model.safetensors", "best/training.json", "best/config.yaml",
                 "last/model.safetensors", "val/epoch_003/predictions.json", "val/epoch_003/metrics.json"):
        assert (out / name).exists(), name
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert summary["wandb_mode"] == "offline" and list((out / "wandb").glob("offline-run-*"))
    version = json.loads((out / "dataset_version.json").read_text())
    assert version["train"]["method"] == "file-sha256" and len(version["version_id"]) == 64
    train = records(out, "train")
    assert [r["step"] for r in train] == list(range(1, 10))
    for r in train:
        for key in ("loss", "loss_focal", "loss_presence", "loss_dice", "loss_iou", "loss_bbox", "grad_norm", "lr"):
            assert math.isfinite(r[key]), key
    # Validation metrics are `chickenseg eval`'s, copied from its metrics file. Checked against an
    # eval run here on the predictions the trainer wrote (not the trainer's own copy), and as
    # numbers: two nulls would be equal too.
    val = records(out, "val")
    assert [r["epoch"] for r in val] == [1, 2, 3]
    epoch_dir = out / "val/epoch_003"
    r = run_tool("--json", "eval", "--gt", data / "val.json", "--pred", epoch_dir / "predictions.json",
                 "--presence", epoch_dir / "predictions.presence.json")
    assert r.returncode == 0, r.stderr
    expected = json.loads(r.stdout)
    for got, want in ((val[-1]["IL_MCC"], expected["image_level"]["IL_MCC"]),
                      (val[-1]["cgF1"], expected["segm"]["cgF1"])):
        assert isinstance(want, float) and math.isfinite(want) and -1.0 <= want <= 1.0, want
        assert got == want


def test_loss_goes_down(run_a):
    out, _ = run_a
    train = records(out, "train")
    first, last = train[:3], train[-3:]
    assert sum(r["loss"] for r in last) < sum(r["loss"] for r in first)
    val = records(out, "val")
    assert val[-1]["val_loss"] < val[0]["val_loss"]


def test_top_k_keeps_k_best(run_a):
    out, summary = run_a
    kept = sorted((out / "checkpoints").glob("*.pt"))
    assert len(kept) == 2
    losses = sorted(r["val_loss"] for r in records(out, "val"))
    assert sorted(float(p.stem.split("val_loss=")[1]) for p in kept) == pytest.approx(losses[:2], abs=1e-4)
    assert summary["best_value"] == pytest.approx(losses[0])


def test_checkpoint_resumes_bit_for_bit(run_a, data, tmp_path):
    out, _ = run_a
    kept = sorted((out / "checkpoints").glob("*.pt"))
    ckpt = next(p for p in kept if not p.name.startswith("epoch=003"))  # 2 of 3 epochs kept: one is earlier
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    resumed = tmp_path / "b"
    r = run_tool("--json", "train", "-c", CONFIG, *overrides(data, resumed, resume=ckpt))
    assert r.returncode == 0, r.stderr
    a = {x["step"]: x for x in records(out, "train")}
    b = {x["step"]: x for x in records(resumed, "train")}
    assert min(b) == state["global_step"] + 1 and max(b) == 9
    for step in b:
        for key in ("loss", "loss_presence", "loss_focal", "grad_norm", "lr"):
            assert b[step][key] == a[step][key], (step, key)  # exactly equal, not approximately
    assert records(resumed, "val")[-1]["val_loss"] == records(out, "val")[-1]["val_loss"]


def test_trained_weights_predict_through_the_tool(run_a, data, tmp_path):
    out, _ = run_a
    r = run_tool("model", "predict", "--model", out / "best", "--device", "cpu", "--dataset", data / "val.json",
                 "--out", tmp_path / "p.json")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "p.presence.json").exists()
    info = json.loads((out / "best" / "training.json").read_text())
    assert info["base_model"] == "tiny" and info["dataset_version"]["version_id"]


def test_a_corrupt_image_fails_before_the_first_step(data, tmp_path):
    """data.check_images (on by default) decodes every image first: a PNG whose pixel data is
    corrupt (its header, which `data validate` reads by default, is intact) fails the run at once,
    naming the file, instead of after an epoch."""
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    victim = copy / json.loads((copy / "val.json").read_text())["images"][-1]["file_name"]
    png = bytearray(victim.read_bytes())
    idat = png.index(b"IDAT")
    png[idat + 6:idat + 12] = b"\xff" * 6  # a reserved deflate block type
    victim.write_bytes(bytes(png))
    out = tmp_path / "run"
    args = overrides(copy, out, **{"logging.wandb": "disabled", "logging.tensorboard": "false"})
    r = run_tool("train", "-c", CONFIG, *args)
    assert r.returncode == 1, r.stderr
    assert f"{victim}: cannot decode image" in r.stderr and "data.check_images" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not (out / "metrics.jsonl").exists() or not (out / "metrics.jsonl").read_text().strip()  # no step ran


def test_ctrl_c_mid_training_is_one_line_and_reaps_every_process(data, tmp_path):
    """Ctrl-C (SIGINT to the whole process group: the tool, its Python, the data loader's worker
    processes) once the first step has run: one line, exit 130, and no process left behind."""
    args = overrides(data, tmp_path / "run", **{"train.max_epochs": 1000, "data.num_workers": 2,
                                                "logging.wandb": "disabled", "logging.tensorboard": "false"})
    proc = subprocess.Popen([str(chickenseg_bin()), "train", "-c", str(CONFIG), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=ctrl_c_as_in_a_terminal)
    seen = []
    for line in proc.stderr:  # the child is training once a step is logged
        seen.append(line)
        if " step 2/" in line:
            break
    os.killpg(proc.pid, signal.SIGINT)
    err = "".join(seen) + proc.stderr.read()
    assert proc.wait(timeout=120) == 130, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted (Ctrl-C)"), err
    assert "Traceback" not in err
    with pytest.raises(ProcessLookupError):  # the tool waited for its Python and the workers
        os.killpg(proc.pid, 0)


def test_ddp_with_two_processes(data, tmp_path):
    out = tmp_path / "ddp"
    r = run_tool("--json", "train", "-c", CONFIG, *overrides(data, out, **{"train.max_epochs": 1,
                                                                             "val.metrics": "false",
                                                                             "logging.wandb": "disabled"}),
                 "--num-gpus", "2")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["world_size"] == 2 and summary["launcher"] == "torchrun"
    assert summary["global_step"] == 1  # 3 batches over 2 ranks: 1 each, the odd one dropped
    assert (out / "last.pt").exists()


def test_submitit_local_and_sbatch_preview(data, tmp_path):
    out = tmp_path / "cluster"
    args = overrides(data, out, **{"train.max_epochs": 1, "val.metrics": "false", "logging.wandb": "disabled"})
    r = run_tool("--json", "train", "-c", CONFIG, *args, "--use-cluster", "1", "--cluster-backend", "local",
                 "--wait")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["backend"] == "local" and doc["summary"]["global_step"] == 3
    r = run_tool("--json", "train", "-c", CONFIG, *args, "slurm.partition=gpu", "--use-cluster", "1",
                 "--num-nodes", "2", "--num-gpus", "4", "--dry-run")
    assert r.returncode == 0, r.stderr
    script = open(json.loads(r.stdout)["sbatch"]).read()
    for line in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=4", "#SBATCH --gpus-per-node=4",
                 "#SBATCH --partition=gpu"):
        assert line in script, line
    r = run_tool("train", "-c", CONFIG, *args, "--num-nodes", "2")
    assert r.returncode == 1 and "--use-cluster 1" in r.stderr


def test_out_of_memory_gives_advice(data, tmp_path, monkeypatch):
    from chickenseg_model.train import trainer as trainer_module
    from chickenseg_model.train.config import load_config

    def oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(trainer_module, "compute_losses", oom)
    cfg = load_config(CONFIG, overrides(data, tmp_path / "oom", **{"logging.wandb": "disabled",
                                                                    "logging.tensorboard": "false"}))
    with pytest.raises(trainer_module.OutOfMemory) as e:
        trainer_module.train(cfg, quiet=True)
    text = str(e.value)
    assert "train.batch_size" in text and "use_gradient_checkpointing" in text and "accumulate_grad_batches" in text
    assert "Traceback" in text and "Tried to allocate 20.00 GiB" in text


def test_gpu_train_bench_smoke_on_cpu():
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "bench" / "gpu_train_bench.py"),
                           "--model", "tiny", "--device", "cpu", "--batch-sizes", "1,2", "--checkpointing", "off,on",
                           "--steps", "1", "--warmup", "0"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.split() and line.split()[0].isdigit()]
    assert [(r[0], r[1], r[-1]) for r in rows] == [("1", "off", "ok"), ("2", "off", "ok"), ("1", "on", "ok"),
                                                  ("2", "on", "ok")]
    assert all(float(r[4]) > 0 for r in rows)  # the step in multiples of the baseline forward
    baseline = [line for line in proc.stdout.splitlines() if line.startswith("baseline: ")]
    assert len(baseline) == 1 and float(baseline[0].split()[-2]) > 0, proc.stdout
