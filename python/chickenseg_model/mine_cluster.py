"""`chickenseg mine --use-cluster 1 --shards N`: the shards of a mining run as one SLURM job array
through submitit (docs/mine.md, "On a cluster").

The C++ tool writes the request to WORK/request.json (WORK = OUT/.mine-cluster; schema below)
and runs `python -m chickenseg_model mine-cluster WORK/request.json`. This module submits N array
tasks, logs in WORK/slurm; task K runs the same chickenseg binary (its path is in the request, so
every task runs the build that submitted it) as `chickenseg --json mine ARGS --shard K/N --out
WORK/shards/K`. With `wait` it waits for every task and fails naming each shard that failed and
its log; the merge is then the C++ tool's, in its own process, so this module never chooses
images. It prints one JSON document: the job ids, the log folder and the shard folders.

Request: {"schema": "chickenseg.mine-cluster/1", "bin": PATH, "out": PATH, "work": PATH (absolute), "shards": N,
"shard_args": [the shard's own mine options], "backend": "slurm" | "local", "num_gpus": G,
"slurm": ["slurm.KEY=VALUE", ...], "dry_run": bool, "wait": bool}.
"""
import difflib
import json
import subprocess
import sys
from pathlib import Path

from chickenseg_model.errors import ModelError
from chickenseg_model.slurm import executor_parameters, import_submitit, sbatch_preview, slurm_settings

SPEC_SCHEMA = "chickenseg.mine-cluster/1"
JOB_NAME = "chickenseg-mine"


class ShardJob:
    """One array task: `chickenseg mine --shard K/N` (picklable: submitit runs it elsewhere).
    The shard's stderr (its progress and errors) goes to the task's log; its stdout, the JSON
    summary, is the task's result."""

    def __init__(self, binary: str, args: list[str], index: int, count: int, out: str):
        self.binary, self.args, self.index, self.count, self.out = binary, list(args), index, count, out

    def __call__(self):
        cmd = [self.binary, "--json", "mine", *self.args, "--shard", f"{self.index}/{self.count}", "--out", self.out]
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        except OSError as e:  # printed into the task's log, where the launcher finds the reason
            print(f"error: cannot run {self.binary}: {e.strerror or e} (the nodes need it on a shared file system)",
                  file=sys.stderr, flush=True)
            raise RuntimeError(f"shard {self.index}/{self.count}: cannot run {self.binary}") from None
        try:
            summary = json.loads(proc.stdout)
        except ValueError:
            summary = None
        # Exit 1 with a summary: bad images, recorded in the shard's finished scores (the merge
        # reports them again); anything else left no usable shard.
        if proc.returncode == 0 or (proc.returncode == 1 and isinstance(summary, dict)):
            return summary
        raise RuntimeError(f"shard {self.index}/{self.count}: `chickenseg mine` exited with {proc.returncode}")


def read_spec(path: Path) -> dict:
    try:
        spec = json.loads(Path(path).read_text())
    except ValueError as e:
        raise ModelError(f"{path}: not a JSON file: {e}") from None
    if not isinstance(spec, dict) or spec.get("schema") != SPEC_SCHEMA:
        raise ModelError(f"{path}: expected a {SPEC_SCHEMA} request (written by `chickenseg mine --use-cluster 1`)")
    for key in ("bin", "work", "shards", "shard_args", "backend"):
        if key not in spec:
            raise ModelError(f"{path}: `{key}`: required")
    if not isinstance(spec["shards"], int) or spec["shards"] < 1:
        raise ModelError(f"{path}: `shards`: expected an integer >= 1")
    return spec


def parse_slurm_overrides(overrides: list[str]) -> dict:
    """The `slurm.*` settings: train's defaults (train/config.py), then `slurm.KEY=VALUE`
    overrides checked as the training config checks them."""
    from chickenseg_model.train.config import SCHEMA, ConfigError, parse_override

    values = {key: spec.default for key, spec in SCHEMA.items() if key.startswith("slurm.")}
    for text in overrides:
        key, value = parse_override(text)
        if key not in values:
            close = difflib.get_close_matches(key, values.keys(), n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise ConfigError(f"command line: unknown key `{key}`{hint}; mine takes {', '.join(values)}")
        try:
            values[key] = SCHEMA[key].check(value)
        except ValueError as e:
            raise ConfigError(f"command line: `{key}`: {e}") from None
    return slurm_settings(values)


def _log_reason(path: Path) -> str:
    """The last `error: ...` line the shard printed into its log, if any."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line.strip() for line in lines if line.startswith("error: ")]
    return errors[-1] if errors else ""


def _wait(jobs, count: int) -> list:
    summaries, failed = [], []
    for index, job in enumerate(jobs, start=1):
        try:
            summaries.append(job.result())
        except Exception as e:  # submitit's FailedJobError, UncompletedJobError, ...
            log = Path(job.paths.stderr)
            reason = _log_reason(log) or f"{type(e).__name__}"
            failed.append(f"shard {index}/{count} failed ({reason}); log: {log}")
    if failed:
        raise ModelError(f"{len(failed)} of {count} shards failed, nothing merged:\n  " + "\n  ".join(failed))
    return summaries


def run_mine_cluster(spec_path: Path) -> dict:
    spec = read_spec(spec_path)
    count, backend = spec["shards"], spec["backend"]
    slurm = parse_slurm_overrides(spec.get("slurm", []))
    work = Path(spec["work"])
    folder = work / "slurm"
    num_gpus = int(spec.get("num_gpus", 0))
    submitit = import_submitit()
    if spec.get("dry_run"):
        if backend != "slurm":
            raise ModelError("--dry-run previews the SLURM script; it needs --cluster-backend slurm")
        return {"dry_run": True, "shards": count,
                "sbatch": str(sbatch_preview(slurm, folder, JOB_NAME, gpus_per_node=num_gpus, array=count))}
    executor = submitit.AutoExecutor(folder=folder, cluster=backend)
    executor.update_parameters(**executor_parameters(slurm, JOB_NAME, backend, gpus_per_node=num_gpus))
    shard_dirs = [str(work / "shards" / str(k)) for k in range(1, count + 1)]
    jobs = []
    with executor.batch():  # one sbatch: a job array of `count` tasks
        for k, shard_out in enumerate(shard_dirs, start=1):
            jobs.append(executor.submit(ShardJob(spec["bin"], spec["shard_args"], k, count, shard_out)))
    job_ids = [str(job.job_id) for job in jobs]
    result = {"job_id": job_ids[0].split("_")[0], "job_ids": job_ids, "backend": backend, "folder": str(folder),
              "shards": count, "shard_dirs": shard_dirs}
    if spec.get("wait"):
        result["shard_summaries"] = _wait(jobs, count)
    return result
