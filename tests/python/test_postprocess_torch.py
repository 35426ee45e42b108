"""The runtime's mask post-processing (runtime/postprocess.h, driven through the rle_tool test
oracle) against PyTorch's own ops, the way the Python reference runs them: F.interpolate
(bilinear, align_corners=False) of the mask probabilities to the image size, then > 0.5, then
pycocotools' RLE. The resize must equal PyTorch's CPU kernel bit for bit: a barely trained
model's masks sit within a few ulps of 0.5, where anything less flips pixels."""
import json
import subprocess

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pycocotools import mask as mask_utils

from conftest import chickenseg_bin


def rle_tool(ops):
    tool = chickenseg_bin().parent / "tests" / "cpp" / "rle_tool"
    r = subprocess.run([str(tool)], input=json.dumps({"ops": ops}), capture_output=True, text=True, check=True)
    results = json.loads(r.stdout)["results"]
    assert all(x["ok"] for x in results), results
    return results


CASES = [  # mask h, w -> image h, w
    (32, 32, 240, 320), (32, 32, 277, 309), (288, 288, 1080, 1920 // 4), (56, 56, 17, 9), (8, 8, 8, 8),
    (32, 32, 31, 33), (5, 7, 400, 3), (288, 288, 200, 150), (32, 32, 64, 64), (288, 288, 60, 68),
]  # outputs with height + width <= 128 take PyTorch's other (channels-last) kernel


@pytest.mark.parametrize("scale", [2e-5, 1.0, 8.0])  # a random tiny model's logits, a trained one's, saturated
def test_resize_and_threshold_equal_pytorch_bit_for_bit(scale):
    gen = torch.Generator().manual_seed(int(scale * 1000))
    ops, expected = [], []
    for mh, mw, oh, ow in CASES:
        probs = (torch.randn(1, 1, mh, mw, generator=gen) * scale).sigmoid()
        resized = F.interpolate(probs, size=(oh, ow), mode="bilinear", align_corners=False)[0, 0]
        binary = (resized > 0.5).numpy().astype(np.uint8)
        expected.append((resized.numpy(), mask_utils.encode(np.asfortranarray(binary))["counts"].decode()))
        ops.append({"op": "mask_resize", "mask_h": mh, "mask_w": mw, "out_h": oh, "out_w": ow, "threshold": 0.5,
                    "values": probs.flatten().tolist()})
    flips = 0
    for (want, counts), got in zip(expected, rle_tool(ops)):
        resized = np.array(got["resized"], dtype=np.float32).reshape(want.shape)
        assert resized.size > 0
        assert np.array_equal(resized.view(np.int32), want.view(np.int32)), np.abs(resized - want).max()
        assert got["counts"] == got["reference"]  # the fast path is the per-pixel path
        flips += got["counts"] != counts
    assert flips == 0
