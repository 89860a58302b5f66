#!/usr/bin/env bash
# The prepared GPU measurement of docs/benchmarks.md (sections 1, 2, 4 and 6 at the
# paper's shapes): one CUDA device, a few minutes. Each section is time-boxed and
# independent, so one failure does not lose the others.
#   bash tools/analysis/gpu_benchmarks.sh [OUT_DIR]    # default docs/benchmarks
# On a machine whose copy of the tree has no .git, name the measured code:
#   ETAD_COMMIT=<git rev-parse --short HEAD> bash tools/analysis/gpu_benchmarks.sh
OUT_DIR=${1:-docs/benchmarks}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
B=tools/analysis/benchmark.py
nvidia-smi -L || true
run() {  # name, seconds, args...
  local name=$1 secs=$2; shift 2
  echo "=== $name ($(date -u +%T))"
  timeout "$secs" python3 $B "$@" --device cuda --out "$OUT_DIR/${name}_cuda.json" \
    > "$OUT_DIR/${name}_cuda.log" 2>&1
  echo "=== $name exit $? ($(date -u +%T))"; tail -n 25 "$OUT_DIR/${name}_cuda.log"
}
# 1: ETAD (T=128, DPS 6%) vs BMN (T=100) at batch 16; DPS 6% vs 100% at batch 16; inference
run detector 150 detector --steps 10 --batch 16 --small-batch 16
# 2 + 6: DPS ratio sweep at batch 16 (training), grid DPS at inference
run dps 120 dps --steps 10 --batch 16
# 4: EGS, one video of 128 snippets, TSM-R50 at 224x224, 8 frames, frozen stages 2, fp32
run egs 240 egs --steps 3 --snippets 128 --frames 8 --resolution 224 --depth 50 \
  --ratios 0.1 0.3 1.0 --chunk 4 --chunks 1 2 8 16 32
