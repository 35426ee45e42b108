"""Turning the concept prompt into token ids.

A real SAM 3 folder carries its CLIP tokenizer files (tokenizer.json / vocab.json +
merges.txt), loaded with transformers. A tiny model has no vocabulary: it uses a
deterministic hash tokenizer (a word -> a stable id below the tiny vocabulary), which is
all random weights need. Context length is 32 tokens, padded with 0.
"""
import hashlib
from pathlib import Path

import torch

CONTEXT_LENGTH = 32
HASH_TOKENIZER_FILE = "chickenseg_hash_tokenizer.json"


class HashTokenizer:
    def __init__(self, vocab_size: int, bos: int = 1, eos: int = 2, pad: int = 0):
        self.vocab_size, self.bos, self.eos, self.pad = vocab_size, bos, eos, pad

    def word_id(self, word: str) -> int:
        digest = hashlib.sha256(word.lower().encode()).digest()
        return 3 + int.from_bytes(digest[:4], "little") % (self.vocab_size - 3)

    def __call__(self, texts: list[str]) -> dict:
        ids = torch.full((len(texts), CONTEXT_LENGTH), self.pad, dtype=torch.long)
        mask = torch.zeros((len(texts), CONTEXT_LENGTH), dtype=torch.long)
        for i, text in enumerate(texts):
            tokens = [self.bos] + [self.word_id(w) for w in text.split()][: CONTEXT_LENGTH - 2] + [self.eos]
            ids[i, : len(tokens)] = torch.tensor(tokens)
            mask[i, : len(tokens)] = 1
        return {"input_ids": ids, "attention_mask": mask}


class HFTokenizer:
    def __init__(self, folder: Path):
        from transformers import AutoTokenizer

        self.inner = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)

    def __call__(self, texts: list[str]) -> dict:
        enc = self.inner(texts, padding="max_length", max_length=CONTEXT_LENGTH, truncation=True,
                         return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


def load_tokenizer(folder: Path, vocab_size: int):
    if (folder / HASH_TOKENIZER_FILE).exists():
        return HashTokenizer(vocab_size)
    has_files = any((folder / f).exists() for f in ("tokenizer.json", "vocab.json", "tokenizer_config.json"))
    if not has_files:
        from chickenseg_model.errors import ModelError

        raise ModelError(f"{folder}: no tokenizer files (tokenizer.json or vocab.json + merges.txt); "
                         "download the whole facebook/sam3 repository, not only the weights")
    return HFTokenizer(folder)
