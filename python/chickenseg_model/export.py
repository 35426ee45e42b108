"""Export: vision encoder and prompt decoder as separate artefacts, text embeddings of the
configured prompts computed once here (the text encoder never runs per frame).

Formats:
- AOTInductor `.pt2` packages (torch.export + torch._inductor.aoti_compile_and_package)
  for LibTorch / PyTorch without Python model code;
- ONNX (opset 18, the torch.export-based exporter; external data when a file would pass
  2 GB) for ONNX Runtime / TensorRT users.
The artefacts are checked by `verify`, in a separate process: loading an AOTInductor package
in the process that compiled it crashed in an earlier probe (REFERENCE §8).

Precision (`dtype`): fp32, or bf16/fp16 for the vision encoder and the decoder with attention
scores + softmax and RoPE kept in fp32 (split_model.reduced_precision_guards). The text
embeddings are computed before the model is converted, in the precision it was loaded in (the
CLI loads fp32), and stored as float32. Every package takes float32 pixels and text features
and gives float32 outputs; only the FPN features between the two artefacts are in the
package's dtype (manifest "precision.io").
"""
import json
import platform
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from chickenseg_model.errors import ModelError
from chickenseg_model.io import write_json_atomic
from chickenseg_model.package import MANIFEST, SCHEMA, sha256_file
from chickenseg_model.predict import encode_text
from chickenseg_model.split_model import (KEPT_FP32, OUTPUT_NAMES, PromptDecoder, VisionEncoder, model_dtype,
                                          precision_guards)

TEXT_EMBEDDINGS = "text_embeddings.safetensors"

# bf16 ONNX is refused: opset 18 has no bfloat16 Conv (the graph fails ONNX's own type check),
# and at opset 22, where it has, ONNX Runtime's CPU provider has no bfloat16 Conv kernel
# (NOT_IMPLEMENTED, onnxruntime 1.32), so nothing here could run or verify it.
BF16_ONNX_REFUSED = ("--dtype bf16 with --format onnx: ONNX opset 18 has no bfloat16 Conv, and ONNX Runtime's "
                     "CPU provider has no bfloat16 kernels for opset 22's, so such a package could not be run "
                     "or verified. Export bf16 with --format aoti, or ONNX as fp16 (--dtype fp16) or fp32 "
                     "(TensorRT builds its own bf16/fp16 engine from an fp32 ONNX)")


def example_inputs(loaded, batch: int = 1):
    """Pixels are float32 in every package (the vision encoder casts them)."""
    device = next(loaded.model.parameters()).device
    pixels = torch.randn(batch, 3, loaded.image_size, loaded.image_size, device=device, dtype=torch.float32)
    return pixels


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def export_onnx(module, args, path: Path, input_names, output_names):
    # The ONNX exporter writes weights as external data itself when the model passes 2 GB.
    program = torch.onnx.export(module, args, dynamo=True, opset_version=18,
                                input_names=input_names, output_names=output_names)
    large = sum(p.numel() * p.element_size() for p in module.parameters()) > (1 << 31) - (1 << 26)
    program.save(str(path), external_data=large)
    return [path.name] + ([path.name + ".data"] if (path.parent / (path.name + ".data")).exists() else [])


def export_aoti(module, args, path: Path):
    program = torch.export.export(module, args, strict=False)
    torch._inductor.aoti_compile_and_package(program, package_path=str(path))
    return [path.name]


def check_export_request(formats: list[str], dtype: torch.dtype) -> None:
    for f in formats:
        if f not in ("onnx", "aoti"):
            raise ModelError(f"--format {f!r}: expected onnx or aoti")
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ModelError(f"export: dtype {dtype}: expected float32, bfloat16 or float16")
    if dtype == torch.bfloat16 and "onnx" in formats:
        raise ModelError(BF16_ONNX_REFUSED)


def export_package(loaded, out: Path, prompts: list[str], formats: list[str],
                   dataset_version: str | None = None, train_config: str | None = None,
                   score_threshold: float = 0.5, mask_threshold: float = 0.5,
                   dtype: torch.dtype | None = None) -> dict:
    """dtype: the artefacts' precision (default: the model's). A model loaded in another
    precision is converted in place, after the text embeddings are computed."""
    if not prompts:
        raise ModelError("export: at least one prompt is needed (--prompt chicken)")
    model = loaded.model
    dtype = dtype or model_dtype(model)
    check_export_request(formats, dtype)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if (out / MANIFEST).exists():
        (out / MANIFEST).unlink()  # a half-rewritten package must not look valid
    device = next(model.parameters()).device

    # Text embeddings of every prompt: (1, T, D) features + (1, T) mask each.
    tensors = {}
    for i, p in enumerate(prompts):
        features, mask = encode_text(loaded, p)
        tensors[f"prompt_{i}.features"] = features.detach().float().cpu().contiguous()
        tensors[f"prompt_{i}.mask"] = mask.detach().to(torch.int64).cpu().contiguous()
    save_file(tensors, str(out / TEXT_EMBEDDINGS), metadata={"prompts": json.dumps(prompts)})

    if model_dtype(model) != dtype:
        model.to(dtype)
    vision = VisionEncoder(model).eval()
    decoder = PromptDecoder(model).eval()
    guards = precision_guards(model, dtype)

    pixels = example_inputs(loaded)
    text_features = tensors["prompt_0.features"].to(device)
    text_mask = tensors["prompt_0.mask"].to(device)

    files, timings = [], {}
    with torch.no_grad(), guards:
        feats = vision(pixels)
        decoder_args = tuple(feats) + (text_features, text_mask)
        if "aoti" in formats:
            t = time.time()
            files += export_aoti(vision, (pixels,), out / "vision_encoder.pt2")
            files += export_aoti(decoder, decoder_args, out / "decoder.pt2")
            timings["aoti_seconds"] = round(time.time() - t, 2)
        if "onnx" in formats:
            t = time.time()
            files += export_onnx(vision, (pixels,), out / "vision_encoder.onnx", ["pixel_values"],
                                 vision.output_names())
            files += export_onnx(decoder, decoder_args, out / "decoder.onnx", decoder.input_names(), OUTPUT_NAMES)
            timings["onnx_seconds"] = round(time.time() - t, 2)
    files.append(TEXT_EMBEDDINGS)

    import transformers

    io = {"pixel_values": "float32", **{n: dtype_name(dtype) for n in vision.output_names()},
          "text_features": "float32", "text_mask": "int64", **{n: "float32" for n in OUTPUT_NAMES}}
    manifest = {
        "schema": SCHEMA,
        "model_source": loaded.source,
        "tiny": loaded.is_tiny,
        "prompts": prompts,
        "input": {"size": loaded.image_size, "layout": "NCHW RGB", "resize": "square, bilinear, aspect not kept",
                  "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "scale": 1.0 / 255.0},
        "thresholds": {"score": score_threshold, "mask": mask_threshold},
        "score": "sigmoid(pred_logits) * sigmoid(presence_logits)",
        "dtype": dtype_name(dtype),
        # What runs in fp32 inside a bf16/fp16 package, and each graph input's and output's dtype.
        "precision": {"compute": dtype_name(dtype), "kept_fp32": [] if dtype == torch.float32 else KEPT_FP32,
                      "io": io},
        "device": str(device),
        "batch": 1,
        "vision_encoder": {"inputs": ["pixel_values"], "outputs": vision.output_names()},
        "decoder": {"inputs": decoder.input_names(), "outputs": OUTPUT_NAMES},
        "formats": formats,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": platform.python_version()},
        "dataset_version": dataset_version,
        "train_config": train_config,
        "export_timings": timings,
        "files": {name: sha256_file(out / name) for name in sorted(set(files))},
    }
    write_json_atomic(out / MANIFEST, manifest, indent=2)
    return manifest
