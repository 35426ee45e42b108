"""`chickenseg report` rendered by a real browser: a small synthetic dataset (images
drawn with PIL, masks encoded with pycocotools) and predictions with every failure
type; the report page is rendered by headless Chromium and the screenshot must show
the overlays (their GT and prediction colours), every <img> must point at a file that
exists, text must be escaped, and a rerun must give the same bytes."""
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from pycocotools import mask as mask_util

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
GT_COLOUR = (0, 255, 0)
PRED_COLOUR = (255, 0, 255)


def rle(mask: np.ndarray) -> dict:
    r = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    r["counts"] = r["counts"].decode("ascii")
    return r


def rect_mask(h, w, x0, y0, x1, y1):
    m = np.zeros((h, w), dtype=np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def prediction(image_id, mask, score):
    x, y, w, h = mask_util.toBbox(mask_util.encode(np.asfortranarray(mask))).tolist()
    return {"image_id": image_id, "category_id": 1, "segmentation": rle(mask), "bbox": [x, y, w, h], "score": score}


def build_dataset(root: Path):
    """4 images: a clean one, a fragmented + bleeding one (1600 px wide, so it is
    downscaled), a negative with a ghost, and one whose name needs escaping."""
    images_dir = root / "images"
    images_dir.mkdir()
    specs = [
        (1, "clean.png", 400, 300),
        (2, "big/fragmented.png", 1600, 1000),
        (3, "empty-pen.png", 400, 300),
        (4, "hens & <b>coop</b>.png", 400, 300),
    ]
    images, annotations, preds = [], [], []
    ann_id = 1
    for image_id, name, w, h in specs:
        path = images_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        img = Image.new("RGB", (w, h), (120, 110, 100))
        ImageDraw.Draw(img).rectangle([w // 2, h // 2, w - 10, h - 10], fill=(60, 90, 140))
        img.save(path)
        images.append({"id": image_id, "file_name": name, "width": w, "height": h, "text_input": "chicken",
                       "is_instance_exhaustive": 1})

    def gt_rect(image_id, x0, y0, x1, y1):
        nonlocal ann_id
        annotations.append({"id": ann_id, "image_id": image_id, "category_id": 1,
                            "segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]],
                            "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
        ann_id += 1

    gt_rect(1, 50, 50, 150, 150)
    preds.append(prediction(1, rect_mask(300, 400, 50, 50, 150, 150), 0.95))
    # Image 2: GT split into two halves (fragmentation); a second GT with a mask
    # twice its size (bleeding).
    gt_rect(2, 100, 100, 500, 500)
    preds.append(prediction(2, rect_mask(1000, 1600, 100, 100, 300, 500), 0.9))
    preds.append(prediction(2, rect_mask(1000, 1600, 300, 100, 500, 500), 0.85))
    gt_rect(2, 900, 100, 1100, 300)
    preds.append(prediction(2, rect_mask(1000, 1600, 900, 100, 1300, 300), 0.8))
    # Image 3: negative, one ghost.
    preds.append(prediction(3, rect_mask(300, 400, 200, 100, 300, 200), 0.7))
    # Image 4: one chicken, found.
    gt_rect(4, 20, 20, 120, 120)
    preds.append(prediction(4, rect_mask(300, 400, 20, 20, 120, 120), 0.9))
    gt = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "chicken"}]}
    (root / "val.json").write_text(json.dumps(gt))
    (root / "predictions.json").write_text(json.dumps(preds))
    presence = {"schema": "chickenseg.presence/1", "presence": {"1": 0.97, "2": 0.93, "3": 0.6, "4": 0.9}}
    (root / "presence.json").write_text(json.dumps(presence))
    return images_dir


class ImgSources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        if tag == "script":
            self.scripts += 1


def colour_pixels(image: Image.Image, colour, tolerance=6) -> int:
    a = np.asarray(image.convert("RGB")).astype(int)
    return int((np.abs(a - np.array(colour)).max(axis=2) <= tolerance).sum())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from tests_python_support import run_tool

    root = tmp_path_factory.mktemp("report")
    images_dir = build_dataset(root)
    out = root / "report"
    proc = run_tool("report", "--gt", root / "val.json", "--pred", root / "predictions.json", "--presence",
                    root / "presence.json", "--image-root", images_dir, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root, out, proc


def test_report_lists_the_failures_worst_first(report):
    root, out, proc = report
    assert "ghosting" in proc.stdout and "report written to" in proc.stdout
    html = (out / "index.html").read_text()
    # Image 2 (fragmentation + bleeding + FP) before image 3 (ghost) before the clean ones.
    assert html.index("image 2:") < html.index("image 3:") < html.index("image 1:")
    assert "is split into 2 detections" in html
    assert "2.00x the area of GT 2" in html
    assert "on an image with no chicken" in html
    assert "presence 0.600" in html


def test_every_image_link_exists_and_text_is_escaped(report):
    root, out, _ = report
    html = (out / "index.html").read_text()
    parser = ImgSources()
    parser.feed(html)
    assert parser.scripts == 0, "the report must not need JavaScript"
    assert len(parser.sources) == 4
    for src in parser.sources:
        assert not src.startswith(("/", "http:", "https:", "file:")), src
        assert (out / src).is_file(), src
        with Image.open(out / src) as im:
            assert im.width <= 800
    with Image.open(out / "overlays" / "2.png") as im:
        assert im.size == (800, 500)
    assert "hens &amp; &lt;b&gt;coop&lt;/b&gt;.png" in html
    assert "<b>coop</b>" not in html


def test_rerun_gives_identical_bytes(report, tmp_path):
    from tests_python_support import run_tool

    root, out, _ = report
    again = tmp_path / "again"
    proc = run_tool("report", "--gt", root / "val.json", "--pred", root / "predictions.json", "--presence",
                    root / "presence.json", "--image-root", root / "images", "--out", again)
    assert proc.returncode == 0, proc.stderr
    # The page names its input files, which are the same paths here: every byte must match.
    assert (again / "index.html").read_bytes() == (out / "index.html").read_bytes()
    for png in (out / "overlays").iterdir():
        assert (again / "overlays" / png.name).read_bytes() == png.read_bytes()


def test_report_json_and_errors(report, tmp_path):
    from tests_python_support import run_tool

    root, out, _ = report
    proc = run_tool("--json", "report", "--gt", root / "val.json", "--pred", root / "predictions.json",
                    "--image-root", root / "images", "--out", tmp_path / "r", "--limit", "2")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["failures"]["fragmentation"] == {"failures": 1, "images": 1}
    assert doc["failures"]["bleeding"] == {"failures": 1, "images": 1}
    assert doc["failures"]["ghosting"] == {"failures": 1, "images": 1}
    assert doc["images_shown"] == 2
    assert sorted(p.name for p in (tmp_path / "r" / "overlays").iterdir()) == ["2.png", "3.png"]
    # A missing image: exit 1, the file named, no page written.
    empty = tmp_path / "no-images"
    empty.mkdir()
    bad = run_tool("report", "--gt", root / "val.json", "--pred", root / "predictions.json", "--image-root", empty,
                   "--out", tmp_path / "bad")
    assert bad.returncode == 1
    assert "fragmented.png" in bad.stderr
    assert not (tmp_path / "bad" / "index.html").exists()
    # Usage errors: exit 2.
    assert run_tool("report", "--gt", root / "val.json").returncode == 2


def require_chromium():
    """Fails (not skips: the rendering is what this suite checks) when chromium is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium is missing (not at {CHROMIUM}): this test renders the report in a real browser; "
                    "scripts/test installs it (Debian package `chromium`), or run "
                    "`apt-get install chromium` and rerun")


def test_a_missing_chromium_says_that_scripts_test_installs_it(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.fail.Exception, match="chromium is missing.*scripts/test installs it"):
        require_chromium()


def test_chromium_renders_the_page_with_its_overlays(report, tmp_path):
    root, out, _ = report
    require_chromium()
    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
           "--window-size=1200,2000", (out / "index.html").resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    with Image.open(shot) as im:
        assert im.size == (1200, 2000)
        # The page's own background and the overlays' outline colours are all there:
        # the overlays were loaded and drawn, not broken-image icons.
        assert colour_pixels(im, GT_COLOUR) > 500, "GT outlines not visible"
        assert colour_pixels(im, PRED_COLOUR) > 500, "prediction masks not visible"
        assert colour_pixels(im, (250, 250, 250), tolerance=0) > 100000, "page background missing"
