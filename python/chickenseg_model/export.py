"""Export: the vision encoder, the prompt decoder (up to presence) and the mask decoder as
separate artefacts; the text embeddings of the configured prompts computed once here (the
text encoder never runs per frame). Three graphs, so that the runtime caches the backbone
(one vision encoder run per image, one decoder run per prompt) and skips the mask head on an
image without the concept (presence gating) or without a kept query.

Formats:
- TorchScript (`torch.jit.trace`; `.ts`), run by LibTorch's `torch::jit::load` without
  AOTInductor: the default, quick to export and portable across torch versions;
- AOTInductor `.pt2` packages (torch.export + torch._inductor.aoti_compile_and_package),
  compiled C++/CUDA, tied to the exporting torch version (experimental at full size on CUDA:
  docs/model.md);
- ONNX (opset 18, the torch.export-based exporter; external data when a file would pass
  2 GB) for ONNX Runtime / TensorRT users.
Every graph takes a dynamic batch (1 to `max_batch` images; the text embedding is repeated per
image). The artefacts are checked by `verify`, in a separate process: loading an AOTInductor
package in the process that compiled it crashed in an earlier probe (REFERENCE §8).

Precision (`dtype`): fp32, or bf16/fp16 for the three graphs with attention scores + softmax
and RoPE kept in fp32 (split_model.reduced_precision_guards). The text embeddings are computed
before the model is converted, in the precision it was loaded in (the CLI loads fp32), and
stored as float32. Every package takes float32 pixels and text features and gives float32
scores, boxes and masks (manifest "precision.io"); only the tensors passed between the
graphs (FPN features, queries, encoder_hidden) are in the package's dtype.
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
from chickenseg_model.split_model import (DECODER_OUTPUT_NAMES, KEPT_FP32, MASK_DECODER_OUTPUT_NAMES, MaskDecoder,
                                          PromptDecoder, VisionEncoder, model_dtype, precision_guards)

TEXT_EMBEDDINGS = "text_embeddings.safetensors"
FORMATS = ("torchscript", "aoti", "onnx")
EXTENSIONS = {"torchscript": ".ts", "aoti": ".pt2", "onnx": ".onnx"}
GRAPHS = ("vision_encoder", "decoder", "mask_decoder")
DEFAULT_MAX_BATCH = 8

# bf16 ONNX is refused: opset 18 has no bfloat16 Conv (the graph fails ONNX's own type check),
# and at opset 22, where it has, ONNX Runtime's CPU provider has no bfloat16 Conv kernel
# (NOT_IMPLEMENTED, onnxruntime 1.32), so nothing here could run or verify it.
BF16_ONNX_REFUSED = ("--dtype bf16 with --format onnx: ONNX opset 18 has no bfloat16 Conv, and ONNX Runtime's "
                     "CPU provider has no bfloat16 kernels for opset 22's, so such a package could not be run "
                     "or verified. Export bf16 with --format aoti, or ONNX as fp16 (--dtype fp16) or fp32 "
                     "(TensorRT builds its own bf16/fp16 engine from an fp32 ONNX)")


def example_inputs(loaded, batch: int = 2):
    """Pixels are float32 in every package (the vision encoder casts them). Batch 2: an
    example batch of 1 would make torch.export specialise the batch dimension to 1."""
    device = next(loaded.model.parameters()).device
    pixels = torch.randn(batch, 3, loaded.image_size, loaded.image_size, device=device, dtype=torch.float32)
    return pixels


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def batch_dims(module, args, max_batch: int):
    """torch.export's dynamic_shapes for a graph whose every input has the batch first, shaped
    like the forward's signature (one entry per parameter; a *inputs parameter takes a tuple).
    None for --max-batch 1: a static graph, which AOTInductor compiles without shape guards."""
    import inspect

    from torch.export import Dim

    if max_batch == 1:
        return None
    batch = Dim("batch", min=1, max=max_batch)
    specs = tuple({0: batch} for _ in args)
    params = list(inspect.signature(module.forward).parameters.values())
    return (specs,) if params and params[0].kind == inspect.Parameter.VAR_POSITIONAL else specs


def export_onnx(module, args, path: Path, input_names, output_names, max_batch: int):
    # The ONNX exporter writes weights as external data itself when the model passes 2 GB.
    program = torch.onnx.export(module, args, dynamo=True, opset_version=18, input_names=input_names,
                                output_names=output_names, dynamic_shapes=batch_dims(module, args, max_batch))
    large = sum(p.numel() * p.element_size() for p in module.parameters()) > (1 << 31) - (1 << 26)
    program.save(str(path), external_data=large)
    return [path.name] + ([path.name + ".data"] if (path.parent / (path.name + ".data")).exists() else [])


def export_aoti(module, args, path: Path, max_batch: int):
    program = torch.export.export(module, args, dynamic_shapes=batch_dims(module, args, max_batch), strict=False)
    torch._inductor.aoti_compile_and_package(program, package_path=str(path))
    return [path.name]


def export_torchscript(module, args, path: Path):
    """torch.jit.trace at the example batch: the graphs have no data-dependent control flow
    (the decoder's one data-dependent shape is made static in split_model), so the trace is
    the computation; sizes are recorded as size() ops, so other batch sizes run (tested).
    torch.jit is deprecated in torch 2.14 but is LibTorch's only loader of a graph without
    AOTInductor (docs/runtime.md: why)."""
    import warnings

    with warnings.catch_warnings():
        # The deprecation notice, and tracer notes about Python ints taken from static shapes.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(module, args, check_trace=False)
        torch.jit.save(traced, str(path))
    return [path.name]


def check_export_request(formats: list[str], dtype: torch.dtype, max_batch: int = DEFAULT_MAX_BATCH,
                         thresholds: dict | None = None) -> None:
    """Everything about the request that can be refused before the (slow) model load."""
    if not 1 <= max_batch <= 1024:
        raise ModelError(f"export: --max-batch {max_batch}: expected 1 to 1024")
    for name, value in (thresholds or {}).items():
        if not 0.0 <= value <= 1.0:
            raise ModelError(f"export: {name} threshold {value}: expected a number in [0, 1]")
    for f in formats:
        if f not in FORMATS:
            raise ModelError(f"--format {f!r}: expected one of {', '.join(FORMATS)}")
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ModelError(f"export: dtype {dtype}: expected float32, bfloat16 or float16")
    if dtype == torch.bfloat16 and "onnx" in formats:
        raise ModelError(BF16_ONNX_REFUSED)


def export_package(loaded, out: Path, prompts: list[str], formats: list[str],
                   dataset_version: str | None = None, train_config: str | None = None,
                   score_threshold: float = 0.5, mask_threshold: float = 0.5,
                   presence_threshold: float = 0.5, dtype: torch.dtype | None = None,
                   max_batch: int = DEFAULT_MAX_BATCH) -> dict:
    """dtype: the artefacts' precision (default: the model's). A model loaded in another
    precision is converted in place, after the text embeddings are computed."""
    if not prompts:
        raise ModelError("export: at least one prompt is needed (--prompt chicken)")
    if len(set(prompts)) != len(prompts):
        raise ModelError(f"export: prompts repeat ({prompts}): give each concept once")
    model = loaded.model
    dtype = dtype or model_dtype(model)
    check_export_request(formats, dtype, max_batch,
                         {"score": score_threshold, "mask": mask_threshold, "presence": presence_threshold})
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
    graphs = {"vision_encoder": VisionEncoder(model).eval(), "decoder": PromptDecoder(model).eval(),
              "mask_decoder": MaskDecoder(model).eval()}
    guards = precision_guards(model, dtype)

    files, timings = [], {}
    with torch.no_grad(), guards:
        args = example_graph_inputs(graphs, example_inputs(loaded, batch=1 if max_batch == 1 else 2),
                                    tensors["prompt_0.features"].to(device), tensors["prompt_0.mask"].to(device))
        names = graph_names(graphs)
        for fmt in formats:
            t = time.time()
            for g in GRAPHS:
                path = out / (g + EXTENSIONS[fmt])
                if fmt == "torchscript":
                    files += export_torchscript(graphs[g], args[g], path)
                elif fmt == "aoti":
                    files += export_aoti(graphs[g], args[g], path, max_batch)
                else:
                    files += export_onnx(graphs[g], args[g], path, names[g]["inputs"], names[g]["outputs"], max_batch)
            timings[f"{fmt}_seconds"] = round(time.time() - t, 2)
    files.append(TEXT_EMBEDDINGS)

    import transformers

    inner = dtype_name(dtype)
    io = {"pixel_values": "float32", **{n: inner for n in graphs["vision_encoder"].output_names()},
          "text_features": "float32", "text_mask": "int64", "pred_logits": "float32", "pred_boxes": "float32",
          "presence_logits": "float32", "queries": inner, "encoder_hidden": inner, "pred_masks": "float32"}
    manifest = {
        "schema": SCHEMA,
        "model_source": loaded.source,
        "tiny": loaded.is_tiny,
        "prompts": prompts,
        "input": {"size": loaded.image_size, "layout": "NCHW RGB", "resize": "square, bilinear, aspect not kept",
                  "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "scale": 1.0 / 255.0},
        "thresholds": {"score": score_threshold, "mask": mask_threshold, "presence": presence_threshold},
        "score": "sigmoid(pred_logits) * sigmoid(presence_logits)",
        "dtype": inner,
        # What runs in fp32 inside a bf16/fp16 package, and each graph input's and output's dtype.
        "precision": {"compute": inner, "kept_fp32": [] if dtype == torch.float32 else KEPT_FP32, "io": io},
        "device": str(device),
        "batch": {"max": max_batch},
        **names,
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


def graph_names(graphs: dict) -> dict:
    """The manifest's per-graph input and output names, in call order."""
    return {"vision_encoder": {"inputs": ["pixel_values"], "outputs": graphs["vision_encoder"].output_names()},
            "decoder": {"inputs": graphs["decoder"].input_names(), "outputs": DECODER_OUTPUT_NAMES},
            "mask_decoder": {"inputs": graphs["mask_decoder"].input_names(), "outputs": MASK_DECODER_OUTPUT_NAMES}}


def example_graph_inputs(graphs: dict, pixels, text_features, text_mask) -> dict:
    """Each graph's example arguments, made by running the graphs before it on `pixels`."""
    n = pixels.shape[0]
    text_features, text_mask = text_features.expand(n, -1, -1), text_mask.expand(n, -1)
    feats = list(graphs["vision_encoder"](pixels))
    levels = len(feats) - 1
    decoder_args = (feats[levels - 1], feats[levels], text_features, text_mask)
    _, _, _, queries, encoder_hidden = graphs["decoder"](*decoder_args)
    mask_args = tuple(feats[:levels]) + (encoder_hidden, queries, text_features, text_mask)
    return {"vision_encoder": (pixels,), "decoder": decoder_args, "mask_decoder": mask_args}
