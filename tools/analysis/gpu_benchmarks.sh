#!/usr/bin/env bash
# The prepared GPU measurement of docs/benchmarks.md (issue 25): one CUDA device, at
# most 10 minutes for the default sections. Each section is time-boxed and independent,
# so one failure does not lose the others; the exit status is 1 when any failed.
#   bash tools/analysis/gpu_benchmarks.sh [OUT_DIR] [SECTIONS]   # default docs/benchmarks
# SECTIONS (default "step inference epoch", about 9.5 minutes):
#   step       ETAD step at batch 16, T = 128, DPS 6% (paper preset): eager vs compiled
#              (max-autotune-no-cudagraphs) vs CUDA-graphed (reduce-overhead), stock BMN
#              in the same run (time and peak memory), inference per video at batch 16
#              on random features -> train_step_<dev>.json
#   inference  trains the sweep config (4 epochs, 200 videos, generated), then batched
#              inference per video of that trained checkpoint at batch 16 and 1,
#              post-processing included -> inference_<dev>.json
#   epoch      a full ActivityNet-size epoch (9,649 videos of 512-d features, generated on
#              local disk) through the stock Runner with the shipped config, eager and
#              CUDA-graphed; the dataloader's own throughput beside it -> epoch*_<dev>.json
#   detector, dps, egs   the earlier sections 1, 2 + 6 and 4 (detector_benchmark.py,
#              dps_benchmark.py, egs_benchmark.py; about 9
#              minutes more; egs: the EGS memory)
# DRY_RUN=1 runs the same commands on the CPU at toy sizes (one thread; the tiny test
# config; detector/dps/egs not included), so that the script is exercised by the test
# suite (tests/tools/test_gpu_benchmarks.py) and cannot rot.
# On a machine whose copy of the tree has no .git, name the measured code:
#   ETAD_COMMIT=<git rev-parse --short HEAD> bash tools/analysis/gpu_benchmarks.sh
OUT_DIR=${1:-docs/benchmarks}
SECTIONS=${2:-step inference epoch}
PY=${PYTHON:-python3}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
A=tools/analysis
CFG=configs/etad/etad_1xb16-6e_anet-tsp-feature.py
FEAT400=configs/etad/etad_1xb16-6e_synthetic-anet-full-feature.py   # 400-d, as stock BMN
E2E=configs/etad_e2e/etad-e2e_tsm-r50-224-8f_anet.py
SWEEP=configs/etad/etad_1xb16-4e_synthetic-anet-sweep-feature.py
DATA=${ETAD_BENCH_DATA:-/tmp/anet_size}
WORK=${ETAD_BENCH_WORK:-/tmp/etad_bench_work}
# the inexact speed option of the fused RoI layer, measured beside the exact step
BF16_ROI=model.roi_head.stage_head.roi_matmul_dtype=bfloat16
if [[ -n "$DRY_RUN" ]]; then
  DEV=cpu
  export OMP_NUM_THREADS=1
  TINY=tests/configs/etad_tiny_synthetic.py
  STEP_CFG=$TINY
  STEP_ARGS=(--threads 1 --batch 2 --steps 1 --warmup 0 --bmn --bmn-steps 1
             --inference-batch 2 --modes eager --variant bf16-roi "$BF16_ROI"
             --variant bf16-autocast autocast=bfloat16 --bmn-autocast bfloat16)
  TRAIN_CFG=$TINY
  TRAIN_OPTS=(train_cfg.max_epochs=1)
  INF_ARGS=(--threads 1 --batch 4 1 --videos 8 --repeats 1 --warmup 0)
  VIDEOS=32            # two iterations of 16: the epoch tool times the steady one
  EPOCH_OPTS=(--cfg-options train_dataloader.num_workers=0 train_dataloader.persistent_workers=False)
  S_STEP=300 S_TRAIN=300 S_INF=200 S_EPOCH=300 S_LOADER=200 S_COMPILED=0
else
  DEV=cuda
  STEP_CFG=$CFG
  STEP_ARGS=(--batch 16 --steps 20 --warmup 3 --bmn --inference-batch 16
             --modes eager max-autotune-no-cudagraphs reduce-overhead
             --variant bf16-roi "$BF16_ROI" --variant bf16-autocast autocast=bfloat16
             --bmn-autocast bfloat16)
  TRAIN_CFG=$SWEEP
  TRAIN_OPTS=()
  INF_ARGS=(--batch 16 1 --videos 64 --repeats 3 --warmup 1)
  VIDEOS=9649
  EPOCH_OPTS=()
  S_STEP=170 S_TRAIN=90 S_INF=50 S_EPOCH=120 S_LOADER=50 S_COMPILED=100
  nvidia-smi -L || true
fi
FAILED=()
section() { [[ " $SECTIONS " == *" $1 "* ]]; }
timed() {  # name, seconds, command...
  local name=$1 secs=$2; shift 2
  echo "=== $name ($(date -u +%T))"
  timeout "$secs" "$@" > "$OUT_DIR/${name}.log" 2>&1
  local rc=$?
  echo "=== $name exit $rc ($(date -u +%T))"; tail -n 25 "$OUT_DIR/${name}.log"
  [[ $rc == 0 ]] || FAILED+=("$name")
}
run() {  # name, seconds, script args...
  local name=$1 secs=$2; shift 2
  timed "${name}_cuda" "$secs" $PY "$@" --device cuda --out "$OUT_DIR/${name}_cuda.json"
}
if section step; then
  timed train_step_$DEV $S_STEP $PY tools/analysis/train_step_benchmark.py $STEP_CFG \
    --device $DEV "${STEP_ARGS[@]}" --out "$OUT_DIR/train_step_$DEV.json"
fi
if section inference; then
  # a trained checkpoint: an untrained model keeps nearly every proposal
  rm -rf "$WORK/train"
  opts=(train_dataloader.dataset.data_root="$WORK/data" val_dataloader.dataset.data_root="$WORK/data"
        test_dataloader.dataset.data_root="$WORK/data" "${TRAIN_OPTS[@]}")
  timed inference-train_$DEV $S_TRAIN $PY tools/train.py $TRAIN_CFG --work-dir "$WORK/train" \
    --cfg-options "${opts[@]}"
  ckpt=$(ls -v "$WORK"/train/epoch_*.pth 2>/dev/null | tail -n 1)
  if [[ -n "$ckpt" ]]; then
    timed inference_$DEV $S_INF $PY tools/analysis/inference_benchmark.py $TRAIN_CFG "$ckpt" \
      --device $DEV "${INF_ARGS[@]}" --cfg-options "${opts[@]}" \
      --out "$OUT_DIR/inference_$DEV.json"
  else
    echo "=== inference_$DEV: no checkpoint from the training above"; FAILED+=("inference_$DEV")
  fi
fi
if section epoch; then
  timed epoch_$DEV $S_EPOCH $PY tools/analysis/epoch_benchmark.py $CFG --data-root "$DATA" \
    --videos $VIDEOS --loader-videos $VIDEOS "${EPOCH_OPTS[@]}" --out "$OUT_DIR/epoch_$DEV.json"
  timed epoch-loader8_$DEV $S_LOADER $PY tools/analysis/epoch_benchmark.py $CFG \
    --data-root "$DATA" --videos $VIDEOS --loader-videos $VIDEOS --skip-train \
    --cfg-options train_dataloader.num_workers=8 --out "$OUT_DIR/epoch-loader8_$DEV.json"
  if [[ $S_COMPILED != 0 ]]; then
    timed epoch-compiled_$DEV $S_COMPILED $PY tools/analysis/epoch_benchmark.py $CFG \
      --data-root "$DATA" --videos $VIDEOS --loader-videos 0 --compile reduce-overhead \
      --out "$OUT_DIR/epoch-compiled_$DEV.json"
  fi
fi
if [[ -z "$DRY_RUN" ]]; then
  # 1: ETAD (T=128, DPS 6%) vs BMN (T=100) at batch 16; DPS 6% vs 100% at batch 16; inference
  section detector && run detector 150 $A/detector_benchmark.py $FEAT400 --steps 10 \
    --batch 16 --small-batch 16
  # 2 + 6: DPS ratio sweep at batch 16 (training), grid DPS at inference
  section dps && run dps 120 $A/dps_benchmark.py $FEAT400 --steps 10 --batch 16
  # 4: EGS, one video of 128 snippets, TSM-R50 at 224x224, 8 frames, frozen stages 2, fp32
  section egs && run egs 240 $A/egs_benchmark.py $E2E --steps 3 --snippets 128 --frames 8 \
    --resolution 224 --ratios 0.1 0.3 1.0 --chunk 4 --chunks 1 2 8 16 32
fi
if (( ${#FAILED[@]} )); then
  echo "=== failed: ${FAILED[*]}"; exit 1
fi
echo "=== all sections done"
