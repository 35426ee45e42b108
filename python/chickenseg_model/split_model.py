"""SAM 3 cut in two for export and backbone caching: the vision encoder (pixels -> FPN
features) and the prompt-conditioned decoder (features + text embeddings -> queries).

The decoder wrapper re-states the text-prompt path of Sam3Model.forward (no geometry
prompts) with static shapes: transformers' DETR decoder builds its coordinate grid with
torch.arange over sizes read from a tensor, a data-dependent shape that stops
torch.export (REFERENCE §8: GuardOnDataDependentSymNode Ne(u0*u1, 5184)). Here the grid
size comes from the feature map's static shape instead; the values are the same.

Reduced precision (`reduced_precision_guards`, used only when exporting bf16/fp16): the
numerically fragile parts, attention scores + softmax and RoPE, stay in fp32. The fp32 path
never enters it, so fp32 exports are unchanged.
"""
import contextlib

import torch
from transformers import AttentionInterface
from transformers.configuration_utils import PretrainedConfig
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
from transformers.models.sam3.modeling_sam3 import (Sam3ViTLayer, Sam3ViTRotaryEmbedding, box_cxcywh_to_xyxy,
                                                    inverse_sigmoid)

# What the three graphs compute together (the unsplit Sam3Model's outputs, which verify compares).
OUTPUT_NAMES = ["pred_logits", "pred_boxes", "presence_logits", "pred_masks"]
# The prompt decoder's outputs: the scores and boxes, then what the mask decoder continues from.
DECODER_OUTPUT_NAMES = ["pred_logits", "pred_boxes", "presence_logits", "queries", "encoder_hidden"]
MASK_DECODER_OUTPUT_NAMES = ["pred_masks"]

# What a reduced-precision export keeps in fp32 (recorded in the manifest's "precision").
# attention_softmax and rope are forced by reduced_precision_guards; layer_norm is not ours:
# PyTorch's and Inductor's layer norms accumulate fp16/bf16 input in fp32, and ONNX's
# LayerNormalization computes in stash_type = 1 (float32, the default the exporter keeps).
KEPT_FP32 = ["attention_softmax", "rope", "layer_norm"]

# The attention implementation a reduced-precision export switches SAM 3's attention modules to.
FP32_SOFTMAX_ATTENTION = "chickenseg_fp32_softmax"


def num_feature_levels(model) -> int:
    # Sam3Model.forward drops the last (coarsest) FPN level.
    return len(model.config.vision_config.scale_factors) - 1


def fp32_softmax_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                           is_causal=None, **kwargs):
    """SAM 3's attention with the scores and the softmax in fp32: Q·Kᵀ, the scaling, the mask
    (bool: True attends, as sdpa's; or an additive bias such as the DETR decoder's box
    relative-position bias) and the softmax run in float32; the probabilities are then cast
    to the value's dtype and P·V runs in the model's dtype. In fp16 the unscaled Q·Kᵀ can pass
    65504 and the softmax's exp/sum lose the small probabilities; P is in [0, 1], which fp16
    and bf16 hold well. Inference only (no dropout); SAM 3's attention is never causal."""
    if is_causal:
        raise ValueError(f"{FP32_SOFTMAX_ATTENTION}: causal attention is not supported")
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query.float(), key.float().transpose(2, 3)) * scaling
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attention_mask, torch.finfo(torch.float32).min)
        else:
            scores = scores + attention_mask.float()
    probs = torch.softmax(scores, dim=-1).to(value.dtype)
    return torch.matmul(probs, value).transpose(1, 2).contiguous(), None


# transformers' documented extension point: an attention function by name, and the mask
# format it takes (sdpa's boolean masks). Without the mask entry, transformers' mask builder
# returns no mask at all for an unknown implementation name (padding would be attended).
AttentionInterface.register(FP32_SOFTMAX_ATTENTION, fp32_softmax_attention)
AttentionMaskInterface.register(FP32_SOFTMAX_ATTENTION, sdpa_mask)


def _configs(model) -> list:
    """Every config object the model's modules read (sub-configs included), each once."""
    found, stack = {}, [m.config for m in model.modules() if isinstance(getattr(m, "config", None), PretrainedConfig)]
    while stack:
        c = stack.pop()
        if id(c) in found:
            continue
        found[id(c)] = c
        stack += [getattr(c, k) for k in getattr(c, "sub_configs", {}) if isinstance(getattr(c, k, None), PretrainedConfig)]
    return list(found.values())


@contextlib.contextmanager
def reduced_precision_guards(model):
    """Keeps SAM 3's numerically fragile parts in fp32 while a bf16/fp16 model is exported
    (third-party exports report fp16 overflow in softmax and RoPE):

    - attention: every SAM 3 attention module (ViT, DETR encoder/decoder, mask decoder) reads
      its implementation from its config at call time; it is switched to
      `fp32_softmax_attention` (scores and softmax in fp32) and switched back afterwards.
    - RoPE: transformers 5.17 already computes the rotation in fp32 (`apply_rotary_pos_emb_2d`
      upcasts q and k, the cos/sin tables are computed in fp32), but from two buffers that
      `model.to(fp16)` casts too: the ViT positions (`Sam3ViTLayer.position_ids`, multiples of
      window/grid, 1/3 at full size: inexact in bf16/fp16) and the inverse frequencies
      (`rotary_emb.inv_freq`). They are recomputed in fp32 from the config here, so the tables
      are the fp32 model's, bit for bit, and the rotation runs on them in fp32.

    One attention function and two buffers, set and restored in one place: the smallest
    change that covers every attention and RoPE site, instead of patching each module's
    forward. Not entered for fp32 exports, whose graphs stay as they were."""
    saved_attn = [(c, c._attn_implementation_internal) for c in _configs(model)]
    saved_buffers = []
    try:
        for c, _ in saved_attn:
            c._attn_implementation_internal = FP32_SOFTMAX_ATTENTION
        for layer in model.modules():
            if isinstance(layer, Sam3ViTLayer):
                rope = layer.rotary_emb
                saved_buffers += [(layer, "position_ids", layer.position_ids), (rope, "inv_freq", rope.inv_freq)]
                device = layer.position_ids.device
                layer.position_ids = Sam3ViTLayer.precompute_positions(layer.config, layer.window_size).to(
                    device=device, dtype=torch.float32)
                inv_freq, _ = Sam3ViTRotaryEmbedding.compute_axial_rope_parameters(rope.config)
                rope.inv_freq = inv_freq.to(device=device, dtype=torch.float32)
        yield model
    finally:
        for c, value in saved_attn:
            c._attn_implementation_internal = value
        for module, name, value in reversed(saved_buffers):
            setattr(module, name, value)


def precision_guards(model, dtype: torch.dtype):
    """`reduced_precision_guards` for bf16/fp16, nothing for fp32."""
    return contextlib.nullcontext(model) if dtype == torch.float32 else reduced_precision_guards(model)


def model_dtype(model) -> torch.dtype:
    return next(model.parameters()).dtype


class VisionEncoder(torch.nn.Module):
    """pixel_values (B,3,S,S) -> FPN features f0..f{L-1} and the last level's position encoding.

    The pixels are float32 whatever the model's dtype (cast inside, as the runtime's
    preprocessing writes float32); the features are in the model's dtype (they are what the
    decoder takes, and what a backbone cache holds)."""

    def __init__(self, model):
        super().__init__()
        self.vision_encoder = model.vision_encoder
        self.levels = num_feature_levels(model)

    @property
    def dtype(self) -> torch.dtype:
        return model_dtype(self)

    def forward(self, pixel_values):
        if self.dtype != torch.float32:
            pixel_values = pixel_values.to(self.dtype)
        out = self.vision_encoder(pixel_values)
        feats = tuple(out.fpn_hidden_states[: self.levels])
        return feats + (out.fpn_position_encoding[self.levels - 1],)

    def output_names(self):
        return [f"fpn_{i}" for i in range(self.levels)] + ["fpn_pos_last"]


class _PromptGraph(torch.nn.Module):
    """What the two prompt-conditioned graphs share: the whole model (they reach into several
    of its heads), the number of feature levels, and text features cast to the model's dtype."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.levels = num_feature_levels(model)

    @property
    def dtype(self) -> torch.dtype:
        return model_dtype(self)

    def model_dtype_text(self, text_features):
        return text_features if self.dtype == torch.float32 else text_features.to(self.dtype)


class PromptDecoder(_PromptGraph):
    """The prompt-conditioned detector up to presence: (fpn_last, pos_last, text_features (B,T,D),
    text_mask (B,T)) -> query logits, boxes (xyxy in [0,1]), presence logit, and the two tensors
    the mask decoder continues from (the last decoder layer's queries and the DETR encoder's
    output). The mask head is a separate graph (MaskDecoder) so that the runtime can skip it
    on an image without the concept (presence gating) or without a kept query.

    The features are in the model's dtype (the vision encoder's outputs); the text features
    (text_embeddings.safetensors) and the three score/box outputs are float32 whatever the
    model's dtype; queries and encoder_hidden stay in the model's dtype (they only pass to the
    mask decoder)."""

    def forward(self, feat_last, pos_last, text_features, text_mask):
        m = self.model
        text_features = self.model_dtype_text(text_features)
        mask = text_mask.bool()
        height, width = feat_last.shape[-2:]
        decoder = m.detr_decoder

        def static_coords(h, w, dtype, device):
            coords_h = torch.arange(0, height, device=device, dtype=dtype) / height
            coords_w = torch.arange(0, width, device=device, dtype=dtype) / width
            return coords_h, coords_w

        original = decoder._get_coords
        decoder._get_coords = static_coords
        try:
            enc = m.detr_encoder(vision_features=[feat_last], text_features=text_features,
                                 vision_pos_embeds=[pos_last], text_mask=mask)
            dec = decoder(vision_features=enc.last_hidden_state, text_features=enc.text_features,
                          vision_pos_encoding=enc.pos_embeds_flattened, text_mask=mask,
                          spatial_shapes=enc.spatial_shapes)
        finally:
            decoder._get_coords = original
        hidden = dec.intermediate_hidden_states[-1:]
        offsets = decoder.box_head(hidden)
        boxes = box_cxcywh_to_xyxy((inverse_sigmoid(dec.reference_boxes[-1:]) + offsets).sigmoid())[-1]
        logits = m.dot_product_scoring(decoder_hidden_states=hidden, text_features=enc.text_features,
                                       text_mask=mask).squeeze(-1)[-1]
        scored = (logits, boxes, dec.presence_logits[-1])
        if self.dtype != torch.float32:
            scored = tuple(o.float() for o in scored)
        return scored + (hidden[-1], enc.last_hidden_state)

    def input_names(self):
        return [f"fpn_{self.levels - 1}", "fpn_pos_last", "text_features", "text_mask"]


class MaskDecoder(_PromptGraph):
    """(f0..f{L-1}, encoder_hidden, queries, text_features, text_mask) -> mask logits (B,Q,H,W),
    float32 whatever the model's dtype: SAM 3's mask head (pixel decoder over the FPN features
    and the DETR encoder's output, the prompt cross-attention, one mask per query)."""

    def forward(self, *inputs):
        feats = list(inputs[: self.levels])
        encoder_hidden, queries, text_features, text_mask = inputs[self.levels:]
        text_features = self.model_dtype_text(text_features)
        masks = self.model.mask_decoder(decoder_queries=queries, backbone_features=feats,
                                        encoder_hidden_states=encoder_hidden, prompt_features=text_features,
                                        prompt_mask=text_mask.bool())
        return masks.pred_masks.float()

    def input_names(self):
        return [f"fpn_{i}" for i in range(self.levels)] + ["encoder_hidden", "queries", "text_features",
                                                            "text_mask"]


def run_split(vision, decoder, mask_decoder, pixels, text_features, text_mask) -> tuple:
    """The three graphs chained as the runtime chains them (every query's mask computed):
    pixels -> (pred_logits, pred_boxes, presence_logits, pred_masks), the unsplit model's
    outputs. `vision`, `decoder` and `mask_decoder` are callables with the modules'
    signatures: the modules themselves or loaded artefacts."""
    n = pixels.shape[0]
    text_features = text_features.expand(n, -1, -1)
    text_mask = text_mask.expand(n, -1)
    feats = list(vision(pixels))
    levels = len(feats) - 1
    logits, boxes, presence, queries, encoder_hidden = decoder(feats[levels - 1], feats[levels], text_features,
                                                               text_mask)
    masks = mask_decoder(*feats[:levels], encoder_hidden, queries, text_features, text_mask)
    return logits, boxes, presence, masks
