"""Meta's original SAM 3 checkpoint (`sam3.pt`) -> a Hugging Face `Sam3Model` folder, cached.

A port of transformers' `convert_sam3_to_hf.py`, which the transformers wheel does not ship:

- PORTED FROM: huggingface/transformers, src/transformers/models/sam3/convert_sam3_to_hf.py at
  commit 0d7e95d96b4e187c651e2b2406ed98ed40d74963: the version that matches transformers 5.17
  (it uses `Sam3ImageProcessor` and `X | None` annotations as 5.17 does; the SAM 3.1 rework of
  the script came later, with the SAM 3.1 pull request, huggingface/transformers#45110, and 5.17
  has no SAM 3.1). Its key table, the class-token strip of the ViT position embedding, the
  q/k/v split of fused projections and the transpose of the CLIP text projection are copied
  rule for rule (ORIGINAL_TO_CONVERTED_KEY_MAPPING, split_qkv, convert_sam3_checkpoint below).
- That version was written for Meta's internal layout (`sam3_model.` prefix) and loads with
  `strict=False`, so whatever it cannot place is dropped silently. The public `sam3.pt` keeps
  the image model under `detector.` and the video tracker under `tracker.`. Four rules make the
  public file convert, each taken from transformers' own code (never invented here):
    1. the `detector.` prefix: the later convert_sam3_to_hf.py (`_normalize_original_state_dict`:
       keep the `detector.*` keys, prefix removed) and, in 5.17 itself,
       models/sam3_lite_text/convert_sam3_lite_text_to_hf.py (commit
       a1400ff66f0023dc8c331b2b21eaf84f88a63ed7: `r"^detector\\.": r""`). Meta's own loader
       (facebookresearch/sam3, sam3/model_builder.py `_load_checkpoint`) does the same;
    2. `tracker.*` dropped: the video tracker is not part of `Sam3Model` (the later script keeps
       only `detector.*`; Meta's loader gives `tracker.*` to the interactive predictor);
    3. `rotary_emb.rope_embeddings` (the ViT's precomputed `attn.freqs_cis`) dropped: 0d7e95d's
       own note ("pre-computed in original, computed on-the-fly in refactored"), popped
       explicitly by the later script and by the 5.17 lite-text converter;
    4. `geometry_encoder.points_*_project` dropped (the later script's
       UNUSED_CONVERTED_KEY_PREFIXES: `Sam3Model` has no point-prompt projections) and
       `backbone.vision_backbone.sam2_convs.*` dropped (the 5.17 lite-text converter: "Parallel
       SAM2 neck branch in the original checkpoint; HF vision uses `convs` only"; the sam3_video
       converter gives them to the tracker's neck).
- Stricter than transformers: after the mapping every `Sam3Model` parameter must be filled, with
  the right shape, and every checkpoint key must be used or fall under rules 2-4; anything else
  is an error that lists the keys. transformers only logs such keys (`strict=False`).
- Not ported: the processor. transformers downloads `openai/clip-vit-base-patch32`'s tokenizer;
  chickenseg downloads nothing, so the tokenizer files are taken from the checkpoint's folder.
"""
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from chickenseg_model.errors import ModelError

CONVERTER_VERSION = 1   # part of the cache key: bump when the conversion's output changes
PORTED_FROM = ("huggingface/transformers src/transformers/models/sam3/convert_sam3_to_hf.py "
               "@ 0d7e95d96b4e187c651e2b2406ed98ed40d74963")
ORIGINAL_CHECKPOINT_NAME = "sam3.pt"
MARKER_FILE = "chickenseg_conversion.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                   "special_tokens_map.json", "added_tokens.json", "processor_config.json",
                   "preprocessor_config.json", "chickenseg_hash_tokenizer.json")

# fmt: off
# transformers' ORIGINAL_TO_CONVERTED_KEY_MAPPING (0d7e95d), same rules, same order. Each rule is
# applied, in turn, to every key (transformers runs re.sub over all keys joined by newlines with
# re.MULTILINE; every pattern is anchored with ^, so that equals per-key substitution), and later
# rules see the output of earlier ones (`backbone.vision_backbone.trunk.` first becomes
# `vision_encoder.backbone.`, which the next rules refine). The one added rule (`^detector\.`,
# rule 1 of the module docstring) runs first, beside transformers' own `^sam3_model\.`.
ORIGINAL_TO_CONVERTED_KEY_MAPPING = [
    (r"^detector\.", r""),   # added: the public sam3.pt's prefix (see the module docstring)
    (r"^sam3_model\.", r""),
    # Vision encoder - ViT backbone
    (r"^backbone\.vision_backbone\.trunk\.",                             r"vision_encoder.backbone."),
    (r"^vision_encoder\.backbone\.pos_embed",                            r"vision_encoder.backbone.embeddings.position_embeddings"),
    (r"^vision_encoder\.backbone\.patch_embed\.proj\.",                  r"vision_encoder.backbone.embeddings.patch_embeddings.projection."),
    (r"^vision_encoder\.backbone\.ln_pre\.",                             r"vision_encoder.backbone.layer_norm."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.norm1\.",               r"vision_encoder.backbone.layers.\1.layer_norm1."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.norm2\.",               r"vision_encoder.backbone.layers.\1.layer_norm2."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.attn\.qkv\.",           r"vision_encoder.backbone.layers.\1.attention.qkv."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.attn\.proj\.",          r"vision_encoder.backbone.layers.\1.attention.o_proj."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.attn\.freqs_cis",       r"vision_encoder.backbone.layers.\1.rotary_emb.rope_embeddings"),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.mlp\.fc1\.",            r"vision_encoder.backbone.layers.\1.mlp.fc1."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.mlp\.fc2\.",            r"vision_encoder.backbone.layers.\1.mlp.fc2."),
    # Vision encoder - FPN neck
    (r"^backbone\.vision_backbone\.neck\.fpn\.(\d+)\.",                  r"vision_encoder.neck.fpn_layers.\1."),
    (r"^backbone\.vision_backbone\.convs\.(\d+)\.dconv_2x2_0\.",         r"vision_encoder.neck.fpn_layers.\1.scale_layers.0."),
    (r"^backbone\.vision_backbone\.convs\.(\d+)\.dconv_2x2_1\.",         r"vision_encoder.neck.fpn_layers.\1.scale_layers.2."),
    (r"^backbone\.vision_backbone\.convs\.(\d+)\.dconv_2x2\.",           r"vision_encoder.neck.fpn_layers.\1.scale_layers.0."),
    (r"^backbone\.vision_backbone\.convs\.(\d+)\.maxpool_2x2\.",         r"vision_encoder.neck.fpn_layers.\1.scale_layers.0."),
    (r"^backbone\.vision_backbone\.convs\.(\d+)\.conv_1x1\.",            r"vision_encoder.neck.fpn_layers.\1.proj1."),
    (r"^backbone\.vision_backbone\.convs\.(\d+)\.conv_3x3\.",            r"vision_encoder.neck.fpn_layers.\1.proj2."),
    # Text encoder (CLIP)
    (r"^backbone\.language_backbone\.encoder\.",                         r"text_encoder."),
    (r"^text_encoder\.token_embedding\.",                                r"text_encoder.text_model.embeddings.token_embedding."),
    (r"^text_encoder\.positional_embedding",                             r"text_encoder.text_model.embeddings.position_embedding.weight"),
    (r"^text_encoder\.ln_final\.",                                       r"text_encoder.text_model.final_layer_norm."),
    (r"^text_encoder\.text_projection",                                  r"text_encoder.text_projection.weight"),
    (r"^text_encoder\.transformer\.resblocks\.(\d+)\.attn\.in_proj_",    r"text_encoder.text_model.encoder.layers.\1.self_attn.in_proj_"),
    (r"^text_encoder\.transformer\.resblocks\.(\d+)\.attn\.out_proj\.",  r"text_encoder.text_model.encoder.layers.\1.self_attn.out_proj."),
    (r"^text_encoder\.transformer\.resblocks\.(\d+)\.ln_1\.",            r"text_encoder.text_model.encoder.layers.\1.layer_norm1."),
    (r"^text_encoder\.transformer\.resblocks\.(\d+)\.ln_2\.",            r"text_encoder.text_model.encoder.layers.\1.layer_norm2."),
    (r"^text_encoder\.transformer\.resblocks\.(\d+)\.mlp\.c_fc\.",       r"text_encoder.text_model.encoder.layers.\1.mlp.fc1."),
    (r"^text_encoder\.transformer\.resblocks\.(\d+)\.mlp\.c_proj\.",     r"text_encoder.text_model.encoder.layers.\1.mlp.fc2."),
    (r"^backbone\.language_backbone\.resizer\.",                         r"text_projection."),
    # Geometry encoder
    (r"^geometry_encoder\.encode\.(\d+)\.cross_attn_image\.out_proj\.",  r"geometry_encoder.layers.\1.cross_attn.o_proj."),
    (r"^geometry_encoder\.encode\.(\d+)\.cross_attn_image\.",            r"geometry_encoder.layers.\1.cross_attn."),
    (r"^geometry_encoder\.encode\.(\d+)\.self_attn\.out_proj\.",         r"geometry_encoder.layers.\1.self_attn.o_proj."),
    (r"^geometry_encoder\.encode\.(\d+)\.self_attn\.",                   r"geometry_encoder.layers.\1.self_attn."),
    (r"^geometry_encoder\.encode\.(\d+)\.linear1\.",                     r"geometry_encoder.layers.\1.mlp.fc1."),
    (r"^geometry_encoder\.encode\.(\d+)\.linear2\.",                     r"geometry_encoder.layers.\1.mlp.fc2."),
    (r"^geometry_encoder\.encode\.(\d+)\.norm1\.",                       r"geometry_encoder.layers.\1.layer_norm1."),
    (r"^geometry_encoder\.encode\.(\d+)\.norm2\.",                       r"geometry_encoder.layers.\1.layer_norm2."),
    (r"^geometry_encoder\.encode\.(\d+)\.norm3\.",                       r"geometry_encoder.layers.\1.layer_norm3."),
    (r"^geometry_encoder\.img_pre_norm\.",                               r"geometry_encoder.vision_layer_norm."),
    (r"^geometry_encoder\.norm\.",                                       r"geometry_encoder.prompt_layer_norm."),
    (r"^geometry_encoder\.encode_norm\.",                                r"geometry_encoder.output_layer_norm."),
    # DETR encoder
    (r"^transformer\.encoder\.layers\.(\d+)\.cross_attn_image\.out_proj\.", r"detr_encoder.layers.\1.cross_attn.o_proj."),
    (r"^transformer\.encoder\.layers\.(\d+)\.cross_attn_image\.",        r"detr_encoder.layers.\1.cross_attn."),
    (r"^transformer\.encoder\.layers\.(\d+)\.self_attn\.out_proj\.",     r"detr_encoder.layers.\1.self_attn.o_proj."),
    (r"^transformer\.encoder\.layers\.(\d+)\.self_attn\.",               r"detr_encoder.layers.\1.self_attn."),
    (r"^transformer\.encoder\.layers\.(\d+)\.cross_attn\.out_proj\.",    r"detr_encoder.layers.\1.cross_attn.o_proj."),
    (r"^transformer\.encoder\.layers\.(\d+)\.cross_attn\.",              r"detr_encoder.layers.\1.cross_attn."),
    (r"^transformer\.encoder\.layers\.(\d+)\.linear1\.",                 r"detr_encoder.layers.\1.mlp.fc1."),
    (r"^transformer\.encoder\.layers\.(\d+)\.linear2\.",                 r"detr_encoder.layers.\1.mlp.fc2."),
    (r"^transformer\.encoder\.layers\.(\d+)\.norm1\.",                   r"detr_encoder.layers.\1.layer_norm1."),
    (r"^transformer\.encoder\.layers\.(\d+)\.norm2\.",                   r"detr_encoder.layers.\1.layer_norm2."),
    (r"^transformer\.encoder\.layers\.(\d+)\.norm3\.",                   r"detr_encoder.layers.\1.layer_norm3."),
    # DETR decoder
    (r"^transformer\.decoder\.query_embed\.",                            r"detr_decoder.query_embed."),
    (r"^transformer\.decoder\.reference_points\.",                       r"detr_decoder.reference_points."),
    (r"^transformer\.decoder\.instance_query_embed\.",                   r"detr_decoder.instance_query_embed."),
    (r"^transformer\.decoder\.instance_reference_points\.",              r"detr_decoder.instance_reference_points."),
    (r"^transformer\.decoder\.presence_token\.",                         r"detr_decoder.presence_token."),
    (r"^transformer\.decoder\.presence_token_head\.layers\.0\.",         r"detr_decoder.presence_head.layer1."),
    (r"^transformer\.decoder\.presence_token_head\.layers\.1\.",         r"detr_decoder.presence_head.layer2."),
    (r"^transformer\.decoder\.presence_token_head\.layers\.2\.",         r"detr_decoder.presence_head.layer3."),
    (r"^transformer\.decoder\.presence_token_out_norm\.",                r"detr_decoder.presence_layer_norm."),
    (r"^transformer\.decoder\.norm\.",                                   r"detr_decoder.output_layer_norm."),
    (r"^transformer\.decoder\.bbox_embed\.layers\.0\.",                  r"detr_decoder.box_head.layer1."),
    (r"^transformer\.decoder\.bbox_embed\.layers\.1\.",                  r"detr_decoder.box_head.layer2."),
    (r"^transformer\.decoder\.bbox_embed\.layers\.2\.",                  r"detr_decoder.box_head.layer3."),
    (r"^transformer\.decoder\.instance_bbox_embed\.layers\.0\.",         r"detr_decoder.instance_box_head.layer1."),
    (r"^transformer\.decoder\.instance_bbox_embed\.layers\.1\.",         r"detr_decoder.instance_box_head.layer2."),
    (r"^transformer\.decoder\.instance_bbox_embed\.layers\.2\.",         r"detr_decoder.instance_box_head.layer3."),
    (r"^transformer\.decoder\.ref_point_head\.layers\.0\.",              r"detr_decoder.ref_point_head.layer1."),
    (r"^transformer\.decoder\.ref_point_head\.layers\.1\.",              r"detr_decoder.ref_point_head.layer2."),
    (r"^transformer\.decoder\.boxRPB_embed_x\.layers\.0\.",              r"detr_decoder.box_rpb_embed_x.layer1."),
    (r"^transformer\.decoder\.boxRPB_embed_x\.layers\.1\.",              r"detr_decoder.box_rpb_embed_x.layer2."),
    (r"^transformer\.decoder\.boxRPB_embed_y\.layers\.0\.",              r"detr_decoder.box_rpb_embed_y.layer1."),
    (r"^transformer\.decoder\.boxRPB_embed_y\.layers\.1\.",              r"detr_decoder.box_rpb_embed_y.layer2."),
    (r"^transformer\.decoder\.layers\.(\d+)\.self_attn\.out_proj\.",     r"detr_decoder.layers.\1.self_attn.o_proj."),
    (r"^transformer\.decoder\.layers\.(\d+)\.self_attn\.",               r"detr_decoder.layers.\1.self_attn."),
    (r"^transformer\.decoder\.layers\.(\d+)\.ca_text\.out_proj\.",       r"detr_decoder.layers.\1.text_cross_attn.o_proj."),
    (r"^transformer\.decoder\.layers\.(\d+)\.ca_text\.",                 r"detr_decoder.layers.\1.text_cross_attn."),
    (r"^transformer\.decoder\.layers\.(\d+)\.cross_attn\.out_proj\.",    r"detr_decoder.layers.\1.vision_cross_attn.o_proj."),
    (r"^transformer\.decoder\.layers\.(\d+)\.cross_attn\.",              r"detr_decoder.layers.\1.vision_cross_attn."),
    (r"^transformer\.decoder\.layers\.(\d+)\.linear1\.",                 r"detr_decoder.layers.\1.mlp.fc1."),
    (r"^transformer\.decoder\.layers\.(\d+)\.linear2\.",                 r"detr_decoder.layers.\1.mlp.fc2."),
    (r"^transformer\.decoder\.layers\.(\d+)\.norm1\.",                   r"detr_decoder.layers.\1.vision_cross_attn_layer_norm."),
    (r"^transformer\.decoder\.layers\.(\d+)\.catext_norm\.",             r"detr_decoder.layers.\1.text_cross_attn_layer_norm."),
    (r"^transformer\.decoder\.layers\.(\d+)\.norm2\.",                   r"detr_decoder.layers.\1.self_attn_layer_norm."),
    (r"^transformer\.decoder\.layers\.(\d+)\.norm3\.",                   r"detr_decoder.layers.\1.mlp_layer_norm."),
    # Dot-product scoring
    (r"^dot_prod_scoring\.prompt_mlp\.layers\.0\.",                      r"dot_product_scoring.text_mlp.layer1."),
    (r"^dot_prod_scoring\.prompt_mlp\.layers\.1\.",                      r"dot_product_scoring.text_mlp.layer2."),
    (r"^dot_prod_scoring\.prompt_mlp\.out_norm\.",                       r"dot_product_scoring.text_mlp_out_norm."),
    (r"^dot_prod_scoring\.prompt_proj\.",                                r"dot_product_scoring.text_proj."),
    (r"^dot_prod_scoring\.hs_proj\.",                                    r"dot_product_scoring.query_proj."),
    # Mask decoder
    (r"^segmentation_head\.pixel_decoder\.conv_layers\.(\d+)\.",         r"mask_decoder.pixel_decoder.conv_layers.\1."),
    (r"^segmentation_head\.pixel_decoder\.norms\.(\d+)\.",               r"mask_decoder.pixel_decoder.norms.\1."),
    (r"^segmentation_head\.mask_embed\.layers\.(\d+)\.",                 r"mask_decoder.mask_embedder.layers.\1."),
    (r"^segmentation_head\.mask_predictor\.mask_embed\.layers\.(\d+)\.", r"mask_decoder.mask_embedder.layers.\1."),
    (r"^segmentation_head\.instance_seg_head\.",                         r"mask_decoder.instance_projection."),
    (r"^segmentation_head\.semantic_seg_head\.",                         r"mask_decoder.semantic_projection."),
    (r"^segmentation_head\.cross_attend_prompt\.out_proj\.",             r"mask_decoder.prompt_cross_attn.o_proj."),
    (r"^segmentation_head\.cross_attend_prompt\.",                       r"mask_decoder.prompt_cross_attn."),
    (r"^segmentation_head\.cross_attn_norm\.",                           r"mask_decoder.prompt_cross_attn_norm."),
]
# fmt: on
_RULES = [(re.compile(p), r) for p, r in ORIGINAL_TO_CONVERTED_KEY_MAPPING]

# Keys converted on purpose into nothing (module docstring, rules 2-4); matched on the converted
# name, as transformers does. Everything else that is left over is an error.
POSITION_EMBEDDINGS = "vision_encoder.backbone.embeddings.position_embeddings"
TEXT_PROJECTION = "text_encoder.text_projection.weight"
DROPPED = {
    "rope_tables": lambda k: k.endswith(".rotary_emb.rope_embeddings"),
    "point_prompt_projections": lambda k: k.startswith(("geometry_encoder.points_direct_project.",
                                                        "geometry_encoder.points_pool_project.",
                                                        "geometry_encoder.points_pos_enc_project.")),
    "tracker_neck": lambda k: k.startswith("backbone.vision_backbone.sam2_convs."),
}


@dataclass
class Conversion:
    state_dict: dict                 # HF name -> tensor, exactly Sam3Model's parameters
    source_keys: int                 # keys in the checkpoint
    dropped: dict = field(default_factory=dict)   # reason -> count


def rename_key(key: str) -> str:
    for pattern, replacement in _RULES:
        key = pattern.sub(replacement, key)
    return key


def _first(keys, n=5) -> str:
    keys = sorted(keys)
    more = f", ... ({len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_original_state_dict(path: Path) -> dict:
    """torch.load(weights_only=True) + transformers' nesting rule: a "model" or "state_dict" entry
    holds the weights, else the file is the state dict itself."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint not found")
    try:
        # mmap (zip-format files only) keeps a 3.4 GB checkpoint out of RAM until it is used.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except Exception as e:  # torch raises RuntimeError, UnpicklingError, EOFError, ... by case
        raise ModelError(f"{path}: not a readable PyTorch checkpoint: truncated, corrupted or not a "
                         f"torch.save file ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). "
                         "The original SAM 3 checkpoint is sam3.pt from facebook/sam3 (about 3.4 GB); "
                         "download it again") from e
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("model"), dict):
        checkpoint = checkpoint["model"]
    elif isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict) or not checkpoint:
        raise ModelError(f"{path}: expected a state dict (name -> tensor), found {type(checkpoint).__name__}")
    bad = [str(k) for k, v in checkpoint.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ModelError(f"{path}: {len(bad)} entries are not named tensors (first: {_first(bad)})")
    return checkpoint


def _put(renamed: dict, origin: dict, key: str, tensor, src: str, source: Path) -> None:
    # transformers' dict would keep the last of two keys that map to one name; that is an error here
    if key in renamed:
        raise ModelError(f"{source}: checkpoint keys {origin[key]} and {src} both map to {key}")
    renamed[key], origin[key] = tensor, src


def convert_state_dict(original: dict, expected: dict, source: Path) -> Conversion:
    """original: the checkpoint's state dict; expected: Sam3Model's state dict (tensors on any
    device, meta included: only names, shapes and dtypes are read). Pure: works on meta tensors."""
    dropped: dict[str, int] = {}
    items = dict(original)
    # Rule 1-2: the public release holds detector.* (the image model) and tracker.* (video).
    if any(k.startswith("detector.") for k in items):
        tracker = [k for k in items if k.startswith("tracker.")]
        for k in tracker:
            del items[k]
        if tracker:
            dropped["video_tracker"] = len(tracker)

    renamed: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}   # converted name -> checkpoint key, for error messages
    for old_key, tensor in items.items():
        new_key = rename_key(old_key)
        # transformers: strip the class-token position (original [1, 1+N, C], HF [1, N, C]).
        _put(renamed, origin, new_key, tensor[:, 1:, :] if new_key == POSITION_EMBEDDINGS else tensor,
             old_key, source)

    # transformers' split_qkv: fused projections -> q, k, v (torch.chunk, 3 chunks along dim 0).
    for key in [k for k in renamed if ".attention.qkv." in k]:       # ViT blocks
        q, k, v = torch.chunk(renamed.pop(key), 3, dim=0)
        src = origin.pop(key)
        for name, part in (("q_proj", q), ("k_proj", k), ("v_proj", v)):
            _put(renamed, origin, key.replace(".qkv.", f".{name}."), part, src, source)
    for key in [k for k in renamed if ".in_proj_" in k]:              # nn.MultiheadAttention
        tensor, src = renamed.pop(key), origin.pop(key)
        if key.endswith("in_proj_weight"):
            base, suffix = key.replace("in_proj_weight", ""), "weight"
        elif key.endswith("in_proj_bias"):
            base, suffix = key.replace("in_proj_bias", ""), "bias"
        else:   # transformers drops such a key silently; here it stays unused (an error below)
            renamed[key], origin[key] = tensor, src
            continue
        for name, part in zip(("q_proj", "k_proj", "v_proj"), torch.chunk(tensor, 3, dim=0)):
            _put(renamed, origin, f"{base}{name}.{suffix}", part, src, source)

    # Deliberate drops (module docstring, rules 3-4).
    for reason, match in DROPPED.items():
        keys = [k for k in renamed if match(k)]
        for k in keys:
            del renamed[k]
            del origin[k]
        if keys:
            dropped[reason] = len(keys)

    # transformers: the CLIP text projection is stored transposed in the original.
    if TEXT_PROJECTION in renamed:
        renamed[TEXT_PROJECTION] = renamed[TEXT_PROJECTION].T

    unused = {origin[k] for k in renamed if k not in expected}
    missing = [k for k in expected if k not in renamed]
    problems = []
    if unused:
        problems.append(f"{len(unused)} checkpoint keys match no Sam3Model parameter: {_first(unused)}")
    if missing:
        problems.append(f"{len(missing)} Sam3Model parameters are not in the checkpoint: {_first(missing)}")
    if not problems:
        wrong = [f"{k} ({origin[k]}): checkpoint {tuple(renamed[k].shape)}, model {tuple(expected[k].shape)}"
                 for k in expected if tuple(renamed[k].shape) != tuple(expected[k].shape)]
        if wrong:
            problems.append(f"{len(wrong)} shapes differ: {'; '.join(wrong[:5])}")
    if problems:
        raise ModelError(f"{source}: cannot convert to Sam3Model: {'; '.join(problems)}. Expected Meta's "
                         "original SAM 3 checkpoint (sam3.pt from facebook/sam3) and, beside it, a "
                         "config.json describing the same architecture (none: Sam3Config() defaults)")

    # Own, contiguous storage per tensor (chunks, slices and transposes are views), cast as
    # load_state_dict would cast into the model's parameters.
    state = {}
    for k, ref in expected.items():
        t = renamed[k]
        state[k] = t.to(ref.dtype).contiguous().clone() if (t._base is not None or not t.is_contiguous()) \
            else t.to(ref.dtype)
    return Conversion(state, len(original), dropped)


# ----------------------------------------------------------------------------- config


def read_config(config_file: Path | None):
    """A Sam3Config: from config_file (a Sam3Config, or a sam3_video config whose detector_config
    is used, as Sam3Model.__init__ does), else transformers' get_sam3_config(): Sam3Config()."""
    from transformers import Sam3Config

    if config_file is None:
        return Sam3Config()
    try:
        data = json.loads(Path(config_file).read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f"{config_file}: cannot read the model config: {e}") from e
    if isinstance(data, dict) and isinstance(data.get("detector_config"), dict):
        data = data["detector_config"]
    if not isinstance(data, dict) or data.get("model_type") not in ("sam3", None):
        raise ModelError(f"{config_file}: model_type {data.get('model_type') if isinstance(data, dict) else '?'!r} "
                         "is not a SAM 3 config (expected model_type \"sam3\")")
    try:
        return Sam3Config.from_dict(data)
    except Exception as e:
        raise ModelError(f"{config_file}: not a valid Sam3Config: {e}") from e


def default_config_file(checkpoint: Path) -> Path | None:
    candidate = Path(checkpoint).parent / "config.json"
    return candidate if candidate.is_file() else None


def expected_state_dict(config) -> dict:
    """Sam3Model's parameters and persistent buffers, as meta tensors (no memory, no init)."""
    from transformers import Sam3Model

    with torch.device("meta"):
        return Sam3Model(config).state_dict()


# ----------------------------------------------------------------------------- writing


def _write_folder(conversion: Conversion, config, folder: Path) -> None:
    """config.json + model.safetensors through Sam3Model.save_pretrained, as transformers does
    (its model is built and filled first; here on the meta device, the tensors assigned)."""
    from transformers import Sam3Model

    config.architectures = ["Sam3Model"]
    with torch.device("meta"):
        model = Sam3Model(config)
    model.load_state_dict(conversion.state_dict, strict=True, assign=True)
    model.save_pretrained(str(folder))


def _atomic_folder(final: Path, fill) -> None:
    """fill(tmp) writes into a temporary sibling of `final`, then one rename publishes it: an
    interrupted conversion leaves at most a `.tmp-*` folder, never a half `final`."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        fill(tmp)
        umask = os.umask(0)
        os.umask(umask)
        for path in tmp.iterdir():   # mkdtemp (and the safetensors writer) create owner-only modes
            path.chmod(0o666 & ~umask)
        tmp.chmod(0o777 & ~umask)
        try:
            os.rename(tmp, final)   # replaces an empty folder, fails on a non-empty one
        except OSError as e:
            if (final / MARKER_FILE).is_file():   # another process published it meanwhile
                return
            raise ModelError(f"{final}: exists and is not empty; remove it or choose another folder") from e
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _marker(checkpoint: Path, config_file: Path | None, conversion: Conversion, key: str | None,
            seconds: float) -> dict:
    import transformers

    st = checkpoint.stat()
    return {"schema": "chickenseg.sam3-conversion/1", "checkpoint": str(checkpoint),
            "checkpoint_size": st.st_size, "checkpoint_mtime_ns": st.st_mtime_ns, "cache_key": key,
            "config": str(config_file) if config_file else "Sam3Config() defaults",
            "source_keys": conversion.source_keys, "tensors": len(conversion.state_dict),
            "parameters": sum(t.numel() for t in conversion.state_dict.values()),
            "dropped": conversion.dropped, "seconds": round(seconds, 2), "ported_from": PORTED_FROM,
            "converter_version": CONVERTER_VERSION, "transformers": transformers.__version__,
            "torch": torch.__version__}


def convert_checkpoint(checkpoint: Path, out: Path, config_file: Path | None = None,
                       copy_tokenizer: bool = True, original: dict | None = None, key: str | None = None) -> dict:
    """Converts `checkpoint` into the new folder `out` (atomically); returns the report that is
    also written to out/chickenseg_conversion.json."""
    checkpoint = Path(checkpoint)
    start = time.perf_counter()
    config = read_config(config_file)
    if original is None:
        original = load_original_state_dict(checkpoint)
    conversion = convert_state_dict(original, expected_state_dict(config), checkpoint)
    report = {}

    def fill(tmp: Path):
        _write_folder(conversion, config, tmp)
        copied = []
        if copy_tokenizer:
            for name in TOKENIZER_FILES:
                if (checkpoint.parent / name).is_file():
                    shutil.copy2(checkpoint.parent / name, tmp / name)
                    copied.append(name)
        report.update(_marker(checkpoint, config_file, conversion, key, time.perf_counter() - start))
        if copy_tokenizer:
            report["tokenizer_files"] = copied
        (tmp / MARKER_FILE).write_text(json.dumps(report, indent=2) + "\n")

    _atomic_folder(Path(out), fill)
    return report


# ----------------------------------------------------------------------------- cache


def cache_root() -> Path:
    """$CHICKENSEG_CACHE, else $XDG_CACHE_HOME/chickenseg, else ~/.cache/chickenseg."""
    if os.environ.get("CHICKENSEG_CACHE"):
        return Path(os.environ["CHICKENSEG_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "chickenseg"


def cache_key(checkpoint: Path, config_file: Path | None) -> str:
    """size + mtime + SHA-256 of the first and last MiB of the checkpoint, the config (its bytes,
    or the transformers version for Sam3Config() defaults) and the converter version. Cheap (2 MiB
    read, not 3.4 GB) yet a re-download, a fine-tuned or truncated file, or an edited config
    each give a new key (docs/model.md)."""
    import transformers

    st = checkpoint.stat()
    h = hashlib.sha256()
    with open(checkpoint, "rb") as f:
        h.update(f.read(1 << 20))
        if st.st_size > 1 << 20:
            f.seek(max(st.st_size - (1 << 20), 1 << 20))
            h.update(f.read())
    config = (hashlib.sha256(config_file.read_bytes()).hexdigest() if config_file
              else f"Sam3Config() of transformers {transformers.__version__}")
    ident = json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, "edges": h.hexdigest(),
                        "config": config, "converter": CONVERTER_VERSION}, sort_keys=True)
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


def cached_folder(checkpoint: Path, config_file: Path | None) -> tuple[Path, str]:
    key = cache_key(checkpoint, config_file)
    return cache_root() / "sam3-hf" / key, key


def original_checkpoint(spec: Path) -> Path | None:
    """The original checkpoint `spec` names: a .pt file, or a folder holding sam3.pt and no
    *.safetensors (a Hugging Face folder is loaded as it is)."""
    if spec.is_file() and spec.suffix == ".pt":
        return spec
    if spec.is_dir() and (spec / ORIGINAL_CHECKPOINT_NAME).is_file() and not any(spec.glob("*.safetensors")) \
            and not any(spec.glob("*.safetensors.index.json")):
        return spec / ORIGINAL_CHECKPOINT_NAME
    return None


def ensure_converted(checkpoint: Path, before_convert=None, log=None) -> Path:
    """The cached Hugging Face folder for `checkpoint` (config: config.json beside it, else
    Sam3Config() defaults), converting it on a miss. before_convert() runs after the checkpoint
    was read and before the slow part (the loader checks the tokenizer there)."""
    checkpoint = Path(checkpoint)
    config_file = default_config_file(checkpoint)
    folder, key = cached_folder(checkpoint, config_file)
    if (folder / MARKER_FILE).is_file():
        return folder
    original = load_original_state_dict(checkpoint)
    if before_convert:
        before_convert()
    if log:
        log(f"converting {checkpoint} to the Hugging Face format (once; cached in {folder})")
    convert_checkpoint(checkpoint, folder, config_file, copy_tokenizer=False, original=original, key=key)
    return folder
