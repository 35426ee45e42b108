"""Image loading and SAM 3 pre-processing: EXIF-orientation applied (the SA-Co sizes are after
it), RGB, resized to a square without keeping the aspect ratio (bilinear), scaled to [0, 1]
and normalised with mean = std = 0.5, as Sam3Processor does."""
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from chickenseg_model.errors import ModelError


def load_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            return im.convert("RGB")
    except FileNotFoundError:
        raise ModelError(f"{path}: image file not found") from None
    except Exception as e:
        raise ModelError(f"{path}: cannot decode image: {e}") from e


def preprocess(image: Image.Image, size: int) -> torch.Tensor:
    """Returns a (3, size, size) float32 tensor."""
    resized = image.resize((size, size), Image.BILINEAR)
    arr = np.asarray(resized, dtype=np.float32) / 255.0
    arr = (arr - 0.5) / 0.5
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()
