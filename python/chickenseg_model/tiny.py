"""A tiny SAM 3 with random weights, for tests, CI and the demo.

The sizes follow transformers' own Sam3 tests (REFERENCE §4): ViT hidden 32, 2 layers,
4 heads; FPN 32 with scale factors [2, 1]; CLIP text hidden 32; one-layer DETR
encoder/decoder with 5 queries; a 2-stage mask decoder. Constraints: head_dim divisible by
4 (RoPE), the config built at the pixel size that is fed, mask decoder width divisible by 8.
"""
import torch
from transformers import Sam3Config, Sam3Model

TINY_IMAGE_SIZE = 224
TINY_VOCAB = 1000


def tiny_config(image_size: int = TINY_IMAGE_SIZE) -> Sam3Config:
    if image_size % 14 != 0:
        raise ValueError(f"image size {image_size} must be a multiple of the patch size 14")
    feat = image_size // 14
    return Sam3Config(
        vision_config=dict(
            backbone_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, image_size=image_size, patch_size=14,
                                 window_size=8, global_attn_indexes=[0, 1],
                                 pretrain_image_size=image_size),
            fpn_hidden_size=32, scale_factors=[2.0, 1.0],
            backbone_feature_sizes=[[feat * 2, feat * 2], [feat, feat]]),
        text_config=dict(model_type="clip_text_model", vocab_size=TINY_VOCAB, hidden_size=32,
                         intermediate_size=64, projection_dim=32, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=32,
                         bos_token_id=1, eos_token_id=2, pad_token_id=0),
        geometry_encoder_config=dict(hidden_size=32, num_layers=1, num_attention_heads=4,
                                     intermediate_size=64),
        detr_encoder_config=dict(hidden_size=32, num_layers=1, num_attention_heads=4,
                                 intermediate_size=64),
        detr_decoder_config=dict(hidden_size=32, num_layers=1, num_attention_heads=4,
                                 intermediate_size=64, num_queries=5),
        mask_decoder_config=dict(hidden_size=32, num_upsampling_stages=2, num_attention_heads=4),
    )


TINY_INITS = ("hf", "pytorch")


def build_tiny_model(seed: int = 0, image_size: int = TINY_IMAGE_SIZE, init: str = "hf") -> Sam3Model:
    """Same seed -> same weights (CPU generator, independent of the global RNG state).

    init "hf": transformers' initialisation (normal, std 0.02), what every test uses. Sized for
    hidden widths near 1000, at width 32 it shrinks each layer's output about 9x, so the image
    reaches the presence and query heads only as a rounding error and the model cannot learn
    from images in a short run. "pytorch": then every Linear and convolution is re-drawn with
    PyTorch's own default (uniform, scaled by 1 / sqrt(fan_in)), which keeps activations of order
    one at this width: the start the demo trains from (configs/train_demo.yaml, docs/train.md)."""
    if init not in TINY_INITS:
        raise ValueError(f"init {init!r}: expected one of {', '.join(TINY_INITS)}")
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = Sam3Model(tiny_config(image_size))
        if init == "pytorch":
            for module in model.modules():
                if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                    module.reset_parameters()
    finally:
        torch.random.set_rng_state(state)
    return model.eval()


def build_full_random_model(seed: int = 0, device: torch.device | str = "cpu") -> Sam3Model:
    """The full-size SAM 3 architecture (Sam3Config defaults, 840M parameters) with random
    weights, initialised directly on `device` (seeded; reproducible on the same device and
    torch version)."""
    device = torch.device(device)
    state = torch.random.get_rng_state()
    cuda_state = torch.cuda.get_rng_state_all() if device.type == "cuda" else None
    try:
        torch.manual_seed(seed)
        with device:
            model = Sam3Model(Sam3Config())
    finally:
        torch.random.set_rng_state(state)
        if cuda_state is not None:
            torch.cuda.set_rng_state_all(cuda_state)
    return model.eval()
