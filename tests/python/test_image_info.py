"""Cross-checks the core image code (src/core/image*.cpp) against PIL, and
SHA-256 against hashlib, through the test helper tests/cpp/tools/image_info_tool.

- every photo of ../shared/datasets/chicken-egg-yolo (read in place): our
  format, displayed width/height and EXIF orientation equal PIL's
  (Image.format, ImageOps.exif_transpose(...).size, getexif()[0x0112]);
- JPEGs written by PIL with each of the 8 EXIF orientations, in both byte
  orders: header sizes and decoded pixels equal PIL's exif_transpose;
- PNG (eXIf), WebP (VP8/VP8L/VP8X + EXIF), TIFF, BMP, GIF written by PIL;
- truncated and non-image files give the documented errors.
"""
import hashlib
import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[2]


def image_info_tool() -> Path:
    env = os.environ.get("CHICKENSEG_IMAGE_INFO_TOOL")
    if env:
        path = Path(env)
    else:
        binary = Path(os.environ.get("CHICKENSEG_BIN", ROOT / "build" / "chickenseg"))
        path = binary.parent / "tests" / "cpp" / "image_info_tool"
    if not path.exists():
        raise RuntimeError(f"image_info_tool not found at {path}: build the C++ tests (scripts/setup)")
    return path


def tool(*args, check=True):
    proc = subprocess.run([str(image_info_tool()), *map(str, args)], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"image_info_tool {args} failed ({proc.returncode}): {proc.stderr}")
    return proc


def infos(paths):
    return {Path(r["path"]): r for r in json.loads(tool("info", *paths).stdout)}


def decode(path, tmp_path) -> np.ndarray:
    out = tmp_path / (Path(path).name + ".decoded.png")
    tool("decode", path, out)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        return np.asarray(im).astype(int)


def pil_upright(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB")).astype(int)


def exif_bytes(orientation: int, big_endian: bool) -> bytes:
    """An APP1-style EXIF block whose IFD0 holds only Orientation."""
    e = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack(e + "I", 0)
    return b"Exif\x00\x00" + tiff


def quadrant_image(w=64, h=40) -> Image.Image:
    """Flat quadrants of different colours (JPEG keeps them nearly exact) plus a marker
    block in one corner, so every orientation gives a different picture."""
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2, : w // 2] = (200, 30, 30)
    a[: h // 2, w // 2 :] = (30, 200, 30)
    a[h // 2 :, : w // 2] = (30, 30, 200)
    a[h // 2 :, w // 2 :] = (220, 220, 40)
    a[:8, :8] = (255, 255, 255)
    return Image.fromarray(a)


def gradient_image(w=23, h=17) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([(x * 11 + y) % 256, (y * 13 + 3 * x) % 256, (x * y + 7) % 256], -1).astype(np.uint8)
    return Image.fromarray(a)


def pil_format_and_size(path):
    with Image.open(path) as im:
        orientation = im.getexif().get(0x0112, 1)
        return im.format, ImageOps.exif_transpose(im).size, orientation


# ---- the real photos ------------------------------------------------------------------


def test_every_real_photo_matches_pil(chicken_egg_yolo):
    paths = sorted((chicken_egg_yolo / "images").iterdir())
    assert len(paths) == 270
    ours = infos(paths)
    orientations = set()
    for path in paths:
        r = ours[path]
        assert "error" not in r, r
        fmt, size, orientation = pil_format_and_size(path)
        assert (r["format"], (r["width"], r["height"])) == (fmt, size), path
        assert r["exif_orientation"] == (orientation if 1 <= orientation <= 8 else 1), path
        assert r["trailing_bytes"] == 0, path
        orientations.add(r["exif_orientation"])
    # The set really exercises rotation (phone photos tagged 6, 8 and 3).
    assert {1, 3, 6, 8} <= orientations
    # Files named .png that hold JPEG bytes are detected by content.
    misnamed = [p for p in paths if p.suffix == ".png"]
    assert misnamed and all(ours[p]["format"] == "JPEG" and ours[p]["extension"] == "jpg" for p in misnamed)


def test_real_rotated_photos_decode_like_pil(chicken_egg_yolo, tmp_path):
    paths = sorted((chicken_egg_yolo / "images").iterdir())
    ours = infos(paths)
    rotated = [p for p in paths if ours[p]["exif_orientation"] != 1][:2]
    plain = [p for p in paths if ours[p]["exif_orientation"] == 1][:1]
    for path in rotated + plain:
        got, want = decode(path, tmp_path), pil_upright(path)
        assert got.shape == want.shape, path
        # stb_image and libjpeg differ by a level or two (IDCT, chroma upsampling).
        assert np.abs(got - want).mean() < 2.0, path


def test_sha256_of_real_photos_matches_hashlib(chicken_egg_yolo):
    paths = sorted((chicken_egg_yolo / "images").iterdir())[:60]
    ours = json.loads(tool("sha256", *paths).stdout)
    for path in paths:
        assert ours[str(path)] == hashlib.sha256(path.read_bytes()).hexdigest(), path


# ---- generated EXIF-rotated files -----------------------------------------------------


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_rotated_jpeg_matches_pil(tmp_path, orientation, big_endian):
    path = tmp_path / f"o{orientation}.jpg"
    quadrant_image().save(path, quality=95, exif=exif_bytes(orientation, big_endian))
    fmt, size, pil_orientation = pil_format_and_size(path)
    assert pil_orientation == orientation  # the file says what we meant

    r = infos([path])[path]
    assert (r["format"], r["exif_orientation"]) == ("JPEG", orientation)
    assert (r["width"], r["height"]) == size
    assert (r["stored_width"], r["stored_height"]) == (64, 40)

    got, want = decode(path, tmp_path), pil_upright(path)
    assert got.shape == want.shape
    error = np.abs(got - want).mean()
    assert error < 2.0
    # Any other orientation of the same stored pixels is far off: the match is not luck.
    with Image.open(path) as im:
        stored = np.asarray(im.convert("RGB")).astype(int)
    np.testing.assert_array_equal(orient(stored, orientation), want)
    for other in range(1, 9):
        candidate = orient(stored, other)
        if other != orientation and candidate.shape == got.shape:
            assert np.abs(got - candidate).mean() > 10 * error + 5, other


def orient(a: np.ndarray, orientation: int) -> np.ndarray:
    """The stored pixels `a` (rows, columns, channels) as displayed for an EXIF orientation."""
    return {
        1: lambda: a,
        2: lambda: a[:, ::-1],
        3: lambda: a[::-1, ::-1],
        4: lambda: a[::-1],
        5: lambda: a.transpose(1, 0, 2),
        6: lambda: np.rot90(a, -1),
        7: lambda: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda: np.rot90(a, 1),
    }[orientation]()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_png_exif_orientation_decodes_exactly_like_pil(tmp_path, orientation):
    path = tmp_path / f"o{orientation}.png"
    gradient_image().save(path, exif=exif_bytes(orientation, orientation % 2 == 0))
    fmt, size, pil_orientation = pil_format_and_size(path)
    assert pil_orientation == orientation
    r = infos([path])[path]
    assert (r["format"], r["width"], r["height"], r["exif_orientation"]) == ("PNG", *size, orientation)
    np.testing.assert_array_equal(decode(path, tmp_path), pil_upright(path))


# ---- other formats written by PIL -----------------------------------------------------


def _save_variants(tmp_path):
    base = gradient_image(37, 21)
    files = {}

    def save(name, image, **kw):
        files[name] = tmp_path / name
        image.save(files[name], **kw)

    save("progressive.jpg", quadrant_image(), progressive=True, quality=90)
    save("gray.jpg", base.convert("L"))
    save("cmyk.jpg", base.convert("CMYK"))
    save("rgb.png", base)
    save("rgba.png", base.convert("RGBA"))
    save("palette.png", base.convert("P"))
    save("gray16.png", base.convert("I;16"))
    save("rgb.bmp", base)
    save("palette.bmp", base.convert("P"))
    save("a.gif", base.convert("P"))
    save("lossy.webp", base, quality=90)
    save("lossless.webp", base, lossless=True)
    save("exif.webp", base, exif=exif_bytes(6, False))
    save("rotated.tif", base, tiffinfo={274: 8})
    save("plain.tif", base)
    return files


def test_every_format_pil_writes_matches_pil(tmp_path):
    files = _save_variants(tmp_path)
    ours = infos(files.values())
    for name, path in files.items():
        r = ours[path]
        assert "error" not in r, (name, r)
        fmt, size, orientation = pil_format_and_size(path)
        assert (r["format"], (r["width"], r["height"])) == (fmt, size), name
        assert r["exif_orientation"] == orientation, name
    assert ours[files["progressive.jpg"]]["progressive"] is True
    assert ours[files["exif.webp"]]["exif_orientation"] == 6
    assert ours[files["rotated.tif"]]["exif_orientation"] == 8


def test_lossless_formats_decode_exactly_like_pil(tmp_path):
    files = _save_variants(tmp_path)
    for name in ["rgb.png", "rgba.png", "palette.png", "rgb.bmp", "palette.bmp", "a.gif"]:
        np.testing.assert_array_equal(decode(files[name], tmp_path), pil_upright(files[name]), err_msg=name)
    for name in ["progressive.jpg", "gray.jpg", "cmyk.jpg"]:
        assert np.abs(decode(files[name], tmp_path) - pil_upright(files[name])).mean() < 2.0, name
    # WebP and TIFF: header only; decoding says so instead of guessing.
    proc = tool("decode", files["lossy.webp"], tmp_path / "x.png", check=False)
    assert proc.returncode == 1
    assert "cannot decode the pixels of a WEBP file" in proc.stderr


# ---- bad files ------------------------------------------------------------------------


def test_truncated_and_non_image_files_are_named_errors(chicken_egg_yolo, tmp_path):
    photo = sorted((chicken_egg_yolo / "images").glob("*.jpg"))[0]
    data = photo.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    html = tmp_path / "download.jpg"
    html.write_bytes(b"<!DOCTYPE html><html><body>404</body></html>")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    padded = tmp_path / "padded.jpg"
    padded.write_bytes(data + b"\0" * 10)
    png = tmp_path / "cut.png"
    gradient_image().save(png)
    png.write_bytes(png.read_bytes()[:-12])

    r = infos([cut, html, empty, padded, png])
    assert r[cut]["error"] == f"{cut}: truncated image: JPEG has no end-of-image marker (FF D9)"
    assert r[html]["error"].startswith(f"{html}: not an image (file starts with bytes 3c 21 44 4f 43 54 59 50")
    assert r[empty]["error"] == f"{empty}: empty file"
    assert r[padded]["trailing_bytes"] == 10
    assert r[png]["error"] == f"{png}: truncated image: PNG has no IEND chunk at its end"
    # Inputs are only read.
    assert photo.read_bytes() == data
