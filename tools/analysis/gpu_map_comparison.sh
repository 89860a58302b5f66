#!/usr/bin/env bash
# Benchmarks section 1, accuracy side, on one GPU: ETAD (T = 128, DPS 6%, its config)
# and MMAction2's stock BMN (T = 100, tools/analysis/bmn_baseline.py) trained and
# evaluated on the same semi-synthetic videos (1,000 training / 300 validation, the
# same classifier scores). Writes results and logs to OUT_DIR.
#   bash tools/analysis/gpu_map_comparison.sh [OUT_DIR]   # default work_dirs/map_comparison
OUT_DIR=${1:-work_dirs/map_comparison}
CFG=configs/etad/etad_1xb16-6e_synthetic-anet-full-feature.py
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
nvidia-smi -L || true
echo "=== ETAD ($(date -u +%T))"
timeout ${ETAD_TIMEOUT:-260} python3 tools/train.py $CFG --work-dir "$OUT_DIR/etad_run" \
  --cfg-options train_cfg.val_interval=6 train_dataloader.num_workers=8 \
  val_dataloader.num_workers=8 > "$OUT_DIR/etad.log" 2>&1
echo "=== ETAD exit $? ($(date -u +%T))"
grep -E "Epoch\(val\)|Epoch\(train\) +\[[0-9]+\]\[60/" "$OUT_DIR/etad.log" | tail -n 8
cp "$OUT_DIR"/etad_run/*/vis_data/scalars.json "$OUT_DIR/etad_scalars.json" 2>/dev/null
echo "=== BMN ($(date -u +%T))"
timeout ${BMN_TIMEOUT:-330} python3 tools/analysis/bmn_baseline.py $CFG \
  --work-dir "$OUT_DIR/bmn_run" --workers 8 --out "$OUT_DIR/bmn.json" > "$OUT_DIR/bmn.log" 2>&1
echo "=== BMN exit $? ($(date -u +%T))"
tail -n 30 "$OUT_DIR/bmn.log"
