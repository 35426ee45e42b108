"""Cross-checks the core image code (src/core/image*.cpp, jpeg_decode.cpp) against PIL,
and SHA-256 against hashlib, through the test helper tests/cpp/tools/image_info_tool.

- every photo of ../shared/datasets/chicken-egg-yolo (read in place): our
  format, displayed width/height and EXIF orientation equal PIL's
  (Image.format, ImageOps.exif_transpose(...).size, getexif()[0x0112]), and the
  decoded pixels equal, byte for byte, what python/chickenseg_model/images.py::load_rgb
  gets (exif_transpose, then convert("RGB"));
- JPEGs written by PIL with each of the 8 EXIF orientations, in both byte
  orders, and in every variant PIL writes (progressive, subsampling, odd sizes,
  grey, CMYK, qualities): header sizes and decoded pixels equal PIL's, exactly;
- PNG (eXIf), WebP (VP8/VP8L/VP8X + EXIF), TIFF, BMP, GIF written by PIL;
- WebP pixels (libwebp's animation decoder, as Pillow 13 drives it): lossy at several
  qualities and odd sizes, lossless, with alpha, animated, EXIF-rotated: exactly load_rgb's
  bytes; damaged WebP files refused where PIL refuses them, decoded like PIL otherwise;
- truncated, corrupt and non-image files: refused where PIL refuses them (a named
  error, exit code 1), decoded like PIL where PIL accepts them; the decompression
  bomb limit is PIL's.
"""
import hashlib
import io
import json
import os
import struct
import subprocess
from concurrent.futures import ThreadPoolExecutor
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


def decode_rgb(path, out) -> np.ndarray:
    """decode_image(path) as a (height, width, 3) uint8 array, through raw bytes (no PNG)."""
    size = json.loads(tool("decode-rgb", path, out).stdout)
    pixels = np.fromfile(out, np.uint8)
    out.unlink()
    return pixels.reshape(size["height"], size["width"], 3)


def pil_upright(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB")).astype(int)


def pil_load_rgb(path) -> np.ndarray:
    """What python/chickenseg_model/images.py::load_rgb gives, as uint8."""
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def assert_same_pixels(got: np.ndarray, want: np.ndarray, what) -> None:
    assert got.size > 0 and want.size > 0, what
    assert got.shape == want.shape, (what, got.shape, want.shape)
    if not np.array_equal(got, want):
        d = np.abs(got.astype(int) - want.astype(int))
        raise AssertionError(f"{what}: {np.count_nonzero(d)} values differ, at most by {d.max()}")


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


def test_every_real_photo_decodes_to_pils_exact_bytes(chicken_egg_yolo, tmp_path):
    """decode_image (libjpeg-turbo with Pillow's settings) against load_rgb, on all 270 photos."""
    paths = sorted((chicken_egg_yolo / "images").iterdir())
    assert len(paths) == 270
    ours = infos(paths)

    def compare(item):
        i, path = item
        assert_same_pixels(decode_rgb(path, tmp_path / f"{i}.rgb"), pil_load_rgb(path), path)
        return ours[path]

    with ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        compared = list(pool.map(compare, enumerate(paths)))
    assert len(compared) == 270
    # What the comparison covered: 270 JPEGs, 173 of them named .png, baseline and
    # progressive, EXIF-rotated and not.
    jpegs = [r for r in compared if r["format"] == "JPEG"]
    assert len(jpegs) == 270
    assert len([r for r in jpegs if r["path"].endswith(".png")]) == 173
    assert any(r["progressive"] for r in jpegs) and any(not r["progressive"] for r in jpegs)
    assert {r["exif_orientation"] for r in jpegs} >= {1, 3, 6, 8}


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
    assert_same_pixels(got, want, path)
    # Any other orientation of the same stored pixels is far off: the match is not luck.
    with Image.open(path) as im:
        stored = np.asarray(im.convert("RGB")).astype(int)
    np.testing.assert_array_equal(orient(stored, orientation), want)
    for other in range(1, 9):
        candidate = orient(stored, other)
        if other != orientation and candidate.shape == got.shape:
            assert np.abs(got - candidate).mean() > 5, other


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


def test_every_decodable_format_decodes_exactly_like_pil(tmp_path):
    files = _save_variants(tmp_path)
    for name in ["rgb.png", "rgba.png", "palette.png", "rgb.bmp", "palette.bmp", "a.gif",
                 "progressive.jpg", "gray.jpg", "cmyk.jpg", "lossy.webp", "lossless.webp", "exif.webp"]:
        assert_same_pixels(decode(files[name], tmp_path), pil_upright(files[name]), name)
    # TIFF: header only; decoding says so instead of guessing.
    proc = tool("decode", files["plain.tif"], tmp_path / "x.png", check=False)
    assert proc.returncode == 1
    assert "cannot decode the pixels of a TIFF file" in proc.stderr


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


# ---- JPEG pixels: libjpeg-turbo with Pillow's settings ---------------------------------


def photo_like(w: int, h: int, seed: int = 0) -> Image.Image:
    """Smooth gradients, a sharp edge and noise: exercises the IDCT, chroma upsampling and
    rounding (flat images would match with any decoder)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    a = np.stack([(x * 7 + y * 3) % 256, np.sin(x / 5.0) * 100 + 128 + y, (x * y) % 256], -1).astype(float)
    a[:, w // 2 :, 2] = 255 - a[:, w // 2 :, 2]
    a += rng.integers(-20, 21, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def cmyk_like(w: int, h: int) -> Image.Image:
    a = np.asarray(photo_like(w, h, seed=1).convert("CMYK")).copy()
    a[..., 3] = np.asarray(photo_like(w, h, seed=2).convert("L"))  # a real black channel
    return Image.fromarray(a, "CMYK")


def orientation_exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


# name -> (image, save options). Every variant PIL's JPEG writer offers that changes how
# the decoder works.
JPEG_VARIANTS = {
    "baseline_420": (lambda: photo_like(131, 77), {}),
    "progressive_420": (lambda: photo_like(131, 77), {"progressive": True}),
    "sub444": (lambda: photo_like(131, 77), {"subsampling": "4:4:4"}),
    "sub422": (lambda: photo_like(131, 77), {"subsampling": "4:2:2"}),
    "sub420": (lambda: photo_like(131, 77), {"subsampling": "4:2:0"}),
    "sub411": (lambda: photo_like(131, 77), {"subsampling": "4:1:1"}),
    "progressive_444": (lambda: photo_like(131, 77), {"subsampling": "4:4:4", "progressive": True}),
    "progressive_422": (lambda: photo_like(131, 77), {"subsampling": "4:2:2", "progressive": True}),
    "size_1x1": (lambda: photo_like(1, 1), {}),
    "size_17x9": (lambda: photo_like(17, 9), {}),
    "size_17x9_444": (lambda: photo_like(17, 9), {"subsampling": "4:4:4"}),
    "size_1023x3": (lambda: photo_like(1023, 3), {}),
    "size_3x1023_progressive": (lambda: photo_like(3, 1023), {"progressive": True}),
    "grey": (lambda: photo_like(131, 77).convert("L"), {}),
    "grey_progressive": (lambda: photo_like(131, 77).convert("L"), {"progressive": True}),
    "cmyk": (lambda: cmyk_like(131, 77), {}),
    "cmyk_progressive": (lambda: cmyk_like(64, 40), {"progressive": True}),
    "exif_orientation_6": (lambda: photo_like(131, 77), {"exif": orientation_exif(6)}),
    "quality_5": (lambda: photo_like(131, 77), {"quality": 5}),
    "quality_100": (lambda: photo_like(131, 77), {"quality": 100}),
    "optimized_huffman": (lambda: photo_like(131, 77), {"optimize": True}),
    "restart_markers": (lambda: photo_like(131, 77), {"restart_marker_blocks": 3}),
}


@pytest.mark.parametrize("name", sorted(JPEG_VARIANTS))
def test_jpeg_written_by_pil_decodes_to_pils_exact_bytes(tmp_path, name):
    make, options = JPEG_VARIANTS[name]
    path = tmp_path / f"{name}.jpg"
    make().save(path, "JPEG", **options)
    with Image.open(path) as im:
        assert im.format == "JPEG"
        if "exif" in options:
            assert im.getexif()[0x0112] == 6
    assert_same_pixels(decode_rgb(path, tmp_path / "out.rgb"), pil_load_rgb(path), name)


def pil_outcome(path):
    """("ok", pixels) or ("error", message) for load_rgb on `path`."""
    try:
        return "ok", pil_load_rgb(path)
    except Exception as e:  # OSError, SyntaxError, DecompressionBombError, ...
        return "error", f"{type(e).__name__}: {e}"


def our_outcome(path, out):
    proc = tool("decode-rgb", path, out, check=False)
    if proc.returncode == 0:
        size = json.loads(proc.stdout)
        return "ok", np.fromfile(out, np.uint8).reshape(size["height"], size["width"], 3)
    # A named error, never a crash.
    assert proc.returncode == 1, (path, proc.returncode, proc.stderr)
    assert proc.stderr.startswith(f"error: {path}: "), proc.stderr
    return "error", proc.stderr


def scan_start(data: bytes) -> int:
    """Offset of the first byte of entropy-coded data (after the first SOS segment)."""
    i = 2
    while data[i + 1] != 0xDA:
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")


def damaged_jpegs(data: bytes, rng, progressive: bool) -> dict:
    """Truncations and corruptions of one JPEG, by name. A progressive JPEG cut and closed
    with FF D9 is left out: see the next test."""
    start, end = scan_start(data), len(data) - 2  # end: where the EOI marker starts
    out = {}
    for frac in (0.0, 0.3, 0.7, 0.999):
        cut = start + int((end - start) * frac)
        out[f"cut_{frac}"] = data[:cut]
        if not progressive:
            out[f"cut_{frac}_plus_eoi"] = data[:cut] + b"\xff\xd9"
    out["cut_in_headers"] = data[: start // 2]
    out["no_eoi"] = data[:end]
    for k in range(4):
        pos = int(rng.integers(start, end - 64))
        garbage = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        out[f"garbage_{k}"] = data[:pos] + garbage + data[pos + 64 :]
        no_markers = garbage.replace(b"\xff", b"\x00")
        out[f"garbage_without_ff_{k}"] = data[:pos] + no_markers + data[pos + 64 :]
    mid = (start + end) // 2
    out["soi_in_scan"] = data[:mid] + b"\xff\xd8" + data[mid + 2 :]
    out["sof_in_scan"] = data[:mid] + b"\xff\xc0" + data[mid + 2 :]
    out["extraneous_bytes_before_eoi"] = data[:end] + b"\x12\x34\x56" + data[end:]
    return out


def test_damaged_jpegs_are_refused_where_pil_refuses_them(chicken_egg_yolo, tmp_path):
    """Truncated or corrupt data: where PIL raises (premature end of data, a marker libjpeg
    cannot accept), decode_image throws an Error naming the file; where PIL accepts with
    libjpeg warnings (bad Huffman codes, a scan cut short by a marker, extraneous bytes),
    decode_image gives PIL's exact bytes."""
    rng = np.random.default_rng(20250101)
    photos = sorted((chicken_egg_yolo / "images").glob("*.jpg"))
    photo_infos = infos(photos)
    baseline = next(p for p in photos if not photo_infos[p]["progressive"])
    progressive = next(p for p in photos if photo_infos[p]["progressive"])
    sources = {"photo": (baseline.read_bytes(), False), "progressive_photo": (progressive.read_bytes(), True)}
    for name in ["baseline_420", "grey", "cmyk", "cmyk_progressive"]:
        make, options = JPEG_VARIANTS[name]
        buf = io.BytesIO()
        make().save(buf, "JPEG", **options)
        sources[name] = (buf.getvalue(), "progressive" in options)
    counts = {"both refuse": 0, "both decode": 0}
    for source, (data, is_progressive) in sources.items():
        for name, damaged in damaged_jpegs(data, rng, is_progressive).items():
            path = tmp_path / f"{source}_{name}.jpg"
            path.write_bytes(damaged)
            (pil_kind, pil_result), (our_kind, our_result) = pil_outcome(path), our_outcome(path, tmp_path / "o.rgb")
            assert pil_kind == our_kind, (path.name, pil_result if pil_kind == "error" else our_result)
            if pil_kind == "ok":
                assert_same_pixels(our_result, pil_result, path.name)
                counts["both decode"] += 1
            else:
                counts["both refuse"] += 1
            # Truncated files without an end-of-image marker are refused by both.
            if name.startswith("cut") and not name.endswith("plus_eoi"):
                assert our_kind == "error" and "truncated image" in our_result, (path.name, our_result)
    assert counts["both refuse"] >= 20 and counts["both decode"] >= 20, counts


def test_progressive_jpeg_ending_before_its_last_scan_is_truncated(tmp_path):
    """libjpeg reads every scan of a progressive JPEG before the first row. A comment segment
    whose length runs past the end of the file (its bytes happen to end in FF D9, so the
    header check passes) leaves libjpeg wanting data: PIL says "image file is truncated"."""
    buf = io.BytesIO()
    photo_like(64, 40).save(buf, "JPEG", progressive=True)
    data = buf.getvalue()
    path = tmp_path / "cut_in_comment.jpg"
    path.write_bytes(data[:-2] + b"\xff\xfe\x10\x00" + b"comment" + b"\xff\xd9")
    assert pil_outcome(path) == ("error", "OSError: image file is truncated (0 bytes not processed)")
    kind, message = our_outcome(path, tmp_path / "o.rgb")
    assert (kind, message) == ("error", f"error: {path}: truncated image: the JPEG data ends before its last row "
                                        "(libjpeg: Premature end of input file)\n")


def test_progressive_jpeg_cut_and_closed_differs_from_pil_only_where_libjpeg_versions_smooth_differently(tmp_path):
    """A progressive JPEG cut mid-scan and closed with FF D9 decodes (libjpeg fills the missing
    coefficients and smooths the blocks, as PIL accepts). Pillow 13 bundles libjpeg-turbo 3.2,
    the system has 2.1.5; 3.0.1 fixed edge blocks of that smoothing for vertically subsampled
    images, so a few pixels may differ here, and only here (complete files are exact)."""
    buf = io.BytesIO()
    photo_like(300, 200).save(buf, "JPEG", progressive=True)
    data = buf.getvalue()
    start = scan_start(data)
    for frac in (0.1, 0.5):
        path = tmp_path / f"cut_{frac}.jpg"
        path.write_bytes(data[: start + int((len(data) - start) * frac)] + b"\xff\xd9")
        (pil_kind, want), (our_kind, got) = pil_outcome(path), our_outcome(path, tmp_path / "o.rgb")
        assert pil_kind == our_kind == "ok"
        assert got.shape == want.shape
        assert np.abs(got.astype(int) - want.astype(int)).mean() < 0.5, path.name


def test_decompression_bomb_limit_is_pils(tmp_path):
    assert 2 * Image.MAX_IMAGE_PIXELS == 178_956_970  # the constant image.h mirrors
    buf = io.BytesIO()
    photo_like(16, 16).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)  # height, width
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(bytes(data))
    with pytest.raises(Image.DecompressionBombError):
        pil_load_rgb(huge)
    proc = tool("decode-rgb", huge, tmp_path / "o.rgb", check=False)
    assert proc.returncode == 1
    assert proc.stderr == (f"error: {huge}: image is 60000x60000 (3,600,000,000 pixels), more than the "
                           "178,956,970 pixels decoding accepts (Pillow's limit)\n")
    # Just over the limit (3 pixels; w*h = limit + 1 or + 2 has no factors below 65536) is
    # refused by both; PIL only warns at the limit itself.
    for (w, h), refused in [((29861, 5993), True), ((54610, 3277), False)]:
        data[sof + 5 : sof + 9] = struct.pack(">HH", h, w)
        path = tmp_path / f"{w}x{h}.jpg"
        path.write_bytes(bytes(data))
        if refused:
            with pytest.raises(Image.DecompressionBombError):
                Image.open(path)
            proc = tool("decode-rgb", path, tmp_path / "o.rgb", check=False)
            assert proc.returncode == 1 and f"{w}x{h} ({w * h:,} pixels), more than" in proc.stderr, proc.stderr
        else:
            with pytest.warns(Image.DecompressionBombWarning):
                Image.open(path).close()


def test_file_of_zeros_named_jpg_is_refused(tmp_path):
    path = tmp_path / "zeros.jpg"
    path.write_bytes(bytes(4096))
    assert pil_outcome(path)[0] == "error"
    kind, message = our_outcome(path, tmp_path / "o.rgb")
    assert kind == "error" and "not an image (file starts with bytes 00 00" in message


# ---- WebP pixels: libwebp's animation decoder, as Pillow 13 drives it -----------------


def with_transparency(image: Image.Image) -> Image.Image:
    """RGBA: the top fifth fully transparent, the next fifth half (alpha 128), every third
    column of the rest fully transparent; RGB unchanged everywhere."""
    a = np.asarray(image.convert("RGBA")).copy()
    h = a.shape[0]
    a[: h // 5, :, 3] = 0
    a[h // 5 : 2 * h // 5, :, 3] = 128
    a[2 * h // 5 :, ::3, 3] = 0
    return Image.fromarray(a, "RGBA")


def riff(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def le24(v: int) -> bytes:
    return struct.pack("<I", v)[:3]


def sub_rectangle_animation(path) -> None:
    """An animation whose first frame (9x7 at (4, 2), its top row transparent) covers part of
    its 20x16 canvas, ANIM background opaque red. Pillow's encoder never writes one (its first
    frame covers the canvas), so it is put together from chunks of files Pillow writes."""

    def vp8l(image):
        buf = io.BytesIO()
        image.save(buf, "WEBP", lossless=True, exact=True)
        assert buf.getvalue()[12:16] == b"VP8L"
        return buf.getvalue()[12:]

    first = np.asarray(photo_like(9, 7, seed=3).convert("RGBA")).copy()
    first[0, :, 3] = 0
    frames = [(4, 2, Image.fromarray(first, "RGBA")), (0, 0, photo_like(20, 16, seed=4))]
    chunks = riff(b"VP8X", bytes([0x10 | 0x02, 0, 0, 0]) + le24(20 - 1) + le24(16 - 1))  # alpha, animation
    chunks += riff(b"ANIM", struct.pack("<IH", 0xFFFF0000, 0))  # background B, G, R, A: opaque red
    for x, y, image in frames:
        header = le24(x // 2) + le24(y // 2) + le24(image.width - 1) + le24(image.height - 1) + le24(100)
        chunks += riff(b"ANMF", header + bytes([0]) + vp8l(image))
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks)


def pil_webp_writer(make, **options):
    def write(path):
        image = make()
        if isinstance(image, list):
            image[0].save(path, "WEBP", save_all=True, append_images=image[1:], duration=100, **options)
        else:
            image.save(path, "WEBP", **options)

    return write


# name -> function writing the file. Sizes: 1x1, 17x9 (odd, smaller than a macroblock),
# 301x199 (odd, several macroblocks).
WEBP_VARIANTS = {
    **{
        f"lossy_q{q}_{w}x{h}": pil_webp_writer(lambda w=w, h=h: photo_like(w, h), quality=q)
        for q in (5, 50, 95)
        for w, h in ((1, 1), (17, 9), (301, 199))
    },
    "lossless_17x9": pil_webp_writer(lambda: photo_like(17, 9), lossless=True),
    "lossless_301x199": pil_webp_writer(lambda: photo_like(301, 199), lossless=True),
    "alpha_lossy_q5": pil_webp_writer(lambda: with_transparency(photo_like(301, 199)), quality=5),
    "alpha_lossy_q50": pil_webp_writer(lambda: with_transparency(photo_like(301, 199)), quality=50),
    "alpha_lossy_q95": pil_webp_writer(lambda: with_transparency(photo_like(301, 199)), quality=95),
    "alpha_lossy_q50_alpha_quality_20": pil_webp_writer(
        lambda: with_transparency(photo_like(301, 199)), quality=50, alpha_quality=20),
    "alpha_lossless": pil_webp_writer(lambda: with_transparency(photo_like(301, 199)), lossless=True),
    "alpha_lossless_exact": pil_webp_writer(
        lambda: with_transparency(photo_like(301, 199)), lossless=True, exact=True),
    "exif_orientation_6_lossy": pil_webp_writer(lambda: photo_like(131, 77), exif=exif_bytes(6, False)),
    "exif_orientation_8_lossless": pil_webp_writer(
        lambda: photo_like(131, 77), lossless=True, exif=exif_bytes(8, True)),
    "animated": pil_webp_writer(lambda: [photo_like(64, 40, seed=s) for s in range(3)], quality=80),
    "animated_alpha": pil_webp_writer(
        lambda: [with_transparency(photo_like(64, 40, seed=s)) for s in range(3)], lossless=True),
    "animated_first_frame_inside_canvas": sub_rectangle_animation,
}


def test_webp_written_by_pil_decodes_to_pils_exact_bytes(tmp_path):
    """decode_image (libwebp 1.2.4's WebPAnimDecoder, MODE_RGBA, first frame, alpha dropped)
    against load_rgb (Pillow 13 with its bundled libwebp 1.6.0), exactly, for every variant."""
    compared, failures = [], []
    for name, write in WEBP_VARIANTS.items():
        path = tmp_path / f"{name}.webp"
        write(path)
        with Image.open(path) as im:
            assert im.format == "WEBP", name
            # Each variant holds what its name says.
            assert im.is_animated == name.startswith("animated"), name
            if name.startswith("exif"):
                assert im.getexif()[0x0112] == int(name.split("_")[2]), name
            if "alpha" in name:
                alpha = np.asarray(im.convert("RGBA"))[..., 3]
                assert (alpha == 0).any() and ((alpha > 0) & (alpha < 255)).any(), name
        got, want = decode_rgb(path, tmp_path / "out.rgb"), pil_load_rgb(path)
        try:
            assert_same_pixels(got, want, name)
        except AssertionError as e:
            failures.append(str(e))
            continue
        compared.append(name)
        if name == "alpha_lossless_exact":
            # Fully transparent pixels keep their RGB (alpha dropped, nothing composited).
            with Image.open(path) as im:
                rgba = np.asarray(im.convert("RGBA"))
            assert (rgba[rgba[..., 3] == 0][:, :3] != 0).any()
        if name == "animated_first_frame_inside_canvas":
            # The canvas outside the first frame is transparent black; the background colour
            # (red) is not used.
            assert want.shape == (16, 20, 3)
            assert (want[:2] == 0).all() and (want[:, :4] == 0).all() and (want[9:] == 0).all()
            assert (want[3:9, 4:13] != 0).any()
    assert not failures, failures
    assert len(compared) == len(WEBP_VARIANTS) == 22


def damaged_webps(data: bytes, rng) -> dict:
    """Cuts (RIFF size left as it was, or set to the cut) and 8-byte garbage in the image
    data of one WebP, by name."""
    out = {}
    for frac in (0.05, 0.3, 0.7, 0.99):
        cut = int(len(data) * frac)
        out[f"cut_{frac}"] = data[:cut]
        out[f"cut_{frac}_riff_size_fixed"] = data[:4] + struct.pack("<I", cut - 8) + data[8:cut]
    for k in range(10):
        pos = int(rng.integers(40, len(data) - 16))
        out[f"garbage_{k}"] = data[:pos] + rng.integers(0, 256, 8, dtype=np.uint8).tobytes() + data[pos + 8 :]
    return out


def test_damaged_webps_are_refused_where_pil_refuses_them(tmp_path):
    """Truncated or corrupt WebP files: where PIL raises, decode_image throws an Error naming
    the file (exit 1); where PIL decodes damaged data, decode_image gives its exact bytes."""
    rng = np.random.default_rng(20250601)
    sources = ["lossy_q50_301x199", "lossless_301x199", "alpha_lossy_q50", "exif_orientation_6_lossy",
               "animated"]
    counts = {"both refuse": 0, "both decode": 0}
    for source in sources:
        original = tmp_path / f"{source}.webp"
        WEBP_VARIANTS[source](original)
        for name, damaged in damaged_webps(original.read_bytes(), rng).items():
            path = tmp_path / f"{source}_{name}.webp"
            path.write_bytes(damaged)
            (pil_kind, pil_result), (our_kind, our_result) = pil_outcome(path), our_outcome(path, tmp_path / "o.rgb")
            assert pil_kind == our_kind, (path.name, pil_result if pil_kind == "error" else our_result)
            if pil_kind == "ok":
                assert_same_pixels(our_result, pil_result, path.name)
                counts["both decode"] += 1
            else:
                counts["both refuse"] += 1
            if name.startswith("cut") and not name.endswith("fixed"):
                assert "truncated image: WebP RIFF header gives" in our_result, (path.name, our_result)
    assert counts["both refuse"] >= 30 and counts["both decode"] >= 10, counts


def test_bad_webp_files_are_named_errors(tmp_path):
    good = tmp_path / "good.webp"
    WEBP_VARIANTS["exif_orientation_6_lossy"](good)
    data = good.read_bytes()
    assert data[12:16] == b"VP8X"
    rng = np.random.default_rng(3)
    garbage = rng.integers(0, 256, 200, dtype=np.uint8).tobytes()
    files = {
        "truncated": (data[: len(data) // 2], "truncated image: WebP RIFF header gives"),
        "garbage_after_riff_header": (
            b"RIFF" + struct.pack("<I", 4 + len(garbage)) + b"WEBP" + garbage, "corrupt WebP: first chunk is"),
        "garbage_after_vp8l_header": (
            b"RIFF" + struct.pack("<I", 4 + 8 + 206) + b"WEBP" + b"VP8L" + struct.pack("<I", 205)
            + b"\x2f" + struct.pack("<I", 16 | (8 << 14)) + garbage + b"\0",
            "cannot decode WebP pixels: the first frame does not decode"),
        "empty": (b"", "empty file"),
    }
    for name, (content, message) in files.items():
        path = tmp_path / f"{name}.webp"
        path.write_bytes(content)
        assert pil_outcome(path)[0] == "error", name
        kind, ours = our_outcome(path, tmp_path / "o.rgb")
        assert kind == "error" and message in ours, (name, ours)

    # A VP8X canvas over Pillow's limit: refused from the header, before libwebp allocates it.
    for (w, h), pixels in [((60000, 60000), "3,600,000,000"), ((29861, 5993), "178,956,973")]:
        huge = tmp_path / f"huge_{w}x{h}.webp"
        huge.write_bytes(data[:24] + le24(w - 1) + le24(h - 1) + data[30:])
        with pytest.raises(Image.DecompressionBombError):
            pil_load_rgb(huge)
        proc = tool("decode-rgb", huge, tmp_path / "o.rgb", check=False)
        assert proc.returncode == 1
        assert proc.stderr == (f"error: {huge}: image is {w}x{h} ({pixels} pixels), more than the "
                               "178,956,970 pixels decoding accepts (Pillow's limit)\n")
