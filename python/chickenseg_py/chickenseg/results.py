"""What Sam3Wrapper returns: Result (one prompt in one image) and Encoded (an image's encoder
features), and their conversion to Ultralytics' Results and supervision's Detections. Neither
package is needed until its conversion is called."""
from __future__ import annotations

from functools import cached_property

import numpy as np

from . import _chickenseg


class Source:
    """The image a result came from, kept as it was given (an array is referenced, not copied),
    for Result.image() and the conversions that draw on it."""
    __slots__ = ("kind", "data", "path")

    def __init__(self, kind: str, data, path: str | None):
        self.kind = kind  # "path", "bytes", "rgb", "bgr"
        self.data = data  # fs-encoded path, file bytes, or the array
        self.path = path

    def pixels(self, bgr: bool) -> np.ndarray:
        if self.kind in ("rgb", "bgr"):
            a = self.data
            return a if (self.kind == "bgr") == bgr else np.ascontiguousarray(a[..., ::-1])
        if self.kind == "path":
            rgb = _chickenseg.decode_image(self.data)
        else:
            rgb = _chickenseg.decode_image(b"", self.data, self.path or "<bytes>")
        return np.ascontiguousarray(rgb[..., ::-1]) if bgr else rgb


def _need(module: str, what: str, pip: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"{what} needs the {pip} package, which is not installed: pip install {pip}"
                          + (" (and set YOLO_OFFLINE=true YOLO_AUTOINSTALL=false before importing it: Ultralytics "
                             "otherwise goes on line at import)" if pip == "ultralytics" else "")) from e


class Result:
    """Detections of one prompt in one image, score descending.

    boxes: float32 (N, 4) [x1, y1, x2, y2] in the image's pixels; scores: float32 (N,);
    masks: bool (N, H, W), decoded on first access (None when predicted with masks=False);
    rle: the masks as pycocotools' compressed RLE dicts {"size": [h, w], "counts": str};
    presence: the image's presence score; empty: presence below the presence threshold ("no
    chicken": no detections, the mask decoder did not run). An image that passes the gate may
    still keep no query: then empty is False and len(result) is 0."""

    def __init__(self, raw, source: Source):
        self._raw = raw
        self._source = source

    @cached_property
    def boxes(self) -> np.ndarray:
        return self._raw.boxes

    @cached_property
    def boxes_xywh(self) -> np.ndarray:
        """float64 (N, 4) [x, y, w, h]: the boxes as COCO results (and `chickenseg predict`) write them."""
        return self._raw.boxes_xywh

    @cached_property
    def scores(self) -> np.ndarray:
        return self._raw.scores

    @cached_property
    def queries(self) -> np.ndarray:
        """int32 (N,): which decoder query each detection is."""
        return self._raw.queries

    @cached_property
    def masks(self) -> np.ndarray | None:
        return self._raw.masks() if self._raw.has_masks else None

    @cached_property
    def rle(self) -> list[dict] | None:
        return self._raw.rles() if self._raw.has_masks else None

    @property
    def presence(self) -> float:
        return self._raw.presence

    @property
    def empty(self) -> bool:
        return self._raw.gated

    @property
    def prompt(self) -> str:
        return self._raw.prompt

    @property
    def width(self) -> int:
        return self._raw.width

    @property
    def height(self) -> int:
        return self._raw.height

    @property
    def orig_shape(self) -> tuple[int, int]:
        """(height, width), as Ultralytics names it."""
        return (self._raw.height, self._raw.width)

    @property
    def path(self) -> str | None:
        """The image file's path when one was given."""
        return self._source.path

    @cached_property
    def timings(self) -> dict:
        """Milliseconds of this call's stages: decode_ms (file decoding; ~0 for an array, read in place),
        prepare_ms (resize, normalise), and the engine's upload_ms, encoder_ms, decoder_ms,
        mask_decoder_ms, postprocess_ms (a batch's engine times shared out per image)."""
        return self._raw.timings

    @property
    def speed(self) -> dict:
        """Ultralytics' speed dict (milliseconds): preprocess, inference, postprocess."""
        t = self.timings
        return {"preprocess": t["decode_ms"] + t["prepare_ms"],
                "inference": t["upload_ms"] + t["encoder_ms"] + t["decoder_ms"] + t["mask_decoder_ms"],
                "postprocess": t["postprocess_ms"]}

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        if self.empty:
            what = f"NO {self.prompt} (presence {self.presence:.3f})"
        else:
            what = f"{len(self)} x {self.prompt} (presence {self.presence:.3f})"
        return f"<chickenseg.Result {self.width}x{self.height}: {what}>"

    def image(self, bgr: bool = False) -> np.ndarray:
        """The image's pixels, H x W x 3 uint8, RGB (bgr=True: BGR): the array that was given when
        it already has that order (not a copy), else converted or decoded from the file."""
        return self._source.pixels(bgr)

    def to_ultralytics(self, names: dict | None = None):
        """An ultralytics.engine.results.Results: orig_img (BGR, as Ultralytics keeps it), path,
        names {0: prompt}, boxes [x1, y1, x2, y2, conf, cls] and masks (N x H x W) at the image's
        size. Its plot(), save_txt(), .masks.xy and Ultralytics' trackers work on it."""
        torch = _need("torch", "Result.to_ultralytics()", "torch")
        results = _need("ultralytics.engine.results", "Result.to_ultralytics()", "ultralytics")
        n = len(self)
        boxes = torch.zeros((n, 6), dtype=torch.float32)
        if n:
            boxes[:, :4] = torch.from_numpy(self.boxes)
            boxes[:, 4] = torch.from_numpy(self.scores)
        masks = torch.from_numpy(self.masks) if n and self.masks is not None else None
        path = self.path or "image0.jpg"
        return results.Results(orig_img=self.image(bgr=True), path=path, names=names or {0: self.prompt},
                               boxes=boxes, masks=masks, speed=self.speed)

    def to_supervision(self):
        """A supervision.Detections: xyxy, mask (N x H x W bool, None with masks=False),
        confidence, class_id (0), data["class_name"] (the prompt)."""
        sv = _need("supervision", "Result.to_supervision()", "supervision")
        n = len(self)
        return sv.Detections(xyxy=self.boxes.astype(np.float32).reshape(n, 4), mask=self.masks,
                             confidence=self.scores, class_id=np.zeros(n, dtype=int),
                             data={"class_name": np.array([self.prompt] * n, dtype=str)})


class Encoded:
    """An image's vision-encoder features held on the engine's device (Sam3Wrapper.encode), for
    Sam3Wrapper.detect with one prompt after another: each costs one decoder run."""

    def __init__(self, raw, source: Source, wrapper):
        self._raw = raw
        self._source = source
        self._wrapper = wrapper

    @property
    def width(self) -> int:
        return self._raw.width

    @property
    def height(self) -> int:
        return self._raw.height

    @property
    def path(self) -> str | None:
        return self._source.path

    @property
    def timings(self) -> dict:
        return self._raw.timings

    def __repr__(self) -> str:
        return f"<chickenseg.Encoded {self.width}x{self.height}>"


__all__ = ["Encoded", "Result", "Source"]
