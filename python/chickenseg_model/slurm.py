"""SLURM through submitit, shared by the two commands that use a cluster: `chickenseg train
--use-cluster 1` (one job of N nodes x G tasks) and `chickenseg mine --use-cluster 1` (an array
of one-task jobs, one per shard). Both read the same `slurm.*` settings (the training config's
keys and defaults, train/config.py), turn them into submitit's executor parameters the same way,
and write the same sbatch preview for `--dry-run`."""
import sys
from pathlib import Path

from chickenseg_model.errors import ModelError

KEYS = ("partition", "account", "qos", "timeout_min", "cpus_per_task", "mem_gb")


def slurm_settings(cfg) -> dict:
    """{'partition': ..., ...} from anything indexed by the dotted config keys (`slurm.partition`)."""
    return {key: cfg[f"slurm.{key}"] for key in KEYS}


def import_submitit(flag: str = "--use-cluster 1"):
    try:
        import submitit
    except ImportError:
        raise ModelError(f"{flag} needs submitit: .venv/bin/pip install submitit") from None
    return submitit


def _cuda_visible() -> bool:
    import torch

    return torch.cuda.is_available()


def executor_parameters(slurm: dict, name: str, backend: str, nodes: int = 1, tasks_per_node: int = 1,
                        gpus_per_node: int = 0) -> dict:
    """submitit AutoExecutor parameters. The local backend (this machine) takes no SLURM options
    or node count, and no GPUs where it has none, so a test runs the same job on a CPU machine."""
    params = {"nodes": nodes, "tasks_per_node": tasks_per_node, "cpus_per_task": slurm["cpus_per_task"],
              "timeout_min": slurm["timeout_min"], "name": name}
    if gpus_per_node:
        params["gpus_per_node"] = gpus_per_node
    if slurm["mem_gb"]:
        params["mem_gb"] = slurm["mem_gb"]
    for key in ("partition", "account", "qos"):
        if slurm[key]:
            params[f"slurm_{key}"] = slurm[key]
    if backend == "local":
        params = {k: v for k, v in params.items() if not k.startswith("slurm_") and k not in ("cpus_per_task", "nodes")}
        if gpus_per_node and not _cuda_visible():
            params.pop("gpus_per_node")
    return params


def sbatch_preview(slurm: dict, folder: Path, name: str, nodes: int = 1, tasks_per_node: int = 1,
                   gpus_per_node: int = 0, array: int | None = None) -> Path:
    """Writes FOLDER/sbatch_preview.sh, the script submitit would submit (`array`: a job array of
    that many tasks, `#SBATCH --array=0-<array-1>`), and returns its path. Nothing is submitted."""
    from submitit.slurm import slurm as submitit_slurm

    text = submitit_slurm._make_sbatch_string(
        command=f"{sys.executable} -u -m submitit.core._submit {folder}", folder=folder, job_name=name,
        partition=slurm["partition"], time=slurm["timeout_min"], nodes=nodes, ntasks_per_node=tasks_per_node,
        cpus_per_task=slurm["cpus_per_task"], gpus_per_node=gpus_per_node or None, qos=slurm["qos"],
        account=slurm["account"], mem=f"{slurm['mem_gb']}GB" if slurm["mem_gb"] else None, map_count=array)
    path = folder / "sbatch_preview.sh"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
