"""`chickenseg data version`: DVC (add + push, then restore from the remote with the
real DVC of the project venv) and the SHA-256 content manifest fallback."""
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, load_json

DVC = ROOT / ".venv" / "bin" / "dvc"
ENV = dict(os.environ, DVC_NO_ANALYTICS="1")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_hashes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def canonical_sha256(obj) -> str:
    # The C++ side hashes nlohmann::json's compact dump: sorted keys, no spaces.
    text = json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def dvc():
    """The project venv's DVC, which the tool finds beside the venv's python."""
    if not DVC.exists():
        pytest.fail(f"DVC missing at {DVC}: scripts/setup installs it into the project venv")
    return DVC


@pytest.fixture
def dataset(tmp_path, cs):
    """A small sample (images under raw/labelme) and an SA-Co file in dataset/ naming them."""
    cs("data", "sample", "--out", tmp_path / "raw", "--count", "6", "--size", "128x96", check=True)
    root = tmp_path / "raw" / "labelme"
    images = sorted(p.name for p in root.iterdir() if p.suffix in (".png", ".jpg"))
    doc = {
        "images": [{"id": i + 1, "file_name": name, "width": 128, "height": 96, "text_input": "chicken",
                    "is_instance_exhaustive": 1} for i, name in enumerate(images)],
        "annotations": [],
        "categories": [{"id": 1, "name": "chicken"}],
    }
    ds = tmp_path / "dataset" / "all.json"
    ds.parent.mkdir()
    ds.write_text(json.dumps(doc))
    return tmp_path, ds, root


def test_dvc_add_push_and_restore_from_remote(dataset, cs, dvc):
    tmp, ds, root = dataset
    before = tree_hashes(root)
    proc = cs("--json", "data", "version", "--dataset", ds, "--image-root", root)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["method"] == "dvc"
    assert out["dvc_initialised"] and out["dvc_init_mode"] == "no-scm"
    assert Path(out["dvc_root"]) == tmp.resolve()
    paths = {o["path"]: o for o in out["outputs"]}
    assert set(paths) == {"raw/labelme", "dataset/all.json"}
    assert paths["raw/labelme"]["md5"].endswith(".dir")
    assert paths["dataset/all.json"]["md5"] == hashlib.md5(ds.read_bytes()).hexdigest()
    # The version id is the SHA-256 of the md5s DVC recorded in the .dvc files.
    outs = []
    for p in sorted(paths):
        text = (tmp / (p + ".dvc")).read_text()
        md5 = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("- md5:"))
        assert md5 == paths[p]["md5"]
        outs.append({"path": p, "md5": md5})
    assert out["version_id"] == canonical_sha256({"schema": "chickenseg.dvc_version/1", "outs": outs})
    record = load_json(tmp / "dataset" / "all.version.json")
    assert record["version_id"] == out["version_id"] and record["method"] == "dvc"
    # Pushed to the default local remote.
    storage = tmp / ".dvc-storage"
    assert len([p for p in storage.rglob("*") if p.is_file()]) >= len(before)

    # Lose the working copy and the cache: `dvc pull` brings back the same bytes from the remote.
    shutil.rmtree(root)
    shutil.rmtree(tmp / ".dvc" / "cache")
    subprocess.run([str(DVC), "pull", "--quiet"], cwd=tmp, env=ENV, check=True)
    assert tree_hashes(root) == before

    # Lose only the working copy: `dvc checkout` restores it from the cache.
    shutil.rmtree(root)
    subprocess.run([str(DVC), "checkout", "--quiet"], cwd=tmp, env=ENV, check=True)
    assert tree_hashes(root) == before

    # Same data, second run: same id, the repository is reused.
    again = json.loads(cs("--json", "data", "version", "--dataset", ds, "--image-root", root, check=True).stdout)
    assert again["version_id"] == out["version_id"]
    assert not again["dvc_initialised"]


def test_dvc_inside_git_commits_nothing(dataset, cs, dvc):
    tmp, ds, root = dataset
    subprocess.run(["git", "init", "-q", str(tmp)], check=True)
    proc = cs("--json", "data", "version", "--dataset", ds, "--image-root", root, "--remote", tmp / "remote")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["dvc_init_mode"] == "git"
    assert out["remote"] == str(tmp / "remote")
    assert any((tmp / "remote").rglob("*"))
    # No commit was made; only DVC's own config files are staged (by `dvc init`), and the
    # tracked data is git-ignored by DVC.
    assert subprocess.run(["git", "-C", str(tmp), "rev-parse", "HEAD"], capture_output=True).returncode != 0
    status = subprocess.run(["git", "-C", str(tmp), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    staged = sorted(line[3:] for line in status if line[0] != "?")
    assert staged == [".dvc/.gitignore", ".dvc/config", ".dvcignore"]
    untracked = [line[3:] for line in status if line.startswith("??")]
    assert not any(u.startswith("raw/labelme/") for u in untracked), untracked


def test_manifest_fallback(dataset, cs):
    tmp, ds, root = dataset
    proc = cs("--json", "data", "version", "--dataset", ds, "--image-root", root, "--no-dvc")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["method"] == "manifest" and out["why"] == "--no-dvc"
    manifest_path = tmp / "dataset" / "all.manifest.json"
    manifest = load_json(manifest_path)
    assert manifest["schema"] == "chickenseg.dataset_manifest/1"
    assert manifest["version_id"] == out["version_id"]
    # Every referenced image, sorted, with its SHA-256 and size; the dataset file too.
    names = sorted(im["file_name"] for im in load_json(ds)["images"])
    assert [e["path"] for e in manifest["images"]] == names
    for e in manifest["images"]:
        assert e["sha256"] == sha256_file(root / e["path"])
        assert e["bytes"] == (root / e["path"]).stat().st_size
    assert manifest["datasets"] == [{"path": "all.json", "sha256": sha256_file(ds), "bytes": ds.stat().st_size}]
    canonical = {k: manifest[k] for k in ("schema", "datasets", "images")}
    assert out["version_id"] == canonical_sha256(canonical)
    assert load_json(tmp / "dataset" / "all.version.json")["version_id"] == out["version_id"]
    first_bytes = manifest_path.read_bytes()

    # Stable across runs: same id, same manifest bytes.
    again = json.loads(cs("--json", "data", "version", "--dataset", ds, "--image-root", root, "--no-dvc",
                          check=True).stdout)
    assert again["version_id"] == out["version_id"]
    assert manifest_path.read_bytes() == first_bytes

    # One byte of one image changes -> a different id; restoring it restores the id.
    victim = root / names[2]
    original = victim.read_bytes()
    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0x01
    victim.write_bytes(bytes(changed))
    moved = json.loads(cs("--json", "data", "version", "--dataset", ds, "--image-root", root, "--no-dvc",
                          check=True).stdout)
    assert moved["version_id"] != out["version_id"]
    victim.write_bytes(original)
    back = json.loads(cs("--json", "data", "version", "--dataset", ds, "--image-root", root, "--no-dvc",
                         check=True).stdout)
    assert back["version_id"] == out["version_id"]


def test_manifest_when_dvc_is_not_installed(dataset, cs):
    tmp, ds, root = dataset
    env = dict(os.environ, CHICKENSEG_PYTHON="/nonexistent/bin/python", PATH="/nonexistent")
    env.pop("CHICKENSEG_DVC", None)
    proc = cs("--json", "data", "version", "--dataset", ds, "--image-root", root, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["method"] == "manifest" and out["why"] == "dvc not found"
    assert not (tmp / ".dvc").exists()


def test_missing_image_is_a_clear_error(dataset, cs):
    tmp, ds, root = dataset
    first = load_json(ds)["images"][0]["file_name"]
    (root / first).unlink()
    proc = cs("data", "version", "--dataset", ds, "--image-root", root, "--no-dvc")
    assert proc.returncode == 1
    assert "images[0].file_name" in proc.stderr and first in proc.stderr
    assert not (tmp / "dataset" / "all.manifest.json").exists()
    usage = cs("data", "version", "--image-root", root)
    assert usage.returncode == 2


GIT_ENV = dict(ENV, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org", GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=GIT_ENV).stdout.strip()


def test_tag_in_a_git_repository_commits_only_the_version_and_tags_it(dataset, cs, dvc):
    tmp, ds, root = dataset
    git(tmp, "init", "-q")
    (tmp / "notes.txt").write_text("the user's own work, staged but not ours to commit\n")
    git(tmp, "add", "notes.txt")
    proc = cs("--json", "data", "version", "--dataset", ds, "--image-root", root, "--tag", "v1.1", env=GIT_ENV)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["method"] == "dvc" and out["tag"] == "v1.1" and len(out["git_commit"]) == 40
    assert git(tmp, "rev-parse", "v1.1^{commit}") == out["git_commit"]
    committed = set(git(tmp, "show", "--name-only", "--format=", "v1.1").splitlines())
    assert {"dataset/all.version.json", "raw/labelme.dvc", "dataset/all.json.dvc"} <= committed, committed
    assert "notes.txt" not in committed  # the user's staged file stays staged, uncommitted
    assert "notes.txt" in git(tmp, "diff", "--cached", "--name-only")
    assert load_json(ds.with_name("all.version.json"))["tag"] == "v1.1"
    # The same name again is refused before any work, and the tag still names the first commit.
    again = cs("data", "version", "--dataset", ds, "--image-root", root, "--tag", "v1.1", env=GIT_ENV)
    assert again.returncode == 1 and "already exists" in again.stderr, again.stderr
    assert git(tmp, "rev-parse", "v1.1^{commit}") == out["git_commit"]


def test_tag_without_git_is_kept_in_the_record_and_read_by_the_trainer(dataset, cs, tmp_path):
    from chickenseg_model.train.dataset_version import dataset_version
    tmp, ds, root = dataset
    val = ds.with_name("val.json")
    shutil.copy(ds, val)
    proc = cs("--json", "data", "version", "--dataset", ds, "--dataset", val, "--image-root", root, "--no-dvc",
              "--tag", "v2", env=dict(GIT_ENV, GIT_CEILING_DIRECTORIES=str(tmp.parent)))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["tag"] == "v2" and out["git_commit"] is None
    # What a training run records: the C++ tool's record (named after the first dataset, listing
    # both), not the file hash: train and val both resolve to it.
    v = dataset_version(ds, val)
    for side in ("train", "val"):
        assert v[side]["method"] == "manifest", v[side]
        assert v[side]["version_id"] == out["version_id"] and v[side]["tag"] == "v2"
        assert Path(v[side]["record"]) == ds.with_name("all.version.json")
    for bad in ("-x", "v1..2", "a/b", "v1 2", "x" * 101, "v1.lock"):
        r = cs("data", "version", "--dataset", ds, "--image-root", root, "--no-dvc", "--tag", bad)
        assert r.returncode == 1 and "--tag" in r.stderr, (bad, r.stderr)
