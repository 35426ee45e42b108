"""Loading SAM 3: a local Hugging Face folder, or the tiny random model.

Weights are never downloaded: facebook/sam3 is gated, so the user requests access,
downloads the repository, and gives its local path.
"""
import json
from dataclasses import dataclass
from pathlib import Path

import torch

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
    if folder.suffix == ".pt" and folder.is_file():
        raise ModelError(
            f"{folder}: this is the original SAM 3 checkpoint (sam3.pt). chickenseg loads the "
            "Hugging Face format: download config.json + model.safetensors + tokenizer files from "
            "facebook/sam3, or convert sam3.pt with transformers' convert_sam3_to_hf.py (in the "
            "transformers source repository, models/sam3) into a folder")
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


def load_model(spec: str, device: str = "cpu", dtype: str = "fp32") -> LoadedModel:
    """spec: a folder path; "tiny" / "tiny:SEED" for the random tiny model; "full-random" /
    "full-random:SEED" for the full-size architecture with random weights (speed and memory
    checks only: speed does not depend on weight values)."""
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
        _check_folder(folder)
        try:
            model = Sam3Model.from_pretrained(str(folder), local_files_only=True)
        except Exception as e:  # transformers raises several types; name the folder
            raise ModelError(f"{folder}: cannot load SAM 3 weights: {e}") from e
        tokenizer = load_tokenizer(folder, model.config.text_config.vocab_size)
        source, is_tiny = str(folder), (folder / HASH_TOKENIZER_FILE).exists()
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
