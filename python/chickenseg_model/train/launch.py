"""Starting a training run: in this process, one process per GPU through torchrun (DDP, one
machine), or as a SLURM job through submitit (several machines).

- `--num-gpus 1` (default): the trainer runs here.
- `--num-gpus G` (G > 1): `python -m torch.distributed.run --standalone --nproc_per_node G -m
  chickenseg_model train ... --worker`; each worker reads RANK / WORLD_SIZE / LOCAL_RANK and
  joins the process group; rank 0 writes RUN/summary.json, which this process returns.
- `--use-cluster 1 --num-nodes N --num-gpus G`: a submitit job of N nodes x G tasks (one per
  GPU); submitit's TorchDistributedEnvironment sets the rendezvous variables. On time-out or
  pre-emption the job is requeued with resume=auto (continues from RUN/last.pt).
  `--cluster-backend local` runs the same job through submitit's local executor (one machine;
  used by the tests); `--dry-run` writes the sbatch script it would submit to
  RUN/slurm/sbatch_preview.sh without submitting.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from chickenseg_model.errors import ModelError
from chickenseg_model.slurm import executor_parameters, import_submitit, sbatch_preview, slurm_settings
from chickenseg_model.train.config import Config, load_config


def _train_here(config_path, overrides, quiet: bool) -> dict:
    from chickenseg_model.train.trainer import train

    return train(load_config(config_path, overrides), quiet=quiet)


class TrainJob:
    """What a submitit task runs (picklable; submitit.helpers.Checkpointable-compatible)."""

    def __init__(self, config_path, overrides: list[str]):
        self.config_path, self.overrides = config_path, list(overrides)

    def __call__(self):
        import submitit

        submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
        return _train_here(self.config_path, self.overrides, quiet=False)

    def checkpoint(self, *args, **kwargs):
        import submitit

        overrides = [o for o in self.overrides if not o.startswith("resume=")] + ["resume=auto"]
        return submitit.helpers.DelayedSubmission(TrainJob(self.config_path, overrides))


def _submit(config_path, overrides, cfg: Config, num_nodes, num_gpus, backend, dry_run, wait) -> dict:
    submitit = import_submitit()
    folder = Path(cfg["output_dir"]) / "slurm"
    slurm = slurm_settings(cfg)
    if dry_run:
        if backend != "slurm":
            raise ModelError("--dry-run previews the SLURM script; it needs --cluster-backend slurm")
        return {"dry_run": True, "sbatch": str(sbatch_preview(slurm, folder, "chickenseg-train", num_nodes,
                                                               num_gpus, num_gpus))}
    if backend == "local" and num_nodes != 1:
        raise ModelError("--cluster-backend local runs on this machine: --num-nodes must be 1")
    executor = submitit.AutoExecutor(folder=folder, cluster=backend)
    executor.update_parameters(**executor_parameters(slurm, "chickenseg-train", backend, num_nodes, num_gpus,
                                                     num_gpus))
    job = executor.submit(TrainJob(config_path, overrides))
    out = {"job_id": str(job.job_id), "backend": backend, "folder": str(folder),
           "nodes": num_nodes, "tasks_per_node": num_gpus}
    if wait:
        results = job.results()
        out["summary"] = next((r for r in results if r is not None), None)
    return out


def _torchrun(config_path, overrides, cfg: Config, num_gpus: int) -> dict:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={num_gpus}",
           "-m", "chickenseg_model", "train", "--worker"]
    if config_path is not None:
        cmd += ["-c", str(config_path)]
    cmd += list(overrides)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // num_gpus)))
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, env=env)
    if proc.returncode != 0:
        raise ModelError(f"torchrun with {num_gpus} processes failed (exit {proc.returncode}); "
                         "the workers' errors are printed above")
    summary = Path(cfg["output_dir"]) / "summary.json"
    return {**json.loads(summary.read_text()), "launcher": "torchrun"}


def launch(config_path, overrides: list[str], num_gpus: int = 1, num_nodes: int = 1, use_cluster: bool = False,
           cluster_backend: str = "slurm", dry_run: bool = False, wait: bool = False, worker: bool = False,
           quiet: bool = False) -> dict:
    cfg = load_config(config_path, overrides)  # bad keys fail here, before anything starts
    if num_gpus < 1 or num_nodes < 1:
        raise ModelError("--num-gpus and --num-nodes: expected 1 or more")
    if use_cluster:
        return _submit(config_path, overrides, cfg, num_nodes, num_gpus, cluster_backend, dry_run, wait)
    if num_nodes > 1:
        raise ModelError(f"--num-nodes {num_nodes}: several machines need a cluster: add --use-cluster 1 (SLURM)")
    if worker or num_gpus == 1:
        return _train_here(config_path, overrides, quiet)
    return _torchrun(config_path, overrides, cfg, num_gpus)
