"""The annotator's page in a real browser: tests/browser/annotate_page.mjs (Playwright on Debian's
chromium) clicks on an object, sees its mask appear over the clicked pixel, deletes a pre-filled
mask, accepts, marks the next image "no chicken"; this test then checks the LabelMe files on disk.
Needs `npm ci` in tests/browser (scripts/test runs it) and chromium."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from annotate_support import Server, blob_package, far_corners, polygons_contain, sample_folder, write_prefill

pytestmark = pytest.mark.model

BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_annotate_page_in_chromium(tmp_path_factory):
    assert (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(), \
        f"playwright-core is not installed: run `npm ci` in {BROWSER_DIR} (scripts/test does)"
    assert Path(CHROMIUM).exists(), "chromium not found: apt-get install chromium (scripts/test does)"
    package = blob_package(tmp_path_factory)
    root = tmp_path_factory.mktemp("browser")
    folder = sample_folder(root, count=3)
    first, second = sorted(p.name for p in folder.iterdir())[:2]
    width, height = Image.open(folder / first).size

    # The click point comes from the model's own candidates (a random tiny model has no chicken
    # detector), so that a mask must answer it; the pre-filled masks sit in corners away from it.
    probe = Server(folder, package)
    try:
        point = tuple(probe.best_candidate(first)["point"])
    finally:
        probe.stop()
    squares = far_corners(point, width, height)
    write_prefill(folder / (Path(first).stem + ".json"), first, width, height, squares)

    server = Server(folder, package)
    try:
        config = {"url": server.url, "chromium": CHROMIUM,
                  "first": {"file": first, "click": list(point), "prefilled": [[s[0] + 3, s[1] + 3] for s in squares]},
                  "second": {"file": second}}
        r = subprocess.run(["node", str(BROWSER_DIR / "annotate_page.mjs"), json.dumps(config)],
                           capture_output=True, text=True, timeout=240, cwd=BROWSER_DIR)
        assert r.returncode == 0, r.stdout + r.stderr
        page = json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        code, err = server.stop()
    assert code == 0, err

    assert page["progress_after_accept"] == "1 of 3 done" and page["progress"] == "2 of 3 done"
    # First image: the clicked mask and the pre-filled mask not deleted, exactly as on the page.
    saved = json.loads((folder / (Path(first).stem + ".json")).read_text())
    assert saved["flags"] == {"unstable_mask": True, "reviewed": True}
    assert saved["imagePath"] == first
    polygons = [[c for pt in s["points"] for c in pt] for s in saved["shapes"]]
    assert len(page["first_shapes"]) == 2
    on_page = [p for s in page["first_shapes"] for p in s["polygons"]]
    assert [len(p) for p in on_page] == [len(p) for p in polygons]
    assert all(abs(a - b) <= 0.006 for p, q in zip(on_page, polygons) for a, b in zip(p, q))  # 1/100 px rounding
    assert squares[0] not in polygons and squares[1] in polygons  # the first square was deleted
    assert any(polygons_contain([p], *point, width, height) for p in polygons if p != squares[1])
    assert saved["shapes"][-1]["description"].startswith("click")
    # Second image: no chicken, a confirmed negative with no shapes.
    negative = json.loads((folder / (Path(second).stem + ".json")).read_text())
    assert negative["shapes"] == [] and negative["flags"] == {"confirmed_negative": True, "reviewed": True}
    # The third image was not touched.
    third = sorted(p.name for p in folder.iterdir() if p.suffix != ".json")[2]
    assert not (folder / (Path(third).stem + ".json")).exists()
