"""`chickenseg annotate` with the trained tiny model (test_predict.py's `trained`: bright discs are
its chickens), through its HTTP API: the token, the path checks, the request size limit,
click-to-mask from the model's candidate masks, saves (exactly what was sent, atomic, two at once),
a confirmed negative that `data convert` keeps as a negative, bad input; and the page in a real
browser (tests/browser/annotate_page.mjs: Playwright on Debian's chromium), checked on disk."""
import json
import os
import shutil
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from annotate_support import (TOKEN, Server, copy_images, far_corners, in_box, polygons_contain, tool, val_images,
                              write_prefill)
from test_predict import trained  # noqa: F401 (a fixture, built once here)

pytestmark = pytest.mark.model

BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def package(trained):
    return trained["package"]


@pytest.fixture(scope="module")
def discs(trained):
    return val_images(trained)


def single_disc(discs):
    """Images with exactly one chicken (disc)."""
    return [f for f, boxes in discs.items() if len(boxes) == 1]


@pytest.fixture(scope="module")
def served(trained, discs, package, tmp_path_factory):
    root = tmp_path_factory.mktemp("annotate")
    negatives = [f for f, boxes in discs.items() if not boxes]
    singles = single_disc(discs)
    folder = copy_images(trained, root / "to_annotate", singles[:4] + negatives[:2])
    (root / "secret.png").write_bytes(sorted(folder.iterdir())[0].read_bytes())
    os.symlink(root / "secret.png", folder / "escape.png")  # a link that leads out of the folder
    server = Server(folder, package)
    # Which image each test writes: the others' files stay as they were.
    yield {"server": server, "folder": folder, "root": root, "save": singles[2], "untouched": singles[3],
           "negative": negatives[0], "concurrent": negatives[1]}
    code, err = server.stop()
    assert code == 0, err


def images(served):
    status, r = served["server"].get("/api/images")
    assert status == 200, r
    return {im["file"]: im for im in r["images"]}


def size_of(folder, file):
    with Image.open(folder / file) as im:
        return im.size


def test_lists_the_folder_and_starts_at_zero_done(served):
    assert served["server"].url.startswith("http://127.0.0.1:")  # localhost unless told otherwise
    assert served["server"].url.endswith("/?token=" + TOKEN)
    listed = images(served)
    assert {f for f in listed if not f.startswith("escape")} == {p.name for p in served["folder"].iterdir()
                                                                 if p.name != "escape.png"}
    status, r = served["server"].get("/api/images")
    assert r["done"] == 0 and r["total"] == len(listed) and r["prompt"] == "chicken"
    for f, im in listed.items():
        if f != "escape.png":
            assert (im["width"], im["height"]) == size_of(served["folder"], f)
            assert im["labelme"] == Path(f).stem + ".json"


def test_a_missing_or_wrong_token_is_refused(served):
    s = served["server"]
    file = served["untouched"]
    for path in ("/", "/api/images", "/api/annotation?file=" + file, "/api/image/" + file):
        assert s.get(path, token=None)[0] == 403, path
        assert s.get(path, token="x" * len(TOKEN))[0] == 403, path
        assert s.get(path, token=TOKEN[:-1])[0] == 403, path
    assert s.post("/api/save", {"file": file, "shapes": [], "flags": {}}, token=None)[0] == 403
    assert s.post("/api/click", {"file": file, "x": 1, "y": 1}, token="wrong")[0] == 403
    assert not (served["folder"] / (Path(file).stem + ".json")).exists()
    status, page = s.get("/?token=" + TOKEN, token=None)
    assert status == 200 and b"chickenseg annotate" in page
    assert b"http://" not in page and b"https://" not in page  # nothing fetched from elsewhere
    assert s.get("/api/images?token=" + TOKEN, token=None)[0] == 200


@pytest.mark.parametrize("path", [
    "/api/image/../secret.png", "/api/image/%2e%2e/secret.png", "/api/image/%2E%2E%2Fsecret.png",
    "/api/image/./img0.png", "/api/image//etc/passwd", "/api/image/%2Fetc%2Fpasswd",
    "/api/annotation?file=../secret.png", "/api/annotation?file=%2e%2e%2fsecret.png",
    "/api/annotation?file=%2Fetc%2Fpasswd", "/api/candidates?file=..%2F..%2Fetc%2Fpasswd",
    "/api/image/escape.png", "/api/annotation?file=escape.png"])
def test_paths_outside_the_folder_are_refused(served, path):
    status, body = served["server"].get(path)
    assert status == 403, (path, status, body)
    assert "refused path" in body["error"]


def test_paths_outside_the_folder_are_refused_in_posts(served):
    s = served["server"]
    for file in ("../secret.png", "/etc/passwd", "escape.png", "a/../../secret.png"):
        assert s.post("/api/save", {"file": file, "shapes": [], "flags": {}})[0] == 403, file
        assert s.post("/api/click", {"file": file, "x": 1, "y": 1})[0] == 403, file
    assert not (served["root"] / "secret.json").exists()
    assert s.get("/api/annotation?file=nothere.png")[0] == 404


def test_an_oversize_body_is_refused(served):
    file = served["untouched"]
    big = json.dumps({"file": file, "shapes": [], "flags": {}, "pad": "x" * (5 << 20)}).encode()
    status, _ = served["server"].request("POST", "/api/save", raw_body=big)
    assert status == 413
    assert not (served["folder"] / (Path(file).stem + ".json")).exists()


def test_a_click_on_a_chicken_returns_its_mask(served, discs):
    s = served["server"]
    file = single_disc(discs)[0]
    box = discs[file][0]
    width, height = size_of(served["folder"], file)
    # The point comes from the model's own candidates (so that some mask must answer it); it lies
    # on the chicken.
    cand = s.best_candidate(file)
    x, y = cand["point"]
    assert in_box((x, y), box)
    status, r = s.post("/api/click", {"file": file, "x": x + 0.5, "y": y + 0.5})
    assert status == 200, r
    assert r["found"] and r["cached"]  # the candidates request computed the features
    assert r["query"] == cand["query"] and r["score"] == pytest.approx(cand["score"])
    assert r["label"] == "chicken" and r["polygons"]
    assert polygons_contain(r["polygons"], x, y, width, height)
    # The chicken's mask, not the image: about the disc's area, inside its box (with a margin).
    rles = mask_utils.frPyObjects([list(map(float, p)) for p in r["polygons"]], height, width)
    area = float(mask_utils.area(mask_utils.merge(rles)))
    assert 0.4 * box[2] * box[3] <= area <= 1.5 * box[2] * box[3]
    bx, by, bw, bh = mask_utils.toBbox(mask_utils.merge(rles)).tolist()
    assert bx >= box[0] - 3 and by >= box[1] - 3 and bx + bw <= box[0] + box[2] + 3 and by + bh <= box[1] + box[3] + 3
    # A second click on the image reuses its features.
    status, r2 = s.post("/api/click", {"file": file, "x": x, "y": y})
    assert status == 200 and r2["cached"] and r2["query"] == r["query"]


def test_a_click_where_no_candidate_mask_is_adds_nothing(served, discs):
    s = served["server"]
    file = single_disc(discs)[1]
    width, height = size_of(served["folder"], file)
    box = discs[file][0]
    # The image corner farthest from the chicken: background, which the trained model's masks leave out.
    corners = [(0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)]
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    x, y = max(corners, key=lambda c: (c[0] - cx) ** 2 + (c[1] - cy) ** 2)
    status, r = s.post("/api/click", {"file": file, "x": x, "y": y})
    assert status == 200 and r["found"] is False and "polygons" not in r and not r["cached"]


def test_a_click_outside_the_image_or_malformed_is_a_bad_request(served):
    s, file = served["server"], served["untouched"]
    for body in ({"file": file, "x": -1, "y": 2}, {"file": file, "x": 1e9, "y": 2},
                 {"file": file, "x": "3", "y": 2}, {"file": file}, {"x": 1, "y": 1}):
        status, r = s.post("/api/click", body)
        assert status == 400 and r["error"], body
    status, r = s.request("POST", "/api/click", raw_body=b"{not json")
    assert status == 400 and "JSON" in r["error"]


def test_save_writes_exactly_the_labelme_file_sent(served):
    s, folder = served["server"], served["folder"]
    file = served["save"]
    width, height = size_of(folder, file)
    shapes = [{"label": "chicken", "group_id": None, "description": "click (query 3)", "flags": {},
               "polygons": [[10, 10, 40, 10, 40, 30, 10, 30]]},
              {"label": "chicken", "group_id": 7, "description": "", "flags": {"occluded": True},
               "polygons": [[50, 50, 60, 50, 60, 60], [70, 70, 80, 70, 80, 80]]}]
    status, r = s.post("/api/save", {"file": file, "shapes": shapes, "flags": {"unstable_mask": True}})
    assert status == 200, r
    assert r["reviewed"] and not r["negative"] and r["done"] >= 1
    saved = json.loads((folder / (Path(file).stem + ".json")).read_text())
    assert saved["imagePath"] == file and (saved["imageWidth"], saved["imageHeight"]) == (width, height)
    assert saved["flags"] == {"reviewed": True, "unstable_mask": True}
    got = [(sh["label"], sh["group_id"], sh["description"], sh["flags"], sh["shape_type"],
            [c for pt in sh["points"] for c in pt]) for sh in saved["shapes"]]
    assert got == [("chicken", None, "click (query 3)", {}, "polygon", [10, 10, 40, 10, 40, 30, 10, 30]),
                   ("chicken", 7, "", {"occluded": True}, "polygon", [50, 50, 60, 50, 60, 60]),
                   ("chicken", 7, "", {"occluded": True}, "polygon", [70, 70, 80, 70, 80, 80])]
    status, back = s.annotation(file)
    assert status == 200 and back["exists"] and back["flags"]["reviewed"]
    assert [sh["polygons"] for sh in back["shapes"]] == [sh["polygons"] for sh in shapes]
    assert images(served)[file]["reviewed"]


def test_bad_saves_are_refused_and_leave_the_file(served):
    s, folder = served["server"], served["folder"]
    file = served["negative"]
    before = (folder / (Path(file).stem + ".json"))
    existed = before.read_bytes() if before.exists() else None
    bad = [{"file": file, "shapes": [{"label": "chicken", "polygons": [[0, 0, 1e6, 0, 5, 5]]}], "flags": {}},
           {"file": file, "shapes": [{"label": "", "polygons": [[0, 0, 5, 0, 5, 5]]}], "flags": {}},
           {"file": file, "shapes": [{"label": "chicken", "polygons": [[0, 0, 5]]}], "flags": {}},
           {"file": file, "shapes": [], "flags": {"reviewed": "yes"}},
           {"file": file, "shapes": [{"label": "chicken", "polygons": [[0, 0, 5, 0, 5, 5]]}],
            "flags": {"confirmed_negative": True}}]
    for body in bad:
        status, r = s.post("/api/save", body)
        assert status == 400 and r["error"], body
    assert (before.read_bytes() if before.exists() else None) == existed


def test_no_chicken_is_a_negative_that_data_convert_keeps(served, tmp_path):
    s, folder = served["server"], served["folder"]
    file = served["negative"]
    status, r = s.post("/api/save", {"file": file, "shapes": [], "flags": {"confirmed_negative": True}})
    assert status == 200 and r["negative"], r
    saved = json.loads((folder / (Path(file).stem + ".json")).read_text())
    assert saved["shapes"] == [] and saved["flags"] == {"confirmed_negative": True, "reviewed": True}
    # data convert: the image is in the dataset, with no annotation: a negative.
    convert_in = tmp_path / "labelme"
    convert_in.mkdir()
    for p in (folder / file, folder / (Path(file).stem + ".json")):
        (convert_in / p.name).write_bytes(p.read_bytes())
    tool("data", "convert", convert_in, "--out", tmp_path / "ds.json")
    ds = json.loads((tmp_path / "ds.json").read_text())
    ids = [im["id"] for im in ds["images"] if im["file_name"] == file]
    assert len(ids) == 1
    assert not [a for a in ds["annotations"] if a["image_id"] == ids[0]]


def test_two_concurrent_saves_leave_one_whole_file(served):
    s, folder = served["server"], served["folder"]
    file = served["concurrent"]
    bodies = [{"file": file, "flags": {"writer": w == 0},
               "shapes": [{"label": "chicken", "description": f"writer {w} save {k}",
                           "polygons": [[1 + k, 1, 20 + w, 1, 20 + w, 20, 1 + k, 20]] * (1 + w * 40)}]}
              for w in range(2) for k in range(15)]
    errors = []

    def writer(w):
        for body in bodies[w * 15:(w + 1) * 15]:
            status, r = s.post("/api/save", body)
            if status != 200:
                errors.append(r)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    saved = json.loads((folder / (Path(file).stem + ".json")).read_text())  # whole JSON, not interleaved
    description = saved["shapes"][0]["description"]
    sent = next(b for b in bodies if b["shapes"][0]["description"] == description)
    assert len(saved["shapes"]) == len(sent["shapes"][0]["polygons"])
    assert saved["flags"] == {**sent["flags"], "reviewed": True}
    assert not [p for p in folder.iterdir() if ".tmp." in p.name]  # no temporary left behind


def test_pre_filled_masks_are_read(served, package, tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    src = served["folder"] / served["untouched"]
    (folder / src.name).write_bytes(src.read_bytes())
    width, height = size_of(folder, src.name)
    write_prefill(folder / (src.stem + ".json"), src.name, width, height, far_corners((0, 0), width, height))
    server = Server(folder, package)
    try:
        status, r = server.annotation(src.name)
        assert status == 200 and r["exists"] and len(r["shapes"]) == 2
        assert r["flags"] == {"unstable_mask": True}
        assert r["shapes"][0]["description"] == "score 0.90"
    finally:
        server.stop()


def test_bad_folders_and_options_are_one_line_errors(package, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = tool("annotate", empty, "--package", package, check=False)
    assert r.returncode == 1 and "no image files" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = tool("annotate", tmp_path / "missing", "--package", package, check=False)
    assert r.returncode == 2
    (empty / "a.png").write_bytes(b"not a png")
    r = tool("annotate", empty, "--package", package, "--token", "short", check=False)
    assert r.returncode == 1 and "token" in r.stderr
    r = tool("annotate", empty, "--package", tmp_path, check=False)
    assert r.returncode == 1 and "manifest" in r.stderr.lower()


def test_a_bad_image_is_reported_not_a_crash(package, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    server = Server(folder, package)
    try:
        status, r = server.post("/api/click", {"file": "broken.png", "x": 0, "y": 0})
        assert status == 422 and "broken.png" in r["error"]
        status, r = server.get("/api/candidates?file=" + urllib.parse.quote("broken.png"))
        assert status == 422
        assert server.get("/api/images")[0] == 200  # still serving
    finally:
        code, _ = server.stop()
        assert code == 0


def test_the_page_in_chromium(trained, discs, package, tmp_path):
    """Playwright drives chromium (tests/browser/annotate_page.mjs): click on a chicken, a mask
    containing the clicked pixel appears; delete a pre-filled mask; accept; mark the next image
    "no chicken". The LabelMe files on disk are what the page showed."""
    assert (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(), \
        f"playwright-core is not installed: run `npm ci` in {BROWSER_DIR} (scripts/test does)"
    assert Path(CHROMIUM).exists(), "chromium not found: apt-get install chromium (scripts/test does)"
    chicken = single_disc(discs)[0]
    negative = next(f for f, boxes in discs.items() if not boxes)
    folder = tmp_path / "to_annotate"
    copy_images(trained, folder, [chicken], prefix="a_")
    copy_images(trained, folder, [negative], prefix="b_")
    copy_images(trained, folder, [single_disc(discs)[1]], prefix="c_")
    first, second, third = sorted(p.name for p in folder.iterdir())
    width, height = size_of(folder, first)

    # Where to click: the model's own candidate mask (so that a mask must answer), on the chicken;
    # the pre-filled masks (false positives to delete or keep) sit in corners away from it.
    probe = Server(folder, package)
    try:
        point = tuple(probe.best_candidate(first)["point"])
    finally:
        probe.stop()
    assert in_box(point, discs[chicken][0])
    squares = far_corners(point, width, height)
    write_prefill(folder / (Path(first).stem + ".json"), first, width, height, squares)

    server = Server(folder, package)
    try:
        config = {"url": server.url, "chromium": CHROMIUM,
                  "first": {"file": first, "click": list(point), "prefilled": [[q[0] + 3, q[1] + 3] for q in squares]},
                  "second": {"file": second}}
        r = subprocess.run(["node", str(BROWSER_DIR / "annotate_page.mjs"), json.dumps(config)],
                           capture_output=True, text=True, timeout=240, cwd=BROWSER_DIR)
        assert r.returncode == 0, r.stdout + r.stderr
        page = json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        code, err = server.stop()
    assert code == 0, err

    assert page["progress_after_accept"] == "1 of 3 done" and page["progress"] == "2 of 3 done"
    # First image: the pre-filled mask not deleted, then the clicked chicken, as on the page.
    saved = json.loads((folder / (Path(first).stem + ".json")).read_text())
    assert saved["flags"] == {"unstable_mask": True, "reviewed": True}
    assert saved["imagePath"] == first
    polygons = [[c for pt in q["points"] for c in pt] for q in saved["shapes"]]
    on_page = [p for q in page["first_shapes"] for p in q["polygons"]]
    assert [len(p) for p in on_page] == [len(p) for p in polygons]
    assert all(abs(a - b) <= 0.006 for p, q in zip(on_page, polygons) for a, b in zip(p, q))  # 1/100 px rounding
    assert polygons[0] == squares[1] and squares[0] not in polygons  # the first square was deleted
    clicked = polygons[1:]
    assert clicked and polygons_contain(clicked, *point, width, height)
    assert all(q["description"].startswith("click") for q in saved["shapes"][1:])
    # Second image: no chicken, a confirmed negative with no shapes.
    marked = json.loads((folder / (Path(second).stem + ".json")).read_text())
    assert marked["shapes"] == [] and marked["flags"] == {"confirmed_negative": True, "reviewed": True}
    assert not (folder / (Path(third).stem + ".json")).exists()  # never saved


def test_a_port_in_use_is_refused_not_shared(served, package):
    r = tool("annotate", served["folder"], "--package", package, "--port", served["server"].port, check=False)
    assert r.returncode == 1 and "cannot listen on 127.0.0.1:" in r.stderr
    assert served["server"].get("/api/images")[0] == 200  # the first server still answers
