"""Fine-tuning SAM 3 for one concept with negative mining (`chickenseg train`).

config.py (YAML + key=value overrides, validated), data.py (SA-Co samples, GT masks,
augmentation), sampler.py (batch order with negatives in every batch), matcher.py (Hungarian),
losses.py, detector.py (frozen backbone, cached text, gradient checkpointing), optim.py
(AdamW + warm-up/cosine), checkpoint.py (top-k, last/best, HF folders, resume), tracking.py
(TensorBoard, W&B, JSONL), validation.py (val_loss + `chickenseg eval`), dataset_version.py,
trainer.py (the loop, DDP) and launch.py (torchrun / SLURM).
"""
