"""The Hugging Face baseline that `chickenseg bench --baseline` compares the C++ runtime with:
Sam3Model eager (bf16 on CUDA, fp32 on CPU), image by image, timed end to end the way the
Python reference (`chickenseg model predict`) runs: PIL decode + EXIF orientation, Pillow
resize and normalisation, the forward pass with the prompt's text features computed once,
and the post-processing to COCO RLE (predict.outputs_to_records). The same images, in the
same run as the runtime's timings, so the ratio compares like with like."""
import statistics
import time
from pathlib import Path

import torch
from transformers.modeling_outputs import BaseModelOutputWithPooling

from chickenseg_model.errors import ModelError
from chickenseg_model.images import load_rgb, preprocess
from chickenseg_model.predict import encode_text, outputs_to_records


def _sync(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def time_reference(loaded, images: list[Path], iters: int, warmup: int, prompt: str,
                   score_threshold: float = 0.5) -> dict:
    if not images:
        raise ModelError("bench-baseline: no image to time")
    model = loaded.model
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    features, mask = encode_text(loaded, prompt)
    text = BaseModelOutputWithPooling(pooler_output=features)
    times = []
    for i in range(warmup + iters):
        path = images[i % len(images)]
        _sync(device)
        start = time.perf_counter()
        rgb = load_rgb(path)
        pixels = preprocess(rgb, loaded.image_size)[None].to(device=device, dtype=dtype)
        with torch.no_grad():
            outputs = model(pixel_values=pixels, text_embeds=text, attention_mask=mask)
        outputs_to_records(outputs, [0], [(rgb.height, rgb.width)], score_threshold)
        _sync(device)
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1e3)
    return {"model": loaded.source, "device": str(device), "dtype": str(dtype).replace("torch.", ""),
            "images": len(images), "iterations": iters,
            "end_to_end_ms": {"p50": statistics.median(times), "p90": percentile(times, 90),
                              "p99": percentile(times, 99), "mean": statistics.fmean(times)}}
