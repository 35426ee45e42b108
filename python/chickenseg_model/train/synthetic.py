"""A small synthetic SA-Co dataset where presence is learnable: a positive image holds one
or two bright discs ("chickens", annotated as polygons), a negative image holds none, both on
a dark noisy background. For the trainer's tests, the learning check and demos; same seed,
same bytes."""
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def _disc_polygon(cx, cy, r, points=16):
    return [round(v, 2) for k in range(points)
            for v in (cx + r * math.cos(2 * math.pi * k / points), cy + r * math.sin(2 * math.pi * k / points))]


def _make_split(root: Path, name: str, count: int, size: int, negative_share: float, rng, first_id: int,
                prompt: str) -> dict:
    images, annotations = [], []
    ann_id = first_id * 10
    negatives = set(rng.permutation(count)[:int(round(count * negative_share))].tolist())
    for i in range(count):
        image_id = first_id + i
        w, h = size + int(rng.integers(0, size // 4)), size
        arr = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
        canvas = Image.fromarray(arr)
        draw = ImageDraw.Draw(canvas)
        for _ in range(0 if i in negatives else int(rng.integers(1, 3))):
            r = float(rng.uniform(0.12, 0.22) * min(w, h))
            cx, cy = float(rng.uniform(r, w - r)), float(rng.uniform(r, h - r))
            poly = _disc_polygon(cx, cy, r)
            draw.polygon(list(zip(poly[0::2], poly[1::2])), fill=(230, 200, 120))
            xs, ys = poly[0::2], poly[1::2]
            box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            annotations.append({"id": ann_id, "image_id": image_id, "category_id": 1, "segmentation": [poly],
                                "bbox": [round(v, 2) for v in box], "area": round(math.pi * r * r, 2), "iscrowd": 0})
            ann_id += 1
        file_name = f"{name}_{i:04d}.png"
        canvas.save(root / file_name)
        images.append({"id": image_id, "file_name": file_name, "width": w, "height": h, "text_input": prompt,
                       "is_instance_exhaustive": 1})
    doc = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": prompt}]}
    path = root / f"{name}.json"
    path.write_text(json.dumps(doc))
    return {"path": str(path), "images": count, "negatives": count - len({a["image_id"] for a in annotations})}


def make_synthetic_dataset(root: Path, train: int = 16, val: int = 8, size: int = 96, negative_share: float = 0.5,
                           seed: int = 0, prompt: str = "chicken") -> dict:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    return {"train": _make_split(root, "train", train, size, negative_share, rng, 1, prompt),
            "val": _make_split(root, "val", val, size, negative_share, rng, 100001, prompt)}
