"""Loading SAM 3: a local Hugging Face folder, Meta's original sam3.pt (converted once into a
cache, convert.py), or the tiny random model.

Weights are never downloaded: facebook/sam3 is gated, so the user requests access,
downloads the repository, and gives its local path.
"""
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from chickenseg_model.convert import ensure_converted, original_checkpoint
from chickenseg_model.errors import ModelError
from chickenseg_model.tiny import TINY_VOCAB, build_full_random_model, build_tiny_model
from chickenseg_model.tokenizer import HASH_TOKENIZER_FILE, HashTokenizer, load_tokenizer

GATED_HELP = ("SAM 3 weights are gated on Hugging Face: request access at "
              "https://huggingface.co/facebook/sam3, then download the repository "
              "(e.g. `hf download facebook/sam3 --local-dir sam3`) and pass that folder")


@dataclass
class LoadedModel:
    model: torch.nn.Module
    tokenizer: object
    image_size: int
    source: str          # "tiny:SEED" or the folder path
    is_tiny: bool


def parse_dtype(name: str) -> torch.dtype:
    table = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16,
             "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}
    if name not in table:
        raise ModelError(f"--dtype {name!r}: expected one of fp32, bf16, fp16")
    return table[name]


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"--device {name}: CUDA is not available in this Python environment "
                         f"(torch {torch.__version__}); use --device cpu")
    return torch.device(name)


def _check_folder(folder: Path) -> None:
    if folder.suffix == ".pt" and not folder.exists():
        raise ModelError(f"{folder}: checkpoint not found. {GATED_HELP}")
    if not folder.exists():
        raise ModelError(f"{folder}: model folder not found. {GATED_HELP}")
    if not folder.is_dir():
        raise ModelError(f"{folder}: expected a model folder (config.json + model.safetensors)")
    if not (folder / "config.json").exists():
        raise ModelError(f"{folder}: config.json missing; expected a Hugging Face SAM 3 folder. {GATED_HELP}")
    weights = list(folder.glob("*.safetensors")) + list(folder.glob("*.safetensors.index.json"))
    if not weights:
        raise ModelError(f"{folder}: no model.safetensors; the download is incomplete "
                         f"(gated files need an accepted licence). {GATED_HELP}")


def _require_tokenizer(checkpoint: Path) -> None:
    folder = checkpoint.parent
    # the files load_tokenizer accepts
    if not any((folder / name).is_file() for name in ("tokenizer.json", "vocab.json", "tokenizer_config.json",
                                                      HASH_TOKENIZER_FILE)):
        raise ModelError(f"{folder}: no tokenizer files beside {checkpoint.name} (tokenizer.json, or "
                         "vocab.json + merges.txt + tokenizer_config.json): the text prompt needs SAM 3's "
                         "CLIP tokenizer; download the tokenizer files of facebook/sam3 into this folder")


def load_model(spec: str, device: str = "cpu", dtype: str = "fp32") -> LoadedModel:
    """spec: a Hugging Face folder; Meta's original checkpoint (a .pt file, or a folder holding
    sam3.pt and no *.safetensors), converted once into a cache (convert.py); "tiny" /
    "tiny:SEED" for the random tiny model; "full-random" / "full-random:SEED" for the full-size
    architecture with random weights (speed and memory checks only: speed does not depend on
    weight values)."""
    dev = pick_device(device)
    dt = parse_dtype(dtype)
    kind, _, seed_text = spec.partition(":")
    if kind in ("tiny", "full-random"):
        try:
            seed = int(seed_text) if seed_text else 0
        except ValueError:
            raise ModelError(f"--model {spec}: expected {kind} or {kind}:SEED with an integer seed") from None
        if kind == "tiny":
            model = build_tiny_model(seed)
            tokenizer = HashTokenizer(TINY_VOCAB)
        else:
            model = build_full_random_model(seed, dev)
            tokenizer = HashTokenizer(model.config.text_config.vocab_size)
        source, is_tiny = f"{kind}:{seed}", kind == "tiny"
    else:
        from transformers import Sam3Model

        folder = Path(spec)
        weights = folder
        checkpoint = original_checkpoint(folder)
        if checkpoint is not None:
            # Meta's original sam3.pt: converted once into the cache (convert.py); the tokenizer
            # (and config.json, if any) are the files beside it.
            weights = ensure_converted(checkpoint, before_convert=lambda: _require_tokenizer(checkpoint),
                                       log=lambda m: print(m, file=sys.stderr, flush=True))
            _require_tokenizer(checkpoint)
            folder = checkpoint.parent
        else:
            _check_folder(folder)
        try:
            model = Sam3Model.from_pretrained(str(weights), local_files_only=True)
        except Exception as e:  # transformers raises several types; name the folder
            raise ModelError(f"{weights}: cannot load SAM 3 weights: {e}") from e
        tokenizer = load_tokenizer(folder, model.config.text_config.vocab_size)
        source = str(checkpoint) if checkpoint is not None else str(folder)
        is_tiny = (folder / HASH_TOKENIZER_FILE).exists()
    model = model.to(device=dev, dtype=dt).eval()
    return LoadedModel(model, tokenizer, int(model.config.vision_config.image_size), source, is_tiny)


def save_model(loaded: LoadedModel, folder: Path) -> None:
    """Writes a Hugging Face folder that load_model reads back (tiny models keep their tokenizer)."""
    folder.mkdir(parents=True, exist_ok=True)
    loaded.model.save_pretrained(str(folder))
    if isinstance(loaded.tokenizer, HashTokenizer):
        (folder / HASH_TOKENIZER_FILE).write_text(json.dumps({"vocab_size": loaded.tokenizer.vocab_size}) + "\n")
    elif hasattr(loaded.tokenizer, "inner"):
        loaded.tokenizer.inner.save_pretrained(str(folder))
