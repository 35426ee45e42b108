"""The order of training images, epoch by epoch, with negatives placed in every batch.

An epoch visits every positive image once. With `data.negative_ratio` r, batch b holds
floor((b+1)·B·r) - floor(b·B·r) negatives (so the share is exactly r over the epoch and as
even as the batch size allows: with B = 4, r = 0.5 every batch holds 2; with B = 1, every
second batch is a negative image). Negatives come from a fresh permutation each epoch,
cycled when more are needed than exist. With r = null the whole dataset is shuffled as is.

Everything is a pure function of (seed, epoch): a resumed run rebuilds the same batches and
skips the ones it has done. Each item carries its own augmentation seed
(SeedSequence([seed, epoch, position])). Under DDP, rank k takes batches k, k+G, ...; the
tail that would leave ranks unequal is dropped, so every rank runs the same number of steps.
"""
import numpy as np


def _item_seed(seed: int, epoch: int, position: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, position]).generate_state(1)[0])


def epoch_batches(negative_flags: list[bool], batch_size: int, negative_ratio: float | None,
                  seed: int, epoch: int, world_size: int = 1, rank: int = 0) -> list[list[tuple[int, int]]]:
    """Batches of (record index, augmentation seed) for one epoch and one rank."""
    rng = np.random.default_rng([seed, epoch])
    positives = [i for i, neg in enumerate(negative_flags) if not neg]
    negatives = [i for i, neg in enumerate(negative_flags) if neg]
    if negative_ratio is None or not positives or not negatives:
        order = [int(i) for i in rng.permutation(len(negative_flags))]
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    else:
        pos = [positives[i] for i in rng.permutation(len(positives))]
        neg_perm = [negatives[i] for i in rng.permutation(len(negatives))]
        batches, p, n, b = [], 0, 0, 0
        while p < len(pos):
            k_neg = int(np.floor((b + 1) * batch_size * negative_ratio)) - int(np.floor(b * batch_size * negative_ratio))
            k_neg = min(k_neg, batch_size)
            batch = pos[p:p + batch_size - k_neg]
            p += len(batch)
            for _ in range(k_neg):
                batch.append(neg_perm[n % len(neg_perm)])
                n += 1
            # Shuffled within the batch so negatives do not always sit in the last slots.
            batch = [batch[i] for i in rng.permutation(len(batch))]
            batches.append(batch)
            b += 1
    if world_size > 1:
        usable = len(batches) - len(batches) % world_size
        batches = batches[rank:usable:world_size]
        position_base = rank
    else:
        position_base = 0
    out = []
    for bi, batch in enumerate(batches):
        items = []
        for j, index in enumerate(batch):
            # Position in the global epoch order: the same sample gets the same augmentation
            # whatever the world size.
            global_batch = bi * world_size + position_base
            items.append((index, _item_seed(seed, epoch, global_batch * batch_size + j)))
        out.append(items)
    return out
