"""The training loss of SAM 3 for one concept (Sam3Model ships none).

Terms (unweighted values are logged under these names; `loss` is the weighted sum):
- loss_presence: focal (or BCE) on the image-level presence logit, target 1 when the concept
  is visible. Every image teaches it, negatives included: a negative image never gives a
  zero loss or a zero presence gradient (the official recipe's reported failure).
- loss_class: per-query sigmoid focal on the query logits, target 1 for matched queries; only
  on images where the concept is present and no crowd region is visible (on a negative image
  "no query matches" is presence's job). Summed over queries, divided by the matched GT count.
- loss_bbox: L1 on (cx, cy, w, h), loss_iou: 1 - GIoU, both on matched queries, averaged
  over matched GT.
- loss_focal (mask sigmoid focal, mean over pixels) and loss_dice, on matched queries only,
  averaged over matched GT. Resolution: "gt" upsamples only the matched mask logits to the
  GT masks (the model's input square): memory grows with the GT count, not the 200 queries;
  "logits" area-downsamples the GT to the logits (288 px at full size) instead.
All in fp32 whatever the autocast precision.
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.ops import generalized_box_iou, sigmoid_focal_loss

from chickenseg_model.train.matcher import box_xyxy_to_cxcywh, match_queries

LOSS_NAMES = ("loss_presence", "loss_class", "loss_bbox", "loss_iou", "loss_focal", "loss_dice")


@dataclass(frozen=True)
class LossParams:
    presence_loss: str = "focal"
    presence_weight: float = 20.0
    presence_alpha: float = 0.5
    presence_gamma: float = 2.0
    class_weight: float = 2.0
    class_alpha: float = 0.25
    class_gamma: float = 2.0
    bbox_weight: float = 5.0
    iou_weight: float = 2.0
    mask_losses: bool = True
    focal_weight: float = 5.0
    mask_alpha: float = 0.25
    mask_gamma: float = 2.0
    dice_weight: float = 1.0
    mask_resolution: str = "gt"
    cost_class: float = 2.0
    cost_bbox: float = 5.0
    cost_giou: float = 2.0

    @staticmethod
    def from_config(cfg) -> "LossParams":
        return LossParams(
            presence_loss=cfg["loss.presence_loss"], presence_weight=cfg["loss.presence_loss_weight"],
            presence_alpha=cfg["loss.presence_focal_alpha"], presence_gamma=cfg["loss.presence_focal_gamma"],
            class_weight=cfg["loss.class_loss_weight"], class_alpha=cfg["loss.class_focal_alpha"],
            class_gamma=cfg["loss.class_focal_gamma"], bbox_weight=cfg["loss.bbox_loss_weight"],
            iou_weight=cfg["loss.iou_loss_weight"], mask_losses=cfg["loss.mask_losses"],
            focal_weight=cfg["loss.focal_loss_weight"], mask_alpha=cfg["loss.mask_focal_alpha"],
            mask_gamma=cfg["loss.mask_focal_gamma"], dice_weight=cfg["loss.dice_loss_weight"],
            mask_resolution=cfg["loss.mask_loss_resolution"], cost_class=cfg["matcher.cost_class"],
            cost_bbox=cfg["matcher.cost_bbox"], cost_giou=cfg["matcher.cost_giou"])


def presence_loss(logits: torch.Tensor, present: torch.Tensor, p: LossParams) -> torch.Tensor:
    if p.presence_loss == "bce":
        return F.binary_cross_entropy_with_logits(logits, present)
    return sigmoid_focal_loss(logits, present, alpha=p.presence_alpha, gamma=p.presence_gamma, reduction="mean")


def dice_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per mask: 1 - (2|P∩T| + 1) / (|P| + |T| + 1) on soft P = sigmoid(logits); summed."""
    prob = logits.sigmoid().flatten(1)
    targets = targets.flatten(1)
    num = 2 * (prob * targets).sum(1) + 1
    den = prob.sum(1) + targets.sum(1) + 1
    return (1 - num / den).sum()


def compute_losses(outputs: dict, batch: dict, p: LossParams) -> dict:
    """outputs: pred_logits (B,Q), pred_boxes (B,Q,4) xyxy, presence_logits (B,1), pred_masks
    (B,Q,h,w); batch: collate() output. Returns the weighted `loss` and every term (tensors)."""
    logits = outputs["pred_logits"].float()
    boxes = outputs["pred_boxes"].float()
    presence = outputs["presence_logits"].float().reshape(-1)
    device = logits.device
    present = batch["present"].to(device)
    zero = logits.sum() * 0.0  # keeps every term on the graph, so DDP sees the same parameters used

    terms = {"loss_presence": presence_loss(presence, present, p)}

    matches = [match_queries(logits[b], boxes[b], batch["boxes"][b], p.cost_class, p.cost_bbox, p.cost_giou,
                             p.class_alpha, p.class_gamma) for b in range(logits.shape[0])]
    num_gt = sum(len(q) for q, _ in matches)
    norm = max(num_gt, 1)

    class_terms = []
    for b, (q_idx, _) in enumerate(matches):
        if present[b] > 0 and not batch["has_crowd"][b]:
            target = torch.zeros_like(logits[b])
            target[q_idx.to(device)] = 1.0
            class_terms.append(sigmoid_focal_loss(logits[b], target, alpha=p.class_alpha, gamma=p.class_gamma,
                                                  reduction="sum"))
    terms["loss_class"] = torch.stack(class_terms).sum() / norm if class_terms else zero

    if num_gt:
        src = torch.cat([boxes[b, q.to(device)] for b, (q, _) in enumerate(matches)])
        tgt = torch.cat([batch["boxes"][b][g] for b, (_, g) in enumerate(matches)]).to(device)
        terms["loss_bbox"] = F.l1_loss(box_xyxy_to_cxcywh(src), box_xyxy_to_cxcywh(tgt), reduction="sum") / norm
        terms["loss_iou"] = (1 - torch.diag(generalized_box_iou(src, tgt))).sum() / norm
    else:
        terms["loss_bbox"] = terms["loss_iou"] = zero

    if p.mask_losses and num_gt:
        masks = outputs["pred_masks"]
        src = torch.cat([masks[b, q.to(device)] for b, (q, _) in enumerate(matches)]).float()
        tgt = torch.cat([batch["masks"][b][g] for b, (_, g) in enumerate(matches)]).to(device)
        if p.mask_resolution == "gt":
            src = F.interpolate(src[:, None], size=tgt.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
            tgt = tgt.float()
        else:
            tgt = F.interpolate(tgt[:, None].float(), size=src.shape[-2:], mode="area")[:, 0]
        focal = sigmoid_focal_loss(src, tgt, alpha=p.mask_alpha, gamma=p.mask_gamma, reduction="none")
        terms["loss_focal"] = focal.flatten(1).mean(1).sum() / norm
        terms["loss_dice"] = dice_loss(src, tgt) / norm
    else:
        terms["loss_focal"] = terms["loss_dice"] = zero

    weights = {"loss_presence": p.presence_weight, "loss_class": p.class_weight, "loss_bbox": p.bbox_weight,
               "loss_iou": p.iou_weight, "loss_focal": p.focal_weight, "loss_dice": p.dice_weight}
    terms["loss"] = sum(weights[k] * terms[k] for k in LOSS_NAMES)
    terms["num_gt"] = num_gt
    return terms
