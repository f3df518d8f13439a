#!/usr/bin/env bash
# Issue 33's long runs on a CPU, in the order of docs/measurements/issue33_plan.md, one after another;
# each resumes from its checkpoint (results/, or store/<profile>/inflight/ on a fresh machine), so the
# queue spans sessions: start it again in each one. Before a session ends: make save-inflight for the
# running profile, and commit its store.
#
#     nice -n 19 scripts/issue33_queue.sh &> issue33_queue.log &
#
# DATA_MIRROR (default ../shared/datasets): the offline copy of the official dataset files.
set -u
cd "$(dirname "$0")/.."
mirror=${DATA_MIRROR:-../shared/datasets}

# A replicate already running here (started by hand) finishes first: two runs on one profile collide.
while pgrep -f "make replicate PROFILE=" >/dev/null; do sleep 60; done

step() {
    echo "== $* ($(date -u +%FT%TZ))"
    nice -n 19 make replicate DATA_MIRROR="$mirror" "$@" || { echo "== failed: $*"; exit 1; }
}

step PROFILE=mnist50 TARGET=figures                                          # mnist50's REPORT.md
step PROFILE=cifar50 TARGET=results/cifar50/models/cifar10/distilled_T100.keras  # 4c: teacher, student
step PROFILE=cifar50 TARGET=results/cifar50/models/cifar10/standard.keras

# 4b's second half: C&W L0 with the released code's REDUCE_CONST on 5 images (~10 h), its checkpoint
# carried by make save-inflight PROFILE=mnist50 (scripts/l0_reduce_const.py says how).
# Skipped once its numbers are written (and while a run of it is going).
ckpt=attacks/mnist/standard/.l0_reduce_const.checkpoint.npz
if [ ! -f docs/measurements/l0_reduce_const.json ] && ! pgrep -f "scripts/l0_reduce_const.py" >/dev/null; then
    if [ ! -f "results/mnist50/$ckpt" ] && [ -f "store/mnist50/inflight/$ckpt" ]; then
        cp "store/mnist50/inflight/$ckpt" "results/mnist50/$ckpt"
    fi
    echo "== l0_reduce_const ($(date -u +%FT%TZ))"
    nice -n 19 .venv/bin/python scripts/l0_reduce_const.py --stored store/mnist50/attacks/mnist/standard/l0.npz \
        --model store/mnist50/models/mnist/standard.keras --data results/mnist50/data/mnist.npz --images 5 \
        --checkpoint "results/mnist50/$ckpt" --out docs/measurements/l0_reduce_const.json || exit 1
fi

step PROFILE=cifar50 TARGET=figures                                          # cifar50's attacks, REPORT.md
echo "== done ($(date -u +%FT%TZ))"
