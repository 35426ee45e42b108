"""Sam3Wrapper: one model package run by the C++ engine (chickenseg/runtime/engine.h) in this
process. Images are checked here (with NumPy's words), then handed to the compiled module, which
decodes and prepares them and runs the engine with the GIL released."""
from __future__ import annotations

import errno
import io
import operator
import os
import sys
from typing import Iterable, Sequence

import numpy as np

from . import _chickenseg
from .results import Encoded, Result, Source

PLUGIN_FILE = "libchickenseg-torch.so"

def plugin_dir() -> str:
    """The folder Sam3Wrapper loads the LibTorch backend plugin (libchickenseg-torch.so) from:
    $CHICKENSEG_PLUGIN_DIR when set; else this package's folder when it holds the plugin (a
    wheel); else the build folder the module was built in (scripts/setup's build/)."""
    env = os.environ.get("CHICKENSEG_PLUGIN_DIR")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    if os.path.isfile(os.path.join(here, PLUGIN_FILE)) or not _chickenseg.build_plugin_dir:
        return here
    return _chickenseg.build_plugin_dir


def decode_image(path) -> np.ndarray:
    """An image file's pixels as the engine sees them: H x W x 3 uint8 RGB, EXIF orientation
    applied (the decoder of `chickenseg predict`, which equals PIL's)."""
    return _chickenseg.decode_image(_fs_path(path))


def _fs_path(path) -> bytes:
    p = os.fspath(path)
    fs = os.fsencode(p)
    if not os.path.exists(fs):
        raise FileNotFoundError(errno.ENOENT, "image file not found", os.fsdecode(p))
    return fs


def _is_pil(obj) -> bool:
    pil = sys.modules.get("PIL.Image")  # a PIL image exists only once PIL.Image was imported
    return pil is not None and isinstance(obj, pil.Image)


def _check_array(a: np.ndarray, where: str) -> None:
    if a.dtype != np.uint8:
        raise TypeError(f"{where}: expected a uint8 array (values 0..255), got dtype {a.dtype}; convert it with "
                        "np.clip(a, 0, 255).astype(np.uint8) (scaled to 0..255 first if it holds 0..1)")
    if a.ndim != 3 or a.shape[2] != 3:
        hint = ""
        if a.ndim == 2:
            hint = "; a grey image: np.stack([a] * 3, axis=-1) makes it RGB"
        elif a.ndim == 3 and a.shape[2] == 4:
            hint = "; RGBA or BGRA: drop the alpha channel with a[..., :3]"
        elif a.ndim == 3 and a.shape[0] == 3:
            hint = "; channels first (3, H, W): a.transpose(1, 2, 0) makes it (H, W, 3)"
        raise ValueError(f"{where}: expected an array of shape (height, width, 3), got {a.shape}{hint}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{where}: an empty image of shape {a.shape}: expected at least 1 x 1 pixels")


def _to_item(image, bgr: bool, where: str):
    """(the compiled module's (kind, payload, name) tuple, the Source a Result keeps)."""
    if isinstance(image, np.ndarray):
        _check_array(image, where)
        kind = "bgr" if bgr else "rgb"
        return (kind, image, "array"), Source(kind, image, None)
    if isinstance(image, (str, os.PathLike)):
        fs = _fs_path(image)
        return ("path", fs, os.fsdecode(fs)), Source("path", fs, os.fsdecode(fs))
    if _is_pil(image):
        # PIL gives RGB (one copy: PIL's own buffer is not an array); `bgr` does not apply.
        rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        return ("rgb", rgb, "PIL image"), Source("rgb", rgb, getattr(image, "filename", None) or None)
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        return ("bytes", data, "<bytes>"), Source("bytes", data, None)
    if hasattr(image, "read"):  # a file object opened in binary mode
        name = str(getattr(image, "name", "<file>"))
        if getattr(image, "closed", False):
            raise ValueError(f"{where}: the file object {name} is closed: open it again, or pass its path")
        if isinstance(image, io.TextIOBase):
            raise TypeError(f"{where}: the file object {name} was opened in text mode: open it in binary mode ('rb')")
        data = image.read()
        if not isinstance(data, bytes):
            raise TypeError(f"{where}: the file object {name} gave {type(data).__name__}, not bytes: open it in "
                            "binary mode ('rb')")
        return ("bytes", data, name), Source("bytes", data, name if os.path.isfile(name) else None)
    raise TypeError(f"{where}: expected a path (str or os.PathLike), a NumPy array (height x width x 3, uint8), "
                    f"a PIL image, or the bytes or binary file object of an image file; got {type(image).__name__}")


def _prompt(value, where: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{where}: expected a prompt as a str (one the package was exported with), "
                        f"got {type(value).__name__}")
    return value


def _threshold(value, name: str) -> float:
    if value is None:
        return -1.0
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number in [0, 1] or None, got {type(value).__name__}")
    v = float(value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name}={value}: expected a number in [0, 1], or None for the package's own")
    return v


class Sam3Wrapper:
    """A model package (`chickenseg model export`) loaded once and run by the C++ engine.

    package: the package folder; it is verified (every file's SHA-256) unless verify=False.
    device: "auto" (the kind of device the package was exported for), "cpu", "cuda", "cuda:N".
    presence_threshold, score_threshold, mask_threshold: None takes the package's (manifest);
    presence_threshold=0 turns presence gating off. They can be changed on the object later.
    prompt: the default prompt (one the package was exported with); None = its first one.
    backend: "auto", "torchscript" or "aoti"; threads: CPU threads of the backend (0 = default).

    One object serves several Python threads at once: the engine runs without the GIL.
    Raises chickenseg.Error (a RuntimeError) with the engine's message when the package cannot
    be used (missing, tampered, for another device or torch release, no backend plugin)."""

    def __init__(self, package, device: str = "auto", presence_threshold: float | None = None,
                 score_threshold: float | None = None, *, mask_threshold: float | None = None,
                 prompt: str | None = None, backend: str = "auto", threads: int = 0, verify: bool = True):
        folder = os.fsencode(os.fspath(package))
        if not isinstance(device, str):
            raise TypeError(f"device: expected a str (auto, cpu, cuda, cuda:N), got {type(device).__name__}")
        if not isinstance(backend, str):
            raise TypeError(f"backend: expected a str (auto, torchscript, aoti), got {type(backend).__name__}")
        if isinstance(threads, bool) or not hasattr(threads, "__index__"):
            raise TypeError(f"threads: expected a whole number (int), got {type(threads).__name__}")
        threads = operator.index(threads)
        if not 0 <= threads <= 4096:
            raise ValueError(f"threads={threads}: expected a number of CPU threads from 0 (the backend's default) "
                             "to 4096")
        if prompt is not None:
            _prompt(prompt, "prompt")
        self.presence_threshold = presence_threshold
        self.score_threshold = score_threshold
        self.mask_threshold = mask_threshold
        _threshold(presence_threshold, "presence_threshold")
        _threshold(score_threshold, "score_threshold")
        _threshold(mask_threshold, "mask_threshold")
        self._engine = _chickenseg._Engine(folder, "" if device == "auto" else device, backend, threads,
                                           bool(verify), os.fsencode(plugin_dir()))
        self.prompt = self._engine.prompts[0] if prompt is None else prompt
        self._engine.prompt_index(self.prompt)  # an unknown prompt is an error now, not at the first image

    # What the package and the engine are.
    @property
    def prompts(self) -> list[str]:
        """The prompts the package was exported with (the text encoder runs at export)."""
        return list(self._engine.prompts)

    @property
    def max_batch(self) -> int:
        return self._engine.max_batch

    @property
    def device(self) -> str:
        return self._engine.device

    @property
    def backend(self) -> str:
        return self._engine.backend

    @property
    def description(self) -> str:
        return self._engine.description

    @property
    def package(self) -> str:
        return self._engine.folder

    @property
    def thresholds(self) -> dict:
        """The thresholds in force (the package's where this object's are None)."""
        e = self._engine
        pick = (lambda mine, theirs: theirs if mine is None else float(mine))
        return {"score": pick(self.score_threshold, e.score_threshold),
                "presence": pick(self.presence_threshold, e.presence_threshold),
                "mask": pick(self.mask_threshold, e.mask_threshold)}

    def __repr__(self) -> str:
        return (f"Sam3Wrapper({self.package!r}, device={self.device!r}, backend={self.backend!r}, "
                f"prompts={self.prompts!r})")

    # Running it.
    def _params(self, prompt, masks: bool):
        index = self._engine.prompt_index(_prompt(self.prompt if prompt is None else prompt, "prompt"))
        return (index, _threshold(self.score_threshold, "score_threshold"),
                _threshold(self.presence_threshold, "presence_threshold"),
                _threshold(self.mask_threshold, "mask_threshold"), bool(masks))

    def predict(self, image, *, prompt: str | None = None, bgr: bool = False, masks: bool = True) -> Result:
        """Detections of `prompt` (default: self.prompt) in one image: a path, a NumPy array
        (height x width x 3, uint8, RGB; bgr=True for OpenCV's BGR), a PIL image (converted to
        RGB), or an image file's bytes or binary file object. masks=False skips the mask decoder
        (boxes and scores only)."""
        if isinstance(image, (list, tuple)):
            raise TypeError("predict takes one image; use predict_batch for a list of images")
        item, source = _to_item(image, bgr, "image")
        index, score, presence, mask, masks = self._params(prompt, masks)
        raw = self._engine.predict([item], index, score, presence, mask, masks, False)
        return Result(raw[0], source)

    __call__ = predict

    def predict_batch(self, images: Iterable, *, prompt: str | None = None, bgr: bool = False,
                      masks: bool = True) -> list[Result]:
        """predict for several images: they are decoded on the CPU cores and run through the vision
        encoder max_batch at a time. One result per image, in order. An image that cannot be used
        raises (naming images[i]) and no result is returned."""
        if isinstance(images, (str, os.PathLike, np.ndarray, bytes)) or _is_pil(images):
            raise TypeError("predict_batch takes a list of images; use predict for one image")
        converted = [_to_item(image, bgr, f"images[{i}]") for i, image in enumerate(images)]
        if not converted:
            return []
        index, score, presence, mask, masks = self._params(prompt, masks)
        raw = self._engine.predict([item for item, _ in converted], index, score, presence, mask, masks, True)
        return [Result(r, source) for r, (_, source) in zip(raw, converted)]

    def encode(self, image, *, bgr: bool = False) -> Encoded:
        """Runs the vision encoder once on an image (as predict takes it); detect then costs one
        decoder run per prompt on the cached features."""
        item, source = _to_item(image, bgr, "image")
        return Encoded(self._engine.encode(item), source, self)

    def detect(self, encoded: Encoded, prompt: str | None = None, *, masks: bool = True) -> Result:
        """Detections of `prompt` (default: self.prompt) in an encoded image."""
        if not isinstance(encoded, Encoded):
            raise TypeError(f"encoded: expected what Sam3Wrapper.encode returns, got {type(encoded).__name__}")
        if encoded._wrapper is not self:
            raise ValueError("encoded: the image was encoded by another Sam3Wrapper (its features live on that "
                             "engine's device); encode it with this one")
        index, score, presence, mask, masks = self._params(prompt, masks)
        return Result(self._engine.detect(encoded._raw, index, score, presence, mask, masks), encoded._source)

    def detect_prompts(self, encoded: Encoded, prompts: Sequence[str], *, masks: bool = True) -> dict[str, Result]:
        """detect for each prompt: {prompt: Result}."""
        if isinstance(prompts, str):
            raise TypeError("detect_prompts takes a list of prompts; use detect for one prompt")
        return {p: self.detect(encoded, p, masks=masks) for p in prompts}
