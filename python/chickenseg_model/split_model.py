"""SAM 3 cut in two for export and backbone caching: the vision encoder (pixels -> FPN
features) and the prompt-conditioned decoder (features + text embeddings -> queries).

The decoder wrapper re-states the text-prompt path of Sam3Model.forward (no geometry
prompts) with static shapes: transformers' DETR decoder builds its coordinate grid with
torch.arange over sizes read from a tensor, a data-dependent shape that stops
torch.export (REFERENCE §8: GuardOnDataDependentSymNode Ne(u0*u1, 5184)). Here the grid
size comes from the feature map's static shape instead; the values are the same.
"""
import torch
from transformers.models.sam3.modeling_sam3 import box_cxcywh_to_xyxy, inverse_sigmoid

OUTPUT_NAMES = ["pred_logits", "pred_boxes", "presence_logits", "pred_masks"]


def num_feature_levels(model) -> int:
    # Sam3Model.forward drops the last (coarsest) FPN level.
    return len(model.config.vision_config.scale_factors) - 1


class VisionEncoder(torch.nn.Module):
    """pixel_values (B,3,S,S) -> FPN features f0..f{L-1} and the last level's position encoding."""

    def __init__(self, model):
        super().__init__()
        self.vision_encoder = model.vision_encoder
        self.levels = num_feature_levels(model)

    def forward(self, pixel_values):
        out = self.vision_encoder(pixel_values)
        feats = tuple(out.fpn_hidden_states[: self.levels])
        return feats + (out.fpn_position_encoding[self.levels - 1],)

    def output_names(self):
        return [f"fpn_{i}" for i in range(self.levels)] + ["fpn_pos_last"]


class PromptDecoder(torch.nn.Module):
    """(f0..f{L-1}, pos_last, text_features (B,T,D), text_mask (B,T)) -> logits, boxes (xyxy in
    [0,1]), presence logit, mask logits."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.levels = num_feature_levels(model)

    def forward(self, *inputs):
        m = self.model
        feats = list(inputs[: self.levels])
        pos_last, text_features, text_mask = inputs[self.levels:]
        mask = text_mask.bool()
        height, width = feats[-1].shape[-2:]
        decoder = m.detr_decoder

        def static_coords(h, w, dtype, device):
            coords_h = torch.arange(0, height, device=device, dtype=dtype) / height
            coords_w = torch.arange(0, width, device=device, dtype=dtype) / width
            return coords_h, coords_w

        original = decoder._get_coords
        decoder._get_coords = static_coords
        try:
            enc = m.detr_encoder(vision_features=[feats[-1]], text_features=text_features,
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
        masks = m.mask_decoder(decoder_queries=hidden[-1], backbone_features=feats,
                               encoder_hidden_states=enc.last_hidden_state,
                               prompt_features=text_features, prompt_mask=mask)
        return logits, boxes, dec.presence_logits[-1], masks.pred_masks

    def input_names(self):
        return [f"fpn_{i}" for i in range(self.levels)] + ["fpn_pos_last", "text_features", "text_mask"]
