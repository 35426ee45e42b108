"""The tiny model's two initialisations (python/chickenseg_model/tiny.py): `hf` (every test's
model) unchanged, `pytorch` (the demo's start, `chickenseg model build-tiny --init pytorch`)
reproducible and with outputs that depend on the image by orders of magnitude more."""
import json
import os
import subprocess
import sys

import pytest
import torch

from chickenseg_model.tiny import build_tiny_model
from conftest import ROOT


def spread(model):
    """How much the presence logit moves between two different images (same prompt)."""
    g = torch.Generator().manual_seed(0)
    pixels = torch.rand(2, 3, 224, 224, generator=g) * 2 - 1
    pixels[1] = pixels[1].flip(-1) * 0.5
    ids = torch.tensor([[1, 5, 2], [1, 5, 2]])
    with torch.no_grad():
        out = model(pixel_values=pixels, input_ids=ids, attention_mask=torch.ones_like(ids))
    p = out.presence_logits.flatten()
    return float((p[0] - p[1]).abs())


def test_pytorch_init_is_reproducible_and_lets_the_image_through():
    hf, pt, pt_again = build_tiny_model(0), build_tiny_model(0, init="pytorch"), build_tiny_model(0, init="pytorch")
    assert torch.equal(hf.state_dict()["detr_decoder.presence_token.weight"],
                       build_tiny_model(0).state_dict()["detr_decoder.presence_token.weight"])
    for k, v in pt.state_dict().items():
        assert torch.equal(v, pt_again.state_dict()[k]), k
    assert not torch.equal(hf.state_dict()["detr_decoder.presence_head.layer1.weight"],
                           pt.state_dict()["detr_decoder.presence_head.layer1.weight"])
    assert spread(pt) > 100 * spread(hf), (spread(pt), spread(hf))
    with pytest.raises(ValueError, match="init 'x'"):
        build_tiny_model(0, init="x")


def test_build_tiny_writes_the_pytorch_init(tmp_path):
    out = tmp_path / "tiny"
    r = subprocess.run([sys.executable, "-m", "chickenseg_model", "build-tiny", "--out", str(out), "--init", "pytorch"],
                       capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "python")})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["source"] == "tiny:0 (init pytorch)"
    assert (out / "config.json").exists() and (out / "model.safetensors").exists()
