#!/usr/bin/env bash
# The prepared GPU measurement of docs/benchmarks.md: one CUDA device. Each section is
# time-boxed and independent, so one failure does not lose the others.
#   bash tools/analysis/gpu_benchmarks.sh [OUT_DIR] [SECTIONS]   # default docs/benchmarks
# SECTIONS (default "step epoch", about 7 minutes):
#   step    ETAD step at batch 16, T = 128, DPS 6%: eager vs compiled
#           (max-autotune-no-cudagraphs) vs CUDA-graphed (reduce-overhead), stock BMN in
#           the same run, batched inference per video
#   epoch   a full ActivityNet-size epoch (9,649 videos of 512-d features, generated on
#           local disk) through the stock Runner with the shipped config, eager and
#           CUDA-graphed; the dataloader's own throughput beside it
#   detector, dps, egs   the earlier sections 1, 2 + 6 and 4 (about 9 minutes more)
# On a machine whose copy of the tree has no .git, name the measured code:
#   ETAD_COMMIT=<git rev-parse --short HEAD> bash tools/analysis/gpu_benchmarks.sh
OUT_DIR=${1:-docs/benchmarks}
SECTIONS=${2:-step epoch}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
A=tools/analysis
CFG=configs/etad/etad_1xb16-6e_anet-tsp-feature.py
FEAT400=configs/etad/etad_1xb16-6e_synthetic-anet-full-feature.py   # 400-d, as stock BMN
E2E=configs/etad_e2e/etad-e2e_tsm-r50-224-8f_anet.py
DATA=${ETAD_BENCH_DATA:-/tmp/anet_size}
nvidia-smi -L || true
section() { [[ " $SECTIONS " == *" $1 "* ]]; }
timed() {  # name, seconds, command...
  local name=$1 secs=$2; shift 2
  echo "=== $name ($(date -u +%T))"
  timeout "$secs" "$@" > "$OUT_DIR/${name}.log" 2>&1
  echo "=== $name exit $? ($(date -u +%T))"; tail -n 25 "$OUT_DIR/${name}.log"
}
run() {  # name, seconds, script args...
  local name=$1 secs=$2; shift 2
  timed "${name}_cuda" "$secs" python3 "$@" --device cuda --out "$OUT_DIR/${name}_cuda.json"
}
if section step; then
  timed train_step_cuda 200 python3 tools/analysis/train_step_benchmark.py $CFG --device cuda \
    --batch 16 --steps 20 --warmup 3 --bmn --inference-batch 16 \
    --modes eager max-autotune-no-cudagraphs reduce-overhead \
    --out "$OUT_DIR/train_step_cuda.json"
fi
if section epoch; then
  timed epoch_cuda 150 python3 tools/analysis/epoch_benchmark.py $CFG --data-root "$DATA" \
    --videos 9649 --loader-videos 9649 --out "$OUT_DIR/epoch_cuda.json"
  timed epoch-loader8_cuda 60 python3 tools/analysis/epoch_benchmark.py $CFG --data-root "$DATA" \
    --videos 9649 --loader-videos 9649 --skip-train --cfg-options train_dataloader.num_workers=8 \
    --out "$OUT_DIR/epoch-loader8_cuda.json"
  timed epoch-compiled_cuda 120 python3 tools/analysis/epoch_benchmark.py $CFG \
    --data-root "$DATA" --videos 9649 --loader-videos 0 --compile reduce-overhead \
    --out "$OUT_DIR/epoch-compiled_cuda.json"
fi
# 1: ETAD (T=128, DPS 6%) vs BMN (T=100) at batch 16; DPS 6% vs 100% at batch 16; inference
section detector && run detector 150 $A/detector_benchmark.py $FEAT400 --steps 10 --batch 16 \
  --small-batch 16
# 2 + 6: DPS ratio sweep at batch 16 (training), grid DPS at inference
section dps && run dps 120 $A/dps_benchmark.py $FEAT400 --steps 10 --batch 16
# 4: EGS, one video of 128 snippets, TSM-R50 at 224x224, 8 frames, frozen stages 2, fp32
section egs && run egs 240 $A/egs_benchmark.py $E2E --steps 3 --snippets 128 --frames 8 --resolution 224 \
  --ratios 0.1 0.3 1.0 --chunk 4 --chunks 1 2 8 16 32
true
