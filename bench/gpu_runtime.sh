#!/usr/bin/env bash
# The project's measuring run on a lent GPU machine (one call of the device tool; see
# docs/runtime.md "Measured on a GPU"). Builds the runtime there against that machine's own
# torch, exports the full-size SAM 3 architecture with random weights, verifies the export
# against PyTorch, times the runtime against Hugging Face Sam3Model eager bf16 in the same run,
# runs `chickenseg stream` on a 1080p25 video (its JPEG frames when the build has no FFmpeg),
# and runs the training memory bench. Every table is written under $OUT as soon as it exists,
# so a run cut at the device's time limit still returns what it measured. Steps run in order
# of value; the slow AOTInductor export comes last.
#
# On this (CPU) machine, once, before the device call:
#   bench/gpu_runtime.sh --prepare      # downloads the Debian -dev packages the build needs into .gpu/
# Then, through the device tool, with carry [".gpu"]:
#   bench/gpu_runtime.sh                # writes $OUT/*.txt, $OUT/*.json, $OUT/log.txt
#
# The GPU machine has PyTorch (CUDA), transformers, onnx, cmake, ninja and a compiler, but no
# network and none of Debian's -dev packages: their .deb files are carried in and unpacked into
# a prefix (headers and the libraries the data layer links). Python is the machine's own.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEBS=(nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libyaml-cpp0.7 libstb-dev libstb0 libjpeg62-turbo-dev
      libjpeg62-turbo libwebp-dev libwebp7 libwebpdemux2 libwebpmux3)

if [ "${1:-}" = "--prepare" ]; then
  mkdir -p .gpu/debs && cd .gpu/debs && apt-get download "${DEBS[@]}" && ls -la
  exit $?
fi

OUT=${OUT:-$ROOT/gpu_out}
mkdir -p "$OUT"
LOG=$OUT/log.txt
exec > >(tee -a "$LOG") 2>&1
PY=${PYTHON:-python3}
export CHICKENSEG_PYTHON=$PY PYTHONPATH=$ROOT/python${PYTHONPATH:+:$PYTHONPATH} CHICKENSEG_QUIET=1
start=$(date +%s)
step() { echo "== [$(( $(date +%s) - start )) s] $*"; }

step "device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/device.txt"
$PY -c 'import torch, transformers; print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__)' | tee -a "$OUT/device.txt"

step "build the runtime against this machine's torch"
PREFIX=$ROOT/.gpu/prefix
mkdir -p "$PREFIX"
for deb in .gpu/debs/*.deb; do dpkg-deb -x "$deb" "$PREFIX"; done
TORCH_PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
# pkg-config finds libwebp in the unpacked prefix (its .pc files name /usr: point them there)
export PKG_CONFIG_PATH=$PREFIX/usr/lib/$(uname -m)-linux-gnu/pkgconfig:$PREFIX/usr/share/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$PREFIX
ARCH_LIB=$PREFIX/usr/lib/$(uname -m)-linux-gnu
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHICKENSEG_WITH_TORCH=ON \
      -DCHICKENSEG_BUILD_TESTS=OFF -DCHICKENSEG_BUILD_BENCH=OFF \
      -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$PREFIX/usr;$ARCH_LIB/cmake" \
      -DCMAKE_INCLUDE_PATH="$PREFIX/usr/include" -DCMAKE_LIBRARY_PATH="$ARCH_LIB" \
      -DCMAKE_BUILD_RPATH="$ARCH_LIB" -DCMAKE_FIND_ROOT_PATH="$PREFIX" \
      > "$OUT/cmake.txt" 2>&1 \
  && cmake --build build-gpu -j"$(nproc)" --target chickenseg_cli chickenseg_torch_plugin run_package > "$OUT/build.txt" 2>&1
built=$?
CS=$ROOT/build-gpu/chickenseg
[ $built -eq 0 ] && echo "built $CS" || { echo "build failed (see build.txt / cmake.txt)"; tail -30 "$OUT/build.txt" "$OUT/cmake.txt"; }

PKG=$OUT/pkg_bf16_ts
if [ $built -eq 0 ]; then
  step "export full-random bf16 TorchScript (1008 px, batch up to 8)"
  $CS --json model export --model full-random:0 --device cuda --dtype bf16 --format torchscript \
      --out "$PKG" > "$OUT/export_bf16_ts.json" 2>&1; echo "exit $?"

  step "runtime bench, TorchScript bf16, with the Hugging Face eager bf16 baseline in the same run"
  $CS bench --package "$PKG" --baseline --model full-random:0 --iters 30 --warmup 5 --batch-size 1,2,4,8 \
      | tee "$OUT/bench_ts_bf16.txt"
  $CS --json bench --package "$PKG" --iters 30 --warmup 5 --batch-size 1,8 > "$OUT/bench_ts_bf16.json"

  step "the same with CUDA graphs (encoder and decoder captured once per batch size)"
  $CS bench --package "$PKG" --cuda-graphs --iters 30 --warmup 5 --batch-size 1,8 | tee "$OUT/bench_ts_bf16_graphs.txt"

  step "predict over a folder of 1080p frames (end to end, decode threads)"
  mkdir -p "$OUT/frames"
  $PY - "$OUT/frames" <<'EOF'
import sys, numpy as np
from PIL import Image
rng = np.random.default_rng(0)
for i in range(64):
    y, x = np.mgrid[0:1080, 0:1920]
    img = np.stack([(x + 3 * i) % 256, (y + i) % 256, (x + y) % 256], -1).astype(np.uint8)
    img = np.clip(img.astype(int) + rng.integers(-8, 8, img.shape), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(f"{sys.argv[1]}/frame_{i:03d}.jpg", quality=90)
EOF
  for b in 1 8; do
    $CS --json predict --package "$PKG" --images "$OUT/frames" --out "$OUT/frames_b$b.json" --batch-size $b \
        > "$OUT/predict_frames_b$b.json"; echo "batch $b exit $?"
  done
  # CUDA graphs replay the same kernels: every query's score must agree with the run without.
  for g in "" --cuda-graphs; do
    $CS --json predict --package "$PKG" --images "$OUT/frames" --out "$OUT/frames_all$g.json" --batch-size 8 \
        --min-score 0 --presence-threshold 0 $g > "$OUT/predict_frames_all$g.json"; echo "batch 8 $g exit $?"
  done
  $PY - "$OUT/frames_all.json" "$OUT/frames_all--cuda-graphs.json" <<'EOF' | tee "$OUT/cuda_graphs_parity.txt"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
key = lambda r: (r["image_id"], r["bbox"][0], r["bbox"][1])
sa, sb = sorted(a, key=key), sorted(b, key=key)
diff = max((abs(x["score"] - y["score"]) for x, y in zip(sa, sb)), default=float("nan"))
print(f"CUDA graphs parity: {len(a)} vs {len(b)} detections, max score difference {diff:.2e}")
EOF
fi

step "training memory and step time (full-random, 1008 px, real mask losses)"
timeout 200 $PY bench/gpu_train_bench.py --batch-sizes 1,2,4,8 --checkpointing off,on --steps 3 --warmup 1 \
    --out "$OUT/train_bench.json" | tee "$OUT/train_bench.txt"

if [ $built -eq 0 ]; then
  step "stream: the animated barn at 1080p25, N = 1, 5, 25 (fps, latency p50/p95), streams that hold 25 fps"
  # The GPU image has no FFmpeg libraries: a build without them reads image sequences with the
  # project's own decoder and writes no MP4, and stream_bench.py asks the binary which it is, so
  # the step runs either way (on the barn's JPEG frames, without --video-out, when FFmpeg is
  # missing; the table says which).
  timeout 150 $PY bench/stream_bench.py --binary "$CS" --package "$PKG" --device cuda --barn --sizes 1920x1080 \
      --fps 25 --seconds 10 --every 1,5,25 --realtime --max-streams 8 --hwaccel auto \
      --json-out "$OUT/stream_bench.json" | tee "$OUT/stream_bench.txt"
  step "stream: GPU memory over a longer run (1 min of 1080p25, N = 5, nvidia-smi every second)"
  timeout 100 $PY bench/stream_bench.py --binary "$CS" --package "$PKG" --device cuda --barn --sizes 1920x1080 \
      --fps 25 --seconds 60 --every 5 --hwaccel auto | tee "$OUT/stream_long.txt"
fi

if [ $built -eq 0 ]; then
  step "fp32 TorchScript export verified against PyTorch at full size"
  $CS model export --model full-random:0 --device cuda --format torchscript --out "$OUT/pkg_fp32_ts" \
      > /dev/null 2>&1 \
    && $CS model verify "$OUT/pkg_fp32_ts" --device cuda --samples 1 > "$OUT/verify_fp32_ts.json" 2>&1
  echo "verify exit $?"; grep -E '"passed"|pred_logits"|mask_iou"' "$OUT/verify_fp32_ts.json" | head -8

  step "AOTInductor bf16 export and bench (slow compile: last)"
  $CS model export --model full-random:0 --device cuda --dtype bf16 --format aoti --out "$OUT/pkg_bf16_aoti" \
      > "$OUT/export_bf16_aoti.json" 2>&1 && \
  $CS bench --package "$OUT/pkg_bf16_aoti" --baseline --model full-random:0 --iters 30 --warmup 5 \
      --batch-size 1,8 | tee "$OUT/bench_aoti_bf16.txt"
fi
rm -rf "$OUT/frames" "$OUT"/pkg_*  # large; the tables stay
step "done"
