"""Command line of the model package. Users run it through the C++ tool
(`chickenseg model ...`), which passes the arguments on; every command prints one JSON
document on stdout, progress on stderr, and exits 0 (ok), 1 (failure) or 2 (usage)."""
import argparse
import json
import os
import sys
from pathlib import Path

from chickenseg_model.errors import ModelError


def _model_args(p, required=True, dtype_help="fp32 (default), bf16 or fp16"):
    p.add_argument("--model", required=required,
                   help="SAM 3 Hugging Face folder (config.json + model.safetensors), Meta's original "
                        "sam3.pt (converted once, cached), or 'tiny' / 'tiny:SEED' for the tiny random model")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.add_argument("--dtype", default="fp32", help=dtype_help)


def build_parser():
    parser = argparse.ArgumentParser(prog="chickenseg model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build-tiny", help="write a tiny random SAM 3 as a Hugging Face folder")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", choices=("hf", "pytorch"), default="hf",
                   help="hf: transformers' initialisation (tests); pytorch: PyTorch's default per layer, "
                        "which a model this narrow needs to learn from images in a short run (the demo)")

    p = sub.add_parser("convert", help="convert Meta's original sam3.pt into a Hugging Face folder "
                                       "(what --model sam3.pt does once, into its cache)")
    p.add_argument("--checkpoint", required=True, type=Path, help="the original checkpoint (sam3.pt)")
    p.add_argument("--out", required=True, type=Path, help="new folder (config.json + model.safetensors "
                   "+ the tokenizer files found beside the checkpoint)")
    p.add_argument("--config", type=Path, help="Sam3Config JSON (default: config.json beside the "
                   "checkpoint, else Sam3Config() defaults: the released SAM 3)")

    p = sub.add_parser("info", help="load a model and describe it (checks a checkpoint is loadable)")
    _model_args(p)

    p = sub.add_parser("predict", help="reference inference over an SA-Co dataset")
    _model_args(p)
    p.add_argument("--dataset", required=True, type=Path, help="SA-Co dataset JSON")
    p.add_argument("--image-root", type=Path, help="folder the file_names are relative to "
                   "(default: the dataset's folder)")
    p.add_argument("--out", required=True, type=Path, help="predictions JSON (COCO results)")
    p.add_argument("--presence-out", type=Path, help="presence JSON (default: OUT with .presence.json)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--min-score", type=float, default=0.05,
                   help="keep queries scoring at least this (eval keeps >= 0.5; lower ones serve mining)")
    p.add_argument("--prompt", help="override every image's text_input")

    p = sub.add_parser("export", help="export a model package (vision encoder + decoder + text embeddings)")
    _model_args(p, dtype_help="precision of the exported vision encoder and decoder: fp32 (default), fp16 or "
                              "bf16, with attention softmax and RoPE kept in fp32; bf16 needs --format aoti "
                              "(see docs/model.md)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--prompt", action="append", help="concept prompt (repeatable; default chicken)")
    p.add_argument("--format", action="append", choices=["torchscript", "aoti", "onnx"],
                   help="artefact format (repeatable; default torchscript, which chickenseg predict runs). "
                        "aoti: compiled by AOTInductor, tied to this torch version, experimental at full size on "
                        "CUDA (docs/model.md); onnx: for ONNX Runtime / TensorRT")
    p.add_argument("--max-batch", type=int, default=8, help="largest batch the graphs accept (default 8)")
    p.add_argument("--score-threshold", type=float, default=0.5,
                   help="manifest thresholds.score: a query is kept when its score reaches this (default 0.5)")
    p.add_argument("--presence-threshold", type=float, default=0.5,
                   help="manifest thresholds.presence: below it an image is 'no chicken' and the mask head "
                        "does not run (default 0.5; 0 turns gating off)")
    p.add_argument("--dataset-version", help="dataset version id the model was trained from")
    p.add_argument("--train-config", help="training config file the model was trained from")

    p = sub.add_parser("verify", help="check a package's files and run its artefacts against PyTorch")
    p.add_argument("package", type=Path)
    _model_args(p, required=False)
    p.add_argument("--samples", type=int, default=2)

    p = sub.add_parser("bench-baseline", help="time Hugging Face Sam3Model eager end to end on images "
                                              "(what `chickenseg bench --baseline` compares with)")
    _model_args(p, dtype_help="auto (default: bf16 on CUDA, fp32 on CPU), fp32, bf16 or fp16")
    p.set_defaults(dtype="auto")
    p.add_argument("--images", type=Path, nargs="+", required=True, help="image files, timed in turn")
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--prompt", default="chicken")

    p = sub.add_parser("train", prog="chickenseg train", help="fine-tune SAM 3 (config YAML + key=value overrides; docs/train.md)")
    p.add_argument("-c", "--config", type=Path, help="training config YAML (configs/train_default.yaml)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="config overrides with dotted keys, e.g. optimizer.lr=1e-4 train.batch_size=8")
    p.add_argument("--num-gpus", type=int, default=1, help="processes (GPUs) per machine; >1 runs torchrun (DDP)")
    p.add_argument("--num-nodes", type=int, default=1, help="machines (needs --use-cluster 1)")
    p.add_argument("--use-cluster", type=int, choices=[0, 1], default=0, help="1: submit to SLURM via submitit")
    p.add_argument("--cluster-backend", choices=["slurm", "local"], default="slurm",
                   help="local: submitit's local executor (this machine; for tests)")
    p.add_argument("--dry-run", action="store_true", help="with --use-cluster 1: write the sbatch script, submit nothing")
    p.add_argument("--wait", action="store_true", help="with --use-cluster 1: wait for the job and print its summary")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # set by the torchrun launcher

    p = sub.add_parser("mine-cluster", help="submit the shards of `chickenseg mine` as a SLURM job array "
                                            "(what `chickenseg mine --use-cluster 1` runs; docs/mine.md)")
    p.add_argument("spec", type=Path, help="the request the C++ tool wrote (OUT/slurm/mine-cluster.json)")
    return parser


def run(args) -> dict:
    from chickenseg_model.loading import load_model, save_model

    if args.command == "build-tiny":
        loaded = load_model(f"tiny:{args.seed}", "cpu", "fp32")
        if args.init != "hf":
            from chickenseg_model.tiny import build_tiny_model

            loaded.model = build_tiny_model(args.seed, init=args.init)
            loaded.source = f"tiny:{args.seed} (init {args.init})"
        save_model(loaded, args.out)
        return {"model": str(args.out), "source": loaded.source}
    if args.command == "convert":
        from chickenseg_model.convert import convert_checkpoint, default_config_file

        if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
            raise ModelError(f"{args.out}: exists and is not an empty folder; choose a new --out")
        config = args.config or default_config_file(args.checkpoint)
        report = convert_checkpoint(args.checkpoint, args.out, config)
        if not report["tokenizer_files"]:
            report["warning"] = (f"no tokenizer files beside {args.checkpoint}: copy SAM 3's tokenizer files "
                                 f"(tokenizer.json, vocab.json, merges.txt, ... from facebook/sam3) into {args.out}")
            print(f"warning: {report['warning']}", file=sys.stderr)
        return {"model": str(args.out), **report}
    if args.command == "info":
        loaded = load_model(args.model, args.device, args.dtype)
        params = sum(p.numel() for p in loaded.model.parameters())
        return {"model": loaded.source, "tiny": loaded.is_tiny, "parameters": params,
                "image_size": loaded.image_size,
                "num_queries": loaded.model.config.detr_decoder_config.num_queries,
                "device": str(next(loaded.model.parameters()).device)}
    if args.command == "predict":
        from chickenseg_model.predict import predict_dataset

        loaded = load_model(args.model, args.device, args.dtype)
        presence = args.presence_out or args.out.with_suffix(".presence.json")
        root = args.image_root or args.dataset.parent
        return predict_dataset(loaded, args.dataset, root, args.out, presence, args.batch_size,
                               args.min_score, args.prompt, quiet=bool(os.environ.get("CHICKENSEG_QUIET")))
    if args.command == "export":
        from chickenseg_model.export import check_export_request, export_package
        from chickenseg_model.loading import parse_dtype

        # Loaded in fp32: the text embeddings are computed in fp32, then the vision encoder and
        # the decoder are converted to --dtype (softmax and RoPE kept in fp32; docs/model.md).
        dtype = parse_dtype(args.dtype)
        formats = list(dict.fromkeys(args.format or ["torchscript"]))
        check_export_request(formats, dtype, args.max_batch,   # before the (slow) model load
                             {"score": args.score_threshold, "presence": args.presence_threshold})
        loaded = load_model(args.model, args.device, "fp32")
        manifest = export_package(loaded, args.out, args.prompt or ["chicken"], formats,
                                  args.dataset_version, args.train_config, score_threshold=args.score_threshold,
                                  presence_threshold=args.presence_threshold, dtype=dtype,
                                  max_batch=args.max_batch)
        return {"package": str(args.out), "dtype": manifest["dtype"], "files": manifest["files"],
                "export_timings": manifest["export_timings"]}
    if args.command == "bench-baseline":
        from chickenseg_model.bench import time_reference
        from chickenseg_model.loading import pick_device

        dtype = args.dtype
        if dtype == "auto":
            dtype = "bf16" if pick_device(args.device).type == "cuda" else "fp32"
        if args.iters < 1 or args.warmup < 0:
            raise ModelError("bench-baseline: --iters must be >= 1 and --warmup >= 0")
        loaded = load_model(args.model, args.device, dtype)
        return time_reference(loaded, args.images, args.iters, args.warmup, args.prompt)
    if args.command == "verify":
        from chickenseg_model.package import check_package
        from chickenseg_model.verify import verify_package

        manifest = check_package(args.package)
        loaded = load_model(args.model or manifest["model_source"], args.device, args.dtype)
        return verify_package(args.package, loaded, args.samples)
    if args.command == "train":
        from chickenseg_model.train.config import load_config
        from chickenseg_model.train.launch import launch

        if args.config is None and not any(o.startswith("train_json=") for o in args.overrides):
            raise ModelError("train: expected -c CONFIG (e.g. configs/train_default.yaml) or train_json=PATH")
        if args.print_config:
            cfg = load_config(args.config, args.overrides)
            return {"config": cfg.nested(), "sources": cfg.sources}
        return launch(args.config, args.overrides, args.num_gpus, args.num_nodes, bool(args.use_cluster),
                      args.cluster_backend, args.dry_run, args.wait, args.worker,
                      quiet=bool(os.environ.get("CHICKENSEG_QUIET")))
    if args.command == "mine-cluster":
        from chickenseg_model.mine_cluster import run_mine_cluster

        return run_mine_cluster(args.spec)
    raise AssertionError(args.command)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run(args)
    except ModelError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a file the code did not anticipate: one line, not a traceback
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C); outputs are written atomically, so none is half-written",
              file=sys.stderr)
        return 130
    print(json.dumps(result, indent=2))
    if args.command == "verify" and not result["passed"]:
        return 1
    return 0
