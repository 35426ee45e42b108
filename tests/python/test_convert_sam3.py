"""Meta's original SAM 3 checkpoint (sam3.pt) -> Hugging Face (python/chickenseg_model/convert.py).

No real sam3.pt here (3.4 GB, gated), so the test makes one: a tiny SAM 3 is written in Meta's
layout by an inverse written in this file, independently of the converter (Hugging Face name ->
Meta name, q/k/v fused back, the class-token row of the position embedding put back, the CLIP
text projection transposed back, plus the keys the converter must drop: the video tracker, the
ViT's RoPE tables, the SAM 2 neck, the point-prompt projections). Converting it must give the
tiny model back: every tensor bit for bit, and the forward outputs within a stated tolerance
(OUTPUT_RTOL: a float forward pass is not bit-stable across memory layouts).
"""
import json
import os
from pathlib import Path

import pytest
import torch

import chickenseg_model.convert as conv
from chickenseg_model.errors import ModelError
from chickenseg_model.loading import load_model
from chickenseg_model.tiny import TINY_VOCAB, build_tiny_model, tiny_config
from chickenseg_model.tokenizer import HASH_TOKENIZER_FILE, HashTokenizer

QKV = {"q_proj": 0, "k_proj": 1, "v_proj": 2}

# Meta's layouts: the public release (image model under detector., video tracker under tracker.),
# and the internal one transformers' script was written for (sam3_model.), with the alternative
# module names the script also accepts (DETR encoder cross_attn, segmentation_head.mask_embed).
PUBLIC = dict(prefix="detector.", wrap=None, encoder_cross="cross_attn_image",
              mask_embed="segmentation_head.mask_predictor.mask_embed", extras=True)
INTERNAL = dict(prefix="sam3_model.", wrap="model", encoder_cross="cross_attn",
                mask_embed="segmentation_head.mask_embed", extras=False)
BARE = dict(prefix="", wrap="state_dict", encoder_cross="cross_attn_image",
            mask_embed="segmentation_head.mask_predictor.mask_embed", extras=False)


def neck4_config():
    """Tiny sizes with the released model's 4-level neck (scale factors 4, 2, 1, 0.5: the
    dconv_2x2_0/_1 rules) and a text projection that is not square (catches a missing transpose)."""
    cfg = tiny_config()
    cfg.vision_config.scale_factors = [4.0, 2.0, 1.0, 0.5]
    cfg.vision_config.backbone_feature_sizes = [[64, 64], [32, 32], [16, 16]]
    cfg.mask_decoder_config.num_upsampling_stages = 3
    cfg.text_config.projection_dim = 16
    return cfg


def meta_key(hf, cfg, v):
    """Meta's key for the Hugging Face parameter `hf` (no prefix); for a q/k/v projection, the
    fused key and the projection's index in it. Raises on a name it does not know."""
    s = hf.split(".")
    w = s[-1]

    def attn(module, vit=False):
        if s[-2] in QKV:
            return (f"{module}.qkv.{w}" if vit else f"{module}.in_proj_{w}"), QKV[s[-2]]
        assert s[-2] in ("o_proj", "out_proj"), hf
        return f"{module}.{'proj' if vit else 'out_proj'}.{w}", None

    if s[:2] == ["vision_encoder", "backbone"]:
        t = "backbone.vision_backbone.trunk"
        if s[2] == "embeddings":
            return (f"{t}.pos_embed", None) if s[3] == "position_embeddings" else (f"{t}.patch_embed.proj.{w}", None)
        if s[2] == "layer_norm":
            return f"{t}.ln_pre.{w}", None
        block, sub = f"{t}.blocks.{s[3]}", s[4]
        if sub == "attention":
            return attn(f"{block}.attn", vit=True)
        if sub in ("layer_norm1", "layer_norm2"):
            return f"{block}.norm{sub[-1]}.{w}", None
        if sub == "mlp":
            return f"{block}.mlp.{s[5]}.{w}", None
    if s[:2] == ["vision_encoder", "neck"]:
        level = int(s[3])
        c = f"backbone.vision_backbone.convs.{level}"
        if s[4] in ("proj1", "proj2"):
            return f"{c}.{ {'proj1': 'conv_1x1', 'proj2': 'conv_3x3'}[s[4]] }.{w}", None
        scale = cfg.vision_config.scale_factors[level]
        if s[4] == "scale_layers" and scale == 4.0:
            return f"{c}.dconv_2x2_{ {'0': 0, '2': 1}[s[5]] }.{w}", None
        if s[4] == "scale_layers" and scale == 2.0:
            return f"{c}.dconv_2x2.{w}", None
    if s[0] == "text_encoder":
        e = "backbone.language_backbone.encoder"
        if hf == "text_encoder.text_projection.weight":
            return f"{e}.text_projection", None
        tm = s[2:]
        if tm[:2] == ["embeddings", "token_embedding"]:
            return f"{e}.token_embedding.{w}", None
        if tm[:2] == ["embeddings", "position_embedding"]:
            return f"{e}.positional_embedding", None
        if tm[0] == "final_layer_norm":
            return f"{e}.ln_final.{w}", None
        block, sub = f"{e}.transformer.resblocks.{tm[2]}", tm[3]
        if sub == "self_attn":
            return attn(f"{block}.attn")
        if sub in ("layer_norm1", "layer_norm2"):
            return f"{block}.ln_{sub[-1]}.{w}", None
        if sub == "mlp":
            return f"{block}.mlp.{ {'fc1': 'c_fc', 'fc2': 'c_proj'}[tm[4]] }.{w}", None
    if s[0] == "text_projection":
        return f"backbone.language_backbone.resizer.{w}", None
    if s[0] == "geometry_encoder":
        if s[1] == "layers":
            layer, sub = f"geometry_encoder.encode.{s[2]}", s[3]
            if sub in ("cross_attn", "self_attn"):
                return attn(f"{layer}.{ {'cross_attn': 'cross_attn_image', 'self_attn': 'self_attn'}[sub] }")
            if sub == "mlp":
                return f"{layer}.linear{s[4][-1]}.{w}", None
            return f"{layer}.norm{sub[-1]}.{w}", None
        renamed = {"vision_layer_norm": "img_pre_norm", "prompt_layer_norm": "norm", "output_layer_norm": "encode_norm"}
        same = {"boxes_direct_project", "boxes_pool_project", "boxes_pos_enc_project", "cls_embed", "final_proj",
                "label_embed"}
        if s[1] in renamed or s[1] in same:
            return f"geometry_encoder.{renamed.get(s[1], s[1])}.{w}", None
    if s[0] == "detr_encoder":
        layer, sub = f"transformer.encoder.layers.{s[2]}", s[3]
        if sub == "cross_attn":
            return attn(f"{layer}.{v['encoder_cross']}")
        if sub == "self_attn":
            return attn(f"{layer}.self_attn")
        if sub == "mlp":
            return f"{layer}.linear{s[4][-1]}.{w}", None
        return f"{layer}.norm{sub[-1]}.{w}", None
    if s[0] == "detr_decoder":
        d = "transformer.decoder"
        if s[1] == "layers":
            layer, sub = f"{d}.layers.{s[2]}", s[3]
            attns = {"self_attn": "self_attn", "text_cross_attn": "ca_text", "vision_cross_attn": "cross_attn"}
            if sub in attns:
                return attn(f"{layer}.{attns[sub]}")
            if sub == "mlp":
                return f"{layer}.linear{s[4][-1]}.{w}", None
            norms = {"vision_cross_attn_layer_norm": "norm1", "text_cross_attn_layer_norm": "catext_norm",
                     "self_attn_layer_norm": "norm2", "mlp_layer_norm": "norm3"}
            return f"{layer}.{norms[sub]}.{w}", None
        mlps = {"presence_head": "presence_token_head", "box_head": "bbox_embed", "ref_point_head": "ref_point_head",
                "box_rpb_embed_x": "boxRPB_embed_x", "box_rpb_embed_y": "boxRPB_embed_y"}
        if s[1] in mlps:   # layer1/2/3 -> layers.0/1/2
            return f"{d}.{mlps[s[1]]}.layers.{int(s[2][len('layer'):]) - 1}.{w}", None
        others = {"query_embed": "query_embed", "reference_points": "reference_points",
                  "presence_token": "presence_token", "presence_layer_norm": "presence_token_out_norm",
                  "output_layer_norm": "norm"}
        if s[1] in others:
            return f"{d}.{others[s[1]]}.{w}", None
    if s[0] == "dot_product_scoring":
        names = {"text_mlp_out_norm": "prompt_mlp.out_norm", "text_proj": "prompt_proj", "query_proj": "hs_proj"}
        if s[1] == "text_mlp":
            return f"dot_prod_scoring.prompt_mlp.layers.{int(s[2][len('layer'):]) - 1}.{w}", None
        if s[1] in names:
            return f"dot_prod_scoring.{names[s[1]]}.{w}", None
    if s[0] == "mask_decoder":
        if s[1] == "pixel_decoder":
            return f"segmentation_head.pixel_decoder.{s[2]}.{s[3]}.{w}", None
        if s[1] == "mask_embedder":
            return f"{v['mask_embed']}.layers.{s[3]}.{w}", None
        if s[1] == "prompt_cross_attn":
            return attn("segmentation_head.cross_attend_prompt")
        names = {"instance_projection": "instance_seg_head", "semantic_projection": "semantic_seg_head",
                 "prompt_cross_attn_norm": "cross_attn_norm"}
        if s[1] in names:
            return f"segmentation_head.{names[s[1]]}.{w}", None
    raise AssertionError(f"the test's inverse does not know {hf}")


def to_original(hf_state, cfg, v, seed=1):
    """Meta's layout of a Hugging Face SAM 3 state dict (meta tensors allowed)."""
    gen = torch.Generator().manual_seed(seed)
    dev = next(iter(hf_state.values())).device

    def rand(*shape, dtype=torch.float32):
        if dev.type == "meta":
            return torch.empty(*shape, dtype=dtype, device="meta")
        return torch.randn(*shape, generator=gen, dtype=dtype)

    out, fused = {}, {}
    for k, t in hf_state.items():
        name, index = meta_key(k, cfg, v)
        if index is not None:
            fused.setdefault(name, [None, None, None])[index] = t
            continue
        if k == "vision_encoder.backbone.embeddings.position_embeddings":   # put the class token back
            t = torch.cat([rand(1, 1, t.shape[2]), t], dim=1)
        if k == "text_encoder.text_projection.weight":                        # Meta stores x @ W
            t = t.T
        assert name not in out, name
        out[name] = t.contiguous().clone()
    for name, parts in fused.items():
        assert name not in out and all(p is not None for p in parts), name
        out[name] = torch.cat(parts, dim=0)

    dropped = {}
    if v["extras"]:   # what the public sam3.pt also holds, and Sam3Model has no place for
        vit = cfg.vision_config.backbone_config
        tokens = (vit.image_size // vit.patch_size) ** 2
        head = vit.hidden_size // vit.num_attention_heads
        for i in range(vit.num_hidden_layers):   # complex RoPE tables, as in Meta's ViT
            out[f"backbone.vision_backbone.trunk.blocks.{i}.attn.freqs_cis"] = rand(tokens, head // 2, dtype=torch.complex64)
        fpn = cfg.vision_config.fpn_hidden_size
        for i in range(len(cfg.vision_config.scale_factors)):
            out[f"backbone.vision_backbone.sam2_convs.{i}.conv_1x1.weight"] = rand(fpn, fpn, 1, 1)
            out[f"backbone.vision_backbone.sam2_convs.{i}.conv_1x1.bias"] = rand(fpn)
        d = cfg.geometry_encoder_config.hidden_size
        for name, fan_in in (("points_direct_project", 2), ("points_pool_project", d), ("points_pos_enc_project", d)):
            out[f"geometry_encoder.{name}.weight"] = rand(d, fan_in)
            out[f"geometry_encoder.{name}.bias"] = rand(d)
        dropped = {"rope_tables": vit.num_hidden_layers, "tracker_neck": 2 * len(cfg.vision_config.scale_factors),
                   "point_prompt_projections": 6}
    out = {v["prefix"] + k: t for k, t in out.items()}
    if v["extras"]:
        out["tracker.maskmem_backbone.mask_downsampler.encoder.0.weight"] = rand(4, 1, 3, 3)
        out["tracker.sam_mask_decoder.iou_token.weight"] = rand(1, 256)
        dropped["video_tracker"] = 2
    if v["wrap"]:
        out = {v["wrap"]: out, "epoch": 7}
    return out, dropped


def inputs(cfg, seed=0):
    size = cfg.vision_config.backbone_config.image_size
    pixels = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed))
    text = HashTokenizer(cfg.text_config.vocab_size)(["chicken"])
    return pixels, text


OUTPUTS = ("pred_logits", "pred_boxes", "pred_masks", "presence_logits", "semantic_seg")

# Forward outputs are compared within a tolerance, not bit for bit. A float32 forward pass is not
# bit-stable across memory layouts: the same weights at another alignment (safetensors loads
# tensors at whatever offset they lie in the file) send matmuls through other kernel paths that
# sum in another order, so outputs differ by a few ulps. The weights are compared bit for bit
# instead: that is the conversion's exactness. 1e-5 of each output's largest magnitude is some
# hundred ulps of float32 above that noise, and far below what a conversion error gives (a
# transposed or swapped projection moves the outputs by their own order of magnitude).
OUTPUT_RTOL = 1e-5


def assert_outputs_close(a, b):
    for name in OUTPUTS:
        got, want = getattr(a, name), getattr(b, name)
        assert got.shape == want.shape and got.dtype == want.dtype, name
        assert want.numel() > 0, name
        scale = want.abs().max().item()
        assert scale > 0 and torch.isfinite(want).all(), name
        err = (got - want).abs().max().item()
        assert err <= OUTPUT_RTOL * scale, f"{name}: max |diff| {err:.3g} > {OUTPUT_RTOL} x {scale:.3g}"


def assert_same_model(model, ref):
    got, want = model.state_dict(), ref.state_dict()
    assert list(got) == list(want) and want
    for k in want:
        assert got[k].dtype == want[k].dtype and torch.equal(got[k], want[k]), k
    pixels, text = inputs(ref.config)
    with torch.no_grad():
        a = model.eval()(pixel_values=pixels, **text)
        b = ref.eval()(pixel_values=pixels, **text)
    assert_outputs_close(a, b)


def build(cfg, seed=0):
    from transformers import Sam3Model

    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return Sam3Model(cfg).eval()
    finally:
        torch.random.set_rng_state(state)


def write_original(folder, model, v=PUBLIC, tokenizer=True, config=True):
    """folder/sam3.pt in Meta's layout (+ config.json and the hash tokenizer beside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    original, dropped = to_original(model.state_dict(), model.config, v)
    torch.save(original, folder / "sam3.pt")
    if config:
        model.config.save_pretrained(folder)
    if tokenizer:
        (folder / HASH_TOKENIZER_FILE).write_text(json.dumps({"vocab_size": TINY_VOCAB}) + "\n")
    return folder / "sam3.pt", dropped


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("CHICKENSEG_CACHE", str(root))
    return root / "sam3-hf"


def entries(cache):
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


# ------------------------------------------------------------------ conversion, bit for bit


@pytest.mark.parametrize("variant, make_config", [(PUBLIC, tiny_config), (INTERNAL, tiny_config),
                                                  (BARE, neck4_config)], ids=["public", "internal", "neck4"])
def test_original_layout_converts_back_bit_for_bit(tmp_path, variant, make_config):
    ref = build(make_config(), seed=3)
    ckpt, dropped = write_original(tmp_path / "orig", ref, variant)
    out = tmp_path / "hf"
    report = conv.convert_checkpoint(ckpt, out, tmp_path / "orig" / "config.json")
    assert report["dropped"] == dropped
    assert report["tensors"] == len(ref.state_dict())
    assert report["parameters"] == sum(p.numel() for p in ref.parameters())
    assert {"config.json", "model.safetensors", conv.MARKER_FILE, HASH_TOKENIZER_FILE} <= {p.name for p in out.iterdir()}
    loaded = load_model(str(out), "cpu", "fp32")
    assert loaded.is_tiny
    assert_same_model(loaded.model, ref)


def misaligned_copy(model):
    """The same weights, each in storage one element past a fresh allocation's start (not 64-byte
    aligned), as a loader can leave them."""
    import copy

    out = copy.deepcopy(model)
    with torch.no_grad():
        for p in out.parameters():
            view = torch.empty(p.numel() + 1, dtype=p.dtype)[1:].view(p.shape)
            view.copy_(p.data)
            p.data = view
    assert any(p.data_ptr() % 64 for p in out.parameters())
    return out


def test_the_same_weights_at_another_alignment_are_the_same_model():
    """The comparison holds on any machine: bit-equal weights whose forward outputs differ in the
    last bits because of where the tensors lie in memory are the same model."""
    ref = build(tiny_config(), seed=3)
    assert_same_model(misaligned_copy(ref), ref)


def test_the_output_tolerance_catches_a_conversion_error():
    """The tolerance is not vacuous: k and v swapped in one attention layer (a plausible bug in
    splitting a fused projection) fails it."""
    ref = build(tiny_config(), seed=3)
    bad = misaligned_copy(ref)
    attn = bad.detr_decoder.layers[0].self_attn
    with torch.no_grad():
        k = attn.k_proj.weight.clone()
        attn.k_proj.weight.copy_(attn.v_proj.weight)
        attn.v_proj.weight.copy_(k)
    pixels, text = inputs(ref.config)
    with torch.no_grad():
        a = bad.eval()(pixel_values=pixels, **text)
        b = ref.eval()(pixel_values=pixels, **text)
    with pytest.raises(AssertionError, match="max \\|diff\\|"):
        assert_outputs_close(a, b)


def test_the_inverse_is_not_the_identity():
    """Guards the round trip against a vacuous inverse: Meta's names and tensors really differ."""
    ref = build_tiny_model(0)
    original, _ = to_original(ref.state_dict(), ref.config, PUBLIC)
    hf = ref.state_dict()
    assert not set(original) & set(hf)
    assert len([k for k in original if k.endswith(".in_proj_weight") or ".attn.qkv." in k]) > 10
    pos = original["detector.backbone.vision_backbone.trunk.pos_embed"]
    assert pos.shape[1] == hf["vision_encoder.backbone.embeddings.position_embeddings"].shape[1] + 1


def test_every_rule_of_the_tiny_model_is_used():
    """Which of transformers' rules the round trips exercise; the others are listed in docs/model.md."""
    used = set()
    for variant, cfg in ((PUBLIC, tiny_config()), (INTERNAL, tiny_config()), (BARE, neck4_config())):
        original, _ = to_original(conv.expected_state_dict(cfg), cfg, variant)
        state = original.get(variant["wrap"], original)
        for key in state:
            k = key
            for i, (pattern, repl) in enumerate(conv._RULES):
                new = pattern.sub(repl, k)
                if new != k:
                    used.add(i)
                k = new
    unused = {conv.ORIGINAL_TO_CONVERTED_KEY_MAPPING[i][0] for i in range(len(conv._RULES)) if i not in used}
    assert unused == {r"^backbone\.vision_backbone\.neck\.fpn\.(\d+)\.",
                      r"^backbone\.vision_backbone\.convs\.(\d+)\.maxpool_2x2\.",
                      r"^transformer\.decoder\.instance_query_embed\.",
                      r"^transformer\.decoder\.instance_reference_points\.",
                      r"^transformer\.decoder\.instance_bbox_embed\.layers\.0\.",
                      r"^transformer\.decoder\.instance_bbox_embed\.layers\.1\.",
                      r"^transformer\.decoder\.instance_bbox_embed\.layers\.2\."}


def test_full_size_keys_and_shapes_map_exactly():
    """The released architecture (Sam3Config(), 840M parameters) on the meta device: every
    parameter is filled with the right shape (position embedding 577 -> 576 rows, text
    projection 1024x512 transposed, 4-level neck) and only the deliberate drops are left."""
    from transformers import Sam3Config

    cfg = Sam3Config()
    expected = conv.expected_state_dict(cfg)
    original, dropped = to_original(expected, cfg, PUBLIC)
    assert original["detector.backbone.vision_backbone.trunk.pos_embed"].shape == (1, 577, 1024)
    assert original["detector.backbone.language_backbone.encoder.text_projection"].shape == (1024, 512)
    result = conv.convert_state_dict(original, expected, Path("sam3.pt"))
    assert list(result.state_dict) == list(expected)
    assert all(result.state_dict[k].shape == expected[k].shape for k in expected)
    assert result.dropped == dropped


# ------------------------------------------------------------------ strictness and bad files


def _public(seed=0):
    ref = build_tiny_model(seed)
    original, _ = to_original(ref.state_dict(), ref.config, PUBLIC)
    return ref, original


def _convert(original):
    return conv.convert_state_dict(original, conv.expected_state_dict(tiny_config()), Path("/x/sam3.pt"))


def test_an_unknown_key_is_named():
    _, original = _public()
    original["detector.transformer.decoder.mystery_head.weight"] = torch.zeros(3)
    with pytest.raises(ModelError) as e:
        _convert(original)
    msg = str(e.value)
    assert msg.startswith("/x/sam3.pt: ") and "1 checkpoint keys match no Sam3Model parameter" in msg
    assert "detector.transformer.decoder.mystery_head.weight" in msg


def test_an_unknown_top_level_key_is_not_dropped():
    """Only tracker.* leaves a detector.* checkpoint silently."""
    _, original = _public()
    original["optimizer_state.step"] = torch.zeros(1)
    with pytest.raises(ModelError, match=r"optimizer_state\.step"):
        _convert(original)


def test_many_unknown_keys_are_counted():
    _, original = _public()
    for i in range(8):
        original[f"detector.extra.{i}.weight"] = torch.zeros(1)
    with pytest.raises(ModelError, match=r"8 checkpoint keys match no Sam3Model parameter: "
                                         r"detector\.extra\.0\.weight, .*\(3 more\)"):
        _convert(original)


def test_a_missing_key_is_named():
    _, original = _public()
    del original["detector.transformer.decoder.presence_token.weight"]
    with pytest.raises(ModelError, match=r"1 Sam3Model parameters are not in the checkpoint: "
                                         r"detr_decoder\.presence_token\.weight"):
        _convert(original)


def test_a_missing_fused_projection_names_its_three_parameters():
    _, original = _public()
    del original["detector.transformer.decoder.layers.0.ca_text.in_proj_weight"]
    with pytest.raises(ModelError) as e:
        _convert(original)
    for p in ("q_proj", "k_proj", "v_proj"):
        assert f"detr_decoder.layers.0.text_cross_attn.{p}.weight" in str(e.value)


def test_two_keys_for_one_parameter_are_refused():
    _, original = _public()
    original["sam3_model.transformer.decoder.query_embed.weight"] = torch.zeros(5, 32)
    with pytest.raises(ModelError, match=r"checkpoint keys detector\.transformer\.decoder\.query_embed\.weight and "
                                         r"sam3_model\.transformer\.decoder\.query_embed\.weight both map to "
                                         r"detr_decoder\.query_embed\.weight"):
        _convert(original)


def test_a_wrong_shape_is_named():
    _, original = _public()
    original["detector.transformer.decoder.query_embed.weight"] = torch.zeros(7, 32)
    with pytest.raises(ModelError, match=r"1 shapes differ: detr_decoder\.query_embed\.weight "
                                         r"\(detector\.transformer\.decoder\.query_embed\.weight\): checkpoint \(7, 32\), "
                                         r"model \(5, 32\)"):
        _convert(original)


def test_a_sam3_video_config_beside_is_used(tmp_path, cache):
    """facebook/sam3's own config.json is a sam3_video config; its detector_config describes
    Sam3Model (as Sam3Model.__init__ reads it)."""
    ref = build_tiny_model(8)
    ckpt, _ = write_original(tmp_path, ref, config=False)
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "sam3_video", "architectures": ["Sam3VideoModel"],
        "detector_config": ref.config.to_dict(), "tracker_config": {"model_type": "sam3_tracker_video"}}))
    loaded = load_model(str(tmp_path), "cpu", "fp32")
    assert_same_model(loaded.model, ref)
    [key] = entries(cache)
    assert json.loads((cache / key / "config.json").read_text())["model_type"] == "sam3"


def test_a_config_of_another_model_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "sam2"}))
    with pytest.raises(ModelError, match=r"config\.json: model_type 'sam2' is not a SAM 3 config"):
        conv.read_config(tmp_path / "config.json")


def test_the_wrong_config_is_refused(tmp_path):
    """The tiny checkpoint against Sam3Config() defaults (no config.json beside it)."""
    ckpt, _ = write_original(tmp_path, build_tiny_model(0), config=False)
    with pytest.raises(ModelError, match=r"sam3\.pt: cannot convert to Sam3Model: .*not in the checkpoint"):
        conv.convert_checkpoint(ckpt, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_file_is_named(tmp_path, damage):
    ckpt, _ = write_original(tmp_path, build_tiny_model(0))
    data = ckpt.read_bytes()
    ckpt.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"not a checkpoint" * 100, "empty": b""}[damage])
    with pytest.raises(ModelError, match=rf"^{tmp_path}/sam3\.pt: not a readable PyTorch checkpoint"):
        conv.load_original_state_dict(ckpt)


def test_not_a_state_dict(tmp_path):
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(ModelError, match=r"list\.pt: expected a state dict \(name -> tensor\), found list"):
        conv.load_original_state_dict(tmp_path / "list.pt")
    torch.save({"a.weight": torch.zeros(1), "step": 3}, tmp_path / "mixed.pt")
    with pytest.raises(ModelError, match=r"mixed\.pt: 1 entries are not named tensors \(first: step\)"):
        conv.load_original_state_dict(tmp_path / "mixed.pt")


# ------------------------------------------------------------------ load_model and the cache


def test_load_model_converts_once_then_uses_the_cache(tmp_path, cache, monkeypatch):
    ref = build_tiny_model(4)
    ckpt, _ = write_original(tmp_path / "sam3", ref)

    first = load_model(str(tmp_path / "sam3"), "cpu", "fp32")    # the folder holding sam3.pt
    assert first.source == str(ckpt) and first.is_tiny
    assert_same_model(first.model, ref)
    [key] = entries(cache)
    weights = cache / key / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    marker = json.loads((cache / key / conv.MARKER_FILE).read_text())
    assert marker["cache_key"] == key and marker["checkpoint"] == str(ckpt)

    def no_conversion(*a, **k):
        raise AssertionError("converted again")

    monkeypatch.setattr(conv, "convert_checkpoint", no_conversion)
    second = load_model(str(ckpt), "cpu", "fp32")                 # the file itself: same entry
    assert_same_model(second.model, ref)
    assert entries(cache) == [key] and weights.stat().st_mtime_ns == stamp


def test_a_changed_checkpoint_is_converted_again(tmp_path, cache):
    ckpt, _ = write_original(tmp_path, build_tiny_model(0))
    load_model(str(ckpt), "cpu", "fp32")
    [old] = entries(cache)
    newer = build_tiny_model(1)                                  # same size, other weights
    write_original(tmp_path, newer)
    os.utime(ckpt, ns=(ckpt.stat().st_atime_ns, ckpt.stat().st_mtime_ns + 10**9))
    loaded = load_model(str(ckpt), "cpu", "fp32")
    assert_same_model(loaded.model, newer)
    assert len(entries(cache)) == 2 and old in entries(cache)


def test_the_cache_key_sees_content_size_mtime_and_config(tmp_path):
    ckpt, _ = write_original(tmp_path, build_tiny_model(0))
    config = tmp_path / "config.json"
    base = conv.cache_key(ckpt, config)
    assert conv.cache_key(ckpt, config) == base
    assert conv.cache_key(ckpt, None) != base
    st = ckpt.stat()
    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert conv.cache_key(ckpt, config) != base
    data = bytearray(ckpt.read_bytes())
    data[-100] ^= 0xFF                                           # one byte in the last MiB, same size and mtime
    ckpt.write_bytes(bytes(data))
    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert conv.cache_key(ckpt, config) != base


def test_an_interrupted_conversion_leaves_nothing_that_loads(tmp_path, cache, monkeypatch):
    ref = build_tiny_model(2)
    ckpt, _ = write_original(tmp_path, ref)
    real_write = conv._write_folder

    def dies_halfway(conversion, config, folder):
        real_write(conversion, config, folder)
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])         # a half-written file ...
        raise KeyboardInterrupt                                  # ... and the user presses Ctrl-C

    monkeypatch.setattr(conv, "_write_folder", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        load_model(str(ckpt), "cpu", "fp32")
    assert entries(cache) == []                                  # no entry, no leftover temp folder
    monkeypatch.setattr(conv, "_write_folder", real_write)
    assert_same_model(load_model(str(ckpt), "cpu", "fp32").model, ref)


def test_no_tokenizer_fails_before_converting(tmp_path, cache):
    ckpt, _ = write_original(tmp_path, build_tiny_model(0), tokenizer=False)
    with pytest.raises(ModelError, match=rf"^{tmp_path}: no tokenizer files beside sam3\.pt"):
        load_model(str(ckpt), "cpu", "fp32")
    assert entries(cache) == []


def test_a_hugging_face_folder_with_sam3_pt_beside_is_not_converted(tmp_path, cache):
    ref = build_tiny_model(5)
    folder = tmp_path / "both"
    ref.save_pretrained(folder)
    (folder / HASH_TOKENIZER_FILE).write_text(json.dumps({"vocab_size": TINY_VOCAB}))
    (folder / "sam3.pt").write_bytes(b"never read")
    loaded = load_model(str(folder), "cpu", "fp32")
    assert loaded.source == str(folder)
    assert_same_model(loaded.model, ref)
    assert entries(cache) == []


# ------------------------------------------------------------------ through the tool


@pytest.fixture
def tool_env(tmp_path):
    env = dict(os.environ, CHICKENSEG_CACHE=str(tmp_path / "cache"))
    env.pop("XDG_CACHE_HOME", None)
    return env


def test_convert_through_the_tool(cs, tmp_path, tool_env):
    ref = build_tiny_model(6)
    ckpt, dropped = write_original(tmp_path / "orig", ref)
    out = tmp_path / "hf"
    r = cs("model", "convert", "--checkpoint", ckpt, "--out", out, env=tool_env, check=True)
    doc = json.loads(r.stdout)
    assert doc["model"] == str(out) and doc["tensors"] == len(ref.state_dict())
    assert doc["dropped"] == dropped and doc["tokenizer_files"] == [HASH_TOKENIZER_FILE]
    assert doc["ported_from"] == conv.PORTED_FROM
    assert_same_model(load_model(str(out), "cpu", "fp32").model, ref)
    info = json.loads(cs("model", "info", "--model", out, "--device", "cpu", env=tool_env, check=True).stdout)
    assert info["tiny"] is True and info["parameters"] == doc["parameters"]

    again = cs("model", "convert", "--checkpoint", ckpt, "--out", out, env=tool_env)
    assert again.returncode == 1 and f"{out}: exists and is not an empty folder" in again.stderr
    assert not (tmp_path / "cache").exists()                    # convert --out does not touch the cache


def test_model_sam3_pt_through_the_tool(cs, tmp_path, tool_env):
    ref = build_tiny_model(7)
    ckpt, _ = write_original(tmp_path / "orig", ref)
    for _ in range(2):
        r = cs("model", "info", "--model", ckpt, "--device", "cpu", env=tool_env, check=True)
        info = json.loads(r.stdout)
        assert info["model"] == str(ckpt) and info["tiny"] is True
        assert info["parameters"] == sum(p.numel() for p in ref.parameters())
    assert len(list((tmp_path / "cache" / "sam3-hf").iterdir())) == 1


def test_convert_errors_through_the_tool(cs, tmp_path, tool_env):
    bad = tmp_path / "sam3.pt"
    bad.write_bytes(b"\x80\x02 not really")
    r = cs("model", "convert", "--checkpoint", bad, "--out", tmp_path / "out", env=tool_env)
    assert r.returncode == 1 and r.stdout == ""
    assert f"error: {bad}: not a readable PyTorch checkpoint" in r.stderr
    assert not (tmp_path / "out").exists()
