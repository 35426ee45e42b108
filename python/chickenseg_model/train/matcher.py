"""Hungarian matching of queries to GT instances, one image at a time.

Cost (DETR / SAM 3 recipe) = cost_class · focal class cost + cost_bbox · L1(cx,cy,w,h) +
cost_giou · (-GIoU(xyxy)). The focal class cost is pos - neg with
pos = α(1-p)^γ·(-log p), neg = (1-α)p^γ·(-log(1-p)), p = sigmoid(query logit): the query's
own score, not multiplied by presence (presence is learned separately). The assignment is
scipy's linear_sum_assignment on a float64 copy, on the CPU; with more GT than queries the
extra GT stay unmatched.
"""
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torchvision.ops import generalized_box_iou


def box_xyxy_to_cxcywh(b: torch.Tensor) -> torch.Tensor:
    x0, y0, x1, y1 = b.unbind(-1)
    return torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dim=-1)


def focal_class_cost(logits: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    p = logits.sigmoid()
    neg = (1 - alpha) * p.pow(gamma) * -(1 - p + 1e-8).log()
    pos = alpha * (1 - p).pow(gamma) * -(p + 1e-8).log()
    return pos - neg


@torch.no_grad()
def match_queries(logits: torch.Tensor, boxes: torch.Tensor, gt_boxes: torch.Tensor,
                  cost_class: float, cost_bbox: float, cost_giou: float,
                  alpha: float = 0.25, gamma: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """logits (Q,), boxes (Q,4) and gt_boxes (G,4) xyxy in [0,1] -> (query idx, gt idx), int64,
    sorted by gt index."""
    if gt_boxes.numel() == 0:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty
    logits, boxes, gt_boxes = logits.float(), boxes.float(), gt_boxes.float().to(boxes.device)
    c_class = focal_class_cost(logits, alpha, gamma)[:, None].expand(-1, gt_boxes.shape[0])
    c_bbox = torch.cdist(box_xyxy_to_cxcywh(boxes), box_xyxy_to_cxcywh(gt_boxes), p=1)
    c_giou = -generalized_box_iou(boxes, gt_boxes)
    cost = cost_class * c_class + cost_bbox * c_bbox + cost_giou * c_giou
    cost = cost.cpu().double().numpy()
    if not np.isfinite(cost).all():
        raise FloatingPointError("matching cost is not finite (the model produced NaN/inf boxes or logits)")
    rows, cols = linear_sum_assignment(cost)
    order = np.argsort(cols)
    return torch.as_tensor(rows[order], dtype=torch.long), torch.as_tensor(cols[order], dtype=torch.long)
