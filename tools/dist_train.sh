#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
# Uses NCCL on CUDA machines and gloo on CPU-only ones (see etad_mmaction/engine/launcher.py).
# CONFIG's batch size is per process; without --work-dir the run goes to
# work_dirs/<config>_<NUM_PROCS>procs.
set -euo pipefail
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR="$(cd "$(dirname "$0")" && pwd)"
# The interpreter: $PYTHON; else `python` of an active environment; else the checkout's
# .venv (the quick start's, even when not activated); else `python`.
if [ -z "${PYTHON:-}" ]; then
    if [ -z "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ] && [ -x "$DIR/../.venv/bin/python" ]; then
        PYTHON="$DIR/../.venv/bin/python"
    else
        PYTHON=python
    fi
fi
PYTHONPATH="$DIR/..:${PYTHONPATH:-}" \
"$PYTHON" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$DIR/train.py" "$CONFIG" --launcher pytorch "${@:3}"
