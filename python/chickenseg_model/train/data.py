"""Training samples from an SA-Co dataset JSON: the image resized to the model's square input
(as predict does), its GT instances as boxes and masks in that square, and the image-level
presence target.

GT masks come from the annotations' polygons or RLE (pycocotools), rasterised at the image's
size and resized with the image (nearest). Boxes are the annotations' `bbox` moved through the
same flip / scale / crop, so they stay exact. Augmentation (horizontal flip, scale jitter:
the square-resized image scaled by s in [min, max], then cropped (s > 1) or padded with mid
grey, 0 after normalisation (s < 1) back to the model size at a random offset) is drawn from a
per-sample seed, so a sample depends only on (seed, epoch, position), never on worker count or
on what ran before: resumed runs see the same pixels.

An instance is visible when its moved box keeps a positive area inside the square; an image
is `present` when any instance, crowd regions included, is visible. Crowd regions
(`iscrowd` = 1) teach presence only: they are not matched, and an image holding one skips
the per-query classification loss (its queries there are neither right nor wrong).
"""
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from chickenseg_model.errors import ModelError
from chickenseg_model.io import read_json
from chickenseg_model.images import load_rgb, preprocess


@dataclass
class ImageRecord:
    image_id: int
    path: Path
    width: int
    height: int
    prompt: str
    annotations: list = field(default_factory=list)  # dicts: bbox, segmentation, iscrowd

    @property
    def is_negative(self) -> bool:
        return not self.annotations


@dataclass
class Sample:
    image_id: int
    pixel_values: torch.Tensor   # (3, S, S) float32, normalised
    boxes: torch.Tensor          # (N, 4) xyxy in [0, 1] of the square, non-crowd visible instances
    masks: torch.Tensor | None   # (N, S, S) bool, or None when mask losses are off
    present: bool                # any visible instance (crowd included)
    has_crowd: bool              # a visible crowd region: no per-query classification loss
    prompt: str


def _fail(path, where, what):
    raise ModelError(f"{path}: {where}: {what}")


def read_saco(path: Path, img_dir: Path | None, use_text_prompts: bool, prompt_column: str,
              prompt: str) -> list[ImageRecord]:
    """Reads and checks an SA-Co JSON; errors name the file and the JSON path."""
    path = Path(path)
    doc = read_json(path, "dataset file")
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        _fail(path, "images", "expected an SA-Co dataset with an `images` list (run `chickenseg data validate`)")
    anns = doc.get("annotations", [])
    if not isinstance(anns, list):
        _fail(path, "annotations", "expected a list")
    root = Path(img_dir) if img_dir else path.parent
    records: dict[int, ImageRecord] = {}
    for i, im in enumerate(doc["images"]):
        where = f"images[{i}]"
        if not isinstance(im, dict):
            _fail(path, where, "expected an object")
        for key, kind in (("id", int), ("file_name", str), ("width", int), ("height", int)):
            if not isinstance(im.get(key), kind) or isinstance(im.get(key), bool):
                _fail(path, f"{where}.{key}", f"expected {'an integer' if kind is int else 'a string'}")
        if im["width"] <= 0 or im["height"] <= 0:
            _fail(path, where, "expected a positive width and height")
        if use_text_prompts:
            text = im.get(prompt_column)
            if not isinstance(text, str) or not text.strip():
                _fail(path, f"{where}.{prompt_column}",
                      "expected the noun phrase (prompt_column); or set use_text_prompts=false and prompt=TEXT")
        else:
            text = prompt
        if im["id"] in records:
            _fail(path, f"{where}.id", f"duplicate image id {im['id']}")
        records[im["id"]] = ImageRecord(im["id"], root / im["file_name"], im["width"], im["height"], text)
    for j, ann in enumerate(anns):
        where = f"annotations[{j}]"
        if not isinstance(ann, dict):
            _fail(path, where, "expected an object")
        image_id = ann.get("image_id")
        if image_id not in records:
            _fail(path, f"{where}.image_id", f"{image_id!r} is not an image id of this file")
        rec = records[image_id]
        bbox = ann.get("bbox")
        if (not isinstance(bbox, list) or len(bbox) != 4 or
                any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in bbox)):
            _fail(path, f"{where}.bbox", "expected [x, y, w, h] in pixels")
        if bbox[2] < 0 or bbox[3] < 0:
            _fail(path, f"{where}.bbox", "expected a non-negative width and height")
        if max(bbox) <= 1.0 and (rec.width > 2 or rec.height > 2) and bbox[2] > 0:
            _fail(path, f"{where}.bbox", "looks normalised to [0, 1]; expected pixels (as `chickenseg data` writes)")
        seg = ann.get("segmentation")
        if seg is not None and not isinstance(seg, (list, dict)):
            _fail(path, f"{where}.segmentation", "expected polygons [[x1,y1,...]] or RLE {size, counts}")
        if isinstance(seg, dict):
            size = seg.get("size")
            if size != [rec.height, rec.width]:
                _fail(path, f"{where}.segmentation.size",
                      f"expected [{rec.height}, {rec.width}] (the image's height, width), got {size!r}")
            if not isinstance(seg.get("counts"), (str, list)):
                _fail(path, f"{where}.segmentation.counts", "expected an RLE string or a list of run lengths")
        if isinstance(seg, list):
            for k, poly in enumerate(seg):
                if (not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2 or
                        any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in poly)):
                    _fail(path, f"{where}.segmentation[{k}]", "expected a polygon [x1, y1, x2, y2, ...] of 3+ points")
        rec.annotations.append({"bbox": [float(v) for v in bbox], "segmentation": seg,
                                "iscrowd": int(ann.get("iscrowd", 0) or 0)})
    return [records[k] for k in sorted(records)]


def check_images(records: list[ImageRecord], rank: int = 0, world: int = 1, limit: int = 5) -> int:
    """Decodes every image in full (the decoder training uses: a header check passes a file whose
    pixel data is corrupt) and checks its size against the dataset; each of `world` processes takes
    every world-th image. Raises ModelError listing the first `limit` problems, each naming the
    file; returns how many images were decoded."""
    from concurrent.futures import ThreadPoolExecutor

    mine = records[rank::world]
    paths = sorted({r.path: r for r in mine}.items())

    def problem(item):
        path, rec = item
        try:
            image = load_rgb(path)
        except ModelError as e:
            return str(e)
        if image.size != (rec.width, rec.height):
            return (f"{path}: image is {image.size[0]}x{image.size[1]} but the dataset says "
                    f"{rec.width}x{rec.height} (image id {rec.image_id})")
        return None

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # PIL decodes without the GIL
        problems = [p for p in pool.map(problem, paths) if p]
    if problems:
        more = f"\n... and {len(problems) - limit} more" if len(problems) > limit else ""
        raise ModelError(f"{len(problems)} of {len(paths)} images cannot be used for training "
                         f"(data.check_images):\n" + "\n".join(problems[:limit]) + more +
                         "\n(`chickenseg data validate --image-root DIR --decode` lists them all)")
    return len(paths)


def _rasterise(ann: dict, height: int, width: int) -> np.ndarray:
    """The annotation's mask at the image size (uint8 0/1); a box when it has no segmentation."""
    from pycocotools import mask as mask_utils

    seg = ann["segmentation"]
    if not seg:
        x, y, w, h = ann["bbox"]
        out = np.zeros((height, width), np.uint8)
        out[int(round(y)):int(round(y + h)), int(round(x)):int(round(x + w))] = 1
        return out
    if isinstance(seg, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(seg, height, width))
    elif isinstance(seg["counts"], list):
        rle = mask_utils.frPyObjects(seg, height, width)
    else:
        rle = {"size": seg["size"], "counts": seg["counts"].encode("ascii")}
    return mask_utils.decode(rle)


@dataclass(frozen=True)
class Augment:
    hflip_prob: float = 0.0
    scale_min: float = 1.0
    scale_max: float = 1.0


def build_sample(rec: ImageRecord, size: int, item_seed: int, augment: Augment, with_masks: bool) -> Sample:
    rng = np.random.default_rng(item_seed)
    flip = bool(rng.random() < augment.hflip_prob)
    scale = float(rng.uniform(augment.scale_min, augment.scale_max)) if augment.scale_max > augment.scale_min \
        else augment.scale_min
    scaled = max(1, int(round(size * scale)))
    # Offset of the scaled square inside the model square (negative = cropped away).
    span = abs(scaled - size)
    shift_x, shift_y = (int(rng.integers(0, span + 1)), int(rng.integers(0, span + 1))) if span else (0, 0)
    off_x, off_y = (-shift_x, -shift_y) if scaled >= size else (shift_x, shift_y)

    image = load_rgb(rec.path)
    if image.size != (rec.width, rec.height):
        raise ModelError(f"{rec.path}: image is {image.size[0]}x{image.size[1]} but the dataset says "
                         f"{rec.width}x{rec.height} (image id {rec.image_id})")
    if flip:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
    pixels = preprocess(image, scaled)  # (3, scaled, scaled), normalised: pad value 0 = mid grey
    canvas = torch.zeros(3, size, size)
    _paste(canvas, pixels, off_x, off_y)

    sx, sy = scaled / rec.width, scaled / rec.height
    boxes, masks, present, has_crowd = [], [], False, False
    for ann in rec.annotations:
        x, y, w, h = ann["bbox"]
        if flip:
            x = rec.width - x - w
        x0 = min(max(x * sx + off_x, 0.0), size)
        y0 = min(max(y * sy + off_y, 0.0), size)
        x1 = min(max((x + w) * sx + off_x, 0.0), size)
        y1 = min(max((y + h) * sy + off_y, 0.0), size)
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            continue  # cropped away (or a degenerate box): not in this view
        present = True
        if ann["iscrowd"]:
            has_crowd = True
            continue
        boxes.append([x0 / size, y0 / size, x1 / size, y1 / size])
        if with_masks:
            m = _rasterise(ann, rec.height, rec.width)
            if flip:
                m = m[:, ::-1]
            m = np.asarray(Image.fromarray(np.ascontiguousarray(m) * 255).resize((scaled, scaled), Image.NEAREST)) > 127
            full = torch.zeros(size, size, dtype=torch.bool)
            _paste(full, torch.from_numpy(m), off_x, off_y)
            masks.append(full)
    box_t = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    mask_t = (torch.stack(masks) if masks else torch.zeros(0, size, size, dtype=torch.bool)) if with_masks else None
    return Sample(rec.image_id, canvas, box_t, mask_t, present, has_crowd, rec.prompt)


def _paste(dst: torch.Tensor, src: torch.Tensor, off_x: int, off_y: int) -> None:
    """Copies src into dst with src's top-left at (off_x, off_y), clipping both."""
    H, W = dst.shape[-2:]
    h, w = src.shape[-2:]
    dx0, dy0 = max(off_x, 0), max(off_y, 0)
    sx0, sy0 = dx0 - off_x, dy0 - off_y
    cw, ch = min(W - dx0, w - sx0), min(H - dy0, h - sy0)
    if cw > 0 and ch > 0:
        dst[..., dy0:dy0 + ch, dx0:dx0 + cw] = src[..., sy0:sy0 + ch, sx0:sx0 + cw]


class SacoTrainSet(torch.utils.data.Dataset):
    """Items are (record index, item seed) pairs chosen by sampler.epoch_batches."""

    def __init__(self, records: list[ImageRecord], size: int, augment: Augment, with_masks: bool):
        self.records, self.size, self.augment, self.with_masks = records, size, augment, with_masks

    def __len__(self):
        return len(self.records)

    def __getitem__(self, item):
        index, seed = item
        return build_sample(self.records[index], self.size, seed, self.augment, self.with_masks)


def collate(samples: list[Sample]) -> dict:
    return {
        "image_ids": [s.image_id for s in samples],
        "pixel_values": torch.stack([s.pixel_values for s in samples]),
        "boxes": [s.boxes for s in samples],
        "masks": [s.masks for s in samples],
        "present": torch.tensor([s.present for s in samples], dtype=torch.float32),
        "has_crowd": [s.has_crowd for s in samples],
        "prompts": [s.prompt for s in samples],
    }


def worker_init(_worker_id: int) -> None:
    """Ctrl-C is the main process's to handle: it reports it in one line and shuts the loader's
    workers down. A worker left to the default handler dies mid-batch; and the thread that hands
    tensors' file descriptors to the main process (multiprocessing.resource_sharer, which reports
    its errors through sys.excepthook) prints a BrokenPipeError traceback when the main process
    stops in the middle of that handshake."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    default_hook = sys.excepthook

    def quiet_when_the_reader_left(exc_type, exc, tb):
        if not issubclass(exc_type, (BrokenPipeError, ConnectionResetError, EOFError)):
            default_hook(exc_type, exc, tb)

    sys.excepthook = quiet_when_the_reader_left
