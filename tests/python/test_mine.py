"""`chickenseg mine` end to end on a tiny model fine-tuned so that its presence and scores vary
from image to image (test_predict.py's `trained` fixture): the scores against `chickenseg
predict`, the ranking on the real values, the outputs (LabelMe files opened by the real
`labelme` package, mining.json, a self-contained mining.html), near-duplicate removal, re-runs
and a resumed kill, shards joined by --merge equal to one run, the shards as a job array through
submitit's local executor (`--use-cluster 1`) equal to one run, and bad inputs."""
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import chickenseg_bin
from test_predict import as_nobody, bad_images, tool, trained  # noqa: F401 (trained: a fixture, built once here)

pytestmark = pytest.mark.model


# The trained model is sure of presence (0 or 1) and of its masks (stability 0.96 to 0.99 with
# the default delta): a stricter minimum stability makes about half the positives candidates.
STRICT = ("--min-stability", "0.98")


def mine(*args, check=True):
    return tool("--json", "mine", *args, check=check)


def tree_digest(folder):
    """Every file under `folder` with its SHA-256, size and mode, and every folder."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        st = p.stat()
        out[str(p.relative_to(folder))] = (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir",
                                           st.st_size if p.is_file() else 0, st.st_mode, st.st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def inbox(trained, tmp_path_factory):
    """The trained model's validation images, half of them in a subfolder (the inbox is read
    recursively)."""
    root = tmp_path_factory.mktemp("inbox") / "inbox"
    (root / "cam2").mkdir(parents=True)
    for i, p in enumerate(sorted(Path(trained["images"]).glob("val_*.png"))):
        shutil.copy(p, (root / "cam2" if i % 2 else root) / p.name)
    return root


@pytest.fixture(scope="module")
def single(trained, inbox, tmp_path_factory):
    """One whole run over the inbox with --limit 6, and what it left."""
    out = tmp_path_factory.mktemp("single") / "to_annotate"
    before = tree_digest(inbox)
    r = mine("--package", trained["package"], "--images", inbox, "--out", out, "--limit", "6", *STRICT)
    assert tree_digest(inbox) == before  # the inbox is never written to
    return {"out": out, "summary": json.loads(r.stdout), "report": json.loads((out / "mining.json").read_text())}


def images_of(report):
    return {im["file"]: im for im in report["images"]}


def test_scores_are_the_engines_and_the_ranking_follows_them(trained, inbox, single, tmp_path):
    report, summary = single["report"], single["summary"]
    n = len(list(inbox.rglob("*.png")))
    assert summary["images"] == n and summary["scored"] == n and summary["failed"] == 0
    images = images_of(report)
    assert len(images) == n and report["counts"]["scored"] == n
    settings = report["settings"]
    t, lo, hi = settings["thresholds"]["score"], *settings["presence_band"]
    margin, smin = settings["instance_margin"], settings["stability_min"]

    # Presence and kept detections equal what `chickenseg predict` finds with the same package.
    tool("predict", "--package", trained["package"], "--images", inbox, "--out", tmp_path / "p.json")
    predicted = json.loads((tmp_path / "p.presence.json").read_text())
    results = json.loads((tmp_path / "p.json").read_text())
    file_of = {im["id"]: im["file_name"] for im in predicted["images"]}
    kept = {f: 0 for f in file_of.values()}
    for r in results:
        kept[file_of[r["image_id"]]] += 1
    for image_id, p in predicted["presence"].items():
        f = file_of[int(image_id)]
        assert abs(images[f]["presence"] - p) <= 1e-6, f
        assert images[f]["kept"] == kept[f], f
    assert sum(kept.values()) > 0  # the model finds chickens: masks, stability and pre-fill are exercised
    assert all(r["score"] >= t for r in results)  # the keep threshold mine reports is predict's

    # Each image's terms and reasons follow from its values; the priority is their mean.
    presences = []
    for f, im in images.items():
        p = im["presence"]
        presences.append(p)
        assert abs(im["terms"]["presence"] - (1 - abs(2 * p - 1))) <= 1e-6
        assert ("ambiguous_presence" in im["reasons"]) == (lo <= p <= hi)
        assert ("borderline_instance" in im["reasons"]) == (im["borderline"] > 0)
        if im["borderline"]:
            assert 0 <= im["nearest_gap"] < margin
            assert abs(im["terms"]["instance"] - (1 - im["nearest_gap"] / margin)) <= 1e-5
        if im["kept"]:
            assert 0 <= im["min_stability"] <= 1
            assert abs(im["terms"]["mask"] - (1 - im["min_stability"])) <= 1e-6
            assert ("unstable_mask" in im["reasons"]) == (im["min_stability"] < smin)
        else:
            assert im["min_stability"] is None and im["terms"]["mask"] == 0 and "unstable_mask" not in im["reasons"]
        assert abs(im["priority"] - sum(im["terms"].values()) / 3) <= 1e-6
    assert max(presences) - min(presences) > 0.05  # real variation, not one value everywhere
    assert any(im["kept"] for im in images.values())

    # The chosen: candidates in priority order (ties by name), the first 6 that are not
    # near-duplicates of one chosen before them.
    candidates = sorted((im for im in images.values() if im["reasons"]), key=lambda im: (-im["priority"], im["file"]))
    assert len(candidates) >= 6 and report["counts"]["candidates"] == len(candidates)
    assert all(im["reasons"] == ["unstable_mask"] for im in candidates)  # what the model is unsure of here
    skipped = {d["file"] for d in report["duplicates"]}
    expected = [im["file"] for im in candidates if im["file"] not in skipped][:6]
    chosen = report["chosen"]
    assert [c["file"] for c in chosen] == expected
    assert len(chosen) >= 3 and [c["rank"] for c in chosen] == list(range(1, len(chosen) + 1))
    assert all(chosen[i]["priority"] >= chosen[i + 1]["priority"] for i in range(len(chosen) - 1))
    assert len({c["priority"] for c in chosen}) > 1  # ranked on distinct values
    last = chosen[-1]["priority"]
    assert all(im["priority"] <= last or im["file"] in skipped or im["file"] in expected for im in candidates)
    # The histogram counts every scored image in its presence bin.
    hist = report["presence_histogram"]["counts"]
    assert sum(hist) == n
    assert hist == list(np.histogram(np.clip(presences, 0, 1 - 1e-9), bins=20, range=(0, 1))[0])


def test_outputs_labelme_links_and_html(trained, inbox, single):
    from labelme import LabelFile  # the real package (PyPI), as annotators use it

    out, report = single["out"], single["report"]
    for c in report["chosen"]:
        image = out / c["file"]
        source = inbox / c["file"]
        assert image.read_bytes() == source.read_bytes()
        assert image.stat().st_ino == source.stat().st_ino and c["linked"]  # one file system: a hard link
        lf = LabelFile(filename=str(out / c["labelme"]))  # labelme's own loader validates the file
        assert (out / c["labelme"]).parent.joinpath(lf.imagePath).resolve() == image.resolve()
        assert lf.flags == {r: r in c["reasons"] for r in ("ambiguous_presence", "borderline_instance", "unstable_mask")}
        assert len({s["group_id"] for s in lf.shapes}) <= c["kept"] and (c["kept"] == 0) == (not lf.shapes)
        for s in lf.shapes:
            assert s["label"] == "chicken" and s["shape_type"] == "polygon"
            assert s["description"].startswith("score ") and "mined: " + ", ".join(c["reasons"]) in s["description"]
    # Only the chosen images (and their LabelMe files) were written.
    written = {str(p.relative_to(out)) for p in out.rglob("*.png")}
    assert written == {c["file"] for c in report["chosen"]}
    state = [json.loads(x) for x in (out / "mined.jsonl").read_text().splitlines()]
    assert [s["file"] for s in state] == [c["file"] for c in report["chosen"]]

    page = (out / "mining.html").read_text()
    assert page.count("data:image/jpeg;base64,") == len(report["chosen"])
    for c in report["chosen"]:
        assert c["file"] in page
    low = page.lower()
    assert "<script" not in low and "http://" not in low and "https://" not in low and " src=\"data:" in low
    assert "src=\"/" not in low and "href=\"http" not in low and "@import" not in low and "url(" not in low
    assert "Presence over the inbox" in page and page.count("class=\"bar\"") == 20


def test_exact_duplicate_is_removed_and_no_dedup_keeps_it(trained, inbox, single, tmp_path):
    top = single["report"]["chosen"][0]["file"]
    box = tmp_path / "inbox"
    shutil.copytree(inbox, box)
    (box / "copies").mkdir()
    shutil.copy(box / top, box / "copies" / "again.png")
    mine("--package", trained["package"], "--images", box, "--out", tmp_path / "o", "--limit", "0", *STRICT)
    report = json.loads((tmp_path / "o" / "mining.json").read_text())
    chosen = [c["file"] for c in report["chosen"]]
    assert top in chosen and "copies/again.png" not in chosen
    assert {"file": "copies/again.png", "duplicate_of": top, "distance": 0} in report["duplicates"]
    assert images_of(report)["copies/again.png"]["dhash"] == images_of(report)[top]["dhash"]
    mine("--package", trained["package"], "--images", box, "--out", tmp_path / "o2", "--limit", "0", "--no-dedup",
         *STRICT)
    report = json.loads((tmp_path / "o2" / "mining.json").read_text())
    assert {top, "copies/again.png"} <= {c["file"] for c in report["chosen"]} and report["duplicates"] == []


def test_rerun_skips_mined_images(trained, inbox, single, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(single["out"], out)
    first = [c["file"] for c in single["report"]["chosen"]]
    r = mine("--package", trained["package"], "--images", inbox, "--out", out, "--limit", "3", *STRICT)
    summary = json.loads(r.stdout)
    assert summary["already_mined"] == len(first) and summary["scored"] == summary["images"] - len(first)
    report = json.loads((out / "mining.json").read_text())
    second = [c["file"] for c in report["chosen"]]
    assert 1 <= len(second) <= 3 and not set(second) & set(first)
    assert not set(first) & set(images_of(report))  # not even scored again
    state = [json.loads(x)["file"] for x in (out / "mined.jsonl").read_text().splitlines()]
    assert state == first + second


def test_killed_run_resumes_to_the_same_result(trained, inbox, single, tmp_path):
    out = tmp_path / "o"
    full = (single["out"] / "mine-scores.jsonl").read_text().splitlines(keepends=True)
    assert len(full) > 8 and json.loads(full[-1]) == {"complete": True}
    # What a kill while scoring leaves: the header, some images, half of the next line.
    out.mkdir()
    (out / "mine-scores.jsonl").write_text("".join(full[:5]) + full[5][: len(full[5]) // 2])
    r = mine("--package", trained["package"], "--images", inbox, "--out", out, "--limit", "6", *STRICT)
    summary = json.loads(r.stdout)
    n = single["summary"]["images"]
    assert summary["resumed"] == 4 and summary["scored"] == n - 4
    got, want = json.loads((out / "mining.json").read_text()), single["report"]
    assert got["chosen"] == want["chosen"] and got["images"] == want["images"] and got["counts"] == want["counts"]
    lines = (out / "mine-scores.jsonl").read_text().splitlines()
    assert sorted(lines) == sorted(x.rstrip("\n") for x in full)
    # A run with other settings does not resume someone else's unfinished run.
    (out / "mine-scores.jsonl").write_text("".join(full[:5]))
    r = mine("--package", trained["package"], "--images", inbox, "--out", out, "--instance-margin", "0.2", check=False)
    assert r.returncode == 1 and "unfinished mining run with other settings" in r.stderr


def test_shards_merged_equal_one_run(trained, inbox, single, tmp_path):
    dirs = []
    total = 0
    for k in (1, 2, 3):
        d = tmp_path / f"shard{k}"
        r = mine("--package", trained["package"], "--images", inbox, "--out", d, "--shard", f"{k}/3", *STRICT)
        s = json.loads(r.stdout)
        assert s["scores_only"] and s["chosen"] == 0 and not (d / "mining.json").exists()
        total += s["scored"]
        dirs.append(d)
    assert total == single["summary"]["images"]
    r = mine("--merge", *dirs, "--out", tmp_path / "merged", "--limit", "6")
    assert json.loads(r.stdout)["chosen"] == len(single["report"]["chosen"])
    got, want = json.loads((tmp_path / "merged" / "mining.json").read_text()), single["report"]
    for key in ("chosen", "images", "counts", "duplicates", "presence_histogram"):
        assert got[key] == want[key], key
    for c in want["chosen"]:
        assert (tmp_path / "merged" / c["labelme"]).read_bytes() == (single["out"] / c["labelme"]).read_bytes()

    r = mine("--merge", dirs[0], dirs[2], "--out", tmp_path / "m2", check=False)
    assert r.returncode == 1 and "shard(s) 2/3 missing" in r.stderr
    r = mine("--merge", dirs[0], dirs[0], dirs[1], dirs[2], "--out", tmp_path / "m3", check=False)
    assert r.returncode == 1 and "given twice" in r.stderr
    r = mine("--merge", single["out"], dirs[0], "--out", tmp_path / "m4", check=False)
    assert r.returncode == 1 and "another split" in r.stderr


def cluster(*args, check=True):
    return mine(*args, "--use-cluster", "1", "--cluster-backend", "local", "--wait", check=check)


def test_cluster_array_merged_equals_one_run(trained, inbox, single, tmp_path):
    out = tmp_path / "to_annotate"
    r = cluster("--package", trained["package"], "--images", inbox, "--out", out, "--limit", "6", *STRICT,
                "--shards", "3")
    doc = json.loads(r.stdout)
    assert doc["cluster"]["backend"] == "local" and doc["cluster"]["shards"] == 3
    assert doc["chosen"] == len(single["report"]["chosen"]) and doc["failed"] == 0
    got, want = json.loads((out / "mining.json").read_text()), single["report"]
    assert want["chosen"] and want["images"]  # equal because both chose something, not because both are empty
    for key in ("chosen", "images", "counts", "duplicates", "presence_histogram"):
        assert got[key] == want[key], key
    for c in want["chosen"]:
        assert (out / c["labelme"]).read_bytes() == (single["out"] / c["labelme"]).read_bytes()
    # Every task ran this binary on its own slice, with its own log.
    work = out / ".mine-cluster"  # hidden: `data convert` of the folder does not read it
    request = json.loads((work / "request.json").read_text())
    assert Path(request["bin"]).resolve() == chickenseg_bin().resolve()
    assert "--limit" not in request["shard_args"] and str(inbox) in request["shard_args"]
    for k in (1, 2, 3):
        header = json.loads((work / "shards" / str(k) / "mine-scores.jsonl").read_text().splitlines()[0])
        assert header["shard"] == f"{k}/3"
    assert len(list((work / "slurm").glob("*_log.err"))) == 3
    r = tool("--json", "data", "convert", out, "--out", tmp_path / "reviewed.json")
    assert json.loads(r.stdout)["images"] == 0  # nothing reviewed yet, and no file of the cluster's read


def test_cluster_failing_shard_is_named_with_its_log(trained, inbox, tmp_path):
    out = tmp_path / "to_annotate"
    shards = out / ".mine-cluster" / "shards"
    shards.mkdir(parents=True)
    (shards / "2").write_text("")  # a file where shard 2 writes its folder: that shard fails
    r = cluster("--package", trained["package"], "--images", inbox, "--out", out, "--shards", "2", check=False)
    assert r.returncode == 1, r.stderr
    assert "1 of 2 shards failed, nothing merged" in r.stderr and "shard 2/2 failed" in r.stderr, r.stderr
    assert str(shards / "2") in r.stderr and "Traceback" not in r.stderr
    log = Path(re.search(r"log: (\S+)", r.stderr).group(1))
    assert log.parent == out / ".mine-cluster" / "slurm" and "cannot create the output folder" in log.read_text()
    assert not (out / "mining.json").exists() and (shards / "1" / "mine-scores.jsonl").exists()


def test_cluster_dry_run_and_usage(trained, inbox, tmp_path):
    out = tmp_path / "dry"
    args = ("--package", trained["package"], "--images", inbox, "--out", out)
    r = mine(*args, "--use-cluster", "1", "--shards", "3", "--dry-run", "slurm.partition=cpu", "slurm.timeout_min=30")
    script = Path(json.loads(r.stdout)["sbatch"]).read_text()
    for line in ("#SBATCH --array=0-2", "#SBATCH --partition=cpu", "#SBATCH --time=30",
                 "#SBATCH --job-name=chickenseg-mine", "#SBATCH --gpus-per-node=1"):
        assert line in script, line
    assert not (out / ".mine-cluster" / "shards").exists()  # nothing ran
    r = mine(*args, "--use-cluster", "1", "--shards", "3", "--dry-run", "slurm.partitio=cpu", check=False)
    assert r.returncode == 1 and "did you mean `slurm.partition`" in r.stderr and "Traceback" not in r.stderr
    for bad in (["--shards", "0"], ["--shards", "x"], [], ["--shards", "2", "--shard", "1/2"],
                ["--shards", "2", "partition=cpu"]):
        r = mine(*args, "--use-cluster", "1", *bad, check=False)
        assert r.returncode == 2, (bad, r.stderr)
    for bad in (["--shards", "2"], ["--wait"], ["slurm.partition=cpu"]):
        r = mine(*args, *bad, check=False)
        assert r.returncode == 2 and "--use-cluster 1" in r.stderr, (bad, r.stderr)


def cluster_request(tmp_path, **fields):
    spec = tmp_path / "mine-cluster.json"
    spec.write_text(json.dumps({"schema": "chickenseg.mine-cluster/1", "bin": str(chickenseg_bin()),
                                "out": str(tmp_path / "o"), "work": str(tmp_path / "o" / ".mine-cluster"), "shards": 2, "shard_args": [], "backend": "local",
                                "num_gpus": 0, **fields}))
    return spec


def test_cluster_without_submitit_is_one_line(tmp_path, monkeypatch, capsys):
    import sys

    from chickenseg_model.cli import main

    monkeypatch.setitem(sys.modules, "submitit", None)  # what `import submitit` meets when it is missing
    assert main(["mine-cluster", str(cluster_request(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --use-cluster 1 needs submitit") and err.count("\n") == 1, err


def test_cluster_binary_missing_on_the_node_is_named(tmp_path, capsys):
    from chickenseg_model.cli import main

    spec = cluster_request(tmp_path, bin=str(tmp_path / "nowhere" / "chickenseg"), shards=1, wait=True)
    assert main(["mine-cluster", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "shard 1/1 failed (error: cannot run " in err and str(tmp_path / "nowhere") in err, err
    assert "Traceback" not in err


def test_bad_images_are_reported_and_skipped(trained, tmp_path):
    bad = bad_images(tmp_path / "in")
    # A name HTML must escape (and a picture that is not flat like good.png, whose dHash it would
    # share), and every image a candidate (the band is all of [0, 1]).
    noise = np.random.default_rng(1).integers(0, 255, (40, 60, 3), np.uint8)
    Image.fromarray(noise).save(tmp_path / "in" / "a<b>&'\".png")
    r = mine("--package", trained["package"], "--images", tmp_path / "in", "--out", tmp_path / "o",
             "--presence-band", "0,1", check=False)
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout)
    assert summary["failed"] == len(bad) and summary["scored"] == 2 and summary["chosen"] == 2
    assert {e["file"] for e in summary["errors"]} == bad
    assert f"{len(bad)} images failed" in r.stderr
    for name in bad:
        assert str(tmp_path / "in" / name) in r.stderr, name
    report = json.loads((tmp_path / "o" / "mining.json").read_text())
    assert {f["file"] for f in report["failed"]} == bad
    page = (tmp_path / "o" / "mining.html").read_text()
    assert "a&lt;b&gt;&amp;&#39;&quot;.png" in page or "a&lt;b&gt;&amp;&#x27;&quot;.png" in page
    assert "a<b>" not in page
    # A name that is not UTF-8 (JSON cannot hold it, so no run could name it again) fails that image.
    latin1 = tmp_path / "latin1"
    latin1.mkdir()
    Image.fromarray(noise).save(os.fsdecode(bytes(latin1) + b"/caf\xe9.png"))
    Image.fromarray(noise[::-1]).save(latin1 / "ok.png")
    r = mine("--package", trained["package"], "--images", latin1, "--out", tmp_path / "o_latin1", "--presence-band",
             "0,1", check=False)
    s = json.loads(r.stdout)
    assert r.returncode == 1 and s["failed"] == 1 and s["chosen"] == 1 and "not UTF-8" in r.stderr, r.stderr
    # The failed images are retried by a re-run; the chosen are not mined twice.
    r = mine("--package", trained["package"], "--images", tmp_path / "in", "--out", tmp_path / "o",
             "--presence-band", "0,1", check=False)
    s = json.loads(r.stdout)
    assert r.returncode == 1 and s["already_mined"] == 2 and s["failed"] == len(bad) and s["chosen"] == 0


def test_refused_outputs_and_missing_package(trained, inbox, tmp_path):
    before = tree_digest(inbox)
    for out in (inbox, inbox / "to_annotate", inbox / "cam2" / "x"):
        r = mine("--package", trained["package"], "--images", inbox, "--out", out, check=False)
        assert r.returncode == 1 and "inside the inbox" in r.stderr, r.stderr
    assert tree_digest(inbox) == before
    r = mine("--package", tmp_path / "nope", "--images", inbox, "--out", tmp_path / "o", check=False)
    assert r.returncode == 2 and "nope" in r.stderr
    (tmp_path / "empty_pkg").mkdir()
    r = mine("--package", tmp_path / "empty_pkg", "--images", inbox, "--out", tmp_path / "o", check=False)
    assert r.returncode == 1 and "manifest" in r.stderr, r.stderr
    r = mine("--package", trained["package"], "--images", inbox, "--out", tmp_path / "o", "--shard", "4/3",
             check=False)
    assert r.returncode == 1 and "expected K/N" in r.stderr
    r = mine("--package", trained["package"], "--images", inbox, "--out", tmp_path / "o", "--presence-band",
             "0.7,0.2", check=False)
    assert r.returncode == 1 and "presence band" in r.stderr


def test_unwritable_output_is_refused_before_any_work(trained, inbox):
    base = Path("/tmp") / f"chickenseg_mine_perm_{os.getpid()}"  # pytest's tmp folders are private
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(mode=0o755)
    try:
        pkg, images = base / "pkg", base / "images"
        shutil.copytree(trained["package"], pkg)
        shutil.copytree(inbox, images)
        locked = base / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        for p in (base, pkg, images):
            for q in [p, *p.rglob("*")]:
                q.chmod(q.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if q.is_dir() else 0))
        for out in (locked, locked / "to_annotate"):
            r = subprocess.run(as_nobody([str(chickenseg_bin()), "mine", "--package", str(pkg), "--images",
                                          str(images), "--out", str(out)]), capture_output=True, text=True)
            assert r.returncode == 1, r.stderr
            assert str(locked) in r.stderr and ("cannot write" in r.stderr or "cannot create" in r.stderr), r.stderr
            assert "mine:" not in r.stderr  # refused before any image was run
        assert list(locked.iterdir()) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_sigkill_mid_run_resumes_to_the_uninterrupted_result(trained, inbox, tmp_path):
    # 384 images (the inbox 16 times over), so that the run is still scoring when it is killed.
    box = tmp_path / "inbox"
    for k in range(16):
        shutil.copytree(inbox, box / f"day{k:02d}")
    n = len(list(box.rglob("*.png")))
    args = ["--package", trained["package"], "--images", box, "--limit", "10", "--no-thumbnails", *STRICT]
    mine(*args, "--out", tmp_path / "full")
    out = tmp_path / "killed"
    proc = subprocess.Popen([str(chickenseg_bin()), "--quiet", "mine", *map(str, args), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scores = out / "mine-scores.jsonl"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if scores.exists() and scores.read_bytes().count(b"\n") >= 20:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    done = scores.read_bytes().count(b"\n") - 1  # the header
    assert 20 - 1 <= done < n and not (out / "mining.json").exists()
    r = mine(*args, "--out", out)
    summary = json.loads(r.stdout)
    assert summary["resumed"] == done and summary["scored"] == n - done  # a cut-off line is redone
    got, want = (json.loads(p.read_text()) for p in (out / "mining.json", tmp_path / "full" / "mining.json"))
    for key in ("chosen", "images", "counts", "duplicates"):
        assert got[key] == want[key], key


def test_copies_where_a_hard_link_cannot_be_made_or_with_copy(trained, inbox, single, tmp_path):
    want = [c["file"] for c in single["report"]["chosen"]]
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == inbox.stat().st_dev:
        pytest.skip("no tmpfs at /dev/shm on another file system than the inbox: the link fallback is not exercised")
    places = {"other file system": (Path(tempfile.mkdtemp(dir=shm)) / "o", ()),
              "--copy": (tmp_path / "o", ("--copy",))}
    try:
        for what, (out, extra) in places.items():
            r = mine("--package", trained["package"], "--images", inbox, "--out", out, "--limit", "6", *STRICT, *extra)
            assert json.loads(r.stdout)["linked"] == 0, what
            report = json.loads((out / "mining.json").read_text())
            assert [c["file"] for c in report["chosen"]] == want, what
            for c in report["chosen"]:
                assert not c["linked"]
                assert (out / c["file"]).read_bytes() == (inbox / c["file"]).read_bytes()
                assert (out / c["file"]).stat().st_ino != (inbox / c["file"]).stat().st_ino
    finally:
        shutil.rmtree(places["other file system"][0].parent, ignore_errors=True)
