"""What trains, and the forward pass the trainer (and DDP) runs.

With `model.backbone.freeze` (the default) the vision encoder (ViT + FPN neck) and the CLIP
text encoder have requires_grad False, stay in eval mode, run under torch.no_grad (no
activations kept for backward) and are left out of the optimizer. The text encoder then runs
once per distinct prompt, at start-up; its hidden states are cached and only the
text_projection (text width -> DETR width, 0.26M parameters at full size) runs per step, so
the prompt embedding can still adapt. Trained: text_projection, DETR encoder, DETR decoder
(queries, presence token and head, box head), dot-product scoring, mask decoder. The geometry
encoder (box prompts) is never used by text-prompted training and is frozen always.

Gradient checkpointing (`model.use_gradient_checkpointing`): each DETR encoder layer, each
DETR decoder layer and the mask decoder's pixel decoder (the 288x288 feature maps at full size)
recompute their activations in backward (torch.utils.checkpoint, non-reentrant); when the
backbone trains, transformers' own checkpointing of the ViT and CLIP layers is switched on too.
"""
import functools

import torch
from torch.utils.checkpoint import checkpoint
from transformers.modeling_outputs import BaseModelOutputWithPooling

BACKBONE_PREFIXES = ("vision_encoder.", "text_encoder.")
ALWAYS_FROZEN_PREFIXES = ("geometry_encoder.",)


def set_trainable(model: torch.nn.Module, freeze_backbone: bool) -> None:
    for name, param in model.named_parameters():
        frozen = name.startswith(ALWAYS_FROZEN_PREFIXES) or (freeze_backbone and name.startswith(BACKBONE_PREFIXES))
        param.requires_grad_(not frozen)


def count_parameters(model: torch.nn.Module) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable}


def _checkpointed(module: torch.nn.Module) -> None:
    forward = module.forward

    @functools.wraps(forward)
    def wrapped(*args, **kwargs):
        if module.training and torch.is_grad_enabled():
            return checkpoint(forward, *args, use_reentrant=False, **kwargs)
        return forward(*args, **kwargs)

    module.forward = wrapped


def enable_gradient_checkpointing(model: torch.nn.Module, freeze_backbone: bool) -> None:
    for layer in model.detr_encoder.layers:
        _checkpointed(layer)
    for layer in model.detr_decoder.layers:
        _checkpointed(layer)
    _checkpointed(model.mask_decoder.pixel_decoder)
    if not freeze_backbone:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


class TextCache:
    """Frozen text encoder hidden states per prompt, computed once (no grad)."""

    def __init__(self, model, tokenizer, device):
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def tokens(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        enc = self.tokenizer(prompts)
        return enc["input_ids"].to(self.device), enc["attention_mask"].to(self.device)

    @torch.no_grad()
    def hidden(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        for text in prompts:
            if text not in self.cache:
                ids, mask = self.tokens([text])
                out = self.model.text_encoder(input_ids=ids, attention_mask=mask, return_dict=True)
                self.cache[text] = (out.last_hidden_state.float(), mask)
        return (torch.cat([self.cache[t][0] for t in prompts]), torch.cat([self.cache[t][1] for t in prompts]))


class Detector(torch.nn.Module):
    """pixel_values + text (cached hidden states, or token ids when the text encoder trains)
    -> the outputs the losses read. This is the module DDP wraps."""

    def __init__(self, model, freeze_backbone: bool):
        super().__init__()
        self.model = model
        self.freeze_backbone = freeze_backbone

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_backbone:
            self.model.vision_encoder.eval()
            self.model.text_encoder.eval()
        return self

    def forward(self, pixel_values, text_mask, text_hidden=None, input_ids=None):
        # transformers clamps the presence logit to +-10, and a clamp passes no gradient: a
        # presence logit pushed past it on the wrong side never comes back (seen in the
        # learning check at a high lr). The loss sees the unclamped logit; inference (predict,
        # saved models) keeps the clamp, which changes a presence score by < 5e-5.
        decoder = self.model.detr_decoder
        clamp = decoder.clamp_presence_logit_max_val
        decoder.clamp_presence_logit_max_val = float("inf")
        try:
            return self._forward(pixel_values, text_mask, text_hidden, input_ids)
        finally:
            decoder.clamp_presence_logit_max_val = clamp

    def _forward(self, pixel_values, text_mask, text_hidden, input_ids):
        m = self.model
        if self.freeze_backbone:
            with torch.no_grad():
                vision = m.vision_encoder(pixel_values)
        else:
            vision = m.vision_encoder(pixel_values)
            text_hidden = m.text_encoder(input_ids=input_ids, attention_mask=text_mask,
                                         return_dict=True).last_hidden_state
        text = m.text_projection(text_hidden)
        out = m(vision_embeds=vision, text_embeds=BaseModelOutputWithPooling(pooler_output=text),
                attention_mask=text_mask)
        return {"pred_logits": out.pred_logits, "pred_boxes": out.pred_boxes,
                "presence_logits": out.presence_logits, "pred_masks": out.pred_masks}
