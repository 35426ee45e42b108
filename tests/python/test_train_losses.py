"""Losses, matching, batch order and sample building of the trainer, on the tiny SAM 3: a
negative image teaches presence (non-zero presence gradient, non-zero total loss), matching is
the optimal assignment, batches hold the requested negatives and are reproducible, and boxes
follow their masks through flip / scale / crop."""
import itertools

import numpy as np
import pytest
import torch

from chickenseg_model.loading import load_model
from chickenseg_model.train.data import Augment, ImageRecord, build_sample, read_saco
from chickenseg_model.train.detector import Detector, TextCache, count_parameters, set_trainable
from chickenseg_model.train.losses import LossParams, compute_losses
from chickenseg_model.train.matcher import box_xyxy_to_cxcywh, focal_class_cost, match_queries
from chickenseg_model.train.sampler import epoch_batches
from chickenseg_model.train.synthetic import make_synthetic_dataset
from torchvision.ops import generalized_box_iou


@pytest.fixture(scope="module")
def tiny():
    loaded = load_model("tiny:0", "cpu", "fp32")
    set_trainable(loaded.model, freeze_backbone=True)
    return loaded


def forward(loaded, pixels, prompts):
    det = Detector(loaded.model, freeze_backbone=True).train()
    hidden, mask = TextCache(loaded.model, loaded.tokenizer, torch.device("cpu")).hidden(prompts)
    return det(pixels, mask, text_hidden=hidden)


def negative_batch(size, n=1):
    return {"present": torch.zeros(n), "has_crowd": [False] * n, "boxes": [torch.zeros(0, 4)] * n,
            "masks": [torch.zeros(0, size, size, dtype=torch.bool)] * n}


def test_frozen_backbone_has_no_gradients_and_no_trainable_encoder(tiny):
    model = tiny.model
    assert not any(p.requires_grad for p in model.vision_encoder.parameters())
    assert not any(p.requires_grad for p in model.text_encoder.parameters())
    assert not any(p.requires_grad for p in model.geometry_encoder.parameters())
    assert all(p.requires_grad for p in model.detr_decoder.parameters())
    counts = count_parameters(model)
    assert 0 < counts["trainable"] < counts["total"]
    model.zero_grad(set_to_none=True)
    out = forward(tiny, torch.randn(1, 3, 224, 224), ["chicken"])
    compute_losses(out, negative_batch(224), LossParams())["loss"].backward()
    assert all(p.grad is None for p in model.vision_encoder.parameters())
    assert all(p.grad is None for p in model.text_encoder.parameters())
    model.zero_grad(set_to_none=True)


def test_negative_image_gives_presence_gradient_and_nonzero_loss(tiny):
    model = tiny.model
    model.zero_grad(set_to_none=True)
    out = forward(tiny, torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1)), ["chicken"])
    terms = compute_losses(out, negative_batch(224), LossParams())
    assert float(terms["loss"].detach()) > 0 and float(terms["loss_presence"].detach()) > 0
    # On a negative image only presence speaks: no class, box or mask term.
    for name in ("loss_class", "loss_bbox", "loss_iou", "loss_focal", "loss_dice"):
        assert float(terms[name]) == 0.0, name
    terms["loss"].backward()
    head = model.detr_decoder.presence_head
    grad = sum(float(p.grad.abs().sum()) for p in head.parameters())
    assert grad > 0
    token_grad = model.detr_decoder.presence_token.weight.grad
    assert token_grad is not None and float(token_grad.abs().sum()) > 0
    model.zero_grad(set_to_none=True)


def test_positive_image_trains_every_term(tiny):
    out = forward(tiny, torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(2)), ["chicken"] * 2)
    masks = torch.zeros(2, 224, 224, dtype=torch.bool)
    masks[0, 20:80, 30:100] = True
    masks[1, 120:200, 100:220] = True
    batch = {"present": torch.tensor([1.0, 0.0]), "has_crowd": [False, False],
             "boxes": [torch.tensor([[30 / 224, 20 / 224, 100 / 224, 80 / 224],
                                     [100 / 224, 120 / 224, 220 / 224, 200 / 224]]), torch.zeros(0, 4)],
             "masks": [masks, torch.zeros(0, 224, 224, dtype=torch.bool)]}
    for resolution in ("gt", "logits"):
        terms = compute_losses(out, batch, LossParams(mask_resolution=resolution))
        for name in ("loss_presence", "loss_class", "loss_bbox", "loss_iou", "loss_focal", "loss_dice"):
            assert float(terms[name]) > 0, (resolution, name)
        assert terms["num_gt"] == 2 and torch.isfinite(terms["loss"])
    no_masks = compute_losses(out, batch, LossParams(mask_losses=False))
    assert float(no_masks["loss_focal"]) == 0 and float(no_masks["loss_dice"]) == 0


def test_weights_scale_their_terms(tiny):
    out = forward(tiny, torch.randn(1, 3, 224, 224), ["chicken"])
    batch = negative_batch(224)
    a = compute_losses(out, batch, LossParams(presence_weight=1.0))
    b = compute_losses(out, batch, LossParams(presence_weight=3.0))
    assert float(b["loss"]) == pytest.approx(3 * float(a["loss"]), rel=1e-6)
    bce = compute_losses(out, batch, LossParams(presence_loss="bce", presence_weight=1.0))
    logit = float(out["presence_logits"].reshape(()))
    assert float(bce["loss"]) == pytest.approx(np.log1p(np.exp(logit)), rel=1e-5)


def test_matching_is_the_optimal_assignment():
    gen = torch.Generator().manual_seed(3)
    for trial in range(20):
        q, g = 5, int(torch.randint(1, 5, (1,), generator=gen))
        logits = torch.randn(q, generator=gen)
        xy = torch.rand(q + g, 2, generator=gen) * 0.6
        boxes = torch.cat([xy, xy + 0.1 + torch.rand(q + g, 2, generator=gen) * 0.3], 1)
        pred, gt = boxes[:q], boxes[q:]
        rows, cols = match_queries(logits, pred, gt, 2.0, 5.0, 2.0)
        cost = (2.0 * focal_class_cost(logits, 0.25, 2.0)[:, None]
                + 5.0 * torch.cdist(box_xyxy_to_cxcywh(pred), box_xyxy_to_cxcywh(gt), p=1)
                - 2.0 * generalized_box_iou(pred, gt))
        best = min(sum(float(cost[p, j]) for j, p in enumerate(perm)) for perm in itertools.permutations(range(q), g))
        got = sum(float(cost[r, c]) for r, c in zip(rows.tolist(), cols.tolist()))
        assert got == pytest.approx(best, abs=1e-5)
        assert sorted(cols.tolist()) == list(range(g))


def test_batches_hold_the_negative_share_and_are_reproducible():
    flags = [i % 4 == 0 for i in range(40)]  # 10 negatives, 30 positives
    batches = epoch_batches(flags, 4, 0.5, seed=7, epoch=0)
    assert all(sum(flags[i] for i, _ in b) == 2 for b in batches)
    assert sorted(i for b in batches for i, _ in b if not flags[i]) == [i for i in range(40) if not flags[i]]
    assert batches == epoch_batches(flags, 4, 0.5, seed=7, epoch=0)
    assert batches != epoch_batches(flags, 4, 0.5, seed=7, epoch=1)
    one = epoch_batches(flags, 1, 0.5, seed=7, epoch=0)
    assert [flags[b[0][0]] for b in one[:6]] == [False, True] * 3  # batch size 1: every second a negative
    natural = epoch_batches(flags, 4, None, seed=7, epoch=0)
    assert sorted(i for b in natural for i, _ in b) == list(range(40))
    # Two ranks split the batches and agree on each sample's augmentation seed.
    ranks = [epoch_batches(flags, 4, 0.5, seed=7, epoch=0, world_size=2, rank=r) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == len(batches) // 2
    assert ranks[0][0] == batches[0] and ranks[1][0] == batches[1]


def test_augmented_boxes_follow_the_masks(tmp_path):
    make_synthetic_dataset(tmp_path, train=6, val=0, size=96, negative_share=0.0, seed=4)
    records = read_saco(tmp_path / "train.json", None, True, "text_input", "chicken")
    augment = Augment(hflip_prob=0.5, scale_min=0.6, scale_max=1.5)
    checked = 0
    for rec in records:
        for seed in range(6):
            s = build_sample(rec, 224, seed, augment, with_masks=True)
            assert s.pixel_values.shape == (3, 224, 224) and s.masks.shape[0] == s.boxes.shape[0]
            assert s.present == (s.boxes.shape[0] > 0)
            for box, mask in zip(s.boxes, s.masks):
                ys, xs = torch.nonzero(mask, as_tuple=True)
                if len(xs) == 0:
                    continue
                got = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32) / 224
                # Rasterising at the source size, then nearest-resizing by up to 224 x 1.5 / 96 = 3.5x:
                # up to 2 source pixels (7 px here) apart; a wrong flip or offset is far more.
                assert torch.allclose(got, box, atol=8 / 224), (rec.image_id, seed)
                checked += 1
            assert build_sample(rec, 224, seed, augment, True).pixel_values.equal(s.pixel_values)
    assert checked > 20


def test_bad_dataset_errors_name_file_and_json_path(tmp_path):
    (tmp_path / "d.json").write_text('{"images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],'
                                     ' "annotations": [{"image_id": 1, "bbox": [1, 2]}]}')
    with pytest.raises(Exception, match=r"d\.json: images\[0\]\.text_input: expected the noun phrase"):
        read_saco(tmp_path / "d.json", None, True, "text_input", "chicken")
    with pytest.raises(Exception, match=r"d\.json: annotations\[0\]\.bbox: expected \[x, y, w, h\] in pixels"):
        read_saco(tmp_path / "d.json", None, False, "text_input", "chicken")
    rec = ImageRecord(1, tmp_path / "missing.png", 10, 10, "chicken")
    with pytest.raises(Exception, match="missing.png: image file not found"):
        build_sample(rec, 224, 0, Augment(), False)
